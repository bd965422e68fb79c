# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing pg_hba.conf: building rules from specs, placing them where the server reaches them,
require_ssl, and one whole edit (``plan``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.syntax import (
    _check_text,
    _TYPE_SET,
    address_covers,
    addresses_overlap,
    METHODS,
    parse_address,
    PgHbaError,
    SECRET_OPTIONS,
    TYPES,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.overlap import covers, example, overlaps
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.records import (
    check_options,
    check_valid,
    Other,
    parse,
    parse_line,
    Rule,
)


# --------------------------------------------------------------------------- building rules


def make_rule(spec, major=None, managed=False):
    """A Rule from an operator's dict (type, databases, users, address, method, options,
    comment), every field checked the way the server tokenizes and validates it."""

    def as_list(value, default):
        if value is None:
            return [default]
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return [v for v in str(value).split(',') if v != '']

    major = None if major is None else int(major)
    type_ = spec.get('type') or 'hostssl'
    if type_ not in TYPES:
        raise PgHbaError('Unknown connection type %r.' % type_)
    method = spec.get('method') or 'scram-sha-256'
    _check_text(method, 'The method')
    method = method.lower()
    if method not in METHODS:
        raise PgHbaError('Unknown authentication method %r.' % method)
    if method in ('sspi', 'bsd'):
        raise PgHbaError('The %s method does not exist on Linux builds of PostgreSQL.' % method)
    if method == 'oauth' and major is not None and major < 18:
        raise PgHbaError('The oauth method needs PostgreSQL 18 or later.')
    address = spec.get('address')
    if type_ == 'local':
        if address:
            raise PgHbaError('A local rule takes no address.')
        address = None
    else:
        if not address:
            raise PgHbaError('A %s rule needs an address (CIDR, all, samehost, samenet or a host name).' % type_)
        address = parse_address(str(address))
    databases = as_list(spec.get('databases'), 'all')
    users = as_list(spec.get('users'), 'all')
    if not databases or not users:
        raise PgHbaError('A rule needs at least one database and one user.')
    options = spec.get('options') or {}
    if isinstance(options, dict):
        options = sorted((str(k), '' if v is None else str(v)) for k, v in options.items())
    for key, value in options:
        _check_text(key, 'The option name')
        _check_text(value, 'The value of option %s' % key)
        if not re.match(r'^[a-z_]+$', key):
            raise PgHbaError('Invalid option name %r.' % key)
    comment = spec.get('comment')
    if comment is not None:
        comment = str(comment)
        _check_text(comment, 'The comment')
        if comment.rstrip().endswith('\\'):
            raise PgHbaError(
                'The comment %r ends with a backslash, which PostgreSQL 16 reads as '
                'a continuation of the next line.' % comment
            )
        comment = comment.strip() or None
    if method == 'cert' and type_ != 'hostssl':
        raise PgHbaError('The cert method works only on hostssl rules (got %s).' % type_)
    if method == 'peer' and type_ != 'local':
        raise PgHbaError('The peer method works only on local rules (got %s).' % type_)
    if method == 'gss' and type_ == 'local':
        raise PgHbaError('The gss method does not work on local rules.')
    rule = Rule(type_, databases, users, address, method, options, comment=comment, major=major, managed=managed)
    try:
        check_options(rule, major)
    except PgHbaError as exc:
        msg = str(exc)
        raise PgHbaError(msg[0].upper() + msg[1:] + '.')
    names = dict(rule.options)
    if method == 'ldap' and not ('ldapserver' in names or 'ldapurl' in names):
        raise PgHbaError('The ldap method needs the ldapserver or ldapurl option.')
    if method == 'radius' and not ('radiusservers' in names or 'radiusserver' in names):
        raise PgHbaError('The radius method needs the radiusservers option.')
    # the rendered line must read back as this very rule
    text = rule.render()
    back = parse_line(text, '', None, major)
    if back.kind != 'rule' or back.key() != rule.key() or back.method != rule.method or back.options != rule.options:
        raise PgHbaError('The rule %s would not read back as written; refusing it.' % rule.describe())
    return rule


def validate_rule(rule, major=None):
    check_options(rule, None if major is None else int(major))


# --------------------------------------------------------------------------- editing


def _index_of(lines, rule):
    for index, line in enumerate(lines):
        if line.kind == 'rule' and line.key() == rule.key():
            return index
    return None


def _constraints(lines, rule, skip=None):
    """(after, before, blockers): indices the rule must follow and precede, and reject rules
    that hide it entirely."""
    after, before, blockers = [], [], []
    for index, line in enumerate(lines):
        if index == skip:
            continue
        if line.kind == 'include':
            before.append(index)  # its rules are not known here: stay ahead of them
            continue
        if line.kind != 'rule' or not overlaps(line, rule):
            continue
        if covers(rule, line):
            after.append(index)
        elif line.method == 'reject' and not line.managed:
            if covers(line, rule):
                blockers.append(index)
            after.append(index)
        elif line.method == 'reject' and line.managed and rule.method != 'reject':
            after.append(index)  # our own refusal of plain TCP stays in front
        else:
            before.append(index)
    return after, before, blockers


def _same_content(a, b):
    return a.method == b.method and sorted(a.options) == sorted(b.options)


def ensure_rule(lines, rule):
    """Make ``rule`` present and reachable. Returns (lines, action or None, notes)."""
    lines = list(lines)
    notes = []
    index = _index_of(lines, rule)
    after, before, blockers = _constraints(lines, rule, skip=index)
    if blockers:
        hider = lines[blockers[0]]
        raise PgHbaError(
            'The rule %s could never match: line %s (%s) rejects every connection '
            'it would match. Remove or narrow that line first.' % (rule.describe(), hider.number, hider.describe())
        )
    lo = max(after) + 1 if after else 0
    hi = min(before) if before else len(lines)
    if lo > hi:
        first = lines[min(before)]
        last = lines[max(after)]
        raise PgHbaError(
            'The rule %s cannot be placed where it matches: it must come before line %s (%s), '
            'which would take %s, and after line %s (%s), which it would otherwise hide; but '
            'line %s comes first. Reorder or narrow those lines.'
            % (
                rule.describe(),
                first.number,
                first.describe(),
                example(first, rule),
                last.number,
                last.describe(),
                first.number,
            )
        )
    if index is not None:
        current = lines[index]
        same = _same_content(current, rule)
        if all(a < index for a in after) and all(b > index for b in before):
            if same:
                return lines, None, notes
            lines[index] = _rendered(rule, current)
            return lines, 'updated', notes
        fresh = current if same else _rendered(rule, current)
        del lines[index]
        after, before, _b = _constraints(lines, rule)
        lo = max(after) + 1 if after else 0
        hi = min(before) if before else len(lines)
        _insert(lines, _choose(lines, lo, hi, before), fresh)
        return lines, 'moved', notes
    _insert(lines, _choose(lines, lo, hi, before), rule)
    return lines, 'added', notes


def _rendered(rule, current):
    return Rule(
        rule.type,
        rule.dbs,
        rule.usrs,
        rule.addr,
        rule.method,
        rule.options,
        number=current.number,
        eol=current.eol or '\n',
        comment=rule.comment,
        managed=rule.managed,
    )


def _choose(lines, lo, hi, before):
    if before:
        return hi
    last_rule = max([i for i, l in enumerate(lines) if l.kind in ('rule', 'include')] or [-1])
    return min(max(lo, last_rule + 1), len(lines))


def _insert(lines, pos, rule):
    if pos == len(lines) and lines:
        last = lines[-1]
        if last.eol == '':
            last.eol = '\n'
        if last.text.rstrip('\r\n').endswith('\\'):
            # the last record ends in a continuation backslash: an empty line ends it first,
            # or the new rule would become part of it
            lines.append(Other('', '\n', None))
            pos += 1
    lines.insert(pos, rule)


def remove_rule(lines, rule):
    index = _index_of(lines, rule)
    if index is None:
        return lines, None
    lines = list(lines)
    del lines[index]
    return lines, 'removed'


def purge_managed(lines, keep_keys):
    """Remove managed rules (with the marker comment) whose key is not in ``keep_keys``."""
    out, actions = [], []
    for line in lines:
        if line.kind == 'rule' and line.managed and line.key() not in keep_keys:
            actions.append('removed %s (line %s, no longer listed)' % (line.describe(), line.number))
            continue
        out.append(line)
    return out, actions


def reject_rules(scope=None):
    """The rules that refuse TCP without TLS for normal and physical replication logins."""
    nets = scope or ['0.0.0.0/0', '::/0']
    return [
        Rule(
            'hostnossl',
            ['all', 'replication'],
            ['all'],
            parse_address(net),
            'reject',
            comment='no TCP without TLS',
            managed=True,
        )
        for net in nets
    ]


def check_scope(scope):
    out = []
    for net in scope or []:
        try:
            out.append(str(ipaddress.ip_network(str(net).strip(), strict=False)))
        except ValueError:
            raise PgHbaError('require_ssl_scope: %r is not a CIDR (for example 10.0.0.0/8).' % (net,))
    return out


def require_ssl(lines, mode, scope=None):
    """Refuse non-TLS TCP connections.

    ``reject``: ``hostnossl all,replication all <net> reject`` lines go before every other rule
    and include (for IPv4 and IPv6, or the scope's CIDRs). ``convert``: every rule that accepts
    plain TCP (``host``, ``hostnogssenc``, ``hostnossl`` with a method other than reject)
    becomes ``hostssl``; with a scope only those inside it, and a rule that reaches beyond the
    scope is refused. ``both`` does both.
    """
    scope = check_scope(scope)
    lines = list(lines)
    actions = []
    if mode in ('convert', 'both'):
        nets = [parse_address(s) for s in scope]
        includes = [l for l in lines if l.kind == 'include']
        if includes and mode == 'convert':
            raise PgHbaError(
                'Line %s (%s) pulls in rules that require_ssl=convert cannot edit; '
                'use require_ssl=reject or both.' % (includes[0].number, includes[0].describe())
            )
        for index, line in enumerate(lines):
            if (
                line.kind != 'rule'
                or line.type == 'local'
                or 'plain' not in _TYPE_SET[line.type]
                or line.method == 'reject'
            ):
                continue
            if nets:
                inside = any(address_covers(n, line.addr) for n in nets)
                if not inside:
                    if any(addresses_overlap(n, line.addr) for n in nets):
                        raise PgHbaError(
                            'Line %s (%s) reaches beyond require_ssl_scope %s, so converting it '
                            'would change more than asked and leaving it would keep plain TCP '
                            'open; narrow or convert it yourself, or use require_ssl=reject.'
                            % (line.number, line.describe(), ', '.join(scope))
                        )
                    continue
            new = Rule(
                'hostssl',
                line.dbs,
                line.usrs,
                line.addr,
                line.method,
                line.options,
                number=line.number,
                eol=line.eol,
                comment=line.comment,
                managed=line.managed,
            )
            lines[index] = new
            actions.append('converted line %s to hostssl: %s' % (line.number, new.describe()))
    if mode in ('reject', 'both'):
        wanted = reject_rules(scope or None)
        keys = set(r.key() for r in wanted)
        kept = []
        for line in lines:
            if (
                line.kind == 'rule'
                and line.managed
                and line.type == 'hostnossl'
                and line.method == 'reject'
                and line.key() not in keys
            ):
                actions.append('removed %s (line %s)' % (line.describe(), line.number))
                continue
            kept.append(line)
        lines = kept
        first = next((i for i, l in enumerate(lines) if l.kind in ('rule', 'include')), len(lines))
        for offset, rule in enumerate(wanted):
            existing = _index_of(lines, rule)
            pos = first + offset
            if existing is not None and existing == pos and lines[existing].method == 'reject':
                continue
            if existing is not None:
                del lines[existing]
                if existing < pos:
                    pos -= 1
            _insert(lines, pos, rule)
            actions.append('added %s first' % rule.describe())
    return lines, actions


# --------------------------------------------------------------------------- one whole edit


def describe_spec(spec):
    """A rule request in words, without option values that may be secrets."""
    opts = spec.get('options') or {}
    shown = ' '.join('%s=%s' % (k, '********' if k in SECRET_OPTIONS else v) for k, v in sorted(opts.items()))
    return ' '.join(
        str(x)
        for x in (
            spec.get('type') or 'hostssl',
            ','.join(spec.get('databases') or ['all']),
            ','.join(spec.get('users') or ['all']),
            spec.get('address') or '',
            spec.get('method') or 'scram-sha-256',
            shown,
        )
        if x
    )


def plan(text, specs, major=None, require='none', scope=None, purge=False, path='pg_hba.conf'):
    """Parse, check and edit a whole file: purge managed rules no longer listed, refuse plain
    TCP, then add/update/remove the listed rules. Returns (lines, actions, wanted rules)."""
    lines = parse(text, major)
    check_valid(lines, path)
    wanted = []
    for spec in specs:
        try:
            wanted.append((make_rule(spec, major, managed=True), spec.get('state') or 'present'))
        except PgHbaError as exc:
            raise PgHbaError('Rule %s: %s' % (describe_spec(spec), exc))
    scope = check_scope(scope)
    actions = []
    if purge:
        keep = set(r.key() for r, state in wanted if state == 'present')
        if require in ('reject', 'both'):
            keep |= set(r.key() for r in reject_rules(scope or None))
        lines, more = purge_managed(lines, keep)
        actions.extend(more)
    if require and require != 'none':
        lines, more = require_ssl(lines, require, scope)
        actions.extend(more)
    for rule, state in wanted:
        if state == 'absent':
            lines, action = remove_rule(lines, rule)
        else:
            lines, action, _notes = ensure_rule(lines, rule)
        if action:
            actions.append('%s %s' % (action, rule.describe()))
    present = []
    for rule, state in wanted:
        index = _index_of(lines, rule) if state == 'present' else None
        if index is not None:
            present.append(lines[index])
    return lines, actions, present
