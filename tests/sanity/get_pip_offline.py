# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py script that ansible-test downloads.

ansible-test fetches get-pip.py from a host that is not reachable here. This stand-in
bootstraps pip from the interpreter's bundled ensurepip wheel, then installs the packages
ansible-test asked for from the package index. ``make sanity`` copies it into
~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

# ensurepip in a child process: in-process it points PIP_CONFIG_FILE at /dev/null, which
# would hide the machine's pip configuration (index, certificates) from the install below.
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
ARGS = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + ARGS))
