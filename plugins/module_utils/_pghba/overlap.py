# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pg_hba.conf rules overlap, cover or shadow others, with an example connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.records import rules
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.syntax import (
    _names_overlap,
    _TYPE_SET,
    address_covers,
    addresses_overlap,
    names_cover,
    names_overlap,
)

# --------------------------------------------------------------------------- overlap


def overlaps(a, b):
    """True when some connection matches both rules."""
    return (
        bool(_TYPE_SET[a.type] & _TYPE_SET[b.type])
        and names_overlap(a.dbs, b.dbs)
        and names_overlap(a.usrs, b.usrs)
        and (a.type == 'local' or addresses_overlap(a.addr, b.addr))
    )


def covers(a, b):
    """True when rule ``a`` matches every connection rule ``b`` matches."""
    return (
        _TYPE_SET[b.type] <= _TYPE_SET[a.type]
        and names_cover(a.dbs, b.dbs)
        and names_cover(a.usrs, b.usrs)
        and (a.type == 'local' or address_covers(a.addr, b.addr))
    )


_CONN_WORDS = {
    'ssl': 'a TLS connection',
    'plain': 'a plain TCP connection',
    'gss': 'a GSSAPI-encrypted connection',
    'local': 'a unix-socket connection',
}


def _pick_name(xs, ys, field):
    for x in xs:
        for y in ys:
            if _names_overlap(x, y):
                if x.kind == 'replication' or y.kind == 'replication':
                    return 'a physical replication connection' if field == 'database' else ''
                for n in (x, y):
                    if n.kind == 'name':
                        return '%s %s' % (field, n.value)
                return 'any %s' % field
    return 'any %s' % field


def example(a, b):
    """A connection that both rules match, in words (for reports)."""
    kinds = sorted(_TYPE_SET[a.type] & _TYPE_SET[b.type])
    kind = 'ssl' if 'ssl' in kinds else kinds[0]
    words = [_CONN_WORDS[kind]]
    db = _pick_name(a.dbs, b.dbs, 'database')
    user = _pick_name(a.usrs, b.usrs, 'user')
    words.append('by ' + user)
    words.append(('to ' + db) if not db.startswith('a physical') else '(' + db + ')')
    if kind != 'local':
        x, y = a.addr, b.addr
        if x.kind == 'ip' and y.kind == 'ip':
            value = (x.addr & x.mask) | (y.addr & y.mask & ~x.mask)
            words.append('from %s' % (ipaddress.ip_address(value) if x.family == 4 else ipaddress.IPv6Address(value)))
        else:
            words.append('from an address that %s and %s both match' % (x.text, y.text))
    return ' '.join(words)


def shadowed(lines):
    """[(rule, earlier rule that hides it entirely)] for every rule that can never match."""
    found = []
    seen = []
    for rule in rules(lines):
        for earlier in seen:
            if covers(earlier, rule):
                found.append((rule, earlier))
                break
        seen.append(rule)
    return found


def partly_shadowed(lines, rule):
    """[(earlier rule, example connection)] for the earlier rules that take some of ``rule``'s
    connections."""
    out = []
    for line in lines:
        if line is rule:
            break
        if line.kind == 'rule' and overlaps(line, rule):
            out.append((line, example(line, rule)))
    return out
