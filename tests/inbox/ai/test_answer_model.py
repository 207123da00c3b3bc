"""The tenant's answer classifier (growthops.inbox.ai.answer_model): trained on the FAQ's
phrasings grouped by answer, stored per tenant under RLS with its checksum, retrained when the
FAQ changes, and used by the triage to pick the answer and as calibration evidence."""

from __future__ import annotations

import io

import numpy as np
import pytest

from growthops.core.ai.text import TextClassifier
from growthops.core.db import Database
from growthops.inbox.ai import answer_model, calibrate, config, kb, policy
from tests.conftest import new_tenant

OPEN = "We are open Monday to Friday from 9am to 6pm."
SHIP = "Delivery takes 2 to 4 working days in France."
PAY = "We accept Visa, Mastercard and PayPal."
PHRASINGS = {
    OPEN: ["What are your opening hours?", "when do you open", "what time do you close",
           "are you open on saturday", "opening times please"],
    SHIP: ["How long does delivery take?", "how many days for shipping", "when will my parcel arrive",
           "delivery time to france", "how fast is shipping"],
    PAY: ["Which payment methods do you accept?", "can I pay with paypal", "do you take visa",
          "is mastercard accepted", "how can I pay"],
}


def _tenant(db: Database, phrasings: dict[str, list[str]] = PHRASINGS):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        config.update_settings(conn, tenant_id=t.tenant_id, embedding_model="hashed-ngram-384",
                               ai_enabled_for_conversations=True)
        kb.add_faq(conn, tenant_id=t.tenant_id, entries=[
            {"question": q, "answer": a} for a, qs in phrasings.items() for q in qs])
    return t


def test_fitting_on_the_used_columns_gives_the_full_width_model():
    """Training keeps only the columns some text has: same probabilities as sklearn's fit on
    all 2 x 2**18 columns, and a save/load round trip keeps them (float16 weights)."""
    from sklearn.linear_model import LogisticRegression

    texts = [q for qs in PHRASINGS.values() for q in qs]
    names = {OPEN: "open", SHIP: "ship", PAY: "pay"}
    labels = [names[a] for a, qs in PHRASINGS.items() for _ in qs]
    clf = TextClassifier(C=10.0).fit(texts, labels)
    full = LogisticRegression(C=10.0, max_iter=2000).fit(clf.featurizer.transform(texts), labels)
    probe = ["do you accept paypal?", "what time do you open on monday"]
    expected = full.predict_proba(clf.featurizer.transform(probe))
    assert clf.cols is not None and len(clf.cols) < clf.featurizer.n_features
    assert np.allclose(clf.predict_proba(probe), expected, atol=1e-4)
    buf = io.BytesIO()
    sha = clf.save(buf)
    loaded = TextClassifier.load(io.BytesIO(buf.getvalue()), sha256=sha)
    assert np.allclose(loaded.predict_proba(probe), expected, atol=2e-3)
    assert loaded.predict(probe)[0] == clf.predict(probe)[0] == ["pay", "open"]


def test_one_phrasing_per_answer_trains_nothing(db: Database):
    t = _tenant(db, {a: qs[:1] for a, qs in PHRASINGS.items()})
    with db.tenant_tx(t.tenant_id) as conn:
        out = answer_model.train(conn, tenant_id=t.tenant_id)
        assert out["trained"] is False and "phrasings" in out["reason"]
        assert answer_model.load(conn, tenant_id=t.tenant_id) is None
        assert not answer_model.is_stale(conn, tenant_id=t.tenant_id)


def test_trained_model_routes_a_new_phrasing_to_its_answer(db: Database):
    t = _tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        assert answer_model.is_stale(conn, tenant_id=t.tenant_id)
        out = answer_model.train(conn, tenant_id=t.tenant_id)
        assert out["trained"] and out["n_answers"] == 3 and out["n_examples"] == 15
        assert not answer_model.is_stale(conn, tenant_id=t.tenant_id)
        model = answer_model.load(conn, tenant_id=t.tenant_id)
        assert model is not None
        hits, route = answer_model.route(conn, model, tenant_id=t.tenant_id,
                                         text="do you take paypal?", hits=[])
        assert route is not None and hits and hits[0].text == PAY
        assert route.faq_id == hits[0].ref_id and 0.0 < route.probability <= 1.0
        assert route.agrees is False  # the search returned nothing to agree with
        # a new FAQ entry makes the model stale
        kb.add_faq(conn, tenant_id=t.tenant_id,
                   entries=[{"question": "do you ship abroad", "answer": SHIP}])
        assert answer_model.is_stale(conn, tenant_id=t.tenant_id)


def test_the_hourly_job_retrains_only_stale_tenants(db: Database):
    from growthops.inbox.ai.jobs import hourly_answer_models

    t = _tenant(db)
    first = hourly_answer_models(db)
    assert first["trained"] >= 1
    with db.tenant_tx(t.tenant_id) as conn:
        sha = answer_model.load(conn, tenant_id=t.tenant_id).sha256
    again = hourly_answer_models(db)
    assert again["trained"] == 0
    with db.tenant_tx(t.tenant_id) as conn:
        assert answer_model.load(conn, tenant_id=t.tenant_id).sha256 == sha


def test_models_are_private_to_their_tenant_and_checked(db: Database):
    a, b = _tenant(db), _tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        answer_model.train(conn, tenant_id=a.tenant_id)
    with db.tenant_tx(b.tenant_id) as conn:
        assert conn.execute("select count(*) as n from inbox.answer_models").fetchone()["n"] == 0
        assert answer_model.load(conn, tenant_id=a.tenant_id) is None
    with db.admin() as conn:  # a corrupted row is refused, not used
        conn.execute("update inbox.answer_models set model = model || '\\x00'::bytea, "
                     "sha256 = repeat('0', 64) where tenant_id = %s", [str(a.tenant_id)])
    answer_model._CACHE.clear()
    with db.tenant_tx(a.tenant_id) as conn, pytest.raises(ValueError, match="checksum"):
        answer_model.load(conn, tenant_id=a.tenant_id)


def test_triage_replies_from_the_classifier_answer_and_records_its_evidence(db: Database):
    t = _tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        answer_model.train(conn, tenant_id=t.tenant_id)
        ctx = policy.load_context(conn, tenant_id=t.tenant_id, llm=None)
        assert ctx.answer_model is not None
        d = policy.decide(conn, tenant_id=t.tenant_id, text="is paypal ok for paying",
                          message_type="text", platform="whatsapp", ctx=ctx)
    assert d is not None and d.matched_rule == "low_confidence"  # not calibrated: no reply
    feats = d.evidence["features"]
    assert len(feats) == len(calibrate.FEATURES)
    assert feats[calibrate.FEATURES.index("clf_p")] == pytest.approx(
        d.evidence["answer_model"]["probability"], abs=1e-4)
    top = d.evidence["hits"][0]
    assert top["ref_id"] == d.evidence["answer_model"]["faq_id"] and top["kind"] == "faq"


def test_a_calibration_fitted_before_the_new_features_still_scores():
    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.5
    x7 = np.column_stack([rng.normal(y * 2.0, 1.0)] + [rng.normal(0, 1, 200) for _ in range(6)])
    cal = calibrate.fit(x7, y, target=0.9)
    x9 = np.column_stack([x7, rng.random(200), np.ones(200)])
    assert np.allclose(cal.proba(x9), cal.proba(x7))


def test_the_cli_trains_and_says_which_features(db: Database, monkeypatch):
    from typer.testing import CliRunner

    from growthops.cli import app
    from growthops.core import db as core_db

    monkeypatch.setattr(core_db, "_db", db)
    t = _tenant(db)
    r = CliRunner().invoke(app, ["inbox", "kb", "train", "--tenant", t.client_key, "--lang", "fr"])
    assert r.exit_code == 0, r.output
    assert "15 formulations de 3 réponses" in r.output
    assert "Variables : n-grammes de mots et de caractères." in r.output  # hashed: no vectors
    with db.tenant_tx(t.tenant_id) as conn:
        assert answer_model.load(conn, tenant_id=t.tenant_id).classifier.embedder_name is None


def test_cached_embedder_embeds_each_text_once_and_keeps_the_models_vectors(tmp_path) -> None:
    """``CachedEmbedder``: a text is sent to the model once, known vectors are not sent at all,
    the vectors are the model's own, and they survive a write / read round trip."""
    import numpy as np

    from growthops.core.ai.embeddings import CachedEmbedder, HashedNgramEmbedder

    sent: list[str] = []

    class Counting(HashedNgramEmbedder):
        def embed(self, texts):
            sent.extend(texts)
            return super().embed(texts)

    inner = Counting()
    known = {"refund": np.full(inner.dim, 0.5, dtype=np.float32)}
    emb = CachedEmbedder(inner, known)
    out = emb.embed(["hello", "refund", "hello", "opening hours"])
    assert sorted(sent) == ["hello", "opening hours"]  # "refund" known, "hello" once
    assert out.shape == (4, inner.dim) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], known["refund"])
    np.testing.assert_allclose(out[0], HashedNgramEmbedder().embed(["hello"])[0], rtol=1e-6)
    emb.write(tmp_path / "v.npz")
    again = CachedEmbedder(inner)
    again.read(tmp_path / "v.npz")
    again.read(tmp_path / "missing.npz")  # nothing, no error
    sent.clear()
    np.testing.assert_array_equal(again.embed(["opening hours"]), out[3:4])
    assert sent == []
