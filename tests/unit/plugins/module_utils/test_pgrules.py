# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's rule for the server key file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgrules as r


@pytest.mark.parametrize(
    'mode,uid,problem',
    [
        (0o600, 101, None),
        (0o400, 101, None),
        (0o640, 101, 'key_file_mode'),
        (0o644, 101, 'key_file_mode'),
        (0o640, 0, None),
        (0o600, 0, None),
        (0o644, 0, 'key_file_mode'),
        (0o660, 0, 'key_file_mode'),
        (0o600, 1000, 'key_file_owner'),
    ],
)
def test_key_file_problem(mode, uid, problem):
    found = r.key_file_problem(stat.S_IFREG | mode, uid, 101)
    assert (found[0] if found else None) == problem


def test_key_file_must_be_regular():
    assert r.key_file_problem(stat.S_IFDIR | 0o700, 101, 101)[0] == 'key_file_type'
