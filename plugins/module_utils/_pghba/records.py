# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf records: rules, include lines and invalid lines, parsed from a file (and its
includes) and rendered back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._pghba.syntax import (
    _bare_ok,
    _cidr_mask,
    _ip,
    _name,
    Address,
    ADDRESS_KEYWORDS,
    INCLUDE_DIRECTIVES,
    ip_address_obj,
    MARKER,
    METHODS,
    Name,
    OPTION_METHODS,
    parse_address,
    parse_name,
    PgHbaError,
    quote_token,
    SECRET_OPTIONS,
    split_records,
    tokenize,
    TYPES,
)


# --------------------------------------------------------------------------- records


class Other(object):
    """A blank or comment record (or anything kept as it is)."""

    kind = 'other'

    def __init__(self, raw, eol, number):
        self.raw, self.eol, self.number = raw, eol, number

    @property
    def text(self):
        return self.raw + self.eol


class Include(Other):
    kind = 'include'

    def __init__(self, raw, eol, number, directive, target):
        Other.__init__(self, raw, eol, number)
        self.directive, self.target = directive, target

    def describe(self):
        return '%s %s' % (self.directive, self.target)


class Invalid(Other):
    kind = 'invalid'

    def __init__(self, raw, eol, number, error):
        Other.__init__(self, raw, eol, number)
        self.error = error


class Rule(object):
    """One pg_hba rule. ``raw`` is None for a rule that is new or edited (rendered)."""

    kind = 'rule'

    def __init__(
        self,
        type_,
        databases,
        users,
        address=None,
        method='scram-sha-256',
        options=None,
        raw=None,
        number=None,
        eol='\n',
        comment=None,
        major=None,
        managed=False,
    ):
        self.type = type_
        self.dbs = [d if isinstance(d, Name) else parse_name(d, 'database', major) for d in databases]
        self.usrs = [u if isinstance(u, Name) else parse_name(u, 'user', major) for u in users]
        if address is not None and not isinstance(address, Address):
            address = parse_address(address)
        self.addr = address
        self.method = method
        self.options = list(options or [])  # [(key, value)]
        self.raw = raw
        self.number = number
        self.eol = eol
        self.comment = comment
        self.managed = managed

    @property
    def databases(self):
        return [d.token for d in self.dbs]

    @property
    def users(self):
        return [u.token for u in self.usrs]

    @property
    def address(self):
        return None if self.addr is None else self.addr.text

    def key(self):
        return (self.type, tuple(self.databases), tuple(self.users), self.address)

    def render(self):
        opts = ' '.join('%s=%s' % (k, v if _bare_ok(v) else quote_token(v)) for k, v in self.options)
        address = '' if self.type == 'local' else self.address
        if (
            self.addr is not None
            and self.addr.kind == 'ip'
            and '/' in address
            and not re.match(r'^\d+$', address.rpartition('/')[2])
        ):
            address = address.replace('/', ' ')  # a non-CIDR mask is its own field
        text = '%-7s %-15s %-15s %-23s %s' % (
            self.type,
            ','.join(self.databases),
            ','.join(self.users),
            address,
            self.method,
        )
        text = text.rstrip(' ')
        if opts:
            text += ' ' + opts
        note = self.comment
        if self.managed:
            note = MARKER + (': ' + self.comment if self.comment else '')
        if note:
            text += '  # ' + note
        return text

    @property
    def text(self):
        return (self.raw if self.raw is not None else self.render()) + self.eol

    def describe(self):
        parts = [self.type, ','.join(self.databases), ','.join(self.users)]
        if self.address:
            parts.append(self.address)
        parts.append(self.method)
        parts.extend('%s=%s' % (k, '********' if k in SECRET_OPTIONS else v) for k, v in self.options)
        return ' '.join(parts)


def parse_rule(fields, major=None):
    """A Rule from tokenized fields, checked as parse_hba_line checks it (raises PgHbaError
    with the server's reason)."""
    major = None if major is None else int(major)

    def single(field, what):
        if len(field) > 1:
            raise PgHbaError('multiple values specified for %s' % what)
        return field[0][0]

    conn = single(fields[0], 'connection type')
    if conn not in TYPES:
        raise PgHbaError('invalid connection type "%s"' % conn)
    if len(fields) < 2:
        raise PgHbaError('end-of-line before database specification')
    if len(fields) < 3:
        raise PgHbaError('end-of-line before role specification')
    dbs = [_name(v, q, 'database', major) for v, q in fields[1]]
    users = [_name(v, q, 'user', major) for v, q in fields[2]]
    rest = 3
    address = None
    if conn != 'local':
        if len(fields) < 4:
            raise PgHbaError('end-of-line before IP address specification')
        value, quoted = fields[3][0]
        single(fields[3], 'host address')
        rest = 4
        if not quoted and value in ADDRESS_KEYWORDS:
            address = Address(value, value)
        else:
            head, sep, tail = value.partition('/')
            ip = _ip(head, lenient=True)
            if ip is None:
                if sep:
                    raise PgHbaError('specifying both host name and CIDR mask is invalid: "%s"' % value)
                address = Address('hostname', head.lower())
            elif sep:
                mask = _cidr_mask(tail, ip.version)
                if mask is None:
                    raise PgHbaError('invalid CIDR mask in address "%s"' % value)
                address = ip_address_obj(ip, mask)
            else:
                if len(fields) < 5:
                    raise PgHbaError('end-of-line before netmask specification')
                mask_text = single(fields[4], 'netmask')
                mask_ip = _ip(mask_text, lenient=True)
                if mask_ip is None:
                    raise PgHbaError('invalid IP mask "%s"' % mask_text)
                if mask_ip.version != ip.version:
                    raise PgHbaError('IP address and mask do not match')
                address = ip_address_obj(ip, int(mask_ip))
                rest = 5
    if len(fields) <= rest:
        raise PgHbaError('end-of-line before authentication method')
    method = single(fields[rest], 'authentication type')
    if method not in METHODS or (method == 'oauth' and major is not None and major < 18):
        raise PgHbaError('invalid authentication method "%s"' % method)
    if conn == 'local' and method == 'ident':
        method = 'peer'
    if conn == 'local' and method == 'gss':
        raise PgHbaError('gssapi authentication is not supported on local sockets')
    if conn != 'local' and method == 'peer':
        raise PgHbaError('peer authentication is only supported on local sockets')
    if conn != 'hostssl' and method == 'cert':
        raise PgHbaError('cert authentication is only supported on hostssl connections')
    options = []
    for field in fields[rest + 1 :]:
        for value, _quoted in field:
            key, sep, val = value.partition('=')
            if not sep:
                raise PgHbaError('authentication option not in name=value format: %s' % value)
            options.append((key, val))
    rule = Rule(conn, dbs, users, address, method, options, major=major)
    check_options(rule, major)
    return rule


def check_options(rule, major):
    """Refuse options the server refuses for this type and method."""
    for key, value in rule.options:
        if key not in OPTION_METHODS:
            raise PgHbaError('unrecognized authentication option name: "%s"' % key)
        allowed = OPTION_METHODS[key]
        if allowed is not None and rule.method not in allowed:
            raise PgHbaError(
                'authentication option "%s" is only valid for authentication methods %s' % (key, ', '.join(allowed))
            )
        if key == 'clientcert':
            if rule.type != 'hostssl':
                raise PgHbaError('clientcert can only be configured for "hostssl" rows')
            if major is None or major >= 14:
                if value not in ('verify-ca', 'verify-full'):
                    raise PgHbaError(
                        'invalid value for clientcert: "%s" (PostgreSQL 14 and '
                        'later accept verify-ca or verify-full)' % value
                    )
            elif value not in ('verify-ca', 'verify-full', '1', '0', 'no-verify'):
                raise PgHbaError('invalid value for clientcert: "%s"' % value)
            if rule.method == 'cert' and value != 'verify-full':
                raise PgHbaError('clientcert only accepts "verify-full" when using "cert" authentication')
        if key == 'clientname':
            if rule.type != 'hostssl':
                raise PgHbaError('clientname can only be configured for "hostssl" rows')
            if value not in ('CN', 'DN'):
                raise PgHbaError('invalid value for clientname: "%s"' % value)


def parse_record(raw, eol, logical, number, major=None):
    fields, comment = tokenize(logical)
    if not fields:
        return Other(raw, eol, number)
    first = fields[0][0][0]
    if len(fields) == 2 and first in INCLUDE_DIRECTIVES and (major is None or int(major) >= 16):
        return Include(raw, eol, number, first, fields[1][0][0])
    try:
        rule = parse_rule(fields, major)
    except PgHbaError as exc:
        return Invalid(raw, eol, number, str(exc))
    rule.raw, rule.eol, rule.number = raw, eol, number
    if comment is not None:
        note = logical[comment + 1 :].strip()
        rule.comment = note
        if note == MARKER or note.startswith(MARKER + ':'):
            rule.managed = True
            rule.comment = note[len(MARKER) + 1 :].strip() or None
    return rule


def parse(text, major=None):
    """Records of a pg_hba.conf text (rules, includes, invalid lines, the rest); round-trips
    exactly through render()."""
    return [
        parse_record(raw, eol, logical, number, major)
        for raw, eol, logical, number, _count in split_records(text, major)
    ]


def parse_line(raw, eol='\n', number=None, major=None):
    return parse_record(raw, eol, raw.rstrip('\r'), number, major)


def check_valid(lines, path):
    """Refuse a file the server would not load, naming the first bad line."""
    for line in lines:
        if line.kind == 'invalid':
            raise PgHbaError(
                '%s:%s: %s. The server would not load this file; fix the line first.' % (path, line.number, line.error)
            )


def explain(text, major=None):
    """Why the server refuses a record (or None when this parser accepts it)."""
    line = parse_line(text, '', None, major)
    return line.error if line.kind == 'invalid' else None


def render(lines):
    return ''.join(line.text for line in lines)


def rules(lines):
    return [line for line in lines if line.kind == 'rule']


# Bounded work on a tree the server user writes: entries of one include_dir, files of a tree.
MAX_DIR_ENTRIES = 1000
MAX_TREE_FILES = 2000


def read_tree(path, major=None, depth=0, errors=None, budget=None):
    """[(file, record)] of every rule and invalid record the server reads from ``path``, with
    include directives (PostgreSQL 16 and later) expanded where they stand. An include that
    cannot be read is recorded in ``errors`` as (including file, line) when a list is given,
    and raises PgHbaError otherwise."""
    budget = budget if budget is not None else [MAX_TREE_FILES]
    budget[0] -= 1
    if budget[0] < 0:
        raise PgHbaError(
            '%s: the include tree reads more than %d files; refusing to read further' % (path, MAX_TREE_FILES)
        )
    out = []
    for line in parse(txt.read(path, 'pg_hba file'), major):
        if line.kind in ('rule', 'invalid'):
            out.append((path, line))
        elif line.kind == 'include':
            try:
                if depth >= 10:
                    raise PgHbaError('maximum nesting depth exceeded')
                for inc in _include_targets(line, path):
                    out.extend(read_tree(inc, major, depth + 1, errors, budget))
            except (IOError, OSError, PgHbaError) as exc:
                if errors is None:
                    raise PgHbaError(
                        '%s:%s: cannot read %s: %s'
                        % (path, line.number, line.target, getattr(exc, 'strerror', None) or exc)
                    )
                errors.append((path, line.number))
    return out


def _include_targets(line, path):
    target = line.target
    if not os.path.isabs(target):
        target = os.path.join(os.path.dirname(path), target)
    if line.directive == 'include_dir':
        listed = os.listdir(target)
        if len(listed) > MAX_DIR_ENTRIES:
            raise PgHbaError('the directory %s holds more than %d entries' % (target, MAX_DIR_ENTRIES))
        return [os.path.join(target, n) for n in sorted(listed) if n.endswith('.conf') and not n.startswith('.')]
    if line.directive == 'include_if_exists' and not os.path.exists(target):
        return []
    return [target]
