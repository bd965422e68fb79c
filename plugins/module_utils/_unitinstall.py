# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The last step of the server's TLS change as one unit (the core of tls_install): certificate
and chain, the staged pair put in place together, passphrase file, CA file, CRL,
postgresql.conf and pg_hba.conf, then validation, reload, proof, and the snapshot dropped. See
``_unit.py`` for the whole unit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import test_hook
from ansible_collections.pgssl.postgresql.plugins.module_utils._unit import _diffs


# --------------------------------------------------------------------------- install


def _write_plain(module, path, data, owner, group, mode, backup):
    """A public file (CRL): written when its bytes differ, attributes set either way."""
    step = Step(module, {'owner': owner, 'group': group, 'mode': mode})
    existing = files.read_bytes(path, 'file')
    return files.converge(step, path, data, existing != data, backup=backup and existing is not None)


def _passphrase_file(module, p):
    """The file ssl_passphrase_command reads: root's, readable by the server group."""
    path = p['passphrase_file']
    data = (p['key_passphrase'] + '\n').encode('utf-8')
    # made root's, 0755, when missing; an existing one may be the operator's: left as it is
    files.make_dirs(os.path.dirname(path), 0o755, module.check_mode)
    step = Step(module, {'owner': 'root', 'group': p['group'], 'mode': '0640'})
    existing = files.read_bytes(path, 'passphrase file', secret=True, owners=[0])
    changed = existing != data
    if changed and not module.check_mode:
        files.write_atomic(path, data, mode=0o640, uid=0, gid=files.resolve_gid(p['group']), secret=True)
    if not changed or not module.check_mode:
        changed = files.apply_attributes(step, path, changed, secret=True)
    return changed


def _install_pair(module, p, result):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as certsteps
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as keysteps

    owners = {'owner': p['owner'], 'group': p['group'], 'mode': '0644'}
    cert_file = p['cert_path'] + ('.next' if p['new_key'] else '')
    if not (p['chain_contents'] or p['chain_paths']):
        if not module.check_mode:
            raise files.PgsslFileError('No certificate to install (chain_contents or chain_paths).')
        result['changed'] = True  # check mode: the certificate is not signed yet
        result['certificate'] = '(new certificate)'
        return
    chain = certsteps.chain(
        Step(
            module,
            dict(
                owners,
                path=cert_file,
                certificates=p['chain_paths'],
                contents=p['chain_contents'],
                ca_path=p['chain_ca_path'],
                ca_contents=p['chain_ca_contents'],
                kind='chain',
                include_root=False,
                keep_expired=False,
                require_complete=p['chain_require_complete'],
                system_trust=p['chain_system_trust'],
                backup=not p['new_key'],
            ),
        )
    )
    _diffs(result, chain)
    result['changed'] = result['changed'] or chain['changed']
    result['chain'] = chain['chain']
    if p['new_key'] and not (module.check_mode and chain['changed']):
        activated = keysteps.activate(
            Step(
                module,
                {
                    'key_path': p['key_path'],
                    'certificate_path': p['cert_path'],
                    'passphrase': p['key_passphrase'],
                    'backup': True,
                },
            )
        )
        result['changed'] = result['changed'] or activated['changed']
        result['activated'] = activated['activated']


def install(module):
    p = module.params
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as certsteps
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _confsteps as confsteps
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _snapshot as snapshot

    if p['snapshot_id']:
        snapshot.check_id(p['snapshot_id'])  # refused before anything is written, not after
    # before any file is written: Patroni would undo the settings (and maybe the rules); with
    # patroni=dcs the caller sets them through Patroni (patroni_config) and only the files are
    # written here
    evidence = cluster.patroni_evidence(p['config_file'])
    via_patroni = p['patroni'] == 'dcs' and bool(evidence)
    if not via_patroni:
        cluster.refuse_patroni(evidence)
    result = {'changed': False, 'reloaded': False}
    if p['key_passphrase']:
        result['changed'] = _passphrase_file(module, p)
    _install_pair(module, p, result)
    test_hook('cert')
    owners = {'owner': p['owner'], 'group': p['group'], 'mode': '0644'}
    if p['ca_file_content']:
        bundle = certsteps.chain(
            Step(
                module,
                dict(
                    owners,
                    path=p['ca_file'],
                    certificates=[],
                    contents=[p['ca_file_content']],
                    ca_path=[],
                    kind='bundle',
                    include_root=False,
                    keep_expired=False,
                    require_complete=False,
                    system_trust=False,
                    backup=True,
                ),
            )
        )
        _diffs(result, bundle)
        result['changed'] = result['changed'] or bundle['changed']
    test_hook('ca')
    if p['crl_content']:
        result['changed'] = (
            _write_plain(module, p['crl_file'], p['crl_content'].encode('ascii'), p['owner'], p['group'], '0644', True)
            or result['changed']
        )
    if via_patroni:
        return _apply(module, p, result, reloadstep, snapshot)
    conf = confsteps.conf(
        Step(
            module,
            {
                'path': p['config_file'],
                'settings': p['settings'],
                'remove_overrides': p['remove_overrides'],
                'backup': True,
            },
        )
    )
    _diffs(result, conf)
    result['changed'] = result['changed'] or conf['changed']
    result['settings_changes'] = conf['changes']
    test_hook('conf')
    hba = confsteps.hba(
        Step(
            module,
            {
                'path': p['hba_file'],
                'pg_version': p['pg_version'],
                'rules': p['hba_rules'],
                'require_ssl': p['require_ssl'],
                'require_ssl_scope': [],
                'purge_managed': p['purge_managed'],
                'backup': True,
            },
        )
    )
    _diffs(result, hba)
    result['changed'] = result['changed'] or hba['changed']
    result['hba_actions'] = hba['actions']
    test_hook('hba')
    return _apply(module, p, result, reloadstep, snapshot)


def _apply(module, p, result, reloadstep, snapshot):
    """Reload (validated, proven by the served certificate), the proof, the snapshot dropped."""
    if p['reload'] == 'always' or (p['reload'] == 'changed' and result['changed']):
        test_hook('validate')
        done = reloadstep.reload_as_server_user(module, _reload_params(p, module.check_mode))
        result['reloaded'] = done.get('reloaded', False)
        result['changed'] = True
        for key in ('served_fingerprint', 'restart_required', 'server_version', 'ssl'):
            if key in done:
                result[key] = done[key]
    test_hook('reload')
    if p['proof'] and not module.check_mode:
        result['proof'] = _proof(module, p)
    test_hook('proof')
    if p['snapshot_id'] and not module.check_mode:
        snapshot.drop(p['snapshot_dir'], p['snapshot_id'])
    return result


def _reload_params(p, check_mode):
    params = dict(
        (k, p[k])
        for k in p
        if k.startswith('login_')
        or k in ('connect_timeout', 'server_user', 'tls_host', 'tls_hostaddr', 'tls_port', 'timeout')
    )
    # in check mode nothing was written: neither the certificate nor the settings to expect are
    # on disk yet (the server still reads the old lines, e.g. ssl = off in conf.d, which the
    # real run edits); the plan already checked that no later file would override them
    params.update(
        expected_certificate_path=None if check_mode else p['cert_path'],
        expected_settings=None if check_mode else p['settings'],
        validate_only=False,
    )
    return params


def _proof(module, p):
    """Each sslmode from this host, with the name clients use (the verify module's core). The
    CA to verify with is given as text; libpq reads it from a private temporary file."""
    import tempfile
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _verifystep as verifystep

    params = {
        'host': p['tls_host'] or p['login_host'],
        'hostaddr': p['tls_hostaddr'],
        'port': p['tls_port'] or p['login_port'],
        'dbname': p['proof_dbname'],
        'user': p['proof_user'],
        'password': p['proof_password'],
        'sslrootcert': p['proof_sslrootcert'],
        'sslmodes': list(_SSLMODES),
        'policy': p['proof_policy'],
        'expect': {},
        'probe_only': not p['proof_password'],
        'probe_certificate': True,
        'connect_timeout': 5,
        'environment': {},
    }
    handle = None
    try:
        if p['proof_sslrootcert_content']:
            fd, path = tempfile.mkstemp(prefix='pgssl-proof-', suffix='.pem')
            handle = os.fdopen(fd, 'w')
            handle.write(p['proof_sslrootcert_content'])
            handle.close()
            params['sslrootcert'] = path
        return verifystep.verify(Step(module, params))
    finally:
        if handle is not None:
            os.unlink(params['sslrootcert'])


_SSLMODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')
