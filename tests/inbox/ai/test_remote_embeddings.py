"""The OpenAI-compatible embeddings provider through the official ``openai`` SDK, against a
local server speaking the /v1/embeddings wire format: vectors in order and normalised, batched,
the tenant's knowledge base indexed and searched with it, and clear errors for a wrong width,
an HTTP error or a missing endpoint."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.core.ai.remote_embeddings import BATCH, EmbeddingError, OpenAIEmbedder
from growthops.core.errors import ConfigError, InvalidInput
from growthops.inbox.ai import config, kb, search
from growthops.settings import get_settings
from tests.conftest import new_tenant
from tests.inbox.ai.conftest import FAQ
from tests.inbox.ai.embeddings_server import EmbeddingsServer, expected


@pytest.fixture()
def server():
    s = EmbeddingsServer().start()
    yield s
    s.stop()


@pytest.fixture()
def endpoint(server, monkeypatch):
    """The server's settings point at the local server (key from the environment)."""
    monkeypatch.setenv("GROWTHOPS_EMBEDDINGS_BASE_URL", server.url)
    monkeypatch.setenv("GROWTHOPS_EMBEDDINGS_API_KEY", "sk-emb-test")
    get_settings.cache_clear()
    yield server
    monkeypatch.undo()
    get_settings.cache_clear()


def test_vectors_come_back_in_order_normalised_and_batched(server):
    emb = OpenAIEmbedder(model="test-embed", api_key="sk-x", base_url=server.url)
    server.shuffle = True  # the server lists the data in reverse: the index field orders it
    texts = [f"question number {i} about delivery" for i in range(BATCH + 3)] + [""]
    vecs = emb.embed(texts)
    assert vecs.shape == (len(texts), 384) and vecs.dtype == np.float32
    assert np.allclose(vecs[:-1], expected(texts[:-1]), atol=1e-6)
    assert np.allclose(np.linalg.norm(vecs[:-1], axis=1), 1.0, atol=1e-5)
    assert [len(r["input"]) for r in server.requests] == [BATCH, 4]
    assert all(r["dimensions"] == 384 and r["model"] == "test-embed" for r in server.requests)
    assert server.requests[1]["input"][-1] == " "  # an empty text is sent as a space
    assert emb.name == "openai:test-embed"


def test_wrong_width_and_http_errors_are_clear(server):
    emb = OpenAIEmbedder(model="big", api_key="sk-x", base_url=server.url)
    server.width = 1536
    with pytest.raises(EmbeddingError, match="1536 dimensions.*384"):
        emb.embed(["hello"])
    server.width, server.fail_status = None, 503
    with pytest.raises(EmbeddingError, match="HTTP 503") as exc:
        emb.embed(["hello"])
    assert exc.value.transient
    server.fail_status = 401
    with pytest.raises(EmbeddingError, match="HTTP 401") as exc:
        emb.embed(["hello"])
    assert not exc.value.transient
    dead = OpenAIEmbedder(model="m", api_key="k", base_url="http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(EmbeddingError) as exc:
        dead.embed(["hello"])
    assert exc.value.transient


def test_a_tenant_indexes_and_searches_with_the_remote_model(db, endpoint):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="openai:test-embed")
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=FAQ)
        models = conn.execute("select distinct embedding_model from inbox.faq_qa "
                              "where tenant_id = %s", [t.tenant_id]).fetchall()
        assert [m["embedding_model"] for m in models] == ["openai:test-embed"]
        hits = search.search(conn, tenant_id=t.tenant_id, query="how long does delivery take",
                             mode="vector")
    assert hits[0].title == "How long does delivery take?" and hits[0].cosine > 0.5
    assert endpoint.auth[-1] == "Bearer sk-emb-test"
    # the document path too: chunks carry the remote model's name
    with db.tenant_tx(t.tenant_id) as conn:
        d = kb.add_document(conn, tenant_id=t.tenant_id, title="Returns", filename="r.txt",
                            data=b"Returns are accepted within 30 days with the receipt.")
    assert kb.index_document(db, tenant_id=t.tenant_id, document_id=d["document_id"])[
        "status"] == "indexed"
    with db.tenant_tx(t.tenant_id) as conn:
        row = conn.execute("select embedding_model from inbox.knowledge_chunks "
                           "where tenant_id = %s", [t.tenant_id]).fetchone()
    assert row["embedding_model"] == "openai:test-embed"
    # a lasting endpoint error fails the document with the reason, nothing stored
    endpoint.width = 1024
    with db.tenant_tx(t.tenant_id) as conn:
        d2 = kb.add_document(conn, tenant_id=t.tenant_id, title="Hours", filename="h.txt",
                             data=b"We open at nine.")
    out = kb.index_document(db, tenant_id=t.tenant_id, document_id=d2["document_id"])
    assert out["status"] == "failed" and "1024 dimensions" in out["reason"]
    with db.tenant_tx(t.tenant_id) as conn:
        doc = conn.execute("select status, status_reason from inbox.knowledge_documents "
                           "where tenant_id = %s and document_id = %s",
                           [t.tenant_id, d2["document_id"]]).fetchone()
        n = conn.execute("select count(*) n from inbox.knowledge_chunks where tenant_id = %s "
                         "and document_id = %s", [t.tenant_id, d2["document_id"]]).fetchone()
    assert doc["status"] == "failed" and "1024" in doc["status_reason"] and n["n"] == 0


def test_settings_validate_the_name_and_a_missing_endpoint_is_a_config_error(db, endpoint,
                                                                             monkeypatch):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(InvalidInput, match="embedding_model"):
            config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="openai:")
        with pytest.raises(InvalidInput, match="embedding_model"):
            config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="bert-huge")
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="openai:m")
        for var in ("GROWTHOPS_EMBEDDINGS_BASE_URL", "GROWTHOPS_EMBEDDINGS_API_KEY",
                    "GROWTHOPS_LLM_BASE_URL", "GROWTHOPS_LLM_API_KEY"):
            monkeypatch.delenv(var, raising=False)
        get_settings.cache_clear()
        try:
            # no endpoint on this server: refused as bad input (400), not a server error
            with pytest.raises(InvalidInput, match="GROWTHOPS_EMBEDDINGS_BASE_URL"):
                config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="openai:n")
            # a tenant set up while there was one: a configuration error naming the setting
            with pytest.raises(ConfigError, match="GROWTHOPS_EMBEDDINGS_BASE_URL"):
                config.tenant_embedder(conn, tenant_id=t.tenant_id)
        finally:
            get_settings.cache_clear()


def test_the_answer_classifier_appends_the_stored_vectors_of_a_semantic_embedder(db, endpoint):
    """With a semantic embedder the answer classifier is trained on the FAQ entries' stored
    vectors (no utterance embedded again), routes a message with its vector, and is not used
    once the tenant's embedder changes (stale: retrained by the hourly job)."""
    from growthops.inbox.ai import answer_model, policy
    from tests.inbox.ai.test_answer_model import PAY, PHRASINGS

    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="openai:test-embed",
                               ai_enabled_for_conversations=True)
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
            {"question": q, "answer": a} for a, qs in PHRASINGS.items() for q in qs])
        sent = sum(len(r["input"]) for r in endpoint.requests)
        out = answer_model.train(conn, tenant_id=t.tenant_id)
        assert out["trained"]
        assert sum(len(r["input"]) for r in endpoint.requests) == sent  # stored vectors used
        ctx = policy.load_context(conn, tenant_id=t.tenant_id, llm=None)
        assert ctx.answer_model.classifier.embedder_name == "openai:test-embed"
        assert ctx.answer_model.classifier.dim == 2 * ctx.answer_model.classifier.featurizer.n_features + 384
        before = len(endpoint.requests)
        d = policy.decide(conn, tenant_id=t.tenant_id, text="can I pay by paypal please",
                          message_type="text", platform="whatsapp", ctx=ctx)
        assert len(endpoint.requests) == before + 1  # the message embedded once for every step
        assert d.evidence["hits"][0]["ref_id"] == d.evidence["answer_model"]["faq_id"]
        top = conn.execute("select answer from inbox.faq_qa where faq_id = %s",
                           [d.evidence["answer_model"]["faq_id"]]).fetchone()
        assert top["answer"] == PAY
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="hashed-ngram-384")
        assert answer_model.is_stale(conn, tenant_id=t.tenant_id)
        assert answer_model.load(conn, tenant_id=t.tenant_id) is None  # until retrained
