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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

TYPES = ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
TCP_TYPES = TYPES[1:]
METHODS = ('trust', 'reject', 'scram-sha-256', 'md5', 'password', 'gss', 'sspi', 'ident',
           'peer', 'ldap', 'radius', 'cert', 'pam', 'bsd', 'oauth')
ADDRESS_KEYWORDS = ('all', 'samehost', 'samenet')
INCLUDE_DIRECTIVES = ('include', 'include_if_exists', 'include_dir')
DB_KEYWORDS = ('all', 'sameuser', 'samerole', 'samegroup', 'replication')
USER_KEYWORDS = ('all',)

# Which connections a type matches: TLS, GSSAPI-encrypted, plain TCP, or a unix socket.
_TYPE_SET = {'local': frozenset(['local']), 'host': frozenset(['ssl', 'gss', 'plain']),
             'hostssl': frozenset(['ssl']), 'hostnossl': frozenset(['gss', 'plain']),
             'hostgssenc': frozenset(['gss']), 'hostnogssenc': frozenset(['ssl', 'plain'])}

_GSS = ('gss', 'sspi')
_LDAP = ('ldapurl', 'ldapserver', 'ldapport', 'ldapscheme', 'ldaptls', 'ldapbinddn',
         'ldapbindpasswd', 'ldapsearchattribute', 'ldapsearchfilter', 'ldapbasedn',
         'ldapprefix', 'ldapsuffix')
_RADIUS = ('radiusserver', 'radiusservers', 'radiussecret', 'radiussecrets',
           'radiusidentifier', 'radiusidentifiers', 'radiusport', 'radiusports')
# option -> methods it is valid for (None: any method; hostssl-only options are checked apart)
OPTION_METHODS = dict(
    [('map', ('ident', 'peer', 'gss', 'sspi', 'cert', 'oauth')), ('clientcert', None),
     ('clientname', None), ('pamservice', ('pam',)), ('pam_use_hostname', ('pam',)),
     ('krb_realm', _GSS), ('include_realm', _GSS), ('compat_realm', ('sspi',)),
     ('upn_username', ('sspi',)), ('issuer', ('oauth',)), ('scope', ('oauth',)),
     ('validator', ('oauth',)), ('delegate_ident_mapping', ('oauth',))]
    + [(name, ('ldap',)) for name in _LDAP] + [(name, ('radius',)) for name in _RADIUS])
SECRET_OPTIONS = ('ldapbindpasswd', 'radiussecret', 'radiussecrets')

MARKER = 'pgssl.postgresql'
_BLANKS = ' \t\r'
_UNSAFE_BARE = re.compile(r'[ \t\r\n#,"\\]')
_HOSTNAME = re.compile(r'^\.?[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
                       r'(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$')


class PgHbaError(PgsslError):
    pass


# --------------------------------------------------------------------------- tokens

def split_records(text, major=None):
    """[(raw, eol, logical, first line number, physical line count)].

    ``raw`` is the record's text as written (continuation lines and their line endings
    included), ``logical`` the text PostgreSQL tokenizes: trailing CR/LF stripped and (seen on
    15, 16 and 18) a final backslash joining the next line.
    """
    continuation = major is None or int(major) >= 15
    pieces = text.split('\n')
    if pieces and pieces[-1] == '':
        pieces.pop()
        ends = ['\n'] * len(pieces)
    else:
        ends = ['\n'] * (len(pieces) - 1) + ['']
    records = []
    index = 0
    while index < len(pieces):
        first = index
        raw_parts, logical = [], ''
        while True:
            piece, eol = pieces[index], ends[index]
            stripped = piece.rstrip('\r')
            raw_parts.append((piece, eol))
            index += 1
            if continuation and stripped.endswith('\\') and index < len(pieces):
                logical += stripped[:-1]
                continue
            if continuation and stripped.endswith('\\'):
                stripped = stripped[:-1]
            logical += stripped
            break
        raw = ''.join(p + e for p, e in raw_parts[:-1]) + raw_parts[-1][0]
        eol = raw_parts[-1][1]
        if eol and raw.endswith('\r'):
            raw, eol = raw[:-1], '\r\n'
        records.append((raw, eol, logical, first + 1, len(raw_parts)))
    return records


def tokenize(text):
    """Fields of one logical record: [[(value, quoted), ...], ...] and where a comment starts
    (or None). A port of hba.c's next_token/next_field: a comma ends a token and continues
    the field; a doubled quote inside quotes is a literal quote."""
    fields = []
    pos, end = 0, len(text)
    comment = None
    while pos < end and comment is None:
        field = []
        while True:
            # skip blanks and commas before the token
            while pos < end and (text[pos] in _BLANKS or text[pos] == ','):
                pos += 1
            buf = []
            in_quote = was_quote = saw_quote = initial_quote = False
            comma = False
            while pos < end and (text[pos] not in _BLANKS or in_quote):
                ch = text[pos]
                if ch == '#' and not in_quote:
                    comment = pos
                    pos = end
                    break
                if ch == ',' and not in_quote:
                    comma = True
                    pos += 1
                    break
                if ch != '"' or was_quote:
                    buf.append(ch)
                if in_quote and ch == '"':
                    was_quote = not was_quote
                else:
                    was_quote = False
                if ch == '"':
                    in_quote = not in_quote
                    saw_quote = True
                    if not buf:
                        initial_quote = True
                pos += 1
            if saw_quote or buf:
                field.append((''.join(buf), initial_quote))
            if not comma or comment is not None:
                break
        if field:
            fields.append(field)
    return fields, comment


def quote_token(value):
    """A token that reads back as the literal ``value`` (never a keyword or a prefix)."""
    return '"%s"' % value.replace('"', '""')


def _bare_ok(value):
    return value != '' and not _UNSAFE_BARE.search(value) and value[0] not in '@+/'


def _check_text(value, what):
    for ch in value:
        if ch in '\n\r\0':
            raise PgHbaError('%s %r contains a newline, carriage return or NUL; pg_hba.conf '
                             'cannot hold it.' % (what, value))


# --------------------------------------------------------------------------- names

class Name(object):
    """One database or user entry: kind all/replication/same/name/group/regex/file."""
    __slots__ = ('kind', 'value', 'token')

    def __init__(self, kind, value, token):
        self.kind, self.value, self.token = kind, value, token


def _name(value, quoted, field, major):
    regex_ok = major is None or int(major) >= 16
    if not quoted:
        if value.startswith('@') and len(value) > 1:
            return Name('file', value[1:], value)
        if value == 'all':
            return Name('all', None, value)
        if field == 'database':
            if value in ('sameuser', 'samerole', 'samegroup'):
                return Name('same', value, value)
            if value == 'replication':
                return Name('replication', None, value)
        if field == 'user' and value.startswith('+') and len(value) > 1:
            rest = value[1:]
            return Name('group', rest, '+' + (rest if _bare_ok(rest) else quote_token(rest)))
        if regex_ok and value.startswith('/'):
            rest = value[1:]
            return Name('regex', rest, '/' + (rest if _bare_ok(rest) else quote_token(rest)))
    token = value if (not quoted and _bare_ok(value)) else quote_token(value)
    return Name('name', value, token)


def parse_name(text, field, major=None):
    """An operator's database or user entry. ``"x"`` (with the quotes) is the literal name x;
    ``all`` and the other keywords, ``+group`` and ``/regex`` keep their meaning; any other
    text is a literal name, quoted when it holds blanks, commas, ``#`` or quotes."""
    what = 'The %s name' % field
    _check_text(text, what)
    if text == '':
        raise PgHbaError('%s is empty.' % what)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        fields, comment = tokenize(text)
        if comment is None and len(fields) == 1 and len(fields[0]) == 1 and fields[0][0][1]:
            return _name(fields[0][0][0], True, field, major)
        raise PgHbaError('%s %s is not one quoted name.' % (what, text))
    if text.startswith('@'):
        raise PgHbaError('%s %s is a file reference (@file), which pg_hba does not manage; list '
                         'the names, or quote it ("%s") for a name that starts with @.'
                         % (what, text, text))
    keywords = DB_KEYWORDS if field == 'database' else USER_KEYWORDS
    if text in keywords or (field == 'user' and text.startswith('+') and len(text) > 1) or \
            (text.startswith('/') and len(text) > 1):
        if text.startswith('/') and major is not None and int(major) < 16:
            raise PgHbaError('%s %s: regular expressions need PostgreSQL 16 or later.'
                             % (what, text))
        return _name(text, False, field, major)
    return _name(text, True, field, major) if not _bare_ok(text) else \
        _name(text, False, field, major)


def _names_overlap(a, b):
    if a.kind == 'file' or b.kind == 'file':
        return True
    if (a.kind == 'replication') != (b.kind == 'replication'):
        return False
    if a.kind == 'replication' or 'all' in (a.kind, b.kind) or 'same' in (a.kind, b.kind):
        return True
    if a.kind == 'regex' or b.kind == 'regex':
        if a.kind == b.kind:
            return True
        pattern, name = (a.value, b.value) if a.kind == 'regex' else (b.value, a.value)
        if b.kind == 'group' or a.kind == 'group':
            return True
        try:
            return re.search(pattern, name) is not None
        except re.error:
            return True
    if a.kind == 'group' or b.kind == 'group':
        return True  # membership is not known here
    return a.value == b.value


def _name_covers(a, b):
    if b.kind == 'file' or a.kind == 'file':
        return False
    if a.kind == 'all':
        return b.kind != 'replication'
    return a.kind == b.kind and a.value == b.value


def names_overlap(xs, ys):
    return any(_names_overlap(x, y) for x in xs for y in ys)


def names_cover(xs, ys):
    return all(any(_name_covers(x, y) for x in xs) for y in ys)


# --------------------------------------------------------------------------- addresses

class Address(object):
    """all / samehost / samenet / hostname / ip (family, address and mask as integers)."""
    __slots__ = ('kind', 'value', 'family', 'addr', 'mask', 'text')

    def __init__(self, kind, value=None, family=None, addr=None, mask=None, text=None):
        self.kind, self.value = kind, value
        self.family, self.addr, self.mask = family, addr, mask
        self.text = text or value or kind


def _inet_aton(text):
    """An IPv4 address the way the C library's numeric parser reads it (127.1, 0x7f.1, 010.1
    are addresses too), or None."""
    parts = text.split('.')
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        if re.match(r'^0[xX][0-9a-fA-F]*$', part):
            values.append(int(part[2:] or '0', 16))
        elif re.match(r'^0[0-7]*$', part):
            values.append(int(part, 8))
        elif re.match(r'^[1-9][0-9]*$', part):
            values.append(int(part))
        else:
            return None
    widths = {1: [32], 2: [8, 24], 3: [8, 8, 16], 4: [8, 8, 8, 8]}[len(values)]
    number = 0
    for value, width in zip(values, widths):
        if value >= 1 << width:
            return None
        number = (number << width) | value
    return ipaddress.IPv4Address(number)


def _ip(text, lenient=False):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return _inet_aton(text) if lenient else None


def ip_address_obj(ip, mask):
    """An Address for an IP and an integer mask; the text is CIDR when the mask is."""
    bits = 32 if ip.version == 4 else 128
    addr = int(ip) & mask
    prefix = bin(mask).count('1')
    contiguous = mask == (((1 << prefix) - 1) << (bits - prefix)) if prefix else mask == 0
    base = ipaddress.ip_address(addr) if ip.version == 4 else ipaddress.IPv6Address(addr)
    text = '%s/%d' % (base, prefix) if contiguous else '%s/%s' % (
        base, ipaddress.ip_address(mask) if ip.version == 4 else ipaddress.IPv6Address(mask))
    return Address('ip', None, ip.version, addr, mask, text)


def _cidr_mask(bits_text, version):
    if not re.match(r'^[+-]?[0-9]+$', bits_text):
        return None
    bits = int(bits_text)
    width = 32 if version == 4 else 128
    if bits < 0 or bits > width:
        return None
    return ((1 << bits) - 1) << (width - bits) if bits else 0


def parse_address(text):
    """An operator's address: a CIDR, an IP (one host), ``IP MASK`` or ``IP/MASK``, all,
    samehost, samenet or a host name (``.example.com`` matches a suffix)."""
    _check_text(text, 'The address')
    given = text
    text = text.strip()
    if text in ADDRESS_KEYWORDS:
        return Address(text, text)
    parts = text.split()
    if len(parts) == 2:
        text = '%s/%s' % tuple(parts)
    elif len(parts) != 1:
        text = None
    if text:
        head, _sep, tail = text.partition('/')
        ip = _ip(head)
        if ip is not None:
            width = 32 if ip.version == 4 else 128
            if not _sep:
                return ip_address_obj(ip, (1 << width) - 1)
            mask = _cidr_mask(tail, ip.version)
            if mask is None:
                other = _ip(tail)
                if other is not None and other.version == ip.version:
                    mask = int(other)
            if mask is not None:
                return ip_address_obj(ip, mask)
        elif not _sep and _HOSTNAME.match(text) and not re.match(r'^[0-9.]+$', text):
            return Address('hostname', text.lower())
    raise PgHbaError('Invalid address %r: give a CIDR (10.0.0.0/8), an IP address (with a mask '
                     'as 10.0.0.0 255.0.0.0 or 10.0.0.0/255.0.0.0), all, samehost, samenet or '
                     'a host name.' % given)


def addresses_overlap(a, b):
    if a is None or b is None:
        return a is None and b is None
    if 'all' in (a.kind, b.kind):
        return True
    if a.kind == 'ip' and b.kind == 'ip':
        return a.family == b.family and ((a.addr ^ b.addr) & a.mask & b.mask) == 0
    return True  # host names and samehost/samenet: not known here


def address_covers(a, b):
    if a is None or b is None:
        return a is None and b is None
    if a.kind == 'all':
        return True
    if a.kind == 'ip' and b.kind == 'ip':
        return a.family == b.family and (a.mask & ~b.mask) == 0 and \
            ((a.addr ^ b.addr) & a.mask) == 0
    return a.kind == b.kind and a.value == b.value and a.kind != 'ip'


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

    def __init__(self, type_, databases, users, address=None, method='scram-sha-256',
                 options=None, raw=None, number=None, eol='\n', comment=None, major=None,
                 managed=False):
        self.type = type_
        self.dbs = [d if isinstance(d, Name) else parse_name(d, 'database', major)
                    for d in databases]
        self.usrs = [u if isinstance(u, Name) else parse_name(u, 'user', major) for u in users]
        if address is not None and not isinstance(address, Address):
            address = parse_address(address)
        self.addr = address
        self.method = method
        self.options = list(options or [])   # [(key, value)]
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
        opts = ' '.join('%s=%s' % (k, v if _bare_ok(v) else quote_token(v))
                        for k, v in self.options)
        address = '' if self.type == 'local' else self.address
        if self.addr is not None and self.addr.kind == 'ip' and '/' in address and \
                not re.match(r'^\d+$', address.rpartition('/')[2]):
            address = address.replace('/', ' ')  # a non-CIDR mask is its own field
        text = '%-7s %-15s %-15s %-23s %s' % (
            self.type, ','.join(self.databases), ','.join(self.users), address, self.method)
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
        parts.extend('%s=%s' % (k, '********' if k in SECRET_OPTIONS else v)
                     for k, v in self.options)
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
                    raise PgHbaError('specifying both host name and CIDR mask is invalid: "%s"'
                                     % value)
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
    for field in fields[rest + 1:]:
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
            raise PgHbaError('authentication option "%s" is only valid for authentication '
                             'methods %s' % (key, ', '.join(allowed)))
        if key == 'clientcert':
            if rule.type != 'hostssl':
                raise PgHbaError('clientcert can only be configured for "hostssl" rows')
            if major is None or major >= 14:
                if value not in ('verify-ca', 'verify-full'):
                    raise PgHbaError('invalid value for clientcert: "%s" (PostgreSQL 14 and '
                                     'later accept verify-ca or verify-full)' % value)
            elif value not in ('verify-ca', 'verify-full', '1', '0', 'no-verify'):
                raise PgHbaError('invalid value for clientcert: "%s"' % value)
            if rule.method == 'cert' and value != 'verify-full':
                raise PgHbaError('clientcert only accepts "verify-full" when using "cert" '
                                 'authentication')
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
        note = logical[comment + 1:].strip()
        rule.comment = note
        if note == MARKER or note.startswith(MARKER + ':'):
            rule.managed = True
            rule.comment = note[len(MARKER) + 1:].strip() or None
    return rule


def parse(text, major=None):
    """Records of a pg_hba.conf text (rules, includes, invalid lines, the rest); round-trips
    exactly through render()."""
    return [parse_record(raw, eol, logical, number, major)
            for raw, eol, logical, number, _count in split_records(text, major)]


def parse_line(raw, eol='\n', number=None, major=None):
    return parse_record(raw, eol, raw.rstrip('\r'), number, major)


def check_valid(lines, path):
    """Refuse a file the server would not load, naming the first bad line."""
    for line in lines:
        if line.kind == 'invalid':
            raise PgHbaError('%s:%s: %s. The server would not load this file; fix the line '
                             'first.' % (path, line.number, line.error))


def explain(text, major=None):
    """Why the server refuses a record (or None when this parser accepts it)."""
    line = parse_line(text, '', None, major)
    return line.error if line.kind == 'invalid' else None


def render(lines):
    return ''.join(line.text for line in lines)


def rules(lines):
    return [line for line in lines if line.kind == 'rule']


def read_tree(path, major=None, depth=0, errors=None):
    """[(file, record)] of every rule and invalid record the server reads from ``path``, with
    include directives (PostgreSQL 16 and later) expanded where they stand. An include that
    cannot be read is recorded in ``errors`` as (including file, line) when a list is given,
    and raises PgHbaError otherwise."""
    out = []
    for line in parse(_read_text(path), major):
        if line.kind in ('rule', 'invalid'):
            out.append((path, line))
        elif line.kind == 'include':
            try:
                if depth >= 10:
                    raise PgHbaError('maximum nesting depth exceeded')
                for inc in _include_targets(line, path):
                    out.extend(read_tree(inc, major, depth + 1, errors))
            except (IOError, OSError, PgHbaError) as exc:
                if errors is None:
                    raise PgHbaError('%s:%s: cannot read %s: %s' % (
                        path, line.number, line.target, getattr(exc, 'strerror', None) or exc))
                errors.append((path, line.number))
    return out


def _include_targets(line, path):
    target = line.target
    if not os.path.isabs(target):
        target = os.path.join(os.path.dirname(path), target)
    if line.directive == 'include_dir':
        return [os.path.join(target, n) for n in sorted(os.listdir(target))
                if n.endswith('.conf') and not n.startswith('.')]
    if line.directive == 'include_if_exists' and not os.path.exists(target):
        return []
    return [target]


def _read_text(path):
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'surrogateescape')


# --------------------------------------------------------------------------- overlap

def overlaps(a, b):
    """True when some connection matches both rules."""
    return (bool(_TYPE_SET[a.type] & _TYPE_SET[b.type])
            and names_overlap(a.dbs, b.dbs) and names_overlap(a.usrs, b.usrs)
            and (a.type == 'local' or addresses_overlap(a.addr, b.addr)))


def covers(a, b):
    """True when rule ``a`` matches every connection rule ``b`` matches."""
    return (_TYPE_SET[b.type] <= _TYPE_SET[a.type]
            and names_cover(a.dbs, b.dbs) and names_cover(a.usrs, b.usrs)
            and (a.type == 'local' or address_covers(a.addr, b.addr)))


_CONN_WORDS = {'ssl': 'a TLS connection', 'plain': 'a plain TCP connection',
               'gss': 'a GSSAPI-encrypted connection', 'local': 'a unix-socket connection'}


def _pick_name(xs, ys, field):
    for x in xs:
        for y in ys:
            if _names_overlap(x, y):
                if x.kind == 'replication' or y.kind == 'replication':
                    return 'a physical replication connection' if field == 'database' else ''
                for n in (x, y):
                    if n.kind == 'name':
                        return '%s %s' % (field, n.value)
                return 'any %s' % field
    return 'any %s' % field


def example(a, b):
    """A connection that both rules match, in words (for reports)."""
    kinds = sorted(_TYPE_SET[a.type] & _TYPE_SET[b.type])
    kind = 'ssl' if 'ssl' in kinds else kinds[0]
    words = [_CONN_WORDS[kind]]
    db = _pick_name(a.dbs, b.dbs, 'database')
    user = _pick_name(a.usrs, b.usrs, 'user')
    words.append('by ' + user)
    words.append(('to ' + db) if not db.startswith('a physical') else '(' + db + ')')
    if kind != 'local':
        x, y = a.addr, b.addr
        if x.kind == 'ip' and y.kind == 'ip':
            value = (x.addr & x.mask) | (y.addr & y.mask & ~x.mask)
            words.append('from %s' % (ipaddress.ip_address(value) if x.family == 4
                                      else ipaddress.IPv6Address(value)))
        else:
            words.append('from an address that %s and %s both match' % (x.text, y.text))
    return ' '.join(words)


def shadowed(lines):
    """[(rule, earlier rule that hides it entirely)] for every rule that can never match."""
    found = []
    seen = []
    for rule in rules(lines):
        for earlier in seen:
            if covers(earlier, rule):
                found.append((rule, earlier))
                break
        seen.append(rule)
    return found


def partly_shadowed(lines, rule):
    """[(earlier rule, example connection)] for the earlier rules that take some of ``rule``'s
    connections."""
    out = []
    for line in lines:
        if line is rule:
            break
        if line.kind == 'rule' and overlaps(line, rule):
            out.append((line, example(line, rule)))
    return out


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
    method = (spec.get('method') or 'scram-sha-256')
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
            raise PgHbaError('A %s rule needs an address (CIDR, all, samehost, samenet or a '
                             'host name).' % type_)
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
            raise PgHbaError('The comment %r ends with a backslash, which PostgreSQL 16 reads as '
                             'a continuation of the next line.' % comment)
        comment = comment.strip() or None
    if method == 'cert' and type_ != 'hostssl':
        raise PgHbaError('The cert method works only on hostssl rules (got %s).' % type_)
    if method == 'peer' and type_ != 'local':
        raise PgHbaError('The peer method works only on local rules (got %s).' % type_)
    if method == 'gss' and type_ == 'local':
        raise PgHbaError('The gss method does not work on local rules.')
    rule = Rule(type_, databases, users, address, method, options, comment=comment,
                major=major, managed=managed)
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
    if back.kind != 'rule' or back.key() != rule.key() or back.method != rule.method or \
            back.options != rule.options:
        raise PgHbaError('The rule %s would not read back as written; refusing it.'
                         % rule.describe())
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
        raise PgHbaError('The rule %s could never match: line %s (%s) rejects every connection '
                         'it would match. Remove or narrow that line first.'
                         % (rule.describe(), hider.number, hider.describe()))
    lo = max(after) + 1 if after else 0
    hi = min(before) if before else len(lines)
    if lo > hi:
        first = lines[min(before)]
        last = lines[max(after)]
        raise PgHbaError(
            'The rule %s cannot be placed where it matches: it must come before line %s (%s), '
            'which would take %s, and after line %s (%s), which it would otherwise hide; but '
            'line %s comes first. Reorder or narrow those lines.'
            % (rule.describe(), first.number, first.describe(), example(first, rule),
               last.number, last.describe(), first.number))
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
    return Rule(rule.type, rule.dbs, rule.usrs, rule.addr, rule.method, rule.options,
                number=current.number, eol=current.eol or '\n', comment=rule.comment,
                managed=rule.managed)


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
            actions.append('removed %s (line %s, no longer listed)' % (line.describe(),
                                                                       line.number))
            continue
        out.append(line)
    return out, actions


def reject_rules(scope=None):
    """The rules that refuse TCP without TLS for normal and physical replication logins."""
    nets = scope or ['0.0.0.0/0', '::/0']
    return [Rule('hostnossl', ['all', 'replication'], ['all'], parse_address(net), 'reject',
                 comment='no TCP without TLS', managed=True) for net in nets]


def check_scope(scope):
    out = []
    for net in scope or []:
        try:
            out.append(str(ipaddress.ip_network(str(net).strip(), strict=False)))
        except ValueError:
            raise PgHbaError('require_ssl_scope: %r is not a CIDR (for example 10.0.0.0/8).'
                             % (net,))
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
            raise PgHbaError('Line %s (%s) pulls in rules that require_ssl=convert cannot edit; '
                             'use require_ssl=reject or both.'
                             % (includes[0].number, includes[0].describe()))
        for index, line in enumerate(lines):
            if line.kind != 'rule' or line.type == 'local' or 'plain' not in _TYPE_SET[line.type] \
                    or line.method == 'reject':
                continue
            if nets:
                inside = any(address_covers(n, line.addr) for n in nets)
                if not inside:
                    if any(addresses_overlap(n, line.addr) for n in nets):
                        raise PgHbaError(
                            'Line %s (%s) reaches beyond require_ssl_scope %s, so converting it '
                            'would change more than asked and leaving it would keep plain TCP '
                            'open; narrow or convert it yourself, or use require_ssl=reject.'
                            % (line.number, line.describe(), ', '.join(scope)))
                    continue
            new = Rule('hostssl', line.dbs, line.usrs, line.addr, line.method, line.options,
                       number=line.number, eol=line.eol, comment=line.comment,
                       managed=line.managed)
            lines[index] = new
            actions.append('converted line %s to hostssl: %s' % (line.number, new.describe()))
    if mode in ('reject', 'both'):
        wanted = reject_rules(scope or None)
        keys = set(r.key() for r in wanted)
        kept = []
        for line in lines:
            if line.kind == 'rule' and line.managed and line.type == 'hostnossl' and \
                    line.method == 'reject' and line.key() not in keys:
                actions.append('removed %s (line %s)' % (line.describe(), line.number))
                continue
            kept.append(line)
        lines = kept
        first = next((i for i, l in enumerate(lines) if l.kind in ('rule', 'include')),
                     len(lines))
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
    shown = ' '.join('%s=%s' % (k, '********' if k in SECRET_OPTIONS else v)
                     for k, v in sorted(opts.items()))
    return ' '.join(str(x) for x in (
        spec.get('type') or 'hostssl', ','.join(spec.get('databases') or ['all']),
        ','.join(spec.get('users') or ['all']), spec.get('address') or '',
        spec.get('method') or 'scram-sha-256', shown) if x)


def plan(text, specs, major=None, require='none', scope=None, purge=False,
         path='pg_hba.conf'):
    """Parse, check and edit a whole file: purge managed rules no longer listed, refuse plain
    TCP, then add/update/remove the listed rules. Returns (lines, actions, wanted rules)."""
    lines = parse(text, major)
    check_valid(lines, path)
    wanted = []
    for spec in specs:
        try:
            wanted.append((make_rule(spec, major, managed=True),
                           spec.get('state') or 'present'))
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
