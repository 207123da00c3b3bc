"""Hybrid search: each branch finds what it should, RRF fuses them, tenants never mix, and the
vector branch of a small tenant among big ones (with their own HNSW indexes) still returns its
rows."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.inbox.ai import kb, search, vector_index
from tests.conftest import new_tenant
from tests.inbox.ai.conftest import FixedEmbedder as Fixed
from tests.inbox.ai.conftest import kb_tenant


def test_each_mode_finds_the_answer_and_hybrid_fuses(db, kbt):
    with db.tenant_tx(kbt.tenant_id) as conn:
        for mode in ("fulltext", "vector", "hybrid"):
            hits = search.search(conn, tenant_id=kbt.tenant_id, query="when are you open?",
                                 mode=mode)
            assert hits and hits[0].title == "What are your opening hours?", mode
        hits = search.search(conn, tenant_id=kbt.tenant_id, query="can you ship my order to canada?")
        top = hits[0]
        assert top.title == "Do you ship to Canada?"
        assert top.ft_rank is not None and top.vec_rank is not None
        # the default fusion: a convex combination of min-max normalised scores
        assert search.fusion_for("hashed-ngram-384").method == "convex"
        assert 0 < top.rrf <= 1
        everything = search.search(conn, tenant_id=kbt.tenant_id, limit=50,
                                   query="can you ship my order to canada?")
        best_cos = max(h.cosine for h in everything if h.cosine is not None)
        alpha = search.fusion_for("hashed-ngram-384").alpha
        if top.cosine == best_cos and top.ft_rank == 1:  # first in both branches: the maximum
            assert top.rrf == pytest.approx(1.0)
        assert all(h.rrf <= top.rrf for h in everything)
        only_ft = [h for h in everything if h.vec_rank is None]
        assert all(h.rrf <= 1 - alpha + 1e-9 for h in only_ft)
        # weighted RRF on request
        rrf = search.Fusion(method="rrf", w_ft=0.25, w_vec=2.0, k=60)
        weighted = search.search(conn, tenant_id=kbt.tenant_id, fusion=rrf,
                                 query="can you ship my order to canada?")[0]
        assert weighted.rrf == pytest.approx(0.25 / (60 + weighted.ft_rank)
                                             + 2.0 / (60 + weighted.vec_rank))
        with pytest.raises(ValueError, match="fusion"):
            search.search(conn, tenant_id=kbt.tenant_id, query="x",
                          fusion=search.Fusion(method="borda"))
        # French, accents and inflection folded: "livrés" / "livraison"
        fr = search.search(conn, tenant_id=kbt.tenant_id, query="en combien de jours suis-je livré")
        assert fr[0].title == "Combien de temps prend la livraison ?"
        assert fr[0].lang == "fr"
        with pytest.raises(ValueError, match="mode"):
            search.search(conn, tenant_id=kbt.tenant_id, query="x", mode="bm25")


def test_chunks_are_found_with_their_offsets(db):
    t = kb_tenant(db, faq=False)
    text = ("Our shop is in Lyon. Returns are accepted within 30 days with the receipt. "
            "Gift cards cannot be refunded.")
    with db.tenant_tx(t.tenant_id) as conn:
        d = kb.add_document(conn, tenant_id=t.tenant_id, title="Policy", filename="p.txt",
                            data=text.encode())
    kb.index_document(db, tenant_id=t.tenant_id, document_id=d["document_id"])
    with db.tenant_tx(t.tenant_id) as conn:
        hit = search.search(conn, tenant_id=t.tenant_id, query="can I return an item?")[0]
    assert hit.kind == "chunk" and hit.title == "Policy"
    assert text[hit.start_char:hit.end_char] == hit.text


def test_another_tenants_passages_are_never_returned(db, kbt):
    other = kb_tenant(db, faq=False)
    with db.tenant_tx(other.tenant_id) as conn:
        assert search.search(conn, tenant_id=other.tenant_id, query="opening hours") == []
    # even naming the other tenant explicitly under RLS finds nothing
    with db.tenant_tx(other.tenant_id) as conn:
        assert search.search(conn, tenant_id=kbt.tenant_id, query="opening hours") == []


def test_vector_branch_recall_with_many_tenants_of_skewed_sizes(fresh_db):
    """Tenants of 3,000, 300 and 30 entries: the two big ones get their own HNSW index
    (threshold lowered to 200), the small one is searched exactly; each tenant's top 10 from
    the vector branch equals (≥ 0.9 overlap) its exact top 10, and the small tenant among big
    ones gets 10 rows, the exact ones."""
    rng = np.random.default_rng(7)
    sizes = [3000, 300, 30]
    tenants = []
    for n in sizes:
        t = new_tenant(fresh_db)
        vecs = rng.normal(size=(n, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with fresh_db.tenant_tx(t.tenant_id) as conn:
            conn.execute(
                """insert into inbox.faq_qa (tenant_id, question, answer, embedding_model, embedding)
                   select %s, 'q' || i, 'a', 'test', e::vector
                   from unnest(%s::text[]) with ordinality x(e, i)""",
                [t.tenant_id, kb.vector_literal(vecs, True)])
        tenants.append(t)
    assert vector_index.ensure(fresh_db, threshold=200)["created"] == 2

    overlaps = []
    for t in tenants:
        for _ in range(5):
            q = rng.normal(size=384).astype(np.float32)
            q /= np.linalg.norm(q)
            lit = kb.vector_literal(q[None, :], True)[0]
            with fresh_db.tenant_tx(t.tenant_id) as conn:
                hits = search.search(conn, tenant_id=t.tenant_id, query="x", mode="vector",
                                     embedder=Fixed(q))
                conn.execute("set local enable_indexscan = off")
                exact = [r["faq_id"] for r in conn.execute(
                    """select faq_id from inbox.faq_qa where tenant_id = %s
                       order by embedding <=> %s::vector, faq_id limit 10""",
                    [t.tenant_id, lit]).fetchall()]
            assert len(hits) == 10
            if t is tenants[-1]:  # exact search: the same rows in the same order
                assert [h.ref_id for h in hits] == exact
            overlaps.append(len({h.ref_id for h in hits} & set(exact)) / 10)
    assert np.mean(overlaps) >= 0.9, overlaps


def test_fulltext_is_bm25_a_rare_word_outweighs_a_frequent_one(db):
    """IDF: "delivery" is in every entry, "parrot" in one; the entry with the rare word comes
    first even though another repeats the frequent word (ts_rank, without IDF, put it first)."""
    t = kb_tenant(db, faq=False)
    entries = [{"question": "Delivery delivery delivery: how does delivery work?",
                "answer": "Delivery, delivery and delivery again."},
               {"question": "Can a parrot be sent?", "answer": "Yes, a parrot travels with delivery."}]
    entries += [{"question": f"Delivery question {i}", "answer": f"Delivery answer {i}."}
                for i in range(8)]
    with db.tenant_tx(t.tenant_id) as conn:
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=entries)
        hits = search.search(conn, tenant_id=t.tenant_id, query="delivery of my parrot",
                             mode="fulltext")
    assert hits[0].title == "Can a parrot be sent?"
    assert hits[0].ft_score > hits[1].ft_score > 0


def test_text_statistics_follow_inserts_updates_and_deletes(db):
    t = kb_tenant(db, faq=False)

    def stats(conn):
        s = conn.execute("select sum(passages) passages, sum(total_length) total_length "
                         "from inbox.kb_text_stats where tenant_id = %s "
                         "having count(*) > 0", [t.tenant_id]).fetchone()
        df = {r["lexeme"]: r["df"] for r in conn.execute(
            "select lexeme, sum(df) df from inbox.kb_lexemes where tenant_id = %s "
            "group by lexeme having sum(df) > 0", [t.tenant_id])}
        truth = conn.execute(
            """select count(*) n, coalesce(sum(length(tsv)), 0) l from (
                 select tsv from inbox.faq_qa where tenant_id = %(t)s and enabled
                 union all select tsv from inbox.knowledge_chunks where tenant_id = %(t)s) p""",
            {"t": t.tenant_id}).fetchone()
        return (s["passages"], s["total_length"]) if s else (0, 0), df, (truth["n"], truth["l"])

    with db.tenant_tx(t.tenant_id) as conn:
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
            {"question": "Do you ship parrots?", "answer": "Parrots travel by air.", "lang": "en"},
            {"question": "Do you ship cats?", "answer": "Cats travel by train.", "lang": "en"}])
        (n, length), df, truth = stats(conn)
        assert (n, length) == truth and n == 2
        assert df["ship"] == 2 and df["parrot"] == 1 and df["train"] == 1
        conn.execute("update inbox.faq_qa set tsv = to_tsvector('english', 'dogs only') "
                     "where tenant_id = %s and question = 'Do you ship cats?'", [t.tenant_id])
        (n, length), df, truth = stats(conn)
        assert (n, length) == truth and df["ship"] == 1 and "train" not in df and df["dog"] == 1
        # a disabled entry is not searched: it leaves N, df and the lengths (migration 0200)
        parrots = conn.execute("select faq_id from inbox.faq_qa where tenant_id = %s and "
                               "question = 'Do you ship parrots?'", [t.tenant_id]).fetchone()[
                                   "faq_id"]
        kb.set_faq_enabled(conn, tenant_id=t.tenant_id, faq_id=parrots, enabled=False)
        (n, length), df, truth = stats(conn)
        assert (n, length) == truth and n == 1 and "parrot" not in df and "ship" not in df
        kb.set_faq_enabled(conn, tenant_id=t.tenant_id, faq_id=parrots, enabled=True)
        (n, length), df, truth = stats(conn)
        assert (n, length) == truth and n == 2 and df["parrot"] == 1 and df["ship"] == 1
        conn.execute("delete from inbox.faq_qa where tenant_id = %s", [t.tenant_id])
        (n, length), df, truth = stats(conn)
        assert (n, length) == (0, 0) == truth and df == {}


def test_deleting_a_tenant_with_a_knowledge_base_takes_its_statistics_only(db):
    """Migration 0194: the cascade from core.tenants deletes the tenant's FAQ entries (and
    passages) after its row; the statistics' trigger used to count them down into rows that
    referenced the deleted tenant, and the foreign key aborted the whole deletion. Now the
    tenant goes with its statistics and its full-text postings (migration 0195: no foreign key,
    the passages' delete trigger takes them), and another tenant's are untouched."""
    gone, kept = kb_tenant(db, faq=False), kb_tenant(db, faq=False)
    for t in (gone, kept):
        with db.tenant_tx(t.tenant_id) as conn:
            kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
                {"question": "Do you ship parrots?", "answer": "Parrots travel by air.", "lang": "en"}])

    def counts(tid):
        with db.admin() as conn:
            return conn.execute(
                """select (select count(*) from inbox.kb_text_stats where tenant_id = %(t)s) s,
                          (select count(*) from inbox.kb_lexemes where tenant_id = %(t)s) l,
                          (select count(*) from inbox.kb_postings where tenant_id = %(t)s) p,
                          (select count(*) from inbox.faq_qa where tenant_id = %(t)s) f""",
                {"t": tid}).fetchone()

    before = counts(kept.tenant_id)
    assert before["s"] >= 1 and before["l"] >= 3 and before["p"] >= 3
    assert counts(gone.tenant_id)["s"] >= 1 and counts(gone.tenant_id)["p"] >= 3
    with db.admin() as conn:
        conn.execute("delete from core.tenants where tenant_id = %s", [gone.tenant_id])
    after = counts(gone.tenant_id)
    assert (after["s"], after["l"], after["p"], after["f"]) == (0, 0, 0, 0)
    assert counts(kept.tenant_id) == before


def test_a_big_knowledge_base_scores_a_bounded_pool(db, monkeypatch):
    """Beyond EXHAUSTIVE passages the candidates come from the rare query words: the answer
    holding the rare word is still found, ranked by BM25."""
    t = kb_tenant(db, faq=False)
    entries = [{"question": f"Delivery question {i}", "answer": f"Delivery answer {i}.",
                "lang": "en"} for i in range(40)]
    entries.append({"question": "Can a parrot be sent?", "answer": "Yes, by delivery.",
                    "lang": "en"})
    with db.tenant_tx(t.tenant_id) as conn:
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=entries)
        monkeypatch.setattr(search, "EXHAUSTIVE", 10)
        monkeypatch.setattr(search, "POOL", 5)
        monkeypatch.setattr(search, "POSTINGS", False)
        hits = search.search(conn, tenant_id=t.tenant_id, query="delivery of a parrot",
                             mode="fulltext")
    assert hits[0].title == "Can a parrot be sent?"
    assert len(hits) == 1  # only the pool built from the rare word ("delivery": in every entry)


def test_a_big_knowledge_base_reads_the_best_postings_of_each_word(db, monkeypatch):
    """Beyond EXHAUSTIVE passages the full-text branch reads at most POSTINGS_K postings per
    query word (inbox.kb_postings, highest impact first): with the bound above every word's
    postings, the same hits and BM25 scores as the exhaustive scoring; with a bound of 2 the rare
    word's passage still comes first and at most 2 passages per word are scored."""
    t = kb_tenant(db, faq=False)
    entries = [{"question": f"Delivery question {i}", "answer": f"Delivery answer {i}" + " x" * i,
                "lang": "en"} for i in range(40)]
    entries.append({"question": "Can a parrot be sent?", "answer": "Yes, by delivery.",
                    "lang": "en"})
    with db.tenant_tx(t.tenant_id) as conn:
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=entries)
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
            {"question": "Parrot question?", "answer": "Not enabled.", "lang": "en"}])
        conn.execute("update inbox.faq_qa set enabled = false where tenant_id = %s "
                     "and question = 'Parrot question?'", [t.tenant_id])

        def run():
            return [(h.ref_id, h.ft_rank, round(h.ft_score, 9)) for h in search.search(
                conn, tenant_id=t.tenant_id, query="delivery of a parrot", mode="fulltext",
                limit=50)]

        exhaustive = run()
        monkeypatch.setattr(search, "EXHAUSTIVE", 10)
        assert run() == exhaustive and len(exhaustive) == 41
        monkeypatch.setattr(search, "POSTINGS_K", 2)
        monkeypatch.setattr(search, "POSTINGS_K_COMMON", 2)
        hits = search.search(conn, tenant_id=t.tenant_id, query="delivery of a parrot",
                             mode="fulltext")
    assert hits[0].title == "Can a parrot be sent?"
    assert len(hits) == 3


def test_postings_follow_inserts_updates_and_deletes(db):
    """inbox.kb_postings (migration 0195) holds one row per (enabled passage, lexeme), as
    inbox.kb_postings_of computes it from the passage's tsvector, after every kind of write."""
    t = kb_tenant(db, faq=False)

    def check(conn):
        have = conn.execute(
            """select src, ref_id, lexeme, w, tf, dl from inbox.kb_postings
                where tenant_id = %s order by 1, 2, 3""", [t.tenant_id]).fetchall()
        truth = conn.execute(
            """select * from (
                 select 'f'::"char" src, f.faq_id ref_id, x.lexeme, x.w, x.tf, x.dl
                 from inbox.faq_qa f cross join lateral inbox.kb_postings_of(f.tsv) x
                 where f.tenant_id = %(t)s and f.enabled
                 union all
                 select 'c', c.chunk_id, x.lexeme, x.w, x.tf, x.dl
                 from inbox.knowledge_chunks c cross join lateral inbox.kb_postings_of(c.tsv) x
                 where c.tenant_id = %(t)s) p order by 1, 2, 3""", {"t": t.tenant_id}).fetchall()
        assert have == truth
        return len(have)

    with db.tenant_tx(t.tenant_id) as conn:
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
            {"question": "Do you ship parrots?", "answer": "Parrots travel by air.", "lang": "en"},
            {"question": "Do you ship cats?", "answer": "Cats travel by train.", "lang": "en"}])
        n = check(conn)
        assert n >= 8
        tf = conn.execute("select tf from inbox.kb_postings where tenant_id = %s "
                          "and lexeme = 'parrot'", [t.tenant_id]).fetchone()["tf"]
        assert tf == 1 + search.QUESTION_BOOST  # once in the answer, once (× 2) in the question
        conn.execute("update inbox.faq_qa set tsv = to_tsvector('english', 'dogs only') "
                     "where tenant_id = %s and question = 'Do you ship cats?'", [t.tenant_id])
        check(conn)
        conn.execute("update inbox.faq_qa set enabled = false where tenant_id = %s "
                     "and question = 'Do you ship parrots?'", [t.tenant_id])
        assert check(conn) == 1  # 'dog' ('only' is a stop word): the enabled entry's
        conn.execute("update inbox.faq_qa set enabled = true, category = 'x' "
                     "where tenant_id = %s", [t.tenant_id])
        check(conn)
        conn.execute("delete from inbox.faq_qa where tenant_id = %s", [t.tenant_id])
        assert check(conn) == 0


def test_the_branches_on_two_connections_give_the_same_hits(db, kbt, monkeypatch):
    """``search(db=...)``: the vector branch on another connection of the pool, fused in
    Python — the same hits, ranks and scores as the one statement, for both fusions, on the
    small FAQ (exhaustive) and on a bounded full-text pool (the postings)."""
    from tests.inbox.ai.conftest import ANSWERABLE

    queries = [q for q, _ in ANSWERABLE] + ["zzz qqq", "the"]
    for exhaustive in (2000, 1):
        monkeypatch.setattr(search, "EXHAUSTIVE", exhaustive)
        for fu in (None, search.Fusion(method="rrf", w_ft=0.5, w_vec=1.0, k=5)):
            with db.tenant_tx(kbt.tenant_id) as conn:
                for q in queries:
                    one = search.search(conn, tenant_id=kbt.tenant_id, query=q, fusion=fu)
                    two = search.search(conn, tenant_id=kbt.tenant_id, query=q, fusion=fu,
                                        db=db)
                    assert [(h.kind, h.ref_id, h.ft_rank, h.vec_rank) for h in two] == \
                        [(h.kind, h.ref_id, h.ft_rank, h.vec_rank) for h in one], q
                    for a, b in zip(one, two, strict=True):
                        assert (b.rrf, b.ft_score, b.cosine) == pytest.approx(
                            (a.rrf, a.ft_score, a.cosine)), q
                        assert (b.title, b.text, b.lang) == (a.title, a.text, a.lang)
