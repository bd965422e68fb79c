# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real 3-member Patroni cluster (etcd from Debian, Patroni from PyPI) on PG 15 and PG 18:
the plain modules recognize every member as Patroni's and refuse to edit the files Patroni
rewrites, with nothing changed anywhere. Then TLS
through Patroni (patroni_config): ssl_* and hostssl rules in the dynamic configuration, check
mode first, every member serving its own certificate with no restart, plain TCP refused, a
second run that changes nothing, and a member whose Patroni restarts still serving TLS. Last,
the server role on every member, through Patroni: check mode, site, a second run, a forced
renewal."""

import hashlib
import json
import os
import pwd
import shutil
import threading
import time
import urllib.request
import re
import sys

import yaml

import pytest

import patronifleet
import proc
from pgbench_load import CONNECT_RATE, PgbenchLoad  # noqa: E402
from conftest import run_module
from test_server_side import issue, ok

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

BASE = '/var/tmp/pgssl-rs-patroni'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# major -> (etcd address, {member: address})
CLUSTERS = {
    '15': ('127.0.0.100', {'db101': '127.0.0.101', 'db102': '127.0.0.102', 'db103': '127.0.0.103'}),
    '18': ('127.0.0.104', {'db105': '127.0.0.105', 'db106': '127.0.0.106', 'db107': '127.0.0.107'}),
}
# what Patroni does on its own (a switchover, a restart with its client of etcd on https) does not
# depend on the PostgreSQL major: those tests run on the newest cluster only
NEWEST = [max(CLUSTERS, key=int)]
# the forced renewal and the CA rollover's three phases under connection load on the oldest
# cluster; the newest renews under the same load in the switchover test. The rollback of the
# dynamic configuration (the role's own steps, through Patroni's REST API) runs on the oldest too.
OLDEST = [min(CLUSTERS, key=int)]

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
    # Patroni's own REST API and patronictl on TLS too, with every run of the role
    server_patroni_rest_tls: true
    server_patroni_replication_verify: true
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


def test_the_plain_modules_refuse_every_patroni_member(patroni):
    before = _digests(patroni)
    for name, member in patroni.members.items():
        status = run_module('tls_status', cluster=member['data_dir'])
        assert status.get('failed') and status.get('code') == 'patroni_managed', status
        assert 'overwritten by Patroni' in status['msg'] and 'patroni.dynamic.json' in status['msg'], status['msg']
        assert 'postgresql.parameters' in status['msg'] and 'postgresql.pg_hba' in status['msg']
        # pg_conf on Patroni's postgresql.conf: refused too (Patroni would undo it)
        conf = run_module('pg_conf', path=os.path.join(member['data_dir'], 'postgresql.conf'), settings={'ssl': 'on'})
        assert conf.get('failed') and conf.get('code') == 'patroni_managed', conf
    assert _digests(patroni) == before
    # the cluster is as it was: one leader, every replica streaming, no TLS
    assert patroni.leader() and patroni.streaming() == len(patroni.members) - 1
    assert patroni.psql(patroni.leader(), 'SHOW ssl;').strip() == 'off'


def _rest_tls(member):
    """The member's REST API TLS from its patroni.yml (once the role put it on TLS): (CA file,
    client certificate, key), or None while it is plain http."""
    with open(member['config_file']) as handle:
        config = yaml.safe_load(handle)
    restapi, ctl = config.get('restapi') or {}, config.get('ctl') or {}
    if not restapi.get('certfile'):
        return None
    return restapi['cafile'], ctl['certfile'], ctl['keyfile']


def _rest(member, path, method='GET', body=None):
    """A call to the member's REST API over http, or https verified against its CA with its ctl
    certificate once it is on TLS."""
    import ssl

    tls = _rest_tls(member)
    context = None
    if tls:
        context = ssl.create_default_context(cafile=tls[0])
        context.load_cert_chain(tls[1], tls[2])
    request = urllib.request.Request(
        '%s://%s:8008%s' % ('https' if tls else 'http', member['ip'], path),
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={'Content-Type': 'application/json'},
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return answer.status, json.loads(answer.read().decode('utf-8') or 'null')


def _config(member):
    return _rest(member, '/config')[1]


def _served_or_none(member):
    try:
        return _served(member)
    except pgconn.PgsslConnError:
        return None


def _served(member):
    probe = pgconn.probe_tls(member['fqdn'], 5432, hostaddr=member['ip'], timeout=5)
    return probe['ssl'] and probe.get('certificate_der')


def _wait_served(patroni, fingerprints, timeout=60):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    deadline = time.time() + timeout
    while True:
        served = {}
        for name, member in patroni.members.items():
            der = _served(member)
            served[name] = crypto.cert_fingerprint(crypto.load_certificate(der)) if der else None
        if served == fingerprints:
            return served
        assert time.time() < deadline, (served, fingerprints)
        time.sleep(0.5)


def test_tls_through_patroni_dynamic_configuration(patroni, tmp_path):
    pg = pwd.getpwnam('postgres')
    os.chmod(str(tmp_path), 0o755)
    fingerprints = {}
    for name, member in patroni.members.items():
        pki = issue(str(tmp_path), member, name=name)
        ssl_dir = os.path.join(member['data_dir'], 'ssl')
        os.makedirs(ssl_dir, exist_ok=True)
        placed = ((pki['crt'], 'server.crt', 0o644), (pki['key'], 'server.key', 0o600), (pki['ca'], 'root.crt', 0o644))
        for src, dst, mode in placed:
            shutil.copy(src, os.path.join(ssl_dir, dst))
            os.chown(os.path.join(ssl_dir, dst), pg.pw_uid, pg.pw_gid)
            os.chmod(os.path.join(ssl_dir, dst), mode)
        os.chown(ssl_dir, pg.pw_uid, pg.pw_gid)
        fingerprints[name] = pki['fingerprint']
    leader = patroni.members[patroni.leader()]
    args = dict(
        rest_url='http://%s:8008' % leader['ip'],
        # relative to each member's data directory: one value for every member
        parameters={
            'ssl': 'on',
            'ssl_cert_file': 'ssl/server.crt',
            'ssl_key_file': 'ssl/server.key',
            'ssl_ca_file': 'ssl/root.crt',
            'ssl_min_protocol_version': 'TLSv1.2',
        },
        hba_rules=[
            {
                'type': 'hostssl',
                'databases': ['all'],
                'users': ['all'],
                'address': '127.0.0.1/32',
                'method': 'scram-sha-256',
            }
        ],
        require_ssl='reject',
        pg_version=int(patroni.version),
    )
    before = _config(leader)
    planned = ok(run_module('patroni_config', check=True, diff=True, **args))
    assert planned['changed'] and set(planned['parameters_changed']) >= {'ssl', 'ssl_cert_file'}
    assert '"ssl": "on"' in planned['diff']['after'] and 'hostnossl' in planned['diff']['after']
    assert _config(leader) == before and not _served(leader)
    done = ok(run_module('patroni_config', **args))
    assert done['changed'] and len(done['members']) == len(patroni.members)
    # every member serves its own certificate, with no restart
    _wait_served(patroni, fingerprints)
    for name, member in patroni.members.items():
        rules = "SELECT type FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number;"
        hba = patroni.psql(name, rules).split()
        assert hba and hba[0] == 'hostnossl' and 'hostssl' in hba, (name, hba)
        # plain TCP is refused now, TLS with the password goes in
        plain = pgconn.probe_plain(member['fqdn'], 5432, hostaddr=member['ip'], timeout=5)
        assert plain['accepted'] is False, plain
    assert patroni.leader() and patroni.streaming() == len(patroni.members) - 1
    again = ok(run_module('patroni_config', **args))
    assert not again['changed'], again
    # a member whose Patroni restarts (it rewrites postgresql.conf and pg_hba.conf) serves TLS again
    replica = [n for n in patroni.members if n != patroni.leader()][0]
    patroni.stop(replica)
    patroni.start(replica)
    patroni.wait(lambda: patroni.streaming() == len(patroni.members) - 1, 120, 'the restarted replica streaming')
    _wait_served(patroni, fingerprints)


def _changed(out, name):
    return int(re.search(r'%s\.pgssl\.test\s*:.*changed=(\d+)' % name, out).group(1))


SSL_FILES = ('ssl_cert_file', 'ssl_key_file', 'ssl_ca_file')


def _agree(patroni):
    """Files, Patroni's configuration and the DCS agree on every member: the DCS holds ssl on and
    each file setting; no member's own patroni.yml overrides them; each member runs with those
    values; the certificate file on disk is the one the member serves."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    leader = patroni.members[patroni.leader()]
    dcs = _config(leader)['postgresql']['parameters']
    assert dcs.get('ssl') == 'on', dcs
    for name, member in patroni.members.items():
        with open(member['config_file']) as handle:
            local = (yaml.safe_load(handle).get('postgresql') or {}).get('parameters') or {}
        assert not [k for k in local if k == 'ssl' or k.startswith('ssl_')], (name, local)
        assert 'ssl_cert_file' in dcs and 'ssl_key_file' in dcs, dcs
        for setting in [k for k in SSL_FILES if k in dcs]:
            running = patroni.psql(name, 'SHOW %s;' % setting).strip()
            assert running == dcs[setting], (name, setting, running, dcs[setting])
        with open(os.path.join(member['data_dir'], dcs['ssl_cert_file']), 'rb') as handle:
            on_disk = crypto.cert_fingerprint(crypto.load_certificate(handle.read()))
        assert on_disk == crypto.cert_fingerprint(crypto.load_certificate(_served(member))), name
    # Patroni's REST API: each member serves the certificate its patroni.yml names (verified
    # against the ca.crt it names and the member's address), and the cluster lists it at https
    import ssl
    import socket

    for name, member in patroni.members.items():
        cafile, certfile, _keyfile = _rest_tls(member)
        context = ssl.create_default_context(cafile=cafile)
        with socket.create_connection((member['ip'], 8008), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=member['ip']) as tls:
                rest_served = crypto.cert_fingerprint(crypto.load_certificate(tls.getpeercert(binary_form=True)))
        with open(certfile, 'rb') as handle:
            assert rest_served == crypto.cert_fingerprint(crypto.load_certificate(handle.read())), name
    view = _rest(leader, '/cluster')[1]
    assert all(m['api_url'].startswith('https://') for m in view['members']), view

    # Patroni's own replication connections verify the leader (server_patroni_replication_verify);
    # a rotation moved their sslcert to the new slot, so a walreceiver may still be reconnecting
    def verified(name):
        row = patroni.psql(name, 'SELECT status, conninfo FROM pg_stat_wal_receiver;')
        return row.startswith('streaming|') and 'sslmode=verify-full' in row

    for name in patroni.members:
        if name != patroni.leader():
            patroni.wait(lambda: verified(name), 60, '%s streaming with sslmode=verify-full' % name)
    # and present the member's own certificate to the leader
    sql = 'SELECT s.client_dn FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) ORDER BY 1;'
    dns = patroni.psql(patroni.leader(), sql).split()
    replicas = sorted('/CN=%s.pgssl.test' % n for n in patroni.members if n != patroni.leader())
    assert dns == replicas, dns


def _play(inventory, *args):
    done = proc.run([PLAYBOOK, '-i', str(inventory)] + list(args), timeout=540)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done.stdout


def write_role_inventory(cluster, template):
    """An inventory of the cluster's members for the role (its CA in ``role/ca`` of the
    cluster's base), from ``template`` (hosts and ca filled in)."""
    work = os.path.join(cluster.base, 'role')
    os.makedirs(work, mode=0o700, exist_ok=True)
    hosts = ''.join(
        '    %s.pgssl.test: {ansible_host: %s, server_cluster: "%s", server_patroni_config_file: "%s"}\n'
        % (name, m['ip'], m['data_dir'], m['config_file'])
        for name, m in cluster.members.items()
    )
    inventory = os.path.join(work, 'inventory.yml')
    with open(inventory, 'w') as handle:
        handle.write(template % {'hosts': hosts, 'ca': os.path.join(work, 'ca')})
    return inventory


def issue_pair(directory, name, ca_cert, ca_key, sans, profile, passphrase=None):
    """A key made in ``directory`` and its certificate signed by the CA (for etcd, a server):
    returns (key path, certificate path)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    issued = os.path.join(directory, 'issued')
    os.makedirs(issued, mode=0o700, exist_ok=True)
    key, crt = os.path.join(directory, name + '.key'), os.path.join(directory, name + '.crt')
    ok(run_module('private_key', path=key))
    csr = ok(run_module('csr', path=key + '.csr', privatekey_path=key, common_name=name, return_content=True))
    args = dict(dir=issued, ca_cert_path=ca_cert, ca_key_path=ca_key, profile=profile)
    if passphrase:
        args['ca_key_passphrase'] = passphrase
    request = {'name': name, 'csr': csr['csr'], 'common_name': name, 'subject_alt_names': list(sans)}
    signed = ok(run_module('sign', requests=[request], **args))
    with open(crt, 'w') as handle:
        handle.write(signed['certificates'][name]['certificate'])
    return key, crt


@pytest.fixture(scope='module')
def role_inventory(patroni):
    """The inventory of the role's tests (its CA beside it), kept from one test to the next."""
    return write_role_inventory(patroni, INVENTORY)


def test_the_server_role_secures_a_patroni_cluster_through_patroni(patroni, role_inventory):
    """site on every member: the files on each member, the settings and rules in Patroni's
    dynamic configuration, each member proven by what it serves; check mode first, then a second
    run that changes nothing, and the audit."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    inventory = role_inventory
    leader = patroni.members[patroni.leader()]
    before = _digests(patroni)
    dcs_before = _config(leader)
    planned = _play(inventory, 'pgssl.postgresql.site', '--check', '--diff')
    assert _digests(patroni) == before and _config(leader) == dcs_before
    for name in patroni.members:
        assert _changed(planned, name) > 0
    out = _play(inventory, 'pgssl.postgresql.site')
    for name, member in patroni.members.items():
        assert _changed(out, name) > 0
        described = crypto.describe_certificate(crypto.load_certificate(_served(member)))
        assert described['subject'] == {'CN': '%s.pgssl.test' % name}, described
        assert patroni.psql(name, 'SHOW ssl_cert_file;').strip() == 'ssl/server.crt'
        first = patroni.psql(name, 'SELECT type FROM pg_hba_file_rules ORDER BY line_number LIMIT 1;')
        assert first.strip() == 'hostnossl', first
    config = _config(leader)
    assert config['postgresql']['parameters']['ssl'] == 'on', config
    assert patroni.leader() and patroni.streaming() == len(patroni.members) - 1
    _agree(patroni)
    again = _play(inventory, 'pgssl.postgresql.site')
    for name in patroni.members:
        assert _changed(again, name) == 0, again[-4000:]
    # the audit reads each member's role from Patroni and its served certificate
    audit_dir = os.path.join(os.path.dirname(inventory), 'audit')
    os.makedirs(audit_dir, exist_ok=True)
    _play(inventory, 'pgssl.postgresql.audit', '-e', 'pgssl_audit_dir=' + audit_dir)
    with open(os.path.join(audit_dir, 'pgssl-audit.json')) as handle:
        rows = dict((row['host'].split('.')[0], row) for row in json.load(handle))
    leader_name = patroni.leader()
    for name in patroni.members:
        assert rows[name]['tls'] in (True, 'True') and 'CN=%s.pgssl.test' % name in rows[name]['subject'], rows[name]
        want = 'primary running' if name == leader_name else 'replica running'
        assert rows[name]['patroni'] == want, rows[name]
        # the REST API's own certificate, read with the member's slot
        assert rows[name]['patroni_rest'].startswith('https CN=%s.pgssl.test days_left=' % name), rows[name]
    # the forced renewal of every member runs under connection load in the next test


class ConnectionLoad(PgbenchLoad):
    """pgbench -C (a new verify-full connection per transaction) against the leader, in short
    runs one after the other until stopped; every run must end without an error."""

    def __init__(self, patroni, rootcert):
        leader = patroni.members[patroni.leader()]
        script = os.path.join(patroni.base, 'select1.sql')
        with open(script, 'w') as handle:
            handle.write('SELECT 1;\n')
        cmd = [os.path.join(leader['bindir'], 'pgbench'), '-n', '-C', '-f', script, '-c', '2', '-T', '3']
        cmd += ['-R', CONNECT_RATE]
        cmd.append('postgres')
        full_env = dict(
            os.environ,
            LD_LIBRARY_PATH=os.path.join(os.path.dirname(leader['bindir']), 'lib'),
            PGHOST=leader['fqdn'],
            PGHOSTADDR=leader['ip'],
            PGPORT='5432',
            PGUSER='postgres',
            PGPASSWORD=patroni.passwords['postgres'],
            PGSSLMODE='verify-full',
            PGSSLROOTCERT=rootcert,
            PGCONNECT_TIMEOUT='5',
        )
        super().__init__(cmd, full_env)


@pytest.mark.parametrize('patroni', OLDEST, indirect=True)
def test_renewal_and_ca_rollover_under_connection_load(patroni, role_inventory):
    """Every member's certificate forced, then the three phases of a CA rollover, while new
    verify-full connections keep arriving at the leader: none fails, and each run is counted."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    def fingerprint(member):
        return crypto.cert_fingerprint(crypto.load_certificate(_served(member)))

    served = dict((name, fingerprint(member)) for name, member in patroni.members.items())
    ca_dir = os.path.join(os.path.dirname(role_inventory), 'ca')
    # what the clients trust through it all: the CA now and, once the rollover begins, both
    rootcert = os.path.join(os.path.dirname(role_inventory), 'clients-root.crt')
    shutil.copy(os.path.join(ca_dir, 'ca.crt'), rootcert)
    os.chmod(rootcert, 0o644)
    figures = {}
    runs = [('every member\'s certificate forced', 'pgssl.postgresql.renew', ['-e', 'server_renew_before_days=100000'])]
    runs += [
        ('CA rollover, phase %s' % phase, 'pgssl.postgresql.ca_rollover', ['-e', 'pgssl_rollover_phase=' + phase])
        for phase in ('trust', 'reissue', 'retire')
    ]
    for label, playbook, extra in runs:
        trust = os.path.join(ca_dir, 'trust.pem')
        if os.path.exists(trust):
            shutil.copy(trust, rootcert)  # the clients' root.crt holds both CAs during the rollover
        load = ConnectionLoad(patroni, rootcert)
        load.start()
        try:
            time.sleep(2)
            started = time.time()
            out = _play(role_inventory, playbook, *extra)
            elapsed = time.time() - started
            time.sleep(2)
        finally:
            load.stop()
        assert not load.failures, (label, load.failures[:3])
        assert load.connections > 0, label
        _agree(patroni)
        if playbook.endswith('renew'):
            # every member serves a new certificate, one member after the other
            for name, member in patroni.members.items():
                assert _changed(out, name) > 0 and fingerprint(member) != served[name], name
        figures[label] = {'run_seconds': round(elapsed, 1), 'connections': load.connections, 'failed': 0}
    assert patroni.leader() and patroni.streaming() == len(patroni.members) - 1
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), '.cache')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, 'patroni-figures-%s.json' % patroni.version), 'w') as handle:
        json.dump(figures, handle, indent=1)


@pytest.mark.parametrize('patroni', NEWEST, indirect=True)
def test_a_switchover_in_the_middle_of_a_renewal(patroni, role_inventory):
    """patronictl switchover while the renew playbook replaces every member's certificate, with
    verify-full connections arriving at the old leader's address: connections fail only while
    the old leader restarts as a replica (the window is measured); a member caught mid-restart
    fails its step safely (its files rolled back) and the next run finishes the renewal."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    rootcert = os.path.join(os.path.dirname(role_inventory), 'clients-root.crt')
    ca_dir = os.path.join(os.path.dirname(role_inventory), 'ca')
    shutil.copy(os.path.join(ca_dir, 'ca.crt'), rootcert)
    before = dict((n, crypto.cert_fingerprint(crypto.load_certificate(_served(m)))) for n, m in patroni.members.items())
    old_leader = patroni.leader()
    candidate = [n for n in patroni.members if n != old_leader][0]
    load = ConnectionLoad(patroni, rootcert)
    load.start()
    outcome = {}

    def renew():
        outcome['first'] = proc.run(
            [PLAYBOOK, '-i', role_inventory, 'pgssl.postgresql.renew', '-e', 'server_renew_before_days=100000'],
            timeout=540,
        )

    runner = threading.Thread(target=renew, daemon=True)
    try:
        time.sleep(2)
        runner.start()
        time.sleep(4)
        switch_start = time.time()
        switched = patroni.patronictl(
            old_leader, 'switchover', '--leader', old_leader, '--candidate', candidate, '--force', timeout=120
        )
        switch_end = time.time()
        assert switched.returncode == 0, switched.stdout + switched.stderr
        runner.join(timeout=560)
        patroni.wait(lambda: patroni.leader() == candidate and patroni.streaming() == 2, 120, 'the new leader')
        # the next run finishes whatever the switchover interrupted
        second = _play(role_inventory, 'pgssl.postgresql.renew', '-e', 'server_renew_before_days=100000')
        time.sleep(2)
    finally:
        load.stop()
    window = (min(a for a, _b in load.failed_at), max(b for _a, b in load.failed_at)) if load.failed_at else None
    figures = {
        'first_run_rc': outcome['first'].returncode,
        'connections': load.connections,
        'failed_attempts': len(load.failures),
        'failure_window_seconds': round(window[1] - window[0], 1) if window else 0.0,
    }
    # every member serves a certificate of this step (renewed by the first run or the second)
    for name, member in patroni.members.items():
        now = crypto.cert_fingerprint(crypto.load_certificate(_served(member)))
        assert now != before[name], name
    assert second and patroni.leader() == candidate and patroni.streaming() == 2
    # connections failed only inside one window around the switchover (the old leader's restart
    # as a replica), never before it or long after
    if window:
        assert switch_start - 4 <= window[0] and window[1] <= switch_end + 30, (window, switch_start, switch_end)
        assert figures['failure_window_seconds'] <= 30, (figures, load.failures[:2])
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), '.cache')
    with open(os.path.join(cache, 'patroni-switchover-%s.json' % patroni.version), 'w') as handle:
        json.dump(figures, handle, indent=1)
    _agree(patroni)
    # a Patroni restart of each member, replicas first: each comes back serving TLS with the
    # certificate of the last step, and everything still agrees
    served = dict((n, crypto.cert_fingerprint(crypto.load_certificate(_served(m)))) for n, m in patroni.members.items())
    leader = patroni.leader()
    for name in [n for n in patroni.members if n != leader] + [leader]:
        patroni.stop(name)
        patroni.start(name)
        patroni.wait(lambda: patroni.leader() is not None and patroni.streaming() == 2, 120, 'the cluster back')
        member = patroni.members[name]
        patroni.wait(lambda: _served_or_none(member), 60, '%s serving TLS' % name)
        assert crypto.cert_fingerprint(crypto.load_certificate(_served(member))) == served[name], name
    _agree(patroni)


def _patch(member, body):
    return _rest(member, '/config', 'PATCH', body)[0]


@pytest.mark.parametrize('patroni', OLDEST, indirect=True)
def test_a_failed_change_puts_the_dynamic_configuration_back(patroni, role_inventory):
    """The DCS drifted (a parameter the role sets was changed behind its back); a site run that
    fails after patching it back to the role's value restores the DCS exactly as the run found
    it, with the files; the next run makes it right."""
    leader = patroni.members[patroni.leader()]
    setting = 'ssl_min_protocol_version'
    wanted = _config(leader)['postgresql']['parameters'][setting]
    drift = 'TLSv1.3' if wanted != 'TLSv1.3' else 'TLSv1.2'
    assert _patch(leader, {'postgresql': {'parameters': {setting: drift}}}) == 200
    patroni.wait(lambda: _config(leader)['postgresql']['parameters'][setting] == drift, 30, 'the drift in the DCS')
    found = _config(leader)
    failed = proc.run(
        [PLAYBOOK, '-i', role_inventory, 'pgssl.postgresql.site', '-e', 'server__inject_failure=proof'], timeout=540
    )
    assert failed.returncode != 0, failed.stdout[-3000:]
    assert "Patroni's dynamic configuration was put back" in failed.stdout, failed.stdout[-5000:]
    # GET /config answers from the member's cached view of the DCS, refreshed each loop_wait:
    # the leader (not always the member the run asked) shows the restored one within a few loops
    deadline = time.time() + 20
    while _config(leader) != found and time.time() < deadline:
        time.sleep(0.5)
    assert _config(leader) == found
    _play(role_inventory, 'pgssl.postgresql.site')
    assert _config(leader)['postgresql']['parameters'][setting] == wanted
    _agree(patroni)


@pytest.mark.parametrize('patroni', NEWEST, indirect=True)
def test_the_role_moves_patronis_etcd_client_to_https_one_member_at_a_time(patroni, role_inventory):
    """etcd serves https beside http (its certificate from the role's CA, client certificates
    required). site with server_patroni_dcs_tls: without the opt-in to restarts it stops before
    any patroni.yml changes; with it, every member's Patroni restarts one at a time, replicas
    first, the leader after a switchover; then etcd serves https only and every member stays in
    touch with it; a second run changes nothing."""
    ca_dir = os.path.join(os.path.dirname(role_inventory), 'ca')
    # serverAuth and clientAuth: etcd's JSON gateway connects to its own https port with it
    key, crt = issue_pair(
        os.path.join(patroni.base, 'etcd-tls'),
        'etcd',
        os.path.join(ca_dir, 'ca.crt'),
        os.path.join(ca_dir, 'ca.key'),
        [patroni.etcd_ip],
        'pooler',
        'patroni-test-only',
    )
    tls = {'cert': crt, 'key': key, 'ca': os.path.join(ca_dir, 'ca.crt')}
    patroni.restart_etcd(tls)
    patroni.wait(lambda: patroni.streaming() == 2, 90, 'both replicas streaming after etcd restarted')
    for name in patroni.members:
        command = patroni.restart_command(name)
    dcs = [
        '-e',
        json.dumps(
            {
                'server_patroni_dcs_tls': True,
                'server_patroni_dcs_hosts': ['%s:%d' % (patroni.etcd_ip, patronifleet.ETCD_TLS_PORT)],
                'server_patroni_restart_command': [
                    command[0],
                    os.path.join(patroni.base, 'restart-{{ inventory_hostname_short }}.py'),
                ],
            }
        ),
    ]
    configs = dict((n, open(m['config_file']).read()) for n, m in patroni.members.items())
    refused = proc.run([PLAYBOOK, '-i', role_inventory, 'pgssl.postgresql.site'] + dcs, timeout=540)
    assert refused.returncode != 0 and 'server_patroni_allow_restart' in refused.stdout, refused.stdout[-4000:]
    for name, member in patroni.members.items():
        assert open(member['config_file']).read() == configs[name]
    leader = patroni.leader()
    # check mode with the opt-in: says what is due, restarts nothing, writes nothing
    _play(role_inventory, 'pgssl.postgresql.site', '--check', *(dcs + ['-e', 'server_patroni_allow_restart=true']))
    for name, member in patroni.members.items():
        assert open(member['config_file']).read() == configs[name]
    assert patroni.leader() == leader
    started = time.time()
    out = _play(role_inventory, 'pgssl.postgresql.site', *(dcs + ['-e', 'server_patroni_allow_restart=true']))
    for name, member in patroni.members.items():
        assert _changed(out, name) > 0
        with open(member['config_file']) as handle:
            etcd = yaml.safe_load(handle)['etcd3']
        assert etcd['protocol'] == 'https' and etcd['cert'].endswith('/dcs-client.pem'), (name, etcd)
        assert _rest(member, '/patroni')[1]['dcs_last_seen'] >= int(started), name
    patroni.wait(lambda: patroni.leader() not in (None, leader), 30, 'a new leader after the switchover')
    patroni.wait(lambda: patroni.streaming() == 2, 120, 'both replicas streaming after the restarts')
    # every member speaks https to etcd: with http gone, each stays in touch
    patroni.restart_etcd(tls, http=False)
    after = time.time()
    for name, member in patroni.members.items():
        patroni.wait(
            lambda: _rest(member, '/patroni')[1].get('dcs_last_seen', 0) >= int(after), 60, '%s reaching etcd' % name
        )
    again = _play(role_inventory, 'pgssl.postgresql.site', *(dcs + ['-e', 'server_patroni_allow_restart=true']))
    for name in patroni.members:
        assert _changed(again, name) == 0, again[-4000:]
    _agree(patroni)
