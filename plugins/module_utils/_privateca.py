# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of the private_ca module: the whole CA directory in one run.

The steps are those of the single-purpose modules, in the order the ca role ran them as tasks:
the directory and its rollover phase (ca_state), the CA key (private_key), the CA certificate
(certificate), its CRL (crl); during a rollover the same three for the next CA in
``rollover/``, and ``trust.pem`` (both CAs). One process instead of four to eight per run, and
the results the other roles read (the signing CA, the bundle every host trusts, the CRLs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _carollover as rollover
from ansible_collections.pgssl.postgresql.plugins.module_utils import _certsteps as certsteps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _crlsteps as crlsteps
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _keysteps as keysteps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step

# which CAs every bundle holds, and which one signs, in each phase
TRUSTED = {'none': ('current',), 'trust': ('current', 'next'), 'reissue': ('current', 'next'), 'retire': ('next',)}
SIGNS_NEXT = ('reissue', 'retire')


def _ca(module, ca_dir, name, report):
    """Key, certificate and (when asked) CRL of the CA in ``ca_dir``; returns its PEMs."""
    p = module.params
    key_path, cert_path = os.path.join(ca_dir, 'ca.key'), os.path.join(ca_dir, 'ca.crt')
    key = keysteps.private_key(
        Step(
            module,
            dict(
                path=key_path,
                type=p['key_type'],
                curve=p['key_curve'],
                size=p['key_size'],
                passphrase=p['passphrase'],
                regenerate='fail',
                backup=True,
            ),
        )
    )
    report(name + ' key', key)
    cert = certsteps.certificate(
        Step(
            module,
            dict(
                path=cert_path,
                privatekey_path=key_path,
                privatekey_passphrase=p['passphrase'],
                common_name=p['common_name'],
                profile='ca',
                pathlen=p['pathlen'],
                valid_days=p['valid_days'],
                renew_before_days=p['renew_before_days'],
                mode='0644',
            ),
        )
    )
    report(name + ' certificate', cert)
    pems = {'certificate': cert.get('certificate', ''), 'crl': ''}
    if p['crl']:
        crl = crlsteps.crl(
            Step(
                module,
                dict(
                    path=os.path.join(ca_dir, 'crl.pem'),
                    ca_cert_path=cert_path,
                    ca_key_path=key_path,
                    ca_key_passphrase=p['passphrase'],
                    revoked_serials=p['revoked_serials'],
                    next_update_days=p['crl_next_update_days'],
                    renew_before_days=10,
                    other_crls=[],
                    mode='0644',
                ),
            )
        )
        report(name + ' CRL', crl)
        pems['crl'] = crl.get('crl', '')
    return pems


def _joined(pems):
    return '\n'.join(pem.strip() for pem in pems if pem and pem.strip())


def private_ca(module):
    p = module.params
    ca_dir = os.path.abspath(p['dir'])
    result = {'changed': False, 'changes': []}
    diffs = []

    def report(what, step):
        if step.get('changed'):
            result['changed'] = True
            result['changes'].append(what)
        if step.get('diff'):
            diffs.append(dict(step['diff'], before_header=what, after_header=what))

    state = rollover.ca_state(Step(module, dict(dir=ca_dir, create=True, phase=p['phase'])))
    report('CA directory and phase', state)
    result['state'] = dict((k, v) for k, v in state.items() if k != 'changed')
    phase = state['phase']
    pems = {}
    try:
        pems['current'] = _ca(module, ca_dir, 'CA', report)
        if phase != 'none':
            pems['next'] = _ca(module, os.path.join(ca_dir, rollover.ROLLOVER), 'next CA', report)
    except files.CheckModeGap as exc:
        # check mode before the CA exists: the key a real run makes first is not there to read
        result['changed'] = True
        result['check_mode_gap'] = str(exc)
    empty = {'certificate': '', 'crl': ''}
    signer = pems.get('next' if phase in SIGNS_NEXT else 'current', empty)
    result['certificate_pem'] = signer['certificate']
    result['trust_pem'] = _joined(pems.get(n, empty)['certificate'] for n in TRUSTED[phase])
    result['crl_pem'] = _joined(pems.get(n, empty)['crl'] for n in TRUSTED[phase])
    if phase != 'none' and result['trust_pem']:
        # what root.crt holds during a rollover, on the CA node (the controller-side proof reads it)
        path = os.path.join(ca_dir, 'trust.pem')
        data = (result['trust_pem'] + '\n').encode('ascii')
        files.check_directory(path)
        before = files.read_bytes(path, 'trust bundle')
        step = Step(module, dict(mode='0644'))
        report('trust bundle', {'changed': files.converge(step, path, data, before != data)})
    if diffs and module._diff:
        result['diff'] = diffs
    return result
