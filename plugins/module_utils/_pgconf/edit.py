# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing postgresql.conf: values compared as the server reads them, settings changed in place
or appended to a marked block, includes and ALTER SYSTEM overrides."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._files import paths as fpaths
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgconf.lexer import (
    _MEMORY_UNITS,
    _TIME_UNITS,
    BOOL_PREFIXES,
    BOOL_WORDS,
    check_value,
    effective_index,
    INCLUDE_DIRECTIVES,
    Line,
    MANAGED_MARKER,
    parse,
    PgConfError,
    quote,
    render,
    RESTART_SETTINGS,
    unquote,
)


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


# Settings whose value is a secret (a command that prints a key's passphrase): never shown.
SECRET_SETTINGS = frozenset(('ssl_passphrase_command',))
MASK = '********'


def secret_values(settings, lines=()):
    """Values of secret settings, asked for or already in the file, to keep out of output."""
    out = set()
    for name, value in (settings or {}).items():
        if name.lower() in SECRET_SETTINGS and value not in (None, ''):
            out.add(str(value))
    for line in lines:
        if line.kind == 'setting' and line.name in SECRET_SETTINGS and line.value:
            out.add(line.value)
    return out


# String settings (and every custom name with a dot): their values compare as text, so 'TRUE'
# is not 'on' and '08' is not '8'.
STRING_SETTINGS = frozenset(
    (
        'ssl_ciphers',
        'ssl_tls13_ciphers',
        'ssl_ecdh_curve',
        'ssl_groups',
        'ssl_min_protocol_version',
        'ssl_max_protocol_version',
        'ssl_cert_file',
        'ssl_key_file',
        'ssl_ca_file',
        'ssl_crl_file',
        'ssl_crl_dir',
        'ssl_dh_params_file',
        'ssl_passphrase_command',
        'application_name',
        'search_path',
        'log_line_prefix',
        'cluster_name',
        'datestyle',
        'timezone',
        'log_timezone',
        'listen_addresses',
        'unix_socket_directories',
        'hba_file',
        'ident_file',
        'data_directory',
        'config_file',
        'external_pid_file',
        'shared_preload_libraries',
        'krb_server_keyfile',
        'archive_command',
        'restore_command',
        'primary_conninfo',
        'log_directory',
        'log_filename',
    )
)


def same_value(a, b, name=None):
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
    if name is not None and (name.lower() in STRING_SETTINGS or '.' in name):
        return False
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
        if not re.match(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$', name):
            raise PgConfError('Invalid parameter name %r.' % name)
        if name.lower() in INCLUDE_DIRECTIVES:
            raise PgConfError('%s is a directive, not a setting; pg_conf does not manage it.' % name)
        if settings[name] is not None and not isinstance(settings[name], bool):
            check_value(name, settings[name])
    for name, value in settings.items():
        key = name.lower()
        index = effective_index(lines, key)
        if value is None:
            for i, line in enumerate(lines):
                if line.kind == 'setting' and line.name == key:
                    changes.append({'name': key, 'before': line.value, 'after': None, 'line': line.number})
                    lines[i] = _comment_out(line, 'reset to default by pgssl.postgresql')
            continue
        if index is not None:
            line = lines[index]
            if same_value(line.value, value, key):
                continue
            new = _copy(line)
            rendered = quote(value)
            new.raw = line.raw[: line.start] + rendered + line.raw[line.end :]
            new.value = unquote(rendered)
            new.end = line.start + len(rendered)
            lines[index] = new
            changes.append({'name': key, 'before': line.value, 'after': str(new.value), 'line': line.number})
        else:
            append.append((key, value))
            changes.append({'name': key, 'before': None, 'after': unquote(quote(value)), 'line': None})
    if append:
        lines = _append_managed(lines, append)
    return lines, changes


def _copy(line):
    new = Line(line.raw, line.eol, line.number)
    for attr in ('kind', 'name', 'value', 'start', 'end', 'error'):
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


MAX_DEPTH = 10  # PostgreSQL's CONF_FILE_MAX_DEPTH
# Bounded work on a tree the server user writes: entries of one include_dir, files of a tree.
MAX_DIR_ENTRIES = 1000
MAX_TREE_FILES = 2000


def included_files(line, base_dir):
    """Files an include line pulls in, in the order PostgreSQL reads them (include_dir: the
    regular ``*.conf`` files not starting with a dot, in byte order)."""
    target = line.value
    if target.strip(' \t\r\n') == '':
        raise PgConfError('empty configuration file name in an %s line' % line.name)
    if not os.path.isabs(target):
        target = os.path.join(base_dir, target)
    target = os.path.normpath(target)
    if line.name == 'include_dir':
        if not os.path.isdir(target):
            raise PgConfError('could not open configuration directory "%s"' % target)
        listed = os.listdir(target)
        if len(listed) > MAX_DIR_ENTRIES:
            raise PgConfError(
                'configuration directory "%s" holds %d entries, more than the %d read here'
                % (target, len(listed), MAX_DIR_ENTRIES)
            )
        names = sorted(
            # the server takes every entry but directories (a FIFO too, which read_tree refuses)
            (
                n
                for n in listed
                if n.endswith('.conf') and not n.startswith('.') and not os.path.isdir(os.path.join(target, n))
            ),
            key=lambda n: n.encode('utf-8', 'surrogateescape'),
        )
        return [os.path.join(target, n) for n in names]
    if line.name == 'include_if_exists' and not os.path.exists(target):
        return []
    return [target]


def read_tree(path, depth=0, errors=None, calling=None, budget=None):
    """What the server reads starting at ``path``: [(file, line number, name, value)] in order,
    with includes expanded where they stand.

    Without ``errors``, the first syntax error or unreadable include raises PgConfError (the
    server would not apply the files either). With a list, each error is recorded there as
    (file, line, message) the way the server reports it: a file stops at its first syntax
    error, the file that included it goes on.
    """

    def fail(where, number, message):
        if errors is None:
            raise PgConfError('%s:%s: %s; the server would not load this file' % (where, number, message))
        errors.append((where, number, message))

    budget = budget if budget is not None else [MAX_TREE_FILES]
    budget[0] -= 1
    if budget[0] < 0:
        # not the server's rule: a bound on a tree someone else writes, an error either way
        raise PgConfError(
            '%s: the include tree reads more than %d files (includes of includes); refusing to '
            'read further' % (path if calling is None else '%s:%s' % calling, MAX_TREE_FILES)
        )
    if depth > MAX_DEPTH:
        fail(calling[0], calling[1], 'could not open configuration file "%s": maximum nesting depth exceeded' % path)
        return []
    if os.path.isdir(path):
        fail(path, 1, 'is a directory, not a configuration file')
        return []
    try:
        lines = parse(txt.read(path))
    except fpaths.PgsslFileError as exc:
        # refused by the bounded read (a FIFO, device, planted link or huge file): the server
        # would block or fail on it too, and nothing in the tree is trusted then
        raise PgConfError('%s%s' % ('' if calling is None else '%s:%s: included here: ' % calling, exc))
    except (IOError, OSError) as exc:
        if calling is None:
            raise PgConfError('could not open configuration file "%s": %s' % (path, exc.strerror))
        fail(calling[0], calling[1], 'could not open configuration file "%s": %s' % (path, exc.strerror))
        return []
    found = []
    for line in lines:
        if line.kind == 'invalid':
            fail(path, line.number, line.error)
            break
        if line.kind == 'setting':
            found.append((path, line.number, line.name, line.value))
        elif line.kind == 'include':
            try:
                targets = included_files(line, os.path.dirname(path))
            except PgConfError as exc:
                fail(path, line.number, str(exc))
                continue
            for inc in targets:
                before = len(errors) if errors is not None else 0
                found.extend(read_tree(inc, depth + 1, errors, (path, line.number), budget))
                if line.name == 'include_dir' and errors is not None and len(errors) > before:
                    break  # the server stops reading a directory at its first failing file
    return found


def find_settings_in(path, names, depth=0):
    """[(file, line number, name, value)] for ``names`` set in ``path`` and what it includes."""
    return [hit for hit in read_tree(path, depth) if hit[2] in names]


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
        for line in lines[index + 1 :]:
            if line.kind != 'include':
                continue
            for inc in included_files(line, base_dir):
                for hit in find_settings_in(inc, set([name])):
                    overrides.append(
                        {'file': hit[0], 'line': hit[1], 'name': hit[2], 'value': hit[3], 'via': 'include'}
                    )
    if auto_conf and os.path.exists(auto_conf):
        for line in parse(txt.read(auto_conf)):
            if line.kind == 'setting' and line.name in names:
                overrides.append(
                    {
                        'file': auto_conf,
                        'line': line.number,
                        'name': line.name,
                        'value': line.value,
                        'via': 'ALTER SYSTEM',
                    }
                )
    return overrides


def disable_lines(text, numbers, delete=False):
    """Comment out (or delete) the given 1-based line numbers of a file's text."""
    lines = parse(text)
    for number in sorted(numbers, reverse=True):
        if delete:
            del lines[number - 1]
        else:
            lines[number - 1] = _comment_out(lines[number - 1], 'overriding value disabled by pgssl.postgresql')
    return render(lines)


def needs_restart(names):
    return sorted(n for n in names if n.lower() in RESTART_SETTINGS)
