#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: certificate_chain
short_description: Write a repaired certificate chain or a CA bundle for PostgreSQL
version_added: 0.1.0
description:
  - With O(kind=chain) (default), writes a file PostgreSQL can use as C(ssl_cert_file) from the
    given certificates in any order. The leaf comes first, then the intermediates in issuer
    order. The root is left out unless O(include_root=true), and duplicates are dropped.
  - When several paths lead up from the leaf, the module takes the one that reaches a trust
    anchor (O(ca_path), the system store with O(system_trust), or any self-signed root when none
    is given).
  - An expired intermediate or cross-signed link can never help a client, so it is always left
    out, with or without an anchor, and reported in RV(dropped). This covers certbot's
    C(fullchain.pem) of 2021-2024, which ends with ISRG Root X1 cross-signed by the expired DST
    Root CA X3. An expired or not yet valid leaf fails the task. Without any anchor, the module
    warns that the chain was not checked against a root.
  - Inputs must be certificates. A private key among them is refused without being echoed.
  - With O(kind=bundle), writes a CA bundle (for C(ssl_ca_file) or a client's C(sslrootcert))
    with each CA certificate once. Expired ones are left out unless O(keep_expired=true).
  - The file is written only when its content differs.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Computes the chain and reports whether the file would change.
  diff_mode:
    support: full
    description: Shows the subjects in the file before and after.
seealso:
  - module: pgssl.postgresql.certificate_info
    description: Reports chain_order, chain_untrusted and chain_expired_link.
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_lets_encrypt
    description: Installing public certificates with their chain repaired.
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_troubleshooting
    description: Common libpq and server messages and the checks that find them.
options:
  path:
    description: The file to write.
    type: path
    required: true
  certificates:
    description: Input certificate files (each may hold several PEM certificates).
    type: list
    elements: path
    default: []
  contents:
    description: Input certificates as PEM text.
    type: list
    elements: str
    default: []
  ca_path:
    description:
      - Trust anchors (root certificates) the chain must reach. They are also candidates for the
        path, but are written only with O(include_root=true).
    type: list
    elements: path
    default: []
  kind:
    description: A server chain (leaf first) or a CA bundle.
    type: str
    choices: [chain, bundle]
    default: chain
  include_root:
    description: Also write the root certificate the chain reaches.
    type: bool
    default: false
  keep_expired:
    description: For O(kind=bundle), keep expired CA certificates.
    type: bool
    default: false
  system_trust:
    description:
      - Also use the system's CA store (C(/etc/ssl/certs/ca-certificates.crt) or
        C(/etc/pki/tls/certs/ca-bundle.crt)) as trust anchors.
    type: bool
    default: false
  require_complete:
    description:
      - For O(kind=chain), fail when the chain does not reach a trust anchor (O(ca_path), or a
        self-signed root among the inputs).
    type: bool
    default: false
  backup:
    description: Keep the replaced file beside the new one.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Repair a Let's Encrypt chain for PostgreSQL
  pgssl.postgresql.certificate_chain:
    path: /etc/postgresql/ssl/server-chain.crt
    certificates:
      - /etc/letsencrypt/live/db1.example.com/fullchain.pem
    ca_path:
      - /usr/local/share/ca-certificates/isrg-root-x1.crt
    owner: postgres
    mode: "0644"

- name: Root bundle for clients
  pgssl.postgresql.certificate_chain:
    path: /etc/postgresql/ssl/root.crt
    kind: bundle
    certificates:
      - /etc/pgssl/ca/ca.crt
      - /etc/pgssl/ca/old-ca.crt
"""

RETURN = r"""
chain:
  description: Subjects and fingerprints of what the file holds, in order.
  returned: success
  type: list
  elements: dict
  sample: [{subject: CN=db1.example.com, fingerprint_sha256: "ab:cd:..", not_after: "2027-01-01T00:00:00Z"}]
dropped:
  description:
    - Inputs left out and why (duplicate, root, expired, expired_cross_sign, alternative_path,
      not_in_path, not_a_ca).
  returned: success
  type: list
  elements: dict
complete:
  description: The chain reaches a trust anchor (always true for a bundle).
  returned: success
  type: bool
root:
  description: Subject of the root the chain reaches, or null.
  returned: success
  type: str
content:
  description: The PEM written (public certificates only).
  returned: success
  type: str
backup_file:
  description: The kept previous file, when one was made.
  returned: changed and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            certificates=dict(type='list', elements='path', default=[]),
            contents=dict(type='list', elements='str', default=[], no_log=True),
            ca_path=dict(type='list', elements='path', default=[]),
            kind=dict(type='str', default='chain', choices=['chain', 'bundle']),
            include_root=dict(type='bool', default=False),
            keep_expired=dict(type='bool', default=False),
            require_complete=dict(type='bool', default=False),
            system_trust=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.chain)


if __name__ == '__main__':
    main()
