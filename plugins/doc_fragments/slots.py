# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # the targets that keep their own key and certificate in two slots, a new pair always in the
    # free one (standby_credential, pgbouncer_tls)
    DOCUMENTATION = r"""
options:
  state:
    description: C(status) (what is due, and with O(prepare) the key and CSR) or C(install).
    type: str
    choices: [status, install]
    default: status
  prepare:
    description: With O(state=status), make the new key in the free slot and return its CSR when a
      new certificate is due (ignored in check mode).
    type: bool
    default: false
  issuer:
    description: The CA certificate (PEM) that signs now; a certificate in use issued by another
      CA is due (the reissue phase of a CA rollover, while O(ca_bundle) still trusts both).
      Default any CA of O(ca_bundle).
    type: str
  renew_before_days:
    description: A certificate that expires within this many days is due.
    type: int
    default: 30
  force:
    description: A new key and certificate even when the ones in use are fine.
    type: bool
    default: false
  key_type:
    description: Type of a new key.
    type: str
    choices: [ecdsa, rsa, ed25519]
    default: ecdsa
  key_curve:
    description: Curve of a new ECDSA key.
    type: str
    default: P-256
  key_size:
    description: Size of a new RSA key.
    type: int
    default: 3072
  slot:
    description: With O(state=install), the slot RV(slot) of the status step named.
    type: str
    choices: [a, b]
"""
