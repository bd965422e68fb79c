# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # where the credential-free TLS handshake reaches the server (reload, tls_install,
    # tls_status; verify names the same thing host/hostaddr/port and takes these as aliases)
    DOCUMENTATION = r"""
options:
  tls_host:
    description:
      - Host name for the TLS handshake that reads the certificate the server really serves
        (the name clients use; it is the SNI and the name the proof checks).
      - M(pgssl.postgresql.reload) and M(pgssl.postgresql.tls_install) default it to
        C(login_host), else the first entry of C(listen_addresses) (C(127.0.0.1) for C(*));
        M(pgssl.postgresql.tls_status) and M(pgssl.postgresql.tls_prepare) probe only when it is
        set. M(pgssl.postgresql.verify) calls the same O(pgssl.postgresql.verify#module:host).
    type: str
  tls_hostaddr:
    description: Numeric address to reach O(tls_host) at, instead of resolving it.
    type: str
  tls_port:
    description:
      - Port for the handshake. By default the login port where the module logs in; the port of
        the cluster it found (its C(port) setting as the server reads it) for
        M(pgssl.postgresql.tls_status) and M(pgssl.postgresql.tls_prepare); else 5432.
    type: int
"""
