# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of the verify module (each sslmode with psycopg 3, the served certificate), also
run by tls_install for the proof after the reload."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _verify as verify_core
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed, require_psycopg


_CERT_FACTS = (
    'subject',
    'subject_string',
    'subject_alt_names',
    'issuer',
    'issuer_string',
    'serial_number',
    'not_before',
    'not_after',
    'days_left',
    'fingerprint_sha256',
    'key_type',
    'key_size',
)


# A path that does not exist: keeps libpq from picking up ~/.postgresql/* of whoever runs the
# module (a present root.crt would silently turn require into verify-ca).
_NOWHERE = '/nonexistent/pgssl.postgresql/none'


def _base_params(p):
    params = {
        'host': p['host'],
        'port': p['port'],
        'dbname': p['dbname'],
        'user': p['user'],
        'connect_timeout': p['connect_timeout'],
        'application_name': 'pgssl.verify',
        'sslcert': p['sslcert'] or _NOWHERE,
        'sslkey': p['sslkey'] or _NOWHERE,
        'sslrootcert': p['sslrootcert'] or _NOWHERE,
    }
    for key in (
        'hostaddr',
        'password',
        'sslpassword',
        'sslcrl',
        'sslnegotiation',
        'sslcertmode',
        'ssl_min_protocol_version',
        'ssl_max_protocol_version',
    ):
        if p[key]:
            params[key] = p[key]
    return params


# Where distributions keep the bundle of trusted roots. The OpenSSL inside the psycopg-binary
# wheel looks in its own build directory, so sslrootcert=system finds nothing there unless
# SSL_CERT_FILE points at one of these.
SYSTEM_BUNDLES = (
    '/etc/ssl/certs/ca-certificates.crt',
    '/etc/pki/tls/certs/ca-bundle.crt',
    '/etc/ssl/ca-bundle.pem',
    '/etc/ssl/cert.pem',
)


def system_bundle():
    for path in SYSTEM_BUNDLES:
        if os.path.isfile(path):
            return path
    return None


def try_mode(psycopg, params, mode):
    start = time.monotonic()
    res = {
        'connected': False,
        'ssl': False,
        'protocol': None,
        'cipher': None,
        'bits': None,
        'client_dn': None,
        'error': None,
    }
    try:
        conn = psycopg.connect(sslmode=mode, autocommit=True, **params)
    except psycopg.Error as exc:
        res['error'] = pgconn.clean_error(exc)
        res['elapsed_ms'] = int((time.monotonic() - start) * 1000)
        return res
    try:
        res['connected'] = True
        res['ssl'] = bool(conn.pgconn.ssl_in_use)
        if res['ssl']:
            # the server's own view of this connection's TLS session
            try:
                with conn.cursor() as cur:
                    cur.execute('SELECT version, cipher, bits, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
                    row = cur.fetchone()
                if row:
                    res['protocol'], res['cipher'], res['bits'], res['client_dn'] = row
            except psycopg.Error as exc:
                res['error'] = 'connected, but pg_stat_ssl could not be read: %s' % (pgconn.clean_error(exc))
    finally:
        conn.close()
    res['elapsed_ms'] = int((time.monotonic() - start) * 1000)
    return res


def probe(p):
    try:
        found = pgconn.probe_tls(
            p['host'],
            p['port'],
            hostaddr=p['hostaddr'],
            timeout=p['connect_timeout'],
            direct=p['sslnegotiation'] == 'direct',
        )
    except pgconn.PgsslConnError as exc:
        return False, None, str(exc)
    if not found['ssl']:
        return False, None, None
    desc = crypto.describe_certificate(crypto.load_certificate(found['certificate_der']))
    cert = dict((k, desc[k]) for k in _CERT_FACTS)
    cert.update(protocol=found['protocol'], cipher=found['cipher'])
    return True, cert, None


def probe_chain(p):
    """Does the served chain verify to O(sslrootcert) with the host name (as verify-full would),
    found without credentials."""
    root = p['sslrootcert']
    if not root:
        return {'verified': None, 'error': 'no sslrootcert to verify against'}
    cafile = system_bundle() if root == 'system' else root
    try:
        pgconn.probe_tls(
            p['host'],
            p['port'],
            hostaddr=p['hostaddr'],
            timeout=p['connect_timeout'],
            cafile=cafile,
            direct=p['sslnegotiation'] == 'direct',
        )
    except pgconn.PgsslConnError as exc:
        return {'verified': False, 'error': str(exc)}
    except (OSError, ValueError) as exc:  # an unreadable or empty CA file
        return {'verified': False, 'error': 'cannot use %s: %s' % (cafile, exc)}
    return {'verified': True, 'error': None}


def verify(module):
    p = module.params
    wanted = verify_core.expectations(p['policy'] if p['policy'] != 'none' else None, p['expect'], p['sslmodes'])
    result = {'changed': False, 'expectations': wanted, 'unmet': []}
    if p['probe_only'] or p['probe_certificate']:
        ssl_on, cert, error = probe(p)
        result['server_ssl'] = ssl_on
        if cert:
            result['served_certificate'] = cert
        if error:
            result['probe_error'] = error
    if p['probe_chain'] and result.get('server_ssl'):
        result['served_chain'] = probe_chain(p)
    if p['probe_plain']:
        try:
            result['plain_tcp'] = pgconn.probe_plain(
                p['host'],
                p['port'],
                hostaddr=p['hostaddr'],
                user=p['user'],
                dbname=p['dbname'],
                timeout=p['connect_timeout'],
            )
        except pgconn.PgsslConnError as exc:
            result['plain_tcp'] = {'accepted': None, 'answer': None, 'sqlstate': None, 'message': str(exc)}
    if p['probe_only']:
        return result
    psycopg = require_psycopg(module)
    old_env = dict(os.environ)
    for key, value in p['environment'].items():
        if re.search(r'PASS|SECRET|TOKEN|KEY', str(key), re.I) and str(value):
            module.no_log_values.add(str(value))  # PGPASSWORD and the like are never shown
    os.environ.update(dict((str(k), str(v)) for k, v in p['environment'].items()))
    bundle = system_bundle() if p['sslrootcert'] == 'system' and not os.environ.get('SSL_CERT_FILE') else None
    if bundle:
        os.environ['SSL_CERT_FILE'] = result['ssl_cert_file'] = bundle
    try:
        params = _base_params(p)
        result['modes'] = dict((mode, try_mode(psycopg, params, mode)) for mode in p['sslmodes'])
        for res in result['modes'].values():
            res['outcome'] = verify_core.outcome_of(res)
            if res['error'] and not res['connected']:
                res['code'] = verify_core.failure_code(res['error'], p['sslnegotiation'] == 'direct')
        _refine_codes(p, result)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    result['unmet'] = verify_core.unmet(result['modes'], wanted)
    for item in result['unmet']:
        item['code'] = result['modes'][item['mode']].get('code')
    if result['unmet']:
        raise TaskFailed(
            'Unmet sslmode expectations: %s'
            % '; '.join(
                '%s expected %s, got %s%s'
                % (u['mode'], u['expected'], u['got'], (' (%s: %s)' % (u['code'], u['error'])) if u['error'] else '')
                for u in result['unmet']
            ),
            **result,
        )
    return result


def _refine_codes(p, result):
    """ "certificate verify failed" says no more: tell expired, not yet valid, revoked and
    unknown CA apart from the certificate the server served (and the CRL, when given)."""
    failed = [r for r in result['modes'].values() if r.get('code') == 'certificate_verify_failed']
    if not failed:
        return
    import datetime
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files

    revoked = []
    if p['sslcrl']:
        try:
            data = files.read_bytes(p['sslcrl'], 'CRL file')
            for crl in crypto.load_crls(data or b''):
                revoked.extend(str(entry.serial_number) for entry in crl)
        except (files.PgsslFileError, crypto.PgsslCryptoError):
            pass
    now = crypto.iso(datetime.datetime.now(datetime.timezone.utc))
    for res in failed:
        res['code'] = verify_core.refine_verify_failure(result.get('served_certificate'), now, revoked)
