# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni's REST API reached over TLS by the Patroni TLS target (``_patronitls``): where
it listens, the certificate it serves, a bounded GET with a client certificate, and the member
as the cluster lists it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import ssl

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

PatroniTlsError = patroni.PatroniTlsError


def rest_address(p, data):
    """(name to verify, address, port) of the member's REST API, from ``restapi.connect_address``
    (or ``listen``) unless the operator named them."""
    restapi = data.get('restapi') or {}
    where = restapi.get('connect_address') or restapi.get('listen') or ''
    host, _sep, port = str(where).rpartition(':')
    host = host.strip('[]')
    if not port.isdigit() or not host:
        raise PatroniTlsError(
            'restapi.connect_address (or listen) of the configuration is not HOST:PORT: %r.' % (where,),
            'patroni_config',
        )
    if host in ('0.0.0.0', '*', '::'):
        host = '127.0.0.1' if host != '::' else '::1'
    address = p['tls_hostaddr'] or host
    return p['tls_host'] or host, address, int(port)


def _https(host, address, port, cafile, timeout, client=None, path=None):
    """One TLS connection to the REST API at ``address``: the served certificate (DER) and, with
    ``path``, the answer of a GET (status, decoded JSON). Verified against ``cafile`` and
    ``host`` when a CA is given; ``client`` is (certificate, key) to present."""
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = True
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(certfile=client[0], keyfile=client[1])
    with patroni._deadline(timeout, '%s:%d' % (address, port)):
        with socket.create_connection((address, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
                if path is None:
                    return der, None, None
                tls.sendall(
                    ('GET %s HTTP/1.0\r\nHost: %s:%d\r\nAccept: application/json\r\n\r\n' % (path, host, port)).encode(
                        'ascii'
                    )
                )
                chunks, size = [], 0
                while size <= patroni.MAX_ANSWER:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
    if size > patroni.MAX_ANSWER:
        raise PatroniTlsError('GET %s answered more than %d bytes.' % (path, patroni.MAX_ANSWER))
    head, _sep, body = b''.join(chunks).partition(b'\r\n\r\n')
    parts = head.split(b' ', 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    try:
        value = json.loads(body.decode('utf-8', 'replace'))
    except ValueError:
        value = None
    return der, code, value


def served(host, address, port, cafile, timeout):
    """(SHA-256 fingerprint of the certificate the REST API serves, None) or (None, why)."""
    try:
        der = _https(host, address, port, cafile, timeout)[0]
    except PgsslError as exc:
        return None, str(exc)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return None, '%s:%d: %s' % (address, port, getattr(exc, 'reason', None) or exc)
    return crypto.cert_fingerprint(crypto.load_certificate(der)), None


def member_view(rest, ca_path, plan, timeout):
    """This member as the cluster lists it, asked over https with the new client certificate
    (what patronictl and the other members see)."""
    client = (plan['paths']['cert'], plan['paths']['key'])
    _der, code, own = _https(rest['host'], rest['address'], rest['port'], ca_path, timeout, client, '/patroni')
    if code != 200 or not isinstance(own, dict):
        raise PatroniTlsError('GET /patroni with the new client certificate answered %s.' % code, 'not_served')
    name = plan['member'] or (own.get('patroni') or {}).get('name')
    _der, code, cluster = _https(rest['host'], rest['address'], rest['port'], ca_path, timeout, client, '/cluster')
    if code != 200 or not isinstance(cluster, dict):
        raise PatroniTlsError('GET /cluster with the new client certificate answered %s.' % code, 'not_served')
    for member in cluster.get('members') or []:
        if isinstance(member, dict) and member.get('name') == name:
            # the member's own word on its role and state (primary/replica, running/streaming),
            # the cluster's on the address the others use
            return {
                'role': own.get('role'),
                'state': own.get('state'),
                'api_url': member.get('api_url'),
                'dcs_last_seen': own.get('dcs_last_seen'),
            }
    return None
