# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PKCS#8 DER copies of a key for Java clients (pgjdbc's ``postgresql.pk8``).

pgjdbc decrypts an encrypted ``.pk8`` with ``EncryptedPrivateKeyInfo.getAlgName()`` handed to
``Cipher.getInstance``. On JDK 17 (the one tested here) that name is ``PBES2`` for the modern
scheme, which no provider offers, so an AES (PBES2) pk8 cannot be read. The scheme every JDK
reads is PKCS#12's pbeWithSHAAnd3-KeyTripleDES-CBC (``PBEWithSHA1AndDESede``). cryptography
writes that scheme only inside a PKCS#12 file: the shrouded key bag of such a file *is* an
EncryptedPrivateKeyInfo, so it is taken from there. The crypto is cryptography's; this module
only walks the DER.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

# PBKDF iterations of the PKCS#12 key derivation (SHA-1): slows guessing, costs a Java client
# a fraction of a second once per connection
PK8_KDF_ROUNDS = 200000
_OID_DATA = bytes.fromhex('2a864886f70d010701')
_OID_SHROUDED_KEY_BAG = bytes.fromhex('2a864886f70d010c0a0102')


class PgsslPk8Error(PgsslError):
    pass


def _children(data, start, end):
    """(tag, offset of the element, offset of its content, content length) for each element."""
    out = []
    i = start
    while i < end:
        if i + 2 > end:
            raise PgsslPk8Error('Truncated DER in the PKCS#12 container.', 'pk8_der')
        tag = data[i]
        length = data[i + 1]
        content = i + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[content : content + count], 'big')
            content += count
        if content + length > end:
            raise PgsslPk8Error('Truncated DER in the PKCS#12 container.', 'pk8_der')
        out.append((tag, i, content, length))
        i = content + length
    return out


def _inside(data, element):
    return _children(data, element[2], element[2] + element[3])


def _value(data, element):
    return data[element[2] : element[2] + element[3]]


def _shrouded_key(p12):
    """The EncryptedPrivateKeyInfo of the only key bag of a key-only PKCS#12 file."""
    pfx = _children(p12, 0, len(p12))[0]
    auth_safe = _inside(p12, pfx)[1]  # ContentInfo {data, [0] OCTET STRING}
    octets = _inside(p12, _inside(p12, auth_safe)[1])[0]
    for info in _inside(p12, _inside(p12, octets)[0]):  # AuthenticatedSafe: ContentInfos
        oid, explicit = _inside(p12, info)[:2]
        if _value(p12, oid) != _OID_DATA:
            continue
        contents = _inside(p12, _inside(p12, explicit)[0])[0]  # SafeContents
        for bag in _inside(p12, contents):
            bag_id, bag_value = _inside(p12, bag)[:2]
            if _value(p12, bag_id) == _OID_SHROUDED_KEY_BAG:
                epki = _inside(p12, bag_value)[0]
                return p12[epki[1] : epki[2] + epki[3]]
    raise PgsslPk8Error('No shrouded key bag in the PKCS#12 container.', 'pk8_der')


def check_passphrase(passphrase):
    """Java's PBE key factory refuses a password that is not ASCII: refuse it before writing."""
    if not passphrase:
        return
    text = passphrase.decode('utf-8', 'replace') if isinstance(passphrase, bytes) else passphrase
    if any(ord(ch) > 126 or ord(ch) < 32 for ch in text):
        raise PgsslPk8Error(
            'The passphrase must be printable ASCII when an encrypted pk8 copy is written: Java '
            '(pgjdbc) refuses other passwords for it ("Password is not ASCII"). Choose such a '
            'passphrase, or write no pk8 copy.',
            'pk8_passphrase_not_ascii',
        )


def dump(key, passphrase=None):
    """PKCS#8 DER: plain, or encrypted so that pgjdbc's ``sslpassword`` opens it."""
    # imported here: the modules that import this file report a missing cryptography themselves
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    check_passphrase(passphrase)
    if not passphrase:
        return key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    secret = passphrase.encode('utf-8') if not isinstance(passphrase, bytes) else passphrase
    enc = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PK8_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .build(secret)
    )
    p12 = pkcs12.serialize_key_and_certificates(None, key, None, None, enc)
    return _shrouded_key(p12)


def matches(data, key, passphrase=None):
    """Whether the DER ``data`` holds ``key`` in the form ``dump(key, passphrase)`` would write.

    An encrypted copy is never byte-identical twice (fresh salt), so it is opened and compared.
    """
    from cryptography.hazmat.primitives import serialization

    if data is None:
        return False
    if not passphrase:
        return data == dump(key)
    secret = passphrase.encode('utf-8') if not isinstance(passphrase, bytes) else passphrase
    if b'\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01\x03' not in data[:32]:
        return False  # not the scheme Java reads (or not encrypted at all)
    try:
        found = serialization.load_der_private_key(data, password=secret)
    except (TypeError, ValueError):
        return False
    plain = serialization.NoEncryption()
    raw = serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, plain
    return found.private_bytes(*raw) == key.private_bytes(*raw)
