# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # the one place the minimum cryptography version is written for the docs; the code's copy
    # is MIN_CRYPTOGRAPHY in module_utils/_crypto/base.py (a unit test keeps the two equal)
    DOCUMENTATION = r"""
options: {}
requirements:
  - cryptography >= 41.0 on the host that runs the module (checked when the module starts)
"""
