# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni_tls dcs_tls: the DCS client's settings, what needs a restart, the restart command."""

import time

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronidcs as dcs


def _p(**extra):
    p = {'dcs_hosts': [], 'restart_command': [], 'timeout': 5}
    p.update(extra)
    return p


def test_the_etcd3_section_gets_https_the_ca_and_one_file_for_certificate_and_key():
    got = dict(dcs.wanted(_p(dcs_hosts=['10.0.0.5:2378']), {'etcd3': {'hosts': 'x:2379'}}, '/etc/patroni/pgssl'))
    assert got == {
        ('etcd3', 'protocol'): 'https',
        ('etcd3', 'cacert'): '/etc/patroni/pgssl/ca.crt',
        ('etcd3', 'cert'): '/etc/patroni/pgssl/dcs-client.pem',
        ('etcd3', 'key'): '/etc/patroni/pgssl/dcs-client.pem',
        ('etcd3', 'hosts'): ['10.0.0.5:2378'],
    }
    # the older etcd (v2) section the same way; hosts left alone when not given
    assert ('etcd', 'hosts') not in dict(dcs.wanted(_p(), {'etcd': {'host': 'x:2379'}}, '/d'))


@pytest.mark.parametrize('data', [{}, {'consul': {}}, {'etcd': {}, 'etcd3': {}}, {'etcd3': 'x:2379'}])
def test_anything_but_one_etcd_section_is_refused(data):
    with pytest.raises(dcs.PatroniTlsError) as info:
        dcs.section(data)
    assert info.value.code == 'patroni_config'


@pytest.mark.parametrize('host', ['', 'a:1\nb', 'a:1,b:2', 'http://a:1', 'a :1'])
def test_a_host_that_is_not_host_port_is_refused(host):
    with pytest.raises(dcs.PatroniTlsError):
        dcs.wanted(_p(dcs_hosts=[host]), {'etcd3': {}}, '/d')


def test_only_the_dcs_keys_need_a_restart():
    assert dcs.restart_keys(['restapi.certfile', 'etcd3.protocol', 'ctl.cacert', 'etcd.cert']) == [
        'etcd3.protocol',
        'etcd.cert',
    ]


def test_back_means_running_and_in_touch_with_the_dcs_since_the_restart():
    started = time.time()
    assert dcs.fresh(None, started)
    assert 'starting' in dcs.fresh({'state': 'starting', 'dcs_last_seen': started + 1}, started)
    assert 'dcs_last_seen' in dcs.fresh({'state': 'streaming', 'dcs_last_seen': started - 5}, started)
    assert dcs.fresh({'state': 'streaming', 'dcs_last_seen': int(started) + 1}, started) is None


def test_the_restart_command_runs_without_a_shell_within_its_deadline(tmp_path):
    marker = tmp_path / 'ran'
    assert dcs.run_restart(_p(restart_command=['touch', str(marker)])) <= time.time() and marker.exists()
    with pytest.raises(dcs.PatroniTlsError) as info:
        dcs.run_restart(_p(restart_command=['sh', '-c', 'echo stopped badly; exit 3']))
    assert info.value.code == 'restart_failed' and 'exited with 3: stopped badly' in str(info.value)
    with pytest.raises(dcs.PatroniTlsError) as info:
        dcs.run_restart(_p(restart_command=['sleep', '30'], timeout=1))
    assert 'within 1 s' in str(info.value)
    with pytest.raises(dcs.PatroniTlsError):
        dcs.run_restart(_p(restart_command=[str(tmp_path / 'missing')]))


def test_the_dcs_client_file_is_the_slots_key_and_certificate(tmp_path):
    paths = {'key': str(tmp_path / 'rest-a.key'), 'cert': str(tmp_path / 'rest-a.crt')}
    assert dcs.pem_stale(str(tmp_path), paths)
    (tmp_path / 'rest-a.key').write_bytes(b'KEY\n')
    (tmp_path / 'rest-a.crt').write_bytes(b'CERT\n')
    dcs.write_pem(str(tmp_path), paths)
    assert (tmp_path / 'dcs-client.pem').read_bytes() == b'KEY\nCERT\n'
    assert oct((tmp_path / 'dcs-client.pem').stat().st_mode & 0o777) == '0o600'
    assert not dcs.pem_stale(str(tmp_path), paths)
    (tmp_path / 'rest-a.crt').write_bytes(b'NEW\n')
    assert dcs.pem_stale(str(tmp_path), paths)
