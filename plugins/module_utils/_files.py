# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secure atomic file writes, ownership/mode, backups.

A new file is created with O_CREAT|O_EXCL and mode 0600 in the destination directory, so it is
private from its first byte whatever the umask; owner, group and an octal mode are applied to the
open descriptor, and only then is it renamed over the destination. The old file can be kept as a
backup (a hard link, so it keeps its own owner and mode).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import shutil
import time


class PgsslFileError(Exception):
    pass


def read_bytes(path, what='file'):
    """Contents of ``path``, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise PgsslFileError('Cannot read %s %s: %s' % (what, path, exc.strerror))


def check_directory(path):
    directory = os.path.dirname(os.path.abspath(path)) or '.'
    if not os.path.isdir(directory):
        raise PgsslFileError('The directory %s does not exist; create it first (for example with '
                             'ansible.builtin.file state=directory).' % directory)
    return directory


def resolve_uid(owner):
    if owner is None or owner == '':
        return None
    try:
        return int(owner)
    except ValueError:
        pass
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise PgsslFileError('Unknown user %r.' % owner)


def resolve_gid(group):
    if group is None or group == '':
        return None
    try:
        return int(group)
    except ValueError:
        pass
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise PgsslFileError('Unknown group %r.' % group)


def octal_mode(mode):
    """An int for an octal mode given as int or string ('0600', '600'); None otherwise."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode
    text = str(mode)
    if text.isdigit():
        try:
            return int(text, 8)
        except ValueError:
            return None
    return None


def backup_path(path):
    return '%s.%d.%s~' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S'))


def make_backup(path):
    """Keep the current file beside it; returns the backup path or None."""
    if not os.path.exists(path):
        return None
    dest = backup_path(path)
    try:
        os.link(path, dest)
    except OSError:
        shutil.copy2(path, dest)
    return dest


def write_atomic(path, data, mode=None, uid=None, gid=None, backup=False):
    """Write ``data`` to ``path`` atomically. Returns the backup path (or None)."""
    directory = check_directory(path)
    base = os.path.basename(path)
    tmp = None
    fd = None
    for attempt in range(100):
        candidate = os.path.join(directory, '.%s.%s.tmp' % (base, os.urandom(6).hex()))
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0),
                         0o600)
            tmp = candidate
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise PgsslFileError('Cannot create a file in %s: %s' % (directory, exc.strerror))
    if fd is None:
        raise PgsslFileError('Cannot create a temporary file in %s.' % directory)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        if mode is not None:
            os.fchmod(fd, mode)
        os.close(fd)
        fd = None
        saved = make_backup(path) if backup else None
        os.rename(tmp, path)
        tmp = None
        try:
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        return saved
    except OSError as exc:
        raise PgsslFileError('Cannot write %s: %s' % (path, exc.strerror))
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_file(module, path, data, secret=False, backup=False):
    """Write ``data`` with the module's file arguments; owner/group/mode set before the rename.

    Secret files default to mode 0600. Returns the backup path or None.
    """
    file_args = module.load_file_common_arguments(module.params, path=path)
    mode = octal_mode(file_args.get('mode'))
    if mode is None and file_args.get('mode') is None:
        mode = 0o600 if secret else 0o644
    uid = resolve_uid(file_args.get('owner'))
    gid = resolve_gid(file_args.get('group'))
    return write_atomic(path, data, mode=mode, uid=uid, gid=gid, backup=backup)


def apply_attributes(module, path, changed, diff=None, secret=False):
    """Make owner/group/mode of an existing file match; honours check mode."""
    file_args = module.load_file_common_arguments(module.params, path=path)
    if file_args.get('mode') is None:
        file_args['mode'] = '0600' if secret else None
    return module.set_fs_attributes_if_different(file_args, changed, diff=diff)


def read_input(path, content, what, required=True):
    """Bytes of an input given as a file path or as content; a clear error when missing."""
    if content is not None and content != '':
        return content.encode('utf-8') if not isinstance(content, bytes) else content
    if path:
        data = read_bytes(path, what)
        if data is None:
            raise PgsslFileError('The %s %s does not exist.' % (what, path))
        return data
    if required:
        raise PgsslFileError('Give the %s as a path or as content.' % what)
    return None


def rewrite_file(module, path, data, backup=False, own_attributes=False):
    """Atomically replace an existing config file, keeping its owner and mode unless the task
    sets owner, group or mode (and ``own_attributes`` is false). Returns the backup path or
    None."""
    st = os.stat(path)
    mode = uid = gid = None
    if not own_attributes:
        file_args = module.load_file_common_arguments(module.params, path=path)
        mode = octal_mode(file_args.get('mode'))
        uid = resolve_uid(file_args.get('owner'))
        gid = resolve_gid(file_args.get('group'))
    return write_atomic(path, data, mode=mode if mode is not None else st.st_mode & 0o7777,
                        uid=st.st_uid if uid is None else uid,
                        gid=st.st_gid if gid is None else gid, backup=backup)
