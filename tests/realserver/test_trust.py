# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server user is not root: what it can write never steers what root reads, writes or shows.

Each test plays the server user (postgres) on a real cluster of the fleet (PG 14 and 18 in the
PGDATA layout, PG 15 in Debian's): it plants FIFOs, devices and links where the server's files
are, or redirects a setting with a line the server does not apply. Each asserts that the module ended in bounded
time with a clear error (or acted on the file the server really reads), that nothing outside
the cluster changed, and that nothing of a root-only file reached the output. Hostile fixtures
live in the test's own scratch directory and go with it; the cluster's files come back through
``pristine``.
"""

import hashlib
import json
import os
import pwd
import time

import pytest

from conftest import run_module
from test_server_side import issue, login, ok, served, ssl_settings

HOSTS = ['db10', 'db11', 'db12']  # PG 14 (PGDATA), PG 15 (Debian layout), PG 18 (PGDATA)
VICTIM_TEXT = 'VICTIM-ROOT-ONLY-LINE\n'
# a module that meets a hostile file must end well inside this (the test's deadline is larger)
BOUND = 60


def _pg():
    return pwd.getpwnam('postgres')


def _own(path):
    pg = _pg()
    os.lchown(path, pg.pw_uid, pg.pw_gid)


def _digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _victim(workdir):
    """A root-only file outside every cluster, standing for /etc/shadow."""
    path = os.path.join(workdir, 'root-only')
    with open(path, 'w') as handle:
        handle.write(VICTIM_TEXT)
    os.chmod(path, 0o600)
    return path


def _bounded(name, **args):
    began = time.monotonic()
    result = run_module(name, deadline=BOUND + 30, **args)
    elapsed = time.monotonic() - began
    assert elapsed < BOUND, '%s took %.0f s' % (name, elapsed)
    return result


def _append(path, text):
    with open(path, 'a') as handle:
        handle.write(text)


def _cluster_ref(host, name):
    return '%s/%s' % (host['version'], name) if host['layout'] == 'debian' else host['data_dir']


def _secured(host, workdir):
    pki = issue(workdir, host)
    ok(run_module('pg_conf', path=host['config_file'], settings=ssl_settings(pki)))
    ok(run_module('reload', expected_certificate_path=pki['crt'], **login(host)))
    # the server user owns its ssl directory, as on a real host
    _own(pki['dir'])
    return pki


@pytest.mark.parametrize('name', HOSTS)
def test_a_fifo_or_device_behind_the_certificate_ends_reload_with_an_error(fleet, pristine, workdir, name):
    host = pristine(name)
    pki = _secured(host, workdir)
    before = served(host)
    fifo = os.path.join(pki['dir'], 'pipe')
    os.mkfifo(fifo)
    _own(fifo)
    os.unlink(pki['crt'])
    os.rename(fifo, pki['crt'])  # the certificate's name is now a FIFO
    refused = _bounded('reload', **login(host))
    assert refused.get('failed'), refused
    assert 'not a regular file' in refused['msg'], refused['msg']
    assert served(host) == before  # the server keeps serving what it had
    # a link to a device, made by the server user in its own directory
    os.unlink(pki['crt'])
    os.symlink('/dev/zero', pki['crt'])
    _own(pki['crt'])
    refused = _bounded('reload', **login(host))
    assert refused.get('failed') and 'MemoryError' not in refused['msg'], refused
    assert 'symbolic link' in refused['msg'] or 'not a regular file' in refused['msg'], refused['msg']
    status = _bounded('tls_status', cluster=_cluster_ref(host, name), sans=[host['fqdn']])
    assert 'Traceback' not in json.dumps(status)
    assert served(host) == before


@pytest.mark.parametrize('name', ['db10', 'db12'])
def test_include_if_exists_naming_a_fifo_ends_pg_conf_with_an_error(fleet, pristine, workdir, name):
    # PGDATA only: a FIFO in a Debian cluster's include tree would block pg_lsclusters
    host = pristine(name)
    fifo = os.path.join(workdir, 'pipe.conf')
    os.mkfifo(fifo)
    _own(fifo)
    before = _digest(host['config_file'])
    _append(host['config_file'], "\ninclude_if_exists '%s'\n" % fifo)
    planted = _digest(host['config_file'])
    refused = _bounded('pg_conf', path=host['config_file'], settings={'ssl_min_protocol_version': 'TLSv1.3'})
    assert refused.get('failed') and 'not a regular file' in refused['msg'], refused
    assert _digest(host['config_file']) == planted != before  # nothing written


@pytest.mark.parametrize('name', HOSTS)
def test_a_shadowed_hba_file_line_decides_nothing(fleet, pristine, workdir, name):
    host = pristine(name)
    victim = _victim(workdir)
    victim_digest = _digest(victim)
    # the server user points hba_file at a root-only file, then sets the real one again later
    real = os.path.join(workdir, 'real-hba.conf')
    with open(real, 'w') as handle:
        handle.write("hba_file = '%s'\n" % host['hba_file'])
    os.chmod(real, 0o644)
    _append(host['config_file'], "\nhba_file = '%s'\ninclude '%s'\n" % (victim, real))
    # the server's own reading: the last hba_file line is the one that counts
    rows = fleet.psql(name, "SELECT setting FROM pg_file_settings WHERE name = 'hba_file' ORDER BY seqno DESC LIMIT 1")
    assert rows.stdout.strip() == host['hba_file']
    args = dict(cluster=_cluster_ref(host, name), require_ssl='reject')
    result = ok(_bounded('pg_hba', diff=True, **args))
    assert result['hba_file'] == host['hba_file']
    assert _digest(victim) == victim_digest
    assert 'VICTIM' not in json.dumps(result)
    status = ok(_bounded('tls_status', cluster=_cluster_ref(host, name), sans=[host['fqdn']]))
    assert status['cluster']['hba_file'] == host['hba_file']
    assert status['cluster']['server_user'] == 'postgres'
    assert 'VICTIM' not in json.dumps(status)


@pytest.mark.parametrize('name', HOSTS)
def test_an_effective_hba_file_outside_the_cluster_is_refused(fleet, pristine, workdir, name):
    host = pristine(name)
    victim = _victim(workdir)
    victim_digest = _digest(victim)
    _append(host['config_file'], "\nhba_file = '%s'\n" % victim)
    for module, args in (
        ('pg_hba', dict(require_ssl='reject')),
        ('tls_status', dict(sans=[host['fqdn']])),
    ):
        refused = _bounded(module, diff=True, cluster=_cluster_ref(host, name), **args)
        assert refused.get('failed') and 'outside the cluster' in refused['msg'], refused
        assert 'VICTIM' not in json.dumps(refused)
    assert _digest(victim) == victim_digest


@pytest.mark.parametrize('name', HOSTS)
def test_a_secret_set_by_alter_system_is_never_shown(fleet, pristine, workdir, name):
    host = pristine(name)
    fleet.psql(name, "ALTER SYSTEM SET ssl_passphrase_command = 'echo ALTER-SYSTEM-S3CRET';")
    args = dict(path=host['config_file'], settings={'ssl_passphrase_command': 'echo mine'})
    refused = _bounded('pg_conf', diff=True, **args)
    assert refused.get('failed') and 'ssl_passphrase_command' in refused['msg'], refused
    fixed = ok(_bounded('pg_conf', diff=True, remove_overrides=True, **args))
    for result in (refused, fixed):
        assert 'S3CRET' not in json.dumps(result)
        assert 'echo mine' not in json.dumps(result)
