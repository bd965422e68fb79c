# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of sslmode expectations and the reload pre-checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgcheck as pgcheck
from ansible_collections.pgssl.postgresql.plugins.module_utils import _verify as v


def test_policies_and_overrides():
    wanted = v.expectations('ssl_required')
    assert wanted['disable'] == 'reject' and wanted['verify-full'] == 'ssl'
    wanted = v.expectations('verify_full_only', {'require': 'ssl'}, ['require', 'allow'])
    assert wanted == {'require': 'ssl'}  # 'any' is not an expectation
    with pytest.raises(v.VerifyError):
        v.expectations('nope')
    with pytest.raises(v.VerifyError):
        v.expectations(None, {'disable': 'maybe'})
    with pytest.raises(v.VerifyError):
        v.expectations(None, {'sometimes': 'ssl'})


def test_unmet():
    results = {
        'disable': {'connected': False, 'error': 'no pg_hba.conf entry'},
        'require': {'connected': True, 'ssl': True},
        'allow': {'connected': True, 'ssl': False},
    }
    assert v.unmet(results, v.expectations('ssl_required')) == [
        {'mode': 'allow', 'expected': 'ssl', 'got': 'plain', 'error': None}
    ]


def _pki(tmp_path):
    key = crypto.generate_private_key(crypto.normalize_key_request('ecdsa'))
    cert, _w = crypto.issue_certificate(key.public_key(), {'CN': 'db'}, ['DNS:db'], 'server', key)
    crt = tmp_path / 'server.crt'
    crt.write_bytes(crypto.dump_certificate(cert))
    k = tmp_path / 'server.key'
    k.write_bytes(crypto.dump_private_key(key))
    os.chmod(str(k), 0o600)
    return str(crt), str(k), key


def test_check_ssl_files(tmp_path):
    crt, key, _k = _pki(tmp_path)
    uid = os.getuid()
    values = {'ssl': 'on', 'ssl_cert_file': crt, 'ssl_key_file': key}
    problems, facts = pgcheck.check_ssl(values, str(tmp_path), uid, [os.getgid()])
    assert problems == [] and facts['certificate_fingerprint']
    assert pgcheck.check_ssl({'ssl': 'off'}, str(tmp_path), uid, [])[0] == []
    os.chmod(key, 0o644)
    problems, _f = pgcheck.check_ssl(values, str(tmp_path), uid, [])
    assert [p['code'] for p in problems] == ['key_file_mode']
    os.chmod(key, 0o600)
    other, okey, _k = _pki(tmp_path / '..')
    problems, _f = pgcheck.check_ssl(dict(values, ssl_key_file=okey), str(tmp_path), uid, [])
    assert [p['code'] for p in problems] == ['key_mismatch']
    problems, _f = pgcheck.check_ssl(dict(values, ssl_cert_file='missing.crt'), str(tmp_path), uid, [])
    assert problems[0]['code'] == 'unreadable' and 'missing.crt' in problems[0]['message']


def test_readable_by_walks_directories():
    import shutil
    import tempfile
    import pathlib

    base = tempfile.mkdtemp(dir='/tmp')
    os.chmod(base, 0o755)
    try:
        _walk(pathlib.Path(base))
    finally:
        shutil.rmtree(base)


def _walk(tmp_path):
    private = tmp_path / 'private'
    private.mkdir()
    target = private / 'f'
    target.write_text('x')
    os.chmod(str(private), 0o700)
    os.chmod(str(target), 0o644)
    ok, why = pgcheck.readable_by(str(target), 12345, [12345])
    assert not ok and 'cannot be entered' in why
    os.chmod(str(private), 0o755)
    assert pgcheck.readable_by(str(target), 12345, [12345])[0]
    os.chmod(str(target), 0o600)
    assert not pgcheck.readable_by(str(target), 12345, [12345])[0]
    assert pgcheck.readable_by(str(target), 0, [0])[0]


def test_file_problems_messages():
    problems = pgcheck.file_problems(
        [{'sourcefile': '/p.conf', 'sourceline': 3, 'name': 'foo', 'error': 'unrecognized'}],
        [{'line_number': 9, 'error': None}],
        [],
        '/hba',
        '/ident',
    )
    assert problems[0]['message'] == '/p.conf:3: unrecognized (foo)'
    assert problems[1]['message'] == '/hba:9: invalid line'


def test_explain_hba_line(tmp_path):
    hba = tmp_path / 'pg_hba.conf'
    hba.write_text('local all all peer\nhostssl all all all md5 clientcert=1\n')
    assert 'invalid value for clientcert: "1"' in pgcheck.explain_hba_line(str(hba), 2, 16)


@pytest.mark.parametrize(
    'message,code',
    [
        (
            'connection to server at "127.0.0.3", port 5432 failed: server certificate for '
            '"db3.pgssl.test" (and 2 other names) does not match host name "wrong.pgssl.test"',
            'hostname_mismatch',
        ),
        (
            'connection to server at "127.0.0.3", port 5432 failed: SSL error: certificate verify failed',
            'certificate_verify_failed',
        ),
        (
            'failed: FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "postgres", '
            'database "postgres", no encryption',
            'hba_rejected',
        ),
        (
            'failed: FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "app", database "app", SSL encryption',
            'hba_rejected',
        ),
        ('failed: FATAL:  password authentication failed for user "postgres"', 'auth_failed'),
        (
            'failed: root certificate file "/nonexistent/x" does not exist\nEither provide the file',
            'no_root_certificate',
        ),
        ('failed: server does not support SSL, but SSL was required', 'no_ssl_on_server'),
        ('failed: Connection refused\n\tIs the server running on that host', 'unreachable'),
        ('something new', 'error'),
        # messages of libpq 18 (psycopg-binary), as the real-server tests meet them
        (
            'connection is bad: weak sslmode "prefer" may not be used with sslnegotiation=direct (use '
            '"require", "verify-ca", or "verify-full")',
            'client_option_conflict',
        ),
        ('connection is bad: invalid SSL protocol version range', 'client_option_conflict'),
        ('failed: server accepted connection without a valid SSL certificate', 'client_certificate_not_requested'),
        ('failed: server did not request an SSL certificate', 'client_certificate_not_requested'),
        ('failed: SSL error: tlsv1 alert protocol version', 'protocol_version'),
    ],
)
def test_failure_codes(message, code):
    assert v.failure_code(message) == code


def test_early_eof_means_no_direct_tls_only_for_direct_negotiation():
    msg = 'connection to server at "127.0.0.2", port 5432 failed: SSL error: unexpected eof while reading'
    assert v.failure_code(msg, direct=True) == 'direct_not_supported'
    assert v.failure_code(msg) == 'error'


def test_verify_failure_told_apart_by_the_served_certificate():
    now = '2026-11-30T00:00:00Z'
    served = {'not_before': '2026-01-01T00:00:00Z', 'not_after': '2027-01-01T00:00:00Z', 'serial_number': '42'}
    assert v.refine_verify_failure(served, now) == 'unknown_ca'
    assert v.refine_verify_failure(served, now, ['42']) == 'revoked'
    assert v.refine_verify_failure(dict(served, not_after='2026-06-01T00:00:00Z'), now) == 'expired'
    assert v.refine_verify_failure(dict(served, not_before='2026-12-01T00:00:00Z'), now) == 'not_yet_valid'
    assert v.refine_verify_failure(None, now) == 'certificate_verify_failed'


def test_plain_probe_refuses_a_nul_in_a_name_before_connecting():
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

    # port 9 on an address nothing listens on: a refusal must come before any connection
    with pytest.raises(pgconn.PgsslConnError, match='NUL'):
        pgconn.probe_plain('127.0.0.250', 9, user='app\0database', dbname='postgres')
