# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the snapshot/restore unit the server role rolls back with."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as f
from ansible_collections.pgssl.postgresql.plugins.module_utils import _snapshot as s


def _facts(path):
    st = os.lstat(path)
    return open(path, 'rb').read(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_restore_puts_back_content_owner_mode_and_removes_only_new_files(tmp_path):
    ssl = tmp_path / 'ssl'
    ssl.mkdir()
    key, crt, new = ssl / 'server.key', ssl / 'server.crt', ssl / 'root.crl'
    key.write_bytes(b'old key')
    os.chmod(str(key), 0o644)  # a run that only fixes the mode must not delete the key
    os.chown(str(key), 65534, 65534)
    crt.write_bytes(b'old cert')
    os.chmod(str(crt), 0o644)
    before = {p: _facts(str(p)) for p in (key, crt)}
    snaps = str(tmp_path / 'snaps')
    index = s.save(snaps, 'run1', [str(key), str(crt), str(new)])
    assert [e['existed'] for e in index] == [True, True, False]
    assert stat.S_IMODE(os.stat(snaps).st_mode) == 0o700
    # the change: a mode fix on the key, a new certificate, a new CRL
    os.chmod(str(key), 0o600)
    f.write_atomic(str(crt), b'new cert', mode=0o644)
    new.write_bytes(b'crl')
    restored, removed = s.restore(snaps, 'run1')
    assert sorted(restored) == sorted([str(key), str(crt)]) and removed == [str(new)]
    assert {p: _facts(str(p)) for p in (key, crt)} == before
    assert not new.exists()
    assert s.restore(snaps, 'run1') == ([], [])  # a second restore changes nothing
    assert s.differences(snaps, 'run1') == []
    assert s.drop(snaps, 'run1') and not s.drop(snaps, 'run1')


def test_a_planted_symlink_is_refused_not_followed(tmp_path):
    target = tmp_path / 'passwd'
    target.write_bytes(b'root:x:0:0')
    link = tmp_path / 'server.key'
    link.symlink_to(target)
    with pytest.raises(f.PgsslFileError, match='not a regular file|symbolic link'):
        s.save(str(tmp_path / 'snaps'), 'run2', [str(link)])


def test_restore_replaces_a_symlink_planted_after_the_snapshot(tmp_path):
    key = tmp_path / 'server.key'
    key.write_bytes(b'old')
    snaps = str(tmp_path / 'snaps')
    s.save(snaps, 'run3', [str(key)])
    key.unlink()
    outside = tmp_path / 'outside'
    outside.write_bytes(b'untouched')
    key.symlink_to(outside)
    s.restore(snaps, 'run3')
    assert not key.is_symlink() and key.read_bytes() == b'old'
    assert outside.read_bytes() == b'untouched'


def test_bad_ids_and_damaged_copies(tmp_path):
    with pytest.raises(f.PgsslFileError, match='Invalid snapshot id'):
        s.save(str(tmp_path), '../x', [])
    key = tmp_path / 'k'
    key.write_bytes(b'v1')
    snaps = str(tmp_path / 'snaps')
    s.save(snaps, 'run4', [str(key)])
    key.write_bytes(b'v2')
    with open(os.path.join(snaps, 'run4', '0.data'), 'wb') as handle:
        handle.write(b'tampered')
    with pytest.raises(f.PgsslFileError, match='damaged'):
        s.restore(snaps, 'run4')
    assert key.read_bytes() == b'v2'
