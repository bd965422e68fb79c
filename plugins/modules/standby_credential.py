#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: standby_credential
short_description: A standby's own key and client certificate for replication, and the link that uses them
version_added: 0.3.0
description:
  - Runs on a standby, as root; everything it does on the host it does as the server user (a
    child process that has dropped to that user and logs in over the unix socket), so the files
    are that user's own and nothing that user planted steers root.
  - The key and certificate live in one of two slots, C(replication-a) and C(replication-b), of
    O(dir). A new certificate always goes into the slot C(primary_conninfo) does not use, with a
    new key made on the standby (it never leaves it); the link then moves to that slot with one
    changed C(primary_conninfo) and a reload, which makes the walreceiver reconnect with the new
    pair at once. The old slot is removed once the walreceiver streams again.
  - O(state=status) says what is due (RV(reasons)); with O(prepare) it also makes the new key in
    the free slot and returns its CSR, for M(pgssl.postgresql.sign) with C(profile=client).
    O(state=install) writes the signed certificate into its slot (checked first against the
    slot's key, O(common_name) and O(ca_bundle)), then sets C(primary_conninfo) as
    M(pgssl.postgresql.standby_link) does (C(sslmode), C(sslrootcert), C(sslcert), C(sslkey),
    the primary's address, no password), proves it by the walreceiver streaming with it, and
    rolls the link back when it does not.
  - On a server that is not in recovery nothing is done (RV(role) is C(primary)).
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.connection
  - pgssl.postgresql.slots
attributes:
  check_mode:
    support: full
    description: Says what is due; no key, file or setting is written.
  diff_mode:
    support: full
    description: C(primary_conninfo) before and after, secrets masked.
seealso:
  - module: pgssl.postgresql.standby_link
  - module: pgssl.postgresql.replication_status
  - module: pgssl.postgresql.sign
options:
  server_user:
    description: The server user; the files are its own. Default C(postgres).
    type: str
  dir:
    description: The server user's directory for the two slots. Default
      C(~/.postgresql/pgssl-replication-DATADIR) in the server user's home, outside the data
      directory (which C(pg_basebackup) copies to every new standby); C(DATADIR) is the data
      directory's path with C(-) for C(/).
    type: path
  common_name:
    description: The replication role, the certificate's only name (the primary's C(cert) rule
      maps it to the role).
    type: str
    required: true
  ca_bundle:
    description: The CA certificates (PEM) a valid replication certificate is issued by; one
      issued by another CA is due again (a CA rollover).
    type: str
    required: true
  certificate:
    description: With O(state=install), the signed certificate (PEM) for the key in O(slot).
      Without it, the link moves to the certificate already in O(slot).
    type: str
  sslmode:
    description: sslmode of the link.
    type: str
    default: verify-full
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  sslrootcert:
    description: CA file (on the standby, readable by the server user) the standby verifies the
      primary with.
    type: str
    required: true
  host:
    description: The primary's name, the one its certificate carries.
    type: str
  hostaddr:
    description: The primary's numeric address.
    type: str
  port:
    description: The primary's port.
    type: int
  timeout:
    description: Seconds to wait for the walreceiver to stream with the new link.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: What is due, and the key and CSR when a certificate is
  pgssl.postgresql.standby_credential:
    login_unix_socket: /var/run/postgresql
    common_name: replicator
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca.crt') }}"
    sslrootcert: /etc/postgresql/16/main/ssl/root.crt
    host: db1.example.com
    port: 5432
    prepare: true
  register: repl

- name: Certify the key on the CA node
  pgssl.postgresql.sign:
    dir: /root/.pgssl/ca/issued
    ca_cert_path: /root/.pgssl/ca/ca.crt
    ca_key_path: /root/.pgssl/ca/ca.key
    profile: client
    requests:
      - name: "replication-{{ inventory_hostname }}"
        csr: "{{ repl.csr }}"
        common_name: replicator
  delegate_to: localhost
  register: signed
  when: repl.csr is defined

- name: Install it and move the link
  pgssl.postgresql.standby_credential:
    state: install
    login_unix_socket: /var/run/postgresql
    slot: "{{ repl.slot }}"
    certificate: "{{ signed.certificates['replication-' + inventory_hostname].certificate | default(omit) }}"
    common_name: replicator
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca.crt') }}"
    sslrootcert: /etc/postgresql/16/main/ssl/root.crt
    host: db1.example.com
    port: 5432
  when: repl.due
"""

RETURN = r"""
role:
  description: C(standby), or C(primary) when the server is not in recovery (nothing done).
  returned: always
  type: str
due:
  description: Something is to be done (RV(reasons)).
  returned: state=status
  type: bool
reasons:
  description: Why. C(not_linked) (the link uses no slot), certificate reasons of the slot in
    use (C(missing), C(expiring), C(issuer_changed), C(key_mismatch), C(forced), ...), and link
    reasons (C(sslmode_changed), C(rootcert_changed), C(primary_changed), C(password)).
  returned: state=status
  type: list
  elements: str
renew:
  description: A new key and certificate are due (in RV(slot)).
  returned: state=status, on a standby
  type: bool
slot:
  description: The slot to install into (the free one when a certificate is due, else the one in use).
  returned: on a standby
  type: str
slot_in_use:
  description: The slot the link uses now, or null.
  returned: state=status, on a standby
  type: str
dir:
  description: The slots' directory.
  returned: on a standby
  type: str
paths:
  description: Key and certificate paths of RV(slot).
  returned: on a standby
  type: dict
csr:
  description: The CSR of the new key (public).
  returned: with prepare, when a certificate is due
  type: str
certificate:
  description: Facts of the certificate in use (status) or installed (install), serial included.
  returned: on a standby
  type: dict
conninfo:
  description: C(primary_conninfo), secrets masked (after the change, for install).
  returned: on a standby
  type: str
receiver:
  description: The walreceiver streaming with the new link.
  returned: install, when the link changed
  type: dict
removed:
  description: Files of the other slot removed after the link moved.
  returned: when any
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbystep as link
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(steps.slots_argspec())
    argument_spec.update(
        server_user=dict(type='str'),
        dir=dict(type='path'),
        common_name=dict(type='str', required=True),
        ca_bundle=dict(type='str', required=True),
        certificate=dict(type='str'),
        sslmode=dict(type='str', default='verify-full', choices=list(link.SSLMODES)),
        sslrootcert=dict(type='str', required=True),
        host=dict(type='str'),
        hostaddr=dict(type='str'),
        port=dict(type='int'),
        timeout=dict(type='int', default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    execute(module, steps.run, needs=('cryptography', 'psycopg'))


if __name__ == '__main__':
    main()
