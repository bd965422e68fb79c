# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a PostgreSQL cluster's files: Debian (/etc/postgresql/V/NAME) or a PGDATA directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import stat

from ansible_collections.pgssl.postgresql.plugins.module_utils import _files as files
from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as pgconf
from ansible_collections.pgssl.postgresql.plugins.module_utils import _text as txt
from ansible_collections.pgssl.postgresql.plugins.module_utils._errors import PgsslError

DEBIAN_ETC = '/etc/postgresql'
# unix_socket_directories when no file sets it: Debian builds /var/run/postgresql in, the
# upstream sources (and the PyPI binaries) /tmp
DEFAULT_SOCKET_DIR = {'debian': '/var/run/postgresql', 'pgdata': '/tmp'}


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


def _tree_values(config_file, data_dir_hint=None):
    """{name: (value, file, line)} as the server reads them at start: postgresql.conf with every
    include expanded where it stands, then postgresql.auto.conf of the data directory those
    files name (where data_directory cannot be set). The last occurrence wins."""
    values = {}
    errors = []
    for path, number, name, value in pgconf.read_tree(config_file, errors=errors):
        values[name] = (value, path, number)
    conf_dir = os.path.dirname(config_file)
    data_dir = resolve(conf_dir, values['data_directory'][0]) if 'data_directory' in values else None
    auto = os.path.join(data_dir_hint or data_dir or conf_dir, 'postgresql.auto.conf')
    if os.path.lexists(auto):
        for path, number, name, value in pgconf.read_tree(auto, errors=errors):
            if name not in ('data_directory', 'config_file'):
                values[name] = (value, path, number)
    return values, errors


def _inside(path, roots):
    path = os.path.normpath(path)
    return any(path == r or path.startswith(r.rstrip('/') + '/') for r in roots)


def _owner_name(uid, unknown='uid %d'):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return unknown % uid if unknown else unknown


def _check_target(setting, path, source, roots, allowed_uids):
    """A path the collection will read and rewrite as root, derived from the server's files:
    inside the cluster's directories, reached without a link someone else planted, and owned
    by root or the server user."""
    where = '%s:%s' % source if source else 'the default'
    if not _inside(path, roots):
        raise ClusterError(
            '%s = %s (%s) lies outside the cluster\'s directories (%s): refusing to act on it. '
            'If it is really the file the server reads, give its path to the task explicitly.'
            % (setting, path, where, ', '.join(roots))
        )
    st = files.stat_file(path)
    if st is not None and st.st_uid not in allowed_uids:
        raise ClusterError(
            '%s = %s (%s) is owned by %s, neither root nor the server user: refusing to act on it.'
            % (setting, path, where, _owner_name(st.st_uid))
        )


PATRONI_HEADER = b'overwritten by Patroni'


def patroni_evidence(config_file, data_dir=None):
    """Why this cluster looks run by Patroni ([] when it does not): the header Patroni writes at
    the top of the postgresql.conf it owns, its patroni.dynamic.json in the data directory.
    (The server user could fake either; that only makes the plain path refuse.)"""
    found = []
    head = files.read_bytes(config_file, 'postgresql.conf') or b''
    if PATRONI_HEADER in head[:4096]:
        found.append('%s says it "will be overwritten by Patroni"' % config_file)
    data_dir = data_dir or os.path.dirname(config_file)
    if files.stat_file(os.path.join(data_dir, 'patroni.dynamic.json')) is not None:
        found.append('%s holds patroni.dynamic.json' % data_dir)
    return found


def refuse_patroni(evidence):
    """The plain-PostgreSQL path never edits the files Patroni rewrites."""
    if evidence:
        raise ClusterError(
            'This cluster is run by Patroni (%s). Patroni rewrites postgresql.conf (and pg_hba.conf, '
            'when its configuration lists postgresql.pg_hba) at its next reload or restart, so an edit '
            'here would be undone behind your back: nothing was changed. Set the ssl_* parameters and '
            'the hostssl rules through Patroni instead: postgresql.parameters and postgresql.pg_hba in '
            'the cluster-wide configuration (patronictl edit-config, or PATCH /config on the REST API) '
            'or in each member\'s patroni.yml, then patronictl reload.' % '; '.join(evidence),
            'patroni_managed',
        )


def find(cluster=None, config_file=None, data_dir=None, etc_root=DEBIAN_ETC, hba_file=None):
    """Describe a cluster from one reference.

    ``cluster``: ``VERSION/NAME`` (Debian) or a directory (Debian config dir or PGDATA);
    ``config_file``: a postgresql.conf; ``data_dir``: a PGDATA directory.
    Returns a dict: config_file, hba_file, ident_file, data_dir, auto_conf, version, layout,
    server_user, port, socket_dir, and manager ('patroni' when Patroni runs it, with
    manager_evidence, else None).

    Settings come from the whole include tree as the server reads it (a line that a later
    include overrides decides nothing), and the paths derived from them must stay inside the
    cluster's directories and belong to root or the server user. ``hba_file`` is the operator's
    word for a pg_hba.conf kept elsewhere (/etc/postgresql-common/..., a shared mount): it must
    be exactly the file the server reads, and is then taken even outside those directories.
    """
    if cluster and not config_file and not data_dir:
        if os.path.isdir(cluster):
            if os.path.exists(os.path.join(cluster, 'PG_VERSION')):
                data_dir = cluster
            else:
                config_file = os.path.join(cluster, 'postgresql.conf')
        else:
            parts = cluster.strip('/').split('/')
            if len(parts) != 2 or any(x in ('', '.', '..') for x in parts):
                raise ClusterError('cluster %r: use VERSION/NAME (Debian, e.g. 16/main) or a directory.' % cluster)
            config_file = os.path.join(etc_root, parts[0], parts[1], 'postgresql.conf')
    if data_dir and not config_file:
        config_file = os.path.join(data_dir, 'postgresql.conf')
    if not config_file:
        raise ClusterError('Give a cluster, a config_file or a data_dir.')
    config_file = os.path.abspath(config_file)
    conf_st = files.stat_file(config_file)
    if conf_st is None or not stat.S_ISREG(conf_st.st_mode):
        raise ClusterError('No postgresql.conf at %s (a regular file).' % config_file)
    conf_dir = os.path.dirname(config_file)
    try:
        values, _errors = _tree_values(config_file, data_dir)
    except pgconf.PgConfError as exc:
        raise ClusterError('Cannot read the configuration of %s: %s' % (config_file, exc))
    layout = 'debian' if conf_dir.startswith(etc_root.rstrip('/') + '/') else 'pgdata'
    source = {}
    if not data_dir:
        if 'data_directory' in values:
            data_dir = resolve(conf_dir, values['data_directory'][0])
            source['data_directory'] = values['data_directory'][1:]
        else:
            data_dir = conf_dir
    data_dir = os.path.normpath(data_dir)
    try:
        # followed: a data directory is often a link to another disk; its owner is the server's
        data_st = os.stat(data_dir)
    except OSError:
        data_st = None
    server_user = None if data_st is None else _owner_name(data_st.st_uid, None)
    if data_st is not None and stat.S_ISDIR(data_st.st_mode):
        # a configuration the server user owns may not name a data directory of someone else
        # (root included); a root-owned one may (a cluster being built, a test tree)
        if conf_st.st_uid not in (0, data_st.st_uid):
            raise ClusterError(
                'The data directory %s (from %s) belongs to %s, but %s belongs to %s: refusing a '
                'cluster whose configuration names another user\'s data directory.'
                % (
                    data_dir,
                    '%s:%s' % source['data_directory'] if 'data_directory' in source else config_file,
                    _owner_name(data_st.st_uid),
                    config_file,
                    _owner_name(conf_st.st_uid),
                )
            )
    version = None
    try:
        version = txt.read(os.path.join(data_dir, 'PG_VERSION'), 'PG_VERSION').strip()
    except (IOError, OSError):
        if layout == 'debian':
            version = os.path.basename(os.path.dirname(conf_dir))
    roots = sorted(set([conf_dir, data_dir]))
    allowed = set([0] + ([data_st.st_uid] if data_st is not None else []))
    derived = {}
    for setting, default in (('hba_file', 'pg_hba.conf'), ('ident_file', 'pg_ident.conf')):
        if setting in values:
            path = os.path.normpath(resolve(conf_dir, values[setting][0]))
            where = values[setting][1:]
        else:
            path, where = os.path.join(conf_dir, default), None
        if setting == 'hba_file' and hba_file:
            if os.path.normpath(hba_file) != path:
                raise ClusterError(
                    'hba_file %s (given) is not the file the server reads: %s (%s).'
                    % (hba_file, path, '%s:%s' % where if where else 'the default'),
                    'hba_file_mismatch',
                )
        else:
            _check_target(setting, path, where, roots, allowed)
        derived[setting] = path
    port = values.get('port', ('5432',))[0]
    sockets = values.get('unix_socket_directories', (DEFAULT_SOCKET_DIR[layout],))[0]
    first_socket = next((d.strip() for d in sockets.split(',') if d.strip()), '')
    evidence = patroni_evidence(config_file, data_dir)
    return {
        'manager': 'patroni' if evidence else None,
        'manager_evidence': evidence,
        'config_file': config_file,
        'hba_file': derived['hba_file'],
        'ident_file': derived['ident_file'],
        'data_dir': data_dir,
        'auto_conf': os.path.join(data_dir, 'postgresql.auto.conf'),
        'version': version,
        'major': int(version.split('.')[0]) if version and version.split('.')[0].isdigit() else None,
        'layout': layout,
        'server_user': server_user,
        'port': int(port) if str(port).isdigit() else 5432,
        'socket_dir': resolve(data_dir, first_socket) if first_socket and not first_socket.startswith('@') else None,
    }
