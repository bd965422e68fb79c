# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni.yml edited in place: the asked keys change, every other byte stays, and anything the
editor cannot rewrite so that PyYAML reads exactly the asked result is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniyaml as py

TEXT = """\
# the member's own configuration
scope: demo
name: db1

restapi:
  listen: 10.0.0.1:8008   # all interfaces
  connect_address: '10.0.0.1:8008'
  authentication:
    username: admin
    password: "s3cret: yes"

etcd3:
  hosts: 10.0.0.9:2379

postgresql:
  data_dir: /var/lib/postgresql/15/main
  parameters:
    unix_socket_directories: /var/run/postgresql
  pg_hba:
  - local all all peer
"""


def test_a_value_is_replaced_in_its_own_span_and_nothing_else_moves():
    new, changed = py.edit(TEXT, [(('restapi', 'listen'), '10.0.0.1:8443')])
    assert changed == ['restapi.listen']
    assert new == TEXT.replace('listen: 10.0.0.1:8008   #', 'listen: "10.0.0.1:8443"   #')


def test_missing_keys_and_sections_are_added_at_the_mapping_indentation():
    changes = [
        (('restapi', 'certfile'), '/etc/patroni/pgssl/rest-a.crt'),
        (('restapi', 'verify_client'), 'optional'),
        (('ctl', 'certfile'), '/etc/patroni/pgssl/rest-a.crt'),
        (('postgresql', 'parameters', 'ssl'), 'on'),
    ]
    new, changed = py.edit(TEXT, changes)
    assert sorted(changed) == ['ctl.certfile', 'postgresql.parameters.ssl', 'restapi.certfile', 'restapi.verify_client']
    data = yaml.safe_load(new)
    assert data['restapi']['certfile'] == '/etc/patroni/pgssl/rest-a.crt'
    assert data['restapi']['authentication'] == {'username': 'admin', 'password': 's3cret: yes'}
    assert data['ctl'] == {'certfile': '/etc/patroni/pgssl/rest-a.crt'}
    assert data['postgresql']['parameters'] == {'unix_socket_directories': '/var/run/postgresql', 'ssl': 'on'}
    # every old line is still there, in order
    old_lines = TEXT.splitlines()
    new_lines = iter(new.splitlines())
    assert all(any(line == n for n in new_lines) for line in old_lines)
    # a second edit with the same values changes nothing
    again, changed = py.edit(new, changes)
    assert again == new and changed == []


def test_a_list_is_written_one_item_per_line_and_replaces_the_whole_entry():
    text = (
        'postgresql:\n  pg_hba:\n  - host all all 0.0.0.0/0 md5\n  - "local all all peer"  # why\n'
        '  # kept\n  parameters:\n    ssl: on\n'
    )
    new, changed = py.edit(text, [(('postgresql', 'pg_hba'), ['hostssl all all ::/0 cert', 'a # "b"'])])
    assert changed == ['postgresql.pg_hba']
    assert new == (
        'postgresql:\n  pg_hba:\n    - "hostssl all all ::/0 cert"\n    - "a # \\"b\\""\n'
        '  # kept\n  parameters:\n    ssl: on\n'
    )
    added, _c = py.edit('postgresql:\n  listen: x\nrestapi: {}\n', [(('postgresql', 'pg_hba'), ['a'])])
    assert yaml.safe_load(added)['postgresql']['pg_hba'] == ['a']


def test_an_indentless_list_is_removed_without_the_key_after_it():
    text = 'postgresql:\n  pg_hba:\n  - a\n  - b\n  parameters:\n    ssl: on\n'
    new, _c = py.edit(text, [(('postgresql', 'pg_hba'), py.REMOVE)])
    assert new == 'postgresql:\n  parameters:\n    ssl: on\n'


def test_a_list_of_lists_or_a_multi_line_item_is_refused():
    with pytest.raises(py.PatroniYamlError):
        py.edit('a: 1\n', [(('b',), [['x']])])
    with pytest.raises(py.PatroniYamlError):
        py.edit('b:\n- |\n  x\n  y\n', [(('b',), ['z'])])


def test_a_key_is_removed_with_its_lines_only():
    new, changed = py.edit(TEXT, [(('restapi', 'authentication'), py.REMOVE), (('absent', 'x'), py.REMOVE)])
    assert changed == ['restapi.authentication']
    assert 'authentication' not in new and 'password' not in new
    assert yaml.safe_load(new)['restapi'] == {'listen': '10.0.0.1:8008', 'connect_address': '10.0.0.1:8008'}


@pytest.mark.parametrize(
    'text, message',
    [
        ('{"restapi": {"listen": "a:1"}}\n', 'flow style'),
        ('restapi: {listen: "a:1"}\n', 'flow style'),
        ('restapi:\n  listen: a\n  listen: b\n', 'twice'),
        ('restapi:\n  listen: |\n    a:1\n', 'block scalar'),
        ('- a\n- b\n', 'mapping at its top'),
        ('restapi: [1, 2]\n', 'not a mapping'),
        ('restapi:\n  listen: a\n  "x: [\n', 'not YAML'),
    ],
)
def test_what_cannot_be_edited_exactly_is_refused(text, message):
    with pytest.raises(py.PatroniYamlError) as info:
        py.edit(text, [(('restapi', 'listen'), 'x:1')])
    assert message in str(info.value)


def test_an_anchor_shared_with_another_place_is_refused():
    text = 'base: &b\n  listen: a\nrestapi: *b\n'
    with pytest.raises(py.PatroniYamlError) as info:
        py.edit(text, [(('base', 'listen'), 'z')])
    assert 'anchor' in str(info.value)


def test_a_line_break_in_a_value_is_refused():
    with pytest.raises(py.PatroniYamlError) as info:
        py.edit(TEXT, [(('restapi', 'certfile'), '/x\nrestapi: {}')])
    assert info.value.code == 'bad_value'


def test_secrets_are_masked_for_a_diff():
    text = TEXT + 'ctl:\n  keyfile_password: |\n    very\n    secret\n  certfile: /c\n'
    out = py.masked(text)
    assert 's3cret' not in out and 'very' not in out and 'secret\n' not in out
    assert 'password: ********' in out and 'certfile: /c' in out


@pytest.mark.parametrize(
    'line',
    [
        '  authentication: {username: admin, password: TOPSECRET}\n',
        '{"restapi": {"auth": "admin:TOPSECRET"}}\n',
        '  - {sslpassword: TOPSECRET, user: x}\n',
        "    'password' : TOPSECRET # comment\n",
        '   token: TOPSECRET',
    ],
)
def test_a_secret_is_masked_wherever_it_stands_on_its_line(line):
    out = py.masked('restapi:\n' + line + 'ctl:\n  certfile: /c\n')
    assert 'TOPSECRET' not in out and '********' in out and 'certfile: /c' in out


def test_a_key_that_only_starts_like_a_secret_is_shown():
    text = 'postgresql:\n  authentication:\n    replication:\n      username: rep\n  passwords_file: /x\n'
    assert py.masked(text) == text


_key = st.text(alphabet='abcxyz_', min_size=1, max_size=6)
_value = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=('Cs', 'Cc')), max_size=20),
    st.integers(-5, 5),
    st.booleans(),
)


def _blocked(data, path, value=None):
    node = data
    for key in path[:-1]:
        if key not in node:
            return False
        node = node[key]
        if not isinstance(node, dict) or not node:
            return True
    # a mapping is not replaced by a single value or a list (it may be removed)
    return value is not py.REMOVE and isinstance(node.get(path[-1]), dict)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        _key, st.one_of(_value, st.lists(_value, max_size=3), st.dictionaries(_key, _value, max_size=3)), max_size=4
    ),
    st.lists(
        st.tuples(
            st.lists(_key, min_size=1, max_size=3).map(tuple),
            st.one_of(_value, st.lists(_value, max_size=3), st.just(py.REMOVE)),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_any_edit_reads_back_as_the_asked_result_or_is_refused(data, changes):
    text = '# top\n' + yaml.safe_dump(data, default_flow_style=False, sort_keys=False) if data else '# top\n'
    try:
        new, _changed = py.edit(text, changes)
    except py.PatroniYamlError:
        # the only refusals for such input: a path through a value that is no mapping or
        # through an empty mapping (safe_dump writes it in flow style, {}), or a mapping
        # replaced by a single value
        assert any(_blocked(py.applied(data, changes[:i]), path, v) for i, (path, v) in enumerate(changes))
        return
    assert (yaml.safe_load(new) or {}) == py.applied(yaml.safe_load(text) or {}, changes)
    assert new.startswith('# top\n')
