# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cores of the pg_conf and pg_hba modules, also run by the combined tls_install module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt


# ------------------------------------------------------------ pg_conf


def conf(module):
    p = module.params
    if p['path']:
        info = {'config_file': p['path']}
        try:
            info = cluster.find(config_file=p['path'])  # reads the whole tree, bounded
        except cluster.ClusterError:
            pass
    else:
        info = cluster.find(cluster=p['cluster'])
    path = info['config_file']
    raw = files.read_bytes(path, 'configuration file')
    if raw is None:
        raise files.PgsslFileError('The configuration file %s does not exist.' % path)
    # Patroni rewrites the postgresql.conf it owns: an edit there would be undone
    # (find already looked when it read the cluster; only a bare file is looked at here)
    evidence = info['manager_evidence'] if 'manager_evidence' in info else cluster.patroni_evidence(path)
    cluster.refuse_patroni(evidence)
    if 'data_dir' not in info:
        # not found as a cluster: its tree is still read as the server would read it, bounded,
        # and a FIFO, device or planted link anywhere in it refuses the edit
        pgconf.read_tree(path, errors=[])
    text = txt.decode(raw)
    lines = pgconf.parse(text)
    for bad in pgconf.syntax_errors(lines):
        raise pgconf.PgConfError(
            '%s:%s: %s. The server would not load this file; fix the line first.' % (path, bad.number, bad.error)
        )
    settings = dict(p['settings'])
    # a passphrase command is a secret: masked in changes, diff and the invocation
    module.no_log_values.update(pgconf.secret_values(settings, lines))
    new_lines, changes = pgconf.set_settings(lines, settings)
    new_text = pgconf.render(new_lines)

    managed = [n for n, v in settings.items() if v is not None]
    overrides = pgconf.find_overrides(path, new_lines, managed, info.get('auto_conf'))
    for item in overrides:
        # a secret found in another file (an include, ALTER SYSTEM) is masked too
        if item['name'] in pgconf.SECRET_SETTINGS:
            if item['value']:
                module.no_log_values.add(item['value'])
            item['value'] = pgconf.MASK
    override_edits = {}
    if overrides and not p['remove_overrides']:
        raise pgconf.PgConfError(
            'These lines would override the managed settings, so the change would be silently '
            'ignored: %s. Remove them, or set remove_overrides=true.'
            % '; '.join(
                '%s:%s sets %s = %r (%s)' % (o['file'], o['line'], o['name'], o['value'], o['via']) for o in overrides
            )
        )
    for item in overrides:
        override_edits.setdefault((item['file'], item['via']), []).append(item['line'])

    result = {
        'changed': bool(changes) or bool(override_edits),
        'config_file': path,
        'changes': changes,
        'overrides': overrides,
        'reload_required': bool(changes) or bool(override_edits),
        'restart_required': pgconf.needs_restart([c['name'] for c in changes]),
    }
    if module._diff:
        result['diff'] = [{'before': text, 'after': new_text, 'before_header': path, 'after_header': path}]
    if module.check_mode:
        return result
    if changes:
        saved = files.rewrite_file(module, path, txt.encode(new_text), p['backup'])
        if saved:
            result['backup_file'] = saved
    for (other, via), numbers in override_edits.items():
        other_text = txt.decode(files.read_bytes(other, 'file'))
        edited = pgconf.disable_lines(other_text, numbers, delete=(via == 'ALTER SYSTEM'))
        if module._diff:
            result['diff'].append(
                {'before': other_text, 'after': edited, 'before_header': other, 'after_header': other}
            )
        # another file keeps its own owner and mode (the task's attributes are for path)
        files.rewrite_file(module, other, txt.encode(edited), p['backup'], own_attributes=True)
    result['changed'] = (
        files.apply_attributes(module, path, result['changed'])
        if any(module.params.get(k) is not None for k in ('owner', 'group', 'mode'))
        else result['changed']
    )
    return result


# ------------------------------------------------------------ pg_hba


def hba(module):
    p = module.params
    major = p['pg_version']
    if p['path']:
        path = p['path']
    else:
        info = cluster.find(cluster=p['cluster'])
        path = info['hba_file']
        major = major or info['major']
    raw = files.read_bytes(path, 'pg_hba.conf')
    if raw is None:
        raise files.PgsslFileError('The file %s does not exist.' % path)
    text = txt.decode(raw)
    lines, actions, present = pghba.plan(
        text, p['rules'], major, p['require_ssl'], p['require_ssl_scope'], p['purge_managed'], path
    )
    new_text = pghba.render(lines)
    changed = new_text != text
    partly = []
    for rule in present:
        for earlier, conn in pghba.partly_shadowed(lines, rule):
            partly.append(
                {
                    'rule': rule.describe(),
                    'hidden_by': earlier.describe(),
                    'hidden_by_line': earlier.number,
                    'example': conn,
                }
            )
    notes = ['%s: %s goes to %s first' % (item['rule'], item['example'], item['hidden_by']) for item in partly]
    result = {
        'changed': changed,
        'hba_file': path,
        'actions': actions if changed else [],
        'warnings_placement': notes,
        'partly_shadowed': partly,
        'shadowed': [
            {'rule': r.describe(), 'line': r.number, 'hidden_by': e.describe(), 'hidden_by_line': e.number}
            for r, e in pghba.shadowed(lines)
        ],
    }
    for note in notes:
        module.warn(note)
    if module._diff:
        result['diff'] = {'before': text, 'after': new_text, 'before_header': path, 'after_header': path}
    if changed and not module.check_mode:
        saved = files.rewrite_file(module, path, txt.encode(new_text), p['backup'])
        if saved:
            result['backup_file'] = saved
    if any(p.get(k) is not None for k in ('owner', 'group', 'mode')):
        result['changed'] = files.apply_attributes(module, path, result['changed'])
    return result


def hba_rule_spec():
    """The suboptions of one pg_hba rule (pg_hba and tls_install)."""
    return dict(
        type=dict(type='str', default='hostssl', choices=list(pghba.TYPES)),
        databases=dict(type='list', elements='str', default=['all']),
        users=dict(type='list', elements='str', default=['all']),
        address=dict(type='str'),
        method=dict(type='str', default='scram-sha-256'),
        options=dict(type='dict', default={}),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        comment=dict(type='str'),
    )
