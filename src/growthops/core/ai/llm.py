"""LLM providers over the official SDKs: OpenAI-compatible (``openai``) and Anthropic
(``anthropic``). Optional: both SDKs are in the extra ``growthops[llm]``.

Configuration (settings, ``GROWTHOPS_`` prefix): ``LLM_PROVIDER`` = ``openai`` or
``anthropic`` (unset: no LLM, the offline default), ``LLM_MODEL``, ``LLM_API_KEY``,
``LLM_BASE_URL`` (an OpenAI-compatible server: vLLM, llama.cpp, Ollama; or a test server),
``LLM_TIMEOUT`` seconds. Keys are never logged (callers log through
:func:`growthops.core.logs.log_api_call`, which redacts).

Wire formats: OpenAI Chat Completions (``POST /chat/completions``,
https://platform.openai.com/docs/api-reference/chat) and Anthropic Messages
(``POST /v1/messages``, https://docs.anthropic.com/en/api/messages).
"""

from __future__ import annotations

import time
from typing import Any

from growthops.core.ai import LLM, Completion, LLMError


class OpenAICompatibleLLM:
    """Chat completions through the ``openai`` SDK (``base_url`` for compatible servers)."""

    provider = "openai"

    def __init__(self, *, model: str, api_key: str, base_url: str | None = None,
                 timeout: float = 30.0, client: Any = None) -> None:
        self.model = model
        if client is None:
            import openai

            client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout,
                                   max_retries=0)
        self._client = client

    def complete(self, *, system: str, prompt: str, max_tokens: int = 400,
                 temperature: float = 0.0) -> Completion:
        """Return the model's answer; :class:`LLMError` (transient for 429/5xx/network)."""
        import openai

        t0 = time.perf_counter()
        try:
            r = self._client.chat.completions.create(
                model=self.model, max_tokens=max_tokens, temperature=temperature,
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": prompt}])
        except openai.APIStatusError as exc:
            raise LLMError(f"openai: HTTP {exc.status_code}",
                           transient=exc.status_code == 429 or exc.status_code >= 500) from exc
        except openai.APIError as exc:  # connection errors, timeouts
            raise LLMError(f"openai: {type(exc).__name__}") from exc
        usage = getattr(r, "usage", None)
        return Completion(text=r.choices[0].message.content or "", model=r.model or self.model,
                          input_tokens=getattr(usage, "prompt_tokens", None),
                          output_tokens=getattr(usage, "completion_tokens", None),
                          latency_ms=(time.perf_counter() - t0) * 1000)


class AnthropicLLM:
    """Messages through the ``anthropic`` SDK."""

    provider = "anthropic"

    def __init__(self, *, model: str, api_key: str, base_url: str | None = None,
                 timeout: float = 30.0, client: Any = None) -> None:
        self.model = model
        if client is None:
            import anthropic

            client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout,
                                         max_retries=0)
        self._client = client

    def complete(self, *, system: str, prompt: str, max_tokens: int = 400,
                 temperature: float = 0.0) -> Completion:
        """Return the model's answer; :class:`LLMError` (transient for 429/5xx/network)."""
        import anthropic

        t0 = time.perf_counter()
        try:
            # anthropic 2.x's messages.create takes no temperature: the model's default is used.
            r = self._client.messages.create(
                model=self.model, max_tokens=max_tokens, system=system,
                messages=[{"role": "user", "content": prompt}])
        except anthropic.APIStatusError as exc:
            raise LLMError(f"anthropic: HTTP {exc.status_code}",
                           transient=exc.status_code == 429 or exc.status_code >= 500) from exc
        except anthropic.APIError as exc:
            raise LLMError(f"anthropic: {type(exc).__name__}") from exc
        text = "".join(getattr(b, "text", "") for b in r.content)
        return Completion(text=text, model=r.model or self.model,
                          input_tokens=r.usage.input_tokens, output_tokens=r.usage.output_tokens,
                          latency_ms=(time.perf_counter() - t0) * 1000)


def llm_from_settings(settings: Any) -> LLM | None:
    """Return the configured LLM, or None (no ``llm_provider``: the offline default).

    Raises :class:`~growthops.core.errors.ConfigError` for an unknown provider, a missing model
    or key, or an SDK that is not installed (``pip install 'growthops[llm]'``).
    """
    from growthops.core.errors import ConfigError

    provider = getattr(settings, "llm_provider", None)
    if not provider:
        return None
    model = getattr(settings, "llm_model", None)
    secret = getattr(settings, "llm_api_key", None)
    key = secret.get_secret_value() if secret is not None else ""
    if not model:
        raise ConfigError("GROWTHOPS_LLM_MODEL is required with GROWTHOPS_LLM_PROVIDER")
    kwargs = {"model": model, "api_key": key or "unused", "base_url": settings.llm_base_url,
              "timeout": settings.llm_timeout}
    try:
        if provider == "openai":
            return OpenAICompatibleLLM(**kwargs)
        if provider == "anthropic":
            return AnthropicLLM(**kwargs)
    except ImportError as exc:
        raise ConfigError(f"GROWTHOPS_LLM_PROVIDER={provider}: the SDK is not installed "
                          "(pip install 'growthops[llm]')") from exc
    raise ConfigError(f"GROWTHOPS_LLM_PROVIDER: {provider!r} is not one of openai, anthropic")
