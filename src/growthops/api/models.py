"""Request and response models of the HTTP API.

Request bodies are **strict** (``ConfigDict(strict=True, extra="forbid")``): no coercion
(``false`` is not ``0``, ``"3"`` is not ``3``), unknown fields refused, each fault named in the
422 answer. Response models are lax (they describe rows the service returns).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=4000)]


class StrictIn(BaseModel):
    """Base of request bodies: strict types, no extra field."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Out(BaseModel):
    """Base of response bodies (built from database rows)."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)


# ------------------------------------------------------------------------------- suggestions
class DecisionIn(StrictIn):
    """A reviewer's decision on a suggestion: approved, refused or backlog, who and why."""

    decision: Literal["approved", "refused", "backlog"]
    decided_by: Name = Field(description="Who decides (a person's name or handle).")
    notes: Notes | None = Field(default=None, description="Why (free text, ≤ 4000 characters).")


class DecisionOut(Out):
    """The decision recorded, the suggestion's status before and after, and its audit entry."""

    decision_id: int
    suggestion_id: int
    decision: str
    decided_by: str
    decided_at: datetime
    notes: str | None = None
    channel: str
    status_before: str
    status: str
    audit_id: int
    type: str
    platform: str
    entity_type: str
    entity_id: str
    entity_name: str | None = None
    action: str
    action_params: dict[str, Any] = {}
    confidence: int


class SuggestionOut(Out):
    """A suggestion: the action, its reason and expected impact, and its state."""

    suggestion_id: int
    as_of: date
    type: str
    priority: str
    action: str
    reason: str
    expected_impact: str
    texts: dict[str, Any]
    predicted_metrics: dict[str, Any]
    action_params: dict[str, Any]
    evidence: dict[str, Any]
    confidence: int = Field(description="Percent 0-100 (posterior probability of the premise).")
    calibrated_confidence: int | None = None
    platform: str
    entity_type: str
    entity_id: str
    entity_name: str | None = None
    status: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    auto_applied: bool = False
    guard_rail_note: Any = None
    created_at: datetime
    expires_at: datetime
    archived: bool = False
    archived_at: datetime | None = None


class SuggestionPage(Out):
    """One page of suggestions and the total matching the filter."""

    items: list[SuggestionOut]
    total: int
    limit: int
    offset: int


class HistoryOut(Out):
    """A suggestion with its decisions, executions, hypothesis, audit entries and summary."""

    suggestion: SuggestionOut
    decisions: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    hypothesis: dict[str, Any] | None = None
    audit: list[dict[str, Any]]
    summary: str


# ------------------------------------------------------------------------------------- audit
class AuditOut(Out):
    """One audit-trail entry."""

    audit_id: int
    occurred_at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    platform: str | None = None
    entity_id: str | None = None
    before: Any = None
    after: Any = None
    reason: str | None = None


# -------------------------------------------------------------------------------- validation
class ValidationSubmitIn(StrictIn):
    """An item to review: creative, campaign change or budget increase."""

    item_type: Literal["ad_creative", "campaign_change", "budget_increase"]
    item_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=500)]
    submitted_by: Name
    content: dict[str, Any] = Field(default_factory=dict,
                                    description="The item (copy, asset URL, change...); "
                                                "a suggestion_id key links it to a suggestion.")
    ttl_hours: float | None = Field(default=None, gt=0, le=2160,
                                    description="Review window in hours (default 72).")


class ValidationAdvanceIn(StrictIn):
    """A reviewer moves the item to the next stage."""

    by: Name
    notes: Notes | None = None


class ValidationRejectIn(StrictIn):
    """A reviewer rejects the item, saying why."""

    by: Name
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=4000)]


class ValidationItemOut(Out):
    """A validation-queue item with its timestamps and reviewers."""

    queue_id: int
    item_type: str
    item_name: str
    content: dict[str, Any]
    validation_stage: str
    status: str
    effective_status: str = Field(description="status, or 'expired' once past expires_at.")
    submitted_by: str | None = None
    submitted_at: datetime
    client_validated_at: datetime | None = None
    client_validated_by: str | None = None
    team_validated_at: datetime | None = None
    team_validated_by: str | None = None
    rejected_at: datetime | None = None
    rejected_by: str | None = None
    rejection_reason: str | None = None
    expires_at: datetime


class ValidationPage(Out):
    """One page of validation items and the total matching the filter."""

    items: list[ValidationItemOut]
    total: int
    limit: int
    offset: int
