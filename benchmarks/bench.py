# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: pgssl.postgresql against the peer playbook and the `ansible all -m ping` floor.

Measurements, never assertions (the machines are shared and noisy). For each fleet size N
(default 20, 50, 100) it creates N real PostgreSQL 15 clusters with the peer kit's fleet.sh
(127.0.2.10.., the fleet the peer playbook was written for), then times whole processes:

  floor     ansible all -m ping                          (same inventory, same forks)
  converge  first run of the site playbook on the fresh fleet (CA made in the run)
  noop      the site playbook again; must report changed=0 everywhere
  renew     the renew playbook, nothing due; must report changed=0
  rotate    every leaf certificate re-issued (site with server_renew_before_days=400)

Each of noop, renew and rotate alternates with a floor run (floor, run, floor, run, ...), so a
ratio is also taken pair by pair. For the sizes in --peer-sizes the peer playbook
(../shared/peer/peer-site.yml: community.crypto + community.postgresql) runs the same way on
the same fleet first (converge, noop, rotate), then the fleet is made again for the project.
Both use the peer kit's ansible.cfg (forks 10, pipelining) and the same controller (ansible
12 / ansible-core 2.19 from a venv built from /usr/bin/python3).

Per run: wall time, CPU of the whole process tree (controller and module processes, from
getrusage), and peak memory (PSS summed over the tree, sampled every 0.25 s; "controller" is
the ansible-playbook process and its forks, "all" adds the module processes).

Usage (as root): make bench   (or .venv/bin/python benchmarks/bench.py --sizes 20)
Writes JSON (--out) and, with --report, the table in docs/performance.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taskprofile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.environ.get('PGSSL_PEER_DIR', os.path.join(os.path.dirname(ROOT), 'shared', 'peer'))
STATE = os.environ.get('PGSSL_BENCH_STATE', '/var/tmp/pgssl-bench')
VENV = os.environ.get('PGSSL_BENCH_VENV', '/var/tmp/pgssl-bench-venv')
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')
RECAP = re.compile(
    r'^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)'
    r'\s+skipped=(\d+)',
    re.M,
)
PASSWORD = 'peer-bench-only'
CA_PASSPHRASE = 'peer-bench-only-ca'

PROJECT_INVENTORY = """pgssl_servers:
  children:
    fleet:
  vars:
    server_cluster: "{{ pg_version }}/{{ pg_cluster }}"
    server_login_unix_socket: "{{ pg_socket_dir }}"
    server_extra_sans: ["{{ pg_addr }}"]
    server_verify_hostaddr: "{{ pg_addr }}"
    server_verify_user: "{{ peer_test_user }}"
    server_verify_password: "%(password)s"
    pgssl_ca_dir: "%(state)s/project-ca"
    ca_passphrase: "%(ca)s"
"""


def log(msg):
    print(msg, flush=True)


def env():
    e = dict(os.environ)
    e.update(
        ANSIBLE_CONFIG=os.path.join(PEER, 'ansible.cfg'),
        PEER_STATE=STATE,
        PEER_VENV=VENV,
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_FORCE_COLOR='0',
        PEER_TEST_PASSWORD=PASSWORD,
        PEER_CA_PASSPHRASE=CA_PASSPHRASE,
        ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
        PATH=os.path.join(VENV, 'bin') + os.pathsep + os.environ.get('PATH', ''),
    )
    for key in ('PYTHONPATH', 'ANSIBLE_PYTHON_INTERPRETER', 'VIRTUAL_ENV'):
        e.pop(key, None)
    return e


def ensure_venv():
    """The controller for both systems: ansible 12 (ansible-core 2.19 with community.crypto and
    community.postgresql) and psycopg, in a venv the postgres user can run."""
    marker = os.path.join(VENV, '.pgssl-bench-installed')
    if os.path.exists(marker):
        return
    subprocess.run(['/usr/bin/python3', '-m', 'venv', VENV], check=True)
    pip = [os.path.join(VENV, 'bin', 'python'), '-m', 'pip', 'install', '-q']
    subprocess.run(pip + ['--upgrade', 'pip'], check=True)
    spec = ['ansible>=12,<13', 'psycopg[binary]>=3.1']
    if subprocess.run(pip + spec, check=False).returncode != 0:
        subprocess.run(pip + ['ansible', 'psycopg[binary]'], check=True)
    subprocess.run(['chmod', '-R', 'a+rX', VENV], check=True)
    open(marker, 'w').close()


def fleet(*args):
    subprocess.run([os.path.join(PEER, 'fleet.sh')] + list(args), env=env(), check=True, stdout=subprocess.DEVNULL)


class TreeSampler(threading.Thread):
    """Peak PSS (kB) of a process tree: the controller alone and everything."""

    def __init__(self, root_pid, interval=0.25):
        super().__init__(daemon=True)
        self.root, self.interval = root_pid, interval
        self.peak_controller = self.peak_all = 0
        self.done = threading.Event()

    @staticmethod
    def _tree(root):
        children = {}
        for name in os.listdir('/proc'):
            if not name.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % name) as handle:
                    ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
        out, todo = [], [root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    @staticmethod
    def _pss(pid):
        try:
            with open('/proc/%d/smaps_rollup' % pid) as handle:
                for line in handle:
                    if line.startswith('Pss:'):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _is_controller(pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                argv = handle.read().split(b'\0')
        except OSError:
            return False
        return any(os.path.basename(a) in (b'ansible-playbook', b'ansible') for a in argv[:2])

    def run(self):
        while not self.done.is_set():
            total = controller = 0
            for pid in self._tree(self.root):
                pss = self._pss(pid)
                total += pss
                if self._is_controller(pid):
                    controller += pss
            self.peak_all = max(self.peak_all, total)
            self.peak_controller = max(self.peak_controller, controller)
            self.done.wait(self.interval)


def timed(cmd, logfile):
    """Run cmd; return dict(wall, cpu, rc, out, mem_controller_mb, mem_all_mb)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env(), cwd=STATE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, _err = proc.communicate()
    wall = time.monotonic() - start
    sampler.done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(logfile, 'a') as handle:
        handle.write('### %s rc=%d wall=%.2f cpu=%.2f\n%s\n' % (' '.join(cmd), proc.returncode, wall, cpu, out))
    return {
        'wall': wall,
        'cpu': cpu,
        'rc': proc.returncode,
        'out': out,
        'mem_controller_mb': sampler.peak_controller / 1024.0,
        'mem_all_mb': sampler.peak_all / 1024.0,
    }


def recap(out):
    hosts = {}
    for match in RECAP.finditer(out):
        ok, changed, unreachable, failed, skipped = map(int, match.groups()[1:])
        hosts[match.group(1)] = dict(ok=ok, changed=changed, unreachable=unreachable, failed=failed, skipped=skipped)
    return hosts


def stats(values):
    return {'n': len(values), 'min': min(values), 'median': statistics.median(values), 'max': max(values)}


class Series(object):
    """The runs of one system at one fleet size."""

    def __init__(self, system, hosts, logfile):
        self.system, self.hosts, self.logfile = system, hosts, logfile
        self.runs = {}
        self.pairs = {}

    def run(self, kind, cmd, must_noop=False, floor_cmd=None):
        floor = None
        if floor_cmd:
            floor = timed(floor_cmd, self.logfile)
            if floor['rc']:
                sys.exit('floor failed, see %s' % self.logfile)
            self.runs.setdefault('floor', []).append(floor)
        got = timed(cmd, self.logfile)
        if got['rc'] != 0:
            sys.exit('%s %s (N=%d) failed (rc=%d), see %s' % (self.system, kind, self.hosts, got['rc'], self.logfile))
        hosts = recap(got['out'])
        if len([h for h in hosts if h != 'localhost']) < self.hosts:
            sys.exit('%s %s: recap for %d hosts, expected %d' % (self.system, kind, len(hosts), self.hosts))
        if must_noop and any(h['changed'] for h in hosts.values()):
            sys.exit('%s %s (N=%d) reported changes, see %s' % (self.system, kind, self.hosts, self.logfile))
        got['recap'] = hosts
        del got['out']
        self.runs.setdefault(kind, []).append(got)
        if floor:
            self.pairs.setdefault(kind, []).append(got['wall'] / floor['wall'])
        log(
            '  %-7s %-8s N=%-3d wall %7.2f s  cpu %7.2f s  peak %5.0f MB (controller %4.0f MB)'
            % (self.system, kind, self.hosts, got['wall'], got['cpu'], got['mem_all_mb'], got['mem_controller_mb'])
        )
        return got

    def summary(self):
        out = {}
        for kind, runs in self.runs.items():
            out[kind] = {
                'wall': stats([r['wall'] for r in runs]),
                'cpu': stats([r['cpu'] for r in runs]),
                'mem_all_mb': max(r['mem_all_mb'] for r in runs),
                'mem_controller_mb': max(r['mem_controller_mb'] for r in runs),
            }
            if kind in self.pairs:
                out[kind]['paired_ratio'] = stats(self.pairs[kind])
            sample = sorted(h for h in runs[-1].get('recap', {}) if h != 'localhost')
            if sample:
                out[kind]['recap_sample'] = runs[-1]['recap'][sample[-1]]
        return out


def verify_timing(hosts, rounds=5):
    """The verify module alone (six sslmodes), as Ansible runs it, on the first fleet host."""
    payload = json.dumps(
        {
            'ANSIBLE_MODULE_ARGS': {
                'host': 'peer0.pgssl.test',
                'hostaddr': '127.0.2.10',
                'user': 'pgssl_test',
                'password': PASSWORD,
                'sslrootcert': os.path.join(STATE, 'project-ca', 'ca.crt'),
                'policy': 'ssl_required',
            }
        }
    )
    walls, conns = [], []
    e = env()
    e['PYTHONPATH'] = COLLECTIONS
    for _round in range(rounds):
        start = time.monotonic()
        proc = subprocess.run(
            [os.path.join(VENV, 'bin', 'python'), '-m', 'ansible_collections.pgssl.postgresql.plugins.modules.verify'],
            input=payload,
            capture_output=True,
            text=True,
            env=e,
            cwd='/',
            check=False,
        )
        walls.append(time.monotonic() - start)
        result = json.loads(proc.stdout)
        if result.get('failed') or result.get('unmet'):
            sys.exit('verify failed: %s' % result)
        conns.append(sum(m['elapsed_ms'] for m in result['modes'].values()) / 1000.0)
    return {'module_wall': stats(walls), 'connections': stats(conns), 'hosts': hosts}


def versions():
    e = env()
    core = subprocess.run(['ansible', '--version'], env=e, capture_output=True, text=True, check=False).stdout
    pkgs = subprocess.run(
        [os.path.join(VENV, 'bin', 'python'), '-m', 'pip', 'list', '--format=json'],
        env=e,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    wanted = ('ansible', 'ansible-core', 'cryptography', 'psycopg')
    listed = dict((p['name'].lower(), p['version']) for p in json.loads(pkgs or '[]'))
    pg = subprocess.run(
        ['/usr/lib/postgresql/15/bin/postgres', '--version'], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        'ansible_core': core.splitlines()[0] if core else '?',
        'python': platform.python_version(),
        'postgresql': pg,
        'packages': dict((k, listed.get(k)) for k in wanted),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='20,50,100')
    parser.add_argument('--peer-sizes', default='20', help='sizes at which the peer playbook runs too ("" for none)')
    parser.add_argument(
        '--rounds', type=int, default=2, help='counted runs of noop, renew and rotate (each paired with a floor)'
    )
    parser.add_argument('--big-rounds', type=int, default=1, help='the same above 50 hosts')
    parser.add_argument('--out', default=os.path.join(STATE, 'results.json'))
    parser.add_argument('--report', help='write the markdown report here (docs/performance.md)')
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('bench.py needs root (it creates PostgreSQL clusters)')
    sizes = [int(x) for x in args.sizes.split(',') if x.strip()]
    peer_sizes = [int(x) for x in args.peer_sizes.split(',') if x.strip()]
    os.makedirs(STATE, exist_ok=True)
    logfile = os.path.join(STATE, 'bench.log')
    open(logfile, 'w').close()
    ensure_venv()
    inv = os.path.join(STATE, 'inventory.ini')
    pinv = os.path.join(STATE, 'project.yml')
    with open(pinv, 'w') as handle:
        handle.write(PROJECT_INVENTORY % {'password': PASSWORD, 'state': STATE, 'ca': CA_PASSPHRASE})
    floor_cmd = ['ansible', 'all', '-m', 'ansible.builtin.ping', '-i', inv]
    peer_play = ['ansible-playbook', '-i', inv, os.path.join(PEER, 'peer-site.yml')]
    site = ['ansible-playbook', '-i', inv, '-i', pinv, 'pgssl.postgresql.site']
    renew = ['ansible-playbook', '-i', inv, '-i', pinv, 'pgssl.postgresql.renew']
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    results = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d'),
        'cores': os.cpu_count(),
        'memory_gb': round(memory / 2**30),
        'sizes': {},
    }
    fleet('down')
    for n in sizes:
        rounds = args.rounds if n <= 50 else args.big_rounds
        entry = results['sizes'][str(n)] = {}
        if n in peer_sizes:
            log('N=%d: the peer playbook' % n)
            fleet('up', str(n))
            peer = Series('peer', n, logfile)
            peer.run('converge', peer_play, floor_cmd=floor_cmd)
            for _round in range(rounds):
                peer.run('noop', peer_play, must_noop=True, floor_cmd=floor_cmd)
            for _round in range(rounds):
                peer.run('rotate', peer_play + ['-e', 'peer_force_rotate=true'], floor_cmd=floor_cmd)
            entry['peer'] = peer.summary()
            fleet('down')
        log('N=%d: pgssl.postgresql' % n)
        shutil.rmtree(os.path.join(STATE, 'project-ca'), ignore_errors=True)
        fleet('up', str(n))
        project = Series('pgssl', n, logfile)
        project.run('converge', site, floor_cmd=floor_cmd)
        for _round in range(rounds):
            project.run('noop', site, must_noop=True, floor_cmd=floor_cmd)
        for _round in range(rounds):
            project.run('renew', renew, must_noop=True, floor_cmd=floor_cmd)
        for _round in range(rounds):
            project.run('rotate', site + ['-e', 'server_renew_before_days=400'], floor_cmd=floor_cmd)
        if n == sizes[0]:
            # one untimed run of each with Ansible's log: where the time goes, task by task
            profiled = (('noop', site), ('rotate', site + ['-e', 'server_renew_before_days=400']))
            results['profile'] = dict(
                (kind, taskprofile.run(cmd, env(), STATE, os.path.join(STATE, 'profile-%s.log' % kind)))
                for kind, cmd in profiled
            )
            results['profile']['hosts'] = n
        project.run('noop', site, must_noop=True)  # a rotation leaves a fleet in order
        entry['pgssl'] = project.summary()
        if n == sizes[0]:
            results['verify'] = verify_timing(n)
        fleet('down')
    results['versions'] = versions()
    with open(args.out, 'w') as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
    log('results: %s  log: %s' % (args.out, logfile))
    table = report(results)
    print(table)
    if args.report:
        write_report(results, table, args.report)
    return 0


def _ratio(a, b):
    return '%.2f' % (a / b) if a and b else '-'


def report(results):
    rows = [
        '| N | run | pgssl wall (s) | peer wall (s) | pgssl ÷ peer | pgssl ÷ floor '
        '(paired) | floor (s) | pgssl CPU (s) | CPU per host (s) | peak MB all / '
        'controller |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for n, entry in sorted(results['sizes'].items(), key=lambda kv: int(kv[0])):
        mine, peer = entry['pgssl'], entry.get('peer', {})
        floor = mine['floor']['wall']['median']
        for kind in ('converge', 'rotate', 'noop', 'renew'):
            if kind not in mine:
                continue
            m = mine[kind]
            p = peer.get(kind, {}).get('wall', {}).get('median')
            paired = m.get('paired_ratio', {}).get('median')
            rows.append(
                '| %s | %s | %.2f | %s | %s | %s | %.2f | %.1f | %.2f | %.0f / %.0f |'
                % (
                    n,
                    kind,
                    m['wall']['median'],
                    '%.2f' % p if p else '-',
                    _ratio(m['wall']['median'], p),
                    '%.2f' % paired if paired else '-',
                    floor,
                    m['cpu']['median'],
                    m['cpu']['median'] / int(n),
                    m['mem_all_mb'],
                    m['mem_controller_mb'],
                )
            )
    return '\n'.join(rows)


def _goals(results, sizes):
    """The goals of the performance issue, measured: one row each, met or by how much not."""
    rows = ['| goal | target | measured | met |', '|---|---|---|---|']

    def row(goal, target, value, limit, fmt='%.2f'):
        if value is None:
            rows.append('| %s | %s | not measured | - |' % (goal, target))
            return
        met = value <= limit
        rows.append(
            '| %s | %s | %s | %s |'
            % (goal, target, fmt % value, 'yes' if met else 'no, %.1fx the target' % (value / limit))
        )

    first = str(sizes[0])
    mine = results['sizes'][first]['pgssl']
    peer = results['sizes'][first].get('peer', {})
    for kind, name in (('converge', 'first converge'), ('rotate', 'forced rotation of every leaf')):
        p = peer.get(kind, {}).get('wall', {}).get('median')
        row(
            '%s, N=%s' % (name, first),
            '<= 0.25x peer',
            mine[kind]['wall']['median'] / p if p else None,
            0.25,
            '%.2fx peer',
        )
    for kind in ('noop', 'renew'):
        row(
            'no-op %s, N=%s' % ('site' if kind == 'noop' else 'renew', first),
            '<= 2.0x floor',
            mine[kind].get('paired_ratio', {}).get('median'),
            2.0,
            '%.2fx floor (paired)',
        )
    row(
        'CPU per host, converge, N=%s' % first,
        '<= 1.2 s',
        mine['converge']['cpu']['median'] / int(first),
        1.2,
        '%.2f s',
    )
    verify = results.get('verify', {}).get('module_wall', {}).get('median')
    row('verify module, six sslmodes, one host', '<= 0.15 s', verify, 0.15, '%.3f s')
    if len(sizes) > 1:
        last = str(sizes[-1])
        for kind in ('converge', 'rotate', 'noop', 'renew'):
            a = results['sizes'][first]['pgssl'].get(kind, {}).get('wall', {}).get('median')
            b = results['sizes'][last]['pgssl'].get(kind, {}).get('wall', {}).get('median')
            limit = 5.5 * int(last) / 100.0
            row(
                '%s: N=%s costs at most %.1fx N=%s' % (kind, last, limit, first),
                '<= %.1fx' % limit,
                b / a if a and b else None,
                limit,
                '%.2fx',
            )
    return '\n'.join(rows)


def write_report(results, table, path):
    sizes = sorted(int(n) for n in results['sizes'])
    curve = []
    for kind in ('converge', 'rotate', 'noop', 'renew'):
        walls = [results['sizes'][str(n)]['pgssl'].get(kind, {}).get('wall', {}).get('median') for n in sizes]
        if all(walls):
            per_host = ['%.3f' % (w / n) for w, n in zip(walls, sizes)]
            scale = ('%.2f' % (walls[-1] / walls[0])) if len(sizes) > 1 else '-'
            curve.append(
                '| %s | %s | %s | %s |' % (kind, ' / '.join('%.1f' % w for w in walls), ' / '.join(per_host), scale)
            )
    verify = results.get('verify', {})
    versions = results.get('versions', {})
    goals = _goals(results, sizes)
    text = PERFORMANCE_TEMPLATE % {
        'date': results['date'],
        'cores': results['cores'],
        'memory': results['memory_gb'],
        'versions': ', '.join('%s %s' % kv for kv in sorted(versions.get('packages', {}).items())),
        'core': versions.get('ansible_core', '?'),
        'postgresql': versions.get('postgresql', '?'),
        'table': table,
        'sizes': ' / '.join(str(n) for n in sizes),
        'goals': goals,
        'curve': '\n'.join(curve),
        'last': sizes[-1],
        'first': sizes[0],
        'verify_wall': verify.get('module_wall', {}).get('median', 0),
        'verify_conn': verify.get('connections', {}).get('median', 0),
        'profile': _profile_section(results.get('profile')),
    }
    with open(path, 'w') as handle:
        handle.write(text)


def _profile_section(profile):
    if not profile:
        return 'No profile in this run (it is taken at the smallest fleet size).'
    parts = []
    for kind, what in (('noop', 'the no-op site run'), ('rotate', 'the forced rotation of every leaf')):
        if kind in profile:
            got = profile[kind]
            parts.append(
                '%s at N=%d (%d tasks over %d plays):\n\n%s'
                % (what.capitalize(), profile['hosts'], got['tasks'], got['plays'], taskprofile.table(got))
            )
    return '\n\n'.join(parts)


PERFORMANCE_TEMPLATE = """# Performance

Written by `make bench` (`benchmarks/bench.py`) on %(date)s: %(cores)s cores, %(memory)s GiB,
%(core)s, %(versions)s, %(postgresql)s (Debian clusters made by the peer kit's `fleet.sh`).
Both systems run from the same controller with the peer kit's `ansible.cfg` (forks 10,
pipelining, no facts, local connection). Each figure is the median wall time of a whole process.
The floor is `ansible all -m ping` over the same inventory, run alternately with each measured
run; "paired" is the median of run ÷ its floor. CPU is the whole process tree (controller and
module processes). Peak memory is PSS summed over the tree ("all") and over the
ansible-playbook process and its forks ("controller").

%(table)s

## Goals

%(goals)s

Where the rest goes: a module run costs about one `ansible -m ping` of the same host (the
interpreter, `ansible.module_utils.basic` and the collection's cores compiled from the
AnsiballZ payload on every run, about 0.13 s of CPU before the module does anything, plus the
controller's work for the task). A change is two such runs per host (`tls_prepare`,
`tls_install`, with `sign` once per batch); the CA role adds one `private_ca` run (it was
three before 2026-12). The no-op is the status run per host plus that fixed cost; the status
run does more than `ping` (it parses the certificates, postgresql.conf and pg_hba.conf and
makes one TLS handshake), so it costs about 1.5 pings. The peer pays about 11 module runs per host on every run.

Sampled with `py-spy record --subprocesses` over one no-op site run at N=20 (2026-12-07): the
module processes took about 45% of the samples and the controller the rest (its main process
forking a worker per host and task, computing each host's variables and handling results;
its workers templating the arguments and starting the module). Inside the module processes,
compiling the AnsiballZ payload's sources (zipimport keeps no bytecode) was 30%, other imports
(cryptography among them) 21%, the status check itself and the interpreter the rest; the
collection's sources are 40% of what is compiled, `ansible.module_utils` the other 60%. A
second sample (2026-12-08, the status call of a no-op on three hosts) puts the imports at 80% of
a module process and the status check's own work at 4%; about half of the compiling is
CPython 3.11's zipimport compiling each source twice (once in `find_spec`, whose
`get_filename` builds the code object to name the file, once to run it). So the
no-op cannot fall far below one module run and a dozen task dispatches per host on this
controller: the 2.0x goal asks for about a third less than that.

## Where the time goes

One more run of each, untimed, with Ansible's log (`benchmarks/taskprofile.py`): a task's
seconds run from its banner to the next one, so they hold its module runs on every host of the
batch and the controller's work for it; tasks of one name are summed.

%(profile)s

## Cost per host

Median wall time at N = %(sizes)s hosts, then per host, then N=%(last)s ÷ N=%(first)s (flat
cost per added host would be %(last)s/%(first)s of the hosts; the goal is at most 5.5 from 20
to 100):

| run | wall (s) | per host (s) | scale |
|---|---|---|---|
%(curve)s

## verify

The verify module alone on one host (six sslmodes, interpreter start included), as Ansible runs
it: %(verify_wall).3f s; its six connections took %(verify_conn).3f s together.
"""


if __name__ == '__main__':
    sys.exit(main())
