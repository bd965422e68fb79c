# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure certificate core."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

NOW = c.utcnow()
EC = c.normalize_key_request('ecdsa')


def make_ca(name='Test CA', key=None, now=NOW, days=3650, issuer=None, issuer_key=None, pathlen=None):
    key = key or c.generate_private_key(EC)
    signer = issuer_key or key
    cert, _w = c.issue_certificate(
        key.public_key(), {'CN': name}, [], 'ca', signer, issuer_cert=issuer, valid_days=days, now=now, pathlen=pathlen
    )
    return cert, key


def make_leaf(ca, ca_key, cn='db1.pgssl.test', sans=None, profile='server', now=NOW, days=365, key=None):
    key = key or c.generate_private_key(EC)
    sans = c.normalize_sans(sans if sans is not None else [cn])
    cert, _w = c.issue_certificate(
        key.public_key(), {'CN': cn}, sans, profile, ca_key, issuer_cert=ca, valid_days=days, now=now
    )
    return cert, key


# ----------------------------------------------------------------------------- keys


def test_key_request_defaults_and_aliases():
    assert c.normalize_key_request(None) == {'type': 'ecdsa', 'size': 256, 'curve': 'P-256'}
    assert c.normalize_key_request('ecdsa', curve='secp384r1')['curve'] == 'P-384'
    assert c.normalize_key_request('rsa') == {'type': 'rsa', 'size': 3072, 'curve': None}
    assert c.normalize_key_request('ED25519')['type'] == 'ed25519'


@pytest.mark.parametrize(
    'args,code',
    [
        (('dsa',), 'bad_key_type'),
        (('rsa', 1024), 'bad_key_size'),
        (('rsa', 2050), 'bad_key_size'),
        (('ecdsa', None, 'P-521'), 'bad_curve'),
    ],
)
def test_key_request_refused(args, code):
    with pytest.raises(c.PgsslCryptoError) as err:
        c.normalize_key_request(*args)
    assert err.value.code == code


def test_rsa_below_2048_message_says_why():
    with pytest.raises(c.PgsslCryptoError, match='below 2048'):
        c.normalize_key_request('rsa', 1024)


@pytest.mark.parametrize(
    'spec',
    [
        {'type': 'rsa', 'size': 2048, 'curve': None},
        {'type': 'ecdsa', 'size': 256, 'curve': 'P-256'},
        {'type': 'ecdsa', 'size': 384, 'curve': 'P-384'},
        {'type': 'ed25519', 'size': 256, 'curve': None},
    ],
)
def test_generate_describe_roundtrip(spec):
    key = c.generate_private_key(spec)
    assert c.describe_key(key) == spec
    plain = c.dump_private_key(key)
    assert plain.startswith(b'-----BEGIN PRIVATE KEY-----')
    enc = c.dump_private_key(key, 'pass phrase')
    assert enc.startswith(b'-----BEGIN ENCRYPTED PRIVATE KEY-----')
    assert c.pem_is_encrypted(enc) and not c.pem_is_encrypted(plain)
    again = c.load_private_key(enc, 'pass phrase')
    assert c.same_public_key(again, key)
    assert c.public_key_fingerprint(again) == c.public_key_fingerprint(key.public_key())


def test_load_key_errors():
    key = c.generate_private_key(EC)
    enc = c.dump_private_key(key, 'right')
    with pytest.raises(c.PgsslCryptoError) as err:
        c.load_private_key(enc, 'wrong')
    assert err.value.code == 'wrong_passphrase'
    with pytest.raises(c.PgsslCryptoError) as err:
        c.load_private_key(enc, None)
    assert err.value.code == 'passphrase_required'
    for bad in (b'', b'-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n', b'garbage'):
        with pytest.raises(c.PgsslCryptoError) as err:
            c.load_private_key(bad)
        assert err.value.code == 'malformed_key'


def test_plan_private_key():
    spec = EC
    key = c.generate_private_key(spec)
    plain = c.dump_private_key(key)
    assert c.plan_private_key(None, None, spec)['action'] == 'create'
    keep = c.plan_private_key(plain, None, spec)
    assert keep['action'] == 'keep' and keep['reasons'] == []
    rsa = c.normalize_key_request('rsa', 2048)
    assert c.plan_private_key(plain, None, rsa)['reasons'] == ['type_changed']
    assert c.plan_private_key(plain, None, rsa)['action'] == 'regenerate'
    p384 = c.normalize_key_request('ecdsa', curve='P-384')
    assert c.plan_private_key(plain, None, p384)['reasons'] == ['size_changed']
    rewrite = c.plan_private_key(plain, 'new pass', spec)
    assert rewrite['action'] == 'rewrite' and rewrite['reasons'] == ['encryption_changed']
    never = c.plan_private_key(plain, None, rsa, 'never')
    assert never['action'] == 'keep' and never['warnings']
    with pytest.raises(c.PgsslCryptoError) as err:
        c.plan_private_key(plain, None, rsa, 'fail')
    assert err.value.code == 'key_differs'
    assert c.plan_private_key(plain, None, spec, 'always')['action'] == 'regenerate'
    enc = c.dump_private_key(key, 'x')
    with pytest.raises(c.PgsslCryptoError):
        c.plan_private_key(enc, 'y', spec)  # never silently replaced
    with pytest.raises(c.PgsslCryptoError):
        c.plan_private_key(b'junk', None, spec)


# ----------------------------------------------------------------------------- names


def test_subject_and_sans_normalised():
    assert c.normalize_subject({'common_name': 'a', 'O': 'Org', 'country': 'DE', 'OU': ''}) == {
        'CN': 'a',
        'O': 'Org',
        'C': 'DE',
    }
    with pytest.raises(c.PgsslCryptoError):
        c.normalize_subject({'nonsense': 'x'})
    with pytest.raises(c.PgsslCryptoError):
        c.normalize_subject({'C': 'Germany'})
    assert c.normalize_sans(
        ['DB1.Example.com', 'IP:10.0.0.1', '::1', 'dns:db1.example.com', '*.pgssl.test', '10.0.0.1']
    ) == ['DNS:db1.example.com', 'IP:10.0.0.1', 'IP:::1', 'DNS:*.pgssl.test']
    for bad in ('IP:300.1.1.1', 'bad name!', 'a..b', 'DNS:-x.y'):
        with pytest.raises(c.PgsslCryptoError):
            c.normalize_sans([bad])


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


# ----------------------------------------------------------------------------- chains


def lets_encrypt_like():
    """leaf <- intermediate <- new root; new root also cross-signed by an expired old root."""
    past = NOW - datetime.timedelta(days=4000)
    old_root, old_key = make_ca('Old Root X3', now=past, days=3000)  # expired
    new_key = c.generate_private_key(EC)
    new_root, _k = make_ca('New Root X1', key=new_key, now=NOW - datetime.timedelta(days=1000))
    cross, _w = c.issue_certificate(
        new_key.public_key(),
        {'CN': 'New Root X1'},
        [],
        'ca',
        old_key,
        issuer_cert=old_root,
        valid_days=2000,
        now=past + datetime.timedelta(days=100),
    )  # expired too
    inter, inter_key = make_leaf(new_root, new_key, cn='Intermediate R3', sans=[], profile='ca')
    leaf, leaf_key = make_leaf(inter, inter_key, cn='db2.pgssl.test')
    return dict(old_root=old_root, new_root=new_root, cross=cross, inter=inter, leaf=leaf, leaf_key=leaf_key)


def test_chain_orders_and_drops_root_and_duplicates():
    ca, ca_key = make_ca('Root')
    inter, inter_key = make_leaf(ca, ca_key, cn='Inter', sans=[], profile='ca')
    leaf, _k = make_leaf(inter, inter_key)
    built = c.build_chain([ca, inter, leaf, inter])
    assert built['chain'] == [leaf, inter]
    assert built['complete'] and built['root'] == ca
    reasons = sorted(r for _c, r in built['dropped'])
    assert reasons == ['duplicate', 'root']
    assert c.build_chain([inter, leaf, ca], include_root=True)['chain'] == [leaf, inter, ca]
    partial = c.build_chain([leaf, inter])
    assert partial['chain'] == [leaf, inter] and not partial['complete']
    with_anchor = c.build_chain([leaf, inter], anchors=[ca])
    assert with_anchor['complete'] and with_anchor['chain'] == [leaf, inter]


def test_chain_drops_expired_cross_sign():
    le = lets_encrypt_like()
    inputs = [le['leaf'], le['inter'], le['cross'], le['old_root']]
    built = c.build_chain(inputs, anchors=[le['new_root']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert built['complete']
    dropped = dict((d.subject.rfc4514_string() + d.issuer.rfc4514_string(), r) for d, r in built['dropped'])
    assert dropped['CN=New Root X1CN=Old Root X3'] in ('expired', 'expired_cross_sign')
    # no anchors given: the path to the valid self-signed root still wins
    built = c.build_chain(inputs + [le['new_root']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert built['root'] == le['new_root']
    assert c.verify_path([le['leaf'], le['inter']], [le['new_root']]) == []
    codes = [code for code, _m in c.verify_path([le['leaf'], le['inter'], le['cross']], [le['new_root']])]
    assert 'chain_expired_link' in codes


def test_certbot_fullchain_without_anchor_is_repaired():
    le = lets_encrypt_like()
    # certbot's fullchain.pem: leaf, R3, X1 cross-signed by the expired X3; no anchor at all
    built = c.build_chain([le['leaf'], le['inter'], le['cross']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert not built['complete']
    assert list(built['dropped']) == [(le['cross'], 'expired')]


def test_expired_leaf_fails():
    ca, ca_key = make_ca('Root')
    leaf, _w = c.issue_certificate(
        c.generate_private_key(EC).public_key(),
        {'CN': 'old'},
        ['DNS:old'],
        'server',
        ca_key,
        issuer_cert=ca,
        valid_days=10,
        now=NOW - datetime.timedelta(days=30),
    )
    with pytest.raises(c.PgsslCryptoError, match='itself is expired') as err:
        c.build_chain([leaf, ca])
    assert err.value.code == 'leaf_expired'


def test_chain_leaf_ambiguity_is_an_error():
    ca, ca_key = make_ca()
    a, _k = make_leaf(ca, ca_key, cn='a')
    b, _k = make_leaf(ca, ca_key, cn='b')
    with pytest.raises(c.PgsslCryptoError) as err:
        c.build_chain([a, b, ca])
    assert err.value.code == 'chain_leaf'


def test_bundle():
    ca, ca_key = make_ca('A')
    old, _k = make_ca('Old', now=NOW - datetime.timedelta(days=50), days=10)
    leaf, _k = make_leaf(ca, ca_key)
    built = c.build_bundle([ca, old, ca, leaf])
    assert built['chain'] == [ca]
    assert sorted(r for _c, r in built['dropped']) == ['duplicate', 'expired', 'not_a_ca']
    assert c.build_bundle([ca, old], drop_expired=False)['chain'] == [ca, old]
    with pytest.raises(c.PgsslCryptoError):
        c.build_bundle([leaf])


def test_load_certificates_errors():
    with pytest.raises(c.PgsslCryptoError) as err:
        c.load_certificates(b'hello')
    assert err.value.code == 'malformed_certificate'
    with pytest.raises(c.PgsslCryptoError):
        c.load_certificates(b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    ca, _k = make_ca()
    from cryptography.hazmat.primitives import serialization

    assert c.load_certificates(ca.public_bytes(serialization.Encoding.DER)) == [ca]


# ----------------------------------------------------------------------------- host names


@pytest.mark.parametrize(
    'sans,cn,host,ok',
    [
        (['db1.pgssl.test'], 'db1.pgssl.test', 'db1.pgssl.test', True),
        (['db1.pgssl.test'], 'db1.pgssl.test', 'DB1.PGSSL.TEST', True),
        (['db1.pgssl.test'], 'db1.pgssl.test', 'db2.pgssl.test', False),
        (['*.pgssl.test'], 'x', 'db1.pgssl.test', True),
        (['*.pgssl.test'], 'x', 'a.db1.pgssl.test', False),
        (['*.pgssl.test'], 'x', 'pgssl.test', False),
        (['other.test'], 'db1.pgssl.test', 'db1.pgssl.test', False),  # CN ignored with a DNS SAN
        ([], 'db1.pgssl.test', 'db1.pgssl.test', True),  # CN used without SANs
        (['127.0.0.11'], 'x', '127.0.0.11', True),
        (['127.0.0.11'], 'x', '127.0.0.12', False),
        (['db1.pgssl.test', '127.0.0.11'], 'x', '127.0.0.11', True),
        (['::1'], 'x', '::1', True),
        (['127.0.0.11'], 'db1.pgssl.test', 'db1.pgssl.test', True),  # only IP SANs: CN for names
    ],
)
def test_hostname_matches(sans, cn, host, ok):
    ca, ca_key = make_ca()
    leaf, _k = make_leaf(ca, ca_key, cn=cn, sans=sans)
    assert c.hostname_matches(leaf, host) is ok


# ----------------------------------------------------------------------------- analysis


def test_analyze_reports_problem_codes():
    ca, ca_key = make_ca()
    leaf, key = make_leaf(ca, ca_key, days=10)
    other, _k = make_ca('Elsewhere')
    res = c.analyze(
        [leaf],
        anchors=[other],
        key=c.generate_private_key(EC),
        hostnames=['db1.pgssl.test', 'db9.pgssl.test'],
        key_stat=(stat.S_IFREG | 0o644, 101),
        server_uid=101,
    )
    codes = sorted(p['code'] for p in res['problems'])
    assert codes == ['chain_untrusted', 'expiring', 'hostname_mismatch', 'key_file_mode', 'key_mismatch']
    assert res['hostnames'] == {'db1.pgssl.test': True, 'db9.pgssl.test': False}
    good = c.analyze([leaf], anchors=[ca], key=key, hostnames=['db1.pgssl.test'], warn_days=5)
    assert good['problems'] == [] and good['chain']['verified'] is True
    assert good['key']['matches_certificate'] is True
    assert good['certificate']['days_left'] in (9, 10)
    expired, _k = make_leaf(ca, ca_key, now=NOW - datetime.timedelta(days=30), days=5)
    assert [p['code'] for p in c.analyze([expired])['problems']] == ['expired']
    cn_only, _k = make_leaf(ca, ca_key, sans=[])
    assert [p['code'] for p in c.analyze([cn_only])['problems']] == ['no_dns_san']


def test_sha1_signed_ca_is_weak_and_refused_as_signer(tmp_path):
    # cryptography no longer signs with SHA-1, so the openssl tool makes this test CA
    import subprocess

    key_path, crt_path = str(tmp_path / 'sha1.key'), str(tmp_path / 'sha1.crt')
    subprocess.run(
        [
            'openssl',
            'req',
            '-x509',
            '-sha1',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            key_path,
            '-out',
            crt_path,
            '-subj',
            '/CN=SHA1 CA',
            '-days',
            '10',
            '-addext',
            'basicConstraints=critical,CA:TRUE',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign',
        ],
        check=True,
        capture_output=True,
    )
    cert = c.load_certificate(open(crt_path, 'rb').read())
    key = c.load_private_key(open(key_path, 'rb').read())
    assert [code for code, _m in c.weaknesses(cert)] == ['weak_signature']
    with pytest.raises(c.PgsslCryptoError, match='weak CA') as err:
        c.check_signer(cert, key)
    assert err.value.code == 'weak_signature'
    c.check_signer(cert, key, allow_weak=True)
    assert 'weak_signature' in [p['code'] for p in c.analyze([cert])['problems']]


def test_pem_framing_like_openssl():
    """An END line with anything after it makes OpenSSL refuse the whole file (the server
    keeps its old SSL configuration), so the pre-reload check must refuse it too."""
    key = c.generate_private_key(c.normalize_key_request('ecdsa', curve='P-256'))
    ca, _w = c.issue_certificate(key.public_key(), {'CN': 'framing CA'}, [], 'ca', key)
    crl = c.dump_crl(c.build_crl(ca, key, []))
    crl = crl if isinstance(crl, str) else crl.decode('ascii')
    two = crl.strip() + '\n' + crl.strip() + '\n'
    assert len(c.load_crls(two)) == 2
    glued = crl.strip() + '\\n' + crl.strip()
    with pytest.raises(c.PgsslCryptoError, match='bad end line'):
        c.load_crls(glued)
    with pytest.raises(c.PgsslCryptoError, match='no end line'):
        c.load_crls(crl.strip()[:-25])
    assert len(c.pem_blocks(crl + 'trailing words\n', 'X509 CRL')) == 1


def test_a_certificate_from_a_clock_that_runs_ahead_is_reissued():
    key = c.generate_private_key(c.normalize_key_request('ecdsa', curve='P-256'))
    ca, _w = c.issue_certificate(key.public_key(), {'CN': 'skew CA'}, [], 'ca', key)
    future = c.utcnow() + datetime.timedelta(days=2)
    leaf, _w = c.issue_certificate(
        key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', key, issuer_cert=ca, now=future
    )
    reasons = c.certificate_reasons(leaf, key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', issuer_cert=ca)
    assert reasons == ['not_yet_valid']
    assert (
        c.certificate_reasons(leaf, key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', issuer_cert=ca, now=future)
        == []
    )


# ----------------------------------------------------------------------------- minimum version


def test_the_minimum_cryptography_version_is_written_the_same_everywhere():
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'plugins', 'doc_fragments', 'cryptography.py')) as handle:
        assert 'cryptography >= %s ' % c.MIN_CRYPTOGRAPHY in handle.read()
    with open(os.path.join(root, 'requirements.txt')) as handle:
        assert 'cryptography>=%s' % c.MIN_CRYPTOGRAPHY in handle.read()
    assert c.version_tuple('41.0.5') >= c.version_tuple(c.MIN_CRYPTOGRAPHY) > c.version_tuple('40.0.2')
    assert c.version_tuple('42.0.0rc1') == (42, 0, 0)
