# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate what a reload would load, before reloading.

pg_file_settings, pg_hba_file_rules and pg_ident_file_mappings read the files on disk, so
their errors are known before the reload. What they cannot see is checked here: the SSL files
exist, the server user can read them, key and certificate pair up, the key file has an owner
and mode PostgreSQL accepts, and the certificate has not expired. A broken SSL setup makes the
server log "SSL configuration was not reloaded" and keep serving the old certificate, and an
expired certificate loads without a word.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgrules as pgrules
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt

SSL_SETTINGS = (
    'ssl',
    'ssl_cert_file',
    'ssl_key_file',
    'ssl_ca_file',
    'ssl_crl_file',
    'ssl_crl_dir',
    'ssl_passphrase_command',
    'ssl_passphrase_command_supports_reload',
)


def user_ids(user):
    """(uid, [gids]) of a user name."""
    entry = pwd.getpwnam(user)
    gids = set([entry.pw_gid])
    for group in grp.getgrall():
        if user in group.gr_mem:
            gids.add(group.gr_gid)
    return entry.pw_uid, sorted(gids)


def _allowed(st, uid, gids, bit_user, bit_group, bit_other):
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & bit_user)
    if st.st_gid in gids:
        return bool(st.st_mode & bit_group)
    return bool(st.st_mode & bit_other)


def readable_by(path, uid, gids):
    """(ok, reason): can ``uid`` (with ``gids``) open ``path`` for reading?"""
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    current = os.sep
    for part in parts[1:-1]:
        current = os.path.join(current, part)
        try:
            st = os.stat(current)
        except OSError as exc:
            return False, 'cannot stat %s: %s' % (current, exc.strerror)
        if not _allowed(st, uid, gids, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
            return False, 'the directory %s cannot be entered by the server user' % current
    try:
        st = os.stat(path)
    except OSError as exc:
        return False, '%s: %s' % (path, exc.strerror)
    if not _allowed(st, uid, gids, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH):
        return False, '%s is not readable by the server user (owner uid %d, mode %04o)' % (
            path,
            st.st_uid,
            stat.S_IMODE(st.st_mode),
        )
    return True, None


def is_on(value):
    return str(value).strip().lower() in ('on', 'true', 'yes', '1')


def check_ssl(values, data_dir, server_uid, server_gids, now=None):
    """Problems [{code, file, message}] in the SSL files a reload would load.

    ``values`` maps the SSL_SETTINGS names to what the server will use after the reload.
    Returns (problems, facts) where facts hold the parsed certificate's fingerprint.
    """
    problems = []
    facts = {'ssl': is_on(values.get('ssl', 'off'))}
    if not facts['ssl']:
        return problems, facts

    def problem(code, path, message):
        problems.append({'code': code, 'file': path, 'message': message})

    def load(setting, what):
        path = cluster.resolve(data_dir, values.get(setting))
        if not path:
            return None, None
        ok, reason = readable_by(path, server_uid, server_gids)
        if not ok:
            problem('unreadable', path, '%s (%s): %s' % (setting, what, reason))
            return path, None
        try:
            data = files.read_bytes(
                path, what, follow=True, limit=files.CRL_LIMIT if setting == 'ssl_crl_file' else files.READ_LIMIT
            )
        except files.PgsslFileError as exc:
            problem('unreadable', path, '%s: %s' % (setting, exc))
            return path, None
        if data is None:
            problem('unreadable', path, '%s: %s does not exist' % (setting, path))
        return path, data

    cert_path, cert_data = load('ssl_cert_file', 'server certificate')
    cert = None
    if cert_data is not None:
        try:
            certs = crypto.load_certificates(cert_data, cert_path)
            cert = certs[0]
            facts['certificate_fingerprint'] = crypto.cert_fingerprint(cert)
            facts['certificate'] = crypto.describe_certificate(cert, now)
            if crypto.not_after(cert) <= (now or crypto.utcnow()):
                problem(
                    'expired',
                    cert_path,
                    'the server certificate %s expired on %s; '
                    'PostgreSQL would load it without a word and every verifying client '
                    'would fail' % (crypto.name_to_string(cert.subject), crypto.iso(crypto.not_after(cert))),
                )
            if crypto.not_before(cert) > (now or crypto.utcnow()):
                problem(
                    'not_yet_valid',
                    cert_path,
                    'the server certificate %s is not valid '
                    'before %s (was it signed on a machine whose clock runs ahead?); every '
                    'verifying client would refuse it until then'
                    % (crypto.name_to_string(cert.subject), crypto.iso(crypto.not_before(cert))),
                )
        except crypto.PgsslCryptoError as exc:
            problem('bad_certificate', cert_path, str(exc))
    key_path, key_data = load('ssl_key_file', 'server key')
    if key_path and key_data is not None:
        st = os.stat(key_path)
        bad = pgrules.key_file_problem(st.st_mode, st.st_uid, server_uid)
        if bad is not None:
            problem(bad[0], key_path, '%s: %s' % (key_path, bad[1]))
        if crypto.pem_is_encrypted(key_data):
            if not values.get('ssl_passphrase_command'):
                problem(
                    'encrypted_key',
                    key_path,
                    'the key %s is encrypted and no '
                    'ssl_passphrase_command is set: the server cannot load it' % key_path,
                )
            elif not is_on(values.get('ssl_passphrase_command_supports_reload', 'off')):
                problem(
                    'encrypted_key',
                    key_path,
                    'the key %s is encrypted and '
                    'ssl_passphrase_command_supports_reload is off: a reload cannot load '
                    'it (restart instead, or enable reload support)' % key_path,
                )
        else:
            try:
                key = crypto.load_private_key(key_data, None, 'The server key %s' % key_path)
                if cert is not None and not crypto.same_public_key(cert.public_key(), key):
                    problem(
                        'key_mismatch',
                        key_path,
                        'the key %s does not belong to the certificate %s' % (key_path, cert_path),
                    )
            except crypto.PgsslCryptoError as exc:
                problem('bad_key', key_path, str(exc))
    ca_path, ca_data = load('ssl_ca_file', 'CA file')
    if ca_data is not None:
        try:
            crypto.pem_blocks(ca_data, 'CERTIFICATE', ca_path)
            crypto.load_certificates(ca_data, ca_path)
        except crypto.PgsslCryptoError as exc:
            problem('bad_ca_file', ca_path, str(exc))
    crl_path, crl_data = load('ssl_crl_file', 'CRL file')
    if crl_data is not None:
        try:
            crypto.load_crls(crl_data, crl_path)
        except crypto.PgsslCryptoError as exc:
            problem('bad_crl_file', crl_path, '%s: %s' % (crl_path, exc))
    return problems, facts


def file_problems(file_settings, hba_rows, ident_rows, hba_file, ident_file):
    """Errors the server views report for the files on disk, as readable messages."""
    problems = []
    for row in file_settings:
        if row.get('error'):
            problems.append(
                {
                    'code': 'config_error',
                    'file': row.get('sourcefile'),
                    'message': '%s:%s: %s%s'
                    % (
                        row.get('sourcefile'),
                        row.get('sourceline'),
                        row['error'],
                        (' (%s)' % row['name']) if row.get('name') else '',
                    ),
                }
            )
    for row in hba_rows:
        problems.append(
            {
                'code': 'hba_error',
                'file': row.get('file_name') or hba_file,
                'message': '%s:%s: %s'
                % (row.get('file_name') or hba_file, row.get('line_number'), row.get('error') or 'invalid line'),
            }
        )
    for row in ident_rows:
        problems.append(
            {
                'code': 'ident_error',
                'file': row.get('file_name') or ident_file,
                'message': '%s:%s: %s'
                % (row.get('file_name') or ident_file, row.get('line_number'), row.get('error') or 'invalid line'),
            }
        )
    return problems


def explain_hba_line(path, number, major):
    """Why PostgreSQL refuses a pg_hba line that pg_hba_file_rules lists without an error text
    (a row whose type is NULL)."""
    try:
        text = txt.read(path)
    except (IOError, OSError, files.PgsslFileError):
        return 'invalid line'
    for line in pghba.parse(text, major):
        if line.number == number:
            if line.kind == 'invalid':
                return 'invalid line %r: %s' % (line.raw.strip(), line.error)
            return 'invalid line %r' % line.raw.strip()
    return 'invalid line'
