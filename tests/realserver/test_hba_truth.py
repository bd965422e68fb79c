# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the server really does after pg_hba's edits: plain TCP is refused for normal and
physical-replication logins over IPv4 and IPv6 loopback, whatever the file looked like (stock
Debian, stock initdb, an include_dir before every rule, permissive replication lines), and a
client-certificate rule with a wider CIDR than the stock lines logs in with the certificate
alone."""

import os

import psycopg
import pytest

from conftest import HOSTS, run_module
from test_server_side import client_cert, issue, login, ok, ssl_settings

ALL_HOSTS = sorted(HOSTS)
VARIANTS = ['stock', 'include_dir_first', 'replication_lines']

# what the role does with server_refuse_plain_tcp: true
ROLE_HBA = {'require_ssl': 'reject', 'purge_managed': True}


def _attempt(host, hostaddr, sslmode, replication=False):
    """(connected, error) of a real connection attempt as postgres with its password."""
    params = dict(
        host=hostaddr,
        port=5432,
        user='postgres',
        dbname='postgres',
        password=host['password'],
        sslmode=sslmode,
        connect_timeout=5,
    )
    if replication:
        params['replication'] = 'true'
    try:
        conn = psycopg.connect(**params)
    except psycopg.OperationalError as exc:
        return False, str(exc)
    conn.close()
    return True, None


def _prepare(host, variant):
    path = host['hba_file']
    text = open(path).read()
    if variant == 'include_dir_first':
        incdir = os.path.join(os.path.dirname(path), 'hba.d')
        os.makedirs(incdir, exist_ok=True)
        with open(os.path.join(incdir, 'open.conf'), 'w') as handle:
            handle.write(
                'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n'
                'host replication all 0.0.0.0/0 scram-sha-256\n'
                'host replication all ::/0 scram-sha-256\n'
            )
        text = 'include_dir hba.d\n' + text
    elif variant == 'replication_lines':
        text = text.replace(
            '\nlocal',
            '\nhost replication all 0.0.0.0/0 scram-sha-256\nhost replication all ::/0 scram-sha-256\nlocal',
            1,
        )
    with open(path, 'w') as handle:
        handle.write(text)


def _cleanup(host):
    incdir = os.path.join(os.path.dirname(host['hba_file']), 'hba.d')
    if os.path.isdir(incdir):
        for name in os.listdir(incdir):
            os.unlink(os.path.join(incdir, name))
        os.rmdir(incdir)


# include_dir in pg_hba.conf exists from PostgreSQL 16 on
CASES = [(n, v) for n in ALL_HOSTS for v in VARIANTS if v != 'include_dir_first' or int(HOSTS[n][1]) >= 16]


@pytest.mark.parametrize('name,variant', CASES)
def test_plain_tcp_refused_for_logins_and_replication_v4_and_v6(fleet, pristine, workdir, name, variant):
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    # IPv6 loopback too: only one cluster may listen on ::1, so it is added for this test
    fleet.psql(name, "ALTER SYSTEM SET listen_addresses = '%s,::1';" % host['ip'])
    original_hba = open(host['hba_file']).read()
    try:
        restarted, out = fleet.restart(name)
        assert restarted, out
        _prepare(host, variant)
        ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
        # the control: before the edit, plain TCP gets in for both kinds of login
        for addr in (host['ip'], '::1'):
            assert _attempt(host, addr, 'disable')[0], (addr, 'plain login should work before')
            assert _attempt(host, addr, 'disable', replication=True)[0], addr

        result = ok(run_module('pg_hba', path=host['hba_file'], pg_version=int(host['version']), **ROLE_HBA))
        assert result['changed']
        ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
        for addr in (host['ip'], '::1'):
            for replication in (False, True):
                connected, error = _attempt(host, addr, 'disable', replication)
                assert not connected, (addr, replication)
                assert 'no encryption' in error, error
                # and TLS still gets in the same way
                assert _attempt(host, addr, 'require', replication) == (True, None), (addr, replication)
        again = ok(run_module('pg_hba', path=host['hba_file'], pg_version=int(host['version']), **ROLE_HBA))
        assert not again['changed']
    finally:
        with open(host['hba_file'], 'w') as handle:
            handle.write(original_hba)
        _cleanup(host)
        fleet.psql(name, 'ALTER SYSTEM RESET listen_addresses;')
        fleet.restart(name)


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_wide_cidr_cert_rule_logs_in_with_the_certificate_alone(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = issue(workdir, host)
    fleet.psql(name, "DROP ROLE IF EXISTS app; CREATE ROLE app LOGIN;")
    key, crt, _serial = client_cert(workdir, pki, 'app')
    root = os.path.join(pki['dir'], 'root.crt')
    ok(run_module('certificate_chain', path=root, kind='bundle', certificates=[pki['ca']]))
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki, ssl_ca_file=root)))
    # the stock file has "host all all 127.0.0.1/32 scram-sha-256": it overlaps the /8 rule
    rules = [{'type': 'hostssl', 'databases': ['all'], 'users': ['app'], 'address': '127.0.0.0/8', 'method': 'cert'}]
    placed = ok(run_module('pg_hba', path=host['hba_file'], rules=rules, pg_version=int(host['version']), **ROLE_HBA))
    assert placed['changed'] and placed['partly_shadowed'] == []
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    res = ok(
        run_module(
            'verify',
            sslmodes=['verify-full'],
            user='app',
            sslcert=crt,
            sslkey=key,
            host=host['fqdn'],
            hostaddr=host['ip'],
            sslrootcert=pki['ca'],
        )
    )
    mode = res['modes']['verify-full']
    assert mode['connected'], mode
    assert mode['client_dn'] == '/CN=app'
