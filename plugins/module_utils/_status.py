# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host's TLS setup needs (the core of tls_status, also the first half of tls_prepare)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt


def find_cluster(reference, hba_file=None):
    if reference:
        return cluster.find(cluster=reference, hba_file=hba_file)
    found = sorted(glob.glob(os.path.join(cluster.DEBIAN_ETC, '*', '*', 'postgresql.conf')))
    if len(found) != 1:
        raise cluster.ClusterError(
            'Found %d Debian clusters; set the cluster (VERSION/NAME or a PGDATA directory).' % len(found)
        )
    return cluster.find(config_file=found[0], hba_file=hba_file)


def tls_paths(info, ssl_dir):
    ssl_dir = ssl_dir or os.path.join(os.path.dirname(info['config_file']), 'ssl')
    return {
        'ssl_dir': ssl_dir,
        'cert': os.path.join(ssl_dir, 'server.crt'),
        'key': os.path.join(ssl_dir, 'server.key'),
        'ca': os.path.join(ssl_dir, 'root.crt'),
        'crl': os.path.join(ssl_dir, 'root.crl'),
    }


def _same_pem_set(data, pem):
    try:
        have = set(crypto.cert_fingerprint(c) for c in crypto.load_certificates(data))
        want = set(crypto.cert_fingerprint(c) for c in crypto.load_certificates(pem))
    except crypto.PgsslCryptoError:
        return False
    return have == want


def _certificates(data):
    """The certificates in PEM ``data``; none for missing or unreadable data."""
    if not data:
        return []
    try:
        return crypto.load_certificates(data)
    except crypto.PgsslCryptoError:
        return []


PASSPHRASE_DIR = '/etc/pgssl-postgresql/passphrase'


def passphrase_path(p, info):
    """The file ssl_passphrase_command reads: given, or one per cluster outside its data
    directory (a base backup then carries the encrypted key without its passphrase)."""
    if p['passphrase_file']:
        return p['passphrase_file']
    name = info['config_file'].strip('/').replace('/', '-')
    return os.path.join(PASSPHRASE_DIR, name + '.pass')


def wanted_settings(p, paths):
    settings = {'ssl': True, 'ssl_cert_file': paths['cert'], 'ssl_key_file': paths['key']}
    if p['key_passphrase']:
        # PostgreSQL runs the command through the shell; the path is quoted for it
        settings['ssl_passphrase_command'] = "/bin/cat '%s'" % paths['passphrase'].replace("'", "'\\''")
        settings['ssl_passphrase_command_supports_reload'] = True
    if p['ca_bundle']:
        settings['ssl_ca_file'] = paths['ca']
    if p['crl']:
        settings['ssl_crl_file'] = paths['crl']
    settings.update(p['extra_settings'] or {})
    return settings


def patroni_settings(settings, info):
    """The settings for Patroni's cluster-wide configuration: a path inside the data directory
    relative to it (PostgreSQL reads it so), one value for every member whatever its data
    directory; values as strings, as Patroni keeps them."""
    out = {}
    base = info['data_dir'].rstrip('/') + '/'
    for name, value in settings.items():
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        elif name.endswith('_file') and isinstance(value, str) and value.startswith(base):
            value = value[len(base) :]
        out[name] = value
    return out


def check(p, info, paths):
    reasons = []
    facts = {}
    raw = files.read_bytes(paths['cert'], 'certificate')
    cert = None
    chain = []
    if raw is None:
        reasons.append('missing')
    else:
        try:
            chain = crypto.load_certificates(raw)
            cert = chain[0]
        except crypto.PgsslCryptoError:
            reasons.append('unreadable')
    key_raw = files.read_bytes(paths['key'], 'key', secret=True, owners=[files.resolve_uid(info['server_user'])])
    if key_raw is None:
        reasons.append('key_missing')
    if cert is not None:
        facts = crypto.describe_certificate(cert)
        public = cert.public_key()
        external = p['external_certificate'] or (
            files.read_input(p['external_certificate_path'], None, 'external certificate')
            if p['external_certificate_path']
            else None
        )
        if external:
            want = crypto.load_certificate(external, 'external_certificate')
            if crypto.cert_fingerprint(want) != crypto.cert_fingerprint(cert):
                reasons.append('external_changed')
        else:
            subject = {'CN': p['common_name']} if p['common_name'] else crypto.name_to_dict(cert.subject)
            wanted = p['issuer'] or p['ca_bundle']
            issuers = crypto.load_certificates(wanted, 'issuer') if wanted else []
            issuer = next((ca for ca in issuers if crypto.is_issued_by(cert, ca)), None)
            if issuers and issuer is None:
                reasons.append('issuer_changed')
            found = crypto.certificate_reasons(
                cert,
                public,
                subject,
                crypto.normalize_sans(p['sans']),
                'server',
                issuer_cert=issuer or cert,
                renew_before_days=p['renew_before_days'],
                renew_before_percent=p['renew_before_percent'],
            )
            reasons.extend(r for r in found if r not in ('issuer_changed', 'key_changed'))
        if key_raw is not None:
            try:
                key = crypto.load_private_key(key_raw, p['key_passphrase'], 'The server key')
                facts['key_fingerprint'] = crypto.public_key_fingerprint(key)
                if bool(p['key_passphrase']) != crypto.pem_is_encrypted(key_raw):
                    reasons.append('key_encryption_changed')
                if not crypto.same_public_key(key, public):
                    reasons.append('key_mismatch')
                if p['key_type'] and not external:
                    if not crypto.is_key_kind(key, p['key_type'], p['key_size'], p['key_curve']):
                        reasons.append('key_type_changed')
            except crypto.PgsslCryptoError:
                reasons.append('key_unreadable')
    # a key or certificate left staged by a run that was killed: the next run finishes it
    for staged in (paths['key'] + '.next', paths['cert'] + '.next'):
        if files.stat_file(staged) is not None:
            reasons.append('staged_pair')
            break
    if key_raw is not None:
        st = files.stat_file(paths['key'])
        uid = files.resolve_uid(info['server_user'])
        if p['key_owner'] == 'server':
            if st.st_uid != uid or st.st_mode & 0o077:
                reasons.append('key_file_mode')
        else:
            gid = grp.getgrnam(info['server_group']).gr_gid
            if st.st_uid != 0 or st.st_gid != gid or st.st_mode & 0o137:
                reasons.append('key_file_mode')
    if p['key_passphrase']:
        # the file ssl_passphrase_command reads: it must hold the key's passphrase
        held = files.read_bytes(paths['passphrase'], 'passphrase file', secret=True, owners=[0])
        if held is None or held.rstrip(b'\n') != (p['key_passphrase'] or '').encode('utf-8'):
            reasons.append('passphrase_file_changed')
    ca_raw = files.read_bytes(paths['ca'], 'CA file')
    ca_file = _certificates(ca_raw)
    facts['ca_file_keys'] = [crypto.public_key_fingerprint(c.public_key()) for c in ca_file]
    if cert is not None:
        candidates = chain[1:] + ca_file + _certificates(p['ca_bundle']) + _certificates(p['issuer'])
        signer = next((c for c in candidates if crypto.is_issued_by(cert, c)), None)
        facts['issuer_key_fingerprint'] = (
            crypto.public_key_fingerprint(signer.public_key()) if signer is not None else None
        )
    if p['ca_bundle']:
        if ca_raw is None or not _same_pem_set(ca_raw, p['ca_bundle']):
            reasons.append('ca_file_changed')
    if p['crl']:
        crl_raw = files.read_bytes(paths['crl'], 'CRL file')
        if crl_raw is None or crl_raw.strip() != p['crl'].encode('ascii').strip():
            reasons.append('crl_changed')
    if info.get('manager') == 'patroni':
        # Patroni's dynamic configuration holds the settings and rules (patroni_config decides
        # those); here only the files and what is served
        _served_reason(p, info, cert, facts, reasons)
        return reasons, facts
    settings = wanted_settings(p, paths)
    lines = pgconf.parse(txt.decode(files.read_bytes(info['config_file'], 'postgresql.conf')))
    new_lines, changes = pgconf.set_settings(lines, settings)
    if changes:
        reasons.append('settings_changed')
    # judged on the file as the change would leave it, so that check mode and the real run agree
    overrides = pgconf.find_overrides(
        info['config_file'], new_lines, [n for n, v in settings.items() if v is not None], info['auto_conf']
    )
    if overrides:
        reasons.append('settings_overridden')
        facts['overrides'] = ['%s:%s sets %s (%s)' % (o['file'], o['line'], o['name'], o['via']) for o in overrides]
    if p['hba_rules'] or p['require_ssl'] != 'none' or p['purge_managed']:
        text = txt.decode(files.read_bytes(info['hba_file'], 'pg_hba.conf'))
        lines, _actions, _present = pghba.plan(
            text, p['hba_rules'], info['major'], p['require_ssl'], None, p['purge_managed'], info['hba_file']
        )
        if pghba.render(lines) != text:
            reasons.append('hba_changed')
    _served_reason(p, info, cert, facts, reasons)
    return reasons, facts


def _served_reason(p, info, cert, facts, reasons):
    """not_served: the server serves something else than its certificate file."""
    if p['tls_host'] and cert is not None:
        try:
            probe = pgconn.probe_tls(
                p['tls_host'], p['tls_port'] or info.get('port') or 5432, hostaddr=p['tls_hostaddr'], timeout=5
            )
            served = (
                crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der'])) if probe['ssl'] else None
            )
        except pgconn.PgsslConnError:
            served = None
        facts['served_fingerprint'] = served
        if served != facts.get('fingerprint_sha256'):
            reasons.append('not_served')


def run(module):
    p = module.params
    # a passphrase command is a secret: never in the result or the invocation
    module.no_log_values.update(pgconf.secret_values(p['extra_settings']))
    if p['key_passphrase'] and any(ch in p['key_passphrase'] for ch in '\n\r\0'):
        # the server takes only the first line that ssl_passphrase_command prints
        raise files.PgsslFileError(
            'The key passphrase holds a newline, carriage return or NUL; '
            'ssl_passphrase_command passes the server only its first '
            'line, so the key could never be loaded. Choose another.'
        )
    info = find_cluster(p['cluster'], p['hba_file'])
    if p['patroni'] != 'dcs':
        cluster.refuse_patroni(info['manager_evidence'])
    try:
        import pwd

        info['server_group'] = grp.getgrgid(pwd.getpwnam(info['server_user']).pw_gid).gr_name
    except (KeyError, TypeError):
        raise cluster.ClusterError('Cannot tell the server user of %s.' % info['data_dir'])
    paths = tls_paths(info, p['ssl_dir'])
    paths['passphrase'] = passphrase_path(p, info)
    reasons, facts = check(p, info, paths)
    keep = (
        'subject',
        'subject_alt_names',
        'issuer',
        'not_after',
        'days_left',
        'fingerprint_sha256',
        'served_fingerprint',
        'serial_number',
        'issuer_key_fingerprint',
    )
    return {
        'ca_file_keys': facts.get('ca_file_keys', []),
        'key_fingerprint': facts.get('key_fingerprint'),
        'changed': False,
        'due': bool(reasons),
        'reasons': reasons,
        'cluster': info,
        'paths': paths,
        'settings': patroni_settings(wanted_settings(p, paths), info)
        if info.get('manager') == 'patroni'
        else wanted_settings(p, paths),
        'certificate': dict((k, facts[k]) for k in keep if k in facts),
        'overrides': facts.get('overrides', []),
    }


def status_argspec():
    """The options of tls_status (tls_prepare takes them too)."""
    spec = pgconn.tls_probe_argspec()
    spec.update(
        cluster=dict(type='str'),
        ssl_dir=dict(type='path'),
        common_name=dict(type='str'),
        sans=dict(type='list', elements='str', default=[]),
        ca_bundle=dict(type='str'),
        issuer=dict(type='str'),
        crl=dict(type='str'),
        external_certificate=dict(type='str'),
        renew_before_days=dict(type='int', default=30),
        renew_before_percent=dict(type='float'),
        key_owner=dict(type='str', default='server', choices=['server', 'root']),
        extra_settings=dict(type='dict', default={}),
        external_certificate_path=dict(type='path'),
        hba_rules=dict(type='list', elements='dict', default=[]),
        purge_managed=dict(type='bool', default=False),
        key_type=dict(type='str', choices=['rsa', 'ecdsa', 'ed25519']),
        key_passphrase=dict(type='str', no_log=True),
        passphrase_file=dict(type='path', no_log=False),
        key_size=dict(type='int'),
        key_curve=dict(type='str', choices=list(crypto.CURVES)),
        require_ssl=dict(type='str', default='none', choices=['none', 'convert', 'reject', 'both']),
        patroni=dict(type='str', default='refuse', choices=['refuse', 'dcs']),
        hba_file=dict(type='path'),
    )
    return spec
