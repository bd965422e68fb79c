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
secret. Only the newest ``keep`` backups of a file are kept. Nothing is written into a directory
someone else could change.

The parts: ``paths`` (walking to a directory, reading, owners and modes), ``write`` (staging,
committing, backups, attributes) and ``dirs`` (making directories, moves). This file gathers
their public names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._files.paths import (  # noqa: F401
    _open_dir,
    _open_file,
    _split,
    BACKUP_KEEP,
    base_name,
    check_directory,
    CHECK_MODE,
    CheckModeGap,
    CRL_LIMIT,
    gap_if_check_mode,
    octal_mode,
    PgsslFileError,
    read_bytes,
    read_text,
    READ_LIMIT,
    resolve_gid,
    resolve_uid,
    stat_file,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._files.write import (  # noqa: F401
    apply_attributes,
    backups_of,
    check_writable_only_by_owners,
    commit,
    converge,
    discard,
    read_input,
    remove,
    rewrite_file,
    stage,
    write_atomic,
    write_file,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._files.dirs import (  # noqa: F401
    ensure_dir,
    list_dir,
    make_dir,
    make_dirs,
    move,
)
