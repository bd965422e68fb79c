# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_conf, pg_hba, reload and verify against real PostgreSQL 15 (Debian), 16 and 18 (PGDATA)."""

import datetime
import os
import shutil
import time

import psycopg
import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

from conftest import HOSTS, run_module

ALL_HOSTS = sorted(HOSTS)


def ok(result):
    assert not result.get('failed'), result.get('msg', result)
    return result


def issue(workdir, host, name='server', days=90, force=False):
    """CA + host key/CSR/certificate with the modules; returns paths."""
    ca_dir = os.path.join(workdir, 'ca')
    ssl_dir = os.path.join(workdir, 'ssl')
    for path, mode in ((ca_dir, 0o700), (ssl_dir, 0o755)):
        os.makedirs(path, mode=mode, exist_ok=True)
    ca_key, ca_crt = os.path.join(ca_dir, 'ca.key'), os.path.join(ca_dir, 'ca.crt')
    ok(run_module('private_key', path=ca_key))
    ok(run_module('certificate', path=ca_crt, privatekey_path=ca_key, common_name='Test CA', profile='ca'))
    key = os.path.join(ssl_dir, name + '.key')
    ok(run_module('private_key', path=key, owner='postgres', group='postgres'))
    csr = ok(
        run_module('csr', privatekey_path=key, common_name=host['fqdn'], subject_alt_names=[host['fqdn'], host['ip']])
    )
    crt = os.path.join(ssl_dir, name + '.crt')
    cert = ok(
        run_module(
            'certificate',
            path=crt,
            csr_content=csr['csr'],
            ca_cert_path=ca_crt,
            ca_key_path=ca_key,
            valid_days=days,
            force=force,
            owner='postgres',
            mode='0644',
        )
    )
    return {
        'ca_key': ca_key,
        'ca': ca_crt,
        'key': key,
        'crt': crt,
        'fingerprint': cert['fingerprint_sha256'],
        'dir': ssl_dir,
    }


def client_cert(workdir, pki, user):
    key = os.path.join(workdir, 'ca', user + '.key')
    crt = os.path.join(workdir, 'ca', user + '.crt')
    ok(run_module('private_key', path=key))
    cert = ok(
        run_module(
            'certificate',
            path=crt,
            privatekey_path=key,
            common_name=user,
            profile='client',
            ca_cert_path=pki['ca'],
            ca_key_path=pki['ca_key'],
        )
    )
    return key, crt, int(cert['serial_number'])


def login(host):
    return {'login_host': host['ip'], 'login_password': host['password'], 'tls_host': host['fqdn']}


def verify_args(host, pki=None, **extra):
    args = {'host': host['fqdn'], 'hostaddr': host['ip'], 'password': host['password']}
    if pki:
        args['sslrootcert'] = pki['ca']
    args.update(extra)
    return args


def ssl_settings(pki, **extra):
    settings = {
        'ssl': True,
        'ssl_cert_file': pki['crt'],
        'ssl_key_file': pki['key'],
        'ssl_min_protocol_version': 'TLSv1.2',
    }
    settings.update(extra)
    return settings


def start_time(fleet, name):
    return fleet.psql(name, 'SELECT pg_postmaster_start_time();').stdout.strip()


def served(host):
    probe = pgconn.probe_tls(host['fqdn'], 5432, hostaddr=host['ip'])
    if not probe['ssl']:
        return None
    return crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der']))


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_ssl_on_from_off_with_reload_only(fleet, pristine, workdir, name):
    host = pristine(name)
    started = start_time(fleet, name)
    before = ok(run_module('verify', policy='ssl_off', **verify_args(host)))
    assert before['server_ssl'] is False
    assert all(not m['ssl'] for m in before['modes'].values() if m['connected'])
    pki = issue(workdir, host)

    args = {
        'cluster': os.path.dirname(host['config_file']) if host['layout'] == 'debian' else host['data_dir'],
        'settings': ssl_settings(pki),
    }
    if host['layout'] == 'debian':
        args['cluster'] = '%s/%s' % (host['version'], name)
    check = ok(run_module('pg_conf', check=True, diff=True, **args))
    assert check['changed'] and check['restart_required'] == []
    assert open(host['config_file']).read() == check['diff'][0]['before']  # nothing written
    first = ok(run_module('pg_conf', diff=True, **args))
    assert first['changed'] and first['reload_required']
    assert sorted(c['name'] for c in first['changes']) == sorted(ssl_settings(pki))
    again = ok(run_module('pg_conf', check=True, **args))
    assert not again['changed']
    assert not ok(run_module('pg_conf', **args))['changed']

    would = ok(run_module('reload', check=True, expected_certificate_path=pki['crt'], **login(host)))
    assert would['changed'] and not would['reloaded'] and served(host) is None
    # a snapshot id that is no plain name is refused before the reload, not after it
    for bad in ('../etc', 'a/b', 'x\ny', '..'):
        refused = run_module('reload', expected_certificate_path=pki['crt'], snapshot_id=bad, **login(host))
        assert refused.get('failed') and 'Invalid snapshot id' in refused['msg'], refused
        assert served(host) is None
    # the change's snapshot goes once the reload and its proof held
    snaps = os.path.join(workdir, 'snaps-' + name)
    saved = ok(run_module('snapshot', state='save', dir=snaps, paths=[host['config_file']]))
    assert os.path.isdir(os.path.join(snaps, saved['id']))
    reloaded = ok(
        run_module(
            'reload', expected_certificate_path=pki['crt'], snapshot_dir=snaps, snapshot_id=saved['id'], **login(host)
        )
    )
    assert not os.path.exists(os.path.join(snaps, saved['id']))
    assert reloaded['reloaded'] and reloaded['served_fingerprint'] == pki['fingerprint']
    assert reloaded['restart_required'] == []
    assert served(host) == pki['fingerprint']

    after = ok(run_module('verify', policy='ssl_optional', **verify_args(host, pki)))
    assert after['served_certificate']['fingerprint_sha256'] == pki['fingerprint']
    assert after['modes']['verify-full']['protocol'] in ('TLSv1.2', 'TLSv1.3')
    assert after['modes']['disable']['ssl'] is False
    assert start_time(fleet, name) == started  # reloaded, never restarted


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_hostssl_only_refuses_plain_tcp(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    hba_before = open(host['hba_file']).read()
    # the stock file has "host all all 127.0.0.1/32 ..." lines: a first-match trap
    result = ok(run_module('pg_hba', path=host['hba_file'], require_ssl='both', pg_version=int(host['version'])))
    assert result['changed']
    assert not ok(run_module('pg_hba', path=host['hba_file'], require_ssl='both'))['changed']
    hba_after = open(host['hba_file']).read()
    comments_before = [l for l in hba_before.splitlines() if l.startswith('#')]
    comments_after = [l for l in hba_after.splitlines() if l.startswith('#')]
    assert comments_before == comments_after  # comments kept byte for byte
    ok(run_module('reload', **login(host)))
    res = run_module('verify', policy='ssl_required', **verify_args(host, pki))
    assert not res.get('failed'), res
    assert res['modes']['disable']['connected'] is False
    assert 'no encryption' in res['modes']['disable']['error'] or 'reject' in res['modes']['disable']['error']
    for mode in ('allow', 'prefer', 'require', 'verify-ca', 'verify-full'):
        assert res['modes'][mode]['ssl'] is True, (mode, res['modes'][mode])
    # the expectations fail loudly when unmet
    wrong = run_module('verify', policy='ssl_optional', **verify_args(host, pki))
    assert wrong['failed'] and {'mode': 'disable', 'expected': 'plain', 'got': 'reject'} in [
        dict((k, u[k]) for k in ('mode', 'expected', 'got')) for u in wrong['unmet']
    ]


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_client_certificates_and_revocation(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = issue(workdir, host)
    fleet.psql(
        name,
        "DROP ROLE IF EXISTS app; DROP ROLE IF EXISTS other;\n"
        "CREATE ROLE app LOGIN; CREATE ROLE other LOGIN PASSWORD 'other-pw';",
    )
    app_key, app_crt, app_serial = client_cert(workdir, pki, 'app')
    oth_key, oth_crt, _s = client_cert(workdir, pki, 'other')
    root = os.path.join(pki['dir'], 'root.crt')  # the CA directory itself stays private
    ok(run_module('certificate_chain', path=root, kind='bundle', certificates=[pki['ca']]))
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki, ssl_ca_file=root)))
    rules = [
        {'type': 'hostssl', 'databases': ['all'], 'users': ['app'], 'address': '127.0.0.1/32', 'method': 'cert'},
        {
            'type': 'hostssl',
            'databases': ['all'],
            'users': ['other'],
            'address': '127.0.0.1/32',
            'method': 'scram-sha-256',
            'options': {'clientcert': 'verify-full'},
        },
    ]
    placed = ok(run_module('pg_hba', path=host['hba_file'], rules=rules))
    assert placed['changed'] and placed['shadowed'] == []
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))

    def connect(user, key, crt, password=None):
        return run_module(
            'verify',
            sslmodes=['verify-full'],
            user=user,
            sslcert=crt,
            sslkey=key,
            password=password,
            host=host['fqdn'],
            hostaddr=host['ip'],
            sslrootcert=pki['ca'],
        )

    good = ok(connect('app', app_key, app_crt))['modes']['verify-full']
    assert good['connected'] and good['client_dn'] == '/CN=app'
    # the other user's certificate does not log in as app
    bad = connect('app', oth_key, oth_crt)['modes']['verify-full']
    assert not bad['connected'] and 'certificate authentication failed' in bad['error']
    # clientcert=verify-full: the password alone is not enough, password + matching cert is
    nocert = connect('other', None, None, 'other-pw')['modes']['verify-full']
    assert not nocert['connected']
    assert ok(connect('other', oth_key, oth_crt, 'other-pw'))['modes']['verify-full']['connected']

    # revoke app's certificate: refused once ssl_crl_file is set and reloaded
    ca = crypto.load_certificate(open(pki['ca'], 'rb').read())
    ca_key = crypto.load_private_key(open(pki['ca_key'], 'rb').read())
    crl_path = os.path.join(pki['dir'], 'root.crl')
    with open(crl_path, 'wb') as handle:
        handle.write(crypto.dump_crl(crypto.build_crl(ca, ca_key, [app_serial])))
    os.chmod(crl_path, 0o644)
    ok(run_module('pg_conf', path=host['config_file'], settings={'ssl_crl_file': crl_path}))
    ok(run_module('reload', **login(host)))
    revoked = connect('app', app_key, app_crt)['modes']['verify-full']
    assert not revoked['connected'] and 'revoked' in revoked['error']


BROKEN = [
    'garbage_certificate',
    'mismatched_key',
    'key_mode_0644',
    'unknown_setting',
    'bad_hba_line',
    'expired_certificate',
]


# The server's own verdicts (pg_file_settings, pg_hba_file_rules) are asked of every major; the
# SSL files' checks are the module's (_pgcheck), the same code on any major: each on one host,
# the hosts taken in turn
SERVER_JUDGED = ('unknown_setting', 'bad_hba_line')
BROKEN_CASES = [(name, case) for case in SERVER_JUDGED for name in ALL_HOSTS] + [
    (ALL_HOSTS[index % len(ALL_HOSTS)], case) for index, case in enumerate(c for c in BROKEN if c not in SERVER_JUDGED)
]


@pytest.mark.parametrize('name,case', BROKEN_CASES)
def test_reload_refuses_broken_configuration(fleet, pristine, workdir, name, case):
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    assert served(host) == pki['fingerprint']
    other = issue(workdir, host, name='other')
    expect = None
    if case == 'garbage_certificate':
        bad = os.path.join(pki['dir'], 'garbage.crt')
        with open(bad, 'w') as handle:
            handle.write('-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n')
        os.chmod(bad, 0o644)
        settings, expect = {'ssl_cert_file': bad}, 'malformed'
    elif case == 'mismatched_key':
        settings, expect = {'ssl_cert_file': other['crt']}, 'does not belong'
    elif case == 'key_mode_0644':
        os.chmod(other['key'], 0o644)
        settings, expect = {'ssl_cert_file': other['crt'], 'ssl_key_file': other['key']}, '0600'
    elif case == 'unknown_setting':
        settings, expect = {'pgssl_no_such_setting': 'x'}, 'unrecognized configuration parameter'
    elif case == 'expired_certificate':
        ca = crypto.load_certificate(open(pki['ca'], 'rb').read())
        ca_key = crypto.load_private_key(open(pki['ca_key'], 'rb').read())
        key = crypto.load_private_key(open(pki['key'], 'rb').read())
        old, _w = crypto.issue_certificate(
            key.public_key(),
            {'CN': host['fqdn']},
            ['DNS:' + host['fqdn']],
            'server',
            ca_key,
            issuer_cert=ca,
            valid_days=1,
            now=crypto.utcnow() - datetime.timedelta(days=3),
        )
        expired = os.path.join(pki['dir'], 'expired.crt')
        with open(expired, 'wb') as handle:
            handle.write(crypto.dump_certificate(old))
        os.chmod(expired, 0o644)
        settings, expect = {'ssl_cert_file': expired}, 'expired'
    else:
        settings = None
        with open(host['hba_file'], 'a') as handle:
            handle.write('hostssl all all 10.9.9.9/32 scram-sha-256 clientcert=1\n')
        expect = 'clientcert'
    if settings:
        ok(run_module('pg_conf', path=host['config_file'], settings=settings))
    refused = run_module('reload', **login(host))
    assert refused.get('failed') and not refused.get('reloaded'), refused
    assert expect in refused['msg'], refused['msg']
    assert refused['problems']
    time.sleep(0.5)
    assert served(host) == pki['fingerprint']  # still the previous certificate
    # after the bad change is undone, the server restarts cleanly
    ok(
        run_module(
            'pg_conf',
            path=host['config_file'],
            settings=ssl_settings(pki, ssl_cert_file=pki['crt'], pgssl_no_such_setting=None),
        )
    )
    lines = [l for l in open(host['hba_file']).read().splitlines(True) if 'clientcert=1' not in l]
    with open(host['hba_file'], 'w') as handle:
        handle.write(''.join(lines))
    restarted, output = fleet.restart(name)
    assert restarted, output
    fleet.start(name)
    assert served(host) == pki['fingerprint']


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_alter_system_override_is_detected(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = issue(workdir, host)
    fleet.psql(name, "ALTER SYSTEM SET ssl_cert_file = '/somewhere/else.crt';")
    refused = run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki))
    assert refused.get('failed') and 'postgresql.auto.conf' in refused['msg']
    assert 'ALTER SYSTEM' in refused['msg']
    fixed = ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki), remove_overrides=True))
    assert fixed['changed'] and fixed['overrides'][0]['name'] == 'ssl_cert_file'
    assert 'ssl_cert_file' not in open(os.path.join(host['data_dir'], 'postgresql.auto.conf')).read()
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))


@pytest.mark.parametrize('name', ALL_HOSTS)
def test_renewal_reload_proves_new_fingerprint(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    renewed = issue(workdir, host, force=True)
    assert renewed['fingerprint'] != pki['fingerprint']
    # nothing changed in postgresql.conf: same paths, new content
    assert not ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(renewed)))['changed']
    result = ok(run_module('reload', expected_fingerprint=renewed['fingerprint'], **login(host)))
    assert result['served_fingerprint'] == renewed['fingerprint']
    # a wrong expectation is refused before reloading
    wrong = run_module('reload', expected_fingerprint=pki['fingerprint'], **login(host))
    assert wrong.get('failed') and 'not the expected certificate' in wrong['msg']


def test_verify_is_read_only_and_masks_the_password(fleet, pristine, workdir):
    host = pristine('db12')
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    res = ok(run_module('verify', check=True, **verify_args(host, pki)))
    assert not res['changed'] and set(res['modes']) == set(
        ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
    )
    probe = ok(run_module('verify', probe_only=True, host=host['fqdn'], hostaddr=host['ip']))
    assert 'modes' not in probe and probe['served_certificate']['fingerprint_sha256'] == pki['fingerprint']
    assert probe['served_certificate']['days_left'] in (89, 90)
    # the password never appears in what the module returns
    assert host['password'] not in repr(res)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host='db99.pgssl.test',
            hostaddr=host['ip'],
            sslmode='verify-full',
            sslrootcert=pki['ca'],
            user='postgres',
            password=host['password'],
            dbname='postgres',
            connect_timeout=5,
        ).close()


@pytest.mark.parametrize('name', ['db11', 'db12'])
def test_verify_speaks_todays_libpq(fleet, pristine, workdir, name):
    """sslnegotiation=direct (PG 17+ servers), the TLS version range, sslcertmode and
    sslrootcert=system, each judged by the real server and libpq."""
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki, ssl_min_protocol_version='TLSv1.3')))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    strong = ['require', 'verify-ca', 'verify-full']

    direct = run_module('verify', sslnegotiation='direct', sslmodes=strong, **verify_args(host, pki))
    if int(host['version']) >= 17:
        ok(direct)
        assert all(direct['modes'][m]['ssl'] for m in strong)
        assert direct['served_certificate']['fingerprint_sha256'] == pki['fingerprint']
    else:
        assert all(direct['modes'][m]['code'] == 'direct_not_supported' for m in strong), direct
        assert 'probe_error' in direct and 'served_certificate' not in direct
    weak = run_module('verify', sslnegotiation='direct', sslmodes=['prefer'], **verify_args(host, pki))
    assert weak['modes']['prefer']['code'] == 'client_option_conflict'

    # the server takes TLS 1.3 only: a client capped at 1.2 is refused in the handshake
    capped = run_module(
        'verify',
        ssl_max_protocol_version='TLSv1.2',
        sslmodes=['require'],
        expect={'require': 'reject'},
        **verify_args(host, pki),
    )
    assert ok(capped)['modes']['require']['code'] == 'protocol_version', capped
    # no ssl_ca_file on the server, so it asks for no client certificate
    certmode = run_module('verify', sslcertmode='require', sslmodes=['require'], **verify_args(host, pki))
    assert certmode['modes']['require']['code'] == 'client_certificate_not_requested', certmode['modes']['require'][
        'error'
    ]
    # the system store does not hold the fleet's private CA
    # (with no SSL_CERT_FILE around, as on a stock host: the module finds the bundle itself)
    bare = dict((k, v) for k, v in os.environ.items() if not k.startswith(('SSL_CERT', 'NIX_SSL')))
    system = run_module(
        'verify', sslmodes=['verify-full'], environ=bare, **verify_args(host, None, sslrootcert='system')
    )
    assert system['ssl_cert_file'] == '/etc/ssl/certs/ca-certificates.crt'
    assert system['modes']['verify-full']['code'] == 'unknown_ca', system


def test_reload_logs_in_with_a_client_certificate(fleet, pristine, workdir):
    """An admin who logs in by certificate only (an encrypted key): reload uses login_ssl*."""
    name = 'db13'
    host = pristine(name)
    pki = issue(workdir, host)
    fleet.psql(name, "DROP ROLE IF EXISTS pgsslcertadmin; CREATE ROLE pgsslcertadmin LOGIN SUPERUSER;")
    key = os.path.join(workdir, 'ca', 'admin.key')
    crt = os.path.join(workdir, 'ca', 'admin.crt')
    ok(run_module('private_key', path=key, passphrase='admin key pass'))
    ok(
        run_module(
            'certificate',
            path=crt,
            privatekey_path=key,
            privatekey_passphrase='admin key pass',
            common_name='pgsslcertadmin',
            profile='client',
            ca_cert_path=pki['ca'],
            ca_key_path=pki['ca_key'],
        )
    )
    server_ca = os.path.join(pki['dir'], 'ca.crt')  # the server cannot read the CA directory
    shutil.copy(pki['ca'], server_ca)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki, ssl_ca_file=server_ca)))
    with open(host['hba_file']) as handle:
        hba = handle.read()
    with open(host['hba_file'], 'w') as handle:
        handle.write('hostssl all pgsslcertadmin 0.0.0.0/0 cert\n' + hba)
    fleet.psql(name, 'SELECT pg_reload_conf();')
    deadline = time.time() + 15
    while served(host) != pki['fingerprint'] and time.time() < deadline:
        time.sleep(0.2)  # the reload is asynchronous
    cert_login = {
        'login_host': host['ip'],
        'login_user': 'pgsslcertadmin',
        'tls_host': host['fqdn'],
        'login_sslmode': 'verify-ca',
        'login_sslrootcert': pki['ca'],
        'login_sslcert': crt,
        'login_sslkey': key,
    }
    # without the key's passphrase libpq cannot use the key, and the cert rule refuses the login
    refused = run_module('reload', **cert_login)
    assert refused.get('failed') and 'admin key pass' not in repr(refused)
    done = ok(
        run_module('reload', expected_certificate_path=pki['crt'], login_sslpassword='admin key pass', **cert_login)
    )
    assert done['reloaded'] and done['served_fingerprint'] == pki['fingerprint']
    assert 'admin key pass' not in repr(done)


def test_audit_probes_need_no_credentials(fleet, pristine, workdir):
    """probe_plain and probe_chain, judged by the real server: plain TCP reaches authentication
    until the rules refuse it; the served chain verifies to its CA with the right name only."""
    name = 'db12'
    host = pristine(name)
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    probe = dict(host=host['fqdn'], hostaddr=host['ip'], probe_only=True, probe_plain=True, probe_chain=True)
    before = ok(run_module('verify', sslrootcert=pki['ca'], **probe))
    assert before['plain_tcp']['accepted'] is True and before['plain_tcp']['answer'] == 'authentication'
    assert before['served_chain'] == {'verified': True, 'error': None}
    ok(run_module('pg_hba', path=host['hba_file'], require_ssl='both', pg_version=int(host['version'])))
    ok(run_module('reload', **login(host)))
    after = ok(run_module('verify', sslrootcert=pki['ca'], **probe))
    assert after['plain_tcp']['accepted'] is False and after['plain_tcp']['sqlstate'] == '28000'
    assert 'no encryption' in after['plain_tcp']['message']
    # what libpq itself says about the same plain connection
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(
            host=host['ip'],
            sslmode='disable',
            user='postgres',
            dbname='postgres',
            password=host['password'],
            connect_timeout=5,
        ).close()
    assert 'no encryption' in str(err.value)
    # another CA, or a name the certificate does not carry: the chain does not verify
    other = os.path.join(workdir, 'other-ca.crt')
    key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa'))
    other_ca, _w = crypto.issue_certificate(key.public_key(), {'CN': 'Other'}, [], 'ca', key)
    with open(other, 'wb') as handle:
        handle.write(crypto.dump_certificate(other_ca))
    wrong_ca = ok(run_module('verify', sslrootcert=other, **probe))
    assert wrong_ca['served_chain']['verified'] is False
    assert 'CERTIFICATE_VERIFY_FAILED' in wrong_ca['served_chain']['error']
    renamed = dict(probe, sslrootcert=pki['ca'])
    renamed['host'] = 'db99.pgssl.test'
    wrong_name = ok(run_module('verify', **renamed))
    assert wrong_name['served_chain']['verified'] is False
