# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbouncer.ini as PgBouncer reads it, and the editor of its [pgbouncer] keys: the deciding
line is edited in place, a missing key lands after the last header's own keys, and nothing
else of the file changes; what PgBouncer would stop at is refused. The same reads are checked
against a real PgBouncer's SHOW CONFIG in tests/realserver/test_pgbouncer.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import ini

KNOWN = ('listen_addr', 'listen_port', 'client_tls_sslmode', 'client_tls_cert_file', 'server_tls_sslmode', 'auth_type')


def tree(files, root='/etc/pgb/main.ini'):
    return ini.Tree(root, lambda path: files[path])


def test_values_as_pgbouncer_reads_them():
    text = (
        '  ; a comment\n'
        '[databases]\n'
        'a = host=x dbname=y ; not a comment\n'
        '[pgbouncer]\n'
        'listen_port=7000\n'
        'client_tls_sslmode = disable   \n'
        '# client_tls_sslmode = require\n'
        'client_tls_cert_file = "/q/a b.crt" ; tail\n'
        'client_tls_sslmode = prefer\n'
    )
    t = tree({'/etc/pgb/main.ini': text})
    assert t.values() == {
        'listen_port': '7000',
        'client_tls_sslmode': 'prefer',
        'client_tls_cert_file': '"/q/a b.crt" ; tail',
    }


def test_a_second_header_resets_what_came_before():
    text = '[pgbouncer]\nclient_tls_sslmode = require\n[databases]\n[pgbouncer]\nlisten_port = 1\n'
    t = tree({'/etc/pgb/main.ini': text})
    assert t.values() == {'listen_port': '1'}
    texts, changed = ini.edit(t, {'client_tls_sslmode': 'require'})
    assert changed == ['client_tls_sslmode']
    # added after the last header's own keys, the earlier (reset) line left as it was
    assert texts['/etc/pgb/main.ini'] == (
        '[pgbouncer]\nclient_tls_sslmode = require\n[databases]\n[pgbouncer]\nlisten_port = 1\n'
        'client_tls_sslmode = require\n'
    )


def test_the_deciding_line_is_edited_in_place_and_nothing_else():
    text = '[pgbouncer]\nclient_tls_sslmode=disable\n\tclient_tls_sslmode =  allow  \n; end\n'
    t = tree({'/etc/pgb/main.ini': text})
    texts, changed = ini.edit(t, {'client_tls_sslmode': 'verify-full'})
    assert texts['/etc/pgb/main.ini'] == (
        '[pgbouncer]\nclient_tls_sslmode=disable\n\tclient_tls_sslmode =  verify-full\n; end\n'
    )
    # the same value in another case is the same lookup: no change
    again = tree({'/etc/pgb/main.ini': texts['/etc/pgb/main.ini']})
    assert ini.edit(again, {'client_tls_sslmode': 'VERIFY-FULL'}) == ({}, [])


def test_a_new_key_goes_before_an_include_or_section_that_follows():
    files = {
        '/etc/pgb/main.ini': '[pgbouncer]\nlisten_port = 1\n%include /etc/pgb/more.ini\nauth_type = md5\n',
        '/etc/pgb/more.ini': '[databases]\nx = host=y\n',
    }
    t = tree(files)
    assert t.values() == {'listen_port': '1'}  # auth_type lands in [databases] after the include
    texts, _changed = ini.edit(t, {'client_tls_sslmode': 'require'})
    assert texts['/etc/pgb/main.ini'].splitlines()[:3] == [
        '[pgbouncer]',
        'listen_port = 1',
        'client_tls_sslmode = require',
    ]


def test_values_with_semicolons_hashes_and_quotes_are_written_exactly():
    t = tree({'/etc/pgb/main.ini': '[pgbouncer]\n'})
    value = 'HIGH:!aNULL;#x "q" \'s\''
    texts, _changed = ini.edit(t, {'client_tls_cert_file': value})
    assert tree({'/etc/pgb/main.ini': texts['/etc/pgb/main.ini']}).values() == {'client_tls_cert_file': value}


@pytest.mark.parametrize(
    'text, code',
    [
        ('[pgbouncer\nlisten_port = 1\n', 'pgbouncer_syntax'),
        ('[pgbouncer] listen_port = 1\n', 'pgbouncer_syntax'),
        ('listen_port = 1\n[pgbouncer]\n', 'pgbouncer_syntax'),
        ('[pgbouncer]\nlisten port = 1\n', 'pgbouncer_syntax'),
        ('[pgbouncer]\n"listen_port" = 1\n', 'pgbouncer_syntax'),
        ('[nosuch]\n', 'pgbouncer_syntax'),
        ('[pgbouncer]\n%include relative.ini\n', 'pgbouncer_include'),
        ('[databases]\n', 'pgbouncer_syntax'),
        ('[pgbouncer]\nlisten_port = 1\0\n', 'pgbouncer_config'),
    ],
)
def test_what_pgbouncer_stops_at_is_refused(text, code):
    with pytest.raises(ini.PgbouncerConfigError) as err:
        ini.edit(tree({'/etc/pgb/main.ini': text}), {'listen_port': '2'})
    assert err.value.code == code
    # the message names the place, never what the line says
    assert 'listen' not in str(err.value)


def test_unknown_keys_anywhere_in_pgbouncer_sections_are_refused():
    t = tree({'/etc/pgb/main.ini': '[pgbouncer]\nlisten_prot = 1\n[pgbouncer]\nlisten_port = 1\n'})
    with pytest.raises(ini.PgbouncerConfigError) as err:
        t.check_keys(KNOWN)
    assert err.value.code == 'pgbouncer_unknown_key' and 'main.ini:2' in str(err.value)
    # [databases] takes any name
    tree({'/etc/pgb/main.ini': '[databases]\nanything = x\n[pgbouncer]\n'}).check_keys(KNOWN)


def test_include_loops_stop_at_the_nesting_limit():
    files = {'/etc/pgb/main.ini': '[pgbouncer]\n%include /etc/pgb/main.ini\n'}
    with pytest.raises(ini.PgbouncerConfigError) as err:
        tree(files)
    assert 'deeper than 10' in str(err.value)


def test_a_setting_decided_in_an_include_is_refused_not_shadowed():
    files = {
        '/etc/pgb/main.ini': '[pgbouncer]\n%include /etc/pgb/tls.ini\n',
        '/etc/pgb/tls.ini': 'client_tls_sslmode = disable\n',
    }
    with pytest.raises(ini.PgbouncerConfigError) as err:
        ini.edit(tree(files), {'client_tls_sslmode': 'require'})
    assert err.value.code == 'pgbouncer_include' and 'tls.ini:1' in str(err.value)
    # a value it already has is fine (nothing to write)
    assert ini.edit(tree(files), {'client_tls_sslmode': 'disable'}) == ({}, [])


@pytest.mark.parametrize('value', ['a\nlisten_port = 1', 'a\r', ' a', 'a ', 'a\0', 5])
def test_values_pgbouncer_would_not_read_back_are_refused(value):
    with pytest.raises(ini.PgbouncerConfigError) as err:
        ini.edit(tree({'/etc/pgb/main.ini': '[pgbouncer]\n'}), {'client_tls_cert_file': value})
    assert err.value.code == 'bad_value'


_line = st.one_of(
    st.sampled_from(['', '   ', '; c', '# c', '\t; x = y', '[databases]', 'db = host=x', '[pgbouncer]']),
    st.builds(
        lambda k, sp1, sp2, v, tail: '%s%s=%s%s%s' % (k, sp1, sp2, v, tail),
        st.sampled_from(KNOWN),
        st.sampled_from(['', ' ', '\t']),
        st.sampled_from(['', ' ', '  ']),
        st.text(alphabet='abc;#"\'/ =x', min_size=1, max_size=8).map(lambda s: s.strip() or 'v'),
        st.sampled_from(['', ' ', '\t', '\r']),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_line, max_size=12),
    wanted=st.dictionaries(
        st.sampled_from(KNOWN), st.text(alphabet='xyz/;#"', min_size=1, max_size=6).map(lambda s: s.strip() or 'v')
    ),
)
def test_any_edit_reads_back_as_wanted_and_keeps_every_other_line(lines, wanted):
    text = '\n'.join(['[pgbouncer]'] + lines) + '\n'
    t = tree({'/etc/pgb/main.ini': text})
    before = t.values()
    texts, changed = ini.edit(t, wanted)
    after_text = texts.get('/etc/pgb/main.ini', text)
    after = tree({'/etc/pgb/main.ini': after_text}).values()
    expected = dict(before)
    expected.update(wanted)
    assert all(ini.same(k, after[k], v) for k, v in expected.items())
    assert set(after) == set(expected)
    assert set(changed) == set(k for k, v in wanted.items() if not ini.same(k, before.get(k), v))
    old, new = text.split('\n'), after_text.split('\n')
    # every old line is still there, in order, except the ones that decided a changed key
    assert len(new) == len(old) + len([k for k in changed if k not in before])


# --------------------------------------------------------------------------- the target's decisions

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import tls  # noqa: E402


def _params(**extra):
    p = {
        'config_file': '/etc/pgbouncer/pgbouncer.ini',
        'settings': {},
        'client_tls_sslmode': 'require',
        'server_tls_sslmode': 'verify-full',
        'server_tls_client_cert': True,
        'state': 'status',
        'certificate': None,
        'slot': None,
        'subject_alt_names': ['pool1.example.com', '10.0.0.5'],
        'tls_host': None,
        'tls_hostaddr': None,
    }
    p.update(extra)
    return p


def test_wanted_settings_name_one_slot_on_both_sides():
    want = tls.wanted(_params(), '/etc/pgbouncer/pgssl', 'b')
    assert want['client_tls_cert_file'] == want['server_tls_cert_file'] == '/etc/pgbouncer/pgssl/pooler-b.crt'
    assert want['client_tls_key_file'] == want['server_tls_key_file'] == '/etc/pgbouncer/pgssl/pooler-b.key'
    assert want['client_tls_ca_file'] == want['server_tls_ca_file'] == '/etc/pgbouncer/pgssl/ca.crt'
    assert want['server_tls_sslmode'] == 'verify-full'
    alone = tls.wanted(_params(server_tls_client_cert=False), '/d', 'a')
    assert 'server_tls_cert_file' not in alone and 'server_tls_key_file' not in alone


@pytest.mark.parametrize(
    'extra',
    [
        {'settings': {'client_tls_key_file': '/x'}},
        {'settings': {'client_tls_ciphers': 'HIGH\nlisten_port = 1'}},
        {'settings': {'auth_type': ' cert'}},
        {'config_file': 'relative.ini'},
        {'state': 'install', 'certificate': 'PEM', 'slot': None},
    ],
)
def test_bad_parameters_are_refused_before_anything(extra):
    with pytest.raises(ini.PgbouncerConfigError) as err:
        tls.check_params(_params(**extra))
    assert err.value.code == 'bad_value'


def test_names_are_canonical_for_the_signer():
    assert tls.check_params(_params()) == ['DNS:pool1.example.com', 'IP:10.0.0.5']


@pytest.mark.parametrize(
    'listen, given, expected',
    [
        ('*', None, ('127.0.0.1', '127.0.0.1')),
        ('0.0.0.0', None, ('127.0.0.1', '127.0.0.1')),
        ('::', None, ('::1', '::1')),
        ('10.0.0.5, 127.0.0.1', None, ('10.0.0.5', '10.0.0.5')),
        ('', None, (None, None)),
        ('*', ('pool1.example.com', '10.0.0.5'), ('pool1.example.com', '10.0.0.5')),
    ],
)
def test_where_the_proof_reaches_the_pooler(listen, given, expected):
    p = _params(tls_host=given[0] if given else None, tls_hostaddr=given[1] if given else None)
    assert tls.probe_address(p, {'listen_addr': listen}) == expected


def test_only_the_two_derived_slots_count_as_in_use():
    d = '/etc/pgbouncer/pgssl'
    assert (
        tls._slot_in_use({'client_tls_cert_file': d + '/pooler-b.crt', 'client_tls_key_file': d + '/pooler-b.key'}, d)
        == 'b'
    )
    # a pair the server user pointed elsewhere is no slot of ours: the next run links a fresh one
    assert (
        tls._slot_in_use({'client_tls_cert_file': '/tmp/pooler-b.crt', 'client_tls_key_file': d + '/pooler-b.key'}, d)
        is None
    )
    assert tls._slot_in_use({}, d) is None


from ansible_collections.pgssl.postgresql.plugins.module_utils._pgbouncer import hba  # noqa: E402


@pytest.mark.parametrize(
    'line',
    [
        '',
        '  # only a comment',
        'hostssl all all 127.0.0.1/32 cert',
        'host "a""b" all ::/0 md5',
        'local sameuser x,y peer',
    ],
)
def test_hba_lines_pgbouncer_takes(line):
    assert hba.check_line(line) is None


@pytest.mark.parametrize(
    'line, why',
    [
        ('hostssl all all 127.0.0.1/32 cert map=x', 'options'),
        ('hostssl all all db.example.com md5', 'not numeric'),
        ('hostssl all @users 10.0.0.0/8 md5', '@file'),
        ('hostssl all, 10.0.0.0/8 md5', 'no address'),
        ('hostssl ,all all 10.0.0.0/8 md5', 'missing name'),
        ('hostssl all all 10.0.0.0 ::1 md5', 'another address family'),
        ('hostssl all all 10.0.0.0/8 gss', 'method'),
        ('hostssl all all "10.0.0.0/8" md5', 'no address'),
    ],
)
def test_hba_lines_pgbouncer_would_skip(line, why):
    assert why in hba.check_line(line)


def test_an_hba_file_with_a_skipped_line_is_refused_by_line_number():
    with pytest.raises(ini.PgbouncerConfigError) as err:
        hba.check('hostssl all all 10.0.0.0/8 cert\nhost all all 0.0.0.0/0 reject extra\n', '/etc/pgb/hba.conf')
    assert (
        err.value.code == 'pgbouncer_hba' and '/etc/pgb/hba.conf:2' in str(err.value) and 'extra' not in str(err.value)
    )
