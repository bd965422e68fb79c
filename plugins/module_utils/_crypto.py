# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure certificate core: keys, CSRs, certificates, chains, host name and key-file rules.

Everything here works on plain values (bytes, str, int, dict, datetime) and raises
``PgsslCryptoError`` with a message a user can act on. Nothing here touches Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import datetime
import ipaddress
import os
import re
import stat
import traceback

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


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


# --------------------------------------------------------------------------- keys

KEY_TYPES = ('rsa', 'ecdsa', 'ed25519')
RSA_SIZES = (2048, 3072, 4096)
CURVES = ('P-256', 'P-384')
_CURVE_ALIASES = {
    'p-256': 'P-256', 'p256': 'P-256', 'secp256r1': 'P-256', 'prime256v1': 'P-256',
    'p-384': 'P-384', 'p384': 'P-384', 'secp384r1': 'P-384',
}


def normalize_key_request(key_type, size=None, curve=None):
    """Validate what the user asked for; return {'type', 'size', 'curve'}."""
    key_type = (key_type or 'ecdsa').lower()
    if key_type not in KEY_TYPES:
        raise PgsslCryptoError(
            'Unknown key type %r: use one of %s.' % (key_type, ', '.join(KEY_TYPES)), 'bad_key_type')
    if key_type == 'rsa':
        size = int(size or 3072)
        if size < 2048:
            raise PgsslCryptoError(
                'RSA keys below 2048 bits are refused (asked: %d); use 2048, 3072 or 4096.' % size,
                'bad_key_size')
        if size not in RSA_SIZES:
            raise PgsslCryptoError(
                'Unsupported RSA size %d: use 2048, 3072 or 4096.' % size, 'bad_key_size')
        return {'type': 'rsa', 'size': size, 'curve': None}
    if key_type == 'ecdsa':
        name = _CURVE_ALIASES.get(str(curve or 'P-256').lower())
        if name is None:
            raise PgsslCryptoError(
                'Unknown curve %r: use P-256 or P-384.' % (curve,), 'bad_curve')
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
        return {'type': 'ecdsa', 'size': key.curve.key_size,
                'curve': names.get(key.curve.name, key.curve.name)}
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return {'type': 'ed25519', 'size': 256, 'curve': None}
    return {'type': type(key).__name__, 'size': None, 'curve': None}


def pem_is_encrypted(data):
    return b'ENCRYPTED PRIVATE KEY' in data or b'Proc-Type: 4,ENCRYPTED' in data


def _to_bytes(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8')


def load_private_key(data, passphrase=None, where='the private key'):
    """Load a PEM (or DER) private key; clear errors for the cases users meet."""
    data = _to_bytes(data)
    if not data or not data.strip():
        raise PgsslCryptoError('%s is empty.' % where, 'malformed_key')
    pem = data.lstrip().startswith(b'-----')
    encrypted = pem_is_encrypted(data)
    if encrypted and not passphrase:
        raise PgsslCryptoError(
            '%s is encrypted; give its passphrase.' % where, 'passphrase_required')
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
                    raise PgsslCryptoError('%s is encrypted; give its passphrase.' % where,
                                           'passphrase_required')
                key = serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise PgsslCryptoError('%s cannot be read: %s' % (where, exc), 'malformed_key')
    except ValueError as exc:
        text = str(exc).lower()
        if encrypted and ('decrypt' in text or 'password' in text or 'bad' in text):
            raise PgsslCryptoError(
                '%s cannot be decrypted with the given passphrase (wrong passphrase?).' % where,
                'wrong_passphrase')
        raise PgsslCryptoError('%s is not a valid private key (malformed PEM/DER).' % where,
                               'malformed_key')
    except UnsupportedAlgorithm as exc:
        raise PgsslCryptoError('%s uses an unsupported algorithm: %s' % (where, exc), 'malformed_key')
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                            ed25519.Ed25519PrivateKey)):
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
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


def _hexcolon(data):
    return ':'.join('%02x' % b for b in bytearray(data))


def public_key_fingerprint(key):
    """sha256 over the DER SubjectPublicKeyInfo, hex with colons."""
    pub = key.public_key() if hasattr(key, 'private_bytes') else key
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return _hexcolon(digest.finalize())


def same_public_key(a, b):
    return public_key_fingerprint(a) == public_key_fingerprint(b)


def _signature_hash(key):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


# --------------------------------------------------------------------------- names and SANs

# (option name, short name, OID attribute name) in the order written into a DN
_NAME_FIELDS = (
    ('country_name', 'C', 'COUNTRY_NAME'),
    ('state_or_province_name', 'ST', 'STATE_OR_PROVINCE_NAME'),
    ('locality_name', 'L', 'LOCALITY_NAME'),
    ('organization_name', 'O', 'ORGANIZATION_NAME'),
    ('organizational_unit_name', 'OU', 'ORGANIZATIONAL_UNIT_NAME'),
    ('common_name', 'CN', 'COMMON_NAME'),
    ('email_address', 'emailAddress', 'EMAIL_ADDRESS'),
)
_NAME_ALIASES = {}
for _long, _short, _oid in _NAME_FIELDS:
    _NAME_ALIASES[_long.lower()] = _short
    _NAME_ALIASES[_short.lower()] = _short
_NAME_ALIASES.update({'organization': 'O', 'organizational_unit': 'OU', 'country': 'C',
                      'state': 'ST', 'locality': 'L', 'email': 'emailAddress'})


def normalize_subject(subject):
    """Map user keys (CN, common_name, O, ...) to short names; drop empty values."""
    result = {}
    for key, value in (subject or {}).items():
        short = _NAME_ALIASES.get(str(key).lower())
        if short is None:
            raise PgsslCryptoError(
                'Unknown subject field %r: use one of %s.'
                % (key, ', '.join(f[1] for f in _NAME_FIELDS)), 'bad_subject')
        if value is None or value == '':
            continue
        result[short] = str(value)
    if 'C' in result and len(result['C']) != 2:
        raise PgsslCryptoError('Country (C) must be a two-letter code, got %r.' % result['C'],
                               'bad_subject')
    return result


_NAME_LIMITS = {'CN': 64, 'O': 64, 'OU': 64, 'L': 128, 'ST': 128, 'C': 2}


def build_name(subject):
    attrs = []
    for _long, short, oid in _NAME_FIELDS:
        if short in subject:
            try:
                attrs.append(x509.NameAttribute(getattr(NameOID, oid), subject[short]))
            except ValueError:
                raise PgsslCryptoError('The subject field %s has %d characters; X.509 allows 1 '
                                       'to %s.' % (short, len(subject[short]),
                                                   _NAME_LIMITS.get(short, 64)), 'bad_subject')
    return x509.Name(attrs)


def name_to_dict(name):
    result = {}
    by_oid = dict((getattr(NameOID, oid).dotted_string, short) for _l, short, oid in _NAME_FIELDS)
    for attr in name:
        short = by_oid.get(attr.oid.dotted_string, attr.oid.dotted_string)
        result[short] = attr.value
    return result


def name_to_string(name):
    return name.rfc4514_string()


_DNS_LABEL = re.compile(r'^(?!-)[a-z0-9_-]{1,63}(?<!-)$')


def _check_dns(value):
    name = value.lower().rstrip('.')
    labels = name.split('.')
    check = labels[1:] if labels[0] == '*' else labels
    if not check or len(name) > 253 or not all(_DNS_LABEL.match(lab) for lab in check):
        raise PgsslCryptoError('Invalid DNS name %r in subject_alt_names.' % value, 'bad_san')
    return name


def normalize_sans(values):
    """['DNS:a', 'IP:1.2.3.4', 'b', '::1'] -> canonical ['DNS:a', 'DNS:b', 'IP:1.2.3.4', 'IP:::1'].

    Order is kept (first occurrence), duplicates are dropped.
    """
    result = []
    for raw in values or []:
        raw = str(raw).strip()
        if not raw:
            continue
        kind, sep, value = raw.partition(':')
        if sep and kind.upper() in ('DNS', 'IP'):
            kind = kind.upper()
        else:
            kind, value = None, raw
        if kind in (None, 'IP'):
            try:
                item = 'IP:%s' % ipaddress.ip_address(value.strip())
            except ValueError:
                if kind == 'IP':
                    raise PgsslCryptoError('Invalid IP address %r in subject_alt_names.' % raw,
                                           'bad_san')
                item = 'DNS:%s' % _check_dns(value.strip())
        else:
            item = 'DNS:%s' % _check_dns(value.strip())
        if item not in result:
            result.append(item)
    return result


def san_extension(sans):
    names = []
    for item in sans:
        kind, _sep, value = item.partition(':')
        if kind == 'DNS':
            names.append(x509.DNSName(value))
        elif kind == 'IP':
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                raise PgsslCryptoError('Invalid IP address SAN %r.' % item, 'bad_san')
        else:
            raise PgsslCryptoError(
                'The SAN %s is of a kind these certificates do not carry: PostgreSQL servers and '
                'clients are named by DNS and IP SANs only.' % item, 'unsupported_san')
    return x509.SubjectAlternativeName(names)


def sans_of(obj):
    """Canonical SAN list of a certificate or CSR ([] when it has none)."""
    try:
        ext = obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    result = []
    for name in ext:
        if isinstance(name, x509.DNSName):
            result.append('DNS:%s' % name.value.lower())
        elif isinstance(name, x509.IPAddress):
            result.append('IP:%s' % name.value)
        elif isinstance(name, x509.RFC822Name):
            result.append('email:%s' % name.value)
        elif isinstance(name, x509.UniformResourceIdentifier):
            result.append('URI:%s' % name.value)
    return result


# --------------------------------------------------------------------------- profiles

PROFILES = ('ca', 'server', 'client')


def _ext(obj, cls):
    try:
        return obj.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def profile_of(obj):
    """'ca', 'server', 'client' or None, read from the extensions of a certificate or CSR."""
    bc = _ext(obj, x509.BasicConstraints)
    if bc is not None and bc.ca:
        return 'ca'
    eku = _ext(obj, x509.ExtendedKeyUsage)
    if eku is not None:
        oids = list(eku)
        if ExtendedKeyUsageOID.SERVER_AUTH in oids:
            return 'server'
        if ExtendedKeyUsageOID.CLIENT_AUTH in oids:
            return 'client'
    return None


def _key_usage(profile, public_key):
    rsa_key = isinstance(public_key, rsa.RSAPublicKey)
    if profile == 'ca':
        return x509.KeyUsage(digital_signature=True, content_commitment=False,
                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                             decipher_only=False)
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=rsa_key, data_encipherment=False, key_agreement=False,
                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                         decipher_only=False)


def profile_extensions(profile, public_key, pathlen=None):
    """[(extension, critical)] that a certificate or CSR of this profile carries."""
    if profile not in PROFILES:
        raise PgsslCryptoError('Unknown profile %r: use ca, server or client.' % (profile,),
                               'bad_profile')
    if pathlen is not None and (not isinstance(pathlen, int) or pathlen < 0):
        raise PgsslCryptoError('pathlen must be 0 or more (got %r).' % (pathlen,), 'bad_pathlen')
    exts = []
    if profile == 'ca':
        exts.append((x509.BasicConstraints(ca=True, path_length=pathlen), True))
    else:
        exts.append((x509.BasicConstraints(ca=False, path_length=None), True))
    exts.append((_key_usage(profile, public_key), True))
    if profile == 'server':
        exts.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False))
    elif profile == 'client':
        exts.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False))
    return exts


# --------------------------------------------------------------------------- CSRs

def _check_request(subject, sans, profile):
    if profile == 'server' and not sans and 'CN' not in subject:
        raise PgsslCryptoError('A server certificate needs subject_alt_names or a common name.',
                               'bad_subject')
    if profile == 'client' and 'CN' not in subject:
        raise PgsslCryptoError('A client certificate needs a common name (the database user).',
                               'bad_subject')
    if profile == 'ca' and not subject:
        raise PgsslCryptoError('A CA certificate needs a subject (at least a common name).',
                               'bad_subject')


def build_csr(key, subject, sans, profile):
    """A CSR for ``key``; ``subject`` from normalize_subject, ``sans`` from normalize_sans."""
    _check_request(subject, sans, profile)
    builder = x509.CertificateSigningRequestBuilder().subject_name(build_name(subject))
    if sans:
        builder = builder.add_extension(san_extension(sans), critical=False)
    for ext, critical in profile_extensions(profile, key.public_key()):
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(key, _signature_hash(key))


def load_csr(data, where='the CSR'):
    data = _to_bytes(data)
    try:
        if data and data.lstrip().startswith(b'-----'):
            csr = x509.load_pem_x509_csr(data)
        else:
            csr = x509.load_der_x509_csr(data or b'')
    except ValueError:
        raise PgsslCryptoError('%s is not a valid certificate signing request (malformed PEM).'
                               % where, 'malformed_csr')
    if not csr.is_signature_valid:
        raise PgsslCryptoError('%s has an invalid signature.' % where, 'malformed_csr')
    return csr


def dump_csr(csr):
    return csr.public_bytes(serialization.Encoding.PEM)


def csr_reasons(csr, key, subject, sans, profile):
    """Why an existing CSR does not match the request ([] when it does)."""
    reasons = []
    if not same_public_key(csr.public_key(), key):
        reasons.append('key_changed')
    if name_to_dict(csr.subject) != subject:
        reasons.append('subject_changed')
    if sorted(sans_of(csr)) != sorted(sans):
        reasons.append('san_changed')
    if profile_of(csr) != profile:
        reasons.append('profile_changed')
    return reasons


def describe_request(obj):
    return {
        'subject': name_to_dict(obj.subject),
        'subject_string': name_to_string(obj.subject),
        'subject_alt_names': sans_of(obj),
        'profile': profile_of(obj),
        'public_key_fingerprint': public_key_fingerprint(obj.public_key()),
    }


# --------------------------------------------------------------------------- certificates

_PEM_CERT = re.compile(b'-----BEGIN CERTIFICATE-----\\s.+?-----END CERTIFICATE-----', re.S)


def load_certificates(data, where='the certificate file'):
    """All certificates in a PEM bundle (or one DER certificate), in file order."""
    data = _to_bytes(data) or b''
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        if data.strip() and not data.lstrip().startswith(b'-----'):
            try:
                return [x509.load_der_x509_certificate(data)]
            except ValueError:
                pass
        raise PgsslCryptoError('%s holds no valid PEM certificate (malformed PEM).' % where,
                               'malformed_certificate')
    certs = []
    for index, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            raise PgsslCryptoError('%s: certificate #%d is malformed PEM.' % (where, index + 1),
                                   'malformed_certificate')
    return certs


def load_certificate(data, where='the certificate'):
    certs = load_certificates(data, where)
    return certs[0]


def dump_certificate(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_fingerprint(cert, algorithm='sha256'):
    algo = hashes.SHA256() if algorithm == 'sha256' else hashes.SHA1()
    return _hexcolon(cert.fingerprint(algo))


def is_ca(cert):
    bc = _ext(cert, x509.BasicConstraints)
    return bool(bc is not None and bc.ca)


def is_self_signed(cert):
    return cert.issuer == cert.subject and is_issued_by(cert, cert)


def is_issued_by(cert, issuer):
    """True when ``issuer`` names and signed ``cert`` (checked signature)."""
    if cert.issuer != issuer.subject:
        return False
    pub = issuer.public_key()
    try:
        if hasattr(cert, 'verify_directly_issued_by'):
            cert.verify_directly_issued_by(issuer)
            return True
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def check_key_pair(cert, key, where='the certificate'):
    if not same_public_key(cert.public_key(), key):
        raise PgsslCryptoError('%s and its private key do not match (key/certificate mismatch).'
                               % where, 'key_mismatch')


MIN_RSA_BITS = 2048
WEAK_HASHES = ('sha1', 'md5')


def key_weakness(public_key):
    """A message when a key is too weak to trust, else None."""
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        return 'an RSA key of %d bits (fewer than %d)' % (public_key.key_size, MIN_RSA_BITS)
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey,
                                   ed25519.Ed25519PublicKey)):
        return 'a %s key' % type(public_key).__name__
    return None


def weaknesses(cert):
    """[(code, message)] for a weak key or a weak signature hash of ``cert``."""
    out = []
    what = key_weakness(cert.public_key())
    if what:
        out.append(('weak_key', '%s has %s' % (name_to_string(cert.subject), what)))
    algo = cert.signature_hash_algorithm
    if algo is not None and algo.name in WEAK_HASHES:
        out.append(('weak_signature', '%s is signed with %s'
                    % (name_to_string(cert.subject), algo.name.upper())))
    return out


def check_signer(ca_cert, ca_key, allow_ed25519=False, allow_weak=False):
    """Refuse what cannot or should not sign certificates."""
    if not is_ca(ca_cert):
        raise PgsslCryptoError(
            'The CA certificate %s is not a CA (basicConstraints CA:TRUE missing); a leaf '
            'certificate cannot sign others.' % name_to_string(ca_cert.subject), 'not_a_ca')
    ku = _ext(ca_cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise PgsslCryptoError('The CA certificate lacks keyUsage keyCertSign.', 'not_a_ca')
    check_key_pair(ca_cert, ca_key, 'The CA certificate')
    check_signing_key(ca_key, allow_ed25519)
    weak = weaknesses(ca_cert)
    if weak and not allow_weak:
        raise PgsslCryptoError('Refusing to sign with a weak CA: %s. Replace the CA, or set '
                               'allow_weak_signer=true.' % '; '.join(m for _c, m in weak),
                               weak[0][0])


def check_signing_key(key, allow_ed25519=False):
    if isinstance(key, ed25519.Ed25519PrivateKey) and not allow_ed25519:
        raise PgsslCryptoError(
            'Refusing to sign with an Ed25519 CA key: certificates signed with Ed25519 break SCRAM '
            'channel binding in libpq ("could not find digest for NID UNDEF"). Use an ECDSA or RSA '
            'CA key, or set allow_ed25519_signer=true if your clients never use channel binding.',
            'ed25519_signer')


def new_serial():
    """A random positive 128-bit serial number (top bit set so it is always 16 bytes)."""
    return int(binascii.hexlify(os.urandom(16)), 16) | (1 << 127)


def _ski(public_key):
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def issue_certificate(public_key, subject, sans, profile, signing_key, issuer_cert=None,
                      valid_days=365, pathlen=None, now=None, allow_ed25519=False):
    """Sign a certificate. ``issuer_cert`` None means self-signed by ``signing_key``.

    Returns (certificate, warnings).
    """
    _check_request(subject, sans, profile)
    check_signing_key(signing_key, allow_ed25519)
    if valid_days is None or int(valid_days) < 1:
        raise PgsslCryptoError('valid_days must be at least 1.', 'bad_validity')
    now = now or utcnow()
    warnings = []
    start = now - datetime.timedelta(seconds=BACKDATE_SECONDS)
    end = now + datetime.timedelta(days=int(valid_days))
    if issuer_cert is not None:
        issuer_name = issuer_cert.subject
        issuer_end = not_after(issuer_cert)
        if issuer_end <= now:
            raise PgsslCryptoError('The CA certificate expired on %s; renew the CA first.'
                                   % iso(issuer_end), 'ca_expired')
        if end > issuer_end:
            warnings.append('not_after capped at the CA certificate expiry %s.' % iso(issuer_end))
            end = issuer_end
        issuer_ski = _ext(issuer_cert, x509.SubjectKeyIdentifier)
        if issuer_ski is not None:
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
        else:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key())
    else:
        issuer_name = build_name(subject)
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
    builder = (x509.CertificateBuilder()
               .subject_name(build_name(subject))
               .issuer_name(issuer_name)
               .public_key(public_key)
               .serial_number(new_serial())
               .not_valid_before(start)
               .not_valid_after(end))
    for ext, critical in profile_extensions(profile, public_key, pathlen):
        builder = builder.add_extension(ext, critical=critical)
    if sans:
        builder = builder.add_extension(san_extension(sans), critical=False)
    builder = builder.add_extension(_ski(public_key), critical=False)
    builder = builder.add_extension(aki, critical=False)
    return builder.sign(signing_key, _signature_hash(signing_key)), warnings


def renewal_seconds(cert, renew_before_days=None, renew_before_percent=None):
    """Seconds before not_after at which the certificate is due."""
    if renew_before_percent is not None:
        pct = float(renew_before_percent)
        if not 0 <= pct < 100:
            raise PgsslCryptoError('renew_before_percent must be between 0 and 99.',
                                   'bad_validity')
        life = (not_after(cert) - not_before(cert)).total_seconds()
        return life * pct / 100.0
    return float(renew_before_days or 0) * 86400.0


def certificate_reasons(cert, public_key, subject, sans, profile, issuer_cert=None,
                        signing_key=None, now=None, renew_before_days=None,
                        renew_before_percent=None, pathlen=None):
    """Why an existing certificate must be re-issued ([] when it is fine as it is)."""
    now = now or utcnow()
    reasons = []
    if issuer_cert is not None:
        if not is_issued_by(cert, issuer_cert):
            reasons.append('issuer_changed')
    elif not (cert.issuer == cert.subject and signing_key is not None
              and same_public_key(cert.public_key(), signing_key)
              and is_issued_by(cert, cert)):
        reasons.append('issuer_changed')
    if not same_public_key(cert.public_key(), public_key):
        reasons.append('key_changed')
    if name_to_dict(cert.subject) != subject:
        reasons.append('subject_changed')
    if sorted(sans_of(cert)) != sorted(sans):
        reasons.append('san_changed')
    if profile_of(cert) != profile:
        reasons.append('profile_changed')
    elif profile == 'ca':
        bc = _ext(cert, x509.BasicConstraints)
        if bc.path_length != pathlen:
            reasons.append('profile_changed')
    if not_before(cert) > now:
        # signed by a CA node whose clock runs ahead: clients would refuse it until then
        reasons.append('not_yet_valid')
    end = not_after(cert)
    if end <= now:
        reasons.append('expired')
    elif (end - now).total_seconds() <= renewal_seconds(cert, renew_before_days,
                                                        renew_before_percent):
        reasons.append('expiring')
    return reasons


def describe_certificate(cert, now=None):
    """Public facts about one certificate (safe for returns and diffs)."""
    now = now or utcnow()
    end = not_after(cert)
    key = describe_key(cert.public_key())
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    bc = _ext(cert, x509.BasicConstraints)
    try:
        sig = cert.signature_algorithm_oid._name
    except AttributeError:  # pragma: no cover
        sig = cert.signature_algorithm_oid.dotted_string
    return {
        'subject': name_to_dict(cert.subject),
        'subject_string': name_to_string(cert.subject),
        'issuer': name_to_dict(cert.issuer),
        'issuer_string': name_to_string(cert.issuer),
        'subject_alt_names': sans_of(cert),
        'serial_number': str(cert.serial_number),
        'serial_hex': '%x' % cert.serial_number,
        'not_before': iso(not_before(cert)),
        'not_after': iso(end),
        'days_left': int((end - now).total_seconds() // 86400),
        'expired': end <= now,
        'key_type': key['type'],
        'key_size': key['size'],
        'key_curve': key['curve'],
        'public_key_fingerprint': public_key_fingerprint(cert.public_key()),
        'fingerprint_sha256': cert_fingerprint(cert, 'sha256'),
        'fingerprint_sha1': cert_fingerprint(cert, 'sha1'),
        'is_ca': bool(bc is not None and bc.ca),
        'path_length': bc.path_length if bc is not None else None,
        'self_signed': is_self_signed(cert),
        'profile': profile_of(cert),
        'signature_algorithm': sig,
        'subject_key_identifier': _hexcolon(ski.digest) if ski is not None else None,
        'authority_key_identifier': (_hexcolon(aki.key_identifier)
                                     if aki is not None and aki.key_identifier else None),
    }


# --------------------------------------------------------------------------- chains

def dedupe(certs):
    """(unique certificates in input order, duplicates dropped)."""
    seen = set()
    unique, dupes = [], []
    for cert in certs:
        fp = cert.fingerprint(hashes.SHA256())
        if fp in seen:
            dupes.append(cert)
        else:
            seen.add(fp)
            unique.append(cert)
    return unique, dupes


def _expired(cert, now):
    return not_after(cert) <= now or not_before(cert) > now


def _find_leaf(certs):
    issuers = set()
    for cert in certs:
        for other in certs:
            if other is not cert and is_issued_by(cert, other):
                issuers.add(id(other))
    candidates = [c for c in certs if id(c) not in issuers and not is_self_signed(c)]
    if not candidates:
        candidates = [c for c in certs if id(c) not in issuers]
    non_ca = [c for c in candidates if not is_ca(c)]
    pick = non_ca or candidates
    if len(pick) != 1:
        raise PgsslCryptoError(
            'Cannot tell which certificate is the leaf: %s. Give exactly one end-entity '
            'certificate.' % ', '.join(name_to_string(c.subject) for c in pick) if pick else
            'No certificate to build a chain from.', 'chain_leaf')
    return pick[0]


def build_chain(certs, anchors=None, include_root=False, now=None):
    """Order ``certs`` into the chain PostgreSQL serves as ``ssl_cert_file``.

    Leaf first, then each issuer in turn. Among alternative paths the best one wins:
    ending at a trust anchor (``anchors``; any self-signed root when none are given), then
    with no expired link, then shortest. Returns a dict with ``chain`` (certificates to write),
    ``root`` (the anchor reached or None), ``complete`` and ``dropped`` [(cert, reason)].
    """
    now = now or utcnow()
    anchors = list(anchors or [])
    unique, dupes = dedupe(list(certs))
    leaf = _find_leaf(unique)
    if _expired(leaf, now):
        raise PgsslCryptoError(
            'The certificate %s itself is expired or not yet valid (%s to %s); no chain can make '
            'it acceptable.' % (name_to_string(leaf.subject), iso(not_before(leaf)),
                                iso(not_after(leaf))), 'leaf_expired')
    # an expired link can never help a client: it leaves the pool whether or not an anchor
    # was given (the DST Root CA X3 cross-sign of Let's Encrypt's fullchain.pem)
    expired_links = [c for c in unique if c is not leaf and _expired(c, now)]
    unique = [c for c in unique if c is leaf or not _expired(c, now)]
    pool = unique + [a for a in anchors
                     if a.fingerprint(hashes.SHA256()) not in
                     set(c.fingerprint(hashes.SHA256()) for c in unique)]
    anchor_fps = set(a.fingerprint(hashes.SHA256()) for a in anchors)
    best = {'score': None, 'path': None}

    def trusted(cert):
        if anchor_fps:
            return cert.fingerprint(hashes.SHA256()) in anchor_fps
        return is_self_signed(cert)

    def walk(path):
        tip = path[-1]
        ends = trusted(tip) or is_self_signed(tip)
        if ends or len(path) > 10:
            ok = trusted(tip)
            expired = sum(1 for c in path if _expired(c, now))
            score = (1 if ok else 0, -expired, -len(path))
            if best['score'] is None or score > best['score']:
                best['score'], best['path'] = score, list(path)
            return
        parents = [c for c in pool if c not in path and is_issued_by(tip, c)]
        if not parents:
            score = (0, -sum(1 for c in path if _expired(c, now)), -len(path))
            if best['score'] is None or score > best['score']:
                best['score'], best['path'] = score, list(path)
            return
        for parent in parents:
            walk(path + [parent])

    walk([leaf])
    path = best['path']
    complete = best['score'][0] == 1
    root = path[-1] if is_self_signed(path[-1]) or trusted(path[-1]) else None
    out = list(path)
    if root is not None and not include_root and len(out) > 1:
        out = out[:-1]
    dropped = [(c, 'duplicate') for c in dupes]
    for cert in expired_links:
        cross = not is_self_signed(cert) and any(
            cert.subject == other.subject and is_self_signed(other) for other in pool)
        dropped.append((cert, 'expired_cross_sign' if cross else 'expired'))
    in_path = set(id(c) for c in path)
    for cert in unique:
        if id(cert) in in_path:
            continue
        if _expired(cert, now):
            reason = 'expired'
        elif any(is_issued_by(cert, other) and _expired(other, now) for other in pool):
            reason = 'expired_cross_sign'
        elif any(cert.subject == c.subject for c in path):
            reason = 'alternative_path'
        else:
            reason = 'not_in_path'
        dropped.append((cert, reason))
    if root is not None and not include_root and len(path) > 1:
        if any(root is c for c in unique):
            dropped.append((root, 'root'))
    return {'chain': out, 'root': root, 'complete': complete, 'dropped': dropped,
            'path': path}


def build_bundle(certs, now=None, drop_expired=True):
    """A CA bundle: unique CA certificates in input order, expired ones dropped."""
    now = now or utcnow()
    unique, dupes = dedupe(list(certs))
    bundle, dropped = [], [(c, 'duplicate') for c in dupes]
    for cert in unique:
        if not is_ca(cert):
            dropped.append((cert, 'not_a_ca'))
        elif drop_expired and _expired(cert, now):
            dropped.append((cert, 'expired'))
        else:
            bundle.append(cert)
    if not bundle:
        raise PgsslCryptoError('No usable CA certificate for the bundle.', 'empty_bundle')
    return {'chain': bundle, 'dropped': dropped}


def verify_path(chain, anchors, now=None):
    """Check that ``chain`` (leaf first) links up to one of ``anchors``.

    Returns a list of problems [(code, message)] ([] when it verifies).
    """
    now = now or utcnow()
    problems = []
    for index, cert in enumerate(chain):
        if _expired(cert, now):
            problems.append(('chain_expired_link', 'certificate #%d (%s) is expired or not yet '
                             'valid' % (index + 1, name_to_string(cert.subject))))
    for index in range(len(chain) - 1):
        if not is_issued_by(chain[index], chain[index + 1]):
            problems.append(('chain_order', 'certificate #%d (%s) is not issued by the next one '
                             '(%s)' % (index + 1, name_to_string(chain[index].subject),
                                       name_to_string(chain[index + 1].subject))))
    if anchors:
        tip = chain[-1]
        ok = any(tip.fingerprint(hashes.SHA256()) == a.fingerprint(hashes.SHA256())
                 or is_issued_by(tip, a) for a in anchors)
        if not ok:
            # the anchor may sit inside the chain (root included in the file)
            ok = any(c.fingerprint(hashes.SHA256()) == a.fingerprint(hashes.SHA256())
                     for c in chain for a in anchors)
        if not ok:
            problems.append(('chain_untrusted', 'the chain does not lead to any of the given CA '
                             'certificates (last link issued by %s)' % name_to_string(tip.issuer)))
    return problems


# --------------------------------------------------------------------------- libpq host name rules

def _wildcard_match(pattern, host):
    pattern = pattern.lower().rstrip('.')
    host = host.lower().rstrip('.')
    if pattern.startswith('*.'):
        suffix = pattern[1:]
        if not host.endswith(suffix):
            return False
        label = host[:-len(suffix)]
        return bool(label) and '.' not in label
    return pattern == host


def hostname_matches(cert, host):
    """Would libpq's sslmode=verify-full accept ``cert`` for ``host``?

    dNSName SANs match (with a single-label leading wildcard); iPAddress SANs match an address
    host; the CN is consulted only when there is no dNSName SAN (and, for an address host, no
    iPAddress SAN).
    """
    try:
        host_ip = ipaddress.ip_address(host)
    except ValueError:
        host_ip = None
    dns, ips = [], []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = ext.get_values_for_type(x509.DNSName)
        ips = ext.get_values_for_type(x509.IPAddress)
    except x509.ExtensionNotFound:
        pass
    if host_ip is not None:
        if any(ip == host_ip for ip in ips):
            return True
    elif any(_wildcard_match(name, host) for name in dns):
        return True
    if dns or (host_ip is not None and ips):
        return False
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        return False
    if host_ip is not None:
        return cns[0].value == str(host_ip)
    return _wildcard_match(cns[0].value, host)


# --------------------------------------------------------------------------- PostgreSQL key file rule

def key_file_problem(st_mode, st_uid, server_uid):
    """PostgreSQL's rule for ssl_key_file; None when acceptable, else (code, message)."""
    if not stat.S_ISREG(st_mode):
        return ('key_file_type', 'the key file is not a regular file')
    perms = stat.S_IMODE(st_mode)
    if st_uid != server_uid and st_uid != 0:
        return ('key_file_owner', 'the key file must be owned by the database server user or '
                'root (owner uid %d)' % st_uid)
    if st_uid == server_uid and perms & (stat.S_IRWXG | stat.S_IRWXO):
        return ('key_file_mode', 'the key file has mode %04o; owned by the server user it must '
                'be u=rw (0600) or less' % perms)
    if st_uid == 0 and st_uid != server_uid and perms & (stat.S_IWGRP | stat.S_IXGRP | stat.S_IRWXO):
        return ('key_file_mode', 'the key file has mode %04o; owned by root it must be '
                'u=rw,g=r (0640) or less' % perms)
    return None


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
        plan['warnings'].append('The existing key differs from the request (%s) and regenerate=never '
                                'keeps it.' % ', '.join(reasons))
        return plan
    if regenerate == 'fail':
        raise PgsslCryptoError('The existing key differs from the request (%s); regenerate=fail '
                               'refuses to replace it.' % ', '.join(reasons), 'key_differs')
    plan['action'] = 'rewrite' if reasons == ['encryption_changed'] else 'regenerate'
    return plan


# --------------------------------------------------------------------------- certificate_info analysis

PROBLEM_CODES = ('expired', 'not_yet_valid', 'expiring', 'chain_order', 'chain_untrusted',
                 'chain_expired_link', 'key_mismatch', 'hostname_mismatch', 'no_dns_san',
                 'key_file_owner', 'key_file_mode', 'key_file_type', 'ed25519_signature',
                 'weak_key', 'weak_signature', 'private_key_in_file')


def analyze(certs, anchors=None, key=None, hostnames=None, key_stat=None, server_uid=None,
            now=None, warn_days=30):
    """Everything certificate_info reports, as plain values, plus a ``problems`` list.

    ``certs`` is the file content in order (leaf first, as PostgreSQL reads ssl_cert_file);
    ``key_stat`` is (st_mode, st_uid) of the key file when it should be checked against
    PostgreSQL's rule for ``server_uid``.
    """
    now = now or utcnow()
    problems = []

    def problem(code, message):
        problems.append({'code': code, 'message': message})

    described = [describe_certificate(c, now) for c in certs]
    leaf = certs[0]
    info = described[0]
    if not_after(leaf) <= now:
        problem('expired', 'the certificate %s expired on %s' % (info['subject_string'],
                                                                 info['not_after']))
    elif not_before(leaf) > now:
        problem('not_yet_valid', 'the certificate %s is not valid before %s'
                % (info['subject_string'], info['not_before']))
    elif info['days_left'] < warn_days:
        problem('expiring', 'the certificate %s expires in %d days (%s)'
                % (info['subject_string'], info['days_left'], info['not_after']))
    chain_problems = verify_path(certs, anchors or [], now)
    for code, message in chain_problems:
        if code == 'chain_expired_link' and message.startswith('certificate #1 '):
            continue  # the leaf's own validity is reported above
        problem(code, message)
    seen = set()
    for cert in list(certs) + list(anchors or []):
        for code, message in weaknesses(cert):
            if message not in seen:
                seen.add(message)
                problem(code, message)
    if key is not None and key_weakness(key.public_key()):
        problem('weak_key', 'the private key is %s' % key_weakness(key.public_key()))
    if leaf.signature_hash_algorithm is None:  # Ed25519/Ed448 signatures carry no hash
        problem('ed25519_signature', 'the certificate is signed with Ed25519, which breaks '
                'SCRAM channel binding in libpq')
    if info['profile'] != 'ca' and not any(s.startswith('DNS:') for s in info['subject_alt_names']):
        problem('no_dns_san', 'the certificate has no DNS subject alternative name; Go clients '
                'refuse CN-only server certificates')
    result = {
        'certificate': info,
        'certificates': described,
        'chain': {
            'length': len(certs),
            'order_ok': not any(c == 'chain_order' for c, _m in chain_problems),
            'verified': (not chain_problems) if anchors else None,
            'expired_links': [d['subject_string'] for d in described[1:] if d['expired']],
        },
        'hostnames': {},
        'key': None,
    }
    for host in hostnames or []:
        ok = hostname_matches(leaf, host)
        result['hostnames'][host] = ok
        if not ok:
            problem('hostname_mismatch', 'the certificate does not match host name %r by libpq '
                    'rules (SANs: %s)' % (host, ', '.join(info['subject_alt_names']) or 'none'))
    if key is not None:
        desc = describe_key(key)
        matches = same_public_key(leaf.public_key(), key)
        result['key'] = {'type': desc['type'], 'size': desc['size'], 'curve': desc['curve'],
                         'matches_certificate': matches,
                         'public_key_fingerprint': public_key_fingerprint(key),
                         'file_acceptable_to_postgresql': None}
        if not matches:
            problem('key_mismatch', 'the private key does not belong to the certificate')
    if key_stat is not None and server_uid is not None:
        bad = key_file_problem(key_stat[0], key_stat[1], server_uid)
        if result['key'] is None:
            result['key'] = {}
        result['key']['file_acceptable_to_postgresql'] = bad is None
        result['key']['file_mode'] = '%04o' % stat.S_IMODE(key_stat[0])
        result['key']['file_uid'] = key_stat[1]
        if bad is not None:
            problem(bad[0], bad[1])
    result['problems'] = problems
    return result


# --------------------------------------------------------------------------- CRLs

def load_crl(data):
    data = _to_bytes(data) or b''
    try:
        if data.lstrip().startswith(b'-----'):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise PgsslCryptoError('not a valid CRL (malformed PEM/DER)', 'malformed_crl')


def pem_blocks(data, label, where='the file'):
    """The PEM blocks of type ``label`` in ``data``, framed as OpenSSL's PEM reader demands:
    BEGIN and END lines alone on their line. OpenSSL refuses a file whose END line carries
    anything more ("bad end line"), and PostgreSQL then keeps its old SSL configuration."""
    text = _to_bytes(data).decode('ascii', 'replace')
    begin, end = '-----BEGIN %s-----' % label, '-----END %s-----' % label
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.rstrip('\r')
        if current is None:
            if line.startswith('-----BEGIN '):
                if line.rstrip() != begin:
                    raise PgsslCryptoError('%s line %d: expected %s, found %r'
                                           % (where, number, begin, line[:60]), 'bad_pem')
                current = [line]
            continue
        current.append(line)
        if line.startswith('-----END'):
            if line.rstrip() != end:
                raise PgsslCryptoError('%s line %d: bad end line %r (OpenSSL refuses the whole '
                                       'file)' % (where, number, line[:60]), 'bad_pem')
            blocks.append('\n'.join(current) + '\n')
            current = None
    if current is not None:
        raise PgsslCryptoError('%s: a %s block has no end line' % (where, label), 'bad_pem')
    return blocks


def load_crls(data, where='the CRL file'):
    """Every CRL in a PEM file (as PostgreSQL's ssl_crl_file may hold several), or one DER."""
    raw = _to_bytes(data) or b''
    if not raw.lstrip().startswith(b'-----'):
        return [load_crl(raw)]
    blocks = pem_blocks(raw, 'X509 CRL', where)
    if not blocks:
        raise PgsslCryptoError('%s holds no CRL' % where, 'malformed_crl')
    return [load_crl(b.encode('ascii')) for b in blocks]


def check_serials(serials):
    """Serial numbers as ints; a clear error for anything X.509 cannot hold."""
    out = []
    for serial in serials:
        try:
            value = int(str(serial), 0) if isinstance(serial, str) else int(serial)
        except ValueError:
            raise PgsslCryptoError('Invalid serial number %r.' % (serial,), 'bad_serial')
        if value <= 0 or value.bit_length() > 159:
            raise PgsslCryptoError('Invalid serial number %r: X.509 serials are positive and at '
                                   'most 20 bytes.' % (serial,), 'bad_serial')
        out.append(value)
    return out


def crl_number(crl):
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def build_crl(ca_cert, ca_key, revoked_serials, next_update_days=30, now=None, number=None):
    """A CRL signed by the CA listing ``revoked_serials`` (ints), with a CRLNumber."""
    now = now or utcnow()
    if int(next_update_days) < 1:
        raise PgsslCryptoError('next_update_days must be 1 or more (got %s).' % next_update_days,
                               'bad_next_update')
    revoked_serials = check_serials(revoked_serials)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now - datetime.timedelta(seconds=BACKDATE_SECONDS))
               .next_update(now + datetime.timedelta(days=int(next_update_days))))
    for serial in sorted(set(int(s) for s in revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    ski = _ext(ca_cert, x509.SubjectKeyIdentifier)
    if ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    builder = builder.add_extension(x509.CRLNumber(1 if number is None else int(number)),
                                    critical=False)
    return builder.sign(ca_key, _signature_hash(ca_key))


def dump_crl(crl):
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_serials(crl):
    return sorted(r.serial_number for r in crl)
