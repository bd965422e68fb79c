# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a synthetic Let's Encrypt-like PKI for tests.

leaf <- intermediate "R3" <- new root "X1" (valid, self-signed); "X1" is also cross-signed by an
old root "DST X3" that has expired, and the cross-signed "X1" itself is expired too, as in the
2021 Let's Encrypt chain. Files in OUTDIR: old-root.crt, new-root.crt, cross.crt, inter.crt,
leaf.crt, leaf.key (0600), and messy-fullchain.pem (leaf, cross, inter, old root, inter again)
as a badly assembled bundle might look.

Usage: lechain.py OUTDIR [--cn NAME] [--san NAME ...]
"""

import argparse
import datetime
import os
import sys

try:
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c
except ImportError:
    # run as a script from inside .../ansible_collections/pgssl/postgresql/: find that tree
    _HERE = os.path.dirname(os.path.abspath(__file__))
    while _HERE != os.path.dirname(_HERE) and os.path.basename(_HERE) != 'ansible_collections':
        _HERE = os.path.dirname(_HERE)
    sys.path.insert(0, os.path.dirname(_HERE))
    from ansible_collections.pgssl.postgresql.plugins.module_utils import _crypto as c


def write(outdir, name, data, mode=0o644):
    path = os.path.join(outdir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def build(outdir, cn='db2.pgssl.test', sans=None):
    now = c.utcnow()
    ec = c.normalize_key_request('ecdsa')
    past = now - datetime.timedelta(days=4000)
    old_key = c.generate_private_key(ec)
    old_root, _w = c.issue_certificate(
        old_key.public_key(), {'CN': 'DST Root CA X3 (test)'}, [], 'ca', old_key, valid_days=3000, now=past
    )
    new_key = c.generate_private_key(ec)
    new_root, _w = c.issue_certificate(
        new_key.public_key(),
        {'CN': 'ISRG Root X1 (test)'},
        [],
        'ca',
        new_key,
        valid_days=7000,
        now=now - datetime.timedelta(days=1000),
    )
    cross, _w = c.issue_certificate(
        new_key.public_key(),
        {'CN': 'ISRG Root X1 (test)'},
        [],
        'ca',
        old_key,
        issuer_cert=old_root,
        valid_days=2500,
        now=past + datetime.timedelta(days=200),
    )
    inter_key = c.generate_private_key(ec)
    inter, _w = c.issue_certificate(
        inter_key.public_key(),
        {'CN': 'R3 (test)'},
        [],
        'ca',
        new_key,
        issuer_cert=new_root,
        valid_days=1000,
        pathlen=0,
        now=now - datetime.timedelta(days=10),
    )
    leaf_key = c.generate_private_key(ec)
    leaf, _w = c.issue_certificate(
        leaf_key.public_key(),
        {'CN': cn},
        c.normalize_sans(sans or [cn]),
        'server',
        inter_key,
        issuer_cert=inter,
        valid_days=90,
    )
    pem = c.dump_certificate
    write(outdir, 'old-root.crt', pem(old_root))
    write(outdir, 'new-root.crt', pem(new_root))
    write(outdir, 'cross.crt', pem(cross))
    write(outdir, 'inter.crt', pem(inter))
    write(outdir, 'leaf.crt', pem(leaf))
    write(outdir, 'leaf.key', c.dump_private_key(leaf_key), 0o600)
    # certbot's fullchain.pem of 2021-2024: leaf, R3, ISRG Root X1 cross-signed by DST Root X3
    write(outdir, 'fullchain.pem', pem(leaf) + pem(inter) + pem(cross))
    write(outdir, 'messy-fullchain.pem', pem(leaf) + pem(cross) + pem(inter) + pem(old_root) + pem(inter))
    return {
        'leaf': c.cert_fingerprint(leaf),
        'inter': c.cert_fingerprint(inter),
        'cross': c.cert_fingerprint(cross),
        'new_root': c.cert_fingerprint(new_root),
        'old_root': c.cert_fingerprint(old_root),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('outdir')
    parser.add_argument('--cn', default='db2.pgssl.test')
    parser.add_argument('--san', action='append')
    args = parser.parse_args(argv)
    import json

    print(json.dumps(build(args.outdir, args.cn, args.san)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
