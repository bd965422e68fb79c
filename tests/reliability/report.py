# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/reliability.md from the results the reliability suite recorded.

report.py RESULTS.jsonl docs/reliability.md
"""

import json
import sys
import time


def _ms(value):
    return '-' if value is None else '%.1f' % value


def render(rows):
    rotation = [r for r in rows if r['kind'] == 'rotation']
    faults = [r for r in rows if r['kind'] == 'fault']
    hosts = sorted(set(h for r in rotation for h in r['hosts']))
    out = [
        '# Reliability',
        '',
        'Figures from the last `make reliability` run (%s), written by '
        '`tests/reliability/report.py`. Every figure comes from real PostgreSQL servers on '
        'this machine and real TLS handshakes.' % time.strftime('%Y-%m-%d', time.gmtime()),
        '',
        '## Rotation under load',
        '',
        'While each playbook runs, `pgbench -C` (a new connection per transaction, '
        '`sslmode=verify-full`, the client certificate of a cert-auth user, 8 clients per '
        'host, the client files the client role manages) and a sampler that times each '
        'connection run against every host. Hosts: %s.' % (', '.join(hosts) or '-'),
        '',
        '| case | run (s) | connections | failed | p50 / p99 connect ms before | during | after |',
        '| --- | ---: | ---: | ---: | --- | --- | --- |',
    ]
    for r in rotation:
        w = r['windows']
        out.append(
            '| %s | %s | %d | %d | %s / %s | %s / %s | %s / %s |'
            % (
                r['case'],
                r['run_seconds'],
                r['connections'],
                r['failures'],
                _ms(w['before']['p50_ms']),
                _ms(w['before']['p99_ms']),
                _ms(w['during']['p50_ms']),
                _ms(w['during']['p99_ms']),
                _ms(w['after']['p50_ms']),
                _ms(w['after']['p99_ms']),
            )
        )
    out += [
        '',
        'Connect times include the TLS handshake with a client certificate and the '
        'login; the machine runs the servers, pgbench and Ansible on two cores, so the '
        '"during" column also carries the playbook\'s own CPU use.',
        '',
        '## Fault table',
        '',
        'Each fault is a test in `tests/reliability/test_faults.py`. Columns: the server '
        'kept serving, `pg_ctl restart` succeeded afterwards, the files were rolled back or '
        'untouched (for a killed run: key and certificate still pair up), and a re-run '
        'converged.',
        '',
        '| fault | host | serving | restart | files | re-run | error shown |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    yes = {True: 'yes', False: '**no**'}
    for r in faults:
        error = r['error'].replace('|', '/').replace('\n', ' ')
        if len(error) > 160:
            error = error[:157] + '...'
        out.append(
            '| %s | %s | %s | %s | %s | %s | %s |'
            % (
                r['fault'],
                r['host'],
                yes[r['served_kept']],
                yes[r['restart_ok']],
                yes[r['files_ok']],
                yes[r['converged']],
                error or '-',
            )
        )
    out.append('')
    return '\n'.join(out)


def main(argv):
    rows = [json.loads(line) for line in open(argv[0]) if line.strip()]
    with open(argv[1], 'w') as handle:
        handle.write(render(rows))


if __name__ == '__main__':
    main(sys.argv[1:])
