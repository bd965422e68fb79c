# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni_tls with ``dcs_tls``: Patroni's client to etcd (its DCS) on https, verified against
the fleet CA, presenting the member's certificate.

Patroni 4 reads ``etcd3`` (or ``etcd``) ``protocol``, ``cacert``, ``cert`` and ``key`` when it
starts only: a reload (SIGHUP) takes the new user name and password of the DCS client and
nothing else. So a change of those keys needs a restart of Patroni, which stops and starts
PostgreSQL on that member: done only when the caller opted in (``allow_restart`` and its
``restart_command``), and never on the leader (switch over first).

The certificate and key go into one file, ``dcs-client.pem`` beside the REST API's slots,
named by both ``cert`` and ``key``. Its path never changes; a rotation replaces its content
(atomically), which the DCS client reads at its next connection, so a renewal needs no
restart. ``cacert`` is the ``ca.crt`` the REST API trusts, rewritten in place at a CA rollover.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronilocal as patronilocal
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

PatroniTlsError = patroni.PatroniTlsError
SECTIONS = ('etcd3', 'etcd')
PEM = 'dcs-client.pem'
# what the restart command may print into an error message
MAX_OUTPUT = 2000


def section(data):
    """The DCS section of patroni.yml this module can move to https (etcd3 or etcd)."""
    found = [key for key in SECTIONS if isinstance(data.get(key), dict)]
    if len(found) != 1:
        raise PatroniTlsError(
            'dcs_tls: the configuration needs exactly one etcd3 or etcd section (found %s); other DCSs '
            'are not supported.' % (', '.join(found) or 'none'),
            'patroni_config',
        )
    return found[0]


def pem_path(directory):
    return os.path.join(directory, PEM)


def wanted(p, data, directory):
    """[(path in patroni.yml, value)] of the DCS client."""
    key = section(data)
    pem = pem_path(directory)
    out = [
        ((key, 'protocol'), 'https'),
        ((key, 'cacert'), os.path.join(directory, 'ca.crt')),
        ((key, 'cert'), pem),
        ((key, 'key'), pem),
    ]
    if p['dcs_hosts']:
        for host in p['dcs_hosts']:
            if not host or any(c in host for c in '\r\n,/ '):
                raise PatroniTlsError('dcs_hosts: %r is not HOST:PORT.' % (host,), 'bad_value')
        out.append(((key, 'hosts'), list(p['dcs_hosts'])))
    return out


def restart_keys(changed_keys):
    """The changed settings that only a restart of Patroni applies."""
    return [k for k in changed_keys if k.split('.', 1)[0] in SECTIONS]


def pem_content(paths):
    key = files.read_bytes(paths['key'], 'REST API key')
    cert = files.read_bytes(paths['cert'], 'REST API certificate')
    return (key + cert) if key and cert else None


def pem_stale(directory, paths):
    want = pem_content(paths)
    return want is None or files.read_bytes(pem_path(directory), 'DCS client certificate') != want


def write_pem(directory, paths):
    """The slot's key and certificate into the DCS client's file (0600, Patroni's user)."""
    content = pem_content(paths)
    if content is None:
        raise PatroniTlsError('The slot has no key and certificate for the DCS client yet.', 'missing')
    files.write_atomic(pem_path(directory), content, mode=0o600)


def refuse_leader(local, timeout=30):
    """A restart stops PostgreSQL: on the leader that is an outage, so it is refused (asked as
    Patroni's user over the local socket whether the server is a primary; a server still
    starting, after a switchover demoted it, is waited for within ``timeout``)."""
    psycopg = patronilocal.local_psycopg('A restart, to tell a leader,')
    deadline = time.time() + timeout
    while True:
        try:
            with patronilocal.local_connect(psycopg, local) as conn:
                primary = not conn.execute('SELECT pg_is_in_recovery()').fetchone()[0]
            break
        except psycopg.Error as exc:
            if time.time() > deadline:
                raise PatroniTlsError(
                    'Could not ask the member whether it leads: %s' % pgconn.clean_error(exc), 'not_reachable'
                )
            time.sleep(1)
    if primary:
        raise PatroniTlsError(
            'This member is the leader: the DCS client change needs a restart of Patroni, which would stop the '
            'primary. Switch over first (patronictl switchover), then run again.',
            'leader_restart',
        )
    return {'primary': False}


def run_restart(p):
    """The operator's restart command (argv, no shell), as root, within ``timeout``. Returns when
    it started (the proof wants the DCS reached after it)."""
    started = time.time()
    try:
        done = subprocess.run(
            p['restart_command'],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=p['timeout'],
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PatroniTlsError('restart_command did not end within %d s.' % p['timeout'], 'restart_failed')
    except OSError as exc:
        raise PatroniTlsError('restart_command could not run: %s' % exc, 'restart_failed')
    if done.returncode != 0:
        raise PatroniTlsError(
            'restart_command exited with %d: %s'
            % (done.returncode, done.stdout.decode('utf-8', 'replace')[-MAX_OUTPUT:].strip()),
            'restart_failed',
        )
    return started


def fresh(member, started):
    """The member is back after the restart: running (or streaming) and in touch with the DCS
    since the restart began. None when it is, else what is missing."""
    if not member:
        return 'the member is not in the cluster view'
    if member.get('state') not in ('running', 'streaming'):
        return 'the member is %s' % member.get('state')
    seen = member.get('dcs_last_seen')
    if not isinstance(seen, (int, float)) or seen < int(started):
        return 'the member has not reached the DCS since the restart (dcs_last_seen %s)' % (seen,)
    return None
