# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # the status check's options, shared by tls_status and tls_prepare
    DOCUMENTATION = r"""
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
  hba_file:
    description: The pg_hba.conf the server reads, when it lies outside the cluster's
      directories (a path derived from the configuration there is refused otherwise, since the
      server user could have named any file). It must be exactly the server's C(hba_file).
    type: path
  patroni:
    description:
      - A cluster run by Patroni (its postgresql.conf header, C(patroni.dynamic.json)).
        V(refuse) fails with code C(patroni_managed) (Patroni would undo an edit of its files).
        V(dcs) checks only the files and what is served; the settings (returned in
        RV(settings), paths inside the data directory relative to it) and the rules are set in
        Patroni's dynamic configuration by M(pgssl.postgresql.patroni_config).
    type: str
    choices: [refuse, dcs]
    default: refuse
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
"""
