# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standby's replication credential: its own key and client certificate for the
replication role, in one of two slots (``replication-a`` and ``replication-b``) of a directory
of the server user, and the link (``primary_conninfo``) that uses them.

A new certificate always goes into the slot the link does not use, with a new key; the link
then moves to it with one changed ``primary_conninfo`` and a reload (PostgreSQL 13 and later
restart the walreceiver on it), so the walreceiver never sees a new certificate beside an old
key, and the reconnect that proves the new pair happens at once. The slot the link used is
removed once the walreceiver streams with the new one.

Everything here runs as the server user (a child process that has dropped to it): the
directory and files are the server user's own, so nothing it planted there can steer root.
Which slot is in use is read from ``primary_conninfo`` but only compared with the two paths
derived from the operator's directory; a path from that value is never opened.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbystep as standbystep
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step

SLOTS = ('a', 'b')
# reasons that need a new key and certificate (the others only a new primary_conninfo)
CERT_REASONS = (
    'not_linked',
    'ca_missing',
    'missing',
    'unreadable',
    'key_missing',
    'key_unreadable',
    'key_mismatch',
    'key_file_mode',
    'issuer_changed',
    'subject_changed',
    'profile_changed',
    'expired',
    'expiring',
    'not_yet_valid',
    'key_type_changed',
    'forced',
)


def slots_argspec():
    """The options of the targets that keep a key and certificate in two slots, as the
    ``slots`` doc fragment documents them (standby_credential, pgbouncer_tls)."""
    return dict(
        state=dict(type='str', default='status', choices=['status', 'install']),
        prepare=dict(type='bool', default=False),
        issuer=dict(type='str'),
        renew_before_days=dict(type='int', default=30),
        force=dict(type='bool', default=False),
        key_type=dict(type='str', default='ecdsa', choices=['ecdsa', 'rsa', 'ed25519']),
        key_curve=dict(type='str', default='P-256', no_log=False),
        key_size=dict(type='int', default=3072),
        slot=dict(type='str', choices=list(SLOTS)),
    )


def slot_paths(directory, slot):
    return {
        'key': os.path.join(directory, 'replication-%s.key' % slot),
        'cert': os.path.join(directory, 'replication-%s.crt' % slot),
    }


def default_dir(home, data_dir):
    """Outside the data directory (pg_basebackup copies that to every new standby), one per
    cluster (two clusters of one host follow different primaries), named after its data
    directory."""
    name = '-'.join(part for part in os.path.normpath(data_dir).split('/') if part)
    return os.path.join(home, '.postgresql', 'pgssl-replication-' + name)


def slot_in_use(current, directory, names=('sslcert', 'sslkey'), paths_of=None):
    """The slot whose certificate and key ``current`` names (under ``names``: the link's
    ``sslcert``/``sslkey``, or a target's own keys), or None. Only the two paths derived from
    ``directory`` count; a path from ``current`` is never opened."""
    for slot in SLOTS:
        paths = (paths_of or slot_paths)(directory, slot)
        if current.get(names[0]) == paths['cert'] and current.get(names[1]) == paths['key']:
            return slot
    return None


def link_reasons(current, p):
    """Why primary_conninfo must change, apart from the certificate (the TLS keywords, the
    primary's address, a password)."""
    reasons = []
    if current.get('sslmode') != p['sslmode']:
        reasons.append('sslmode_changed')
    if (current.get('sslrootcert') or '') != (p['sslrootcert'] or ''):
        reasons.append('rootcert_changed')
    for key in ('host', 'hostaddr'):
        if p[key] and current.get(key) != p[key]:
            reasons.append('primary_changed')
            break
    else:
        if p['port'] and current.get('port') != str(p['port']):
            reasons.append('primary_changed')
    if current.get('password') or current.get('passfile'):
        reasons.append('password')
    return reasons


def cert_reasons(paths, p, uid, now=None, sans=(), profile='client', what='replication'):
    """Why the certificate in a slot must be replaced ([] when it is fine), with its facts
    (CN ``p['common_name']``, ``sans``, ``profile``, issued by ``p['issuer']`` or a CA of
    ``p['ca_bundle']``; its key of ``p['key_type']``, owned by ``uid``). Shared by the targets
    that keep a key and certificate in two slots (the standby link, PgBouncer)."""
    raw = files.read_bytes(paths['cert'], '%s certificate' % what)
    if raw is None:
        return ['missing'], {}
    try:
        cert = crypto.load_certificates(raw)[0]
    except crypto.PgsslCryptoError:
        return ['unreadable'], {}
    reasons = []
    facts = crypto.describe_certificate(cert, now)
    # issued by the CA that signs now (during a CA rollover's reissue phase the bundle still
    # trusts the old one, but every certificate moves to the new one)
    issuers = crypto.load_certificates(p['issuer'] or p['ca_bundle'], 'issuer')
    issuer = next((ca for ca in issuers if crypto.is_issued_by(cert, ca)), None)
    if issuer is None:
        reasons.append('issuer_changed')
    found = crypto.certificate_reasons(
        cert,
        cert.public_key(),
        {'CN': p['common_name']},
        list(sans),
        profile,
        issuer_cert=issuer or cert,
        now=now,
        renew_before_days=p['renew_before_days'],
    )
    reasons.extend(r for r in found if r not in ('issuer_changed', 'key_changed'))
    key_raw = files.read_bytes(paths['key'], '%s key' % what, secret=True, owners=[uid])
    if key_raw is None:
        reasons.append('key_missing')
    else:
        try:
            key = crypto.load_private_key(key_raw, None, 'The %s key' % what)
            if not crypto.same_public_key(key, cert.public_key()):
                reasons.append('key_mismatch')
            if not crypto.is_key_kind(key, p['key_type'], p['key_size'], p['key_curve']):
                reasons.append('key_type_changed')
        except crypto.PgsslCryptoError:
            reasons.append('key_unreadable')
    return reasons, facts


def _server_facts(conn):
    row = pgconn.query(
        conn,
        "SELECT pg_is_in_recovery() AS r, current_setting('port') AS port, "
        "current_setting('data_directory') AS data_dir",
    )[0]
    return row


def _directory(p, data_dir):
    if p['dir']:
        return p['dir']
    return default_dir(pwd.getpwuid(os.geteuid()).pw_dir, data_dir)


def status(step):
    """What is due on this standby; with ``prepare`` (and not in check mode) a new key in the
    free slot and its CSR."""
    p = step.params
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        facts = _server_facts(conn)
        if not facts['r']:
            return {'changed': False, 'role': 'primary', 'due': False, 'reasons': []}
        current_text = pgconn.query(conn, 'SHOW primary_conninfo')[0]['primary_conninfo'] or ''
    finally:
        conn.close()
    directory = _directory(p, facts['data_dir'])
    current = conninfo.as_dict(current_text)
    in_use = slot_in_use(current, directory)
    reasons = [] if in_use else ['not_linked']
    cert = {}
    if not (p['ca_bundle'] or '').strip():
        # check mode on a fleet whose CA the run would make first
        reasons.append('ca_missing')
    elif in_use:
        found, cert = cert_reasons(slot_paths(directory, in_use), p, os.geteuid())
        reasons.extend(found)
    if p['force'] and 'forced' not in reasons:
        reasons.append('forced')
    renew = any(r in CERT_REASONS for r in reasons)
    reasons.extend(link_reasons(current, p))
    slot = (SLOTS[1] if in_use == SLOTS[0] else SLOTS[0]) if renew else in_use
    result = {
        'changed': False,
        'role': 'standby',
        'due': bool(reasons),
        'reasons': reasons,
        'renew': renew,
        'dir': directory,
        'slot_in_use': in_use,
        'slot': slot,
        'paths': slot_paths(directory, slot),
        'certificate': cert,
        'conninfo': conninfo.masked(current_text),
        'port': int(facts['port']),
    }
    if renew and p['prepare'] and not step.check_mode:
        result['csr'] = new_slot_key(directory, result['paths']['key'], p)
        result['changed'] = True
    return result


def new_slot_key(directory, key_path, p, sans=(), profile='client'):
    """A fresh key in the free slot (0600, this process's user's own), and its CSR (CN
    ``p['common_name']``, ``sans``, ``profile``) for the signer. Shared by the slot targets."""
    files.make_dirs(directory, 0o700)
    spec = crypto.normalize_key_request(p['key_type'], p['key_size'], p['key_curve'])
    key = crypto.generate_private_key(spec)
    files.write_atomic(key_path, crypto.dump_private_key(key), mode=0o600, secret=True)
    csr = crypto.build_csr(key, crypto.normalize_subject({'CN': p['common_name']}), list(sans), profile)
    return crypto.dump_csr(csr).decode('ascii')


def slot_owner(module, p, daemon, error):
    """Root's part before a slot target's steps: the OS user ``p['user']`` the daemon runs as
    (never root), the slot directory ``p['dir']`` made for it (0700) when a key or certificate
    may go there, and a runner that calls a step as that user in a child process. Returns
    (made, as_user); not as root, the steps run in this process."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep

    warnings = []
    if os.geteuid() != 0:
        return False, lambda call: call()
    try:
        entry = pwd.getpwnam(p['user'])
    except KeyError:
        raise error('No OS user %s (user: the user %s runs as).' % (p['user'], daemon), 'bad_value')
    if entry.pw_uid == 0:
        raise error('%s does not run as root; give the user it runs as.' % daemon, 'bad_value')
    made = False
    if (p['prepare'] or p['state'] == 'install') and not module.check_mode:
        made = files.ensure_dir(p['dir'], 0o700, entry.pw_uid, entry.pw_gid)
    return made, lambda call: reloadstep.run_as_server_user(module, call, p['user'], warnings)


def rewrite_text(path, old_text, new_text, backup, what, error, code):
    """Root rewrites the operator's configuration file, keeping its owner and mode, when it
    still holds what the plan was made from (else ``error``). Returns the backup path."""
    raw = files.read_bytes(path, what, follow=True)
    if raw is None or raw.decode('utf-8', 'replace') != old_text:
        raise error('%s changed while it was being edited; run again.' % path, code)
    st = files.stat_file(path)
    return files.write_atomic(
        path, new_text.encode('utf-8'), mode=st.st_mode & 0o7777, uid=st.st_uid, gid=st.st_gid, backup=backup
    )


def certs_or_none(data):
    """The certificates of a PEM bundle, or [] when it is empty or unreadable."""
    try:
        return crypto.load_certificates(data) if data and data.strip() else []
    except crypto.PgsslCryptoError:
        return []


def rollover_facts(ca_path, paths, bundle, what):
    """What a CA rollover reads of a slot target: the public key fingerprints of the CAs its
    ``ca.crt`` trusts, and that of the CA that issued the certificate in ``paths`` (found in
    ca.crt or ``bundle``), or None."""
    ca_file = certs_or_none(files.read_bytes(ca_path, 'CA bundle'))
    keys = [crypto.public_key_fingerprint(c.public_key()) for c in ca_file]
    leaf = certs_or_none(files.read_bytes(paths['cert'], what)) if paths else []
    if not leaf:
        return keys, None
    signer = next((c for c in ca_file + certs_or_none(bundle) if crypto.is_issued_by(leaf[0], c)), None)
    return keys, crypto.public_key_fingerprint(signer.public_key()) if signer is not None else None


def install_slot_cert(p, paths, sans, what, error):
    """The signed certificate ``p['certificate']`` into its slot, checked first against the
    slot's key, ``p['ca_bundle']`` and the names (CN ``p['common_name']``, exactly ``sans``);
    ``error`` is the target's error class. Returns the certificate's public facts."""
    chain = crypto.load_certificates(p['certificate'], 'certificate')
    leaf = chain[0]
    key_raw = files.read_bytes(paths['key'], '%s key' % what, secret=True, owners=[os.geteuid()])
    if key_raw is None:
        raise error(
            'The key %s the certificate is for does not exist: run the prepare step first.' % paths['key'],
            'key_missing',
        )
    crypto.check_key_pair(
        leaf, crypto.load_private_key(key_raw, None, 'The %s key' % what), 'The %s certificate' % what
    )
    if not any(crypto.is_issued_by(leaf, ca) for ca in crypto.load_certificates(p['ca_bundle'], 'ca_bundle')):
        raise error('The %s certificate is not issued by a CA of ca_bundle.' % what, 'issuer')
    if crypto.name_to_dict(leaf.subject) != {'CN': p['common_name']} or sorted(crypto.sans_of(leaf)) != sorted(sans):
        raise error('The %s certificate names other names than common_name and subject_alt_names.' % what, 'subject')
    files.write_atomic(paths['cert'], b''.join(crypto.dump_certificate(c) for c in chain), mode=0o644)
    return crypto.describe_certificate(leaf)


def install(step):
    """The certificate into its slot (checked against the slot's key, the name and the CA
    first), then the link onto that slot, proven by the walreceiver; the other slot's files go
    once it streams."""
    p = step.params
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        facts = _server_facts(conn)
    finally:
        conn.close()
    if not facts['r']:
        return {'changed': False, 'role': 'primary', 'msg': 'Not a standby: nothing to install.'}
    directory = _directory(p, facts['data_dir'])
    slot = p['slot']
    paths = slot_paths(directory, slot)
    result = {'changed': False, 'role': 'standby', 'dir': directory, 'slot': slot, 'paths': paths}
    if p['certificate']:
        chain = crypto.load_certificates(p['certificate'], 'certificate')
        leaf = chain[0]
        key_raw = files.read_bytes(paths['key'], 'replication key', secret=True, owners=[os.geteuid()])
        if key_raw is None:
            files.gap_if_check_mode('the key of slot %s does not exist yet' % slot)
            raise standbystep.StandbyError(
                'The key %s the certificate is for does not exist: run the prepare step first.' % paths['key'],
                'key_missing',
            )
        key = crypto.load_private_key(key_raw, None, 'The replication key')
        crypto.check_key_pair(leaf, key, 'The replication certificate')
        issuers = crypto.load_certificates(p['ca_bundle'], 'ca_bundle')
        if not any(crypto.is_issued_by(leaf, ca) for ca in issuers):
            raise standbystep.StandbyError('The replication certificate is not issued by a CA of ca_bundle.', 'issuer')
        if crypto.name_to_dict(leaf.subject) != {'CN': p['common_name']}:
            raise standbystep.StandbyError(
                'The replication certificate is for %s, not CN=%s.'
                % (crypto.name_to_string(leaf.subject), p['common_name']),
                'subject',
            )
        data = b''.join(crypto.dump_certificate(c) for c in chain)
        if files.read_bytes(paths['cert'], 'replication certificate') != data:
            result['changed'] = True
            if not step.check_mode:
                files.write_atomic(paths['cert'], data, mode=0o644)
        result['certificate'] = crypto.describe_certificate(leaf)
    else:
        raw = files.read_bytes(paths['cert'], 'replication certificate')
        if raw is None:
            raise standbystep.StandbyError('Slot %s has no certificate; give one.' % slot, 'missing')
        result['certificate'] = crypto.describe_certificate(crypto.load_certificates(raw)[0])
    keep = list(pgconn.connection_argspec()) + ['server_user', 'sslmode', 'sslrootcert', 'host', 'hostaddr', 'port']
    keep.append('timeout')
    link_params = dict((k, p[k]) for k in keep)
    link_params.update(sslcert=paths['cert'], sslkey=paths['key'], remove_password=True)
    linked = standbystep.link(Step(step._module, link_params, check_mode=step.check_mode))
    for key in ('conninfo', 'conninfo_before', 'receiver', 'source', 'diff'):
        if key in linked:
            result[key] = linked[key]
    result['changed'] = result['changed'] or linked['changed']
    if not step.check_mode:
        # the other slot is no longer used (or never was): its key does not outlive it
        other = slot_paths(directory, SLOTS[1] if slot == SLOTS[0] else SLOTS[0])
        removed = [path for path in (other['key'], other['cert']) if files.remove(path)]
        if removed:
            result['changed'] = True
            result['removed'] = removed
    return result


def run(module):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep

    p = module.params
    if p['state'] == 'install' and not p['slot']:
        raise standbystep.StandbyError('state=install needs the slot the prepare step returned.', 'bad_value')
    standbystep.wanted_changes(dict(p, sslcert=None, sslkey=None))  # a bad value is refused before any login
    # without a CA only a read-only status goes on (check mode, before the run that makes it)
    if (p['ca_bundle'] or '').strip() or p['state'] == 'install' or (p['prepare'] and not module.check_mode):
        crypto.load_certificates(p['ca_bundle'], 'ca_bundle')
    step = Step(module, p)
    call = status if p['state'] == 'status' else install
    warnings = []
    if os.geteuid() != 0:
        return call(step)
    if p['login_host']:
        raise standbystep.StandbyError(
            'As root this module works as the server user over the unix socket (the files are that '
            'user\'s own); leave login_host unset.',
            'bad_value',
        )
    return reloadstep.run_as_server_user(module, lambda: call(step), p['server_user'] or 'postgres', warnings)
