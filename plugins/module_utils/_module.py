# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where a module's core errors become ``fail_json``.

Every module's ``main()`` builds its argspec and hands its ``run(module)`` to ``execute``: the
required libraries are checked, the collection's own exceptions become a failure with their
message (and stable ``code``), and ``TaskFailed`` carries facts for failures that still return
results (unmet expectations, refused reloads).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as crypto
from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError


class TaskFailed(Exception):
    """A failure that still returns facts (``facts`` are passed to ``fail_json``)."""

    def __init__(self, msg, **facts):
        super(TaskFailed, self).__init__(msg)
        self.facts = facts


def require_psycopg(module):
    """The psycopg module, or a clean failure saying it is missing."""
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconn as pgconn

    psycopg, error = pgconn.load_psycopg()
    if psycopg is None:
        module.fail_json(msg=missing_required_lib('psycopg'), exception=error)
    return psycopg


def execute(module, run, needs=('cryptography',)):
    """Run ``run(module)`` and exit the module with its result or a clean failure."""
    if 'cryptography' in needs and not crypto.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=crypto.CRYPTOGRAPHY_IMPORT_ERROR)
    if 'psycopg' in needs:
        require_psycopg(module)
    files.CHECK_MODE[0] = bool(module.check_mode)
    try:
        result = run(module)
    except files.CheckModeGap as exc:
        # check mode on a host that has nothing yet: an earlier task would have made the input
        module.exit_json(
            changed=True, check_mode_gap=str(exc), msg='Would change: %s (made by an earlier task of this run).' % exc
        )
    except TaskFailed as exc:
        facts = dict(exc.facts)
        facts.pop('changed', None)
        module.fail_json(msg=str(exc), **facts)
    except PgsslError as exc:
        module.fail_json(msg=str(exc), code=exc.code)
    module.exit_json(**result)


class _Params(dict):
    """A step's parameters: an option nobody set reads as None, as in AnsibleModule."""

    def __missing__(self, key):
        return None


class Step(object):
    """One step of a combined module, seen as the single-purpose module it comes from: its own
    parameters, and the real module's check mode, diff mode, warnings, masked values and file
    helpers. ``check_mode=True`` makes a step only decide (the plan before an action)."""

    def __init__(self, module, params, check_mode=None):
        self._module = module
        self.params = _Params(params)
        self.check_mode = module.check_mode if check_mode is None else check_mode
        self._diff = module._diff
        self.no_log_values = module.no_log_values

    def __getattr__(self, name):
        return getattr(self._module, name)


TEST_FAIL = 'PGSSL_TEST_FAIL_AFTER'
TEST_STOP = 'PGSSL_TEST_STOP_AFTER'


def test_hook(step):
    """Fault injection for the collection's own reliability tests, inert unless the environment
    of the run names ``step``: PGSSL_TEST_FAIL_AFTER fails there; PGSSL_TEST_STOP_AFTER creates
    the file PGSSL_TEST_STOP_MARKER holding this process's pid and waits (at most 10 minutes) for
    MARKER.release, so a test can kill the run (this process included) or act at that point."""
    import os

    if os.environ.get(TEST_FAIL) == step:
        raise TaskFailed('injected failure after %s' % step)
    if os.environ.get(TEST_STOP) != step:
        return
    import time

    marker = os.environ.get('PGSSL_TEST_STOP_MARKER') or ''
    if not os.path.isabs(marker):
        raise TaskFailed('PGSSL_TEST_STOP_MARKER must be an absolute path.')
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        # the test that kills the run kills this process too: Ansible's workers run modules in
        # sessions of their own, which a kill of the playbook's process group does not reach
        os.write(fd, str(os.getpid()).encode('ascii'))
    finally:
        os.close(fd)
    deadline = time.time() + 600
    while not os.path.exists(marker + '.release') and time.time() < deadline:
        time.sleep(0.1)


def ca_signer_argspec():
    """The CA that signs (crl, sign), as the ca_signer doc fragment describes it."""
    return dict(
        ca_cert_path=dict(type='path', required=True),
        ca_key_path=dict(type='path', required=True),
        ca_key_passphrase=dict(type='str', no_log=True),
    )
