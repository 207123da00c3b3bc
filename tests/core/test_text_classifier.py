"""growthops.core.ai.text.TextClassifier: a saved and loaded model scores as the trained one."""

from __future__ import annotations

import numpy as np

from growthops.core.ai.text import TextClassifier

TRAIN = [
    ("the flight was great, thank you so much", "positive"),
    ("lovely crew and an early arrival", "positive"),
    ("best service I have had in years", "positive"),
    ("my bag is lost and nobody answers", "negative"),
    ("delayed again, worst airline ever", "negative"),
    ("cancelled flight and no refund", "negative"),
    ("what time does boarding start", "neutral"),
    ("is there wifi on this route", "neutral"),
    ("how do I change my seat", "neutral"),
]
# Mostly n-grams the model never saw: they weigh in each block's L2 norm.
UNSEEN = ["zyxw qqqq frobnicate great", "thank you, kookaburra marmalade", "refund?? blorp"]


def test_a_loaded_model_scores_as_the_trained_one(tmp_path):
    texts, labels = [t for t, _ in TRAIN], [y for _, y in TRAIN]
    model = TextClassifier(C=10).fit(texts, labels)
    digest = model.save(tmp_path / "m.npz")
    loaded = TextClassifier.load(tmp_path / "m.npz", sha256=digest)
    probe = texts + UNSEEN
    before, after = model.predict_proba(probe), loaded.predict_proba(probe)
    assert loaded.classes == model.classes
    # float16 weights: close, not bit-identical; an IDF of 1 for unseen columns gave a gap of 0.13 here
    assert np.max(np.abs(before - after)) < 2e-3
    assert model.predict(probe)[0] == loaded.predict(probe)[0]
