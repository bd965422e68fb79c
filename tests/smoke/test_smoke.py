# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make check's real-server smoke test: one PostgreSQL 15 host (Debian layout) secured by the
site playbook, every sslmode tried against it, and a second run that changes nothing.

It has its own fleet directory, address and CA, so it never meets another suite's servers,
and it starts by sweeping what an earlier, killed run of it left.
"""

import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))

import pgfleet  # noqa: E402
import proc  # noqa: E402

BASE = os.environ.get('PGSSL_SMOKE_DIR', '/var/tmp/pgssl-smoke')
CA_DIR = BASE + '-ca'
NAME, ADDRESS = 'db9', '127.0.0.9'
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
EVERY_MODE = 'disable=reject allow=ssl prefer=ssl require=ssl verify-ca=ssl verify-full=ssl'

INVENTORY = """---
pgssl_servers:
  hosts:
    %(name)s.pgssl.test:
      ansible_host: %(ip)s
  vars:
    pgssl_demo_host: "{{ pgssl_demo_fleet[inventory_hostname.split('.')[0]] }}"
    server_cluster: "{{ pgssl_demo_host.config_dir }}"
    server_login_host: "{{ ansible_host }}"
    server_login_password: "{{ pgssl_demo_host.password }}"
    server_verify_password: "{{ pgssl_demo_host.password }}"
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    pgssl_demo_fleet: "{{ lookup('ansible.builtin.file', '%(base)s/fleet.json') | from_json }}"
    pgssl_ca_dir: %(ca)s
    ca_passphrase: smoke-only-passphrase
"""


@pytest.fixture(scope='module')
def inventory():
    fleet = pgfleet.fresh(BASE, CA_DIR)
    fleet.up(NAME, ADDRESS, '15')
    path = os.path.join(BASE, 'inventory.yml')
    with open(path, 'w') as handle:
        handle.write(INVENTORY % {'name': NAME, 'ip': ADDRESS, 'base': BASE, 'ca': CA_DIR})
    yield path
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(BASE, CA_DIR)


def playbook(inventory, name):
    done = proc.run(
        [PLAYBOOK, '-i', inventory, name],
        timeout=480,
        env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'),
    )
    assert done.returncode == 0, '%s failed:\n%s\n%s' % (name, done.stdout[-6000:], done.stderr[-2000:])
    return done.stdout


def changed(out):
    return int(re.search(r'%s\.pgssl\.test\s*:.*changed=(\d+)' % NAME, out).group(1))


def test_converge_every_sslmode_then_nothing_to_do(inventory):
    first = playbook(inventory, 'pgssl.postgresql.site')
    assert changed(first) > 0
    report = playbook(inventory, os.path.join(ROOT, 'demo', 'report.yml'))
    line = re.search(r'%s\.pgssl\.test\s+PG 15 .*' % NAME, report)
    assert line and EVERY_MODE in line.group(0), report[-3000:]
    second = playbook(inventory, 'pgssl.postgresql.site')
    assert changed(second) == 0, second[-4000:]
