"""Request and response models of the posts, comments and credits API (issue 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from growthops.web.models import Out, Page, StrictIn

Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Caption = Annotated[str, StringConstraints(max_length=2200)]
RRule = Annotated[str, StringConstraints(min_length=5, max_length=500)]
#: A date and time given as an ISO 8601 string in JSON (strict models refuse strings otherwise).
LocalTime = Annotated[datetime, Field(strict=False)]
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=2200)]


class MediaIn(StrictIn):
    """One media of a post: an image or a video at a public https URL (Instagram fetches it)."""

    type: Literal["image", "video"]
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=r"^https?://")]


class PostIn(StrictIn):
    """Schedule a post on an Instagram account at a wall-clock time of the tenant's time zone."""

    social_account_id: int = Field(ge=1, le=2**62)
    text: Caption = ""
    media: list[MediaIn] = Field(min_length=1, max_length=10)
    local_at: LocalTime = Field(description="Wall-clock time in the tenant's time zone "
                                           "(no offset), e.g. 2026-06-01T09:00:00.")
    rrule: RRule | None = Field(default=None, description="RFC 5545 RRULE without DTSTART, "
                                                          "e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=4.")
    by: Actor | None = Field(default=None, description="Who schedules (required with an API key).")


class PostEditIn(StrictIn):
    """Change a queued post (omitted fields are kept; ``clear_rrule`` stops the recurrence)."""

    text: Caption | None = None
    media: list[MediaIn] | None = Field(default=None, min_length=1, max_length=10)
    local_at: LocalTime | None = None
    rrule: RRule | None = None
    clear_rrule: bool = False
    by: Actor | None = None


class ByIn(StrictIn):
    """Who acts (required with an API key)."""

    by: Actor | None = None


class RunOut(Out):
    """One attempt at an occurrence."""

    run_id: int
    occurrence_at: datetime
    attempt: int
    status: Literal["running", "success", "failed", "retry"]
    started_at: datetime
    finished_at: datetime | None = None
    container_id: str | None = None
    platform_post_id: str | None = None
    error: str | None = None
    error_code: str | None = None


class PostOut(Out):
    """A scheduled post with its last runs and its next occurrences (UTC)."""

    post_id: int
    social_account_id: int
    platform: str
    content_json: dict[str, Any]
    local_at: datetime
    time_zone: str
    rrule: str | None = None
    status: Literal["queued", "publishing", "published", "failed", "cancelled"]
    occurrence_at: datetime | None = None
    next_attempt_at: datetime | None = None
    platform_post_id: str | None = None
    error_message: str | None = None
    retry_count: int
    published_count: int
    created_by: str
    created_at: datetime
    upcoming: list[datetime] = []
    runs: list[RunOut] = []


class PostPage(Page[PostOut]):
    """A page of scheduled posts."""


class CommentOut(Out):
    """A comment on a monitored post, its triage and our reply."""

    comment_id: int
    monitored_post_id: int
    platform_post_id: str | None = None
    platform_comment_id: str
    parent_id: str | None = None
    author_name: str | None = None
    text: str | None = None
    created_at: datetime
    received_via: Literal["webhook", "poll"]
    triage: str | None = None
    triage_reason: str | None = None
    confidence: float | None = None
    reply_status: str
    reply_kind: str | None = None
    ai_reply_text: str | None = None
    replied_by: str | None = None
    replied_at: datetime | None = None
    private_replied_at: datetime | None = None
    reply_error: str | None = None


class CommentPage(Page[CommentOut]):
    """A page of comments, newest first, with the comment KPIs of all time (counted apart from
    the messages': see :func:`growthops.inbox.comments.counts`)."""

    counts: dict[str, int] = {}


class CommentReplyIn(StrictIn):
    """A person's reply to a comment: public, or private to the commenter (once, within 7 days)."""

    text: ReplyText
    private: bool = False
    by: Actor | None = None


class ApproveIn(StrictIn):
    """Approve the AI's draft reply (``text`` replaces it)."""

    text: ReplyText | None = None
    by: Actor | None = None


class MonitoredPostOut(Out):
    """A post under comment monitoring."""

    monitored_post_id: int
    social_account_id: int
    platform_post_id: str
    caption: str | None = None
    posted_at: datetime | None = None
    source: str
    monitoring_enabled: bool
    monitoring_ends_at: datetime
    last_check_at: datetime | None = None
    comments: int = 0


class RuleIn(StrictIn):
    """Change the monitoring rule of an account (``social_account_id`` null: the tenant's default)."""

    social_account_id: int | None = Field(default=None, ge=1, le=2**62)
    auto_monitor_enabled: bool | None = None
    auto_monitor_count: int | None = Field(default=None, ge=1, le=20)
    monitoring_duration_days: int | None = Field(default=None, ge=1, le=30)
    ai_enabled_for_comments: bool | None = None
    auto_reply_enabled: bool | None = Field(default=None, description="The explicit auto "
                                            "policy: the AI's replies go out without approval.")


class RuleOut(Out):
    """A monitoring rule."""

    social_account_id: int | None = None
    auto_monitor_enabled: bool
    auto_monitor_count: int
    monitoring_duration_days: int
    ai_enabled_for_comments: bool
    auto_reply_enabled: bool


class LedgerOut(Out):
    """A ledger row (amount < 0 is a debit)."""

    transaction_id: int
    amount: int
    reason: str
    action_id: str
    balance_after: int
    created_at: datetime


class CreditsOut(Out):
    """The tenant's plan, balance, this month's use and the last ledger rows."""

    plan: str
    status: str
    credits_remaining: int
    credits_total: int
    used_this_month: int
    last_reset_at: datetime | None = None
    limits: dict[str, Any]
    storage_used_mb: float = 0
    monitored_now: int = 0
    ledger: list[LedgerOut] = []


class PlanIn(StrictIn):
    """Put the tenant on a plan (``grant_now``: grant this month's credits at once)."""

    plan: Literal["free", "starter", "pro", "enterprise"]
    status: Literal["active", "canceled", "past_due"] = "active"
    grant_now: bool = False
