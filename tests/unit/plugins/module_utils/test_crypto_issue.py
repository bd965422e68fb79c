# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_crypto: CSRs and certificates."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c

from ansible_collections.pgssl.postgresql.tests.unit.plugins.module_utils.crypto_helpers import (
    EC,
    NOW,
    make_ca,
    make_leaf,
)


# ----------------------------------------------------------------------------- CSRs


def test_csr_build_and_reasons():
    key = c.generate_private_key(EC)
    subject = {'CN': 'db1.pgssl.test'}
    sans = c.normalize_sans(['db1.pgssl.test', '127.0.0.11'])
    csr = c.load_csr(c.dump_csr(c.build_csr(key, subject, sans, 'server')))
    assert c.csr_reasons(csr, key, subject, sans, 'server') == []
    assert c.csr_reasons(csr, key, subject, list(reversed(sans)), 'server') == []
    other = c.generate_private_key(EC)
    assert c.csr_reasons(csr, other, subject, sans, 'server') == ['key_changed']
    assert c.csr_reasons(csr, key, {'CN': 'x'}, sans, 'server') == ['subject_changed']
    assert c.csr_reasons(csr, key, subject, sans[:1], 'server') == ['san_changed']
    assert c.csr_reasons(csr, key, subject, sans, 'client') == ['profile_changed']
    with pytest.raises(c.PgsslCryptoError) as err:
        c.load_csr(b'-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')
    assert err.value.code == 'malformed_csr'
    with pytest.raises(c.PgsslCryptoError):
        c.build_csr(key, {}, [], 'client')  # a client certificate needs the user as CN


# ----------------------------------------------------------------------------- certificates


def test_ca_certificate_extensions():
    ca, key = make_ca(pathlen=0)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert c.is_self_signed(ca) and c.is_ca(ca) and c.profile_of(ca) == 'ca'
    assert ca.serial_number.bit_length() == 128
    assert (NOW - c.not_before(ca)).total_seconds() == c.BACKDATE_SECONDS


def test_leaf_extensions_and_aki():
    ca, ca_key = make_ca()
    leaf, _k = make_leaf(ca, ca_key, sans=['db1.pgssl.test', '127.0.0.11'])
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert c.sans_of(leaf) == ['DNS:db1.pgssl.test', 'IP:127.0.0.11']
    assert c.is_issued_by(leaf, ca) and not c.is_ca(leaf)
    client, _k = make_leaf(ca, ca_key, cn='app', sans=[], profile='client')
    assert c.profile_of(client) == 'client'


def test_leaf_capped_at_ca_expiry():
    ca, ca_key = make_ca(days=10)
    key = c.generate_private_key(EC)
    leaf, warnings = c.issue_certificate(
        key.public_key(), {'CN': 'x'}, ['DNS:x'], 'server', ca_key, issuer_cert=ca, valid_days=365, now=NOW
    )
    assert c.not_after(leaf) == c.not_after(ca) and warnings


def test_expired_ca_refused():
    ca, ca_key = make_ca(days=1, now=NOW - datetime.timedelta(days=5))
    with pytest.raises(c.PgsslCryptoError) as err:
        make_leaf(ca, ca_key)
    assert err.value.code == 'ca_expired'


def test_signer_checks():
    ca, ca_key = make_ca()
    leaf, leaf_key = make_leaf(ca, ca_key)
    with pytest.raises(c.PgsslCryptoError) as err:
        c.check_signer(leaf, leaf_key)
    assert err.value.code == 'not_a_ca'
    with pytest.raises(c.PgsslCryptoError) as err:
        c.check_signer(ca, leaf_key)
    assert err.value.code == 'key_mismatch'
    ed = c.generate_private_key(c.normalize_key_request('ed25519'))
    with pytest.raises(c.PgsslCryptoError) as err:
        make_ca(key=ed)
    assert err.value.code == 'ed25519_signer' and 'channel binding' in str(err.value)
    ed_ca, _w = c.issue_certificate(ed.public_key(), {'CN': 'ed'}, [], 'ca', ed, allow_ed25519=True)
    assert c.is_self_signed(ed_ca)


def test_certificate_reasons():
    ca, ca_key = make_ca()
    leaf, key = make_leaf(ca, ca_key)
    subject, sans = {'CN': 'db1.pgssl.test'}, ['DNS:db1.pgssl.test']
    pub = key.public_key()
    assert c.certificate_reasons(leaf, pub, subject, sans, 'server', issuer_cert=ca) == []
    other_ca, _k = make_ca('Other CA')
    assert c.certificate_reasons(leaf, pub, subject, sans, 'server', issuer_cert=other_ca) == ['issuer_changed']
    assert c.certificate_reasons(
        leaf, c.generate_private_key(EC).public_key(), subject, sans, 'server', issuer_cert=ca
    ) == ['key_changed']
    assert c.certificate_reasons(leaf, pub, {'CN': 'y'}, sans, 'server', issuer_cert=ca) == ['subject_changed']
    assert c.certificate_reasons(leaf, pub, subject, sans + ['IP:10.1.1.1'], 'server', issuer_cert=ca) == [
        'san_changed'
    ]
    assert c.certificate_reasons(leaf, pub, subject, sans, 'client', issuer_cert=ca) == ['profile_changed']
    later = NOW + datetime.timedelta(days=340)
    assert c.certificate_reasons(
        leaf, pub, subject, sans, 'server', issuer_cert=ca, now=later, renew_before_days=30
    ) == ['expiring']
    assert (
        c.certificate_reasons(leaf, pub, subject, sans, 'server', issuer_cert=ca, now=later, renew_before_days=10) == []
    )
    assert c.certificate_reasons(
        leaf,
        pub,
        subject,
        sans,
        'server',
        issuer_cert=ca,
        now=NOW + datetime.timedelta(days=250),
        renew_before_percent=33,
    ) == ['expiring']
    assert c.certificate_reasons(
        leaf, pub, subject, sans, 'server', issuer_cert=ca, now=NOW + datetime.timedelta(days=400)
    ) == ['expired']
    # self-signed CA: fine with its own key, issuer_changed with another
    assert c.certificate_reasons(ca, ca_key.public_key(), {'CN': 'Test CA'}, [], 'ca', signing_key=ca_key) == []
    assert c.certificate_reasons(
        ca, ca_key.public_key(), {'CN': 'Test CA'}, [], 'ca', signing_key=ca_key, pathlen=1
    ) == ['profile_changed']


def test_renewed_ca_with_same_key_keeps_leaves_valid():
    ca_key = c.generate_private_key(EC)
    old_ca, _k = make_ca(key=ca_key, now=NOW - datetime.timedelta(days=100), days=120)
    leaf, key = make_leaf(old_ca, ca_key, days=10)
    new_ca, _k = make_ca(key=ca_key, days=3650)
    assert new_ca.serial_number != old_ca.serial_number
    assert c.is_issued_by(leaf, new_ca)
    assert (
        c.certificate_reasons(
            leaf, key.public_key(), {'CN': 'db1.pgssl.test'}, ['DNS:db1.pgssl.test'], 'server', issuer_cert=new_ca
        )
        == []
    )
    from cryptography.x509 import verification

    store = verification.Store([new_ca])
    verifier = verification.PolicyBuilder().store(store).build_server_verifier(verification.DNSName('db1.pgssl.test'))
    verifier.verify(leaf, [])  # raises when the renewed CA does not validate the old leaf
