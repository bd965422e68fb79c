# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name to connect to over TCP. Without it (and without O(login_unix_socket)) libpq
        uses its default unix socket directory.
    type: str
  login_hostaddr:
    description: Numeric address to connect to, while O(login_host) stays the name checked in
      the server certificate (libpq C(hostaddr)).
    type: str
  login_port:
    description: Port.
    type: int
    default: 5432
  login_unix_socket:
    description:
      - Unix socket directory, for peer authentication as the server user (run the task with
        C(become_user) set to that user).
    type: str
  login_user:
    description: Database user, a superuser for M(pgssl.postgresql.reload).
    type: str
    default: postgres
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  login_db:
    description: Database to connect to.
    type: str
    default: postgres
  login_sslmode:
    description: sslmode of the administrative connection over TCP.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  login_sslrootcert:
    description: CA file for the administrative connection with O(login_sslmode=verify-full).
    type: path
  login_sslcert:
    description:
      - Client certificate for the administrative login over TCP, for fleets where the admin
        user logs in by certificate (a C(cert) rule in pg_hba.conf). Give O(login_sslkey) too.
      - Not used over the unix socket, which has no TLS.
    type: path
  login_sslkey:
    description: Key of O(login_sslcert). libpq refuses one readable by group or others.
    type: path
  login_sslpassword:
    description: Passphrase of an encrypted O(login_sslkey). Never logged.
    type: str
  connect_timeout:
    description: Connection timeout in seconds.
    type: int
    default: 10
requirements:
  - psycopg >= 3.1
"""
