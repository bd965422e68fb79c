# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of the crl module (one step), also run by the combined private_ca module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files


_PEM_CRL = re.compile(rb'-----BEGIN X509 CRL-----.+?-----END X509 CRL-----\s*', re.S)


def _serial(text):
    text = str(text).strip().lower()
    try:
        value = int(text, 16) if text.startswith('0x') else int(text)
    except ValueError:
        raise crypto.PgsslCryptoError('Invalid serial number %r.' % text, 'bad_serial')
    return crypto.check_serials([value])[0]


def _other_crls(paths, now):
    blocks = []
    for path in paths:
        data = files.read_input(path, None, 'CRL file')
        found = _PEM_CRL.findall(data)
        if not found:
            found = [crypto.dump_crl(crypto.load_crl(data))]
        for block in found:
            crl = crypto.load_crl(block)
            if _next_update(crl) <= now:
                raise crypto.PgsslCryptoError(
                    'The CRL %s (%s) is past its next update; renew '
                    'it first.' % (path, crypto.name_to_string(crl.issuer)),
                    'crl_expired',
                )
            blocks.append(crypto.dump_crl(crl))
    return b''.join(blocks)


def _next_update(crl):
    if hasattr(crl, 'next_update_utc'):
        return crl.next_update_utc
    return crl.next_update.replace(tzinfo=datetime.timezone.utc)


def crl(module):
    p = module.params
    ca_cert = crypto.load_certificate(files.read_input(p['ca_cert_path'], None, 'CA certificate'), 'The CA certificate')
    ca_key = crypto.load_private_key(
        files.read_input(p['ca_key_path'], None, 'CA key', secret=True), p['ca_key_passphrase'], 'The CA key'
    )
    crypto.check_signer(ca_cert, ca_key, allow_ed25519=True)
    if p['next_update_days'] < 1:
        raise crypto.PgsslCryptoError(
            'next_update_days must be 1 or more (got %d).' % p['next_update_days'], 'bad_next_update'
        )
    wanted = sorted(set(_serial(s) for s in p['revoked_serials']))
    now = crypto.utcnow()
    others = _other_crls(p['other_crls'], now)
    files.check_directory(p['path'])
    raw = files.read_bytes(p['path'], 'CRL file')
    reasons = []
    current = None
    if raw is None:
        reasons.append('missing')
    else:
        try:
            blocks = _PEM_CRL.findall(raw)
            current = crypto.load_crl(blocks[0] if blocks else raw)
        except crypto.PgsslCryptoError:
            reasons.append('unreadable')
    if current is not None:
        if crypto.crl_number(current) is None:
            reasons.append('no_crl_number')
        if crypto.crl_serials(current) != wanted:
            reasons.append('serials_changed')
        if current.issuer != ca_cert.subject or not current.is_signature_valid(ca_cert.public_key()):
            reasons.append('issuer_changed')
        if _next_update(current) - now <= datetime.timedelta(days=p['renew_before_days']):
            reasons.append('expiring')
    result = {'changed': bool(reasons), 'reasons': reasons, 'revoked_serials': [str(s) for s in wanted]}
    crl = current
    if reasons:
        number = (crypto.crl_number(current) or 0) + 1 if current is not None else 1
        crl = crypto.build_crl(ca_cert, ca_key, wanted, p['next_update_days'], now, number=number)
    data = crypto.dump_crl(crl) + others if crl is not None else None
    if not reasons and data != raw:
        reasons.append('other_crls_changed')
    result['changed'] = bool(reasons)
    result['reasons'] = reasons
    result['changed'] = files.converge(module, p['path'], data, result['changed'])
    if reasons and module.check_mode:
        crl = None
    if crl is not None:
        result['crl'] = crypto.dump_crl(crl).decode('ascii')
        result['next_update'] = crypto.iso(_next_update(crl))
        result['crl_number'] = crypto.crl_number(crl)
    if module._diff:
        before = [str(s) for s in crypto.crl_serials(current)] if current is not None else []
        result['diff'] = {
            'before': {'revoked_serials': before},
            'after': {'revoked_serials': result['revoked_serials']},
        }
    return result
