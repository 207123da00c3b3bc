"""One HNSW graph per large tenant: per-tenant partial indexes on the knowledge base's vectors.

Why: one HNSW index over every tenant's vectors, filtered by tenant during the scan (pgvector
0.8 iterative scans), lost recall and latency as tenants grew: at 10 tenants × 100,000 chunks,
``ef_search`` 400 gave the vector branch recall@10 0.945 over 1,000 queries at a hybrid p95 of
66.8 ms (1,000: 0.954, p95 77 ms; docs/inbox-ai.md). A graph holding only the tenant's vectors
needs no filter (recall 1.0 from ``ef_search`` 40 on without it). So each source (``faq_qa``,
``knowledge_chunks``) of a tenant with more than :data:`growthops.inbox.ai.search.EXACT_MAX`
passages gets its own partial index, ``... using hnsw (embedding vector_cosine_ops) where
tenant_id = '<uuid>'``, named :func:`index_name` (deterministic); smaller ones are searched
exactly (every distance, recall 1), so no index covers them and the former all-tenant indexes
are gone (migration ``0193_kb_vector_per_tenant.sql``). The search
(:func:`growthops.inbox.ai.search.search`) names the tenant as a literal in its index scan, so
the planner proves the index's predicate and uses it.

:func:`ensure` creates the missing ones (``CREATE INDEX CONCURRENTLY``: writes to the table go
on during the build), drops those of deleted tenants and of tenants shrunk below half the
threshold (hysteresis: a tenant around the threshold does not build and drop in turn) and
rebuilds those built with other graph parameters than :data:`HNSW_M` /
:data:`HNSW_EF_CONSTRUCTION` (``REINDEX INDEX CONCURRENTLY``); run by
the job ``inbox.vector_indexes`` (every 5 minutes, :func:`growthops.inbox.jobs.vector_indexes`),
its own task so that a build (~80–200 s per 100,000 vectors on a 2-core machine) never holds
the minute's ``inbox.ai_sweep`` (uploads, late replies); the next run starts after it (the
task's queueing lock). Building an index needs the table's owner: the owner connection
(``Database.admin``), never the application role. Without pgvector it does nothing.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from psycopg import sql

logger = logging.getLogger("growthops.inbox.ai")

#: The sources with vectors: table → index name prefix (+ the tenant's 32 hex digits: at most
#: 59 characters, under PostgreSQL's 63).
SOURCES = {"faq_qa": "faq_qa_embedding_", "knowledge_chunks": "knowledge_chunks_embedding_"}
#: The graph's parameters (pgvector's defaults: m 16, ef_construction 64). At 10 tenants ×
#: 100,000 chunks (hashed embedder), one tenant's index, 100 queries, ``search(mode="vector")``
#: against exact search: with the defaults recall@10 0.939 at ef_search 100, 0.965 at 200,
#: 0.975 at 300; with m 24, ef_construction 128: 0.953 at 60, 0.973 at 100, 0.992 at 200, for a
#: build 2.5× as long (197 s against ~80 s for 100,000 vectors, one worker, loaded machine);
#: docs/inbox-ai.md. Changing them rebuilds the existing indexes at the next :func:`ensure`
#: (``ALTER INDEX ... SET`` then ``REINDEX INDEX CONCURRENTLY``: the old graph serves the
#: searches until the new one is ready).
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 128
#: ``maintenance_work_mem`` of the building session: pgvector builds the graph in memory while
#: it fits (much faster; its README), ~2 kB per 384-d vector with its neighbours, so 512MB holds
#: a tenant of ~250,000 passages; a larger one is built anyway, more slowly.
MAINTENANCE_WORK_MEM = "512MB"


def index_name(source: str, tenant_id: UUID | str) -> str:
    """The partial index of ``tenant_id``'s ``source`` (``faq_qa`` | ``knowledge_chunks``):
    ``<source>_embedding_<tenant's uuid as 32 hex digits>``. Raises ValueError for an unknown
    source or a ``tenant_id`` that is not a UUID (the name and the index's predicate are built
    from the parsed UUID only)."""
    if source not in SOURCES:
        raise ValueError(f"source: {source!r} is not one of {', '.join(SOURCES)}")
    return SOURCES[source] + UUID(str(tenant_id)).hex


def tenant_literal(tenant_id: UUID | str) -> str:
    """``'<uuid>'::uuid`` for ``tenant_id`` parsed as a UUID (raises ValueError otherwise): the
    SQL literal the search writes into its index scan so the planner can match the partial
    index's predicate (a parameter of a generic plan could not)."""
    return f"'{UUID(str(tenant_id))}'::uuid"


def graph_options() -> list[str]:
    """The storage parameters every per-tenant index should have, as PostgreSQL keeps them in
    ``pg_class.reloptions``: ``["m=<HNSW_M>", "ef_construction=<HNSW_EF_CONSTRUCTION>"]``."""
    return [f"m={HNSW_M}", f"ef_construction={HNSW_EF_CONSTRUCTION}"]


def _plan(conn: Any, threshold: int) -> list[dict[str, Any]]:
    """Each (source, tenant) to build, drop or rebuild: ``{action, source, tenant_id, name,
    valid}`` — one statement over the tenants' text statistics and the catalogue. ``rebuild``:
    a valid index kept (more than half the threshold) whose storage parameters are not
    :func:`graph_options` (built before they changed)."""
    return conn.execute(
        r"""with want as (
              select s.source, s.tenant_id, sum(s.passages) as n
              from inbox.kb_text_stats s join core.tenants t using (tenant_id)
              where s.source in ('faq_qa', 'knowledge_chunks')
              group by 1, 2),
            have as (
              select c.relname as name, i.indisvalid as valid, t.relname as source,
                     coalesce(c.reloptions, '{}') as options,
                     substring(c.relname from '_([0-9a-f]{32})$')::uuid as tenant_id
              from pg_class c join pg_index i on i.indexrelid = c.oid
                   join pg_class t on t.oid = i.indrelid
                   join pg_namespace ns on ns.oid = c.relnamespace
              where ns.nspname = 'inbox' and t.relname in ('faq_qa', 'knowledge_chunks')
                and c.relname ~ '^(faq_qa|knowledge_chunks)_embedding_[0-9a-f]{32}$')
            select 'create' as action, w.source, w.tenant_id, h.name, h.valid
            from want w left join have h using (source, tenant_id)
            where w.n > %(th)s and (h.name is null or not h.valid)
            union all
            select 'drop', h.source, h.tenant_id, h.name, h.valid
            from have h left join want w using (source, tenant_id)
            where w.n is null or w.n <= %(th)s / 2
            union all
            select 'rebuild', h.source, h.tenant_id, h.name, h.valid
            from have h join want w using (source, tenant_id)
            where w.n > %(th)s / 2 and h.valid
              and not (h.options @> %(opts)s::text[] and h.options <@ %(opts)s::text[])
            order by 1 desc, 2, 3""", {"th": threshold, "opts": graph_options()}).fetchall()


def ensure(db: Any, *, threshold: int | None = None, concurrently: bool = True,
           maintenance_work_mem: str = MAINTENANCE_WORK_MEM) -> dict[str, int]:
    """Create the missing per-tenant HNSW indexes, drop the unneeded ones and rebuild those
    whose graph parameters are not :data:`HNSW_M` / :data:`HNSW_EF_CONSTRUCTION` (see the
    module); return ``{"created": n, "dropped": n, "rebuilt": n, "failed": n}``.

    ``threshold``: passages of a tenant's source above which it gets an index (default
    :data:`growthops.inbox.ai.search.EXACT_MAX`; tests lower it); indexes of sources at or
    below half of it, and of tenants no longer in ``core.tenants``, are dropped. An invalid
    index (a concurrent build interrupted) is dropped and built again. ``concurrently``: False
    for a bulk load with no writers (one table scan instead of two). Idempotent; one failed
    build is logged and counted, the others go on. Uses the owner connection (``db.admin()``).
    """
    from growthops.inbox.ai import search

    th = search.EXACT_MAX if threshold is None else int(threshold)
    out = {"created": 0, "dropped": 0, "rebuilt": 0, "failed": 0}
    with db.admin() as conn:
        if not conn.execute("select exists(select 1 from pg_extension where extname = 'vector')"
                            " as pg").fetchone()["pg"]:
            return out
        conn.execute("select set_config('maintenance_work_mem', %s, false)",
                     [maintenance_work_mem])
        cc = sql.SQL("concurrently ") if concurrently else sql.SQL("")
        for row in _plan(conn, th):
            name = index_name(row["source"], row["tenant_id"])  # from the parsed UUID only
            ident = sql.Identifier("inbox", name)
            try:
                if row["action"] == "rebuild":  # the old graph serves until the new is ready
                    conn.execute(sql.SQL("alter index {} set (m = {}, ef_construction = {})")
                                 .format(ident, sql.Literal(HNSW_M),
                                         sql.Literal(HNSW_EF_CONSTRUCTION)))
                    conn.execute(sql.SQL("reindex index {}{}").format(cc, ident))
                    out["rebuilt"] += 1
                    continue
                if row["action"] == "drop" or row["valid"] is False:
                    conn.execute(sql.SQL("drop index {}if exists {}").format(cc, ident))
                    if row["action"] == "drop":
                        out["dropped"] += 1
                        continue
                conn.execute(sql.SQL(
                    "create index {}if not exists {} on {} using hnsw (embedding "
                    "vector_cosine_ops) with (m = {}, ef_construction = {}) "
                    "where tenant_id = {}").format(
                        cc, sql.Identifier(name), sql.Identifier("inbox", row["source"]),
                        sql.Literal(HNSW_M), sql.Literal(HNSW_EF_CONSTRUCTION),
                        sql.SQL(tenant_literal(row["tenant_id"]))))
                out["created"] += 1
            except Exception:  # one tenant's failed build must not stop the others
                logger.exception("vector index %s: %s failed", name, row["action"])
                out["failed"] += 1
    return out
