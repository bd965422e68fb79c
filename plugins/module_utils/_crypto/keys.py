# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys: requests, generation, loading and dumping, fingerprints, and the private key plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    _hexcolon,
    _to_bytes,
    ec,
    ed25519,
    hashes,
    PgsslCryptoError,
    rsa,
    serialization,
    UnsupportedAlgorithm,
)


# --------------------------------------------------------------------------- keys

KEY_TYPES = ('rsa', 'ecdsa', 'ed25519')
RSA_SIZES = (2048, 3072, 4096)
CURVES = ('P-256', 'P-384')
_CURVE_ALIASES = {
    'p-256': 'P-256',
    'p256': 'P-256',
    'secp256r1': 'P-256',
    'prime256v1': 'P-256',
    'p-384': 'P-384',
    'p384': 'P-384',
    'secp384r1': 'P-384',
}


def normalize_key_request(key_type, size=None, curve=None):
    """Validate what the user asked for; return {'type', 'size', 'curve'}."""
    key_type = (key_type or 'ecdsa').lower()
    if key_type not in KEY_TYPES:
        raise PgsslCryptoError('Unknown key type %r: use one of %s.' % (key_type, ', '.join(KEY_TYPES)), 'bad_key_type')
    if key_type == 'rsa':
        size = int(size or 3072)
        if size < 2048:
            raise PgsslCryptoError(
                'RSA keys below 2048 bits are refused (asked: %d); use 2048, 3072 or 4096.' % size, 'bad_key_size'
            )
        if size not in RSA_SIZES:
            raise PgsslCryptoError('Unsupported RSA size %d: use 2048, 3072 or 4096.' % size, 'bad_key_size')
        return {'type': 'rsa', 'size': size, 'curve': None}
    if key_type == 'ecdsa':
        name = _CURVE_ALIASES.get(str(curve or 'P-256').lower())
        if name is None:
            raise PgsslCryptoError('Unknown curve %r: use P-256 or P-384.' % (curve,), 'bad_curve')
        return {'type': 'ecdsa', 'size': 256 if name == 'P-256' else 384, 'curve': name}
    return {'type': 'ed25519', 'size': 256, 'curve': None}


def generate_private_key(spec):
    if spec['type'] == 'rsa':
        return rsa.generate_private_key(public_exponent=65537, key_size=spec['size'])
    if spec['type'] == 'ecdsa':
        curve = ec.SECP256R1() if spec['curve'] == 'P-256' else ec.SECP384R1()
        return ec.generate_private_key(curve)
    return ed25519.Ed25519PrivateKey.generate()


def describe_key(key):
    """{'type', 'size', 'curve'} of a private or public key."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return {'type': 'rsa', 'size': key.key_size, 'curve': None}
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        names = {'secp256r1': 'P-256', 'secp384r1': 'P-384', 'secp521r1': 'P-521'}
        return {'type': 'ecdsa', 'size': key.curve.key_size, 'curve': names.get(key.curve.name, key.curve.name)}
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return {'type': 'ed25519', 'size': 256, 'curve': None}
    return {'type': type(key).__name__, 'size': None, 'curve': None}


def is_key_kind(key, key_type, size=None, curve=None):
    """The key is of the type, size and curve asked for (a change of any makes a new key due)."""
    spec = normalize_key_request(key_type, size, curve)
    have = describe_key(key)
    return (have['type'], have['size'], have['curve']) == (spec['type'], spec['size'], spec['curve'])


def pem_is_encrypted(data):
    return b'ENCRYPTED PRIVATE KEY' in data or b'Proc-Type: 4,ENCRYPTED' in data


def load_private_key(data, passphrase=None, where='the private key'):
    """Load a PEM (or DER) private key; clear errors for the cases users meet."""
    data = _to_bytes(data)
    if not data or not data.strip():
        raise PgsslCryptoError('%s is empty.' % where, 'malformed_key')
    pem = data.lstrip().startswith(b'-----')
    encrypted = pem_is_encrypted(data)
    if encrypted and not passphrase:
        raise PgsslCryptoError('%s is encrypted; give its passphrase.' % where, 'passphrase_required')
    # DER does not say whether it is encrypted: try the passphrase when one is given
    pw = _to_bytes(passphrase) if (encrypted or (not pem and passphrase)) else None
    try:
        if pem:
            key = serialization.load_pem_private_key(data, password=pw)
        else:
            try:
                key = serialization.load_der_private_key(data, password=pw)
            except TypeError:
                if pw is None:
                    raise PgsslCryptoError('%s is encrypted; give its passphrase.' % where, 'passphrase_required')
                key = serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise PgsslCryptoError('%s cannot be read: %s' % (where, exc), 'malformed_key')
    except ValueError:
        # an encrypted key that does not load: a wrong passphrase almost always. Its wrong
        # plaintext usually fails the padding check ("incorrect password"), but about one time
        # in a few hundred the padding passes and the garbage fails as ASN.1 instead.
        if encrypted:
            raise PgsslCryptoError(
                '%s cannot be decrypted with the given passphrase (wrong passphrase?).' % where, 'wrong_passphrase'
            )
        raise PgsslCryptoError('%s is not a valid private key (malformed PEM/DER).' % where, 'malformed_key')
    except UnsupportedAlgorithm as exc:
        raise PgsslCryptoError('%s uses an unsupported algorithm: %s' % (where, exc), 'malformed_key')
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise PgsslCryptoError('%s has an unsupported key type.' % where, 'bad_key_type')
    return key


def dump_private_key(key, passphrase=None):
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    if passphrase:
        enc = serialization.BestAvailableEncryption(_to_bytes(passphrase))
    else:
        enc = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def public_key_pem(key):
    pub = key.public_key() if hasattr(key, 'private_bytes') else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


def public_key_fingerprint(key):
    """sha256 over the DER SubjectPublicKeyInfo, hex with colons."""
    pub = key.public_key() if hasattr(key, 'private_bytes') else key
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return _hexcolon(digest.finalize())


def same_public_key(a, b):
    return public_key_fingerprint(a) == public_key_fingerprint(b)


# --------------------------------------------------------------------------- private key plan

REGENERATE_CHOICES = ('never', 'fail', 'mismatch', 'always')


def plan_private_key(existing, passphrase, spec, regenerate='mismatch'):
    """Decide what to do with the key file before touching it.

    Returns {'action': keep|create|regenerate|rewrite, 'reasons': [...], 'key': loaded key or
    None, 'current': description or None, 'warnings': [...]}. An existing key that cannot be read
    (malformed, wrong or missing passphrase) raises, unless regenerate is 'always'.
    """
    plan = {'action': 'keep', 'reasons': [], 'key': None, 'current': None, 'warnings': []}
    if existing is None:
        plan.update(action='create', reasons=['missing'])
        return plan
    if regenerate == 'always':
        plan.update(action='regenerate', reasons=['always'])
        return plan
    key = load_private_key(existing, passphrase, where='The existing key file')
    current = describe_key(key)
    current['encrypted'] = pem_is_encrypted(existing)
    plan.update(key=key, current=current)
    reasons = []
    if current['type'] != spec['type']:
        reasons.append('type_changed')
    elif current['size'] != spec['size'] or current['curve'] != spec['curve']:
        reasons.append('size_changed')
    if current['encrypted'] != bool(passphrase):
        reasons.append('encryption_changed')
    plan['reasons'] = reasons
    if not reasons:
        return plan
    if regenerate == 'never':
        plan['warnings'].append(
            'The existing key differs from the request (%s) and regenerate=never keeps it.' % ', '.join(reasons)
        )
        return plan
    if regenerate == 'fail':
        raise PgsslCryptoError(
            'The existing key differs from the request (%s); regenerate=fail '
            'refuses to replace it.' % ', '.join(reasons),
            'key_differs',
        )
    plan['action'] = 'rewrite' if reasons == ['encryption_changed'] else 'regenerate'
    return plan
