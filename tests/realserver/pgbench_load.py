# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection load for the rotation tests: ``pgbench -C`` (a new connection per transaction) in
short runs one after the other until stopped. Every run must end clean; the connections made
and each failed run (its output's tail, and when it ran) are kept for the assertions."""

import re
import threading
import time

import proc

# new connections a second (pgbench -R): a connection every 50 ms through each whole rotation.
# Each costs a backend's fork, a TLS handshake and a SCRAM exchange on both ends: at 50 a second
# the load alone took a third of the busy CPU of a Patroni test (perf, 2026-12-07), time the two
# cores owe the runs under test and the suites beside them
CONNECT_RATE = '20'


class PgbenchLoad(threading.Thread):
    def __init__(self, cmd, env):
        super().__init__(daemon=True)
        self.cmd, self.env = cmd, env
        self.halt = threading.Event()
        self.connections, self.failures, self.failed_at = 0, [], []

    def run(self):
        while not self.halt.is_set():
            started = time.time()
            done = proc.run(self.cmd, env=self.env, timeout=60)
            found = re.search(r'number of transactions actually processed: (\d+)', done.stdout)
            self.connections += int(found.group(1)) if found else 0
            if done.returncode != 0 or 'error' in (done.stdout + done.stderr).lower():
                said = (done.stdout + done.stderr).splitlines()
                why = [line for line in said if re.search(r'error|fatal|failed|could not|abort', line, re.I)]
                self.failures.append('\n'.join(why or said[-8:])[-1200:])
                self.failed_at.append((started, time.time()))

    def stop(self):
        self.halt.set()
        self.join(timeout=90)
