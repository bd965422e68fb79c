#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: csr
short_description: Create a certificate signing request from a key on the host
version_added: 0.1.0
description:
  - Builds a certificate signing request (CSR) for a private key that stays on the host, with a
    subject, subject alternative names (DNS and IP) and a profile (server or client).
  - Writes the CSR to O(path) and/or returns it as PEM, so the CA node can sign it.
  - Idempotent. An existing CSR is kept unless its subject, SANs, profile or key differ from the
    request.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports whether the CSR would change without writing it.
  diff_mode:
    support: full
    description: Shows subject, SANs, profile and public key fingerprint before and after.
seealso:
  - module: pgssl.postgresql.private_key
  - module: pgssl.postgresql.certificate
  - module: pgssl.postgresql.sign
options:
  path:
    description:
      - Where the CSR is written (PEM). Without it, the CSR is only returned; nothing is written
        and the task reports no change.
    type: path
  privatekey_path:
    description: The private key on the host that the CSR is for.
    type: path
    required: true
  privatekey_passphrase:
    description: Passphrase of an encrypted private key.
    type: str
  common_name:
    description: Subject common name. Shortcut for C(CN) in O(subject).
    type: str
  subject:
    description:
      - Subject fields, with short or long names (C, ST, L, O, OU, CN, emailAddress;
        country_name, organization_name, common_name, ...).
    type: dict
    default: {}
  subject_alt_names:
    description:
      - Subject alternative names, as C(DNS:name), C(IP:address), or plain names and addresses
        (an address is recognised by its form).
      - Clients should always find the host name here. Go refuses certificates with only a CN.
    type: list
    elements: str
    default: []
  profile:
    description:
      - V(server) adds extendedKeyUsage serverAuth; V(client) adds clientAuth (the CN is the
        database user); V(pooler) adds both (PgBouncer's one certificate toward its clients and
        toward PostgreSQL).
    type: str
    choices: [server, client, pooler]
    default: server
  backup:
    description: Keep the replaced CSR file beside the new one.
    type: bool
    default: false
  return_content:
    description: Return the CSR PEM in RV(csr).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: CSR for the database host, from the key made on it
  pgssl.postgresql.csr:
    path: /var/lib/postgresql/ssl/server.csr
    privatekey_path: /var/lib/postgresql/ssl/server.key
    common_name: db1.example.com
    subject_alt_names:
      - DNS:db1.example.com
      - DNS:db1
      - IP:192.0.2.10
  register: host_csr

- name: Client CSR for the database user app
  pgssl.postgresql.csr:
    privatekey_path: /home/app/.postgresql/postgresql.key
    common_name: app
    profile: client
"""

RETURN = r"""
csr:
  description: The CSR, PEM.
  returned: success and O(return_content=true)
  type: str
subject:
  description: Subject of the CSR (short names).
  returned: success
  type: dict
  sample: {CN: db1.example.com}
subject_alt_names:
  description: SANs of the CSR in canonical form.
  returned: success
  type: list
  elements: str
  sample: ["DNS:db1.example.com", "IP:192.0.2.10"]
profile:
  description: Profile of the CSR.
  returned: success
  type: str
public_key_fingerprint:
  description: SHA-256 fingerprint of the public key in the CSR.
  returned: success
  type: str
reasons:
  description: Why the CSR was (or would be) written; empty when nothing changed.
  returned: success
  type: list
  elements: str
  sample: [san_changed]
backup_file:
  description: The kept previous CSR, when one was made.
  returned: changed and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            privatekey_path=dict(type='path', required=True),
            privatekey_passphrase=dict(type='str', no_log=True),
            common_name=dict(type='str'),
            subject=dict(type='dict', default={}),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            profile=dict(type='str', default='server', choices=['server', 'client', 'pooler']),
            backup=dict(type='bool', default=False),
            return_content=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.csr)


if __name__ == '__main__':
    main()
