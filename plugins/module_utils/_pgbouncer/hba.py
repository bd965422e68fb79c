# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer's hba file (``auth_type = hba``, ``auth_hba_file``) checked the way PgBouncer
reads it.

PgBouncer skips a line it cannot parse, logs it, and goes on matching the next lines: a
``reject`` line it does not understand is silently gone, and the login falls through to a
later rule. So every line must be one PgBouncer understands before the file is put in force:
``local``, ``host``, ``hostssl`` or ``hostnossl``; database and user lists of names, quoted
names and ``all`` (``sameuser`` too); an address with a prefix length or a separate mask (not
for ``local``); a method it knows; and nothing after the method (PgBouncer takes no options).
Not accepted: ``samerole``, ``samegroup``, ``replication``, ``+group``, ``@file`` (a name file
is not checked here), a host name, an unknown method. Messages name the file and line only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer.ini import PgbouncerConfigError

SPACE = ' \t\n\v\f\r'
TYPES = ('local', 'host', 'hostssl', 'hostnossl')
METHODS = ('trust', 'reject', 'md5', 'password', 'peer', 'cert', 'scram-sha-256')


def tokens(line):
    """[(kind, text)] of one line: ``ident``, ``string`` or ``comma``; raises ValueError on an
    unterminated quote. A ``#`` outside quotes ends the line."""
    out = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in SPACE:
            i += 1
        if i >= n or line[i] == '#':
            return out
        if line[i] == ',':
            out.append(('comma', ','))
            i += 1
        elif line[i] == '"':
            j, text = i + 1, []
            while True:
                if j >= n:
                    raise ValueError('an unterminated quote')
                if line[j] == '"':
                    if j + 1 < n and line[j + 1] == '"':
                        text.append('"')
                        j += 2
                        continue
                    break
                text.append(line[j])
                j += 1
            out.append(('string', ''.join(text)))
            i = j + 1
        else:
            j = i + 1
            while j < n and line[j] not in ',#"' and line[j] not in SPACE:
                j += 1
            out.append(('ident', line[i:j]))
            i = j


def _names(toks, pos):
    """Position after one comma-separated name list, or raise ValueError."""
    while True:
        if pos >= len(toks) or toks[pos][0] == 'comma':
            raise ValueError('a missing name')
        kind, text = toks[pos]
        if kind == 'ident':
            if text in ('samerole', 'samegroup', 'replication'):
                raise ValueError('a keyword PgBouncer does not support (%s)' % text)
            if text.startswith('+'):
                raise ValueError('a +group, which PgBouncer does not support')
            if text.startswith('@'):
                raise ValueError('an @file of names, which is not checked here; list the names in the line')
        pos += 1
        if pos < len(toks) and toks[pos][0] == 'comma':
            pos += 1
            continue
        return pos


def _address(toks, pos):
    if pos >= len(toks) or toks[pos][0] != 'ident':
        raise ValueError('no address')
    text = toks[pos][1]
    address, _sep, bits = text.partition('/')
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError('an address that is not numeric (PgBouncer takes no host names)')
    pos += 1
    if _sep:
        if not bits.isdigit() or int(bits) > addr.max_prefixlen:
            raise ValueError('an invalid prefix length')
        return pos
    if pos >= len(toks) or toks[pos][0] != 'ident':
        raise ValueError('no mask')
    try:
        mask = ipaddress.ip_address(toks[pos][1])
    except ValueError:
        raise ValueError('an invalid mask')
    if mask.version != addr.version:
        raise ValueError('a mask of another address family')
    return pos + 1


def check_line(line):
    """None for a line PgBouncer takes (or a blank/comment), else why not."""
    try:
        toks = tokens(line)
        if not toks:
            return None
        kind, text = toks[0]
        if kind != 'ident' or text not in TYPES:
            return 'an unknown connection type'
        pos = _names(toks, 1)
        pos = _names(toks, pos)
        if text != 'local':
            pos = _address(toks, pos)
        if pos >= len(toks) or toks[pos][0] != 'ident' or toks[pos][1] not in METHODS:
            return 'a method PgBouncer does not know'
        if pos + 1 != len(toks):
            return 'options after the method, which PgBouncer does not take'
    except ValueError as exc:
        return str(exc)
    return None


def check(text, path):
    """Refuse a file with a line PgBouncer would skip."""
    for number, line in enumerate(text.split('\n'), 1):
        why = check_line(line)
        if why:
            raise PgbouncerConfigError(
                'Refusing %s:%d: %s. PgBouncer would skip that line and go on matching the next ones, '
                'so a rule meant to reject would let logins through. Fix the line first.' % (path, number, why),
                'pgbouncer_hba',
            )
