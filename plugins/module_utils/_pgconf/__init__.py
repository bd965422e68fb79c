# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql.conf round-trip parser and editor (pure).

Lines remember their original text. Editing a setting replaces only the value's characters of
the effective line (the last active occurrence), so spacing and trailing comments survive and
every other line is written back byte for byte. Names are matched exactly, never by prefix, so
``ssl`` never touches ``ssl_ciphers``.

The parts: ``lexer`` (a port of the server's guc-file lexer) and ``edit`` (comparing values as
the server reads them, editing, includes and ALTER SYSTEM overrides). This file gathers their
public names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgconf.lexer import (  # noqa: F401
    BOOL_PREFIXES,
    BOOL_WORDS,
    check_value,
    effective_index,
    effective_values,
    INCLUDE_DIRECTIVES,
    Line,
    MANAGED_MARKER,
    parse,
    parse_line,
    PgConfError,
    quote,
    render,
    RESTART_SETTINGS,
    split_lines,
    syntax_errors,
    tokens,
    unquote,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgconf.edit import (  # noqa: F401
    disable_lines,
    find_overrides,
    find_settings_in,
    included_files,
    MASK,
    MAX_DEPTH,
    MAX_TREE_FILES,
    needs_restart,
    read_tree,
    same_value,
    SECRET_SETTINGS,
    secret_values,
    set_settings,
    STRING_SETTINGS,
)
