#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify
short_description: Connect in each sslmode and report what really happened
version_added: 0.1.0
description:
  - Connects with psycopg 3 in each requested sslmode (default all six, V(disable), V(allow),
    V(prefer), V(require), V(verify-ca) and V(verify-full)). For each it reports whether the
    connection worked, TLS or not, protocol, cipher, bits, the client certificate DN the server
    saw (C(pg_stat_ssl)), a clean error text and the time taken.
  - Expectations per mode (V(ssl), V(plain), V(reject), V(any)) or a named O(policy). Unmet
    expectations fail the task and are listed in RV(unmet).
  - Also reports the certificate the server serves (subject, SANs, issuer, serial, not_after,
    days left, sha256). It gets that from its own SSLRequest and TLS handshake, which needs no
    credentials. O(probe_only=true) returns just that, for fleet audits.
  - Read-only; never reports a change.
author:
  - pgssl.postgresql developers (@pgssl)
requirements:
  - psycopg >= 3.1
extends_documentation_fragment:
  - pgssl.postgresql.cryptography
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
seealso:
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_sslmode
    description: What each sslmode protects against.
  - ref: ansible_collections.pgssl.postgresql.docsite.guide_troubleshooting
    description: Common libpq and server messages and the checks that find them.
  - name: libpq, SSL Support
    link: https://www.postgresql.org/docs/current/libpq-ssl.html
    description: The sslmodes and the client files.
  - module: pgssl.postgresql.tls_status
options:
  host:
    description:
      - Host name as clients use it (checked against the certificate by verify-full).
      - The alias C(tls_host) is the name the other modules give the same thing (see the
        C(pgssl.postgresql.tls_probe) doc fragment).
    type: str
    required: true
    aliases: [tls_host]
  hostaddr:
    description: Numeric address to connect to instead of resolving O(host).
    type: str
    aliases: [tls_hostaddr]
  port:
    description: Port.
    type: int
    default: 5432
    aliases: [tls_port]
  dbname:
    description: Database.
    type: str
    default: postgres
  user:
    description: Database user.
    type: str
    default: postgres
  password:
    description: Password. Never logged.
    type: str
  sslrootcert:
    description:
      - CA file for V(verify-ca)/V(verify-full). V(system) uses the system store (libpq 16+).
      - The OpenSSL inside the psycopg-binary wheel does not find the distribution's store by
        itself. With V(system) and no C(SSL_CERT_FILE) in O(environment) or the module's
        environment, C(SSL_CERT_FILE) is set to the first bundle found of
        C(/etc/ssl/certs/ca-certificates.crt), C(/etc/pki/tls/certs/ca-bundle.crt),
        C(/etc/ssl/ca-bundle.pem) and C(/etc/ssl/cert.pem) (returned as RV(ssl_cert_file)).
    type: str
  sslcert:
    description: Client certificate file.
    type: path
  sslkey:
    description: Client key file (libpq refuses one readable by group or others).
    type: path
  sslpassword:
    description: Passphrase of an encrypted client key. Never logged.
    type: str
  sslcrl:
    description: CRL file the client checks the server certificate against.
    type: path
  sslnegotiation:
    description:
      - V(direct) starts TLS at once, without PostgreSQL's SSLRequest (libpq 17+ and PostgreSQL
        17+ servers, ALPN C(postgresql)). The certificate probe then does the same, so it
        shows whether the server takes direct TLS at all.
      - libpq refuses V(disable), V(allow) and V(prefer) with V(direct); give O(sslmodes) V(require),
        V(verify-ca) and V(verify-full) then.
      - Unset, libpq's default (V(postgres)).
    type: str
    choices: [postgres, direct]
  sslcertmode:
    description:
      - Whether the client sends its certificate (libpq 16+). V(require) fails a connection
        when the server did not ask for one (code V(client_certificate_not_requested)).
    type: str
    choices: [disable, allow, require]
  ssl_min_protocol_version:
    description: Lowest TLS version the client accepts (libpq 13+), to prove what the server
      refuses.
    type: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
  ssl_max_protocol_version:
    description: Highest TLS version the client offers (libpq 13+). V(TLSv1.2) proves whether a
      server still takes TLS 1.2.
    type: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
  sslmodes:
    description: The sslmodes to try, in this order.
    type: list
    elements: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: [disable, allow, prefer, require, verify-ca, verify-full]
  policy:
    description:
      - Named expectations. V(ssl_required) expects disable to be rejected and every other mode
        on TLS. V(ssl_optional) is a stock server with ssl on and host rules, where disable and
        allow stay plain and the rest use TLS. V(verify_full_only) expects disable rejected and
        verify-ca and verify-full on TLS, with the others any. V(ssl_off) means no TLS at all.
        V(none) sets no expectations.
    type: str
    choices: [ssl_required, ssl_optional, verify_full_only, ssl_off, none]
    default: none
  expect:
    description: Per-mode expectations (V(ssl), V(plain), V(reject), V(any)) that override O(policy).
    type: dict
    default: {}
  probe_only:
    description: Only the SSLRequest + TLS handshake probe of the served certificate.
    type: bool
    default: false
  probe_certificate:
    description: Also probe the served certificate when connecting in the sslmodes.
    type: bool
    default: true
  probe_chain:
    description:
      - Also check, in a second handshake and without credentials, whether the served chain
        verifies to O(sslrootcert) with the host name O(host), as V(verify-full) would
        (RV(served_chain)). For audits with O(probe_only=true).
    type: bool
    default: false
  probe_plain:
    description:
      - Also find out, without credentials, whether plain TCP (no TLS) reaches authentication
        for O(user) and O(dbname) (RV(plain_tcp)). A startup packet without TLS is answered by an
        authentication request, or by "no pg_hba.conf entry ... no encryption" when the
        pg_hba.conf rules refuse it. No password is ever sent.
    type: bool
    default: false
  connect_timeout:
    description: Timeout per connection attempt in seconds.
    type: int
    default: 5
  environment:
    description: Environment variables for the connections, for example C(SSL_CERT_FILE).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Prove that plain TCP is refused and every other mode uses TLS
  pgssl.postgresql.verify:
    host: db1.example.com
    user: app
    password: "{{ vault_app_password }}"
    sslrootcert: /etc/pgssl/root.crt
    policy: ssl_required
  delegate_to: localhost

- name: Audit the served certificate without credentials
  pgssl.postgresql.verify:
    host: db1.example.com
    probe_only: true
  register: probe
"""

RETURN = r"""
served_chain:
  description: With O(probe_chain), whether the served chain verified to O(sslrootcert) with the
    host name, and the handshake's error when not.
  returned: when O(probe_chain) and the server speaks TLS
  type: dict
  sample: {verified: false, error: "TLS handshake with db1.example.com failed: [SSL: CERTIFICATE_VERIFY_FAILED] ..."}
plain_tcp:
  description:
    - With O(probe_plain), what a plain (non-TLS) startup packet got. C(accepted) is V(true)
      when the server asked for authentication, V(false) when pg_hba.conf refused it (SQLSTATE
      28000), and V(null) when the answer said neither (C(message) tells).
  returned: when O(probe_plain)
  type: dict
  sample: {accepted: false, answer: error, sqlstate: "28000",
           message: 'no pg_hba.conf entry for host "10.0.0.5", user "postgres", database "postgres", no encryption'}
ssl_cert_file:
  description: The system bundle given to libpq as C(SSL_CERT_FILE) for O(sslrootcert=system).
  returned: when O(sslrootcert=system) and no C(SSL_CERT_FILE) was set
  type: str
  sample: /etc/ssl/certs/ca-certificates.crt
probe_error:
  description: Why the raw TLS probe of the served certificate failed (the sslmode results are
    still reported).
  returned: when the probe failed
  type: str
modes:
  description:
    - Per sslmode, what happened. C(outcome) sums it up as V(ssl), V(plain) or V(reject).
    - A connection that failed has a stable C(code) beside libpq's C(error) -
      V(hostname_mismatch), V(unknown_ca), V(expired), V(not_yet_valid), V(revoked) (a CRL
      given in O(sslcrl) lists it), V(no_root_certificate), V(no_ssl_on_server),
      V(hba_rejected), V(auth_failed), V(unreachable), V(protocol_version) (no TLS version
      both sides allow), V(direct_not_supported) (O(sslnegotiation=direct) to a server before
      PostgreSQL 17), V(client_certificate_not_requested) (O(sslcertmode=require) and the
      server asked for none), V(client_option_conflict) (libpq refused the options, such as a
      weak sslmode with direct negotiation) or V(error). libpq says only
      "certificate verify failed" for the four certificate cases; they are told apart from the
      certificate the server served.
  returned: unless probe_only
  type: dict
  sample:
    verify-full:
      connected: true
      ssl: true
      protocol: TLSv1.3
      cipher: TLS_AES_256_GCM_SHA384
      bits: 256
      client_dn: null
      error: null
      elapsed_ms: 14
      outcome: ssl
served_certificate:
  description: The certificate the server serves, from its own TLS handshake.
  returned: when the server offers TLS
  type: dict
  contains:
    subject:
      description: Subject (short names).
      type: dict
    subject_alt_names:
      description: SANs.
      type: list
      elements: str
    issuer:
      description: Issuer (short names).
      type: dict
    serial_number:
      description: Serial number.
      type: str
    not_after:
      description: End of validity.
      type: str
    days_left:
      description: Days left.
      type: int
    fingerprint_sha256:
      description: SHA-256 fingerprint.
      type: str
server_ssl:
  description: Whether the server agreed to TLS on the SSLRequest.
  returned: always
  type: bool
expectations:
  description: The expectations applied per mode.
  returned: always
  type: dict
unmet:
  description: Expectations that were not met, each with mode, expected, got and error.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _verify as verify
from ansible_collections.pgssl.postgresql.plugins.module_utils import _verifystep as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute

TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type='str', required=True, aliases=['tls_host']),
            hostaddr=dict(type='str', aliases=['tls_hostaddr']),
            port=dict(type='int', default=5432, aliases=['tls_port']),
            dbname=dict(type='str', default='postgres'),
            user=dict(type='str', default='postgres'),
            password=dict(type='str', no_log=True),
            sslrootcert=dict(type='str'),
            sslcert=dict(type='path'),
            sslkey=dict(type='path'),
            sslpassword=dict(type='str', no_log=True),
            sslcrl=dict(type='path'),
            sslnegotiation=dict(type='str', choices=['postgres', 'direct']),
            sslcertmode=dict(type='str', choices=['disable', 'allow', 'require']),
            ssl_min_protocol_version=dict(type='str', choices=TLS_VERSIONS),
            ssl_max_protocol_version=dict(type='str', choices=TLS_VERSIONS),
            sslmodes=dict(type='list', elements='str', default=list(verify.SSLMODES), choices=list(verify.SSLMODES)),
            policy=dict(type='str', default='none', choices=sorted(verify.POLICIES)),
            expect=dict(type='dict', default={}),
            probe_only=dict(type='bool', default=False),
            probe_certificate=dict(type='bool', default=True),
            probe_chain=dict(type='bool', default=False),
            probe_plain=dict(type='bool', default=False),
            connect_timeout=dict(type='int', default=5),
            environment=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    execute(module, steps.verify)


if __name__ == '__main__':
    main()
