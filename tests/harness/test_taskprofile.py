# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's task profile: seconds from a banner to the next, summed by task name, from a log
written by a real ansible-playbook run."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'benchmarks'))

import taskprofile  # noqa: E402

LOG = """2026-12-07 10:00:00,000 p=7 u=root n=ansible INFO| PLAY [one] ****
2026-12-07 10:00:00,100 p=7 u=root n=ansible INFO| TASK [role : Status] ****
2026-12-07 10:00:01,600 p=7 u=root n=ansible INFO| ok: [a]
2026-12-07 10:00:01,600 p=7 u=root n=ansible INFO| TASK [A | pipe] ****
2026-12-07 10:00:01,850 p=7 u=root n=ansible INFO| PLAY [two] ****
2026-12-07 10:00:01,900 p=7 u=root n=ansible INFO| TASK [role : Status] ****
a line Ansible wrapped without a prefix
2026-12-07 10:00:02,400 p=7 u=root n=ansible INFO| PLAY RECAP ****
"""


def test_tasks_of_one_name_are_summed_and_the_last_ends_at_the_last_line():
    total, tasks, plays = taskprofile.parse(LOG.splitlines())
    assert round(total, 3) == 2.4 and plays == 2
    assert [round(tasks['role : Status'][0], 3), tasks['role : Status'][1]] == [2.0, 2]
    assert round(tasks['A | pipe'][0], 3) == 0.25
    text = taskprofile.table({'total': total, 'top': [['A | pipe', 0.25, 1]], 'tasks': 1, 'plays': 2}, limit=1)
    assert '| A / pipe | 1 | 0.25 | 10% |' in text


def test_nothing_logged_is_an_empty_profile():
    assert taskprofile.parse(['no timestamps here']) == (0.0, {}, 0)


def test_a_real_playbook_run(tmp_path):
    play = tmp_path / 'play.yml'
    play.write_text(
        '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
        '    - name: Wait\n      ansible.builtin.pause:\n        seconds: 1\n'
        '    - name: Twice\n      ansible.builtin.debug:\n        msg: "{{ item }}"\n      loop: [1, 2]\n'
    )
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    got = taskprofile.run(
        [playbook, '-i', 'localhost,', '-c', 'local', str(play)],
        env,
        str(tmp_path),
        str(tmp_path / 'ansible.log'),
        timeout=50,
    )
    assert got['rc'] == 0 and got['plays'] == 1 and got['tasks'] == 2, got
    names = dict((name, seconds) for name, seconds, _count in got['top'])
    assert names['Wait'] >= 1.0 and set(names) == {'Wait', 'Twice'}, names
