#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ca_state
short_description: Read or advance the rollover phase of a private CA directory
version_added: 0.1.0
description:
  - A CA rollover replaces the private CA without a moment in which a client or a server
    distrusts the other. It runs in phases across the fleet, and this module keeps the CA
    directory's side of it on the CA node.
  - V(trust) creates C(rollover/) beside the current CA; the M(pgssl.postgresql.private_key) and
    M(pgssl.postgresql.certificate) tasks of the ca role then make the next CA there. Every
    bundle holds both CAs, and leaves are still signed by the current one.
  - V(reissue) makes the next CA sign every leaf. Bundles still hold both.
  - V(retire) drops the current CA from every bundle.
  - V(finish) archives the current CA under C(archive/) and moves the next one into its place
    (C(ca.key), C(ca.crt)). The rollover is then over. A promotion that was killed halfway is
    completed by the next call of this module, whatever its O(phase).
  - A phase is never skipped or undone, and the refusal names the phase to run. The
    C(pgssl.postgresql.ca_rollover) playbook also checks that every host completed the previous
    phase before it asks for the next.
  - Without O(phase), the module only reads the state (and completes an interrupted promotion).
  - Paths are reached without following symbolic links that root does not own.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
attributes:
  check_mode:
    support: full
    description: Reports the change it would make and writes nothing.
  diff_mode:
    support: none
    description: RV(phase) and RV(previous_phase) say what changed.
options:
  dir:
    description: The CA directory (the ca role's C(ca_dir)).
    type: path
    required: true
  phase:
    description: The phase to move to. Not set means read only.
    type: str
    choices: [trust, reissue, retire, finish]
  create:
    description: Make O(dir) and its C(issued) directory (C(0700)) when missing, and narrow them
      to C(0700) when they are wider. A link in their place is refused.
    type: bool
    default: false
seealso:
  - module: pgssl.postgresql.certificate
  - module: pgssl.postgresql.private_key
"""

EXAMPLES = r"""
- name: Start a CA rollover (the ca role then makes the next CA)
  pgssl.postgresql.ca_state:
    dir: /root/.pgssl/ca
    phase: trust
  delegate_to: localhost
  run_once: true

- name: Where does the rollover stand?
  pgssl.postgresql.ca_state:
    dir: /root/.pgssl/ca
  delegate_to: localhost
  run_once: true
  register: ca_state
"""

RETURN = r"""
phase:
  description: The phase after this call (none, trust, reissue or retire).
  returned: success
  type: str
  sample: reissue
previous_phase:
  description: The phase before this call.
  returned: success
  type: str
signing_dir:
  description: The directory whose C(ca.key) and C(ca.crt) sign leaves in this phase.
  returned: success
  type: str
trust_dirs:
  description: The directories whose C(ca.crt) every bundle holds in this phase.
  returned: success
  type: list
  elements: str
current:
  description: The CA in C(ca.crt) (subject_string, not_after, days_left, fingerprint_sha256,
    public_key_fingerprint, serial_number), or null when there is none yet.
  returned: success
  type: dict
next:
  description: The next CA in C(rollover/ca.crt), same facts, or null.
  returned: success
  type: dict
archived:
  description: Name of the directory under C(archive/) that received the retired CA, when this
    call finished a rollover (or completed an interrupted one).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _carollover as rollover
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            phase=dict(type='str', choices=['trust', 'reissue', 'retire', 'finish']),
            create=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    execute(module, rollover.ca_state)


if __name__ == '__main__':
    main()
