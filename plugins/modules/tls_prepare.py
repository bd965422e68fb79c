#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_prepare
short_description: Decide what a PostgreSQL server's TLS needs and, when due, snapshot, key and CSR
version_added: 0.1.0
description:
  - The first of the three runs of a TLS change on a host (M(pgssl.postgresql.tls_prepare), then
    M(pgssl.postgresql.sign) once on the CA node, then M(pgssl.postgresql.tls_install)). The
    server role uses it; the single-purpose modules stay for plays composed by hand.
  - It first checks everything M(pgssl.postgresql.tls_status) checks, with the same options, and
    returns the same facts. When nothing is due, or O(prepare=false), that is all it does and
    nothing is changed.
  - When something is due, it makes the TLS directory (owner the server user, or root with
    O(key_owner=root); the server's group; C(0750); a link in its place is refused). Then it
    records in one snapshot under O(snapshot_dir) every file the change may touch (key,
    certificate, staged pair, CSR, CA file, CRL, postgresql.conf, pg_hba.conf, passphrase file),
    as M(pgssl.postgresql.snapshot) does.
  - It decides whether the key in place does (type, size or curve, passphrase, readable), as
    M(pgssl.postgresql.private_key) does. A key that does is kept. Otherwise a new key is made
    on the host (or the external key of O(key_src) or O(key_content) is installed) under the
    staging name C(server.key.next), so the server never sees a key without its certificate.
  - Unless the certificate is external, it writes the CSR for that key (C(server.csr)) with
    O(common_name) and O(sans). The signer decides the names again, so a CSR is never trusted
    for them.
  - If the kept key is not the one the status check read (another process replaced it in
    between), it refuses to go on.
  - On failure after the snapshot the result still carries RV(id), so the caller can restore it.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - pgssl.postgresql.status
  - pgssl.postgresql.tls_probe
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
  prepare:
    description: When something is due, take the snapshot and make the key and the CSR. V(false)
      only checks, as M(pgssl.postgresql.tls_status).
    type: bool
    default: true
  snapshot_dir:
    description: Where snapshots live (root-only), in a directory per cluster (RV(snapshot_dir)).
      The 5 newest of a cluster are kept.
    type: path
    default: /var/lib/pgssl-postgresql/snapshots
  key_src:
    description: An existing key on the host to install (an external certificate's key).
    type: path
  key_content:
    description: An existing key to install, as PEM text (from the controller).
    type: str
  key_src_passphrase:
    description: Passphrase of O(key_src) or O(key_content).
    type: str
notes:
  - Run as root (it makes and chowns files for the server user).
"""

EXAMPLES = r"""
- name: What is due, and the snapshot, key and CSR when something is
  pgssl.postgresql.tls_prepare:
    cluster: 16/main
    common_name: db1.example.com
    sans: [db1.example.com, "IP:192.0.2.10"]
    ca_bundle: "{{ lookup('ansible.builtin.file', '/root/.pgssl/ca/ca.crt') }}"
  register: prepared
"""

RETURN = r"""
due:
  description: Something needs to be done.
  returned: success
  type: bool
reasons:
  description: What is due, such as missing, expiring, not_yet_valid, issuer_changed, san_changed, key_mismatch,
    key_type_changed, staged_pair (a run was killed before its new key and certificate were put
    in place), key_file_mode, ca_file_changed, crl_changed, settings_changed,
    settings_overridden (see RV(overrides)), hba_changed or not_served.
  returned: success
  type: list
  elements: str
overrides:
  description: Lines the module does not own that would win over the settings it writes (a later
    include, or postgresql.auto.conf from ALTER SYSTEM), as C(file:line sets name (via)); values
    are never shown.
  returned: success
  type: list
  elements: str
cluster:
  description: The cluster found (config_file, hba_file, data_dir, version, major, layout,
    server_user, server_group, and the port and first socket directory from its configuration).
  returned: success
  type: dict
settings:
  description: The postgresql.conf parameters the host should have.
  returned: success
  type: dict
paths:
  description: Paths of the TLS files (ssl_dir, cert, key, ca, crl, passphrase).
  returned: success
  type: dict
certificate:
  description: Facts of the installed server certificate (subject, SANs, not_after, days_left,
    fingerprint_sha256, and issuer_key_fingerprint, the public key fingerprint of the CA whose
    signature it carries, among the certificates in the file, the CA file and O(ca_bundle)),
    when there is one.
  returned: success
  type: dict
key_fingerprint:
  description: Public key fingerprint of the server key, when it could be read. The server role
    refuses to certify a key that changed after this call (another process replaced it).
  returned: success
  type: str
ca_file_keys:
  description: Public key fingerprints (SHA-256 of the SubjectPublicKeyInfo) of the certificates
    in the CA file (C(ssl_ca_file)); the CA rollover reads which CAs a server trusts from it.
  returned: success
  type: list
  elements: str
id:
  description: The snapshot (for M(pgssl.postgresql.snapshot) V(restore) or V(drop), or
    O(pgssl.postgresql.tls_install#module:snapshot_id)).
  returned: when a snapshot was taken (also on failure)
  type: str
snapshot_dir:
  description: The directory of this cluster's snapshots (under O(snapshot_dir)).
  returned: when a snapshot was taken (also on failure)
  type: str
entries:
  description: What the snapshot recorded per path (existed, sha256, uid, gid, mode).
  returned: when a snapshot was taken
  type: list
  elements: dict
new_key:
  description: Whether a new key waits under the staging name (when nothing was prepared, whether
    one would be made).
  returned: success
  type: bool
key_reasons:
  description: Why the key in place did not do (empty when it was kept).
  returned: when prepared
  type: list
  elements: str
key_file:
  description: The key to certify (C(.next) when new).
  returned: when prepared
  type: str
cert_file:
  description: Where its certificate goes (C(.next) when the key is new).
  returned: when prepared
  type: str
public_key_fingerprint:
  description: SHA-256 of the key's public key (C((new key)) in check mode).
  returned: when prepared
  type: str
csr:
  description: The CSR, PEM. Give it to M(pgssl.postgresql.sign) with the names the controller
    grants (never names the host reports).
  returned: when prepared for the private CA, except for a new key in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _status as status
from ansible_collections.pgssl.postgresql.plugins.module_utils import _unit as unit
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    argument_spec = status.status_argspec()
    argument_spec.update(
        prepare=dict(type='bool', default=True),
        snapshot_dir=dict(type='path', default='/var/lib/pgssl-postgresql/snapshots'),
        key_src=dict(type='path'),
        key_content=dict(type='str', no_log=True),
        key_src_passphrase=dict(type='str', no_log=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[('key_src', 'key_content')]
    )
    execute(module, unit.prepare)


if __name__ == '__main__':
    main()
