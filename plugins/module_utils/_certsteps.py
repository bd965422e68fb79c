# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cores of the certificate and certificate_chain modules, also run by the combined sign and
tls_install modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files


# ------------------------------------------------------------ certificate

_FACTS = (
    'subject',
    'subject_alt_names',
    'issuer',
    'serial_number',
    'not_before',
    'not_after',
    'fingerprint_sha256',
    'profile',
    'is_ca',
)


def _signer(p):
    ca_cert_bytes = files.read_input(p['ca_cert_path'], p['ca_cert_content'], 'CA certificate', required=False)
    ca_key_bytes = files.read_input(p['ca_key_path'], p['ca_key_content'], 'CA key', secret=True, required=False)
    if ca_cert_bytes is None and ca_key_bytes is not None:
        raise crypto.PgsslCryptoError(
            'A CA key was given without its CA certificate (ca_cert_path or ca_cert_content).', 'ca_incomplete'
        )
    if ca_cert_bytes is None:
        return None, None
    if ca_key_bytes is None:
        raise crypto.PgsslCryptoError(
            'The CA certificate was given without its key: set ca_key_path or ca_key_content to sign.', 'ca_incomplete'
        )
    ca_cert = crypto.load_certificate(ca_cert_bytes, 'The CA certificate')
    ca_key = crypto.load_private_key(ca_key_bytes, p['ca_key_passphrase'], 'The CA key')
    crypto.check_signer(ca_cert, ca_key, p['allow_ed25519_signer'], p['allow_weak_signer'])
    return ca_cert, ca_key


def _request(p, own_key):
    """(public key, subject, sans) to certify."""
    csr_bytes = files.read_input(p['csr_path'], p['csr_content'], 'CSR', required=False)
    subject = sans = None
    if csr_bytes is not None:
        csr = crypto.load_csr(csr_bytes, 'The CSR')
        public_key = csr.public_key()
        if own_key is not None and not crypto.same_public_key(public_key, own_key):
            raise crypto.PgsslCryptoError('The CSR is for another key than the given private key.', 'csr_key_mismatch')
        subject = crypto.name_to_dict(csr.subject)
        sans = crypto.sans_of(csr)
    elif own_key is not None:
        public_key = own_key.public_key()
    else:
        files.gap_if_check_mode('there is no CSR yet')
        raise crypto.PgsslCryptoError('Nothing to certify: give csr_path, csr_content or a private key.', 'no_request')
    asked_subject, asked_sans = subject, sans
    controlled = bool(p['subject'] or p['common_name']) or p['subject_alt_names'] is not None
    if p['subject'] or p['common_name']:
        wanted = dict(p['subject'] or {})
        if p['common_name']:
            wanted['CN'] = p['common_name']
        subject = crypto.normalize_subject(wanted)
    if p['subject_alt_names'] is not None:
        sans = crypto.normalize_sans(p['subject_alt_names'])
    if csr_bytes is not None and controlled:
        # the controller decides the names: a CSR asking for anything else is refused
        extra = ['%s=%s' % kv for kv in sorted((asked_subject or {}).items()) if (subject or {}).get(kv[0]) != kv[1]]
        extra += [san for san in asked_sans or [] if san not in (sans or [])]
        if extra:
            raise crypto.PgsslCryptoError(
                'The CSR asks for names the signer does not grant: %s (granted: %s). Refusing '
                'to sign it.'
                % (
                    ', '.join(extra),
                    ', '.join(['%s=%s' % kv for kv in sorted((subject or {}).items())] + list(sans or [])) or 'nothing',
                ),
                'csr_names_refused',
            )
    return public_key, subject or {}, sans or []


def certificate(module):
    p = module.params
    path = p['path']
    files.check_directory(path)
    # the sign module loads and decrypts the CA once for every request it signs
    ca_cert, ca_key = p.get('signer') or _signer(p)
    own_key = None
    key_bytes = files.read_input(
        p['privatekey_path'], p['privatekey_content'], 'private key', secret=True, required=False
    )
    if key_bytes is not None:
        own_key = crypto.load_private_key(key_bytes, p['privatekey_passphrase'], 'The private key')
    if ca_cert is None and own_key is None:
        raise crypto.PgsslCryptoError(
            'Give a CA (ca_cert_* and ca_key_*) to sign with, or a private key for a self-signed certificate.',
            'no_signer',
        )
    public_key, subject, sans = _request(p, own_key)
    profile = p['profile']
    valid_days = p['valid_days'] or (3650 if profile == 'ca' else 365)
    cap = p['max_valid_days'] or (7305 if profile == 'ca' else 825)
    if valid_days < 1 or valid_days > cap:
        raise crypto.PgsslCryptoError(
            'valid_days=%d is outside 1 to %d for a %s certificate; set max_valid_days to allow '
            'a longer validity.' % (valid_days, cap, profile),
            'bad_valid_days',
        )
    signing_key = ca_key if ca_cert is not None else own_key
    if not p['allow_weak_signer']:
        for what, key in (('The key to certify', public_key), ('The signing key', signing_key.public_key())):
            weak = crypto.key_weakness(key)
            if weak:
                raise crypto.PgsslCryptoError(
                    '%s is %s; refusing it (allow_weak_signer=true overrides).' % (what, weak), 'weak_key'
                )
    if p['renew_before_percent'] is None and p['renew_before_days'] >= valid_days:
        module.warn(
            'renew_before_days (%d) is not shorter than valid_days (%d): the certificate '
            'will be re-issued on every run.' % (p['renew_before_days'], valid_days)
        )

    raw = files.read_bytes(path, 'certificate file')
    existing = None
    if raw is None:
        reasons = ['missing']
    else:
        try:
            existing = crypto.load_certificate(raw, 'The existing certificate')
            reasons = crypto.certificate_reasons(
                existing,
                public_key,
                subject,
                sans,
                profile,
                issuer_cert=ca_cert,
                signing_key=signing_key,
                renew_before_days=p['renew_before_days'],
                renew_before_percent=p['renew_before_percent'],
                pathlen=p['pathlen'],
            )
        except crypto.PgsslCryptoError:
            reasons = ['unreadable']
    if p['force'] and not reasons:
        reasons = ['force']
    result = {'changed': False, 'reasons': reasons}
    before = {}
    if existing is not None:
        desc = crypto.describe_certificate(existing)
        before = dict((k, desc[k]) for k in _FACTS)
    if not reasons:
        cert = existing
    else:
        # Validate the request fully even in check mode: bad input fails the same way.
        cert, warnings = crypto.issue_certificate(
            public_key,
            subject,
            sans,
            profile,
            signing_key,
            issuer_cert=ca_cert,
            valid_days=valid_days,
            pathlen=p['pathlen'],
            allow_ed25519=p['allow_ed25519_signer'],
        )
        for warning in warnings:
            module.warn(warning)
        result['changed'] = True
        if module.check_mode:
            cert = None
    data = crypto.dump_certificate(cert) if result['changed'] and cert is not None else None
    result['changed'] = files.converge(module, path, data, result['changed'], backup=p['backup'], result=result)
    if cert is not None:
        desc = crypto.describe_certificate(cert)
        after = dict((k, desc[k]) for k in _FACTS)
        result.update(after)
        result['certificate'] = crypto.dump_certificate(cert).decode('ascii')
    else:
        after = {
            'subject': subject,
            'subject_alt_names': sans,
            'profile': profile,
            'fingerprint_sha256': '(new certificate)',
        }
        result.update(subject=subject, subject_alt_names=sans)
    if module._diff:
        result['diff'] = {'before': before, 'after': after, 'before_header': path, 'after_header': path}
    return result


# ------------------------------------------------------------ certificate_chain


def _short(cert):
    return {
        'subject': crypto.name_to_string(cert.subject),
        'issuer': crypto.name_to_string(cert.issuer),
        'fingerprint_sha256': crypto.cert_fingerprint(cert),
        'not_after': crypto.iso(crypto.not_after(cert)),
    }


def _subjects(data):
    try:
        return [crypto.name_to_string(c.subject) for c in crypto.load_certificates(data)]
    except crypto.PgsslCryptoError:
        return ['(unreadable)']


SYSTEM_STORES = ('/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt')


def _certificates(data, where):
    if not data.strip():
        files.gap_if_check_mode('%s is empty (a certificate not issued yet)' % where)
    if b'PRIVATE KEY-----' in data:
        raise crypto.PgsslCryptoError(
            '%s holds a private key; give certificates only (the key is not shown).' % where, 'private_key_in_input'
        )
    return crypto.load_certificates(data, where)


def _system_anchors():
    for path in SYSTEM_STORES:
        data = files.read_bytes(path, 'system CA store')
        if data is not None:
            return crypto.load_certificates(data, path)
    raise files.PgsslFileError('No system CA store found (%s).' % ', '.join(SYSTEM_STORES))


def chain(module):
    p = module.params
    certs = []
    for path in p['certificates']:
        certs.extend(_certificates(files.read_input(path, None, 'certificate file'), path))
    for index, text in enumerate(p['contents']):
        certs.extend(_certificates(text.encode('utf-8'), 'contents[%d]' % index))
    anchors = []
    for path in p['ca_path']:
        anchors.extend(_certificates(files.read_input(path, None, 'CA file'), path))
    for index, text in enumerate(p.get('ca_contents') or []):
        anchors.extend(_certificates(text.encode('utf-8'), 'ca_contents[%d]' % index))
    if p['system_trust']:
        anchors.extend(_system_anchors())
    if not certs:
        raise crypto.PgsslCryptoError('No input certificates: give certificates or contents.', 'no_input')
    if p['kind'] == 'chain':
        built = crypto.build_chain(certs, anchors=anchors, include_root=p['include_root'])
        if p['require_complete'] and not built['complete']:
            raise crypto.PgsslCryptoError(
                'The chain from %s does not reach a trust anchor; the missing issuer is %s.'
                % (crypto.name_to_string(built['path'][0].subject), crypto.name_to_string(built['path'][-1].issuer)),
                'chain_incomplete',
            )
        root = built['root']
        if not anchors:
            module.warn(
                'No trust anchor was given (ca_path or system_trust): the chain was '
                'built but not checked against a root.'
            )
    else:
        built = crypto.build_bundle(certs + anchors, drop_expired=not p['keep_expired'])
        built['complete'] = True
        root = None
    data = b''.join(crypto.dump_certificate(c) for c in built['chain'])
    path = p['path']
    files.check_directory(path)
    existing = files.read_bytes(path, 'chain file')
    result = {
        'changed': existing != data,
        'chain': [_short(c) for c in built['chain']],
        'dropped': [dict(_short(c), reason=reason) for c, reason in built['dropped']],
        'complete': built['complete'],
        'root': crypto.name_to_string(root.subject) if root is not None else None,
        'content': data.decode('ascii'),
    }
    result['changed'] = files.converge(module, path, data, result['changed'], backup=p['backup'], result=result)
    if module._diff:
        result['diff'] = {
            'before': '\n'.join(_subjects(existing)) + '\n' if existing else '',
            'after': '\n'.join(c['subject'] for c in result['chain']) + '\n',
            'before_header': path,
            'after_header': path,
        }
    return result
