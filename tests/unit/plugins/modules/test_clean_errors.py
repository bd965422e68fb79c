# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input gives a clean failure (JSON with a message and a code, never a traceback) and
changes no file. Each module runs as Ansible runs it: JSON arguments on stdin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def run_module(name, **args):
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.pgssl.postgresql.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': args}),
        capture_output=True,
        text=True,
        cwd='/',
        check=False,
    )
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def tree(path):
    out = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isfile(full):
            out[name] = hashlib.sha256(open(full, 'rb').read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp('pki'))
    assert not run_module('private_key', path=d + '/ca.key').get('failed')
    assert not run_module(
        'certificate', path=d + '/ca.crt', privatekey_path=d + '/ca.key', common_name='CA', profile='ca'
    ).get('failed')
    assert not run_module('private_key', path=d + '/k.key').get('failed')
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'x')]))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name('a@b.example')]), False)
        .sign(key, hashes.SHA256())
    )
    with open(d + '/email.csr', 'wb') as handle:
        handle.write(csr.public_bytes(serialization.Encoding.PEM))
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b'der-pass'),
    )
    with open(d + '/enc.der', 'wb') as handle:
        handle.write(der)
    weak = rsa.generate_private_key(65537, 1024)
    with open(d + '/weak.key', 'wb') as handle:
        handle.write(
            weak.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(d + '/garbage.key', 'w') as handle:
        handle.write('not a key')
    return d


CASES = [
    (
        'email SAN in a CSR',
        'certificate',
        lambda d: dict(
            path=d + '/e.crt', csr_path=d + '/email.csr', ca_cert_path=d + '/ca.crt', ca_key_path=d + '/ca.key'
        ),
        'unsupported_san',
    ),
    (
        'pathlen -1',
        'certificate',
        lambda d: dict(path=d + '/p.crt', privatekey_path=d + '/k.key', common_name='CA2', profile='ca', pathlen=-1),
        'bad_pathlen',
    ),
    ('CN of 65 characters', 'csr', lambda d: dict(privatekey_path=d + '/k.key', common_name='a' * 65), 'bad_subject'),
    (
        'CRL next update in the past',
        'crl',
        lambda d: dict(path=d + '/c.crl', ca_cert_path=d + '/ca.crt', ca_key_path=d + '/ca.key', next_update_days=-5),
        'bad_next_update',
    ),
    (
        'revoked serial -1',
        'crl',
        lambda d: dict(
            path=d + '/c.crl', ca_cert_path=d + '/ca.crt', ca_key_path=d + '/ca.key', revoked_serials=['-1']
        ),
        'bad_serial',
    ),
    (
        'src over an unreadable key',
        'private_key',
        lambda d: dict(path=d + '/garbage.key', src=d + '/k.key'),
        'existing_key_unreadable',
    ),
    ('weak source key', 'private_key', lambda d: dict(path=d + '/new.key', src=d + '/weak.key'), 'weak_key'),
    (
        'validity beyond the cap',
        'certificate',
        lambda d: dict(path=d + '/long.crt', privatekey_path=d + '/k.key', common_name='x', valid_days=3650),
        'bad_valid_days',
    ),
    (
        'self-signed with a weak key',
        'certificate',
        lambda d: dict(path=d + '/w.crt', privatekey_path=d + '/weak.key', common_name='w'),
        'weak_key',
    ),
]


@pytest.mark.parametrize('what,module,args,code', CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_cleanly_and_changes_nothing(pki, what, module, args, code):
    before = tree(pki)
    result = run_module(module, **args(pki))
    assert result.get('failed') and result.get('code') == code, result
    assert tree(pki) == before


def test_encrypted_der_key_with_its_passphrase_installs(pki):
    result = run_module('private_key', path=pki + '/from-der.key', src=pki + '/enc.der', src_passphrase='der-pass')
    assert not result.get('failed'), result
    assert 'der-pass' not in json.dumps(result)


def test_private_key_inside_a_certificate_file_is_reported_not_echoed(pki):
    with open(pki + '/withkey.crt', 'w') as handle:
        handle.write(open(pki + '/ca.crt').read() + open(pki + '/k.key').read())
    result = run_module('certificate_info', path=pki + '/withkey.crt')
    assert 'private_key_in_file' in [p['code'] for p in result['problems']]
    assert 'PRIVATE KEY' not in json.dumps(result)
    os.unlink(pki + '/withkey.crt')


def test_weak_ca_is_flagged_and_refused_as_signer(pki):
    assert not run_module(
        'certificate',
        path=pki + '/weak-ca.crt',
        privatekey_path=pki + '/weak.key',
        common_name='Weak CA',
        profile='ca',
        allow_weak_signer=True,
    ).get('failed')
    info = run_module('certificate_info', path=pki + '/weak-ca.crt')
    assert 'weak_key' in [p['code'] for p in info['problems']]
    refused = run_module(
        'certificate',
        path=pki + '/by-weak.crt',
        privatekey_path=pki + '/k.key',
        common_name='leaf',
        ca_cert_path=pki + '/weak-ca.crt',
        ca_key_path=pki + '/weak.key',
    )
    assert refused.get('failed') and refused['code'] == 'weak_key'
    assert not os.path.exists(pki + '/by-weak.crt')


def test_crl_numbers_increase_and_other_cas_crls_join_the_file(pki):
    d = pki
    assert not run_module('private_key', path=d + '/root2.key').get('failed')
    assert not run_module(
        'certificate', path=d + '/root2.crt', privatekey_path=d + '/root2.key', common_name='Root 2', profile='ca'
    ).get('failed')
    root_crl = run_module('crl', path=d + '/root2.crl', ca_cert_path=d + '/root2.crt', ca_key_path=d + '/root2.key')
    assert root_crl['crl_number'] == 1
    first = run_module(
        'crl',
        path=d + '/both.crl',
        ca_cert_path=d + '/ca.crt',
        ca_key_path=d + '/ca.key',
        revoked_serials=['12345'],
        other_crls=[d + '/root2.crl'],
    )
    assert first['changed'] and first['crl_number'] == 1
    again = run_module(
        'crl',
        path=d + '/both.crl',
        ca_cert_path=d + '/ca.crt',
        ca_key_path=d + '/ca.key',
        revoked_serials=['12345'],
        other_crls=[d + '/root2.crl'],
    )
    assert not again['changed']
    more = run_module(
        'crl',
        path=d + '/both.crl',
        ca_cert_path=d + '/ca.crt',
        ca_key_path=d + '/ca.key',
        revoked_serials=['12345', '0x10'],
        other_crls=[d + '/root2.crl'],
    )
    assert more['changed'] and more['crl_number'] == 2
    text = open(d + '/both.crl').read()
    assert text.count('BEGIN X509 CRL') == 2 and text.endswith(open(d + '/root2.crl').read())


def test_activate_puts_a_matching_pair_in_place_and_refuses_a_mismatch(pki, tmp_path):
    d = str(tmp_path)
    key, crt = d + '/server.key', d + '/server.crt'
    for path in (key, key + '.next'):
        assert not run_module('private_key', path=path).get('failed')
    for k, c in ((key, crt), (key + '.next', crt + '.next')):
        assert not run_module(
            'certificate', path=c, privatekey_path=k, common_name='db.example', subject_alt_names=['db.example']
        ).get('failed')
    old = (digest(key), digest(crt))
    new = (digest(key + '.next'), digest(crt + '.next'))
    assert run_module('activate', key_path=key, certificate_path=crt, _ansible_check_mode=True)['changed']
    assert (digest(key), digest(crt)) == old
    done = run_module('activate', key_path=key, certificate_path=crt)
    assert done['changed'] and done['activated'] == [crt, key]
    assert (digest(key), digest(crt)) == new
    assert not os.path.exists(key + '.next') and not os.path.exists(crt + '.next')
    assert not run_module('activate', key_path=key, certificate_path=crt)['changed']
    # a staged key whose certificate is for another key: nothing moves
    assert not run_module('private_key', path=key + '.next').get('failed')
    refused = run_module('activate', key_path=key, certificate_path=crt)
    assert refused.get('failed') and refused['code'] == 'key_mismatch'
    assert (digest(key), digest(crt)) == new and os.path.exists(key + '.next')


def digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def test_check_mode_on_a_fresh_host_plans_instead_of_failing(tmp_path):
    d = str(tmp_path / 'not-yet')
    cases = [
        ('private_key', dict(path=d + '/server.key')),
        ('csr', dict(privatekey_path=d + '/server.key', common_name='db1')),
        ('certificate', dict(path=d + '/server.crt', ca_cert_path=d + '/ca.crt', ca_key_path=d + '/ca.key')),
        ('certificate_chain', dict(path=d + '/server.crt', contents=[''])),
        ('crl', dict(path=d + '/crl.pem', ca_cert_path=d + '/ca.crt', ca_key_path=d + '/ca.key')),
    ]
    for module, args in cases:
        planned = run_module(module, _ansible_check_mode=True, **args)
        assert planned['changed'] and not planned.get('failed'), (module, planned)
        assert 'check_mode_gap' in planned
        real = run_module(module, **args)
        assert (
            real.get('failed')
            and 'does not exist' in real['msg'] + real.get('code', '')
            or real.get('code') in ('malformed_certificate',)
        ), (module, real)
    assert not os.path.exists(d)


def test_key_passphrase_with_a_newline_is_refused_and_not_shown():
    result = run_module('tls_status', cluster='/nonexistent/cluster', key_passphrase='first-line\nsecond-line')
    assert result.get('failed') and 'newline' in result['msg'], result
    assert 'first-line' not in json.dumps(result)
