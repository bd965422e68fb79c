# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: audit_metrics
short_description: The audit playbook's rows as a node_exporter textfile
version_added: 0.1.0
description:
  - Turns the rows of the audit playbook into Prometheus text exposition format, for the
    node_exporter textfile collector (write it to a C(.prom) file in the collector's directory).
  - Each row gives C(pgssl_tls_enabled), C(pgssl_certificate_not_after_seconds),
    C(pgssl_certificate_days_left), C(pgssl_plain_tcp_accepted),
    C(pgssl_served_chain_verified), C(pgssl_served_certificate_on_disk) and
    C(pgssl_sslmode_ssl) (per C(mode)), each labelled with C(host). A value the audit could not
    find out is left out rather than guessed.
  - Label values are escaped as the format requires (backslash, double quote, line break).
author:
  - pgssl.postgresql developers (@pgssl)
options:
  _input:
    description:
      - Rows, each a dict with C(host) and any of C(tls), C(not_after) (ISO 8601, UTC),
        C(days_left), C(plain_tcp_accepted), C(chain_verified), C(served_on_disk) (true, false
        or null) and C(sslmodes) (sslmode to whether it ended on TLS).
    type: list
    elements: dict
    required: true
  timestamp:
    description: Seconds since the epoch for C(pgssl_audit_timestamp_seconds); none when unset.
    type: float
seealso:
  - module: pgssl.postgresql.verify
"""

EXAMPLES = r"""
- name: Metrics for node_exporter's textfile collector
  ansible.builtin.copy:
    dest: /var/lib/node_exporter/textfile/pgssl.prom
    content: "{{ rows | pgssl.postgresql.audit_metrics(timestamp=now(utc=true).timestamp()) }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The metrics, one sample per line, with C(# HELP) and C(# TYPE) lines.
  type: str
"""

import datetime

from ansible.errors import AnsibleFilterError

_GAUGES = (
    ('pgssl_tls_enabled', 'tls', 'Whether the server agreed to TLS (1) or not (0).'),
    ('pgssl_certificate_not_after_seconds', 'not_after', 'Expiry of the served certificate, seconds since the epoch.'),
    ('pgssl_certificate_days_left', 'days_left', 'Whole days until the served certificate expires.'),
    (
        'pgssl_plain_tcp_accepted',
        'plain_tcp_accepted',
        'Whether a plain (non-TLS) TCP startup reached authentication (1) or was refused (0).',
    ),
    (
        'pgssl_served_chain_verified',
        'chain_verified',
        'Whether the served chain verified to the fleet CA bundle with the host name (1) or not (0).',
    ),
    (
        'pgssl_served_certificate_on_disk',
        'served_on_disk',
        'Whether the served certificate is the one in the server\'s certificate file (1) or not (0).',
    ),
)


def _label(value):
    text = str(value)
    return text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _number(key, value):
    if value is None or value == '' or value == '-':
        return None
    if isinstance(value, bool):
        return 1 if value else 0
    if key == 'not_after':
        try:
            when = datetime.datetime.strptime(str(value), '%Y-%m-%dT%H:%M:%SZ')
        except ValueError:
            raise AnsibleFilterError('audit_metrics: not_after %r is not YYYY-MM-DDTHH:MM:SSZ' % (value,))
        return int((when - datetime.datetime(1970, 1, 1)).total_seconds())
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return 1 if value.lower() == 'true' else 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError('audit_metrics: %s=%r is not a number or a boolean' % (key, value))


def audit_metrics(rows, timestamp=None):
    if not isinstance(rows, (list, tuple)):
        raise AnsibleFilterError('audit_metrics expects a list of rows')
    lines = []
    for name, key, text in _GAUGES:
        samples = []
        for row in rows:
            if not isinstance(row, dict) or 'host' not in row:
                raise AnsibleFilterError('audit_metrics: each row needs a host')
            value = _number(key, row.get(key))
            if key == 'days_left' and value is not None and value < 0 and row.get('not_after') in (None, '', '-'):
                value = None  # the audit's "-1" for "no certificate seen"
            if value is not None:
                samples.append('%s{host="%s"} %d' % (name, _label(row['host']), value))
        if samples:
            lines += ['# HELP %s %s' % (name, text), '# TYPE %s gauge' % name] + samples
    modes = []
    for row in rows:
        for mode, ssl in sorted((row.get('sslmodes') or {}).items()):
            value = _number('modes', ssl)
            if value is not None:
                modes.append('pgssl_sslmode_ssl{host="%s",mode="%s"} %d' % (_label(row['host']), _label(mode), value))
    if modes:
        lines += [
            '# HELP pgssl_sslmode_ssl Whether a connection in this sslmode ended on TLS.',
            '# TYPE pgssl_sslmode_ssl gauge',
        ] + modes
    if timestamp is not None:
        lines += [
            '# HELP pgssl_audit_timestamp_seconds When the audit ran.',
            '# TYPE pgssl_audit_timestamp_seconds gauge',
            'pgssl_audit_timestamp_seconds %d' % int(float(timestamp)),
        ]
    return '\n'.join(lines) + '\n'


class FilterModule(object):
    def filters(self):
        return {'audit_metrics': audit_metrics}
