#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pg_hba
short_description: Manage pg_hba.conf rules where they are reachable
version_added: 0.1.0
description:
  - Adds, updates or removes rules in pg_hba.conf (V(local), V(host), V(hostssl), V(hostnossl),
    V(hostgssenc), V(hostnogssenc)) with databases, users, address, method and options such as
    C(clientcert=verify-full) or C(map=).
  - pg_hba.conf is first match wins. A rule is placed before any existing rule that matches a
    superset of its connections (V(host) covers V(hostssl), V(all) covers a name, a wider CIDR
    covers a narrower one). An existing rule that is shadowed is moved. RV(shadowed) lists the
    rules in the result that can never match.
  - O(require_ssl) refuses non-TLS TCP connections. V(convert) turns V(host) rules into
    V(hostssl). V(reject) puts C(hostnossl all all 0.0.0.0/0 reject) and C(::/0) first. V(both)
    does both.
  - Option values the target PostgreSQL version refuses are refused here, with no file changed.
    These are C(clientcert=1/0/no-verify) on 14 and later, C(clientcert=verify-ca) with the cert
    method, and cert or clientcert outside hostssl.
  - Comments and unrelated lines are kept byte for byte.
author:
  - pgssl.postgresql developers (@pgssl)
attributes:
  check_mode:
    support: full
    description: Computes the new file and reports what would change.
  diff_mode:
    support: full
    description: Shows the file before and after.
extends_documentation_fragment:
  - ansible.builtin.files
options:
  path:
    description: The pg_hba.conf to edit.
    type: path
  cluster:
    description: A cluster reference instead of O(path), see M(pgssl.postgresql.pg_conf).
    type: str
  pg_version:
    description:
      - PostgreSQL major version, to validate options. Detected from the cluster when not given.
        Validation assumes 14 or later when unknown.
    type: int
  rules:
    description: Rules to manage.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: Connection type.
        type: str
        choices: [local, host, hostssl, hostnossl, hostgssenc, hostnogssenc]
        default: hostssl
      databases:
        description: Database names (list or comma-separated), V(all), V(replication), ...
        type: list
        elements: str
        default: [all]
      users:
        description: User names (list or comma-separated), V(all), V(+group), ...
        type: list
        elements: str
        default: [all]
      address:
        description: CIDR, V(all), V(samehost), V(samenet) or a host name. Not for V(local).
        type: str
      method:
        description: Authentication method (V(scram-sha-256), V(cert), V(reject), ...).
        type: str
        default: scram-sha-256
      options:
        description: Authentication options such as C(clientcert=verify-full) or C(map=name).
        type: dict
        default: {}
      state:
        description: V(absent) removes the rule with this type, databases, users and address.
        type: str
        choices: [present, absent]
        default: present
      comment:
        description: A comment written after a new or updated rule.
        type: str
  require_ssl:
    description: Refuse non-TLS TCP connections (see description).
    type: str
    choices: [none, convert, reject, both]
    default: none
  require_ssl_scope:
    description:
      - CIDRs that O(require_ssl) applies to. Default all IPv4 and IPv6 addresses.
    type: list
    elements: str
    default: []
  backup:
    description: Keep the previous file beside the new one.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Password logins only over TLS, client certificates for the app user
  pgssl.postgresql.pg_hba:
    cluster: 16/main
    rules:
      - type: hostssl
        databases: [appdb]
        users: [app]
        address: 10.0.0.0/8
        method: cert
      - type: hostssl
        address: 0.0.0.0/0
        method: scram-sha-256
    require_ssl: reject
"""

RETURN = r"""
hba_file:
  description: The file edited.
  returned: success
  type: str
actions:
  description: What was done (or would be), one line each.
  returned: success
  type: list
  elements: str
  sample: ["added hostssl all all 10.0.0.0/8 scram-sha-256 before line 12"]
shadowed:
  description: Rules in the resulting file that an earlier rule hides, with the hiding rule.
  returned: success
  type: list
  elements: dict
warnings_placement:
  description: Notes about placement compromises.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def run(module):
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
    text = raw.decode('utf-8', 'surrogateescape')
    try:
        lines = pghba.parse(text)
    except pghba.PgHbaError as exc:
        raise pghba.PgHbaError('%s: %s' % (path, exc))
    wanted = []
    for spec in p['rules']:
        try:
            wanted.append((pghba.make_rule(spec, major), spec['state']))
        except pghba.PgHbaError as exc:
            raise pghba.PgHbaError('Rule %s: %s' % (spec, exc))
    actions, notes = [], []
    for rule, state in wanted:
        if state == 'absent':
            lines, action = pghba.remove_rule(lines, rule)
        else:
            lines, action, more = pghba.ensure_rule(lines, rule)
            notes.extend(more)
        if action:
            actions.append('%s %s' % (action, rule.describe()))
    if p['require_ssl'] != 'none':
        lines, more = pghba.require_ssl(lines, p['require_ssl'], p['require_ssl_scope'] or None)
        actions.extend(more)
    new_text = pghba.render(lines)
    changed = new_text != text
    result = {
        'changed': changed, 'hba_file': path, 'actions': actions if changed else [],
        'warnings_placement': notes,
        'shadowed': [{'rule': r.describe(), 'line': r.number, 'hidden_by': e.describe(),
                      'hidden_by_line': e.number} for r, e in pghba.shadowed(lines)],
    }
    for note in notes:
        module.warn(note)
    if module._diff:
        result['diff'] = {'before': text, 'after': new_text, 'before_header': path,
                          'after_header': path}
    if changed and not module.check_mode:
        saved = files.rewrite_file(module, path,
                                   new_text.encode('utf-8', 'surrogateescape'), p['backup'])
        if saved:
            result['backup_file'] = saved
    return result


def main():
    rule_spec = dict(
        type=dict(type='str', default='hostssl', choices=list(pghba.TYPES)),
        databases=dict(type='list', elements='str', default=['all']),
        users=dict(type='list', elements='str', default=['all']),
        address=dict(type='str'),
        method=dict(type='str', default='scram-sha-256'),
        options=dict(type='dict', default={}),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        comment=dict(type='str'),
    )
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            cluster=dict(type='str'),
            pg_version=dict(type='int'),
            rules=dict(type='list', elements='dict', default=[], options=rule_spec),
            require_ssl=dict(type='str', default='none',
                             choices=['none', 'convert', 'reject', 'both']),
            require_ssl_scope=dict(type='list', elements='str', default=[]),
            backup=dict(type='bool', default=False),
        ),
        required_one_of=[('path', 'cluster')],
        mutually_exclusive=[('path', 'cluster')],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, run, needs=())


if __name__ == '__main__':
    main()
