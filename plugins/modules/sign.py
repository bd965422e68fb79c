#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sign
short_description: Certify many CSRs with the CA in one run
version_added: 0.1.0
description:
  - The CA node's part of a TLS change (see M(pgssl.postgresql.tls_prepare)). Run it once
    (C(run_once) with C(delegate_to) the CA node) for every host that is due. The CA key is read
    and decrypted once, then each request is handled as M(pgssl.postgresql.certificate) handles
    one.
  - Each request's certificate is kept as C(O(dir)/NAME.crt). It is issued again only when it is
    missing, does not match the CSR's key or the granted names, expires within
    O(renew_before_days), or was issued by another CA; otherwise the one on file is returned.
  - The names come from the request (decided by the controller), never from the CSR. A CSR that
    asks for more is refused, and so is a weak key.
  - One request that fails (a hostile CSR, a weak key) does not stop the others. Its message is
    in RV(errors), under its name, and the caller fails that host only.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.ca_signer
attributes:
  check_mode:
    support: full
    description: Nothing is written; a request that would be certified has no certificate.
  diff_mode:
    support: none
    description: RV(certificates) says what was certified and why.
seealso:
  - module: pgssl.postgresql.certificate
  - module: pgssl.postgresql.tls_prepare
  - module: pgssl.postgresql.tls_install
options:
  dir:
    description: Where the issued certificates are kept (it must exist).
    type: path
    required: true
  requests:
    description: What to certify.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The request's name (the host); the certificate is C(O(dir)/NAME.crt).
        type: str
        required: true
      csr:
        description: The CSR, PEM.
        type: str
        required: true
      common_name:
        description: The common name to grant.
        type: str
        required: true
      subject_alt_names:
        description: The names to grant (C(DNS:), C(IP:) or bare).
        type: list
        elements: str
        default: []
      force:
        description: Certify again even when the certificate on file still does.
        type: bool
        default: false
  profile:
    description:
      - What the certificates are for. V(pooler) is a server certificate that also
        authenticates as a client (extendedKeyUsage serverAuth and clientAuth), for PgBouncer,
        which presents one certificate to its clients and to PostgreSQL.
    type: str
    choices: [server, client, pooler]
    default: server
  valid_days:
    description: Validity of a new certificate, in days.
    type: int
    default: 397
  renew_before_days:
    description: Certify again when the certificate on file expires within this many days.
    type: int
    default: 30
  mode:
    description: Mode of the certificate files.
    type: str
    default: '0644'
"""

EXAMPLES = r"""
- name: Certify every due host at once on the CA node
  pgssl.postgresql.sign:
    dir: /root/.pgssl/ca/issued
    ca_cert_path: /root/.pgssl/ca/ca.crt
    ca_key_path: /root/.pgssl/ca/ca.key
    ca_key_passphrase: "{{ vault_ca_passphrase }}"
    requests: >-
      {{ ansible_play_batch | map('extract', hostvars) | selectattr('prepared.csr', 'defined')
         | map(attribute='sign_request') | list }}
  run_once: true
  delegate_to: localhost
  register: signed
"""

RETURN = r"""
certificates:
  description: Per request name, the certificate (PEM) with C(changed), C(reasons),
    C(fingerprint_sha256), C(not_after) and C(subject_alt_names).
  returned: success
  type: dict
  sample: {"db1": {"changed": true, "reasons": ["missing"], "fingerprint_sha256": "AB:..."}}
errors:
  description: Per request name, why it was not certified.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _unit as unit
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import ca_signer_argspec, execute


def main():
    argument_spec = ca_signer_argspec()
    argument_spec.update(
        dir=dict(type='path', required=True),
        requests=dict(
            type='list',
            elements='dict',
            required=True,
            options=dict(
                name=dict(type='str', required=True),
                csr=dict(type='str', required=True),
                common_name=dict(type='str', required=True),
                subject_alt_names=dict(type='list', elements='str', default=[]),
                force=dict(type='bool', default=False),
            ),
        ),
        profile=dict(type='str', default='server', choices=['server', 'client', 'pooler']),
        valid_days=dict(type='int', default=397),
        renew_before_days=dict(type='int', default=30),
        mode=dict(type='str', default='0644'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
    )
    execute(module, unit.sign)


if __name__ == '__main__':
    main()
