# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a PostgreSQL cluster's files: Debian (/etc/postgresql/V/NAME) or a PGDATA directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

DEBIAN_ETC = '/etc/postgresql'


class ClusterError(PgsslError):
    pass


def resolve(base, value):
    """A path setting of the server: absolute as it is, else relative to ``base`` (the data
    directory for ssl_* files, the config directory for hba_file and the like)."""
    if not value:
        return None
    return value if os.path.isabs(value) else os.path.join(base, value)


def server_user_of(data_dir):
    """The server user: the owner of the data directory (None when it cannot be told)."""
    try:
        return pwd.getpwuid(os.stat(data_dir).st_uid).pw_name
    except (OSError, KeyError):
        return None


def find(cluster=None, config_file=None, data_dir=None, etc_root=DEBIAN_ETC):
    """Describe a cluster from one reference.

    ``cluster``: ``VERSION/NAME`` (Debian) or a directory (Debian config dir or PGDATA);
    ``config_file``: a postgresql.conf; ``data_dir``: a PGDATA directory.
    Returns a dict: config_file, hba_file, ident_file, data_dir, auto_conf, version, layout,
    server_user.
    """
    if cluster and not config_file and not data_dir:
        if os.path.isdir(cluster):
            if os.path.exists(os.path.join(cluster, 'PG_VERSION')):
                data_dir = cluster
            else:
                config_file = os.path.join(cluster, 'postgresql.conf')
        else:
            parts = cluster.strip('/').split('/')
            if len(parts) != 2:
                raise ClusterError('cluster %r: use VERSION/NAME (Debian, e.g. 16/main) or a directory.' % cluster)
            config_file = os.path.join(etc_root, parts[0], parts[1], 'postgresql.conf')
    if data_dir and not config_file:
        config_file = os.path.join(data_dir, 'postgresql.conf')
    if not config_file:
        raise ClusterError('Give a cluster, a config_file or a data_dir.')
    if not os.path.isfile(config_file):
        raise ClusterError('No postgresql.conf at %s.' % config_file)
    conf_dir = os.path.dirname(os.path.abspath(config_file))
    values = pgconf.effective_values(pgconf.parse(txt.read(config_file)))
    layout = 'debian' if conf_dir.startswith(etc_root.rstrip('/') + '/') else 'pgdata'
    if not data_dir:
        data_dir = resolve(conf_dir, values.get('data_directory')) or conf_dir
    version = None
    try:
        version = txt.read(os.path.join(data_dir, 'PG_VERSION')).strip()
    except (IOError, OSError):
        if layout == 'debian':
            version = os.path.basename(os.path.dirname(conf_dir))
    server_user = server_user_of(data_dir)
    return {
        'config_file': os.path.abspath(config_file),
        'hba_file': (resolve(conf_dir, values.get('hba_file')) or os.path.join(conf_dir, 'pg_hba.conf')),
        'ident_file': resolve(conf_dir, values.get('ident_file')) or os.path.join(conf_dir, 'pg_ident.conf'),
        'data_dir': data_dir,
        'auto_conf': os.path.join(data_dir, 'postgresql.auto.conf'),
        'version': version,
        'major': int(version.split('.')[0]) if version and version.split('.')[0].isdigit() else None,
        'layout': layout,
        'server_user': server_user,
    }
