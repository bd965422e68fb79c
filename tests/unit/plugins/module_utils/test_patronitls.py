# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni_tls's pure decisions: where the proof reaches the REST API, which keys patroni.yml
gets for a slot, and that a bad value is refused before anything is read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronilocal as patronilocal
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniproc as patroniproc
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronireach as reach
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronitls as patronitls


def _p(**extra):
    p = dict(
        tls_host=None,
        tls_hostaddr=None,
        verify_client='optional',
        ctl=True,
        config_file='/etc/patroni/p.yml',
        replication_verify=False,
        _auth_users=[],
    )
    p.update(extra)
    return p


@pytest.mark.parametrize(
    'restapi, want',
    [
        ({'connect_address': '10.0.0.5:8008', 'listen': '0.0.0.0:8008'}, ('10.0.0.5', '10.0.0.5', 8008)),
        ({'listen': '0.0.0.0:8443'}, ('127.0.0.1', '127.0.0.1', 8443)),
        ({'connect_address': '[fd00::5]:8008'}, ('fd00::5', 'fd00::5', 8008)),
        ({'connect_address': 'db1.example.com:8008'}, ('db1.example.com', 'db1.example.com', 8008)),
    ],
)
def test_the_proof_reaches_the_connect_address(restapi, want):
    assert reach.rest_address(_p(), {'restapi': restapi}) == want


def test_the_operator_names_win_over_the_file():
    got = reach.rest_address(_p(tls_host='db1.example.com', tls_hostaddr='10.9.9.9'), {'restapi': {'listen': 'x:1'}})
    assert got == ('db1.example.com', '10.9.9.9', 1)


@pytest.mark.parametrize('restapi', [{}, {'listen': '10.0.0.5'}, {'connect_address': ':8008'}, {'listen': 'h:port'}])
def test_a_rest_address_without_host_and_port_is_refused(restapi):
    with pytest.raises(patronitls.PatroniTlsError):
        reach.rest_address(_p(), {'restapi': restapi})


def test_the_keys_for_a_slot():
    got = dict(('.'.join(k), v) for k, v in patronitls.wanted(_p(), '/etc/patroni/pgssl', 'b'))
    assert got == {
        'restapi.certfile': '/etc/patroni/pgssl/rest-b.crt',
        'restapi.keyfile': '/etc/patroni/pgssl/rest-b.key',
        'restapi.cafile': '/etc/patroni/pgssl/ca.crt',
        'restapi.verify_client': 'optional',
        'ctl.certfile': '/etc/patroni/pgssl/rest-b.crt',
        'ctl.keyfile': '/etc/patroni/pgssl/rest-b.key',
        'ctl.cacert': '/etc/patroni/pgssl/ca.crt',
    }
    without_ctl = patronitls.wanted(_p(ctl=False), '/d', 'a')
    assert [k for k, _v in without_ctl if k[0] == 'ctl'] == []
    assert patronitls.default_dir('/etc/patroni/p.yml') == os.path.join('/etc/patroni', 'pgssl')
    # Patroni's connections to the leader verify it: replication and rewind, never superuser
    verify = dict(
        ('.'.join(k), v)
        for k, v in patronitls.wanted(_p(replication_verify=True, _auth_users=['replication', 'rewind']), '/d', 'a')
        if k[0] == 'postgresql'
    )
    assert verify == dict(
        (
            'postgresql.authentication.%s.%s' % (user, key),
            {
                'sslmode': 'verify-full',
                'sslrootcert': '/d/ca.crt',
                'sslcert': '/d/rest-a.crt',
                'sslkey': '/d/rest-a.key',
            }[key],
        )
        for user in ('replication', 'rewind')
        for key in ('sslmode', 'sslrootcert', 'sslcert', 'sslkey')
    )


def test_the_local_login_follows_patroni_yml():
    local = patronilocal.local_login(
        {'postgresql': {'listen': '10.0.0.5:5433', 'parameters': {'unix_socket_directories': '/run/pg, /tmp'}}}
    )
    assert local == {'socket': '/run/pg', 'port': 5433}
    assert patronilocal.local_login({}) == {'socket': '/var/run/postgresql', 'port': 5432}


@pytest.mark.parametrize(
    'extra',
    [
        {'config_file': 'relative.yml'},
        {'tls_host': 'db1\nrestapi: {}'},
        {'common_name': 'db1\r'},
        {'state': 'install', 'certificate': 'PEM', 'slot': None},
    ],
)
def test_bad_values_are_refused_first(extra):
    p = dict(_p(common_name='db1', subject_alt_names=[], state='status', certificate=None, slot=None), **extra)
    with pytest.raises(patronitls.PatroniTlsError):
        patronitls.check_params(p)


def test_no_process_is_found_for_a_file_nobody_runs():
    assert patroniproc.patroni_pids('/nonexistent/patroni.yml') == []
    assert patroniproc.patroni_pids(os.path.abspath(__file__)) == []
