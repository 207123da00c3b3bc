"""Hybrid search over a tenant's knowledge base: full-text and vector branches fused with
reciprocal rank fusion.

**Passages**: the enabled FAQ entries (``faq_qa``, matched on question and answer) and the chunks
of indexed documents (``knowledge_chunks``).

**Full-text branch**: the message is folded (:sql:`inbox.kb_fold`) and turned into an *OR*
query of its lexemes under both text-search configurations (``english`` and ``french``
stems, OR-ed: the message's language need not be known; a passage's ``tsvector`` holds the
stems of its own language), ranked by ``ts_rank`` with
length normalisation 1 (rank / (1 + log(length)), PostgreSQL's documented option). OR rather
than AND (``websearch_to_tsquery``): a customer's question shares a few words with the answer,
rarely all of them.

**Vector branch**: cosine distance (``<=>``) between the message's embedding and the passages'
embeddings of the same model, through the HNSW indexes. The tenant filter is applied inside the
index scan with pgvector's iterative scans (``hnsw.iterative_scan = relaxed_order``, pgvector
≥ 0.8; ``hnsw.ef_search`` :data:`EF_SEARCH`), so a small tenant among big ones still gets its
``depth`` rows (measured in ``bench/kb_search.py`` and ``tests/inbox/ai/test_search.py``). The
relaxed order is re-sorted exactly afterwards. Without pgvector this branch is off.

**Fusion**: reciprocal rank fusion, ``score(d) = Σ_b 1 / (k + rank_b(d))`` with ``k = 60``
(Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual Rank
Learning Methods", SIGIR 2009: k = 60 fixed in their experiments), over the top
:data:`DEPTH` = 50 of each branch (the window of ranks fused; Elasticsearch's RRF fuses a
``rank_window_size`` of candidates per branch in the same way). Ties broken by the vector rank.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from growthops.inbox.ai.config import tenant_embedder
from growthops.inbox.ai.kb import has_vector, vector_literal

RRF_K = 60
DEPTH = 50
EF_SEARCH = 100


@dataclass(frozen=True)
class Hit:
    """A retrieved passage.

    ``kind`` faq | chunk; ``ref_id`` its faq_id or chunk_id; ``title`` the FAQ question or the
    document title; ``text`` the FAQ answer or the chunk; ``ft_rank``/``vec_rank`` 1-based
    ranks in each branch (None: not in its top ``depth``); ``ft_score`` ts_rank, ``cosine``
    cosine similarity (-1..1); ``rrf`` the fused score.
    """

    kind: str
    ref_id: int
    document_id: int | None
    title: str
    text: str
    lang: str | None
    start_char: int | None
    end_char: int | None
    ft_rank: int | None
    vec_rank: int | None
    ft_score: float
    cosine: float | None
    rrf: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)


_FT_QUERY = """(select string_agg(quote_literal(l), ' | ')
                from unnest(tsvector_to_array(to_tsvector('{cfg}', inbox.kb_fold(%(q)s)))) l
               )::tsquery"""


def search(conn: Any, *, tenant_id: UUID | str, query: str, limit: int = 10,
           mode: str = "hybrid", depth: int = DEPTH, k: int = RRF_K,
           embedder: Any = None) -> list[Hit]:
    """Return the best ``limit`` passages for ``query``.

    ``mode``: ``hybrid`` (RRF of both branches), ``fulltext`` or ``vector`` (one branch, its
    own order). ``embedder``: defaults to the tenant's. Runs in the tenant's transaction (sets
    pgvector's scan options for it). Raises ValueError for an unknown mode.
    """
    if mode not in ("hybrid", "fulltext", "vector"):
        raise ValueError(f"mode: {mode!r} is not one of hybrid, fulltext, vector")
    tid = str(tenant_id)
    query = (query or "").strip()[:2000]
    if not query:
        return []
    pg = has_vector(conn)
    use_ft = mode in ("hybrid", "fulltext")
    use_vec = mode in ("hybrid", "vector") and pg
    params: dict[str, Any] = {"t": tid, "q": query, "depth": depth, "k": k}
    if use_vec:
        embedder = embedder or tenant_embedder(conn, tenant_id=tid)
        params["v"] = vector_literal(embedder.embed([query]), True)[0]
        params["m"] = embedder.name
        conn.execute("select set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                     "set_config('hnsw.ef_search', %s, true)", [str(max(EF_SEARCH, depth))])
    ft = ("""ft as (
          select kind, ref_id, score, row_number() over (order by score desc, ref_id) as r from (
            select 'faq' as kind, f.faq_id as ref_id, ts_rank(f.tsv, qq.x) as score
            from inbox.faq_qa f, qq
            where f.tenant_id = %(t)s and f.enabled and f.tsv @@ qq.x
            union all
            select 'chunk', c.chunk_id, ts_rank(c.tsv, qq.x)
            from inbox.knowledge_chunks c, qq where c.tenant_id = %(t)s and c.tsv @@ qq.x
          ) s order by score desc, ref_id limit %(depth)s),""" if use_ft else
          "ft as (select null::text kind, null::bigint ref_id, 0::real score, 0::bigint r "
          "where false),")
    vec = ("""vec as (
          select kind, ref_id, dist, row_number() over (order by dist, ref_id) as r from (
            (select 'faq' as kind, f.faq_id as ref_id, f.embedding <=> %(v)s::vector as dist
             from inbox.faq_qa f
             where f.tenant_id = %(t)s and f.enabled and f.embedding_model = %(m)s
             order by f.embedding <=> %(v)s::vector limit %(depth)s)
            union all
            (select 'chunk', c.chunk_id, c.embedding <=> %(v)s::vector
             from inbox.knowledge_chunks c
             where c.tenant_id = %(t)s and c.embedding_model = %(m)s
             order by c.embedding <=> %(v)s::vector limit %(depth)s)
          ) s order by dist, ref_id limit %(depth)s)""" if use_vec else
           "vec as (select null::text kind, null::bigint ref_id, 0::float8 dist, 0::bigint r "
           "where false)")
    order = {"hybrid": "rrf desc, vec_r nulls last, ft_r nulls last",
             "fulltext": "ft_r", "vector": "vec_r"}[mode]
    sql = f"""
        with qq as (select coalesce({_FT_QUERY.format(cfg='english')}, ''::tsquery)
                    || coalesce({_FT_QUERY.format(cfg='french')}, ''::tsquery) as x),
        {ft}
        {vec},
        fused as (
          select coalesce(ft.kind, vec.kind) as kind, coalesce(ft.ref_id, vec.ref_id) as ref_id,
                 ft.r as ft_r, vec.r as vec_r, coalesce(ft.score, 0) as ft_score,
                 1 - vec.dist as cosine,
                 coalesce(1.0 / (%(k)s + ft.r), 0) + coalesce(1.0 / (%(k)s + vec.r), 0) as rrf
          from ft full join vec on ft.kind = vec.kind and ft.ref_id = vec.ref_id
          order by {order} limit %(limit)s)
        select fu.*, f.question, f.answer, f.lang_code as f_lang, c.content, c.document_id,
               c.start_char, c.end_char, c.lang_code as c_lang, d.title
        from fused fu
        left join inbox.faq_qa f on fu.kind = 'faq' and f.tenant_id = %(t)s and f.faq_id = fu.ref_id
        left join inbox.knowledge_chunks c on fu.kind = 'chunk' and c.tenant_id = %(t)s
                                           and c.chunk_id = fu.ref_id
        left join inbox.knowledge_documents d on d.tenant_id = %(t)s
                                              and d.document_id = c.document_id
        order by {order}"""
    params["limit"] = limit
    rows = conn.execute(sql, params).fetchall()
    return [Hit(kind=r["kind"], ref_id=r["ref_id"], document_id=r["document_id"],
                title=r["question"] if r["kind"] == "faq" else r["title"],
                text=r["answer"] if r["kind"] == "faq" else r["content"],
                lang=r["f_lang"] if r["kind"] == "faq" else r["c_lang"],
                start_char=r["start_char"], end_char=r["end_char"],
                ft_rank=r["ft_r"], vec_rank=r["vec_r"], ft_score=float(r["ft_score"] or 0),
                cosine=None if r["cosine"] is None else float(r["cosine"]),
                rrf=float(r["rrf"]))
            for r in rows]
