# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inspection: libpq's host name rules and certificate_info's analysis."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import stat

from ansible_collections.pgssl.postgresql.plugins.module_utils._pgrules import key_file_problem
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    NameOID,
    not_after,
    not_before,
    utcnow,
    x509,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.keys import (
    describe_key,
    public_key_fingerprint,
    same_public_key,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.issue import (
    describe_certificate,
    key_weakness,
    weaknesses,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.chain import verify_path


# --------------------------------------------------------------------------- libpq host name rules


def _wildcard_match(pattern, host):
    pattern = pattern.lower().rstrip('.')
    host = host.lower().rstrip('.')
    if pattern.startswith('*.'):
        suffix = pattern[1:]
        if not host.endswith(suffix):
            return False
        label = host[: -len(suffix)]
        return bool(label) and '.' not in label
    return pattern == host


def hostname_matches(cert, host):
    """Would libpq's sslmode=verify-full accept ``cert`` for ``host``?

    dNSName SANs match (with a single-label leading wildcard); iPAddress SANs match an address
    host; the CN is consulted only when there is no dNSName SAN (and, for an address host, no
    iPAddress SAN).
    """
    try:
        host_ip = ipaddress.ip_address(host)
    except ValueError:
        host_ip = None
    dns, ips = [], []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = ext.get_values_for_type(x509.DNSName)
        ips = ext.get_values_for_type(x509.IPAddress)
    except x509.ExtensionNotFound:
        pass
    if host_ip is not None:
        if any(ip == host_ip for ip in ips):
            return True
    elif any(_wildcard_match(name, host) for name in dns):
        return True
    if dns or (host_ip is not None and ips):
        return False
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        return False
    if host_ip is not None:
        return cns[0].value == str(host_ip)
    return _wildcard_match(cns[0].value, host)


# --------------------------------------------------------------------------- certificate_info analysis

PROBLEM_CODES = (
    'expired',
    'not_yet_valid',
    'expiring',
    'chain_order',
    'chain_untrusted',
    'chain_expired_link',
    'key_mismatch',
    'hostname_mismatch',
    'no_dns_san',
    'key_file_owner',
    'key_file_mode',
    'key_file_type',
    'ed25519_signature',
    'weak_key',
    'weak_signature',
    'private_key_in_file',
)


def analyze(certs, anchors=None, key=None, hostnames=None, key_stat=None, server_uid=None, now=None, warn_days=30):
    """Everything certificate_info reports, as plain values, plus a ``problems`` list.

    ``certs`` is the file content in order (leaf first, as PostgreSQL reads ssl_cert_file);
    ``key_stat`` is (st_mode, st_uid) of the key file when it should be checked against
    PostgreSQL's rule for ``server_uid``.
    """
    now = now or utcnow()
    problems = []

    def problem(code, message):
        problems.append({'code': code, 'message': message})

    described = [describe_certificate(c, now) for c in certs]
    leaf = certs[0]
    info = described[0]
    if not_after(leaf) <= now:
        problem('expired', 'the certificate %s expired on %s' % (info['subject_string'], info['not_after']))
    elif not_before(leaf) > now:
        problem(
            'not_yet_valid', 'the certificate %s is not valid before %s' % (info['subject_string'], info['not_before'])
        )
    elif info['days_left'] < warn_days:
        problem(
            'expiring',
            'the certificate %s expires in %d days (%s)'
            % (info['subject_string'], info['days_left'], info['not_after']),
        )
    chain_problems = verify_path(certs, anchors or [], now)
    for code, message in chain_problems:
        if code == 'chain_expired_link' and message.startswith('certificate #1 '):
            continue  # the leaf's own validity is reported above
        problem(code, message)
    seen = set()
    for cert in list(certs) + list(anchors or []):
        for code, message in weaknesses(cert):
            if message not in seen:
                seen.add(message)
                problem(code, message)
    if key is not None and key_weakness(key.public_key()):
        problem('weak_key', 'the private key is %s' % key_weakness(key.public_key()))
    if leaf.signature_hash_algorithm is None:  # Ed25519/Ed448 signatures carry no hash
        problem(
            'ed25519_signature', 'the certificate is signed with Ed25519, which breaks SCRAM channel binding in libpq'
        )
    if info['profile'] != 'ca' and not any(s.startswith('DNS:') for s in info['subject_alt_names']):
        problem(
            'no_dns_san',
            'the certificate has no DNS subject alternative name; Go clients refuse CN-only server certificates',
        )
    result = {
        'certificate': info,
        'certificates': described,
        'chain': {
            'length': len(certs),
            'order_ok': not any(c == 'chain_order' for c, _m in chain_problems),
            'verified': (not chain_problems) if anchors else None,
            'expired_links': [d['subject_string'] for d in described[1:] if d['expired']],
        },
        'hostnames': {},
        'key': None,
    }
    for host in hostnames or []:
        ok = hostname_matches(leaf, host)
        result['hostnames'][host] = ok
        if not ok:
            problem(
                'hostname_mismatch',
                'the certificate does not match host name %r by libpq '
                'rules (SANs: %s)' % (host, ', '.join(info['subject_alt_names']) or 'none'),
            )
    if key is not None:
        desc = describe_key(key)
        matches = same_public_key(leaf.public_key(), key)
        result['key'] = {
            'type': desc['type'],
            'size': desc['size'],
            'curve': desc['curve'],
            'matches_certificate': matches,
            'public_key_fingerprint': public_key_fingerprint(key),
            'file_acceptable_to_postgresql': None,
        }
        if not matches:
            problem('key_mismatch', 'the private key does not belong to the certificate')
    if key_stat is not None and server_uid is not None:
        bad = key_file_problem(key_stat[0], key_stat[1], server_uid)
        if result['key'] is None:
            result['key'] = {}
        result['key']['file_acceptable_to_postgresql'] = bad is None
        result['key']['file_mode'] = '%04o' % stat.S_IMODE(key_stat[0])
        result['key']['file_uid'] = key_stat[1]
        if bad is not None:
            problem(bad[0], bad[1])
    result['problems'] = problems
    return result
