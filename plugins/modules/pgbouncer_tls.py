#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pgbouncer_tls
short_description: TLS on both sides of PgBouncer from the fleet CA, applied with RELOAD and proven
version_added: 0.4.0
description:
  - Runs on a PgBouncer host, as root. What reads or writes what PgBouncer's user can change
    (the include tree of O(config_file), the key and certificate files, the admin console) runs
    in a child process that has dropped to O(user); root only makes O(dir) and rewrites
    O(config_file) itself, keeping its owner and mode.
  - The pooler's key and certificate live in one of two slots, C(pooler-a) and C(pooler-b), of
    O(dir), beside C(ca.crt) (O(ca_bundle)). A new certificate always goes into the slot the
    configuration does not use, with a new key made on the host (it never leaves it), and the
    configuration then moves to it with one RELOAD, so PgBouncer never reads a new certificate
    beside an old key. The certificate (profile C(pooler)) serves PgBouncer's clients and, with
    O(server_tls_client_cert), is presented to PostgreSQL.
  - The settings are C(client_tls_sslmode), C(client_tls_key_file), C(client_tls_cert_file),
    C(client_tls_ca_file), C(server_tls_sslmode), C(server_tls_ca_file) and, with
    O(server_tls_client_cert), C(server_tls_key_file) and C(server_tls_cert_file), plus
    O(settings). O(config_file) is read as PgBouncer reads it (C(%include), whole-line comments
    only, the last C([pgbouncer]) header resetting every key before it, the last assignment
    winning); each setting is changed on the line that decides it, and a missing one is added
    after the last C([pgbouncer]) header's own keys. Nothing else in the file changes.
  - Refused before anything changes, with the file and line named, are a syntax error, a key or
    section this PgBouncer does not know (a RELOAD would stop there and put every later key,
    the TLS modes included, back to its default while still answering C(RELOAD)), a relative
    C(%include), a value with a line break, and a setting decided in an included file (only the
    main file is edited).
  - O(state=status) says what is due (RV(reasons)); with O(prepare) it also makes the new key in
    the free slot and returns its CSR, for M(pgssl.postgresql.sign) with C(profile=pooler).
    O(state=install) writes the signed certificate into its slot (checked against the slot's key,
    the names and O(ca_bundle)), the CA bundle and the settings, sends C(RELOAD) on the admin
    console and proves it, SHOW CONFIG holding every setting and a TLS handshake with the pooler
    serving the new certificate, verified against the CA and O(tls_host); when the proof fails
    the file is put back and PgBouncer reloaded again.
  - With C(auth_type = hba) (in the file or in O(settings)), C(auth_hba_file) must be an absolute
    path to a file whose every line PgBouncer understands. PgBouncer skips a line it cannot parse
    and goes on matching, so a C(reject) it does not understand would let logins through; such
    a line (options after the method, C(replication), C(+group), C(@file), a host name, an
    unknown method) is refused with its file and line.
  - The admin console is reached through PgBouncer's unix socket as the user C(pgbouncer), which
    PgBouncer admits without a password from a process of its own OS user, so no credential is
    needed. PgBouncer must be running with O(config_file).
  - A setting PgBouncer applies only at a restart (C(changeable) is C(no) in SHOW CONFIG) is
    named in RV(restart_required) and a warning; the module never restarts PgBouncer.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.slots
attributes:
  check_mode:
    support: full
    description: Says what is due and which settings would change; nothing is written or reloaded.
  diff_mode:
    support: full
    description: The settings that change, before and after (paths and modes only).
seealso:
  - module: pgssl.postgresql.sign
  - module: pgssl.postgresql.verify
options:
  config_file:
    description: PgBouncer's configuration file, as PgBouncer was started with it.
    type: path
    default: /etc/pgbouncer/pgbouncer.ini
  user:
    description: The OS user PgBouncer runs as (Debian's package runs it as C(postgres)).
    type: str
    default: postgres
  dir:
    description:
      - The directory of the slots and C(ca.crt), owned by O(user), mode 0700; made when missing.
      - Default C(pgssl) beside O(config_file).
    type: path
  common_name:
    description:
      - The certificate's common name, the pooler's name.
      - With cert authentication toward PostgreSQL, the name PostgreSQL maps to a role.
    type: str
    required: true
  subject_alt_names:
    description: The names clients reach the pooler by (C(DNS:), C(IP:) or bare).
    type: list
    elements: str
    default: []
  ca_bundle:
    description:
      - The CA certificates PgBouncer trusts (PEM), written to C(ca.crt) and used for
        C(client_tls_ca_file) and C(server_tls_ca_file). During a CA rollover, both CAs.
      - Empty only in check mode before the CA exists (RV(reasons) has C(ca_missing)).
    type: str
    required: true
  certificate:
    description: With O(state=install), the signed certificate (PEM, leaf first) for O(slot).
    type: str
  client_tls_sslmode:
    description:
      - How PgBouncer treats the TLS of its clients. V(require) refuses plain TCP.
      - V(verify-full) also asks every client for a certificate from O(ca_bundle), as
        C(auth_type=cert) needs.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: require
  server_tls_sslmode:
    description: How PgBouncer checks PostgreSQL. V(verify-full) checks the chain against O(ca_bundle)
      and the host name of each C([databases]) entry.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: verify-full
  server_tls_client_cert:
    description:
      - Present the pooler's certificate to PostgreSQL too (C(server_tls_cert_file),
        C(server_tls_key_file)), for C(clientcert) or C(cert) authentication of the pooler.
      - When false, those two keys are emptied if they name one of the slots, and left alone
        otherwise.
    type: bool
    default: true
  settings:
    description:
      - More C([pgbouncer]) keys to set (for example C(client_tls_protocols),
        C(client_tls_ciphers), C(auth_type)), each a string written as is. A key this PgBouncer
        does not know, one of the keys the module manages itself, or a new value for a key
        PgBouncer takes only at a restart (C(changeable) C(no) in SHOW CONFIG, such as
        C(listen_port)) is refused.
    type: dict
    default: {}
  tls_host:
    description: The name to verify the pooler's certificate against in the proof. Default
      O(tls_hostaddr).
    type: str
  tls_hostaddr:
    description: The address of the proof's TLS handshake. Default the first C(listen_addr)
      (C(*) as 127.0.0.1).
    type: str
  proof_dbname:
    description: With O(proof_user), the C([databases]) entry of the proof's login.
    type: str
    default: postgres
  proof_user:
    description:
      - After a RELOAD, log in through the pooler as this user (C(sslmode=verify-full) against
        C(ca.crt) and O(tls_host)) and ask PostgreSQL about that session's own connection, which
        must be TLS (RV(proof_login)). A failure rolls the change back.
      - Not for C(auth_type=cert) (the proof has no client certificate).
    type: str
  proof_password:
    description: The password of O(proof_user) (keep it in a vault; it is passed to the login
      in memory, never on a command line).
    type: str
  backup:
    description: Keep a private copy of O(config_file) before it is rewritten.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the admin console and for the proof after RELOAD.
    type: int
    default: 30
requirements:
  - cryptography
  - psycopg (3) on the PgBouncer host
notes:
  - PgBouncer re-reads C(client_tls_*) files only at a RELOAD, and the C(server_tls_*) files at
    every new server connection; C(listen_addr) and C(listen_port) need a restart.
"""

EXAMPLES = r"""
- name: What is due on the pooler, and when a certificate is, its new key and CSR
  pgssl.postgresql.pgbouncer_tls:
    prepare: true
    common_name: pooler1
    subject_alt_names: [pooler1.example.com, "IP:10.0.0.5"]
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca/ca.crt') }}"
  register: pooler

- name: Certify it on the CA node
  pgssl.postgresql.sign:
    dir: /srv/pgssl-ca/issued
    ca_cert_path: /srv/pgssl-ca/ca.crt
    ca_key_path: /srv/pgssl-ca/ca.key
    profile: pooler
    requests:
      - name: pooler1
        csr: "{{ pooler.csr }}"
        common_name: pooler1
        subject_alt_names: [pooler1.example.com, "IP:10.0.0.5"]
  delegate_to: localhost
  register: signed
  when: pooler.csr is defined

- name: Install it, point pgbouncer.ini at it, RELOAD and prove
  pgssl.postgresql.pgbouncer_tls:
    state: install
    slot: "{{ pooler.slot }}"
    certificate: "{{ signed.certificates.pooler1.certificate if pooler.csr is defined else omit }}"
    common_name: pooler1
    subject_alt_names: [pooler1.example.com, "IP:10.0.0.5"]
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca/ca.crt') }}"
    tls_host: pooler1.example.com
    tls_hostaddr: 10.0.0.5
  when: pooler.due
"""

RETURN = r"""
due:
  description: Whether anything is due.
  returned: always
  type: bool
reasons:
  description: Why (C(not_linked), C(ca_missing), C(ca_changed), C(missing), C(expiring),
    C(expired), C(issuer_changed), C(subject_changed), C(san_changed), C(key_mismatch),
    C(key_type_changed), C(not_served), C(forced), C(settings_changed), C(not_applied)).
  returned: always
  type: list
  elements: str
renew:
  description: Whether a new key and certificate are due.
  returned: always
  type: bool
slot:
  description: The slot a new certificate goes to (or the one in use when none is due).
  returned: always
  type: str
slot_in_use:
  description: The slot the configuration uses now, if any.
  returned: always
  type: str
paths:
  description: The key and certificate paths of RV(slot).
  returned: always
  type: dict
csr:
  description: The CSR of the new key (O(prepare) and a certificate due).
  returned: when a new key was made
  type: str
certificate:
  description: Public facts of the certificate in use (or installed).
  returned: always
  type: dict
settings:
  description: The managed settings as the file decides them before this run.
  returned: always
  type: dict
wanted:
  description: The managed settings as they should be.
  returned: always
  type: dict
changed_settings:
  description: The keys that change.
  returned: always
  type: list
  elements: str
restart_required:
  description: Changed keys PgBouncer applies only at a restart.
  returned: always
  type: list
  elements: str
common_name:
  description: O(common_name), for the signer's request.
  returned: always
  type: str
subject_alt_names:
  description: O(subject_alt_names) in canonical form (C(DNS:), C(IP:)), for the signer's request.
  returned: always
  type: list
  elements: str
version:
  description: PgBouncer's SHOW VERSION.
  returned: always
  type: str
served_fingerprint:
  description: SHA-256 fingerprint of the certificate the pooler serves after the RELOAD.
  returned: after a RELOAD
  type: str
proof_login:
  description: What PostgreSQL said of the proof's session through the pooler (C(ssl), C(version),
    C(client_dn), the pooler's certificate when it presents one).
  returned: after a RELOAD, with O(proof_user)
  type: dict
removed:
  description: The old slot's files, removed after the proof.
  returned: after a RELOAD
  type: list
  elements: str
backup_file:
  description: The copy of O(config_file) made before it was rewritten (O(backup)).
  returned: when a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import step
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import tls


def main():
    module = AnsibleModule(
        argument_spec=dict(
            slots.slots_argspec(),
            config_file=dict(type='path', default='/etc/pgbouncer/pgbouncer.ini'),
            user=dict(type='str', default='postgres'),
            dir=dict(type='path'),
            common_name=dict(type='str', required=True),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            ca_bundle=dict(type='str', required=True),
            certificate=dict(type='str'),
            client_tls_sslmode=dict(type='str', default='require', choices=list(tls.SSLMODES)),
            server_tls_sslmode=dict(type='str', default='verify-full', choices=list(tls.SSLMODES)),
            server_tls_client_cert=dict(type='bool', default=True),
            settings=dict(type='dict', default={}),
            tls_host=dict(type='str'),
            tls_hostaddr=dict(type='str'),
            proof_dbname=dict(type='str', default='postgres'),
            proof_user=dict(type='str'),
            proof_password=dict(type='str', no_log=True),
            backup=dict(type='bool', default=False),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    execute(module, step.run, needs=('cryptography', 'psycopg'))


if __name__ == '__main__':
    main()
