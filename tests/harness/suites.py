# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run test suites (make targets) side by side, each under its own deadline, and print a table.

    suites.py [--jobs N] [--stop-on-failure] SUITE [SUITE ...]

Each suite is ``make -s SUITE`` in its own process group with its output in
``.cache/suites/SUITE.log``. A suite that outlives its deadline (SUITES below, or
``PGSSL_SUITE_TIMEOUT``) is killed with its whole process group and counted as failed. Suites
start in the order given, ``--jobs`` at a time (suites marked ``alone`` run with nothing beside
them: their figures are timing-sensitive). A failed suite's last lines are printed; the run ends
with a table of each suite's wall time and the total, also written to ``.cache/suites/times.txt``.
Exit status 0 only when every suite passed.

The table also gives each suite's CPU time: every process the suite started, servers and
daemons included (each suite runs under a child subreaper that reaps its orphans). On a machine
whose cores are all busy, wall times depend on what ran beside a suite; CPU time does not, so it
is the figure that shows a suite's growth.

    suites.py --reap CPUFILE -- CMD ...   (internal: run CMD as a subreaper, write its CPU time)
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG_DIR = os.path.join(ROOT, '.cache', 'suites')

# name -> (deadline in seconds, runs alone)
SUITES = {
    'lint': (900, False),
    'units': (600, False),
    'sanity': (1800, False),
    'docs': (1200, False),
    'integration': (1200, False),
    'realserver': (1800, False),
    'realserver-a': (2400, False),
    'realserver-b': (2400, False),
    'realserver-c': (2400, False),
    # rotation under load counts failed connections, not timings: it may run beside another
    'reliability-subset': (1200, False),
    'galaxy': (1200, False),
    'molecule': (2400, False),
    'molecule-a': (1500, False),
    'molecule-b': (1500, False),
    'smoke': (600, False),
}


class Suite:
    def __init__(self, name):
        self.name = name
        self.deadline, self.alone = SUITES.get(name, (1800, False))
        if os.environ.get('PGSSL_SUITE_TIMEOUT'):
            self.deadline = int(os.environ['PGSSL_SUITE_TIMEOUT'])
        self.log = os.path.join(LOG_DIR, name + '.log')
        self.proc = None
        self.started = None
        self.wall = None
        self.cpu = None
        self.cpu_file = os.path.join(LOG_DIR, name + '.cpu')
        self.result = 'not run'

    def start(self):
        handle = open(self.log, 'w')
        self.started = time.monotonic()
        if os.path.exists(self.cpu_file):
            os.unlink(self.cpu_file)
        reaper = [sys.executable, os.path.abspath(__file__), '--reap', self.cpu_file, '--']
        self.proc = subprocess.Popen(
            reaper + ['make', '-s', '--no-print-directory', self.name],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        print('== %s started (deadline %d s, log %s)' % (self.name, self.deadline, os.path.relpath(self.log, ROOT)))
        sys.stdout.flush()

    def poll(self):
        """True once the suite has ended (passed, failed or killed at its deadline)."""
        if self.proc is None:
            return False
        elapsed = time.monotonic() - self.started
        code = self.proc.poll()
        if code is None and elapsed > self.deadline:
            self.kill()
            self.result = 'TIMEOUT'
            self.wall = elapsed
            return True
        if code is None:
            return False
        self.wall = elapsed
        self.result = 'pass' if code == 0 else 'FAIL (%d)' % code
        try:
            with open(self.cpu_file) as handle:
                self.cpu = float(handle.read(64))
        except (OSError, ValueError):
            self.cpu = None
        return True

    def kill(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue

    def report(self):
        print('== %s: %s in %.0f s' % (self.name, self.result, self.wall))
        if self.result != 'pass':
            with open(self.log, errors='replace') as handle:
                lines = handle.readlines()
            print('---- last %d lines of %s ----' % (min(len(lines), 300), self.log))
            sys.stdout.write(''.join(lines[-300:]))
            print('---- end of %s ----' % self.name)
        sys.stdout.flush()


def table(suites, total):
    lines = ['', '%-20s %-10s %8s %8s' % ('suite', 'result', 'wall', 'cpu'), '-' * 49]
    for s in suites:
        wall = '%6.0f s' % s.wall if s.wall is not None else '%8s' % '-'
        cpu = '%6.0f s' % s.cpu if s.cpu is not None else '%8s' % '-'
        lines.append('%-20s %-10s %8s %8s' % (s.name, s.result, wall, cpu))
    lines.append('-' * 49)
    cpu = sum(s.cpu for s in suites if s.cpu is not None)
    lines.append(
        '%-20s %-10s %6.0f s %6.0f s  (%.1f min; cpu on %d cores: %.0f%% of the wall)'
        % (
            'total',
            '',
            total,
            cpu,
            total / 60.0,
            os.cpu_count() or 1,
            100.0 * cpu / (total * (os.cpu_count() or 1) or 1),
        )
    )
    return '\n'.join(lines) + '\n'


def reap(cpu_file, cmd):
    """Run ``cmd`` as a child subreaper: the processes it leaves behind (servers started by a
    fixture, daemonized) become this process's children, and their CPU time is counted when they
    end. Once ``cmd`` ends, what has ended is reaped without waiting for the rest; the CPU time of
    everything reaped goes to ``cpu_file``. Returns ``cmd``'s exit status."""
    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    child = subprocess.Popen(cmd)
    code = 1
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid == child.pid:
            code = os.waitstatus_to_exitcode(status)
            break
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(cpu_file, 'w') as handle:
        handle.write('%.1f\n' % (usage.ru_utime + usage.ru_stime))
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--reap'] and len(argv) > 3 and argv[2] == '--':
        return reap(argv[1], argv[3:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--stop-on-failure', action='store_true')
    parser.add_argument('suites', nargs='+')
    args = parser.parse_args(argv)
    os.makedirs(LOG_DIR, exist_ok=True)
    pending = [Suite(name) for name in args.suites]
    everything = list(pending)
    running = []
    begun = time.monotonic()
    failed = False

    def stop_all(signum, _frame):
        for s in running:
            s.kill()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while pending or running:
        for s in list(running):
            if s.poll():
                running.remove(s)
                s.report()
                failed = failed or s.result != 'pass'
        if failed and args.stop_on_failure:
            for s in running:
                s.kill()
                s.result, s.wall = 'stopped', time.monotonic() - s.started
            running = []
            break
        while pending and len(running) < args.jobs:
            nxt = pending[0]
            if (nxt.alone and running) or any(r.alone for r in running):
                break
            running.append(pending.pop(0))
            nxt.start()
        time.sleep(0.5)
    out = table(everything, time.monotonic() - begun)
    sys.stdout.write(out)
    with open(os.path.join(LOG_DIR, 'times.txt'), 'w') as handle:
        handle.write(out)
    return 1 if failed or any(s.result != 'pass' for s in everything) else 0


if __name__ == '__main__':
    sys.exit(main())
