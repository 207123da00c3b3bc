"""Per-tenant HNSW indexes: a tenant whose source passes the threshold gets its own partial
index, the search's plan uses it (the small tenant's does not), a second run changes nothing,
and the index goes with the tenant (or when the tenant shrinks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from growthops.inbox.ai import kb, search, vector_index
from tests.conftest import new_tenant
from tests.inbox.ai.conftest import FixedEmbedder as Fixed


class Recorder:
    """A connection that records the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sent: list[tuple[str, Any]] = []

    def execute(self, query: str, params: Any = None, **kw: Any) -> Any:
        self.sent.append((query, params))
        return self.conn.execute(query, params, **kw)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _chunks(db: Any, tenant_id: Any, vecs: np.ndarray) -> None:
    with db.tenant_tx(tenant_id) as conn:
        doc = kb.add_document(conn, tenant_id=tenant_id, title="Doc", filename="d.txt",
                              data=b"doc")["document_id"]
        conn.execute(
            """insert into inbox.knowledge_chunks (tenant_id, document_id, chunk_index, content,
                                                   tsv, embedding_model, embedding)
               select %s, %s, i - 1, 'chunk ' || i, to_tsvector('english', 'chunk ' || i),
                      'test', e::vector
               from unnest(%s::text[]) with ordinality x(e, i)""",
            [tenant_id, doc, kb.vector_literal(vecs, True)])


def _indexes(db: Any) -> dict[str, str]:
    with db.admin() as conn:
        return {r["indexname"]: r["indexdef"] for r in conn.execute(
            """select indexname, indexdef from pg_indexes where schemaname = 'inbox'
                and indexname ~ '_embedding_[0-9a-f]{32}$'""").fetchall()}


def _plan(db: Any, tenant_id: Any, q: np.ndarray) -> str:
    """EXPLAIN of the statement ``search(mode="vector")`` sends, with its parameters, in the
    tenant's transaction (after the first round trip's settings)."""
    with db.tenant_tx(tenant_id) as conn:
        rec = Recorder(conn)
        hits = search.search(rec, tenant_id=tenant_id, query="x", mode="vector",
                             embedder=Fixed(q))
        assert len(hits) == 10
        sql, params = rec.sent[-1]
        return "\n".join(next(iter(r.values())) for r in conn.execute(
            "explain " + sql, params).fetchall())


def test_a_tenant_past_the_threshold_gets_its_own_index_and_the_search_uses_it(fresh_db):
    rng = np.random.default_rng(3)
    big, small = new_tenant(fresh_db), new_tenant(fresh_db)
    _chunks(fresh_db, big.tenant_id, _unit(rng, 40))
    _chunks(fresh_db, small.tenant_id, _unit(rng, 12))
    assert vector_index.ensure(fresh_db, threshold=20) == {"created": 1, "dropped": 0,
                                                            "rebuilt": 0, "failed": 0}
    name = vector_index.index_name("knowledge_chunks", big.tenant_id)
    have = _indexes(fresh_db)
    assert list(have) == [name]
    assert "USING hnsw (embedding vector_cosine_ops) WITH (m='24', ef_construction='128')" in have[name]
    assert f"WHERE (tenant_id = '{big.tenant_id}'::uuid)" in have[name]
    # idempotent
    assert vector_index.ensure(fresh_db, threshold=20)["created"] == 0
    q = _unit(rng, 1)[0]
    assert name in _plan(fresh_db, big.tenant_id, q)
    assert "_embedding_" not in _plan(fresh_db, small.tenant_id, q)  # exact search
    # the tenant's index is dropped with the tenant (deleted with its knowledge base: 0194)
    with fresh_db.admin() as conn:
        conn.execute("delete from core.tenants where tenant_id = %s", [big.tenant_id])
    assert vector_index.ensure(fresh_db, threshold=20)["dropped"] == 1
    assert _indexes(fresh_db) == {}


def test_faq_indexes_follow_growth_and_shrinking_with_hysteresis(fresh_db):
    rng = np.random.default_rng(4)
    t = new_tenant(fresh_db)
    with fresh_db.tenant_tx(t.tenant_id) as conn:
        conn.execute(
            """insert into inbox.faq_qa (tenant_id, question, answer, embedding_model, embedding)
               select %s, 'q' || i, 'a', 'test', e::vector
               from unnest(%s::text[]) with ordinality x(e, i)""",
            [t.tenant_id, kb.vector_literal(_unit(rng, 30), True)])
    assert vector_index.ensure(fresh_db, threshold=20, concurrently=False)["created"] == 1
    name = vector_index.index_name("faq_qa", t.tenant_id)
    assert name in _indexes(fresh_db)
    assert name in _plan(fresh_db, t.tenant_id, _unit(rng, 1)[0])
    # 15 left: under the threshold, above its half: kept (no build/drop flapping)
    with fresh_db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""delete from inbox.faq_qa where tenant_id = %s
                         and faq_id in (select faq_id from inbox.faq_qa where tenant_id = %s
                                        order by faq_id limit 15)""", [t.tenant_id, t.tenant_id])
    assert vector_index.ensure(fresh_db, threshold=20)["dropped"] == 0
    with fresh_db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""delete from inbox.faq_qa where tenant_id = %s
                         and faq_id in (select faq_id from inbox.faq_qa where tenant_id = %s
                                        order by faq_id limit 6)""", [t.tenant_id, t.tenant_id])
    assert vector_index.ensure(fresh_db, threshold=20)["dropped"] == 1
    assert _indexes(fresh_db) == {}


def test_index_names_come_from_a_parsed_uuid_only():
    tid = "6940f932-2af1-424f-9d3d-f4ed273b194f"
    assert (vector_index.index_name("knowledge_chunks", tid)
            == "knowledge_chunks_embedding_6940f9322af1424f9d3df4ed273b194f")
    assert len(vector_index.index_name("knowledge_chunks", tid)) <= 63
    assert vector_index.tenant_literal(tid.upper()) == f"'{tid}'::uuid"
    with pytest.raises(ValueError):
        vector_index.index_name("knowledge_chunks", "x'; drop table inbox.faq_qa; --")
    with pytest.raises(ValueError):
        vector_index.tenant_literal("x'::uuid or true or '")
    with pytest.raises(ValueError):
        vector_index.index_name("core.tenants", tid)


@pytest.mark.parametrize("concurrently", [True, False])
def test_an_index_built_with_other_graph_parameters_is_rebuilt_once(fresh_db, monkeypatch,
                                                                   concurrently):
    rng = np.random.default_rng(5)
    t = new_tenant(fresh_db)
    _chunks(fresh_db, t.tenant_id, _unit(rng, 40))
    monkeypatch.setattr(vector_index, "HNSW_M", 8)
    monkeypatch.setattr(vector_index, "HNSW_EF_CONSTRUCTION", 32)
    assert vector_index.ensure(fresh_db, threshold=20)["created"] == 1
    name = vector_index.index_name("knowledge_chunks", t.tenant_id)
    assert "WITH (m='8', ef_construction='32')" in _indexes(fresh_db)[name]
    monkeypatch.undo()  # the parameters change: the next run rebuilds the graph with them
    out = vector_index.ensure(fresh_db, threshold=20, concurrently=concurrently)
    assert out == {"created": 0, "dropped": 0, "rebuilt": 1, "failed": 0}
    have = _indexes(fresh_db)
    assert list(have) == [name]  # same name, same predicate, new parameters
    assert "WITH (m='24', ef_construction='128')" in have[name]
    assert f"WHERE (tenant_id = '{t.tenant_id}'::uuid)" in have[name]
    assert vector_index.ensure(fresh_db, threshold=20)["rebuilt"] == 0  # once
    assert name in _plan(fresh_db, t.tenant_id, _unit(rng, 1)[0])
