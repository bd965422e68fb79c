# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real 3-member Patroni cluster (etcd from Debian, Patroni from PyPI) on PG 15 and PG 18:
the plain-PostgreSQL path recognizes every member as Patroni's and refuses to edit the files
Patroni rewrites, in check mode and in the real run, with nothing changed anywhere."""

import hashlib
import os
import re
import sys

import pytest

import patronifleet
import proc
from conftest import run_module

BASE = '/var/tmp/pgssl-rs-patroni'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# major -> (etcd address, {member: address})
CLUSTERS = {
    '15': ('127.0.0.100', {'db101': '127.0.0.101', 'db102': '127.0.0.102', 'db103': '127.0.0.103'}),
    '18': ('127.0.0.104', {'db105': '127.0.0.105', 'db106': '127.0.0.106', 'db107': '127.0.0.107'}),
}

INVENTORY = """---
pgssl_servers:
  hosts:
%(hosts)s
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: patroni-test-only
"""


@pytest.fixture(scope='module', params=sorted(CLUSTERS))
def patroni(request):
    version = request.param
    etcd_ip, members = CLUSTERS[version]
    cluster = patronifleet.PatroniCluster('%s-%s' % (BASE, version), 'pgssl-%s' % version)
    cluster.sweep()
    cluster.up(members, version, etcd_ip)
    yield cluster
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        cluster.sweep()


def _digests(cluster):
    out = {}
    for member in cluster.members.values():
        data = member['data_dir']
        for path in (
            os.path.join(data, 'postgresql.conf'),
            os.path.join(data, 'postgresql.base.conf'),
            os.path.join(data, 'pg_hba.conf'),
            os.path.join(data, 'postgresql.auto.conf'),
            member['config_file'],
        ):
            with open(path, 'rb') as handle:
                out[path] = hashlib.sha256(handle.read()).hexdigest()
    return out


def test_the_plain_path_refuses_every_patroni_member(patroni, tmp_path):
    before = _digests(patroni)
    for name, member in patroni.members.items():
        status = run_module('tls_status', cluster=member['data_dir'])
        assert status.get('failed') and status.get('code') == 'patroni_managed', status
        assert 'overwritten by Patroni' in status['msg'] and 'patroni.dynamic.json' in status['msg'], status['msg']
        assert 'postgresql.parameters' in status['msg'] and 'postgresql.pg_hba' in status['msg']
        # pg_conf on Patroni's postgresql.conf: refused too (Patroni would undo it)
        conf = run_module('pg_conf', path=os.path.join(member['data_dir'], 'postgresql.conf'), settings={'ssl': 'on'})
        assert conf.get('failed') and conf.get('code') == 'patroni_managed', conf
    # the site playbook, in check mode and for real: every member fails at its status call
    hosts = ''.join(
        '    %s.pgssl.test: {ansible_host: %s, server_cluster: "%s"}\n' % (name, m['ip'], m['data_dir'])
        for name, m in patroni.members.items()
    )
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(INVENTORY % {'hosts': hosts, 'ca': tmp_path / 'ca'})
    for extra in (['--check', '--diff'], []):
        done = proc.run([PLAYBOOK, '-i', str(inventory), 'pgssl.postgresql.site'] + extra, timeout=300)
        assert done.returncode != 0
        for name in patroni.members:
            assert re.search(r'%s\.pgssl\.test\s*:.*failed=1' % name, done.stdout), done.stdout[-3000:]
        assert 'run by Patroni' in done.stdout
    assert _digests(patroni) == before
    # the cluster is as it was: one leader, every replica streaming, no TLS
    assert patroni.leader() and patroni.streaming() == len(patroni.members) - 1
    assert patroni.psql(patroni.leader(), 'SHOW ssl;').strip() == 'off'
