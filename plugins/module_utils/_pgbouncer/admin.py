# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer's admin console, as PgBouncer's own OS user over its unix socket.

PgBouncer lets the user ``pgbouncer`` into the console from its unix socket without a password
when the client process runs as the same OS user as PgBouncer, whatever ``auth_type`` says, so
this needs no credentials: the caller runs it in a child process that has dropped to that user.
The console speaks only the simple query protocol (a client-side cursor here).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer.ini import PgbouncerConfigError


class PgbouncerAdminError(PgbouncerConfigError):
    default_code = 'pgbouncer_admin'


def socket_of(values):
    """(directory, port) of the console from the ini's settings ({key: value})."""
    directory = values.get('unix_socket_dir', '/tmp')
    if not directory:
        raise PgbouncerAdminError(
            'unix_socket_dir is empty: PgBouncer has no unix socket, and the admin console (RELOAD, SHOW '
            'CONFIG) is reached only through it without a password. Set unix_socket_dir.'
        )
    try:
        port = int(values.get('listen_port', '6432'), 0)
    except ValueError:
        raise PgbouncerAdminError('listen_port is not a number.')
    return directory, port


class Console(object):
    def __init__(self, directory, port, timeout=10):
        from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

        psycopg, _trace = pgconn.load_psycopg()
        if psycopg is None:  # pragma: no cover - the module checks first
            raise PgbouncerAdminError('psycopg (3) is needed on the PgBouncer host.')
        self._psycopg = psycopg
        path = os.path.join(directory, '.s.PGSQL.%d' % port)
        try:
            self.conn = psycopg.connect(
                host=directory,
                port=port,
                dbname='pgbouncer',
                user='pgbouncer',
                autocommit=True,
                connect_timeout=max(2, int(timeout)),
            )
        except psycopg.Error as exc:
            raise PgbouncerAdminError(
                'Cannot reach PgBouncer\'s admin console at %s: %s (is PgBouncer running with this '
                'configuration, as this user?)' % (path, pgconn.clean_error(exc))
            )

    def rows(self, command):
        cursor = self._psycopg.ClientCursor(self.conn)
        try:
            cursor.execute(command)
            if cursor.description is None:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except self._psycopg.Error as exc:
            raise PgbouncerAdminError('PgBouncer refused %s: %s' % (command, exc))
        finally:
            cursor.close()

    def version(self):
        text = self.rows('SHOW VERSION')[0]['version']
        digits = text.split()[-1].split('.')
        try:
            return text, tuple(int(d) for d in digits[:3])
        except ValueError:
            return text, ()

    def config(self):
        """{key: {'value', 'default', 'changeable'}} as the running PgBouncer holds them."""
        found = {}
        for row in self.rows('SHOW CONFIG'):
            found[row['key']] = {
                'value': row.get('value') or '',
                'default': row.get('default'),
                'changeable': (row.get('changeable') or 'yes') == 'yes',
            }
        return found

    def reload(self):
        self.rows('RELOAD')

    def close(self):
        try:
            self.conn.close()
        except Exception:  # pylint: disable=broad-except
            pass
