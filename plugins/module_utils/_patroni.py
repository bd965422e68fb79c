# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Patroni target: PostgreSQL settings and pg_hba rules set where Patroni takes them, in
the cluster-wide dynamic configuration (the DCS), through a member's REST API.

Patroni owns postgresql.conf and (when its configuration lists ``postgresql.pg_hba``)
pg_hba.conf, and rewrites both at its next reload; a change made in those files is undone. So
the settings go to ``postgresql.parameters`` and the rules to ``postgresql.pg_hba`` of the
dynamic configuration (``GET``/``PATCH /config``), which every member applies with a
PostgreSQL reload (no restart for ssl_* and pg_hba). The rules are placed in Patroni's list by
the same editor as a pg_hba.conf file (``_pghba``), so they are reachable and marked as ours.

What each member then serves is proven by the caller (a TLS handshake per member): Patroni
applies the change asynchronously, within ``loop_wait`` of ``POST /reload``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import ssl
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniyaml as pyaml
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pghba as pghba
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

# an answer of the REST API is small; a bigger one is refused, not read
MAX_ANSWER = 4 << 20


class PatroniError(PgsslError):
    default_code = 'patroni'


class PatroniTlsError(PatroniError):
    default_code = 'patroni_tls'


class _Overdue(Exception):
    pass


class _deadline(object):
    """The whole call (connect, headers, body) ends within ``seconds``: a server that answers a
    byte at a time would otherwise hold every socket read just under the timeout. SIGALRM, in
    the main thread only (where a module runs)."""

    def __init__(self, seconds, target):
        self.seconds, self.target = max(1, int(seconds)), target
        self.saved = None

    def _ring(self, signum, frame):
        raise _Overdue()

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread() and hasattr(signal, 'setitimer'):
            self.saved = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, kind, value, trace):
        import signal

        if self.saved is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.saved)
        if kind is _Overdue:
            raise PatroniError(
                'Patroni\'s REST API at %s did not finish its answer within %d s.' % (self.target, self.seconds),
                'rest_unreachable',
            )
        return False


def trusted_origin(url, rest_url, member_hosts):
    """Whether a member's ``api_url`` (read from the DCS, which any member can write) may receive
    this module's credentials: its host must be the one of ``rest_url`` or one the operator
    named in ``member_hosts``."""
    from ansible.module_utils.six.moves.urllib.parse import urlsplit

    try:
        parts, ours = urlsplit(url), urlsplit(rest_url)
    except ValueError:
        return False
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        return False
    allowed = set([ours.hostname]) | set(h.strip('[]').lower() for h in member_hosts or [])
    return parts.hostname.lower() in allowed


class Rest(object):
    """Patroni's REST API at ``url`` (http or https), with an optional CA file, client
    certificate and basic authentication, every call bounded by ``timeout``."""

    def __init__(self, url, cafile=None, certfile=None, keyfile=None, username=None, password=None, timeout=10):
        self._private = None
        self.url = url.rstrip('/')
        if not (self.url.startswith('http://') or self.url.startswith('https://')):
            raise PatroniError('rest_url %r: give http://HOST:PORT or https://HOST:PORT.' % url, 'bad_value')
        self.timeout = timeout
        self.username, self.password = username, password
        self.cafile, self.certfile, self.keyfile = cafile, certfile, keyfile
        if cafile or certfile or keyfile:
            self._copy_files()

    def _copy_files(self):
        """The CA file, certificate and key as this process reads them safely (no link someone
        else planted, regular files, bounded), in a private directory of its own: the files may
        sit where the server user can write (a member's slot), and the TLS library would follow
        whatever it finds at their names."""
        import shutil
        import tempfile

        self._private = tempfile.mkdtemp(prefix='pgssl-rest-')
        try:
            for attr, what, secret in (
                ('cafile', 'REST CA file', False),
                ('certfile', 'REST client certificate', False),
                ('keyfile', 'REST client key', True),
            ):
                path = getattr(self, attr)
                if not path:
                    continue
                st = files.stat_file(path)
                owners = [st.st_uid] if st is not None else None
                data = files.read_bytes(path, what, secret=secret, owners=owners, follow=not secret)
                if data is None:
                    raise PatroniError('The %s %s does not exist.' % (what, path), 'bad_value')
                copy = os.path.join(self._private, attr)
                fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(data)
                setattr(self, attr, copy)
        except Exception:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
            raise

    def close(self):
        if self._private:
            import shutil

            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def __del__(self):
        self.close()

    def call(self, method, path, body=None, url=None):
        from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
        from ansible.module_utils.urls import open_url

        target = (url or self.url).rstrip('/') + path
        headers = {'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        auth = {}
        if self.username and method != 'GET':
            auth = dict(url_username=self.username, url_password=self.password or '', force_basic_auth=True)
        with _deadline(self.timeout * 2 + 1, target):
            return self._call(open_url, HTTPError, URLError, method, target, data, headers, auth)

    def _call(self, open_url, HTTPError, URLError, method, target, data, headers, auth):
        try:
            answer = open_url(
                target,
                data=data,
                headers=headers,
                method=method,
                timeout=self.timeout,
                use_proxy=False,
                validate_certs=True,
                ca_path=self.cafile,
                client_cert=self.certfile,
                client_key=self.keyfile,
                follow_redirects='none',
                use_netrc=False,
                **auth,
            )
            try:
                raw = answer.read(MAX_ANSWER + 1)
                status = answer.getcode()
            finally:
                answer.close()
        except HTTPError as exc:
            raw = exc.read(MAX_ANSWER + 1)
            status = exc.code
        except (URLError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise PatroniError('Patroni\'s REST API at %s does not answer: %s' % (target, reason), 'rest_unreachable')
        if len(raw) > MAX_ANSWER:
            raise PatroniError('Patroni\'s REST API at %s answered more than %d bytes.' % (target, MAX_ANSWER))
        text = raw.decode('utf-8', 'replace')
        try:
            value = json.loads(text) if text.strip() else None
        except ValueError:
            value = text.strip()
        return status, value

    def get(self, path, url=None):
        status, value = self.call('GET', path, url=url)
        if status != 200:
            raise PatroniError('GET %s answered %s: %s' % (path, status, str(value)[:200]))
        return value


def _parameters(config):
    return dict(((config or {}).get('postgresql') or {}).get('parameters') or {})


def parameter_changes(current, wanted):
    """{name: value or None} to send, comparing values as the server reads them."""
    changes = {}
    for name, value in (wanted or {}).items():
        if value is None:
            if name in current:
                changes[name] = None
            continue
        pgconf.check_value(name, value)
        if name not in current or not pgconf.same_value(str(current[name]), value, name):
            changes[name] = value
    return changes


def hba_plan(base_lines, rules, major, require_ssl, purge):
    """Patroni's pg_hba list with the rules placed as in a pg_hba.conf file: (new list, actions)."""
    for line in base_lines:
        if not isinstance(line, str) or '\n' in line or '\r' in line:
            raise PatroniError('postgresql.pg_hba holds an entry that is not one line: %r' % (line,), 'bad_value')
    text = ''.join(line + '\n' for line in base_lines)
    lines, actions, _present = pghba.plan(text, rules, major, require_ssl, None, purge, 'postgresql.pg_hba')
    return pghba.render(lines).split('\n')[:-1], actions


# the header Patroni writes above the list in pg_hba.conf (not a line of the list)
PATRONI_HEADER = ('# Do not edit this file manually!', '# It will be overwritten by Patroni!')


def file_list(raw):
    """A pg_hba.conf as a list of Patroni's: one entry per line, Patroni's own header left out."""
    lines = [line for line in txt.decode(raw).split('\n') if line.strip() not in PATRONI_HEADER]
    if lines and lines[-1] == '':
        lines.pop()
    return lines


def base_list(listed, hba_file, where):
    """The pg_hba list the rules are placed in: ``listed`` (Patroni's list in ``where``), else
    the member's pg_hba.conf as the server reads it now (what Patroni wrote, or nobody did)."""
    if listed is not None:
        if not isinstance(listed, list):
            raise PatroniError('postgresql.pg_hba of %s is not a list.' % where, 'bad_value')
        return list(listed)
    if not hba_file:
        raise PatroniError(
            "%s has no postgresql.pg_hba: give hba_file (the member's pg_hba.conf) as the list to start from, "
            'so no rule of it is lost.' % where,
            'no_hba_list',
        )
    raw = files.read_bytes(hba_file, 'pg_hba.conf')
    if raw is None:
        raise PatroniError('%s does not exist.' % hba_file, 'no_hba_list')
    return file_list(raw)


def read_config(path, error=PatroniError):
    """A member's patroni.yml as text (bounded, UTF-8), read by the caller's user."""
    return files.read_text(path, 'Patroni configuration file', error, 'patroni_config', limit=pyaml.MAX_TEXT)


def check_list_args(p):
    """pg_hba_lines and remove_pg_hba replace the whole list, alone."""
    if p['hba_rules'] or p['require_ssl'] != 'none' or p['purge_managed']:
        raise PatroniError(
            'pg_hba_lines and remove_pg_hba replace the whole list: give them without hba_rules, '
            'require_ssl or purge_managed.',
            'bad_value',
        )
    if p['remove_pg_hba'] and p['pg_hba_lines'] is not None:
        raise PatroniError('Give pg_hba_lines or remove_pg_hba, not both.', 'bad_value')
    if p['pg_hba_lines'] is not None and not p['pg_hba_lines']:
        raise PatroniError('pg_hba_lines is empty: to drop the list, say remove_pg_hba.', 'bad_value')
    for line in p['pg_hba_lines'] or []:
        if '\n' in line or '\r' in line or '\0' in line:
            raise PatroniError('pg_hba_lines: a line holds a line break or NUL.', 'bad_value')


def run(module):
    p = module.params
    if not p['rest_url']:
        raise PatroniError('scope=dcs needs rest_url, a member\'s REST API.', 'bad_value')
    rest = Rest(
        p['rest_url'],
        p['rest_cafile'],
        p['rest_certfile'],
        p['rest_keyfile'],
        p['rest_username'],
        p['rest_password'],
        p['connect_timeout'],
    )
    try:
        return _run(module, p, rest)
    finally:
        rest.close()


def _run(module, p, rest):
    config = rest.get('/config') or {}
    if not isinstance(config, dict):
        raise PatroniError('GET /config did not answer a configuration: %s' % str(config)[:200])
    cluster = rest.get('/cluster') or {}
    members = [
        {
            'name': m.get('name'),
            'role': m.get('role'),
            'state': m.get('state'),
            'host': m.get('host'),
            'port': m.get('port'),
            'api_url': m.get('api_url'),
        }
        for m in cluster.get('members', [])
    ]
    current = _parameters(config)
    module.no_log_values.update(pgconf.secret_values(p['parameters'] or {}))
    module.no_log_values.update(pgconf.secret_values(current))
    changes = parameter_changes(current, p['parameters'])
    patch = {}
    if changes:
        patch.setdefault('postgresql', {})['parameters'] = changes
    result = {'changed': False, 'members': members, 'parameters_changed': sorted(changes)}
    hba_before = hba_after = None
    if p['pg_hba_lines'] is not None or p['remove_pg_hba']:
        # the list exactly as given, or none (the rollback of an earlier change puts it back so)
        check_list_args(p)
        hba_before = (config.get('postgresql') or {}).get('pg_hba')
        hba_after = None if p['remove_pg_hba'] else list(p['pg_hba_lines'])
        if hba_after != hba_before:
            patch.setdefault('postgresql', {})['pg_hba'] = hba_after
    elif p['hba_rules'] or p['require_ssl'] != 'none' or p['purge_managed']:
        listed = base_list((config.get('postgresql') or {}).get('pg_hba'), p['hba_file'], 'The dynamic configuration')
        hba_before = list(listed)
        hba_after, actions = hba_plan(listed, p['hba_rules'], p['pg_version'], p['require_ssl'], p['purge_managed'])
        if hba_after != hba_before:
            patch.setdefault('postgresql', {})['pg_hba'] = hba_after
            result['hba_actions'] = actions
    result['changed'] = bool(patch)
    if module._diff and patch:
        before = {'parameters': dict((k, current.get(k)) for k in changes)}
        after = {'parameters': dict((k, v) for k, v in changes.items())}
        if hba_before is not None and hba_after != hba_before:
            before['pg_hba'], after['pg_hba'] = hba_before, hba_after
        shown = pgconf.secret_values(current)
        result['diff'] = {
            'before_header': '%s/config' % rest.url,
            'after_header': '%s/config' % rest.url,
            'before': _masked(before, shown),
            'after': _masked(after, shown),
        }
    if patch:
        # what puts the dynamic configuration back (the role's rollback passes it on)
        result['previous'] = {'parameters': dict((k, current.get(k)) for k in changes)}
        if 'pg_hba' in patch.get('postgresql', {}):
            result['previous']['pg_hba'] = (config.get('postgresql') or {}).get('pg_hba')
    if not patch or module.check_mode:
        return result
    status, answer = rest.call('PATCH', '/config', patch)
    if status != 200:
        raise PatroniError('PATCH /config answered %s: %s' % (status, str(answer)[:300]), 'patch_refused')
    try:
        return _after_patch(rest, p, members, patch, result)
    except PgsslError as exc:
        # the dynamic configuration did change: the caller's rollback needs what it replaced
        from ansible_collections.pgssl.postgresql.plugins.module_utils._module import TaskFailed

        raise TaskFailed(str(exc), code=exc.code, previous=result['previous'], patched=True)


def _after_patch(rest, p, members, patch, result):
    # every member applies it at its next cycle; a reload asks for that cycle now
    asked = []
    for member in members:
        if not member['api_url']:
            continue
        if not trusted_origin(member['api_url'], rest.url, p['member_hosts']):
            # Patroni applies the change at its next cycle anyway; root's credentials stay home
            asked.append({'name': member['name'], 'status': 'skipped: not rest_url\'s host nor in member_hosts'})
            continue
        status, _answer = rest.call('POST', '/reload', {}, url=member['api_url'].rsplit('/patroni', 1)[0])
        asked.append({'name': member['name'], 'status': status})
    result['reloads'] = asked
    result['applied'] = _wait_applied(rest, patch, p['timeout'])
    return result


def _masked(value, secrets):
    text = json.dumps(value, indent=1, sort_keys=True, default=str)
    for secret in secrets:
        if secret:
            text = text.replace(json.dumps(secret)[1:-1], '********')
    return text + '\n'


def _same(have, want, name):
    return have is not None and pgconf.same_value(str(have), want, name)


def _wait_applied(rest, patch, timeout):
    """The dynamic configuration holds the patch (Patroni stores it before any member applies)."""
    deadline = time.time() + timeout
    while True:
        config = rest.get('/config') or {}
        params = _parameters(config)
        ok = all(
            (name not in params) if value is None else _same(params.get(name), value, name)
            for name, value in ((patch.get('postgresql') or {}).get('parameters') or {}).items()
        )
        if 'pg_hba' in (patch.get('postgresql') or {}):
            ok = ok and (config.get('postgresql') or {}).get('pg_hba') == patch['postgresql']['pg_hba']
        if ok:
            return True
        if time.time() > deadline:
            raise PatroniError('The dynamic configuration does not show the change %ds after PATCH /config.' % timeout)
        time.sleep(0.5)
