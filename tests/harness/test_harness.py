# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canaries of the harness itself: a command that would block forever ends at its deadline with
a message naming it, and the sweep removes what a killed run left."""

import os
import resource
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pgfleet  # noqa: E402
import proc  # noqa: E402
import suites  # noqa: E402


def test_a_command_blocked_on_a_fifo_fails_within_its_deadline(tmp_path):
    fifo = tmp_path / 'server.crt'
    os.mkfifo(fifo)
    began = time.monotonic()
    with pytest.raises(proc.CommandTimeout) as err:
        proc.run(['cat', str(fifo)], timeout=2)
    assert time.monotonic() - began < 15
    assert 'cat %s' % fifo in str(err.value) and 'timed out after 2 s' in str(err.value)


def test_the_whole_process_group_is_killed(tmp_path):
    marker = tmp_path / 'grandchild.pid'
    # a shell that leaves a grandchild sleeping: the deadline must take it too
    script = 'sleep 300 & echo $! > %s; wait' % marker
    with pytest.raises(proc.CommandTimeout):
        proc.run(['sh', '-c', script], timeout=2)
    pid = int(marker.read_text())
    assert proc.gone(pid, 5), 'the grandchild %d outlived the deadline' % pid


def test_no_command_without_a_deadline():
    with pytest.raises(ValueError):
        proc.run(['true'], timeout=None)
    assert proc.run(['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout=10).returncode == 3
    with pytest.raises(subprocess.CalledProcessError):
        proc.run(['false'], timeout=10, check=True)


def test_stop_ends_a_background_process_that_ignores_sigterm():
    child = proc.spawn(['sh', '-c', 'trap "" TERM; sleep 300'])
    began = time.monotonic()
    proc.stop(child, timeout=1)
    assert child.poll() is not None and time.monotonic() - began < 20


def test_a_suite_past_its_deadline_is_killed_and_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(suites, 'LOG_DIR', str(tmp_path))
    monkeypatch.setitem(suites.SUITES, 'canary-hang', (2, False))
    makefile = tmp_path / 'Makefile'
    makefile.write_text('canary-hang:\n\tsleep 300\ncanary-ok:\n\ttrue\n')
    monkeypatch.setattr(suites, 'ROOT', str(tmp_path))
    began = time.monotonic()
    assert suites.main(['--jobs', '2', 'canary-hang', 'canary-ok']) == 1
    assert time.monotonic() - began < 30
    out = capsys.readouterr().out
    assert 'canary-hang' in out and 'TIMEOUT' in out
    assert 'canary-ok' in out and 'pass' in out and 'cpu on' in out


def test_a_suites_cpu_time_counts_the_daemons_it_left(tmp_path, monkeypatch, capsys):
    """A process the suite detached from (as pg_ctl detaches a server) is counted when it ends."""
    monkeypatch.setattr(suites, 'LOG_DIR', str(tmp_path))
    monkeypatch.setattr(suites, 'ROOT', str(tmp_path))
    # a fixed amount of work (not a fixed time: the machine may be busy), detached, then a marker
    burn = '%s -c "sum(i * i for i in range(4000000))"; touch done' % sys.executable
    wait = 'for i in $$(seq 300); do test -f done && break; sleep 0.1; done; sleep 1'
    (tmp_path / 'Makefile').write_text("canary-daemon:\n\tsh -c '(%s) &'; %s\n" % (burn, wait))
    assert suites.main(['--jobs', '1', 'canary-daemon']) == 0
    assert (tmp_path / 'done').exists()
    with open(tmp_path / 'canary-daemon.cpu') as handle:
        cpu = float(handle.read())
    # the same work counted in this process when it is its own child
    began = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, '-c', 'sum(i * i for i in range(4000000))'], timeout=60, check=True)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    alone = (ended.ru_utime - began.ru_utime) + (ended.ru_stime - began.ru_stime)
    assert cpu >= 0.7 * alone, (cpu, alone)
    out = capsys.readouterr().out
    assert 'canary-daemon' in out and 'cpu on' in out


def test_sweep_removes_fifos_and_unknown_servers_of_its_base(tmp_path):
    base = tmp_path / 'fleet'
    host = base / 'db1' / 'data'
    host.mkdir(parents=True)
    os.mkfifo(host / 'hostile.conf')
    # a process left running in the base (as a postmaster in its data directory would be)
    sleeper = subprocess.Popen(['sleep', '300'], cwd=str(host), start_new_session=True)
    try:
        pgfleet.Fleet(str(base)).sweep()
        assert sleeper.wait(timeout=10) is not None
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    assert not base.exists()


def test_sweep_refuses_a_wide_base():
    with pytest.raises(pgfleet.HarnessError):
        pgfleet.Fleet('/').sweep()


def test_a_command_dies_with_the_process_that_started_it(tmp_path):
    marker = tmp_path / 'child.pid'
    # a runner that starts a long command through the helper, then is killed with SIGKILL
    runner = subprocess.Popen(
        [
            sys.executable,
            '-c',
            'import sys; sys.path.insert(0, %r); import proc; '
            "p = proc.spawn(['sh', '-c', 'echo $$ > %s; exec sleep 300']); p.wait()"
            % (os.path.dirname(os.path.abspath(__file__)), marker),
        ]
    )
    for _tick in range(100):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.1)
    child = int(marker.read_text())
    runner.kill()
    runner.wait(timeout=10)
    if not proc.gone(child, 5):
        os.kill(child, 9)
        pytest.fail('the command %d outlived the killed runner' % child)


def test_the_molecule_scenarios_share_no_address():
    """make test runs two halves of the scenarios side by side: a server address (or a fleet
    name) in two scenarios lets one scenario's server hold the other's port."""
    import glob

    import yaml

    seen = {}
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'extensions')
    for path in sorted(glob.glob(os.path.join(root, 'molecule', '*', 'molecule.yml'))):
        scenario = os.path.basename(os.path.dirname(path))
        with open(path) as handle:
            config = yaml.safe_load(handle)
        for platform in config.get('platforms') or []:
            for kind, keys in (('address', ('pgssl_ip', 'pgci_address')), ('fleet name', ('pgssl_fleet_name',))):
                for value in [platform[k] for k in keys if platform.get(k)]:
                    first = seen.setdefault((kind, value), scenario)
                    assert first == scenario, '%s %s is in scenarios %s and %s' % (kind, value, first, scenario)
    assert len(seen) > 10, seen
