# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic writes: a private temporary file beside the target, attributes set on its descriptor,
then a rename; backups; owner/group/mode of an existing file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import stat
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils._files.paths import (
    _CLOEXEC,
    _NOFOLLOW,
    _open_dir,
    _open_file,
    _open_parent,
    _read_fd,
    CRL_LIMIT,
    _split,
    BACKUP_KEEP,
    gap_if_check_mode,
    octal_mode,
    PgsslFileError,
    read_bytes,
    resolve_gid,
    resolve_uid,
    stat_file,
)


# --------------------------------------------------------------------------- writing


def _backup_re(base):
    return re.compile(r'^%s\.\d{8}T\d{12}\.[0-9a-f]{8}~$' % re.escape(base))


def backups_of(path):
    """Backups of ``path`` made by this collection, oldest first."""
    directory, base = _split(path)
    pattern = _backup_re(base)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in sorted(names) if pattern.match(n)]


def _make_backup(dfd, base, path, secret, keep):
    """A private copy of the current file (O_EXCL|O_NOFOLLOW, random name); returns its path or
    None. A secret's copy is never wider than 0600."""
    try:
        src, st = _open_file(dfd, base, path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        data = _read_fd(src, path, CRL_LIMIT)
    finally:
        os.close(src)
    mode = stat.S_IMODE(st.st_mode) & (0o600 if secret else 0o7777)
    for _attempt in range(20):
        now = time.time()
        name = '%s.%s%06d.%s~' % (
            base,
            time.strftime('%Y%m%dT%H%M%S', time.gmtime(now)),
            int((now % 1) * 1000000),
            os.urandom(4).hex(),
        )
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dfd)
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    else:
        raise PgsslFileError('Cannot create a backup of %s.' % path)
    try:
        os.fchmod(fd, 0o600)
        _write_all(fd, data)
        os.fchown(fd, st.st_uid, st.st_gid)
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    _prune(dfd, base, keep)
    return os.path.join(os.path.dirname(os.path.abspath(path)), name)


def _prune(dfd, base, keep):
    pattern = _backup_re(base)
    names = sorted(n for n in os.listdir(dfd) if pattern.match(n))
    for name in names[: max(0, len(names) - keep)]:
        try:
            if stat.S_ISREG(os.lstat(name, dir_fd=dfd).st_mode):
                os.unlink(name, dir_fd=dfd)
        except OSError:
            pass


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def check_writable_only_by_owners(dfd, directory, uid=None, gid=None):
    """Refuse to write into a directory that someone else can change.

    Whoever can write a directory can rename, replace or remove the files in it after this
    module wrote them (a key swapped for their own, a certificate put back). Allowed: writable
    only by root, by the user this runs as, or by the file's future owner (and the group only
    when it is root's, this process's or the file's group); a sticky directory such as /tmp,
    where nobody can move another user's file, is fine for the same reason.
    """
    st = os.fstat(dfd)
    if st.st_mode & stat.S_ISVTX:
        return
    owners = (0, os.geteuid(), uid if uid is not None else 0)
    groups = (0, os.getegid(), gid if gid is not None else 0)
    if st.st_uid not in owners:
        raise PgsslFileError(
            'Refusing to write in %s: the directory belongs to uid %d, who could replace the '
            'file afterwards. Use a directory owned by root or by the file\'s owner.' % (directory, st.st_uid)
        )
    if st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and st.st_gid not in groups):
        raise PgsslFileError(
            'Refusing to write in %s: the directory is writable by %s (mode %04o), who could '
            'replace the file afterwards. Remove that write permission (or set the sticky bit).'
            % (directory, 'everyone' if st.st_mode & stat.S_IWOTH else 'group %d' % st.st_gid, stat.S_IMODE(st.st_mode))
        )


def stage(path, data, mode=None, uid=None, gid=None):
    """Write ``data`` to a new private temporary file beside ``path`` (O_EXCL|O_NOFOLLOW, 0600
    until owner, group and mode are set on the descriptor). Returns its name, for commit() or
    discard()."""
    directory, base = _split(path)
    dfd = _open_dir(directory)
    tmp = fd = None
    try:
        check_writable_only_by_owners(dfd, directory, uid, gid)
        for _attempt in range(100):
            candidate = '.%s.%s.tmp' % (base, os.urandom(6).hex())
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dfd)
                tmp = candidate
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise PgsslFileError('Cannot create a file in %s: %s' % (directory, exc.strerror))
        if fd is None:
            raise PgsslFileError('Cannot create a temporary file in %s.' % directory)
        os.fchmod(fd, 0o600)
        _write_all(fd, data)
        os.fsync(fd)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        if mode is not None:
            os.fchmod(fd, mode)
        os.close(fd)
        fd = None
        done, tmp = tmp, None
        return done
    except OSError as exc:
        raise PgsslFileError('Cannot write %s: %s' % (path, exc.strerror))
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
        os.close(dfd)


def commit(path, tmp, backup=False, secret=False, keep=BACKUP_KEEP):
    """Rename a staged file over ``path`` (never over a directory). Returns the backup path."""
    directory, base = _split(path)
    dfd = _open_dir(directory)
    try:
        try:
            if stat.S_ISDIR(os.lstat(base, dir_fd=dfd).st_mode):
                raise PgsslFileError('Refusing %s: it is a directory.' % path)
        except OSError:
            pass
        saved = _make_backup(dfd, base, path, secret, keep) if backup else None
        os.rename(tmp, base, src_dir_fd=dfd, dst_dir_fd=dfd)
        try:
            os.fsync(dfd)
        except OSError:
            pass
        return saved
    except OSError as exc:
        raise PgsslFileError('Cannot write %s: %s' % (path, exc.strerror))
    finally:
        os.close(dfd)


def discard(path, tmp):
    directory = _split(path)[0]
    dfd = _open_dir(directory)
    try:
        os.unlink(tmp, dir_fd=dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def remove(path, directory=False):
    """Remove what is at ``path``: a file or a link itself (never its target), or with
    ``directory`` an empty directory. True when removed, False when nothing was there."""
    dfd, base = _open_parent(path)
    if dfd is None:
        return False
    try:
        if directory:
            os.rmdir(base, dir_fd=dfd)
        else:
            if stat.S_ISDIR(os.lstat(base, dir_fd=dfd).st_mode):
                raise PgsslFileError('Refusing to remove %s: it is a directory.' % path)
            os.unlink(base, dir_fd=dfd)
        return True
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise PgsslFileError('Cannot remove %s: %s' % (path, exc.strerror))
    finally:
        os.close(dfd)


def write_atomic(path, data, mode=None, uid=None, gid=None, backup=False, secret=False, keep=BACKUP_KEEP):
    """Write ``data`` to ``path`` atomically. Returns the backup path (or None)."""
    tmp = stage(path, data, mode, uid, gid)
    try:
        saved = commit(path, tmp, backup, secret, keep)
        tmp = None
        return saved
    finally:
        if tmp is not None:
            discard(path, tmp)


def _file_args(module, path):
    args = module.load_file_common_arguments(module.params, path=path)
    return (
        octal_mode(args.get('mode')),
        args.get('mode'),
        resolve_uid(args.get('owner')),
        resolve_gid(args.get('group')),
    )


def write_file(module, path, data, secret=False, backup=False):
    """Write ``data`` with the module's file arguments; owner/group/mode set before the rename.

    Secret files default to mode 0600. Returns the backup path or None.
    """
    mode, given, uid, gid = _file_args(module, path)
    if given is not None and mode is None:
        raise PgsslFileError('mode must be octal (for example "0600"), not %r.' % (given,))
    if mode is None:
        mode = 0o600 if secret else 0o644
    return write_atomic(path, data, mode=mode, uid=uid, gid=gid, backup=backup, secret=secret)


def apply_attributes(module, path, changed, diff=None, secret=False):
    """Make owner/group/mode of an existing file match, on its descriptor (a symlink at the name
    is refused, never followed); honours check mode. Returns the new ``changed``."""
    mode, given, uid, gid = _file_args(module, path)
    if given is not None and mode is None:
        raise PgsslFileError('mode must be octal (for example "0600"), not %r.' % (given,))
    if mode is None and secret:
        mode = 0o600
    directory, base = _split(path)
    dfd = _open_dir(directory)
    try:
        try:
            fd, st = _open_file(dfd, base, path)
        except OSError as exc:
            raise PgsslFileError('Cannot open %s: %s' % (path, exc.strerror))
        try:
            current = stat.S_IMODE(st.st_mode)
            want_uid = st.st_uid if uid is None else uid
            want_gid = st.st_gid if gid is None else gid
            want_mode = current if mode is None else mode
            if (want_uid, want_gid, want_mode) == (st.st_uid, st.st_gid, current):
                return changed
            if diff is not None:
                diff.setdefault('before', {}).update({'owner': st.st_uid, 'group': st.st_gid, 'mode': '%04o' % current})
                diff.setdefault('after', {}).update({'owner': want_uid, 'group': want_gid, 'mode': '%04o' % want_mode})
            if not module.check_mode:
                if (want_uid, want_gid) != (st.st_uid, st.st_gid):
                    # narrow the mode first, so a new owner never sees a wider file
                    os.fchmod(fd, current & want_mode)
                    os.fchown(fd, want_uid, want_gid)
                os.fchmod(fd, want_mode)
            return True
        finally:
            os.close(fd)
    finally:
        os.close(dfd)


def read_input(path, content, what, required=True, secret=False):
    """Bytes of an input given as a file path or as content; a clear error when missing."""
    if content is not None and content != '':
        return content.encode('utf-8') if not isinstance(content, bytes) else content
    if path:
        data = read_bytes(path, what, secret=secret)
        if data is None:
            gap_if_check_mode('the %s %s does not exist yet' % (what, path))
            raise PgsslFileError('The %s %s does not exist.' % (what, path))
        return data
    if required:
        raise PgsslFileError('Give the %s as a path or as content.' % what)
    return None


def rewrite_file(module, path, data, backup=False, own_attributes=False):
    """Atomically replace an existing config file, keeping its owner and mode unless the task
    sets owner, group or mode (and ``own_attributes`` is false). Returns the backup path or
    None."""
    st = stat_file(path)
    if st is None or not stat.S_ISREG(st.st_mode):
        raise PgsslFileError('Refusing %s: it is not a regular file.' % path)
    mode = uid = gid = None
    if not own_attributes:
        mode, _given, uid, gid = _file_args(module, path)
    return write_atomic(
        path,
        data,
        mode=mode if mode is not None else st.st_mode & 0o7777,
        uid=st.st_uid if uid is None else uid,
        gid=st.st_gid if gid is None else gid,
        backup=backup,
    )


def converge(module, path, data, changed, secret=False, backup=False, result=None):
    """The last step of every core that writes one file: ``data`` is written when ``changed``
    (not in check mode), then owner, group and mode are made to match (also when nothing else
    changed). Returns the new ``changed``; the path of a backup goes to ``result['backup_file']``.
    """
    if changed and not module.check_mode:
        saved = write_file(module, path, data, secret=secret, backup=backup)
        if saved and result is not None:
            result['backup_file'] = saved
    if not changed or not module.check_mode:
        changed = apply_attributes(module, path, changed, secret=secret)
    return changed
