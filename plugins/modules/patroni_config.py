#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: patroni_config
short_description: PostgreSQL settings and pg_hba rules of a Patroni cluster, set through Patroni
version_added: 0.3.0
description:
  - Patroni owns C(postgresql.conf) and, when its configuration lists C(postgresql.pg_hba),
    C(pg_hba.conf), and rewrites both at its next reload, so an edit of those files is undone.
    This module sets the parameters and rules where Patroni takes them, in the cluster-wide
    dynamic configuration, through a member's REST API (C(GET) and C(PATCH /config)), and asks
    every member to apply it (C(POST /reload)). ssl_* parameters and pg_hba rules apply with a
    PostgreSQL reload; Patroni never restarts for them.
  - Parameter values are compared as PostgreSQL reads them (C(on) and C(true), units, quoting),
    so an equal value changes nothing. A value of null removes the parameter.
  - The rules are placed in Patroni's list by the same editor as M(pgssl.postgresql.pg_hba),
    each rule before every earlier rule that overlaps it, marked C(# pgssl.postgresql),
    O(require_ssl) and O(purge_managed) as there. When the dynamic configuration has no list
    yet, the member's current C(pg_hba.conf) (O(hba_file)) is the list to start from.
  - A member's own C(patroni.yml) wins over the dynamic configuration key by key (and its
    C(postgresql.pg_hba) over the whole list). What each member then serves is for the caller
    to prove (a TLS handshake per member), as Patroni applies the change asynchronously, within
    C(loop_wait) of the reload.
  - The members asked to reload are read from C(GET /cluster), that is from the DCS, which any
    member can write. So C(POST /reload), with the REST credentials and client certificate, goes
    only to a member whose API host is O(rest_url)'s or one named in O(member_hosts); the others
    apply the change at their next Patroni cycle. Every call ends within twice
    O(connect_timeout), however slowly the API answers, and an answer over 4 MiB is refused.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.hba_rules
attributes:
  check_mode:
    support: full
    description: Reads the configuration and says what would change; nothing is sent.
  diff_mode:
    support: full
    description: The parameters and the pg_hba list before and after, secret values masked.
seealso:
  - module: pgssl.postgresql.pg_hba
  - name: Patroni dynamic configuration
    link: https://patroni.readthedocs.io/en/latest/dynamic_configuration.html
    description: Where Patroni takes cluster-wide settings from, and which of them win.
options:
  scope:
    description:
      - Where the parameters and rules go.
      - C(dcs), the cluster-wide dynamic configuration, through O(rest_url) (once per cluster).
      - C(local), this member's own C(patroni.yml) (O(config_file)), under C(postgresql.parameters)
        and C(postgresql.pg_hba), which win over the dynamic configuration (run it on every
        member). The file is read as O(user) and edited in place, every other line kept; a
        file this module cannot edit so that Patroni reads exactly the new values (flow style,
        anchors, a key given twice) is refused, unchanged. Patroni is reloaded (C(SIGHUP) to
        the process running with that file, never a restart) and the module waits until the
        server runs with the parameters and has loaded the new C(pg_hba.conf), asked as O(user)
        over its own socket (peer authentication; needs psycopg on the member). If that does
        not happen within O(timeout), the file is put back and Patroni reloaded again.
    type: str
    choices: [dcs, local]
    default: dcs
  config_file:
    description: The member's C(patroni.yml), the one its Patroni runs with (O(scope=local)).
    type: path
  user:
    description: The OS user Patroni runs as (O(scope=local)); never root.
    type: str
    default: postgres
  rest_url:
    description: A member's REST API, C(http://HOST:8008) or C(https://HOST:8008). Required with O(scope=dcs).
    type: str
  member_hosts:
    description:
      - The host names or addresses of the members' REST APIs that may be asked to reload (with
        the credentials). Default only O(rest_url)'s host.
    type: list
    elements: str
    default: []
  pg_hba_lines:
    description:
      - Patroni's C(postgresql.pg_hba) list exactly as given, instead of placing rules (not with
        O(hba_rules), O(require_ssl) or O(purge_managed)). It may not be empty.
      - The server role's rollback passes RV(previous) back this way.
    type: list
    elements: str
  remove_pg_hba:
    description: Drop C(postgresql.pg_hba) from the dynamic configuration (each member's
      C(pg_hba.conf) is then its own again). The rollback of a change that created the list.
    type: bool
    default: false
  rest_cafile:
    description: CA file that verifies the REST API's certificate (https). Default the system store.
    type: path
  rest_certfile:
    description: Client certificate for a REST API with C(verify_client).
    type: path
  rest_keyfile:
    description: Key of O(rest_certfile).
    type: path
  rest_username:
    description: User of the REST API's basic authentication (C(restapi.authentication)), for the
      calls that change something.
    type: str
  rest_password:
    description: Its password.
    type: str
  parameters:
    description: PostgreSQL parameters to set (null removes one).
    type: dict
    default: {}
  hba_file:
    description: The member's C(pg_hba.conf), the list to start from when the dynamic
      configuration (or with O(scope=local), the member's C(patroni.yml)) has none (read with the
      collection's bounded reads).
    type: path
  pg_version:
    description: PostgreSQL major version, for the rules' checks.
    type: int
  timeout:
    description: Seconds to wait for the dynamic configuration to show the change (with
      O(scope=local), for the server to run with it).
    type: int
    default: 30
  connect_timeout:
    description: Seconds each REST call may take.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: TLS for every member, through Patroni's dynamic configuration
  pgssl.postgresql.patroni_config:
    rest_url: "http://{{ ansible_host }}:8008"
    rest_username: patroni
    rest_password: "{{ vault_patroni_rest_password }}"
    parameters:
      ssl: "on"
      ssl_cert_file: ssl/server.crt   # relative to each member's data directory
      ssl_key_file: ssl/server.key
      ssl_ca_file: ssl/root.crt
      ssl_min_protocol_version: TLSv1.2
    hba_rules:
      - {type: hostssl, databases: [replication], users: [replicator], address: 10.20.0.0/16, method: cert}
    require_ssl: reject
    hba_file: /var/lib/postgresql/16/main/pg_hba.conf
  run_once: true

- name: The same in one member's own patroni.yml (run on each member)
  pgssl.postgresql.patroni_config:
    scope: local
    config_file: /etc/patroni/patroni.yml
    user: postgres
    parameters:
      ssl: "on"
      ssl_cert_file: /etc/patroni/tls/server.crt
      ssl_key_file: /etc/patroni/tls/server.key
    hba_rules:
      - {type: hostssl, databases: [all], users: [all], address: 10.20.0.0/16, method: scram-sha-256}
    hba_file: /var/lib/postgresql/16/main/pg_hba.conf
"""

RETURN = r"""
parameters_changed:
  description: The parameters that changed (or would).
  returned: always
  type: list
  elements: str
hba_actions:
  description: What was done to the pg_hba list, rule by rule.
  returned: when the list changed
  type: list
  elements: str
members:
  description: The cluster's members as C(GET /cluster) lists them (name, role, state, host, port,
    api_url); empty with O(scope=local).
  returned: always
  type: list
  elements: dict
previous:
  description:
    - What the change replaced, for a rollback. C(parameters) holds the old value of each changed
      parameter (null for one that was not set), and C(pg_hba) holds the old list (null for no
      list) when the list changed. Give them back as O(parameters) and O(pg_hba_lines).
    - Secret values are masked in the output.
  returned: when something changes (also in check mode)
  type: dict
reloads:
  description: The members asked to apply the change now, with the REST API's answer (or why
    one was not asked).
  returned: when changed, not in check mode, O(scope=dcs)
  type: list
  elements: dict
pids:
  description: The Patroni processes sent C(SIGHUP) (O(scope=local)).
  returned: when changed, not in check mode, O(scope=local)
  type: list
  elements: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronilocal as local
from ansible_collections.pgssl.postgresql.plugins.module_utils._confsteps import hba_rule_spec
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            scope=dict(type='str', default='dcs', choices=['dcs', 'local']),
            config_file=dict(type='path'),
            user=dict(type='str', default='postgres'),
            rest_url=dict(type='str'),
            member_hosts=dict(type='list', elements='str', default=[]),
            rest_cafile=dict(type='path'),
            rest_certfile=dict(type='path'),
            rest_keyfile=dict(type='path', no_log=False),
            rest_username=dict(type='str'),
            rest_password=dict(type='str', no_log=True),
            parameters=dict(type='dict', default={}),
            hba_rules=dict(type='list', elements='dict', default=[], options=hba_rule_spec()),
            require_ssl=dict(type='str', default='none', choices=['none', 'convert', 'reject', 'both']),
            purge_managed=dict(type='bool', default=False),
            pg_hba_lines=dict(type='list', elements='str'),
            remove_pg_hba=dict(type='bool', default=False),
            hba_file=dict(type='path'),
            pg_version=dict(type='int'),
            timeout=dict(type='int', default=30),
            connect_timeout=dict(type='int', default=10),
        ),
        required_if=[('scope', 'dcs', ['rest_url']), ('scope', 'local', ['config_file'])],
        supports_check_mode=True,
    )
    execute(module, local.run if module.params['scope'] == 'local' else steps.run)


if __name__ == '__main__':
    main()
