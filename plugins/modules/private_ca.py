#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: private_ca
short_description: Keep a private CA directory whole in one run (key, certificate, CRL, rollover)
version_added: 0.4.0
description:
  - The ca role's single call on the CA node. It does in one process what
    M(pgssl.postgresql.ca_state), M(pgssl.postgresql.private_key),
    M(pgssl.postgresql.certificate) and M(pgssl.postgresql.crl) do one by one, with the same
    checks and the same files, and returns what the other roles read.
  - The directory O(dir) and its C(issued/) directory are made C(0700) (a link in their place
    is refused). An interrupted end of a rollover is completed, and O(phase) moves the rollover
    on (see M(pgssl.postgresql.ca_state) for the phases).
  - The CA key C(ca.key) (C(0600)) is made when missing and never replaced (an existing key
    that does not match the request is refused). The CA certificate C(ca.crt) (C(0644)) is
    issued with that key, and issued again with the same key when it is within
    O(renew_before_days) of its end or no longer matches the request.
  - With O(crl), C(crl.pem) (C(0644)) lists O(revoked_serials), signed by the CA.
  - During a rollover, the next CA is kept the same way in C(rollover/), and C(trust.pem)
    (C(0644)) holds both CA certificates, the bundle every host trusts.
  - Paths are reached without following symbolic links that root does not own.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
attributes:
  check_mode:
    support: full
    description: Reports what it would change and writes nothing.
  diff_mode:
    support: full
    description: One diff for each file that changes (key facts, certificate facts, CRL serials).
options:
  dir:
    description: The CA directory (the ca role's C(ca_dir)).
    type: path
    required: true
  phase:
    description: The rollover phase to move to. Not set leaves the phase as it is.
    type: str
    choices: [trust, reissue, retire]
  passphrase:
    description: The passphrase of the CA keys. Not set means they are not encrypted.
    type: str
  key_type:
    description: The type of a new CA key.
    type: str
    choices: [rsa, ecdsa, ed25519]
    default: ecdsa
  key_curve:
    description: The curve of a new ECDSA key.
    type: str
    choices: [P-256, P-384]
    default: P-384
  key_size:
    description: The size in bits of a new RSA key.
    type: int
    default: 4096
  common_name:
    description: The CA certificate's common name (the next CA has the same subject).
    type: str
    required: true
  pathlen:
    description: The path length constraint of the CA certificate (0 means it signs leaves only).
    type: int
    default: 0
  valid_days:
    description: Validity of a new CA certificate in days.
    type: int
    default: 3650
  renew_before_days:
    description: Issue the CA certificate again (same key) when its end is this close.
    type: int
    default: 365
  crl:
    description: Keep C(crl.pem) for each CA.
    type: bool
    default: false
  revoked_serials:
    description: Serial numbers the CRLs list (decimal, or hex with a C(0x) prefix).
    type: list
    elements: str
    default: []
  crl_next_update_days:
    description: Validity of each CRL in days.
    type: int
    default: 30
seealso:
  - module: pgssl.postgresql.ca_state
  - module: pgssl.postgresql.certificate
  - module: pgssl.postgresql.crl
"""

EXAMPLES = r"""
- name: The CA, kept on the controller
  pgssl.postgresql.private_ca:
    dir: /root/.pgssl/ca
    common_name: Example Corp PostgreSQL CA
    passphrase: "{{ vault_pgssl_ca_passphrase }}"
  delegate_to: localhost
  run_once: true
  register: ca

- name: The first phase of a CA rollover (the next CA is made beside the current one)
  pgssl.postgresql.private_ca:
    dir: /root/.pgssl/ca
    common_name: Example Corp PostgreSQL CA
    passphrase: "{{ vault_pgssl_ca_passphrase }}"
    phase: trust
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
state:
  description: The rollover state after the call, as M(pgssl.postgresql.ca_state) returns it
    (phase, previous_phase, signing_dir, trust_dirs, current, next, archived).
  returned: success
  type: dict
certificate_pem:
  description: The certificate of the CA that signs leaves in this phase (the next CA in phases
    reissue and retire).
  returned: success (empty in check mode before the CA exists)
  type: str
trust_pem:
  description: The CA certificates every host trusts in this phase (both during a rollover).
  returned: success
  type: str
crl_pem:
  description: The CRLs of the trusted CAs, when O(crl) is set.
  returned: success
  type: str
changes:
  description: What changed (or would change), by name.
  returned: success
  type: list
  elements: str
  sample: [CA key, CA certificate]
check_mode_gap:
  description: In check mode before the CA exists, what a real run makes first.
  returned: when it applies
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute
from ansible_collections.pgssl.postgresql.plugins.module_utils._privateca import private_ca


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            phase=dict(type='str', choices=['trust', 'reissue', 'retire']),
            passphrase=dict(type='str', no_log=True),
            key_type=dict(type='str', default='ecdsa', choices=['rsa', 'ecdsa', 'ed25519']),
            key_curve=dict(type='str', default='P-384', choices=list(crypto.CURVES)),
            key_size=dict(type='int', default=4096),
            common_name=dict(type='str', required=True),
            pathlen=dict(type='int', default=0),
            valid_days=dict(type='int', default=3650),
            renew_before_days=dict(type='int', default=365),
            crl=dict(type='bool', default=False),
            revoked_serials=dict(type='list', elements='str', default=[]),
            crl_next_update_days=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    execute(module, private_ca)


if __name__ == '__main__':
    main()
