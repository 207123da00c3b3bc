"""Topics: HDBSCAN on real customer queries recovers their intents, c-TF-IDF names them, the
run is stored per scope (messages, one post's comments) with the trend week over week, and a
new run replaces the last."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from growthops.core.ai.embeddings import embedder_by_name
from growthops.core.errors import NotFound
from growthops.inbox.ai import topics
from tests.inbox.ai.threads import add_inbound, days_ago, intent_messages, tenant_with_account

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_ctfidf_follows_the_formula():
    texts = ["card card lost", "card lost stolen", "rate exchange", "exchange rate euro", "x"]
    labels = np.array([0, 0, 1, 1, -1])
    terms = topics.ctfidf(texts, labels, top=2)
    # by hand: class 0 = "card card lost card lost stolen": tf card 3/6, lost 2/6; f(card) = 3,
    # f(lost) = 2; A = (6 + 5 + 0) / 3 words per class. W(card) = 0.5 * log(1 + A/3) = 0.5 *
    # 0.9555 = 0.478; W(lost) = 1/3 * log(1 + A/2) = 0.3333 * 1.2238 = 0.408
    assert terms[0][0] == "card" and set(terms[1]) <= {"exchange", "rate", "exchange rate",
                                                      "rate exchange", "euro"}
    assert -1 not in terms


def test_clusters_recover_banking77_intents():
    data = intent_messages(n_intents=6, per_intent=25)
    texts = [t for t, _i in data]
    y = [i for _t, i in data]
    x = embedder_by_name("hashed-ngram-384").embed(texts)
    labels, probs = topics.cluster(np.asarray(x))
    m = labels >= 0
    assert labels.max() >= 2, "at least 3 topics"
    assert adjusted_rand_score(np.array(y)[m], labels[m]) >= 0.5
    purity = sum(Counter(np.array(y)[labels == c]).most_common(1)[0][1]
                 for c in set(labels[m])) / m.sum()
    assert purity >= 0.7
    assert ((probs > 0) == m).all()


def test_run_stores_topics_with_trend_and_examples(db):
    t, acct = tenant_with_account(db)
    data = intent_messages(n_intents=5, per_intent=20, seed=1)
    # the first 12 of each intent in the last week, the others the week before
    texts = [(text, days_ago(NOW, 1 + (k % 20 >= 12) * 7 + (k % 5) * 0.1))
             for k, (text, _i) in enumerate(data)]
    add_inbound(db, t.tenant_id, acct, texts + [("too old to count", days_ago(NOW, 40))])
    out = topics.run_topics(db, tenant_id=t.tenant_id, now=NOW)
    assert out["items"] == len(data) and out["topics"] >= 2
    with db.tenant_tx(t.tenant_id) as conn:
        rows = topics.list_topics(conn, tenant_id=t.tenant_id)
        n_items = conn.execute("select count(*) n from inbox.cluster_items").fetchone()["n"]
    assert len(rows) == out["topics"] and rows[0]["size"] >= rows[-1]["size"]
    assert sum(r["size"] for r in rows) == n_items == out["items"] - out["noise"]
    top = rows[0]
    assert top["label"] and top["keywords"] and len(top["examples"]) == 3
    assert top["week_count"] + top["prev_week_count"] == top["size"]
    assert top["week_count"] > top["prev_week_count"] and top["trend_pct"] > 0
    # a second run replaces the first (no duplicates)
    topics.run_topics(db, tenant_id=t.tenant_id, now=NOW)
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from inbox.clusters").fetchone()["n"] == len(rows)


def test_post_scope_clusters_one_posts_comments(db):
    t, acct = tenant_with_account(db)
    tid = str(t.tenant_id)
    data = intent_messages(n_intents=3, per_intent=15, seed=2)
    with db.tenant_tx(tid) as conn:
        post = conn.execute(
            """insert into inbox.monitored_posts (tenant_id, social_account_id, platform_post_id,
                 source, monitoring_ends_at) values (%s, %s, 'p1', 'manual', %s)
               returning monitored_post_id""", [tid, acct, NOW]).fetchone()["monitored_post_id"]
        conn.execute(
            """insert into inbox.comments (tenant_id, monitored_post_id, platform_comment_id,
                 text, created_at, received_via)
               select %s, %s, 'c' || o, x, %s, 'poll' from unnest(%s::text[])
                 with ordinality u(x, o)""", [tid, post, days_ago(NOW, 2), [d[0] for d in data]])
        assert topics.scopes_due(conn, now=NOW) == [post]
    out = topics.run_topics(db, tenant_id=tid, scope="post", scope_ref=post, now=NOW)
    assert out["items"] == len(data) and out["topics"] >= 1
    with db.tenant_tx(tid) as conn:
        rows = topics.list_topics(conn, tenant_id=tid, scope="post", scope_ref=post)
        assert rows and all(r["scope_ref"] == post for r in rows)
        assert topics.list_topics(conn, tenant_id=tid) == []  # the global scope is apart
    with pytest.raises(NotFound):
        topics.run_topics(db, tenant_id=tid, scope="post", scope_ref=post + 999, now=NOW)


def test_too_few_messages_make_no_topic_and_clear_old_ones(db):
    t, acct = tenant_with_account(db)
    add_inbound(db, t.tenant_id, acct, [("where is my card", days_ago(NOW, 1))] * 3)
    assert topics.run_topics(db, tenant_id=t.tenant_id, now=NOW)["topics"] == 0


def test_a_missing_embedder_is_a_conflict_not_a_server_error(db, monkeypatch):
    from growthops.core.errors import Conflict
    from growthops.inbox.ai import config

    t, _acct = tenant_with_account(db)

    def missing(conn, *, tenant_id):
        raise ValueError("local embeddings are off")

    monkeypatch.setattr(config, "tenant_embedder", missing)
    with pytest.raises(Conflict, match="embedding_model"):
        topics.run_topics(db, tenant_id=t.tenant_id, now=NOW)
