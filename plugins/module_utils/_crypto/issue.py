# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issuing: CSRs and certificates, and the planners that say why one must be re-issued."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import datetime
import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    _ext,
    _hexcolon,
    _signature_hash,
    _to_bytes,
    BACKDATE_SECONDS,
    ec,
    ed25519,
    hashes,
    InvalidSignature,
    iso,
    not_after,
    not_before,
    padding,
    PgsslCryptoError,
    rsa,
    serialization,
    UnsupportedAlgorithm,
    utcnow,
    x509,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.keys import (
    describe_key,
    public_key_fingerprint,
    same_public_key,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.names import (
    build_name,
    name_to_dict,
    name_to_string,
    profile_extensions,
    profile_of,
    san_extension,
    sans_of,
)


# --------------------------------------------------------------------------- CSRs


def _check_request(subject, sans, profile):
    if profile in ('server', 'pooler') and not sans and 'CN' not in subject:
        raise PgsslCryptoError('A server certificate needs subject_alt_names or a common name.', 'bad_subject')
    if profile == 'client' and 'CN' not in subject:
        raise PgsslCryptoError('A client certificate needs a common name (the database user).', 'bad_subject')
    if profile == 'ca' and not subject:
        raise PgsslCryptoError('A CA certificate needs a subject (at least a common name).', 'bad_subject')


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
        raise PgsslCryptoError(
            '%s is not a valid certificate signing request (malformed PEM).' % where, 'malformed_csr'
        )
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


# A system CA store holds some 150 certificates; a chain a handful. Past this, a bundle is hostile.
MAX_BUNDLE = 1000


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
        raise PgsslCryptoError('%s holds no valid PEM certificate (malformed PEM).' % where, 'malformed_certificate')
    if len(blocks) > MAX_BUNDLE:
        raise PgsslCryptoError(
            '%s holds %d certificates, more than the %d a bundle may hold here.' % (where, len(blocks), MAX_BUNDLE),
            'bundle_too_large',
        )
    certs = []
    for index, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            raise PgsslCryptoError(
                '%s: certificate #%d is malformed PEM.' % (where, index + 1), 'malformed_certificate'
            )
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
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            pub.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def check_key_pair(cert, key, where='the certificate'):
    if not same_public_key(cert.public_key(), key):
        raise PgsslCryptoError(
            '%s and its private key do not match (key/certificate mismatch).' % where, 'key_mismatch'
        )


MIN_RSA_BITS = 2048
WEAK_HASHES = ('sha1', 'md5')


def key_weakness(public_key):
    """A message when a key is too weak to trust, else None."""
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        return 'an RSA key of %d bits (fewer than %d)' % (public_key.key_size, MIN_RSA_BITS)
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
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
        out.append(('weak_signature', '%s is signed with %s' % (name_to_string(cert.subject), algo.name.upper())))
    return out


def check_signer(ca_cert, ca_key, allow_ed25519=False, allow_weak=False):
    """Refuse what cannot or should not sign certificates."""
    if not is_ca(ca_cert):
        raise PgsslCryptoError(
            'The CA certificate %s is not a CA (basicConstraints CA:TRUE missing); a leaf '
            'certificate cannot sign others.' % name_to_string(ca_cert.subject),
            'not_a_ca',
        )
    ku = _ext(ca_cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise PgsslCryptoError('The CA certificate lacks keyUsage keyCertSign.', 'not_a_ca')
    check_key_pair(ca_cert, ca_key, 'The CA certificate')
    check_signing_key(ca_key, allow_ed25519)
    weak = weaknesses(ca_cert)
    if weak and not allow_weak:
        raise PgsslCryptoError(
            'Refusing to sign with a weak CA: %s. Replace the CA, or set '
            'allow_weak_signer=true.' % '; '.join(m for _c, m in weak),
            weak[0][0],
        )


def check_signing_key(key, allow_ed25519=False):
    if isinstance(key, ed25519.Ed25519PrivateKey) and not allow_ed25519:
        raise PgsslCryptoError(
            'Refusing to sign with an Ed25519 CA key: certificates signed with Ed25519 break SCRAM '
            'channel binding in libpq ("could not find digest for NID UNDEF"). Use an ECDSA or RSA '
            'CA key, or set allow_ed25519_signer=true if your clients never use channel binding.',
            'ed25519_signer',
        )


def new_serial():
    """A random positive 128-bit serial number (top bit set so it is always 16 bytes)."""
    return int(binascii.hexlify(os.urandom(16)), 16) | (1 << 127)


def _ski(public_key):
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def issue_certificate(
    public_key,
    subject,
    sans,
    profile,
    signing_key,
    issuer_cert=None,
    valid_days=365,
    pathlen=None,
    now=None,
    allow_ed25519=False,
):
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
            raise PgsslCryptoError(
                'The CA certificate expired on %s; renew the CA first.' % iso(issuer_end), 'ca_expired'
            )
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
    builder = (
        x509.CertificateBuilder()
        .subject_name(build_name(subject))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(new_serial())
        .not_valid_before(start)
        .not_valid_after(end)
    )
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
            raise PgsslCryptoError('renew_before_percent must be between 0 and 99.', 'bad_validity')
        life = (not_after(cert) - not_before(cert)).total_seconds()
        return life * pct / 100.0
    return float(renew_before_days or 0) * 86400.0


def certificate_reasons(
    cert,
    public_key,
    subject,
    sans,
    profile,
    issuer_cert=None,
    signing_key=None,
    now=None,
    renew_before_days=None,
    renew_before_percent=None,
    pathlen=None,
):
    """Why an existing certificate must be re-issued ([] when it is fine as it is)."""
    now = now or utcnow()
    reasons = []
    if issuer_cert is not None:
        if not is_issued_by(cert, issuer_cert):
            reasons.append('issuer_changed')
    elif not (
        cert.issuer == cert.subject
        and signing_key is not None
        and same_public_key(cert.public_key(), signing_key)
        and is_issued_by(cert, cert)
    ):
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
    elif (end - now).total_seconds() <= renewal_seconds(cert, renew_before_days, renew_before_percent):
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
        'authority_key_identifier': (_hexcolon(aki.key_identifier) if aki is not None and aki.key_identifier else None),
    }
