# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CRLs: loading, building and reading revocation lists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    _ext,
    _signature_hash,
    _to_bytes,
    BACKDATE_SECONDS,
    PgsslCryptoError,
    serialization,
    utcnow,
    x509,
)


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
                    raise PgsslCryptoError(
                        '%s line %d: expected %s, found %r' % (where, number, begin, line[:60]), 'bad_pem'
                    )
                current = [line]
            continue
        current.append(line)
        if line.startswith('-----END'):
            if line.rstrip() != end:
                raise PgsslCryptoError(
                    '%s line %d: bad end line %r (OpenSSL refuses the whole file)' % (where, number, line[:60]),
                    'bad_pem',
                )
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
            raise PgsslCryptoError(
                'Invalid serial number %r: X.509 serials are positive and at most 20 bytes.' % (serial,), 'bad_serial'
            )
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
        raise PgsslCryptoError('next_update_days must be 1 or more (got %s).' % next_update_days, 'bad_next_update')
    revoked_serials = check_serials(revoked_serials)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(seconds=BACKDATE_SECONDS))
        .next_update(now + datetime.timedelta(days=int(next_update_days)))
    )
    for serial in sorted(set(int(s) for s in revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    ski = _ext(ca_cert, x509.SubjectKeyIdentifier)
    if ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    builder = builder.add_extension(x509.CRLNumber(1 if number is None else int(number)), critical=False)
    return builder.sign(ca_key, _signature_hash(ca_key))


def dump_crl(crl):
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_serials(crl):
    return sorted(r.serial_number for r in crl)
