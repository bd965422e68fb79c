#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: reload
short_description: Validate PostgreSQL's files, reload, and prove the served certificate
version_added: 0.1.0
description:
  - Connects as a superuser and first checks the files on disk. It reads the errors in
    C(pg_file_settings), C(pg_hba_file_rules) (a row without a type is an invalid line too) and,
    on PostgreSQL 15 and later, C(pg_ident_file_mappings).
  - It also checks what those views cannot see. The SSL files the reload would load must exist
    and be readable by the server user. The key and certificate must pair up. The key file owner
    and mode must be acceptable to PostgreSQL. The certificate must not have expired, since
    PostgreSQL loads an expired certificate without a word.
  - If anything is wrong the task fails with file, line and reason, and nothing is reloaded.
  - If all is valid it calls C(pg_reload_conf()) and waits until the server has loaded the
    configuration.
  - With O(expected_certificate_path) or O(expected_fingerprint) it then proves, through its own
    TLS handshake, that the server serves that certificate. On a broken SSL setup the server
    keeps its old SSL configuration while C(SHOW ssl_cert_file) already reports the new path.
  - It never restarts. Settings that need a restart are reported in RV(restart_required).
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.connection
attributes:
  check_mode:
    support: full
    description:
      - Validates what is on disk and reports whether a reload would happen, without reloading.
      - The expected certificate is not compared, since check mode wrote no new files.
  diff_mode:
    support: none
    description: No files are changed.
options:
  server_user:
    description:
      - Operating system user the server runs as, for the readability and key file checks.
        Detected from the owner of the data directory when the module can see it.
    type: str
  expected_certificate_path:
    description: The certificate (file) the server must serve after the reload.
    type: path
  expected_fingerprint:
    description: SHA-256 fingerprint (hex, colons optional) the served certificate must have.
    type: str
  expected_settings:
    description:
      - Settings (name -> value) this run wrote. Before reloading, each must be the value the
        server will apply (the applied row of C(pg_file_settings)); a value that another file
        or an C(ALTER SYSTEM) in C(postgresql.auto.conf) overrides, even one that appeared after
        the files were edited, is refused with the file and line that wins.
      - Values are compared as the server reads them (booleans, units; string settings as text).
    type: dict
  tls_host:
    description:
      - Host name for the TLS probe. Defaults to O(login_host), else the first entry of
        C(listen_addresses) (C(127.0.0.1) for C(*)).
    type: str
  tls_hostaddr:
    description: Address for the TLS probe. Defaults to O(login_hostaddr).
    type: str
  tls_port:
    description: Port for the TLS probe. Defaults to O(login_port).
    type: int
  timeout:
    description: Seconds to wait for the reload to take effect and the certificate to be served.
    type: int
    default: 15
  validate_only:
    description: Only validate, never reload.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Validate, reload and prove the new certificate is served
  pgssl.postgresql.reload:
    login_unix_socket: /var/run/postgresql
    expected_certificate_path: /etc/postgresql/16/main/ssl/server.crt
    tls_host: db1.example.com
  become: true
  become_user: postgres

- name: Over TCP with a password
  pgssl.postgresql.reload:
    login_host: db1.example.com
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
    login_sslmode: verify-full
    login_sslrootcert: /etc/pgssl/root.crt
"""

RETURN = r"""
reloaded:
  description: Whether pg_reload_conf() was called.
  returned: success
  type: bool
problems:
  description: What validation found (empty on success).
  returned: always
  type: list
  elements: dict
ssl:
  description: Whether ssl will be on after the reload.
  returned: success
  type: bool
served_fingerprint:
  description: SHA-256 fingerprint of the certificate the server serves after the reload.
  returned: when ssl is on and the reload happened
  type: str
restart_required:
  description: Settings whose new value waits for a restart (pg_settings.pending_restart).
  returned: success
  type: list
  elements: str
server_version:
  description: Server version number (e.g. 180001).
  returned: success
  type: int
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgcheck as pgcheck
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed, execute


def _future_values(conn):
    """Values of the SSL settings after a reload: files first, else command line, else default."""
    rows = pgconn.query(conn, "SELECT name, setting FROM pg_file_settings "
                              "WHERE applied AND name = ANY(%s)", [list(pgcheck.SSL_SETTINGS)])
    values = dict((r['name'], r['setting']) for r in rows)
    for row in pgconn.query(conn, "SELECT name, setting, boot_val, source FROM pg_settings "
                                  "WHERE name = ANY(%s)", [list(pgcheck.SSL_SETTINGS)]):
        if row['name'] in values:
            continue
        if row['source'] in ('command line', 'environment variable', 'override'):
            values[row['name']] = row['setting']
        else:
            values[row['name']] = row['boot_val']
    return values


def _overridden(conn, wanted):
    """Problems for the settings in ``wanted`` whose value after a reload would differ."""
    if not wanted:
        return []
    rows = pgconn.query(conn, 'SELECT name, setting, sourcefile, sourceline FROM pg_file_settings '
                              'WHERE applied AND name = ANY(%s)', [list(wanted)])
    applied = dict((r['name'], r) for r in rows)
    problems = []
    for name, value in sorted(wanted.items()):
        row = applied.get(name)
        if value is None or row is None:
            continue
        if not pgconf.same_value(value, row['setting'], name):
            problems.append({'code': 'overridden', 'file': row['sourcefile'],
                             'message': '%s would be %r from %s:%s, not %r as this run set it '
                                        '(a later file or ALTER SYSTEM overrides it)'
                                        % (name, row['setting'], row['sourcefile'],
                                           row['sourceline'], value)})
    return problems


def _validate(conn, p, major):
    settings = pgconn.query(conn, 'SELECT sourcefile, sourceline, name, error '
                                  'FROM pg_file_settings WHERE error IS NOT NULL')
    # file_name appeared with include support in PG 16; pg_ident_file_mappings in PG 15
    hba_cols = 'file_name, line_number, error' if major >= 16 else 'line_number, error'
    hba = pgconn.query(conn, 'SELECT %s FROM pg_hba_file_rules '
                             'WHERE error IS NOT NULL OR type IS NULL' % hba_cols)
    ident = []
    if major >= 15:
        ident = pgconn.query(conn, 'SELECT %s FROM pg_ident_file_mappings '
                                   'WHERE error IS NOT NULL' % hba_cols)
    paths = pgconn.query(conn, "SELECT current_setting('hba_file') AS hba, "
                               "current_setting('ident_file') AS ident, "
                               "current_setting('data_directory') AS data, "
                               "current_setting('listen_addresses') AS listen")[0]
    values = _future_values(conn)
    if pgcheck.is_on(values.get('ssl')):
        # pg_hba_file_rules judges hostssl lines by the running server, which may not have SSL
        # yet: this reload turns it on, so those lines will match
        hba = [r for r in hba if 'because SSL is disabled' not in (r.get('error') or '')]
    for row in hba:
        if not row.get('error'):
            row['error'] = pgcheck.explain_hba_line(row.get('file_name') or paths['hba'],
                                                    row.get('line_number'), major)
    problems = pgcheck.file_problems(settings, hba, ident, paths['hba'], paths['ident'])
    server_user = p['server_user']
    if not server_user:
        try:
            import pwd
            server_user = pwd.getpwuid(os.stat(paths['data']).st_uid).pw_name
        except (OSError, KeyError):
            raise TaskFailed('Cannot detect the server user from %s; set server_user.'
                             % paths['data'])
    uid, gids = pgcheck.user_ids(server_user)
    ssl_problems, facts = pgcheck.check_ssl(values, paths['data'], uid, gids)
    problems += _overridden(conn, p['expected_settings'])
    return problems + ssl_problems, facts, paths, values


def _expected_fp(p):
    if p['expected_fingerprint']:
        return p['expected_fingerprint'].lower().replace(':', '')
    if p['expected_certificate_path']:
        data = files.read_input(p['expected_certificate_path'], None, 'expected certificate')
        return crypto.cert_fingerprint(crypto.load_certificate(data)).replace(':', '')
    return None


def _probe_target(p, paths):
    host = p['tls_host'] or p['login_host']
    if not host:
        first = paths['listen'].split(',')[0].strip()
        wildcard = {'*': '127.0.0.1', '': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}
        host = wildcard.get(first, first)
    address = p['tls_hostaddr'] or p['login_hostaddr']
    if not address and p['tls_host'] and p['login_host']:
        address = p['login_host']  # the name to check is tls_host, the way there is login_host
    return host, address, p['tls_port'] or p['login_port']


def run(module):
    p = module.params
    # a passphrase command among the settings is a secret: never in a message or the result
    module.no_log_values.update(pgconf.secret_values(p['expected_settings'] or {}))
    expected = _expected_fp(p)
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        major = conn.info.server_version // 10000
        problems, facts, paths, values = _validate(conn, p, major)
        result = {'changed': False, 'reloaded': False, 'problems': problems,
                  'ssl': facts['ssl'], 'server_version': conn.info.server_version,
                  'restart_required': []}
        if facts.get('certificate_fingerprint'):
            result['certificate_fingerprint'] = facts['certificate_fingerprint']
        if problems:
            raise TaskFailed('Not reloading: %s' % '; '.join(x['message'] for x in problems),
                             **result)
        # in check mode the new files were not written: what is on disk cannot be the new pair
        if expected and not module.check_mode and \
                facts.get('certificate_fingerprint', '').replace(':', '') != expected:
            raise TaskFailed('Not reloading: ssl_cert_file (%s) is not the expected '
                             'certificate.' % values.get('ssl_cert_file'), **result)
        if p['validate_only']:
            return result
        result['changed'] = True
        if module.check_mode:
            return result
        before = pgconn.query(conn, 'SELECT pg_conf_load_time() AS t')[0]['t']
        pgconn.query(conn, 'SELECT pg_reload_conf()')
        deadline = time.time() + p['timeout']
        while True:
            now = pgconn.query(conn, 'SELECT pg_conf_load_time() AS t')[0]['t']
            if now > before:
                break
            if time.time() > deadline:
                raise TaskFailed('The server did not load the configuration within %ss.'
                                 % p['timeout'], **result)
            time.sleep(0.1)
        result['reloaded'] = True
        result['restart_required'] = [r['name'] for r in pgconn.query(
            conn, 'SELECT name FROM pg_settings WHERE pending_restart ORDER BY name')]
    finally:
        conn.close()
    if facts['ssl']:
        host, hostaddr, port = _probe_target(p, paths)
        deadline = time.time() + p['timeout']
        served = probe_error = None
        while True:
            try:
                probe = pgconn.probe_tls(host, port, hostaddr=hostaddr, timeout=5)
                served = (crypto.cert_fingerprint(crypto.load_certificate(
                    probe['certificate_der'])) if probe['ssl'] else None)
                probe_error = None
            except pgconn.PgsslConnError as exc:
                served, probe_error = None, str(exc)
            if served and (not expected or served.replace(':', '') == expected):
                break
            if time.time() > deadline:
                result['served_fingerprint'] = served
                if probe_error:
                    raise TaskFailed('Reloaded, but the TLS probe of %s:%s failed: %s (set '
                                     'tls_host/tls_hostaddr)'
                                     % (hostaddr or host, port, probe_error), **result)
                raise TaskFailed(
                    'The server did not take the new SSL configuration: it serves %s, expected '
                    '%s. PostgreSQL logs "SSL configuration was not reloaded" and keeps its old '
                    'certificate when the new files cannot be loaded; see the server log.'
                    % (served or 'no TLS at all', expected or 'TLS'), **result)
            time.sleep(0.2)
        result['served_fingerprint'] = served
    if result['restart_required']:
        module.warn('These settings wait for a restart: %s' % ', '.join(result['restart_required']))
    return result


def main():
    argument_spec = pgconn.connection_argspec()
    argument_spec.update(
        server_user=dict(type='str'),
        expected_certificate_path=dict(type='path'),
        expected_fingerprint=dict(type='str'),
        expected_settings=dict(type='dict'),
        tls_host=dict(type='str'),
        tls_hostaddr=dict(type='str'),
        tls_port=dict(type='int'),
        timeout=dict(type='int', default=15),
        validate_only=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('expected_certificate_path',
                                                'expected_fingerprint')])
    execute(module, run, needs=('cryptography', 'psycopg'))


if __name__ == '__main__':
    main()
