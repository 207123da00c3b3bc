"""Embeddings from an OpenAI-compatible endpoint through the official ``openai`` SDK (optional
extra ``growthops[llm]``): OpenAI itself, or a local server speaking the same wire format
(vLLM, llama.cpp's server, Ollama, text-embeddings-inference).

Wire format: ``POST {base_url}/embeddings`` with ``{"model", "input": [texts],
"encoding_format", "dimensions"}`` → ``{"data": [{"index", "embedding"}], "model", "usage"}``
(https://platform.openai.com/docs/api-reference/embeddings/create). The SDK asks for
``encoding_format="base64"`` (little-endian float32) unless told otherwise and decodes it.

**Per tenant**: a tenant selects it with ``ai_settings.embedding_model = "openai:<model>"``
(e.g. ``openai:text-embedding-3-small``); the endpoint and its key are the server's
(``GROWTHOPS_EMBEDDINGS_BASE_URL``, ``GROWTHOPS_EMBEDDINGS_API_KEY``, falling back to the
LLM's ``GROWTHOPS_LLM_BASE_URL`` / ``GROWTHOPS_LLM_API_KEY``): keys never sit in a tenant's
row. The knowledge base's columns are ``vector(384)``, so the request asks for
``dimensions = 384`` (OpenAI's ``text-embedding-3-*`` models shorten their vectors on request,
per the API reference above); a server answering another width is refused with an
:class:`EmbeddingError` naming it, rather than storing vectors that cannot be compared. Vectors
are L2-normalised here (OpenAI's already are; not every compatible server's are).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

#: The prefix of a remote model's name in ``ai_settings.embedding_model``.
PREFIX = "openai:"
#: Inputs per request (OpenAI accepts up to 2,048 per request; smaller batches keep each
#: request well under its 300,000-token limit for 600-character chunks).
BATCH = 256


class EmbeddingError(Exception):
    """The embeddings endpoint failed or answered something unusable; ``transient`` says retry
    (HTTP 429, 5xx, network)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class OpenAIEmbedder:
    """An :class:`~growthops.core.ai.Embedder` over ``client.embeddings.create``.

    ``name`` is ``"openai:<model>"`` (stored with each vector: vectors of different models are
    never compared); ``dim`` 384. Raises :class:`EmbeddingError`.
    """

    dim = 384

    def __init__(self, *, model: str, api_key: str, base_url: str | None = None,
                 timeout: float = 30.0, dim: int = 384, client: Any = None) -> None:
        if not model:
            raise ValueError("model: an embeddings model name is required")
        self.model = model
        self.name = f"{PREFIX}{model}"
        self.dim = dim
        self.latency_ms = 0.0
        if client is None:
            import openai

            client = openai.OpenAI(api_key=api_key or "unused", base_url=base_url,
                                   timeout=timeout, max_retries=0)
        self._client = client

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array ``(len(texts), dim)``, rows L2-normalised (in input order)."""
        import openai

        texts = [t if t.strip() else " " for t in texts]  # the API refuses empty strings
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        t0 = time.perf_counter()
        for start in range(0, len(texts), BATCH):
            batch = texts[start:start + BATCH]
            try:
                r = self._client.embeddings.create(model=self.model, input=batch,
                                                   dimensions=self.dim)
            except openai.APIStatusError as exc:
                raise EmbeddingError(f"embeddings: HTTP {exc.status_code} from the endpoint",
                                     transient=exc.status_code == 429 or exc.status_code >= 500
                                     ) from exc
            except openai.APIError as exc:  # connection errors, timeouts
                raise EmbeddingError(f"embeddings: {type(exc).__name__}", transient=True) from exc
            if len(r.data) != len(batch):
                raise EmbeddingError(f"embeddings: {len(r.data)} vectors for {len(batch)} inputs")
            for item in r.data:
                vec = np.asarray(item.embedding, dtype=np.float32)
                if vec.shape != (self.dim,):
                    raise EmbeddingError(f"embeddings: the model {self.model!r} answered "
                                         f"{vec.size} dimensions, the knowledge base stores "
                                         f"{self.dim} (does the server honour `dimensions`?)")
                if not 0 <= item.index < len(batch):
                    raise EmbeddingError(f"embeddings: index {item.index} out of range")
                out[start + item.index] = vec
        self.latency_ms = (time.perf_counter() - t0) * 1000
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def remote_embedder(name: str, settings: Any = None) -> OpenAIEmbedder:
    """Return the :class:`OpenAIEmbedder` for ``name`` (``"openai:<model>"``) configured from the
    server's settings (``embeddings_base_url``/``embeddings_api_key``, else the ``llm_*`` ones).

    Raises :class:`~growthops.core.errors.ConfigError` when the ``openai`` SDK is missing or no
    endpoint is configured, ValueError for a name without the prefix or model.
    """
    from growthops.core.errors import ConfigError

    if not name.startswith(PREFIX) or not name[len(PREFIX):].strip():
        raise ValueError(f"embedding model {name!r}: expected '{PREFIX}<model>'")
    if settings is None:
        from growthops.settings import get_settings

        settings = get_settings()
    base_url = getattr(settings, "embeddings_base_url", None) or getattr(settings,
                                                                          "llm_base_url", None)
    secret = getattr(settings, "embeddings_api_key", None) or getattr(settings, "llm_api_key",
                                                                       None)
    key = secret.get_secret_value() if secret is not None else ""
    if not base_url and not key:
        raise ConfigError(f"embedding model {name!r}: set GROWTHOPS_EMBEDDINGS_BASE_URL and/or "
                          "GROWTHOPS_EMBEDDINGS_API_KEY")
    try:
        return OpenAIEmbedder(model=name[len(PREFIX):].strip(), api_key=key, base_url=base_url,
                              timeout=float(getattr(settings, "embeddings_timeout", 30.0)))
    except ImportError as exc:
        raise ConfigError(f"embedding model {name!r}: the openai SDK is not installed "
                          "(pip install 'growthops[llm]')") from exc
