#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: private_key
short_description: Create and check a private key on the host that will use it
version_added: 0.1.0
description:
  - Creates a private key (RSA, ECDSA or Ed25519) in a file, or checks the one that is there.
  - The key file is private from its first byte whatever the umask. It is written to a new file
    created with mode C(0600) in the destination directory, given its owner and group, and only
    then renamed into place.
  - The key itself never leaves the host. The module returns the public key and its fingerprint,
    never the private key.
  - An existing key that cannot be read (malformed, encrypted without O(passphrase), wrong
    passphrase) is an error. It is never replaced silently.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing anything.
  diff_mode:
    support: full
    description: Shows key type, size, encryption and public key fingerprint before and after.
seealso:
  - module: pgssl.postgresql.csr
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_client_certificates
    description: Client certificates, pk8 and key passwords.
  - name: PostgreSQL, Secure TCP/IP Connections with SSL
    link: https://www.postgresql.org/docs/current/ssl-tcp.html
    description: Server files, key file rules and reload.
options:
  path:
    description: Where the private key lives (PEM, PKCS#8).
    type: path
    required: true
  type:
    description: Key algorithm.
    type: str
    choices: [rsa, ecdsa, ed25519]
    default: ecdsa
  size:
    description:
      - RSA key size in bits. Keys below 2048 bits are refused.
      - Ignored for ECDSA and Ed25519.
      - Supported sizes are 2048, 3072 and 4096.
    type: int
    default: 3072
  curve:
    description: ECDSA curve. Ignored for other key types.
    type: str
    choices: [P-256, P-384]
    default: P-256
  passphrase:
    description:
      - Encrypts the key (PKCS#8 with the best encryption the library offers).
      - Needed to read an existing encrypted key.
    type: str
  regenerate:
    description:
      - When an existing key is replaced.
      - V(mismatch) replaces the key when its type, size or curve differ from what was asked;
        when only the encryption differs (a passphrase was added or removed) the same key is
        written again in the new form, so certificates for it stay valid.
      - V(never) keeps any existing readable key and warns when it differs.
      - V(fail) fails when the existing key differs from what was asked.
      - V(always) makes a new key on every run (changed every time).
      - In every choice an unreadable existing key is an error, except with V(always).
    type: str
    choices: [never, fail, mismatch, always]
    default: mismatch
  backup:
    description:
      - Keep the replaced key beside the new one (a hard link with its own owner and mode).
    type: bool
    default: true
  mode:
    description:
      - File mode. Defaults to C(0600) for a new key, and an existing key with a wider mode is
        narrowed to C(0600) unless a mode is given.
  src:
    description:
      - Install this existing key (a path on the host, for example
        C(/etc/letsencrypt/live/NAME/privkey.pem)) instead of generating one. It is
        validated and written the same private way. The task reports a change only when the
        key at O(path) is a different key or its encryption differs.
      - O(type), O(size), O(curve) and O(regenerate) are ignored.
      - An existing key at O(path) that cannot be read (wrong passphrase, or not a key) is never
        replaced; the task fails instead.
    type: path
  src_content:
    description: Like O(src), the key as PEM text (for a key kept on the controller). Never
      logged.
    type: str
  src_passphrase:
    description: Passphrase of an encrypted O(src) or O(src_content).
    type: str
  pk8_path:
    description:
      - Also write the same key as PKCS#8 DER to this path, mode C(0600) with the same owner
        and group. pgjdbc before 42.7.13 reads client keys only in this form
        (C(postgresql.pk8)).
      - With O(passphrase) the copy is encrypted with the same passphrase, which pgjdbc takes
        as its C(sslpassword). The scheme is PKCS#12's pbeWithSHAAnd3-KeyTripleDES-CBC
        (Java's C(PBEWithSHA1AndDESede)), 200000 rounds, because pgjdbc hands the scheme's name
        to C(Cipher.getInstance), and JDK 17 (the one tested) names the AES scheme (PBES2) only
        C(PBES2), which no provider offers. Java accepts only a printable ASCII password there,
        so another passphrase is refused before any file is written.
      - An existing copy counts as current when it holds the same key in the same form (opened
        with the passphrase when there is one), so a second run changes nothing.
    type: path
notes:
  - PostgreSQL accepts a server key owned by the server user with mode C(0600) or less, or owned
    by root with mode C(0640) or less and the server's group.
"""

EXAMPLES = r"""
- name: ECDSA P-256 key for the PostgreSQL server, owned by postgres
  pgssl.postgresql.private_key:
    path: /var/lib/postgresql/ssl/server.key
    owner: postgres
    group: postgres

- name: Encrypted RSA key for the CA on the control node
  pgssl.postgresql.private_key:
    path: /etc/pgssl/ca/ca.key
    type: rsa
    size: 4096
    passphrase: "{{ vault_pgssl_ca_passphrase }}"
  delegate_to: localhost
  run_once: true

- name: Root-owned key readable by the server group (PostgreSQL accepts 0640 for root)
  pgssl.postgresql.private_key:
    path: /etc/postgresql/ssl/server.key
    owner: root
    group: postgres
    mode: "0640"
"""

RETURN = r"""
type:
  description: Key algorithm of the key now in place.
  returned: success
  type: str
  sample: ecdsa
size:
  description: Key size in bits.
  returned: success
  type: int
  sample: 256
curve:
  description: ECDSA curve, or null.
  returned: success
  type: str
  sample: P-256
encrypted:
  description: Whether the key file is encrypted with a passphrase.
  returned: success
  type: bool
public_key:
  description: The public key (PEM, SubjectPublicKeyInfo).
  returned: success
  type: str
public_key_fingerprint:
  description: SHA-256 of the DER public key, hex with colons.
  returned: success
  type: str
pk8_path:
  description: Where the PKCS#8 DER copy is, when O(pk8_path) is set.
  returned: when O(pk8_path) is set
  type: str
reasons:
  description: Why the key was (or would be) written; empty when nothing changed.
  returned: success
  type: list
  elements: str
  sample: [missing]
backup_file:
  description: The kept previous key, when one was made.
  returned: changed and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            type=dict(type='str', default='ecdsa', choices=['rsa', 'ecdsa', 'ed25519']),
            size=dict(type='int', default=3072),
            curve=dict(type='str', default='P-256', choices=list(crypto.CURVES)),
            passphrase=dict(type='str', no_log=True),
            regenerate=dict(type='str', default='mismatch', choices=list(crypto.REGENERATE_CHOICES)),
            backup=dict(type='bool', default=True),
            src=dict(type='path'),
            src_content=dict(type='str', no_log=True),
            src_passphrase=dict(type='str', no_log=True),
            pk8_path=dict(type='path'),
        ),
        mutually_exclusive=[('src', 'src_content')],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.private_key)


if __name__ == '__main__':
    main()
