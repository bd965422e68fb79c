# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of patroni_config scope=local: what a member's own patroni.yml would hold."""

import pytest
import yaml

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronilocal as local

TEXT = """# member db1
scope: c
postgresql:
  listen: 127.0.0.1:5433
  parameters:
    unix_socket_directories: /tmp/s
    ssl: on
  authentication:
    superuser:
      password: SECRET
"""

RULE = {
    'type': 'hostssl',
    'databases': ['all'],
    'users': ['app'],
    'address': '10.0.0.0/8',
    'method': 'scram-sha-256',
    'options': {},
    'comment': None,
}


def _params(tmp_path, **extra):
    config = tmp_path / 'patroni.yml'
    config.write_text(TEXT)
    hba = tmp_path / 'pg_hba.conf'
    hba.write_text('# written by Patroni\nlocal all all peer\nhost all all 0.0.0.0/0 scram-sha-256\n')
    p = dict(
        config_file=str(config),
        hba_file=str(hba),
        parameters={},
        hba_rules=[],
        require_ssl='none',
        purge_managed=False,
        pg_hba_lines=None,
        remove_pg_hba=False,
        pg_version=16,
    )
    p.update(extra)
    return p


def test_parameters_and_rules_go_to_the_members_own_file(tmp_path):
    planned = local.plan(_params(tmp_path, parameters={'ssl': 'on', 'ssl_cert_file': '/c'}, hba_rules=[RULE]))
    # ssl: on (a YAML boolean) already reads as on
    assert planned['changed'] and planned['parameters_changed'] == ['ssl_cert_file']
    new = yaml.safe_load(planned['new_text'])
    assert new['postgresql']['parameters']['ssl_cert_file'] == '/c'
    # the list starts from pg_hba.conf, every line kept; the new rule before the one it overlaps
    listed = new['postgresql']['pg_hba']
    assert 'local all all peer' in listed and listed.index('host all all 0.0.0.0/0 scram-sha-256') > next(
        i for i, line in enumerate(listed) if line.startswith('hostssl')
    )
    assert planned['previous'] == {'parameters': {'ssl_cert_file': None}, 'pg_hba': None}
    assert planned['new_text'].startswith('# member db1\n')
    assert planned['login'] == {'socket': '/tmp/s', 'port': 5433}
    assert planned['secrets'] == [] and 'SECRET' in planned['old_text']


def test_nothing_due_is_no_change(tmp_path):
    planned = local.plan(_params(tmp_path, parameters={'ssl': 'true'}))
    assert not planned['changed'] and 'new_text' not in planned and planned['previous'] == {}


def test_previous_given_back_restores_the_file(tmp_path):
    p = _params(tmp_path, parameters={'ssl_cert_file': '/c', 'ssl': None}, hba_rules=[RULE])
    planned = local.plan(p)
    (tmp_path / 'patroni.yml').write_text(planned['new_text'])
    back = planned['previous']
    again = local.plan(dict(p, parameters=back['parameters'], hba_rules=[], remove_pg_hba=back['pg_hba'] is None))
    assert yaml.safe_load(again['new_text']) == yaml.safe_load(TEXT)


def test_a_list_without_rules_needs_a_file_to_start_from(tmp_path):
    with pytest.raises(patroni.PatroniError) as info:
        local.plan(_params(tmp_path, hba_rules=[RULE], hba_file=None))
    assert info.value.code == 'no_hba_list'


def test_whole_list_arguments_are_checked(tmp_path):
    with pytest.raises(patroni.PatroniError):
        local.plan(_params(tmp_path, pg_hba_lines=['a\nb']))
    with pytest.raises(patroni.PatroniError):
        local.plan(_params(tmp_path, pg_hba_lines=['a'], hba_rules=[RULE]))
