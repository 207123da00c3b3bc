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


# ------------------------------------------------------------------------------ comments (issue 12)
# Comments on monitored posts go through the same seam: :func:`comment_policy` is called once
# per batch of new comments whose account has the AI on for comments
# (``monitoring_rules.ai_enabled_for_comments``) and returns one :class:`CommentDecision` per
# comment; :func:`growthops.inbox.comments.apply_decisions` records them and sends (or drafts,
# without the tenant's auto policy) the replies. Without an AI, :func:`people_comment_policy`
# hands every comment to a person.

@dataclass(frozen=True)
class NewComment:
    """A newly stored comment handed to the comment policy (``parent_id``: the parent
    comment's platform id in a thread; ``caption``: the post's caption, for context)."""

    comment_id: int
    monitored_post_id: int
    platform_comment_id: str
    parent_id: str | None
    author_id: str | None
    text: str | None
    created_at: datetime
    caption: str | None


@dataclass(frozen=True)
class CommentDecision:
    """The policy's decision on one comment. ``triage``: ``respond`` (``reply_text`` is the
    public reply), ``user_conversation`` (move to a private conversation: ``reply_text`` is the
    private reply, optional), ``ignore`` or ``escalate``; ``confidence`` 0-1."""

    comment_id: int
    triage: str
    reply_text: str | None = None
    confidence: float | None = None
    reason: str | None = None
    ai_decision_id: int | None = None


#: ``policy(conn, *, tenant_id, comments) -> list[CommentDecision]``.
CommentPolicy = Callable[..., list[CommentDecision]]


def people_comment_policy(conn: Any, *, tenant_id: UUID | str,
                          comments: list[NewComment]) -> list[CommentDecision]:
    """Hand every comment to a person (the default until the AI exists)."""
    return [CommentDecision(c.comment_id, "escalate", reason="no_ai") for c in comments]


_comment_policy: CommentPolicy = people_comment_policy


def comment_policy() -> CommentPolicy:
    """Return the installed comment policy."""
    return _comment_policy


def install_comment_policy(new: CommentPolicy | None) -> CommentPolicy:
    """Install ``new`` (None: :func:`people_comment_policy`); return the previous one."""
    global _comment_policy
    previous, _comment_policy = _comment_policy, new or people_comment_policy
    return previous
