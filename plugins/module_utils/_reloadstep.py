# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of the reload module (validate, reload, prove the served certificate), also run
by the combined tls_install module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgcheck as pgcheck
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step, TaskFailed


# ------------------------------------------------------------ reload


def _future_values(conn):
    """Values of the SSL settings after a reload: files first, else command line, else default."""
    rows = pgconn.query(
        conn,
        "SELECT name, setting FROM pg_file_settings WHERE applied AND name = ANY(%s)",
        [list(pgcheck.SSL_SETTINGS)],
    )
    values = dict((r['name'], r['setting']) for r in rows)
    for row in pgconn.query(
        conn,
        "SELECT name, setting, boot_val, source FROM pg_settings WHERE name = ANY(%s)",
        [list(pgcheck.SSL_SETTINGS)],
    ):
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
    rows = pgconn.query(
        conn,
        'SELECT name, setting, sourcefile, sourceline FROM pg_file_settings WHERE applied AND name = ANY(%s)',
        [list(wanted)],
    )
    applied = dict((r['name'], r) for r in rows)
    problems = []
    for name, value in sorted(wanted.items()):
        row = applied.get(name)
        if value is None or row is None:
            continue
        if not pgconf.same_value(value, row['setting'], name):
            problems.append(
                {
                    'code': 'overridden',
                    'file': row['sourcefile'],
                    'message': '%s would be %r from %s:%s, not %r as this run set it '
                    '(a later file or ALTER SYSTEM overrides it)'
                    % (
                        name,
                        pgconf.MASK if name in pgconf.SECRET_SETTINGS else row['setting'],
                        row['sourcefile'],
                        row['sourceline'],
                        pgconf.MASK if name in pgconf.SECRET_SETTINGS else value,
                    ),
                }
            )
    return problems


def _validate(conn, p, major):
    settings = pgconn.query(
        conn, 'SELECT sourcefile, sourceline, name, error FROM pg_file_settings WHERE error IS NOT NULL'
    )
    # file_name appeared with include support in PG 16; pg_ident_file_mappings in PG 15
    hba_cols = 'file_name, line_number, error' if major >= 16 else 'line_number, error'
    hba = pgconn.query(conn, 'SELECT %s FROM pg_hba_file_rules WHERE error IS NOT NULL OR type IS NULL' % hba_cols)
    ident = []
    if major >= 15:
        ident = pgconn.query(conn, 'SELECT %s FROM pg_ident_file_mappings WHERE error IS NOT NULL' % hba_cols)
    paths = pgconn.query(
        conn,
        "SELECT current_setting('hba_file') AS hba, "
        "current_setting('ident_file') AS ident, "
        "current_setting('data_directory') AS data, "
        "current_setting('listen_addresses') AS listen",
    )[0]
    values = _future_values(conn)
    if pgcheck.is_on(values.get('ssl')):
        # pg_hba_file_rules judges hostssl lines by the running server, which may not have SSL
        # yet: this reload turns it on, so those lines will match
        hba = [r for r in hba if 'because SSL is disabled' not in (r.get('error') or '')]
    for row in hba:
        if not row.get('error'):
            row['error'] = pgcheck.explain_hba_line(row.get('file_name') or paths['hba'], row.get('line_number'), major)
    problems = pgcheck.file_problems(settings, hba, ident, paths['hba'], paths['ident'])
    server_user = p['server_user'] or cluster.server_user_of(paths['data'])
    if not server_user:
        raise TaskFailed('Cannot detect the server user from %s; set server_user.' % paths['data'])
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


def reload(module):
    p = module.params
    # a passphrase command among the settings is a secret: never in a message or the result
    module.no_log_values.update(pgconf.secret_values(p['expected_settings'] or {}))
    expected = _expected_fp(p)
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        major = conn.info.server_version // 10000
        problems, facts, paths, values = _validate(conn, p, major)
        result = {
            'changed': False,
            'reloaded': False,
            'problems': problems,
            'ssl': facts['ssl'],
            'server_version': conn.info.server_version,
            'restart_required': [],
        }
        if facts.get('certificate_fingerprint'):
            result['certificate_fingerprint'] = facts['certificate_fingerprint']
        if problems:
            raise TaskFailed('Not reloading: %s' % '; '.join(x['message'] for x in problems), **result)
        # in check mode the new files were not written: what is on disk cannot be the new pair
        if expected and not module.check_mode and facts.get('certificate_fingerprint', '').replace(':', '') != expected:
            raise TaskFailed(
                'Not reloading: ssl_cert_file (%s) is not the expected certificate.' % values.get('ssl_cert_file'),
                **result,
            )
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
                raise TaskFailed('The server did not load the configuration within %ss.' % p['timeout'], **result)
            time.sleep(0.1)
        result['reloaded'] = True
        result['restart_required'] = [
            r['name'] for r in pgconn.query(conn, 'SELECT name FROM pg_settings WHERE pending_restart ORDER BY name')
        ]
    finally:
        conn.close()
    if facts['ssl']:
        host, hostaddr, port = _probe_target(p, paths)
        deadline = time.time() + p['timeout']
        served = probe_error = None
        while True:
            try:
                probe = pgconn.probe_tls(host, port, hostaddr=hostaddr, timeout=5)
                served = (
                    crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der'])) if probe['ssl'] else None
                )
                probe_error = None
            except pgconn.PgsslConnError as exc:
                served, probe_error = None, str(exc)
            if served and (not expected or served.replace(':', '') == expected):
                break
            if time.time() > deadline:
                result['served_fingerprint'] = served
                if probe_error:
                    raise TaskFailed(
                        'Reloaded, but the TLS probe of %s:%s failed: %s (set '
                        'tls_host/tls_hostaddr)' % (hostaddr or host, port, probe_error),
                        **result,
                    )
                raise TaskFailed(
                    'The server did not take the new SSL configuration: it serves %s, expected '
                    '%s. PostgreSQL logs "SSL configuration was not reloaded" and keeps its old '
                    'certificate when the new files cannot be loaded; see the server log.'
                    % (served or 'no TLS at all', expected or 'TLS'),
                    **result,
                )
            time.sleep(0.2)
        result['served_fingerprint'] = served
    if result['restart_required']:
        module.warn('These settings wait for a restart: %s' % ', '.join(result['restart_required']))
    return result


def reload_as_server_user(module, params=None):
    """Validate, reload and prove (``reload``). Over a unix socket the server's peer
    authentication wants the server user: when this runs as root with ``server_user`` set, the
    step runs in a child process that has dropped to that user (psycopg is loaded before, as
    root, so the child reads nothing of the collection's payload)."""
    params = module.params if params is None else params
    warnings = []
    step = Step(module, params)
    step.warn = warnings.append
    user = params['server_user']
    if params['login_host'] or os.geteuid() != 0 or not user:
        try:
            return reload(step)
        finally:
            for warning in warnings:
                module.warn(warning)
    return run_as_server_user(module, lambda: reload(step), user, warnings)


def run_as_server_user(module, call, user, warnings):
    """``call()`` in a child process that has dropped to ``user`` (peer authentication over
    the unix socket); its JSON result, or its failure raised here."""
    import pwd

    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        raise files.PgsslFileError('Refusing to log in for the reload as %s: the server user is not root.' % user)
    # everything the child needs is imported now, while the collection's payload is readable
    # (psycopg where the target has it: the Patroni target's child needs none)
    try:
        import psycopg  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        pass

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        out = {}
        try:
            os.close(read_fd)
            os.initgroups(user, entry.pw_gid)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
            out = {'result': call()}
        except files.CheckModeGap as exc:
            out = {'gap': str(exc)}
        except TaskFailed as exc:
            out = {'failed': str(exc), 'facts': exc.facts}
        except PgsslError as exc:
            out = {'failed': str(exc), 'facts': {'code': exc.code}}
        except Exception as exc:  # pylint: disable=broad-except
            out = {'failed': 'The reload as %s failed: %s: %s' % (user, type(exc).__name__, exc), 'facts': {}}
        finally:
            try:
                out['warnings'] = warnings
                data = json.dumps(out, default=str).encode('utf-8')
                while data:
                    data = data[os.write(write_fd, data) :]
            finally:
                os._exit(0)
    os.close(write_fd)
    chunks = []
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    try:
        out = json.loads(b''.join(chunks).decode('utf-8'))
    except ValueError:
        raise TaskFailed('The reload as %s ended without a result.' % user)
    for warning in out.get('warnings') or []:
        module.warn(warning)
    if 'gap' in out:
        raise files.CheckModeGap(out['gap'])
    if 'failed' in out:
        raise TaskFailed(out['failed'], **(out.get('facts') or {}))
    return out['result']
