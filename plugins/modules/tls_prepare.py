#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_prepare
short_description: Snapshot, key and CSR of a database server in one step
version_added: 0.2.0
description:
  - The first of the three runs of a TLS change on a host (M(pgssl.postgresql.tls_prepare), then
    M(pgssl.postgresql.sign) once on the CA node, then M(pgssl.postgresql.tls_install)). The
    server role uses it; the single-purpose modules stay for plays composed by hand.
  - Makes the TLS directory (owner O(owner), group O(group), C(0750); a link in its place is
    refused), then records every path of O(snapshot_paths) in one snapshot under
    O(snapshot_dir), as M(pgssl.postgresql.snapshot) does.
  - Decides whether the key in place does (type, size or curve, passphrase, readable), as
    M(pgssl.postgresql.private_key) does. A key that does is kept. Otherwise a new key is made
    on the host (or the external key of O(key_src) or O(key_content) is installed) under the
    staging name C(O(key_path).next), so the server never sees a key without its certificate.
  - Writes the CSR for the key at O(csr_path) (when given) with O(common_name) and
    O(subject_alt_names); the signer decides the names again, so a CSR is never trusted for them.
  - When O(expected_key_fingerprint) is given and the kept key is another one (replaced by
    another process since the status check), it refuses to go on.
  - On failure the result still carries RV(id), so the caller can restore the snapshot.
author:
  - pgssl.postgresql developers (@pgssl)
attributes:
  check_mode:
    support: full
    description: Nothing is written and no snapshot is taken; a new key has no CSR yet.
  diff_mode:
    support: full
    description: Key facts (type, size, curve, public key fingerprint), never key material.
seealso:
  - module: pgssl.postgresql.tls_status
  - module: pgssl.postgresql.sign
  - module: pgssl.postgresql.tls_install
  - module: pgssl.postgresql.private_key
  - module: pgssl.postgresql.csr
options:
  ssl_dir:
    description: The directory of the TLS files.
    type: path
    required: true
  owner:
    description: Owner of the TLS directory, the key (unless O(key_mode) is C(0640)) and the CSR.
    type: str
    required: true
  group:
    description: Group of the TLS directory, the key and the CSR (the server's group).
    type: str
    required: true
  key_mode:
    description: Mode of the key file (C(0600) for a key owned by the server user, C(0640) for a
      root-owned key the server group reads).
    type: str
    default: '0600'
  snapshot_dir:
    description: Where snapshots live (root-only).
    type: path
    default: /var/lib/pgssl-postgresql/snapshots
  snapshot_paths:
    description: Every file the change may touch. The 5 newest snapshots are kept.
    type: list
    elements: path
    required: true
  key_path:
    description: The key the server uses (C(ssl_key_file)).
    type: path
    required: true
  cert_path:
    description: The certificate the server uses (C(ssl_cert_file)); only named in RV(cert_file).
    type: path
    required: true
  csr_path:
    description: Where the CSR is written; no CSR without it (an external certificate).
    type: path
  key_type:
    description: Type of a new key.
    type: str
    choices: [rsa, ecdsa, ed25519]
    default: ecdsa
  key_size:
    description: Size of a new RSA key.
    type: int
    default: 3072
  key_curve:
    description: Curve of a new ECDSA key.
    type: str
    choices: [P-256, P-384]
    default: P-256
  key_passphrase:
    description: Keep the key encrypted with this passphrase.
    type: str
  key_src:
    description: An existing key on the host to install (an external certificate's key).
    type: path
  key_content:
    description: An existing key to install, as PEM text (from the controller).
    type: str
  key_src_passphrase:
    description: Passphrase of O(key_src) or O(key_content).
    type: str
  request_name:
    description: The request's name in RV(request) (the inventory host), for M(pgssl.postgresql.sign).
    type: str
  common_name:
    description: Common name of the CSR.
    type: str
  subject_alt_names:
    description: Names of the CSR (C(DNS:), C(IP:) or bare).
    type: list
    elements: str
    default: []
  expected_key_fingerprint:
    description: The public key fingerprint the status check read; a kept key must still be it.
    type: str
notes:
  - Run as root (it makes and chowns files for the server user).
"""

EXAMPLES = r"""
- name: Snapshot, key and CSR
  pgssl.postgresql.tls_prepare:
    ssl_dir: /etc/postgresql/16/main/ssl
    owner: postgres
    group: postgres
    snapshot_paths:
      - /etc/postgresql/16/main/ssl/server.key
      - /etc/postgresql/16/main/ssl/server.crt
      - /etc/postgresql/16/main/postgresql.conf
    key_path: /etc/postgresql/16/main/ssl/server.key
    cert_path: /etc/postgresql/16/main/ssl/server.crt
    csr_path: /etc/postgresql/16/main/ssl/server.csr
    common_name: db1.example.com
    subject_alt_names: [db1.example.com, "IP:192.0.2.10"]
  register: prepared
"""

RETURN = r"""
id:
  description: The snapshot (for M(pgssl.postgresql.snapshot) V(restore) or V(drop), or
    O(pgssl.postgresql.tls_install#module:snapshot_id)).
  returned: success and failure, when a snapshot was taken
  type: str
entries:
  description: What the snapshot recorded per path (existed, sha256, uid, gid, mode).
  returned: when a snapshot was taken
  type: list
  elements: dict
new_key:
  description: Whether a new key waits under the staging name.
  returned: success
  type: bool
key_reasons:
  description: Why the key in place did not do (empty when it was kept).
  returned: success
  type: list
  elements: str
key_file:
  description: The key to certify (C(.next) when new).
  returned: success
  type: str
cert_file:
  description: Where its certificate goes (C(.next) when the key is new).
  returned: success
  type: str
public_key_fingerprint:
  description: SHA-256 of the key's public key (C((new key)) in check mode).
  returned: success
  type: str
csr:
  description: The CSR, PEM.
  returned: when O(csr_path) is given, except for a new key in check mode
  type: str
request:
  description: What M(pgssl.postgresql.sign) needs (name, csr, common_name, subject_alt_names).
  returned: when RV(csr) is
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _unit as unit
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ssl_dir=dict(type='path', required=True),
            owner=dict(type='str', required=True),
            group=dict(type='str', required=True),
            key_mode=dict(type='str', default='0600', no_log=False),
            snapshot_dir=dict(type='path', default='/var/lib/pgssl-postgresql/snapshots'),
            snapshot_paths=dict(type='list', elements='path', required=True),
            key_path=dict(type='path', required=True),
            cert_path=dict(type='path', required=True),
            csr_path=dict(type='path'),
            key_type=dict(type='str', default='ecdsa', choices=['rsa', 'ecdsa', 'ed25519']),
            key_size=dict(type='int', default=3072),
            key_curve=dict(type='str', default='P-256', choices=['P-256', 'P-384']),
            key_passphrase=dict(type='str', no_log=True),
            key_src=dict(type='path'),
            key_content=dict(type='str', no_log=True),
            key_src_passphrase=dict(type='str', no_log=True),
            request_name=dict(type='str'),
            common_name=dict(type='str'),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            expected_key_fingerprint=dict(type='str', no_log=False),
        ),
        mutually_exclusive=[('key_src', 'key_content')],
        supports_check_mode=True,
    )
    execute(module, unit.prepare)


if __name__ == '__main__':
    main()
