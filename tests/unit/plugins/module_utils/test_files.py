# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of secure atomic writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as f


def test_new_file_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        target = tmp_path / 'secret.key'
        f.write_atomic(str(target), b'data')
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b'data'
    assert os.listdir(str(tmp_path)) == ['secret.key']  # no temp file left behind


def test_mode_owner_and_backup(tmp_path):
    target = tmp_path / 'cert.pem'
    target.write_bytes(b'old')
    os.chmod(str(target), 0o600)
    saved = f.write_atomic(str(target), b'new', mode=0o644, uid=os.getuid(), gid=os.getgid(),
                           backup=True)
    assert target.read_bytes() == b'new'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert saved and open(saved, 'rb').read() == b'old'
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600  # the backup keeps its own mode


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(f.PgsslFileError, match='does not exist'):
        f.write_atomic(str(tmp_path / 'nope' / 'x'), b'1')


def test_helpers(tmp_path):
    assert f.octal_mode('0640') == 0o640 and f.octal_mode(0o600) == 0o600
    assert f.octal_mode('u=rw') is None and f.octal_mode(None) is None
    assert f.resolve_uid('root') == 0 and f.resolve_uid('0') == 0 and f.resolve_uid(None) is None
    assert f.resolve_gid('root') == 0
    with pytest.raises(f.PgsslFileError):
        f.resolve_uid('no-such-user-pgssl')
    assert f.read_bytes(str(tmp_path / 'missing')) is None
    assert f.read_input(None, 'abc', 'x') == b'abc'
    with pytest.raises(f.PgsslFileError, match='does not exist'):
        f.read_input(str(tmp_path / 'missing'), None, 'CSR')
    assert f.read_input(None, None, 'x', required=False) is None
