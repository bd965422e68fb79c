# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libpq connection strings (``key=value`` form), as libpq itself reads them.

Used for a standby's ``primary_conninfo``: it is edited as a conninfo string, keyword by
keyword, never by prefix. This is the libpq layer only; the GUC layer (postgresql.conf or
postgresql.auto.conf, each ``'`` and ``\\`` doubled again) is the configuration editor's.

libpq's rules: keywords and values are separated by whitespace; ``=`` may have whitespace
around it; a value is either single-quoted (``\\`` escapes the next character, ``'`` ends it)
or runs to the next whitespace (``\\`` escapes there too). An empty value must be quoted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

_WS = ' \t\n\r\f\v'
_KEYWORD = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# keywords whose value is a secret: never shown
SECRET_KEYWORDS = frozenset(('password', 'sslpassword'))
MASK = '********'
MAX_LENGTH = 65536


class ConninfoError(PgsslError):
    pass


def parse(text):
    """[(keyword, value)] in order, as libpq reads ``text`` (a later duplicate wins in libpq;
    both are kept here, in order)."""
    if text is None:
        return []
    if len(text) > MAX_LENGTH:
        raise ConninfoError('The connection string is longer than %d characters.' % MAX_LENGTH)
    if text.startswith(('postgresql://', 'postgres://')):
        raise ConninfoError('A connection URI is not edited here; write primary_conninfo as key=value pairs.')
    out = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WS:
            i += 1
        if i >= n:
            return out
        start = i
        while i < n and text[i] != '=' and text[i] not in _WS:
            i += 1
        key = text[start:i]
        while i < n and text[i] in _WS:
            i += 1
        if i >= n or text[i] != '=':
            raise ConninfoError('missing "=" after "%s" in the connection string' % key)
        i += 1
        while i < n and text[i] in _WS:
            i += 1
        value = []
        if i < n and text[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ConninfoError('unterminated quoted string in the connection string')
                ch = text[i]
                if ch == '\\' and i + 1 < n:
                    value.append(text[i + 1])
                    i += 2
                elif ch == "'":
                    i += 1
                    break
                else:
                    value.append(ch)
                    i += 1
        else:
            while i < n and text[i] not in _WS:
                if text[i] == '\\':
                    # escapes the next character; a trailing one is dropped, as libpq does
                    if i + 1 < n:
                        value.append(text[i + 1])
                    i += 2
                else:
                    value.append(text[i])
                    i += 1
        if not _KEYWORD.match(key):
            raise ConninfoError('invalid connection option "%s"' % key)
        out.append((key, ''.join(value)))


def quote(value):
    """One value for a conninfo string: bare where libpq reads it back unchanged, else quoted."""
    text = '%s' % value
    if '\x00' in text:
        raise ConninfoError('A connection option value cannot hold a NUL character.')
    if text and not any(c in text for c in _WS + "'\\") and "=" not in text:
        return text
    return "'%s'" % text.replace('\\', '\\\\').replace("'", "\\'")


def render(pairs):
    """``key=value`` pairs joined by single spaces."""
    return ' '.join('%s=%s' % (key, quote(value)) for key, value in pairs)


def update(text, changes):
    """``text`` with ``changes`` applied: {keyword: value} sets (in place, or appended), a value
    of None removes every occurrence. Keywords not named keep their value and order; duplicates
    of a set keyword collapse into the first place. Returns the new string."""
    pairs = parse(text)
    for key in changes:
        if not _KEYWORD.match(key):
            raise ConninfoError('invalid connection option "%s"' % key)
    out = []
    placed = set()
    for key, value in pairs:
        if key in changes:
            if changes[key] is None or key in placed:
                continue
            out.append((key, changes[key]))
            placed.add(key)
        else:
            out.append((key, value))
    for key, value in changes.items():
        if value is not None and key not in placed:
            out.append((key, value))
    return render(out)


def as_dict(text):
    """{keyword: value}, the last duplicate winning, as libpq does."""
    return dict(parse(text))


def masked(text):
    """``text`` for a message or a diff: secret values replaced by a mask."""
    try:
        pairs = parse(text)
    except ConninfoError:
        return MASK
    return render([(k, MASK if k in SECRET_KEYWORDS else v) for k, v in pairs])


def secrets(text):
    """The secret values in ``text`` (for no_log)."""
    try:
        return [v for k, v in parse(text) if k in SECRET_KEYWORDS and v]
    except ConninfoError:
        return [text] if text else []
