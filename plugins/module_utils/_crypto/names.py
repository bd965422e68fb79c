# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names: subjects, SANs and the ca/server/client profiles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    _ext,
    ExtendedKeyUsageOID,
    NameOID,
    PgsslCryptoError,
    rsa,
    x509,
)


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
_NAME_ALIASES.update(
    {
        'organization': 'O',
        'organizational_unit': 'OU',
        'country': 'C',
        'state': 'ST',
        'locality': 'L',
        'email': 'emailAddress',
    }
)


def normalize_subject(subject):
    """Map user keys (CN, common_name, O, ...) to short names; drop empty values."""
    result = {}
    for key, value in (subject or {}).items():
        short = _NAME_ALIASES.get(str(key).lower())
        if short is None:
            raise PgsslCryptoError(
                'Unknown subject field %r: use one of %s.' % (key, ', '.join(f[1] for f in _NAME_FIELDS)), 'bad_subject'
            )
        if value is None or value == '':
            continue
        result[short] = str(value)
    if 'C' in result and len(result['C']) != 2:
        raise PgsslCryptoError('Country (C) must be a two-letter code, got %r.' % result['C'], 'bad_subject')
    return result


_NAME_LIMITS = {'CN': 64, 'O': 64, 'OU': 64, 'L': 128, 'ST': 128, 'C': 2}


def build_name(subject):
    attrs = []
    for _long, short, oid in _NAME_FIELDS:
        if short in subject:
            try:
                attrs.append(x509.NameAttribute(getattr(NameOID, oid), subject[short]))
            except ValueError:
                raise PgsslCryptoError(
                    'The subject field %s has %d characters; X.509 allows 1 '
                    'to %s.' % (short, len(subject[short]), _NAME_LIMITS.get(short, 64)),
                    'bad_subject',
                )
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
                    raise PgsslCryptoError('Invalid IP address %r in subject_alt_names.' % raw, 'bad_san')
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
                'clients are named by DNS and IP SANs only.' % item,
                'unsupported_san',
            )
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

# pooler: a server certificate that also authenticates as a client (PgBouncer presents one
# certificate to its clients and to PostgreSQL)
PROFILES = ('ca', 'server', 'client', 'pooler')


def profile_of(obj):
    """'ca', 'server', 'client', 'pooler' or None, read from the extensions of a certificate or
    CSR."""
    bc = _ext(obj, x509.BasicConstraints)
    if bc is not None and bc.ca:
        return 'ca'
    eku = _ext(obj, x509.ExtendedKeyUsage)
    if eku is not None:
        oids = list(eku)
        if ExtendedKeyUsageOID.SERVER_AUTH in oids and ExtendedKeyUsageOID.CLIENT_AUTH in oids:
            return 'pooler'
        if ExtendedKeyUsageOID.SERVER_AUTH in oids:
            return 'server'
        if ExtendedKeyUsageOID.CLIENT_AUTH in oids:
            return 'client'
    return None


def _key_usage(profile, public_key):
    rsa_key = isinstance(public_key, rsa.RSAPublicKey)
    if profile == 'ca':
        return x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def profile_extensions(profile, public_key, pathlen=None):
    """[(extension, critical)] that a certificate or CSR of this profile carries."""
    if profile not in PROFILES:
        raise PgsslCryptoError('Unknown profile %r: use ca, server, client or pooler.' % (profile,), 'bad_profile')
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
    elif profile == 'pooler':
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        exts.append((x509.ExtendedKeyUsage(usages), False))
    return exts
