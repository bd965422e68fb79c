# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client role's files log in for real: psql (through pg_service.conf), psycopg and pgjdbc,
with an encrypted key whose password each client supplies its own way."""

import glob
import os
import pwd
import re
import shutil
import tempfile

import psycopg
import pytest

import proc as procs
from conftest import HERE, configure_ssl, issue_with_playbook, run_playbook

USER = 'pgsslcli'
HOME = '/var/tmp/pgssl-rs-client-home'
# a password with what breaks naive quoting: space, '#', quotes, a backslash (Java takes only
# printable ASCII for a pk8 password; the module refuses others, see test_pk8)
PASSWORD = 'k3y pass # "q" \'s\' \\ end'
CA_PASSPHRASE = 'realserver-ca-passphrase'
NAME = 'db11'


def _pgjdbc_jar():
    jar = os.environ.get('PGSSL_PGJDBC_JAR')
    if not jar:
        found = sorted(
            glob.glob(os.path.expanduser('~/.m2/repository/org/postgresql/postgresql/*/postgresql-*[0-9].jar'))
        )
        jar = found[-1] if found else None
    assert jar and os.path.exists(jar), 'pgjdbc jar missing: run "make clients" (make test does)'
    return jar


@pytest.fixture(scope='module')
def client_user():
    try:
        pwd.getpwnam(USER)
    except KeyError:
        procs.run(['useradd', '--home-dir', HOME, '--shell', '/usr/sbin/nologin', USER], check=True, timeout=60)
    shutil.rmtree(HOME, ignore_errors=True)
    os.makedirs(HOME)
    entry = pwd.getpwnam(USER)
    os.chown(HOME, entry.pw_uid, entry.pw_gid)
    os.chmod(HOME, 0o700)
    yield entry
    shutil.rmtree(HOME, ignore_errors=True)


@pytest.fixture
def server(fleet, workdir, pristine):
    """db11 with a certificate of a fresh CA, and a cert-auth rule for the client user."""
    host = pristine(NAME)
    ca_dir, host_dir = issue_with_playbook(workdir, host, CA_PASSPHRASE)
    with open(host['hba_file']) as handle:
        hba = handle.read()
    with open(host['hba_file'], 'w') as handle:
        handle.write('hostssl all %s 0.0.0.0/0 cert\n' % USER + hba)
    fleet.psql(NAME, "DO $$ BEGIN CREATE ROLE %s LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;" % USER)
    shutil.copy(os.path.join(ca_dir, 'ca.crt'), os.path.join(host_dir, 'ca.crt'))
    configure_ssl(
        fleet,
        NAME,
        os.path.join(host_dir, 'server.crt'),
        os.path.join(host_dir, 'server.key'),
        ca=os.path.join(host_dir, 'ca.crt'),
    )
    os.makedirs(os.path.join(ca_dir, 'issued'), mode=0o700)  # the ca role makes it
    host = dict(host, ca_dir=ca_dir)
    return host


def _role(host, **user):
    entry = dict(os_user=USER, db_user=USER, key_passphrase=PASSWORD)
    entry.update(user)
    out = run_playbook(
        'client_role.yml',
        pin_interpreter=False,
        client_users=[entry],
        client_ca_dir=host['ca_dir'],
        client_ca_passphrase=CA_PASSPHRASE,
        client_service_sslpassword=True,
        client_services=[dict(name='db11', host=host['fqdn'], hostaddr=host['ip'])],
    )
    assert PASSWORD not in out and CA_PASSPHRASE not in out
    return int(re.search(r'localhost\s*:.*changed=(\d+)', out).group(1))


def _psql_as_user(sql, **env):
    """psql run as the client user, who reads ~/.pg_service.conf (service=db11)."""
    entry = pwd.getpwnam(USER)
    return procs.run(
        [shutil.which('psql'), 'service=db11', '-AtX', '-c', sql],
        timeout=60,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        env=dict({'HOME': HOME, 'PATH': '/usr/bin:/bin', 'PGCONNECT_TIMEOUT': '10'}, **env),
    )


def _java(host, jar, classes, **props):
    lines = ''.join('%s=%s\n' % item for item in props.items())
    return procs.run(
        [
            'java',
            '-cp',
            os.pathsep.join([jar, classes]),
            'PgLogin',
            'jdbc:postgresql://%s:%s/postgres' % (host['ip'], host['port']),
        ],
        input=lines,
        timeout=120,
    )


def test_encrypted_client_key_logs_in_with_psql_psycopg_and_pgjdbc(server, client_user):
    jar = _pgjdbc_jar()
    assert _role(server) > 0
    assert _role(server) == 0, 'second run of the client role changed something'

    pgdir = os.path.join(HOME, '.postgresql')
    for name, mode in (
        ('postgresql.key', 0o600),
        ('postgresql.pk8', 0o600),
        ('postgresql.crt', 0o644),
        ('root.crt', 0o644),
    ):
        st = os.lstat(os.path.join(pgdir, name))
        assert (st.st_uid, st.st_gid) == (client_user.pw_uid, client_user.pw_gid), name
        assert st.st_mode & 0o777 == mode, name
    with open(os.path.join(pgdir, 'postgresql.key')) as handle:
        assert handle.read().startswith('-----BEGIN ENCRYPTED PRIVATE KEY-----')
    with open(os.path.join(HOME, '.pg_service.conf')) as handle:
        service = handle.read()
    assert 'sslpassword=%s\n' % PASSWORD in service
    assert os.stat(os.path.join(HOME, '.pg_service.conf')).st_mode & 0o777 == 0o600

    # psql (Debian's libpq) as the user, everything from the service file
    proc = _psql_as_user('SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 't|/CN=%s' % USER

    # psycopg (its own libpq) with sslpassword, and without it: the key does not open
    common = dict(
        host=server['fqdn'],
        hostaddr=server['ip'],
        port=server['port'],
        dbname='postgres',
        user=USER,
        sslmode='verify-full',
        sslrootcert=os.path.join(pgdir, 'root.crt'),
        sslcert=os.path.join(pgdir, 'postgresql.crt'),
        sslkey=os.path.join(pgdir, 'postgresql.key'),
        connect_timeout=5,
    )
    with psycopg.connect(sslpassword=PASSWORD, **common) as conn:
        row = conn.execute('SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()
    assert row[0] == '/CN=%s' % USER
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(sslpassword='not the password', **common).close()
    assert 'private key' in str(err.value) or 'bad decrypt' in str(err.value)

    # pgjdbc with the encrypted PKCS#8 DER copy and sslpassword
    with tempfile.TemporaryDirectory(prefix='pgssl-java-') as classes:
        procs.run(['javac', '-d', classes, os.path.join(HERE, 'clients', 'PgLogin.java')], check=True, timeout=300)
        props = dict(
            user=USER,
            sslmode='verify-full',
            sslrootcert=common['sslrootcert'],
            sslcert=common['sslcert'],
            sslkey=os.path.join(pgdir, 'postgresql.pk8'),
        )
        proc = _java(server, jar, classes, sslpassword=PASSWORD, **props)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip() == 'ssl=t dn=/CN=%s' % USER
        proc = _java(server, jar, classes, sslpassword='not the password', **props)
        assert proc.returncode != 0 and 'ssl=t' not in proc.stdout


def test_system_roots_and_no_pk8(server, client_user):
    _role(server)
    pgdir = os.path.join(HOME, '.postgresql')
    assert os.path.exists(os.path.join(pgdir, 'postgresql.pk8'))
    os.unlink(os.path.join(pgdir, 'root.crt'))
    _role(server, pk8=False, root_certificates='system')
    # no pk8 any more (an old one could hold the key), no root.crt written
    assert not os.path.exists(os.path.join(pgdir, 'postgresql.pk8'))
    assert not os.path.exists(os.path.join(pgdir, 'root.crt'))
    with open(os.path.join(HOME, '.pg_service.conf')) as handle:
        assert 'sslrootcert=system\n' in handle.read()
    # libpq 16+ (psycopg's) with sslrootcert=system trusts the system store, which does not
    # hold this fleet's private CA: the login is refused by certificate verification
    os.environ['PGSERVICEFILE'] = os.path.join(HOME, '.pg_service.conf')
    try:
        with pytest.raises(psycopg.OperationalError) as err:
            psycopg.connect('service=db11', connect_timeout=5).close()
    finally:
        del os.environ['PGSERVICEFILE']
    assert 'certificate verify failed' in str(err.value)


def test_service_entry_with_a_line_break_is_refused_before_any_file(server, client_user):
    service_file = os.path.join(HOME, '.pg_service.conf')
    if os.path.exists(service_file):
        os.unlink(service_file)
    with pytest.raises(AssertionError) as err:
        run_playbook(
            'client_role.yml',
            pin_interpreter=False,
            client_users=[dict(os_user=USER, db_user=USER)],
            client_ca_dir=server['ca_dir'],
            client_ca_passphrase=CA_PASSPHRASE,
            client_services=[dict(name='db11', host=server['fqdn'] + '\nsslmode=disable')],
        )
    assert 'line break' in str(err.value)
    assert not os.path.exists(service_file)
