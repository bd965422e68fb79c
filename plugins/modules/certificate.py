#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: certificate
short_description: Issue a CA, server or client certificate, and re-issue it only when due
version_added: 0.1.0
description:
  - Issues an X.509 certificate from a CSR (or a private key), signed by a CA (certificate and
    key) or self-signed, with one of three profiles.
  - V(ca) sets basicConstraints CA:TRUE (critical, optional path length) and keyUsage
    keyCertSign and cRLSign. V(server) sets extendedKeyUsage serverAuth and the SANs. V(client)
    sets clientAuth; its common name is the database user.
  - Every certificate gets a random 128-bit serial, subjectKeyIdentifier and
    authorityKeyIdentifier (strict TLS clients such as Python 3.13 demand them), and a
    not_before set a few minutes in the past against clock skew.
  - An existing certificate at O(path) is re-issued only when it is missing or unreadable, not
    signed by this CA, its subject, SANs or profile changed, its key changed, or it is inside the
    renewal window. RV(reasons) says which.
  - Renewing a CA certificate with the same key and subject keeps every certificate it issued
    valid.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Decides and reports RV(reasons) without writing anything.
  diff_mode:
    support: full
    description: Shows subject, SANs, issuer, serial, validity and fingerprint before and after.
seealso:
  - module: pgssl.postgresql.csr
  - module: pgssl.postgresql.sign
    description: Certifies many CSRs with one decryption of the CA key.
  - module: pgssl.postgresql.certificate_info
  - name: PostgreSQL, Secure TCP/IP Connections with SSL
    link: https://www.postgresql.org/docs/current/ssl-tcp.html
    description: Server files, key file rules and reload.
options:
  path:
    description: Where the certificate is written (PEM). Also read to decide whether it is due.
    type: path
    required: true
  csr_path:
    description: CSR file with the public key, subject and SANs to certify.
    type: path
  csr_content:
    description: CSR as PEM text, for example registered from M(pgssl.postgresql.csr) on the host.
    type: str
  privatekey_path:
    description:
      - Private key for a self-signed certificate (no O(ca_cert_path)/O(ca_cert_content)).
      - Without a CSR, the certificate is for this key.
    type: path
  privatekey_content:
    description: Private key as PEM text, instead of O(privatekey_path).
    type: str
  privatekey_passphrase:
    description: Passphrase of O(privatekey_path) or O(privatekey_content).
    type: str
  common_name:
    description:
      - Subject common name. With a CSR, the names given here (O(common_name), O(subject),
        O(subject_alt_names)) are the names the signer grants. The certificate carries exactly
        these names. A CSR that asks for any other name (a wildcard, another CN, an extra
        subject field or SAN) is refused, and the error names the difference. Give them when
        signing for a host you do not trust with its own names; the roles always do.
    type: str
  subject:
    description: Subject fields (see M(pgssl.postgresql.csr)); the granted subject (see O(common_name)).
    type: dict
  subject_alt_names:
    description: SANs; the granted SANs (see O(common_name)).
    type: list
    elements: str
  profile:
    description: What the certificate is for.
    type: str
    choices: [ca, server, client, pooler]
    default: server
  pathlen:
    description: Path length constraint of a V(ca) certificate (unlimited when not set).
    type: int
  ca_cert_path:
    description: Certificate of the signing CA.
    type: path
  ca_cert_content:
    description: Certificate of the signing CA as PEM text.
    type: str
  ca_key_path:
    description: Private key of the signing CA.
    type: path
  ca_key_content:
    description: Private key of the signing CA as PEM text.
    type: str
  ca_key_passphrase:
    description: Passphrase of the CA key.
    type: str
  valid_days:
    description:
      - Validity in days. Defaults to 3650 for V(ca) and 365 otherwise.
      - A certificate never outlives its CA certificate; not_after is capped at the CA's.
    type: int
  renew_before_days:
    description: Re-issue when the certificate expires within this many days.
    type: int
    default: 30
  renew_before_percent:
    description:
      - Re-issue when less than this percentage of the certificate's lifetime is left.
        Takes precedence over O(renew_before_days).
    type: float
  allow_ed25519_signer:
    description:
      - Allow an Ed25519 signing key. Ed25519-signed server certificates break SCRAM channel
        binding in libpq, so this is off by default.
    type: bool
    default: false
  allow_weak_signer:
    description:
      - Allow a CA with an RSA key under 2048 bits or a SHA-1 (or MD5) signature to sign, and
        allow certifying an RSA key under 2048 bits. Off by default; both are refused.
    type: bool
    default: false
  max_valid_days:
    description:
      - The longest O(valid_days) accepted. Default 825 for server and client certificates
        (what browsers and many TLS clients still accept) and 7305 (20 years) for a CA.
    type: int
  force:
    description: Issue a new certificate even when the current one is fine.
    type: bool
    default: false
  backup:
    description: Keep the replaced certificate beside the new one.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Self-signed CA certificate with an encrypted key
  pgssl.postgresql.certificate:
    path: /etc/pgssl/ca/ca.crt
    privatekey_path: /etc/pgssl/ca/ca.key
    privatekey_passphrase: "{{ vault_pgssl_ca_passphrase }}"
    common_name: Example PostgreSQL CA
    profile: ca
    pathlen: 0
  delegate_to: localhost
  run_once: true

- name: Sign the host's CSR on the CA node, keep a copy there
  pgssl.postgresql.certificate:
    path: "/etc/pgssl/ca/issued/{{ inventory_hostname }}.crt"
    csr_content: "{{ host_csr.csr }}"
    # the names the controller grants; a CSR asking for others is refused
    common_name: "{{ inventory_hostname }}"
    subject_alt_names: ["{{ inventory_hostname }}", "{{ ansible_host }}"]
    ca_cert_path: /etc/pgssl/ca/ca.crt
    ca_key_path: /etc/pgssl/ca/ca.key
    ca_key_passphrase: "{{ vault_pgssl_ca_passphrase }}"
    profile: server
    valid_days: 397
    renew_before_percent: 33
  delegate_to: localhost
  register: signed

- name: Install it on the host
  ansible.builtin.copy:
    content: "{{ signed.certificate }}"
    dest: /var/lib/postgresql/ssl/server.crt
    owner: postgres
    mode: "0644"
"""

RETURN = r"""
profile:
  description: What the certificate is for (V(ca), V(server) or V(client)).
  returned: success
  type: str
is_ca:
  description: Whether the certificate is a CA (basic constraints).
  returned: when a certificate is in place (not for a new one in check mode)
  type: bool
certificate:
  description: The certificate now at O(path), PEM (public).
  returned: success, unless check mode would issue a new one
  type: str
reasons:
  description:
    - Why a certificate was (or would be) issued; empty when nothing changed.
    - Codes are missing, unreadable, force, issuer_changed, key_changed, subject_changed,
      san_changed, profile_changed, expired, expiring and not_yet_valid (signed by a clock that runs ahead).
  returned: success
  type: list
  elements: str
  sample: [expiring]
serial_number:
  description: Serial number (decimal string).
  returned: success, unless check mode would issue a new one
  type: str
not_before:
  description: Start of validity (ISO 8601, UTC).
  returned: success, unless check mode would issue a new one
  type: str
not_after:
  description: End of validity (ISO 8601, UTC).
  returned: success, unless check mode would issue a new one
  type: str
  sample: "2027-11-29T10:00:00Z"
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate.
  returned: success, unless check mode would issue a new one
  type: str
subject:
  description: Subject (short names).
  returned: success
  type: dict
subject_alt_names:
  description: SANs.
  returned: success
  type: list
  elements: str
issuer:
  description: Issuer (short names).
  returned: success, unless check mode would issue a new one
  type: dict
backup_file:
  description: The kept previous certificate, when one was made.
  returned: changed and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            csr_path=dict(type='path'),
            csr_content=dict(type='str'),
            privatekey_path=dict(type='path'),
            privatekey_content=dict(type='str', no_log=True),
            privatekey_passphrase=dict(type='str', no_log=True),
            common_name=dict(type='str'),
            subject=dict(type='dict'),
            subject_alt_names=dict(type='list', elements='str'),
            profile=dict(type='str', default='server', choices=list(crypto.PROFILES)),
            pathlen=dict(type='int'),
            ca_cert_path=dict(type='path'),
            ca_cert_content=dict(type='str'),
            ca_key_path=dict(type='path'),
            ca_key_content=dict(type='str', no_log=True),
            ca_key_passphrase=dict(type='str', no_log=True),
            valid_days=dict(type='int'),
            renew_before_days=dict(type='int', default=30),
            renew_before_percent=dict(type='float'),
            allow_ed25519_signer=dict(type='bool', default=False),
            allow_weak_signer=dict(type='bool', default=False),
            max_valid_days=dict(type='int'),
            force=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        mutually_exclusive=[
            ('csr_path', 'csr_content'),
            ('privatekey_path', 'privatekey_content'),
            ('ca_cert_path', 'ca_cert_content'),
            ('ca_key_path', 'ca_key_content'),
        ],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.certificate)


if __name__ == '__main__':
    main()
