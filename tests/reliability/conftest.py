# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reliability suite: a fleet of real PostgreSQL servers of every supported major, a client
user with certificate logins, pgbench load, and the playbooks run as an operator runs them.

RELIABILITY_HOSTS picks the hosts ("db61:14 db62:15 ..."); make test runs a subset, with the load
held to RELIABILITY_RATE new connections a second per host (unset: as fast as pgbench goes). Results
(figures and the fault table) are appended to RESULTS as JSON lines; report.py turns them into
docs/reliability.md.
"""

import hashlib
import json
import os
import shutil
import pwd
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))

import pgfleet  # noqa: E402

# every libpq connection a test makes (psycopg, psql, pgbench, the modules) gives up in time
os.environ.setdefault('PGCONNECT_TIMEOUT', '10')
import proc  # noqa: E402

# the CPU time of each test and the ten costliest at the end (tests/harness/testcpu.py)
pytest_plugins = ['testcpu']

BASE = os.environ.get('PGSSL_RELIABILITY_DIR', '/var/tmp/pgssl-reliability')
# make test's subset keeps its load from taking a core away from the suites beside it
RATE = os.environ.get('RELIABILITY_RATE', '')
RESULTS = os.environ.get('PGSSL_RELIABILITY_RESULTS', BASE + '-results.jsonl')
CLIENT_USER = os.environ.get('PGSSL_RELIABILITY_USER', 'pgsslload')
CLIENT_HOME = BASE + '-client'
BECOME_PYTHON = '/var/tmp/pgssl-become-venv/bin/python'
DEFAULT_HOSTS = 'db61:14 db62:15 db63:16 db64:17 db65:18'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def host_specs():
    specs = []
    for item in os.environ.get('RELIABILITY_HOSTS', DEFAULT_HOSTS).split():
        name, version = item.split(':')
        specs.append((name, '127.0.0.%d' % int(name[2:]), version))
    return specs


def record(kind, **row):
    row.update(kind=kind, at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    with open(RESULTS, 'a') as handle:
        handle.write(json.dumps(row, sort_keys=True) + '\n')


INVENTORY = """---
pgssl_servers:
  hosts:
%(hosts)s
  vars:
    pgssl_host: "{{ pgssl_fleet[inventory_hostname.split('.')[0]] }}"
    server_cluster: "{{ pgssl_host.config_dir }}"
    server_login_host: "{{ ansible_host }}"
    server_login_password: "{{ pgssl_host.password }}"
    server_verify_password: "{{ pgssl_host.password }}"
    server_hba_rules:
      - {type: hostssl, databases: [all], users: [%(user)s], address: 127.0.0.0/8, method: cert}
pgssl_clients:
  hosts:
    loadclient: {}
  vars:
    client_users:
      - {os_user: %(user)s, db_user: %(user)s}
    client_become_python: %(become_python)s
    ansible_become_method: ansible.builtin.su
    ansible_become_flags: -s /bin/sh
pgssl_offline:
  hosts:
    # a CA node that cannot be reached (nothing listens on port 1)
    ca-offline: {ansible_connection: ssh, ansible_host: 127.0.0.1, ansible_port: 1}
    # a CA node whose clock runs two days ahead (libfaketime under its Python)
    ca-skewed: {ansible_python_interpreter: %(base)s-faketime-python}
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_fleet: "{{ lookup('ansible.builtin.file', '%(base)s/fleet.json') | from_json }}"
    pgssl_ca_dir: %(base)s-ca
    ca_passphrase: reliability-only-ca-passphrase
    # a CRL for every CA the servers trust, through the whole CA rollover
    ca_crl: true
"""


class Fleet(object):
    def __init__(self):
        self.pg = pgfleet.Fleet(BASE)
        self.specs = host_specs()
        self.names = [n for n, _ip, _v in self.specs]
        self.inventory = BASE + '-inventory.yml'

    def setup(self):
        if not os.environ.get('PGSSL_KEEP_FLEET'):
            self.pg.sweep()  # what a killed run left: clusters, servers, mounts, files
        for name, ip, version in self.specs:
            self.pg.up(name, ip, version)
        proc.run(
            [
                'useradd',
                '--system',
                '--home-dir',
                CLIENT_HOME,
                '--create-home',
                '--shell',
                '/usr/sbin/nologin',
                CLIENT_USER,
            ],
            timeout=60,
        )
        # the home starts empty, whether useradd made it now or an earlier run (or make
        # clean-host) left the user without it
        shutil.rmtree(CLIENT_HOME, ignore_errors=True)
        os.makedirs(CLIENT_HOME)
        user = pwd.getpwnam(CLIENT_USER)
        os.chown(CLIENT_HOME, user.pw_uid, user.pw_gid)
        os.chmod(CLIENT_HOME, 0o755)
        for name in self.names:
            self.pg.psql(
                name,
                "DO $$ BEGIN CREATE ROLE %s LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;" % CLIENT_USER,
            )
        hosts = ''.join('    %s.pgssl.test: {ansible_host: %s}\n' % (n, ip) for n, ip, _v in self.specs)
        with open(self.inventory, 'w') as handle:
            handle.write(
                INVENTORY % {'hosts': hosts, 'user': CLIENT_USER, 'base': BASE, 'become_python': BECOME_PYTHON}
            )

    def faketime_python(self):
        """A Python that sees the clock two days ahead (for the clock-skew fault)."""
        lib = proc.run(['sh', '-c', 'dpkg -L libfaketime | grep "libfaketime.so.1$"'], timeout=60).stdout.split()
        if not lib:
            raise RuntimeError('libfaketime is missing (make reliability installs it)')
        path = BASE + '-faketime-python'
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\nexec env LD_PRELOAD=%s FAKETIME=+2d %s "$@"\n' % (lib[0], sys.executable))
        os.chmod(path, 0o755)
        return path

    def host(self, name):
        return self.pg.host(name)

    def run(self, playbook, extra=None, limit=None, background=False, timeout=900):
        """ansible-playbook with extra vars from a file; (rc, output) or the Popen (started
        with proc.spawn: wait for it with proc.wait, which has a deadline)."""
        fd, varfile = tempfile.mkstemp(prefix='pgssl-rel-', suffix='.json')
        with os.fdopen(fd, 'w') as handle:
            json.dump(extra or {}, handle)
        cmd = [PLAYBOOK, '-i', self.inventory, '-e', '@' + varfile, playbook]
        if limit:
            cmd[1:1] = ['--limit', limit]
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
        if background:
            return proc.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            done = proc.run(cmd, env=env, timeout=timeout)
        finally:
            os.unlink(varfile)
        return done.returncode, done.stdout + done.stderr

    def served(self, name):
        """SHA-256 of the certificate the server serves now (None without TLS or when down)."""
        host = self.host(name)
        from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

        try:
            probe = pgconn.probe_tls(name + '.pgssl.test', 5432, hostaddr=host['ip'], timeout=5)
        except pgconn.PgsslConnError:
            return None
        if not probe['ssl']:
            return None
        return hashlib.sha256(probe['certificate_der']).hexdigest()

    def tls_files(self, name):
        host = self.host(name)
        ssl = os.path.join(host['config_dir'], 'ssl')
        return [os.path.join(ssl, b) for b in ('server.key', 'server.crt', 'root.crt', 'root.crl')] + [
            host['config_file'],
            host['hba_file'],
        ]

    def checksums(self, name):
        out = {}
        for path in self.tls_files(name):
            try:
                st = os.lstat(path)
                with open(path, 'rb') as handle:
                    out[path] = (hashlib.sha256(handle.read()).hexdigest(), st.st_mode, st.st_uid, st.st_gid)
            except OSError:
                out[path] = None
        return out

    def restart_ok(self, name):
        ok, _output = self.pg.restart(name)
        return ok


@pytest.fixture(scope='session')
def rfleet():
    fleet = Fleet()
    fleet.setup()
    rc, out = fleet.run('pgssl.postgresql.site')
    assert rc == 0, out[-4000:]
    yield fleet
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        fleet.pg.destroy_all()


def pgbench_path():
    for candidate in ('/var/tmp/pgssl-bin/18/bin/pgbench', '/usr/lib/postgresql/15/bin/pgbench'):
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError('no pgbench found (make pg installs the servers)')


class Load(object):
    """pgbench -C (8 clients, sslmode=verify-full, client certificate) against every host in
    2-second rounds, plus the connect-time sampler, as the client's OS user."""

    def __init__(self, fleet, clients=8):
        self.fleet = fleet
        self.clients = clients
        self.stop_file = os.path.join(CLIENT_HOME, 'stop')
        self.samples = os.path.join(CLIENT_HOME, 'samples.txt')
        self.script = os.path.join(CLIENT_HOME, 'select1.sql')
        self.made = {}
        self.failed = {}
        self.errors = []
        self.threads = []
        self.sampler = None
        self.lock = threading.Lock()

    def _as_user(self, argv):
        return ['runuser', '-u', CLIENT_USER, '--', 'env', 'HOME=' + CLIENT_HOME] + argv

    def _bench(self, name):
        host = self.fleet.host(name)
        conninfo = 'host=%s.pgssl.test hostaddr=%s dbname=postgres user=%s sslmode=verify-full' % (
            name,
            host['ip'],
            CLIENT_USER,
        )
        while not os.path.exists(self.stop_file):
            done = proc.run(
                self._as_user(
                    [
                        pgbench_path(),
                        '-n',
                        '-C',
                        '-c',
                        str(self.clients),
                        '-j',
                        '2',
                        '-T',
                        '2',
                        '-f',
                        self.script,
                    ]
                    + (['-R', RATE] if RATE else [])
                    + [conninfo]
                ),
                timeout=120,
            )
            made = re.search(r'actually processed: (\d+)', done.stdout)
            failed = len(re.findall(r'aborted', done.stderr))
            more = re.search(r'number of failed transactions: (\d+)', done.stdout)
            failed += int(more.group(1)) if more else 0
            if done.returncode != 0 and not failed:
                failed = 1
            with self.lock:
                self.made[name] = self.made.get(name, 0) + (int(made.group(1)) if made else 0)
                self.failed[name] = self.failed.get(name, 0) + failed
                if failed:
                    self.errors.append('%s: %s' % (name, ' '.join(done.stderr.split())[:300]))

    def __enter__(self):
        for path in (self.stop_file, self.samples):
            if os.path.exists(path):
                os.unlink(path)
        with open(self.script, 'w') as handle:
            handle.write('SELECT 1;\n')
        os.chmod(self.script, 0o644)
        for name in self.fleet.names:
            t = threading.Thread(target=self._bench, args=(name,))
            t.start()
            self.threads.append(t)
        specs = ['%s.pgssl.test=%s' % (n, self.fleet.host(n)['ip']) for n in self.fleet.names]
        sampler = os.path.join(CLIENT_HOME, 'sampler.py')
        with open(os.path.join(HERE, 'sampler.py')) as src, open(sampler, 'w') as dst:
            dst.write(src.read())
        os.chmod(sampler, 0o644)
        self.sampler = proc.spawn(self._as_user([BECOME_PYTHON, sampler, self.samples, self.stop_file] + specs))
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        with open(self.stop_file, 'w'):
            pass
        for t in self.threads:
            t.join(150)
        proc.stop(self.sampler, timeout=30)
        return False

    def samples_between(self, start, end):
        rows = []
        if not os.path.exists(self.samples):
            return rows
        with open(self.samples) as handle:
            for line in handle:
                parts = line.rstrip('\n').split(' ', 4)
                if len(parts) == 5 and start <= float(parts[0]) < end:
                    rows.append((float(parts[0]), parts[1], float(parts[2]), parts[3], parts[4]))
        return rows


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(pct / 100.0 * len(ordered) + 0.5)) - 1))
    return round(ordered[index], 2)
