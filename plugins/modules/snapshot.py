#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: snapshot
short_description: Record files before a TLS change and put them back exactly
version_added: 0.1.0
description:
  - V(save) records, for each path, whether it existed and, if so, its content, owner, group and
    mode. The snapshot lives in O(dir) (root-only C(0700), each copy C(0600)), and the module
    returns its O(id).
  - V(restore) puts back exactly what was recorded. Files that existed get their content, owner,
    group and mode back, and files that did not exist are removed. A file that existed is never
    removed. Every replacement is staged beside its target first, and the renames happen last,
    back to back, so a key and its certificate change together. Restoring twice changes nothing
    the second time.
  - V(drop) removes the snapshot.
  - Paths are reached without following symbolic links that root does not own. A symlink at a
    recorded name is refused, never followed.
  - The server role takes one snapshot of every file it may touch before its first change,
    restores it when anything fails, and drops it on success.
author:
  - pgssl.postgresql developers (@pgssl)
attributes:
  check_mode:
    support: full
    description: V(save) writes nothing; V(restore) reports what it would put back.
  diff_mode:
    support: none
    description: Nothing is shown; RV(entries), RV(restored) and RV(removed) say what happened.
seealso:
  - module: pgssl.postgresql.tls_prepare
    description: Takes the snapshot inside the server role's change.
  - module: pgssl.postgresql.activate
options:
  state:
    description: What to do.
    type: str
    choices: [save, restore, drop]
    required: true
  paths:
    description: The files to record (V(save) only).
    type: list
    elements: path
    default: []
  id:
    description: The snapshot, as returned by V(save). V(save) makes a new one when not given.
    type: str
  dir:
    description: Where snapshots live (created root-only when missing).
    type: path
    default: /var/lib/pgssl-postgresql/snapshots
  keep:
    description: V(save) removes older snapshots beyond this many (the newest are kept).
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Snapshot before the change
  pgssl.postgresql.snapshot:
    state: save
    paths:
      - /etc/postgresql/16/main/ssl/server.key
      - /etc/postgresql/16/main/ssl/server.crt
      - /etc/postgresql/16/main/postgresql.conf
      - /etc/postgresql/16/main/pg_hba.conf
  register: snap

- name: Put everything back when something failed
  pgssl.postgresql.snapshot:
    state: restore
    id: "{{ snap.id }}"
"""

RETURN = r"""
id:
  description: The snapshot.
  returned: success
  type: str
  sample: 20261129T171500-3f9a1c2e
entries:
  description: What was recorded (V(save)), without contents.
  returned: state is save
  type: list
  elements: dict
  sample: [{path: /etc/postgresql/16/main/ssl/server.key, existed: true, sha256: "3b1f...",
            uid: 0, gid: 118, mode: 416}]
restored:
  description: Paths put back (V(restore)).
  returned: state is restore
  type: list
  elements: str
removed:
  description: Paths removed because they did not exist at the snapshot (V(restore)).
  returned: state is restore
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _snapshot as snapshot
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def run(module):
    p = module.params
    state = p['state']
    if state == 'save':
        snap_id = p['id'] or snapshot.new_id()
        if module.check_mode:
            entries = []
            for path in p['paths']:
                got = snapshot.describe(path)
                entries.append(got[0] if isinstance(got, tuple) else got)
            return {'changed': True, 'id': snap_id, 'entries': entries}
        entries = snapshot.save(p['dir'], snap_id, p['paths'])
        snapshot.prune(p['dir'], p['keep'], snap_id)
        return {'changed': True, 'id': snap_id, 'entries': entries}
    if not p['id']:
        raise files.PgsslFileError('state=%s needs the id of the snapshot.' % state)
    if state == 'restore':
        restored, removed = snapshot.restore(p['dir'], p['id'], module.check_mode)
        return {'changed': bool(restored or removed), 'id': p['id'], 'restored': restored, 'removed': removed}
    changed = files.stat_file(os.path.join(p['dir'], p['id'])) is not None
    if changed and not module.check_mode:
        snapshot.drop(p['dir'], p['id'])
    return {'changed': changed, 'id': p['id']}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', required=True, choices=['save', 'restore', 'drop']),
            paths=dict(type='list', elements='path', default=[]),
            id=dict(type='str'),
            dir=dict(type='path', default='/var/lib/pgssl-postgresql/snapshots'),
            keep=dict(type='int', default=5),
        ),
        supports_check_mode=True,
    )
    execute(module, run, needs=())


if __name__ == '__main__':
    main()
