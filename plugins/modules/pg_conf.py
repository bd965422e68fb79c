#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pg_conf
short_description: Set parameters in postgresql.conf in place, safely
version_added: 0.1.0
description:
  - Sets parameters (for example C(ssl), C(ssl_cert_file), C(ssl_min_protocol_version)) in
    postgresql.conf. The file is given as a path or found from a cluster reference (Debian
    C(/etc/postgresql/VERSION/NAME/) or a PGDATA directory).
  - Edits only the characters of the value on the effective line (the last active occurrence).
    Every other byte of the file is kept, comments and spacing included. A parameter that is
    absent is added to a marked block at the end of the file.
  - The file is read with a port of the server's own lexer. Lines end at a newline only (a form
    feed or a Unicode line separator does not end a line), and quoting and escapes are read as
    the server reads them. A file with a line the server would refuse is not edited; the error
    names the file and line. Differential tests check this reading against C(pg_file_settings)
    on real servers.
  - Names match exactly, never by prefix, so C(ssl) never touches C(ssl_ciphers). Values are
    compared the way the server reads them (V(on)/V(true)/V(yes)/V(1), units, quoting), so a
    second run reports no change. String parameters (C(ssl_*) files and ciphers, C(search_path),
    custom names with a dot, ...) are compared as text.
  - Values are written with PostgreSQL's quoting (single quotes doubled, backslashes escaped). A
    value holding a newline, NUL or another control character (tab excepted) is refused, so a
    value can never add a line.
  - O(owner), O(group) and O(mode) apply to the edited file. An included file or
    C(postgresql.auto.conf) changed by O(remove_overrides) keeps its own owner and mode.
  - A later C(include), C(include_dir) or C(include_if_exists) file, or C(postgresql.auto.conf)
    (ALTER SYSTEM), that sets the same parameter would silently win. The module fails and names
    the file and line, unless O(remove_overrides=true) disables those lines.
  - Reports whether a reload is enough or a restart is needed. C(ssl_*) parameters are reloadable
    since PostgreSQL 10. The module never reloads or restarts. Use M(pgssl.postgresql.reload).
author:
  - pgssl.postgresql developers (@pgssl)
attributes:
  check_mode:
    support: full
    description: Computes the new file and reports the changes without writing.
  diff_mode:
    support: full
    description: Shows the file before and after.
extends_documentation_fragment:
  - ansible.builtin.files
seealso:
  - module: pgssl.postgresql.reload
    description: Validates and reloads after the change.
  - module: pgssl.postgresql.tls_install
  - name: Setting Parameters
    link: https://www.postgresql.org/docs/current/config-setting.html
    description: postgresql.conf syntax, include files and ALTER SYSTEM.
options:
  path:
    description: The postgresql.conf to edit.
    type: path
  cluster:
    description:
      - A cluster reference instead of O(path), either V(VERSION/NAME) for a Debian cluster
        (C(/etc/postgresql/VERSION/NAME/postgresql.conf)), or a Debian config directory or a
        PGDATA directory.
    type: str
  settings:
    description:
      - Parameters to set, name to value. Booleans become V(on)/V(off). Strings are quoted and
        escaped as needed.
      - A value of V(null) comments out every active line of that parameter, so the server
        default applies again.
    type: dict
    required: true
  remove_overrides:
    description:
      - Disable lines in later included files (commented out) and in C(postgresql.auto.conf)
        (removed) that would override the managed parameters.
    type: bool
    default: false
  backup:
    description: Keep the previous file beside the new one.
    type: bool
    default: false
notes:
  - File mode and owner default to those of the existing file.
"""

EXAMPLES = r"""
- name: Turn on TLS for a Debian cluster
  pgssl.postgresql.pg_conf:
    cluster: 16/main
    settings:
      ssl: true
      ssl_cert_file: /etc/postgresql/16/main/ssl/server.crt
      ssl_key_file: /etc/postgresql/16/main/ssl/server.key
      ssl_ca_file: /etc/postgresql/16/main/ssl/root.crt
      ssl_min_protocol_version: TLSv1.2
  register: conf

- name: Reload only when needed
  pgssl.postgresql.reload:
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres
  when: conf is changed
"""

RETURN = r"""
config_file:
  description: The file edited.
  returned: success
  type: str
changes:
  description: Each parameter that changed, with its old and new value and line number.
  returned: success
  type: list
  elements: dict
  sample: [{name: ssl, before: "off", after: "on", line: 102}]
overrides:
  description: Lines in other files that set the same parameters (and win over this file).
  returned: success
  type: list
  elements: dict
reload_required:
  description: A reload is needed for the changes to apply.
  returned: success
  type: bool
restart_required:
  description: Changed parameters that only a restart applies.
  returned: success
  type: list
  elements: str
backup_file:
  description: The kept previous file, when one was made.
  returned: changed and a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _confsteps as steps
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            cluster=dict(type='str'),
            settings=dict(type='dict', required=True),
            remove_overrides=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        required_one_of=[('path', 'cluster')],
        mutually_exclusive=[('path', 'cluster')],
        supports_check_mode=True,
        add_file_common_args=True,
    )
    execute(module, steps.conf, needs=())


if __name__ == '__main__':
    main()
