"""Tone of a lead (positive / neutral / negative) with the shipped n-gram models.

* English: trained on the 14,640 tweets of Twitter US Airline Sentiment (3 classes;
  CC BY-NC-SA 4.0 — the trained model inherits the non-commercial condition: retrain on your
  own labelled data for commercial use, ``bench/train_tone_models.py``).
* French: trained on the Allociné TV-series reviews (train + dev, 3,130 reviews, 2 classes;
  the authors state no licence). With no neutral class, a French text whose larger probability
  is below :data:`FR_NEUTRAL_BELOW` is called neutral (our threshold, not measured: the data has
  no neutral label).

Accuracy on held-out data: ``bench/lead_models.py`` (figures in docs/leads.md). The files are
checked against :data:`MODELS` (SHA-256) when loaded.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from growthops.core.ai.text import TextClassifier

DATA = Path(__file__).parent / "data"
#: Shipped model files and their SHA-256, printed by ``bench/train_tone_models.py``.
MODELS = {
    "en": ("tone_en.npz", "205176099a46ab3a174155da4a744f1eb6a2ad461543b1c892d72cf015a5deea"),
    "fr": ("tone_fr.npz", "76ff2fcd8b54c3ba69c05f7cb13c1c97205840450bc61737f9e7caadcadf59c6"),
}
FR_NEUTRAL_BELOW = 0.65
VERSION = "tone-ngram-2"
_lock = threading.Lock()


@cache
def model(lang: str) -> TextClassifier:
    """Return the shipped tone model of ``lang`` (en, fr), loaded once and checksum-verified."""
    name, digest = MODELS[lang]
    return TextClassifier.load(DATA / name, sha256=digest)


def predict(texts: list[str], lang: str) -> list[tuple[str, float]]:
    """Return ``(tone, probability 0-1)`` for each text of language ``lang``."""
    if not texts:
        return []
    with _lock:
        labels, probs = model(lang).predict(texts)
    out = []
    for label, p in zip(labels, probs, strict=True):
        if lang == "fr" and p < FR_NEUTRAL_BELOW:
            out.append(("neutral", float(p)))
        else:
            out.append((label, float(p)))
    return out
