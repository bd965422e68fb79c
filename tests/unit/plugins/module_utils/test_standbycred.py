# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standby link target's pure decisions: which slot the link uses, what in the link is
due, what in a slot's certificate is due, and the primary's proof by client serial."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _replstatus as replstatus
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as cred

WANT = {'sslmode': 'verify-full', 'sslrootcert': '/etc/pg/root.crt', 'host': 'db1.example.com', 'port': 5432}
WANT['hostaddr'] = None


def _linked(directory, slot, **extra):
    paths = cred.slot_paths(directory, slot)
    link = {'sslmode': 'verify-full', 'sslrootcert': '/etc/pg/root.crt', 'host': 'db1.example.com', 'port': '5432'}
    link.update(sslcert=paths['cert'], sslkey=paths['key'])
    link.update(extra)
    return link


def test_the_slot_in_use_is_one_of_the_two_derived_paths_never_a_look_alike():
    assert cred.slot_in_use(_linked('/h/d', 'a'), '/h/d') == 'a'
    assert cred.slot_in_use(_linked('/h/d', 'b'), '/h/d') == 'b'
    # a certificate of slot a with the key of slot b, another directory, or no files: no slot
    mixed = dict(_linked('/h/d', 'a'), sslkey=cred.slot_paths('/h/d', 'b')['key'])
    assert cred.slot_in_use(mixed, '/h/d') is None
    assert cred.slot_in_use(_linked('/h/d/../d', 'a'), '/h/d') is None
    assert cred.slot_in_use({}, '/h/d') is None


def test_the_default_directory_is_per_data_directory_and_outside_it():
    path = cred.default_dir('/var/lib/postgresql', '/var/lib/postgresql/16/main/')
    assert path == '/var/lib/postgresql/.postgresql/pgssl-replication-var-lib-postgresql-16-main'
    assert not path.startswith('/var/lib/postgresql/16/main/')
    assert cred.default_dir('/h', '/srv/a') != cred.default_dir('/h', '/srv/b')


def test_link_reasons_name_each_difference():
    assert cred.link_reasons(_linked('/d', 'a'), WANT) == []
    assert cred.link_reasons(_linked('/d', 'a', sslmode='prefer'), WANT) == ['sslmode_changed']
    assert cred.link_reasons(_linked('/d', 'a', sslrootcert='/tmp/x'), WANT) == ['rootcert_changed']
    assert cred.link_reasons(_linked('/d', 'a', host='db2'), WANT) == ['primary_changed']
    assert cred.link_reasons(_linked('/d', 'a', port='5433'), WANT) == ['primary_changed']
    assert cred.link_reasons(_linked('/d', 'a', password='x'), WANT) == ['password']
    assert cred.link_reasons(_linked('/d', 'a', passfile='/p'), WANT) == ['password']
    # a hostaddr the operator does not give is left as it is
    assert cred.link_reasons(_linked('/d', 'a', hostaddr='10.0.0.1'), WANT) == []
    assert cred.link_reasons(_linked('/d', 'a', hostaddr='10.0.0.1'), dict(WANT, hostaddr='10.0.0.2')) == [
        'primary_changed'
    ]


def _ca(name):
    key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa'))
    subject = crypto.normalize_subject({'CN': name})
    cert, _warnings = crypto.issue_certificate(key.public_key(), subject, [], 'ca', key, valid_days=3650)
    return cert, key


def _client(ca, ca_key, cn='replicator', days=397, key=None):
    key = key or crypto.generate_private_key(crypto.normalize_key_request('ecdsa'))
    subject = crypto.normalize_subject({'CN': cn})
    cert, _warnings = crypto.issue_certificate(key.public_key(), subject, [], 'client', ca_key, ca, valid_days=days)
    return cert, key


def _slot(tmp_path, cert, key):
    paths = cred.slot_paths(str(tmp_path), 'a')
    with open(paths['cert'], 'wb') as handle:
        handle.write(crypto.dump_certificate(cert))
    fd = os.open(paths['key'], os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(crypto.dump_private_key(key))
    return paths


def _params(ca, **extra):
    p = {'ca_bundle': crypto.dump_certificate(ca).decode(), 'common_name': 'replicator', 'renew_before_days': 30}
    p['issuer'] = None
    p.update(key_type='ecdsa', key_size=None, key_curve='P-256')
    p.update(extra)
    return p


def test_cert_reasons_of_a_slot(tmp_path):
    ca, ca_key = _ca('Fleet CA')
    cert, key = _client(ca, ca_key)
    paths = _slot(tmp_path, cert, key)
    uid = os.geteuid()
    reasons, facts = cred.cert_reasons(paths, _params(ca), uid)
    assert reasons == [] and facts['serial_number'] == str(cert.serial_number)
    # a CA rollover: issued by a CA the bundle no longer holds
    other, _other_key = _ca('Next CA')
    assert 'issuer_changed' in cred.cert_reasons(paths, _params(other), uid)[0]
    # both CAs during the rollover: still fine
    both = crypto.dump_certificate(other).decode() + crypto.dump_certificate(ca).decode()
    assert cred.cert_reasons(paths, _params(ca, ca_bundle=both), uid)[0] == []
    # the reissue phase: both trusted, but the next CA signs now
    reissue = _params(ca, ca_bundle=both, issuer=crypto.dump_certificate(other).decode())
    assert cred.cert_reasons(paths, reissue, uid)[0] == ['issuer_changed']
    assert 'subject_changed' in cred.cert_reasons(paths, _params(ca, common_name='repl2'), uid)[0]
    assert 'expiring' in cred.cert_reasons(paths, _params(ca, renew_before_days=400), uid)[0]
    assert 'key_type_changed' in cred.cert_reasons(paths, _params(ca, key_curve='P-384'), uid)[0]
    # a key that does not belong to the certificate
    _cert2, key2 = _client(ca, ca_key)
    _slot(tmp_path, cert, key2)
    assert 'key_mismatch' in cred.cert_reasons(paths, _params(ca), uid)[0]
    os.unlink(paths['key'])
    assert 'key_missing' in cred.cert_reasons(paths, _params(ca), uid)[0]
    os.unlink(paths['cert'])
    assert cred.cert_reasons(paths, _params(ca), uid)[0] == ['missing']


def test_the_primary_proof_needs_each_serial_streaming_over_tls():
    rows = [
        {'client_serial': '11', 'ssl': True, 'state': 'streaming'},
        {'client_serial': '12', 'ssl': True, 'state': 'catchup'},
        {'client_serial': None, 'ssl': False, 'state': 'streaming'},
    ]
    assert replstatus.missing(rows, ['11']) == []
    assert replstatus.missing(rows, ['11', '12']) == ['12']
    assert replstatus.missing(rows, ['13']) == ['13']
    assert replstatus.missing([], []) == []


def test_an_expired_slot_is_due(tmp_path):
    ca, ca_key = _ca('Fleet CA')
    cert, key = _client(ca, ca_key, days=10)
    paths = _slot(tmp_path, cert, key)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    assert 'expired' in cred.cert_reasons(paths, _params(ca, renew_before_days=1), os.geteuid(), now=later)[0]
    assert cred.cert_reasons(paths, _params(ca, renew_before_days=1), os.geteuid())[0] == []
