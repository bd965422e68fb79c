# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pg_hba.conf parser/editor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as h

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
STOCK = sorted(glob.glob(os.path.join(FIXTURES, 'pg_hba-*.conf')))

BASE = """# comment line kept
local   all             postgres                                peer
# IPv4 local connections:
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
"""


def rule(**kw):
    return h.make_rule(kw, 16)


def descs(lines):
    return [r.describe() for r in h.rules(lines)]


def test_fixtures_present():
    assert len(STOCK) >= 3


@pytest.mark.parametrize('path', STOCK, ids=os.path.basename)
def test_stock_files_round_trip_and_edit(path):
    text = open(path).read()
    lines = h.parse(text)
    assert h.render(lines) == text
    new, action, _n = h.ensure_rule(lines, rule(type='hostssl', address='127.0.0.1/32'))
    assert action == 'added'
    out = h.render(new)
    # the new rule precedes the stock "host all all 127.0.0.1/32" line that would hide it
    order = descs(h.parse(out))
    assert order.index('hostssl all all 127.0.0.1/32 scram-sha-256') < order.index(
        'host all all 127.0.0.1/32 scram-sha-256'
    )
    # every original line survives byte-exact
    kept = [l for l in out.splitlines(True) if not l.startswith('hostssl')]
    assert ''.join(kept) == text
    again, action2, _n = h.ensure_rule(h.parse(out), rule(type='hostssl', address='127.0.0.1/32'))
    assert action2 is None and h.render(again) == out


def test_parse_fields_and_masks():
    lines = h.parse(
        'host db1,db2 "u 1" 10.0.0.1 255.255.255.0 md5 # c\n'
        'hostssl all all all cert clientcert=verify-full map=m\n'
        'local all all peer\n'
    )
    r0, r1, r2 = h.rules(lines)
    assert r0.databases == ['db1', 'db2'] and r0.users == ['"u 1"']
    assert r0.address == '10.0.0.0/24' and r0.method == 'md5'
    assert r1.options == [('clientcert', 'verify-full'), ('map', 'm')] and r1.address == 'all'
    assert r2.address is None
    bad = h.parse('hots all all 1.2.3.4/32 md5\n')
    assert bad[0].kind == 'invalid' and 'invalid connection type' in bad[0].error
    with pytest.raises(h.PgHbaError, match=r'pg_hba.conf:1: invalid connection type'):
        h.check_valid(bad, 'pg_hba.conf')


@pytest.mark.parametrize(
    'a,b,expected',
    [
        (dict(type='host', address='0.0.0.0/0'), dict(type='hostssl', address='10.0.0.0/8'), True),
        (dict(type='hostssl', address='10.0.0.0/8'), dict(type='host', address='10.0.0.0/8'), False),
        (dict(type='host', address='10.0.0.0/8'), dict(type='host', address='10.1.0.0/16'), True),
        (dict(type='host', address='10.1.0.0/16'), dict(type='host', address='10.0.0.0/8'), False),
        (dict(type='host', address='0.0.0.0/0'), dict(type='host', address='::1/128'), False),
        (dict(type='host', users=['all'], address='all'), dict(type='host', users=['app'], address='::1/128'), True),
        (dict(type='host', users=['app']), dict(type='host', users=['all']), False),
        (dict(type='host', databases=['all']), dict(type='host', databases=['replication']), False),
        (dict(type='hostnossl', address='all', method='reject'), dict(type='hostssl'), False),
    ],
)
def test_covers(a, b, expected):
    a.setdefault('address', '0.0.0.0/0')
    b.setdefault('address', '0.0.0.0/0')
    assert h.covers(rule(**a), rule(**b)) is expected


def test_new_rule_goes_before_what_hides_it_and_after_what_it_would_hide():
    text = BASE + "host    app             app             10.0.0.5/32             cert\n"
    lines = h.parse(text.replace(' cert\n', ' scram-sha-256\n'))
    new, action, notes = h.ensure_rule(lines, rule(type='hostssl', address='10.0.0.0/8'))
    assert action == 'added' and notes == []
    # the host /32 line overlaps it (it would take app's TLS logins from 10.0.0.5): before it
    assert descs(new)[-2:] == ['hostssl all all 10.0.0.0/8 scram-sha-256', 'host app app 10.0.0.5/32 scram-sha-256']
    new, action, notes = h.ensure_rule(lines, rule(type='host', address='10.0.0.0/8'))
    # a wider host rule covers the /32 one, which stays first
    assert descs(new)[-1] == 'host all all 10.0.0.0/8 scram-sha-256'
    new, action, notes = h.ensure_rule(lines, rule(type='hostssl', address='127.0.0.1/32'))
    assert descs(new).index('hostssl all all 127.0.0.1/32 scram-sha-256') == 1


def test_existing_shadowed_rule_is_moved_and_reported():
    text = BASE + "hostssl all             all             127.0.0.1/32            cert\n"
    lines = h.parse(text)
    assert [(r.number, e.number) for r, e in h.shadowed(lines)] == [(7, 4)]
    new, action, _n = h.ensure_rule(lines, rule(type='hostssl', address='127.0.0.1/32', method='cert'))
    assert action == 'moved'
    assert h.shadowed(new) == []
    out = h.render(new)
    assert "hostssl all             all             127.0.0.1/32            cert\n" in out


def test_update_method_in_place_and_remove():
    lines = h.parse(BASE)
    new, action, _n = h.ensure_rule(lines, rule(type='host', address='::1/128', method='reject'))
    assert action == 'updated' and 'host all all ::1/128 reject' in descs(new)
    gone, action = h.remove_rule(new, rule(type='host', address='::1/128'))
    assert action == 'removed' and len(h.rules(gone)) == 3


def test_require_ssl_modes():
    lines = h.parse(BASE)
    conv, actions = h.require_ssl(lines, 'convert')
    assert [r.type for r in h.rules(conv)] == ['local', 'hostssl', 'hostssl', 'hostssl']
    rej, actions = h.require_ssl(lines, 'reject')
    assert descs(rej)[:2] == [
        'hostnossl all,replication all 0.0.0.0/0 reject',
        'hostnossl all,replication all ::/0 reject',
    ]
    again, actions = h.require_ssl(rej, 'reject')
    assert actions == [] and h.render(again) == h.render(rej)
    scoped, _a = h.require_ssl(lines, 'convert', ['10.0.0.0/8'])
    assert h.render(scoped) == BASE


@pytest.mark.parametrize(
    'spec,major,message',
    [
        (dict(type='hostssl', address='all', options={'clientcert': '1'}), 14, '14 and later'),
        (dict(type='hostssl', address='all', options={'clientcert': 'no-verify'}), 16, '14 and'),
        (
            dict(type='hostssl', address='all', method='cert', options={'clientcert': 'verify-ca'}),
            16,
            'only accepts "verify-full"',
        ),
        (dict(type='host', address='all', method='cert'), 16, 'only on hostssl'),
        (dict(type='host', address='all', options={'clientcert': 'verify-ca'}), 16, 'hostssl'),
        (dict(type='host'), 16, 'needs an address'),
        (dict(type='local', address='10.0.0.0/8'), 16, 'no address'),
        (dict(type='hostssl', address='all', method='nonsense'), 16, 'Unknown authentication'),
    ],
)
def test_refused_options(spec, major, message):
    with pytest.raises(h.PgHbaError, match=message):
        h.make_rule(spec, major)


def test_clientcert_1_allowed_before_14():
    h.make_rule(dict(type='hostssl', address='all', options={'clientcert': '1'}), 13)


# --------------------------------------------------------------------------- issue 7, item by item

DEBIAN_TAIL = """local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     peer
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""


def test_item1_overlapping_rule_is_placed_before_a_narrower_host_line():
    lines = h.parse(DEBIAN_TAIL, 15)
    cert = rule(type='hostssl', users=['app'], address='127.0.0.0/8', method='cert')
    new, action, _n = h.ensure_rule(lines, cert)
    order = descs(new)
    assert action == 'added'
    # the stock /32 line is not a superset of 127.0.0.0/8, but it overlaps: the rule goes first
    assert order.index('hostssl all app 127.0.0.0/8 cert') < order.index('host all all 127.0.0.1/32 scram-sha-256')
    assert h.partly_shadowed(new, h.rules(new)[order.index('hostssl all app 127.0.0.0/8 cert')]) == []


def test_item1_an_operator_reject_is_never_bypassed_and_a_full_one_fails():
    text = "hostssl appdb all 10.0.0.0/8 reject\n" + DEBIAN_TAIL
    lines = h.parse(text, 16)
    new, _a, _n = h.ensure_rule(lines, rule(type='hostssl', users=['app'], address='10.1.0.0/16', method='cert'))
    placed = [r for r in h.rules(new) if r.method == 'cert'][0]
    hits = h.partly_shadowed(new, placed)
    assert hits and hits[0][0].method == 'reject'
    assert 'by user app to database appdb from 10.1.0.0' in hits[0][1]
    with pytest.raises(h.PgHbaError, match='could never match: line 1'):
        h.ensure_rule(
            h.parse("hostssl all all 0.0.0.0/0 reject\n", 16),
            rule(type='hostssl', users=['app'], address='10.0.0.0/8', method='cert'),
        )


def test_item1_unplaceable_rule_fails_naming_both_lines():
    # line 1 overlaps the new rule (must come after it); line 2 is covered by it (must come
    # before it): no order keeps both
    text = "host all app 10.0.0.0/8 md5\nhostssl appdb app 10.1.0.0/16 md5\n"
    with pytest.raises(h.PgHbaError, match='cannot be placed.*line 1.*line 2'):
        h.ensure_rule(h.parse(text, 16), rule(type='hostssl', users=['app'], address='10.0.0.0/8', method='cert'))


def test_item2_reject_lines_precede_includes_and_cover_replication():
    text = "include_dir conf.d\nhost replication all 0.0.0.0/0 scram-sha-256\n"
    lines = h.parse(text, 16)
    new, _a = h.require_ssl(lines, 'reject')
    kinds = [(l.kind, getattr(l, 'method', None)) for l in new]
    assert kinds[:3] == [('rule', 'reject'), ('rule', 'reject'), ('include', None)]
    first = h.rules(new)[0]
    assert [d.kind for d in first.dbs] == ['all', 'replication']
    repl = h.rules(new)[2]
    assert h.covers(first, h.Rule('hostnossl', repl.dbs, repl.usrs, repl.addr, 'md5'))


def test_item3_convert_takes_hostnogssenc_and_refuses_what_reaches_beyond_the_scope():
    text = (
        "hostnogssenc all all 10.0.0.0/8 md5\nhost all all samenet md5\n"
        "hostnossl all all 10.0.0.0/8 md5\nhostgssenc all all 10.0.0.0/8 md5\n"
    )
    new, _a = h.require_ssl(h.parse(text, 16), 'convert')
    assert [r.type for r in h.rules(new)] == ['hostssl', 'hostssl', 'hostssl', 'hostgssenc']
    with pytest.raises(h.PgHbaError, match='reaches beyond require_ssl_scope'):
        h.require_ssl(h.parse("host all all all md5\n", 16), 'convert', ['10.0.0.0/8'])
    with pytest.raises(h.PgHbaError, match='reaches beyond'):
        h.require_ssl(h.parse("host all all db.example.com md5\n", 16), 'convert', ['10.0.0.0/8'])
    with pytest.raises(h.PgHbaError, match='not a CIDR'):
        h.require_ssl(h.parse(text, 16), 'convert', ['10.0.0.0/33'])
    with pytest.raises(h.PgHbaError, match='cannot edit'):
        h.require_ssl(h.parse("include x.conf\n", 16), 'convert')


@pytest.mark.parametrize(
    'spec,message',
    [
        (dict(users=['x\nhost all all 0.0.0.0/0 trust']), 'newline'),
        (dict(address='0.0.0.0/0 trust #'), 'Invalid address'),
        (dict(databases=['db\r']), 'newline'),
        (dict(options={'map': 'a\nb'}), 'newline'),
        (dict(comment='x\nhost all all all trust'), 'newline'),
        (dict(comment='trailing \\'), 'backslash'),
        (dict(users=['@/etc/passwd']), 'file reference'),
        (dict(address='10.0.0.0/33'), 'Invalid address'),
        (dict(address='10.0.0.1 255.0.0'), 'Invalid address'),
        (dict(options={'ldapbindpasswd': 'x'}), 'only valid for'),
        (dict(method='sspi'), 'Linux'),
    ],
)
def test_item4_hostile_fields_are_refused(spec, message):
    spec = dict(spec, type='hostssl')
    spec.setdefault('address', '10.0.0.0/8')
    with pytest.raises(h.PgHbaError, match=message):
        h.make_rule(spec, 16)


@pytest.mark.parametrize(
    'users,rendered',
    [
        (['my user'], '"my user"'),
        (['a,b'], '"a,b"'),
        (['x#y'], '"x#y"'),
        (['a"b'], '"a""b"'),
        (['"all"'], '"all"'),
        (['all'], 'all'),
        (['+grp'], '+grp'),
        (['+my grp'], '+"my grp"'),
        (['back\\slash'], '"back\\slash"'),
    ],
)
def test_item4_names_are_quoted_and_read_back(users, rendered):
    r = h.make_rule(dict(type='hostssl', users=users, address='10.0.0.0/8'), 16)
    assert r.users == [rendered]
    back = h.parse(r.render() + '\n', 16)[0]
    assert back.kind == 'rule' and back.key() == r.key()


def test_item6_only_newline_ends_a_record():
    text = "host all all all trust # c\fhost all all all reject\x85\u2028\n"
    lines = h.parse(text, 16)
    assert len(h.rules(lines)) == 1 and h.rules(lines)[0].method == 'trust'
    assert h.render(lines) == text


def test_item7_continuation_lines_are_one_record():
    text = "hostssl all \\\n    app 10.0.0.0/8 \\\r\n  cert\n# a comment \\\nhost all all all trust\n"
    lines = h.parse(text, 16)
    assert h.render(lines) == text
    assert descs(lines) == ['hostssl all app 10.0.0.0/8 cert']  # the comment swallowed a line
    assert h.rules(lines)[0].number == 1
    # a rule appended after a trailing backslash at the end of the file stays a rule of its own
    new, _a, _n = h.ensure_rule(h.parse("host all all all md5 \\", 16), rule(type='hostssl', address='10.0.0.0/8'))
    assert len(h.rules(h.parse(h.render(new), 16))) == 2


def test_item8_managed_rules_are_marked_and_purged():
    lines, _a, _p = h.plan(
        DEBIAN_TAIL, [dict(type='hostssl', users=['app'], address='10.9.0.0/16', method='cert')], 15, 'reject'
    )
    text = h.render(lines)
    assert '10.9.0.0/16' in text and text.count('# pgssl.postgresql') == 3
    lines, actions, _p = h.plan(
        text, [dict(type='hostssl', users=['app'], address='10.8.0.0/16', method='cert')], 15, 'none', purge=True
    )
    out = h.render(lines)
    assert '10.9.0.0/16' not in out and '10.8.0.0/16' in out and 'reject' not in out
    # every operator line is still there, byte for byte
    assert all(line in out for line in DEBIAN_TAIL.splitlines(True))
    # an operator line with the same content as a listed rule is never taken over or purged
    own = "hostssl all app 10.8.0.0/16 cert\n" + DEBIAN_TAIL
    lines, _a, _p = h.plan(own, [], 15, 'none', purge=True)
    assert h.render(lines) == own


def test_old_style_reject_lines_are_replaced():
    old = (
        "hostnossl all             all             0.0.0.0/0               reject  "
        "# pgssl.postgresql: no TCP without TLS\n" + DEBIAN_TAIL
    )
    lines, actions, _p = h.plan(old, [], 15, 'reject', purge=True)
    assert descs(lines)[:2] == [
        'hostnossl all,replication all 0.0.0.0/0 reject',
        'hostnossl all,replication all ::/0 reject',
    ]
    assert 'hostnossl all all 0.0.0.0/0 reject' not in descs(lines)
