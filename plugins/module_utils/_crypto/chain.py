# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chains: dedupe, chain building, bundles and path verification."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (
    hashes,
    iso,
    not_after,
    not_before,
    PgsslCryptoError,
    utcnow,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.names import name_to_string
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.issue import is_ca, is_issued_by, is_self_signed


# --------------------------------------------------------------------------- chains


def dedupe(certs):
    """(unique certificates in input order, duplicates dropped)."""
    seen = set()
    unique, dupes = [], []
    for cert in certs:
        fp = cert.fingerprint(hashes.SHA256())
        if fp in seen:
            dupes.append(cert)
        else:
            seen.add(fp)
            unique.append(cert)
    return unique, dupes


def _expired(cert, now):
    return not_after(cert) <= now or not_before(cert) > now


def _find_leaf(certs):
    issuers = set()
    for cert in certs:
        for other in certs:
            if other is not cert and is_issued_by(cert, other):
                issuers.add(id(other))
    candidates = [c for c in certs if id(c) not in issuers and not is_self_signed(c)]
    if not candidates:
        candidates = [c for c in certs if id(c) not in issuers]
    non_ca = [c for c in candidates if not is_ca(c)]
    pick = non_ca or candidates
    if len(pick) != 1:
        raise PgsslCryptoError(
            'Cannot tell which certificate is the leaf: %s. Give exactly one end-entity '
            'certificate.' % ', '.join(name_to_string(c.subject) for c in pick)
            if pick
            else 'No certificate to build a chain from.',
            'chain_leaf',
        )
    return pick[0]


# Paths tried when ordering a chain: real bundles need a few dozen; a hostile one, many cross-signs
# of one name and key, would need millions.
MAX_WALK = 20000


def build_chain(certs, anchors=None, include_root=False, now=None):
    """Order ``certs`` into the chain PostgreSQL serves as ``ssl_cert_file``.

    Leaf first, then each issuer in turn. Among alternative paths the best one wins:
    ending at a trust anchor (``anchors``; any self-signed root when none are given), then
    with no expired link, then shortest. Returns a dict with ``chain`` (certificates to write),
    ``root`` (the anchor reached or None), ``complete`` and ``dropped`` [(cert, reason)].
    """
    now = now or utcnow()
    anchors = list(anchors or [])
    unique, dupes = dedupe(list(certs))
    leaf = _find_leaf(unique)
    if _expired(leaf, now):
        raise PgsslCryptoError(
            'The certificate %s itself is expired or not yet valid (%s to %s); no chain can make '
            'it acceptable.' % (name_to_string(leaf.subject), iso(not_before(leaf)), iso(not_after(leaf))),
            'leaf_expired',
        )
    # an expired link can never help a client: it leaves the pool whether or not an anchor
    # was given (the DST Root CA X3 cross-sign of Let's Encrypt's fullchain.pem)
    expired_links = [c for c in unique if c is not leaf and _expired(c, now)]
    unique = [c for c in unique if c is leaf or not _expired(c, now)]
    pool = unique + [
        a for a in anchors if a.fingerprint(hashes.SHA256()) not in set(c.fingerprint(hashes.SHA256()) for c in unique)
    ]
    anchor_fps = set(a.fingerprint(hashes.SHA256()) for a in anchors)
    best = {'score': None, 'path': None, 'steps': 0}
    issued = {}

    def issued_by(child, parent):
        key = (id(child), id(parent))
        if key not in issued:
            issued[key] = is_issued_by(child, parent)
        return issued[key]

    def trusted(cert):
        if anchor_fps:
            return cert.fingerprint(hashes.SHA256()) in anchor_fps
        return is_self_signed(cert)

    def walk(path):
        best['steps'] += 1
        if best['steps'] > MAX_WALK:
            raise PgsslCryptoError(
                'The bundle offers more than %d candidate chains for %s (many certificates with '
                'the same name and key); refusing to search further.' % (MAX_WALK, name_to_string(leaf.subject)),
                'chain_search_bound',
            )
        tip = path[-1]
        ends = trusted(tip) or is_self_signed(tip)
        if ends or len(path) > 10:
            ok = trusted(tip)
            expired = sum(1 for c in path if _expired(c, now))
            score = (1 if ok else 0, -expired, -len(path))
            if best['score'] is None or score > best['score']:
                best['score'], best['path'] = score, list(path)
            return
        parents = [c for c in pool if c not in path and issued_by(tip, c)]
        if not parents:
            score = (0, -sum(1 for c in path if _expired(c, now)), -len(path))
            if best['score'] is None or score > best['score']:
                best['score'], best['path'] = score, list(path)
            return
        for parent in parents:
            walk(path + [parent])

    walk([leaf])
    path = best['path']
    complete = best['score'][0] == 1
    root = path[-1] if is_self_signed(path[-1]) or trusted(path[-1]) else None
    out = list(path)
    if root is not None and not include_root and len(out) > 1:
        out = out[:-1]
    dropped = [(c, 'duplicate') for c in dupes]
    for cert in expired_links:
        cross = not is_self_signed(cert) and any(
            cert.subject == other.subject and is_self_signed(other) for other in pool
        )
        dropped.append((cert, 'expired_cross_sign' if cross else 'expired'))
    in_path = set(id(c) for c in path)
    for cert in unique:
        if id(cert) in in_path:
            continue
        if _expired(cert, now):
            reason = 'expired'
        elif any(is_issued_by(cert, other) and _expired(other, now) for other in pool):
            reason = 'expired_cross_sign'
        elif any(cert.subject == c.subject for c in path):
            reason = 'alternative_path'
        else:
            reason = 'not_in_path'
        dropped.append((cert, reason))
    if root is not None and not include_root and len(path) > 1:
        if any(root is c for c in unique):
            dropped.append((root, 'root'))
    return {'chain': out, 'root': root, 'complete': complete, 'dropped': dropped, 'path': path}


def build_bundle(certs, now=None, drop_expired=True):
    """A CA bundle: unique CA certificates in input order, expired ones dropped."""
    now = now or utcnow()
    unique, dupes = dedupe(list(certs))
    bundle, dropped = [], [(c, 'duplicate') for c in dupes]
    for cert in unique:
        if not is_ca(cert):
            dropped.append((cert, 'not_a_ca'))
        elif drop_expired and _expired(cert, now):
            dropped.append((cert, 'expired'))
        else:
            bundle.append(cert)
    if not bundle:
        raise PgsslCryptoError('No usable CA certificate for the bundle.', 'empty_bundle')
    return {'chain': bundle, 'dropped': dropped}


def verify_path(chain, anchors, now=None):
    """Check that ``chain`` (leaf first) links up to one of ``anchors``.

    Returns a list of problems [(code, message)] ([] when it verifies).
    """
    now = now or utcnow()
    problems = []
    for index, cert in enumerate(chain):
        if _expired(cert, now):
            problems.append(
                (
                    'chain_expired_link',
                    'certificate #%d (%s) is expired or not yet valid' % (index + 1, name_to_string(cert.subject)),
                )
            )
    for index in range(len(chain) - 1):
        if not is_issued_by(chain[index], chain[index + 1]):
            problems.append(
                (
                    'chain_order',
                    'certificate #%d (%s) is not issued by the next one '
                    '(%s)'
                    % (index + 1, name_to_string(chain[index].subject), name_to_string(chain[index + 1].subject)),
                )
            )
    if anchors:
        tip = chain[-1]
        ok = any(
            tip.fingerprint(hashes.SHA256()) == a.fingerprint(hashes.SHA256()) or is_issued_by(tip, a) for a in anchors
        )
        if not ok:
            # the anchor may sit inside the chain (root included in the file)
            ok = any(c.fingerprint(hashes.SHA256()) == a.fingerprint(hashes.SHA256()) for c in chain for a in anchors)
        if not ok:
            problems.append(
                (
                    'chain_untrusted',
                    'the chain does not lead to any of the given CA '
                    'certificates (last link issued by %s)' % name_to_string(tip.issuer),
                )
            )
    return problems
