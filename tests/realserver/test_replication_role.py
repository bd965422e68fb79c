# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role on a real primary with two standbys made by pg_basebackup -R (PG 18 and PG
14): check mode plans and writes nothing; the site run secures all three and moves each
standby's link to verify-full with its own replication certificate (proven from the primary's
pg_stat_ssl); a second run and the nightly renew change nothing. Then, each under pgbench write
load on the primary: a forced rotation of the replication certificates and of every server
certificate, and on PG 18 the three phases of a CA rollover. No transaction fails, each standby
reconnects at most once per run, the links end on the expected certificates, and the standbys'
data equals the primary's. The largest replay lag and the reconnects of each run are written to
.cache/replication-figures-MAJOR.json (docs/reliability.md)."""

import hashlib
import json
import os
import threading
import pwd
import re
import sys
import time
from subprocess import STDOUT

import psycopg
import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo

import pgfleet
import proc

BASE = '/var/tmp/pgssl-rs-replrole'
CA_DIR = BASE + '-ca'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# major -> (primary, standby, standby), each on its own loopback address
SETS = {'18': ('db76', 'db77', 'db78'), '14': ('db79', 'db80', 'db81')}
# the CA rollover's three phases under load on the newest major only (what they change, the CA
# file and the standbys' certificates, is reloaded the same way on every major); the forced
# rotations of both kinds of certificate run on both
ROLLOVER_MAJOR = max(SETS, key=int)
ADDRESSES = dict(('db%d' % n, '127.0.0.%d' % n) for n in range(76, 82))

INVENTORY = """---
pgssl_servers:
  hosts:
%(hosts)s
  vars:
    # every loopback connection arrives from 127.0.0.1, whatever address the standby has
    server_replication_sources: ['127.0.0.1/32']
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: replication-role-test-only
"""


@pytest.fixture(scope='module', params=sorted(SETS))
def replset(request):
    version = request.param
    base = '%s-%s' % (BASE, version)
    fleet = pgfleet.fresh(base, CA_DIR + '-' + version)
    primary, *standbys = SETS[version]
    hosts = ''
    fleet.up(primary, ADDRESSES[primary], version)
    for name in standbys:
        fleet.standby(name, ADDRESSES[name], primary)
    for name in SETS[version]:
        host = fleet.host(name)
        extra = '' if name == primary else ', server_primary: %s.pgssl.test' % primary
        hosts += '    %s.pgssl.test: {ansible_host: %s, server_cluster: "%s"%s}\n' % (
            name,
            host['ip'],
            host['data_dir'],
            extra,
        )
    path = os.path.join(base, 'inventory.yml')
    with open(path, 'w') as handle:
        handle.write(INVENTORY % {'hosts': hosts, 'ca': CA_DIR + '-' + version})
    yield fleet, path, primary, standbys
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(base, CA_DIR + '-' + version)


def _play(inventory, name, *extra):
    done = proc.run([PLAYBOOK, '-i', inventory, name] + list(extra), timeout=540)
    assert done.returncode == 0, '%s failed:\n%s\n%s' % (name, done.stdout[-8000:], done.stderr[-2000:])
    return done.stdout


def _changed(out, name):
    return int(re.search(r'%s\.pgssl\.test\s*:.*changed=(\d+)' % name, out).group(1))


def _links(fleet, primary):
    """(ssl, client_dn, serial) of each walsender, as the primary sees them."""
    out = fleet.psql(
        primary,
        'SELECT s.ssl, s.client_dn, s.client_serial FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) '
        "WHERE r.state = 'streaming' ORDER BY 3;",
    ).stdout.split()
    return [tuple(line.split('|')) for line in out]


def _conninfo(fleet, standby):
    return conninfo.as_dict(fleet.psql(standby, 'SHOW primary_conninfo;').stdout.strip())


def _wait_links(fleet, primary, count, exclude=(), timeout=30):
    deadline = time.time() + timeout
    while True:
        links = _links(fleet, primary)
        serials = set(link[2] for link in links)
        if len(serials) == count and not serials & set(exclude):
            return links
        assert time.time() < deadline, links
        time.sleep(0.2)


def _digests(fleet, names):
    out = {}
    for name in names:
        host = fleet.host(name)
        for path in (host['config_file'], host['hba_file'], os.path.join(host['data_dir'], 'postgresql.auto.conf')):
            with open(path, 'rb') as handle:
                out[path] = hashlib.sha256(handle.read()).hexdigest()
    return out


class Sampler(threading.Thread):
    """What the primary sees of its walsenders every 0.1 s during a run: each standby's
    walsender pids (a new pid is a reconnect), the largest replay lag in bytes and seconds, and
    the longest stretch with fewer streaming walsenders than standbys."""

    def __init__(self, params, standbys):
        super().__init__(daemon=True)
        self.params, self.standbys = params, standbys
        self.halt = threading.Event()
        self.pids, self.lag_bytes, self.lag_seconds, self.gap, self.errors = set(), 0.0, 0.0, 0.0, []

    def run(self):
        short_since = None
        with psycopg.connect(**self.params, autocommit=True) as conn:
            while not self.halt.is_set():
                rows = conn.execute(
                    "SELECT pid, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8, "
                    "COALESCE(EXTRACT(epoch FROM replay_lag)::float8, 0) FROM pg_stat_replication "
                    "WHERE state = 'streaming'"
                ).fetchall()
                now = time.time()
                for pid, lag_bytes, lag_seconds in rows:
                    self.pids.add(pid)
                    self.lag_bytes = max(self.lag_bytes, lag_bytes or 0.0)
                    self.lag_seconds = max(self.lag_seconds, lag_seconds or 0.0)
                if len(rows) < self.standbys:
                    short_since = short_since or now
                    self.gap = max(self.gap, now - short_since)
                else:
                    short_since = None
                time.sleep(0.1)

    def figures(self):
        return {
            'reconnects': len(self.pids) - self.standbys,
            'max_replay_lag_bytes': int(self.lag_bytes),
            'max_replay_lag_seconds': round(self.lag_seconds, 3),
            'longest_gap_seconds': round(self.gap, 1),
        }


def _under_load(fleet, inventory, primary, standbys, playbook, *extra):
    """``playbook`` run while pgbench writes on the primary (4 clients, 200 transactions a second
    together: a steady stream of WAL that leaves the cores to the run); (its output, the sampler's
    figures)."""
    host = fleet.host(primary)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(os.path.dirname(host['bindir']), 'lib'))
    bench = ['runuser', '-u', 'postgres', '--', os.path.join(host['bindir'], 'pgbench'), '-h', host['socket_dir']]
    bench += ['-p', str(host['port']), '-U', 'postgres']
    if fleet.psql(primary, "SELECT to_regclass('pgbench_history') IS NULL;").stdout.strip() == 't':
        done = proc.run(bench + ['-i', '-s', '1', '-q', 'postgres'], env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    rows_before = int(fleet.psql(primary, 'SELECT count(*) FROM pgbench_history;').stdout)
    sampler = Sampler(fleet.conninfo(primary, sslmode='require'), len(standbys))
    sampler.start()
    log = os.path.join(os.path.dirname(inventory), 'pgbench.log')
    with open(log, 'w') as output:
        writes = bench + ['-T', '600', '-c', '4', '-R', '200', '-n', 'postgres']
        load = proc.spawn(writes, env=env, stdout=output, stderr=STDOUT)
    try:
        time.sleep(2)
        out = _play(inventory, playbook, *extra)
        time.sleep(2)
    finally:
        proc.stop(load, timeout=0)
        sampler.halt.set()
        sampler.join(timeout=10)
    with open(log) as output:
        report = output.read()
    # no client of the write load was cut off or saw an error (pgbench says so as it happens),
    # and it wrote all along
    assert 'aborted' not in report and 'error' not in report.lower(), report[-3000:]
    assert int(fleet.psql(primary, 'SELECT count(*) FROM pgbench_history;').stdout) > rows_before
    return out, sampler.figures()


def _caught_up(fleet, primary, standbys):
    """Each standby replays all the primary wrote, and holds the same rows."""
    lsn = fleet.psql(primary, 'SELECT pg_current_wal_lsn();').stdout.strip()
    count = fleet.psql(primary, 'SELECT count(*) FROM pgbench_history;').stdout.strip()
    for name in standbys:
        deadline = time.time() + 60
        while fleet.psql(name, "SELECT pg_last_wal_replay_lsn() >= '%s';" % lsn).stdout.strip() != 't':
            assert time.time() < deadline, name
            time.sleep(0.2)
        assert fleet.psql(name, 'SELECT count(*) FROM pgbench_history;').stdout.strip() == count


def test_check_mode_plans_the_links_and_writes_nothing(replset):
    fleet, inventory, primary, standbys = replset
    before = _digests(fleet, (primary,) + tuple(standbys))
    out = _play(inventory, 'pgssl.postgresql.site', '--check', '--diff')
    assert _digests(fleet, (primary,) + tuple(standbys)) == before
    for name in standbys:
        assert _changed(out, name) > 0
        assert re.search(r'%s\.pgssl\.test follows %s\.pgssl\.test: not_linked' % (name, primary), out), out[-4000:]
        assert 'sslmode=prefer' in fleet.psql(name, 'SHOW primary_conninfo;').stdout


def test_site_links_every_standby_by_certificate(replset):
    fleet, inventory, primary, standbys = replset
    out = _play(inventory, 'pgssl.postgresql.site')
    for name in standbys:
        link = _conninfo(fleet, name)
        assert link['sslmode'] == 'verify-full' and link['host'] == '%s.pgssl.test' % primary, link
        assert link['hostaddr'] == ADDRESSES[primary] and 'password' not in link, link
        assert link['sslcert'].endswith('/replication-a.crt') and link['sslkey'].endswith('/replication-a.key')
        key = os.stat(link['sslkey'])
        assert key.st_mode & 0o077 == 0 and key.st_uid == pwd.getpwnam('postgres').pw_uid, oct(key.st_mode)
        assert _changed(out, name) > 0
    links = _wait_links(fleet, primary, len(standbys))
    assert all(ssl == 't' and dn == '/CN=replicator' for ssl, dn, _serial in links), links
    # every member takes replication by certificate (the rule is on the standbys too)
    for name in (primary,) + tuple(standbys):
        with open(fleet.host(name)['hba_file']) as handle:
            hba = handle.read()
        assert re.search(r'^hostssl\s+replication\s+replicator\s+127\.0\.0\.1/32\s+cert', hba, re.M), name

    again = _play(inventory, 'pgssl.postgresql.site')
    renew = _play(inventory, 'pgssl.postgresql.renew')
    for name in (primary,) + tuple(standbys):
        assert _changed(again, name) == 0, again[-4000:]
        assert _changed(renew, name) == 0, renew[-4000:]
    assert _links(fleet, primary) == links

    # the audit reports each link as the servers see it
    audit_dir = os.path.join(os.path.dirname(inventory), 'audit')
    os.makedirs(audit_dir, exist_ok=True)
    _play(inventory, 'pgssl.postgresql.audit', '-e', 'pgssl_audit_dir=' + audit_dir)
    with open(os.path.join(audit_dir, 'pgssl-audit.json')) as handle:
        rows = dict((row['host'].split('.')[0], row) for row in json.load(handle))
    assert rows[primary]['replication'] == 'primary of 2, over TLS 2 as /CN=replicator', rows[primary]
    assert all(link['ssl'] for link in rows[primary]['replication_links'])
    for name in standbys:
        assert rows[name]['replication'].endswith('streaming sslmode=verify-full'), rows[name]
    with open(os.path.join(audit_dir, 'pgssl-audit.md')) as handle:
        assert 'primary of 2, over TLS 2' in handle.read()


def _served_serial(fleet, name):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

    host = fleet.host(name)
    probe = pgconn.probe_tls(host['fqdn'], host['port'], hostaddr=host['ip'], timeout=5)
    return crypto.load_certificate(probe['certificate_der']).serial_number


def test_every_rotation_under_write_load(replset):
    fleet, inventory, primary, standbys = replset
    figures = {}

    def serials():
        return set(serial for _ssl, _dn, serial in _links(fleet, primary))

    # the standbys' replication certificates: one reconnect each, onto the other slot
    old = serials()
    out, figures['replication certificates forced'] = _under_load(
        fleet, inventory, primary, standbys, 'pgssl.postgresql.site', '-e', 'server_replication_force=true'
    )
    for name in standbys:
        assert _changed(out, name) > 0 and _conninfo(fleet, name)['sslcert'].endswith('/replication-b.crt')
        slot_dir = os.path.dirname(_conninfo(fleet, name)['sslcert'])
        assert not os.path.exists(os.path.join(slot_dir, 'replication-a.key'))
    links = _wait_links(fleet, primary, len(standbys), exclude=old)
    assert all(ssl == 't' and dn == '/CN=replicator' for ssl, dn, _serial in links), links

    # every server certificate (the primary's included), the replication certificates in order:
    # the walsenders stay, and the renew playbook's serial play does not read a standby's link
    # again once its status phase found it in order (one read per standby, in that phase)
    served = _served_serial(fleet, primary)
    links = serials()
    out, figures['server certificates forced'] = _under_load(
        fleet,
        inventory,
        primary,
        standbys,
        'pgssl.postgresql.renew',
        '-e',
        'server_renew_before_days=100000',
        '-e',
        'server_replication_renew_before_days=30',
    )
    assert _served_serial(fleet, primary) != served
    for name in standbys:
        assert _changed(out, name) > 0
    assert serials() == links
    assert out.count("TASK [pgssl.postgresql.server : The standby's link and replication certificate") == 1, out[-4000:]

    version = [v for v, members in SETS.items() if members[0] == primary][0]
    # a CA rollover, phase by phase
    for phase in ('trust', 'reissue', 'retire') if version == ROLLOVER_MAJOR else ():
        before = serials()
        out, figures['CA rollover, phase %s' % phase] = _under_load(
            fleet, inventory, primary, standbys, 'pgssl.postgresql.ca_rollover', '-e', 'pgssl_rollover_phase=' + phase
        )
        now = _wait_links(fleet, primary, len(standbys), exclude=before if phase == 'reissue' else ())
        assert all(ssl == 't' and dn == '/CN=replicator' for ssl, dn, _serial in now), (phase, now)
        if phase != 'reissue':
            assert serials() == before, phase  # only the reissue gives the standbys new certificates
    # the links end on certificates of the CA, which alone is trusted (a new CA after a rollover)
    for name in standbys:
        link = _conninfo(fleet, name)
        with open(link['sslrootcert']) as handle:
            assert handle.read().count('BEGIN CERTIFICATE') == 1
    for run, numbers in figures.items():
        assert numbers['reconnects'] <= len(standbys), (run, numbers)
    _caught_up(fleet, primary, standbys)
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), '.cache')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, 'replication-figures-%s.json' % version), 'w') as handle:
        json.dump(figures, handle, indent=1)
