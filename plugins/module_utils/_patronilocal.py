# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni_config with ``scope: local``: the parameters and the pg_hba list in one member's own
patroni.yml (``postgresql.parameters``, ``postgresql.pg_hba``), which win over the dynamic
configuration. The file is read and the plan made as Patroni's user; root rewrites the file in
place (every other byte kept, ``_patroniyaml``); Patroni is asked to reload it (SIGHUP, found
by the file's device and inode), rewrites postgresql.conf and pg_hba.conf and reloads
PostgreSQL; the module waits until the server runs with them, asked over its own socket. A
failure there puts the file back and reloads Patroni again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniproc as patroniproc
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniyaml as pyaml
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo_parser
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

PARAMETERS = ('postgresql', 'parameters')
PG_HBA = ('postgresql', 'pg_hba')


def plan(p):
    """As Patroni's user: what the member's patroni.yml holds and what it would hold."""
    old_text = patroni.read_config(p['config_file'])
    data = pyaml.load(old_text, p['config_file'])
    current = dict(pyaml.get(data, PARAMETERS) or {})
    changes = patroni.parameter_changes(current, p['parameters'])
    edits = [(PARAMETERS + (name,), _yaml_value(value)) for name, value in changes.items()]
    listed = pyaml.get(data, PG_HBA)
    out = {'parameters_changed': sorted(changes), 'previous': {}}
    hba_after = hba_before = None
    if p['pg_hba_lines'] is not None or p['remove_pg_hba']:
        patroni.check_list_args(p)
        hba_before = listed
        hba_after = None if p['remove_pg_hba'] else list(p['pg_hba_lines'])
    elif p['hba_rules'] or p['require_ssl'] != 'none' or p['purge_managed']:
        hba_before = patroni.base_list(listed, p['hba_file'], p['config_file'])
        hba_after, actions = patroni.hba_plan(
            hba_before, p['hba_rules'], p['pg_version'], p['require_ssl'], p['purge_managed']
        )
        if hba_after != hba_before:
            out['hba_actions'] = actions
    hba_changed = (hba_after is not None or hba_before is not None) and hba_after != hba_before
    if hba_changed:
        edits.append((PG_HBA, pyaml.REMOVE if hba_after is None else hba_after))
        out['previous']['pg_hba'] = listed
        out['hba'] = hba_after
    new_text, changed_keys = pyaml.edit(old_text, edits, p['config_file'])
    out['changed'] = bool(changed_keys)
    if out['changed']:
        # the values as the file held them (a YAML boolean or number stays one when put back)
        out['previous']['parameters'] = dict((k, current.get(k)) for k in changes)
        out['old_text'], out['new_text'] = old_text, new_text
    out['secrets'] = sorted(pgconf.secret_values(current))
    out['login'] = local_login(data)
    out['set'] = dict((k, v) for k, v in changes.items() if v is not None)
    return out


def _yaml_value(value):
    if value is None:
        return pyaml.REMOVE
    if isinstance(value, (bool, int)):
        return value
    return str(value)


def local_login(data):
    """Where Patroni's user reaches its own server: the first socket directory and the port of
    ``postgresql.listen`` (peer authentication as that user)."""
    pg = data.get('postgresql') or {}
    sockets = str((pg.get('parameters') or {}).get('unix_socket_directories') or '/var/run/postgresql')
    port = str(pg.get('listen') or '').rpartition(':')[2].strip()
    return {
        'socket': sockets.partition(',')[0].strip() or '/var/run/postgresql',
        'port': int(port) if port.isdigit() else 5432,
    }


def replication_proof(local, deadline):
    """On a replica: its walreceiver streams again, with ``sslmode=verify-full`` in the conninfo
    the server shows (Patroni rewrote primary_conninfo and the walreceiver reconnected). On the
    leader there is nothing to prove. Returns what was seen."""
    psycopg = local_psycopg('replication_verify, for its proof,')
    seen = None
    while True:
        try:
            with local_connect(psycopg, local) as conn:
                if not conn.execute('SELECT pg_is_in_recovery()').fetchone()[0]:
                    return {'role': 'primary'}
                row = conn.execute('SELECT status, conninfo FROM pg_stat_wal_receiver').fetchone()
        except psycopg.Error as exc:
            row, seen = None, pgconn.clean_error(exc)
        if row:
            seen = {'status': row[0], 'sslmode': _conninfo_value(row[1] or '', 'sslmode')}
            if seen == {'status': 'streaming', 'sslmode': 'verify-full'}:
                return dict(seen, role='replica')
        if time.time() > deadline:
            raise patroni.PatroniTlsError(
                'The replica does not stream with sslmode=verify-full (last seen: %s): the leader\'s certificate '
                'does not verify against the CA and its address, or Patroni did not apply the change.' % (seen,),
                'replication_not_verified',
            )
        time.sleep(0.5)


def _conninfo_value(conninfo, key):
    try:
        return conninfo_parser.as_dict(conninfo).get(key)
    except conninfo_parser.ConninfoError:
        return None


def local_psycopg(why):
    """psycopg, for a check made as Patroni's user over the member's own socket."""
    psycopg, _trace = pgconn.load_psycopg()
    if psycopg is None:
        raise patroni.PatroniTlsError('%s needs psycopg (3) on the member.' % why, 'missing_library')
    return psycopg


def local_connect(psycopg, login, **extra):
    """A connection as Patroni's OS user to the same-named role (peer authentication)."""
    import pwd

    return psycopg.connect(
        host=login['socket'],
        port=login['port'],
        dbname='postgres',
        user=pwd.getpwuid(os.geteuid()).pw_name,
        connect_timeout=5,
        **extra,
    )


def _rules(text):
    return [line.strip() for line in text.split('\n') if line.strip() and not line.strip().startswith('#')]


def apply(p, planned):
    """As Patroni's user: SIGHUP, then wait until the server runs with the parameters (no
    restart pending) and, when the list changed, reads a pg_hba.conf holding its rules, loaded
    after it was written."""
    conn = local_connect(local_psycopg('scope=local, to see the change applied,'), planned['login'], autocommit=True)
    with conn:
        pids = patroniproc.signal_reload(planned, p['config_file'])
        deadline = time.time() + p['timeout']
        seen = None
        while True:
            seen = _applied(conn, planned)
            if seen is True:
                return {'pids': pids}
            if time.time() > deadline:
                raise patroni.PatroniError(
                    'Patroni did not apply %s within %ds of its reload: %s.' % (p['config_file'], p['timeout'], seen),
                    'not_applied',
                )
            time.sleep(0.5)


def _applied(conn, planned):
    names = sorted(planned['set'])
    if names:
        rows = conn.execute(
            'SELECT name, setting, pending_restart FROM pg_settings WHERE name = ANY(%s)', (names,)
        ).fetchall()
        have = dict((r[0], (r[1], r[2])) for r in rows)
        for name in names:
            setting, pending = have.get(name, (None, False))
            if pending:
                raise patroni.PatroniError(
                    '%s needs a PostgreSQL restart to take effect; this module never restarts a member.' % name,
                    'pending_restart',
                )
            if setting is None or not pgconf.same_value(setting, planned['set'][name], name):
                return 'the server still runs with %s = %r' % (name, setting)
    if planned.get('hba') is not None:
        hba_file, loaded = conn.execute("SELECT current_setting('hba_file'), pg_conf_load_time()").fetchone()
        raw = files.read_bytes(hba_file, 'pg_hba.conf')
        if raw is None or _rules(txt.decode(raw)) != _rules('\n'.join(planned['hba'])):
            return '%s does not hold the new rules yet' % hba_file
        if loaded.timestamp() < os.stat(hba_file).st_mtime:
            return 'the server has not reloaded %s yet' % hba_file
    return True


def _reload_only(p, planned):
    patroniproc.signal_reload(planned, p['config_file'])
    return {}


def run(module):
    from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed

    p = dict(module.params)
    if not p['config_file']:
        raise patroni.PatroniError('scope=local needs config_file, the patroni.yml the member runs with.', 'bad_value')
    p['config_file'] = os.path.normpath(p['config_file'])
    _made, as_user = slots.slot_owner(module, dict(p, prepare=False, state='status'), 'Patroni', patroni.PatroniError)
    planned = as_user(lambda: plan(p))
    module.no_log_values.update(planned.pop('secrets'))
    module.no_log_values.update(pgconf.secret_values(p['parameters'] or {}))
    old_text, new_text = planned.pop('old_text', None), planned.pop('new_text', None)
    result = {
        'changed': planned['changed'],
        'parameters_changed': planned['parameters_changed'],
        'members': [],
    }
    if 'hba_actions' in planned:
        result['hba_actions'] = planned['hba_actions']
    if planned['changed']:
        result['previous'] = planned['previous']
        if module._diff:
            result['diff'] = {
                'before_header': p['config_file'],
                'after_header': p['config_file'],
                'before': pyaml.masked(old_text),
                'after': pyaml.masked(new_text),
            }
    if not planned['changed'] or module.check_mode:
        return result
    slots.rewrite_text(
        p['config_file'],
        old_text,
        new_text,
        False,
        'Patroni configuration file',
        patroni.PatroniError,
        'patroni_config',
    )
    try:
        result.update(as_user(lambda: apply(p, planned)))
    except (PgsslError, TaskFailed) as exc:
        slots.rewrite_text(
            p['config_file'],
            new_text,
            old_text,
            False,
            'Patroni configuration file',
            patroni.PatroniError,
            'patroni_config',
        )
        as_user(lambda: _reload_only(p, planned))
        raise TaskFailed(
            '%s %s was put back and Patroni reloaded with it.' % (exc, p['config_file']),
            rolled_back=True,
            code=getattr(exc, 'code', None) or getattr(exc, 'facts', {}).get('code') or 'error',
        )
    return result
