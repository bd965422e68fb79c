"""A real PgBouncer (Debian's package) on a loopback address, for the tests of the PgBouncer
target.

Its configuration lives in a root-owned directory under ``base`` (as /etc/pgbouncer does on
Debian), owned by the server user with mode 0640; PgBouncer runs in the foreground as the
server user, with its working directory in ``base``, and dies with the Python process that
started it (PR_SET_PDEATHSIG). ``pgfleet.Fleet(base).sweep()`` removes what a killed run left.

    pooler = Pooler('/var/tmp/pgssl-pgb', 'pool1', '127.0.0.111')
    pooler.write_ini(databases={'appdb': 'host=127.0.0.110 port=5432 dbname=postgres'},
                     users={'app': 'secret'})
    pooler.start()
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgfleet  # noqa: E402
import proc as procs  # noqa: E402

PGBOUNCER = '/usr/sbin/pgbouncer'
SERVER_USER = 'postgres'


def install():
    """PgBouncer from Debian's packages (the package's own service is not started here: this
    machine has no init system, and the tests run their own instances)."""
    if not os.path.exists(PGBOUNCER):
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        lock = ['-o', 'DPkg::Lock::Timeout=120']
        pgfleet.run(['apt-get'] + lock + ['update', '-q'], env=env, timeout=600)
        packages = ['install', '-y', '-q', '--no-install-recommends', 'pgbouncer']
        pgfleet.run(['apt-get'] + lock + packages, env=env, timeout=600)
    return PGBOUNCER


class Pooler:
    def __init__(self, base, name, ip, port=6432):
        self.base = base
        self.name = name
        self.ip = ip
        self.port = port
        self.dir = os.path.join(base, name)
        self.etc = os.path.join(self.dir, 'etc')
        self.run_dir = os.path.join(self.dir, 'run')
        self.ini = os.path.join(self.etc, 'pgbouncer.ini')
        self.log = os.path.join(self.run_dir, 'pgbouncer.log')
        self.process = None

    def prepare_dirs(self):
        pg = pwd.getpwnam(SERVER_USER)
        os.makedirs(self.etc, exist_ok=True)
        os.chmod(self.base, 0o755)
        os.chmod(self.dir, 0o755)
        os.chmod(self.etc, 0o755)
        os.makedirs(self.run_dir, exist_ok=True)
        os.chown(self.run_dir, pg.pw_uid, pg.pw_gid)
        os.chmod(self.run_dir, 0o755)

    def own(self, path, mode=0o640):
        pg = pwd.getpwnam(SERVER_USER)
        os.chown(path, pg.pw_uid, pg.pw_gid)
        os.chmod(path, mode)

    def write_ini(self, databases, users, extra='', auth_type='scram-sha-256'):
        """A plain pgbouncer.ini (no TLS yet) and its userlist (plain-text passwords, which
        PgBouncer also uses to log in to PostgreSQL)."""
        self.prepare_dirs()
        userlist = os.path.join(self.etc, 'userlist.txt')
        with open(userlist, 'w') as handle:
            for user, password in users.items():
                handle.write('"%s" "%s"\n' % (user, password))
        self.own(userlist)
        lines = ['[databases]']
        lines += ['%s = %s' % item for item in databases.items()]
        lines += [
            '',
            '[pgbouncer]',
            'listen_addr = %s' % self.ip,
            'listen_port = %d' % self.port,
            'unix_socket_dir = %s' % self.run_dir,
            'auth_type = %s' % auth_type,
            'auth_file = %s' % userlist,
            'pidfile = %s' % os.path.join(self.run_dir, 'pgbouncer.pid'),
            'logfile = %s' % self.log,
            'pool_mode = session',
            'server_login_retry = 1',
            'query_wait_timeout = 20',
        ]
        with open(self.ini, 'w') as handle:
            handle.write('\n'.join(lines) + '\n' + extra)
        self.own(self.ini)
        return self.ini

    def start(self, timeout=30):
        self.stop()
        out = open(os.path.join(self.dir, 'pgbouncer.out'), 'ab')
        self.process = procs.spawn(
            [PGBOUNCER, self.ini],
            cwd=self.run_dir,
            env={'PATH': '/usr/bin:/bin', 'HOME': self.run_dir, 'LANG': 'C.UTF-8'},
            user=SERVER_USER,
            group=SERVER_USER,
            stdout=out,
            stderr=out,
        )
        socket = os.path.join(self.run_dir, '.s.PGSQL.%d' % self.port)
        deadline = time.time() + timeout
        while not os.path.exists(socket):
            if self.process.poll() is not None or time.time() > deadline:
                raise pgfleet.HarnessError(
                    'PgBouncer did not start on %s:%d:\n%s' % (self.ip, self.port, self.log_tail())
                )
            time.sleep(0.1)
        return self.process

    def start_daemon(self, timeout=30):
        """PgBouncer detached (``-d``), for a run that outlives this process (molecule's steps);
        stopped by ``stop_daemon`` or by a sweep of its base."""
        pgfleet.run([PGBOUNCER, '-d', self.ini], user=SERVER_USER, timeout=timeout)
        socket = os.path.join(self.run_dir, '.s.PGSQL.%d' % self.port)
        deadline = time.time() + timeout
        while not os.path.exists(socket):
            if time.time() > deadline:
                raise pgfleet.HarnessError(
                    'PgBouncer did not start on %s:%d:\n%s' % (self.ip, self.port, self.log_tail())
                )
            time.sleep(0.1)

    def stop(self, timeout=30):
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            procs.wait(process, timeout=timeout)

    def log_tail(self, lines=20):
        try:
            with open(self.log, 'rb') as handle:
                return b'\n'.join(handle.read()[-65536:].splitlines()[-lines:]).decode('utf-8', 'replace')
        except OSError:
            return ''

    def admin(self, command, timeout=15):
        """One admin console command as the server user (psql over the unix socket)."""
        done = pgfleet.run(
            [
                pgfleet.debian_bindir('15') + '/psql',
                '-X',
                '-A',
                '-t',
                '-h',
                self.run_dir,
                '-p',
                str(self.port),
                '-U',
                'pgbouncer',
                '-d',
                'pgbouncer',
                '-c',
                command,
            ],
            user=SERVER_USER,
            timeout=timeout,
        )
        return done.stdout

    def show_config(self):
        out = {}
        for line in self.admin('SHOW CONFIG').splitlines():
            parts = line.split('|')
            if len(parts) >= 2:
                out[parts[0]] = parts[1]
        return out

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv=None):
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', required=True)
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('up', help='a detached PgBouncer in front of one server (users as JSON on stdin)')
    p.add_argument('name')
    p.add_argument('--ip', required=True)
    p.add_argument('--server', required=True, help='the address of the PostgreSQL server')
    p.add_argument('--dbname', default='appdb')
    args = parser.parse_args(argv)
    install()
    pooler = Pooler(args.base, args.name, args.ip)
    users = json.loads(sys.stdin.read() or '{}')
    pooler.write_ini(databases={args.dbname: 'host=%s port=5432 dbname=postgres' % args.server}, users=users)
    pooler.start_daemon()
    print(json.dumps({'name': args.name, 'ip': args.ip, 'ini': pooler.ini}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
