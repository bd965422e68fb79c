# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-server fixtures: a small fleet of PostgreSQL clusters on loopback addresses."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration', 'targets', 'setup_pki', 'files'))

import pgfleet  # noqa: E402

# name -> (address, major version); PG 15 in the Debian layout, 18 from the PyPI wheel
HOSTS = {'db11': ('127.0.0.11', '15'), 'db12': ('127.0.0.12', '18')}


@pytest.fixture(scope='session')
def fleet():
    f = pgfleet.Fleet(os.environ.get('PGSSL_TEST_FLEET_DIR', '/var/tmp/pgssl-test-fleet'))
    for name, (ip, version) in HOSTS.items():
        f.up(name, ip, version)
    yield f
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        f.destroy_all()


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix='pgssl-rs-') as path:
        os.chmod(path, 0o755)  # the server user must reach files inside
        yield path


def run_playbook(name, **extra):
    """Run one of tests/realserver/playbooks with extra vars (passed in a file, not argv)."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(extra, handle)
        varfile = handle.name
    os.chmod(varfile, 0o600)
    try:
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
             'localhost,', '-c', 'local', os.path.join(HERE, 'playbooks', name),
             '-e', '@' + varfile, '-e', 'ansible_python_interpreter=' + sys.executable],
            capture_output=True, text=True, check=False)
    finally:
        os.unlink(varfile)
    if proc.returncode != 0:
        raise AssertionError('%s failed:\n%s\n%s' % (name, proc.stdout[-6000:], proc.stderr))
    return proc.stdout


def configure_ssl(fleet, name, cert, key, ca=None):
    """Test scaffolding (pg_conf arrives later): point the server at files and reload."""
    sql = ["ALTER SYSTEM SET ssl = on;", "ALTER SYSTEM SET ssl_cert_file = '%s';" % cert,
           "ALTER SYSTEM SET ssl_key_file = '%s';" % key]
    if ca:
        sql.append("ALTER SYSTEM SET ssl_ca_file = '%s';" % ca)
    sql.append('SELECT pg_reload_conf();')
    fleet.psql(name, '\n'.join(sql))


def reset_ssl(fleet, name):
    fleet.psql(name, 'ALTER SYSTEM RESET ALL;\nSELECT pg_reload_conf();')
