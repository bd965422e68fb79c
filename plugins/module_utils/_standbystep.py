# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standby link: a standby's ``primary_conninfo`` moved to verified TLS, applied by a
reload (PostgreSQL 13 and later restart the walreceiver on a changed value), proven by the
walreceiver streaming again with the new connection, rolled back when it does not.

The value is read from the running server (``SHOW primary_conninfo`` and ``pg_settings``) and
edited keyword by keyword as libpq reads it (``_pgconninfo``); it is written with ALTER SYSTEM,
so the server does the GUC-file quoting itself. Secret values never leave this step unmasked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed

SSLMODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')


class StandbyError(PgsslError):
    pass


_CONTROL = re.compile('[\x00-\x1f\x7f]')


def wanted_changes(p):
    """{keyword: value or None} this run sets in primary_conninfo. A value with a line break or
    another control character is refused before anything happens: primary_conninfo is one line
    of postgresql.auto.conf (ALTER SYSTEM refuses it too, and libpq cannot carry a NUL)."""
    changes = {'sslmode': p['sslmode']}
    for key in ('sslrootcert', 'sslcert', 'sslkey', 'host', 'hostaddr'):
        if p.get(key):
            bad = _CONTROL.search(p[key])
            if bad:
                raise StandbyError(
                    'The %s value holds the control character %r; primary_conninfo cannot carry it.'
                    % (key, bad.group(0)),
                    'bad_value',
                )
            changes[key] = p[key]
    if p.get('port'):
        changes['port'] = str(p['port'])
    if p.get('remove_password'):
        changes['password'] = None
        changes['passfile'] = None
    return changes


def check_client_files(p, server_uid):
    """The files the walreceiver will open (as the server user) exist as regular files; the key
    is not readable by others (libpq refuses it then, and the standby stops streaming)."""
    problems = []
    for key in ('sslrootcert', 'sslcert', 'sslkey'):
        path = p.get(key)
        if not path or path == 'system':
            continue
        st = files.stat_file(path)
        if st is None:
            problems.append('%s %s does not exist' % (key, path))
        elif not stat.S_ISREG(st.st_mode):
            problems.append('%s %s is not a regular file' % (key, path))
        elif key == 'sslkey':
            mode = stat.S_IMODE(st.st_mode)
            if st.st_uid == server_uid and mode & 0o077:
                problems.append('sslkey %s has mode %04o; libpq wants 0600 or less for its owner' % (path, mode))
            elif st.st_uid == 0 and mode & 0o037:
                problems.append('sslkey %s is owned by root with mode %04o; libpq wants 0640 or less' % (path, mode))
            elif st.st_uid not in (0, server_uid):
                problems.append('sslkey %s is owned by uid %d, neither the server user nor root' % (path, st.st_uid))
    if problems:
        raise StandbyError('The standby could not use its client files: %s.' % '; '.join(problems), 'client_files')


def _one(conn, sql, params=None):
    rows = pgconn.query(conn, sql, params)
    return rows[0] if rows else None


def _receiver(conn):
    return _one(conn, 'SELECT status, conninfo, pid FROM pg_stat_wal_receiver')


def _write(conn, value):
    from psycopg import sql

    # the server writes postgresql.auto.conf itself, with its own quoting of the GUC layer
    pgconn.query(conn, sql.SQL('ALTER SYSTEM SET primary_conninfo = {}').format(sql.Literal(value)))
    pgconn.query(conn, 'SELECT pg_reload_conf()')


class _ConfLine(object):
    """primary_conninfo where the operator set it: a line of postgresql.conf (or a file it
    includes), edited in place as the server reads the file (only the value's characters of that
    line change), and put back byte for byte when the new value does not stream.

    Only as the server user (over the unix socket a child process that has dropped to it): the
    file is that user's to change, and root never rewrites a file the server user chose."""

    def __init__(self, path, number):
        if os.geteuid() == 0:
            raise StandbyError(
                'primary_conninfo is set in %s:%s, which this module edits only as the server user: log '
                'in over the unix socket (leave login_host unset).' % (path, number),
                'conninfo_elsewhere',
            )
        self.path, self.number = path, number
        self.raw = files.read_bytes(path, 'configuration file')
        if self.raw is None:
            raise StandbyError('%s, where primary_conninfo is set, cannot be read.' % path, 'conninfo_elsewhere')
        try:
            self.lines = pgconf.parse(self.raw.decode('utf-8'))
        except UnicodeDecodeError:
            raise StandbyError('%s is not UTF-8 text.' % path, 'conninfo_elsewhere')
        index = pgconf.effective_index(self.lines, 'primary_conninfo')
        if index is None or self.lines[index].number != number:
            raise StandbyError(
                'The server reads primary_conninfo from %s:%s, but that file now sets it elsewhere (it '
                'changed since the last reload); reload, then run again.' % (path, number),
                'conninfo_elsewhere',
            )
        self.mode = stat.S_IMODE(files.stat_file(path).st_mode)

    def _put(self, conn, data):
        files.write_atomic(self.path, data, mode=self.mode)
        pgconn.query(conn, 'SELECT pg_reload_conf()')

    def write(self, conn, value):
        lines, _changes = pgconf.set_settings(self.lines, {'primary_conninfo': value})
        self._put(conn, pgconf.render(lines).encode('utf-8'))

    def restore(self, conn):
        self._put(conn, self.raw)


def _wait_streaming(conn, sslmode, old_pid, timeout):
    """The walreceiver streams again with the wanted sslmode (a new process, or the same one
    when nothing had to reconnect). Returns its row, or None at the deadline."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = _receiver(conn)
        if row and row['status'] == 'streaming' and 'sslmode=%s' % sslmode in (row['conninfo'] or '').split():
            if old_pid is None or row['pid'] != old_pid:
                return row
        time.sleep(0.2)
    return None


def link(step):
    p = step.params
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        in_recovery = _one(conn, 'SELECT pg_is_in_recovery() AS r')['r']
        if not in_recovery:
            return {'changed': False, 'role': 'primary', 'msg': 'Not a standby: nothing to link.'}
        version = conn.info.server_version
        if version < 130000:
            raise StandbyError(
                'PostgreSQL %d.%d applies a changed primary_conninfo only at a restart; this module '
                'never restarts. Change it by hand, then restart the standby.' % (version // 10000, version % 10000),
                'restart_needed',
            )
        setting = _one(conn, "SELECT setting, sourcefile, sourceline FROM pg_settings WHERE name = 'primary_conninfo'")
        current = setting['setting'] or ''
        source = setting['sourcefile']
        data_dir = _one(conn, "SELECT current_setting('data_directory') AS d")['d']
        auto_conf = os.path.join(data_dir, 'postgresql.auto.conf')
        where = None
        if source and os.path.normpath(source) != auto_conf:
            where = _ConfLine(source, setting['sourceline'])
        changes = wanted_changes(p)
        new = conninfo.update(current, changes)
        result = {
            'role': 'standby',
            'changed': conninfo.parse(new) != conninfo.parse(current),
            'conninfo_before': conninfo.masked(current),
            'conninfo': conninfo.masked(new),
            'source': where.path if where else auto_conf,
        }
        if step._diff and result['changed']:
            result['diff'] = {
                'before_header': 'primary_conninfo',
                'after_header': 'primary_conninfo',
                'before': result['conninfo_before'] + '\n',
                'after': result['conninfo'] + '\n',
            }
        if not result['changed'] or step.check_mode:
            return result
        server_uid = os.getuid() if os.getuid() != 0 else files.resolve_uid(p['server_user'] or 'postgres')
        check_client_files(p, server_uid)
        before = _receiver(conn)
        if where:
            where.write(conn, new)
        else:
            _write(conn, new)
        row = _wait_streaming(conn, p['sslmode'], before['pid'] if before else None, p['timeout'])
        if row is None:
            if where:
                where.restore(conn)
            else:
                _write(conn, current)
            back = _wait_streaming(conn, conninfo.as_dict(current).get('sslmode', 'prefer'), None, p['timeout'])
            raise TaskFailed(
                'The standby did not stream again within %ds with the new primary_conninfo (%s); the old '
                'value is back and the standby %s. The server log of the standby says why (a certificate '
                'that does not carry the primary\'s name, a key the server user cannot read, a missing '
                'hostssl replication rule on the primary).'
                % (p['timeout'], result['conninfo'], 'streams again' if back else 'does not stream either'),
                conninfo=result['conninfo'],
                conninfo_before=result['conninfo_before'],
                rolled_back=True,
            )
        result['receiver'] = {'status': row['status'], 'conninfo': row['conninfo'], 'pid': row['pid']}
        return result
    finally:
        conn.close()


def run(module):
    """The module's entry: over the unix socket as the server user (a child process that has
    dropped to it, as the reload does), or over TCP as given."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep
    from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step

    p = module.params
    wanted_changes(p)  # a bad value is refused before any login
    warnings = []
    step = Step(module, p)
    step.warn = warnings.append
    if p['login_host'] or os.geteuid() != 0:
        return link(step)
    return reloadstep.run_as_server_user(module, lambda: link(step), p['server_user'] or 'postgres', warnings)
