# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf round-trip parser and editor (pure).

Each line keeps its original text; only lines this module adds or edits are rendered anew.
pg_hba.conf is first match wins, so a rule is placed where it is reachable: before any earlier
rule that matches a superset of its connections (``host`` covers ``hostssl``, ``all`` covers a
name, a wider CIDR covers a narrower one), and after the rules it would itself shadow.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

TYPES = ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
METHODS = ('trust', 'reject', 'scram-sha-256', 'md5', 'password', 'gss', 'sspi', 'ident',
           'peer', 'ldap', 'radius', 'cert', 'pam', 'bsd', 'oauth')
TCP_TYPES = TYPES[1:]
ADDRESS_KEYWORDS = ('all', 'samehost', 'samenet')


class PgHbaError(Exception):
    pass


def _tokens(text):
    """Split a pg_hba line into tokens; returns (tokens, comment_start or None)."""
    tokens = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in ' \t':
            i += 1
            continue
        if ch == '#':
            return tokens, i
        start = i
        buf = []
        while i < n and text[i] not in ' \t#':
            if text[i] == '"':
                j = text.find('"', i + 1)
                if j < 0:
                    raise PgHbaError('unterminated quote')
                buf.append(text[i:j + 1])
                i = j + 1
            else:
                buf.append(text[i])
                i += 1
        tokens.append((''.join(buf), start))
    return tokens, None


class Rule(object):
    """One pg_hba line. ``raw`` is None for a rule that is new or edited (rendered)."""

    def __init__(self, type_, databases, users, address=None, method='scram-sha-256',
                 options=None, raw=None, number=None, eol='\n', comment=None):
        self.type = type_
        self.databases = list(databases)
        self.users = list(users)
        self.address = address
        self.method = method
        self.options = list(options or [])   # [(key, value)]
        self.raw = raw
        self.number = number
        self.eol = eol
        self.comment = comment

    kind = 'rule'

    def key(self):
        return (self.type, tuple(self.databases), tuple(self.users), self.address)

    def render(self):
        opts = ' '.join('%s=%s' % (k, v) for k, v in self.options)
        address = '' if self.type == 'local' else self.address
        text = '%-7s %-15s %-15s %-23s %s' % (
            self.type, ','.join(self.databases), ','.join(self.users), address, self.method)
        text = re.sub(r' +$', '', text)
        if opts:
            text += ' ' + opts
        if self.comment:
            text += '  # ' + self.comment
        return text

    @property
    def text(self):
        return (self.raw if self.raw is not None else self.render()) + self.eol

    def describe(self):
        parts = [self.type, ','.join(self.databases), ','.join(self.users)]
        if self.address:
            parts.append(self.address)
        parts.append(self.method)
        parts.extend('%s=%s' % kv for kv in self.options)
        return ' '.join(parts)

    def as_dict(self):
        return {'type': self.type, 'databases': self.databases, 'users': self.users,
                'address': self.address, 'method': self.method,
                'options': dict(self.options), 'line': self.number}


class Other(object):
    kind = 'other'

    def __init__(self, raw, eol, number):
        self.raw, self.eol, self.number = raw, eol, number

    @property
    def text(self):
        return self.raw + self.eol


def _split_list(token):
    return [t for t in token.split(',') if t != '']


def _normalize_address(address, mask=None):
    if address is None:
        return None
    if address in ADDRESS_KEYWORDS or address.startswith('.'):
        return address
    try:
        if mask is not None:
            net = ipaddress.ip_network('%s/%s' % (address, mask), strict=False)
            return str(net)
        if '/' in address:
            return str(ipaddress.ip_network(address, strict=False))
        ip = ipaddress.ip_address(address)
        return str(ipaddress.ip_network(ip))
    except ValueError:
        return address  # a host name


def parse_line(raw, eol='\n', number=None):
    tokens, _comment = _tokens(raw)
    if not tokens:
        return Other(raw, eol, number)
    words = [t for t, _s in tokens]
    first = words[0].lower()
    if first.startswith('include'):
        return Other(raw, eol, number)
    if first not in TYPES:
        raise PgHbaError('line %s: unknown connection type %r' % (number, words[0]))
    if first == 'local':
        if len(words) < 4:
            raise PgHbaError('line %s: too few fields for a local rule' % number)
        dbs, users, method, rest = words[1], words[2], words[3], words[4:]
        address = None
    else:
        if len(words) < 5:
            raise PgHbaError('line %s: too few fields for a %s rule' % (number, first))
        dbs, users, address = words[1], words[2], words[3]
        rest_start = 4
        mask = None
        if '/' not in address and address not in ADDRESS_KEYWORDS and len(words) > 5 and \
                re.match(r'^[0-9a-fA-F:.]+$', words[4]) and '=' not in words[4]:
            try:
                ipaddress.ip_address(address)
                ipaddress.ip_address(words[4])
                mask = words[4]
                rest_start = 5
            except ValueError:
                pass
        address = _normalize_address(address, mask)
        method, rest = words[rest_start], words[rest_start + 1:]
    options = []
    for opt in rest:
        key, sep, value = opt.partition('=')
        options.append((key, value if sep else ''))
    return Rule(first, _split_list(dbs), _split_list(users), address, method.lower(), options,
                raw=raw, number=number, eol=eol)


def parse(text):
    lines = []
    for number, chunk in enumerate(text.splitlines(True), 1):
        if chunk.endswith('\r\n'):
            raw, eol = chunk[:-2], '\r\n'
        elif chunk.endswith('\n'):
            raw, eol = chunk[:-1], '\n'
        else:
            raw, eol = chunk, ''
        lines.append(parse_line(raw, eol, number))
    return lines


def render(lines):
    return ''.join(line.text for line in lines)


def rules(lines):
    return [line for line in lines if line.kind == 'rule']


# --------------------------------------------------------------------------- coverage

def _type_covers(a, b):
    if a == b:
        return True
    if a == 'host' and b in TCP_TYPES:
        return True
    return False


def _names_cover(a, b, kind):
    """Does name list ``a`` match every connection name list ``b`` matches?"""
    if kind == 'database':
        if 'all' in a:
            # 'all' does not match the replication pseudo-database
            return 'replication' not in b
    elif 'all' in a:
        return True
    if 'all' in b:
        return False
    return set(b) <= set(a) and not any(x.startswith('@') or x in ('sameuser', 'samerole')
                                        for x in b if x not in a)


def _address_covers(a, b):
    if a is None or b is None:
        return a == b
    if a == 'all':
        return True
    if b == 'all':
        return False
    try:
        na, nb = ipaddress.ip_network(a), ipaddress.ip_network(b)
    except ValueError:
        return a == b
    return na.version == nb.version and nb.subnet_of(na)


def covers(a, b):
    """True when rule ``a`` matches every connection rule ``b`` matches."""
    return (_type_covers(a.type, b.type)
            and _names_cover(a.databases, b.databases, 'database')
            and _names_cover(a.users, b.users, 'user')
            and (a.type == 'local' or _address_covers(a.address, b.address)))


def shadowed(lines):
    """[(shadowed rule, earlier rule that hides it)] for every rule that can never match."""
    found = []
    seen = []
    for rule in rules(lines):
        for earlier in seen:
            if covers(earlier, rule):
                found.append((rule, earlier))
                break
        seen.append(rule)
    return found


# --------------------------------------------------------------------------- validation

def validate_rule(rule, major=None):
    """Refuse what PostgreSQL would refuse (the server would not load the file)."""
    if rule.type not in TYPES:
        raise PgHbaError('Unknown connection type %r.' % rule.type)
    if rule.method not in METHODS:
        raise PgHbaError('Unknown authentication method %r.' % rule.method)
    if rule.type != 'local' and not rule.address:
        raise PgHbaError('A %s rule needs an address (CIDR, all, samehost, samenet or a host '
                         'name).' % rule.type)
    if rule.type == 'local' and rule.address:
        raise PgHbaError('A local rule takes no address.')
    opts = dict(rule.options)
    if rule.method == 'cert' and rule.type != 'hostssl':
        raise PgHbaError('The cert method works only on hostssl rules (got %s).' % rule.type)
    if 'clientcert' in opts:
        value = opts['clientcert']
        if rule.type != 'hostssl':
            raise PgHbaError('clientcert can only be set on hostssl rules (got %s).' % rule.type)
        if major is None or int(major) >= 14:
            if value not in ('verify-ca', 'verify-full'):
                raise PgHbaError('clientcert=%s is refused by PostgreSQL 14 and later; use '
                                 'clientcert=verify-ca or clientcert=verify-full.' % value)
        elif value not in ('verify-ca', 'verify-full', '1', '0', 'no-verify'):
            raise PgHbaError('Invalid clientcert=%s.' % value)
        if rule.method == 'cert' and value != 'verify-full':
            raise PgHbaError('clientcert=%s with the cert method is refused: cert always '
                             'verifies the full client certificate (use clientcert=verify-full '
                             'or leave it out).' % value)


def make_rule(spec, major=None):
    """A Rule from a dict (type, databases, users, address, method, options, comment)."""
    def as_list(value, default):
        if value is None:
            return [default]
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return _split_list(str(value))
    options = spec.get('options') or {}
    if isinstance(options, dict):
        options = sorted((str(k), str(v)) for k, v in options.items())
    rule = Rule(spec.get('type', 'hostssl'), as_list(spec.get('databases'), 'all'),
                as_list(spec.get('users'), 'all'),
                _normalize_address(spec.get('address')),
                (spec.get('method') or 'scram-sha-256').lower(), options,
                comment=spec.get('comment'))
    validate_rule(rule, major)
    return rule


# --------------------------------------------------------------------------- editing

def _index_of(lines, rule):
    for index, line in enumerate(lines):
        if line.kind == 'rule' and line.key() == rule.key():
            return index
    return None


def _placement(lines, rule):
    """Where to insert ``rule``: after rules it covers, before the first that covers it."""
    before = None
    after = -1
    conflict = None
    for index, line in enumerate(lines):
        if line.kind != 'rule':
            continue
        if covers(line, rule) and before is None:
            before = index
        elif covers(rule, line):
            after = index
    if before is None:
        # no rule hides it: place it after the rules it covers, else after the last rule
        last_rule = max([i for i, l in enumerate(lines) if l.kind == 'rule'] or [-1])
        pos = max(after, last_rule) + 1
        return pos, None
    if after > before:
        conflict = after
    return before, conflict


def ensure_rule(lines, rule):
    """Make ``rule`` present and reachable. Returns (lines, action or None, notes)."""
    lines = list(lines)
    notes = []
    index = _index_of(lines, rule)
    action = 'added'
    if index is not None:
        current = lines[index]
        same = current.method == rule.method and sorted(current.options) == sorted(rule.options)
        reachable = not any(covers(line, current) for line in rules(lines[:index]))
        if same and reachable:
            return lines, None, notes
        if same:
            rule = current  # moved as it is, original text kept
        else:
            rule = Rule(current.type, current.databases, current.users, current.address,
                        rule.method, rule.options, number=current.number,
                        eol=current.eol or '\n', comment=rule.comment)
        if reachable:
            lines[index] = rule
            return lines, 'updated', notes
        del lines[index]
        action = 'moved'
    pos, conflict = _placement(lines, rule)
    if conflict is not None:
        notes.append('placed before %s, so it hides %s' % (lines[pos].describe(),
                                                           lines[conflict].describe()))
    if pos == len(lines) and lines and lines[-1].eol == '':
        last = lines[-1]
        lines[-1] = Other(last.raw, '\n', last.number) if last.kind == 'other' else _fresh(last)
        if last.kind == 'rule':
            lines[-1].raw = last.raw
    lines.insert(pos, rule)
    return lines, action, notes


def _fresh(rule):
    return Rule(rule.type, rule.databases, rule.users, rule.address, rule.method, rule.options,
                raw=rule.raw, number=rule.number, eol=rule.eol or '\n', comment=rule.comment)


def remove_rule(lines, rule):
    index = _index_of(lines, rule)
    if index is None:
        return lines, None
    lines = list(lines)
    del lines[index]
    return lines, 'removed'


def require_ssl(lines, mode, scope=None):
    """Refuse non-TLS TCP connections.

    ``convert``: matching ``host`` rules become ``hostssl``. ``reject``: ``hostnossl all all
    <net> reject`` rules go first, for IPv4 and IPv6 (whatever follows, plain TCP is refused).
    ``both`` does both. ``scope`` limits which host rules are converted (CIDRs; default all).
    """
    lines = list(lines)
    actions = []
    if mode in ('convert', 'both'):
        nets = [ipaddress.ip_network(s, strict=False) for s in (scope or [])]
        for index, line in enumerate(lines):
            if line.kind != 'rule' or line.type != 'host':
                continue
            if nets:
                try:
                    addr = ipaddress.ip_network(line.address)
                except (ValueError, TypeError):
                    continue
                if not any(addr.version == n.version and addr.subnet_of(n) for n in nets):
                    continue
            new = Rule('hostssl', line.databases, line.users, line.address, line.method,
                       line.options, number=line.number, eol=line.eol)
            lines[index] = new
            actions.append('converted line %s to hostssl: %s' % (line.number, new.describe()))
    if mode in ('reject', 'both'):
        first = next((i for i, l in enumerate(lines) if l.kind == 'rule'), len(lines))
        wanted = [Rule('hostnossl', ['all'], ['all'], net, 'reject',
                       comment='pgssl.postgresql: no TCP without TLS')
                  for net in (scope or ['0.0.0.0/0', '::/0'])]
        for offset, rule in enumerate(wanted):
            rule.address = _normalize_address(rule.address)
            existing = _index_of(lines, rule)
            if existing is not None and existing <= first + offset and \
                    lines[existing].method == 'reject':
                continue
            if existing is not None:
                del lines[existing]
                first = next((i for i, l in enumerate(lines) if l.kind == 'rule'), len(lines))
            lines.insert(first + offset, rule)
            actions.append('added %s first' % rule.describe())
    return lines, actions
