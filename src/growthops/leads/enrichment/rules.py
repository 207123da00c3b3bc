"""Urgency (high / medium / low) and the extractive summary: transparent rules, no model.

There is no labelled urgency data for inbound leads; the rule is a bilingual lexicon of time
pressure (``urgent``, ``asap``, ``today``, ``dès que possible``, ``aujourd'hui``...), raised by
a complaint or a negative tone and lowered for vendor pitches and job applications. It is
stated here so a person can read why a lead is urgent (:func:`urgency` returns the cues).

The summary never invents text (the offline default of DESIGN.md): the message's first
sentences, whitespace-normalised, cut at a word boundary to :data:`SUMMARY_CHARS` characters.
"""

from __future__ import annotations

import re
import unicodedata

SUMMARY_CHARS = 200

#: Time-pressure cues (lower-cased, accents removed). Our lexicon.
HIGH_CUES = (
    "urgent", "urgently", "asap", "as soon as possible", "immediately", "right away", "today",
    "tonight", "emergency", "by tomorrow", "before tomorrow", "right now", "critical",
    "en urgence", "au plus vite", "des que possible", "immediatement", "aujourd'hui",
    "tout de suite", "ce soir", "d'ici demain", "avant demain", "rapidement possible", "critique",
)
MEDIUM_CUES = (
    "this week", "soon", "quickly", "next week", "deadline", "by friday", "as quickly",
    "cette semaine", "bientot", "rapidement", "la semaine prochaine", "echeance", "delai",
    "d'ici vendredi",
)
LOW_INTENTS = ("vendor_pitch", "job_application")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _has(text: str, cue: str) -> bool:
    return re.search(r"(?<![a-z])" + re.escape(cue) + r"(?![a-z])", text) is not None


def urgency(message: str, *, intent: str | None, tone: str | None) -> tuple[str, list[str]]:
    """Return ``(high|medium|low, cues found)`` for a lead's message.

    high: a high cue, or a complaint with a negative tone; medium: a medium cue, a complaint,
    or a negative support request; low otherwise, and always for :data:`LOW_INTENTS`.
    """
    text = _norm(message)
    cues = [c for c in HIGH_CUES if _has(text, c)]
    if intent in LOW_INTENTS:
        return "low", cues
    if cues or (intent == "complaint" and tone == "negative"):
        return "high", cues or ["complaint+negative"]
    medium = [c for c in MEDIUM_CUES if _has(text, c)]
    if medium or intent == "complaint" or (intent == "support" and tone == "negative"):
        return "medium", medium or [f"{intent}"]
    return "low", []


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def summary(message: str, limit: int = SUMMARY_CHARS) -> str:
    """Return the first sentences of ``message`` (whitespace-normalised), at most ``limit``
    characters, cut at a word boundary with an ellipsis when shortened."""
    text = " ".join(message.split())
    if len(text) <= limit:
        return text
    out = ""
    for sentence in _SENTENCE_END.split(text):
        if len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    if not out:
        cut = text[: limit - 1]
        out = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return out if len(out) >= len(text) else out.rstrip(" ,;:") + "…"
