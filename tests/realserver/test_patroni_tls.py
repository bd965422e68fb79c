# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni's own TLS on a real 3-member cluster (Patroni from PyPI, etcd from Debian, PG 15):
patroni_tls moves every member's REST API to https with a certificate from the fleet CA
(verify_client=required) and gives patronictl and the members their client certificate, with
no restart. Checked here from outside: each REST API serves its certificate verified against
the CA and the member's address, refuses plain http and a client without a certificate, and
patronictl (ctl.* from the edited patroni.yml) switches the leader over. A second run changes
nothing; a forced rotation moves to the other slot; a failure after the reload puts patroni.yml
back; a member's Patroni restarted still serves TLS; hostile configurations are refused with
the file unchanged."""

import hashlib
import os
import ssl
import sys
import urllib.error
import urllib.request

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import patronifleet  # noqa: E402
from conftest import run_module  # noqa: E402
from test_server_side import ok  # noqa: E402

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto  # noqa: E402

BASE = '/var/tmp/pgssl-rs-patroni-tls'
ETCD_IP = '127.0.0.130'
MEMBERS = {'db131': '127.0.0.131', 'db132': '127.0.0.132', 'db133': '127.0.0.133'}


@pytest.fixture(scope='module')
def cluster():
    cluster = patronifleet.PatroniCluster(BASE, 'pgssl-tls')
    cluster.sweep()
    cluster.up(MEMBERS, '15', ETCD_IP)
    ca_dir = os.path.join(BASE, 'ca')
    os.makedirs(ca_dir, mode=0o700, exist_ok=True)
    ca_key, ca_crt = os.path.join(ca_dir, 'ca.key'), os.path.join(ca_dir, 'ca.crt')
    ok(run_module('private_key', path=ca_key))
    ok(run_module('certificate', path=ca_crt, privatekey_path=ca_key, common_name='Patroni TLS test CA', profile='ca'))
    cluster.pki = {'ca_key': ca_key, 'ca': ca_crt}
    yield cluster
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        cluster.sweep()


def _digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _args(cluster, name, **extra):
    member = cluster.members[name]
    args = dict(
        config_file=member['config_file'],
        user='postgres',
        common_name=name,
        subject_alt_names=[member['fqdn'], member['ip']],
        ca_bundle=open(cluster.pki['ca']).read(),
        verify_client='required',
        timeout=60,
    )
    args.update(extra)
    return args


def _sign(cluster, name, csr, profile='pooler'):
    member = cluster.members[name]
    issued = os.path.join(BASE, 'issued')
    os.makedirs(issued, mode=0o700, exist_ok=True)
    signed = ok(
        run_module(
            'sign',
            dir=issued,
            ca_cert_path=cluster.pki['ca'],
            ca_key_path=cluster.pki['ca_key'],
            profile=profile,
            requests=[
                {'name': name, 'csr': csr, 'common_name': name, 'subject_alt_names': [member['fqdn'], member['ip']]}
            ],
        )
    )
    return signed['certificates'][name]['certificate']


def converge(cluster, name, environ=None, **extra):
    """status with prepare, sign, install: the three steps a role runs."""
    status = ok(run_module('patroni_tls', prepare=True, **_args(cluster, name, **extra)))
    if not status['due']:
        return status, None
    args = _args(cluster, name, state='install', slot=status['slot'], **extra)
    if 'csr' in status:
        args['certificate'] = _sign(cluster, name, status['csr'])
    return status, run_module('patroni_tls', environ=environ, deadline=180, **args)


def _served(cluster, name):
    """The REST API's certificate, verified against the CA and the member's address."""
    member = cluster.members[name]
    context = ssl.create_default_context(cafile=cluster.pki['ca'])
    import socket

    with socket.create_connection((member['ip'], 8008), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=member['ip']) as tls:
            return crypto.cert_fingerprint(crypto.load_certificate(tls.getpeercert(binary_form=True)))


def _served_or_none(cluster, name):
    """None while the REST API re-binds (a reload replaces its socket)."""
    try:
        return _served(cluster, name)
    except (OSError, ssl.SSLError):
        return None


def _https_get(cluster, name, path, client=True):
    member = cluster.members[name]
    context = ssl.create_default_context(cafile=cluster.pki['ca'])
    if client:
        context.load_cert_chain(*cluster.rest_client)
    with urllib.request.urlopen('https://%s:8008%s' % (member['ip'], path), timeout=5, context=context) as answer:
        return answer.status


def _client_for(cluster, name):
    """The slot a member's patroni.yml names (its ctl certificate), readable by root."""
    with open(cluster.members[name]['config_file']) as handle:
        ctl = yaml.safe_load(handle)['ctl']
    return (ctl['certfile'], ctl['keyfile'])


def test_check_mode_then_every_rest_api_on_tls_then_nothing_to_do(cluster):
    first = 'db131'
    config = cluster.members[first]['config_file']
    before = _digest(config)
    check = ok(run_module('patroni_tls', check=True, diff=True, prepare=True, **_args(cluster, first)))
    assert check['due'] and 'not_linked' in check['reasons'] and 'settings_changed' in check['reasons']
    assert 'restapi.certfile' in check['changed_settings'] and 'ctl.keyfile' in check['changed_settings']
    assert _digest(config) == before and not os.path.exists(os.path.join(os.path.dirname(config), 'pgssl'))
    assert 'csr' not in check and check['member'] == first and check['pids'], check

    # replicas first, the leader last
    order = sorted(MEMBERS, key=lambda n: n == cluster.leader())
    for name in order:
        status, done = converge(cluster, name)
        assert status['renew'] and 'csr' in status
        assert ok(done)['changed'] and done['served_fingerprint'] == done['certificate']['fingerprint_sha256'], done
        assert done['api_url'] == 'https://%s:8008/patroni' % MEMBERS[name], done
    cluster.rest_client = _client_for(cluster, first)
    for name, member in cluster.members.items():
        with open(member['config_file']) as handle:
            text = handle.read()
        # the harness's comment and every other key are still there
        assert text.startswith('# Patroni member %s' % name)
        data = yaml.safe_load(text)
        assert data['restapi']['verify_client'] == 'required' and data['restapi']['listen'] == '%s:8008' % member['ip']
        assert data['postgresql']['authentication']['replication']['username'] == 'replicator'
        slot_dir = os.path.join(os.path.dirname(member['config_file']), 'pgssl')
        assert oct(os.stat(slot_dir).st_mode & 0o777) == '0o700'
        assert oct(os.stat(data['restapi']['keyfile']).st_mode & 0o777) == '0o600'
        assert _served(cluster, name)
        assert _https_get(cluster, name, '/patroni') == 200
        # no client certificate: refused (verify_client=required); plain http: no answer
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _https_get(cluster, name, '/patroni', client=False)
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen('http://%s:8008/patroni' % member['ip'], timeout=5).read()
    # every member lists the others at https
    view = cluster.cluster()
    assert sorted(m['api_url'] for m in view['members']) == sorted(
        'https://%s:8008/patroni' % ip for ip in MEMBERS.values()
    ), view

    # patronictl from a member's patroni.yml: ctl's certificate reaches the leader's REST API
    leader = cluster.leader()
    candidate = next(n for n in MEMBERS if n != leader)
    done = cluster.patronictl(candidate, 'switchover', '--leader', leader, '--candidate', candidate, '--force')
    assert done.returncode == 0, done.stdout + done.stderr
    cluster.wait(lambda: cluster.leader() == candidate, 60, 'leader %s after the switchover' % candidate)
    cluster.wait(lambda: cluster.streaming() == 2, 90, 'both replicas streaming after the switchover')

    # a second run changes nothing on any member
    for name in MEMBERS:
        again = ok(run_module('patroni_tls', prepare=True, **_args(cluster, name)))
        assert not again['due'] and not again['changed'] and again['reasons'] == [], again
        installed = ok(run_module('patroni_tls', state='install', slot=again['slot'], **_args(cluster, name)))
        assert not installed['changed'], installed


def test_forced_rotation_moves_to_the_other_slot(cluster):
    name = 'db132'
    before = _served(cluster, name)
    status, done = converge(cluster, name, force=True)
    # the new slot's paths are the settings that change
    assert status['reasons'] == ['forced', 'settings_changed'] and status['slot'] != status['slot_in_use']
    ok(done)
    assert done['served_fingerprint'] != before and _served(cluster, name) == done['served_fingerprint']
    # the old slot's pair is gone; patroni.yml names the new one
    old = done['paths']['cert'].replace('rest-%s' % status['slot'], 'rest-%s' % status['slot_in_use'])
    assert old in done['removed'] and not os.path.exists(old)
    assert _client_for(cluster, name)[0] == done['paths']['cert']
    cluster.rest_client = _client_for(cluster, name)
    assert _https_get(cluster, name, '/patroni') == 200


def test_a_failure_after_the_reload_puts_patroni_yml_back(cluster):
    name = 'db133'
    config = cluster.members[name]['config_file']
    before, served = _digest(config), _served(cluster, name)
    environ = dict(os.environ, PGSSL_TEST_FAIL_AFTER='patroni_tls_reload')
    status, done = converge(cluster, name, environ=environ, force=True)
    assert done.get('failed') and done.get('rolled_back'), done
    assert 'injected failure' in done['msg'] and 'put back' in done['msg']
    assert _digest(config) == before
    # the old pair is served again (the reload with the old file)
    cluster.wait(lambda: _served_or_none(cluster, name) == served, 30, 'the old REST certificate back')
    # and a run without the fault converges
    status, done = converge(cluster, name, force=True)
    assert ok(done)['changed']


def test_replication_verify_without_a_server_certificate_is_rolled_back(cluster):
    """PostgreSQL here serves no TLS at all: a replica told to verify its leader cannot stream;
    the proof sees it within the timeout, patroni.yml goes back, and the replica streams again."""
    name = next(n for n in MEMBERS if n != cluster.leader())
    config = cluster.members[name]['config_file']
    before = _digest(config)
    got = run_module(
        'patroni_tls', state='install', replication_verify=True, deadline=120, **_args(cluster, name, timeout=15)
    )
    assert got.get('failed') and got.get('rolled_back') and got.get('code') == 'replication_not_verified', got
    assert _digest(config) == before
    cluster.wait(lambda: cluster.streaming() == 2, 60, '%s streaming again' % name)
    # the leader has no walreceiver: nothing to prove there, and its patroni.yml is left as asked
    leader = cluster.leader()
    config = cluster.members[leader]['config_file']
    with open(config, 'rb') as handle:
        saved = handle.read()
    done = ok(run_module('patroni_tls', state='install', replication_verify=True, **_args(cluster, leader)))
    assert done['replication'] == {'role': 'primary'} and done['changed']
    with open(config) as handle:
        auth = yaml.safe_load(handle)['postgresql']['authentication']['replication']
    assert auth['sslmode'] == 'verify-full' and auth['sslrootcert'].endswith('/pgssl/ca.crt'), auth
    assert auth['username'] == 'replicator'
    # without the option the module leaves those keys alone; the test puts the file back (a
    # leader turned replica here could not verify a server without TLS)
    done = ok(run_module('patroni_tls', state='install', **_args(cluster, leader)))
    assert not done['changed']
    with open(config, 'wb') as handle:
        handle.write(saved)
    assert cluster.patronictl(leader, 'reload', 'pgssl-tls', leader, '--force').returncode == 0


def test_a_restarted_member_still_serves_tls(cluster):
    name = next(n for n in MEMBERS if n != cluster.leader())
    served = _served(cluster, name)
    cluster.stop(name)
    cluster.start(name)
    cluster.wait(lambda: cluster.streaming() == 2, 120, 'the restarted member streaming')
    cluster.wait(lambda: _served_or_none(cluster, name) == served, 60, '%s serving its REST certificate' % name)
    again = ok(run_module('patroni_tls', **_args(cluster, name)))
    assert not again['due'], again


def _server_pair(cluster, name):
    """A PostgreSQL server key and certificate for a member, in a directory of the server user."""
    directory = os.path.join(cluster.members[name]['hostdir'], 'pgtls')
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key, cert = os.path.join(directory, 'server.key'), os.path.join(directory, 'server.crt')
    ok(run_module('private_key', path=key))
    csr = ok(run_module('csr', path=key + '.csr', privatekey_path=key, common_name=name, return_content=True))
    with open(cert, 'w') as handle:
        handle.write(_sign(cluster, name, csr['csr'], profile='server'))
    for path in (directory, key, cert, key + '.csr'):
        os.chown(path, member_uid(), member_uid())
    os.chmod(key, 0o600)
    return {'ssl': 'on', 'ssl_cert_file': cert, 'ssl_key_file': key}


def _probe(cluster, name, sslmode='verify-full'):
    """A login the new rule rejects, over TLS verified against the CA and the member's address:
    the server's own answer says which rule matched and that the certificate verified."""
    import psycopg

    member = cluster.members[name]
    try:
        psycopg.connect(
            host=member['ip'],
            port=5432,
            dbname='postgres',
            user='pgssl_local_probe',
            sslmode=sslmode,
            sslrootcert=cluster.pki['ca'],
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        return str(exc)
    return 'connected'


LOCAL_RULE = {
    'type': 'hostssl',
    'databases': ['postgres'],
    'users': ['pgssl_local_probe'],
    'address': '127.0.0.0/8',
    'method': 'reject',
}


def _local(cluster, name, **extra):
    member = cluster.members[name]
    args = dict(
        scope='local',
        config_file=member['config_file'],
        user='postgres',
        hba_rules=[LOCAL_RULE],
        purge_managed=True,
        hba_file=os.path.join(member['data_dir'], 'pg_hba.conf'),
        pg_version=15,
        timeout=30,
    )
    args.update(extra)
    return run_module('patroni_config', deadline=120, **args)


def test_scope_local_sets_ssl_and_rules_in_each_members_own_patroni_yml(cluster):
    """patroni_config scope=local: ssl_* and a hostssl rule in each member's patroni.yml, applied
    by Patroni's reload (no restart); the server then serves its certificate and the rule decides.
    A second run changes nothing; what the run returns as previous puts every file back; a
    parameter that needs a restart is refused and the file put back."""
    originals, pairs = {}, {}
    for name in MEMBERS:
        with open(cluster.members[name]['config_file']) as handle:
            originals[name] = handle.read()
        pairs[name] = _server_pair(cluster, name)
    check = ok(_local(cluster, 'db131', parameters=pairs['db131'], check=True, diff=True))
    assert check['changed'] and check['parameters_changed'] == sorted(pairs['db131']), check
    assert 'pg_hba' in check['diff']['after'] and 'pgssl_local_probe' in check['diff']['after']
    assert open(cluster.members['db131']['config_file']).read() == originals['db131']
    previous = {}
    for name in MEMBERS:
        done = ok(_local(cluster, name, parameters=pairs[name]))
        assert done['changed'] and done['pids'], done
        previous[name] = done['previous']
        with open(cluster.members[name]['config_file']) as handle:
            text = handle.read()
        assert text.startswith('# Patroni member %s' % name)
        data = yaml.safe_load(text)
        assert data['postgresql']['parameters']['ssl_cert_file'] == pairs[name]['ssl_cert_file']
        # the list started from the member's pg_hba.conf (the DCS list Patroni wrote); ours is
        # placed before the rule it overlaps
        listed = data['postgresql']['pg_hba']
        ours = next(i for i, line in enumerate(listed) if 'pgssl_local_probe' in line)
        assert ours < listed.index('host all all 127.0.0.1/32 scram-sha-256'), listed
        # the server's answer: TLS verified against the CA and the address, then our rule
        answer = _probe(cluster, name)
        assert 'pg_hba.conf rejects connection' in answer and 'pgssl_local_probe' in answer, answer
    cluster.wait(lambda: cluster.streaming() == 2, 60, 'both replicas streaming after the local change')
    for name in MEMBERS:
        again = ok(_local(cluster, name, parameters=pairs[name]))
        assert not again['changed'] and 'previous' not in again, again

    # a parameter that needs a restart: refused, patroni.yml put back, nothing restarted
    name = 'db132'
    with open(cluster.members[name]['config_file']) as handle:
        before = handle.read()
    got = _local(cluster, name, parameters=dict(pairs[name], shared_buffers='17MB'), timeout=20)
    assert got.get('failed') and got.get('rolled_back') and got.get('code') == 'pending_restart', got
    assert open(cluster.members[name]['config_file']).read() == before

    # previous, given back, puts each file back as Patroni read it before
    for name in MEMBERS:
        back = previous[name]
        done = ok(
            _local(
                cluster,
                name,
                parameters=back['parameters'],
                hba_rules=[],
                purge_managed=False,
                **({'remove_pg_hba': True} if back.get('pg_hba') is None else {'pg_hba_lines': back['pg_hba']}),
            )
        )
        assert done['changed']
        with open(cluster.members[name]['config_file']) as handle:
            assert yaml.safe_load(handle) == yaml.safe_load(originals[name])
        answer = _probe(cluster, name, sslmode='disable')
        assert 'rejects' not in answer, answer
    cluster.wait(lambda: cluster.streaming() == 2, 60, 'both replicas streaming after the rollback')


ROLE_INVENTORY = """---
pgssl_servers:
  hosts:
%(hosts)s
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: patroni-local-test-only
    # the ssl_* parameters and rules in each member's own patroni.yml, not the DCS
    server_patroni_scope: local
"""


def test_the_server_role_with_scope_local_writes_each_members_patroni_yml(cluster):
    """site with server_patroni_scope=local: check mode changes nothing; then each member's own
    patroni.yml holds ssl on, its files and the role's hostssl rules, Patroni applied them (the
    server runs with them and serves the member's certificate) and the DCS is untouched; a second
    run changes nothing."""
    from test_patroni import _changed, _play, write_role_inventory

    inventory = write_role_inventory(cluster, ROLE_INVENTORY)
    configs = dict((n, open(m['config_file']).read()) for n, m in cluster.members.items())
    dcs_before = cluster.rest_get('/config')
    planned = _play(inventory, 'pgssl.postgresql.site', '--check', '--diff')
    for name, member in cluster.members.items():
        assert _changed(planned, name) > 0
        assert open(member['config_file']).read() == configs[name]
    out = _play(inventory, 'pgssl.postgresql.site')
    for name, member in cluster.members.items():
        assert _changed(out, name) > 0
        with open(member['config_file']) as handle:
            text = handle.read()
        assert text.startswith('# Patroni member %s' % name)
        pg = yaml.safe_load(text)['postgresql']
        assert pg['parameters']['ssl'] == 'on' and pg['parameters']['ssl_cert_file'] == 'ssl/server.crt', pg
        assert pg['pg_hba'][0].startswith('hostnossl') and '# pgssl.postgresql' in pg['pg_hba'][0], pg['pg_hba']
        assert not [line for line in pg['pg_hba'] if 'overwritten by Patroni' in line], pg['pg_hba']
        assert cluster.psql(name, 'SHOW ssl_cert_file;').strip() == 'ssl/server.crt'
        first = cluster.psql(name, 'SELECT type FROM pg_hba_file_rules ORDER BY line_number LIMIT 1;')
        assert first.strip() == 'hostnossl', first
        answer = _probe(cluster, name)
        # the server's certificate now comes from the role's CA, not the test CA
        assert 'certificate verify failed' in answer, answer
    assert cluster.rest_get('/config') == dcs_before
    cluster.wait(lambda: cluster.streaming() == 2, 60, 'both replicas streaming after the role')
    again = _play(inventory, 'pgssl.postgresql.site')
    for name in cluster.members:
        assert _changed(again, name) == 0, again[-4000:]


def test_hostile_configurations_are_refused_unchanged(cluster, tmp_path):
    name = 'db131'
    member = cluster.members[name]
    hostdir = member['hostdir']
    cases = {
        'flow.yml': ('{"scope": "x", "restapi": {"listen": "127.0.0.131:8008"}}\n', 'flow style'),
        'twice.yml': ('restapi:\n  listen: 127.0.0.131:8008\n  certfile: /a\n  certfile: /b\n', 'twice'),
        'broken.yml': ('restapi: [1\n', 'not YAML'),
    }
    for base, (text, message) in cases.items():
        path = os.path.join(hostdir, base)
        with open(path, 'w') as handle:
            handle.write(text)
        try:
            before = _digest(path)
            got = run_module('patroni_tls', prepare=True, **_args(cluster, name, config_file=path))
            assert got.get('failed') and message in got['msg'], (base, got)
            assert _digest(path) == before
            if base == 'twice.yml':
                continue  # (a key given twice off the path the local scope edits is no reason)
            # the local scope of patroni_config reads and edits the same file the same way
            got = _local(cluster, name, config_file=path, parameters={'ssl': 'on'})
            assert got.get('failed') and message in got['msg'], (base, got)
            assert _digest(path) == before
        finally:
            os.unlink(path)
    # a parameter given twice where the local scope writes: which one Patroni takes is not guessed
    path = os.path.join(hostdir, 'twice-local.yml')
    with open(path, 'w') as handle:
        handle.write('postgresql:\n  listen: 127.0.0.131:5432\n  parameters:\n    ssl: "on"\n    ssl: "off"\n')
    try:
        before = _digest(path)
        got = _local(cluster, name, config_file=path, parameters={'ssl': 'on'}, hba_rules=[], purge_managed=False)
        assert got.get('failed') and 'twice' in got['msg'], got
        assert _digest(path) == before
    finally:
        os.unlink(path)
    # a link the server user planted at the file's name, to a root-only file: never read, never shown
    secret = tmp_path / 'root-only.yml'
    secret.write_text('restapi:\n  listen: 127.0.0.131:8008\n  authentication: {password: TOPSECRET}\n')
    os.chmod(secret, 0o600)
    link = os.path.join(hostdir, 'linked.yml')
    os.symlink(str(secret), link)
    os.lchown(link, member_uid(), member_uid())
    secret_before = _digest(str(secret))
    try:
        got = run_module('patroni_tls', state='install', **_args(cluster, name, config_file=link))
        assert got.get('failed') and 'TOPSECRET' not in str(got), got
        assert _digest(str(secret)) == secret_before
        got = _local(cluster, name, config_file=link, parameters={'ssl': 'on'}, diff=True)
        assert got.get('failed') and 'TOPSECRET' not in str(got), got
        assert _digest(str(secret)) == secret_before
    finally:
        os.unlink(link)
    # the slot directory planted by the server user as a link to a root-only directory: refused,
    # nothing made there
    root_only = tmp_path / 'root-only-dir'
    root_only.mkdir(mode=0o700)
    planted = os.path.join(hostdir, 'pgssl-planted')
    os.symlink(str(root_only), planted)
    os.lchown(planted, member_uid(), member_uid())
    try:
        got = run_module('patroni_tls', prepare=True, **_args(cluster, name, dir=planted, force=True))
        assert got.get('failed') and 'link' in got['msg'], got
        assert os.listdir(str(root_only)) == []
    finally:
        os.unlink(planted)
    # a line break in the name to verify is refused before anything is read
    got = run_module('patroni_tls', **_args(cluster, name, tls_host='db131\nrestapi: {}'))
    assert got.get('failed') and 'line break' in got['msg']


def member_uid():
    import pwd

    return pwd.getpwnam('postgres').pw_uid


def _etcd_tls(cluster):
    """etcd's own certificate from the same CA, for its address (serverAuth and clientAuth:
    etcd's JSON gateway, which Patroni's etcd3 client calls, connects to etcd's own https port
    with it)."""
    from test_patroni import issue_pair

    key, crt = issue_pair(
        os.path.join(BASE, 'etcd-tls'), 'etcd', cluster.pki['ca'], cluster.pki['ca_key'], [ETCD_IP], 'pooler'
    )
    return {'cert': crt, 'key': key, 'ca': cluster.pki['ca']}


def _etcd_health(cluster, client):
    context = ssl.create_default_context(cafile=cluster.pki['ca'])
    if client:
        context.load_cert_chain(*client)
    url = 'https://%s:%d/health' % (ETCD_IP, patronifleet.ETCD_TLS_PORT)
    with urllib.request.urlopen(url, timeout=5, context=context) as answer:
        return answer.status


def _dcs_last_seen(cluster, name):
    import json

    member = cluster.members[name]
    context = ssl.create_default_context(cafile=cluster.pki['ca'])
    context.load_cert_chain(*cluster.rest_client)
    try:
        with urllib.request.urlopen('https://%s:8008/patroni' % member['ip'], timeout=5, context=context) as answer:
            return json.loads(answer.read()).get('dcs_last_seen') or 0
    except (OSError, ValueError):
        return 0


def test_the_dcs_client_moves_to_https_with_an_opted_in_restart_replicas_first(cluster):
    """Patroni's client of etcd on https with the member's certificate: refused without the
    opt-in and on the leader (nothing written); each replica restarted in turn, proven back in
    the cluster and in touch with etcd since its restart; the leader switched over, then
    restarted as a replica; then etcd serves https only and every member keeps its place. A
    second run changes nothing; a rotation replaces the DCS client's file without a restart."""
    import time

    # the REST API on TLS first, on every member (a reload; the earlier tests did it when run
    # with this one): the leader checks its candidates with its ctl certificate
    for name in MEMBERS:
        _status, done = converge(cluster, name)
        if done is not None:
            ok(done)
    cluster.rest_client = _client_for(cluster, 'db131')
    tls = _etcd_tls(cluster)
    cluster.restart_etcd(tls)
    cluster.wait(lambda: cluster.streaming() == 2, 90, 'both replicas streaming after etcd restarted')
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        _etcd_health(cluster, None)
    dcs = dict(dcs_tls=True, dcs_hosts=['%s:%d' % (ETCD_IP, patronifleet.ETCD_TLS_PORT)], timeout=120)

    def restart(name):
        return dict(dcs, allow_restart=True, restart_command=cluster.restart_command(name))

    leader = cluster.leader()
    replicas = sorted(n for n in MEMBERS if n != leader)
    for name, extra, code in ((replicas[0], dcs, 'restart_needed'), (leader, restart(leader), 'leader_restart')):
        before = _digest(cluster.members[name]['config_file'])
        status, done = converge(cluster, name, **extra)
        assert status['restart_needed'] and 'settings_changed' in status['reasons'], status
        assert done.get('failed') and done.get('code') == code, done
        assert _digest(cluster.members[name]['config_file']) == before
    for name in replicas:
        started = time.time()
        _status, done = converge(cluster, name, **restart(name))
        assert ok(done)['restarted'] and done['dcs_last_seen'] >= int(started), done
        cluster.rest_client = _client_for(cluster, name)
        with open(cluster.members[name]['config_file']) as handle:
            etcd = yaml.safe_load(handle)['etcd3']
        assert etcd['protocol'] == 'https' and etcd['cert'] == etcd['key'] and etcd['cert'].endswith('/dcs-client.pem')
        assert oct(os.stat(etcd['cert']).st_mode & 0o777) == '0o600'
        assert _etcd_health(cluster, (etcd['cert'], etcd['key'])) == 200
        cluster.wait(lambda: cluster.streaming() == 2, 120, '%s streaming again after its restart' % name)
    # the leader by switchover (patronictl of a converted member reaches etcd over https)
    candidate = replicas[0]
    done = cluster.patronictl(candidate, 'switchover', '--leader', leader, '--candidate', candidate, '--force')
    assert done.returncode == 0, done.stdout + done.stderr
    cluster.wait(
        lambda: cluster.leader() == candidate,
        60,
        'leader %s after the switchover (%s)' % (candidate, done.stdout[-800:]),
    )
    cluster.wait(lambda: cluster.streaming() == 2, 120, 'the old leader %s streaming' % leader)
    _status, done = converge(cluster, leader, **restart(leader))
    assert ok(done)['restarted'], done
    cluster.wait(lambda: cluster.streaming() == 2, 120, 'both replicas streaming after the old leader restarted')
    # no member speaks http to etcd any more: with https only, each stays in touch
    cluster.restart_etcd(tls, http=False)
    after = time.time()
    for name in MEMBERS:
        cluster.wait(lambda: _dcs_last_seen(cluster, name) >= int(after), 60, '%s reaching etcd over https' % name)
    assert cluster.leader() == candidate
    # a second run: nothing due, nothing restarted
    for name in MEMBERS:
        again = ok(run_module('patroni_tls', prepare=True, **_args(cluster, name, **dcs)))
        assert not again['due'] and not again['restart_needed'], again
    # a rotation: a new slot, the DCS client's file rewritten in place, a reload, no restart
    name = replicas[1]
    status, done = converge(cluster, name, force=True, **restart(name))
    assert ok(done)['changed'] and not done.get('restarted') and not status['restart_needed'], done
    pem = os.path.join(os.path.dirname(done['paths']['cert']), 'dcs-client.pem')
    with open(pem, 'rb') as handle, open(done['paths']['cert'], 'rb') as cert:
        assert handle.read().endswith(cert.read())
    cluster.rest_client = _client_for(cluster, name)
    assert _etcd_health(cluster, (pem, pem)) == 200
