# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a playbook run's time goes, task by task, from Ansible's own log (ANSIBLE_LOG_PATH).

Ansible writes a task's banner when the task starts on the hosts of the batch, and the next
banner once every host is done with it (linear strategy): the time between two banners is the
task's wall time over the whole fleet, module runs and controller work together. Tasks of the
same name (an include run once per host, a serial play's batches) are summed. Nothing here
times anything the bench counts: a profiled run is an extra, untimed run.
"""

import datetime
import os
import re
import subprocess

LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) p=(\d+) .*?\| (.*)$')
BANNER = re.compile(r'^(TASK|PLAY|RUNNING HANDLER) \[(.*)\] \**$')


def parse(lines):
    """(total seconds, {task name: [seconds, count]}, plays) of the log of one playbook run."""
    events = []
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        stamp = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S').timestamp()
        events.append((stamp + int(match.group(2)) / 1000.0, match.group(4)))
    if not events:
        return 0.0, {}, 0
    tasks = {}
    plays = 0
    banners = [(t, BANNER.match(text.strip())) for t, text in events]
    banners = [(t, m) for t, m in banners if m]
    end = events[-1][0]
    for index, (start, match) in enumerate(banners):
        if match.group(1) == 'PLAY':
            plays += 1
            continue
        following = banners[index + 1][0] if index + 1 < len(banners) else end
        entry = tasks.setdefault(match.group(2), [0.0, 0])
        entry[0] += following - start
        entry[1] += 1
    return end - events[0][0], tasks, plays


def run(cmd, env, cwd, logpath, timeout=1800):
    """Run ``cmd`` once with Ansible's log in ``logpath``; return its profile as a dict."""
    if os.path.exists(logpath):
        os.unlink(logpath)
    done = subprocess.run(
        cmd,
        env=dict(env, ANSIBLE_LOG_PATH=logpath),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    with open(logpath, errors='replace') as handle:
        total, tasks, plays = parse(handle.read().splitlines())
    ranked = sorted(tasks.items(), key=lambda kv: -kv[1][0])
    return {
        'rc': done.returncode,
        'total': round(total, 2),
        'plays': plays,
        'tasks': sum(count for _s, count in tasks.values()),
        'top': [[name, round(seconds, 2), count] for name, (seconds, count) in ranked],
    }


def table(profile, limit=8):
    """Markdown rows: the ``limit`` costliest tasks, then the rest together."""
    total = profile['total'] or 1.0
    rows = ['| task | runs | seconds | share |', '|---|---:|---:|---:|']
    shown = profile['top'][:limit]
    for name, seconds, count in shown:
        rows.append('| %s | %d | %.2f | %.0f%% |' % (name.replace('|', '/'), count, seconds, 100.0 * seconds / total))
    rest = profile['top'][limit:]
    if rest:
        seconds = sum(s for _n, s, _c in rest)
        count = sum(c for _n, _s, c in rest)
        share = 100.0 * seconds / total
        rows.append('| the other %d tasks | %d | %.2f | %.0f%% |' % (len(rest), count, seconds, share))
    rows.append('| whole run (from the first log line to the last) | | %.2f | |' % profile['total'])
    return '\n'.join(rows)
