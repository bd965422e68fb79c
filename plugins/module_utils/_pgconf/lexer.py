# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postgresql.conf lexer: lines as the server's guc-file scanner reads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError


MANAGED_MARKER = '# pgssl.postgresql: settings managed by Ansible (pgssl.postgresql.pg_conf)'

INCLUDE_DIRECTIVES = ('include', 'include_if_exists', 'include_dir')

# Settings that only a restart applies (postmaster context). ssl_* are reloadable since PG 10.
RESTART_SETTINGS = frozenset(
    (
        'listen_addresses',
        'port',
        'max_connections',
        'superuser_reserved_connections',
        'shared_buffers',
        'unix_socket_directories',
        'unix_socket_group',
        'unix_socket_permissions',
        'bonjour',
        'bonjour_name',
        'shared_preload_libraries',
        'wal_level',
        'max_wal_senders',
        'max_replication_slots',
        'huge_pages',
        'data_directory',
        'config_file',
        'hba_file',
        'ident_file',
        'external_pid_file',
        'max_prepared_transactions',
        'max_locks_per_transaction',
        'max_pred_locks_per_transaction',
        'track_commit_timestamp',
        'wal_buffers',
        'archive_mode',
        'hot_standby',
        'max_worker_processes',
        'autovacuum_max_workers',
        'dynamic_shared_memory_type',
        'cluster_name',
        'event_source',
        'wal_log_hints',
        'max_files_per_process',
        'shared_memory_type',
        'logging_collector',
        'io_method',
        'io_workers',
        'autovacuum_worker_slots',
    )
)

BOOL_WORDS = {'on': 'on', 'true': 'on', 'yes': 'on', 'off': 'off', 'false': 'off', 'no': 'off'}
BOOL_PREFIXES = {'1': 'on', '0': 'off'}

_MEMORY_UNITS = {'b': 1, 'kb': 1024, 'mb': 1024**2, 'gb': 1024**3, 'tb': 1024**4}
_TIME_UNITS = {'us': 1, 'ms': 1000, 's': 1000000, 'min': 60000000, 'h': 3600000000, 'd': 86400000000}


# --------------------------------------------------------------------------- lexer
# A port of the token rules of PostgreSQL's guc-file.l. Flex takes the longest match at each
# position; on a tie the rule listed first wins (the order below).

# Letters are A-Z, a-z, "_" and every character from \x80 on. Written as the complement of the
# ASCII characters that are not letters: a class spelled with the range up to \U0010ffff takes
# about 10 ms to compile, paid by every module run.
_LETTER = r'^\x00-\x40\x5b-\x5e\x60\x7b-\x7f'
_LETTER_DIGIT = r'^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f'
# letters, digits and - . / : (\x2d to \x3a)
_UNQUOTED_NEXT = r'^\x00-\x2c\x3b-\x40\x5b-\x5e\x60\x7b-\x7f'
_TOKEN_RULES = [
    ('ID', re.compile(r'[%s][%s]*' % (_LETTER, _LETTER_DIGIT))),
    ('QUALIFIED_ID', re.compile(r'[%s][%s]*\.[%s][%s]*' % ((_LETTER, _LETTER_DIGIT) * 2))),
    ('STRING', re.compile(r"'(?:[^'\\\n]|\\[^\n]|'')*'")),
    ('UNQUOTED_STRING', re.compile(r'[%s][%s]*' % (_LETTER, _UNQUOTED_NEXT))),
    ('INTEGER', re.compile(r'[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*')),
    ('REAL', re.compile(r'[-+]?[0-9]*\.[0-9]*(?:[Ee][-+]?[0-9]+)?')),
    ('EQUALS', re.compile(r'=')),
]
_BLANK = re.compile(r'[ \t\r]+')
_VALUE_TOKENS = ('ID', 'STRING', 'INTEGER', 'REAL', 'UNQUOTED_STRING')


def tokens(raw):
    """[(kind, text, start)] of one line, as PostgreSQL's lexer reads it ('ERROR' for a
    character no rule matches). A comment ends the line."""
    out = []
    pos, end = 0, len(raw)
    while pos < end:
        blank = _BLANK.match(raw, pos)
        if blank:
            pos = blank.end()
            continue
        if raw[pos] == '#':
            break
        best = None
        for kind, pattern in _TOKEN_RULES:
            match = pattern.match(raw, pos)
            if match and match.end() > pos and (best is None or match.end() > best[1].end()):
                best = (kind, match)
        if best is None:
            out.append(('ERROR', raw[pos], pos))
            pos += 1
            continue
        out.append((best[0], best[1].group(0), pos))
        pos = best[1].end()
    return out


class PgConfError(PgsslError):
    pass


class Line(object):
    __slots__ = ('raw', 'eol', 'kind', 'name', 'value', 'start', 'end', 'number', 'error')

    def __init__(self, raw, eol, number):
        self.raw = raw  # text without the line ending
        self.eol = eol  # '\n', '\r\n' or ''
        self.number = number  # 1-based line number in the original file
        self.kind = 'other'  # 'setting', 'include', 'other', 'invalid'
        self.name = None
        self.value = None
        self.start = self.end = None
        self.error = None

    @property
    def text(self):
        return self.raw + self.eol


def unquote(token):
    """The value of a quoted token, as PostgreSQL's DeescapeQuotedString reads it."""
    if not token.startswith("'"):
        return token
    body = token[1:-1]
    out = []
    i = 0
    escapes = {'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
    while i < len(body):
        ch = body[i]
        if ch == "'" and body[i + 1 : i + 2] == "'":
            out.append("'")
            i += 2
        elif ch == '\\' and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
            elif nxt in '01234567':
                digits = re.match(r'[0-7]{1,3}', body[i + 1 :]).group(0)
                byte = int(digits, 8) & 0xFF
                # one byte: ASCII as is, a high byte as the surrogate escape of that byte
                out.append(chr(byte) if byte < 0x80 else chr(0xDC00 + byte))
                i += 1 + len(digits)
            else:
                out.append(nxt)
                i += 2
        else:
            out.append(ch)
            i += 1
    value = ''.join(out)
    # the server keeps a C string: an escaped NUL ends the value
    return value.split('\0', 1)[0]


_BARE = re.compile(r'^(?:[-+]?[0-9]+[a-zA-Z]*|on|off|true|false|yes|no)$')
_FORBIDDEN = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')


def check_value(name, value):
    """Refuse a value that cannot be written on one line of postgresql.conf."""
    text = value if isinstance(value, str) else str(value)
    bad = _FORBIDDEN.search(text)
    if bad:
        raise PgConfError(
            'The value of %s contains the control character %r; postgresql.conf '
            'values cannot hold newlines, NUL or other control characters.' % (name, bad.group(0))
        )


def quote(value):
    """Render a value for postgresql.conf: integers, booleans and plain words bare, the rest
    single-quoted with quotes doubled and backslashes escaped (PostgreSQL's own quoting)."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    text = str(value)
    check_value('a setting', text)
    if _BARE.match(text):
        return text
    return "'%s'" % text.replace('\\', '\\\\').replace("'", "''")


def split_lines(text):
    """[(raw, eol)]: PostgreSQL ends a line at a newline only (a form feed, a vertical tab or a
    Unicode line separator is an ordinary character). A carriage return before the newline is
    kept as part of the line ending; the server's lexer treats it as a blank anyway."""
    out = []
    pieces = text.split('\n')
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if last and piece == '':
            break
        eol = '' if last else '\n'
        if eol and piece.endswith('\r'):
            piece, eol = piece[:-1], '\r\n'
        out.append((piece, eol))
    return out


def parse_line(raw, eol='\n', number=None):
    """One line as the server reads it: a setting, an include directive, nothing, or invalid."""
    line = Line(raw, eol, number)
    toks = tokens(raw)
    if not toks:
        return line
    kind, text, _start = toks[0]
    index = 1
    if kind not in ('ID', 'QUALIFIED_ID'):
        return _invalid(line, toks[0])
    if index < len(toks) and toks[index][0] == 'EQUALS':
        index += 1
    if index >= len(toks) or toks[index][0] not in _VALUE_TOKENS:
        return _invalid(line, toks[index] if index < len(toks) else None)
    vkind, vtext, vstart = toks[index]
    if index + 1 < len(toks):
        return _invalid(line, toks[index + 1])
    line.name = text.lower()
    line.value = unquote(vtext) if vkind == 'STRING' else vtext
    line.start, line.end = vstart, vstart + len(vtext)
    line.kind = 'include' if line.name in INCLUDE_DIRECTIVES else 'setting'
    return line


def _invalid(line, token):
    line.kind = 'invalid'
    line.error = ('syntax error near token "%s"' % token[1]) if token else 'syntax error near end of line'
    return line


def parse(text):
    """Parse postgresql.conf text into a list of Line objects (round-trips exactly)."""
    return [parse_line(raw, eol, number) for number, (raw, eol) in enumerate(split_lines(text), 1)]


def syntax_errors(lines):
    return [line for line in lines if line.kind == 'invalid']


def render(lines):
    return ''.join(line.text for line in lines)


def effective_index(lines, name):
    """Index of the last active line setting ``name`` (exact name), or None."""
    name = name.lower()
    found = None
    for index, line in enumerate(lines):
        if line.kind == 'setting' and line.name == name:
            found = index
    return found


def effective_values(lines):
    values = {}
    for line in lines:
        if line.kind == 'setting':
            values[line.name] = line.value
    return values
