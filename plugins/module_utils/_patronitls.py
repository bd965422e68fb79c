# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni's own TLS: its REST API's server certificate and the client certificate patronictl
and the other members present (``ctl``), from the fleet CA, set in the member's patroni.yml.

- Files: the member's key and certificate in one of two slots (``rest-a``, ``rest-b``) of a
  directory Patroni's OS user owns, and the CA bundle (``ca.crt``). A new certificate always
  goes into the free slot with a new key, and patroni.yml then names the new pair, so Patroni
  (which reads them at a reload or start) never meets a new certificate beside an old key,
  even when the run dies halfway.
- Settings: ``restapi.certfile/keyfile/cafile/verify_client`` and ``ctl.certfile/keyfile/
  cacert`` in patroni.yml, edited in place (``_patroniyaml``).
- Validate: the new pair and bundle load as Patroni loads them (``ssl.load_cert_chain``), as
  Patroni's user, before Patroni is told: a REST API that fails to load its certificate at a
  reload has already closed its old socket and stays down.
- Apply: SIGHUP to the Patroni process started with this file (what ``POST /reload`` does; no
  REST credential is needed, and a process of Patroni's user signals only its own processes).
- Prove: the REST API serves the new certificate, verified against the CA and the member's
  name; ``GET /patroni`` with the new client certificate answers; the cluster view lists the
  member at its https address (what patronictl and the other members use). A failed proof
  puts patroni.yml back and reloads again.

Everything that reads what Patroni's user can write (the slots, the process list) runs as that
user in a child process; root only makes the slot directory and rewrites patroni.yml, a path
the operator gave (a link planted at it is refused).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import socket
import ssl
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniyaml as pyaml
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import test_hook

SLOTS = slots.SLOTS
CERT_REASONS = slots.CERT_REASONS + ('san_changed', 'not_served')
VERIFY_CLIENT = ('none', 'optional', 'required')
# Patroni's environment wins over its file, key by key
ENV_KEYS = (
    'PATRONI_RESTAPI_CERTFILE',
    'PATRONI_RESTAPI_KEYFILE',
    'PATRONI_RESTAPI_CAFILE',
    'PATRONI_RESTAPI_VERIFY_CLIENT',
    'PATRONI_CTL_CERTFILE',
    'PATRONI_CTL_KEYFILE',
    'PATRONI_CTL_CACERT',
)
MAX_CMDLINE = 64 << 10


class PatroniTlsError(PgsslError):
    default_code = 'patroni_tls'


def slot_paths(directory, slot):
    return {
        'key': os.path.join(directory, 'rest-%s.key' % slot),
        'cert': os.path.join(directory, 'rest-%s.crt' % slot),
    }


def default_dir(config_file):
    return os.path.join(os.path.dirname(config_file), 'pgssl')


def check_params(p):
    """Refuse a bad value before anything is read or written."""
    if not os.path.isabs(p['config_file']):
        raise PatroniTlsError('config_file must be an absolute path.', 'bad_value')
    for key in ('tls_host', 'tls_hostaddr', 'common_name'):
        value = p[key] or ''
        if '\n' in value or '\r' in value:
            raise PatroniTlsError('%s: a line break is refused.' % key, 'bad_value')
    if p['state'] == 'install' and p['certificate'] and not p['slot']:
        raise PatroniTlsError('A certificate to install needs the slot the prepare step returned.', 'bad_value')
    return crypto.normalize_sans(p['subject_alt_names'] or [])


def wanted(p, directory, slot):
    """[(path in patroni.yml, value)] as they should be with ``slot`` in use."""
    paths = slot_paths(directory, slot)
    ca_path = os.path.join(directory, 'ca.crt')
    out = [
        (('restapi', 'certfile'), paths['cert']),
        (('restapi', 'keyfile'), paths['key']),
        (('restapi', 'cafile'), ca_path),
        (('restapi', 'verify_client'), p['verify_client']),
    ]
    if p['ctl']:
        out += [
            (('ctl', 'certfile'), paths['cert']),
            (('ctl', 'keyfile'), paths['key']),
            (('ctl', 'cacert'), ca_path),
        ]
    return out


def read_config(path):
    raw = files.read_bytes(path, 'Patroni configuration file', follow=True, limit=pyaml.MAX_TEXT)
    if raw is None:
        raise PatroniTlsError('%s does not exist.' % path, 'patroni_config')
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise PatroniTlsError('Refusing %s: it is not UTF-8 text.' % path, 'patroni_config')


def rest_address(p, data):
    """(name to verify, address, port) of the member's REST API, from ``restapi.connect_address``
    (or ``listen``) unless the operator named them."""
    restapi = data.get('restapi') or {}
    where = restapi.get('connect_address') or restapi.get('listen') or ''
    host, _sep, port = str(where).rpartition(':')
    host = host.strip('[]')
    if not port.isdigit() or not host:
        raise PatroniTlsError(
            'restapi.connect_address (or listen) of the configuration is not HOST:PORT: %r.' % (where,),
            'patroni_config',
        )
    if host in ('0.0.0.0', '*', '::'):
        host = '127.0.0.1' if host != '::' else '::1'
    address = p['tls_hostaddr'] or host
    return p['tls_host'] or host, address, int(port)


def _https(host, address, port, cafile, timeout, client=None, path=None):
    """One TLS connection to the REST API at ``address``: the served certificate (DER) and, with
    ``path``, the answer of a GET (status, decoded JSON). Verified against ``cafile`` and
    ``host`` when a CA is given; ``client`` is (certificate, key) to present."""
    import json

    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = True
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(certfile=client[0], keyfile=client[1])
    with patroni._deadline(timeout, '%s:%d' % (address, port)):
        with socket.create_connection((address, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
                if path is None:
                    return der, None, None
                tls.sendall(
                    ('GET %s HTTP/1.0\r\nHost: %s:%d\r\nAccept: application/json\r\n\r\n' % (path, host, port)).encode(
                        'ascii'
                    )
                )
                chunks, size = [], 0
                while size <= patroni.MAX_ANSWER:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
    if size > patroni.MAX_ANSWER:
        raise PatroniTlsError('GET %s answered more than %d bytes.' % (path, patroni.MAX_ANSWER))
    head, _sep, body = b''.join(chunks).partition(b'\r\n\r\n')
    parts = head.split(b' ', 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    try:
        value = json.loads(body.decode('utf-8', 'replace'))
    except ValueError:
        value = None
    return der, code, value


def served(host, address, port, cafile, timeout):
    """(SHA-256 fingerprint of the certificate the REST API serves, None) or (None, why)."""
    try:
        der = _https(host, address, port, cafile, timeout)[0]
    except PgsslError as exc:
        return None, str(exc)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return None, '%s:%d: %s' % (address, port, getattr(exc, 'reason', None) or exc)
    return crypto.cert_fingerprint(crypto.load_certificate(der)), None


def _read_proc(pid, name, limit=MAX_CMDLINE):
    try:
        fd = os.open('/proc/%d/%s' % (pid, name), os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def patroni_pids(config_file):
    """The processes of this user that run Patroni with ``config_file`` (same file, by device and
    inode, relative arguments taken from the process's working directory)."""
    try:
        target = os.stat(config_file)
    except OSError:
        return []
    uid = os.geteuid()
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if os.stat('/proc/%d' % pid).st_uid != uid:
                continue
        except OSError:
            continue
        raw = _read_proc(pid, 'cmdline')
        if not raw:
            continue
        argv = [a.decode('utf-8', 'replace') for a in raw.split(b'\0') if a]
        if not any('patroni' in os.path.basename(a) for a in argv[:2]):
            continue
        try:
            cwd = os.readlink('/proc/%d/cwd' % pid)
        except OSError:
            cwd = '/'
        for arg in argv[1:]:
            path = arg if os.path.isabs(arg) else os.path.join(cwd, arg)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                found.append(pid)
                break
    return found


def _environment_overrides(pids):
    out = set()
    for pid in pids:
        raw = _read_proc(pid, 'environ', 1 << 20) or b''
        for item in raw.split(b'\0'):
            key = item.partition(b'=')[0].decode('ascii', 'replace')
            if key in ENV_KEYS:
                out.add(key)
    return sorted(out)


def status(step, sans):
    """What is due (as Patroni's user); with ``prepare``, the new key and its CSR; with
    ``state=install``, the certificate and CA into their files and the new patroni.yml text."""
    p = step.params
    directory = p['dir']
    text = read_config(p['config_file'])
    data = pyaml.load(text, p['config_file'])
    pids = patroni_pids(p['config_file'])
    overridden = _environment_overrides(pids)
    if overridden:
        raise PatroniTlsError(
            'Patroni runs with %s in its environment, which wins over patroni.yml: remove them (and restart '
            'Patroni) before this module manages its TLS.' % ', '.join(overridden),
            'patroni_environment',
        )
    restapi = data.get('restapi') or {}
    current = {'sslcert': restapi.get('certfile'), 'sslkey': restapi.get('keyfile')}
    in_use = slots.slot_in_use(current, directory, paths_of=slot_paths)
    reasons = [] if in_use else ['not_linked']
    cert = {}
    bundle = (p['ca_bundle'] or '').strip()
    ca_path = os.path.join(directory, 'ca.crt')
    ca_data = b''
    host, address, port = rest_address(p, data)
    if not bundle:
        reasons.append('ca_missing')
    else:
        ca_data = b''.join(crypto.dump_certificate(c) for c in crypto.load_certificates(bundle, 'ca_bundle'))
        if files.read_bytes(ca_path, 'CA bundle') != ca_data:
            reasons.append('ca_changed')
        if in_use:
            found, cert = slots.cert_reasons(
                slot_paths(directory, in_use), p, os.geteuid(), sans=sans, profile='pooler', what='REST API'
            )
            reasons.extend(found)
            if not found and 'ca_changed' not in reasons:
                got, _error = served(host, address, port, None, p['timeout'])
                if got != cert.get('fingerprint_sha256'):
                    reasons.append('not_served')
    if p['force'] and 'forced' not in reasons:
        reasons.append('forced')
    renew = any(r in CERT_REASONS for r in reasons)
    slot = (SLOTS[1] if in_use == SLOTS[0] else SLOTS[0]) if renew else in_use
    if p['state'] == 'install' and p['slot']:
        slot = p['slot']
    changes = wanted(p, directory, slot or SLOTS[0])
    new_text, changed_keys = pyaml.edit(text, changes, p['config_file'])
    if changed_keys:
        reasons.append('settings_changed')
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
        'member': data.get('name'),
        'scope': data.get('scope'),
        'rest': {'host': host, 'address': address, 'port': port},
        'settings': dict(('.'.join(path), pyaml.get(data, path)) for path, _v in changes),
        'wanted': dict(('.'.join(path), value) for path, value in changes),
        'changed_settings': changed_keys,
        'pids': pids,
        'common_name': p['common_name'],
        'subject_alt_names': list(sans),
    }
    if step.check_mode:
        return result
    if p['state'] == 'status':
        if renew and p['prepare']:
            result['csr'] = _new_key(directory, result['paths']['key'], p, sans)
        return result
    if renew and not p['certificate']:
        raise PatroniTlsError('A new certificate is due (%s): give the signed one.' % ', '.join(reasons), 'missing')
    if p['certificate']:
        result['certificate'] = _install_cert(p, slot_paths(directory, slot), sans)
        result['changed'] = True
    if 'ca_changed' in reasons:
        files.write_atomic(ca_path, ca_data, mode=0o644)
        result['changed'] = True
    if changed_keys:
        result['old_text'] = text
        result['new_text'] = new_text
    return result


def _new_key(directory, key_path, p, sans):
    files.make_dirs(directory, 0o700)
    spec = crypto.normalize_key_request(p['key_type'], p['key_size'], p['key_curve'])
    key = crypto.generate_private_key(spec)
    files.write_atomic(key_path, crypto.dump_private_key(key), mode=0o600, secret=True)
    csr = crypto.build_csr(key, crypto.normalize_subject({'CN': p['common_name']}), sans, 'pooler')
    return crypto.dump_csr(csr).decode('ascii')


def _install_cert(p, paths, sans):
    chain = crypto.load_certificates(p['certificate'], 'certificate')
    leaf = chain[0]
    key_raw = files.read_bytes(paths['key'], 'REST API key', secret=True, owners=[os.geteuid()])
    if key_raw is None:
        raise PatroniTlsError(
            'The key %s the certificate is for does not exist: run the prepare step first.' % paths['key'],
            'key_missing',
        )
    crypto.check_key_pair(leaf, crypto.load_private_key(key_raw, None, 'The REST API key'), 'The REST API certificate')
    if not any(crypto.is_issued_by(leaf, ca) for ca in crypto.load_certificates(p['ca_bundle'], 'ca_bundle')):
        raise PatroniTlsError('The REST API certificate is not issued by a CA of ca_bundle.', 'issuer')
    if crypto.name_to_dict(leaf.subject) != {'CN': p['common_name']} or sorted(crypto.sans_of(leaf)) != sorted(sans):
        raise PatroniTlsError(
            'The REST API certificate names other names than common_name and subject_alt_names.', 'subject'
        )
    files.write_atomic(paths['cert'], b''.join(crypto.dump_certificate(c) for c in chain), mode=0o644)
    return crypto.describe_certificate(leaf)


def validate(plan):
    """The pair and the bundle load as Patroni loads them, read as Patroni's user."""
    paths, ca_path = plan['paths'], os.path.join(plan['dir'], 'ca.crt')
    try:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca_path)
        ctx.load_cert_chain(certfile=paths['cert'], keyfile=paths['key'])
    except (OSError, ssl.SSLError) as exc:
        raise PatroniTlsError(
            'Patroni could not load %s with %s and %s: %s; nothing was reloaded.'
            % (paths['cert'], paths['key'], ca_path, getattr(exc, 'reason', None) or exc),
            'invalid_pair',
        )


def signal_reload(plan, config_file):
    pids = patroni_pids(config_file)
    if not pids:
        raise PatroniTlsError(
            'No Patroni process of this user runs with %s: start Patroni (this module changes a running '
            'member only).' % config_file,
            'patroni_not_running',
        )
    for pid in pids:
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError:
            pass
    return pids


def apply(step, plan):
    """Validate, reload and prove (as Patroni's user). Returns the proof, or raises with what it saw."""
    p = step.params
    validate(plan)
    signal_reload(plan, p['config_file'])
    test_hook('patroni_tls_reload')
    rest = plan['rest']
    ca_path = os.path.join(plan['dir'], 'ca.crt')
    expect = plan['certificate'].get('fingerprint_sha256')
    deadline = time.time() + p['timeout']
    got, error, member = None, None, None
    while True:
        got, error = served(rest['host'], rest['address'], rest['port'], ca_path, min(10, p['timeout']))
        if got == expect:
            try:
                member = _member_view(rest, ca_path, plan, min(10, p['timeout']))
            except (PgsslError, OSError, ssl.SSLError, ValueError) as exc:
                error = str(getattr(exc, 'reason', None) or exc)
            if member and str(member.get('api_url', '')).startswith('https://'):
                break
            error = error or 'the cluster view still lists %s at %s' % (plan['member'], (member or {}).get('api_url'))
        if time.time() > deadline:
            raise PatroniTlsError(
                'Patroni\'s REST API does not serve the new certificate as expected within %d s (%s; expected %s). '
                'See Patroni\'s log.' % (p['timeout'], error or got, expect),
                'not_served',
            )
        time.sleep(0.5)
    removed = []
    other = slot_paths(plan['dir'], SLOTS[1] if plan['slot'] == SLOTS[0] else SLOTS[0])
    for path in (other['key'], other['cert']):
        if files.remove(path):
            removed.append(path)
    return {'served_fingerprint': got, 'api_url': member['api_url'], 'role': member.get('role'), 'removed': removed}


def _member_view(rest, ca_path, plan, timeout):
    """This member as the cluster lists it, asked over https with the new client certificate
    (what patronictl and the other members see)."""
    client = (plan['paths']['cert'], plan['paths']['key'])
    _der, code, own = _https(rest['host'], rest['address'], rest['port'], ca_path, timeout, client, '/patroni')
    if code != 200 or not isinstance(own, dict):
        raise PatroniTlsError('GET /patroni with the new client certificate answered %s.' % code, 'not_served')
    name = plan['member'] or (own.get('patroni') or {}).get('name')
    _der, code, cluster = _https(rest['host'], rest['address'], rest['port'], ca_path, timeout, client, '/cluster')
    if code != 200 or not isinstance(cluster, dict):
        raise PatroniTlsError('GET /cluster with the new client certificate answered %s.' % code, 'not_served')
    for member in cluster.get('members') or []:
        if isinstance(member, dict) and member.get('name') == name:
            return member
    return None


def reload_only(step, plan):
    """SIGHUP (to put the old configuration back in force after a failed proof)."""
    signal_reload(plan, step.params['config_file'])
    return {}


def _diff(plan, old_text, new_text):
    return {
        'before_header': plan['config_file'],
        'after_header': plan['config_file'],
        'before': pyaml.masked(old_text),
        'after': pyaml.masked(new_text),
    }


def _write_config(path, old_text, new_text, backup):
    """Root rewrites the operator's file, keeping its owner and mode, when it still holds what
    the plan was made from."""
    if read_config(path) != old_text:
        raise PatroniTlsError('%s changed while it was being edited; run again.' % path, 'patroni_config')
    st = files.stat_file(path)
    return files.write_atomic(
        path, new_text.encode('utf-8'), mode=st.st_mode & 0o7777, uid=st.st_uid, gid=st.st_gid, backup=backup
    )


def run(module):
    import pwd

    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep
    from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step, TaskFailed

    # the child that drops to Patroni's user can no longer read the module's payload
    import json  # noqa: F401 pylint: disable=unused-import

    p = dict(module.params)
    p['config_file'] = os.path.normpath(p['config_file'] or '')
    sans = check_params(p)
    p['dir'] = os.path.normpath(p['dir'] or default_dir(p['config_file']))
    if (p['ca_bundle'] or '').strip() or (p['state'] == 'install' and not module.check_mode):
        crypto.load_certificates(p['ca_bundle'], 'ca_bundle')
    step = Step(module, p)
    warnings = []
    made = False
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(p['user'])
        except KeyError:
            raise PatroniTlsError('No OS user %s (user: the user Patroni runs as).' % p['user'], 'bad_value')
        if entry.pw_uid == 0:
            raise PatroniTlsError('Patroni does not run as root; give the user it runs as.', 'bad_value')
        if (p['prepare'] or p['state'] == 'install') and not module.check_mode:
            made = files.ensure_dir(p['dir'], 0o700, entry.pw_uid, entry.pw_gid)

        def as_user(call):
            return reloadstep.run_as_server_user(module, call, p['user'], warnings)

    else:

        def as_user(call):
            return call()

    plan = as_user(lambda: status(step, sans))
    old_text = plan.pop('old_text', None)
    new_text = plan.pop('new_text', None)
    plan['config_file'] = p['config_file']
    result = dict(plan, changed=bool(plan['changed'] or made or 'csr' in plan))
    if plan['changed_settings'] and module._diff:
        if old_text is None:
            # check mode and status: the plan's text was not passed back; the diff is of the keys
            result['diff'] = {
                'before_header': p['config_file'],
                'after_header': p['config_file'],
                'before': ''.join('%s: %s\n' % (k, plan['settings'].get(k)) for k in plan['changed_settings']),
                'after': ''.join('%s: %s\n' % (k, plan['wanted'][k]) for k in plan['changed_settings']),
            }
        else:
            result['diff'] = _diff(plan, old_text, new_text)
    if p['state'] == 'status':
        return result
    if module.check_mode:
        result['changed'] = plan['due']
        return result
    wrote = False
    if new_text is not None:
        saved = _write_config(p['config_file'], old_text, new_text, p['backup'])
        wrote = True
        result['changed'] = True
        if saved:
            result['backup_file'] = saved
    if not (wrote or plan['changed'] or plan['due']):
        return result
    try:
        proof = as_user(lambda: apply(step, plan))
    except (PgsslError, TaskFailed) as exc:
        if wrote:
            _write_config(p['config_file'], new_text, old_text, False)
            as_user(lambda: reload_only(step, plan))
            raise TaskFailed(
                '%s patroni.yml was put back and Patroni reloaded with it.' % exc,
                rolled_back=True,
                code=getattr(exc, 'code', None) or 'error',
            )
        raise
    result['changed'] = True
    result.update(proof)
    return result
