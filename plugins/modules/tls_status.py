#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_status
short_description: Decide in one call whether a host's PostgreSQL TLS setup needs work
version_added: 0.1.0
description:
  - Finds the cluster (a Debian cluster or a PGDATA directory; version and server user detected)
    and checks, without changing anything, everything the P(pgssl.postgresql.server#role) role
    manages.
  - It checks the server certificate (missing, expiring, issued by another CA, SANs changed, key
    mismatch), the key file owner and mode, the CA and CRL files, the C(ssl_*) settings in
    postgresql.conf and the pg_hba.conf rules. Optionally it also checks that the server serves
    the certificate on disk.
  - Returns RV(due) and the RV(reasons). A nightly run where nothing is due costs this one call
    per host.
  - It never logs in to PostgreSQL, so it takes no login options and no client certificate. It
    reads the files and, with O(tls_host), makes a TLS handshake without credentials.
    PostgreSQL asks for a client certificate in the handshake but never demands one there;
    C(clientcert) and C(cert) rules are enforced later, at authentication.
author:
  - pgssl.postgresql developers (@pgssl)
seealso:
  - module: pgssl.postgresql.tls_prepare
    description: The same check, and the first step of a change when one is due.
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_fleet_renewal
    description: Nightly renewal and alerts.
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
  - pgssl.postgresql.status
  - pgssl.postgresql.tls_probe
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Nothing is changed.
"""

EXAMPLES = r"""
- name: Is anything due on this host?
  pgssl.postgresql.tls_status:
    cluster: 16/main
    sans: [db1.example.com, db1, 192.0.2.10]
    ca_bundle: "{{ lookup('file', '/etc/pgssl/ca/ca.crt') }}"
    extra_settings:
      ssl_min_protocol_version: TLSv1.3
    hba_rules:
      - {type: hostssl, users: [app], address: 10.0.0.0/8, method: cert}
    require_ssl: reject
    purge_managed: true
  register: status
"""

RETURN = r"""
due:
  description: Something needs to be done.
  returned: success
  type: bool
reasons:
  description: What is due, such as missing, expiring, not_yet_valid, issuer_changed, san_changed, key_mismatch,
    key_type_changed, staged_pair (a run was killed before its new key and certificate were put
    in place), key_file_mode, ca_file_changed, crl_changed, settings_changed,
    settings_overridden (see RV(overrides)), hba_changed or not_served.
  returned: success
  type: list
  elements: str
overrides:
  description: Lines the module does not own that would win over the settings it writes (a later
    include, or postgresql.auto.conf from ALTER SYSTEM), as C(file:line sets name (via)); values
    are never shown.
  returned: success
  type: list
  elements: str
cluster:
  description: The cluster found (config_file, hba_file, data_dir, version, major, layout,
    server_user, server_group, and the port and first socket directory from its configuration).
  returned: success
  type: dict
settings:
  description: The postgresql.conf parameters the host should have.
  returned: success
  type: dict
paths:
  description: Paths of the TLS files (ssl_dir, cert, key, ca, crl, passphrase).
  returned: success
  type: dict
certificate:
  description: Facts of the installed server certificate (subject, SANs, not_after, days_left,
    fingerprint_sha256, and issuer_key_fingerprint, the public key fingerprint of the CA whose
    signature it carries, among the certificates in the file, the CA file and O(ca_bundle)),
    when there is one.
  returned: success
  type: dict
key_fingerprint:
  description: Public key fingerprint of the server key, when it could be read. The server role
    refuses to certify a key that changed after this call (another process replaced it).
  returned: success
  type: str
ca_file_keys:
  description: Public key fingerprints (SHA-256 of the SubjectPublicKeyInfo) of the certificates
    in the CA file (C(ssl_ca_file)); the CA rollover reads which CAs a server trusts from it.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _status as status
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(argument_spec=status.status_argspec(), supports_check_mode=True)
    execute(module, status.run)


if __name__ == '__main__':
    main()
