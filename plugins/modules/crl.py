#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: crl
short_description: Keep a certificate revocation list signed by the CA
version_added: 0.1.0
description:
  - Writes a CRL (PEM) listing the given revoked serial numbers, signed by the CA, for
    PostgreSQL's C(ssl_crl_file) (revoked client certificates) or for clients' C(sslcrl).
  - Idempotent. A new CRL is signed only when the list of serials changed, the CA changed, the
    current CRL has no CRL number, or the current CRL is past the renewal point of its validity
    (O(renew_before_days) before its next update). Each new CRL carries a CRL number one higher
    than the previous one.
  - With O(other_crls), the file also holds the CRLs of the other CAs in the chain (for example
    the root's CRL next to the intermediate's). PostgreSQL's C(ssl_crl_file) needs one for every
    CA level when it checks a two-level chain.
  - Serials must be positive and at most 20 bytes, and O(next_update_days) must be 1 or more.
    Anything else is refused before any file is touched.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.ca_signer
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports whether a new CRL would be signed.
  diff_mode:
    support: full
    description: Shows the revoked serials before and after.
seealso:
  - module: pgssl.postgresql.certificate
  - name: PostgreSQL ssl_crl_file
    link: https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SSL-CRL-FILE
    description: The server setting for the CRL.
options:
  path:
    description: The CRL file.
    type: path
    required: true
  revoked_serials:
    description: Serial numbers to revoke (decimal, or hex with a C(0x) prefix).
    type: list
    elements: str
    default: []
  next_update_days:
    description: Validity of each CRL in days.
    type: int
    default: 30
  renew_before_days:
    description: Sign a new CRL when the current one's next update is this close.
    type: int
    default: 10
  other_crls:
    description:
      - CRL files of the other CAs in the chain, written after this CA's CRL in the same file.
        Each must be a valid CRL that has not passed its next update.
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Revoke a client certificate
  pgssl.postgresql.crl:
    path: /etc/pgssl/ca/root.crl
    ca_cert_path: /etc/pgssl/ca/ca.crt
    ca_key_path: /etc/pgssl/ca/ca.key
    ca_key_passphrase: "{{ vault_pgssl_ca_passphrase }}"
    revoked_serials:
      - "189461712738001925187348926592379431313"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
revoked_serials:
  description: Serials in the CRL now (decimal strings).
  returned: success
  type: list
  elements: str
next_update:
  description: When clients expect the next CRL (ISO 8601 UTC).
  returned: success
  type: str
crl:
  description: The CRL PEM.
  returned: success, unless check mode would sign a new one
  type: str
crl_number:
  description: The CRL number of this CA's CRL.
  returned: success, unless check mode would sign a new one
  type: int
reasons:
  description: Why a new CRL was (or would be) signed.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crlsteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import ca_signer_argspec, execute


def main():
    argument_spec = ca_signer_argspec()
    argument_spec.update(
        path=dict(type='path', required=True),
        revoked_serials=dict(type='list', elements='str', default=[]),
        next_update_days=dict(type='int', default=30),
        renew_before_days=dict(type='int', default=10),
        other_crls=dict(type='list', elements='path', default=[]),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.crl)


if __name__ == '__main__':
    main()
