"""Tone of a lead (positive / neutral / negative) with the shipped models.

* English, when the optional encoder is installed: the stacked model of
  :mod:`growthops.leads.enrichment.tone_stack` (n-grams, all-mpnet-base-v2 states and VADER;
  86.05 % nested estimate on the airline tweets, docs/leads.md), recorded as
  :data:`STACK_VERSION`. It needs the ``[ml]`` extra and all-mpnet-base-v2 installed once with
  ``growthops models install mpnet`` (:mod:`growthops.core.ai.mpnet`; never fetched
  at run time). Without them, English uses the n-gram model below (:data:`VERSION`) and says so
  once in the log with the install command.
* English n-gram model: trained on the 14,640 tweets of Twitter US Airline Sentiment (3 classes;
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

import logging
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from growthops.core.ai.text import TextClassifier

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
#: Shipped model files and their SHA-256, printed by ``bench/train_tone_models.py``.
MODELS = {
    "en": ("tone_en.npz", "205176099a46ab3a174155da4a744f1eb6a2ad461543b1c892d72cf015a5deea"),
    "fr": ("tone_fr.npz", "76ff2fcd8b54c3ba69c05f7cb13c1c97205840450bc61737f9e7caadcadf59c6"),
}
FR_NEUTRAL_BELOW = 0.65
#: Version of the n-gram models (French, and English without the stack).
VERSION = "tone-ngram-2"
#: Version of the English stack (:mod:`growthops.leads.enrichment.tone_stack`).
STACK_VERSION = "tone-stack-1"
#: Set to ``0`` to keep English on the n-gram model even when the encoder is installed.
STACK_ENV = "GROWTHOPS_TONE_STACK"
_lock = threading.Lock()


@cache
def model(lang: str) -> TextClassifier:
    """Return the shipped tone model of ``lang`` (en, fr), loaded once and checksum-verified."""
    name, digest = MODELS[lang]
    return TextClassifier.load(DATA / name, sha256=digest)


_load_lock = threading.Lock()


def stack() -> tuple[Any, Any] | None:
    """Return ``(ToneStack, Encoders)`` for English, loaded once from the shipped weights and
    the installed all-mpnet-base-v2 folder, or None (logged once, with the reason and the
    install command) when the encoder, the ``[ml]`` extra or ``vaderSentiment`` is missing or
    fails to load, or :data:`STACK_ENV` is ``0``. ``stack.cache_clear()`` forgets the answer."""
    with _load_lock:
        return _stack()


@cache
def _stack() -> tuple[Any, Any] | None:
    from growthops.core.ai import mpnet
    from growthops.leads.enrichment import tone_stack

    if os.environ.get(STACK_ENV, "1") == "0":
        log.info("English tone: n-gram model (%s=0)", STACK_ENV)
        return None
    folder = mpnet.installed()
    why = None
    if folder is None:
        why = f"all-mpnet-base-v2 is not installed in {mpnet.model_dir()}"
    else:
        try:
            import sentence_transformers  # noqa: F401
            import vaderSentiment  # noqa: F401
        except ImportError as e:
            why = f"the [ml] extra is missing ({e.name})"
    if why is not None:
        log.warning("English tone degraded to the n-gram model (%s, 82 %% instead of 86 %% "
                    "on the airline tweets): %s; install it with `%s` (and `pip install "
                    "'growthops[ml]'`)", VERSION, why, mpnet.INSTALL_COMMAND)
        return None
    assert folder is not None
    name, digest = tone_stack.MODEL
    try:
        model_ = tone_stack.ToneStack.load(DATA / name, sha256=digest)
        encoders = tone_stack.Encoders({"mpnet": mpnet.load(folder)} | (
            {"minilm": _minilm()} if "minilm" in model_.needs() else {}))
    except Exception as e:  # a damaged install must not stop enrichment
        log.warning("English tone degraded to the n-gram model (%s): the stack failed to load "
                    "(%s: %s); reinstall with `%s`", VERSION, type(e).__name__, e,
                    mpnet.INSTALL_COMMAND)
        return None
    log.info("English tone: stacked model %s (all-mpnet-base-v2 from %s)", STACK_VERSION, folder)
    return model_, encoders


stack.cache_clear = _stack.cache_clear  # type: ignore[attr-defined]


def _minilm() -> Any:
    from growthops.core.ai.embeddings import local_embedder

    emb = local_embedder()
    if emb is None:
        raise RuntimeError("the tone stack needs MiniLM ([ml] extra)")
    return emb._model


def version(lang: str) -> str:
    """The model version that reads texts of ``lang``: :data:`STACK_VERSION` for English when
    the stack is available, else :data:`VERSION`."""
    return STACK_VERSION if lang == "en" and stack() is not None else VERSION


def predict(texts: list[str], lang: str) -> list[tuple[str, float]]:
    """Return ``(tone, probability 0-1)`` for each text of language ``lang`` (the model:
    :func:`version`)."""
    if not texts:
        return []
    if lang == "en" and (st := stack()) is not None:
        model_, encoders = st
        with _lock:
            proba = model_.predict_proba(texts, encoders)
        idx = proba.argmax(axis=1)
        return [(model_.classes[i], float(proba[j, i])) for j, i in enumerate(idx)]
    with _lock:
        labels, probs = model(lang).predict(texts)
    out = []
    for label, p in zip(labels, probs, strict=True):
        if lang == "fr" and p < FR_NEUTRAL_BELOW:
            out.append(("neutral", float(p)))
        else:
            out.append((label, float(p)))
    return out
