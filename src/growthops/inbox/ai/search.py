"""Hybrid search over a tenant's knowledge base: full-text and vector branches fused with
reciprocal rank fusion.

**Passages**: the enabled FAQ entries (``faq_qa``, matched on question and answer) and the chunks
of indexed documents (``knowledge_chunks``).

**Full-text branch**: the message is folded (:sql:`inbox.kb_fold`) and turned into an *OR*
query of its lexemes under both text-search configurations (``english`` and ``french``
stems, OR-ed: the message's language need not be known; a passage's ``tsvector`` holds the
stems of its own language). OR rather than AND (``websearch_to_tsquery``): a customer's
question shares a few words with the answer, rarely all of them. Matches are ranked by
**Okapi BM25** (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond",
2009), computed in SQL from the passages' ``tsvector``: ``Σ_t idf(t) · tf·(k1+1) / (tf + k1·(1 − b +
b·dl/avgdl))`` with ``idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))`` (Lucene's non-negative
form), ``k1 = 1.2``, ``b = 0.75`` (the paper's usual values). ``N``, ``df`` and ``avgdl`` come from
the tenant's text statistics (``inbox.kb_text_stats``, ``inbox.kb_lexemes``, kept by triggers,
migration ``0055_kb_text_stats.sql``); ``dl`` is the passage's number of distinct lexemes
(``length(tsv)``). Up to :data:`EXHAUSTIVE` passages every match is scored, read by
:sql:`inbox.kb_text_candidates` (migration ``0191_kb_text_candidates.sql``: under row-level
security the GIN index could not serve ``tsv @@ query``, whose operator is not leakproof).
Beyond, a bounded pool from **impact-ordered postings** (``inbox.kb_postings``, migration
``0195_kb_postings.sql``: one row per passage and lexeme with its ``tf`` and ``dl``, in a btree
ordered by tenant, lexeme and the row's BM25 term-frequency saturation; Anh & Moffat, "Pruned
query evaluation using pre-computed impacts", SIGIR 2006): for each query lexeme its
:data:`POSTINGS_K` postings of highest impact (:data:`POSTINGS_K_COMMON` for a lexeme in more
than :data:`MAX_DF` of the passages) by an index-only scan, the passages summed by the BM25 of
the postings read, and the best :data:`POSTINGS_POOL` of them scored exactly from their
``tsvector`` (the lexemes a passage holds beyond the postings read count too). At 10 × 100,000
chunks its top 10 overlaps exhaustive BM25's more than the former pool's (0.844 against 0.801;
docs/inbox-ai.md), which read up to :data:`CAND_FETCH` rows through the GIN index (a bitmap of 77,000 postings for a common
word) and ranked them all by ``ts_rank`` (:data:`POSTINGS` = False keeps it: :data:`CAND_MAX`,
:data:`CAND_FETCH`, the candidates' query computed in a first round trip so the planner sees
its value). ``tf`` counts a lexeme's positions, those of weight A (an FAQ's question) counted
:data:`QUESTION_BOOST` = 2 times (BM25F-style field weighting, Robertson et al., "Simple BM25
extension to multiple weighted fields", CIKM 2004). ``ts_rank`` has no IDF: frequent words
("covid", "virus") outweighed the rare words that identify an entry, and equal-weight fusion
with that branch pulled MiniLM's good answers down (hybrid was 0.96× the vector branch).

**Vector branch**: cosine distance (``<=>``) between the message's embedding and the passages'
embeddings of the same model: exact (every distance) for a source of the tenant without its own
HNSW index, else through that index — a partial index holding only the tenant's vectors, built
by :func:`growthops.inbox.ai.vector_index.ensure` once the source passes :data:`EXACT_MAX`
passages (migration ``0193_kb_vector_per_tenant.sql``). The statement names the tenant as a
literal there (a parsed UUID), so the planner proves the index's predicate; no tenant filter
runs inside the graph, so ``hnsw.ef_search`` :data:`EF_SEARCH` is far smaller than the filtered
all-tenant index needed. pgvector's iterative scans stay on (``relaxed_order``, pgvector ≥ 0.8)
so a row dropped by the model filter does not cut the ``depth`` rows short; the relaxed order
is re-sorted exactly afterwards. Measured in ``bench/kb_search.py`` and
``tests/inbox/ai/test_vector_index.py``. Without pgvector this branch is off.

With ``db`` (:func:`search`), a hybrid search runs the vector branch on a second connection
while the full-text branch runs on the caller's, and fuses them in Python (:func:`_fuse`).

**Fusion** (:data:`FUSION`, per embedder), over the top :data:`DEPTH` = 50 of each branch
(the window fused, Elasticsearch's ``rank_window_size``); ties broken by the vector rank:

* ``convex`` (the default): a **convex combination of min-max normalised scores**,
  ``α · (cos − min cos)/(max cos − min cos) + (1 − α) · bm25 / max bm25`` (minimum and maximum
  over each branch's window; a passage absent from a branch scores 0 there), after Bruch, Gai &
  Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS 42(1), 2023: the
  convex combination beats RRF in and out of domain and needs few examples to tune ``α``.
  Ranks throw away how sure each branch is: with RRF the third full-text hit could beat a
  clear first vector hit.
* ``rrf``: *weighted* reciprocal rank fusion, ``w_ft / (k + rank_ft) + w_vec / (k + rank_vec)``
  (Cormack, Clarke & Büttcher, SIGIR 2009; per-branch weights as in Elasticsearch's and
  Vespa's weighted RRF).

The parameters were chosen on one half of deepset's COVID-19 FAQ paraphrases (half A: the FAQ
entries whose question's md5 is even) by MRR@10, and are reported on the other half
(``bench/kb_retrieval.py --select``; docs/inbox-ai.md): MiniLM ``α = 0.8`` over
α ∈ {0.3 … 0.9}; the hashed n-gram embedder (lexical, like BM25) ``α = 0.4``. The RRF
defaults, chosen the same way over ``w_ft`` ∈ {0.25, 0.5, 0.75, 1} × ``k`` ∈ {5, 10, 20, 60}
(``w_vec = 1``): MiniLM ``w_ft = 0.5, k = 5``; hashed ``w_ft = 1, k = 5``. Equal-weight RRF
with ``k = 60`` and ``ts_rank`` (the former default) made hybrid 0.96× the vector branch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from growthops.inbox.ai.config import tenant_embedder
from growthops.inbox.ai.kb import vector_literal
from growthops.inbox.ai.vector_index import index_name, tenant_literal

RRF_K = 5
DEPTH = 50
#: pgvector's ``hnsw.ef_search`` for a tenant's own HNSW index (candidate list per scan; default
#: 40; at least :data:`DEPTH` is used). 10 tenants × 100,000 chunks, one partial index per
#: tenant, ``search(mode="vector")`` against exact search: with pgvector's default graph (m 16,
#: ef_construction 64), 300 queries: recall@10 0.936 at 100, 0.959 at 200, 0.970 at 300, 0.977
#: at 400 (the filtered all-tenant index: 0.945 at 400); with the graph of
#: :data:`growthops.inbox.ai.vector_index.HNSW_M` 24, ef_construction 128 (one tenant, 100
#: queries): 0.953 at 60, 0.973 at 100, 0.992 at 200; docs/inbox-ai.md.
EF_SEARCH = 100
#: A source (FAQ, chunks) of a tenant with more than this many passages gets its own HNSW index
#: (:mod:`growthops.inbox.ai.vector_index`); a smaller one is searched exactly (every distance,
#: no index: recall 1): at 5,000 chunks the exact search cost 6.2 ms of server CPU per query
#: against 12.5 ms for the filtered all-tenant HNSW scan (ef_search 100), and grows linearly
#: (docs/inbox-ai.md). The count is the tenant's ``inbox.kb_text_stats``.
EXACT_MAX = 10_000
QUESTION_BOOST = 2
#: Knowledge bases of at most this many passages are scored exhaustively (every passage that
#: shares a lexeme with the message).
EXHAUSTIVE = 2000
#: Bigger ones: a query lexeme found in more than this fraction of the tenant's passages is
#: common — Lucene's common-terms cut-off (Elasticsearch ``common`` query,
#: ``cutoff_frequency``): the postings read fewer of its passages (:data:`POSTINGS_K_COMMON`;
#: the former pool: it made no candidates unless every word was common, then only the rarest);
#: the common words still count in the score.
MAX_DF = 0.01
#: The former pool (:data:`POSTINGS` False): at most this many of its candidates (the best by
#: ``ts_rank``) are scored by BM25 from their ``tsvector``.
POOL = 400
#: Of those lexemes, the rarest first while the postings already taken are fewer than this
#: (MaxScore's idea of leaving the frequent terms out of candidate generation, Turtle & Flood,
#: "Query evaluation: strategies and optimizations", IP&M 31(6), 1995): at 10 × 100,000 chunks
#: a message's lexemes of df ≤ 1 % matched up to 27,000 passages, all ranked by ts_rank.
CAND_MAX = 2000
#: At most this many candidates are read (a message whose rarest lexeme is in more passages:
#: an arbitrary subset of them, in the table's order).
CAND_FETCH = 4000
BM25_K1 = 1.2
BM25_B = 0.75
#: Beyond :data:`EXHAUSTIVE` passages the full-text branch reads its candidates from
#: ``inbox.kb_postings`` (migration ``0195_kb_postings.sql``): for each query lexeme, at most
#: this many postings, those of highest impact (BM25's term-frequency saturation) first — all
#: of a lexeme in up to 1,000 passages — and :data:`POSTINGS_K_COMMON` for a common lexeme
#: (:data:`MAX_DF`); the best :data:`POSTINGS_POOL` of the passages read are scored from their
#: ``tsvector``. At 10 × 100,000 chunks (100 queries, top-10 overlap with exhaustive BM25; the
#: former pool 0.801), (K, K common, pool): (1000, 300, 400) 0.841, (1000, 500, 400) 0.872,
#: (1000, 500, 200) 0.797, **(1000, 1000, 200) 0.844**, (1000, 1000, 100) 0.771; full-text
#: search p50 / p95 10.7 / 16.4 ms at (1000, 300, 400), 9.3 / 14.2 ms at (1000, 1000, 200)
#: (docs/inbox-ai.md).
POSTINGS_K = 1000
POSTINGS_K_COMMON = 1000
POSTINGS_POOL = 200
#: False: the former bounded pool (GIN candidates, :data:`MAX_DF`, :data:`CAND_MAX`,
#: :data:`CAND_FETCH`, ``ts_rank``, :data:`POOL`) instead of the postings.
POSTINGS = True
FUSIONS = ("convex", "rrf")


@dataclass(frozen=True)
class Fusion:
    """How the branches are fused: ``method`` convex | rrf; ``alpha`` (convex: the vector
    branch's weight, 0-1); ``w_ft``, ``w_vec``, ``k`` (rrf)."""

    method: str = "convex"
    alpha: float = 0.8
    w_ft: float = 0.5
    w_vec: float = 1.0
    k: int = 5


#: The fusion per embedder (see the module; chosen on half A of the COVID FAQ).
FUSION: dict[str, Fusion] = {
    "all-MiniLM-L6-v2": Fusion(alpha=0.8, w_ft=0.5, w_vec=1.0, k=5),
    "hashed-ngram-384": Fusion(alpha=0.4, w_ft=1.0, w_vec=1.0, k=5),
}
#: Any other embedder (a remote model): MiniLM's (a semantic model).
FUSION_DEFAULT = Fusion()


def fusion_for(model: str | None) -> Fusion:
    """The :class:`Fusion` for the embedder ``model`` (:data:`FUSION`)."""
    return FUSION.get(model or "", FUSION_DEFAULT)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage.

    ``kind`` faq | chunk; ``ref_id`` its faq_id or chunk_id; ``title`` the FAQ question or the
    document title; ``text`` the FAQ answer or the chunk; ``ft_rank``/``vec_rank`` 1-based
    ranks in each branch (None: not in its top ``depth``); ``ft_score`` the BM25 score (≥ 0),
    ``cosine`` cosine similarity (-1..1); ``rrf`` the fused score.
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
_FT_LEXEMES = """array(select distinct l from unnest(
                    tsvector_to_array(to_tsvector('english', inbox.kb_fold(%(q)s)))
                    || tsvector_to_array(to_tsvector('french', inbox.kb_fold(%(q)s)))) l)"""
_QQ = f"""qq as (select coalesce({_FT_QUERY.format(cfg='english')}, ''::tsquery)
                    || coalesce({_FT_QUERY.format(cfg='french')}, ''::tsquery) as x,
                    {_FT_LEXEMES} as lx)"""
_ST = """st as (
          select coalesce(sum(s.passages), 0)::float8 as n,
                 coalesce(sum(s.total_length)::float8 / nullif(sum(s.passages), 0), 1) as avgdl
          from inbox.kb_text_stats s where s.tenant_id = %(t)s)"""
_QDF = """qdf as (
          select d.lexeme, d.df, ln(1 + (st.n - d.df + 0.5) / (d.df + 0.5)) as idf
          from (select l.lexeme, coalesce(sum(k.df), 0)::float8 as df
                from qq cross join lateral unnest(qq.lx) l(lexeme)
                left join inbox.kb_lexemes k on k.tenant_id = %(t)s and k.lexeme = l.lexeme
                group by l.lexeme) d cross join st)"""
#: The candidates' query: every lexeme of the message (exhaustive), else the lexemes of
#: document frequency ≤ MAX_DF, rarest first, while the postings taken so far are fewer than
#: CAND_MAX; else the rarest lexeme.
_CQ = """cq as (
          select case when st.n <= %(exh)s then qq.x
                      when not %(postings)s then coalesce(
                   (select string_agg(quote_literal(lexeme), ' | ')::tsquery from (
                      select lexeme, df, sum(df) over (order by df, lexeme
                                                       rows unbounded preceding) as cum
                      from qdf where df > 0 and df <= %(maxdf)s * st.n) r
                    where cum - df < %(candmax)s),
                   (select quote_literal(lexeme)::tsquery from qdf where df > 0
                    order by df, lexeme limit 1),
                   qq.x) end as x, st.n <= %(exh)s as exhaustive
          from qq cross join st)"""


def search(conn: Any, *, tenant_id: UUID | str, query: str, limit: int = 10,
           mode: str = "hybrid", depth: int = DEPTH, fusion: Fusion | None = None,
           embedder: Any = None, db: Any = None) -> list[Hit]:
    """Return the best ``limit`` passages for ``query``.

    ``mode``: ``hybrid`` (weighted RRF of both branches), ``fulltext`` or ``vector`` (one
    branch, its own order). ``embedder``: defaults to the tenant's. ``k``, ``w_ft``, ``w_vec``:
    the fusion's constant and branch weights (None: :func:`fusion_for` the embedder). Runs in
    the tenant's transaction (sets pgvector's scan options for it). ``db``
    (:class:`growthops.core.db.Database`, hybrid mode only): the vector branch runs at the same
    time as the full-text one, in its own transaction on another connection of ``db``'s pool
    (one round trip, :meth:`growthops.core.db.Database.tenant_batch`), and the branches are
    fused in Python (:func:`_fuse`, the same formulas and order as the SQL): the search takes
    the longer branch's time instead of their sum, but that branch sees only committed passages
    (not those written earlier in ``conn``'s transaction). Raises ValueError for an unknown
    mode or a negative weight.
    """
    if mode not in ("hybrid", "fulltext", "vector"):
        raise ValueError(f"mode: {mode!r} is not one of hybrid, fulltext, vector")
    tid = str(tenant_id)
    query = (query or "").strip()[:2000]
    if not query:
        return []
    # first round trip: is pgvector there, its scan options for this transaction (harmless
    # placeholders without it), and the full-text candidates' query, sent back as a value so
    # the planner of the main statement sees it (an InitPlan's tsquery is unknown to it: at
    # 10 × 100,000 chunks it chose a parallel sequential scan of the whole table over the GIN
    # index); custom plans for the same reason.
    first = conn.execute(
        f"""with {_QQ}, {_ST}, {_QDF}, {_CQ}
            select exists(select 1 from pg_extension where extname = 'vector') as pg,
                   set_config('hnsw.iterative_scan', 'relaxed_order', true),
                   set_config('hnsw.ef_search', %(ef)s, true),
                   set_config('plan_cache_mode', 'force_custom_plan', true),
                   cq.x::text as cq, cq.exhaustive,
                   exists(select 1 from pg_index where indexrelid = to_regclass(%(ixf)s)
                          and indisvalid) as ixf,
                   exists(select 1 from pg_index where indexrelid = to_regclass(%(ixc)s)
                          and indisvalid) as ixc from cq""",
        {"q": query, "t": tid, "ef": str(max(EF_SEARCH, depth)), "exh": EXHAUSTIVE,
         "maxdf": MAX_DF, "candmax": CAND_MAX, "postings": POSTINGS,
         "ixf": "inbox." + index_name("faq_qa", tid),
         "ixc": "inbox." + index_name("knowledge_chunks", tid)}).fetchone()
    pg = first["pg"]
    use_ft = mode in ("hybrid", "fulltext")
    use_vec = mode in ("hybrid", "vector") and pg
    if use_vec or fusion is None:
        embedder = embedder or tenant_embedder(conn, tenant_id=tid)
    fu = fusion or fusion_for(getattr(embedder, "name", None))
    if fu.method not in FUSIONS:
        raise ValueError(f"fusion: {fu.method!r} is not one of {', '.join(FUSIONS)}")
    if not 0 <= fu.alpha <= 1 or fu.w_ft < 0 or fu.w_vec < 0 or fu.k < 0:
        raise ValueError("fusion: alpha between 0 and 1, weights and k ≥ 0")
    params: dict[str, Any] = {"t": tid, "q": query, "depth": depth, "k": fu.k, "wf": fu.w_ft,
                              "wv": fu.w_vec, "alpha": fu.alpha, "boost": QUESTION_BOOST,
                              "k1": BM25_K1, "b": BM25_B, "exh": EXHAUSTIVE, "maxdf": MAX_DF,
                              "pool": POOL, "cq": first["cq"],
                              "exhaustive": first["exhaustive"], "fetch": CAND_FETCH,
                              "kpost": POSTINGS_K, "kcommon": POSTINGS_K_COMMON,
                              "ppool": POSTINGS_POOL}
    if use_vec:
        params["v"] = vector_literal(embedder.embed([query]), True)[0]
        params["m"] = embedder.name
    if use_ft and POSTINGS and not first["exhaustive"]:
        # the pool: the best POSTINGS_POOL passages by the BM25 of the postings read (each query
        # lexeme's POSTINGS_K of highest impact, POSTINGS_K_COMMON for a lexeme in more than
        # MAX_DF of the passages), then scored exactly from their tsvector below
        cand = """pc as (
          select p.src, p.ref_id,
                 sum(qdf.idf * p.tf * (%(k1)s + 1)
                     / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.dl / greatest(st.avgdl, 1))))
                   as partial
          from qdf cross join st cross join lateral (
            select p.src, p.ref_id, p.tf, p.dl from inbox.kb_postings p
            where p.tenant_id = %(t)s and p.lexeme = qdf.lexeme
            order by p.w desc
            limit case when qdf.df <= %(maxdf)s * st.n then %(kpost)s else %(kcommon)s end) p
          where qdf.df > 0
          group by p.src, p.ref_id
          order by partial desc, p.src, p.ref_id limit %(ppool)s),
        cand as (
          select 'chunk'::text as kind, c.chunk_id as ref_id, c.tsv
          from pc join inbox.knowledge_chunks c on c.tenant_id = %(t)s and c.chunk_id = pc.ref_id
          where pc.src = 'c'
          union all
          select 'faq', f.faq_id, f.tsv
          from pc join inbox.faq_qa f on f.tenant_id = %(t)s and f.faq_id = pc.ref_id
          where pc.src = 'f'),"""
    else:
        cand = """cand as (
          select * from inbox.kb_text_candidates(
                          %(t)s, %(cq)s::tsquery,
                          case when %(exhaustive)s then null else %(fetch)s end::int) m, qq
          order by %(exhaustive)s desc, ts_rank(m.tsv, qq.x, 1) desc
          limit case when %(exhaustive)s then null else %(pool)s end),"""
    ft = (f"""{_ST}, {_QDF},
        {cand}
        tf as (
          select c.kind, c.ref_id, length(c.tsv) as dl, u.lexeme,
                 coalesce(array_length(u.positions, 1), 1)
                 + (%(boost)s - 1) * coalesce(array_length(array_positions(u.weights, 'A'), 1), 0)
                   as tf
          from cand c cross join qq cross join lateral unnest(c.tsv) u
          where u.lexeme = any(qq.lx)),
        ft as (
          select kind, ref_id, score, row_number() over (order by score desc, kind, ref_id) as r
          from (select tf.kind, tf.ref_id,
                       sum(qdf.idf * tf.tf * (%(k1)s + 1)
                           / (tf.tf + %(k1)s * (1 - %(b)s + %(b)s * tf.dl
                                                / greatest(st.avgdl, 1)))) as score
                from tf join qdf using (lexeme) cross join st
                group by tf.kind, tf.ref_id) s
          order by score desc, kind, ref_id limit %(depth)s),""" if use_ft else
          "ft as (select null::text kind, null::bigint ref_id, 0::float8 score, 0::bigint r "
          "where false),")
    # per source: its own HNSW index (vector_index: a tenant of more than EXACT_MAX passages),
    # named by the tenant's literal so the planner matches the partial index's predicate; else
    # exact search (ordered by an expression no index serves)
    lit = tenant_literal(tid)

    def source(kind: str, table: str, alias: str, key: str, extra: str, indexed: bool) -> str:
        dist = f"{alias}.embedding <=> %(v)s::vector"
        return f"""(select '{kind}' as kind, {alias}.{key} as ref_id, {dist} as dist
             from inbox.{table} {alias}
             where {alias}.tenant_id = {lit if indexed else '%(t)s'}{extra}
               and {alias}.embedding_model = %(m)s
             order by {dist if indexed else f'({dist}) + 0'} limit %(depth)s)"""

    vec = (f"""vec as (
          select kind, ref_id, dist, row_number() over (order by dist, ref_id) as r from (
            {source('faq', 'faq_qa', 'f', 'faq_id', ' and f.enabled', first['ixf'])}
            union all
            {source('chunk', 'knowledge_chunks', 'c', 'chunk_id', '', first['ixc'])}
          ) s order by dist, ref_id limit %(depth)s)""" if use_vec else
           "vec as (select null::text kind, null::bigint ref_id, 0::float8 dist, 0::bigint r "
           "where false)")
    order = {"hybrid": "rrf desc, vec_r nulls last, ft_r nulls last",
             "fulltext": "ft_r", "vector": "vec_r"}[mode]
    fused_score = ("""coalesce(%(wf)s / (%(k)s + ft.r), 0)
                 + coalesce(%(wv)s / (%(k)s + vec.r), 0)""" if fu.method == "rrf" else
                   """%(alpha)s * (case when vec.ref_id is null then 0
                                    when vs.dmax > vs.dmin
                                    then (vs.dmax - vec.dist) / (vs.dmax - vs.dmin)
                                    else 1 end)
                 + (1 - %(alpha)s) * coalesce(ft.score / nullif(fts.mx, 0), 0)""")
    if db is not None and mode == "hybrid" and use_ft and use_vec:
        return _concurrent(conn, db, tid, ft, vec, params, fu, limit,
                           str(max(EF_SEARCH, depth)))
    sql = f"""
        with {_QQ},
        {ft}
        {vec},
        fused as (
          select coalesce(ft.kind, vec.kind) as kind, coalesce(ft.ref_id, vec.ref_id) as ref_id,
                 ft.r as ft_r, vec.r as vec_r, coalesce(ft.score, 0) as ft_score,
                 1 - vec.dist as cosine,
                 {fused_score} as rrf
          from ft full join vec on ft.kind = vec.kind and ft.ref_id = vec.ref_id
               cross join (select max(score) as mx from ft) fts
               cross join (select min(dist) as dmin, max(dist) as dmax from vec) vs
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
    return [_hit(r) for r in conn.execute(sql, params).fetchall()]


def _hit(r: dict[str, Any]) -> Hit:
    """The :class:`Hit` of a fused row (``kind, ref_id, ft_r, vec_r, ft_score, cosine, rrf``
    and the passage's columns, as the hybrid statement and :func:`_fuse` give them)."""
    faq = r["kind"] == "faq"
    return Hit(kind=r["kind"], ref_id=r["ref_id"], document_id=r["document_id"],
               title=r["question"] if faq else r["title"],
               text=r["answer"] if faq else r["content"],
               lang=r["f_lang"] if faq else r["c_lang"],
               start_char=r["start_char"], end_char=r["end_char"],
               ft_rank=r["ft_r"], vec_rank=r["vec_r"], ft_score=float(r["ft_score"] or 0),
               cosine=None if r["cosine"] is None else float(r["cosine"]),
               rrf=float(r["rrf"]))


_SHOW = """select x.*, f.question, f.answer, f.lang_code as f_lang, c.content, c.document_id,
               c.start_char, c.end_char, c.lang_code as c_lang, d.title
        from {cte} x
        left join inbox.faq_qa f on x.kind = 'faq' and f.tenant_id = %(t)s and f.faq_id = x.ref_id
        left join inbox.knowledge_chunks c on x.kind = 'chunk' and c.tenant_id = %(t)s
                                           and c.chunk_id = x.ref_id
        left join inbox.knowledge_documents d on d.tenant_id = %(t)s
                                              and d.document_id = c.document_id"""
_BRANCHES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-search")


def _concurrent(conn: Any, db: Any, tid: str, ft: str, vec: str, params: dict[str, Any],
                fu: Fusion, limit: int, ef: str) -> list[Hit]:
    """The hybrid search with its vector branch on another connection of ``db`` (in a thread:
    psycopg waits for the server without the GIL) while ``conn`` runs the full-text branch;
    each returns its ``DEPTH`` rows with what a :class:`Hit` shows, fused by :func:`_fuse`."""
    options = """select set_config('hnsw.iterative_scan', 'relaxed_order', true),
                        set_config('hnsw.ef_search', %(ef)s, true),
                        set_config('plan_cache_mode', 'force_custom_plan', true)"""
    job = _BRANCHES.submit(db.tenant_batch, tid, [
        (options, {"ef": ef}), (f"with {vec} " + _SHOW.format(cte="vec"), params)])
    try:
        ft_rows = conn.execute(f"with {_QQ}, {ft.rstrip().rstrip(',')} "
                               + _SHOW.format(cte="ft"), params).fetchall()
    finally:
        vec_rows = job.result()[1]
    return _fuse(ft_rows, vec_rows, fu, limit)


def _fuse(ft_rows: list[dict[str, Any]], vec_rows: list[dict[str, Any]], fu: Fusion,
          limit: int) -> list[Hit]:
    """Fuse the branches' rows (``kind, ref_id, score, r`` and ``kind, ref_id, dist, r``, with
    the passages' columns) as the hybrid statement does in SQL: the same scores (convex or
    RRF, :class:`Fusion`), ordered by fused score desc, vector rank, full-text rank (missing
    ranks last); the best ``limit``."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for r in ft_rows:
        rows[(r["kind"], r["ref_id"])] = {**r, "ft_r": r["r"], "vec_r": None, "dist": None}
    for r in vec_rows:
        got = rows.setdefault((r["kind"], r["ref_id"]), {**r, "ft_r": None, "score": None})
        got["vec_r"], got["dist"] = r["r"], r["dist"]
    mx = max((r["score"] for r in ft_rows), default=None)
    dists = [r["dist"] for r in vec_rows]
    dmin, dmax = (min(dists), max(dists)) if dists else (None, None)
    for r in rows.values():
        if fu.method == "rrf":
            r["rrf"] = ((fu.w_ft / (fu.k + r["ft_r"]) if r["ft_r"] is not None else 0)
                        + (fu.w_vec / (fu.k + r["vec_r"]) if r["vec_r"] is not None else 0))
        else:
            v = (0 if r["dist"] is None else
                 (dmax - r["dist"]) / (dmax - dmin) if dmax > dmin else 1)
            f = r["score"] / mx if r["score"] is not None and mx else 0
            r["rrf"] = fu.alpha * v + (1 - fu.alpha) * f
    best = sorted(rows.values(), key=lambda r: (-r["rrf"], r["vec_r"] is None, r["vec_r"] or 0,
                                                r["ft_r"] is None, r["ft_r"] or 0))[:limit]
    return [_hit({**r, "ft_score": r["score"],
                  "cosine": None if r["dist"] is None else 1 - r["dist"]}) for r in best]
