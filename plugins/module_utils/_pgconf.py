# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql.conf round-trip parser and editor (pure).

Lines remember their original text. Editing a setting replaces only the value's characters of
the effective line (the last active occurrence), so spacing and trailing comments survive and
every other line is written back byte for byte. Names are matched exactly, never by prefix, so
``ssl`` never touches ``ssl_ciphers``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

MANAGED_MARKER = '# pgssl.postgresql: settings managed by Ansible (pgssl.postgresql.pg_conf)'

INCLUDE_DIRECTIVES = ('include', 'include_if_exists', 'include_dir')

# Settings that only a restart applies (postmaster context). ssl_* are reloadable since PG 10.
RESTART_SETTINGS = frozenset((
    'listen_addresses', 'port', 'max_connections', 'superuser_reserved_connections',
    'shared_buffers', 'unix_socket_directories', 'unix_socket_group',
    'unix_socket_permissions', 'bonjour', 'bonjour_name', 'shared_preload_libraries',
    'wal_level', 'max_wal_senders', 'max_replication_slots', 'huge_pages', 'data_directory',
    'config_file', 'hba_file', 'ident_file', 'external_pid_file', 'max_prepared_transactions',
    'max_locks_per_transaction', 'max_pred_locks_per_transaction', 'track_commit_timestamp',
    'wal_buffers', 'archive_mode', 'hot_standby', 'max_worker_processes',
    'autovacuum_max_workers', 'dynamic_shared_memory_type', 'cluster_name', 'event_source',
    'wal_log_hints', 'max_files_per_process', 'shared_memory_type', 'logging_collector',
    'io_method', 'io_workers', 'autovacuum_worker_slots',
))

BOOL_WORDS = {'on': 'on', 'true': 'on', 'yes': 'on', 'off': 'off', 'false': 'off', 'no': 'off'}
BOOL_PREFIXES = {'1': 'on', '0': 'off'}

_MEMORY_UNITS = {'b': 1, 'kb': 1024, 'mb': 1024 ** 2, 'gb': 1024 ** 3, 'tb': 1024 ** 4}
_TIME_UNITS = {'us': 1, 'ms': 1000, 's': 1000000, 'min': 60000000, 'h': 3600000000,
               'd': 86400000000}

_LINE = re.compile(
    r"""^(?P<lead>[ \t]*)
        (?P<name>[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)
        (?P<sep>[ \t]*=[ \t]*|[ \t]+)
        (?P<value>'(?:[^'\\\n]|\\.|'')*'|[^\s#']+)
        (?P<rest>[ \t]*(?:\#.*)?)$""", re.X)
_EMPTY_VALUE = re.compile(r"""^(?P<lead>[ \t]*)(?P<name>[A-Za-z_][A-Za-z0-9_$.]*)
                              (?P<sep>[ \t]*=[ \t]*)(?P<value>)(?P<rest>(?:\#.*)?)$""", re.X)


class PgConfError(Exception):
    pass


class Line(object):
    __slots__ = ('raw', 'eol', 'kind', 'name', 'value', 'start', 'end', 'number')

    def __init__(self, raw, eol, number):
        self.raw = raw          # text without the line ending
        self.eol = eol          # '\n', '\r\n' or ''
        self.number = number    # 1-based line number in the original file
        self.kind = 'other'     # 'setting', 'include', 'other', 'invalid'
        self.name = None
        self.value = None
        self.start = self.end = None

    @property
    def text(self):
        return self.raw + self.eol


def unquote(token):
    if not token.startswith("'"):
        return token
    body = token[1:-1]
    out = []
    i = 0
    escapes = {'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
    while i < len(body):
        ch = body[i]
        if ch == "'" and body[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        elif ch == '\\' and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
            elif nxt in '01234567':
                digits = re.match(r'[0-7]{1,3}', body[i + 1:]).group(0)
                out.append(chr(int(digits, 8)))
                i += 1 + len(digits)
            else:
                out.append(nxt)
                i += 2
        else:
            out.append(ch)
            i += 1
    return ''.join(out)


_SIMPLE = re.compile(r'^(?:-?\d+(?:\.\d+)?(?:[a-zA-Z]+)?|on|off|true|false|yes|no)$')


def quote(value):
    """Render a value for postgresql.conf: plain numbers and booleans bare, the rest quoted."""
    text = str(value)
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if _SIMPLE.match(text):
        return text
    return "'%s'" % text.replace('\\', '\\\\').replace("'", "''")


def parse(text):
    """Parse postgresql.conf text into a list of Line objects (round-trips exactly)."""
    lines = []
    for number, chunk in enumerate(text.splitlines(True), 1):
        if chunk.endswith('\r\n'):
            raw, eol = chunk[:-2], '\r\n'
        elif chunk.endswith('\n') or chunk.endswith('\r'):
            raw, eol = chunk[:-1], chunk[-1]
        else:
            raw, eol = chunk, ''
        line = Line(raw, eol, number)
        stripped = raw.strip()
        if stripped and not stripped.startswith('#'):
            match = _LINE.match(raw) or _EMPTY_VALUE.match(raw)
            if match:
                name = match.group('name').lower()
                line.name = name
                line.value = unquote(match.group('value'))
                line.start, line.end = match.start('value'), match.end('value')
                line.kind = 'include' if name in INCLUDE_DIRECTIVES else 'setting'
            else:
                line.kind = 'invalid'
        lines.append(line)
    return lines


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


# --------------------------------------------------------------------------- value comparison

def _number(value):
    match = re.match(r'^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$', str(value))
    if not match:
        return None
    number = float(match.group(1))
    unit = match.group(2).lower()
    if not unit:
        return ('plain', number)
    if unit in _MEMORY_UNITS:
        return ('memory', number * _MEMORY_UNITS[unit])
    if unit in _TIME_UNITS:
        return ('time', number * _TIME_UNITS[unit])
    return None


def _bool(value):
    text = str(value).strip().lower()
    return BOOL_WORDS.get(text)


def same_value(a, b):
    """Compare two postgresql.conf values the way the server would read them."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool):
        a = 'on' if a else 'off'
    if isinstance(b, bool):
        b = 'on' if b else 'off'
    sa, sb = str(a), str(b)
    if sa == sb:
        return True
    ba, bb = _bool(sa), _bool(sb)
    if ba is not None or bb is not None:
        ba = ba or BOOL_PREFIXES.get(sa.strip())
        bb = bb or BOOL_PREFIXES.get(sb.strip())
        return ba is not None and ba == bb
    na, nb = _number(sa), _number(sb)
    if na is not None and nb is not None:
        return na == nb
    return False


# --------------------------------------------------------------------------- editing

def set_settings(lines, settings):
    """Apply {name: value}; returns (new_lines, changes). ``lines`` is not modified.

    A value of None comments the setting out (all active occurrences), restoring the default.
    """
    lines = [_copy(line) for line in lines]
    changes = []
    append = []
    for name in settings:
        if not re.match(r'^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$', name):
            raise PgConfError('Invalid parameter name %r.' % name)
        if name.lower() in INCLUDE_DIRECTIVES:
            raise PgConfError('%s is a directive, not a setting; pg_conf does not manage it.'
                              % name)
    for name, value in settings.items():
        key = name.lower()
        index = effective_index(lines, key)
        if value is None:
            for i, line in enumerate(lines):
                if line.kind == 'setting' and line.name == key:
                    changes.append({'name': key, 'before': line.value, 'after': None,
                                    'line': line.number})
                    lines[i] = _comment_out(line, 'reset to default by pgssl.postgresql')
            continue
        if index is not None:
            line = lines[index]
            if same_value(line.value, value):
                continue
            new = _copy(line)
            rendered = quote(value)
            new.raw = line.raw[:line.start] + rendered + line.raw[line.end:]
            new.value = unquote(rendered)
            new.end = line.start + len(rendered)
            lines[index] = new
            changes.append({'name': key, 'before': line.value, 'after': str(new.value),
                            'line': line.number})
        else:
            append.append((key, value))
            changes.append({'name': key, 'before': None, 'after': unquote(quote(value)),
                            'line': None})
    if append:
        lines = _append_managed(lines, append)
    return lines, changes


def _copy(line):
    new = Line(line.raw, line.eol, line.number)
    for attr in ('kind', 'name', 'value', 'start', 'end'):
        setattr(new, attr, getattr(line, attr))
    return new


def _comment_out(line, why):
    new = Line('#%s\t# %s' % (line.raw, why), line.eol, line.number)
    return new


def _eol(lines):
    for line in lines:
        if line.eol:
            return line.eol
    return '\n'


def _append_managed(lines, items):
    eol = _eol(lines)
    if lines and not lines[-1].eol:
        lines[-1] = _copy(lines[-1])
        lines[-1].eol = eol
    new_lines = []
    for key, value in items:
        line = Line('%s = %s' % (key, quote(value)), eol, None)
        line.kind, line.name, line.value = 'setting', key, unquote(quote(value))
        line.start = len(key) + 3
        line.end = len(line.raw)
        new_lines.append(line)
    marker = None
    for index, line in enumerate(lines):
        if line.raw.strip() == MANAGED_MARKER:
            marker = index
    if marker is not None:
        # insert after the settings that follow the marker
        pos = marker + 1
        while pos < len(lines) and lines[pos].kind == 'setting':
            pos += 1
        # the block must stay last for its settings to win; only reuse it when nothing that
        # could set parameters comes after it
        if not any(line.kind in ('setting', 'include') for line in lines[pos:]):
            return lines[:pos] + new_lines + lines[pos:]
    header = []
    if lines and lines[-1].raw.strip():
        header.append(Line('', eol, None))
    header.append(Line(MANAGED_MARKER, eol, None))
    return lines + header + new_lines


# --------------------------------------------------------------------------- includes / overrides

def _read(path):
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'surrogateescape')


def included_files(line, base_dir):
    """Files an include line pulls in, in the order PostgreSQL reads them."""
    target = line.value
    if not os.path.isabs(target):
        target = os.path.join(base_dir, target)
    if line.name == 'include_dir':
        if not os.path.isdir(target):
            return []
        names = sorted(n for n in os.listdir(target)
                       if n.endswith('.conf') and not n.startswith('.'))
        return [os.path.join(target, n) for n in names]
    if line.name == 'include_if_exists' and not os.path.exists(target):
        return []
    return [target]


def find_settings_in(path, names, depth=0):
    """[(file, line number, name, value)] for ``names`` set in ``path`` and what it includes."""
    if depth > 10:
        raise PgConfError('Include nesting too deep at %s.' % path)
    found = []
    try:
        lines = parse(_read(path))
    except (IOError, OSError) as exc:
        raise PgConfError('Cannot read included file %s: %s' % (path, exc))
    for line in lines:
        if line.kind == 'setting' and line.name in names:
            found.append((path, line.number, line.name, line.value))
        elif line.kind == 'include':
            for inc in included_files(line, os.path.dirname(path)):
                found.extend(find_settings_in(inc, names, depth + 1))
    return found


def find_overrides(config_file, lines, names, auto_conf=None):
    """Places that would silently win over the effective lines of ``names`` in ``lines``.

    An include after the effective line (or anywhere, for a setting that is absent and will
    be appended at the end) that sets the name, and postgresql.auto.conf (ALTER SYSTEM),
    which is read last.
    """
    names = set(n.lower() for n in names)
    overrides = []
    base_dir = os.path.dirname(config_file)
    for name in names:
        index = effective_index(lines, name)
        if index is None:
            continue  # an absent setting is appended after every include, so includes lose
        for line in lines[index + 1:]:
            if line.kind != 'include':
                continue
            for inc in included_files(line, base_dir):
                for hit in find_settings_in(inc, set([name])):
                    overrides.append({'file': hit[0], 'line': hit[1], 'name': hit[2],
                                      'value': hit[3], 'via': 'include'})
    if auto_conf and os.path.exists(auto_conf):
        for line in parse(_read(auto_conf)):
            if line.kind == 'setting' and line.name in names:
                overrides.append({'file': auto_conf, 'line': line.number, 'name': line.name,
                                  'value': line.value, 'via': 'ALTER SYSTEM'})
    return overrides


def disable_lines(text, numbers, delete=False):
    """Comment out (or delete) the given 1-based line numbers of a file's text."""
    lines = parse(text)
    for number in sorted(numbers, reverse=True):
        if delete:
            del lines[number - 1]
        else:
            lines[number - 1] = _comment_out(lines[number - 1],
                                             'overriding value disabled by pgssl.postgresql')
    return render(lines)


def needs_restart(names):
    return sorted(n for n in names if n.lower() in RESTART_SETTINGS)
