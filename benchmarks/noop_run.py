# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a run where nothing is due, against `ansible all -m ping` on the same inventory.

Target (issue "Roles ca, server and client"): a no-op run over 20 hosts within about 2.5x the
time of `ansible all -m ping` with the same inventory and forks. Also times the verify module's
six sslmodes per host (target: well under a second).

Usage (as root, after `make venv pg`):
    .venv/bin/python benchmarks/noop_run.py [--hosts 20] [--rounds 3] [--keep]
It starts N real PostgreSQL 18 clusters on 127.0.0.101.. (harness), secures them once with the
site playbook, then times the runs and prints a JSON summary. Numbers vary with the machine;
this is a measurement, never an assertion in the test suite.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))

import pgfleet  # noqa: E402

BASE = '/var/tmp/pgssl-bench'
BIN = os.path.dirname(sys.executable)


def inventory(fleet, path):
    hosts = {}
    for name, host in sorted(fleet.hosts().items()):
        hosts['%s.pgssl.test' % name] = {
            'ansible_host': host['ip'], 'server_cluster': host['data_dir'],
            'server_login_host': host['ip'], 'server_login_password': host['password'],
            'server_verify_password': host['password']}
    data = {'pgssl_servers': {'hosts': hosts}, 'all': {'vars': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
        'ca_dir': BASE + '-ca', 'ca_passphrase': 'bench-only-passphrase'}}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(data, handle)


def timed(cmd, env):
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit('%s failed:\n%s\n%s' % (' '.join(cmd), proc.stdout[-3000:], proc.stderr))
    return elapsed, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--hosts', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--keep', action='store_true')
    args = parser.parse_args()
    fleet = pgfleet.Fleet(BASE)
    for i in range(args.hosts):
        fleet.up('db%d' % (101 + i), '127.0.0.%d' % (101 + i), '18')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='0')
    forks = str(args.hosts)
    with tempfile.TemporaryDirectory() as tmp:
        inv = os.path.join(tmp, 'inventory.json')
        inventory(fleet, inv)
        playbook = [os.path.join(BIN, 'ansible-playbook'), '-i', inv, '-f', forks]
        timed(playbook + ['pgssl.postgresql.site'], env)          # secure once
        results = {'ping': [], 'site_noop': [], 'renew_noop': []}
        for _round in range(args.rounds):
            results['ping'].append(timed([os.path.join(BIN, 'ansible'), 'all', '-i', inv, '-f',
                                          forks, '-m', 'ansible.builtin.ping'], env)[0])
            elapsed, out = timed(playbook + ['pgssl.postgresql.site'], env)
            assert 'changed=0' in out and 'changed=1' not in out, out[-2000:]
            results['site_noop'].append(elapsed)
            elapsed, out = timed(playbook + ['pgssl.postgresql.renew'], env)
            results['renew_noop'].append(elapsed)
        verify_ms, wall_ms = [], []
        for name, host in sorted(fleet.hosts().items()):
            import psycopg  # noqa: F401  (the module needs it; fail early if missing)
            payload = {'ANSIBLE_MODULE_ARGS': {
                'host': '%s.pgssl.test' % name, 'hostaddr': host['ip'],
                'password': host['password'], 'sslrootcert': BASE + '-ca/ca.crt',
                'policy': 'ssl_required'}}
            start = time.monotonic()
            proc = subprocess.run(
                [sys.executable, '-m', 'ansible_collections.pgssl.postgresql.plugins.modules.verify'],
                input=json.dumps(payload), capture_output=True, text=True, check=False,
                env=dict(env, PYTHONPATH=os.path.join(ROOT, '.cache', 'collections')))
            wall_ms.append((time.monotonic() - start) * 1000)
            result = json.loads(proc.stdout)
            assert result['unmet'] == [], result
            verify_ms.append(sum(m['elapsed_ms'] for m in result['modes'].values()))
    summary = dict((k, round(statistics.median(v), 2)) for k, v in results.items())
    summary['site_noop_vs_ping'] = round(summary['site_noop'] / summary['ping'], 2)
    summary['renew_noop_vs_ping'] = round(summary['renew_noop'] / summary['ping'], 2)
    summary['verify_six_modes_ms_median'] = round(statistics.median(verify_ms))
    summary['verify_module_wall_ms_median'] = round(statistics.median(wall_ms))
    summary['hosts'] = args.hosts
    print(json.dumps(summary, indent=2))
    if not args.keep:
        fleet.destroy_all()
        subprocess.run(['rm', '-rf', BASE + '-ca'], check=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
