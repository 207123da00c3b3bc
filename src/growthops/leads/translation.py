"""Translation: the tenant's verified dictionary first, then the cache, then a provider.

Order (seed 002, "Système de traduction"): (1) ``translation_dictionary`` — verified terms, an
exact match on the normalised text (lower case, single spaces) wins before anything else;
(2) ``translation_cache`` — a previous translation of the same text and context not expired
(90 days), whose ``last_used_at`` is refreshed; (3) a provider behind :class:`Translator`
(optional: an LLM); its answer is cached with its quality score. Offline (no provider) the
answer is None for a text in neither table, and callers show the original.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol
from uuid import UUID

from growthops.core.errors import InvalidInput

CONTEXTS = ("lead_summary", "intent", "tone", "ui_text", "message")


class Translator(Protocol):
    """A translation provider: ``translate(text, source, target) -> (text, quality 0-1)``."""

    name: str

    def translate(self, text: str, source: str, target: str) -> tuple[str, float]: ...


class LLMTranslator:
    """Translate with the configured LLM (:mod:`growthops.core.ai.llm`); quality 0.8 stated."""

    name = "llm"

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    def translate(self, text: str, source: str, target: str) -> tuple[str, float]:
        names = {"en": "English", "fr": "French"}
        done = self.llm.complete(system="You translate. Answer with the translation only.",
                                 prompt=f"Translate from {names[source]} to {names[target]}:\n{text}")
        return done.text.strip(), 0.8


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def add_term(conn: Any, *, tenant_id: UUID | str, source_text: str, source_language: str,
             target_language: str, translated_text: str, category: str | None = None) -> None:
    """Add or replace a verified dictionary entry."""
    if source_language == target_language or {source_language, target_language} - {"en", "fr"}:
        raise InvalidInput("languages: en→fr or fr→en")
    conn.execute(
        """insert into leads.translation_dictionary (tenant_id, source_text, source_norm,
             source_language, target_language, translated_text, category)
           values (%s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, source_language, target_language, source_norm)
           do update set translated_text = excluded.translated_text, updated_at = now()""",
        [str(tenant_id), source_text, _norm(source_text), source_language, target_language,
         translated_text, category])


def translate(conn: Any, *, tenant_id: UUID | str, text: str, source: str, target: str,
              context_type: str = "lead_summary", provider: Translator | None = None
              ) -> tuple[str, str] | None:
    """Return ``(translation, where)`` with where = dictionary, cache or the provider's name;
    the text itself when ``source == target``; None offline when nothing matches."""
    if context_type not in CONTEXTS:
        raise InvalidInput(f"context_type: one of {', '.join(CONTEXTS)}")
    if source == target or not text:
        return text, "same"
    t = str(tenant_id)
    hit = conn.execute(
        """update leads.translation_dictionary set usage_count = usage_count + 1
           where tenant_id = %s and source_language = %s and target_language = %s
             and source_norm = %s returning translated_text""",
        [t, source, target, _norm(text)]).fetchone()
    if hit:
        return hit["translated_text"], "dictionary"
    digest = hashlib.sha256(text.encode()).digest()
    hit = conn.execute(
        """update leads.translation_cache set last_used_at = now()
           where tenant_id = %s and source_hash = %s and source_language = %s
             and target_language = %s and context_type = %s and expires_at > now()
           returning translated_text""", [t, digest, source, target, context_type]).fetchone()
    if hit:
        return hit["translated_text"], "cache"
    if provider is None:
        return None
    out, quality = provider.translate(text, source, target)
    conn.execute(
        """insert into leads.translation_cache (tenant_id, source_hash, source_text,
             source_language, target_language, translated_text, context_type, provider,
             quality_score)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, source_hash, source_language, target_language, context_type)
           do update set translated_text = excluded.translated_text, created_at = now(),
             last_used_at = now(), expires_at = now() + interval '90 days',
             quality_score = excluded.quality_score""",
        [t, digest, text, source, target, out, context_type, provider.name, quality])
    return out, provider.name


def purge_expired(conn: Any, *, tenant_id: UUID | str) -> int:
    """Delete the tenant's expired cache entries; return how many."""
    return conn.execute("delete from leads.translation_cache where tenant_id = %s and expires_at <= now()",
                        [str(tenant_id)]).rowcount
