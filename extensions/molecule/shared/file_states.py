# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, each path's state: null when it does not exist, else [sha256 of a regular
file's bytes ('' for anything else), mode, uid, gid], read with lstat (a link is not followed).
One process for a whole list of files, where a stat task per file starts a module each."""

import hashlib
import json
import os
import stat
import sys


def state(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    digest = ''
    if stat.S_ISREG(info.st_mode):
        with open(path, 'rb') as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    return [digest, '%o' % info.st_mode, info.st_uid, info.st_gid]


if __name__ == '__main__':
    print(json.dumps(dict((path, state(path)) for path in sys.argv[1:]), sort_keys=True))
