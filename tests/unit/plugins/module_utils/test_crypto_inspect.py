# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_crypto: host name rules, certificate_info analysis, the minimum version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import stat

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c

from ansible_collections.pgssl.postgresql.tests.unit.plugins.module_utils.crypto_helpers import (
    EC,
    NOW,
    make_ca,
    make_leaf,
)


# ----------------------------------------------------------------------------- host names


@pytest.mark.parametrize(
    'sans,cn,host,ok',
    [
        (['db1.pgssl.test'], 'db1.pgssl.test', 'db1.pgssl.test', True),
        (['db1.pgssl.test'], 'db1.pgssl.test', 'DB1.PGSSL.TEST', True),
        (['db1.pgssl.test'], 'db1.pgssl.test', 'db2.pgssl.test', False),
        (['*.pgssl.test'], 'x', 'db1.pgssl.test', True),
        (['*.pgssl.test'], 'x', 'a.db1.pgssl.test', False),
        (['*.pgssl.test'], 'x', 'pgssl.test', False),
        (['other.test'], 'db1.pgssl.test', 'db1.pgssl.test', False),  # CN ignored with a DNS SAN
        ([], 'db1.pgssl.test', 'db1.pgssl.test', True),  # CN used without SANs
        (['127.0.0.11'], 'x', '127.0.0.11', True),
        (['127.0.0.11'], 'x', '127.0.0.12', False),
        (['db1.pgssl.test', '127.0.0.11'], 'x', '127.0.0.11', True),
        (['::1'], 'x', '::1', True),
        (['127.0.0.11'], 'db1.pgssl.test', 'db1.pgssl.test', True),  # only IP SANs: CN for names
    ],
)
def test_hostname_matches(sans, cn, host, ok):
    ca, ca_key = make_ca()
    leaf, _k = make_leaf(ca, ca_key, cn=cn, sans=sans)
    assert c.hostname_matches(leaf, host) is ok


# ----------------------------------------------------------------------------- analysis


def test_analyze_reports_problem_codes():
    ca, ca_key = make_ca()
    leaf, key = make_leaf(ca, ca_key, days=10)
    other, _k = make_ca('Elsewhere')
    res = c.analyze(
        [leaf],
        anchors=[other],
        key=c.generate_private_key(EC),
        hostnames=['db1.pgssl.test', 'db9.pgssl.test'],
        key_stat=(stat.S_IFREG | 0o644, 101),
        server_uid=101,
    )
    codes = sorted(p['code'] for p in res['problems'])
    assert codes == ['chain_untrusted', 'expiring', 'hostname_mismatch', 'key_file_mode', 'key_mismatch']
    assert res['hostnames'] == {'db1.pgssl.test': True, 'db9.pgssl.test': False}
    good = c.analyze([leaf], anchors=[ca], key=key, hostnames=['db1.pgssl.test'], warn_days=5)
    assert good['problems'] == [] and good['chain']['verified'] is True
    assert good['key']['matches_certificate'] is True
    assert good['certificate']['days_left'] in (9, 10)
    expired, _k = make_leaf(ca, ca_key, now=NOW - datetime.timedelta(days=30), days=5)
    assert [p['code'] for p in c.analyze([expired])['problems']] == ['expired']
    cn_only, _k = make_leaf(ca, ca_key, sans=[])
    assert [p['code'] for p in c.analyze([cn_only])['problems']] == ['no_dns_san']


def test_sha1_signed_ca_is_weak_and_refused_as_signer(tmp_path):
    # cryptography no longer signs with SHA-1, so the openssl tool makes this test CA
    import subprocess

    key_path, crt_path = str(tmp_path / 'sha1.key'), str(tmp_path / 'sha1.crt')
    subprocess.run(
        [
            'openssl',
            'req',
            '-x509',
            '-sha1',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            key_path,
            '-out',
            crt_path,
            '-subj',
            '/CN=SHA1 CA',
            '-days',
            '10',
            '-addext',
            'basicConstraints=critical,CA:TRUE',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign',
        ],
        check=True,
        capture_output=True,
    )
    cert = c.load_certificate(open(crt_path, 'rb').read())
    key = c.load_private_key(open(key_path, 'rb').read())
    assert [code for code, _m in c.weaknesses(cert)] == ['weak_signature']
    with pytest.raises(c.PgsslCryptoError, match='weak CA') as err:
        c.check_signer(cert, key)
    assert err.value.code == 'weak_signature'
    c.check_signer(cert, key, allow_weak=True)
    assert 'weak_signature' in [p['code'] for p in c.analyze([cert])['problems']]


def test_pem_framing_like_openssl():
    """An END line with anything after it makes OpenSSL refuse the whole file (the server
    keeps its old SSL configuration), so the pre-reload check must refuse it too."""
    key = c.generate_private_key(c.normalize_key_request('ecdsa', curve='P-256'))
    ca, _w = c.issue_certificate(key.public_key(), {'CN': 'framing CA'}, [], 'ca', key)
    crl = c.dump_crl(c.build_crl(ca, key, []))
    crl = crl if isinstance(crl, str) else crl.decode('ascii')
    two = crl.strip() + '\n' + crl.strip() + '\n'
    assert len(c.load_crls(two)) == 2
    glued = crl.strip() + '\\n' + crl.strip()
    with pytest.raises(c.PgsslCryptoError, match='bad end line'):
        c.load_crls(glued)
    with pytest.raises(c.PgsslCryptoError, match='no end line'):
        c.load_crls(crl.strip()[:-25])
    assert len(c.pem_blocks(crl + 'trailing words\n', 'X509 CRL')) == 1


def test_a_certificate_from_a_clock_that_runs_ahead_is_reissued():
    key = c.generate_private_key(c.normalize_key_request('ecdsa', curve='P-256'))
    ca, _w = c.issue_certificate(key.public_key(), {'CN': 'skew CA'}, [], 'ca', key)
    future = c.utcnow() + datetime.timedelta(days=2)
    leaf, _w = c.issue_certificate(
        key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', key, issuer_cert=ca, now=future
    )
    reasons = c.certificate_reasons(leaf, key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', issuer_cert=ca)
    assert reasons == ['not_yet_valid']
    assert (
        c.certificate_reasons(leaf, key.public_key(), {'CN': 'db1'}, ['DNS:db1'], 'server', issuer_cert=ca, now=future)
        == []
    )


# ----------------------------------------------------------------------------- minimum version


def test_the_minimum_cryptography_version_is_written_the_same_everywhere():
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'plugins', 'doc_fragments', 'cryptography.py')) as handle:
        assert 'cryptography >= %s ' % c.MIN_CRYPTOGRAPHY in handle.read()
    with open(os.path.join(root, 'requirements.txt')) as handle:
        assert 'cryptography>=%s' % c.MIN_CRYPTOGRAPHY in handle.read()
    assert c.version_tuple('41.0.5') >= c.version_tuple(c.MIN_CRYPTOGRAPHY) > c.version_tuple('40.0.2')
    assert c.version_tuple('42.0.0rc1') == (42, 0, 0)
