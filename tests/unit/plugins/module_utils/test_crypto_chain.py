# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_crypto: chains and bundles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c

from ansible_collections.pgssl.postgresql.tests.unit.plugins.module_utils.crypto_helpers import (
    EC,
    NOW,
    make_ca,
    make_leaf,
)


# ----------------------------------------------------------------------------- chains


def lets_encrypt_like():
    """leaf <- intermediate <- new root; new root also cross-signed by an expired old root."""
    past = NOW - datetime.timedelta(days=4000)
    old_root, old_key = make_ca('Old Root X3', now=past, days=3000)  # expired
    new_key = c.generate_private_key(EC)
    new_root, _k = make_ca('New Root X1', key=new_key, now=NOW - datetime.timedelta(days=1000))
    cross, _w = c.issue_certificate(
        new_key.public_key(),
        {'CN': 'New Root X1'},
        [],
        'ca',
        old_key,
        issuer_cert=old_root,
        valid_days=2000,
        now=past + datetime.timedelta(days=100),
    )  # expired too
    inter, inter_key = make_leaf(new_root, new_key, cn='Intermediate R3', sans=[], profile='ca')
    leaf, leaf_key = make_leaf(inter, inter_key, cn='db2.pgssl.test')
    return dict(old_root=old_root, new_root=new_root, cross=cross, inter=inter, leaf=leaf, leaf_key=leaf_key)


def test_chain_orders_and_drops_root_and_duplicates():
    ca, ca_key = make_ca('Root')
    inter, inter_key = make_leaf(ca, ca_key, cn='Inter', sans=[], profile='ca')
    leaf, _k = make_leaf(inter, inter_key)
    built = c.build_chain([ca, inter, leaf, inter])
    assert built['chain'] == [leaf, inter]
    assert built['complete'] and built['root'] == ca
    reasons = sorted(r for _c, r in built['dropped'])
    assert reasons == ['duplicate', 'root']
    assert c.build_chain([inter, leaf, ca], include_root=True)['chain'] == [leaf, inter, ca]
    partial = c.build_chain([leaf, inter])
    assert partial['chain'] == [leaf, inter] and not partial['complete']
    with_anchor = c.build_chain([leaf, inter], anchors=[ca])
    assert with_anchor['complete'] and with_anchor['chain'] == [leaf, inter]


def test_chain_drops_expired_cross_sign():
    le = lets_encrypt_like()
    inputs = [le['leaf'], le['inter'], le['cross'], le['old_root']]
    built = c.build_chain(inputs, anchors=[le['new_root']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert built['complete']
    dropped = dict((d.subject.rfc4514_string() + d.issuer.rfc4514_string(), r) for d, r in built['dropped'])
    assert dropped['CN=New Root X1CN=Old Root X3'] in ('expired', 'expired_cross_sign')
    # no anchors given: the path to the valid self-signed root still wins
    built = c.build_chain(inputs + [le['new_root']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert built['root'] == le['new_root']
    assert c.verify_path([le['leaf'], le['inter']], [le['new_root']]) == []
    codes = [code for code, _m in c.verify_path([le['leaf'], le['inter'], le['cross']], [le['new_root']])]
    assert 'chain_expired_link' in codes


def test_certbot_fullchain_without_anchor_is_repaired():
    le = lets_encrypt_like()
    # certbot's fullchain.pem: leaf, R3, X1 cross-signed by the expired X3; no anchor at all
    built = c.build_chain([le['leaf'], le['inter'], le['cross']])
    assert built['chain'] == [le['leaf'], le['inter']]
    assert not built['complete']
    assert list(built['dropped']) == [(le['cross'], 'expired')]


def test_expired_leaf_fails():
    ca, ca_key = make_ca('Root')
    leaf, _w = c.issue_certificate(
        c.generate_private_key(EC).public_key(),
        {'CN': 'old'},
        ['DNS:old'],
        'server',
        ca_key,
        issuer_cert=ca,
        valid_days=10,
        now=NOW - datetime.timedelta(days=30),
    )
    with pytest.raises(c.PgsslCryptoError, match='itself is expired') as err:
        c.build_chain([leaf, ca])
    assert err.value.code == 'leaf_expired'


def test_chain_leaf_ambiguity_is_an_error():
    ca, ca_key = make_ca()
    a, _k = make_leaf(ca, ca_key, cn='a')
    b, _k = make_leaf(ca, ca_key, cn='b')
    with pytest.raises(c.PgsslCryptoError) as err:
        c.build_chain([a, b, ca])
    assert err.value.code == 'chain_leaf'


def test_bundle():
    ca, ca_key = make_ca('A')
    old, _k = make_ca('Old', now=NOW - datetime.timedelta(days=50), days=10)
    leaf, _k = make_leaf(ca, ca_key)
    built = c.build_bundle([ca, old, ca, leaf])
    assert built['chain'] == [ca]
    assert sorted(r for _c, r in built['dropped']) == ['duplicate', 'expired', 'not_a_ca']
    assert c.build_bundle([ca, old], drop_expired=False)['chain'] == [ca, old]
    with pytest.raises(c.PgsslCryptoError):
        c.build_bundle([leaf])


def test_load_certificates_errors():
    with pytest.raises(c.PgsslCryptoError) as err:
        c.load_certificates(b'hello')
    assert err.value.code == 'malformed_certificate'
    with pytest.raises(c.PgsslCryptoError):
        c.load_certificates(b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    ca, _k = make_ca()
    from cryptography.hazmat.primitives import serialization

    assert c.load_certificates(ca.public_bytes(serialization.Encoding.DER)) == [ca]
