# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server configuration files as text, byte for byte.

PostgreSQL reads postgresql.conf and pg_hba.conf as bytes. Decoding them as UTF-8 with
``surrogateescape`` keeps any other byte as a surrogate, so a file is written back exactly as
it was wherever the collection did not edit it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.pgssl.postgresql.plugins.module_utils._files import paths


def decode(data):
    return data.decode('utf-8', 'surrogateescape')


def encode(text):
    return text.encode('utf-8', 'surrogateescape')


def read(path, what='configuration file'):
    """A configuration file (or an include, or PG_VERSION) the server reads itself, as text.

    The server user can write these files and their directories, so the read is bounded as
    every such read is: a regular file only (a FIFO or device is refused, never waited on), a
    size cap, and a symbolic link followed only where no one but root could have made it.
    Raises OSError (ENOENT) when it is missing, and the refusal itself (PgsslFileError) when
    the bounded read refuses it: a caller that tolerates a missing file never tolerates that."""
    data = paths.read_bytes(path, what, follow=True)
    if data is None:
        raise OSError(errno.ENOENT, 'No such file or directory', path)
    return decode(data)
