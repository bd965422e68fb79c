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


def decode(data):
    return data.decode('utf-8', 'surrogateescape')


def encode(text):
    return text.encode('utf-8', 'surrogateescape')


def read(path):
    """A configuration file (or an include, or PG_VERSION) the server reads itself: a plain
    read, as the server's; files the collection writes go through _files instead."""
    with open(path, 'rb') as handle:
        return decode(handle.read())
