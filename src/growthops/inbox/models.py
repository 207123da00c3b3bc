"""Request and response models of the inbox API (strict bodies, lax responses)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from growthops.web.models import Notes, Out, Page, StrictIn

Platform = Literal["whatsapp", "instagram"]
ConvStatus = Literal["active", "escalated", "archived"]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AccountIn(StrictIn):
    """Connect a WhatsApp phone number or an Instagram account (the token is stored encrypted)."""

    platform: Platform
    account_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="WhatsApp phone_number_id or Instagram account id (digits).")
    account_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="The account's access token; never returned.")
    token_expires_at: datetime | None = None
    scopes: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50)


class AccountOut(Out):
    """A connected account (never its token)."""

    social_account_id: int
    platform: Platform
    account_id: str
    account_name: str | None = None
    connector: Literal["graph", "sandbox"]
    token_expires_at: datetime | None = None
    scopes: list[str] = []
    status: Literal["active", "expired", "revoked"]
    status_reason: str | None = None
    has_token: bool
    created_at: datetime


class ConversationOut(Out):
    """A conversation in the list: customer, account, status, assignee, open escalation.

    ``kind`` ``message`` (a conversation of messages) or ``comment`` (a comment thread of a
    monitored post: ``conversation_id`` = ``comment_id``, the thread's first comment;
    ``triage``, ``reply_status``, ``thread_size``, ``post_caption``; no customer id)."""

    conversation_id: int
    kind: Literal["message", "comment"] = "message"
    comment_id: int | None = None
    monitored_post_id: int | None = None
    post_caption: str | None = None
    triage: str | None = None
    reply_status: str | None = None
    thread_size: int | None = None
    platform: Platform
    status: ConvStatus
    status_changed_at: datetime
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    unread: bool
    customer_id: int | None = None
    platform_customer_id: str
    customer_name: str | None = None
    social_account_id: int
    account_id: str
    account_status: str
    assignee_user_id: UUID | None = None
    assignee_email: str | None = None
    escalation_id: int | None = None
    escalation_reason: str | None = None
    escalation_status: str | None = None
    last_text: str | None = None
    last_direction: str | None = None


class ConversationPage(Page[ConversationOut]):
    """A page of conversations with the counts shown beside the filters."""

    counts: dict[str, int] = {}


class MessageOut(Out):
    """A message of a thread, with its delivery state and the AI's decision when there is one."""

    message_id: int
    direction: Literal["inbound", "outbound"]
    platform_message_id: str | None = None
    author_kind: Literal["customer", "ai", "human", "platform_app"]
    author: str | None = None
    message_type: Literal["text", "image", "audio", "video", "unsupported"]
    text: str | None = None
    media_url: str | None = None
    template_name: str | None = None
    tag: str | None = None
    triage: str | None = None
    confidence: float | None = None
    ai_decision_id: int | None = None
    triage_reason: str | None = None
    status: Literal["received", "pending", "sent", "delivered", "read", "failed"]
    error: dict[str, Any] | None = None
    sent_at: datetime
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None


class EventOut(Out):
    """A transition: what, who, when."""

    event_id: int
    escalation_id: int | None = None
    action: str
    actor: str
    at: datetime
    details: dict[str, Any] = {}


class ThreadOut(Out):
    """One conversation with its messages (oldest first) and its transitions."""

    conversation: ConversationOut
    messages: list[MessageOut]
    events: list[EventOut]


class ReplyIn(StrictIn):
    """A person's reply: free-form text, or an approved WhatsApp template outside the window."""

    text: Text | None = None
    template: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    language: Annotated[str, StringConstraints(min_length=2, max_length=15)] = "en_US"
    parameters: list[Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=list, max_length=20)
    by: Actor | None = Field(default=None, description="Who replies (required with an API key).")


class SentOut(Out):
    """A message sent: ids, the window rule applied, until when, the tag used."""

    message_id: int
    platform_message_id: str
    rule: str
    until: datetime | None = None
    tag: str | None = None


class EscalateIn(StrictIn):
    """Escalate to a person."""

    reason: Literal["customer_request", "low_confidence", "manual_escalation",
                    "outside_window"] = "manual_escalation"
    notes: Notes | None = None
    by: Actor | None = None


class AssignIn(StrictIn):
    """Assign to a person (user id or e-mail), or unassign (null)."""

    assignee: Annotated[str, StringConstraints(min_length=1, max_length=254)] | None
    by: Actor | None = None


class ResolveIn(StrictIn):
    """Resolve the open escalation, with notes."""

    notes: Notes | None = None
    by: Actor | None = None


class ActorIn(StrictIn):
    """Who acts (required with an API key)."""

    by: Actor | None = None


class EscalationOut(Out):
    """An escalation."""

    escalation_id: int
    conversation_id: int
    message_id: int | None = None
    reason: str
    status: Literal["open", "in_progress", "resolved"]
    opened_by: str
    assigned_to: UUID | None = None
    assignee_email: str | None = None
    notes: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    created_at: datetime


class EscalationPage(Page[EscalationOut]):
    """A page of escalations."""


class AgentOut(Out):
    """A person who may answer this tenant's inbox."""

    user_id: UUID
    email: str
    role: str


class KpiOut(Out):
    """KPIs of one period (a 2-hour UTC window start, or a local date) and channel. Times in
    seconds (business seconds when business hours are set); rates are fractions 0-1."""

    period: datetime | date
    channel: str
    messages_count: int
    inbound_count: int
    outbound_count: int
    contacts_count: int
    answered_count: int
    auto_replies_count: int
    escalate_count: int
    frt_p50_seconds: int | None = None
    frt_p90_seconds: int | None = None
    human_frt_p50_seconds: int | None = None
    human_frt_p90_seconds: int | None = None
    auto_reply_rate: float | None = None
    escalation_rate: float | None = None
    comments_count: int = 0
    posts_active: int = 0
