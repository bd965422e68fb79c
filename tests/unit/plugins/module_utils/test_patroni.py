# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Patroni target's pure decisions: which parameters change (compared as the server reads
them) and where the rules go in Patroni's pg_hba list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf

RULE = {'type': 'hostssl', 'databases': ['all'], 'users': ['all'], 'address': '10.0.0.0/8', 'method': 'cert'}


def _rule(**extra):
    spec = dict(RULE, options={}, state='present')
    spec.update(extra)
    return spec


def test_parameters_compare_as_the_server_reads_them():
    current = {'ssl': 'true', 'work_mem': '1MB', 'ssl_cert_file': 'ssl/server.crt'}
    assert patroni.parameter_changes(current, {'ssl': 'on', 'work_mem': '1024kB'}) == {}
    assert patroni.parameter_changes(current, {'ssl_cert_file': 'ssl/new.crt'}) == {'ssl_cert_file': 'ssl/new.crt'}
    assert patroni.parameter_changes(current, {'ssl_ciphers': 'HIGH'}) == {'ssl_ciphers': 'HIGH'}
    # null removes a parameter that is there, and does nothing otherwise
    assert patroni.parameter_changes(current, {'work_mem': None, 'absent': None}) == {'work_mem': None}


def test_a_value_with_a_newline_is_refused():
    with pytest.raises(pgconf.PgConfError):
        patroni.parameter_changes({}, {'ssl_ciphers': 'HIGH\nssl = off'})


def test_rules_are_placed_in_the_list_before_what_overlaps_them():
    base = ['local all all peer', 'host all all 0.0.0.0/0 scram-sha-256']
    after, actions = patroni.hba_plan(base, [_rule()], 16, 'reject', False)
    assert actions
    assert after[0].startswith('hostnossl') and after[-1] == 'host all all 0.0.0.0/0 scram-sha-256'
    ours = [i for i, line in enumerate(after) if line.startswith('hostssl')]
    assert ours and ours[0] < after.index('host all all 0.0.0.0/0 scram-sha-256')
    assert all('\n' not in line for line in after)
    # the same again: nothing to do
    again, _actions = patroni.hba_plan(after, [_rule()], 16, 'reject', False)
    assert again == after
    # purged when no longer listed; the operator's lines stay
    purged, _actions = patroni.hba_plan(after, [], 16, 'none', True)
    assert 'host all all 0.0.0.0/0 scram-sha-256' in purged and not any(line.startswith('hostssl') for line in purged)


def test_a_list_entry_that_is_not_one_line_is_refused():
    with pytest.raises(patroni.PatroniError):
        patroni.hba_plan(['local all all peer\nhost all all 0.0.0.0/0 trust'], [_rule()], 16, 'none', False)


def test_the_rest_url_must_be_http_or_https():
    with pytest.raises(patroni.PatroniError):
        patroni.Rest('file:///etc/shadow')
    assert patroni.Rest('http://127.0.0.1:8008/').url == 'http://127.0.0.1:8008'


@pytest.mark.parametrize(
    'url, hosts, trusted',
    [
        ('http://10.0.0.5:8008/patroni', [], True),
        ('https://10.0.0.5:8443/patroni', [], True),
        ('http://10.0.0.6:8008/patroni', [], False),
        ('http://10.0.0.6:8008/patroni', ['10.0.0.6'], True),
        ('http://DB2.example.com:8008/patroni', ['db2.example.com'], True),
        ('http://[::1]:8008/patroni', ['[::1]'], True),
        ('file:///etc/shadow', ['10.0.0.5'], False),
        ('http://10.0.0.5@evil.example.com:8008/patroni', [], False),
        ('not a url', [], False),
    ],
)
def test_only_named_rest_hosts_get_the_credentials(url, hosts, trusted):
    assert patroni.trusted_origin(url, 'http://10.0.0.5:8008', hosts) is trusted
