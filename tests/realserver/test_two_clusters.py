# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two Debian clusters of two majors on one host (15 on 5432, 16 on 5433, each with its own
socket directory), as after a major upgrade: site, renew and audit each reach the right server
with no login variable set. The login socket, the login port and the TLS port come from the
cluster the role found. (Debian here packages 15 only: the 16 cluster is the PyPI build run by
postgresql-common in Debian's layout, /etc/postgresql/16/NAME, pg_createcluster and
pg_ctlcluster, which the harness links in for this module and removes after it.)"""

import json
import os
import re
import sys

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

import pgfleet
import proc

BASE = '/var/tmp/pgssl-rs-twoclusters'
CA_DIR = BASE + '-ca'
ADDRESS = '127.0.0.14'
# name -> (major, port)
CLUSTERS = {'db14': ('15', 5432), 'db16': ('16', 5433)}
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

INVENTORY = """---
pgssl_servers:
  hosts:
%(hosts)s
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: two-clusters-test-only
"""


@pytest.fixture(scope='module')
def inventory():
    fleet = pgfleet.fresh(BASE, CA_DIR)
    hosts = ''
    for name, (major, port) in CLUSTERS.items():
        host = fleet.up(name, ADDRESS, major, layout='debian', port=port)
        assert host['config_dir'] == '/etc/postgresql/%s/%s' % (major, name), host
        # no login variable: only where the cluster is and what clients call it
        hosts += '    %s.pgssl.test: {ansible_host: %s, server_cluster: "%s/%s"}\n' % (name, ADDRESS, major, name)
    path = os.path.join(BASE, 'inventory.yml')
    with open(path, 'w') as handle:
        handle.write(INVENTORY % {'hosts': hosts, 'ca': CA_DIR})
    yield path
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(BASE, CA_DIR)
        pgfleet.forget_debian_from_wheel()


def _play(inventory, name, *extra):
    done = proc.run([PLAYBOOK, '-i', inventory, name] + list(extra), timeout=480)
    assert done.returncode == 0, '%s failed:\n%s\n%s' % (name, done.stdout[-6000:], done.stderr[-2000:])
    return done.stdout


def _changed(out, name):
    return int(re.search(r'%s\.pgssl\.test\s*:.*changed=(\d+)' % name, out).group(1))


def _served_names(port):
    probe = pgconn.probe_tls('db14.pgssl.test', port, hostaddr=ADDRESS, timeout=5)
    assert probe['ssl'], 'no TLS on port %d' % port
    cert = crypto.load_certificate(probe['certificate_der'])
    return crypto.describe_certificate(cert)['subject_alt_names']


def test_site_renew_and_audit_reach_each_cluster_by_its_own_socket_and_port(inventory):
    out = _play(inventory, 'pgssl.postgresql.site')
    assert all(_changed(out, name) > 0 for name in CLUSTERS), out[-3000:]
    for name, (major, port) in CLUSTERS.items():
        names = _served_names(port)
        other = [n for n in CLUSTERS if n != name][0]
        assert 'DNS:%s.pgssl.test' % name in names and 'DNS:%s.pgssl.test' % other not in names, (port, names)
        # the server behind the port is the major of that cluster
        version = pgfleet.Fleet(BASE).psql(name, 'SHOW server_version_num;').stdout.strip()
        assert version.startswith(major), (name, version)
    renew = _play(inventory, 'pgssl.postgresql.renew')
    assert all(_changed(renew, name) == 0 for name in CLUSTERS), renew[-3000:]
    audit_dir = os.path.join(BASE, 'audit')
    os.makedirs(audit_dir)
    _play(inventory, 'pgssl.postgresql.audit', '-e', 'pgssl_audit_dir=' + audit_dir)
    with open(os.path.join(audit_dir, 'pgssl-audit.json')) as handle:
        rows = dict((row['host'], row) for row in json.load(handle))
    for name in CLUSTERS:
        row = rows['%s.pgssl.test' % name]
        assert 'CN=%s.pgssl.test' % name in row['subject'], row
        assert row['tls'] is True or row['tls'] == 'True', row


CHECK_BASE = '/var/tmp/pgssl-rs-checkmode'
CHECK_ADDRESS = '127.0.0.15'
# where the effective "ssl = off" of a fresh cluster lives: name -> (version, port, place)
PLACES = {'cfgmain': ('15', 5432, 'main'), 'cfgconfd': ('15', 5433, 'conf.d'), 'cfgauto': ('18', 5434, 'auto')}


@pytest.fixture(scope='module')
def fresh_inventory():
    fleet = pgfleet.fresh(CHECK_BASE, CHECK_BASE + '-ca')
    hosts = ''
    for name, (version, port, place) in PLACES.items():
        host = fleet.up(name, CHECK_ADDRESS, version, port=port)
        if place == 'conf.d':
            with open(os.path.join(host['config_dir'], 'conf.d', 'zz-ssl.conf'), 'w') as handle:
                handle.write('ssl = off\n')
        elif place == 'auto':
            fleet.psql(name, 'ALTER SYSTEM SET ssl = off;')
        else:
            with open(host['config_file'], 'a') as handle:
                handle.write('\nssl = off\n')
        fleet.psql(name, 'SELECT pg_reload_conf();')
        reference = '15/%s' % name if host['layout'] == 'debian' else host['data_dir']
        hosts += '    %s.pgssl.test: {ansible_host: %s, server_cluster: "%s"}\n' % (name, CHECK_ADDRESS, reference)
    path = os.path.join(CHECK_BASE, 'inventory.yml')
    with open(path, 'w') as handle:
        handle.write(INVENTORY % {'hosts': hosts, 'ca': CHECK_BASE + '-ca'})
    yield path
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(CHECK_BASE, CHECK_BASE + '-ca')


def _digests(paths):
    out = {}
    for path in paths:
        try:
            with open(path, 'rb') as handle:
                out[path] = handle.read()
        except OSError:
            out[path] = None
    return out


def _play_rc(inventory, name, *extra):
    done = proc.run([PLAYBOOK, '-i', inventory, name] + list(extra), timeout=480)
    return done.returncode, done.stdout + done.stderr


def test_check_mode_plans_what_the_real_run_does_wherever_ssl_is_set(fresh_inventory):
    fleet = pgfleet.Fleet(CHECK_BASE)
    watched = []
    for name in PLACES:
        host = fleet.host(name)
        watched += [host['config_file'], host['hba_file'], os.path.join(host['data_dir'], 'postgresql.auto.conf')]
        watched += [os.path.join(host['config_dir'], 'conf.d', 'zz-ssl.conf')]
    before = _digests(watched)
    # ALTER SYSTEM SET ssl = off would win over what the role writes: check mode and the real
    # run refuse it alike, naming the line; the other hosts go ahead in both
    runs = [_play_rc(fresh_inventory, 'pgssl.postgresql.site', '--check', '--diff')]
    assert _digests(watched) == before  # check mode wrote nothing
    runs.append(_play_rc(fresh_inventory, 'pgssl.postgresql.site', '--diff'))
    for rc, out in runs:
        assert rc != 0 and 'postgresql.auto.conf:3 sets ssl (ALTER SYSTEM)' in out, out[-4000:]
        assert _changed(out, 'cfgmain') > 0 and _changed(out, 'cfgconfd') > 0
        assert re.search(r'cfgauto\.pgssl\.test\s*:.*failed=1', out)
    refused_files = [p for p in watched if '/cfgauto/' in p]
    assert _digests(refused_files) == dict((p, before[p]) for p in refused_files)  # refused: nothing written
    # the operator lets the role remove it: check mode plans it, the real run does it
    planned = _play(fresh_inventory, 'pgssl.postgresql.site', '--check', '--diff', '-e', 'server_remove_overrides=true')
    assert _changed(planned, 'cfgauto') > 0
    done = _play(fresh_inventory, 'pgssl.postgresql.site', '--diff', '-e', 'server_remove_overrides=true')
    assert _changed(done, 'cfgauto') > 0
    for name, (_version, port, place) in PLACES.items():
        probe = pgconn.probe_tls('%s.pgssl.test' % name, port, hostaddr=CHECK_ADDRESS, timeout=5)
        assert probe['ssl'], place
    # the next check-mode run predicts the next real run: nothing
    again = _play(fresh_inventory, 'pgssl.postgresql.site', '--check')
    for name in PLACES:
        assert _changed(again, name) == 0
