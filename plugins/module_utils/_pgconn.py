# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talk to PostgreSQL: the SSLRequest + TLS handshake probe (no credentials needed).

PostgreSQL starts TLS in-band: the client sends an 8-byte SSLRequest, the server answers one
byte, ``S`` (go ahead with the TLS handshake) or ``N`` (no SSL). After the handshake we have the
certificate the server really serves, which is what matters after a reload: ``SHOW
ssl_cert_file`` reports the new path even when the server kept its old SSL configuration.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import struct
import time
import traceback

from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

SSL_REQUEST_CODE = 80877103


def load_psycopg():
    """(psycopg module or None, import traceback or None).

    Imported on first use, not with this file: psycopg takes ~150 ms to import, and modules
    that only probe TLS (tls_status, verify probe_only) never need it.
    """
    try:
        import psycopg

        return psycopg, None
    except ImportError:  # pragma: no cover - depends on the managed host
        return None, traceback.format_exc()


class PgsslConnError(PgsslError):
    pass


def probe_tls(host, port=5432, hostaddr=None, timeout=5.0, cafile=None, strict=False, direct=False):
    """SSLRequest + TLS handshake. Returns a dict of plain values.

    ``ssl``: whether the server agreed to TLS; ``certificate_der`` (bytes) of the served leaf;
    ``protocol``, ``cipher``, ``bits``; ``elapsed_ms``. With ``cafile`` the handshake also
    verifies the chain and the host name (like sslmode=verify-full); ``strict`` adds OpenSSL's
    X509 strict flag, as Python 3.13's default context does. ``direct``: no SSLRequest, the
    handshake starts at once with ALPN ``postgresql`` (sslnegotiation=direct, PostgreSQL 17+).
    """
    start = time.monotonic()
    address = hostaddr or host
    try:
        sock = socket.create_connection((address, port), timeout)
    except OSError as exc:
        raise PgsslConnError('Cannot connect to %s:%s: %s' % (address, port, exc))
    try:
        if not direct:
            sock.sendall(struct.pack('!ii', 8, SSL_REQUEST_CODE))
            answer = sock.recv(1)
            if answer != b'S':
                if answer == b'N':
                    return {'ssl': False, 'elapsed_ms': _ms(start)}
                raise PgsslConnError(
                    'Unexpected answer %r to SSLRequest from %s:%s (is this PostgreSQL?)' % (answer, address, port)
                )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if direct:
            ctx.set_alpn_protocols(['postgresql'])
        if cafile:
            ctx.load_verify_locations(cafile=cafile)
            ctx.check_hostname = True
            ctx.verify_mode = ssl.CERT_REQUIRED
            if strict and hasattr(ssl, 'VERIFY_X509_STRICT'):
                ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            tls = ctx.wrap_socket(sock, server_hostname=host)
        except ssl.SSLError as exc:
            raise PgsslConnError('TLS handshake with %s failed: %s' % (host, exc))
        except OSError as exc:
            # a server before PostgreSQL 17 hangs up on a direct ClientHello
            raise PgsslConnError(
                'TLS handshake with %s failed: %s%s'
                % (host, exc, ' (direct TLS needs PostgreSQL 17 or later)' if direct else '')
            )
        except ssl.CertificateError as exc:  # pragma: no cover - subclass of SSLError on 3.7+
            raise PgsslConnError('TLS handshake with %s failed: %s' % (host, exc))
        try:
            cipher = tls.cipher() or (None, None, None)
            return {
                'ssl': True,
                'certificate_der': tls.getpeercert(binary_form=True),
                'protocol': tls.version(),
                'cipher': cipher[0],
                'bits': cipher[2],
                'elapsed_ms': _ms(start),
            }
        finally:
            try:
                tls.close()
            except OSError:
                pass
    finally:
        sock.close()


def probe_plain(host, port=5432, hostaddr=None, user='postgres', dbname='postgres', timeout=5.0):
    """Does plain TCP (no TLS) reach authentication? No credentials needed.

    Sends a protocol 3.0 startup packet without an SSLRequest and reads the first answer. An
    authentication request (``R``) means a pg_hba.conf line let the plain connection through;
    an error with SQLSTATE 28000 ("no pg_hba.conf entry ... no encryption", "pg_hba.conf
    rejects connection"), or PgBouncer's 08P01 "SSL required", means it was refused. Nothing is
    answered back: the connection is
    closed before any password would be asked for.

    Returns ``{'accepted': bool or None, 'answer': 'authentication'|'error', 'sqlstate',
    'message'}``; ``accepted`` is None when the answer says neither.
    """
    address = hostaddr or host
    if '\0' in user or '\0' in dbname:
        # a NUL ends a field of the startup packet: the server would read other names
        raise PgsslConnError('The user or database name holds a NUL character; refusing to send it.')
    body = (
        b''.join(
            k.encode('utf-8') + b'\0' + v.encode('utf-8') + b'\0'
            for k, v in (('user', user), ('database', dbname), ('application_name', 'pgssl.probe'))
        )
        + b'\0'
    )
    packet = struct.pack('!ii', len(body) + 8, 196608) + body
    try:
        sock = socket.create_connection((address, port), timeout)
    except OSError as exc:
        raise PgsslConnError('Cannot connect to %s:%s: %s' % (address, port, exc))
    try:
        sock.sendall(packet)
        head = _recv_exactly(sock, 5)
        kind, length = head[:1], struct.unpack('!i', head[1:])[0]
        if kind == b'R':
            return {'accepted': True, 'answer': 'authentication', 'sqlstate': None, 'message': None}
        if kind != b'E' or not 4 <= length <= 65536:
            raise PgsslConnError(
                'Unexpected answer %r to a startup packet from %s:%s (is this PostgreSQL?)' % (kind, address, port)
            )
        fields = {}
        for part in _recv_exactly(sock, length - 4).split(b'\0'):
            if part:
                fields[part[:1]] = part[1:].decode('utf-8', 'replace')
        state = fields.get(b'C')
        # PgBouncer with client_tls_sslmode require or stricter: 08P01 "SSL required"
        refused = state == '28000' or (state == '08P01' and fields.get(b'M') == 'SSL required')
        return {
            'accepted': False if refused else None,
            'answer': 'error',
            'sqlstate': state,
            'message': fields.get(b'M'),
        }
    except OSError as exc:
        raise PgsslConnError('Plain startup to %s:%s failed: %s' % (address, port, exc))
    finally:
        sock.close()


def _recv_exactly(sock, count):
    data = b''
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise PgsslConnError('The server closed the connection during the startup.')
        data += chunk
    return data


def _ms(start):
    return int((time.monotonic() - start) * 1000)


# --------------------------------------------------------------------------- psycopg connections


def connection_argspec():
    """Options shared by the modules that log in to PostgreSQL (see the connection doc fragment)."""
    return dict(
        login_host=dict(type='str'),
        login_hostaddr=dict(type='str'),
        login_port=dict(type='int', default=5432),
        login_unix_socket=dict(type='str'),
        login_user=dict(type='str', default='postgres'),
        login_password=dict(type='str', no_log=True),
        login_db=dict(type='str', default='postgres'),
        login_sslmode=dict(
            type='str', default='prefer', choices=['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
        ),
        login_sslrootcert=dict(type='path'),
        login_sslcert=dict(type='path'),
        login_sslkey=dict(type='path'),
        login_sslpassword=dict(type='str', no_log=True),
        connect_timeout=dict(type='int', default=10),
    )


def tls_probe_argspec():
    """Where the credential-free TLS handshake reaches the server (the tls_probe doc fragment)."""
    return dict(tls_host=dict(type='str'), tls_hostaddr=dict(type='str'), tls_port=dict(type='int'))


def login_params(params):
    """libpq keywords from the login_* options (the password is passed as a keyword, never in
    a connection string or on a command line)."""
    conn = {
        'dbname': params['login_db'],
        'user': params['login_user'],
        'port': params['login_port'],
        'connect_timeout': params['connect_timeout'],
        'application_name': 'pgssl.postgresql',
    }
    if params.get('login_unix_socket'):
        conn['host'] = params['login_unix_socket']
    elif params.get('login_host'):
        conn['host'] = params['login_host']
        conn['sslmode'] = params['login_sslmode']
        for key in ('sslrootcert', 'sslcert', 'sslkey', 'sslpassword'):
            if params.get('login_' + key):
                conn[key] = params['login_' + key]
    if params.get('login_hostaddr'):
        conn['hostaddr'] = params['login_hostaddr']
    if params.get('login_password'):
        conn['password'] = params['login_password']
    return conn


def connect(conn_params):
    psycopg, error = load_psycopg()
    if psycopg is None:
        raise PgsslConnError('psycopg 3 is needed on the host that runs this module: %s' % error)
    try:
        return psycopg.connect(autocommit=True, **conn_params)
    except psycopg.Error as exc:
        raise PgsslConnError('Cannot connect to PostgreSQL: %s' % clean_error(exc))


def clean_error(exc):
    """One readable line from a psycopg error (no connection string, no password)."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return ' '.join(lines)[:500] if lines else exc.__class__.__name__


def query(conn, sql, args=None):
    """Rows as dicts. A server error (the connection lost mid-run, a permission refused) is a
    PgsslConnError with the server's message, never a traceback."""
    psycopg, _error = load_psycopg()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            if cur.description is None:
                return []
            names = [d.name for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
    except psycopg.Error as exc:
        raise PgsslConnError('PostgreSQL refused a query of this module: %s' % clean_error(exc))
