# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conninfo core against libpq's own parser (PQconninfoParse, through psycopg)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import conninfo as libpq

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconninfo as ci

KEYS = ['host', 'port', 'user', 'application_name', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'options']
# every character but NUL, with the ones that matter to the syntax weighed in
VALUES = st.text(
    alphabet=st.one_of(
        st.sampled_from(" '\\=\t\n\"#,;"), st.characters(blacklist_characters='\x00', blacklist_categories=('Cs',))
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=6))
def test_render_then_libpq_reads_the_same_values(pairs):
    text = ci.render(pairs)
    assert dict(pairs) == libpq.conninfo_to_dict(text)
    assert ci.parse(text) == pairs


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("hostuser= '\\\t\nab")), max_size=40))
def test_parse_agrees_with_libpq_or_both_refuse(text):
    try:
        theirs = libpq.conninfo_to_dict(text)
    except psycopg.Error:  # libpq refuses: so must we (or the keys are unknown to it)
        theirs = None
    try:
        ours = ci.as_dict(text)
    except ci.ConninfoError:
        ours = None
    if theirs is not None:
        assert ours == theirs
    elif ours is not None:
        # libpq refuses only keys it does not know; the syntax was fine
        assert any(k not in ('host', 'user') for k in ours)


def test_what_pg_basebackup_writes_is_edited_by_keyword():
    written = (
        "user=replicator passfile='/var/lib/postgresql/.pgpass' channel_binding=prefer "
        "host=db1.pgssl.test port=5432 sslmode=prefer sslnegotiation=postgres"
    )
    new = ci.update(
        written,
        {'sslmode': 'verify-full', 'sslrootcert': "/etc/ssl/it's root.crt", 'sslcert': '/a b/c.crt', 'passfile': None},
    )
    parsed = ci.parse(new)
    assert [k for k, _v in parsed] == [
        'user',
        'channel_binding',
        'host',
        'port',
        'sslmode',
        'sslnegotiation',
        'sslrootcert',
        'sslcert',
    ]
    assert dict(parsed)['sslrootcert'] == "/etc/ssl/it's root.crt"
    assert libpq.conninfo_to_dict(new)['sslcert'] == '/a b/c.crt'
    # a prefix never matches: sslmode is not ssl, sslcert not sslcertmode
    assert ci.update('sslcertmode=allow sslcert=x', {'sslcert': 'y'}) == 'sslcertmode=allow sslcert=y'


def test_secrets_are_masked():
    text = "user=r password='p w' host=h sslpassword=k"
    assert ci.masked(text) == 'user=r password=******** host=h sslpassword=********'
    assert sorted(ci.secrets(text)) == ['k', 'p w']


@pytest.mark.parametrize(
    'bad',
    ['host', "host='x", 'host = x =', 'postgresql://u@h/db', 'bad-key=1', 'x' * 70000],
)
def test_bad_strings_are_refused(bad):
    with pytest.raises(ci.ConninfoError):
        ci.parse(bad)


def test_duplicates_collapse_into_the_first_place_and_the_last_wins_like_libpq():
    assert ci.as_dict('sslmode=disable sslmode=require')['sslmode'] == 'require'
    assert ci.update('sslmode=disable host=h sslmode=require', {'sslmode': 'verify-full'}) == (
        'sslmode=verify-full host=h'
    )


def test_standby_values_with_a_line_break_are_refused_and_the_rest_round_trip():
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbystep as standby

    base = dict(sslmode='verify-full', sslrootcert=None, sslcert=None, sslkey=None, host=None, hostaddr=None)
    for bad in ('/a\nsslmode=disable', '/a\rb', '/a\x00b', '/a\tb'):
        with pytest.raises(standby.StandbyError) as err:
            standby.wanted_changes(dict(base, sslrootcert=bad))
        assert err.value.code == 'bad_value'
    odd = "/etc/ssl/a #b 'c' \\d=e.crt"
    changes = standby.wanted_changes(dict(base, sslrootcert=odd, remove_password=True))
    new = ci.update("user=r password=x host=h sslmode=prefer", changes)
    assert libpq.conninfo_to_dict(new) == {'user': 'r', 'host': 'h', 'sslmode': 'verify-full', 'sslrootcert': odd}
