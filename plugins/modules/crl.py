#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: crl
short_description: Keep a certificate revocation list signed by the CA
version_added: 0.1.0
description:
  - Writes a CRL (PEM) listing the given revoked serial numbers, signed by the CA, for
    PostgreSQL's C(ssl_crl_file) (revoked client certificates) or for clients' C(sslcrl).
  - Idempotent. A new CRL is signed only when the list of serials changed, the CA changed, the
    current CRL has no CRL number, or the current CRL is past the renewal point of its validity
    (O(renew_before_days) before its next update). Each new CRL carries a CRL number one higher
    than the previous one.
  - With O(other_crls), the file also holds the CRLs of the other CAs in the chain (for example
    the root's CRL next to the intermediate's). PostgreSQL's C(ssl_crl_file) needs one for every
    CA level when it checks a two-level chain.
  - Serials must be positive and at most 20 bytes, and O(next_update_days) must be 1 or more.
    Anything else is refused before any file is touched.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.ca_signer
  - pgssl.postgresql.cryptography
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports whether a new CRL would be signed.
  diff_mode:
    support: full
    description: Shows the revoked serials before and after.
seealso:
  - module: pgssl.postgresql.certificate
  - name: PostgreSQL ssl_crl_file
    link: https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SSL-CRL-FILE
    description: The server setting for the CRL.
options:
  path:
    description: The CRL file.
    type: path
    required: true
  revoked_serials:
    description: Serial numbers to revoke (decimal, or hex with a C(0x) prefix).
    type: list
    elements: str
    default: []
  next_update_days:
    description: Validity of each CRL in days.
    type: int
    default: 30
  renew_before_days:
    description: Sign a new CRL when the current one's next update is this close.
    type: int
    default: 10
  other_crls:
    description:
      - CRL files of the other CAs in the chain, written after this CA's CRL in the same file.
        Each must be a valid CRL that has not passed its next update.
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Revoke a client certificate
  pgssl.postgresql.crl:
    path: /etc/pgssl/ca/root.crl
    ca_cert_path: /etc/pgssl/ca/ca.crt
    ca_key_path: /etc/pgssl/ca/ca.key
    ca_key_passphrase: "{{ vault_pgssl_ca_passphrase }}"
    revoked_serials:
      - "189461712738001925187348926592379431313"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
revoked_serials:
  description: Serials in the CRL now (decimal strings).
  returned: success
  type: list
  elements: str
next_update:
  description: When clients expect the next CRL (ISO 8601 UTC).
  returned: success
  type: str
crl:
  description: The CRL PEM.
  returned: success, unless check mode would sign a new one
  type: str
crl_number:
  description: The CRL number of this CA's CRL.
  returned: success, unless check mode would sign a new one
  type: int
reasons:
  description: Why a new CRL was (or would be) signed.
  returned: success
  type: list
  elements: str
"""

import datetime
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import ca_signer_argspec, execute


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


def run(module):
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


def main():
    argument_spec = ca_signer_argspec()
    argument_spec.update(
        path=dict(type='path', required=True),
        revoked_serials=dict(type='list', elements='str', default=[]),
        next_update_days=dict(type='int', default=30),
        renew_before_days=dict(type='int', default=10),
        other_crls=dict(type='list', elements='path', default=[]),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, run)


if __name__ == '__main__':
    main()
