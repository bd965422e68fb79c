# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Patroni process of a member, found and signalled as Patroni's own user: the processes of
this user started with a given patroni.yml (same file by device and inode), the TLS variables
of their environment (which win over the file), and the SIGHUP that reloads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni

PatroniTlsError = patroni.PatroniTlsError
# Patroni's environment wins over its file, key by key
ENV_KEYS = (
    'PATRONI_RESTAPI_CERTFILE',
    'PATRONI_RESTAPI_KEYFILE',
    'PATRONI_RESTAPI_CAFILE',
    'PATRONI_RESTAPI_VERIFY_CLIENT',
    'PATRONI_CTL_CERTFILE',
    'PATRONI_CTL_KEYFILE',
    'PATRONI_CTL_CACERT',
)
MAX_CMDLINE = 64 << 10


def _read_proc(pid, name, limit=MAX_CMDLINE):
    try:
        fd = os.open('/proc/%d/%s' % (pid, name), os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def patroni_pids(config_file):
    """The processes of this user that run Patroni with ``config_file`` (same file, by device and
    inode, relative arguments taken from the process's working directory)."""
    try:
        target = os.stat(config_file)
    except OSError:
        return []
    uid = os.geteuid()
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if os.stat('/proc/%d' % pid).st_uid != uid:
                continue
        except OSError:
            continue
        raw = _read_proc(pid, 'cmdline')
        if not raw:
            continue
        argv = [a.decode('utf-8', 'replace') for a in raw.split(b'\0') if a]
        if not any('patroni' in os.path.basename(a) for a in argv[:2]):
            continue
        try:
            cwd = os.readlink('/proc/%d/cwd' % pid)
        except OSError:
            cwd = '/'
        for arg in argv[1:]:
            path = arg if os.path.isabs(arg) else os.path.join(cwd, arg)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                found.append(pid)
                break
    return found


def environment_overrides(pids):
    out = set()
    for pid in pids:
        raw = _read_proc(pid, 'environ', 1 << 20) or b''
        for item in raw.split(b'\0'):
            key = item.partition(b'=')[0].decode('ascii', 'replace')
            if key in ENV_KEYS:
                out.add(key)
    return sorted(out)


def signal_reload(plan, config_file):
    pids = patroni_pids(config_file)
    if not pids:
        raise PatroniTlsError(
            'No Patroni process of this user runs with %s: start Patroni (this module changes a running '
            'member only).' % config_file,
            'patroni_not_running',
        )
    for pid in pids:
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError:
            pass
    return pids
