#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: reload
short_description: Validate PostgreSQL's files, reload, and prove the served certificate
version_added: 0.1.0
description:
  - Connects as a superuser and first checks the files on disk. It reads the errors in
    C(pg_file_settings), C(pg_hba_file_rules) (a row without a type is an invalid line too) and,
    on PostgreSQL 15 and later, C(pg_ident_file_mappings).
  - It also checks what those views cannot see. The SSL files the reload would load must exist
    and be readable by the server user. The key and certificate must pair up. The key file owner
    and mode must be acceptable to PostgreSQL. The certificate must not have expired, since
    PostgreSQL loads an expired certificate without a word.
  - If anything is wrong the task fails with file, line and reason, and nothing is reloaded.
  - If all is valid it calls C(pg_reload_conf()) and waits until the server has loaded the
    configuration.
  - With O(expected_certificate_path) or O(expected_fingerprint) it then proves, through its own
    TLS handshake, that the server serves that certificate. On a broken SSL setup the server
    keeps its old SSL configuration while C(SHOW ssl_cert_file) already reports the new path.
  - It never restarts. Settings that need a restart are reported in RV(restart_required).
  - With O(snapshot_id), the snapshot of the change is dropped once the reload and the proof
    held (not in check mode, not with O(validate_only)). A failure leaves it for the rollback.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.tls_probe
  - pgssl.postgresql.connection
attributes:
  check_mode:
    support: full
    description:
      - Validates what is on disk and reports whether a reload would happen, without reloading.
      - The expected certificate is not compared, since check mode wrote no new files.
  diff_mode:
    support: none
    description: No files are changed.
seealso:
  - module: pgssl.postgresql.pg_conf
  - module: pgssl.postgresql.pg_hba
  - module: pgssl.postgresql.verify
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_troubleshooting
    description: Common libpq and server messages and the checks that find them.
options:
  server_user:
    description:
      - Operating system user the server runs as, for the readability and key file checks.
        Detected from the owner of the data directory when the module can see it.
    type: str
  expected_certificate_path:
    description: The certificate (file) the server must serve after the reload.
    type: path
  expected_fingerprint:
    description: SHA-256 fingerprint (hex, colons optional) the served certificate must have.
    type: str
  expected_settings:
    description:
      - Settings (name -> value) this run wrote. Before reloading, each must be the value the
        server will apply (the applied row of C(pg_file_settings)); a value that another file
        or an C(ALTER SYSTEM) in C(postgresql.auto.conf) overrides, even one that appeared after
        the files were edited, is refused with the file and line that wins.
      - Values are compared as the server reads them (booleans, units; string settings as text).
    type: dict
  snapshot_dir:
    description: Where the snapshot O(snapshot_id) lives.
    type: path
    default: /var/lib/pgssl-postgresql/snapshots
  snapshot_id:
    description: A snapshot of M(pgssl.postgresql.snapshot) or M(pgssl.postgresql.tls_prepare) to
      drop after success (the change it kept is proven).
    type: str
  timeout:
    description: Seconds to wait for the reload to take effect and the certificate to be served.
    type: int
    default: 15
  validate_only:
    description: Only validate, never reload.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Validate, reload and prove the new certificate is served
  pgssl.postgresql.reload:
    login_unix_socket: /var/run/postgresql
    expected_certificate_path: /etc/postgresql/16/main/ssl/server.crt
    tls_host: db1.example.com
  become: true
  become_user: postgres

- name: Over TCP with a password
  pgssl.postgresql.reload:
    login_host: db1.example.com
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
    login_sslmode: verify-full
    login_sslrootcert: /etc/pgssl/root.crt
"""

RETURN = r"""
certificate_fingerprint:
  description: SHA-256 fingerprint of the certificate in C(ssl_cert_file) as the validation read it.
  returned: when SSL is on and the certificate could be read
  type: str
reloaded:
  description: Whether pg_reload_conf() was called.
  returned: success
  type: bool
problems:
  description: What validation found (empty on success).
  returned: always
  type: list
  elements: dict
ssl:
  description: Whether ssl will be on after the reload.
  returned: success
  type: bool
served_fingerprint:
  description: SHA-256 fingerprint of the certificate the server serves after the reload.
  returned: when ssl is on and the reload happened
  type: str
restart_required:
  description: Settings whose new value waits for a restart (pg_settings.pending_restart).
  returned: success
  type: list
  elements: str
server_version:
  description: Server version number (e.g. 180001).
  returned: success
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _snapshot as snapshot
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute, test_hook


def run(module):
    """The reload and its proof (as the server user over a socket), then, as root, the change's
    snapshot dropped: the proof held."""
    p = module.params
    if p['snapshot_id']:
        snapshot.check_id(p['snapshot_id'])  # refused before the reload, not after it
    result = steps.reload_as_server_user(module)
    if p['snapshot_id'] and not module.check_mode and not p['validate_only']:
        test_hook('proof')
        snapshot.drop(p['snapshot_dir'], p['snapshot_id'])
    return result


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(pgconn.tls_probe_argspec())
    argument_spec.update(
        server_user=dict(type='str'),
        expected_certificate_path=dict(type='path'),
        expected_fingerprint=dict(type='str'),
        expected_settings=dict(type='dict'),
        timeout=dict(type='int', default=15),
        validate_only=dict(type='bool', default=False),
        snapshot_dir=dict(type='path', default='/var/lib/pgssl-postgresql/snapshots'),
        snapshot_id=dict(type='str'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('expected_certificate_path', 'expected_fingerprint')],
    )
    execute(module, run, needs=('cryptography', 'psycopg'))


if __name__ == '__main__':
    main()
