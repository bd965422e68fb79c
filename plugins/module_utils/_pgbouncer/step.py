# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``pgbouncer_tls`` module's run: root's part (the slot directory, the main ini file, the
rollback) around the parts that run as PgBouncer's user (``_pgbouncer.tls``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step, TaskFailed
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import tls

RELOAD_REASONS = ('ca_changed', 'not_applied', 'not_served', 'forced')


def _diff(plan):
    keys = plan['changed_settings']
    before = ''.join('%s = %s\n' % (k, plan['settings'].get(k)) for k in keys if plan['settings'].get(k) is not None)
    after = ''.join('%s = %s\n' % (k, plan['wanted'][k]) for k in keys)
    return {'before_header': plan['config_file'], 'after_header': plan['config_file'], 'before': before, 'after': after}


def _write_main(path, old_text, new_text, backup):
    return slots.rewrite_text(
        path, old_text, new_text, backup, 'PgBouncer configuration file', tls.PgbouncerTlsError, 'pgbouncer_config'
    )


def run(module):
    p = dict(module.params)
    p['config_file'] = os.path.normpath(p['config_file'] or '')
    sans = tls.check_params(p)
    p['dir'] = os.path.normpath(p['dir'] or tls.default_dir(p['config_file']))
    # without a CA only check mode goes on (before the run that makes the CA): ca_missing
    if (p['ca_bundle'] or '').strip() or (p['state'] == 'install' and not module.check_mode):
        crypto.load_certificates(p['ca_bundle'], 'ca_bundle')
    step = Step(module, p)
    made, as_user = slots.slot_owner(module, p, 'PgBouncer', tls.PgbouncerTlsError)
    plan = as_user(lambda: tls.status(step, sans))
    old_text = plan.pop('old_text', None)
    new_text = plan.pop('new_text', None)
    plan['config_file'] = p['config_file']
    result = dict(plan, changed=bool(plan['changed'] or made or 'csr' in plan))
    if plan['changed_settings'] and module._diff:
        result['diff'] = _diff(plan)
    for key in plan['restart_required']:
        module.warn('%s changes only when PgBouncer restarts; this module never restarts it.' % key)
    if p['state'] == 'status':
        return result
    if module.check_mode:
        result['changed'] = plan['due']
        return result
    wrote = False
    if new_text is not None:
        saved = _write_main(p['config_file'], old_text, new_text, p['backup'])
        wrote = True
        result['changed'] = True
        if saved:
            result['backup_file'] = saved
    if not (wrote or plan['changed'] or any(r in plan['reasons'] for r in RELOAD_REASONS)):
        return result
    try:
        proof = as_user(lambda: tls.apply(step, plan))
    except (PgsslError, TaskFailed) as exc:
        if wrote:
            _write_main(p['config_file'], new_text, old_text, False)
            as_user(lambda: tls.reload_only(step, plan))
            raise TaskFailed(
                '%s The configuration was put back and PgBouncer reloaded with it.' % exc,
                rolled_back=True,
                code=getattr(exc, 'code', None) or getattr(exc, 'facts', {}).get('code') or 'error',
            )
        raise
    result['changed'] = True
    result.update(proof)
    return result
