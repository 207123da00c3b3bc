"""Escalation rules applied to new inbound messages before the AI sees them.

``customer_request``: the customer asks for a person. Matched on whole words, case- and
accent-insensitive, in English and French (:data:`HUMAN_REQUEST_PATTERNS`). The list is short on
purpose: a false positive only hands a conversation to a person.
"""

from __future__ import annotations

import re
import unicodedata

HUMAN_REQUEST_PATTERNS = (
    r"\b(speak|talk|chat) (to|with) (a |an |)(human|person|agent|someone|representative|manager)\b",
    r"\b(real|live) (person|human|agent)\b",
    r"\bcustomer (service|support) (agent|representative)\b",
    r"\b(parler|discuter) (a|avec) (un|une|quelqu'un) ?(humain|personne|conseiller|conseillere|agent)?\b",
    r"\b(un|une) (vrai|vraie) (personne|humain)\b",
    r"\bconseiller (humain|client)\b",
)
_RE = re.compile("|".join(HUMAN_REQUEST_PATTERNS))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


def wants_human(text: str | None) -> bool:
    """True when ``text`` asks for a person (see :data:`HUMAN_REQUEST_PATTERNS`)."""
    return bool(text) and _RE.search(_fold(text or "")) is not None
