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
author:
  - pgssl.postgresql developers (@pgssl)
requirements:
  - cryptography >= 41.0
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Nothing is changed.
options:
  cluster:
    description:
      - V(VERSION/NAME) of a Debian cluster, or its config directory, or a PGDATA directory.
      - When not set, the only cluster under C(/etc/postgresql) is used.
    type: str
  ssl_dir:
    description: Directory of the TLS files. Default C(ssl) beside postgresql.conf.
    type: path
  common_name:
    description: Expected subject CN of the server certificate.
    type: str
  sans:
    description: Expected SANs (canonical order does not matter).
    type: list
    elements: str
    default: []
  ca_bundle:
    description: PEM of the CA certificate(s) the server certificate must be issued by, and that
      the CA file must hold.
    type: str
  issuer:
    description:
      - PEM of the CA certificate(s) the server certificate must be issued by, when that is
        narrower than O(ca_bundle). During a CA rollover the bundle holds both CAs while only
        one of them signs.
    type: str
  crl:
    description: PEM of the CRL the CRL file must hold (empty for none).
    type: str
  external_certificate:
    description: For externally issued certificates, the leaf (PEM) that must be installed.
    type: str
  renew_before_days:
    description: Due when the certificate expires within this many days.
    type: int
    default: 30
  renew_before_percent:
    description: Due when less than this percentage of the lifetime is left (wins over days).
    type: float
  key_owner:
    description: V(server) expects the key owned by the server user with mode 0600, V(root)
      owned by root with the server group and mode 0640.
    type: str
    choices: [server, root]
    default: server
  extra_settings:
    description:
      - More postgresql.conf parameters (for example C(ssl_min_protocol_version)). The module
        adds C(ssl=on), C(ssl_cert_file), C(ssl_key_file), and C(ssl_ca_file) / C(ssl_crl_file)
        when O(ca_bundle) / O(crl) are given, with the paths it decided on. RV(settings) returns
        the whole set for M(pgssl.postgresql.pg_conf).
    type: dict
    default: {}
  external_certificate_path:
    description: Like O(external_certificate), a file on the host.
    type: path
  hba_rules:
    description: pg_hba rules that must be present and reachable (as for M(pgssl.postgresql.pg_hba)).
    type: list
    elements: dict
    default: []
  require_ssl:
    description: As O(pgssl.postgresql.pg_hba#module:require_ssl).
    type: str
    choices: [none, convert, reject, both]
    default: none
  purge_managed:
    description: As O(pgssl.postgresql.pg_hba#module:purge_managed).
    type: bool
    default: false
  key_type:
    description:
      - The key the server should have (as M(pgssl.postgresql.private_key)). A key of another
        type, size or curve is reported as C(key_type_changed). Not checked when not given or
        for an external certificate.
    type: str
    choices: [rsa, ecdsa, ed25519]
  key_passphrase:
    description:
      - Passphrase of the server key, when it is kept encrypted. An unencrypted key (or an
        encrypted one when none is given) is reported as C(key_encryption_changed).
    type: str
  passphrase_file:
    description:
      - The root-owned file C(ssl_passphrase_command) reads. With O(key_passphrase), it must
        hold that passphrase, or C(passphrase_file_changed) is reported, and the wanted
        settings include C(ssl_passphrase_command) (C(/bin/cat) of this file) and
        C(ssl_passphrase_command_supports_reload = on).
      - Default C(/etc/pgssl-postgresql/passphrase/) plus the path of postgresql.conf with
        slashes as dashes and C(.pass) (outside the data directory).
    type: path
  key_size:
    description: RSA size for O(key_type=rsa).
    type: int
  key_curve:
    description: Curve for O(key_type=ecdsa).
    type: str
    choices: [P-256, P-384]
  probe_host:
    description: Host name for a TLS probe of the served certificate (skipped when not set).
    type: str
  probe_hostaddr:
    description: Address for the probe.
    type: str
  probe_port:
    description: Port for the probe.
    type: int
    default: 5432
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
    in place), key_file_mode, ca_file_changed, crl_changed, settings_changed, hba_changed or
    not_served.
  returned: success
  type: list
  elements: str
cluster:
  description: The cluster found (config_file, hba_file, data_dir, version, major, layout,
    server_user, server_group).
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
