# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one base of the errors a user can act on.

Every core raises a subclass of ``PgsslError``; ``_module.execute`` turns any of them into
``fail_json`` with the message and a stable, machine-readable ``code``. Kept apart so a module
imports only the cores it uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PgsslError(Exception):
    """An error the user can act on: the message says what, where and what to do."""

    default_code = 'error'

    def __init__(self, msg, code=None):
        super(PgsslError, self).__init__(msg)
        self.code = code or self.default_code
