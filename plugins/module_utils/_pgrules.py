# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's own rules for the files it reads (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import stat


def key_file_problem(st_mode, st_uid, server_uid):
    """PostgreSQL's rule for ssl_key_file; None when acceptable, else (code, message)."""
    if not stat.S_ISREG(st_mode):
        return ('key_file_type', 'the key file is not a regular file')
    perms = stat.S_IMODE(st_mode)
    if st_uid != server_uid and st_uid != 0:
        return (
            'key_file_owner',
            'the key file must be owned by the database server user or root (owner uid %d)' % st_uid,
        )
    if st_uid == server_uid and perms & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            'key_file_mode',
            'the key file has mode %04o; owned by the server user it must be u=rw (0600) or less' % perms,
        )
    if st_uid == 0 and st_uid != server_uid and perms & (stat.S_IWGRP | stat.S_IXGRP | stat.S_IRWXO):
        return ('key_file_mode', 'the key file has mode %04o; owned by root it must be u=rw,g=r (0640) or less' % perms)
    return None
