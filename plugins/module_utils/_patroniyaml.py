# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A member's patroni.yml, edited in place: a few keys set or removed, every other byte
(comments, order, quoting, blank lines) kept.

Patroni reads its file with PyYAML's safe loader, so this reads it the same way. The edit
works on the text: the node graph (``yaml.compose``) gives where each key and value sits, and
a value is replaced in its own span, a missing key added as a new line in its block mapping
at that mapping's indentation, a removed key's lines taken out. The result is then read again
and must equal the old configuration with exactly the asked changes applied; anything else (a
mapping written in flow style or JSON, an anchor shared with another place, a key given
twice, a value spread over lines in a way this editor does not rewrite) is refused with the
line named, and the file stays as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

# a patroni.yml is a few KiB; the cap bounds the parse, not the file kind
MAX_TEXT = 1 << 20
MAX_DEPTH = 32
REMOVE = object()
# keys whose value is a secret: masked in every diff and message
SECRET_KEYS = ('password', 'keyfile_password', 'auth', 'sslpassword', 'token', 'cert_password')


class PatroniYamlError(PgsslError):
    default_code = 'patroni_yaml'


def _yaml():
    try:
        import yaml
    except ImportError:
        raise PatroniYamlError(
            'PyYAML is needed on the Patroni host to edit patroni.yml (python3-yaml).', 'missing_library'
        )
    return yaml


def _depth(value, level=0):
    if level > MAX_DEPTH:
        raise PatroniYamlError('The configuration nests deeper than %d levels.' % MAX_DEPTH)
    if isinstance(value, dict):
        for item in value.values():
            _depth(item, level + 1)
    elif isinstance(value, list):
        for item in value:
            _depth(item, level + 1)


def load(text, where='patroni.yml'):
    """The configuration as Patroni reads it (a mapping)."""
    if len(text) > MAX_TEXT:
        raise PatroniYamlError('Refusing %s: more than %d KiB.' % (where, MAX_TEXT >> 10))
    yaml = _yaml()
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        mark = getattr(exc, 'problem_mark', None)
        line = ' (line %d)' % (mark.line + 1) if mark is not None else ''
        raise PatroniYamlError('%s is not YAML Patroni can read%s.' % (where, line))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PatroniYamlError('%s does not hold a mapping at its top.' % where)
    _depth(data)
    return data


_MISSING = object()


def get(data, path, default=None):
    """The value at ``path`` (a tuple of keys), or ``default`` when a key along it is missing."""
    node = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _unshared(value):
    """A copy in which no two places share a mapping or list (as an alias makes them share):
    a change at one path then shows nowhere else, so an edit that reaches further is seen."""
    if isinstance(value, dict):
        return dict((k, _unshared(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value


def applied(data, changes):
    """``data`` with ``changes`` ([(path, value or REMOVE)]) applied, as a new mapping."""
    out = _unshared(data)
    for path, value in changes:
        if value is REMOVE:
            parent = get(out, path[:-1])
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            continue
        node = out
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    return out


def render(value):
    """A scalar as YAML reads it back exactly (a double-quoted string is JSON's form)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if '\n' in value or '\r' in value:
            raise PatroniYamlError('A value with a line break is refused.', 'bad_value')
        return _quoted(value)
    raise PatroniYamlError('Only strings, numbers, booleans and null are written (got %s).' % type(value).__name__)


def _quoted(value):
    """A YAML double-quoted scalar: printable characters as they are, every other one (control
    characters, YAML's other line breaks, surrogates, a BOM) escaped by its code point."""
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append('\\' + char)
        elif (
            code < 0x20
            or 0x7F <= code <= 0x9F
            or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
            or 0xD800 <= code <= 0xDFFF
        ):
            out.append('\\u%04x' % code)
        else:
            out.append(char)
    out.append('"')
    return ''.join(out)


def _line(mark):
    return mark.line + 1


def _find(mapping, key, where):
    """The (key node, value node) pair of ``key`` in a block mapping node, or None."""
    found = [pair for pair in mapping.value if getattr(pair[0], 'value', None) == key]
    if len(found) > 1:
        raise PatroniYamlError(
            '%s gives the key %s twice (lines %s): refusing to guess which one Patroni uses.'
            % (where, key, ', '.join(str(_line(k.start_mark)) for k, _v in found))
        )
    return found[0] if found else None


def _check_block(node, path, where):
    yaml = _yaml()
    if not isinstance(node, yaml.MappingNode):
        raise PatroniYamlError(
            '%s: %s is not a mapping (line %d).' % (where, '.'.join(path) or 'the top', _line(node.start_mark))
        )
    if node.flow_style:
        raise PatroniYamlError(
            '%s: %s is written in flow style or JSON (line %d); this module edits block-style YAML only '
            '(one key per line).' % (where, '.'.join(path) or 'the top', _line(node.start_mark))
        )


def _line_start(text, index):
    return text.rfind('\n', 0, index) + 1


def _line_end(text, index):
    """The index just past the newline of the line holding ``index`` (or the text's end)."""
    end = text.find('\n', index)
    return len(text) if end < 0 else end + 1


def _block_lines(path, value, indent):
    """The lines of a new ``path[0]: ...`` entry at ``indent`` (nested mappings for the rest; a
    list of scalars as a block sequence, one item per line)."""
    lines = []
    for depth, key in enumerate(path[:-1]):
        lines.append('%s%s:\n' % (' ' * (indent + 2 * depth), render(key) if not _plain_key(key) else key))
    pad = ' ' * (indent + 2 * (len(path) - 1))
    key = render(path[-1]) if not _plain_key(path[-1]) else path[-1]
    if isinstance(value, dict) and not value:
        lines.append('%s%s: {}\n' % (pad, key))
    elif isinstance(value, list):
        if not value:
            lines.append('%s%s: []\n' % (pad, key))
        else:
            lines.append('%s%s:\n' % (pad, key))
            lines.extend('%s  - %s\n' % (pad, render(item)) for item in value)
    else:
        lines.append('%s%s: %s\n' % (pad, key, render(value)))
    return ''.join(lines)


def _check_value(value):
    """Raises unless ``value`` is a scalar this editor writes, or a list of them."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (list, dict)):
                raise PatroniYamlError('Only a list of single values is written, not a nested one.', 'bad_value')
            render(item)
    else:
        render(value)


def _plain_key(key):
    return bool(key) and all(c.isalnum() or c in '_-' for c in key)


def _edit_one(text, path, value, where):
    yaml = _yaml()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        raise PatroniYamlError('%s is not YAML Patroni can read.' % where)
    if root is None:
        if value is REMOVE:
            return text
        return text + ('' if not text or text.endswith('\n') else '\n') + _block_lines(path, value, 0)
    node, holder = root, None
    for depth, key in enumerate(path):
        if holder is not None and _empty(node):
            if value is REMOVE:
                return text
            # ``key:`` or ``key: {}`` on the way: the entry becomes a block mapping
            start, stop = _entry_span(text, holder, path[:depth], where)
            return text[:start] + _block_lines(path[depth - 1 :], value, holder[0].start_mark.column) + text[stop:]
        _check_block(node, path[:depth], where)
        pair = _find(node, key, where)
        if pair is None:
            if value is REMOVE:
                return text
            return _insert(text, node, path[depth:], value)
        if depth == len(path) - 1:
            if value is REMOVE and holder is not None and len(node.value) == 1:
                # the mapping's only key: the mapping stays, empty (block YAML has no empty mapping)
                start, stop = _entry_span(text, holder, path[:depth], where)
                return (
                    text[:start] + _block_lines(path[depth - 1 : depth], {}, holder[0].start_mark.column) + text[stop:]
                )
            return _replace(text, pair, path, value, where)
        node, holder = pair[1], pair
    return text


def _empty(node):
    """A null value or an empty flow mapping, where a block mapping may be written instead."""
    yaml = _yaml()
    if isinstance(node, yaml.ScalarNode):
        return node.tag.endswith(':null')
    return isinstance(node, yaml.MappingNode) and node.flow_style and not node.value


def _insert(text, mapping, path, value):
    """A new entry after the last one of a block mapping, at its indentation."""
    indent = mapping.value[0][0].start_mark.column if mapping.value else 0
    last_value = mapping.value[-1][1] if mapping.value else None
    if last_value is None:
        at = len(text)
    else:
        end = last_value.end_mark
        # a nested block ends at the start of the line after it; a scalar inside its line
        at = end.index if end.column == 0 else _line_end(text, end.index)
        # comment lines at the mapping's end stay after the entry only when indented deeper
    prefix = '' if at == 0 or text[at - 1] == '\n' else '\n'
    return text[:at] + prefix + _block_lines(path, value, indent) + text[at:]


def _replace(text, pair, path, value, where):
    yaml = _yaml()
    key, node = pair
    if value is REMOVE:
        start, stop = _entry_span(text, pair, path, where)
        return text[:start] + text[stop:]
    if isinstance(value, list) or isinstance(node, yaml.SequenceNode):
        return _replace_entry(text, pair, path, value, where)
    if not isinstance(node, yaml.ScalarNode):
        raise PatroniYamlError(
            '%s: %s holds a list or mapping (line %d), not a single value.'
            % (where, '.'.join(path), _line(node.start_mark))
        )
    if node.style in ('|', '>'):
        raise PatroniYamlError(
            '%s: %s is a block scalar (line %d); write it on one line.'
            % (where, '.'.join(path), _line(node.start_mark))
        )
    start, stop = node.start_mark.index, node.end_mark.index
    new = render(value)
    if start == stop:
        # an empty value (``key:``): the new one after the colon
        return text[:start] + ' ' + new + text[stop:]
    return text[:start] + new + text[stop:]


def _last_index(node):
    """Where a value's text ends: a block collection ends where the next key starts, so its end
    is that of its last item (or last value), found down the tree."""
    yaml = _yaml()
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style and node.value:
        node = node.value[-1]
        if isinstance(node, tuple):
            node = node[1]
    return node.end_mark.index


def _entry_span(text, pair, path, where):
    """(start, stop) of the lines of a ``key: value`` entry: from the start of the key's line to
    the end of the line its value ends on (a comment there goes with it)."""
    key, node = pair
    start = _line_start(text, key.start_mark.index)
    if text[start : key.start_mark.index].strip():
        raise PatroniYamlError(
            '%s: %s does not start its own line (line %d).' % (where, '.'.join(path), _line(key.start_mark))
        )
    last = max(_last_index(node), key.end_mark.index)
    stop = _line_end(text, last)
    tail = text[last:stop].strip()
    if tail and not tail.startswith('#'):
        raise PatroniYamlError(
            '%s: %s is followed by more on its last line (line %d).' % (where, '.'.join(path), _line(node.end_mark))
        )
    return start, stop


def _replace_entry(text, pair, path, value, where):
    """The whole ``key: value`` entry rewritten as new lines at the key's indentation (a list of
    single values, one item per line)."""
    yaml = _yaml()
    key, node = pair
    if isinstance(node, yaml.MappingNode):
        raise PatroniYamlError(
            '%s: %s holds a mapping (line %d), not a list.' % (where, '.'.join(path), _line(node.start_mark))
        )
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    if any(not isinstance(item, yaml.ScalarNode) or item.style in ('|', '>') for item in items):
        raise PatroniYamlError(
            '%s: %s holds a value of more than one line (line %d); this module writes one line per item.'
            % (where, '.'.join(path), _line(node.start_mark))
        )
    start, stop = _entry_span(text, pair, path, where)
    return text[:start] + _block_lines(path[-1:], value, key.start_mark.column) + text[stop:]


def edit(text, changes, where='patroni.yml'):
    """The new text with ``changes`` applied, and the paths that changed.

    ``changes`` is a list of (path tuple, value or REMOVE). Raises when the file cannot be
    edited so that Patroni reads exactly the asked result."""
    old = load(text, where)
    # each change is judged against the result of those before it
    due = []
    expected = old
    for path, value in changes:
        if value is REMOVE:
            if not _has(expected, path):
                continue
        elif _has(expected, path) and get(expected, path) == value and type(get(expected, path)) is type(value):
            continue
        due.append((path, value))
        expected = applied(expected, [(path, value)])
    if not due:
        return text, []
    new_text = text
    for path, value in due:
        if value is not REMOVE:
            _check_value(value)
        new_text = _edit_one(new_text, path, value, where)
    got = load(new_text, where)
    if got != expected:
        raise PatroniYamlError(
            '%s cannot be edited in place so that Patroni reads exactly the new values (an anchor, an alias or '
            'an unusual layout along %s); set them by hand.' % (where, ', '.join('.'.join(p) for p, _v in due))
        )
    return new_text, ['.'.join(p) for p, _v in due]


def _has(data, path):
    return get(data, path, _MISSING) is not _MISSING


# a secret key where a key can stand: at the line's start, in a list item, or inside a flow
# mapping or a JSON line ("{user: a, password: b}"); its value runs to the line's end
_SECRET_AT = re.compile(r'(^|[\s{,-])(["\']?)(%s)\2[ \t]*:(?=\s|$)' % '|'.join(SECRET_KEYS), re.IGNORECASE)


def masked(text):
    """``text`` with the value of every secret key replaced, line by line (for a diff), wherever
    the key stands on its line (block, flow or JSON style); a block scalar's lines go with it."""
    out = []
    hide_below = None
    for line in text.splitlines(True):
        indent = len(line) - len(line.lstrip(' '))
        if hide_below is not None:
            if not line.strip() or indent > hide_below:
                continue
            hide_below = None
        found = _SECRET_AT.search(line)
        if found:
            rest = line[found.end() :].strip()
            ending = '\n' if line.endswith('\n') else ''
            line = line[: found.end()] + ' ********' + ending
            if rest[:1] in ('|', '>'):
                hide_below = indent
        out.append(line)
    return ''.join(out)
