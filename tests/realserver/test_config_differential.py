# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection reads postgresql.conf and pg_hba.conf as the real server does.

Generated hostile files (quoting, escapes, comments, includes, CRLF, tabs, form feeds and other
odd whitespace, continuation lines, duplicate keys, bad values) are written where the server
looks, and pg_file_settings / pg_hba_file_rules (which parse the files on disk without applying
them) are compared with the collection's own reading: every setting with its file, line and
value; every rule in order; every line the server refuses. Files the editors write load with no
error. ``make fuzz`` runs the same with thousands of cases and prints the seed.
"""

import os

import pytest

import confgen
from conftest import HOSTS

SEED = os.environ.get('PGSSL_FUZZ_SEED', 'make-test')
CASES = int(os.environ.get('PGSSL_FUZZ_CASES', '150'))


def _report(bad):
    lines = []
    for item in bad[:3]:
        lines.append(
            'case %s: %r\n  server: %r\n  module: %r' % (item['case'], item['text'], item['server'], item['module'])
        )
    return '%d mismatches (seed %s)\n%s' % (len(bad), SEED, '\n'.join(lines))


@pytest.mark.parametrize('name', sorted(HOSTS))
@pytest.mark.parametrize(
    'runner',
    [confgen.run_conf_cases, confgen.run_hba_cases, confgen.run_conf_writes, confgen.run_hba_writes],
    ids=['conf-read', 'hba-read', 'conf-write', 'hba-write'],
)
def test_reading_equals_the_server(fleet, name, runner):
    bad = runner(fleet, name, SEED, CASES)
    assert bad == [], _report(bad)
