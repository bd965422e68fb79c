#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_install
short_description: Install certificate, CA file, CRL and TLS settings, then reload and prove, as one unit
version_added: 0.1.0
description:
  - The last of the three runs of a TLS change on a host (after
    M(pgssl.postgresql.tls_prepare) and M(pgssl.postgresql.sign)). In one run it does what
    M(pgssl.postgresql.certificate_chain), M(pgssl.postgresql.activate),
    M(pgssl.postgresql.pg_conf), M(pgssl.postgresql.pg_hba) and M(pgssl.postgresql.reload)
    do, with the same checks and refusals.
  - It writes the certificate with its chain (leaf first, intermediates in order, no root). When
    the key is new (O(new_key)), the certificate is staged beside the staged key and both are
    renamed into place back to back.
  - It writes the CA file (O(ca_file_content)), the CRL (O(crl_content)) and the passphrase file
    of an encrypted key (root's, readable by the server group).
  - It sets O(settings) in postgresql.conf and O(hba_rules) in pg_hba.conf. Every changed file
    keeps a backup.
  - It validates before the reload (C(pg_file_settings), C(pg_hba_file_rules), the SSL files as
    the server will read them, no override of what was set), reloads, waits for the new
    configuration, and proves over TLS that the server serves the new certificate.
  - It logs in for the reload over TCP (O(login_host)) or over a unix socket as the server user.
    When the module runs as root, the socket login is made by a child process that has dropped
    to O(server_user) (peer authentication), so no C(become) and no second interpreter is
    needed.
  - When everything succeeds, it drops the snapshot O(snapshot_id). A failure leaves the
    snapshot for the caller, who restores it and reloads (the server role does).
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.hba_rules
  - pgssl.postgresql.tls_probe
  - pgssl.postgresql.connection
attributes:
  check_mode:
    support: full
    description: Nothing is written or reloaded; the validation runs against the files in place.
  diff_mode:
    support: full
    description: One diff per changed file (chain subjects, config lines), never key material.
seealso:
  - module: pgssl.postgresql.tls_prepare
  - module: pgssl.postgresql.sign
  - module: pgssl.postgresql.reload
  - module: pgssl.postgresql.snapshot
options:
  owner:
    description: Owner of the certificate, CA and CRL files (the key's owner is kept).
    type: str
    required: true
  group:
    description: Group of those files and of the passphrase file (the server's group).
    type: str
    required: true
  key_path:
    description: C(ssl_key_file).
    type: path
    required: true
  cert_path:
    description: C(ssl_cert_file).
    type: path
    required: true
  new_key:
    description: The key waits as C(O(key_path).next) (see RV(pgssl.postgresql.tls_prepare#module:new_key)).
    type: bool
    default: false
  key_passphrase:
    description: Passphrase of an encrypted key; written to O(passphrase_file) for
      C(ssl_passphrase_command).
    type: str
  passphrase_file:
    description: The file C(ssl_passphrase_command) reads (root, server group, C(0640)).
    type: path
  chain_contents:
    description: The certificate and its chain, PEM texts (leaf first or in any order).
    type: list
    elements: str
    default: []
  chain_paths:
    description: The certificate and its chain, files on the host.
    type: list
    elements: path
    default: []
  chain_ca_path:
    description: Trust anchors on the host the chain must reach.
    type: list
    elements: path
    default: []
  chain_ca_contents:
    description: Trust anchors the chain must reach, PEM texts (the private CA).
    type: list
    elements: str
    default: []
  chain_system_trust:
    description: The system CA store is a trust anchor too.
    type: bool
    default: false
  chain_require_complete:
    description: Refuse a chain that does not reach a trust anchor.
    type: bool
    default: false
  ca_file:
    description: C(ssl_ca_file).
    type: path
  ca_file_content:
    description: The CAs clients' certificates must chain to (PEM, one or more).
    type: str
  crl_file:
    description: C(ssl_crl_file).
    type: path
  crl_content:
    description: The CRLs (PEM).
    type: str
  config_file:
    description: postgresql.conf.
    type: path
    required: true
  settings:
    description: Settings to set there (as M(pgssl.postgresql.pg_conf) O(pgssl.postgresql.pg_conf#module:settings)).
    type: dict
    required: true
  remove_overrides:
    description:
      - Comment out lines in later includes and remove C(postgresql.auto.conf) entries (ALTER
        SYSTEM) that set the same parameters and would win, as
        M(pgssl.postgresql.pg_conf) O(pgssl.postgresql.pg_conf#module:remove_overrides) does.
        Without it, such lines fail the module before any file changes.
    type: bool
    default: false
  hba_file:
    description: pg_hba.conf.
    type: path
    required: true
  pg_version:
    description: Major version of the server (how pg_hba.conf is read).
    type: int
  patroni:
    description: A cluster run by Patroni. V(refuse) fails before anything is written (Patroni
      would undo the settings). V(dcs) writes only the files (key, certificate, CA file, CRL)
      and reloads; the settings and rules go to Patroni's dynamic configuration
      (M(pgssl.postgresql.patroni_config)), and O(settings) and O(hba_rules) are not written.
    type: str
    choices: [refuse, dcs]
    default: refuse
  reload:
    description: V(changed) reloads when a file changed, V(always) also when none did (the server
      serves something else than the files say), V(never) leaves the reload to the caller.
    type: str
    choices: [changed, always, never]
    default: changed
  server_user:
    description: The server's OS user (who the socket login runs as, who must read the files).
    type: str
  timeout:
    description: Seconds to wait for the reload and the proof.
    type: int
    default: 15
  proof:
    description: After the reload, connect from this host in each sslmode with the name clients
      use (O(tls_host), O(tls_hostaddr)), as M(pgssl.postgresql.verify) does, and fail unless
      every mode behaves as O(proof_policy) says (before the snapshot is dropped, so the caller
      can roll back).
    type: bool
    default: false
  proof_user:
    description: User for the proof connections.
    type: str
    default: postgres
  proof_password:
    description: Password for the proof connections; without it only the served certificate is
      probed.
    type: str
  proof_dbname:
    description: Database for the proof connections.
    type: str
    default: postgres
  proof_sslrootcert:
    description: C(sslrootcert) for the proof, a path on the host or V(system).
    type: str
  proof_sslrootcert_content:
    description: The CAs to verify the server with, PEM text (written to a private temporary file
      for libpq).
    type: str
  proof_policy:
    description: What each sslmode must do (as M(pgssl.postgresql.verify) O(pgssl.postgresql.verify#module:policy)).
    type: str
    choices: [none, ssl_required, ssl_optional, verify_full_only, ssl_off]
    default: ssl_required
  snapshot_dir:
    description: Where the snapshot lives.
    type: path
    default: /var/lib/pgssl-postgresql/snapshots
  snapshot_id:
    description: The snapshot of M(pgssl.postgresql.tls_prepare), dropped after success.
    type: str
notes:
  - Run as root. The reload over a unix socket needs psycopg 3 importable by root; the child
    that logs in inherits it.
"""

EXAMPLES = r"""
- name: Install, validate, reload and prove
  pgssl.postgresql.tls_install:
    owner: postgres
    group: postgres
    key_path: /etc/postgresql/16/main/ssl/server.key
    cert_path: /etc/postgresql/16/main/ssl/server.crt
    new_key: "{{ prepared.new_key }}"
    chain_contents:
      - "{{ signed.certificates[inventory_hostname].certificate }}"
    chain_ca_contents:
      - "{{ lookup('ansible.builtin.file', '/root/.pgssl/ca/ca.crt') }}"
    chain_require_complete: true
    ca_file: /etc/postgresql/16/main/ssl/root.crt
    ca_file_content: "{{ lookup('ansible.builtin.file', '/root/.pgssl/ca/ca.crt') }}"
    config_file: /etc/postgresql/16/main/postgresql.conf
    settings:
      ssl: true
      ssl_cert_file: /etc/postgresql/16/main/ssl/server.crt
      ssl_key_file: /etc/postgresql/16/main/ssl/server.key
      ssl_ca_file: /etc/postgresql/16/main/ssl/root.crt
    hba_file: /etc/postgresql/16/main/pg_hba.conf
    pg_version: 16
    hba_rules:
      - address: 10.0.0.0/8
    require_ssl: reject
    login_unix_socket: /var/run/postgresql
    server_user: postgres
    snapshot_id: "{{ prepared.id }}"
"""

RETURN = r"""
reloaded:
  description: Whether the server loaded the new configuration.
  returned: success
  type: bool
served_fingerprint:
  description: SHA-256 of the certificate the server serves after the reload.
  returned: when reloaded with SSL on
  type: str
chain:
  description: The certificates written, leaf first (subject, issuer, not_after, fingerprint).
  returned: when a certificate was given
  type: list
  elements: dict
activated:
  description: The paths the staged pair replaced.
  returned: when O(new_key)
  type: list
  elements: str
settings_changes:
  description: The postgresql.conf changes (name, before, after).
  returned: success
  type: list
  elements: dict
hba_actions:
  description: The pg_hba.conf changes.
  returned: success
  type: list
  elements: str
proof:
  description: The result of the proof (as M(pgssl.postgresql.verify) returns it).
  returned: when O(proof)
  type: dict
restart_required:
  description: Changed settings that wait for a restart.
  returned: when reloaded
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _confsteps as confsteps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _unitinstall as unitinstall
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(pgconn.tls_probe_argspec())
    argument_spec.update(
        owner=dict(type='str', required=True),
        group=dict(type='str', required=True),
        patroni=dict(type='str', default='refuse', choices=['refuse', 'dcs']),
        key_path=dict(type='path', required=True),
        cert_path=dict(type='path', required=True),
        new_key=dict(type='bool', default=False),
        key_passphrase=dict(type='str', no_log=True),
        passphrase_file=dict(type='path', no_log=False),
        chain_contents=dict(type='list', elements='str', default=[]),
        chain_paths=dict(type='list', elements='path', default=[]),
        chain_ca_path=dict(type='list', elements='path', default=[]),
        chain_ca_contents=dict(type='list', elements='str', default=[]),
        chain_system_trust=dict(type='bool', default=False),
        chain_require_complete=dict(type='bool', default=False),
        ca_file=dict(type='path'),
        ca_file_content=dict(type='str'),
        crl_file=dict(type='path'),
        crl_content=dict(type='str'),
        config_file=dict(type='path', required=True),
        settings=dict(type='dict', required=True),
        remove_overrides=dict(type='bool', default=False),
        hba_file=dict(type='path', required=True),
        pg_version=dict(type='int'),
        hba_rules=dict(type='list', elements='dict', default=[], options=confsteps.hba_rule_spec()),
        require_ssl=dict(type='str', default='none', choices=['none', 'convert', 'reject', 'both']),
        purge_managed=dict(type='bool', default=False),
        reload=dict(type='str', default='changed', choices=['changed', 'always', 'never']),
        server_user=dict(type='str'),
        timeout=dict(type='int', default=15),
        proof=dict(type='bool', default=False),
        proof_user=dict(type='str', default='postgres'),
        proof_password=dict(type='str', no_log=True),
        proof_dbname=dict(type='str', default='postgres'),
        proof_sslrootcert=dict(type='str'),
        proof_sslrootcert_content=dict(type='str'),
        proof_policy=dict(
            type='str',
            default='ssl_required',
            choices=['none', 'ssl_required', 'ssl_optional', 'verify_full_only', 'ssl_off'],
        ),
        snapshot_dir=dict(type='path', default='/var/lib/pgssl-postgresql/snapshots'),
        snapshot_id=dict(type='str'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_together=[
            ('key_passphrase', 'passphrase_file'),
            ('ca_file', 'ca_file_content'),
            ('crl_file', 'crl_content'),
        ],
        supports_check_mode=True,
    )
    execute(module, unitinstall.install, needs=('cryptography', 'psycopg'))


if __name__ == '__main__':
    main()
