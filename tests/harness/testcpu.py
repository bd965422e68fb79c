# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pytest plugin: the CPU time of each test (setup, call and teardown), and the ten costliest.

pytest's ``--durations`` gives wall times, which grow with whatever else runs on the machine.
The CPU time counted here is pytest's own plus that of every process it waited for (each
ansible-playbook run with its module processes, psql, pgbench): the cost a test adds to
``make test`` whatever runs beside it. Servers a test started detached (pg_ctl, Patroni, etcd)
are not in it; the suite's CPU column (tests/harness/suites.py) counts them. With
``PGSSL_TESTCPU_JSON`` set, every test's cost goes to that file too."""

import json
import os
import resource

import pytest

_COST = {}


def cpu_seconds():
    """User plus system CPU of this process and of the children it has waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = cpu_seconds()
    yield
    _COST[item.nodeid] = cpu_seconds() - start


def costliest(costs, count=10):
    """The ``count`` costliest (nodeid, seconds), most costly first."""
    return sorted(costs.items(), key=lambda pair: (-pair[1], pair[0]))[:count]


def pytest_terminal_summary(terminalreporter):
    if not _COST:
        return
    terminalreporter.write_sep('=', 'costliest 10 by CPU time (pytest and the processes it waited for)')
    for nodeid, seconds in costliest(_COST):
        terminalreporter.write_line('%8.2fs cpu  %s' % (seconds, nodeid))
    terminalreporter.write_line('%8.2fs cpu  all %d tests' % (sum(_COST.values()), len(_COST)))
    if os.environ.get('PGSSL_TESTCPU_JSON'):
        with open(os.environ['PGSSL_TESTCPU_JSON'], 'w') as handle:
            json.dump(dict(costliest(_COST, len(_COST))), handle, indent=1)
