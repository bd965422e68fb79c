# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust rule's pure parts: bounded reads of files someone else can write, and a cluster's
paths taken from its whole include tree, never from a line the server would not apply.
(The same attacks against real servers are in tests/realserver/test_trust.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import threading

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _cluster as cluster
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as f
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt

NOBODY = pwd.getpwnam('nobody').pw_uid


def finishes(call, seconds=20):
    """Run ``call`` in a thread; fail if it has not ended in ``seconds`` (a hang is the bug)."""
    out = {}

    def target():
        try:
            out['value'] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out['error'] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), 'the read did not end'
    return out


# ------------------------------------------------------------------ bounded reads


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / 'server.crt'
    os.mkfifo(str(fifo))
    out = finishes(lambda: f.read_bytes(str(fifo), 'certificate', follow=True))
    assert isinstance(out.get('error'), f.PgsslFileError)
    assert 'not a regular file' in str(out['error'])


def test_a_link_to_a_device_is_refused(tmp_path):
    link = tmp_path / 'server.crt'
    os.symlink('/dev/zero', str(link))
    out = finishes(lambda: f.read_bytes(str(link), 'certificate', follow=True))
    assert 'not a regular file' in str(out.get('error'))


def test_a_huge_sparse_file_is_refused_by_its_size(tmp_path):
    big = tmp_path / 'bundle.pem'
    with open(str(big), 'wb') as handle:
        handle.truncate(1 << 36)
    with pytest.raises(f.PgsslFileError, match='more than the 16 MiB'):
        f.read_bytes(str(big), 'bundle')


def test_links_are_followed_only_where_root_alone_could_make_them(tmp_path):
    target = tmp_path / 'real.conf'
    target.write_text('x = 1\n')
    root_dir = tmp_path / 'root-only'
    root_dir.mkdir(mode=0o755)
    os.symlink(str(target), str(root_dir / 'a.conf'))
    assert f.read_bytes(str(root_dir / 'a.conf'), follow=True) == b'x = 1\n'
    # the same link in a directory another user can write: it may have been planted there
    foreign = tmp_path / 'foreign'
    foreign.mkdir(mode=0o755)
    os.lchown(str(foreign), NOBODY, -1)
    os.symlink(str(target), str(foreign / 'a.conf'))
    os.lchown(str(foreign / 'a.conf'), NOBODY, -1)
    with pytest.raises(f.PgsslFileError, match='symbolic link owned by uid'):
        f.read_bytes(str(foreign / 'a.conf'), follow=True)
    # without follow no link is ever read
    with pytest.raises(f.PgsslFileError, match='symbolic link'):
        f.read_bytes(str(root_dir / 'a.conf'))


def test_config_reads_raise_the_refusal_itself_not_a_missing_file(tmp_path):
    fifo = tmp_path / 'inc.conf'
    os.mkfifo(str(fifo))
    # a caller that tolerates a missing file (OSError) must not tolerate this
    out = finishes(lambda: txt.read(str(fifo)))
    assert isinstance(out.get('error'), f.PgsslFileError) and not isinstance(out['error'], OSError), out
    assert 'not a regular file' in str(out['error'])
    with pytest.raises(OSError):
        txt.read(str(tmp_path / 'missing.conf'))


def test_a_pg_hba_include_naming_a_fifo_fails_even_with_an_error_list(tmp_path):
    os.mkfifo(str(tmp_path / 'pipe.conf'))
    main = tmp_path / 'pg_hba.conf'
    main.write_text("include pipe.conf\nhostssl all all 0.0.0.0/0 cert\n")
    out = finishes(lambda: pghba.read_tree(str(main), 16, errors=[]))
    assert isinstance(out.get('error'), f.PgsslFileError), out


def test_include_if_exists_naming_a_fifo_ends_with_an_error(tmp_path):
    os.mkfifo(str(tmp_path / 'pipe.conf'))
    main = tmp_path / 'postgresql.conf'
    main.write_text("include_if_exists 'pipe.conf'\nssl = on\n")
    out = finishes(lambda: pgconf.read_tree(str(main)))
    assert isinstance(out.get('error'), pgconf.PgConfError)
    assert 'not a regular file' in str(out['error'])


def test_an_include_tree_that_fans_out_is_bounded(tmp_path):
    # a file that includes itself twenty times: ten levels deep, 20**10 reads
    loop = tmp_path / 'loop.conf'
    loop.write_text("include 'loop.conf'\n" * 20)
    out = finishes(lambda: pgconf.read_tree(str(loop), errors=[]))
    assert 'more than %d files' % pgconf.MAX_TREE_FILES in str(out.get('error'))


# ------------------------------------------------------------------ hostile bundles


def test_a_bundle_with_too_many_certificates_is_refused():
    block = b'-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n'
    with pytest.raises(crypto.PgsslCryptoError, match='more than the 1000'):
        crypto.load_certificates(block * 1001, 'the bundle')


# ------------------------------------------------------------------ cluster paths


def make_pgdata(tmp_path, text, owner=NOBODY):
    data = tmp_path / 'data'
    data.mkdir(mode=0o700)
    (data / 'PG_VERSION').write_text('17\n')
    (data / 'postgresql.conf').write_text(text)
    (data / 'pg_hba.conf').write_text('local all all peer\n')
    (data / 'conf.d').mkdir()
    for path in [data] + list(data.rglob('*')):
        os.lchown(str(path), owner, -1)
    return data


def test_a_shadowed_hba_file_line_decides_nothing(tmp_path):
    victim = tmp_path / 'root-only'
    victim.write_text('secret\n')
    data = make_pgdata(
        tmp_path, "hba_file = '%s'\ninclude_dir 'conf.d'\nport = 5999\nunix_socket_directories = 'sock'\n" % victim
    )
    (data / 'conf.d' / 'real.conf').write_text("hba_file = '%s/pg_hba.conf'\n" % data)
    os.lchown(str(data / 'conf.d' / 'real.conf'), NOBODY, -1)
    info = cluster.find(cluster=str(data))
    assert info['hba_file'] == str(data / 'pg_hba.conf')
    assert info['server_user'] == 'nobody'
    assert info['port'] == 5999
    assert info['socket_dir'] == str(data / 'sock')


def test_an_effective_hba_file_outside_the_cluster_is_refused(tmp_path):
    victim = tmp_path / 'root-only'
    victim.write_text('secret\n')
    data = make_pgdata(tmp_path, "include_dir 'conf.d'\n")
    (data / 'conf.d' / 'evil.conf').write_text("hba_file = '%s'\n" % victim)
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.find(cluster=str(data))
    assert 'outside the cluster' in str(caught.value) and 'evil.conf:1' in str(caught.value)
    assert 'secret' not in str(caught.value)


def test_an_hba_file_outside_the_cluster_is_taken_only_as_the_operator_names_it(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    (shared / 'pg_hba.conf').write_text('local all all peer\n')
    data = make_pgdata(tmp_path, "hba_file = '%s/pg_hba.conf'\n" % shared)
    with pytest.raises(cluster.ClusterError, match='outside the cluster'):
        cluster.find(cluster=str(data))
    info = cluster.find(cluster=str(data), hba_file=str(shared / 'pg_hba.conf'))
    assert info['hba_file'] == str(shared / 'pg_hba.conf')
    # another file than the server's is refused, naming both
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.find(cluster=str(data), hba_file=str(tmp_path / 'other.conf'))
    assert caught.value.code == 'hba_file_mismatch' and 'postgresql.conf:1' in str(caught.value)


def test_alter_system_hba_file_counts_and_is_checked(tmp_path):
    data = make_pgdata(tmp_path, '')
    (data / 'postgresql.auto.conf').write_text("hba_file = '/etc/shadow'\n")
    with pytest.raises(cluster.ClusterError, match='postgresql.auto.conf:1'):
        cluster.find(cluster=str(data))


def test_a_target_owned_by_another_user_is_refused(tmp_path):
    data = make_pgdata(tmp_path, "hba_file = 'other_hba.conf'\n")
    (data / 'other_hba.conf').write_text('local all all peer\n')
    os.lchown(str(data / 'other_hba.conf'), pwd.getpwnam('daemon').pw_uid, -1)
    with pytest.raises(cluster.ClusterError, match='owned by daemon'):
        cluster.find(cluster=str(data))


def test_a_data_directory_of_another_user_is_refused(tmp_path):
    conf = tmp_path / 'etc'
    conf.mkdir()
    (conf / 'postgresql.conf').write_text("data_directory = '%s/data'\n" % tmp_path)
    os.lchown(str(conf / 'postgresql.conf'), pwd.getpwnam('daemon').pw_uid, -1)
    make_pgdata(tmp_path, '')
    with pytest.raises(cluster.ClusterError, match="another user's data directory"):
        cluster.find(config_file=str(conf / 'postgresql.conf'))


def test_a_cluster_reference_cannot_climb_out(tmp_path):
    with pytest.raises(cluster.ClusterError, match='VERSION/NAME'):
        cluster.find(cluster='15/..')


def _cert(subject, issuer, public_key, signing_key, serial, ca=True):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def test_a_bundle_of_mutual_cross_signs_ends_the_chain_search():
    from cryptography.hazmat.primitives.asymmetric import ec

    key_a, key_b, key_leaf = (ec.generate_private_key(ec.SECP256R1()) for _key in range(3))
    leaf = _cert('leaf', 'A', key_leaf.public_key(), key_a, 1, ca=False)
    # ten A certificates signed by B and ten B certificates signed by A: paths alternate A, B,
    # A... and never repeat a certificate, about 10**10 of them
    pool = [_cert('A', 'B', key_a.public_key(), key_b, 100 + n) for n in range(10)]
    pool += [_cert('B', 'A', key_b.public_key(), key_a, 200 + n) for n in range(10)]
    out = finishes(lambda: crypto.build_chain([leaf] + pool), seconds=120)
    assert isinstance(out.get('error'), crypto.PgsslCryptoError), out
    assert 'candidate chains' in str(out['error'])


def test_a_data_directory_reached_through_a_link_keeps_its_owner(tmp_path):
    # Debian layout with /var/lib/postgresql/15/main a root-made link to another disk
    disk = tmp_path / 'disk'
    disk.mkdir()
    data = make_pgdata(disk, '')
    etc = tmp_path / 'etc'
    etc.mkdir()
    link = tmp_path / 'main'
    os.symlink(str(data), str(link))
    (etc / 'postgresql.conf').write_text("data_directory = '%s'\nhba_file = '%s/pg_hba.conf'\n" % (link, etc))
    (etc / 'pg_hba.conf').write_text('local all all peer\n')
    for path in (etc, etc / 'postgresql.conf', etc / 'pg_hba.conf'):
        os.lchown(str(path), NOBODY, -1)
    info = cluster.find(config_file=str(etc / 'postgresql.conf'))
    assert info['server_user'] == 'nobody' and info['hba_file'] == str(etc / 'pg_hba.conf')
