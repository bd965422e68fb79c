# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_prepare, sign and tls_install (the server role's change path) on real servers: check
mode, idempotence, the reload from a child that dropped to the server user, refusals with no
file changed, one hostile request failing only its host."""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

import proc as procs
from conftest import run_module
from test_server_side import ok, served

NAMES = ['db11', 'db12']  # PG 15 Debian layout, PG 18 PGDATA


def _ca(workdir):
    ca_dir = os.path.join(workdir, 'ca')
    os.makedirs(os.path.join(ca_dir, 'issued'), mode=0o700)
    os.chmod(workdir, 0o755)
    ok(run_module('private_key', path=os.path.join(ca_dir, 'ca.key'), passphrase='ca-pass'))
    ok(
        run_module(
            'certificate',
            path=os.path.join(ca_dir, 'ca.crt'),
            privatekey_path=os.path.join(ca_dir, 'ca.key'),
            privatekey_passphrase='ca-pass',
            common_name='Unit Test CA',
            profile='ca',
        )
    )
    return ca_dir


def _paths(workdir):
    ssl = os.path.join(workdir, 'ssl')
    return {
        'ssl_dir': ssl,
        'key': ssl + '/server.key',
        'cert': ssl + '/server.crt',
        'csr': ssl + '/server.csr',
        'ca': ssl + '/root.crt',
        'snap': workdir + '/snap',
    }


def _prepare_args(host, paths, **extra):
    extra.setdefault('ca_bundle', open(os.path.join(os.path.dirname(paths['ssl_dir']), 'ca', 'ca.crt')).read())
    cluster = '%s/%s' % (host['version'], host['name']) if host['layout'] == 'debian' else host['data_dir']
    args = dict(
        cluster=cluster,
        ssl_dir=paths['ssl_dir'],
        snapshot_dir=paths['snap'],
        common_name=host['fqdn'],
        sans=[host['fqdn'], host['ip']],
        require_ssl='reject',
        purge_managed=True,
        hba_rules=[{'address': '10.20.0.0/16', 'users': ['app']}],
        extra_settings={'ssl_min_protocol_version': 'TLSv1.2'},
    )
    args.update(extra)
    return args


def _request(host, prepared):
    return {
        'name': host['fqdn'],
        'csr': prepared['csr'],
        'common_name': host['fqdn'],
        'subject_alt_names': [host['fqdn'], host['ip']],
    }


def _sign_args(ca_dir, requests):
    return dict(
        dir=ca_dir + '/issued',
        ca_cert_path=ca_dir + '/ca.crt',
        ca_key_path=ca_dir + '/ca.key',
        ca_key_passphrase='ca-pass',
        requests=requests,
    )


def _install_args(host, paths, ca_dir, prepared, certificate, **extra):
    ca_pem = open(ca_dir + '/ca.crt').read()
    args = dict(
        owner='postgres',
        group='postgres',
        key_path=paths['key'],
        cert_path=paths['cert'],
        new_key=prepared['new_key'],
        chain_contents=[certificate],
        chain_ca_contents=[ca_pem],
        chain_require_complete=True,
        ca_file=paths['ca'],
        ca_file_content=ca_pem,
        config_file=host['config_file'],
        hba_file=host['hba_file'],
        pg_version=int(host['version']),
        settings=prepared['settings'],
        hba_rules=[{'address': '10.20.0.0/16', 'users': ['app']}],
        require_ssl='reject',
        purge_managed=True,
        # over the unix socket as postgres: this test runs as root, so from a child process
        login_unix_socket=host['socket_dir'],
        server_user=host['server_user'],
        tls_host=host['fqdn'],
        tls_hostaddr=host['ip'],
        snapshot_dir=prepared.get('snapshot_dir') or paths['snap'],
        snapshot_id=prepared.get('id'),
    )
    args.update(extra)
    return args


def _digests(paths):
    out = {}
    for path in paths:
        try:
            with open(path, 'rb') as handle:
                out[path] = hashlib.sha256(handle.read()).hexdigest()
        except FileNotFoundError:
            out[path] = None
    return out


@pytest.mark.parametrize('name', NAMES)
def test_prepare_sign_install(fleet, pristine, workdir, name):
    host = pristine(name)
    ca_dir = _ca(workdir)
    paths = _paths(workdir)
    watched = [paths['key'], paths['cert'], paths['ca'], host['config_file'], host['hba_file']]

    status = ok(run_module('tls_prepare', prepare=False, **_prepare_args(host, paths)))
    assert status['due'] and 'key_missing' in status['reasons'] and not status['changed']
    assert status['new_key'] and 'id' not in status and not os.path.exists(paths['ssl_dir'])
    would = ok(run_module('tls_prepare', check=True, **_prepare_args(host, paths)))
    assert would['changed'] and would['new_key'] and 'id' not in would and 'csr' not in would
    assert not os.path.exists(paths['ssl_dir'])

    prepared = ok(run_module('tls_prepare', **_prepare_args(host, paths)))
    assert prepared['new_key'] and prepared['key_file'] == paths['key'] + '.next'
    staged = os.stat(paths['key'] + '.next')
    assert oct(staged.st_mode & 0o777) == '0o600' and staged.st_uid != 0
    assert os.path.isdir(os.path.join(prepared['snapshot_dir'], prepared['id']))
    assert prepared['snapshot_dir'].startswith(paths['snap'] + '/')

    signed = ok(run_module('sign', **_sign_args(ca_dir, [_request(host, prepared)])))
    got = signed['certificates'][host['fqdn']]
    assert got['changed'] and signed['errors'] == {}
    again = ok(run_module('sign', **_sign_args(ca_dir, [_request(host, prepared)])))
    assert not again['changed']
    assert again['certificates'][host['fqdn']]['certificate'] == got['certificate']

    before = _digests(watched)
    check = ok(
        run_module(
            'tls_install', check=True, diff=True, **_install_args(host, paths, ca_dir, prepared, got['certificate'])
        )
    )
    assert check['changed'] and not check['reloaded'] and _digests(watched) == before
    assert check['diff']

    done = ok(run_module('tls_install', **_install_args(host, paths, ca_dir, prepared, got['certificate'])))
    assert done['changed'] and done['reloaded']
    assert done['served_fingerprint'] == got['fingerprint_sha256'] == served(host)
    assert not os.path.exists(paths['key'] + '.next')  # the staged pair is in place
    assert not os.path.exists(os.path.join(prepared['snapshot_dir'], prepared['id']))  # dropped
    cert = crypto.load_certificates(open(paths['cert'], 'rb').read())
    assert len(cert) == 1  # leaf only: the root is not sent

    # the next status call finds nothing due, and an install changes nothing, not reloading
    again = ok(run_module('tls_prepare', **_prepare_args(host, paths)))
    assert not again['due'] and not again['changed'] and 'id' not in again, again['reasons']
    again = ok(
        run_module(
            'tls_install',
            **_install_args(host, paths, ca_dir, dict(prepared, new_key=False, id=None), got['certificate']),
        )
    )
    assert not again['changed'] and not again['reloaded']

    # plain TCP is refused now, TLS with the CA verifies
    result = ok(
        run_module(
            'verify',
            host=host['fqdn'],
            hostaddr=host['ip'],
            password=host['password'],
            sslrootcert=ca_dir + '/ca.crt',
            policy='ssl_required',
        )
    )
    assert result['served_certificate']['fingerprint_sha256'] == got['fingerprint_sha256']
    assert result['modes']['disable']['code'] == 'hba_rejected'
    # why each refusal happened, as a stable code (libpq says only "certificate verify failed")
    codes = ok(
        run_module(
            'verify',
            host='wrong.pgssl.test',
            hostaddr=host['ip'],
            password=host['password'],
            sslrootcert=ca_dir + '/ca.crt',
            sslmodes=['verify-ca', 'verify-full'],
        )
    )['modes']
    assert codes['verify-ca']['outcome'] == 'ssl'
    assert codes['verify-full']['code'] == 'hostname_mismatch'
    other = _ca(os.path.join(workdir, 'other'))
    codes = ok(
        run_module(
            'verify',
            host=host['fqdn'],
            hostaddr=host['ip'],
            password=host['password'],
            sslrootcert=other + '/ca.crt',
            sslmodes=['require', 'verify-ca'],
        )
    )['modes']
    # libpq checks the chain in require too when a root certificate file is given
    assert codes['verify-ca']['code'] == codes['require']['code'] == 'unknown_ca'
    codes = ok(
        run_module(
            'verify',
            host=host['fqdn'],
            hostaddr=host['ip'],
            password='not-the-password',
            sslrootcert=ca_dir + '/ca.crt',
            sslmodes=['verify-full'],
        )
    )['modes']
    assert codes['verify-full']['code'] == 'auth_failed'


@pytest.mark.parametrize('name', NAMES[:1])
def test_refusals_change_no_file(fleet, pristine, workdir, name):
    host = pristine(name)
    ca_dir = _ca(workdir)
    paths = _paths(workdir)
    prepared = ok(run_module('tls_prepare', **_prepare_args(host, paths)))
    signed = ok(run_module('sign', **_sign_args(ca_dir, [_request(host, prepared)])))
    cert = signed['certificates'][host['fqdn']]['certificate']
    ok(run_module('tls_install', **_install_args(host, paths, ca_dir, prepared, cert)))
    watched = [paths['key'], paths['cert'], paths['ca'], host['config_file'], host['hba_file']]
    before = _digests(watched)

    # a value with a newline would add a line of its own to postgresql.conf
    bad = run_module(
        'tls_install',
        **_install_args(
            host,
            paths,
            ca_dir,
            dict(prepared, new_key=False, id=None, settings={'ssl': True, 'ssl_ciphers': "HIGH'\nssl = off"}),
            cert,
        ),
    )
    assert bad.get('failed') and 'control character' in bad['msg']
    # a certificate of another CA does not chain to the CA
    other = crypto.generate_private_key(crypto.normalize_key_request('ecdsa', curve='P-256'))
    foreign, _warn = crypto.issue_certificate(
        other.public_key(), {'CN': host['fqdn']}, crypto.normalize_sans([host['fqdn']]), 'server', other, valid_days=30
    )
    bad = run_module(
        'tls_install',
        **_install_args(
            host, paths, ca_dir, dict(prepared, new_key=False, id=None), crypto.dump_certificate(foreign).decode()
        ),
    )
    assert bad.get('failed')
    assert _digests(watched) == before

    # the key is replaced while the run stands between the status check and the first change
    marker = os.path.join(workdir, 'stop')
    proc = _background(
        'tls_prepare',
        dict(_prepare_args(host, paths, renew_before_days=100000)),
        {'PGSSL_TEST_STOP_AFTER': 'status', 'PGSSL_TEST_STOP_MARKER': marker},
    )
    for _tick in range(300):
        if os.path.exists(marker):
            break
        time.sleep(0.1)
    other = crypto.generate_private_key(crypto.normalize_key_request('ecdsa', curve='P-256'))
    with open(paths['key'], 'wb') as handle:  # same file, same owner and mode
        handle.write(crypto.dump_private_key(other))
    before = _digests(watched)
    open(marker + '.release', 'w').close()
    try:
        out, _err = proc.communicate(timeout=60)
    except BaseException:
        procs.stop(proc, timeout=0)
        raise
    refused = json.loads(out)
    assert refused.get('failed') and 'replaced by another process' in refused['msg']
    assert refused['id'] and _digests(watched) == before
    ok(run_module('snapshot', state='restore', dir=refused['snapshot_dir'], id=refused['id']))
    assert _digests(watched) == before


def _background(name, args, extra_env):
    payload = json.dumps({'ANSIBLE_MODULE_ARGS': args})
    proc = procs.spawn(
        [sys.executable, '-m', 'ansible_collections.pgssl.postgresql.plugins.modules.' + name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd='/',
        env=dict(os.environ, **extra_env),
    )
    proc.stdin.write(payload)
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() only reads
    return proc


def test_one_hostile_request_fails_only_its_host(workdir):
    ca_dir = _ca(workdir)
    requests = []
    for index, asked in enumerate((['db1.pgssl.test'], ['db2.pgssl.test', 'evil.example.com'])):
        key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa', curve='P-256'))
        csr = crypto.build_csr(key, {'CN': asked[0]}, crypto.normalize_sans(asked), 'server')
        requests.append(
            {
                'name': 'db%d' % (index + 1),
                'csr': crypto.dump_csr(csr).decode(),
                'common_name': asked[0],
                'subject_alt_names': asked[:1],
            }
        )
    # a third host sends garbage where its CSR should be
    requests.append(
        dict(
            requests[0],
            name='db3',
            csr='-----BEGIN CERTIFICATE REQUEST-----\nnot base64 !\n-----END CERTIFICATE REQUEST-----\n',
        )
    )
    signed = ok(run_module('sign', **_sign_args(ca_dir, requests)))
    assert list(signed['certificates']) == ['db1']
    assert 'evil.example.com' in signed['errors']['db2']
    assert signed['errors']['db3'] and 'Traceback' not in signed['errors']['db3']
    assert not os.path.exists(ca_dir + '/issued/db2.crt')
    assert not os.path.exists(ca_dir + '/issued/db3.crt')
    requests.pop()
    # a name that would leave the directory is refused before anything is signed
    bad = run_module('sign', **_sign_args(ca_dir, [dict(requests[0], name='../x')]))
    assert bad.get('failed') and 'Refusing the request name' in bad['msg']
    args = _sign_args(ca_dir, requests)
    args['ca_key_passphrase'] = 'nope'
    wrong = run_module('sign', **args)
    assert wrong.get('failed') and not os.path.exists(ca_dir + '/issued/db2.crt')
