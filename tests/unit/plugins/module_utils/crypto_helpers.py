# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared makers for the _crypto unit tests (a test CA, a clock, a key request)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c


NOW = c.utcnow()
EC = c.normalize_key_request('ecdsa')


def make_ca(name='Test CA', key=None, now=NOW, days=3650, issuer=None, issuer_key=None, pathlen=None):
    key = key or c.generate_private_key(EC)
    signer = issuer_key or key
    cert, _w = c.issue_certificate(
        key.public_key(), {'CN': name}, [], 'ca', signer, issuer_cert=issuer, valid_days=days, now=now, pathlen=pathlen
    )
    return cert, key


def make_leaf(ca, ca_key, cn='db1.pgssl.test', sans=None, profile='server', now=NOW, days=365, key=None):
    key = key or c.generate_private_key(EC)
    sans = c.normalize_sans(sans if sans is not None else [cn])
    cert, _w = c.issue_certificate(
        key.public_key(), {'CN': cn}, sans, profile, ca_key, issuer_cert=ca, valid_days=days, now=now
    )
    return cert, key
