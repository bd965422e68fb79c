# PRIVATE to this collection: no compatibility promise outside pgssl.postgresql.
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PgBouncer target: ``ini`` (pgbouncer.ini as PgBouncer reads it, and its editor),
``admin`` (the admin console as PgBouncer's own user), ``tls`` (what is due, files and settings,
RELOAD, proof) and ``step`` (the module's run: root's part and the child's)."""
