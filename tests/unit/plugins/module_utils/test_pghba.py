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
    assert order.index('hostssl all all 127.0.0.1/32 scram-sha-256') < \
        order.index('host all all 127.0.0.1/32 scram-sha-256')
    # every original line survives byte-exact
    kept = [l for l in out.splitlines(True) if not l.startswith('hostssl')]
    assert ''.join(kept) == text
    again, action2, _n = h.ensure_rule(h.parse(out), rule(type='hostssl', address='127.0.0.1/32'))
    assert action2 is None and h.render(again) == out


def test_parse_fields_and_masks():
    lines = h.parse('host db1,db2 "u 1" 10.0.0.1 255.255.255.0 md5 # c\n'
                    'hostssl all all all cert clientcert=verify-full map=m\n'
                    'local all all peer\n')
    r0, r1, r2 = h.rules(lines)
    assert r0.databases == ['db1', 'db2'] and r0.users == ['"u 1"']
    assert r0.address == '10.0.0.0/24' and r0.method == 'md5'
    assert r1.options == [('clientcert', 'verify-full'), ('map', 'm')] and r1.address == 'all'
    assert r2.address is None
    bad = h.parse('hots all all 1.2.3.4/32 md5\n')
    assert bad[0].kind == 'invalid' and 'invalid connection type' in bad[0].error
    with pytest.raises(h.PgHbaError, match=r'pg_hba.conf:1: invalid connection type'):
        h.check_valid(bad, 'pg_hba.conf')


@pytest.mark.parametrize('a,b,expected', [
    (dict(type='host', address='0.0.0.0/0'), dict(type='hostssl', address='10.0.0.0/8'), True),
    (dict(type='hostssl', address='10.0.0.0/8'), dict(type='host', address='10.0.0.0/8'), False),
    (dict(type='host', address='10.0.0.0/8'), dict(type='host', address='10.1.0.0/16'), True),
    (dict(type='host', address='10.1.0.0/16'), dict(type='host', address='10.0.0.0/8'), False),
    (dict(type='host', address='0.0.0.0/0'), dict(type='host', address='::1/128'), False),
    (dict(type='host', users=['all'], address='all'),
     dict(type='host', users=['app'], address='::1/128'), True),
    (dict(type='host', users=['app']), dict(type='host', users=['all']), False),
    (dict(type='host', databases=['all']), dict(type='host', databases=['replication']), False),
    (dict(type='hostnossl', address='all', method='reject'), dict(type='hostssl'), False),
])
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
    assert descs(new)[-2:] == ['hostssl all all 10.0.0.0/8 scram-sha-256',
                               'host app app 10.0.0.5/32 scram-sha-256']
    new, action, notes = h.ensure_rule(lines, rule(type='host', address='10.0.0.0/8'))
    # a wider host rule covers the /32 one, which stays first
    assert descs(new)[-1] == 'host all all 10.0.0.0/8 scram-sha-256'
    new, action, notes = h.ensure_rule(lines, rule(type='hostssl', address='127.0.0.1/32'))
    assert descs(new).index('hostssl all all 127.0.0.1/32 scram-sha-256') == 1


def test_existing_shadowed_rule_is_moved_and_reported():
    text = BASE + "hostssl all             all             127.0.0.1/32            cert\n"
    lines = h.parse(text)
    assert [(r.number, e.number) for r, e in h.shadowed(lines)] == [(7, 4)]
    new, action, _n = h.ensure_rule(lines, rule(type='hostssl', address='127.0.0.1/32',
                                                method='cert'))
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
    assert descs(rej)[:2] == ['hostnossl all,replication all 0.0.0.0/0 reject',
                              'hostnossl all,replication all ::/0 reject']
    again, actions = h.require_ssl(rej, 'reject')
    assert actions == [] and h.render(again) == h.render(rej)
    scoped, _a = h.require_ssl(lines, 'convert', ['10.0.0.0/8'])
    assert h.render(scoped) == BASE


@pytest.mark.parametrize('spec,major,message', [
    (dict(type='hostssl', address='all', options={'clientcert': '1'}), 14, '14 and later'),
    (dict(type='hostssl', address='all', options={'clientcert': 'no-verify'}), 16, '14 and'),
    (dict(type='hostssl', address='all', method='cert',
          options={'clientcert': 'verify-ca'}), 16, 'only accepts "verify-full"'),
    (dict(type='host', address='all', method='cert'), 16, 'only on hostssl'),
    (dict(type='host', address='all', options={'clientcert': 'verify-ca'}), 16, 'hostssl'),
    (dict(type='host'), 16, 'needs an address'),
    (dict(type='local', address='10.0.0.0/8'), 16, 'no address'),
    (dict(type='hostssl', address='all', method='nonsense'), 16, 'Unknown authentication'),
])
def test_refused_options(spec, major, message):
    with pytest.raises(h.PgHbaError, match=message):
        h.make_rule(spec, major)


def test_clientcert_1_allowed_before_14():
    h.make_rule(dict(type='hostssl', address='all', options={'clientcert': '1'}), 13)
