# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real primary and a standby made by pg_basebackup -R (PG 14 and PG 18): the standby's link
moves to verify-full with a client certificate of the replication role, proven from both ends;
a standby pointed at a name the primary's certificate does not carry is refused and rolled
back; paths with spaces, quotes and backslashes round-trip through both quoting layers."""

import os
import pwd
import shutil
import time

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as conninfo

import pgfleet
from conftest import run_module
from test_server_side import issue, login, ok, ssl_settings

BASE = '/var/tmp/pgssl-rs-repl'
# primary, standby, major
PAIRS = {'18': ('db72', 'db73'), '14': ('db74', 'db75')}
ADDRESSES = {'db72': '127.0.0.72', 'db73': '127.0.0.73', 'db74': '127.0.0.74', 'db75': '127.0.0.75'}


@pytest.fixture(scope='module')
def rfleet():
    fleet = pgfleet.Fleet(BASE)
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        fleet.sweep()
    for version, (primary, standby) in PAIRS.items():
        fleet.up(primary, ADDRESSES[primary], version)
        fleet.standby(standby, ADDRESSES[standby], primary)
    yield fleet
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        fleet.sweep()


def _own(path, mode):
    pg = pwd.getpwnam('postgres')
    os.chown(path, pg.pw_uid, pg.pw_gid)
    os.chmod(path, mode)


def _link(standby, **args):
    return run_module(
        'standby_link',
        login_unix_socket=standby['socket_dir'],
        login_port=standby['port'],
        server_user='postgres',
        deadline=180,
        **args,
    )


def _primary_side(fleet, primary):
    sql = 'SELECT s.ssl, s.client_dn FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid);'
    return fleet.psql(primary, sql).stdout.split()


def _auto_conf(standby):
    with open(os.path.join(standby['data_dir'], 'postgresql.auto.conf')) as handle:
        return handle.read()


@pytest.mark.parametrize('version', sorted(PAIRS))
def test_standby_link_moves_to_verify_full_with_a_client_certificate(rfleet, workdir, version):
    primary_name, standby_name = PAIRS[version]
    primary, standby = rfleet.host(primary_name), rfleet.host(standby_name)
    # the primary serves TLS and takes replication by certificate only
    pki = issue(workdir, primary)
    server_ca = os.path.join(pki['dir'], 'root.crt')  # client certificates are checked against it
    shutil.copy(pki['ca'], server_ca)
    _own(server_ca, 0o644)
    ok(run_module('pg_conf', path=primary['config_file'], settings=ssl_settings(pki, ssl_ca_file=server_ca)))
    rule = {'type': 'hostssl', 'databases': ['replication'], 'users': ['replicator'], 'address': '127.0.0.0/8'}
    ok(run_module('pg_hba', path=primary['hba_file'], rules=[dict(rule, method='cert')], require_ssl='reject'))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(primary)))
    # the standby's own key and certificate for the replication role, and the CA, under paths
    # that need both quoting layers (libpq's and the GUC file's)
    files = os.path.join(standby['hostdir'], "repl dir 'q' #h \\b")
    os.makedirs(files)
    _own(files, 0o755)
    key, crt, root = (os.path.join(files, n) for n in ('replicator.key', 'replicator.crt', "root 'ca'.crt"))
    ok(run_module('private_key', path=key, owner='postgres', group='postgres'))
    csr = ok(run_module('csr', privatekey_path=key, common_name='replicator', profile='client'))
    ok(
        run_module(
            'certificate',
            path=crt,
            csr_content=csr['csr'],
            profile='client',
            ca_cert_path=pki['ca'],
            ca_key_path=pki['ca_key'],
            owner='postgres',
            mode='0644',
        )
    )
    shutil.copy(pki['ca'], root)
    _own(root, 0o644)
    # the link that pg_basebackup -R wrote still streams (sslmode=prefer, with a password)
    before_auto = _auto_conf(standby)
    assert 'password=' in before_auto and 'sslmode=prefer' in before_auto

    wanted = dict(sslmode='verify-full', sslrootcert=root, sslcert=crt, sslkey=key, remove_password=True)
    planned = ok(_link(standby, diff=True, check=True, **wanted))
    assert planned['changed'] and _auto_conf(standby) == before_auto
    assert 'password=********' in planned['conninfo_before'] and 'password' not in planned['conninfo']
    assert primary['password'] not in repr(planned)

    done = ok(_link(standby, **wanted))
    assert done['changed'] and done['receiver']['status'] == 'streaming'
    assert 'sslmode=verify-full' in done['receiver']['conninfo'].split()
    # the primary sees the standby over TLS with the replication role's certificate
    assert _primary_side(rfleet, primary_name) == ['t|/CN=replicator']
    # both quoting layers round-trip: what the server reads back is exactly the path
    shown = rfleet.psql(standby_name, 'SHOW primary_conninfo;').stdout.strip()
    parsed = conninfo.as_dict(shown)
    assert parsed['sslrootcert'] == root and parsed['sslkey'] == key and 'password' not in parsed
    assert primary['password'] not in _auto_conf(standby)
    # nothing more to do the second time
    again = ok(_link(standby, **wanted))
    assert not again['changed']

    # a name the primary's certificate does not carry: the walreceiver refuses it, the module
    # writes the working value back, and the standby streams again
    good_auto = _auto_conf(standby)
    wrong = _link(standby, host='db99.pgssl.test', **dict(wanted, timeout=8))
    assert wrong.get('failed') and wrong.get('rolled_back'), wrong
    assert 'streams again' in wrong['msg'], wrong['msg']
    assert _auto_conf(standby) == good_auto
    assert _primary_side(rfleet, primary_name) == ['t|/CN=replicator']

    # replication still carries writes
    rfleet.psql(primary_name, 'CREATE TABLE IF NOT EXISTS t_repl (x int); INSERT INTO t_repl VALUES (1);')
    for _tick in range(100):
        if rfleet.psql(standby_name, "SELECT to_regclass('t_repl') IS NOT NULL;").stdout.strip() == 't':
            break
        time.sleep(0.1)
    assert rfleet.psql(standby_name, 'SELECT count(*) FROM t_repl;').stdout.strip() == '1'
    # on the primary the module changes nothing
    assert ok(_link(primary, **wanted))['role'] == 'primary'


@pytest.mark.parametrize('version', sorted(PAIRS))
def test_a_link_set_in_postgresql_conf_is_edited_there(rfleet, version):
    """The operator keeps primary_conninfo in postgresql.conf: the module edits that line in
    place (only its value changes, nothing goes to postgresql.auto.conf), and a value that does
    not stream puts the file back byte for byte."""
    primary_name, standby_name = PAIRS[version]
    standby = rfleet.host(standby_name)
    current = rfleet.psql(standby_name, 'SHOW primary_conninfo;').stdout.strip()
    link = conninfo.as_dict(current)
    assert link.get('sslmode') == 'verify-full', link  # the first test linked it
    # move the value from postgresql.auto.conf into postgresql.conf, with a comment after it
    rfleet.psql(standby_name, 'ALTER SYSTEM RESET primary_conninfo;')
    with open(standby['config_file'], 'a') as handle:
        handle.write("primary_conninfo = %s   # the operator's link\n" % pgconf.quote(current))
    rfleet.psql(standby_name, 'SELECT pg_reload_conf();')
    # the server reads the same value from there
    assert rfleet.psql(standby_name, 'SHOW primary_conninfo;').stdout.strip() == current
    with open(standby['config_file'], 'rb') as handle:
        before = handle.read()
    auto_before = _auto_conf(standby)
    assert 'primary_conninfo' not in auto_before

    changed = ok(_link(standby, sslmode='verify-ca', sslrootcert=link['sslrootcert'], diff=True))
    assert changed['changed'] and changed['source'] == standby['config_file']
    assert changed['receiver']['status'] == 'streaming'
    with open(standby['config_file'], 'rb') as handle:
        after = handle.read()
    # one line changed, its comment kept; postgresql.auto.conf untouched
    old_lines, new_lines = before.splitlines(), after.splitlines()
    differ = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    assert len(old_lines) == len(new_lines) and len(differ) == 1, differ
    assert b'sslmode=verify-ca' in new_lines[differ[0]] and new_lines[differ[0]].endswith(b"# the operator's link")
    assert _auto_conf(standby) == auto_before
    assert rfleet.psql(standby_name, 'SHOW primary_conninfo;').stdout.strip() == conninfo.update(
        current, {'sslmode': 'verify-ca'}
    )

    # a name the primary's certificate does not carry: the file comes back byte for byte
    wrong = _link(standby, sslmode='verify-full', host='db99.pgssl.test', timeout=8)
    assert wrong.get('failed') and wrong.get('rolled_back'), wrong
    with open(standby['config_file'], 'rb') as handle:
        assert handle.read() == after
    # back to verify-full where it was, for the tests after this one
    ok(_link(standby, sslmode='verify-full', sslrootcert=link['sslrootcert']))
    assert primary_name  # the pair stays linked


@pytest.mark.parametrize('shape', ['link to a root-only directory', 'inside a root-only directory'])
def test_a_hostile_replication_dir_is_refused_with_nothing_written(rfleet, workdir, shape, tmp_path):
    """server_replication_dir (standby_credential's ``dir``) where the server user planted a link
    to a root-only directory, or a path under one: everything there runs as the server user, so
    the key is never made; the module says why, and the root-only directory stays empty."""
    primary_name, standby_name = PAIRS['18']
    primary, standby = rfleet.host(primary_name), rfleet.host(standby_name)
    pki = issue(workdir, primary, name='hostile-dir')
    root_only = tmp_path / 'root-only'
    root_only.mkdir(mode=0o700)
    if shape.startswith('link'):
        target = os.path.join(standby['hostdir'], 'repl-planted')
        os.symlink(str(root_only), target)
        os.lchown(target, pwd.getpwnam('postgres').pw_uid, pwd.getpwnam('postgres').pw_gid)
    else:
        target = str(root_only / 'slots')
    try:
        started = time.time()
        got = run_module(
            'standby_credential',
            state='status',
            prepare=True,
            login_unix_socket=standby['socket_dir'],
            login_port=standby['port'],
            server_user='postgres',
            dir=target,
            common_name='replicator',
            ca_bundle=open(pki['ca']).read(),
            sslrootcert=os.path.join(workdir, 'root.crt'),
            host=primary['fqdn'],
            hostaddr=primary['ip'],
            port=primary['port'],
            deadline=120,
        )
        assert got.get('failed'), got
        assert target in got['msg'] or str(root_only) in got['msg'], got['msg']
        assert os.listdir(str(root_only)) == [] and time.time() - started < 60
    finally:
        if shape.startswith('link'):
            os.unlink(target)
