# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollover phase of a private CA directory, and the kill-safe promotion that ends it.

A CA directory holds the CA in service (``ca.key``, ``ca.crt``, ``crl.pem``). A rollover adds
``rollover/`` with the next CA and a ``phase`` file:

* ``trust``   the next CA exists; every bundle holds both CAs; leaves still come from the current.
* ``reissue`` leaves are signed by the next CA; bundles still hold both.
* ``retire``  bundles hold only the next CA.
* ``promoting NAME``  the end of ``retire`` was interrupted: the current CA is being archived
  under ``archive/NAME/`` and the next one moved into its place. Every step of that can be
  repeated, so a promotion killed at any point is completed by the next call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

PHASES = ('none', 'trust', 'reissue', 'retire')
ROLLOVER = 'rollover'
ARCHIVE = 'archive'
CA_FILES = ('ca.key', 'ca.crt', 'crl.pem')


class CaRolloverError(PgsslError):
    default_code = 'rollover_error'


def _path(ca_dir, *parts):
    return os.path.join(ca_dir, *parts)


def read_phase(ca_dir):
    """(phase, promoting archive name or None). ``none`` when no rollover is under way."""
    raw = files.read_bytes(_path(ca_dir, ROLLOVER, 'phase'), 'rollover phase file')
    if raw is None:
        if files.stat_file(_path(ca_dir, ROLLOVER, 'ca.crt')) is not None:
            # a next CA without a phase file: a promotion that lost its marker cannot happen
            # (the marker goes last), so this is a rollover started by hand
            raise CaRolloverError(
                '%s holds a next CA but no phase file; remove it or write '
                'the phase (trust, reissue or retire) into %s.'
                % (_path(ca_dir, ROLLOVER), _path(ca_dir, ROLLOVER, 'phase')),
                'rollover_unknown',
            )
        return 'none', None
    words = raw.decode('ascii', 'replace').split()
    if len(words) == 1 and words[0] in PHASES[1:]:
        return words[0], None
    if len(words) == 2 and words[0] == 'promoting' and _safe_name(words[1]):
        return 'promoting', words[1]
    raise CaRolloverError(
        'The rollover phase file %s holds %r; expected trust, reissue or '
        'retire.' % (_path(ca_dir, ROLLOVER, 'phase'), raw[:40]),
        'rollover_unknown',
    )


def _safe_name(name):
    return bool(name) and all(c.isalnum() or c in '-_' for c in name)


def describe(path):
    """Public facts of the CA certificate at ``path`` (None when missing)."""
    raw = files.read_bytes(path, 'CA certificate')
    if raw is None:
        return None
    cert = crypto.load_certificate(raw, path)
    facts = crypto.describe_certificate(cert)
    return dict(
        (k, facts[k])
        for k in (
            'subject_string',
            'not_after',
            'days_left',
            'fingerprint_sha256',
            'public_key_fingerprint',
            'serial_number',
        )
    )


def layout(ca_dir, phase):
    """Where leaves are signed and which CA directories every bundle trusts, in ``phase``."""
    nxt = _path(ca_dir, ROLLOVER)
    return {
        'none': (ca_dir, [ca_dir]),
        'trust': (ca_dir, [ca_dir, nxt]),
        'reissue': (nxt, [ca_dir, nxt]),
        'retire': (nxt, [nxt]),
    }[phase]


def state(ca_dir):
    phase, _name = read_phase(ca_dir)
    if phase == 'promoting':
        phase = 'retire'
    signing, trust = layout(ca_dir, phase)
    return {
        'phase': phase,
        'signing_dir': signing,
        'trust_dirs': trust,
        'current': describe(_path(ca_dir, 'ca.crt')),
        'next': describe(_path(ca_dir, ROLLOVER, 'ca.crt')),
        'interrupted': _name is not None,
    }


def plan(current, wanted):
    """What moving from phase ``current`` to ``wanted`` takes: ``noop``, ``write`` (the phase
    file) or ``finish``; a refusal names the phase to run instead."""
    order = {'none': 0, 'trust': 1, 'reissue': 2, 'retire': 3, 'finish': 4}
    if wanted == current or (wanted == 'finish' and current == 'none'):
        return 'noop'
    if order[wanted] == order[current] + 1:
        return 'finish' if wanted == 'finish' else 'write'
    if order[wanted] < order[current]:
        raise CaRolloverError(
            'The CA rollover is in phase %s; phase %s is behind it (a phase '
            'is never undone: trust, reissue, retire).' % (current, wanted),
            'rollover_order',
        )
    before = [p for p, n in order.items() if n == order[wanted] - 1][0]
    if current == 'none':
        raise CaRolloverError('No CA rollover is under way; start with phase trust.', 'rollover_order')
    raise CaRolloverError(
        'The CA rollover is in phase %s; run phase %s on every host first.' % (current, before), 'rollover_order'
    )


def _write_phase(ca_dir, text):
    files.write_atomic(_path(ca_dir, ROLLOVER, 'phase'), (text + '\n').encode('ascii'), mode=0o600)


def _noop(_step):
    return None


def advance(ca_dir, wanted, check_mode=False, after_step=_noop, now=None):
    """Move the CA directory to phase ``wanted`` (or ``finish``, or None to only repair an
    interrupted promotion). Returns (changed, archived archive name or None)."""
    phase, name = read_phase(ca_dir)
    changed = False
    archived = None
    if phase == 'promoting':
        if check_mode:
            return True, name
        _promote(ca_dir, name, after_step)
        phase, changed, archived = 'none', True, name
        if wanted in ('retire', 'finish'):
            return changed, archived
    if wanted is None:
        return changed, archived
    action = plan(phase, wanted)
    if action == 'noop':
        return changed, archived
    if action == 'write':
        if wanted == 'reissue':
            for base in ('ca.key', 'ca.crt'):
                if files.stat_file(_path(ca_dir, ROLLOVER, base)) is None:
                    raise CaRolloverError(
                        'The next CA %s does not exist yet; finish phase trust first (the ca '
                        'role makes it).' % _path(ca_dir, ROLLOVER, base),
                        'rollover_order',
                    )
        if check_mode:
            return True, None
        if wanted == 'trust':
            files.make_dir(_path(ca_dir, ROLLOVER), 0o700)
        _write_phase(ca_dir, wanted)
        return True, None
    # finish: archive the current CA, then put the next one in its place
    for base in ('ca.key', 'ca.crt'):
        for where in (ca_dir, _path(ca_dir, ROLLOVER)):
            if files.stat_file(_path(where, base)) is None:
                raise CaRolloverError(
                    'Cannot finish the rollover: %s is missing.' % _path(where, base), 'rollover_incomplete'
                )
    current = describe(_path(ca_dir, 'ca.crt'))
    if check_mode:
        return True, None
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
    name = '%s-%s' % (stamp, current['public_key_fingerprint'].replace(':', '')[:16])
    _write_phase(ca_dir, 'promoting ' + name)
    after_step('marked')
    _promote(ca_dir, name, after_step)
    return True, name


def _promote(ca_dir, name, after_step):
    archive = _path(ca_dir, ARCHIVE, name)
    done = _path(archive, 'complete')
    if files.stat_file(done) is None:
        # the current CA is still in place (the moves below start only after "complete")
        files.make_dir(_path(ca_dir, ARCHIVE), 0o700)
        files.make_dir(archive, 0o700)
        for base in CA_FILES:
            data = files.read_bytes(_path(ca_dir, base), base, secret=(base == 'ca.key'))
            if data is not None:
                files.write_atomic(_path(archive, base), data, mode=0o600)
                after_step('archived ' + base)
        files.write_atomic(done, b'archived before the promotion of the next CA\n', mode=0o600)
        after_step('archived')
    nxt = _path(ca_dir, ROLLOVER)
    for base in ('ca.key', 'ca.crt'):
        files.move(_path(nxt, base), _path(ca_dir, base))
        after_step('moved ' + base)
    if not files.move(_path(nxt, 'crl.pem'), _path(ca_dir, 'crl.pem')):
        # the retired CA's CRL says nothing about the new CA's certificates
        files.remove(_path(ca_dir, 'crl.pem'))
    after_step('moved crl.pem')
    leftovers = [n for n in files.list_dir(nxt) if n != 'phase']
    for base in leftovers:
        files.move(_path(nxt, base), _path(archive, 'rollover-' + base))
    files.remove(_path(nxt, 'phase'))
    after_step('unmarked')
    files.remove(nxt, directory=True)


def _make_private_dirs(ca_dir, check_mode):
    """The CA directory (and missing parents) and its issued/ directory, each 0700."""
    changed = bool(files.make_dirs(ca_dir, 0o700, check_mode))
    for path in (ca_dir, os.path.join(ca_dir, 'issued')):
        if not check_mode or files.stat_file(path) is not None:
            changed = files.ensure_dir(path, 0o700, check_mode=check_mode) or changed
    return changed


def ca_state(module):
    """The ca_state module's step: read the phase (completing an interrupted promotion), move it
    to ``phase`` when asked, and with ``create`` make the directory first."""
    p = module.params
    ca_dir = os.path.abspath(p['dir'])
    made = False
    if p['create']:
        made = _make_private_dirs(ca_dir, module.check_mode)
        if module.check_mode and files.stat_file(ca_dir) is None:
            return {
                'changed': True,
                'phase': 'none',
                'previous_phase': 'none',
                'signing_dir': ca_dir,
                'trust_dirs': [ca_dir],
                'current': None,
                'next': None,
                'archived': None,
            }
    if files.stat_file(ca_dir) is None:
        if p['phase'] not in (None, 'finish'):
            raise CaRolloverError('The CA directory %s does not exist; run the ca role first.' % ca_dir, 'no_ca')
        before = {'phase': 'none', 'current': None, 'next': None}
        after = dict(before)
        after['signing_dir'], after['trust_dirs'] = layout(ca_dir, 'none')
        changed, archived = False, None
    else:
        before = state(ca_dir)
        changed, archived = advance(ca_dir, p['phase'], module.check_mode)
        if changed and module.check_mode:
            after = dict(before)
            if p['phase'] not in (None, 'finish'):
                after['phase'] = p['phase']
            elif p['phase'] == 'finish':
                after['phase'] = 'none'
            after['signing_dir'], after['trust_dirs'] = layout(ca_dir, after['phase'])
        else:
            after = state(ca_dir)
    return {
        'changed': changed or made,
        'phase': after['phase'],
        'previous_phase': before['phase'],
        'signing_dir': after['signing_dir'],
        'trust_dirs': after['trust_dirs'],
        'current': after['current'],
        'next': after['next'],
        'archived': archived,
    }
