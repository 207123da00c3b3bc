"""The ads domain's request and response models of the HTTP API.

They build on :mod:`growthops.web.models` (strict request bodies, lax responses, pages).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from growthops.web.models import Name, Notes, Out, Page, StrictIn

_BY = ("Who acts: a logged-in user and an API key act as themselves (omit it); required with "
       "a key created to act for people (--acts-for-people), refused with any other key.")

# ------------------------------------------------------------------------------- suggestions
class DecisionIn(StrictIn):
    """A reviewer's decision on a suggestion: approved, refused or backlog, who and why."""

    decision: Literal["approved", "refused", "backlog"]
    decided_by: Name | None = Field(
        default=None,
        description="Who decides (a person's name or handle): required with an API key "
        "created to act for people; a logged-in user and any other key decide as themselves "
        "(omit it).",
    )
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
    api_key_id: int | None = Field(default=None, description="The API key that sent it, if any.")
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


SuggestionPage = Page[SuggestionOut]


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
    item_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
    ]
    submitted_by: Name | None = Field(default=None, description=_BY)
    content: dict[str, Any] = Field(
        default_factory=dict,
        description="The item (copy, asset URL, change...); "
        "a suggestion_id key links it to a suggestion.",
    )
    ttl_hours: float | None = Field(
        default=None, gt=0, le=2160, description="Review window in hours (default 72)."
    )


class ValidationAdvanceIn(StrictIn):
    """A reviewer moves the item to the next stage."""

    by: Name | None = Field(default=None, description=_BY)
    notes: Notes | None = None


class ValidationRejectIn(StrictIn):
    """A reviewer rejects the item, saying why."""

    by: Name | None = Field(default=None, description=_BY)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


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


ValidationPage = Page[ValidationItemOut]


# ----------------------------------------------------------------------------------- tenants
class TenantOut(Out):
    """A tenant with its month-to-date figures and open work.

    Money in ``currency``; ``roi_target`` and ``roas_mtd`` are ratios (conversion value /
    spend); ``pacing`` is month-to-date spend over the pro-rata monthly budget (1 = on track).
    Month to date runs to ``last_day``, the latest reporting day with data.
    """

    tenant_id: UUID
    client_key: str
    client_name: str
    industry: str | None = None
    vertical: str | None = None
    main_offer: str | None = None
    ticket_price: float | None = None
    roi_target: float
    monthly_budget_max: float | None = None
    currency: str
    time_zone: str
    slack_validation_channel: str | None = None
    created_at: datetime
    last_day: date | None = None
    spend_mtd: float
    conversion_value_mtd: float
    conversions_mtd: int
    roas_mtd: float | None = None
    cpa_mtd: float | None = None
    pacing: float | None = None
    pending_suggestions: int
    active_anomalies: int


TenantPage = Page[TenantOut]


# ----------------------------------------------------------------------------------- metrics
class Sums(Out):
    """Additive metrics: money in the tenant's currency, counts as integers."""

    spend: float
    impressions: int
    clicks: int
    leads: int
    applications: int
    bookings: int
    conversions: int
    conversion_value: float


class Ratios(Out):
    """Ratios of the sums beside them (null when the denominator is 0).

    ``ctr``, ``cvr``: fractions 0-1; ``cpc``, ``cpm``, ``cpl``, ``cpa``: money; ``roas``: ratio.
    """

    ctr: float | None = None
    cpc: float | None = None
    cpm: float | None = None
    cpl: float | None = None
    cpa: float | None = None
    roas: float | None = None
    cvr: float | None = None


Platform = Literal["meta", "google", "display", "tiktok", "linkedin", "other"]
Level = Literal["campaign", "adset", "ad"]


class EntityOut(Sums, Ratios):
    """An entity (campaign, ad set, ad) with its sums and ratios over the period asked."""

    platform: str
    level: str
    entity_id: str
    entity_name: str | None = None
    first_day: date
    last_day: date
    days: int


EntityPage = Page[EntityOut]


class MetricDayOut(Sums, Ratios):
    """One entity-day: the day's sums and the ratios of that day's sums."""

    platform: str
    level: str
    entity_id: str
    entity_name: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None
    day: date
    reach: int | None = Field(default=None, description="Not additive across days.")
    frequency: float | None = None
    daily_budget: float | None = None


class MetricTotals(Sums, Ratios):
    """Sums over every day matching the filter (not only the page) and their ratios."""

    days: int
    first_day: date | None = None
    last_day: date | None = None


class MetricsPage(Page[MetricDayOut]):
    """One page of an entity's days, with the totals of the whole filtered period."""

    totals: MetricTotals


class BaselineOut(Out):
    """Distribution across entities (p10-p90) of each entity's window value of ``metric``.

    Units by metric: ctr, cvr fractions; cpc, cpm, cpa, cpl money; roas ratio; spend_per_day
    money per day; frequency impressions per person.
    """

    as_of: date
    platform: str
    level: str
    window_days: int
    metric: str
    p10: float | None = None
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    n_entities: int
    computed_at: datetime


BaselinePage = Page[BaselineOut]


class AnomalyOut(Out):
    """A spike or drop of one entity's metric on ``as_of`` against its expected value.

    ``deviation`` = actual / expected - 1 (fraction); ``q_value``: Benjamini-Hochberg adjusted.
    """

    anomaly_id: int
    as_of: date
    platform: str
    level: str
    entity_id: str
    entity_name: str | None = None
    anomaly_type: str
    metric: str
    baseline_value: float | None = None
    actual_value: float | None = None
    deviation: float | None = None
    p_value: float
    q_value: float
    severity: str
    status: str
    method: str
    details: dict[str, Any] = {}
    detected_at: datetime
    resolved_at: datetime | None = None


AnomalyPage = Page[AnomalyOut]


# ------------------------------------------------------------------ decisions and outcomes
class DecisionRecordOut(Out):
    """A recorded decision (live or archived after 90 days)."""

    decision_id: int
    suggestion_id: int
    decision: str
    decided_by: str
    decided_at: datetime
    notes: str | None = None
    channel: str
    api_key_id: int | None = None
    created_at: datetime
    archived: bool = False
    archived_at: datetime | None = None


DecisionPage = Page[DecisionRecordOut]


class ExecutionOut(Out):
    """One attempt to apply a suggestion on the ad platform (``api_response`` redacted)."""

    execution_id: int
    suggestion_id: int
    idempotency_key: str
    action_type: str
    platform: str
    entity_type: str
    entity_id: str
    status: str
    executed_by: str
    claimed_at: datetime
    executed_at: datetime | None = None
    before_state: Any = None
    intended_state: Any = None
    after_state: Any = None
    api_response: Any = None
    success: bool | None = None
    error_message: str | None = None


ExecutionPage = Page[ExecutionOut]


class HypothesisOut(Out):
    """An executed suggestion's prediction and, once measured, its outcome."""

    hypothesis_id: int
    suggestion_id: int
    execution_id: int | None = None
    suggestion_type: str
    platform: str
    entity_type: str
    entity_id: str
    hypothesis_text: str
    predicted_metrics: Any = None
    confidence_score: int = Field(description="Percent 0-100.")
    executed_at: datetime
    start_day: date
    measurement_period_days: int
    measurement_end_date: date
    baseline_metrics: Any = None
    actual_metrics: Any = None
    counterfactual: Any = None
    variance: Any = None
    outcome: str | None = None
    why_accurate: str | None = None
    why_inaccurate: str | None = None
    confounding_factors: str | None = None
    model_adjustment_needed: bool
    adjustment_notes: str | None = None
    applied_to_model: bool
    measured_at: datetime | None = None


HypothesisPage = Page[HypothesisOut]
