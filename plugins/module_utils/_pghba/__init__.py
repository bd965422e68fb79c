# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf round-trip parser and editor (pure).

The parser reads a file the way PostgreSQL's hba.c does: records end at a newline only, a
backslash at the end of a line continues the record (PostgreSQL 16 and later), fields are split
on blanks, lists on unquoted commas, ``#`` outside quotes starts a comment, a quoted token is
never a keyword, an IP address without a CIDR suffix takes the next field as its mask. Each record
keeps its original text; only records this module adds or edits are rendered anew.

pg_hba.conf is first match wins. A rule is placed before every earlier rule that *overlaps* it
(matches some of the same connections), except the rules it covers entirely (they stay before it,
or they would become unreachable) and other ``reject`` rules (a new rule never punches a hole in an
operator's reject). When no order satisfies all of that, or a reject hides the rule entirely, the
edit is refused.

The parts: ``syntax`` (tokens, names, addresses), ``records`` (rules, includes, parsing a file),
``overlap`` (which rules overlap, cover or shadow others) and ``edit`` (building rules, placing
them, require_ssl, one whole edit). This file gathers their public names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.syntax import (  # noqa: F401
    Address,
    address_covers,
    ADDRESS_KEYWORDS,
    addresses_overlap,
    DB_KEYWORDS,
    INCLUDE_DIRECTIVES,
    ip_address_obj,
    MARKER,
    METHODS,
    Name,
    names_cover,
    names_overlap,
    OPTION_METHODS,
    parse_address,
    parse_name,
    PgHbaError,
    quote_token,
    SECRET_OPTIONS,
    split_records,
    TCP_TYPES,
    tokenize,
    TYPES,
    USER_KEYWORDS,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.records import (  # noqa: F401
    check_options,
    check_valid,
    explain,
    Include,
    Invalid,
    Other,
    parse,
    parse_line,
    parse_record,
    parse_rule,
    read_tree,
    render,
    Rule,
    rules,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.overlap import (  # noqa: F401
    covers,
    example,
    overlaps,
    partly_shadowed,
    shadowed,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.edit import (  # noqa: F401
    check_scope,
    describe_spec,
    ensure_rule,
    make_rule,
    plan,
    purge_managed,
    reject_rules,
    remove_rule,
    require_ssl,
    validate_rule,
)
