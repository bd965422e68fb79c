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
    out.extend(HOSTILE)
    out.extend(REPLICATION)
    out.extend(PATRONI)
    out.extend(PGBOUNCER)
    return '\n'.join(out)


# What the server user (and an unprivileged OS user) tried, from the real-server tests in
# tests/realserver/test_trust.py and test_attacks.py (make realserver, part of make test); each
# row is asserted there, on PG 14 and 18 (PGDATA) and PG 15 (Debian layout).
HOSTILE_ROWS = [
    (
        '`ssl/server.crt` replaced by a FIFO',
        'reload, tls_status',
        'refused: "not a regular file"; the old certificate is still served',
    ),
    (
        '`ssl/server.crt` a link to `/dev/zero` made by the server user',
        'reload, tls_status',
        'refused (a link in a directory the server user writes); no MemoryError',
    ),
    ('`include_if_exists` naming a FIFO', 'pg_conf', 'refused: "not a regular file"; postgresql.conf unchanged'),
    (
        '`hba_file` pointed at a root-only file, the real one set again by a later include',
        'pg_hba, tls_status',
        'acts on the file the server reads (`pg_file_settings`); the root-only file unchanged, never shown',
    ),
    (
        'effective `hba_file` outside the cluster (the last line wins)',
        'pg_hba, tls_status',
        'refused: "outside the cluster", file:line named; the target unchanged, never shown',
    ),
    (
        '`ALTER SYSTEM SET ssl_passphrase_command`',
        'pg_conf',
        'override refused or removed; the value masked in the error, the diff and the returned overrides',
    ),
    (
        '`ALTER SYSTEM SET ssl = off` on a fresh cluster',
        'site playbook',
        'refused alike by `--check` and the real run, naming the line; removed with `server_remove_overrides`',
    ),
    (
        'links at the key, certificate, pk8, root certificate, backup names and config files',
        'certificate, private_key, client and server roles',
        'refused, never followed; victim files unchanged',
    ),
    ("a hard link or a foreign-owned file at a key's name", 'private_key, client role', 'refused'),
    ('`~/.postgresql` a link to another directory', 'client role', 'refused'),
    ('a key owned by someone else', 'server role', 'refused'),
    ('an include tree fanning out (a file including itself 20 times)', 'pg_conf (unit)', 'refused past 2,000 files'),
    (
        'a bundle of 1,001 certificates; 20 mutual cross-signs',
        'certificate_chain (unit)',
        'refused; the chain search ends past 20,000 paths',
    ),
    ('a 64 GiB sparse file', 'any read (unit)', 'refused by its size before reading'),
]
# the other targets (tests/realserver/test_pgbouncer.py, test_patroni_rest_hostile.py)
HOSTILE_TARGET_ROWS = [
    (
        'pgbouncer.ini swapped by the server user for a link to a root-only file',
        'pgbouncer_tls',
        'refused ("symbolic link"); the root-only file neither read into the result nor written',
    ),
    ('the slot directory planted as a link to a root-only directory', 'pgbouncer_tls', 'refused; nothing made there'),
    (
        'an unknown key, a relative `%include`, a section header left open, a setting decided in an include',
        'pgbouncer_tls',
        'refused with file and line (never the line itself); pgbouncer.ini and the running pooler unchanged',
    ),
    (
        'a value PgBouncer rejects (it still answers RELOAD)',
        'pgbouncer_tls',
        'seen in SHOW CONFIG; pgbouncer.ini put back and PgBouncer reloaded',
    ),
    (
        'hba lines PgBouncer would skip (options, `replication`, `+group`, host names, bad masks)',
        'pgbouncer_tls',
        'refused with file and line; agrees with PgBouncer 1.18 line by line',
    ),
    (
        "a Patroni REST API that never answers, answers a byte at a time, or sends 10 MiB",
        'patroni_config',
        'fails within twice connect_timeout ("does not answer", "within", "more than")',
    ),
    (
        "a DCS member entry whose api_url points at another host",
        'patroni_config',
        'no request reaches that host unless named in member_hosts; the credentials never appear in the result',
    ),
    (
        'patroni.yml swapped by the server user for a link to a root-only file',
        'patroni_tls',
        'refused; nothing of the root-only file in the result; nothing written',
    ),
    (
        'patroni.yml in JSON or flow style, a key given twice, broken YAML, an anchor shared with another place',
        'patroni_tls',
        'refused before anything is written (unit-tested edits read back exactly as asked, or refused)',
    ),
    (
        'a line break in a name or value written into patroni.yml',
        'patroni_tls',
        'refused before anything is read',
    ),
    (
        'a client certificate, key or CA file of the REST API planted as a link in a directory the server user owns',
        'patroni_config',
        'refused ("symbolic link"); the TLS library only ever opens root\'s private copy',
    ),
]
HOSTILE = (
    [
        '## Hostile inputs from the server user',
        '',
        'Played as the server user (postgres) or an unprivileged OS user on real clusters by '
        '`tests/realserver/test_trust.py` and `test_attacks.py` (in `make test`; the three rows marked '
        'unit by the unit tests; the PgBouncer and Patroni rows by `test_pgbouncer.py`, '
        '`test_patroni_rest_hostile.py` and `test_patroni_tls.py`). Every row is an assertion there: the module ends '
        'well inside 60 s, nothing '
        'outside the cluster changes, and nothing of a root-only file reaches the output.',
        '',
        '| input | module | outcome |',
        '| --- | --- | --- |',
    ]
    + ['| %s | %s | %s |' % row for row in HOSTILE_ROWS]
    + ['| %s | %s | %s |' % row for row in HOSTILE_TARGET_ROWS]
    + ['']
)


# measured on 2026-12-07 by tests/realserver/test_replication_role.py (it writes
# .cache/replication-figures-MAJOR.json on each run); copied here by hand
REPLICATION_ROWS = [
    ("replication certificates forced", 2, 38264, 0.021, 2, 2456, 0.027),
    ("server certificates forced", 2, 24280, 0.018, 2, 3240, 0.014),
    ("CA rollover, phase trust", 0, 4240, 0.016, 0, 2992, 0.021),
    ("CA rollover, phase reissue", 2, 3288, 0.016, 2, 2144, 0.024),
    ("CA rollover, phase retire", 0, 2456, 0.014, 0, 2680, 0.019),
]
REPLICATION = (
    [
        '## Streaming replication under write load',
        '',
        'A primary with two standbys made by `pg_basebackup -R`, secured by the server role '
        '(`server_primary`), each standby linked with `sslmode=verify-full` and its own replication '
        'certificate. While each playbook runs, `pgbench` (4 clients, 200 transactions a second '
        'together) writes on the primary and a sampler reads `pg_stat_replication` on the primary '
        'every 0.1 s. Measured by '
        '`tests/realserver/test_replication_role.py` (in `make test`, beside another suite on the two '
        'cores) on 2026-12-07; in every case '
        'no pgbench client saw an error, each standby ended on the expected certificate, and the '
        'standbys held the same rows as the primary. A reconnect is a new walsender; two standbys, so '
        '2 is one reconnect each (the slot switch of a new replication certificate). The server '
        'certificates run renews the replication certificates too (the same forced window). '
        '`make test` now runs the three rollover phases on PG 18 only; the PG 14 figures of those '
        'rows are from the same day\'s last run that still ran them on both majors.',
        '',
        '| case | PG 18 reconnects | largest replay lag (bytes / s) '
        '| PG 14 reconnects | largest replay lag (bytes / s) |',
        '| --- | ---: | --- | ---: | --- |',
    ]
    + ['| %s | %d | %d / %.3f | %d | %d / %.3f |' % row for row in REPLICATION_ROWS]
    + ['']
)


# measured on 2026-12-07 by tests/realserver/test_patroni.py (it writes
# .cache/patroni-figures-MAJOR.json on each run); copied here by hand
PATRONI_ROWS = [
    ("every member's certificate forced", 50.5, 2452, 63.4, 2548),
    ('CA rollover, phase trust', 38.7, 1559, 45.0, 1799),
    ('CA rollover, phase reissue', 40.8, 1715, 44.4, 1855),
    ('CA rollover, phase retire', 38.2, 1645, 49.1, 1878),
]
PATRONI = (
    [
        '## A Patroni cluster under connection load',
        '',
        'Three Patroni members (etcd from Debian, Patroni 4.1.5) secured by the server role through '
        "Patroni's dynamic configuration. While each playbook runs, `pgbench -C` opens a new "
        '`sslmode=verify-full` connection per transaction to the leader (2 clients, `SELECT 1`, 50 '
        'new connections a second; `make test` now opens 20 a second), in runs of 3 s one after '
        'the other; the clients trust both CAs '
        "from the rollover's trust "
        'phase on. Measured by `tests/realserver/test_patroni.py` (in `make test`, beside another suite on the two '
        'cores) on 2026-12-07. '
        'No connection failed; the cluster kept one leader and every replica streaming. '
        '`make test` now runs this on PG 15 only (PG 18 renews every member under the same load in '
        'the switchover test below); the PG 18 column is from the same day\'s last run on both.',
        '',
        '| case | PG 15 run (s) | connections | failed | PG 18 run (s) | connections | failed |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    + ['| %s | %.1f | %d | 0 | %.1f | %d | 0 |' % row for row in PATRONI_ROWS]
    + [
        '',
        'A `patronictl switchover` in the middle of a forced renewal (PG 18; what Patroni does on its own '
        'runs on the newest major only), with the same load aimed at the old leader\'s address: the '
        'renewal finished in the same run; connection attempts failed only while the old leader '
        'restarted as a replica, in one window of 7.9 s right after the switchover (193 failed '
        'attempts, pgbench retrying at once; 4772 connections in all), and none outside it.',
        '',
    ]
)


# measured on 2026-12-07 by tests/realserver/test_pgbouncer.py (it writes
# .cache/pgbouncer-figures.json and .cache/pgbouncer-rollover-figures.json); copied here by hand
PGBOUNCER_ROWS = [
    ("the pooler's certificate forced (pgbouncer_tls)", 3.9, 360),
    ("PostgreSQL's certificate replaced, RECONNECT on the pooler", 2.1, 245),
    ('CA rollover, both CAs trusted on both sides', 3.3, 371),
    ('CA rollover, pooler and server reissued from the new CA', 3.1, 428),
    ('CA rollover, the old CA retired on both sides', 2.4, 376),
    ('`ca_rollover` playbook, phase trust (server and pooler)', 26.9, 1519),
    ('`ca_rollover` playbook, phase reissue', 30.4, 1613),
    ('`ca_rollover` playbook, phase retire', 30.7, 1520),
]
PGBOUNCER = (
    [
        '## PgBouncer in front, under connection load',
        '',
        "Debian's PgBouncer 1.18 in front of PostgreSQL 16, TLS on both sides (the pooler's own "
        'certificate toward its clients and toward PostgreSQL, `server_tls_sslmode=verify-full`). '
        'During each step `pgbench -C` opens a new `sslmode=verify-full` connection per transaction '
        'through the pooler (2 clients, `SELECT 1`, password logins, 50 new connections a second; '
        '`make test` now opens 20 a second), '
        "in runs of 3 s one after the other; the clients trust both CAs from the rollover's trust "
        'phase on. Measured by '
        '`tests/realserver/test_pgbouncer.py` (in `make test`, beside another suite on the two '
        'cores) on 2026-12-07. No connection failed. '
        'A forced rotation with `auth_type=cert` logins (a client certificate per connection) also '
        'had no failure.',
        '',
        '| step | step (s) | connections | failed |',
        '| --- | ---: | ---: | ---: |',
    ]
    + ['| %s | %.1f | %d | 0 |' % row for row in PGBOUNCER_ROWS]
    + ['']
)


def main(argv):
    rows = [json.loads(line) for line in open(argv[0]) if line.strip()]
    with open(argv[1], 'w') as handle:
        handle.write(render(rows))


if __name__ == '__main__':
    main(sys.argv[1:])
