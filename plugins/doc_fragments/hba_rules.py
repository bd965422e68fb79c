# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # the pg_hba rules a change step places (tls_install in pg_hba.conf, patroni_config in
    # Patroni's list), as the pg_hba module places them
    DOCUMENTATION = r"""
options:
  hba_rules:
    description: Rules to have (as M(pgssl.postgresql.pg_hba) O(pgssl.postgresql.pg_hba#module:rules)).
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: Connection type.
        type: str
        choices: [local, host, hostssl, hostnossl, hostgssenc, hostnogssenc]
        default: hostssl
      databases:
        description: Databases.
        type: list
        elements: str
        default: [all]
      users:
        description: Users.
        type: list
        elements: str
        default: [all]
      address:
        description: Address or CIDR.
        type: str
      method:
        description: Authentication method.
        type: str
        default: scram-sha-256
      options:
        description: Method options.
        type: dict
        default: {}
      state:
        description: Present or absent.
        type: str
        choices: [present, absent]
        default: present
      comment:
        description: Comment on the rule's line.
        type: str
  require_ssl:
    description: As M(pgssl.postgresql.pg_hba) O(pgssl.postgresql.pg_hba#module:require_ssl).
    type: str
    choices: [none, convert, reject, both]
    default: none
  purge_managed:
    description: Remove managed rules that are no longer in O(hba_rules).
    type: bool
    default: false
"""
