# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf syntax: the vocabulary, tokens and quoting, database/user names and addresses,
and when two of them overlap or one covers the other."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError


TYPES = ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
TCP_TYPES = TYPES[1:]
METHODS = (
    'trust',
    'reject',
    'scram-sha-256',
    'md5',
    'password',
    'gss',
    'sspi',
    'ident',
    'peer',
    'ldap',
    'radius',
    'cert',
    'pam',
    'bsd',
    'oauth',
)
ADDRESS_KEYWORDS = ('all', 'samehost', 'samenet')
INCLUDE_DIRECTIVES = ('include', 'include_if_exists', 'include_dir')
DB_KEYWORDS = ('all', 'sameuser', 'samerole', 'samegroup', 'replication')
USER_KEYWORDS = ('all',)

# Which connections a type matches: TLS, GSSAPI-encrypted, plain TCP, or a unix socket.
_TYPE_SET = {
    'local': frozenset(['local']),
    'host': frozenset(['ssl', 'gss', 'plain']),
    'hostssl': frozenset(['ssl']),
    'hostnossl': frozenset(['gss', 'plain']),
    'hostgssenc': frozenset(['gss']),
    'hostnogssenc': frozenset(['ssl', 'plain']),
}

_GSS = ('gss', 'sspi')
_LDAP = (
    'ldapurl',
    'ldapserver',
    'ldapport',
    'ldapscheme',
    'ldaptls',
    'ldapbinddn',
    'ldapbindpasswd',
    'ldapsearchattribute',
    'ldapsearchfilter',
    'ldapbasedn',
    'ldapprefix',
    'ldapsuffix',
)
_RADIUS = (
    'radiusserver',
    'radiusservers',
    'radiussecret',
    'radiussecrets',
    'radiusidentifier',
    'radiusidentifiers',
    'radiusport',
    'radiusports',
)
# option -> methods it is valid for (None: any method; hostssl-only options are checked apart)
OPTION_METHODS = dict(
    [
        ('map', ('ident', 'peer', 'gss', 'sspi', 'cert', 'oauth')),
        ('clientcert', None),
        ('clientname', None),
        ('pamservice', ('pam',)),
        ('pam_use_hostname', ('pam',)),
        ('krb_realm', _GSS),
        ('include_realm', _GSS),
        ('compat_realm', ('sspi',)),
        ('upn_username', ('sspi',)),
        ('issuer', ('oauth',)),
        ('scope', ('oauth',)),
        ('validator', ('oauth',)),
        ('delegate_ident_mapping', ('oauth',)),
    ]
    + [(name, ('ldap',)) for name in _LDAP]
    + [(name, ('radius',)) for name in _RADIUS]
)
SECRET_OPTIONS = ('ldapbindpasswd', 'radiussecret', 'radiussecrets')

MARKER = 'pgssl.postgresql'
_BLANKS = ' \t\r'
_UNSAFE_BARE = re.compile(r'[ \t\r\n#,"\\]')
_HOSTNAME = re.compile(
    r'^\.?[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
    r'(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$'
)


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
            raise PgHbaError(
                '%s %r contains a newline, carriage return or NUL; pg_hba.conf cannot hold it.' % (what, value)
            )


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
        raise PgHbaError(
            '%s %s is a file reference (@file), which pg_hba does not manage; list '
            'the names, or quote it ("%s") for a name that starts with @.' % (what, text, text)
        )
    keywords = DB_KEYWORDS if field == 'database' else USER_KEYWORDS
    if (
        text in keywords
        or (field == 'user' and text.startswith('+') and len(text) > 1)
        or (text.startswith('/') and len(text) > 1)
    ):
        if text.startswith('/') and major is not None and int(major) < 16:
            raise PgHbaError('%s %s: regular expressions need PostgreSQL 16 or later.' % (what, text))
        return _name(text, False, field, major)
    return _name(text, True, field, major) if not _bare_ok(text) else _name(text, False, field, major)


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
    text = (
        '%s/%d' % (base, prefix)
        if contiguous
        else '%s/%s' % (base, ipaddress.ip_address(mask) if ip.version == 4 else ipaddress.IPv6Address(mask))
    )
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
    raise PgHbaError(
        'Invalid address %r: give a CIDR (10.0.0.0/8), an IP address (with a mask '
        'as 10.0.0.0 255.0.0.0 or 10.0.0.0/255.0.0.0), all, samehost, samenet or '
        'a host name.' % given
    )


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
        return a.family == b.family and (a.mask & ~b.mask) == 0 and ((a.addr ^ b.addr) & a.mask) == 0
    return a.kind == b.kind and a.value == b.value and a.kind != 'ip'
