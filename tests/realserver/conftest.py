# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-server fixtures: a small fleet of PostgreSQL clusters on loopback addresses."""

import json
import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))
# the collection is imported as ansible_collections.pgssl.postgresql through a symlink tree
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')
_LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'pgssl', 'postgresql')
if not os.path.exists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(ROOT, _LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ['PYTHONPATH'] = os.pathsep.join(p for p in (COLLECTIONS, os.environ.get('PYTHONPATH')) if p)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration', 'targets', 'setup_pki', 'files'))

import pgfleet  # noqa: E402

# the CPU time of each test and the ten costliest at the end (tests/harness/testcpu.py)
pytest_plugins = ['testcpu']

# every libpq connection a test makes (psycopg, psql, pgbench, the modules) gives up in time
os.environ.setdefault('PGCONNECT_TIMEOUT', '10')
import proc  # noqa: E402

# name -> (address, major version); PG 15 in the Debian layout, 18 and 16 from PyPI wheels
HOSTS = {'db11': ('127.0.0.11', '15'), 'db12': ('127.0.0.12', '18'), 'db13': ('127.0.0.13', '16')}
# started with them, for the suites that name it (the trust suite plays PG 14 too)
EXTRA_HOSTS = {'db10': ('127.0.0.10', '14')}


@pytest.fixture(scope='session')
def fleet():
    f = pgfleet.Fleet(os.environ.get('PGSSL_TEST_FLEET_DIR', '/var/tmp/pgssl-test-fleet'))
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        f.sweep()  # what a killed run left: clusters, servers, mounts, files
    for name, (ip, version) in list(HOSTS.items()) + list(EXTRA_HOSTS.items()):
        f.up(name, ip, version)
    yield f
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        f.destroy_all()


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix='pgssl-rs-') as path:
        os.chmod(path, 0o755)  # the server user must reach files inside
        yield path


def run_playbook(name, pin_interpreter=True, deadline=600, **extra):
    """Run one of tests/realserver/playbooks with extra vars (passed in a file, not argv).

    ``pin_interpreter=False`` leaves the interpreter to the play (and the environment), for
    plays whose become tasks need a Python another user can run.
    """
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(extra, handle)
        varfile = handle.name
    os.chmod(varfile, 0o600)
    try:
        done = proc.run(
            [
                os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                '-i',
                'localhost,',
                '-c',
                'local',
                os.path.join(HERE, 'playbooks', name),
                '-e',
                '@' + varfile,
            ]
            + (['-e', 'ansible_python_interpreter=' + sys.executable] if pin_interpreter else []),
            timeout=deadline,
        )
    finally:
        os.unlink(varfile)
    if done.returncode != 0:
        raise AssertionError('%s failed:\n%s\n%s' % (name, done.stdout[-6000:], done.stderr))
    return done.stdout


def issue_with_playbook(workdir, host, ca_passphrase):
    """A fresh CA in ``workdir``/ca and a server key and certificate for ``host`` in
    ``workdir``/host, made by issue_server_cert.yml. Returns (ca_dir, host_dir)."""
    ca_dir = os.path.join(workdir, 'ca')
    host_dir = os.path.join(workdir, 'host')
    os.makedirs(ca_dir, mode=0o700)
    os.makedirs(host_dir, mode=0o755)
    run_playbook(
        'issue_server_cert.yml',
        ca_dir=ca_dir,
        host_dir=host_dir,
        fqdn=host['fqdn'],
        ip=host['ip'],
        ca_passphrase=ca_passphrase,
    )
    return ca_dir, host_dir


def run_module(name, check=False, diff=False, environ=None, deadline=120, **args):
    """Run one of the collection's modules as Ansible does (JSON arguments on stdin).

    Returns the module's result dict; ``failed`` is set when it failed. ``environ`` replaces
    the module's environment.
    """
    payload = dict(args)
    payload.update(_ansible_check_mode=check, _ansible_diff=diff)
    done = proc.run(
        [sys.executable, '-m', 'ansible_collections.pgssl.postgresql.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}),
        env=environ,
        timeout=deadline,
    )
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise AssertionError('%s printed no JSON:\n%s\n%s' % (name, done.stdout, done.stderr))
    return result


@pytest.fixture
def pristine(fleet):
    """Restore a host's config files and reload after the test, so tests do not leak."""
    saved = {}

    def keep(name):
        host = fleet.host(name)
        files = [host['config_file'], host['hba_file'], os.path.join(host['data_dir'], 'postgresql.auto.conf')]
        saved[name] = dict((f, open(f, 'rb').read()) for f in files)
        return host

    yield keep
    for name, files in saved.items():
        for path, data in files.items():
            with open(path, 'wb') as handle:
                handle.write(data)
        fleet.psql(name, 'SELECT pg_reload_conf();')


def configure_ssl(fleet, name, cert, key, ca=None):
    """Test scaffolding (pg_conf arrives later): point the server at files and reload."""
    sql = [
        "ALTER SYSTEM SET ssl = on;",
        "ALTER SYSTEM SET ssl_cert_file = '%s';" % cert,
        "ALTER SYSTEM SET ssl_key_file = '%s';" % key,
    ]
    if ca:
        sql.append("ALTER SYSTEM SET ssl_ca_file = '%s';" % ca)
    sql.append('SELECT pg_reload_conf();')
    fleet.psql(name, '\n'.join(sql))


def reset_ssl(fleet, name):
    fleet.psql(name, 'ALTER SYSTEM RESET ALL;\nSELECT pg_reload_conf();')
