# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates made by the modules are loaded by real PostgreSQL servers and pass libpq's checks."""

import os
import time

import psycopg
import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

from conftest import HOSTS, configure_ssl, issue_with_playbook, reset_ssl, run_playbook

import lechain


def served_fingerprint(fqdn, ip):
    probe = pgconn.probe_tls(fqdn, 5432, hostaddr=ip)
    if not probe['ssl']:
        return None
    return crypto.cert_fingerprint(crypto.load_certificate(probe['certificate_der']))


def wait_served(fqdn, ip, expected, timeout=15):
    """The reload is asynchronous: poll the real handshake until the server serves ``expected``."""
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        seen = served_fingerprint(fqdn, ip)
        if seen == expected:
            return
        time.sleep(0.2)
    raise AssertionError('%s serves %s, expected %s' % (fqdn, seen, expected))


def connect(fleet, name, **options):
    return psycopg.connect(**fleet.conninfo(name, **options))


@pytest.mark.parametrize('name', sorted(HOSTS))
def test_module_made_certificate_passes_verify_full(fleet, workdir, name):
    host = fleet.host(name)
    ca_dir, host_dir = issue_with_playbook(workdir, host, 'realserver-ca-passphrase')
    cert_path = os.path.join(host_dir, 'server.crt')
    with open(cert_path, 'rb') as handle:
        cert = crypto.load_certificate(handle.read())
    ca_file = os.path.join(ca_dir, 'ca.crt')
    try:
        configure_ssl(fleet, name, cert_path, os.path.join(host_dir, 'server.key'))
        wait_served(host['fqdn'], host['ip'], crypto.cert_fingerprint(cert))

        with connect(fleet, name, sslmode='verify-full', sslrootcert=ca_file) as conn:
            row = conn.execute('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()
            assert row[0] is True
            assert row[1] in ('TLSv1.2', 'TLSv1.3')
            assert conn.info.server_version // 10000 == int(host['version'])

        # a name the certificate does not carry is refused by libpq
        with pytest.raises(psycopg.OperationalError) as err:
            connect(fleet, name, host='db99.pgssl.test', sslmode='verify-full', sslrootcert=ca_file).close()
        assert 'does not match host name' in str(err.value)

        # an unrelated CA is refused too
        other = os.path.join(workdir, 'other-ca.crt')
        key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa'))
        other_ca, _w = crypto.issue_certificate(key.public_key(), {'CN': 'Other'}, [], 'ca', key)
        with open(other, 'wb') as handle:
            handle.write(crypto.dump_certificate(other_ca))
        with pytest.raises(psycopg.OperationalError) as err:
            connect(fleet, name, sslmode='verify-ca', sslrootcert=other).close()
        assert 'certificate verify failed' in str(err.value)

        # a strict client (X509 strict flags, as Python 3.13's default context) accepts it
        probe = pgconn.probe_tls(host['fqdn'], 5432, hostaddr=host['ip'], cafile=ca_file, strict=True)
        assert probe['ssl'] and probe['protocol'] in ('TLSv1.2', 'TLSv1.3')
    finally:
        reset_ssl(fleet, name)


def test_repaired_lets_encrypt_like_chain_verifies_against_new_root_only(fleet, workdir):
    name = 'db12'
    host = fleet.host(name)
    host_dir = os.path.join(workdir, 'host')
    os.makedirs(host_dir, mode=0o755)
    fps = lechain.build(host_dir, cn=host['fqdn'], sans=[host['fqdn']])
    run_playbook('repair_chain.yml', host_dir=host_dir)
    with open(os.path.join(host_dir, 'chain.crt'), 'rb') as handle:
        written = crypto.load_certificates(handle.read())
    assert [crypto.cert_fingerprint(c) for c in written] == [fps['leaf'], fps['inter']]
    new_root = os.path.join(host_dir, 'new-root.crt')
    key = os.path.join(host_dir, 'leaf.key')
    try:
        # control: a server serving the leaf alone cannot be verified (no client fetches R3)
        leaf_only = os.path.join(host_dir, 'leaf.crt')
        os.chmod(leaf_only, 0o644)
        configure_ssl(fleet, name, leaf_only, key)
        wait_served(host['fqdn'], host['ip'], fps['leaf'])
        with pytest.raises(psycopg.OperationalError) as err:
            connect(fleet, name, sslmode='verify-full', sslrootcert=new_root).close()
        assert 'certificate verify failed' in str(err.value)

        # the repaired chain: the client trusts only the new root and verifies
        configure_ssl(fleet, name, os.path.join(host_dir, 'chain.crt'), key)
        deadline = time.time() + 15
        while True:
            try:
                with connect(fleet, name, sslmode='verify-full', sslrootcert=new_root) as conn:
                    assert (
                        conn.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()').fetchone()[0] is True
                    )
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        reset_ssl(fleet, name)
