# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real PgBouncer (Debian's package) in front of a real PostgreSQL 16 on loopback, secured by
pgbouncer_tls: check mode first (nothing written), then the pooler's own key and certificate
(profile pooler) on both of its sides, applied with RELOAD and proven by the module; checked
here again from outside (a verify-full handshake with the pooler, a login through it that
reaches PostgreSQL over TLS with the pooler's certificate, SHOW CONFIG). A second run changes
nothing; a forced rotation and the reads of hostile configurations (each refused with the file
unchanged, or edited exactly) follow."""

import hashlib
import json
import os
import re
import time
import shutil
import sys

import psycopg
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import pgbouncerfleet  # noqa: E402
import pgfleet  # noqa: E402
import proc  # noqa: E402
from pgbench_load import CONNECT_RATE, PgbenchLoad  # noqa: E402
from conftest import run_module  # noqa: E402
from test_server_side import client_cert, issue, ok  # noqa: E402

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto  # noqa: E402
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn  # noqa: E402

BASE = '/var/tmp/pgssl-rs-pgbouncer'
PG_IP, POOL_IP = '127.0.0.110', '127.0.0.111'
POOL_NAME = 'pool111.pgssl.test'
APP_PASSWORD = 'app-pooled-secret'


@pytest.fixture(scope='module')
def stack():
    pgbouncerfleet.install()
    fleet = pgfleet.fresh(BASE)
    host = fleet.up('db110', PG_IP, version='16')
    pki = issue(os.path.join(BASE, 'work'), host)
    # the server reads its CA where it can (the CA's own directory is root's, 0700)
    server_ca = os.path.join(pki['dir'], 'ca.crt')
    shutil.copy(pki['ca'], server_ca)
    os.chmod(server_ca, 0o644)
    fleet.psql(
        'db110',
        "ALTER SYSTEM SET ssl_cert_file = '%s';\nALTER SYSTEM SET ssl_key_file = '%s';\n"
        "ALTER SYSTEM SET ssl_ca_file = '%s';\nALTER SYSTEM SET ssl = on;\nSELECT pg_reload_conf();\n"
        "CREATE ROLE app LOGIN PASSWORD '%s';\n" % (pki['crt'], pki['key'], server_ca, APP_PASSWORD),
    )
    pooler = pgbouncerfleet.Pooler(BASE, 'pool111', POOL_IP)
    pooler.write_ini(
        databases={'appdb': 'host=%s port=5432 dbname=postgres' % PG_IP},
        users={'app': APP_PASSWORD},
    )
    pooler.start()
    yield {'fleet': fleet, 'host': host, 'pki': pki, 'pooler': pooler}
    pooler.stop()
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        fleet.sweep()


def _digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _args(stack, **extra):
    args = dict(
        config_file=stack['pooler'].ini,
        user='postgres',
        common_name=POOL_NAME,
        subject_alt_names=[POOL_NAME, POOL_IP],
        ca_bundle=open(stack['pki']['ca']).read(),
        tls_host=POOL_NAME,
        tls_hostaddr=POOL_IP,
    )
    args.update(extra)
    return args


def _sign(stack, csr, name='pool111', signer=None):
    pki = signer or stack['pki']
    issued = os.path.join(BASE, 'work', 'issued')
    os.makedirs(issued, exist_ok=True)
    signed = ok(
        run_module(
            'sign',
            dir=issued,
            ca_cert_path=pki['ca'],
            ca_key_path=pki['ca_key'],
            profile='pooler',
            requests=[{'name': name, 'csr': csr, 'common_name': POOL_NAME, 'subject_alt_names': [POOL_NAME, POOL_IP]}],
        )
    )
    return signed['certificates'][name]['certificate']


def converge(stack, signer=None, **extra):
    """status with prepare, sign, install: the role's three steps."""
    status = ok(run_module('pgbouncer_tls', prepare=True, **_args(stack, **extra)))
    if not status['due']:
        return status, None
    certificate = _sign(stack, status['csr'], signer=signer) if 'csr' in status else None
    args = _args(stack, state='install', slot=status['slot'], **extra)
    if certificate:
        args['certificate'] = certificate
    return status, ok(run_module('pgbouncer_tls', **args))


def _served(stack):
    probe = pgconn.probe_tls(POOL_NAME, 6432, hostaddr=POOL_IP, timeout=5, cafile=stack['pki']['ca'])
    return crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der']))


def _login(stack, sslmode='verify-full', **extra):
    """Through the pooler: the server side of this session, as PostgreSQL sees it."""
    with psycopg.connect(
        **extra,
        host=POOL_NAME,
        hostaddr=POOL_IP,
        port=6432,
        dbname='appdb',
        user='app',
        password=APP_PASSWORD,
        sslmode=sslmode,
        sslrootcert=stack['pki']['ca'],
        connect_timeout=5,
    ) as conn:
        row = conn.execute('SELECT ssl, version, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()
        return {'ssl': row[0], 'version': row[1], 'client_dn': row[2]}


def test_check_mode_then_both_sides_verified_then_nothing_to_do(stack):
    pooler = stack['pooler']
    before = _digest(pooler.ini)
    check = ok(run_module('pgbouncer_tls', check=True, diff=True, prepare=True, **_args(stack)))
    assert check['due'] and 'not_linked' in check['reasons'] and 'csr' not in check
    assert _digest(pooler.ini) == before and not os.path.exists(os.path.join(pooler.etc, 'pgssl'))
    # plain TCP still works before: the pooler has no TLS at all
    assert pooler.show_config()['client_tls_sslmode'] == 'disable'

    status, installed = converge(stack, proof_dbname='appdb', proof_user='app', proof_password=APP_PASSWORD)
    assert status['slot'] == 'a' and installed['changed']
    # the module's own proof: a verify-full login through the pooler reached PostgreSQL over TLS
    assert installed['proof_login']['ssl'] and installed['proof_login']['client_dn'] == '/CN=%s' % POOL_NAME
    assert APP_PASSWORD not in json.dumps(installed)
    assert installed['served_fingerprint'] == installed['certificate']['fingerprint_sha256']
    slot_dir = os.path.join(pooler.etc, 'pgssl')
    st = os.stat(os.path.join(slot_dir, 'pooler-a.key'))
    assert (st.st_mode & 0o777, st.st_uid) == (0o600, pgfleet.pwd.getpwnam('postgres').pw_uid)
    assert os.stat(slot_dir).st_mode & 0o777 == 0o700
    # from outside: the pooler serves it to a verify-full client by its name
    assert _served(stack) == installed['certificate']['fingerprint_sha256']
    config = pooler.show_config()
    assert config['client_tls_sslmode'] == 'require' and config['server_tls_sslmode'] == 'verify-full'
    # a login through the pooler reaches PostgreSQL over TLS, presenting the pooler's certificate
    seen = _login(stack)
    assert seen['ssl'] and seen['version'].startswith('TLSv1.')
    assert seen['client_dn'] == '/CN=%s' % POOL_NAME
    # plain TCP to the pooler is refused now
    with pytest.raises(psycopg.OperationalError):
        _login(stack, sslmode='disable')

    digest = _digest(pooler.ini)
    again = ok(run_module('pgbouncer_tls', prepare=True, **_args(stack)))
    assert not again['due'] and again['reasons'] == [] and not again['changed'], again
    install_again = ok(run_module('pgbouncer_tls', state='install', slot=again['slot'], **_args(stack)))
    assert not install_again['changed'], install_again
    assert _digest(pooler.ini) == digest


def test_forced_rotation_moves_to_the_other_slot(stack):
    before = _served(stack)
    status, installed = converge(stack, force=True)
    assert status['renew'] and status['slot'] == 'b' and status['slot_in_use'] == 'a'
    after = _served(stack)
    assert after != before and after == installed['certificate']['fingerprint_sha256']
    assert installed['removed'] == [
        os.path.join(stack['pooler'].etc, 'pgssl', 'pooler-a.key'),
        os.path.join(stack['pooler'].etc, 'pgssl', 'pooler-a.crt'),
    ]
    assert _login(stack)['ssl']
    assert not ok(run_module('pgbouncer_tls', **_args(stack)))['due']


class PooledLoad(PgbenchLoad):
    """pgbench -C through the pooler: a new verify-full connection per transaction (2 clients,
    SELECT 1), in runs of 3 s one after the other until stopped; every run must end clean."""

    def __init__(self, stack, rootcert, host=POOL_NAME, hostaddr=POOL_IP, **env):
        pooler_host, host = host, stack['host']
        script = os.path.join('/var/tmp', 'pgssl-pgbouncer-select1.sql')
        with open(script, 'w') as handle:
            handle.write('SELECT 1;\n')
        cmd = [os.path.join(host['bindir'], 'pgbench'), '-n', '-C', '-f', script, '-c', '2', '-T', '3']
        cmd += ['-R', CONNECT_RATE, 'appdb']
        full_env = dict(
            os.environ,
            LD_LIBRARY_PATH=os.path.join(os.path.dirname(host['bindir']), 'lib'),
            PGHOST=pooler_host,
            PGHOSTADDR=hostaddr,
            PGPORT='6432',
            PGUSER='app',
            PGPASSWORD=APP_PASSWORD,
            PGSSLMODE='verify-full',
            PGSSLROOTCERT=rootcert,
            PGCONNECT_TIMEOUT='5',
        )
        full_env.update(env)
        super().__init__(cmd, full_env)


def _new_ca(workdir):
    ca_dir = os.path.join(workdir, 'ca2')
    os.makedirs(ca_dir, mode=0o700, exist_ok=True)
    key, crt = os.path.join(ca_dir, 'ca.key'), os.path.join(ca_dir, 'ca.crt')
    ok(run_module('private_key', path=key))
    ok(run_module('certificate', path=crt, privatekey_path=key, common_name='Test CA 2', profile='ca'))
    return {'ca': crt, 'ca_key': key}


def _server_cert(stack, signer, name):
    """A new key and certificate for PostgreSQL under new names, then the server switched to
    them with a reload (the change unit's own way is tested elsewhere; here it is the far end)."""
    host, ssl_dir = stack['host'], stack['pki']['dir']
    key, crt = os.path.join(ssl_dir, name + '.key'), os.path.join(ssl_dir, name + '.crt')
    ok(run_module('private_key', path=key, owner='postgres', group='postgres'))
    csr = ok(
        run_module('csr', privatekey_path=key, common_name=host['fqdn'], subject_alt_names=[host['fqdn'], host['ip']])
    )
    ok(
        run_module(
            'certificate',
            path=crt,
            csr_content=csr['csr'],
            ca_cert_path=signer['ca'],
            ca_key_path=signer['ca_key'],
            owner='postgres',
            mode='0644',
        )
    )
    stack['fleet'].psql(
        'db110',
        "ALTER SYSTEM SET ssl_cert_file = '%s';\nALTER SYSTEM SET ssl_key_file = '%s';\nSELECT pg_reload_conf();\n"
        % (crt, key),
    )


def _replace(path, text):
    """Files read while the load runs (the clients' root certificate, the server's CA file) are
    replaced whole, never truncated in place: a connection that reads one half-written fails."""
    fresh = path + '.new'
    with open(fresh, 'w') as handle:
        handle.write(text)
    shutil.copymode(path, fresh)
    os.chown(fresh, os.stat(path).st_uid, os.stat(path).st_gid)
    os.replace(fresh, path)


def _server_trust(stack, pem):
    _replace(os.path.join(stack['pki']['dir'], 'ca.crt'), pem)
    stack['fleet'].psql('db110', 'SELECT pg_reload_conf();')


def test_rotations_and_ca_rollover_under_pooled_connection_load(stack):
    """The pooler's certificate forced, PostgreSQL's replaced, then a CA rollover on both sides
    (trust both, reissue from the new CA, retire the old), while new verify-full connections keep
    arriving through the pooler: none fails."""
    work = os.path.join(BASE, 'work')
    rootcert = os.path.join(work, 'clients-root.crt')
    shutil.copy(stack['pki']['ca'], rootcert)
    os.chmod(rootcert, 0o644)
    old_pem = open(stack['pki']['ca']).read()
    ca2 = _new_ca(work)
    new_pem = open(ca2['ca']).read()
    both = old_pem + new_pem

    def trust_both():
        _replace(rootcert, both)
        _server_trust(stack, both)
        converge(stack, ca_bundle=both)

    def reissue():
        _server_cert(stack, ca2, 'server-ca2')
        stack['pooler'].admin('RECONNECT')
        converge(stack, signer=ca2, ca_bundle=both, issuer=new_pem)

    def retire():
        _server_trust(stack, new_pem)
        converge(stack, signer=ca2, ca_bundle=new_pem)

    def server_replaced():
        _server_cert(stack, stack['pki'], 'server-next')
        stack['pooler'].admin('RECONNECT')

    steps = [
        ("the pooler's certificate forced", lambda: converge(stack, force=True)),
        ("PostgreSQL's certificate replaced", server_replaced),
        ('CA rollover, trust both', trust_both),
        ('CA rollover, reissue from the new CA', reissue),
        ('CA rollover, retire the old CA', retire),
    ]
    figures = {}
    for label, step in steps:
        load = PooledLoad(stack, rootcert)
        load.start()
        try:
            time.sleep(2)
            started = time.time()
            step()
            elapsed = time.time() - started
            time.sleep(2)
        finally:
            load.stop()
        assert not load.failures, (label, load.failures[:3])
        assert load.connections > 0, label
        figures[label] = {'step_seconds': round(elapsed, 1), 'connections': load.connections, 'failed': 0}
    # the end state: the new CA on both sides, checked from outside
    served = pgconn.probe_tls(POOL_NAME, 6432, hostaddr=POOL_IP, timeout=5, cafile=ca2['ca'])
    assert crypto.load_certificate(served['certificate_der']).issuer.rfc4514_string() == 'CN=Test CA 2'
    _replace(rootcert, new_pem)
    assert _login(dict(stack, pki=dict(stack['pki'], ca=rootcert)))['ssl']
    # from here on the fleet's CA is the new one
    stack['pki'].update(ca=ca2['ca'], ca_key=ca2['ca_key'])
    assert not ok(run_module('pgbouncer_tls', **_args(stack)))['due']
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), '.cache')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, 'pgbouncer-figures.json'), 'w') as handle:
        json.dump(figures, handle, indent=1)


def test_open_sessions_survive_a_rotation_and_restart_only_keys_wait(stack):
    """A client session opened before a forced rotation keeps working after the RELOAD; new ones
    get the new certificate. A key PgBouncer takes only at a restart (listen_port, from SHOW
    CONFIG's changeable) is refused with the file unchanged: the module never restarts it."""
    held = psycopg.connect(
        host=POOL_NAME,
        hostaddr=POOL_IP,
        port=6432,
        dbname='appdb',
        user='app',
        password=APP_PASSWORD,
        sslmode='verify-full',
        sslrootcert=stack['pki']['ca'],
        connect_timeout=5,
    )
    try:
        assert held.execute('SELECT 1').fetchone() == (1,)
        before = _served(stack)
        _status, installed = converge(stack, force=True)
        assert _served(stack) == installed['certificate']['fingerprint_sha256'] != before
        assert held.execute('SELECT 2').fetchone() == (2,)
    finally:
        held.close()
    pooler = stack['pooler']
    before = _digest(pooler.ini)
    moved = run_module('pgbouncer_tls', state='install', settings={'listen_port': '6439'}, **_args(stack))
    assert moved.get('failed') and moved['code'] == 'restart_only' and 'listen_port' in moved['msg'], moved
    assert _digest(pooler.ini) == before and pooler.show_config()['listen_port'] == '6432'
    # the value it already has is no change at all
    same = ok(run_module('pgbouncer_tls', state='install', settings={'listen_port': '6432'}, **_args(stack)))
    assert not same['changed'] and same['restart_required'] == []


def test_applications_log_in_with_client_certificates_through_the_pooler(stack):
    """auth_type=cert with client_tls_sslmode=verify-full: a client certificate for the role
    logs in through the pooler, a password alone does not; pgbench -C with that certificate
    during a forced rotation: none fails. Then back to password logins."""
    work = os.path.join(BASE, 'work')
    key, crt, _serial = client_cert(work, stack['pki'], 'app')
    ok(
        run_module(
            'pgbouncer_tls',
            state='install',
            client_tls_sslmode='verify-full',
            settings={'auth_type': 'cert'},
            **_args(stack),
        )
    )
    try:
        seen = _login(stack, sslcert=crt, sslkey=key)
        assert seen['ssl']
        with pytest.raises(psycopg.OperationalError):
            _login(stack)
        load = PooledLoad(stack, stack['pki']['ca'], PGSSLCERT=crt, PGSSLKEY=key, PGPASSWORD='')
        load.start()
        try:
            time.sleep(2)
            converge(stack, force=True, client_tls_sslmode='verify-full', settings={'auth_type': 'cert'})
            time.sleep(2)
        finally:
            load.stop()
        assert not load.failures and load.connections > 0, load.failures[:3]
    finally:
        ok(run_module('pgbouncer_tls', state='install', settings={'auth_type': 'scram-sha-256'}, **_args(stack)))
    assert _login(stack)['ssl']


def test_postgresql_authenticates_the_pooler_by_its_certificate(stack):
    """PostgreSQL's own cert rule for the pooler (its DN mapped to the role in pg_ident.conf):
    logins through the pooler pass with the pooler's certificate, and fail once the module stops
    presenting it (server_tls_client_cert false). Then back as it was."""
    fleet, host, pooler = stack['fleet'], stack['host'], stack['pooler']
    ident = os.path.join(host['data_dir'], 'pg_ident.conf')
    saved = {path: open(path).read() for path in (host['hba_file'], ident)}
    try:
        with open(ident, 'a') as handle:
            handle.write('pooler  %s  app\n' % POOL_NAME)
        with open(host['hba_file'], 'w') as handle:
            handle.write('hostssl all app 127.0.0.1/32 cert map=pooler\n' + saved[host['hba_file']])
        fleet.psql('db110', 'SELECT pg_reload_conf();')
        pooler.admin('RECONNECT')
        assert _login(stack)['client_dn'] == '/CN=%s' % POOL_NAME
        ok(run_module('pgbouncer_tls', state='install', server_tls_client_cert=False, **_args(stack)))
        pooler.admin('RECONNECT')
        with pytest.raises(psycopg.OperationalError):
            _login(stack)
    finally:
        for path, text in saved.items():
            with open(path, 'w') as handle:
                handle.write(text)
        fleet.psql('db110', 'SELECT pg_reload_conf();')
        ok(run_module('pgbouncer_tls', state='install', **_args(stack)))
        pooler.admin('RECONNECT')
    assert _login(stack)['ssl']


@pytest.fixture
def pristine_ini(stack):
    """The pooler's ini (and includes made here) put back after the test, and PgBouncer reloaded."""
    pooler = stack['pooler']
    saved = open(pooler.ini, 'rb').read()
    made = []
    yield made
    with open(pooler.ini, 'wb') as handle:
        handle.write(saved)
    for path in made:
        if os.path.lexists(path):
            os.unlink(path)
    pooler.admin('RELOAD')


def _append(pooler, text):
    with open(pooler.ini, 'a') as handle:
        handle.write(text)


@pytest.mark.parametrize(
    'tail, code',
    [
        ('listen_prot = 6432\n', 'pgbouncer_unknown_key'),
        ('%include pgbouncer-extra.ini\n', 'pgbouncer_include'),
        ('[pgbouncer\n', 'pgbouncer_syntax'),
    ],
)
def test_what_pgbouncer_would_stop_at_is_refused_and_nothing_changes(stack, pristine_ini, tail, code):
    pooler = stack['pooler']
    _append(pooler, tail)
    before = _digest(pooler.ini)
    config = pooler.show_config()
    got = run_module('pgbouncer_tls', state='install', force=True, **_args(stack))
    assert got.get('failed') and got['code'] == code, got
    assert pooler.ini.split('/')[-1] in got['msg'] and tail.strip() not in got['msg']
    assert _digest(pooler.ini) == before and pooler.show_config() == config


def test_a_setting_decided_in_an_include_is_refused(stack, pristine_ini):
    pooler = stack['pooler']
    include = os.path.join(pooler.etc, 'tls.ini')
    pristine_ini.append(include)
    with open(include, 'w') as handle:
        handle.write('client_tls_sslmode = prefer\n')
    pooler.own(include)
    _append(pooler, '%%include %s\n' % include)
    pooler.admin('RELOAD')
    assert pooler.show_config()['client_tls_sslmode'] == 'prefer'
    before = _digest(pooler.ini)
    got = run_module('pgbouncer_tls', state='install', **_args(stack))
    assert got.get('failed') and got['code'] == 'pgbouncer_include' and 'tls.ini:1' in got['msg'], got
    assert _digest(pooler.ini) == before


def test_the_reading_matches_pgbouncer_and_odd_values_stay_exact(stack, pristine_ini):
    """Values with ; # quotes and trailing blanks, a second [pgbouncer] header and an include:
    what the module reads is what SHOW CONFIG holds, key by key; the edit changes only the
    deciding lines."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import ini

    pooler = stack['pooler']
    include = os.path.join(pooler.etc, 'more.ini')
    pristine_ini.append(include)
    with open(include, 'w') as handle:
        handle.write('; included\nstats_users = "stats" ; not a comment\n[databases]\n')
    pooler.own(include)
    text = open(pooler.ini).read()
    text = text.replace('[pgbouncer]\n', '[pgbouncer]\nadmin_users = reset-by-the-next-header\n[pgbouncer]\n', 1)
    text += 'admin_users = a;b #c  \t\n  ignore_startup_parameters=extra_float_digits\n%%include %s\n' % include
    text += (
        '[pgbouncer]\n'
        + '\n'.join(
            line
            for line in text.split('[pgbouncer]\n')[-1].splitlines()
            if line.startswith(('listen_', 'unix_', 'auth_', 'pidfile', 'logfile', 'client_tls', 'server_tls'))
        )
        + '\n'
    )
    with open(pooler.ini, 'w') as handle:
        handle.write(text)
    pooler.admin('RELOAD')
    config = pooler.show_config()
    read = ini.Tree(pooler.ini, lambda path: open(path).read()).values()
    for key, value in read.items():
        assert ini.same(key, config[key], value), (key, config[key], value)
    # admin_users and stats_users were reset by the last header: PgBouncer agrees
    assert 'admin_users' not in read and config['admin_users'] == ''
    lines_before = text.split('\n')
    got = ok(run_module('pgbouncer_tls', state='install', client_tls_sslmode='verify-ca', diff=True, **_args(stack)))
    assert got['changed_settings'] == ['client_tls_sslmode'], got
    lines_after = open(pooler.ini).read().split('\n')
    changed = [i for i, (a, b) in enumerate(zip(lines_before, lines_after)) if a != b]
    assert len(lines_after) == len(lines_before) and len(changed) == 1
    assert lines_after[changed[0]] == 'client_tls_sslmode = verify-ca'
    assert pooler.show_config()['client_tls_sslmode'] == 'verify-ca'


def test_a_value_pgbouncer_rejects_is_rolled_back(stack, pristine_ini):
    """PgBouncer answers RELOAD to a value it cannot take and stops reading there; the proof
    sees it in SHOW CONFIG, the file is put back and PgBouncer reloaded with it."""
    pooler = stack['pooler']
    before = _digest(pooler.ini)
    got = run_module('pgbouncer_tls', state='install', settings={'pool_mode': 'nosuchmode'}, timeout=3, **_args(stack))
    assert got.get('failed') and got.get('rolled_back'), got
    assert _digest(pooler.ini) == before
    config = pooler.show_config()
    assert config['client_tls_sslmode'] == 'require' and config['server_tls_sslmode'] == 'verify-full'
    assert _login(stack)['ssl']


ROLE_BASE = '/var/tmp/pgssl-rs-pgbouncer-role'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
ROLE_INVENTORY = """---
pgssl_servers:
  hosts:
    db112.pgssl.test: {ansible_host: 127.0.0.112, server_cluster: "%(data)s"}
pgssl_poolers:
  hosts:
    pool113.pgssl.test:
      ansible_host: 127.0.0.113
      pgbouncer_config_file: "%(ini)s"
      pgbouncer_proof_dbname: appdb
      pgbouncer_proof_user: app
      pgbouncer_proof_password: "%(password)s"
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: pgbouncer-test-only
"""


def _play(inventory, *args):
    done = proc.run([PLAYBOOK, '-i', inventory] + list(args), timeout=540)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done.stdout


def _recap_changed(out):
    return sum(int(n) for n in re.findall(r'changed=(\d+)', out.split('PLAY RECAP')[-1]))


@pytest.fixture(scope='module')
def role_stack():
    pgbouncerfleet.install()
    fleet = pgfleet.fresh(ROLE_BASE)
    host = fleet.up('db112', '127.0.0.112', version='16')
    fleet.psql('db112', "CREATE ROLE app LOGIN PASSWORD '%s';\n" % APP_PASSWORD)
    pooler = pgbouncerfleet.Pooler(ROLE_BASE, 'pool113', '127.0.0.113')
    pooler.write_ini(databases={'appdb': 'host=127.0.0.112 port=5432 dbname=postgres'}, users={'app': APP_PASSWORD})
    pooler.start()
    work = os.path.join(ROLE_BASE, 'work')
    os.makedirs(work, mode=0o700, exist_ok=True)
    inventory = os.path.join(work, 'inventory.yml')
    with open(inventory, 'w') as handle:
        handle.write(
            ROLE_INVENTORY
            % {'data': host['data_dir'], 'ini': pooler.ini, 'ca': os.path.join(work, 'ca'), 'password': APP_PASSWORD}
        )
    yield {'fleet': fleet, 'host': host, 'pooler': pooler, 'inventory': inventory, 'ca': os.path.join(work, 'ca')}
    pooler.stop()
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        fleet.sweep()


def _pooled_login(ca):
    with psycopg.connect(
        host='pool113.pgssl.test',
        hostaddr='127.0.0.113',
        port=6432,
        dbname='appdb',
        user='app',
        password=APP_PASSWORD,
        sslmode='verify-full',
        sslrootcert=ca,
        connect_timeout=5,
    ) as conn:
        return conn.execute('SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()


def test_the_role_in_site_and_renew(role_stack):
    """site in check mode writes nothing; site secures the server and then the pooler in front of
    it (a verify-full login through the pooler reaches PostgreSQL over TLS with the pooler's
    certificate); a second site and renew change nothing; renew with pgbouncer_force rotates."""
    pooler, inventory = role_stack['pooler'], role_stack['inventory']
    before = _digest(pooler.ini)
    _play(inventory, '--check', 'pgssl.postgresql.site')
    assert _digest(pooler.ini) == before
    _play(inventory, 'pgssl.postgresql.site')
    rootcert = os.path.join(role_stack['ca'], 'ca.crt')
    ssl, client_dn = _pooled_login(rootcert)
    assert ssl and client_dn == '/CN=pool113.pgssl.test'
    served = _served_by(rootcert)
    assert _recap_changed(_play(inventory, 'pgssl.postgresql.site')) == 0
    assert _recap_changed(_play(inventory, 'pgssl.postgresql.renew')) == 0
    _play(inventory, 'pgssl.postgresql.renew', '-e', 'pgbouncer_force=true')
    assert _served_by(rootcert) != served
    assert _pooled_login(rootcert)[0]


def test_audit_and_ca_rollover_with_the_pooler_under_load(role_stack):
    """audit shows the pooler's served certificate, its days left and both of its sslmodes; then
    the three phases of ca_rollover move the pooler with the server (its ca.crt trusts both CAs,
    then its certificate comes from the new CA, then only the new CA is trusted) while pgbench -C
    opens verify-full connections through it: none fails, and each phase waits for the pooler."""
    inventory, ca_dir = role_stack['inventory'], role_stack['ca']
    work = os.path.dirname(inventory)
    _play(inventory, 'pgssl.postgresql.audit', '-e', 'pgssl_audit_dir=%s' % work)
    rows = dict((row['host'], row) for row in json.load(open(os.path.join(work, 'pgssl-audit.json'))))
    pooler_row = rows['pool113.pgssl.test']
    assert pooler_row['tls'] and pooler_row['chain_verified'] and pooler_row['served_on_disk'], pooler_row
    assert pooler_row['plain_tcp_accepted'] is False and pooler_row['days_left'] > 300
    assert pooler_row['pooler'] == 'client_tls_sslmode=require server_tls_sslmode=verify-full', pooler_row
    assert rows['db112.pgssl.test']['pooler'] == '-'

    rootcert = os.path.join(work, 'clients-root.crt')
    shutil.copy(os.path.join(ca_dir, 'ca.crt'), rootcert)
    os.chmod(rootcert, 0o644)
    stack = {'host': role_stack['host']}
    figures = {}
    for phase in ('trust', 'reissue', 'retire'):
        trust = os.path.join(ca_dir, 'trust.pem')
        if os.path.exists(trust):
            shutil.copy(trust, rootcert)
        load = PooledLoad(stack, rootcert, host='pool113.pgssl.test', hostaddr='127.0.0.113')
        load.start()
        try:
            time.sleep(2)
            started = time.time()
            out = _play(inventory, 'pgssl.postgresql.ca_rollover', '-e', 'pgssl_rollover_phase=' + phase)
            elapsed = time.time() - started
            time.sleep(2)
        finally:
            load.stop()
        assert not load.failures, (phase, load.failures[:3])
        assert 'pool113.pgssl.test: %s' % phase in out, out[-3000:]
        figures['ca_rollover phase %s (playbook)' % phase] = {
            'step_seconds': round(elapsed, 1),
            'connections': load.connections,
            'failed': 0,
        }
    # finished: the new CA is the fleet's CA, and the pooler's certificate comes from it alone
    assert _served_by(os.path.join(ca_dir, 'ca.crt'))
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), '.cache')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, 'pgbouncer-rollover-figures.json'), 'w') as handle:
        json.dump(figures, handle, indent=1)


def _served_by(rootcert):
    probe = pgconn.probe_tls('pool113.pgssl.test', 6432, hostaddr='127.0.0.113', timeout=5, cafile=rootcert)
    return crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der']))


@pytest.fixture
def user_owned_etc(stack):
    """A copy of the pooler's ini in a directory the server user owns (as some layouts have it),
    removed after the test; and a root-only file the server user would like root to touch."""
    import pwd

    pg = pwd.getpwnam('postgres')
    etc = os.path.join(BASE, 'etc-user')
    os.makedirs(etc, exist_ok=True)
    os.chown(etc, pg.pw_uid, pg.pw_gid)
    os.chmod(etc, 0o755)
    ini = os.path.join(etc, 'pgbouncer.ini')
    shutil.copy(stack['pooler'].ini, ini)
    os.chown(ini, pg.pw_uid, pg.pw_gid)
    os.chmod(ini, 0o640)
    secret_dir = os.path.join(BASE, 'root-only')
    os.makedirs(secret_dir, mode=0o700, exist_ok=True)
    target = os.path.join(secret_dir, 'target.ini')
    with open(target, 'w') as handle:
        handle.write('[pgbouncer]\nlisten_port = 6432\n')
    os.chmod(target, 0o600)
    yield {'etc': etc, 'ini': ini, 'target': target, 'uid': pg.pw_uid, 'gid': pg.pw_gid}
    shutil.rmtree(etc, ignore_errors=True)
    shutil.rmtree(secret_dir, ignore_errors=True)


def _as_postgres(path_op, *args):
    """Plant something as the server user (a child that dropped to it)."""
    import pwd

    pg = pwd.getpwnam('postgres')
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(pg.pw_gid)
            os.setuid(pg.pw_uid)
            path_op(*args)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_a_config_file_the_server_user_swapped_for_a_link_is_refused(stack, user_owned_etc):
    """The server user replaces the ini in its own directory with a link to a root-only file:
    nothing follows it, and the root-only file is neither read into a result nor written."""
    ini, target = user_owned_etc['ini'], user_owned_etc['target']
    os.unlink(ini)
    _as_postgres(os.symlink, target, ini)
    assert os.lstat(ini).st_uid == user_owned_etc['uid']
    before = _digest(target)
    got = run_module('pgbouncer_tls', state='install', force=True, **_args(stack, config_file=ini))
    assert got.get('failed') and 'symbolic link' in got['msg'], got
    assert _digest(target) == before and os.stat(target).st_uid == 0


def test_a_slot_directory_the_server_user_planted_is_refused(stack, user_owned_etc):
    """The default slot directory beside an ini in the server user's own directory, planted as a
    link to a root-only directory: refused before any key is made there."""
    ini = user_owned_etc['ini']
    root_only = os.path.dirname(user_owned_etc['target'])
    _as_postgres(os.symlink, root_only, os.path.join(user_owned_etc['etc'], 'pgssl'))
    got = run_module('pgbouncer_tls', prepare=True, force=True, **_args(stack, config_file=ini))
    assert got.get('failed') and 'not a directory' in got['msg'], got
    assert sorted(os.listdir(root_only)) == ['target.ini']


HBA_LINES = [
    'hostssl all all 127.0.0.1/32 cert',
    'host appdb app 127.0.0.0 255.0.0.0 md5',
    'hostnossl "app" all ::1/128 reject',
    'local all all peer',
    'hostssl sameuser all 0.0.0.0/0 scram-sha-256',
    'host all all 127.0.0.1/32 trust # a comment',
    'hostssl all app,"x y" 10.0.0.0/8 password',
    'hostssl all all 127.0.0.1/32 cert clientcert=verify-full',
    'hostssl replication all 127.0.0.1/32 cert',
    'hostssl all +admins 127.0.0.1/32 md5',
    'hostssl all all localhost md5',
    'hostssl all all 127.0.0.1/33 md5',
    'hostgssenc all all 127.0.0.1/32 md5',
    'host all all 127.0.0.1/32 ident',
    'hostssl all all 127.0.0.1 md5',
    'host all "unterminated 127.0.0.1/32 md5',
    'host all all 127.0.0.1/32 ::1 md5',
]


def test_the_hba_check_agrees_with_pgbouncer_line_by_line(stack, pristine_ini):
    """Each line alone in PgBouncer's hba file, reloaded: PgBouncer logs the lines it skips.
    The module's check refuses exactly those, and the module refuses a file holding one."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import hba

    pooler = stack['pooler']
    path = os.path.join(pooler.etc, 'hba.conf')
    pristine_ini.append(path)
    _append(pooler, 'auth_type = hba\nauth_hba_file = %s\n' % path)
    verdicts = {}
    for line in HBA_LINES:
        with open(path, 'w') as handle:
            handle.write(line + '\n')
        pooler.own(path)
        size = os.path.getsize(pooler.log)
        pooler.admin('RELOAD')
        time.sleep(0.2)
        with open(pooler.log, 'rb') as handle:
            handle.seek(size)
            logged = handle.read().decode('utf-8', 'replace')
        skipped = 'could not parse hba config line 1' in logged
        verdicts[line] = (skipped, hba.check_line(line) is not None)
    assert all(pgb == ours for pgb, ours in verdicts.values()), dict(
        (k, v) for k, v in verdicts.items() if v[0] != v[1]
    )
    assert sum(1 for pgb, _ours in verdicts.values() if pgb) >= 8
    # the module refuses the file with a line PgBouncer would skip, before anything changes
    with open(path, 'w') as handle:
        handle.write('hostssl all all 127.0.0.1/32 cert\nhostssl all all 0.0.0.0/0 reject clientcert=1\n')
    before = _digest(pooler.ini)
    got = run_module('pgbouncer_tls', state='install', **_args(stack))
    assert got.get('failed') and got['code'] == 'pgbouncer_hba' and 'hba.conf:2' in got['msg'], got
    assert _digest(pooler.ini) == before
