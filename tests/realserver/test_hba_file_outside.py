# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A server whose pg_hba.conf lies outside its directories (hba_file in postgresql.conf, as some
layouts keep it under /etc): the server role refuses to act on a path it derived only from the
configuration, refuses a server_hba_file that is not the file the server reads, and with the
right server_hba_file secures the server (the rules in that file, plain TCP refused), in check
mode first, then again with nothing to change."""

import hashlib
import os
import re
import sys

import pytest

import pgfleet
import proc
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

BASE = '/var/tmp/pgssl-rs-hbafile'
CA_DIR = BASE + '-ca'
ADDRESS = '127.0.0.122'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
INVENTORY = """---
pgssl_servers:
  hosts:
    db122.pgssl.test: {ansible_host: %(ip)s, server_cluster: "%(data)s"}
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: hba-file-test-only
"""


@pytest.fixture(scope='module')
def outside():
    fleet = pgfleet.fresh(BASE, CA_DIR)
    host = fleet.up('db122', ADDRESS, version='16')
    hba_dir = os.path.join(BASE, 'etc-hba')
    os.makedirs(hba_dir, mode=0o755, exist_ok=True)
    hba = os.path.join(hba_dir, 'pg_hba.conf')
    os.rename(host['hba_file'], hba)
    with open(host['config_file'], 'a') as handle:
        handle.write("hba_file = '%s'\n" % hba)
    ok, out = fleet.restart('db122')
    assert ok, out
    inventory = os.path.join(BASE, 'inventory.yml')
    with open(inventory, 'w') as handle:
        handle.write(INVENTORY % {'ip': ADDRESS, 'data': host['data_dir'], 'ca': CA_DIR})
    yield {'fleet': fleet, 'host': host, 'hba': hba, 'inventory': inventory}
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(BASE, CA_DIR)


def _play(inventory, *args):
    return proc.run([PLAYBOOK, '-i', inventory, 'pgssl.postgresql.site'] + list(args), timeout=480)


def _digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_refused_unless_named_exactly_then_secured(outside):
    inventory, hba = outside['inventory'], outside['hba']
    before = _digest(hba)
    derived = _play(inventory)
    assert derived.returncode != 0 and 'lies outside the cluster' in derived.stdout, derived.stdout[-3000:]
    wrong = _play(inventory, '-e', 'server_hba_file=%s' % os.path.join(BASE, 'elsewhere', 'pg_hba.conf'))
    assert wrong.returncode != 0 and 'is not the file the server reads' in wrong.stdout, wrong.stdout[-3000:]
    check = _play(inventory, '--check', '-e', 'server_hba_file=%s' % hba)
    assert check.returncode == 0, check.stdout[-4000:]
    assert _digest(hba) == before
    done = _play(inventory, '-e', 'server_hba_file=%s' % hba)
    assert done.returncode == 0, done.stdout[-4000:]
    with open(hba) as handle:
        text = handle.read()
    assert re.search(r'(?m)^hostnossl\s.*reject\s.*# pgssl\.postgresql', text), text
    # the server reads that file: plain TCP is refused by the rules in it
    plain = pgconn.probe_plain('db122.pgssl.test', 5432, hostaddr=ADDRESS, timeout=5)
    assert plain['accepted'] is False, plain
    assert outside['fleet'].psql('db122', 'SHOW hba_file;').stdout.strip() == hba
    again = _play(inventory, '-e', 'server_hba_file=%s' % hba)
    assert again.returncode == 0 and re.search(r'db122\.pgssl\.test\s*:.*changed=0', again.stdout), again.stdout[-3000:]


def test_check_mode_plans_exactly_the_hba_lines_the_real_run_writes(outside):
    """pg_hba in check mode with diff, then for real, on the file the server reads: the planned
    text is the written text byte for byte, and the server takes every line of it."""
    from conftest import run_module

    hba, fleet = outside['hba'], outside['fleet']
    rules = [
        {
            'type': 'hostssl',
            'databases': ['all'],
            'users': ['app'],
            'address': '127.0.0.0/8',
            'method': 'scram-sha-256',
        },
        {
            'type': 'hostssl',
            'databases': ['appdb', 'other'],
            'users': ['all'],
            'address': '10.1.0.0/16',
            'method': 'cert',
        },
        {
            'type': 'hostssl',
            'databases': ['replication'],
            'users': ['replicator'],
            'address': '::1/128',
            'method': 'cert',
        },
    ]
    args = dict(path=hba, pg_version=16, rules=rules, require_ssl='reject')
    before = _digest(hba)
    planned = run_module('pg_hba', check=True, diff=True, **args)
    assert not planned.get('failed') and planned['changed'], planned
    assert _digest(hba) == before
    done = run_module('pg_hba', diff=True, **args)
    assert not done.get('failed') and done['changed'], done
    with open(hba) as handle:
        written = handle.read()
    assert written == planned['diff']['after'] == done['diff']['after']
    out = fleet.psql(
        'db122', 'SELECT pg_reload_conf();\nSELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL;'
    )
    assert out.stdout.strip().splitlines()[-1] == '0', out.stdout
    again = run_module('pg_hba', check=True, **args)
    assert not again['changed']
