# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni's own TLS: its REST API's server certificate and the client certificate patronictl
and the other members present (``ctl``), from the fleet CA, set in the member's patroni.yml.

- Files: the member's key and certificate in one of two slots (``rest-a``, ``rest-b``) of a
  directory Patroni's OS user owns, and the CA bundle (``ca.crt``). A new certificate always
  goes into the free slot with a new key, and patroni.yml then names the new pair, so Patroni
  (which reads them at a reload or start) never meets a new certificate beside an old key,
  even when the run dies halfway.
- Settings: ``restapi.certfile/keyfile/cafile/verify_client`` and ``ctl.certfile/keyfile/
  cacert`` in patroni.yml, edited in place (``_patroniyaml``).
- Validate: the new pair and bundle load as Patroni loads them (``ssl.load_cert_chain``), as
  Patroni's user, before Patroni is told: a REST API that fails to load its certificate at a
  reload has already closed its old socket and stays down.
- Apply: SIGHUP to the Patroni process started with this file (what ``POST /reload`` does; no
  REST credential is needed, and a process of Patroni's user signals only its own processes).
- Prove: the REST API serves the new certificate, verified against the CA and the member's
  name; ``GET /patroni`` with the new client certificate answers; the cluster view lists the
  member at its https address (what patronictl and the other members use). A failed proof
  puts patroni.yml back and reloads again.

Everything that reads what Patroni's user can write (the slots, the process list) runs as that
user in a child process; root only makes the slot directory and rewrites patroni.yml, a path
the operator gave (a link planted at it is refused).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import ssl
import time

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroni as patroni
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronidcs as dcs
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronilocal as patronilocal
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniproc as patroniproc
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronireach as reach
from ansible_collections.pgssl.postgresql.plugins.module_utils import _patroniyaml as pyaml
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import test_hook

SLOTS = slots.SLOTS
CERT_REASONS = slots.CERT_REASONS + ('san_changed', 'not_served')
VERIFY_CLIENT = ('none', 'optional', 'required')


PatroniTlsError = patroni.PatroniTlsError


def slot_paths(directory, slot):
    return {
        'key': os.path.join(directory, 'rest-%s.key' % slot),
        'cert': os.path.join(directory, 'rest-%s.crt' % slot),
    }


def default_dir(config_file):
    return os.path.join(os.path.dirname(config_file), 'pgssl')


def check_params(p):
    """Refuse a bad value before anything is read or written."""
    if not os.path.isabs(p['config_file']):
        raise PatroniTlsError('config_file must be an absolute path.', 'bad_value')
    for key in ('tls_host', 'tls_hostaddr', 'common_name'):
        value = p[key] or ''
        if '\n' in value or '\r' in value:
            raise PatroniTlsError('%s: a line break is refused.' % key, 'bad_value')
    if p['state'] == 'install' and p['certificate'] and not p['slot']:
        raise PatroniTlsError('A certificate to install needs the slot the prepare step returned.', 'bad_value')
    return crypto.normalize_sans(p['subject_alt_names'] or [])


def wanted(p, directory, slot):
    """[(path in patroni.yml, value)] as they should be with ``slot`` in use."""
    paths = slot_paths(directory, slot)
    ca_path = os.path.join(directory, 'ca.crt')
    out = [
        (('restapi', 'certfile'), paths['cert']),
        (('restapi', 'keyfile'), paths['key']),
        (('restapi', 'cafile'), ca_path),
        (('restapi', 'verify_client'), p['verify_client']),
    ]
    if p['replication_verify']:
        # Patroni's own connections to the leader (streaming, pg_rewind) verify its server
        # certificate against the fleet CA and the leader's address, and present the member's
        # certificate (clientAuth), for clientcert= or cert authentication on the leader
        for user in p['_auth_users']:
            out += [
                (('postgresql', 'authentication', user, 'sslmode'), 'verify-full'),
                (('postgresql', 'authentication', user, 'sslrootcert'), ca_path),
                (('postgresql', 'authentication', user, 'sslcert'), paths['cert']),
                (('postgresql', 'authentication', user, 'sslkey'), paths['key']),
            ]
    if p['ctl']:
        out += [
            (('ctl', 'certfile'), paths['cert']),
            (('ctl', 'keyfile'), paths['key']),
            (('ctl', 'cacert'), ca_path),
        ]
    return out


def status(step, sans):
    """What is due (as Patroni's user); with ``prepare``, the new key and its CSR; with
    ``state=install``, the certificate and CA into their files and the new patroni.yml text."""
    p = step.params
    directory = p['dir']
    text = patroni.read_config(p['config_file'], PatroniTlsError)
    data = pyaml.load(text, p['config_file'])
    pids = patroniproc.patroni_pids(p['config_file'])
    overridden = patroniproc.environment_overrides(pids)
    if overridden:
        raise PatroniTlsError(
            'Patroni runs with %s in its environment, which wins over patroni.yml: remove them (and restart '
            'Patroni) before this module manages its TLS.' % ', '.join(overridden),
            'patroni_environment',
        )
    restapi = data.get('restapi') or {}
    current = {'sslcert': restapi.get('certfile'), 'sslkey': restapi.get('keyfile')}
    in_use = slots.slot_in_use(current, directory, paths_of=slot_paths)
    reasons = [] if in_use else ['not_linked']
    cert = {}
    bundle = (p['ca_bundle'] or '').strip()
    ca_path = os.path.join(directory, 'ca.crt')
    ca_data = b''
    host, address, port = reach.rest_address(p, data)
    if not bundle:
        # check mode before the CA exists, or a read-only caller without it (the audit): the
        # certificate in use is still described
        reasons.append('ca_missing')
        raw = files.read_bytes(slot_paths(directory, in_use)['cert'], 'REST API certificate') if in_use else None
        leaf = slots.certs_or_none(raw)
        cert = crypto.describe_certificate(leaf[0]) if leaf else {}
    else:
        ca_data = b''.join(crypto.dump_certificate(c) for c in crypto.load_certificates(bundle, 'ca_bundle'))
        if files.read_bytes(ca_path, 'CA bundle') != ca_data:
            reasons.append('ca_changed')
        if in_use:
            found, cert = slots.cert_reasons(
                slot_paths(directory, in_use), p, os.geteuid(), sans=sans, profile='pooler', what='REST API'
            )
            reasons.extend(found)
            if not found and 'ca_changed' not in reasons:
                got, _error = reach.served(host, address, port, None, p['timeout'])
                if got != cert.get('fingerprint_sha256'):
                    reasons.append('not_served')
    if p['force'] and 'forced' not in reasons:
        reasons.append('forced')
    # what the CA rollover reads: the keys ca.crt trusts, the key of the certificate's CA
    ca_file_keys, issuer_key = slots.rollover_facts(
        ca_path, slot_paths(directory, in_use) if in_use else None, bundle, 'REST API certificate'
    )
    cert = dict(cert, issuer_key_fingerprint=issuer_key) if cert else cert
    renew = any(r in CERT_REASONS for r in reasons)
    slot = (SLOTS[1] if in_use == SLOTS[0] else SLOTS[0]) if renew else in_use
    if p['state'] == 'install' and p['slot']:
        slot = p['slot']
    auth = (data.get('postgresql') or {}).get('authentication') or {}
    p['_auth_users'] = [u for u in ('replication', 'rewind') if isinstance(auth.get(u), dict)]
    if p['replication_verify'] and 'replication' not in p['_auth_users']:
        raise PatroniTlsError(
            'replication_verify: %s has no postgresql.authentication.replication to verify the leader with.'
            % p['config_file'],
            'patroni_config',
        )
    changes = wanted(p, directory, slot or SLOTS[0])
    if p['dcs_tls']:
        changes += dcs.wanted(p, data, directory)
        if in_use and not renew and dcs.pem_stale(directory, slot_paths(directory, in_use)):
            reasons.append('dcs_client_stale')
    new_text, changed_keys = pyaml.edit(text, changes, p['config_file'])
    if changed_keys:
        reasons.append('settings_changed')
    restart = dcs.restart_keys(changed_keys)
    result = {
        'changed': False,
        'due': bool(reasons),
        'reasons': reasons,
        'renew': renew,
        'dir': directory,
        'slot_in_use': in_use,
        'slot': slot,
        'paths': slot_paths(directory, slot or SLOTS[0]),
        'certificate': cert,
        'member': data.get('name'),
        'scope': data.get('scope'),
        'rest': {'host': host, 'address': address, 'port': port},
        'settings': dict(('.'.join(path), pyaml.get(data, path)) for path, _v in changes),
        'wanted': dict(('.'.join(path), value) for path, value in changes),
        'changed_settings': changed_keys,
        'restart_needed': bool(restart),
        'ca_file_keys': ca_file_keys,
        'pids': pids,
        'local': patronilocal.local_login(data),
        'common_name': p['common_name'],
        'subject_alt_names': list(sans),
    }
    if p['member_view'] and in_use:
        # the audit: the member as the cluster lists it, asked with the slot's own certificate
        plan = {'paths': slot_paths(directory, in_use), 'member': data.get('name')}
        try:
            view = reach.member_view(result['rest'], ca_path, plan, min(10, p['timeout']))
        except (PgsslError, OSError, ssl.SSLError, ValueError) as exc:
            view = {'error': str(getattr(exc, 'reason', None) or exc)}
        result['member_view'] = dict(
            (k, v)
            for k, v in (view or {'error': 'not in the cluster view'}).items()
            if k in ('role', 'state', 'api_url', 'error')
        )
    if step.check_mode:
        return result
    if p['state'] == 'status':
        if renew and p['prepare']:
            result['csr'] = slots.new_slot_key(directory, result['paths']['key'], p, sans, 'pooler')
        return result
    if renew and not p['certificate']:
        raise PatroniTlsError('A new certificate is due (%s): give the signed one.' % ', '.join(reasons), 'missing')
    if restart:
        # before anything is written: only an opted-in restart of a replica applies these
        if not (p['allow_restart'] and p['restart_command']):
            raise PatroniTlsError(
                '%s only apply when Patroni restarts (it stops and starts PostgreSQL on this member): set '
                'allow_restart and restart_command to let this module restart it, replicas first and the leader '
                'after a switchover. Nothing was changed.' % ', '.join(restart),
                'restart_needed',
            )
        dcs.refuse_leader(result['local'])
    if p['certificate']:
        result['certificate'] = slots.install_slot_cert(
            p, slot_paths(directory, slot), sans, 'REST API', PatroniTlsError
        )
        result['changed'] = True
    if 'ca_changed' in reasons:
        files.write_atomic(ca_path, ca_data, mode=0o644)
        result['changed'] = True
    if p['dcs_tls'] and (p['certificate'] or 'dcs_client_stale' in reasons or restart):
        dcs.write_pem(directory, slot_paths(directory, slot or SLOTS[0]))
        result['changed'] = True
    if changed_keys:
        result['old_text'] = text
        result['new_text'] = new_text
    return result


def validate(plan, dcs_tls=False):
    """The pair and the bundle load as Patroni loads them, read as Patroni's user (and the DCS
    client's file as its client loads it)."""
    paths, ca_path = plan['paths'], os.path.join(plan['dir'], 'ca.crt')
    try:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca_path)
        ctx.load_cert_chain(certfile=paths['cert'], keyfile=paths['key'])
        if dcs_tls:
            pem = dcs.pem_path(plan['dir'])
            ssl.create_default_context(cafile=ca_path).load_cert_chain(certfile=pem, keyfile=pem)
    except (OSError, ssl.SSLError) as exc:
        raise PatroniTlsError(
            'Patroni could not load %s with %s and %s: %s; nothing was reloaded.'
            % (paths['cert'], paths['key'], ca_path, getattr(exc, 'reason', None) or exc),
            'invalid_pair',
        )


def apply(step, plan):
    """Validate, reload and prove (as Patroni's user). Returns the proof, or raises with what it saw."""
    p = step.params
    if plan.get('restarted_at') is None:
        validate(plan, p['dcs_tls'])
        # (after a restart no SIGHUP: one before Patroni sets its handlers would end it)
        patroniproc.signal_reload(plan, p['config_file'])
    test_hook('patroni_tls_reload')
    rest = plan['rest']
    ca_path = os.path.join(plan['dir'], 'ca.crt')
    expect = plan['certificate'].get('fingerprint_sha256')
    deadline = time.time() + p['timeout']
    got, error, member = None, None, None
    while True:
        got, error = reach.served(rest['host'], rest['address'], rest['port'], ca_path, min(10, p['timeout']))
        if got == expect:
            try:
                member = reach.member_view(rest, ca_path, plan, min(10, p['timeout']))
            except (PgsslError, OSError, ssl.SSLError, ValueError) as exc:
                error = str(getattr(exc, 'reason', None) or exc)
            back = dcs.fresh(member, plan['restarted_at']) if plan.get('restarted_at') is not None else None
            if member and str(member.get('api_url', '')).startswith('https://') and not back:
                break
            error = (
                error
                or back
                or 'the cluster view still lists %s at %s' % (plan['member'], (member or {}).get('api_url'))
            )
        if time.time() > deadline:
            raise PatroniTlsError(
                'Patroni\'s REST API does not serve the new certificate as expected within %d s (%s; expected %s). '
                'See Patroni\'s log.' % (p['timeout'], error or got, expect),
                'not_served',
            )
        time.sleep(0.5)
    streaming = None
    if p['replication_verify']:
        streaming = patronilocal.replication_proof(plan['local'], deadline)
    removed = []
    other = slot_paths(plan['dir'], SLOTS[1] if plan['slot'] == SLOTS[0] else SLOTS[0])
    for path in (other['key'], other['cert']):
        if files.remove(path):
            removed.append(path)
    out = {'served_fingerprint': got, 'api_url': member['api_url'], 'role': member.get('role'), 'removed': removed}
    if plan.get('restarted_at') is not None:
        out['dcs_last_seen'] = member.get('dcs_last_seen')
    if streaming is not None:
        out['replication'] = streaming
    return out


def reload_only(step, plan):
    """SIGHUP (to put the old configuration back in force after a failed proof)."""
    patroniproc.signal_reload(plan, step.params['config_file'])
    return {}


def _diff(plan, old_text, new_text):
    return {
        'before_header': plan['config_file'],
        'after_header': plan['config_file'],
        'before': pyaml.masked(old_text),
        'after': pyaml.masked(new_text),
    }


def _write_config(path, old_text, new_text, backup):
    return slots.rewrite_text(
        path, old_text, new_text, backup, 'Patroni configuration file', PatroniTlsError, 'patroni_config'
    )


def run(module):
    from ansible_collections.pgssl.postgresql.plugins.module_utils._module import Step, TaskFailed

    # the child that drops to Patroni's user can no longer read the module's payload
    import json  # noqa: F401 pylint: disable=unused-import

    p = dict(module.params)
    p['config_file'] = os.path.normpath(p['config_file'] or '')
    sans = check_params(p)
    p['dir'] = os.path.normpath(p['dir'] or default_dir(p['config_file']))
    if (p['ca_bundle'] or '').strip() or (p['state'] == 'install' and not module.check_mode):
        crypto.load_certificates(p['ca_bundle'], 'ca_bundle')
    step = Step(module, p)
    made, as_user = slots.slot_owner(module, p, 'Patroni', PatroniTlsError)
    plan = as_user(lambda: status(step, sans))
    old_text = plan.pop('old_text', None)
    new_text = plan.pop('new_text', None)
    plan['config_file'] = p['config_file']
    result = dict(plan, changed=bool(plan['changed'] or made or 'csr' in plan))
    if plan['changed_settings'] and module._diff:
        if old_text is None:
            # check mode and status: the plan's text was not passed back; the diff is of the keys
            result['diff'] = {
                'before_header': p['config_file'],
                'after_header': p['config_file'],
                'before': ''.join('%s: %s\n' % (k, plan['settings'].get(k)) for k in plan['changed_settings']),
                'after': ''.join('%s: %s\n' % (k, plan['wanted'][k]) for k in plan['changed_settings']),
            }
        else:
            result['diff'] = _diff(plan, old_text, new_text)
    if p['state'] == 'status':
        return result
    if module.check_mode:
        result['changed'] = plan['due']
        return result
    wrote = False
    if new_text is not None:
        saved = _write_config(p['config_file'], old_text, new_text, p['backup'])
        wrote = True
        result['changed'] = True
        if saved:
            result['backup_file'] = saved
    if not (wrote or plan['changed'] or plan['due']):
        return result
    try:
        if plan['restart_needed']:
            # the opted-in restart (status refused a leader): the pair and the DCS client's file
            # load first, as Patroni's user, then the operator's command as root
            as_user(lambda: validate(plan, True))
            plan['restarted_at'] = dcs.run_restart(p)
            result['restarted'] = True
        proof = as_user(lambda: apply(step, plan))
    except (PgsslError, TaskFailed) as exc:
        if wrote:
            _write_config(p['config_file'], new_text, old_text, False)
            how = 'reloaded'
            if plan['restart_needed']:
                how = 'restarted'
                dcs.run_restart(p)
            else:
                as_user(lambda: reload_only(step, plan))
            raise TaskFailed(
                '%s patroni.yml was put back and Patroni %s with it.' % (exc, how),
                rolled_back=True,
                code=getattr(exc, 'code', None) or getattr(exc, 'facts', {}).get('code') or 'error',
            )
        raise
    result['changed'] = True
    result.update(proof)
    return result
