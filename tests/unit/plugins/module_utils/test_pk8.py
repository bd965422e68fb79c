# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pk8 copy for Java clients: plain and encrypted forms, and when a copy counts as current."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pk8 as pk8

# pbeWithSHAAnd3-KeyTripleDES-CBC, the scheme Java's EncryptedPrivateKeyInfo names
# PBEWithSHA1AndDESede
JAVA_PBE_OID = bytes.fromhex('2a864886f70d010c0103')


@pytest.mark.parametrize('kind', ['ecdsa', 'rsa', 'ed25519'])
def test_encrypted_pk8_opens_with_the_passphrase_only(kind):
    key = c.generate_private_key(c.normalize_key_request(kind, 2048 if kind == 'rsa' else None))
    der = pk8.dump(key, 'pass phrase # "with" \\ quotes')
    assert JAVA_PBE_OID in der[:32]
    back = serialization.load_der_private_key(der, password=b'pass phrase # "with" \\ quotes')
    assert c.same_public_key(back, key)
    with pytest.raises(ValueError):
        serialization.load_der_private_key(der, password=b'wrong')
    with pytest.raises(TypeError):
        serialization.load_der_private_key(der, password=None)
    assert pk8.matches(der, key, 'pass phrase # "with" \\ quotes')
    assert not pk8.matches(der, key, 'wrong')
    assert not pk8.matches(der, key, None)


def test_plain_pk8_is_deterministic_and_never_counts_as_encrypted():
    key = c.generate_private_key(c.normalize_key_request('ecdsa'))
    plain = pk8.dump(key)
    assert plain == pk8.dump(key)
    assert c.same_public_key(serialization.load_der_private_key(plain, password=None), key)
    assert pk8.matches(plain, key)
    assert not pk8.matches(plain, key, 'now with a passphrase')
    assert not pk8.matches(None, key)


def test_pk8_of_another_key_does_not_match():
    key = c.generate_private_key(c.normalize_key_request('ecdsa'))
    other = c.generate_private_key(c.normalize_key_request('ecdsa'))
    assert not pk8.matches(pk8.dump(other, 'pw'), key, 'pw')
    assert not pk8.matches(pk8.dump(other), key)


def test_garbage_and_truncated_containers_are_refused():
    assert not pk8.matches(b'\x30\x03\x02\x01', c.generate_private_key(c.normalize_key_request('ecdsa')), 'pw')
    with pytest.raises(pk8.PgsslPk8Error):
        pk8._shrouded_key(b'\x30\x82\x10\x00\x02\x01\x03')


@pytest.mark.parametrize('bad', ['caf\u00e9', 'tab\there', 'new\nline'])
def test_passphrase_java_cannot_take_is_refused(bad):
    key = c.generate_private_key(c.normalize_key_request('ecdsa'))
    with pytest.raises(pk8.PgsslPk8Error) as err:
        pk8.dump(key, bad)
    assert err.value.code == 'pk8_passphrase_not_ascii'
