# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every process a test or the harness starts goes through here, and every one has a deadline.

``run`` is ``subprocess.run`` with a default timeout. The child runs in its own session (and
is killed when the test process dies), so on a timeout the whole process group is killed (an
ansible-playbook and the modules it forked, a ``runuser`` and the command under it), and the
failure names the command, where it ran and the last output it printed. ``spawn`` starts a
background process the same way, and ``stop`` ends it within a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

DEFAULT_TIMEOUT = float(os.environ.get('PGSSL_CMD_TIMEOUT', '300'))


class CommandTimeout(AssertionError):
    """A command outlived its deadline (an AssertionError, so a test reports it as a failure)."""


try:
    import ctypes

    # loaded now: a child that has dropped to another user (Popen's user=) may no longer read
    # the interpreter's library directory when its preexec_fn runs
    _PRCTL = ctypes.CDLL('libc.so.6', use_errno=True).prctl
except (ImportError, OSError, AttributeError):  # pragma: no cover
    _PRCTL = None


def _die_with_parent():
    """In the child, before exec: SIGKILL when the process that started it dies, so a test run
    killed halfway does not leave its commands running in their own sessions."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _describe(cmd):
    if isinstance(cmd, str):
        return cmd
    return ' '.join(str(part) for part in cmd)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(data, limit=2000):
    if not data:
        return ''
    if isinstance(data, bytes):
        data = data.decode('utf-8', 'replace')
    return data[-limit:]


def run(cmd, timeout=DEFAULT_TIMEOUT, input=None, check=False, capture_output=True, text=True, cwd='/', **kwargs):
    """``subprocess.run`` with a deadline: CommandTimeout after ``timeout`` seconds, the
    child's whole process group killed. ``check=True`` raises CalledProcessError as usual."""
    if timeout is None or timeout <= 0:
        raise ValueError('every command needs a deadline')
    if capture_output:
        kwargs.setdefault('stdout', subprocess.PIPE)
        kwargs.setdefault('stderr', subprocess.PIPE)
    if input is not None:
        kwargs['stdin'] = subprocess.PIPE
    else:
        kwargs.setdefault('stdin', subprocess.DEVNULL)
    proc = subprocess.Popen(cmd, text=text, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = None, None
        raise CommandTimeout(
            'command timed out after %g s (cwd %s): %s\n--- last stdout ---\n%s\n--- last stderr ---\n%s'
            % (timeout, cwd, _describe(cmd), _tail(out), _tail(err))
        )
    except BaseException:
        # KeyboardInterrupt or a pytest-timeout alarm: the child must not outlive the test
        _kill_group(proc)
        proc.wait(timeout=10)
        raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        result.check_returncode()
    return result


def spawn(cmd, cwd='/', **kwargs):
    """A background process in its own session; end it with ``stop``."""
    kwargs.setdefault('stdin', subprocess.DEVNULL)
    return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)


def stop(proc, timeout=30):
    """End a ``spawn``-ed process: wait up to ``timeout`` seconds for it to end by itself, then
    SIGTERM its group, then SIGKILL. Returns its exit status."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            return proc.wait(timeout=timeout if sig is None else 10)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait(timeout=10)


def wait(proc, timeout=DEFAULT_TIMEOUT):
    """Wait for a ``spawn``-ed process; CommandTimeout (and the group killed) past ``timeout``."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait(timeout=10)
        raise CommandTimeout('command timed out after %g s: %s' % (timeout, _describe(proc.args)))


def gone(pid, timeout=10):
    """True once no process ``pid`` is left (polled for at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
