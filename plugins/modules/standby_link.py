#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: standby_link
short_description: Move a streaming standby's link to its primary onto verified TLS
version_added: 0.2.0
description:
  - Runs on a standby. Reads its C(primary_conninfo) from the running server and sets the TLS
    keywords in it (O(sslmode), O(sslrootcert), O(sslcert), O(sslkey), and optionally the host,
    address and port), keyword by keyword as libpq reads a connection string, never by prefix.
    Every other keyword keeps its value and place.
  - Writes the new value where the server reads it. Into C(postgresql.auto.conf) with
    C(ALTER SYSTEM) (where C(pg_basebackup -R) puts it; the server quotes it for the file
    itself). When the operator set it in C(postgresql.conf) or a file it includes, that line is
    edited in place as the server reads the file (only the value changes; the line's comment and
    every other line stay byte for byte), as the server user, and the file is put back exactly
    when the new value does not stream. Then it reloads.
    PostgreSQL 13 and later restart the walreceiver on a changed C(primary_conninfo) at a reload;
    older versions need a restart, which this module never does (it fails and says so).
  - Proves the change by waiting for a new walreceiver that streams with the new sslmode
    (C(pg_stat_wal_receiver)). If none streams within O(timeout), the old value is written back
    and reloaded, and the task fails. The primary's side of the proof (the standby's client
    certificate in C(pg_stat_ssl) joined with C(pg_stat_replication)) needs a login on the
    primary and is left to the play.
  - On a server that is not in recovery (a primary, or a promoted standby) it changes nothing.
  - Passwords in C(primary_conninfo) are never shown. With O(remove_password) the password and
    passfile keywords are dropped, for a link that logs in by certificate (a password in
    C(primary_conninfo) is written in clear to the standby's log at each reload).
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.connection
attributes:
  check_mode:
    support: full
    description: Reports the new C(primary_conninfo) (masked) without writing or reloading.
  diff_mode:
    support: full
    description: The value before and after, secrets masked.
seealso:
  - module: pgssl.postgresql.pg_hba
    description: The C(hostssl replication) rule with C(cert) on the primary.
  - name: Streaming replication
    link: https://www.postgresql.org/docs/current/warm-standby.html#STREAMING-REPLICATION
    description: primary_conninfo and the walreceiver.
options:
  server_user:
    description:
      - The server user. Over the unix socket the module logs in from a child process that has
        dropped to this user (peer authentication). It is also the user the client key must
        belong to. Default C(postgres).
    type: str
  sslmode:
    description: sslmode of the link. V(verify-full) checks the primary's certificate and name.
    type: str
    default: verify-full
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  sslrootcert:
    description: CA file the standby verifies the primary with (a path on the standby, readable by
      the server user).
    type: str
  sslcert:
    description: Client certificate of the replication role (a path on the standby).
    type: str
  sslkey:
    description: Key of O(sslcert), owned by the server user with mode 0600 (or by root with 0640).
      An encrypted key cannot be used here (its passphrase would sit in clear in
      C(primary_conninfo)).
    type: str
  host:
    description: The primary's host name to set, the name its certificate carries. Default keeps
      the one in C(primary_conninfo).
    type: str
  hostaddr:
    description: The primary's numeric address to set. Default keeps the one in C(primary_conninfo).
    type: str
  port:
    description: The primary's port to set. Default keeps the one in C(primary_conninfo).
    type: int
  remove_password:
    description: Drop C(password) and C(passfile) from C(primary_conninfo) (a certificate login).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the walreceiver to stream with the new value.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: The standby follows its primary over verified TLS with its own client certificate
  pgssl.postgresql.standby_link:
    login_unix_socket: /var/run/postgresql
    sslmode: verify-full
    sslrootcert: /etc/postgresql/16/main/ssl/root.crt
    sslcert: /var/lib/postgresql/16/main/replication.crt
    sslkey: /var/lib/postgresql/16/main/replication.key
    remove_password: true
  register: link
"""

RETURN = r"""
role:
  description: C(standby), or C(primary) when the server is not in recovery (nothing changed).
  returned: always
  type: str
conninfo:
  description: The new C(primary_conninfo), secrets masked.
  returned: on a standby
  type: str
  sample: "user=replicator host=db1.example.com port=5432 sslmode=verify-full sslrootcert=/etc/ssl/root.crt"
conninfo_before:
  description: The previous C(primary_conninfo), secrets masked.
  returned: on a standby
  type: str
source:
  description: The file the value is written to (C(postgresql.auto.conf) of the standby, or the
    file that sets it).
  returned: on a standby
  type: str
receiver:
  description: The walreceiver that streams with the new value (status, conninfo as the server
    shows it, pid).
  returned: when changed, not in check mode
  type: dict
rolled_back:
  description: The new value did not stream and the old one was written back.
  returned: on failure
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbystep as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(
        server_user=dict(type='str'),
        sslmode=dict(type='str', default='verify-full', choices=list(steps.SSLMODES)),
        sslrootcert=dict(type='str'),
        sslcert=dict(type='str'),
        sslkey=dict(type='str', no_log=False),
        host=dict(type='str'),
        hostaddr=dict(type='str'),
        port=dict(type='int'),
        remove_password=dict(type='bool', default=False),
        timeout=dict(type='int', default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    execute(module, steps.run, needs=('psycopg',))


if __name__ == '__main__':
    main()
