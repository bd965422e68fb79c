# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seeded generators of hostile postgresql.conf and pg_hba.conf files, and the differential check
that the collection's parsers read them as the real server does (pg_file_settings and
pg_hba_file_rules read the files on disk without applying them).

Run as a program for a long fuzz run: ``python confgen.py --cases 3000 --seed 7``.
"""

import argparse
import ipaddress
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# --------------------------------------------------------------------------- postgresql.conf

CONF_NAMES = [
    'work_mem',
    'WORK_MEM',
    'ssl_ciphers',
    'search_path',
    'log_line_prefix',
    'statement_timeout',
    'application_name',
    'DateStyle',
    'pgssl.fuzz',
    'Pg.Fuzz_2',
    'ssl',
    'ssl_min_protocol_version',
    'include_if_exists',
    'ssl_cert_file',
]
BAD_NAMES = ['1abc', 'a-b', '$x', 'a.b.c', "'quoted'", 'ä_name']
ODD = ['\f', '\v', '\x85', '\u2028', '\u00a0']


def _conf_value(rng):
    kind = rng.randrange(14)
    if kind == 0:
        return rng.choice(['64MB', '-5', '+5', '0x1F', '10min', '5kB', '0', '1e5', '08'])
    if kind == 1:
        return rng.choice(['1.5', '.5', '5.', '1.5e3', '-.25', '.', '1.5GB'])
    if kind == 2:
        return rng.choice(['on', 'off', 'TRUE', 'no', 'Yes', '1'])
    if kind == 3:
        return rng.choice(['/etc/x.crt', 'abc.def', 'a-b:c/d', 'HIGH:!aNULL', 'x_y.z/w', 'ab$c', 'é'])
    if kind in (4, 5, 6, 7, 8):
        body = ''.join(
            rng.choice(
                [
                    "a",
                    "b",
                    " ",
                    "''",
                    "\\'",
                    "\\n",
                    "\\\\",
                    "\\101",
                    "\\x",
                    "#",
                    "\\t",
                    "%m",
                    "\"",
                    "é",
                    "\\7",
                    "\\0a",
                    "\r",
                    "\t",
                ]
            )
            for _i in range(rng.randrange(0, 7))
        )
        return "'%s'" % body
    if kind == 9:
        return "'unterminated"
    if kind == 10:
        return "'%s'" % rng.choice(['x' + o + 'y' for o in ODD])
    if kind == 11:
        return "''"
    if kind == 12:
        return rng.choice(['a' + o + 'b' for o in ODD] + ['a b', "a'b"])
    return ''


def conf_line(rng, include_names=()):
    roll = rng.randrange(20)
    if roll == 0:
        return ''
    if roll == 1:
        return rng.choice(
            ['# comment', '#ssl = on', '   # indented', '# x\fssl = on', '# x\vwork_mem = 1kB', '# quote \' " \\']
        )
    if roll == 2:
        return rng.choice([' ', '\t', '\r', ' \t '])
    if roll == 3 and include_names:
        directive = rng.choice(['include', 'include_if_exists', 'INCLUDE_IF_EXISTS', 'include_dir'])
        target = rng.choice(include_names)
        forms = ["'%s'" % target, target, "= '%s'" % target]
        return '%s %s' % (directive, rng.choice(forms))
    name = rng.choice(CONF_NAMES if rng.random() < 0.9 else BAD_NAMES)
    sep = rng.choice([' = ', '=', ' ', '\t=\t', ' =', '= ', '  =  ', '\r=\r', ' ' + rng.choice(ODD) + ' '])
    value = _conf_value(rng)
    tail = rng.choice(['', '', '', ' # trailing', '#x', '\t# t\fu', ' ' + rng.choice(ODD), ' extra', '\r'])
    lead = rng.choice(['', '', ' ', '\t'])
    return lead + name + sep + value + tail


def conf_file(rng, include_names=()):
    lines = [conf_line(rng, include_names) for _i in range(rng.randrange(1, 12))]
    eol = rng.choice(['\n', '\n', '\r\n'])
    text = eol.join(lines)
    if rng.random() < 0.8:
        text += eol
    return text


# --------------------------------------------------------------------------- pg_hba.conf


def _names(rng, field, major):
    pool = [
        'all',
        'all',
        'db1',
        '"all"',
        '"my db"',
        'a"b c"d',
        '"a""b"',
        'x#y',
        '"x#y"',
        'sameuser',
        'samerole',
        'replication',
        '"replication"',
        '+grp',
        '"+grp"',
        'app',
        '/^app.*$',
        '"/^app"',
        'postgres',
        'Mixed',
    ]
    if field == 'user':
        pool = [p for p in pool if p not in ('sameuser', 'samerole', 'replication')]
    picks = [rng.choice(pool) for _i in range(1 if rng.random() < 0.7 else rng.randrange(2, 4))]
    joiner = rng.choice([',', ',', ', ', ' ,'])
    return joiner.join(picks)


def _address(rng):
    roll = rng.randrange(14)
    if roll < 4:
        net = ipaddress.IPv4Address(rng.getrandbits(32))
        return '%s/%d' % (net, rng.choice([0, 8, 16, 24, 32, rng.randrange(0, 33)]))
    if roll < 6:
        net = ipaddress.IPv6Address(rng.getrandbits(128))
        return '%s/%d' % (net, rng.choice([0, 64, 128, rng.randrange(0, 129)]))
    if roll == 6:
        mask = rng.choice(['255.255.255.0', '255.0.255.0', '0.0.0.0', '255.255.255.255', 'ffff::'])
        return '%s %s' % (ipaddress.IPv4Address(rng.getrandbits(32)), mask)
    if roll == 7:
        return rng.choice(['all', 'samehost', 'samenet', '"all"'])
    if roll == 8:
        return rng.choice(['db1.example.com', '.example.com', 'DB2.Example.COM', 'localhost'])
    if roll == 9:
        return rng.choice(
            [
                '127.1/32',
                '10.0.0.1/33',
                '1.2.3.4/x',
                'db.example.com/24',
                '127.0.0.1',
                '::1',
                '0x7f.1/32',
                '010.0.0.1/32',
            ]
        )
    if roll == 10:
        return '127.0.0.1/32'
    if roll == 11:
        return '::1/128'
    return '%s/%d' % (ipaddress.IPv4Address(rng.getrandbits(32)), rng.randrange(0, 33))


def hba_line(rng, major, include_names=()):
    roll = rng.randrange(24)
    if roll == 0:
        return ''
    if roll == 1:
        return rng.choice(
            ['# comment', '   # indented "quote', '# ends in backslash \\', '# x\fhost all all all trust', '\t']
        )
    if roll == 2 and include_names:
        return '%s %s' % (rng.choice(['include', 'include_if_exists', 'include_dir']), rng.choice(include_names))
    typ = rng.choice(
        ['local', 'host', 'hostssl', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc']
        + (['HOST', 'hots', '"host"'] if rng.random() < 0.1 else [])
    )
    fields = [typ, _names(rng, 'database', major), _names(rng, 'user', major)]
    if typ != 'local' or rng.random() < 0.05:
        fields.append(_address(rng))
    method = rng.choice(
        ['trust', 'reject', 'scram-sha-256', 'md5', 'password', 'cert', 'ident', 'peer']
        + (['Trust', 'krb5', 'trust\v', 'reject\f'] if rng.random() < 0.1 else [])
    )
    if method in ('cert',) and typ != 'hostssl' and rng.random() < 0.8:
        method = 'scram-sha-256'
    if method == 'peer' and typ != 'local' and rng.random() < 0.8:
        method = 'trust'
    fields.append(method)
    if rng.random() < 0.3:
        opts = [
            rng.choice(
                [
                    'map=m1',
                    'clientcert=verify-full',
                    'clientcert=verify-ca',
                    'clientcert=1',
                    'clientname=CN',
                    'clientname=DN',
                    '"map=a b"',
                    'map="x y"',
                    'noequals',
                    'foo=bar',
                ]
            )
            for _i in range(rng.randrange(1, 3))
        ]
        fields.append(rng.choice([' ', ',']).join(opts))
    seps = [rng.choice([' ', '\t', '  ', ' \t', '\r ']) for _field in fields]
    out = ''
    for field, sep in zip(fields, seps):
        if out and rng.random() < 0.06:
            out += ' \\\n  '  # continuation
        out += (sep if out else rng.choice(['', '', ' '])) + field
    out += rng.choice(['', '', '', '  # trailing', '#c', ' # with "quote', '\r', ' \\', ' ' + rng.choice(ODD)])
    return out


def hba_file(rng, major, include_names=()):
    lines = [hba_line(rng, major, include_names) for _i in range(rng.randrange(1, 10))]
    text = '\n'.join(lines)
    if rng.random() < 0.85:
        text += '\n'
    return text


# --------------------------------------------------------------------------- readings


def _import_cores():
    coll = os.path.join(ROOT, '.cache', 'collections')
    if coll not in sys.path:
        sys.path.insert(0, coll)
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf, _pghba

    return _pgconf, _pghba


def server_conf_reading(conn, config_dir):
    rows = conn.execute(
        'SELECT sourcefile, sourceline, name, setting, error FROM pg_file_settings ORDER BY seqno'
    ).fetchall()
    settings, errors = [], []
    for sourcefile, line, name, setting, error in rows:
        if sourcefile and sourcefile.endswith('postgresql.auto.conf'):
            continue
        if name is None:
            if sourcefile is not None:  # rows without a file are the server's checks of values
                errors.append((sourcefile, line))
        else:
            settings.append((sourcefile, line, name.lower(), setting))
    return settings, errors


def module_conf_reading(path):
    pgconf, _h = _import_cores()
    errors = []
    found = pgconf.read_tree(path, errors=errors)
    # the server's view stops a file at its first error, so there is one row per failing file
    positions = []
    for where, number, message in errors:
        if 'near end of line' in message:
            # the server's view numbers an error at the end of a file without a final newline
            # one lower (it counts the newlines it has seen)
            from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt

            lines = pgconf.parse(txt.read(where))
            if lines and lines[-1].number == number and lines[-1].eol == '':
                number -= 1
        positions.append((where, number))
    return (
        [
            (f, n, name, value.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace'))
            for f, n, name, value in found
        ],
        positions,
    )


_SSL_OFF = 'hostssl record cannot match because SSL is disabled'


def _net(address, netmask):
    if address is None:
        return None
    if netmask is None:
        return address.lower()
    addr = ipaddress.ip_address(address)
    mask = int(ipaddress.ip_address(netmask))
    return (addr.version, int(addr) & mask, mask)


def server_hba_reading(conn, major):
    cols = 'line_number, type, database, user_name, address, netmask, auth_method, options, error'
    if int(major) >= 16:
        cols = 'file_name, ' + cols
    # the rows come in the order the server reads the files (hostssl rows of a server with
    # ssl=off have no rule_number, so that column cannot order them)
    rows = conn.execute('SELECT %s FROM pg_hba_file_rules' % cols).fetchall()
    out, errors = [], []
    for row in rows:
        row = list(row)
        fname = row.pop(0) if int(major) >= 16 else None
        line, typ, dbs, users, address, netmask, method, options, error = row
        if (error and error != _SSL_OFF) or typ is None:
            errors.append((str(fname), line))
            continue
        opts = sorted(o for o in (options or []) if o.split('=')[0] in ('map', 'clientcert'))
        out.append((fname, line, typ, tuple(dbs), tuple(users), _net(address, netmask), method, tuple(opts)))
    return out, sorted(errors)


def module_hba_reading(path, major):
    _c, pghba = _import_cores()
    out, errors = [], []
    for fname, rec in pghba.read_tree(path, major, errors=errors):
        fname = fname if int(major) >= 16 else None
        if rec.kind == 'invalid':
            errors.append((str(fname), rec.number))
            continue
        addr = None
        if rec.addr is not None:
            addr = (rec.addr.family, rec.addr.addr, rec.addr.mask) if rec.addr.kind == 'ip' else rec.addr.text.lower()
        opts = dict((k, v) for k, v in rec.options if k in ('map', 'clientcert'))
        if rec.method == 'cert':
            opts['clientcert'] = 'verify-full'
        if opts.get('clientcert') in ('0', 'no-verify'):
            del opts['clientcert']
        if opts.get('clientcert') == '1':
            opts['clientcert'] = 'verify-ca'
        out.append(
            (
                fname,
                rec.number,
                rec.type,
                tuple(_token(n) for n in rec.dbs),
                tuple(_token(n) for n in rec.usrs),
                addr,
                rec.method,
                tuple(sorted('%s=%s' % kv for kv in opts.items())),
            )
        )
    return out, sorted(errors)


def _token(name):
    prefix = {'group': '+', 'regex': '/', 'file': '@'}.get(name.kind, '')
    value = name.value if name.value is not None else name.kind
    return prefix + value


# --------------------------------------------------------------------------- running


def _write(path, text, like):
    st = os.stat(like)
    with open(path, 'wb') as handle:
        handle.write(text.encode('utf-8', 'surrogateescape'))
    os.chown(path, st.st_uid, st.st_gid)


def run_conf_cases(fleet, name, seed, count):
    """Generate ``count`` postgresql.conf cases; returns a list of mismatches (empty = pass)."""
    import psycopg

    host = fleet.host(name)
    rng = random.Random('%s-conf-%s' % (seed, name))
    path = host['config_file']
    confdir = host['config_dir']
    incdir = os.path.join(confdir, 'fz.d')
    extra = [
        os.path.join(confdir, 'fz-a.conf'),
        os.path.join(incdir, 'b.conf'),
        os.path.join(incdir, 'a.conf'),
        os.path.join(incdir, 'c.txt'),
    ]
    saved = open(path, 'rb').read()
    mismatches = []
    conn = psycopg.connect(**fleet.conninfo(name, sslmode='prefer'), autocommit=True)
    os.makedirs(incdir, exist_ok=True)
    try:
        for case in range(count):
            text = conf_file(rng, ('fz-a.conf', 'fz.d', 'missing.conf'))
            _write(path, text, path)
            for other in extra:
                _write(other, conf_file(rng), path)
            expected = server_conf_reading(conn, confdir)
            got = module_conf_reading(path)
            if expected != got:
                mismatches.append({'case': case, 'text': text, 'server': expected, 'module': got})
    finally:
        with open(path, 'wb') as handle:
            handle.write(saved)
        for other in extra:
            if os.path.exists(other):
                os.unlink(other)
        os.rmdir(incdir)
        conn.close()
    return mismatches


def run_hba_cases(fleet, name, seed, count):
    import psycopg

    host = fleet.host(name)
    major = int(host['version'])
    rng = random.Random('%s-hba-%s' % (seed, name))
    path = host['hba_file']
    extra = os.path.join(host['config_dir'], 'fz-hba.conf')
    saved = open(path, 'rb').read()
    mismatches = []
    conn = psycopg.connect(**fleet.conninfo(name, sslmode='prefer'), autocommit=True)
    try:
        for case in range(count):
            incs = ('fz-hba.conf',) if major >= 16 else ()
            text = hba_file(rng, major, incs)
            _write(path, text, path)
            _write(extra, hba_file(rng, major), path)
            expected = server_hba_reading(conn, major)
            got = module_hba_reading(path, major)
            if expected != got:
                mismatches.append({'case': case, 'text': text, 'server': expected, 'module': got})
    finally:
        with open(path, 'wb') as handle:
            handle.write(saved)
        if os.path.exists(extra):
            os.unlink(extra)
        conn.close()
    return mismatches


HOSTILE_VALUES = [
    "it's",
    'back\\slash',
    "a'b''c",
    'hash # not a comment',
    'tab\there',
    'é ü',
    'HIGH:!aNULL',
    '',
    ' lead and trail ',
    "'",
    '\\',
    'x\\',
    "\\'",
    '%m [%p] ',
    'on',
    '64MB',
    '-1',
    '0x10',
    '1.5',
    '/etc/ssl/a b.crt',
]
REFUSED_VALUES = ["HIGH'\nssl = off\n#", 'a\x00b', 'cr\rhere', 'nl\n', 'bell\x07']
WRITE_NAMES = [
    'ssl_ciphers',
    'search_path',
    'log_line_prefix',
    'application_name',
    'pgssl.fuzz',
    'ssl_min_protocol_version',
    'work_mem',
]


def _valid_conf(rng):
    pgconf, _h = _import_cores()
    while True:
        text = conf_file(rng)
        lines = pgconf.parse(text)
        if not pgconf.syntax_errors(lines) and not any(l.kind == 'include' for l in lines):
            return text


def run_conf_writes(fleet, name, seed, count):
    """pg_conf's editor on generated files with hostile values: the server reads back exactly
    the value that was set, and the written file has no error; control characters are refused."""
    import psycopg

    pgconf, _h = _import_cores()
    host = fleet.host(name)
    rng = random.Random('%s-confw-%s' % (seed, name))
    path = host['config_file']
    saved = open(path, 'rb').read()
    mismatches = []
    conn = psycopg.connect(**fleet.conninfo(name, sslmode='prefer'), autocommit=True)
    try:
        for case in range(count):
            text = _valid_conf(rng)
            settings = dict((rng.choice(WRITE_NAMES), rng.choice(HOSTILE_VALUES)) for _i in range(rng.randrange(1, 4)))
            if rng.random() < 0.2:
                settings[rng.choice(WRITE_NAMES)] = rng.choice(REFUSED_VALUES)
                try:
                    pgconf.set_settings(pgconf.parse(text), settings)
                except pgconf.PgConfError:
                    continue
                mismatches.append({'case': case, 'text': text, 'server': 'refusal', 'module': settings})
                continue
            new, _changes = pgconf.set_settings(pgconf.parse(text), settings)
            out = pgconf.render(new)
            _write(path, out, path)
            read, errors = server_conf_reading(conn, host['config_dir'])
            effective = dict((n, v) for _f, _l, n, v in read)
            wanted = dict((n.lower(), v) for n, v in settings.items())
            if errors or any(effective.get(n) != v for n, v in wanted.items()):
                mismatches.append({'case': case, 'text': out, 'server': (read, errors), 'module': wanted})
    finally:
        with open(path, 'wb') as handle:
            handle.write(saved)
        conn.close()
    return mismatches


USER_POOL = [
    'app',
    'my user',
    'a"b',
    'x#y',
    'a,b',
    '+grp',
    '"all"',
    'all',
    '/^re.*$',
    'é',
    'tab\tname',
    'back\\slash',
    '@at',
    'replication',
]
DB_POOL = ['all', 'appdb', 'my db', 'replication', 'sameuser', '"replication"', 'd#b', '/^x']
ADDR_POOL = [
    '10.0.0.0/8',
    '127.0.0.1',
    '10.1.2.3/16',
    '192.168.0.0 255.255.0.0',
    '172.16.0.0/255.240.0.0',
    '::1',
    'fe80::/10',
    'all',
    'samenet',
    'samehost',
    'db1.example.com',
    '.example.com',
    '0.0.0.0/0',
    '::/0',
    '127.0.0.0/8',
]


def _rule_spec(rng):
    typ = rng.choice(['hostssl', 'hostssl', 'host', 'hostnossl', 'local', 'hostgssenc'])
    spec = {
        'type': typ,
        'databases': [rng.choice(DB_POOL)],
        'users': [rng.choice(USER_POOL) for _i in range(rng.randrange(1, 3))],
    }
    if typ != 'local':
        spec['address'] = rng.choice(ADDR_POOL)
    methods = {
        'hostssl': ['cert', 'scram-sha-256', 'reject', 'md5'],
        'local': ['peer', 'trust', 'reject', 'scram-sha-256'],
    }
    spec['method'] = rng.choice(methods.get(typ, ['scram-sha-256', 'reject', 'trust', 'md5']))
    opts = {}
    if typ == 'hostssl' and rng.random() < 0.4:
        opts['clientcert'] = 'verify-full' if spec['method'] == 'cert' else rng.choice(['verify-full', 'verify-ca'])
    if spec['method'] in ('cert', 'peer') and rng.random() < 0.4:
        opts['map'] = rng.choice(['m1', 'my map', 'x#y'])
    if opts:
        spec['options'] = opts
    if rng.random() < 0.3:
        spec['comment'] = rng.choice(['app # rule', 'quote " here', "it's", 'é'])
    return spec


def _valid_hba(rng, major):
    _c, pghba = _import_cores()
    while True:
        text = hba_file(rng, major)
        if not any(l.kind in ('invalid', 'include') for l in pghba.parse(text, major)):
            return text


def run_hba_writes(fleet, name, seed, count):
    """pg_hba's editor on generated files with generated rules: the written file loads with no
    error row, the server reads the same rules as the module, and every managed rule is there."""
    import psycopg

    _c, pghba = _import_cores()
    host = fleet.host(name)
    major = int(host['version'])
    rng = random.Random('%s-hbaw-%s' % (seed, name))
    path = host['hba_file']
    saved = open(path, 'rb').read()
    mismatches = []
    written = 0
    conn = psycopg.connect(**fleet.conninfo(name, sslmode='prefer'), autocommit=True)
    try:
        for case in range(count):
            text = _valid_hba(rng, major)
            specs = [_rule_spec(rng) for _i in range(rng.randrange(1, 4))]
            require = rng.choice(['none', 'reject', 'reject', 'convert', 'both'])
            try:
                lines, _actions, present = pghba.plan(text, specs, major, require, None, rng.random() < 0.5)
            except pghba.PgHbaError:
                continue
            out = pghba.render(lines)
            _write(path, out, path)
            written += 1
            expected = server_hba_reading(conn, major)
            got = module_hba_reading(path, major)
            lines_back = pghba.parse(out, major)
            keys = set(r.key() for r in pghba.rules(lines_back))
            if expected != got or expected[1] or any(rule.key() not in keys for rule in present):
                mismatches.append({'case': case, 'text': out, 'server': expected, 'module': got})
    finally:
        with open(path, 'wb') as handle:
            handle.write(saved)
        conn.close()
    if written < count // 3:
        mismatches.append({'case': 'all', 'text': '', 'server': 'too few files written', 'module': written})
    return mismatches


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--cases', type=int, default=3000, help='cases per host and file kind')
    parser.add_argument('--seed', default=str(int(time.time())))
    parser.add_argument('--fleet', default='/var/tmp/pgssl-test-fleet')
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))
    import pgfleet
    from conftest import HOSTS

    fleet = pgfleet.Fleet(args.fleet)
    total, failed = 0, 0
    for name, (ip, version) in sorted(HOSTS.items()):
        fleet.up(name, ip, version)
        for kind, runner in (
            ('postgresql.conf', run_conf_cases),
            ('pg_hba.conf', run_hba_cases),
            ('pg_conf writes', run_conf_writes),
            ('pg_hba writes', run_hba_writes),
        ):
            bad = runner(fleet, name, args.seed, args.cases)
            total += args.cases
            failed += len(bad)
            print('PG %s %-16s %d cases, %d mismatches' % (version, kind, args.cases, len(bad)))
            for item in bad[:3]:
                print('  case %(case)s: %(text)r\n    server %(server)r\n    module %(module)r' % item)
    print('fuzz: %d cases, %d mismatches, seed %s' % (total, failed, args.seed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
