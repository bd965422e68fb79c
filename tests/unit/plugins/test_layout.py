# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The house rule for the code's shape: no file under plugins/ longer than 450 lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

PLUGINS = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'plugins')
LIMIT = 450


def test_no_plugin_file_is_longer_than_the_limit():
    long_files = []
    count = 0
    for directory, _dirs, names in os.walk(PLUGINS):
        for name in names:
            if name.endswith('.py'):
                count += 1
                with open(os.path.join(directory, name)) as handle:
                    lines = sum(1 for _line in handle)
                if lines > LIMIT:
                    long_files.append('%s: %d lines' % (os.path.relpath(os.path.join(directory, name), PLUGINS), lines))
    assert count > 40, 'the walk found too few files (%d); is PLUGINS right?' % count
    assert long_files == [], 'split these by concern: %s' % ', '.join(long_files)
