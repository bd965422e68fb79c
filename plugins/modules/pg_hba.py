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
  - The file is read the way PostgreSQL reads it. Records end at a newline only. On PostgreSQL
    16 and later, a backslash at the end of a line continues the record, and C(include),
    C(include_if_exists) and C(include_dir) lines are understood. A quoted token is never a
    keyword. An IP address without a CIDR suffix takes the next field as its mask. A file with a
    line the server would refuse is not edited; the error names the file and line.
  - pg_hba.conf is first match wins. A rule is placed before every earlier rule that overlaps
    it, that is, that matches some of the same connections (not only a superset). An example is
    C(host all all 127.0.0.1/32) before a C(hostssl all app 127.0.0.0/8 cert) rule. Two kinds of
    rules stay in front of it. The first is the rules it covers entirely, which would otherwise
    become unreachable. The second is other V(reject) rules, because a new rule never punches a
    hole in an operator's reject. If no order satisfies all of that, or a reject hides the rule
    entirely, the task fails and names the lines. RV(partly_shadowed) lists the earlier rules
    that still take some of a managed rule's connections, each with an example connection.
    RV(shadowed) lists the rules in the file that can never match.
  - Every rule this module writes ends with the comment C(# pgssl.postgresql) (plus O(rules[].comment)).
    With O(purge_managed=true), marked rules that are no longer listed are removed. The
    operator's own lines are never removed.
  - Every field is checked the way PostgreSQL tokenizes it. Names with blanks, commas, C(#) or
    quotes are written quoted, and a name given as C("all") (with the quotes) is the literal
    name. A newline, carriage return or NUL in any field is refused, and so are an address that
    is not a CIDR, an IP with a mask, a keyword or a host name, an option the method does not
    take, and a comment ending in a backslash (a continuation on 16+). Nothing is changed when
    any of them is refused.
  - O(require_ssl=reject) puts C(hostnossl all,replication all 0.0.0.0/0 reject) and C(::/0)
    before every other rule and include line. Plain TCP is then refused for normal logins and
    for physical replication. V(convert) turns every rule that accepts plain TCP (V(host),
    V(hostnogssenc), and V(hostnossl) with a method other than reject) into V(hostssl). With
    O(require_ssl_scope), only the rules inside the scope are converted, and a rule reaching
    beyond the scope is refused. V(convert) alone refuses a file with include lines. V(both)
    does both.
  - Option values the target PostgreSQL version refuses are refused here, with no file changed.
    These are C(clientcert=1/0/no-verify) on 14 and later, C(clientcert=verify-ca) with the cert
    method, and cert or clientcert outside hostssl.
  - Comments and unrelated lines are kept byte for byte. O(owner), O(group) and O(mode) are
    applied on every run; otherwise the file keeps its own.
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
seealso:
  - module: pgssl.postgresql.reload
    description: Validates and reloads after the change.
  - module: pgssl.postgresql.verify
    description: Proves which sslmodes the rules let through.
  - name: The pg_hba.conf File
    link: https://www.postgresql.org/docs/current/auth-pg-hba-conf.html
    description: How the server reads and matches the rules.
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
        description:
          - A CIDR (V(10.0.0.0/8)), an IP address (one host), an IP with a mask (V(10.0.0.0
            255.0.0.0) or V(10.0.0.0/255.0.0.0)), V(all), V(samehost), V(samenet) or a host name
            (V(.example.com) matches a suffix). Not for V(local).
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
        description: A comment written after the managed-rule marker of a new or updated rule.
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
  purge_managed:
    description:
      - Remove rules that carry this module's marker comment (C(# pgssl.postgresql)) but are no
        longer in O(rules) (or, for the reject lines, no longer asked for by O(require_ssl)).
    type: bool
    default: false
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
  description: Rules in the resulting file that an earlier rule hides entirely, with the hiding rule.
  returned: success
  type: list
  elements: dict
partly_shadowed:
  description:
    - For each managed rule, the earlier rules that take some of its connections, with an
      example connection in words.
  returned: success
  type: list
  elements: dict
  sample: [{rule: "host all app 10.0.0.0/8 scram-sha-256", hidden_by: "hostnossl all,replication all 0.0.0.0/0 reject",
            hidden_by_line: 1, example: "a plain TCP connection by user app to any database from 10.0.0.0"}]
backup_file:
  description: The kept previous file, when one was made.
  returned: changed and a backup was made
  type: str
warnings_placement:
  description: The entries of RV(partly_shadowed) in words (also given as warnings).
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _confsteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    rule_spec = steps.hba_rule_spec()
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            cluster=dict(type='str'),
            pg_version=dict(type='int'),
            rules=dict(type='list', elements='dict', default=[], options=rule_spec),
            require_ssl=dict(type='str', default='none', choices=['none', 'convert', 'reject', 'both']),
            require_ssl_scope=dict(type='list', elements='str', default=[]),
            purge_managed=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        required_one_of=[('path', 'cluster')],
        mutually_exclusive=[('path', 'cluster')],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.hba, needs=())


if __name__ == '__main__':
    main()
