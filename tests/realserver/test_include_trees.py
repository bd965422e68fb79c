# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Differential: the include tree as the collection reads it (``_pgconf.read_tree``, which
``_cluster.find`` and every status call rest on) against the server's own reading of the same
files (``pg_file_settings``, which re-reads them at each query), over generated trees:
include, include_if_exists and include_dir, relative and absolute paths, nesting, missing
files, quoted values with spaces, quotes, backslashes and '#', and settings repeated across
files. The files, lines, names and values must agree row for row, in order."""

import os
import pwd
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf

import pgfleet

BASE = '/var/tmp/pgssl-rs-includetree'
NAMES = ['work_mem', 'application_name', 'statement_timeout', 'search_path', 'lock_timeout']
# values for application_name / search_path: the characters that matter to the file syntax
TEXT = st.text(alphabet=st.sampled_from(list("ab _-'\\#=,.x9")), max_size=12)


@pytest.fixture(scope='module')
def tree_host():
    fleet = pgfleet.fresh(BASE)
    host = fleet.up('db17', '127.0.0.17', '16')
    gen = os.path.join(host['data_dir'], 'gen')
    with open(host['config_file'], 'a') as handle:
        handle.write("\ninclude_dir 'gen'\n")
    yield fleet, host, gen
    if not os.environ.get('PGSSL_KEEP_FLEET'):
        pgfleet.fresh(BASE)


def _value(name, draw_int, text):
    if name in ('work_mem',):
        return "'%dkB'" % (64 + draw_int)
    if name in ('statement_timeout', 'lock_timeout'):
        return str(draw_int)
    return pgconf.quote(text) if text else "''"


@st.composite
def trees(draw):
    """{relative file path: [lines]} under gen/, the first file being gen/00-root.conf."""
    files = {}
    count = draw(st.integers(1, 5))
    names = ['00-root.conf'] + ['f%d.conf' % i for i in range(1, count)] + ['sub/s%d.conf' % i for i in range(2)]
    for name in names:
        lines = []
        for _line in range(draw(st.integers(0, 5))):
            kind = draw(st.sampled_from(['set', 'set', 'set', 'include', 'if_exists', 'dir', 'comment']))
            if kind == 'set':
                key = draw(st.sampled_from(NAMES))
                sep = draw(st.sampled_from([' = ', '=', ' ']))
                value = _value(key, draw(st.integers(0, 5000)), draw(TEXT))
                tail = draw(st.sampled_from(['', '  # note', "\t# it's"]))
                lines.append('%s%s%s%s' % (key, sep, value, tail))
            elif kind == 'comment':
                lines.append(draw(st.sampled_from(['# include \'f1.conf\'', '', '   ', '#work_mem = 1MB'])))
            elif name.startswith('sub/'):
                continue  # no include loops through sub/ (the server would refuse a cycle too)
            else:
                target = draw(st.sampled_from(names[1:] + ['missing.conf']))
                if target == name or target <= name and not target.startswith('sub/'):
                    continue  # only forward (no include loops)
                rel = os.path.relpath(target, os.path.dirname(name) or '.')
                if kind == 'include' and target != 'missing.conf':
                    lines.append("include '%s'" % rel)
                elif kind == 'if_exists':
                    lines.append("include_if_exists '%s'" % rel)
                elif kind == 'dir':
                    lines.append("include_dir 'sub'" if not name.startswith('sub/') else '')
        files[name] = lines
    return files


def _write(gen, files):
    shutil.rmtree(gen, ignore_errors=True)
    pg = pwd.getpwnam('postgres')
    for name, lines in files.items():
        path = os.path.join(gen, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write('\n'.join(lines) + ('\n' if lines else ''))
    for root, dirs, names in os.walk(gen):
        for entry in [root] + [os.path.join(root, n) for n in names]:
            os.chown(entry, pg.pw_uid, pg.pw_gid)


def _server_rows(fleet, host):
    out = fleet.psql(
        'db17',
        "SELECT sourcefile || E'\\x1f' || sourceline || E'\\x1f' || lower(name) || E'\\x1f' || "
        "COALESCE(setting, '') || E'\\x1f' || COALESCE(error, '') FROM pg_file_settings "
        "WHERE sourcefile LIKE '%/gen/%' ORDER BY seqno;",
    ).stdout
    return [tuple(line.split('\x1f')) for line in out.split('\n') if line]


def _our_rows(host):
    errors = []
    rows = pgconf.read_tree(host['config_file'], errors=errors)
    ours = [(path, str(number), name.lower(), str(value), '') for path, number, name, value in rows if '/gen/' in path]
    return ours, errors


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=trees())
def test_the_include_tree_reads_as_the_server_reads_it(tree_host, files):
    fleet, host, gen = tree_host
    _write(gen, files)
    ours, errors = _our_rows(host)
    theirs = _server_rows(fleet, host)
    assert not errors, errors
    # (whether a value is valid for its parameter is the server's business, not the reading's)
    assert [r[:4] for r in theirs] == [r[:4] for r in ours], (files, theirs, ours)
