"""The seam where the AI plugs in (issue 11): called on every new inbound message.

Processing a webhook delivery stores the new inbound messages, applies the escalation rules of
:mod:`.rules`, then calls the installed :data:`TriagePolicy` once with the new messages of
conversations that are **not escalated** (while a conversation is escalated the AI stays silent
until a person resolves it). The policy runs inside the tenant's transaction of the delivery;
it may record a decision (``conversation_messages.triage``, ``confidence``, ``ai_decision_id``),
escalate (:func:`growthops.inbox.handoff.escalate` with reason ``low_confidence``) or reply
(:func:`growthops.inbox.sending.send_reply` with ``author='ai'``, after the transaction).

The installed policy by default is :func:`ai_policy` (issue 11,
:mod:`growthops.inbox.ai.policy`): it does nothing for a tenant that has not enabled the AI
(``ai_settings.ai_enabled_for_conversations``). A policy may return a callable ``after(db)``,
run by the ingestion after the tenant's transaction committed (the AI's replies are sent there,
never inside the transaction). :func:`silent_policy` decides nothing and never sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class NewInbound:
    """A newly stored inbound message handed to the triage policy."""

    conversation_id: int
    message_id: int
    platform: str
    message_type: str
    text: str | None
    sent_at: datetime


#: ``policy(conn, *, tenant_id, messages) -> None | after(db)``.
TriagePolicy = Callable[..., None]


def silent_policy(conn: Any, *, tenant_id: UUID | str, messages: list[NewInbound]) -> None:
    """Decide nothing and send nothing (the default until the AI exists)."""
    return None


def ai_policy(conn: Any, *, tenant_id: UUID | str, messages: list[NewInbound]) -> Any:
    """The AI triage (:func:`growthops.inbox.ai.policy.ai_policy`), imported when first used."""
    from growthops.inbox.ai.policy import ai_policy as run

    return run(conn, tenant_id=tenant_id, messages=messages)


_policy: TriagePolicy = ai_policy


def policy() -> TriagePolicy:
    """Return the installed triage policy."""
    return _policy


def install(new: TriagePolicy | None) -> TriagePolicy:
    """Install ``new`` (None: the AI policy); return the previous one (tests restore it)."""
    global _policy
    previous, _policy = _policy, new or ai_policy
    return previous
