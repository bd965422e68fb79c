# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Galaxy tarball must hold, and what build_ignore must keep out of it."""

import sys
import tarfile

MUST = (
    'MANIFEST.json',
    'FILES.json',
    'README.md',
    'CHANGELOG.rst',
    'LICENSE',
    'meta/runtime.yml',
    'meta/execution-environment.yml',
    'requirements.txt',
    'bindep.txt',
    'plugins/modules/verify.py',
    'plugins/filter/audit_metrics.py',
    'plugins/module_utils/_pk8.py',
    'roles/server/meta/argument_specs.yml',
    'playbooks/site.yml',
    'docs/docsite/links.yml',
    'docs/docsite/extra-docs.yml',
    'docs/docsite/rst/guide_sslmode.rst',
    'extensions/molecule/ci_example/molecule.yml',
)
NEVER = (
    '.venv/',
    '.cache/',
    '.git/',
    '.ci/',
    'benchmarks/',
    'tests/output/',
    '.pytest_cache',
    '__pycache__',
    '.pyc',
    'changelogs/.plugin-cache.yaml',
)


def main(path):
    with tarfile.open(path) as tar:
        names = tar.getnames()
        for member in tar.getmembers():
            if member.issym() or member.islnk():
                sys.exit('%s: link %s in the tarball' % (path, member.name))
    missing = [m for m in MUST if m not in names]
    leaked = sorted(n for n in names if any(bad in n + '/' if bad.endswith('/') else bad in n for bad in NEVER))
    if missing or leaked:
        sys.exit('%s: missing %s; should not hold %s' % (path, missing, leaked[:20]))
    print('%s: %d entries, build_ignore holds' % (path, len(names)))


if __name__ == '__main__':
    main(sys.argv[1])
