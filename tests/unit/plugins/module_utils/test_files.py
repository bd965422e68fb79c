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
    saved = f.write_atomic(str(target), b'new', mode=0o644, uid=os.getuid(), gid=os.getgid(), backup=True)
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


# --------------------------------------------------------------------------- hostile paths

NOBODY = 65534


def _owned_by_nobody(path):
    os.lchown(str(path), NOBODY, NOBODY)


def test_symlink_at_the_name_is_never_read_or_written_through(tmp_path):
    secret = tmp_path / 'secret.key'
    secret.write_bytes(b'PRIVATE')
    link = tmp_path / 'postgresql.key'
    link.symlink_to(secret)
    with pytest.raises(f.PgsslFileError, match='symbolic link'):
        f.read_bytes(str(link), 'key', secret=True)
    # a write replaces the link itself; the target is untouched
    f.write_atomic(str(link), b'new', mode=0o600)
    assert secret.read_bytes() == b'PRIVATE' and not link.is_symlink()


def test_symlinked_directory_owned_by_a_user_is_refused(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'server.key').write_bytes(b'PRIVATE')
    home = tmp_path / 'home'
    home.mkdir()
    link = home / '.postgresql'
    link.symlink_to(real)
    _owned_by_nobody(link)
    with pytest.raises(f.PgsslFileError, match='symbolic link owned by uid 65534'):
        f.read_bytes(str(link / 'server.key'), 'key')
    with pytest.raises(f.PgsslFileError, match='symbolic link owned by uid 65534'):
        f.write_atomic(str(link / 'postgresql.pk8'), b'x')
    assert sorted(os.listdir(str(real))) == ['server.key']
    # a link root made is followed (the system's own /var/run -> /run and the like)
    os.lchown(str(link), 0, 0)
    assert f.read_bytes(str(link / 'server.key'), 'key') == b'PRIVATE'


def test_secret_with_other_hard_links_or_a_foreign_owner_is_refused(tmp_path):
    key = tmp_path / 'server.key'
    key.write_bytes(b'PRIVATE')
    os.link(str(key), str(tmp_path / 'postgresql.key'))
    with pytest.raises(f.PgsslFileError, match='2 hard links'):
        f.read_bytes(str(tmp_path / 'postgresql.key'), 'key', secret=True)
    other = tmp_path / 'other.key'
    other.write_bytes(b'X')
    _owned_by_nobody(other)
    with pytest.raises(f.PgsslFileError, match='owned by uid 65534'):
        f.read_bytes(str(other), 'key', secret=True)
    assert f.read_bytes(str(other), 'key', secret=True, owners=[NOBODY]) == b'X'


def test_fifo_or_directory_is_not_read(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    with pytest.raises(f.PgsslFileError, match='not a regular file'):
        f.read_bytes(str(fifo))


def test_backups_are_private_exclusive_and_pruned(tmp_path):
    key = tmp_path / 'server.key'
    key.write_bytes(b'v0')
    os.chmod(str(key), 0o644)  # an old key with a too-wide mode
    saved = f.write_atomic(str(key), b'v1', mode=0o600, backup=True, secret=True)
    assert open(saved, 'rb').read() == b'v0'
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600  # never wider than 0600
    assert os.stat(saved).st_ino != key.stat().st_ino and os.stat(saved).st_nlink == 1
    for n in range(2, 7):
        f.write_atomic(str(key), b'v%d' % n, mode=0o600, backup=True, secret=True, keep=3)
    kept = f.backups_of(str(key))
    assert len(kept) == 3
    assert [open(p, 'rb').read() for p in kept] == [b'v3', b'v4', b'v5']


def test_attributes_are_applied_on_the_descriptor_not_through_a_link(tmp_path):
    class Module(object):
        check_mode = False
        params = {'mode': '0600', 'owner': None, 'group': None}

        def load_file_common_arguments(self, params, path=None):
            return dict(params, path=path)

    target = tmp_path / 'passwd'
    target.write_bytes(b'x')
    os.chmod(str(target), 0o644)
    link = tmp_path / 'postgresql.crt'
    link.symlink_to(target)
    with pytest.raises(f.PgsslFileError, match='symbolic link'):
        f.apply_attributes(Module(), str(link), False)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert f.apply_attributes(Module(), str(target), False) is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_make_dirs_and_ensure_dir_refuse_a_planted_link(tmp_path):
    """ca_state create=true and the passphrase directory: a link another user planted at the
    name is refused, nothing is made through it; missing parents are made with the mode."""
    target = tmp_path / 'elsewhere'
    target.mkdir()
    link = tmp_path / 'ca'
    os.symlink(str(target), str(link))
    os.lchown(str(link), 65534, 65534)
    with pytest.raises(f.PgsslFileError):
        f.ensure_dir(str(link), 0o700)
    with pytest.raises(f.PgsslFileError):
        f.make_dirs(str(link / 'issued'), 0o700)
    assert os.listdir(str(target)) == []
    deep = tmp_path / 'a' / 'b'
    assert f.make_dirs(str(deep), 0o755, check_mode=True) == [str(tmp_path / 'a'), str(deep)]
    assert not (tmp_path / 'a').exists()
    assert f.make_dirs(str(deep), 0o755) == [str(tmp_path / 'a'), str(deep)]
    assert oct(os.stat(str(deep)).st_mode & 0o777) == '0o755'
    assert f.make_dirs(str(deep), 0o700) == []  # an existing directory is left as it is
    assert oct(os.stat(str(deep)).st_mode & 0o777) == '0o755'


@pytest.mark.parametrize(
    'mode,owner,group,file_owner,file_group,allowed',
    [
        (0o777, 0, 0, None, None, False),  # anyone can swap the file afterwards
        (0o1777, 0, 0, None, None, True),  # sticky (/tmp): nobody moves another's file
        (0o755, 65534, 65534, None, None, False),  # belongs to another user, who can chmod it
        (0o755, 65534, 65534, 65534, None, True),  # ... who is the file's owner anyway
        (0o775, 0, 65534, None, None, False),  # a foreign group can write
        (0o775, 0, 65534, None, 65534, True),  # the file's own group (root:postgres 0770)
        (0o770, 0, 0, None, None, True),
        (0o755, 0, 0, None, None, True),
    ],
)
def test_writes_only_into_a_directory_no_one_else_can_change(
    tmp_path, mode, owner, group, file_owner, file_group, allowed
):
    if os.geteuid() != 0:
        raise AssertionError('needs root to give the directory away (make test runs as root)')
    directory = tmp_path / 'ssl'
    directory.mkdir()
    os.chown(str(directory), owner, group)
    os.chmod(str(directory), mode)
    path = str(directory / 'server.key')
    if allowed:
        f.write_atomic(path, b'PRIVATE', mode=0o600, uid=file_owner, gid=file_group, secret=True)
        assert open(path, 'rb').read() == b'PRIVATE'
    else:
        with pytest.raises(f.PgsslFileError, match='Refusing to write in'):
            f.write_atomic(path, b'PRIVATE', mode=0o600, uid=file_owner, gid=file_group, secret=True)
        assert os.listdir(str(directory)) == []
