# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault table: each fault injected into a real run of the playbooks on a real server.

For each: the server keeps serving (the certificate it served before, or the new one when the
run finished), `pg_ctl restart` succeeds afterwards, the files are rolled back or untouched
(a killed run leaves a key and certificate that still pair up), one clear error names the host
and the cause, and a re-run converges.
"""

import contextlib
import os
import signal
import time

import pytest

from conftest import BASE, record

import proc as procs

FORCED = {'server_renew_before_days': 100000}


def _target(fleet):
    return fleet.names[0]


def _pair_ok(fleet, name):
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

    ssl = os.path.join(fleet.host(name)['config_dir'], 'ssl')
    cert = crypto.load_certificates(open(os.path.join(ssl, 'server.crt'), 'rb').read())[0]
    key = crypto.load_private_key(open(os.path.join(ssl, 'server.key'), 'rb').read())
    return crypto.same_public_key(cert.public_key(), key)


def _paused(fleet, name, step, action, extra=None):
    """Run the renew playbook on one host, pause it after ``step``, call ``action(proc)`` and
    release the run (unless the action killed it). Returns (rc, output)."""
    marker = '%s-pause-%s' % (BASE, name)
    for path in (marker, marker + '.release'):
        if os.path.exists(path):
            os.unlink(path)
    args = dict(FORCED, server__inject_stop=step, server__inject_stop_marker=marker)
    args.update(extra or {})
    proc = fleet.run('pgssl.postgresql.renew', args, limit=name + '.pgssl.test', background=True)
    deadline = time.time() + 300
    while not _marker_pid(marker):
        assert proc.poll() is None, proc.stdout.read()[-4000:]
        assert time.time() < deadline, 'the run never reached %s' % step
        time.sleep(0.2)
    proc.marker = marker
    action(proc)
    with open(marker + '.release', 'w'):
        pass
    try:
        out, _err = proc.communicate(timeout=600)
    except BaseException:
        procs.stop(proc, timeout=0)
        raise
    return proc.returncode, out


def _marker_pid(marker):
    """The pid of the module process paused at the marker (it writes it there), or None."""
    try:
        with open(marker) as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _kill(proc):
    """SIGKILL the run: the playbook's process group and the module paused on the host, which
    Ansible runs in a session of its own (the playbook's death alone would let it go on)."""
    os.killpg(proc.pid, signal.SIGKILL)
    module = _marker_pid(proc.marker)
    os.kill(module, signal.SIGKILL)
    assert procs.gone(module, 10), 'the paused module %d outlived SIGKILL' % module


def _converges(fleet, name, extra=None):
    rc, out = fleet.run('pgssl.postgresql.renew', extra or {}, limit=name + '.pgssl.test')
    assert rc == 0, out[-4000:]
    return True


def _row(fault, name, error, served_kept, restart_ok, files_ok, converged):
    record(
        'fault',
        fault=fault,
        host=name,
        error=error[:300],
        served_kept=served_kept,
        restart_ok=restart_ok,
        files_ok=files_ok,
        converged=converged,
    )


def _error_line(out, name):
    """The message an operator reads: the role's own summary when there is one."""
    lines = [ln.strip() for ln in out.splitlines()]
    for marker in ('TLS setup of %s' % name, 'Not reloading', 'UNREACHABLE', 'Module failed', 'fatal: ['):
        for line in lines:
            if marker in line:
                start = line.find('TLS setup of')
                return line[start:] if start >= 0 else line
    return ''


STEPS = ['key', 'cert', 'ca', 'conf', 'hba', 'reload']
SUBSET_STEPS = ('key', 'conf')


@pytest.mark.parametrize('step', [s if s in SUBSET_STEPS else pytest.param(s, marks=pytest.mark.full) for s in STEPS])
def test_run_killed_after_each_step(rfleet, step):
    name = _target(rfleet)
    # after "key", the run has a new key to install (another curve): the interesting case
    extra = {'server_key_curve': 'P-384'} if step == 'key' else {}
    rc, _out = _paused(rfleet, name, step, _kill, extra)
    assert rc != 0
    served = rfleet.served(name)
    pair = _pair_ok(rfleet, name)
    restart = rfleet.restart_ok(name)
    converged = _converges(rfleet, name)
    _row(
        'run killed (SIGKILL) after the %s step, then re-run' % step,
        name,
        'killed',
        served is not None,
        restart,
        pair,
        converged,
    )
    assert served and pair and restart
    assert rfleet.served(name) is not None and _pair_ok(rfleet, name)


def _refused(fleet, fault, name, act, cause, undo=None, step='validate', extra=None):
    """A fault that must make the run fail with ``cause``: the files are rolled back, the
    previous certificate is still served, the server restarts, and after ``undo`` a re-run
    converges."""
    before_files = fleet.checksums(name)
    before_served = fleet.served(name)
    rc, out = _paused(fleet, name, step, act, extra)
    error = _error_line(out, name)
    served = fleet.served(name)
    if undo:
        undo()  # what the operator does about someone else's change
    after_files = fleet.checksums(name)
    restart = fleet.restart_ok(name)
    converged = _converges(fleet, name)
    _row(fault, name, error, served == before_served, restart, after_files == before_files, converged)
    assert rc != 0
    assert name in out and cause in out, out[-5000:]
    assert served == before_served and after_files == before_files
    assert restart


def _refused_run(fleet, fault, name, extra, cause, around=None):
    """Run renew on one host with ``extra`` (inside the context ``around``, which sets the fault
    up and takes it away): it must fail with ``cause``, files untouched or rolled back, the
    previous certificate served; then the server restarts and a re-run converges."""
    before_files = fleet.checksums(name)
    before_served = fleet.served(name)
    with (around or contextlib.nullcontext)():
        rc, out = fleet.run('pgssl.postgresql.renew', dict(FORCED, **extra), limit=name + '.pgssl.test')
        after_files = fleet.checksums(name)
        served = fleet.served(name)
    restart = fleet.restart_ok(name)
    converged = _converges(fleet, name)
    _row(fault, name, _error_line(out, name), served == before_served, restart, after_files == before_files, converged)
    assert rc != 0 and name in out and cause in out, out[-4000:]
    assert served == before_served and after_files == before_files and restart


def test_pg_hba_made_invalid_before_the_reload(rfleet):
    name = _target(rfleet)
    hba = rfleet.host(name)['hba_file']

    def act(_proc):
        with open(hba, 'a') as handle:
            handle.write('hostssl all all 10.0.0.0/99 scram-sha-256\n')

    _refused(rfleet, 'pg_hba.conf made invalid by someone else before the reload', name, act, 'pg_hba.conf')


def test_server_stopped_between_validation_and_reload(rfleet):
    name = _target(rfleet)

    def act(_proc):
        rfleet.pg.stop(name)

    before_files = rfleet.checksums(name)
    rc, out = _paused(rfleet, name, 'validate', act)
    after_files = rfleet.checksums(name)
    restart = rfleet.restart_ok(name)  # starts it: the files on disk must load
    served = rfleet.served(name)
    converged = _converges(rfleet, name)
    _row(
        'server stopped between validation and reload',
        name,
        _error_line(out, name),
        served is not None,
        restart,
        after_files == before_files,
        converged,
    )
    assert rc != 0 and name in out and 'if it is stopped, start it' in out, out[-4000:]
    assert after_files == before_files and restart and served


@pytest.mark.full
def test_key_replaced_between_status_and_install(rfleet):
    name = _target(rfleet)
    key = os.path.join(rfleet.host(name)['config_dir'], 'ssl', 'server.key')
    original = open(key, 'rb').read()

    def act(_proc):
        from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto

        other = crypto.generate_private_key(crypto.normalize_key_request('ecdsa', curve='P-256'))
        with open(key, 'wb') as handle:  # same file, same owner and mode: another process
            handle.write(crypto.dump_private_key(other))

    def undo():
        with open(key, 'wb') as handle:
            handle.write(original)

    _refused(
        rfleet,
        'the key replaced by another between status and install',
        name,
        act,
        'replaced by another process',
        undo,
        step='status',
    )


@pytest.mark.full
def test_server_down_at_start_others_proceed(rfleet):
    if len(rfleet.names) < 2:
        pytest.fail('needs two hosts')
    down, other = rfleet.names[0], rfleet.names[1]
    other_before = rfleet.served(other)
    rfleet.pg.stop(down)
    before_files = rfleet.checksums(down)
    rc, out = rfleet.run('pgssl.postgresql.site', FORCED)
    after_files = rfleet.checksums(down)
    other_after = rfleet.served(other)
    restart = rfleet.restart_ok(down)
    converged = _converges(rfleet, down)
    _row(
        'server down at start (the other hosts proceed)',
        down,
        _error_line(out, down),
        other_after is not None,
        restart,
        after_files == before_files,
        converged,
    )
    assert rc != 0 and down in out and 'if it is stopped, start it' in out, out[-4000:]
    assert other_after and other_after != other_before  # the others were renewed
    assert after_files == before_files and restart


def test_read_only_ssl_directory(rfleet):
    name = _target(rfleet)
    ssl = os.path.join(rfleet.host(name)['config_dir'], 'ssl')

    @contextlib.contextmanager
    def read_only():
        procs.run(['mount', '--bind', ssl, ssl], check=True, timeout=120)
        procs.run(['mount', '-o', 'remount,ro,bind', ssl], check=True, timeout=120)
        try:
            yield
        finally:
            procs.run(['umount', ssl], check=True, timeout=120)

    _refused_run(rfleet, 'read-only ssl directory', name, {}, 'Read-only file system', read_only)


@pytest.mark.full
def test_ca_node_unreachable(rfleet):
    _refused_run(rfleet, 'CA node unreachable', _target(rfleet), {'pgssl_ca_node': 'ca-offline'}, 'UNREACHABLE')


@pytest.mark.full
def test_alter_system_override_mid_run(rfleet):
    name = _target(rfleet)

    def act(_proc):
        rfleet.pg.psql(name, "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.3'")

    def undo():
        rfleet.pg.psql(name, 'ALTER SYSTEM RESET ssl_min_protocol_version')
        rfleet.pg.psql(name, 'SELECT pg_reload_conf()')

    _refused(rfleet, 'ALTER SYSTEM override appearing mid-run', name, act, 'overrides it', undo)


@pytest.mark.full
def test_clock_skew_makes_the_new_certificate_not_yet_valid(rfleet):
    rfleet.faketime_python()
    _refused_run(
        rfleet,
        'clock skew: the CA node two days ahead, the new certificate not yet valid',
        _target(rfleet),
        {'pgssl_ca_node': 'ca-skewed'},
        'not yet valid',
    )


@pytest.mark.full
def test_broken_ssl_passphrase_command(rfleet):
    extra = {
        'server_key_passphrase': 'reliability-key-passphrase',
        'server_extra_settings': {'ssl_passphrase_command': '/bin/false'},
    }
    _refused_run(
        rfleet,
        'a broken ssl_passphrase_command (the encrypted key cannot be loaded)',
        _target(rfleet),
        extra,
        'did not take the new SSL configuration',
    )


@pytest.mark.full
def test_full_filesystem_under_the_ssl_directory(rfleet):
    name = _target(rfleet)
    ssl = os.path.join(rfleet.host(name)['config_dir'], 'ssl')
    keep = BASE + '-sslcopy'

    @contextlib.contextmanager
    def full():
        procs.run(['rm', '-rf', keep], check=True, timeout=120)
        procs.run(['cp', '-a', ssl, keep], check=True, timeout=120)
        procs.run(['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0750', 'tmpfs', ssl], check=True, timeout=120)
        try:
            procs.run(['cp', '-a', keep + '/.', ssl], check=True, timeout=120)
            # fill what is left
            procs.run(['dd', 'if=/dev/zero', 'of=' + os.path.join(ssl, 'filler'), 'bs=1k'], check=False, timeout=120)
            yield
        finally:
            procs.run(['umount', ssl], check=True, timeout=120)

    _refused_run(
        rfleet,
        'full filesystem under the ssl directory (a 64 KiB tmpfs, filled)',
        name,
        {},
        'No space left on device',
        full,
    )
