# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication links as the servers see them: on a primary, every walsender joined with its
TLS facts (``pg_stat_replication`` with ``pg_stat_ssl``); on a standby, its walreceiver
(``pg_stat_wal_receiver``). The proof of the standby link target and the audit's rows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed

_SENDERS = """
SELECT r.pid, r.application_name, host(r.client_addr) AS client_addr, r.state, r.sync_state,
       s.ssl, s.version, s.cipher, s.client_dn, s.client_serial::text AS client_serial,
       EXTRACT(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8 AS replay_lag_bytes
FROM pg_stat_replication r LEFT JOIN pg_stat_ssl s USING (pid)
ORDER BY r.application_name, r.pid
"""

_RECEIVER = """
SELECT pid, status, sender_host, sender_port, conninfo,
       EXTRACT(epoch FROM now() - last_msg_receipt_time)::float8 AS last_message_seconds
FROM pg_stat_wal_receiver
"""


_SHOWN = ('application_name', 'client_addr', 'state', 'ssl', 'client_dn', 'client_serial')


def _senders(conn):
    rows = []
    for row in pgconn.query(conn, _SENDERS):
        row = dict(row)
        row['ssl'] = bool(row['ssl'])
        rows.append(row)
    return rows


def _receiver(conn):
    rows = pgconn.query(conn, _RECEIVER)
    if not rows:
        return None
    row = dict(rows[0])
    text = row.pop('conninfo') or ''
    row['sslmode'] = conninfo.as_dict(text).get('sslmode', 'prefer')
    row['conninfo'] = conninfo.masked(text)
    return row


def missing(rows, serials):
    """The expected client certificate serials that no walsender streams with over TLS."""
    seen = set(r['client_serial'] for r in rows if r['ssl'] and r['state'] == 'streaming')
    return [s for s in serials if s not in seen]


def read(step):
    p = step.params
    conn = pgconn.connect(pgconn.login_params(p))
    try:
        in_recovery = pgconn.query(conn, 'SELECT pg_is_in_recovery() AS r')[0]['r']
        result = {'changed': False, 'role': 'standby' if in_recovery else 'primary'}
        result['receiver'] = _receiver(conn) if in_recovery else None
        want = [str(s) for s in p['expect_serials'] or []]
        deadline = time.time() + p['timeout']
        while True:
            rows = _senders(conn)
            lacking = missing(rows, want)
            if not lacking or time.time() >= deadline:
                break
            time.sleep(0.2)
        result['standbys'] = rows
        if lacking:
            raise TaskFailed(
                'No standby streams over TLS with the client certificate serial %s within %ds; the '
                'primary sees: %s.'
                % (
                    ', '.join(lacking),
                    p['timeout'],
                    '; '.join('%s from %s %s (TLS %s, %s, serial %s)' % tuple(r[k] for k in _SHOWN) for r in rows)
                    or 'no walsender',
                ),
                standbys=rows,
                missing=lacking,
            )
        return result
    finally:
        conn.close()


def run(module):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _reloadstep as reloadstep
    from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step

    p = module.params
    step = Step(module, p)
    if p['login_host'] or os.geteuid() != 0:
        return read(step)
    return reloadstep.run_as_server_user(module, lambda: read(step), p['server_user'] or 'postgres', [])
