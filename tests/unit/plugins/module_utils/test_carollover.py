# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the CA rollover phases and the kill-safe promotion that ends them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _carollover as r
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto


def _make_ca(directory, cn='pgssl test CA'):
    key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa', curve='P-256'))
    cert, _warnings = crypto.issue_certificate(key.public_key(), {'CN': cn}, [], 'ca', key)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'ca.key'), 'wb') as fh:
        fh.write(crypto.dump_private_key(key))
    os.chmod(os.path.join(directory, 'ca.key'), 0o600)
    with open(os.path.join(directory, 'ca.crt'), 'wb') as fh:
        fh.write(crypto.dump_certificate(cert))
    return crypto.public_key_fingerprint(key)


def _files(ca_dir):
    out = {}
    for base in ('ca.key', 'ca.crt', 'crl.pem'):
        path = os.path.join(ca_dir, base)
        if os.path.exists(path):
            out[base] = open(path, 'rb').read()
    return out


def _started(tmp_path):
    ca_dir = str(tmp_path / 'ca')
    old = _make_ca(ca_dir)
    with open(os.path.join(ca_dir, 'crl.pem'), 'w') as fh:
        fh.write('old crl\n')
    assert r.advance(ca_dir, 'trust') == (True, None)
    new = _make_ca(os.path.join(ca_dir, 'rollover'))
    assert r.advance(ca_dir, 'reissue') == (True, None)
    assert r.advance(ca_dir, 'retire') == (True, None)
    return ca_dir, old, new


def test_phases_layout_and_order(tmp_path):
    ca_dir = str(tmp_path / 'ca')
    _make_ca(ca_dir)
    st = r.state(ca_dir)
    assert st['phase'] == 'none' and st['signing_dir'] == ca_dir and st['trust_dirs'] == [ca_dir]
    assert st['next'] is None and st['current']['public_key_fingerprint']
    # a phase is never skipped
    with pytest.raises(r.CaRolloverError, match='start with phase trust'):
        r.advance(ca_dir, 'reissue')
    with pytest.raises(r.CaRolloverError, match='start with phase trust'):
        r.advance(ca_dir, 'retire')
    # check mode writes nothing
    assert r.advance(ca_dir, 'trust', check_mode=True) == (True, None)
    assert not os.path.exists(os.path.join(ca_dir, 'rollover'))
    assert r.advance(ca_dir, 'trust') == (True, None)
    assert stat.S_IMODE(os.stat(os.path.join(ca_dir, 'rollover')).st_mode) == 0o700
    assert r.advance(ca_dir, 'trust') == (False, None)  # idempotent
    nxt = os.path.join(ca_dir, 'rollover')
    assert r.state(ca_dir)['trust_dirs'] == [ca_dir, nxt]
    assert r.state(ca_dir)['signing_dir'] == ca_dir
    # reissue needs the next CA the ca role makes in phase trust
    with pytest.raises(r.CaRolloverError, match='does not exist yet'):
        r.advance(ca_dir, 'reissue')
    with pytest.raises(r.CaRolloverError, match='run phase reissue on every host first'):
        r.advance(ca_dir, 'retire')
    with pytest.raises(r.CaRolloverError, match='run phase retire on every host first'):
        r.advance(ca_dir, 'finish')
    _make_ca(nxt)
    assert r.advance(ca_dir, 'reissue') == (True, None)
    assert r.state(ca_dir)['signing_dir'] == nxt
    with pytest.raises(r.CaRolloverError, match='is behind it'):
        r.advance(ca_dir, 'trust')
    assert r.advance(ca_dir, 'retire') == (True, None)
    assert r.state(ca_dir)['trust_dirs'] == [nxt]


def test_finish_archives_the_old_ca_and_promotes_the_next(tmp_path):
    ca_dir, old, new = _started(tmp_path)
    before_old = _files(ca_dir)
    before_new = _files(os.path.join(ca_dir, 'rollover'))
    changed, name = r.advance(ca_dir, 'finish', now=0)
    assert changed and name.startswith('19700101T000000Z-')
    assert _files(ca_dir) == before_new  # the old CRL went with the old CA
    archive = os.path.join(ca_dir, 'archive', name)
    assert _files(archive) == before_old
    assert stat.S_IMODE(os.stat(os.path.join(archive, 'ca.key')).st_mode) == 0o600
    assert not os.path.exists(os.path.join(ca_dir, 'rollover'))
    st = r.state(ca_dir)
    assert st['phase'] == 'none' and st['current']['public_key_fingerprint'] == new
    assert old != new
    assert r.advance(ca_dir, 'finish') == (False, None)


STEPS = [
    'marked',
    'archived ca.key',
    'archived ca.crt',
    'archived crl.pem',
    'archived',
    'moved ca.key',
    'moved ca.crt',
    'moved crl.pem',
    'unmarked',
]


class Killed(Exception):
    pass


@pytest.mark.parametrize('kill_at', STEPS)
def test_a_promotion_killed_at_any_step_is_completed_by_the_next_call(tmp_path, kill_at):
    ca_dir, old, new = _started(tmp_path)
    before_old = _files(ca_dir)
    before_new = _files(os.path.join(ca_dir, 'rollover'))

    def die(step):
        if step == kill_at:
            raise Killed(step)

    with pytest.raises(Killed):
        r.advance(ca_dir, 'finish', after_step=die)
    # whatever was half done, a plain read (what the ca role does first) completes it
    changed, name = r.advance(ca_dir, None)
    if kill_at == 'unmarked':
        assert not changed  # only the empty directory was left
    else:
        assert changed and name
    r.advance(ca_dir, None)
    st = r.state(ca_dir)
    assert st['phase'] == 'none' and st['current']['public_key_fingerprint'] == new
    assert _files(ca_dir) == before_new
    archives = os.listdir(os.path.join(ca_dir, 'archive'))
    assert len(archives) == 1
    assert _files(os.path.join(ca_dir, 'archive', archives[0])) == before_old
    assert old != new


def test_a_planted_link_or_unknown_phase_is_refused(tmp_path):
    ca_dir = str(tmp_path / 'ca')
    _make_ca(ca_dir)
    os.symlink('/etc', os.path.join(ca_dir, 'rollover'))
    with pytest.raises(Exception, match='symbolic link|not a directory'):
        r.advance(ca_dir, 'trust')
    os.unlink(os.path.join(ca_dir, 'rollover'))
    os.mkdir(os.path.join(ca_dir, 'rollover'))
    with open(os.path.join(ca_dir, 'rollover', 'phase'), 'w') as fh:
        fh.write('promoting ../../etc\n')
    with pytest.raises(r.CaRolloverError, match='expected trust, reissue or retire'):
        r.state(ca_dir)
    os.unlink(os.path.join(ca_dir, 'rollover', 'phase'))
    _make_ca(os.path.join(ca_dir, 'rollover'))
    with pytest.raises(r.CaRolloverError, match='no phase file'):
        r.state(ca_dir)


def test_plan_table():
    assert r.plan('none', 'trust') == 'write'
    assert r.plan('trust', 'trust') == 'noop'
    assert r.plan('retire', 'finish') == 'finish'
    assert r.plan('none', 'finish') == 'noop'
    for current, wanted in [
        ('trust', 'retire'),
        ('none', 'reissue'),
        ('reissue', 'trust'),
        ('retire', 'reissue'),
        ('trust', 'finish'),
    ]:
        with pytest.raises(r.CaRolloverError):
            r.plan(current, wanted)
