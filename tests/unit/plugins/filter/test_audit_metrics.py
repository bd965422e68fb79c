# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit rows as a node_exporter textfile."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pgssl.postgresql.plugins.filter.audit_metrics import audit_metrics

# one sample line of the text exposition format: name{labels} value
SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\[\\"n])*",?)+\})? -?[0-9]+$')


def test_rows_become_gauges_and_unknowns_are_left_out():
    rows = [
        {
            'host': 'db1',
            'tls': True,
            'not_after': '2027-01-01T00:00:00Z',
            'days_left': 30,
            'plain_tcp_accepted': False,
            'chain_verified': True,
            'served_on_disk': None,
            'sslmodes': {'disable': False, 'require': True},
        },
        {
            'host': 'db2',
            'tls': False,
            'not_after': '-',
            'days_left': -1,
            'plain_tcp_accepted': 'True',
            'chain_verified': None,
            'served_on_disk': None,
        },
    ]
    text = audit_metrics(rows, timestamp=1700000000.5)
    lines = text.splitlines()
    assert 'pgssl_certificate_not_after_seconds{host="db1"} 1798761600' in lines
    assert 'pgssl_tls_enabled{host="db2"} 0' in lines
    assert 'pgssl_plain_tcp_accepted{host="db2"} 1' in lines
    assert 'pgssl_plain_tcp_accepted{host="db1"} 0' in lines
    assert 'pgssl_sslmode_ssl{host="db1",mode="require"} 1' in lines
    assert 'pgssl_audit_timestamp_seconds 1700000000' in lines
    # nothing guessed: no days_left for a host that served no certificate, no on-disk metric
    assert not [l for l in lines if l.startswith('pgssl_certificate_days_left{host="db2"')]
    assert 'pgssl_served_certificate_on_disk' not in text
    assert 'pgssl_served_chain_verified{host="db2"}' not in text
    for line in lines:
        assert line.startswith('# ') or SAMPLE.match(line), line
    # every metric has its HELP and TYPE once
    names = set(l.split('{')[0].split(' ')[0] for l in lines if not l.startswith('#'))
    for name in names:
        assert lines.count('# TYPE %s gauge' % name) == 1


def test_hostile_host_names_cannot_inject_samples():
    text = audit_metrics([{'host': 'evil"} 1\npgssl_tls_enabled{host="x', 'tls': True}])
    lines = text.splitlines()
    assert len([l for l in lines if not l.startswith('#')]) == 1
    assert lines[-1] == 'pgssl_tls_enabled{host="evil\\"} 1\\npgssl_tls_enabled{host=\\"x"} 1'
    assert SAMPLE.match(lines[-1])


@pytest.mark.parametrize(
    'rows',
    [
        'not a list',
        [{'tls': True}],
        [{'host': 'db1', 'days_left': 'soon'}],
        [{'host': 'db1', 'not_after': '2027-01-01'}],
    ],
)
def test_bad_rows_are_refused(rows):
    with pytest.raises(AnsibleFilterError):
        audit_metrics(rows)
