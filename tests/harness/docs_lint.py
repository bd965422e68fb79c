# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""antsibull-docs lint-collection-docs, with temporary directory names that hold no underscore.

antsibull-docs copies the collection into a fresh temporary directory and the path reaches the
reST it checks. A random name that ends in "_" (about one run in 37) reads there as a reference,
and the check fails on every plugin with 'Unknown target name: "antsibull-docs-XXXXXXX"'. The
same run with any other name passes. Usage: docs_lint.py ARGS (those of lint-collection-docs).
"""

import sys
import tempfile


def main(argv):
    tempfile._RandomNameSequence.characters = 'abcdefghijklmnopqrstuvwxyz0123456789'
    from antsibull_docs.cli.antsibull_docs import main as antsibull_docs

    sys.argv = ['antsibull-docs', 'lint-collection-docs'] + list(argv)
    return antsibull_docs()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
