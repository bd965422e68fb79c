# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure certificate core: keys, names, CSRs and certificates, chains, CRLs and inspection.

Everything here works on plain values (bytes, str, int, dict, datetime) and raises
``PgsslCryptoError`` with a message a user can act on. Nothing here touches Ansible. The
parts live in this package by concern; this file gathers their public names, so callers
write ``_crypto.load_certificate`` whichever part it is in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.base import (  # noqa: F401
    BACKDATE_SECONDS,
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    MIN_CRYPTOGRAPHY,
    PgsslCryptoError,
    iso,
    not_after,
    not_before,
    utcnow,
    version_tuple,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.keys import (  # noqa: F401
    CURVES,
    KEY_TYPES,
    REGENERATE_CHOICES,
    RSA_SIZES,
    describe_key,
    is_key_kind,
    dump_private_key,
    generate_private_key,
    load_private_key,
    normalize_key_request,
    pem_is_encrypted,
    plan_private_key,
    public_key_fingerprint,
    public_key_pem,
    same_public_key,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.names import (  # noqa: F401
    PROFILES,
    build_name,
    name_to_dict,
    name_to_string,
    normalize_sans,
    normalize_subject,
    profile_extensions,
    profile_of,
    san_extension,
    sans_of,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.issue import (  # noqa: F401
    MIN_RSA_BITS,
    WEAK_HASHES,
    build_csr,
    cert_fingerprint,
    certificate_reasons,
    check_key_pair,
    check_signer,
    check_signing_key,
    csr_reasons,
    describe_certificate,
    describe_request,
    dump_certificate,
    dump_csr,
    is_ca,
    is_issued_by,
    is_self_signed,
    issue_certificate,
    key_weakness,
    load_certificate,
    load_certificates,
    load_csr,
    new_serial,
    renewal_seconds,
    weaknesses,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.chain import (  # noqa: F401
    build_bundle,
    build_chain,
    dedupe,
    verify_path,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.crl import (  # noqa: F401
    build_crl,
    check_serials,
    crl_number,
    crl_serials,
    dump_crl,
    load_crl,
    load_crls,
    pem_blocks,
)
from ansible_collections.pgssl.postgresql.plugins.module_utils._crypto.inspect import (  # noqa: F401
    PROBLEM_CODES,
    analyze,
    hostname_matches,
)
