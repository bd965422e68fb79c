# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One snapshot of every file a TLS change may touch, and its exact restore.

A snapshot records, for each path, whether it existed and, if so, its bytes, owner, group and
mode. It lives in a root-only directory (0700, reached without following links), one file per
path (0600) plus a JSON index. Restoring puts back exactly that: content, owner, group and mode
for files that existed, and removes files that did not. Every replacement is staged first (a
private temporary file beside its target), and the renames happen last, back to back, so a key
and its certificate change together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import re
import stat
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files

_ID = re.compile(r'^[A-Za-z0-9_.-]{1,100}$')


def check_id(snapshot_id):
    if not _ID.match(snapshot_id or '') or snapshot_id in ('.', '..'):
        raise files.PgsslFileError('Invalid snapshot id %r (letters, digits, ".", "_", "-").' % (snapshot_id,))


def _ensure_private_dir(path):
    """Create ``path`` (and missing parents) as root-only directories; refuse one that others
    can reach or that is not owned by this user."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    if parent != path and files.stat_file(parent) is None:
        _ensure_private_dir(parent)
    st = files.stat_file(path)
    if st is None:
        dfd = files._open_dir(parent)
        try:
            os.mkdir(os.path.basename(path), 0o700, dir_fd=dfd)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise files.PgsslFileError('Cannot create %s: %s' % (path, exc.strerror))
        finally:
            os.close(dfd)
        st = files.stat_file(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise files.PgsslFileError(
            'Refusing the snapshot directory %s: it is not a directory owned by uid %d.' % (path, os.geteuid())
        )


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def describe(path, strict=True):
    """{'existed', 'sha256', 'uid', 'gid', 'mode'} of a path now (read without following).
    Something else than a regular file is refused, or, with ``strict`` off, described as
    ``{'existed': True, 'sha256': None}`` (so it differs from any recorded file)."""
    st = files.stat_file(path)
    if st is None:
        return {'path': path, 'existed': False}
    if not stat.S_ISREG(st.st_mode):
        if not strict:
            return {'path': path, 'existed': True, 'sha256': None, 'uid': st.st_uid, 'gid': st.st_gid, 'mode': None}
        raise files.PgsslFileError('Refusing %s: it is not a regular file.' % path)
    data = files.read_bytes(path, 'file')
    return {
        'path': path,
        'existed': True,
        'sha256': _digest(data),
        'uid': st.st_uid,
        'gid': st.st_gid,
        'mode': stat.S_IMODE(st.st_mode),
    }, data


def save(base_dir, snapshot_id, paths):
    """Record ``paths``; returns the index (a list of entries, without contents)."""
    check_id(snapshot_id)
    _ensure_private_dir(base_dir)
    target = os.path.join(base_dir, snapshot_id)
    if files.stat_file(target) is not None:
        raise files.PgsslFileError('The snapshot %s exists already.' % target)
    _ensure_private_dir(target)
    index = []
    seen = set()
    for number, path in enumerate(paths):
        path = os.path.abspath(path)
        if path in seen:
            continue
        seen.add(path)
        got = describe(path)
        if isinstance(got, tuple):
            entry, data = got
            entry['data'] = '%d.data' % number
            files.write_atomic(os.path.join(target, entry['data']), data, mode=0o600)
        else:
            entry = got
        index.append(entry)
    files.write_atomic(
        os.path.join(target, 'index.json'), json.dumps(index, indent=1, sort_keys=True).encode('utf-8'), mode=0o600
    )
    return [dict((k, v) for k, v in entry.items() if k != 'data') for entry in index]


def load(base_dir, snapshot_id):
    check_id(snapshot_id)
    target = os.path.join(base_dir, snapshot_id)
    raw = files.read_bytes(os.path.join(target, 'index.json'), 'snapshot index', secret=True)
    if raw is None:
        raise files.PgsslFileError('No snapshot %s.' % target)
    return target, json.loads(raw.decode('utf-8'))


def differences(base_dir, snapshot_id):
    """[(entry, what differs now)] for every path that is not as recorded."""
    _target, index = load(base_dir, snapshot_id)
    out = []
    for entry in index:
        now = describe(entry['path'], strict=False)
        now = now[0] if isinstance(now, tuple) else now
        if not entry['existed']:
            if now['existed']:
                out.append((entry, 'exists now'))
            continue
        if not now['existed']:
            out.append((entry, 'missing now'))
            continue
        diffs = [k for k in ('sha256', 'uid', 'gid', 'mode') if now[k] != entry[k]]
        if diffs:
            out.append((entry, ', '.join(diffs) + ' changed'))
    return out


def restore(base_dir, snapshot_id, check_mode=False):
    """Put every recorded path back exactly. Returns (restored paths, removed paths)."""
    target, index = load(base_dir, snapshot_id)
    todo = differences(base_dir, snapshot_id)
    restored = [e['path'] for e, _w in todo if e['existed']]
    removed = [e['path'] for e, _w in todo if not e['existed']]
    if check_mode or not todo:
        return restored, removed
    staged = []
    try:
        for entry, _what in todo:
            if not entry['existed']:
                continue
            data = files.read_bytes(os.path.join(target, entry['data']), 'snapshot copy', secret=True)
            if data is None or _digest(data) != entry['sha256']:
                raise files.PgsslFileError('The snapshot copy of %s is missing or damaged.' % entry['path'])
            staged.append((entry['path'], files.stage(entry['path'], data, entry['mode'], entry['uid'], entry['gid'])))
        # renames last, back to back: the key and its certificate change together
        for path, handle in staged:
            files.commit(path, handle)
        staged = []
    finally:
        for path, handle in staged:
            files.discard(path, handle)
    for path in removed:
        files.remove(path)
    return restored, removed


def drop(base_dir, snapshot_id):
    """Remove a snapshot. Returns True when one was there."""
    check_id(snapshot_id)
    target = os.path.join(base_dir, snapshot_id)
    if files.stat_file(target) is None:
        return False
    dfd = files._open_dir(target)
    try:
        for name in os.listdir(dfd):
            os.unlink(name, dir_fd=dfd)
    finally:
        os.close(dfd)
    parent = files._open_dir(base_dir)
    try:
        os.rmdir(snapshot_id, dir_fd=parent)
    finally:
        os.close(parent)
    return True


def prune(base_dir, keep, current):
    """Drop the oldest snapshots beyond ``keep`` (``current`` counts as one and stays)."""
    try:
        names = sorted(n for n in os.listdir(base_dir) if n != current)
    except OSError:
        return
    for name in names[: max(0, len(names) - max(keep - 1, 0))]:
        try:
            drop(base_dir, name)
        except (files.PgsslFileError, OSError):
            pass


def new_id():
    """A fresh snapshot id: the time (sortable) and 8 random hex digits."""
    return '%s-%s' % (time.strftime('%Y%m%dT%H%M%S', time.gmtime()), os.urandom(4).hex())
