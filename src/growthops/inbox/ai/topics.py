"""Topics: what a tenant's customers write about, found by clustering their messages.

**Items**: a tenant's inbound text messages of the last :data:`WINDOW_DAYS` days (scope
``global``, newest :data:`MAX_ITEMS`), or the comments of one monitored post (scope ``post``,
``scope_ref`` = its ``monitored_post_id``).

**Clustering**: the items are embedded with the tenant's embedder
(:func:`growthops.inbox.ai.config.tenant_embedder`, the knowledge base's), reduced by PCA to
:data:`REDUCED_DIMS` dimensions and L2-normalised (density-based clustering degrades in high
dimension; BERTopic, Grootendorst 2022, reduces with UMAP to 5 dimensions for the same reason;
PCA needs no extra dependency), then clustered with HDBSCAN (Campello, Moulavi & Sander,
"Density-Based Clustering Based on Hierarchical Density Estimates", PAKDD 2013;
``sklearn.cluster.HDBSCAN``, excess-of-mass selection). ``min_cluster_size`` is
:func:`min_cluster_size`: 5 (scikit-learn's default) or 1 % of the items when that is larger,
so a topic is never fewer than 5 messages. Items in no dense region are noise (label -1): they
belong to no topic. 25 dimensions gave the best adjusted Rand index on BANKING77 with the
hashed embedder among 5, 10, 16 and 25 (``bench/topics_intents.py``).

**Labels**: class-based TF-IDF (c-TF-IDF, Grootendorst 2022, "BERTopic: Neural topic modeling
with a class-based TF-IDF procedure", arXiv:2203.05794, eq. 1): the items of a cluster are one
document; for a term ``x`` and a cluster ``c``

    W(x, c) = ‖tf(x, c)‖₁ · log(1 + A / f(x))

where ``tf(x, c)`` is the frequency of ``x`` in ``c`` (L1-normalised per cluster),
``f(x)`` the frequency of ``x`` over all clusters (noise included, so words of every message
weigh less) and ``A`` the average number of words per cluster. The label is the
:data:`TOP_TERMS` best terms (words and two-word phrases, English and French stop words removed).

**Trend**: per topic, how many of its items were written in the 7 days before the run
(``week_count``) and in the 7 days before those (``prev_week_count``).

A run replaces the stored topics of its scope in one transaction (``inbox.clusters``,
``inbox.cluster_items``, migration ``0051_inbox_topics.sql``); the weekly job
``inbox.topics`` runs it for every tenant (:mod:`growthops.inbox.ai.jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.core.errors import InvalidInput, NotFound

WINDOW_DAYS = 28
MAX_ITEMS = 5000
REDUCED_DIMS = 25
MIN_CLUSTER_SIZE = 5
TOP_TERMS = 4
WEEK = timedelta(days=7)
SCOPES = ("global", "post")

#: French function words (the English ones are scikit-learn's ``ENGLISH_STOP_WORDS``).
_FRENCH = """
a à afin ai aie aient aies ait alors as au aucun aucune aussi autre autres aux avaient avais
avait avant avec avez aviez avions avoir avons ayant bon c ça car ce ceci cela celle celles
celui cependant ces cet cette ceux chez ci comme comment d dans de des donc dont du elle elles
en encore es est et été étaient étais était êtes être eu eux fait faire fais faut il ils
j je jusqu l la là le les leur leurs lui m ma mais me même mes moi mon n ne ni non nos notre
nous on ont ou où par parce pas peu peut peux plus pour pourquoi qu quand que quel quelle
quelles quels qui quoi s sa sans se ses si sien son sont sous suis sur t ta te tes toi ton
tous tout toute toutes très tu un une vos votre vous y bonjour merci svp stp salut oui
"""
FRENCH_STOP_WORDS = frozenset(_FRENCH.split())


def stop_words() -> list[str]:
    """English (scikit-learn's list) and French stop words, plus greetings."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(set(ENGLISH_STOP_WORDS) | FRENCH_STOP_WORDS | {"hello", "hi", "thanks",
                                                                  "thank", "please"})


def min_cluster_size(n: int) -> int:
    """HDBSCAN's ``min_cluster_size`` for ``n`` items: max(5, 1 % of n)."""
    return max(MIN_CLUSTER_SIZE, round(0.01 * n))


def reduce(x: np.ndarray, dims: int = REDUCED_DIMS) -> np.ndarray:
    """PCA to ``dims`` dimensions (fewer when there are fewer items), rows L2-normalised."""
    from sklearn.decomposition import PCA

    x = np.asarray(x, dtype=np.float64)
    k = min(dims, x.shape[0] - 1, x.shape[1])
    z = PCA(k, random_state=0).fit_transform(x) if k >= 2 else x
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.where(norms == 0, 1.0, norms)


def cluster(x: np.ndarray, *, min_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN on embeddings ``x`` (n, d); return ``(labels, probabilities)``: labels 0..k-1,
    -1 for noise; probabilities 0-1 (membership strength, 0 for noise)."""
    from sklearn.cluster import HDBSCAN

    n = len(x)
    size = min_size or min_cluster_size(n)
    if n < 2 * size:
        return np.full(n, -1), np.zeros(n)
    model = HDBSCAN(min_cluster_size=size, copy=True).fit(reduce(x))
    return model.labels_.astype(int), np.asarray(model.probabilities_, dtype=float)


def ctfidf(texts: list[str], labels: np.ndarray, *, top: int = TOP_TERMS
           ) -> dict[int, list[str]]:
    """c-TF-IDF terms of each cluster (see the module): ``{label: [best terms]}`` (noise, -1,
    counts in ``f(x)`` and ``A`` but gets no terms)."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(int(v) for v in labels))
    if not any(c >= 0 for c in classes):
        return {}
    docs = [" ".join(t for t, lab in zip(texts, labels, strict=True) if lab == c)
            for c in classes]
    vec = CountVectorizer(ngram_range=(1, 2), stop_words=stop_words(), lowercase=True,
                          token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        tf = vec.fit_transform(docs).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {c: [] for c in classes if c >= 0}
    words = np.asarray(vec.get_feature_names_out())
    f = tf.sum(axis=0)
    avg = tf.sum() / len(classes)
    norm = tf / np.where(tf.sum(axis=1, keepdims=True) == 0, 1.0, tf.sum(axis=1, keepdims=True))
    w = norm * np.log1p(avg / np.where(f == 0, 1.0, f))
    out: dict[int, list[str]] = {}
    for i, c in enumerate(classes):
        if c < 0:
            continue
        order = np.argsort(-w[i], kind="stable")
        out[c] = [str(words[j]) for j in order[: top * 3] if w[i, j] > 0]
        out[c] = _dedupe(out[c])[:top]
    return out


def _dedupe(terms: list[str]) -> list[str]:
    """Drop a word already inside a better two-word phrase (and the reverse)."""
    kept: list[str] = []
    for t in terms:
        if any(t in k.split() or k in t.split() for k in kept):
            continue
        kept.append(t)
    return kept


@dataclass
class Topic:
    """One cluster of a run: its items (ids), their membership strengths and the label."""

    index: int
    keywords: list[str]
    item_ids: list[int] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    week_count: int = 0
    prev_week_count: int = 0

    @property
    def label(self) -> str:
        """The topic's title: its terms joined by `` · `` (``–`` without terms)."""
        return " · ".join(self.keywords) or "–"


def find_topics(ids: list[int], texts: list[str], times: list[datetime], x: np.ndarray, *,
                now: datetime, min_size: int | None = None) -> tuple[list[Topic], int]:
    """Cluster items (ids, texts, UTC times, embeddings) and label them; return the topics,
    largest first, and the number of noise items."""
    labels, probs = cluster(x, min_size=min_size)
    terms = ctfidf(texts, labels)
    topics: dict[int, Topic] = {}
    for i, lab in enumerate(labels):
        if lab < 0:
            continue
        t = topics.setdefault(int(lab), Topic(int(lab), terms.get(int(lab), [])))
        t.item_ids.append(ids[i])
        t.probabilities.append(float(probs[i]))
        age = now - times[i]
        if timedelta(0) <= age < WEEK:
            t.week_count += 1
        elif WEEK <= age < 2 * WEEK:
            t.prev_week_count += 1
    ordered = sorted(topics.values(), key=lambda t: -len(t.item_ids))
    return ordered, int((labels < 0).sum())


# ------------------------------------------------------------------------------ the tenant
def load_items(conn: Any, *, tenant_id: UUID | str, scope: str, scope_ref: int | None,
               now: datetime, days: int = WINDOW_DAYS, limit: int = MAX_ITEMS
               ) -> list[dict[str, Any]]:
    """The items of a scope: ``{id, text, at}``, newest first (see the module).

    Raises :class:`NotFound` for a post that is not this tenant's, :class:`InvalidInput` for an
    unknown scope or a ``post`` scope without ``scope_ref``.
    """
    tid = str(tenant_id)
    if scope == "global":
        return conn.execute(
            """select message_id as id, text, sent_at as at from inbox.conversation_messages
               where tenant_id = %s and direction = 'inbound' and message_type = 'text'
                 and coalesce(btrim(text), '') <> '' and sent_at >= %s and sent_at < %s
               order by sent_at desc limit %s""",
            [tid, now - timedelta(days=days), now, limit]).fetchall()
    if scope != "post" or scope_ref is None:
        raise InvalidInput("scope: 'global', or 'post' with the monitored post's id")
    if conn.execute("select 1 from inbox.monitored_posts where tenant_id = %s "
                    "and monitored_post_id = %s", [tid, scope_ref]).fetchone() is None:
        raise NotFound(f"post: no monitored post {scope_ref} for this tenant")
    return conn.execute(
        """select comment_id as id, text, created_at as at from inbox.comments
           where tenant_id = %s and monitored_post_id = %s and coalesce(btrim(text), '') <> ''
           order by created_at desc limit %s""", [tid, scope_ref, limit]).fetchall()


def run_topics(db: Any, *, tenant_id: UUID | str, scope: str = "global",
               scope_ref: int | None = None, now: datetime | None = None,
               days: int = WINDOW_DAYS, min_size: int | None = None,
               embedder: Any = None) -> dict[str, Any]:
    """Find and store the topics of a scope (replacing the previous ones); return a summary
    ``{items, topics, noise, min_cluster_size, embedder}``.

    ``now``: the end of the window (UTC, default now). Fewer items than twice the minimum
    cluster size: no topic (the previous ones are removed: they no longer describe the window).
    Raises :class:`InvalidInput` / :class:`NotFound` as :func:`load_items`, and
    :class:`~growthops.core.errors.Conflict` as :func:`learning_embedder`.
    """
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    if not 1 <= days <= 365:
        raise InvalidInput("days: 1 to 365")
    with db.tenant_tx(tid) as conn:
        items = load_items(conn, tenant_id=tid, scope=scope, scope_ref=scope_ref, now=at,
                           days=days)
        emb = embedder or learning_embedder(conn, tenant_id=tid)
    texts = [r["text"] for r in items]
    x = np.asarray(emb.embed(texts)) if texts else np.zeros((0, 1))
    size = min_size or min_cluster_size(len(items))
    topics, noise = find_topics([r["id"] for r in items], texts, [r["at"] for r in items], x,
                                now=at, min_size=size)
    params = {"embedder": getattr(emb, "name", type(emb).__name__), "days": days,
              "min_cluster_size": size, "items": len(items), "noise": noise,
              "reduced_dims": REDUCED_DIMS}
    with db.tenant_tx(tid) as conn:
        store_run(conn, tenant_id=tid, scope=scope, scope_ref=scope_ref, topics=topics,
                  params=params, run_at=at)
    return {"items": len(items), "topics": len(topics), "noise": noise,
            "min_cluster_size": size, "embedder": params["embedder"]}


def learning_embedder(conn: Any, *, tenant_id: UUID | str) -> Any:
    """The tenant's embedder (:func:`growthops.inbox.ai.config.tenant_embedder`).

    Raises :class:`~growthops.core.errors.Conflict` when it is MiniLM and the ``[ml]`` extra is
    not installed on this server (the tenant's setting, not a server error)."""
    from growthops.core.errors import Conflict
    from growthops.inbox.ai.config import tenant_embedder

    try:
        return tenant_embedder(conn, tenant_id=tenant_id)
    except ValueError as exc:
        raise Conflict(f"embedding_model: {exc}") from None


def store_run(conn: Any, *, tenant_id: UUID | str, scope: str, scope_ref: int | None,
              topics: list[Topic], params: dict[str, Any], run_at: datetime) -> None:
    """Replace the scope's clusters by ``topics`` (set-based: one statement for the clusters
    and their items)."""
    tid = str(tenant_id)
    conn.execute("""delete from inbox.clusters where tenant_id = %s and scope = %s
                      and scope_ref is not distinct from %s""", [tid, scope, scope_ref])
    if not topics:
        return
    kind = "message_id" if scope == "global" else "comment_id"
    idx = [i for i, t in enumerate(topics) for _ in t.item_ids]
    conn.execute(
        f"""with c as (
              insert into inbox.clusters (tenant_id, scope, scope_ref, algo, label, keywords,
                                          size, week_count, prev_week_count, params, run_at)
              select %(t)s, %(scope)s, %(ref)s, 'hdbscan', u.label,
                     string_to_array(u.kw, E'\\x1f'), u.size, u.w, u.p,
                     %(params)s || jsonb_build_object('index', u.i - 1), %(at)s
              from unnest(%(label)s::text[], %(kw)s::text[], %(size)s::int[], %(w)s::int[],
                          %(p)s::int[]) with ordinality u(label, kw, size, w, p, i)
              returning cluster_id, (params->>'index')::int as idx)
            insert into inbox.cluster_items (tenant_id, cluster_id, {kind}, probability)
            select %(t)s, c.cluster_id, x.item, x.prob
            from unnest(%(idx)s::int[], %(items)s::bigint[], %(probs)s::real[]) x(i, item, prob)
            join c on c.idx = x.i""",
        {"t": tid, "scope": scope, "ref": scope_ref, "params": Jsonb(params), "at": run_at,
         "label": [t.label[:300] for t in topics],
         "kw": ["\x1f".join(t.keywords) for t in topics],
         "size": [len(t.item_ids) for t in topics], "w": [t.week_count for t in topics],
         "p": [t.prev_week_count for t in topics], "idx": idx,
         "items": [i for t in topics for i in t.item_ids],
         "probs": [p for t in topics for p in t.probabilities]})


def trend_pct(week: int, prev: int) -> float | None:
    """Change week over week in percent (None when the previous week had nothing)."""
    return None if prev == 0 else 100.0 * (week - prev) / prev


def list_topics(conn: Any, *, tenant_id: UUID | str, scope: str = "global",
                scope_ref: int | None = None, examples: int = 3) -> list[dict[str, Any]]:
    """The stored topics of a scope, largest first, each with ``examples`` (the texts of its
    strongest members) and ``trend_pct`` (see :func:`trend_pct`)."""
    rows = conn.execute(
        """select c.cluster_id, c.scope, c.scope_ref, c.algo, c.label, c.keywords, c.size,
                  c.week_count, c.prev_week_count, c.params, c.run_at,
                  array(select coalesce(m.text, cm.text) from inbox.cluster_items i
                        left join inbox.conversation_messages m
                          on m.tenant_id = i.tenant_id and m.message_id = i.message_id
                        left join inbox.comments cm
                          on cm.tenant_id = i.tenant_id and cm.comment_id = i.comment_id
                        where i.tenant_id = c.tenant_id and i.cluster_id = c.cluster_id
                        order by i.probability desc nulls last, i.item_id limit %s) as examples
           from inbox.clusters c
           where c.tenant_id = %s and c.scope = %s and c.scope_ref is not distinct from %s
           order by c.size desc, c.cluster_id""",
        [examples, str(tenant_id), scope, scope_ref]).fetchall()
    for r in rows:
        r["trend_pct"] = trend_pct(r["week_count"], r["prev_week_count"])
    return rows


def scopes_due(conn: Any, *, now: datetime, min_comments: int = 2 * MIN_CLUSTER_SIZE
               ) -> list[int]:
    """Monitored posts (of the current tenant) with comments in the last 7 days and at least
    ``min_comments`` comments: the job clusters each one's comments."""
    return [r["monitored_post_id"] for r in conn.execute(
        """select monitored_post_id from inbox.comments
           group by monitored_post_id
           having count(*) >= %s and max(created_at) >= %s
           order by monitored_post_id""", [min_comments, now - WEEK]).fetchall()]
