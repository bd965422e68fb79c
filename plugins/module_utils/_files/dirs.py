# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directories and moves: making missing directories without following planted links, and
renames within a directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.pgssl.postgresql.plugins.module_utils._files.paths import (
    _CLOEXEC,
    _DIRECTORY,
    _NOFOLLOW,
    _open_dir,
    _open_parent,
    PgsslFileError,
    stat_file,
)


# --------------------------------------------------------------------------- directories and moves


def _existing_parent(path):
    """(descriptor of the parent directory, base name); a clear error when the parent is missing."""
    dfd, base = _open_parent(path)
    if dfd is None:
        raise PgsslFileError(
            'The directory %s does not exist; create it first.' % os.path.dirname(os.path.abspath(path))
        )
    return dfd, base


def make_dir(path, mode=0o700):
    """Create directory ``path`` (its parent must exist) with ``mode``; True when it was made.
    A link or a file at the name is refused; an existing directory is kept as it is."""
    dfd, base = _existing_parent(path)
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
            raise PgsslFileError('Refusing %s: it is not a directory (a link or a file is in its place).' % path)
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
    dfd, base = _existing_parent(path)
    try:
        try:
            st = os.lstat(base, dir_fd=dfd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise PgsslFileError('Cannot stat %s: %s' % (path, exc.strerror))
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise PgsslFileError('Refusing %s: it is not a directory (a link or a file is in its place).' % path)
        if check_mode:
            return st is None or (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (
                mode,
                st.st_uid if uid is None else uid,
                st.st_gid if gid is None else gid,
            )
        made = False
        if st is None:
            try:
                os.mkdir(base, 0o700, dir_fd=dfd)
                made = True
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise PgsslFileError('Cannot create the directory %s: %s' % (path, exc.strerror))
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
