# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server's TLS change as one unit: the cores of tls_prepare, sign and tls_install.

A change on a database host is three module runs, whatever it touches:

1. ``prepare`` (on the host): one snapshot of every file the change may touch, the TLS
   directory, the key (a new key waits as ``server.key.next`` until its certificate is there)
   and the CSR.
2. ``sign`` (once, on the CA node): the CA is read and decrypted once, then every due host's
   CSR is certified with the names the controller grants.
3. ``install`` (on the host, in ``_unitinstall.py``): certificate and chain, the staged pair
   put in place together, CA file, CRL, postgresql.conf and pg_hba.conf, then the validation,
   the reload and the proof that the server serves the new certificate; the snapshot is
   dropped last.

Each step is the core of the single-purpose module it comes from (private_key, csr,
certificate, certificate_chain, activate, pg_conf, pg_hba, reload), run in-process through a
``Step`` view, so both paths behave the same. A failure leaves the snapshot for the caller's
rollback (the server role's rescue restores it and reloads).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step, TaskFailed
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import test_hook

_NAME = re.compile(r'^[A-Za-z0-9_@][A-Za-z0-9_.@-]{0,252}$')


def _diffs(result, step_result):
    diff = step_result.get('diff')
    if diff:
        result.setdefault('diff', []).extend(diff if isinstance(diff, list) else [diff])


# --------------------------------------------------------------------------- prepare

# what makes a new key (a prediction in check mode; the key step decides for real)
_NEW_KEY_REASONS = ('key_missing', 'key_unreadable', 'key_type_changed', 'key_encryption_changed')


def prepare(module):
    """The status check (tls_status); then, when something is due and ``prepare`` is on, the
    snapshot, the key and the CSR."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _status as status

    p = module.params
    result = status.run(module)
    result['new_key'] = any(r in _NEW_KEY_REASONS for r in result['reasons'])
    if not result['due'] or not p['prepare']:
        return result
    q = _plan_params(p, result)
    # the modules of the change path are loaded only when there is a change to make
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _snapshot as snapshot

    # bad input fails before anything is touched
    if not (q['key_src'] or q['key_content']):
        crypto.normalize_key_request(q['key_type'], q['key_size'], q['key_curve'])
    test_hook('status')  # the point between the status check and the first change
    uid, gid = files.resolve_uid(q['owner']), files.resolve_gid(q['group'])
    result['changed'] = files.ensure_dir(q['ssl_dir'], 0o750, uid, gid, module.check_mode)
    if module.check_mode and files.stat_file(q['ssl_dir']) is None:
        # nothing there yet: everything would be made
        result.update(
            changed=True,
            new_key=True,
            key_reasons=['missing'],
            key_file=q['key_path'] + '.next',
            cert_file=q['cert_path'] + '.next',
            public_key_fingerprint='(new key)',
        )
        return result
    if not module.check_mode:
        # one directory per cluster: runs for other clusters of the host never prune these
        snap_dir = os.path.join(p['snapshot_dir'], result['cluster']['config_file'].strip('/').replace('/', '-'))
        snap_id = snapshot.new_id()
        result['entries'] = snapshot.save(snap_dir, snap_id, q['snapshot_paths'])
        result.update(id=snap_id, snapshot_dir=snap_dir)
        snapshot.prune(snap_dir, 5, snap_id)
    try:
        _prepare_key(module, q, result)
        test_hook('key')
    except files.CheckModeGap:
        raise
    except TaskFailed as exc:
        raise TaskFailed(
            str(exc),
            id=result.get('id'),
            entries=result.get('entries'),
            snapshot_dir=result.get('snapshot_dir'),
            **exc.facts,
        )
    except PgsslError as exc:
        # the caller restores the snapshot: its id goes with the failure
        raise TaskFailed(
            str(exc),
            code=exc.code,
            id=result.get('id'),
            entries=result.get('entries'),
            snapshot_dir=result.get('snapshot_dir'),
        )
    except Exception as exc:  # pylint: disable=broad-except
        raise TaskFailed(
            '%s: %s' % (type(exc).__name__, exc),
            code='unexpected',
            id=result.get('id'),
            entries=result.get('entries'),
            snapshot_dir=result.get('snapshot_dir'),
        )
    return result


def _plan_params(p, status):
    """Where and how the key and CSR are made, from the options and what the status found."""
    info, paths = status['cluster'], status['paths']
    root_key = p['key_owner'] == 'root'
    external = bool(p['external_certificate'] or p['external_certificate_path'])
    csr_path = None if external else os.path.join(paths['ssl_dir'], 'server.csr')
    snapshot_paths = [
        paths['key'],
        paths['cert'],
        paths['key'] + '.next',
        paths['cert'] + '.next',
        os.path.join(paths['ssl_dir'], 'server.csr'),
        paths['ca'],
        paths['crl'],
        info['config_file'],
        info['hba_file'],
    ]
    if p['key_passphrase']:
        snapshot_paths.append(paths['passphrase'])
    return {
        'ssl_dir': paths['ssl_dir'],
        'key_path': paths['key'],
        'cert_path': paths['cert'],
        'csr_path': csr_path,
        'snapshot_paths': snapshot_paths,
        'owner': 'root' if root_key else info['server_user'],
        'group': info['server_group'],
        'key_mode': 0o640 if root_key else 0o600,
        'key_type': p['key_type'] or 'ecdsa',
        'key_size': p['key_size'] or 3072,
        'key_curve': p['key_curve'] or 'P-256',
        'key_passphrase': p['key_passphrase'],
        'key_src': p['key_src'],
        'key_content': p['key_content'],
        'key_src_passphrase': p['key_src_passphrase'],
        'common_name': p['common_name'],
        'subject_alt_names': p['sans'],
        'expected_key_fingerprint': status.get('key_fingerprint'),
    }


def _key_params(p, path, backup):
    return {
        'path': path,
        'type': p['key_type'],
        'size': p['key_size'],
        'curve': p['key_curve'],
        'passphrase': p['key_passphrase'],
        'regenerate': 'mismatch',
        'backup': backup,
        'src': p['key_src'],
        'src_content': p['key_content'],
        'src_passphrase': p['key_src_passphrase'],
        'owner': p['owner'],
        'group': p['group'],
        'mode': '%04o' % p['key_mode'],
    }


def _prepare_key(module, p, result):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as keysteps

    plan = keysteps.private_key(Step(module, _key_params(p, p['key_path'], False), check_mode=True))
    new_key = bool(plan.get('reasons'))
    key_file = p['key_path'] + ('.next' if new_key else '')
    expected = p['expected_key_fingerprint']
    if not new_key and expected and plan.get('public_key_fingerprint') not in (None, expected):
        raise crypto.PgsslCryptoError(
            '%s was replaced by another process after this run checked it (public key %s, now '
            '%s); refusing to have the CA certify a key this run did not check. Find out who '
            'changed it, then run again.' % (p['key_path'], expected, plan.get('public_key_fingerprint')),
            'key_replaced',
        )
    key = keysteps.private_key(Step(module, _key_params(p, key_file, not new_key)))
    result['changed'] = result['changed'] or key['changed']
    _diffs(result, key)
    result.update(
        new_key=new_key,
        key_file=key_file,
        key_reasons=plan.get('reasons') or [],
        cert_file=p['cert_path'] + ('.next' if new_key else ''),
        public_key_fingerprint=key.get('public_key_fingerprint'),
    )
    if not p['csr_path'] or (module.check_mode and new_key):
        return
    csr = keysteps.csr(
        Step(
            module,
            {
                'path': p['csr_path'],
                'privatekey_path': key_file,
                'privatekey_passphrase': p['key_passphrase'],
                'common_name': p['common_name'],
                'subject': {},
                'subject_alt_names': p['subject_alt_names'],
                'profile': 'server',
                'backup': False,
                'return_content': True,
                'owner': p['owner'],
                'group': p['group'],
            },
        )
    )
    result['changed'] = result['changed'] or csr['changed']
    result['csr'] = csr.get('csr')


# --------------------------------------------------------------------------- sign


def sign(module):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as certsteps

    p = module.params
    names = [r['name'] for r in p['requests']]
    for name in names:
        if not _NAME.match(name) or '..' in name:
            raise files.PgsslFileError(
                'Refusing the request name %r: it names the file '
                'DIR/NAME.crt, so letters, digits, "_", "@", "-" and '
                'single dots only.' % (name,)
            )
    if len(set(names)) != len(names):
        raise files.PgsslFileError('Two requests have the same name.')
    result = {'changed': False, 'certificates': {}, 'errors': {}}
    if not p['requests']:
        return result
    base = {
        'ca_cert_path': p['ca_cert_path'],
        'ca_key_path': p['ca_key_path'],
        'ca_key_passphrase': p['ca_key_passphrase'],
        'profile': p['profile'],
        'valid_days': p['valid_days'],
        'renew_before_days': p['renew_before_days'],
        'allow_ed25519_signer': False,
        'allow_weak_signer': False,
        'backup': False,
        'mode': p['mode'],
    }
    base['signer'] = certsteps._signer(Step(module, base).params)
    for request in p['requests']:
        params = dict(
            base,
            path=os.path.join(p['dir'], request['name'] + '.crt'),
            csr_content=request['csr'],
            common_name=request['common_name'],
            subject_alt_names=request['subject_alt_names'],
            force=request['force'],
        )
        try:
            got = certsteps.certificate(Step(module, params))
        except PgsslError as exc:
            # one host's bad request (a CSR asking for more names) fails that host only
            result['errors'][request['name']] = str(exc)
            continue
        result['changed'] = result['changed'] or got['changed']
        result['certificates'][request['name']] = dict(
            (k, got.get(k))
            for k in ('certificate', 'changed', 'reasons', 'fingerprint_sha256', 'not_after', 'subject_alt_names')
        )
    return result
