# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reaching files safely: the directory walk without planted links, reads of regular files
only, and owners, groups and modes by name or number."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import stat

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
                            'uid %d, not by root.' % (path, name, st.st_uid)
                        )
                    raise PgsslFileError('%s: the path component %s is not a directory.' % (path, name))
                if exc.errno == errno.ENOENT:
                    err = PgsslFileError(
                        'The directory %s does not exist; create it first (for '
                        'example with ansible.builtin.file state=directory).' % path
                    )
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


# Size caps of the files root reads: a file someone else can write may be a huge sparse file.
READ_LIMIT = 16 << 20  # configuration files, certificates, bundles, keys
CRL_LIMIT = 64 << 20  # a corporate CRL can be large
LINK_HOPS = 8


def _foreign_writable(dfd):
    """Can someone other than root change the names in the directory open at ``dfd``?"""
    st = os.fstat(dfd)
    return st.st_uid != 0 or bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _link_target(dfd, base, path):
    """The target of the symbolic link ``base`` in the directory ``dfd``, if only root could have
    put it there (root owns it, or root alone can write the directory). Owner and target come
    from the link itself, opened once, so it cannot be swapped between the check and the read."""
    o_path = getattr(os, 'O_PATH', None)
    if o_path is None:  # pragma: no cover - not Linux
        st, target = os.lstat(base, dir_fd=dfd), os.readlink(base, dir_fd=dfd)
    else:
        lfd = os.open(base, o_path | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
        try:
            st = os.fstat(lfd)
            if not stat.S_ISLNK(st.st_mode):
                raise PgsslFileError('Refusing %s: it changed while it was being read.' % path)
            target = os.readlink('', dir_fd=lfd)
        finally:
            os.close(lfd)
    if st.st_uid != 0 and _foreign_writable(dfd):
        raise PgsslFileError(
            'Refusing %s: it is a symbolic link owned by uid %d in a directory someone '
            'other than root can write (never followed there).' % (path, st.st_uid)
        )
    return target if target.startswith('/') else os.path.join(_fd_path(dfd), target)


def _open_file(dfd, base, path, follow=False):
    """(descriptor, fstat) of the regular file ``base`` in the directory ``dfd``.

    A symbolic link at the name is refused; with ``follow``, one that only root could have
    put there is followed instead, up to LINK_HOPS times, each hop under the same rule."""
    owned = None  # the directory of a link's target, opened here
    try:
        for _hop in range(LINK_HOPS + 1):
            try:
                fd = os.open(base, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, dir_fd=dfd)
                break
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
            if not follow:
                raise PgsslFileError('Refusing %s: it is a symbolic link (never followed).' % path)
            directory, base = _split(_link_target(dfd, base, path))
            dfd = _open_dir(directory)
            if owned is not None:
                os.close(owned)
            owned = dfd
        else:
            raise PgsslFileError('Refusing %s: more than %d symbolic links.' % (path, LINK_HOPS))
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise PgsslFileError(
                'Refusing %s: it is not a regular file (a FIFO, device or socket is never read).' % path
            )
        return fd, st
    finally:
        if owned is not None:
            os.close(owned)


def _fd_path(dfd):
    return os.readlink('/proc/self/fd/%d' % dfd)


def _read_fd(fd, path='', limit=READ_LIMIT):
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PgsslFileError(
                'Refusing %s: it is larger than %d MiB, far more than a file of its kind holds.' % (path, limit >> 20)
            )
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


def read_bytes(path, what='file', secret=False, owners=None, follow=False, limit=READ_LIMIT):
    """Contents of ``path``, or None when it does not exist.

    A symlink at the name is refused (with ``follow``, one only root could have made is
    followed), and so is anything but a regular file, and a file larger than ``limit``. For a
    secret, a file with other hard links or owned by someone other than root, this process's
    user or ``owners`` (uids) is refused too: such a file may be a link to another user's key.
    """
    dfd, base = _open_parent(path)
    if dfd is None:
        return None
    try:
        try:
            fd, st = _open_file(dfd, base, path, follow and not secret)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise PgsslFileError('Cannot read %s %s: %s' % (what, path, exc.strerror))
        try:
            if secret:
                _check_secret(st, path, what, owners)
            if st.st_size > limit:
                raise PgsslFileError(
                    'Refusing the %s %s: it is %d bytes, more than the %d MiB a file of its kind '
                    'may hold.' % (what, path, st.st_size, limit >> 20)
                )
            return _read_fd(fd, path, limit)
        finally:
            os.close(fd)
    finally:
        os.close(dfd)


def read_text(path, what, error, code, limit=READ_LIMIT):
    """A configuration file the caller's user reads, as text: read_bytes with ``follow`` (links
    only root could have made), bounded by ``limit``; a missing file or one that is not UTF-8
    raises ``error`` with ``code``."""
    raw = read_bytes(path, what, follow=True, limit=limit)
    if raw is None:
        raise error('%s does not exist.' % path, code)
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise error('Refusing %s: it is not UTF-8 text.' % path, code)


def _check_secret(st, path, what, owners):
    allowed = set([0, os.geteuid()]) | set(u for u in (owners or []) if u is not None)
    if st.st_uid not in allowed:
        raise PgsslFileError(
            'Refusing the %s %s: it is owned by uid %d, not by root or the expected owner.' % (what, path, st.st_uid)
        )
    if st.st_nlink > 1:
        raise PgsslFileError(
            'Refusing the %s %s: it has %d hard links (it may be another '
            'file under a second name).' % (what, path, st.st_nlink)
        )


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
