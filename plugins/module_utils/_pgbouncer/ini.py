# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbouncer.ini read the way PgBouncer reads it, and an editor of its ``[pgbouncer]`` keys.

PgBouncer's reader (libusual's ini parser) works line by line:
- leading white space is skipped (blank lines too); a line whose first character then is ``#``
  or ``;`` is a comment, and only a whole line is: ``key = a ; b`` has the value ``a ; b``;
- ``%include <file>`` (followed by a blank) reads that file at this point, ten levels deep at
  most; a relative name is taken from PgBouncer's working directory, so it is refused here;
- ``[name]`` starts a section; each ``[pgbouncer]`` header first resets every setting to its
  default, so only the keys after the last one count;
- ``key = value``: the key is letters, digits and ``_.-*`` (compared case-sensitively), the
  value runs to the end of the line with trailing white space removed; quotes are literal;
- the last assignment of a key wins; an unknown key or section stops the loading at that
  line, and a RELOAD then leaves every key after it at its default (``client_tls_sslmode`` and
  ``server_tls_sslmode`` fall back to ``disable``) while still answering ``RELOAD``.

So the editor refuses a tree it cannot read exactly (a syntax error, an unknown key or
section, a relative include, a NUL byte), edits a key on the line that decides it (in the file
that holds it, the rest of the line's layout kept), and adds a missing key right after the
last ``[pgbouncer]`` header's own keys, before any include or section that could follow.
Messages name files and line numbers, never what a line says.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

MAX_INCLUDE = 10
# what C's isspace() skips (PgBouncer runs in the C locale for this)
SPACE = ' \t\n\v\f\r'
_KEY = re.compile(r'[A-Za-z0-9_.*-]*')
SECTIONS = ('pgbouncer', 'databases', 'users')
# keys whose value PgBouncer compares without case (lookups)
CASELESS = ('client_tls_sslmode', 'server_tls_sslmode', 'auth_type', 'pool_mode')


class PgbouncerConfigError(PgsslError):
    default_code = 'pgbouncer_config'


class Entry(object):
    """One meaningful line: a section header, a key, or an include."""

    __slots__ = ('path', 'index', 'kind', 'section', 'key', 'value', 'value_start')

    def __init__(self, path, index, kind, section, key=None, value=None, value_start=None):
        self.path = path
        self.index = index
        self.kind = kind
        self.section = section
        self.key = key
        self.value = value
        self.value_start = value_start

    def where(self):
        return '%s:%d' % (self.path, self.index + 1)


def split_lines(text):
    """Lines as PgBouncer counts them (``\\n`` ends a line; a ``\\r`` stays in its line)."""
    return text.split('\n')


def _parse_line(line):
    """(kind, name/key, value, value_start) of one line, or raise ValueError."""
    body = line.lstrip(SPACE)
    lead = len(line) - len(body)
    if not body:
        return ('blank', None, None, None)
    if body.startswith('%include') and len(body) > 8 and body[8] in ' \t':
        name = body[8:].strip(' \t').rstrip(SPACE)
        return ('include', name, None, None)
    if body[0] in '#;':
        return ('comment', None, None, None)
    if body[0] == '[':
        end = body.find(']')
        if end < 0:
            raise ValueError('a section header without its closing bracket')
        if body[end + 1 :].strip(SPACE):
            raise ValueError('more after a section header on the same line')
        return ('section', body[1:end], None, None)
    key = _KEY.match(body).group(0)
    rest = body[len(key) :]
    stripped = rest.lstrip(' \t')
    if not stripped.startswith('='):
        raise ValueError('a line that is neither a comment, a section, an include nor key = value')
    after = stripped[1:]
    value = after.lstrip(' \t')
    value_start = lead + len(key) + (len(rest) - len(stripped)) + 1 + (len(after) - len(value))
    return ('key', key, value.rstrip(SPACE), value_start)


class Tree(object):
    """The whole include tree of one pgbouncer.ini: its files' lines and its entries in the
    order PgBouncer reads them.

    ``reader(path)`` returns a file's text (the caller decides how it is read safely); it is
    called once per file."""

    def __init__(self, path, reader, sections=SECTIONS):
        self.root = os.path.normpath(path)
        self.sections = tuple(sections)
        self.lines = {}
        self.entries = []
        self._reader = reader
        self._load(self.root, 0, None)

    def _load(self, path, depth, section):
        if path not in self.lines:
            text = self._reader(path)
            if '\0' in text:
                raise PgbouncerConfigError('Refusing %s: it holds a NUL byte, which PgBouncer stops reading at.' % path)
            self.lines[path] = split_lines(text)
        for index, line in enumerate(self.lines[path]):
            try:
                kind, name, value, value_start = _parse_line(line)
            except ValueError as exc:
                raise PgbouncerConfigError(
                    'Refusing %s:%d: %s; PgBouncer stops loading there. Fix the line first.' % (path, index + 1, exc),
                    'pgbouncer_syntax',
                )
            if kind in ('blank', 'comment'):
                continue
            if kind == 'section':
                if name not in self.sections:
                    raise PgbouncerConfigError(
                        'Refusing %s:%d: a section this PgBouncer does not know; it stops loading there.'
                        % (path, index + 1),
                        'pgbouncer_syntax',
                    )
                section = name
                self.entries.append(Entry(path, index, 'section', name))
            elif kind == 'include':
                if depth + 1 > MAX_INCLUDE:
                    raise PgbouncerConfigError(
                        'Refusing %s:%d: includes nest deeper than %d.' % (path, index + 1, MAX_INCLUDE),
                        'pgbouncer_syntax',
                    )
                if not os.path.isabs(name):
                    raise PgbouncerConfigError(
                        'Refusing %s:%d: a relative %%include is read from PgBouncer\'s working directory, '
                        'which this module cannot know; give the included file as an absolute path.'
                        % (path, index + 1),
                        'pgbouncer_include',
                    )
                self.entries.append(Entry(path, index, 'include', section, key=name))
                section = self._load(os.path.normpath(name), depth + 1, section)
            else:
                if section is None:
                    raise PgbouncerConfigError(
                        'Refusing %s:%d: a setting before any section; PgBouncer stops loading there.'
                        % (path, index + 1),
                        'pgbouncer_syntax',
                    )
                self.entries.append(Entry(path, index, 'key', section, name, value, value_start))
        return section

    def _last_header(self):
        last = None
        for pos, entry in enumerate(self.entries):
            if entry.kind == 'section' and entry.section == 'pgbouncer':
                last = pos
        if last is None:
            raise PgbouncerConfigError('%s has no [pgbouncer] section.' % self.root, 'pgbouncer_syntax')
        return last

    def check_keys(self, known):
        """Every key of a ``[pgbouncer]`` section must be one this PgBouncer knows."""
        known = set(known)
        for entry in self.entries:
            if entry.kind == 'key' and entry.section == 'pgbouncer' and entry.key not in known:
                raise PgbouncerConfigError(
                    'Refusing %s: a key this PgBouncer does not know. A RELOAD would stop there and put every '
                    'later key back to its default (client_tls_sslmode and server_tls_sslmode to disable). '
                    'Remove or fix it first.' % entry.where(),
                    'pgbouncer_unknown_key',
                )

    def settings(self):
        """{key: Entry} of the keys that decide PgBouncer's settings (after the last header)."""
        found = {}
        for entry in self.entries[self._last_header() + 1 :]:
            if entry.kind == 'key' and entry.section == 'pgbouncer':
                found[entry.key] = entry
        return found

    def values(self):
        return dict((key, entry.value) for key, entry in self.settings().items())

    def _insert_point(self):
        """(path, index) after which a new key goes: the last ``[pgbouncer]`` header's own
        keys, in its file, up to the first include or section that follows."""
        pos = self._last_header()
        header = self.entries[pos]
        index = header.index
        for entry in self.entries[pos + 1 :]:
            if entry.path != header.path or entry.kind != 'key':
                break
            index = entry.index
        return header.path, index


def check_value(key, value):
    """A value PgBouncer reads back exactly as given."""
    if not isinstance(value, str):
        raise PgbouncerConfigError('%s: the value must be a string.' % key, 'bad_value')
    if any(c in value for c in '\n\r\0'):
        raise PgbouncerConfigError(
            '%s: a value with a line break or NUL cannot be written to pgbouncer.ini.' % key, 'bad_value'
        )
    if value != value.strip(SPACE):
        raise PgbouncerConfigError(
            '%s: PgBouncer strips white space around a value; give it without.' % key, 'bad_value'
        )
    if not _KEY.fullmatch(key) or not key:
        raise PgbouncerConfigError('%r is not a PgBouncer key.' % key, 'bad_value')


def same(key, a, b):
    if a is None or b is None:
        return a is b
    return a.lower() == b.lower() if key in CASELESS else a == b


def edit(tree, wanted):
    """{path: new text} and the changed keys, for the settings ``wanted`` ({key: value})."""
    for key, value in wanted.items():
        check_value(key, value)
    current = tree.settings()
    new_lines = dict((path, list(lines)) for path, lines in tree.lines.items())
    inserts = []
    changed = []
    for key in sorted(wanted):
        value = wanted[key]
        entry = current.get(key)
        if entry is not None and same(key, entry.value, value):
            continue
        changed.append(key)
        if entry is not None:
            line = new_lines[entry.path][entry.index]
            new_lines[entry.path][entry.index] = line[: entry.value_start] + value
        else:
            inserts.append('%s = %s' % (key, value))
    for key in changed:
        if key in current and current[key].path != tree.root:
            raise PgbouncerConfigError(
                'Refusing to edit %s: %s is decided there, in an included file; this module edits the main '
                'file only. Move the setting to %s or remove it from the include.'
                % (current[key].where(), key, tree.root),
                'pgbouncer_include',
            )
    touched = set(current[key].path for key in changed if key in current)
    if inserts:
        path, index = tree._insert_point()
        if path != tree.root:
            raise PgbouncerConfigError(
                'Refusing to add %s: the last [pgbouncer] header is in an included file (%s:%d); this module '
                'edits the main file only.'
                % (', '.join(sorted(k for k in changed if k not in current)), path, index + 1),
                'pgbouncer_include',
            )
        new_lines[path][index + 1 : index + 1] = inserts
        touched.add(path)
    return dict((path, '\n'.join(new_lines[path])) for path in touched), changed
