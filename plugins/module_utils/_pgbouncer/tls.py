# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PgBouncer target: what is due, the files and settings, the RELOAD, the proof.

- Files: the pooler's key and certificate in one of two slots (``pooler-a``, ``pooler-b``) of a
  directory PgBouncer's OS user owns, and the CA bundle (``ca.crt``) it trusts on both sides. A
  new certificate always goes into the free slot with a new key, so PgBouncer (which re-reads
  the server-side files at every new server connection) never sees a new certificate beside an
  old key; the old slot is removed once the new one is proven.
- Settings: ``client_tls_*`` and ``server_tls_*`` in pgbouncer.ini, edited on the line that
  decides each one (``_pgbouncer.ini``), in the main file only.
- Apply: ``RELOAD`` on the admin console. Proof: ``SHOW CONFIG`` holds every setting (a RELOAD
  that stopped at a bad line still answers ``RELOAD``) and a TLS handshake with the pooler
  serves the new certificate, verified against the CA and the pooler's name (a certificate that
  does not match its key is kept out silently by PgBouncer). When the proof fails, the file is
  put back and PgBouncer reloaded again.

Everything that reads what PgBouncer's user can write (the include tree, the slots, the
console) runs as that user in a child process; root only makes the slot directory and rewrites
the main file, a path the operator gave.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import admin as consoles
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import hba
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import ini

SLOTS = slots.SLOTS
CERT_REASONS = slots.CERT_REASONS + ('san_changed', 'not_served')
MANAGED = (
    'client_tls_sslmode',
    'client_tls_key_file',
    'client_tls_cert_file',
    'client_tls_ca_file',
    'server_tls_sslmode',
    'server_tls_ca_file',
    'server_tls_key_file',
    'server_tls_cert_file',
)
SSLMODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')


class PgbouncerTlsError(ini.PgbouncerConfigError):
    default_code = 'pgbouncer_tls'


def slot_paths(directory, slot):
    return {
        'key': os.path.join(directory, 'pooler-%s.key' % slot),
        'cert': os.path.join(directory, 'pooler-%s.crt' % slot),
    }


def default_dir(config_file):
    return os.path.join(os.path.dirname(config_file), 'pgssl')


def check_params(p):
    """Refuse a bad value before anything is read or written."""
    if not os.path.isabs(p['config_file']):
        raise PgbouncerTlsError('config_file must be an absolute path.', 'bad_value')
    for key, value in (p['settings'] or {}).items():
        if key in MANAGED:
            raise PgbouncerTlsError('settings: %s is managed by this module; use its own option.' % key, 'bad_value')
        ini.check_value(key, value)
    for key in ('client_tls_sslmode', 'server_tls_sslmode'):
        ini.check_value(key, p[key])
    if p['state'] == 'install' and p['certificate'] and not p['slot']:
        raise PgbouncerTlsError('A certificate to install needs the slot the prepare step returned.', 'bad_value')
    return crypto.normalize_sans(p['subject_alt_names'] or [])


def wanted(p, directory, slot):
    paths = slot_paths(directory, slot)
    ca_path = os.path.join(directory, 'ca.crt')
    found = {
        'client_tls_sslmode': p['client_tls_sslmode'],
        'client_tls_key_file': paths['key'],
        'client_tls_cert_file': paths['cert'],
        'client_tls_ca_file': ca_path,
        'server_tls_sslmode': p['server_tls_sslmode'],
        'server_tls_ca_file': ca_path,
    }
    if p['server_tls_client_cert']:
        found['server_tls_key_file'] = paths['key']
        found['server_tls_cert_file'] = paths['cert']
    found.update(p['settings'] or {})
    return found


def _read_text(path):
    return files.read_text(path, 'PgBouncer configuration file', PgbouncerTlsError, 'pgbouncer_config')


def _slot_in_use(values, directory):
    return slots.slot_in_use(values, directory, ('client_tls_cert_file', 'client_tls_key_file'), slot_paths)


def probe_address(p, values):
    """(host name to verify, address) of the pooler's TCP listener, or (None, None)."""
    listen = [a.strip() for a in (values.get('listen_addr') or '').split(',') if a.strip()]
    address = p['tls_hostaddr']
    if not address:
        if not listen:
            return None, None
        address = {'*': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(listen[0], listen[0])
    return p['tls_host'] or address, address


def _served(p, values, port, cafile):
    host, address = probe_address(p, values)
    if address is None:
        return None, 'PgBouncer has no TCP listener (listen_addr is empty)'
    try:
        got = pgconn.probe_tls(host, port, hostaddr=address, timeout=5.0, cafile=cafile)
    except pgconn.PgsslConnError as exc:
        return None, str(exc)
    if not got.get('ssl'):
        return None, 'PgBouncer answers without TLS'
    return crypto.cert_fingerprint(crypto.load_certificate(got['certificate_der'])), None


def status(step, sans):
    """What is due (as PgBouncer's user); with ``prepare``, the new key and its CSR; with
    ``state=install``, the certificate and CA into their files and the new ini text."""
    p = step.params
    directory = p['dir']
    tree = ini.Tree(p['config_file'], _read_text)
    values = tree.values()
    # the console as the running PgBouncer listens now (an edit of unix_socket_dir or
    # listen_port waits for a restart): the later steps reach it here too
    socket = consoles.socket_of(values)
    console = consoles.Console(*socket, timeout=p['timeout'])
    try:
        version_text, _version = console.version()
        running = console.config()
    finally:
        console.close()
    tree.check_keys(running)
    unknown = sorted(k for k in (p['settings'] or {}) if k not in running)
    if unknown:
        raise PgbouncerTlsError(
            'settings: PgBouncer (%s) has no key %s.' % (version_text, ', '.join(unknown)), 'bad_value'
        )
    later = sorted(
        k
        for k, v in (p['settings'] or {}).items()
        if k in running and not running[k]['changeable'] and not ini.same(k, running[k]['value'], v)
    )
    if later:
        raise PgbouncerTlsError(
            'settings: %s take effect only when PgBouncer restarts, and this module never restarts it (nor '
            'could it reach the admin console afterwards if the socket moved). Change them with the restart '
            'you plan.' % ', '.join(later),
            'restart_only',
        )
    in_use = _slot_in_use(values, directory)
    reasons = [] if in_use else ['not_linked']
    cert = {}
    bundle = (p['ca_bundle'] or '').strip()
    ca_path = os.path.join(directory, 'ca.crt')
    ca_data = b''
    if not bundle:
        # check mode before the CA exists, or a read-only caller without it (the audit): the
        # certificate in use is still described
        reasons.append('ca_missing')
        raw = files.read_bytes(slot_paths(directory, in_use)['cert'], 'pooler certificate') if in_use else None
        leaf = slots.certs_or_none(raw)
        if leaf:
            cert = crypto.describe_certificate(leaf[0])
    else:
        ca_data = b''.join(crypto.dump_certificate(c) for c in crypto.load_certificates(bundle, 'ca_bundle'))
        if files.read_bytes(ca_path, 'CA bundle') != ca_data:
            reasons.append('ca_changed')
        if in_use:
            found, cert = slots.cert_reasons(
                slot_paths(directory, in_use), p, os.geteuid(), sans=sans, profile='pooler', what='pooler'
            )
            reasons.extend(found)
            if not found and p['client_tls_sslmode'] != 'disable' and 'ca_changed' not in reasons:
                served, _error = _served(p, values, int(running['listen_port']['value']), None)
                if served != cert.get('fingerprint_sha256'):
                    reasons.append('not_served')
    if p['force'] and 'forced' not in reasons:
        reasons.append('forced')
    ca_file_keys, issuer_key = slots.rollover_facts(
        ca_path, slot_paths(directory, in_use) if in_use else None, bundle, 'pooler certificate'
    )
    cert = dict(cert, issuer_key_fingerprint=issuer_key) if cert else cert
    renew = any(r in CERT_REASONS for r in reasons)
    slot = (SLOTS[1] if in_use == SLOTS[0] else SLOTS[0]) if renew else in_use
    if p['state'] == 'install' and p['slot']:
        slot = p['slot']
    want = wanted(p, directory, slot or SLOTS[0])
    if not p['server_tls_client_cert']:
        # no longer presented: a value naming one of our slots goes (its files go with the slot)
        ours = [path for s in SLOTS for path in slot_paths(directory, s).values()]
        for key in ('server_tls_cert_file', 'server_tls_key_file'):
            if values.get(key) in ours:
                want[key] = ''
    _check_hba(dict(values, **want))
    texts, changed_keys = ini.edit(tree, want)
    if changed_keys:
        reasons.append('settings_changed')
    # keys PgBouncer takes only at a restart: never a reason for a RELOAD, reported instead
    restart_only = set(k for k, v in running.items() if not v['changeable'])
    not_applied = sorted(
        k
        for k, v in values.items()
        if k in want and k in running and k not in restart_only and not ini.same(k, running[k]['value'], v)
    )
    if not_applied:
        reasons.append('not_applied')
    result = {
        'changed': False,
        'due': bool(reasons),
        'reasons': reasons,
        'renew': renew,
        'dir': directory,
        'slot_in_use': in_use,
        'slot': slot,
        'paths': slot_paths(directory, slot or SLOTS[0]),
        'certificate': cert,
        'version': version_text,
        'settings': dict((k, values.get(k)) for k in sorted(want)),
        'wanted': want,
        'changed_settings': changed_keys,
        'restart_required': sorted(
            k for k in want if k in restart_only and not ini.same(k, running[k]['value'], want[k])
        ),
        'port': int(running['listen_port']['value']),
        # what the CA rollover reads: the keys ca.crt trusts, the key of the certificate's CA
        'ca_file_keys': ca_file_keys,
        # the names the certificate is for (the caller's, for the signer's request)
        'common_name': p['common_name'],
        'subject_alt_names': list(sans),
        'listen': values.get('listen_addr') or '',
        'console': list(socket),
    }
    if step.check_mode:
        return result
    if p['state'] == 'status':
        if renew and p['prepare']:
            result['csr'] = slots.new_slot_key(directory, result['paths']['key'], p, sans, 'pooler')
        return result
    if renew and not p['certificate']:
        raise PgbouncerTlsError('A new certificate is due (%s): give the signed one.' % ', '.join(reasons), 'missing')
    if p['certificate']:
        result['certificate'] = slots.install_slot_cert(
            p, slot_paths(directory, slot), sans, 'pooler', PgbouncerTlsError
        )
        result['changed'] = True
    if 'ca_changed' in reasons:
        files.write_atomic(ca_path, ca_data, mode=0o644)
        result['changed'] = True
    if texts:
        main = tree.root
        result['old_text'] = '\n'.join(tree.lines[main])
        result['new_text'] = texts[main]
    return result


def _check_hba(settings):
    """With ``auth_type = hba`` (as it will be), the hba file must exist and hold only lines
    PgBouncer understands (it skips the others and goes on matching)."""
    if (settings.get('auth_type') or '').lower() != 'hba':
        return
    path = settings.get('auth_hba_file') or ''
    if not os.path.isabs(path):
        raise PgbouncerTlsError(
            'auth_type = hba needs auth_hba_file as an absolute path (PgBouncer rejects every login without '
            'one, and reads a relative one from its working directory).',
            'pgbouncer_hba',
        )
    raw = files.read_bytes(path, 'PgBouncer hba file', follow=True)
    if raw is None:
        raise PgbouncerTlsError('auth_hba_file %s does not exist.' % path, 'pgbouncer_hba')
    hba.check(raw.decode('utf-8', 'replace'), path)


def apply(step, plan):
    """RELOAD and prove (as PgBouncer's user): SHOW CONFIG holds every wanted value and the
    pooler serves the slot's certificate. Returns the proof, or raises with what it saw."""
    p = step.params
    console = consoles.Console(*plan['console'], timeout=p['timeout'])
    try:
        console.reload()
        deadline = time.time() + p['timeout']
        while True:
            running = console.config()
            # where the running PgBouncer listens (listen_addr waits for a restart)
            values = {'listen_addr': running.get('listen_addr', {}).get('value', '')}
            missing = sorted(
                k
                for k, v in plan['wanted'].items()
                if k not in plan['restart_required'] and not ini.same(k, running.get(k, {}).get('value'), v)
            )
            served, error = None, None
            expect = plan['certificate'].get('fingerprint_sha256')
            if not missing and p['client_tls_sslmode'] != 'disable':
                served, error = _served(
                    p, values, int(running['listen_port']['value']), plan['wanted']['client_tls_ca_file']
                )
            if not missing and (p['client_tls_sslmode'] == 'disable' or (served and served == expect)):
                break
            if time.time() > deadline:
                if missing:
                    raise PgbouncerTlsError(
                        'PgBouncer answered RELOAD but does not hold %s: it stopped reading its configuration '
                        'before them (see its log).' % ', '.join(missing),
                        'not_applied',
                    )
                raise PgbouncerTlsError(
                    'PgBouncer does not serve the new certificate (%s; expected %s): PgBouncer keeps its old TLS '
                    'setup when the new files cannot be loaded (see its log).' % (error or served, expect),
                    'not_served',
                )
            time.sleep(0.2)
    finally:
        console.close()
    login = _login_proof(p, values, int(running['listen_port']['value']), plan['wanted']['client_tls_ca_file'])
    removed = []
    other = slot_paths(p['dir'], SLOTS[1] if plan['slot'] == SLOTS[0] else SLOTS[0])
    for path in (other['key'], other['cert']):
        if files.remove(path):
            removed.append(path)
    out = {'served_fingerprint': served, 'removed': removed}
    if login is not None:
        out['proof_login'] = login
    return out


def _login_proof(p, values, port, cafile):
    """With ``proof_user``: a verify-full login through the pooler, and what PostgreSQL says of
    that session's own connection (from the pooler: TLS, version, the pooler's client DN)."""
    if not p['proof_user']:
        return None
    host, address = probe_address(p, values)
    psycopg, _trace = pgconn.load_psycopg()
    try:
        conn = psycopg.connect(
            host=host,
            hostaddr=address,
            port=port,
            dbname=p['proof_dbname'],
            user=p['proof_user'],
            password=p['proof_password'] or None,
            sslmode='verify-full',
            sslrootcert=cafile,
            connect_timeout=max(2, int(p['timeout'])),
        )
    except psycopg.Error as exc:
        raise PgbouncerTlsError(
            'The login through the pooler (%s as %s) failed: %s'
            % (p['proof_dbname'], p['proof_user'], pgconn.clean_error(exc)),
            'login_failed',
        )
    try:
        row = conn.execute('SELECT ssl, version, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()
    finally:
        conn.close()
    seen = {'ssl': bool(row and row[0]), 'version': row[1] if row else None, 'client_dn': row[2] if row else None}
    if not seen['ssl']:
        raise PgbouncerTlsError(
            'A login through the pooler reaches PostgreSQL without TLS (server_tls_sslmode is not applied).',
            'server_plain',
        )
    return seen


def reload_only(step, plan):
    """RELOAD (used to put the old configuration back in force after a failed proof)."""
    console = consoles.Console(*plan['console'], timeout=step.params['timeout'])
    try:
        console.reload()
    finally:
        console.close()
    return {}
