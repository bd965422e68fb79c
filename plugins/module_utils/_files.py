# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secure file reads and atomic writes, ownership/mode, backups.

Everything works on descriptors. The directory of a file is reached by walking its path one
component at a time with O_NOFOLLOW (a symbolic link is followed only when root owns it, so the
system's own links such as /var/run still work, while a link planted by another user is
refused). Files are then opened relative to that directory descriptor with O_NOFOLLOW, so a
symlink planted at the file's name is never followed, neither for reading nor for writing.

A new file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600 in the destination directory,
so it is private from its first byte whatever the umask. Owner, group and the final mode are
applied to the open descriptor, and only then is it renamed over the destination. A backup is a
new private copy, created the same way with a random name, and never wider than 0600 for a
secret. Only the newest ``keep`` backups of a file are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import re
import stat
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

BACKUP_KEEP = 3
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)


class PgsslFileError(PgsslError):
    pass


class CheckModeGap(Exception):
    """In check mode, an input that an earlier task of the same run would have created (a
    directory, a key, a CSR) does not exist yet: the task would change something, and what
    exactly cannot be computed before that input exists."""


# Set by _module.execute for a module that runs in check mode.
CHECK_MODE = [False]


def gap_if_check_mode(what):
    if CHECK_MODE[0]:
        raise CheckModeGap(what)


# --------------------------------------------------------------------------- directories

def _open_dir(path):
    """A descriptor of directory ``path``, reached without following a symlink that root does
    not own. Raises PgsslFileError (ENOENT kept in ``errno`` for a missing directory)."""
    path = os.path.abspath(path)
    parts = [p for p in path.split('/') if p]
    fd = os.open('/', os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    hops = 0
    try:
        while parts:
            name = parts.pop(0)
            if name == '.':
                continue
            try:
                nxt = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.lstat(name, dir_fd=fd)
                    if stat.S_ISLNK(st.st_mode) and st.st_uid == 0 and hops < 40:
                        # a link root made: follow it (the system's own /var/run and the like)
                        target = os.readlink(name, dir_fd=fd)
                        hops += 1
                        parts = [p for p in target.split('/') if p] + parts
                        if target.startswith('/'):
                            os.close(fd)
                            fd = os.open('/', os.O_RDONLY | _DIRECTORY | _CLOEXEC)
                        continue
                    if stat.S_ISLNK(st.st_mode):
                        raise PgsslFileError(
                            'Refusing %s: the path component %s is a symbolic link owned by '
                            'uid %d, not by root.' % (path, name, st.st_uid))
                    raise PgsslFileError('%s: the path component %s is not a directory.'
                                         % (path, name))
                if exc.errno == errno.ENOENT:
                    err = PgsslFileError('The directory %s does not exist; create it first (for '
                                         'example with ansible.builtin.file state=directory).'
                                         % path)
                    err.errno = errno.ENOENT
                    raise err
                raise PgsslFileError('Cannot open the directory %s: %s' % (path, exc.strerror))
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def check_directory(path):
    """The directory of ``path``; a clear error when it is missing or reached through a link
    that root does not own."""
    directory = os.path.dirname(os.path.abspath(path)) or '/'
    try:
        os.close(_open_dir(directory))
    except PgsslFileError as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            gap_if_check_mode('the directory %s does not exist yet' % directory)
        raise
    return directory


def base_name(path):
    return os.path.basename(os.path.abspath(path))


def _split(path):
    path = os.path.abspath(path)
    return os.path.dirname(path) or '/', os.path.basename(path)


# --------------------------------------------------------------------------- reading

def _open_file(dfd, base, path):
    try:
        fd = os.open(base, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, dir_fd=dfd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PgsslFileError('Refusing %s: it is a symbolic link (never followed).' % path)
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise PgsslFileError('Refusing %s: it is not a regular file.' % path)
    return fd, st


def _read_fd(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks)


def _open_parent(path):
    """(descriptor of the directory of ``path``, base name), or (None, base) when that
    directory does not exist."""
    directory, base = _split(path)
    try:
        return _open_dir(directory), base
    except PgsslFileError as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return None, base
        raise


def stat_file(path):
    """lstat-like facts of ``path`` reached safely, or None when it does not exist."""
    dfd, base = _open_parent(path)
    if dfd is None:
        return None
    try:
        return os.lstat(base, dir_fd=dfd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise PgsslFileError('Cannot stat %s: %s' % (path, exc.strerror))
    finally:
        os.close(dfd)


def read_bytes(path, what='file', secret=False, owners=None):
    """Contents of ``path``, or None when it does not exist.

    A symlink at the name is refused, and so is anything but a regular file. For a secret, a
    file with other hard links or owned by someone other than root, this process's user or
    ``owners`` (uids) is refused too: such a file may be a link to another user's key.
    """
    dfd, base = _open_parent(path)
    if dfd is None:
        return None
    try:
        try:
            fd, st = _open_file(dfd, base, path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise PgsslFileError('Cannot read %s %s: %s' % (what, path, exc.strerror))
        try:
            if secret:
                _check_secret(st, path, what, owners)
            return _read_fd(fd)
        finally:
            os.close(fd)
    finally:
        os.close(dfd)


def _check_secret(st, path, what, owners):
    allowed = set([0, os.geteuid()]) | set(u for u in (owners or []) if u is not None)
    if st.st_uid not in allowed:
        raise PgsslFileError('Refusing the %s %s: it is owned by uid %d, not by root or the '
                             'expected owner.' % (what, path, st.st_uid))
    if st.st_nlink > 1:
        raise PgsslFileError('Refusing the %s %s: it has %d hard links (it may be another '
                             'file under a second name).' % (what, path, st.st_nlink))


# --------------------------------------------------------------------------- owners and modes

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
        data = _read_fd(src)
    finally:
        os.close(src)
    mode = stat.S_IMODE(st.st_mode) & (0o600 if secret else 0o7777)
    for _attempt in range(20):
        now = time.time()
        name = '%s.%s%06d.%s~' % (base, time.strftime('%Y%m%dT%H%M%S', time.gmtime(now)),
                                  int((now % 1) * 1000000), os.urandom(4).hex())
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                         0o600, dir_fd=dfd)
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
    for name in names[:max(0, len(names) - keep)]:
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
            'file afterwards. Use a directory owned by root or by the file\'s owner.'
            % (directory, st.st_uid))
    if st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and st.st_gid not in groups):
        raise PgsslFileError(
            'Refusing to write in %s: the directory is writable by %s (mode %04o), who could '
            'replace the file afterwards. Remove that write permission (or set the sticky bit).'
            % (directory, 'everyone' if st.st_mode & stat.S_IWOTH else 'group %d' % st.st_gid,
               stat.S_IMODE(st.st_mode)))


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
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW |
                             _CLOEXEC, 0o600, dir_fd=dfd)
                tmp = candidate
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise PgsslFileError('Cannot create a file in %s: %s'
                                         % (directory, exc.strerror))
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


def write_atomic(path, data, mode=None, uid=None, gid=None, backup=False, secret=False,
                 keep=BACKUP_KEEP):
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
    return (octal_mode(args.get('mode')), args.get('mode'), resolve_uid(args.get('owner')),
            resolve_gid(args.get('group')))


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
                diff.setdefault('before', {}).update(
                    {'owner': st.st_uid, 'group': st.st_gid, 'mode': '%04o' % current})
                diff.setdefault('after', {}).update(
                    {'owner': want_uid, 'group': want_gid, 'mode': '%04o' % want_mode})
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
    return write_atomic(path, data, mode=mode if mode is not None else st.st_mode & 0o7777,
                        uid=st.st_uid if uid is None else uid,
                        gid=st.st_gid if gid is None else gid, backup=backup)


# --------------------------------------------------------------------------- directories and moves

def make_dir(path, mode=0o700):
    """Create directory ``path`` (its parent must exist) with ``mode``; True when it was made.
    A link or a file at the name is refused; an existing directory is kept as it is."""
    dfd, base = _open_parent(path)
    if dfd is None:
        raise PgsslFileError('The directory %s does not exist; create it first.'
                             % os.path.dirname(os.path.abspath(path)))
    try:
        try:
            os.mkdir(base, mode, dir_fd=dfd)
            made = True
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise PgsslFileError('Cannot create the directory %s: %s' % (path, exc.strerror))
            made = False
        st = os.lstat(base, dir_fd=dfd)
        if not stat.S_ISDIR(st.st_mode):
            raise PgsslFileError('Refusing %s: it is not a directory (a link or a file is in '
                                 'its place).' % path)
        if made:
            fd = os.open(base, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        return made
    finally:
        os.close(dfd)


def make_dirs(path, mode, check_mode=False):
    """The missing directories up to ``path`` (each with ``mode``); an existing one is left as it
    is. Returns the paths made (or that would be), outermost first."""
    missing = []
    while stat_file(path) is None and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    missing.reverse()
    if not check_mode:
        for directory in missing:
            make_dir(directory, mode)
    return missing


def list_dir(path):
    """Names in directory ``path`` (reached as _open_dir does); [] when it does not exist."""
    try:
        fd = _open_dir(path)
    except PgsslFileError as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return []
        raise
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def move(src, dst):
    """Rename the regular file ``src`` over ``dst`` (atomic on one filesystem); neither name may
    be a link. False when ``src`` is not there."""
    sfd, sbase = _open_parent(src)
    if sfd is None:
        return False
    try:
        try:
            st = os.lstat(sbase, dir_fd=sfd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise PgsslFileError('Cannot stat %s: %s' % (src, exc.strerror))
        if not stat.S_ISREG(st.st_mode):
            raise PgsslFileError('Refusing %s: it is not a regular file.' % src)
        dfd, dbase = _open_parent(dst)
        if dfd is None:
            raise PgsslFileError('The directory of %s does not exist.' % dst)
        try:
            try:
                if not stat.S_ISREG(os.lstat(dbase, dir_fd=dfd).st_mode):
                    raise PgsslFileError('Refusing %s: it is not a regular file.' % dst)
            except OSError:
                pass
            os.rename(sbase, dbase, src_dir_fd=sfd, dst_dir_fd=dfd)
            os.fsync(dfd)
            return True
        except OSError as exc:
            raise PgsslFileError('Cannot move %s to %s: %s' % (src, dst, exc.strerror))
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def ensure_dir(path, mode, uid=None, gid=None, check_mode=False):
    """Directory ``path`` with ``mode`` and owner/group (its parent must exist): made when
    missing, its attributes set when they differ. A link or a file at the name is refused.
    Returns True when something changed (or would)."""
    dfd, base = _open_parent(path)
    if dfd is None:
        raise PgsslFileError('The directory %s does not exist; create it first.'
                             % os.path.dirname(os.path.abspath(path)))
    try:
        try:
            st = os.lstat(base, dir_fd=dfd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise PgsslFileError('Cannot stat %s: %s' % (path, exc.strerror))
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise PgsslFileError('Refusing %s: it is not a directory (a link or a file is in '
                                 'its place).' % path)
        if check_mode:
            return st is None or (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (
                mode, st.st_uid if uid is None else uid, st.st_gid if gid is None else gid)
        made = False
        if st is None:
            try:
                os.mkdir(base, 0o700, dir_fd=dfd)
                made = True
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise PgsslFileError('Cannot create the directory %s: %s'
                                         % (path, exc.strerror))
        fd = os.open(base, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
        try:
            st = os.fstat(fd)
            want = (mode, st.st_uid if uid is None else uid, st.st_gid if gid is None else gid)
            if (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == want:
                return made
            # narrow first, so a new owner never sees a wider directory
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & mode)
            os.fchown(fd, want[1], want[2])
            os.fchmod(fd, mode)
            return True
        finally:
            os.close(fd)
    finally:
        os.close(dfd)
