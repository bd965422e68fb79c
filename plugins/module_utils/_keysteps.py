# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cores of the private_key, csr and activate modules (one step each), also run in
sequence by the combined tls_prepare and tls_install modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pk8 as pk8


# ------------------------------------------------------------ private_key


def _facts(desc, key):
    return {
        'type': desc['type'],
        'size': desc['size'],
        'curve': desc['curve'],
        'encrypted': desc['encrypted'],
        'public_key_fingerprint': crypto.public_key_fingerprint(key),
    }


def _owners(module):
    return [files.resolve_uid(module.params.get('owner'))]


def _plan(module, existing):
    """Decide; returns the plan dict of crypto.plan_private_key, extended for ``src``."""
    p = module.params
    if not p['src'] and not p['src_content']:
        spec = crypto.normalize_key_request(p['type'], p['size'], p['curve'])
        return crypto.plan_private_key(existing, p['passphrase'], spec, p['regenerate'])
    src_key = crypto.load_private_key(
        files.read_input(p['src'], p['src_content'], 'source key', secret=True), p['src_passphrase'], 'The source key'
    )
    weak = crypto.key_weakness(src_key.public_key())
    if weak:
        raise crypto.PgsslCryptoError('The source key is %s; refusing to install it.' % weak, 'weak_key')
    plan = {'action': 'install', 'reasons': ['missing'], 'key': src_key, 'current': None, 'warnings': []}
    if existing is not None:
        try:
            current = crypto.load_private_key(existing, p['passphrase'], 'The existing key file')
        except crypto.PgsslCryptoError:
            current = None
        if current is None:
            raise crypto.PgsslCryptoError(
                'The existing key %s cannot be read with the given passphrase (or is not a key); '
                'refusing to replace it with src. Move it away first if it is to be replaced.' % p['path'],
                'existing_key_unreadable',
            )
        if current is not None:
            desc = crypto.describe_key(current)
            desc['encrypted'] = crypto.pem_is_encrypted(existing)
            plan['current'] = desc
            same = crypto.same_public_key(current, src_key)
            if same and desc['encrypted'] == bool(p['passphrase']):
                plan.update(action='keep', reasons=[], key=current)
                return plan
            plan['reasons'] = ['src_changed'] if not same else ['encryption_changed']
            plan['old_key'] = current
        else:
            plan['reasons'] = ['unreadable']
    return plan


def _write_pk8(module, key, result):
    """The same key as PKCS#8 DER for pgjdbc, encrypted with the key's passphrase if it has one."""
    path = module.params['pk8_path']
    passphrase = module.params['passphrase']
    files.check_directory(path)
    existing = files.read_bytes(path, 'pk8 file', secret=True, owners=_owners(module))
    changed = not pk8.matches(existing, key, passphrase)
    data = pk8.dump(key, passphrase) if changed and not module.check_mode else None
    changed = files.converge(module, path, data, changed, secret=True)
    result['changed'] = result['changed'] or changed
    result['pk8_path'] = path


def private_key(module):
    p = module.params
    path = p['path']
    if p['pk8_path']:
        pk8.check_passphrase(p['passphrase'])
    files.check_directory(path)
    existing = files.read_bytes(path, 'key file', secret=True, owners=_owners(module))
    plan = _plan(module, existing)
    for warning in plan['warnings']:
        module.warn(warning)
    result = {'changed': False, 'reasons': plan['reasons'] if plan['action'] != 'keep' else []}
    old_key = plan.get('old_key', plan['key'] if plan['action'] != 'install' else None)
    before = _facts(plan['current'], old_key) if plan['current'] else {}
    new_key = False
    if plan['action'] == 'keep':
        key = plan['key']
        facts = before
    else:
        if plan['action'] in ('rewrite', 'install'):
            key = plan['key']
        else:
            spec = crypto.normalize_key_request(p['type'], p['size'], p['curve'])
            key = crypto.generate_private_key(spec)
            new_key = True
        desc = crypto.describe_key(key)
        desc['encrypted'] = bool(p['passphrase'])
        facts = _facts(desc, key)
        result['changed'] = True
        if not module.check_mode:
            saved = files.write_file(
                module,
                path,
                crypto.dump_private_key(key, p['passphrase']),
                secret=True,
                backup=p['backup'] and existing is not None,
            )
            if saved:
                result['backup_file'] = saved
    if module.check_mode and new_key:
        facts['public_key_fingerprint'] = '(new key)'
    diff = {'before': before, 'after': dict(facts), 'before_header': path, 'after_header': path}
    if plan['action'] == 'keep' or not module.check_mode:
        result['changed'] = files.apply_attributes(module, path, result['changed'], secret=True)
    if p['pk8_path'] and not (module.check_mode and new_key):
        _write_pk8(module, key, result)
    elif p['pk8_path']:
        result['pk8_path'] = p['pk8_path']
    result.update(facts)
    result['public_key'] = None if (module.check_mode and new_key) else crypto.public_key_pem(key)
    if module._diff:
        result['diff'] = diff
    return result


# ------------------------------------------------------------ csr


def csr(module):
    p = module.params
    subject = dict(p['subject'] or {})
    if p['common_name']:
        subject['CN'] = p['common_name']
    subject = crypto.normalize_subject(subject)
    sans = crypto.normalize_sans(p['subject_alt_names'])
    # read without following links; the CSR shows only the public key, so the key may belong
    # to the server user while this runs as root
    key_bytes = files.read_bytes(p['privatekey_path'], 'private key file')
    if key_bytes is None:
        files.gap_if_check_mode('the private key file %s does not exist yet' % p['privatekey_path'])
        raise files.PgsslFileError('The private key file %s does not exist.' % p['privatekey_path'])
    key = crypto.load_private_key(
        key_bytes, p['privatekey_passphrase'], where='The private key %s' % p['privatekey_path']
    )
    path = p['path']
    existing = None
    reasons = []
    if path:
        files.check_directory(path)
        raw = files.read_bytes(path, 'CSR file')
        if raw is None:
            reasons = ['missing']
        else:
            try:
                existing = crypto.load_csr(raw, where='The existing CSR %s' % path)
                reasons = crypto.csr_reasons(existing, key, subject, sans, p['profile'])
            except crypto.PgsslCryptoError:
                reasons = ['unreadable']
    result = {'changed': False, 'reasons': reasons}
    if existing is not None and not reasons:
        csr = existing
    else:
        csr = crypto.build_csr(key, subject, sans, p['profile'])
        if path:
            result['changed'] = True
    if path:
        data = crypto.dump_csr(csr) if result['changed'] else None
        result['changed'] = files.converge(module, path, data, result['changed'], backup=p['backup'], result=result)
    facts = crypto.describe_request(csr)
    result.update(facts)
    result.pop('subject_string', None)
    if p['return_content']:
        result['csr'] = crypto.dump_csr(csr).decode('ascii')
    if module._diff and path:
        before = crypto.describe_request(existing) if existing is not None else {}
        result['diff'] = {'before': before, 'after': facts, 'before_header': path, 'after_header': path}
    return result


# ------------------------------------------------------------ activate


def activate(module):
    p = module.params
    key_path, cert_path = p['key_path'], p['certificate_path']
    key_staged = p['key_staged'] or key_path + '.next'
    cert_staged = p['certificate_staged'] or cert_path + '.next'
    for staged, final in ((key_staged, key_path), (cert_staged, cert_path)):
        if files.check_directory(staged) != files.check_directory(final):
            raise files.PgsslFileError('%s and %s must be in the same directory.' % (staged, final))
    # the key may belong to the owner of its directory (the server user) or to root
    owners = [
        st.st_uid
        for st in (files.stat_file(os.path.dirname(os.path.abspath(key_path))), files.stat_file(key_path))
        if st is not None
    ]
    staged_key = files.read_bytes(key_staged, 'staged key', secret=True, owners=owners)
    staged_cert = files.read_bytes(cert_staged, 'staged certificate')
    if staged_key is None and staged_cert is None:
        live = files.read_bytes(cert_path, 'certificate')
        fp = crypto.cert_fingerprint(crypto.load_certificate(live)) if live else None
        return {'changed': False, 'activated': [], 'fingerprint_sha256': fp}
    key_bytes = staged_key if staged_key is not None else files.read_bytes(key_path, 'key', secret=True, owners=owners)
    cert_bytes = staged_cert if staged_cert is not None else files.read_bytes(cert_path, 'certificate')
    if key_bytes is None or cert_bytes is None:
        raise files.PgsslFileError(
            'A staged %s has no %s to go with it; refusing to put half a '
            'pair in place.'
            % ('key' if staged_key is not None else 'certificate', 'certificate' if cert_bytes is None else 'key')
        )
    key = crypto.load_private_key(key_bytes, p['passphrase'], 'The key')
    cert = crypto.load_certificate(cert_bytes, 'The certificate')
    crypto.check_key_pair(cert, key, 'The certificate')
    activated = [path for path, data in ((cert_path, staged_cert), (key_path, staged_key)) if data is not None]
    result = {'changed': True, 'activated': activated, 'fingerprint_sha256': crypto.cert_fingerprint(cert)}
    if module.check_mode:
        return result
    saved = []
    for staged, final, data, secret in (
        (cert_staged, cert_path, staged_cert, False),
        (key_staged, key_path, staged_key, True),
    ):
        if data is None:
            continue
        backup = files.commit(final, files.base_name(staged), backup=p['backup'], secret=secret)
        if backup:
            saved.append(backup)
    if saved:
        result['backup_files'] = saved
    return result
