#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: certificate_info
short_description: Inspect a certificate, its chain and key the way PostgreSQL and libpq will
version_added: 0.1.0
description:
  - Reads a certificate or chain file (leaf first, as PostgreSQL reads C(ssl_cert_file)) and
    reports subject, issuer, SANs, serial, validity, days left, key type and size, fingerprints
    and whether it is a CA.
  - Checks the chain order, whether it verifies against given CA certificates, expired links,
    whether a private key matches, host names by libpq's C(sslmode=verify-full) rules, whether
    PostgreSQL would accept the key file's owner and mode, and weak keys or signatures.
  - Findings are listed in RV(problems) with stable codes. O(fail_on) turns chosen codes into a
    task failure.
  - Read-only; never reports a change.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
seealso:
  - module: pgssl.postgresql.certificate_chain
    description: Repairs what this module reports.
  - module: pgssl.postgresql.verify
    description: Checks the certificate a server really serves.
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_troubleshooting
    description: Common libpq and server messages and the checks that find them.
options:
  path:
    description: Certificate or chain file (PEM; DER for a single certificate).
    type: path
  content:
    description: Certificate or chain as PEM text, instead of O(path).
    type: str
  ca_path:
    description: CA certificate files the chain must verify against (trust anchors).
    type: list
    elements: path
    default: []
  ca_content:
    description: CA certificates as PEM text, in addition to O(ca_path).
    type: str
  privatekey_path:
    description: Private key that should belong to the certificate. Its file owner and mode are
      checked against PostgreSQL's rule for O(server_user).
    type: path
  privatekey_passphrase:
    description: Passphrase of an encrypted O(privatekey_path).
    type: str
  server_user:
    description:
      - The operating system user PostgreSQL runs as, for the key file check.
      - PostgreSQL accepts a key owned by this user with mode C(0600) or less, or owned by root
        with mode C(0640) or less.
      - Set to an empty string to skip the check.
    type: str
    default: postgres
  hostnames:
    description: Host names or addresses clients use; each is matched by libpq's rules.
    type: list
    elements: str
    default: []
  expiry_warn_days:
    description: Report the problem C(expiring) when fewer days are left.
    type: int
    default: 30
  fail_on:
    description:
      - Problem codes that fail the task, or V(any) for every problem.
      - Codes are expired, not_yet_valid, expiring, chain_order, chain_untrusted,
        chain_expired_link, key_mismatch, hostname_mismatch, no_dns_san, key_file_owner,
        key_file_mode, key_file_type, ed25519_signature, weak_key (RSA under 2048 bits, in the
        file, the anchors or the private key), weak_signature (SHA-1 or MD5) and
        private_key_in_file (the certificate file also holds a key, which is never shown).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Check what the server will serve before reloading
  pgssl.postgresql.certificate_info:
    path: /var/lib/postgresql/ssl/server.crt
    privatekey_path: /var/lib/postgresql/ssl/server.key
    ca_path: [/var/lib/postgresql/ssl/root.crt]
    hostnames: [db1.example.com]
    fail_on: [expired, key_mismatch, chain_untrusted, hostname_mismatch, key_file_mode]
  register: info

- name: Show days left
  ansible.builtin.debug:
    msg: "{{ info.certificate.subject_string }} expires in {{ info.certificate.days_left }} days"
"""

RETURN = r"""
certificate:
  description: Facts of the first certificate (the leaf).
  returned: success
  type: dict
  contains:
    subject:
      description: Subject (short names).
      type: dict
    subject_string:
      description: Subject as an RFC 4514 string.
      type: str
    issuer:
      description: Issuer (short names).
      type: dict
    subject_alt_names:
      description: SANs such as C(DNS:db1.example.com) and C(IP:192.0.2.10).
      type: list
      elements: str
    serial_number:
      description: Serial number (decimal string).
      type: str
    not_before:
      description: Start of validity (ISO 8601 UTC).
      type: str
    not_after:
      description: End of validity (ISO 8601 UTC).
      type: str
    days_left:
      description: Whole days until not_after (negative when expired).
      type: int
    key_type:
      description: rsa, ecdsa or ed25519.
      type: str
    key_size:
      description: Key size in bits.
      type: int
    fingerprint_sha256:
      description: SHA-256 fingerprint.
      type: str
    is_ca:
      description: basicConstraints CA:TRUE.
      type: bool
certificates:
  description: The same facts for every certificate in the file, in file order.
  returned: success
  type: list
  elements: dict
chain:
  description: Chain checks.
  returned: success
  type: dict
  contains:
    length:
      description: Number of certificates in the file.
      type: int
    order_ok:
      description: Each certificate is issued by the next one.
      type: bool
    verified:
      description: The chain leads to one of the CA certificates (null when none were given).
      type: bool
    expired_links:
      description: Subjects of expired certificates after the leaf.
      type: list
      elements: str
key:
  description: Key checks (null when no key was given).
  returned: success
  type: dict
  contains:
    matches_certificate:
      description: The private key belongs to the leaf certificate.
      type: bool
    file_acceptable_to_postgresql:
      description: Owner and mode pass PostgreSQL's rule for O(server_user).
      type: bool
hostnames:
  description: Host name -> whether libpq verify-full would accept the certificate for it.
  returned: success
  type: dict
  sample: {db1.example.com: true, db2.example.com: false}
problems:
  description: Findings, each with a stable C(code) and a C(message).
  returned: success
  type: list
  elements: dict
  sample: [{code: expiring, message: the certificate CN=db1 expires in 12 days}]
"""

import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed, execute


def run(module):
    p = module.params
    where = p['path'] or 'the certificate content'
    data = files.read_input(p['path'], p['content'], 'certificate file')
    certs = crypto.load_certificates(data, where)
    anchors = []
    for ca in p['ca_path']:
        anchors.extend(crypto.load_certificates(files.read_input(ca, None, 'CA file'), ca))
    if p['ca_content']:
        anchors.extend(crypto.load_certificates(p['ca_content'], 'ca_content'))
    key = key_stat = server_uid = None
    if p['privatekey_path']:
        key = crypto.load_private_key(
            files.read_input(p['privatekey_path'], None, 'key file'),
            p['privatekey_passphrase'],
            'The private key %s' % p['privatekey_path'],
        )
        if p['server_user']:
            try:
                server_uid = pwd.getpwnam(p['server_user']).pw_uid
            except KeyError:
                raise files.PgsslFileError('Unknown server_user %r.' % p['server_user'])
            st = files.stat_file(p['privatekey_path'])
            key_stat = (st.st_mode, st.st_uid)
    result = crypto.analyze(
        certs,
        anchors=anchors,
        key=key,
        hostnames=p['hostnames'],
        key_stat=key_stat,
        server_uid=server_uid,
        warn_days=p['expiry_warn_days'],
    )
    if b'PRIVATE KEY-----' in data:
        result['problems'].append(
            {
                'code': 'private_key_in_file',
                'message': '%s also holds a private key (not shown); certificate files are often '
                'readable by everyone, so keep the key in its own private file' % where,
            }
        )
    result['changed'] = False
    unknown = [c for c in p['fail_on'] if c != 'any' and c not in crypto.PROBLEM_CODES]
    if unknown:
        raise crypto.PgsslCryptoError(
            'Unknown fail_on code(s): %s. Known: any, %s.' % (', '.join(unknown), ', '.join(crypto.PROBLEM_CODES))
        )
    failing = [pr for pr in result['problems'] if 'any' in p['fail_on'] or pr['code'] in p['fail_on']]
    if failing:
        raise TaskFailed(
            'Certificate problems: %s' % '; '.join('%s: %s' % (f['code'], f['message']) for f in failing), **result
        )
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            content=dict(type='str', no_log=True),
            ca_path=dict(type='list', elements='path', default=[]),
            ca_content=dict(type='str'),
            privatekey_path=dict(type='path'),
            privatekey_passphrase=dict(type='str', no_log=True),
            server_user=dict(type='str', default='postgres'),
            hostnames=dict(type='list', elements='str', default=[]),
            expiry_warn_days=dict(type='int', default=30),
            fail_on=dict(type='list', elements='str', default=[]),
        ),
        required_one_of=[('path', 'content')],
        mutually_exclusive=[('path', 'content')],
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == '__main__':
    main()
