# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection runs as root; a local user and the server user try to make it read or write
what they should not. Links are planted by the attacking account itself (runuser), at every
path the roles read or write. Each attempt must end in a clear refusal (or in the link being
replaced, never followed), no secret readable by the attacker, and no file outside the target
written."""

import hashlib
import os
import pwd
import shutil

import pytest

import proc as procs
from conftest import run_module

ATTACKER = 'pgsslattacker'
BASE = '/var/tmp/pgssl-attack'
SECRET = b'-----BEGIN PRIVATE KEY-----\nVICTIM-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n'


def as_user(user, *cmd):
    return procs.run(['runuser', '-u', user, '--'] + list(cmd), timeout=120)


def digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def arena():
    """A victim directory only root can read (a key and a file standing for /etc/passwd), an
    attacker with a home, and the server user's ssl directory."""
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(BASE)
    os.chmod(BASE, 0o755)
    victim = os.path.join(BASE, 'victim')
    os.makedirs(victim)
    os.chmod(victim, 0o755)  # the names are visible, the key is not readable
    key = os.path.join(victim, 'server.key')
    with open(key, 'wb') as handle:
        handle.write(SECRET)
    os.chmod(key, 0o600)
    passwd = os.path.join(victim, 'passwd')
    with open(passwd, 'w') as handle:
        handle.write('root:x:0:0:root:/root:/bin/bash\n')
    os.chmod(passwd, 0o644)
    home = os.path.join(BASE, 'home')
    if procs.run(['id', ATTACKER], timeout=30).returncode != 0:
        procs.run(
            ['useradd', '--no-create-home', '--home-dir', home, '--shell', '/bin/sh', ATTACKER], check=True, timeout=60
        )
    os.makedirs(home)
    user = pwd.getpwnam(ATTACKER)
    os.chown(home, user.pw_uid, user.pw_gid)
    os.chmod(home, 0o755)
    ssl = os.path.join(BASE, 'pgdata', 'ssl')
    os.makedirs(ssl)
    pg = pwd.getpwnam('postgres')
    os.chown(os.path.dirname(ssl), pg.pw_uid, pg.pw_gid)
    os.chown(ssl, pg.pw_uid, pg.pw_gid)
    os.chmod(ssl, 0o750)
    before = {p: digest(p) for p in (key, passwd)}
    yield {'key': key, 'passwd': passwd, 'home': home, 'ssl': ssl, 'victim': victim, 'uid': user.pw_uid}
    # whatever happened, the victim files are as they were
    assert {p: digest(p) for p in (key, passwd)} == before
    assert sorted(os.listdir(victim)) == ['passwd', 'server.key']
    shutil.rmtree(BASE, ignore_errors=True)


def attacker_reads_no_secret(arena):
    """Every file the attacker can read in its home holds no part of the victim's key."""
    proc = as_user(ATTACKER, 'sh', '-c', 'cat $(find %s -type f) 2>/dev/null' % arena['home'])
    assert 'VICTIM-SECRET' not in proc.stdout


def failed_clearly(result, *words):
    assert result.get('failed'), result
    assert 'Traceback' not in result.get('msg', '') and 'exception' not in result
    assert any(w in result['msg'] for w in words), result['msg']
    assert 'VICTIM-SECRET' not in str(result)


def test_client_key_link_to_another_key_is_not_copied(arena):
    dot = os.path.join(arena['home'], '.postgresql')
    assert as_user(ATTACKER, 'mkdir', '-m', '0700', dot).returncode == 0
    assert as_user(ATTACKER, 'ln', '-s', arena['key'], os.path.join(dot, 'postgresql.key')).returncode == 0
    # what the client role did as root before: read the key, keep it, copy it to the pk8
    result = run_module(
        'private_key',
        path=os.path.join(dot, 'postgresql.key'),
        pk8_path=os.path.join(dot, 'postgresql.pk8'),
        owner=ATTACKER,
    )
    failed_clearly(result, 'symbolic link')
    assert not os.path.exists(os.path.join(dot, 'postgresql.pk8'))
    attacker_reads_no_secret(arena)


def test_client_key_hard_link_or_foreign_file_is_refused(arena):
    dot = os.path.join(arena['home'], '.postgresql')
    as_user(ATTACKER, 'mkdir', '-m', '0700', dot)
    # protected_hardlinks stops the attacker from linking a file it cannot read; root plants
    # the link to stand for a system without that protection
    os.link(arena['key'], os.path.join(dot, 'postgresql.key'))
    result = run_module(
        'private_key',
        path=os.path.join(dot, 'postgresql.key'),
        pk8_path=os.path.join(dot, 'postgresql.pk8'),
        owner=ATTACKER,
    )
    failed_clearly(result, 'hard links', 'owned by uid')
    assert not os.path.exists(os.path.join(dot, 'postgresql.pk8'))
    os.unlink(os.path.join(dot, 'postgresql.key'))
    attacker_reads_no_secret(arena)


def test_symlinked_client_directory_is_refused(arena):
    dot = os.path.join(arena['home'], '.postgresql')
    assert as_user(ATTACKER, 'ln', '-s', arena['victim'], dot).returncode == 0
    for module, args in (
        ('private_key', {'path': os.path.join(dot, 'postgresql.key')}),
        (
            'certificate_chain',
            {'path': os.path.join(dot, 'root.crt'), 'kind': 'bundle', 'certificates': [arena['passwd']]},
        ),
    ):
        failed_clearly(run_module(module, **args), 'symbolic link', 'no valid PEM')
    attacker_reads_no_secret(arena)


@pytest.mark.parametrize('name', ['postgresql.pk8', 'postgresql.crt', 'root.crt'])
def test_links_at_files_the_role_writes_are_refused_not_followed(arena, name):
    dot = os.path.join(arena['home'], '.postgresql')
    as_user(ATTACKER, 'mkdir', '-m', '0700', dot)
    target = os.path.join(dot, name)
    assert as_user(ATTACKER, 'ln', '-s', arena['passwd'], target).returncode == 0
    ca_dir = os.path.join(BASE, 'ca')
    os.makedirs(ca_dir, mode=0o700)
    run_module('private_key', path=os.path.join(ca_dir, 'ca.key'))
    run_module(
        'certificate',
        path=os.path.join(ca_dir, 'ca.crt'),
        privatekey_path=os.path.join(ca_dir, 'ca.key'),
        common_name='CA',
        profile='ca',
    )
    if name == 'postgresql.pk8':
        result = run_module('private_key', path=os.path.join(dot, 'postgresql.key'), pk8_path=target, owner=ATTACKER)
    else:
        result = run_module(
            'certificate_chain',
            path=target,
            kind='bundle',
            certificates=[os.path.join(ca_dir, 'ca.crt')],
            owner=ATTACKER,
        )
    # the existing file is read first (is it already right?): a link there is refused
    failed_clearly(result, 'symbolic link')
    assert os.readlink(target) == arena['passwd']
    attacker_reads_no_secret(arena)


def test_server_user_links_in_the_ssl_directory(arena):
    ssl = arena['ssl']
    key = os.path.join(ssl, 'server.key')
    # the server user plants links where root reads the key and writes its backup
    assert as_user('postgres', 'ln', '-s', arena['key'], key).returncode == 0
    failed_clearly(run_module('private_key', path=key, owner='postgres'), 'symbolic link')
    os.unlink(key)
    run_module('private_key', path=key, owner='postgres')
    # links named like backups: pruning and backups never follow or remove their targets
    for n in range(5):
        assert (
            as_user(
                'postgres', 'ln', '-s', arena['passwd'], '%s.20200101T00000000000%d.0000000%d~' % (key, n, n)
            ).returncode
            == 0
        )
    for _round in range(4):
        result = run_module(
            'private_key', path=key, owner='postgres', type='rsa', size=2048, regenerate='always', backup=True
        )
        assert not result.get('failed'), result
        backup = result['backup_file']
        st = os.lstat(backup)
        assert not os.path.islink(backup) and st.st_nlink == 1 and st.st_mode & 0o077 == 0
    # snapshot of a planted link is refused
    crt = os.path.join(ssl, 'server.crt')
    assert as_user('postgres', 'ln', '-s', arena['passwd'], crt).returncode == 0
    failed_clearly(
        run_module('snapshot', state='save', dir=os.path.join(BASE, 'snaps'), paths=[crt]),
        'not a regular file',
        'symbolic link',
    )


def test_config_file_link_is_refused(arena):
    hba = os.path.join(os.path.dirname(arena['ssl']), 'pg_hba.conf')
    assert as_user('postgres', 'ln', '-s', arena['passwd'], hba).returncode == 0
    failed_clearly(run_module('pg_hba', path=hba, require_ssl='reject', pg_version=16), 'symbolic link')
    conf = os.path.join(os.path.dirname(arena['ssl']), 'postgresql.conf')
    assert as_user('postgres', 'ln', '-s', arena['passwd'], conf).returncode == 0
    failed_clearly(run_module('pg_conf', path=conf, settings={'ssl': True}), 'symbolic link')


def test_key_owned_by_someone_else_is_refused(arena):
    key = os.path.join(arena['ssl'], 'server.key')
    run_module('private_key', path=key, owner='postgres')
    os.chown(key, arena['uid'], -1)  # a file the attacker owns, at the server key's name
    failed_clearly(run_module('private_key', path=key, owner='postgres'), 'owned by uid')
