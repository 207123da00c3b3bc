"""Request and response models of the leads API (strict bodies, see :mod:`growthops.web.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from growthops.web.models import Name, Out, Page, StrictIn

_EMAIL_RE = r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254,
                                         pattern=_EMAIL_RE)]
Lang = Literal["en", "fr"]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class LeadIn(StrictIn):
    """A lead posted by a website form. ``hp`` is the honeypot: a hidden field people leave
    empty; a filled one marks a bot (answer 202, nothing stored)."""

    email: Email
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40,
                                            pattern=r"^[0-9+()./ -]*$")] | None = None
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    source: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="The page or campaign the form was on.")
    language: Lang | None = Field(default=None, description="The form's language, a hint.")
    consent_email: bool | None = Field(default=None, description="The person agreed to be e-mailed.")
    metadata: dict[Annotated[str, StringConstraints(max_length=60)],
                   Annotated[str, StringConstraints(max_length=500)]] | None = Field(
        default=None, max_length=20, description="Up to 20 string pairs (utm_source...).")
    is_test: bool = False
    hp: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="Honeypot: leave empty (hidden in the form).")


class LeadCaptured(Out):
    """The answer to a stored lead (201): it is durably stored and will be enriched."""

    lead_id: int
    status: Literal["stored"]
    received_at: datetime


class Discarded(Out):
    """The answer to a submission the honeypot caught (202): nothing stored."""

    status: Literal["discarded"]


class LeadOut(Out):
    """A lead with its AI reading and its state."""

    lead_id: int
    received_at: datetime
    name: str | None
    email: str
    phone: str | None
    company: str | None
    message: str
    source: str | None
    metadata: dict[str, Any]
    enrichment_status: str
    language: str | None
    ai_summary: str | None
    intent: str | None
    intent_label: str | None = None
    tone: str | None
    urgency: str | None
    confidence_score: float | None = Field(None, description="Probability 0-1 that the intent is right.")
    current_tag: str | None
    archived: bool
    deleted: bool
    converted: bool
    converted_at: datetime | None
    replied: bool
    is_test: bool


class LeadDetail(LeadOut):
    """A lead with the histories of its readings."""

    tone_history: list[dict[str, Any]]
    urgency_history: list[dict[str, Any]]
    confidence_history: list[dict[str, Any]]
    model_version: str | None


class LeadPage(Page[LeadOut]):
    """One page of leads."""


class ActionIn(StrictIn):
    """A person's action on a lead. ``tag`` needs ``tag``; ``revert`` needs ``reason``;
    ``correct_intent`` needs ``intent``. With an API key, ``by`` names the person."""

    action: Literal["tag", "archive", "delete", "reactivate", "convert", "revert",
                    "correct_intent", "replied"]
    tag: Tag | None = None
    reason: Reason | None = None
    intent: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,59}$")] | None = None
    by: Name | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, v: str | None) -> str | None:
        return v


class ActionOut(Out):
    """One entry of a lead's activity journal (``lead_actions``)."""

    action_id: int
    lead_id: int
    action_type: str
    tag: str | None
    performed_by: str
    timestamp: datetime
    conversion_outcome: bool | None
    reversion_reason: str | None
    details: dict[str, Any]


class NoteIn(StrictIn):
    """A note on a lead. With an API key, ``by`` names the person."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    by: Name | None = None


class NoteOut(Out):
    """A note on a lead."""

    note_id: int
    lead_id: int
    note: str
    performed_by: str
    created_at: datetime


class InsightsOut(Out):
    """The tenant's latest growth insights (``growth_brain``); see docs/leads.md for formulas."""

    analysis_period_start: datetime
    analysis_period_end: datetime
    total_leads: int
    top_intents: list[dict[str, Any]]
    urgency_distribution: dict[str, int]
    urgency_trend_percentage: float | None
    tone_distribution: dict[str, int]
    tone_sentiment_score: float | None
    avg_confidence: float | None
    confidence_trajectory: list[dict[str, Any]]
    language_ratio: dict[str, float]
    engagement_score: float | None
    engagement_components: dict[str, Any]
    predictive_insights: dict[str, Any]
    analyzed_at: datetime


class HealthOut(Out):
    """Integration health: last authenticated capture call and last lead stored (UTC)."""

    last_connection: datetime | None
    last_lead_at: datetime | None
    calls_24h: int
    errors_24h: int
    pending_enrichment: int
