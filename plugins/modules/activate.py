#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: activate
short_description: Put a staged key and its certificate in place together
version_added: 0.1.0
description:
  - A new server key is made under a staging name (for example C(server.key.next)) and its
    certificate is written as C(server.crt.next). This module then puts both in place in one
    step, so the key and the certificate PostgreSQL reads change together.
  - Before anything moves, the final pair is checked. That pair is the staged key (or the key
    in place) and the staged certificate (or the certificate in place), and the certificate must
    be for that key. A pair that does not match is refused, and nothing moves.
  - The renames happen back to back (certificate, then key) in the same directory, without
    following links. A run killed before this step leaves the previous pair in place, so the
    server restarts with it, and the next run finds the staged key and uses it again.
  - Nothing staged means nothing to do (no change).
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
attributes:
  check_mode:
    support: full
    description: Checks the pair and reports whether it would be put in place.
  diff_mode:
    support: none
    description: RV(activated) lists what moved.
seealso:
  - module: pgssl.postgresql.tls_install
    description: Does this step inside the server role's change.
  - module: pgssl.postgresql.snapshot
  - name: PostgreSQL, Secure TCP/IP Connections with SSL
    link: https://www.postgresql.org/docs/current/ssl-tcp.html
    description: Server files, key file rules and reload.
options:
  key_path:
    description: Where PostgreSQL reads the key (C(ssl_key_file)).
    type: path
    required: true
  key_staged:
    description: The staged key. Default O(key_path) with C(.next) appended.
    type: path
  certificate_path:
    description: Where PostgreSQL reads the certificate (C(ssl_cert_file)).
    type: path
    required: true
  certificate_staged:
    description: The staged certificate. Default O(certificate_path) with C(.next) appended.
    type: path
  passphrase:
    description: Passphrase of an encrypted key.
    type: str
  backup:
    description: Keep the replaced key and certificate (private copies, the newest 3).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: New key and certificate in place together
  pgssl.postgresql.activate:
    key_path: /etc/postgresql/16/main/ssl/server.key
    certificate_path: /etc/postgresql/16/main/ssl/server.crt
  notify: Reload PostgreSQL
"""

RETURN = r"""
activated:
  description: The paths that were (or would be) replaced, certificate first.
  returned: success
  type: list
  elements: str
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate in place after the step.
  returned: success
  type: str
backup_files:
  description: The kept previous files.
  returned: changed and backups were made
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key_path=dict(type='path', required=True),
            key_staged=dict(type='path'),
            certificate_path=dict(type='path', required=True),
            certificate_staged=dict(type='path'),
            passphrase=dict(type='str', no_log=True),
            backup=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    execute(module, steps.activate)


if __name__ == '__main__':
    main()
