# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""patroni_config against REST APIs that misbehave, on loopback: one that never answers, one
that answers a byte at a time, one that answers too much, and a DCS whose member entry points
its api_url elsewhere. Each call ends within its deadline, and root's REST credentials go
nowhere the operator did not name."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import run_module

HOSTILE_IP, CAPTURE_IP = '127.0.0.120', '127.0.0.121'


class _Raw(threading.Thread):
    """A TCP server on (ip, port) that hands each connection to ``behave(conn)``."""

    def __init__(self, ip, port, behave):
        super().__init__(daemon=True)
        self.sock = socket.create_server((ip, port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.behave, self.halt = behave, threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.behave(conn, self.halt)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.halt.set()
        self.join(timeout=5)
        self.sock.close()


def _silent(conn, halt):
    halt.wait(60)


def _trickle(conn, halt):
    conn.recv(65536)
    for byte in b'HTTP/1.1 200 OK\r\nX-Slow: ' + b'a' * 10000:
        if halt.wait(0.5):
            return
        conn.sendall(bytes([byte]))


def _huge(conn, halt):
    conn.recv(65536)
    size = 10 << 20
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n' % size)
    chunk = b' ' * 65536
    for _i in range(size // len(chunk)):
        if halt.is_set():
            return
        conn.sendall(chunk)


@pytest.mark.parametrize('behave, words', [(_silent, 'does not answer'), (_trickle, 'within'), (_huge, 'more than')])
def test_a_rest_api_that_misbehaves_fails_the_call_in_time(behave, words):
    server = _Raw(HOSTILE_IP, 8008, behave)
    server.start()
    try:
        started = time.time()
        got = run_module(
            'patroni_config', rest_url='http://%s:8008' % HOSTILE_IP, connect_timeout=2, parameters={'ssl': 'on'}
        )
        elapsed = time.time() - started
    finally:
        server.stop()
    assert got.get('failed') and words in got['msg'], got
    assert elapsed < 20, elapsed


class _Patroni(BaseHTTPRequestHandler):
    """Enough of Patroni's API for patroni_config: /config (GET, PATCH), /cluster, /reload."""

    config = {}
    members = []
    seen = []

    def log_message(self, *args):
        pass

    def _send(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        type(self).seen.append(('GET', self.path, self.headers.get('Authorization')))
        if self.path == '/config':
            self._send(200, type(self).config)
        elif self.path == '/cluster':
            self._send(200, {'members': type(self).members})
        else:
            self._send(404, {})

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        type(self).seen.append(('PATCH', self.path, self.headers.get('Authorization')))
        params = type(self).config.setdefault('postgresql', {}).setdefault('parameters', {})
        params.update((body.get('postgresql') or {}).get('parameters') or {})
        self._send(200, type(self).config)

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        type(self).seen.append(('POST', self.path, self.headers.get('Authorization')))
        self._send(200, {})


def _serve(ip, handler):
    server = ThreadingHTTPServer((ip, 8008), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    thread.start()
    return server


@pytest.mark.parametrize('named', [False, True])
def test_credentials_go_only_to_the_members_the_operator_named(named):
    """The DCS's member list names an api_url on another host. Unnamed, that host gets nothing
    (the reload there is skipped and said so); named in member_hosts, it is asked to reload."""
    dcs = type(
        'Dcs',
        (_Patroni,),
        {
            'config': {},
            'seen': [],
            'members': [
                {'name': 'm1', 'role': 'leader', 'state': 'running', 'api_url': 'http://%s:8008/patroni' % HOSTILE_IP},
                {
                    'name': 'evil',
                    'role': 'replica',
                    'state': 'running',
                    'api_url': 'http://%s:8008/patroni' % CAPTURE_IP,
                },
            ],
        },
    )
    capture = type('Capture', (_Patroni,), {'config': {}, 'seen': [], 'members': []})
    servers = [_serve(HOSTILE_IP, dcs), _serve(CAPTURE_IP, capture)]
    try:
        got = run_module(
            'patroni_config',
            rest_url='http://%s:8008' % HOSTILE_IP,
            rest_username='patroni',
            rest_password='rest-secret-not-for-others',
            member_hosts=[CAPTURE_IP] if named else [],
            parameters={'ssl': 'on'},
            timeout=5,
        )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert not got.get('failed'), got
    assert ('PATCH', '/config') in [(m, path) for m, path, _auth in dcs.seen]
    reloads = dict((r['name'], r['status']) for r in got['reloads'])
    assert reloads['m1'] == 200
    if named:
        assert reloads['evil'] == 200 and [m for m, _p, _a in capture.seen] == ['POST']
    else:
        assert str(reloads['evil']).startswith('skipped') and capture.seen == []
    assert 'rest-secret-not-for-others' not in json.dumps(got)


@pytest.mark.parametrize(
    'args, words',
    [
        ({'pg_hba_lines': ['hostssl all all 0.0.0.0/0 cert\nhost all all 0.0.0.0/0 trust']}, 'line break'),
        ({'pg_hba_lines': []}, 'remove_pg_hba'),
        ({'pg_hba_lines': ['local all all peer'], 'remove_pg_hba': True}, 'not both'),
        ({'pg_hba_lines': ['local all all peer'], 'require_ssl': 'reject'}, 'replace the whole list'),
    ],
)
def test_a_list_to_put_back_that_patroni_would_read_otherwise_is_refused_before_any_patch(args, words):
    dcs = type(
        'Dcs', (_Patroni,), {'config': {'postgresql': {'pg_hba': ['local all all peer']}}, 'seen': [], 'members': []}
    )
    server = _serve(HOSTILE_IP, dcs)
    try:
        got = run_module('patroni_config', rest_url='http://%s:8008' % HOSTILE_IP, timeout=5, **args)
    finally:
        server.shutdown()
        server.server_close()
    assert got.get('failed') and got['code'] == 'bad_value' and words in got['msg'], got
    assert [m for m, _p, _a in dcs.seen if m != 'GET'] == []


def test_rest_client_files_planted_as_links_are_refused_before_any_request(tmp_path):
    """The REST client certificate, key and CA file may sit where Patroni's user can write (a
    member's slot): a link planted there to a root-only file is refused before any connection,
    and nothing of that file reaches the result."""
    import os
    import pwd

    pg = pwd.getpwnam('postgres')
    secret = tmp_path / 'root-only.pem'
    secret.write_text('-----BEGIN PRIVATE KEY-----\nROOTONLYSECRET\n-----END PRIVATE KEY-----\n')
    os.chmod(str(secret), 0o600)
    slot = tmp_path / 'slot'
    slot.mkdir()
    os.chown(str(slot), pg.pw_uid, pg.pw_gid)
    os.chmod(str(tmp_path), 0o755)
    for name in ('rest.key', 'rest.crt', 'ca.crt'):
        os.symlink(str(secret), str(slot / name))
        os.lchown(str(slot / name), pg.pw_uid, pg.pw_gid)
    for option, name in (('rest_keyfile', 'rest.key'), ('rest_certfile', 'rest.crt'), ('rest_cafile', 'ca.crt')):
        args = {option: str(slot / name)}
        if option == 'rest_keyfile':
            args['rest_certfile'] = str(secret)
        started = time.time()
        got = run_module(
            'patroni_config',
            rest_url='https://%s:8008' % HOSTILE_IP,
            connect_timeout=2,
            parameters={'ssl': 'on'},
            **args,
        )
        assert got.get('failed') and 'symbolic link' in got['msg'], (option, got)
        assert 'ROOTONLYSECRET' not in json.dumps(got) and time.time() - started < 30
