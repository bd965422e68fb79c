#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: activate
short_description: Put a staged key and its certificate in place together
version_added: 0.1.0
description:
  - A new server key is made under a staging name (for example C(server.key.next)) and its
    certificate is written as C(server.crt.next). This module then puts both in place in one
    step, so the key and the certificate PostgreSQL reads change together.
  - Before anything moves, the final pair is checked. That pair is the staged key (or the key
    in place) and the staged certificate (or the certificate in place), and the certificate must
    be for that key. A pair that does not match is refused, and nothing moves.
  - The renames happen back to back (certificate, then key) in the same directory, without
    following links. A run killed before this step leaves the previous pair in place, so the
    server restarts with it, and the next run finds the staged key and uses it again.
  - Nothing staged means nothing to do (no change).
author:
  - pgssl.postgresql developers (@pgssl)
requirements:
  - cryptography >= 41.0
attributes:
  check_mode:
    support: full
    description: Checks the pair and reports whether it would be put in place.
  diff_mode:
    support: none
    description: RV(activated) lists what moved.
options:
  key_path:
    description: Where PostgreSQL reads the key (C(ssl_key_file)).
    type: path
    required: true
  key_staged:
    description: The staged key. Default O(key_path) with C(.next) appended.
    type: path
  certificate_path:
    description: Where PostgreSQL reads the certificate (C(ssl_cert_file)).
    type: path
    required: true
  certificate_staged:
    description: The staged certificate. Default O(certificate_path) with C(.next) appended.
    type: path
  passphrase:
    description: Passphrase of an encrypted key.
    type: str
  backup:
    description: Keep the replaced key and certificate (private copies, the newest 3).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: New key and certificate in place together
  pgssl.postgresql.activate:
    key_path: /etc/postgresql/16/main/ssl/server.key
    certificate_path: /etc/postgresql/16/main/ssl/server.crt
  notify: Reload PostgreSQL
"""

RETURN = r"""
activated:
  description: The paths that were (or would be) replaced, certificate first.
  returned: success
  type: list
  elements: str
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate in place after the step.
  returned: success
  type: str
backup_files:
  description: The kept previous files.
  returned: changed and backups were made
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def run(module):
    p = module.params
    key_path, cert_path = p['key_path'], p['certificate_path']
    key_staged = p['key_staged'] or key_path + '.next'
    cert_staged = p['certificate_staged'] or cert_path + '.next'
    for staged, final in ((key_staged, key_path), (cert_staged, cert_path)):
        if files.check_directory(staged) != files.check_directory(final):
            raise files.PgsslFileError('%s and %s must be in the same directory.'
                                       % (staged, final))
    # the key may belong to the owner of its directory (the server user) or to root
    owners = [st.st_uid for st in (files.stat_file(os.path.dirname(os.path.abspath(key_path))),
                                   files.stat_file(key_path)) if st is not None]
    staged_key = files.read_bytes(key_staged, 'staged key', secret=True, owners=owners)
    staged_cert = files.read_bytes(cert_staged, 'staged certificate')
    if staged_key is None and staged_cert is None:
        live = files.read_bytes(cert_path, 'certificate')
        fp = crypto.cert_fingerprint(crypto.load_certificate(live)) if live else None
        return {'changed': False, 'activated': [], 'fingerprint_sha256': fp}
    key_bytes = staged_key if staged_key is not None else \
        files.read_bytes(key_path, 'key', secret=True, owners=owners)
    cert_bytes = staged_cert if staged_cert is not None else \
        files.read_bytes(cert_path, 'certificate')
    if key_bytes is None or cert_bytes is None:
        raise files.PgsslFileError('A staged %s has no %s to go with it; refusing to put half a '
                                   'pair in place.' % ('key' if staged_key is not None else
                                                       'certificate',
                                                       'certificate' if cert_bytes is None
                                                       else 'key'))
    key = crypto.load_private_key(key_bytes, p['passphrase'], 'The key')
    cert = crypto.load_certificate(cert_bytes, 'The certificate')
    crypto.check_key_pair(cert, key, 'The certificate')
    activated = [path for path, data in ((cert_path, staged_cert), (key_path, staged_key))
                 if data is not None]
    result = {'changed': True, 'activated': activated,
              'fingerprint_sha256': crypto.cert_fingerprint(cert)}
    if module.check_mode:
        return result
    saved = []
    for staged, final, data, secret in ((cert_staged, cert_path, staged_cert, False),
                                        (key_staged, key_path, staged_key, True)):
        if data is None:
            continue
        backup = files.commit(final, files.base_name(staged), backup=p['backup'], secret=secret)
        if backup:
            saved.append(backup)
    if saved:
        result['backup_files'] = saved
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key_path=dict(type='path', required=True),
            key_staged=dict(type='path'),
            certificate_path=dict(type='path', required=True),
            certificate_staged=dict(type='path'),
            passphrase=dict(type='str', no_log=True),
            backup=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == '__main__':
    main()
