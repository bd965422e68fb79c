#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: replication_status
short_description: Streaming replication links as the server sees them, with their TLS facts
version_added: 0.3.0
description:
  - On a primary, every walsender (C(pg_stat_replication)) joined with its TLS facts
    (C(pg_stat_ssl)) - TLS or not, protocol, the standby's client certificate DN and serial,
    replay lag. On a standby, its walreceiver (C(pg_stat_wal_receiver)) with the sslmode it
    connects with.
  - With O(expect_serials) it is the primary's side of the proof of a standby link; it waits
    until a walsender streams over TLS with each of those client certificates, and fails with
    what the primary sees otherwise.
  - As root over the unix socket it logs in from a child process that has dropped to the server
    user (peer authentication). Reading the other sessions' details needs C(pg_monitor) (or a
    superuser). It never changes anything.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.connection
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgssl.postgresql.standby_credential
  - name: pg_stat_replication
    link: https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-REPLICATION-VIEW
    description: The view this module reads.
options:
  server_user:
    description: The server user, for the login over the unix socket as root. Default C(postgres).
    type: str
  expect_serials:
    description: Client certificate serials (decimal) each of which a walsender must stream with
      over TLS.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for O(expect_serials).
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Every standby streams over TLS with the certificate it was given
  pgssl.postgresql.replication_status:
    login_unix_socket: /var/run/postgresql
    expect_serials: ["{{ standby_cert.certificate.serial_number }}"]
  register: links
"""

RETURN = r"""
role:
  description: C(primary) or C(standby) (C(pg_is_in_recovery())).
  returned: always
  type: str
standbys:
  description: One row per walsender - C(application_name), C(client_addr), C(state),
    C(sync_state), C(ssl), C(version), C(cipher), C(client_dn) (slash form, cut at 63 bytes by the
    server), C(client_serial), C(replay_lag_seconds), C(replay_lag_bytes).
  returned: always
  type: list
  elements: dict
receiver:
  description: On a standby, its walreceiver - C(status), C(sender_host), C(sender_port),
    C(sslmode), C(conninfo) (secrets masked), C(last_message_seconds); null when none runs.
  returned: always
  type: dict
missing:
  description: The expected serials no walsender streamed with.
  returned: on failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _replstatus as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(
        server_user=dict(type='str'),
        expect_serials=dict(type='list', elements='str', default=[]),
        timeout=dict(type='int', default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    execute(module, steps.run, needs=('psycopg',))


if __name__ == '__main__':
    main()
