# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-test CPU report of the real-server suites (testcpu.py)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import testcpu  # noqa: E402

BURN = 'import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end:\n    pass\n'


def test_a_waited_child_counts():
    """A test's cost is mostly the processes it waits for (ansible-playbook and its modules)."""
    before = testcpu.cpu_seconds()
    subprocess.run([sys.executable, '-c', BURN], check=True, timeout=30)
    assert testcpu.cpu_seconds() - before >= 0.35


def test_the_costliest_come_first_and_ties_by_name():
    costs = {'b': 1.0, 'a': 1.0, 'c': 5.0, 'd': 0.5}
    assert testcpu.costliest(costs, 3) == [('c', 5.0), ('a', 1.0), ('b', 1.0)]
