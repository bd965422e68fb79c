# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role on a real primary with two standbys made by pg_basebackup -R (PG 18 and PG
14): the site run secures all three and moves each standby's link to verify-full with its own
replication certificate (proven from the primary's pg_stat_ssl); a second run and the nightly
renew change nothing; a forced rotation of the replication certificates under pgbench write
load moves each standby to a new certificate with no failed transaction, and the standbys' data
equals the primary's."""

import os
import pwd
import re
import sys
import time
from subprocess import STDOUT

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo

import pgfleet
import proc

BASE = '/var/tmp/pgssl-rs-replrole'
CA_DIR = BASE + '-ca'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# major -> (primary, standby, standby), each on its own loopback address
SETS = {'18': ('db76', 'db77', 'db78'), '14': ('db79', 'db80', 'db81')}
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


def test_site_links_every_standby_by_certificate_then_rotates_under_write_load(replset):
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
    # every member refuses replication without a certificate (the rule is on the standbys too)
    for name in (primary,) + tuple(standbys):
        hba = open(fleet.host(name)['hba_file']).read()
        assert re.search(r'^hostssl\s+replication\s+replicator\s+127\.0\.0\.1/32\s+cert', hba, re.M), name

    again = _play(inventory, 'pgssl.postgresql.site')
    renew = _play(inventory, 'pgssl.postgresql.renew')
    for name in (primary,) + tuple(standbys):
        assert _changed(again, name) == 0, again[-4000:]
        assert _changed(renew, name) == 0, renew[-4000:]
    assert _links(fleet, primary) == links

    # forced rotation of both replication certificates while pgbench writes on the primary
    old = [serial for _ssl, _dn, serial in links]
    host = fleet.host(primary)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(os.path.dirname(host['bindir']), 'lib'))
    bench = ['runuser', '-u', 'postgres', '--', os.path.join(host['bindir'], 'pgbench'), '-h', host['socket_dir']]
    bench += ['-p', str(host['port']), '-U', 'postgres']
    done = proc.run(bench + ['-i', '-s', '1', '-q', 'postgres'], env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    log = os.path.join(os.path.dirname(inventory), 'pgbench.log')
    with open(log, 'w') as output:
        load = proc.spawn(bench + ['-T', '40', '-c', '4', '-n', 'postgres'], env=env, stdout=output, stderr=STDOUT)
    try:
        time.sleep(2)
        rotated = _play(inventory, 'pgssl.postgresql.site', '-e', 'server_replication_force=true')
    finally:
        status = proc.wait(load, timeout=90)
    with open(log) as output:
        report = output.read()
    # no transaction of the write load failed, and no client was cut off
    assert status == 0 and 'aborted' not in report, report[-3000:]
    assert re.search(r'number of transactions actually processed: [1-9]', report), report[-3000:]
    for name in standbys:
        assert _changed(rotated, name) > 0
        link = _conninfo(fleet, name)
        assert link['sslcert'].endswith('/replication-b.crt'), link
        assert not os.path.exists(os.path.join(os.path.dirname(link['sslcert']), 'replication-a.key'))
    links = _wait_links(fleet, primary, len(standbys), exclude=old)
    assert all(ssl == 't' and dn == '/CN=replicator' for ssl, dn, _serial in links), links
    # the standbys replay everything the primary wrote
    lsn = fleet.psql(primary, 'SELECT pg_current_wal_lsn();').stdout.strip()
    count = fleet.psql(primary, 'SELECT count(*) FROM pgbench_history;').stdout.strip()
    for name in standbys:
        deadline = time.time() + 60
        while fleet.psql(name, "SELECT pg_last_wal_replay_lsn() >= '%s';" % lsn).stdout.strip() != 't':
            assert time.time() < deadline, name
            time.sleep(0.2)
        assert fleet.psql(name, 'SELECT count(*) FROM pgbench_history;').stdout.strip() == count
