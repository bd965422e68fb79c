# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_crypto: keys and names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c

from ansible_collections.pgssl.postgresql.tests.unit.plugins.module_utils.crypto_helpers import EC


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


def test_every_wrong_passphrase_is_reported_as_such():
    # a wrong passphrase decrypts to garbage that usually fails the padding check, but now and
    # then passes it and fails as ASN.1 instead: both are a wrong passphrase to the user
    pem = c.dump_private_key(c.generate_private_key(EC), 'right')
    codes = set()
    for attempt in range(400):
        with pytest.raises(c.PgsslCryptoError) as err:
            c.load_private_key(pem, 'wrong-%d' % attempt)
        codes.add(err.value.code)
    assert codes == {'wrong_passphrase'}
