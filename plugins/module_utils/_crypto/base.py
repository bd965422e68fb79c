# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cryptography imports (guarded), the error class, time and byte helpers shared by the
other parts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import traceback

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

# the one place the minimum is written in code (the docs' copy: doc_fragments/cryptography.py)
MIN_CRYPTOGRAPHY = '41.0'


def version_tuple(text):
    """(41, 0, 5) from '41.0.5'; a pre-release suffix is ignored."""
    out = []
    for part in str(text).split('.'):
        digits = re.match(r'[0-9]+', part)
        if not digits:
            break
        out.append(int(digits.group(0)))
        if digits.group(0) != part:
            break
    return tuple(out)


CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    import cryptography as _cryptography_package

    if version_tuple(_cryptography_package.__version__) < version_tuple(MIN_CRYPTOGRAPHY):
        HAS_CRYPTOGRAPHY = False
        CRYPTOGRAPHY_IMPORT_ERROR = 'cryptography %s is installed; %s or later is needed.' % (
            _cryptography_package.__version__,
            MIN_CRYPTOGRAPHY,
        )
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    x509 = InvalidSignature = UnsupportedAlgorithm = hashes = serialization = None
    ec = ed25519 = padding = rsa = ExtendedKeyUsageOID = NameOID = None


# what the other parts of this package take from here (the cryptography names come through
# this file so that the import is guarded once)
__all__ = [
    'x509',
    'InvalidSignature',
    'UnsupportedAlgorithm',
    'hashes',
    'serialization',
    'ec',
    'ed25519',
    'padding',
    'rsa',
    'ExtendedKeyUsageOID',
    'NameOID',
    'HAS_CRYPTOGRAPHY',
    'CRYPTOGRAPHY_IMPORT_ERROR',
    'MIN_CRYPTOGRAPHY',
    'PgsslCryptoError',
    'version_tuple',
    'BACKDATE_SECONDS',
    'utcnow',
    'not_before',
    'not_after',
    'iso',
    '_aware',
    '_to_bytes',
    '_hexcolon',
    '_signature_hash',
    '_ext',
]


class PgsslCryptoError(PgsslError):
    """An error the user can act on. ``code`` is stable and machine readable."""


# --------------------------------------------------------------------------- time

BACKDATE_SECONDS = 300


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _aware(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def not_before(cert):
    if hasattr(cert, 'not_valid_before_utc'):
        return cert.not_valid_before_utc
    return _aware(cert.not_valid_before)


def not_after(cert):
    if hasattr(cert, 'not_valid_after_utc'):
        return cert.not_valid_after_utc
    return _aware(cert.not_valid_after)


def iso(value):
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _to_bytes(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8')


def _hexcolon(data):
    return ':'.join('%02x' % b for b in bytearray(data))


def _signature_hash(key):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _ext(obj, cls):
    try:
        return obj.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None
