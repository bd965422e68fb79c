# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # the CA that signs, for the modules of the "ca" action group that need one (crl, sign)
    DOCUMENTATION = r"""
options:
  ca_cert_path:
    description:
      - The CA certificate.
      - Can be set once for the group with C(module_defaults) C(group/pgssl.postgresql.ca).
    type: path
    required: true
  ca_key_path:
    description: The CA key. It is read on the host that runs the module (the CA node).
    type: path
    required: true
  ca_key_passphrase:
    description: Passphrase of the CA key. Never logged.
    type: str
"""
