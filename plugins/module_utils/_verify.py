# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sslmode expectations and their evaluation (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

SSLMODES = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')
OUTCOMES = ('ssl', 'plain', 'reject', 'any')

# What each named policy expects per sslmode.
POLICIES = {
    # the server refuses TCP without TLS: disable fails, every other mode ends up on TLS
    'ssl_required': {
        'disable': 'reject',
        'allow': 'ssl',
        'prefer': 'ssl',
        'require': 'ssl',
        'verify-ca': 'ssl',
        'verify-full': 'ssl',
    },
    # TLS offered and plain allowed (host rules): what a stock server with ssl=on does
    'ssl_optional': {
        'disable': 'plain',
        'allow': 'plain',
        'prefer': 'ssl',
        'require': 'ssl',
        'verify-ca': 'ssl',
        'verify-full': 'ssl',
    },
    # TLS required, and the certificate must pass the client's full verification
    'verify_full_only': {
        'disable': 'reject',
        'allow': 'any',
        'prefer': 'any',
        'require': 'any',
        'verify-ca': 'ssl',
        'verify-full': 'ssl',
    },
    # no TLS at all
    'ssl_off': {
        'disable': 'plain',
        'allow': 'plain',
        'prefer': 'plain',
        'require': 'reject',
        'verify-ca': 'reject',
        'verify-full': 'reject',
    },
    'none': {},
}


class VerifyError(PgsslError):
    pass


def expectations(policy=None, expect=None, modes=SSLMODES):
    wanted = {}
    if policy:
        if policy not in POLICIES:
            raise VerifyError('Unknown policy %r: use one of %s.' % (policy, ', '.join(sorted(POLICIES))))
        wanted.update(POLICIES[policy])
    for mode, outcome in (expect or {}).items():
        if mode not in SSLMODES:
            raise VerifyError('Unknown sslmode %r in expect: use %s.' % (mode, ', '.join(SSLMODES)))
        if outcome not in OUTCOMES:
            raise VerifyError('Unknown expectation %r for %s: use %s.' % (outcome, mode, ', '.join(OUTCOMES)))
        wanted[mode] = outcome
    return dict((m, wanted[m]) for m in modes if m in wanted and wanted[m] != 'any')


def outcome_of(result):
    if not result.get('connected'):
        return 'reject'
    return 'ssl' if result.get('ssl') else 'plain'


def unmet(results, wanted):
    """[{mode, expected, got, error}] for each expectation the results do not meet."""
    failures = []
    for mode, expected in wanted.items():
        res = results.get(mode)
        if res is None:
            continue
        got = outcome_of(res)
        if got != expected:
            failures.append({'mode': mode, 'expected': expected, 'got': got, 'error': res.get('error')})
    return failures


# What libpq says, first match wins: (code, words in the message). A failed certificate check
# says only "certificate verify failed"; the verify module tells expired, not yet valid,
# revoked and unknown CA apart from the certificate the server served.
_FAILURES = (
    # the client's own options do not go together (libpq refuses before it connects)
    (
        'client_option_conflict',
        (
            'may not be used with sslnegotiation',
            'invalid ssl protocol version range',
            'invalid sslnegotiation value',
            'invalid sslcertmode value',
        ),
    ),
    # sslcertmode=require, and the server did not ask for a client certificate
    (
        'client_certificate_not_requested',
        ('server accepted connection without a valid ssl certificate', 'server did not request an ssl certificate'),
    ),
    (
        'protocol_version',
        ('alert protocol version', 'unsupported protocol', 'no protocols available', 'wrong ssl version'),
    ),
    ('hostname_mismatch', ('does not match host name',)),
    ('certificate_verify_failed', ('certificate verify failed',)),
    ('no_root_certificate', ('root certificate file',)),
    ('no_ssl_on_server', ('server does not support ssl',)),
    ('hba_rejected', ('pg_hba.conf rejects connection', 'no pg_hba.conf entry')),
    ('auth_failed', ('authentication failed',)),
    (
        'unreachable',
        (
            'connection refused',
            'timeout expired',
            'could not translate host name',
            'no route to host',
            'network is unreachable',
        ),
    ),
)


def failure_code(message, direct=False):
    """A stable code for why a connection failed (``error`` when the message is not known).

    ``direct``: the connection used sslnegotiation=direct. A server before PostgreSQL 17 reads
    the TLS ClientHello as a broken startup packet and hangs up: libpq then says only that the
    TLS stream ended early.
    """
    text = (message or '').lower()
    for code, words in _FAILURES:
        if any(word in text for word in words):
            return code
    if direct and (
        'unexpected eof' in text or 'ssl syscall error' in text or 'server closed the connection unexpectedly' in text
    ):
        return 'direct_not_supported'
    return 'error'


def refine_verify_failure(served, now, revoked_serials=()):
    """What "certificate verify failed" was, from the certificate the server served (a dict of
    the verify module's served_certificate): expired, not_yet_valid, revoked or unknown_ca."""
    if not served:
        return 'certificate_verify_failed'
    if served.get('not_after') and served['not_after'] < now:
        return 'expired'
    if served.get('not_before') and served['not_before'] > now:
        return 'not_yet_valid'
    if str(served.get('serial_number')) in set(str(s) for s in revoked_serials):
        return 'revoked'
    return 'unknown_ca'
