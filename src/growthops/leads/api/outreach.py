"""Prospects and outreach routes, under ``/api/v1/tenants/{tenant}/leads`` and (own tenant)
``/api/v1/leads``:

* ``GET /prospects`` (best score first), ``POST /prospects/import`` (``text/csv`` body; query
  ``source``, ``partial``, ``map=field:Header``; 201 with the report, 422 with every rejected
  row and nothing stored), ``POST /prospects/profile`` (the ideal customer profile),
  ``GET /prospects/queue`` (the latest daily queue);
* ``POST /outreach/templates``, ``POST|GET /outreach/campaigns``,
  ``POST /outreach/campaigns/{id}/generate`` (pending e-mails), ``POST
  /outreach/campaigns/{id}/stop``, ``GET /outreach/emails`` (``status=pending``: the approval
  queue), ``POST /outreach/emails/approve`` and ``/reject`` (bulk, a person),
  ``POST /outreach/suppressions``, ``GET|PATCH /outreach/settings`` (sending hours, caps,
  pacing, tracking, sender identity; a bad value answers 422 naming it and changes nothing).

Every change needs a principal who may decide (403 for client viewers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field, StringConstraints

from growthops.core.errors import GrowthopsError, InvalidInput
from growthops.leads.models import Email, Lang
from growthops.leads.outreach import campaigns, metrics, templates
from growthops.leads.prospects import scoring, store
from growthops.web.deps import IdPath, Scope, actor, own_router, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, NOT_FOUND, TENANT_RESPONSES, _resp
from growthops.web.models import MAX_ID, Name, Out, Page, StrictIn

routes = APIRouter(tags=["prospects & outreach"], responses=TENANT_RESPONSES)
By = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class UnsupportedMediaType(GrowthopsError):
    """The import body is not CSV (415)."""

    exit_code = 2
    http_status = 415


class ProspectOut(Out):
    """A prospect with its score and the score's contributions."""

    prospect_id: int
    business_name: str
    website: str | None
    domain: str | None
    contact_email: str | None
    contact_name: str | None
    industry: str | None
    region: str | None
    language: str | None
    employees: int | None
    automation_need_score: float | None
    score_contributions: dict[str, Any]
    icp_similarity: float | None
    contacted: bool
    metadata: dict[str, Any]


class ProspectPage(Page[ProspectOut]):
    """A page of prospects."""


class ImportReport(Out):
    """What an import did: rows read, inserted, merged (existing prospects and the file's own
    duplicates), rejected rows (line, column, reason), whether fuzzy names were compared."""

    source: str
    mapping: dict[str, str]
    rows: int
    inserted: int
    merged: int
    merged_in_file: int
    rejected: list[dict[str, Any]]
    fuzzy: bool


class ProfileIn(StrictIn):
    """The tenant's ideal customer profile, a few paragraphs."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class ProfileOut(Out):
    """The embedder used, its dimension and the prospects rescored."""

    model: str
    dim: int
    rescored: int


class SendingSettingsOut(Out):
    """The tenant's sending settings (:func:`growthops.leads.outreach.campaigns.settings_of`):
    business hours as local hours (``time_zone``, Mon–Fri, start inclusive, end exclusive),
    the cold e-mails a day to one recipient domain, the prospects queued a day, whether each
    mailbox's cap is paced over the hours, whether opens and clicks are counted, the sender's
    name and postal address, and the base URL of unsubscribe and tracking links."""

    time_zone: str
    business_hours_start: int
    business_hours_end: int
    per_domain_daily_cap: int
    daily_queue_size: int
    send_pacing: bool
    tracking_enabled: bool
    sender_name: str | None
    postal_address: str | None
    public_base_url: str


class SendingSettingsIn(StrictIn):
    """The settings to change (omitted or null: unchanged); hours are local (0–24, start before
    end, checked with the stored other one)."""

    business_hours_start: Annotated[int, Field(ge=0, le=23)] | None = None
    business_hours_end: Annotated[int, Field(ge=1, le=24)] | None = None
    per_domain_daily_cap: Annotated[int, Field(ge=1, le=1000)] | None = None
    daily_queue_size: Annotated[int, Field(ge=1, le=1000)] | None = None
    send_pacing: bool | None = None
    tracking_enabled: bool | None = None
    sender_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    postal_address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    public_base_url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://")] | None = None


class TemplateIn(StrictIn):
    """An e-mail template (Jinja; variables in ``growthops.leads.outreach.templates.VARIABLES``)."""

    name: Name
    subject: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    html_content: Text
    plain_content: Text
    language: Lang = "en"
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TemplateOut(Out):
    """A stored template and the variables it uses."""

    template_id: int
    name: str
    language: str
    variables: list[str]


class FollowUpIn(StrictIn):
    """A follow-up step: after ``delay_business_days`` (Mon–Fri) with ``template_id``."""

    delay_business_days: Annotated[int, Field(ge=1, le=60)]
    template_id: Id


class CriteriaIn(StrictIn):
    """Which prospects a campaign targets (all given conditions hold)."""

    industries: list[Name] | None = Field(default=None, max_length=50)
    regions: list[Name] | None = Field(default=None, max_length=50)
    language: Lang | None = None
    min_score: Annotated[float, Field(ge=45, le=95)] | None = None
    prospect_ids: list[Id] | None = Field(default=None, max_length=10_000)


class CampaignIn(StrictIn):
    """A campaign: step-1 template, follow-ups, targets, explicit auto-approve policy."""

    name: Name
    template_id: Id
    follow_ups: list[FollowUpIn] = Field(default_factory=list, max_length=10)
    target_criteria: CriteriaIn = Field(default_factory=CriteriaIn)
    auto_approve: bool = False
    by: By | None = None


class CampaignOut(Out):
    """A campaign with its figures (null before the first metrics computation; opens and
    clicks null when tracking is off: not tracked, not zero)."""

    campaign_id: int
    name: str
    status: str
    auto_approve: bool
    follow_up_schedule: list[dict[str, Any]]
    pending: int = 0
    tracking_enabled: bool | None = None
    total_emails_sent: int | None = None
    total_emails_delivered: int | None = None
    total_emails_opened: int | None = None
    machine_opens: int | None = None
    total_emails_clicked: int | None = None
    machine_clicks: int | None = None
    total_emails_replied: int | None = None
    total_emails_bounced: int | None = None
    total_emails_unsubscribed: int | None = None
    open_rate: float | None = None
    click_rate: float | None = None
    reply_rate: float | None = None
    bounce_rate: float | None = None


class GenerateOut(Out):
    """E-mails created (pending unless the campaign auto-approves) and prospects skipped."""

    created: int
    errors: list[dict[str, Any]]


class EmailOut(Out):
    """An outreach e-mail as the approval queue shows it."""

    email_id: int
    campaign_id: int
    campaign: str
    prospect_id: int
    prospect_email: str
    company_name: str | None
    subject: str
    plain_content: str
    language: str
    status: str
    follow_up_sequence: int
    due_at: datetime
    approved_by: str | None


class DecideIn(StrictIn):
    """E-mails a person approves or rejects (ids of pending e-mails)."""

    email_ids: list[Id] = Field(min_length=1, max_length=1000)
    by: By | None = None


class Changed(Out):
    """The ids that changed (others were not pending any more)."""

    changed: list[int]


class StopIn(StrictIn):
    """Stop one prospect's sequence in a campaign."""

    prospect_id: Id
    by: By | None = None


class SuppressIn(StrictIn):
    """Put an address (or ``@domain``) on the suppression list."""

    email: Email | Annotated[str, StringConstraints(pattern=r"^@[a-z0-9.-]{3,253}$")]
    by: By | None = None


@routes.get("/prospects", response_model=ProspectPage, summary="List prospects, best first")
def list_prospects(scope: Scope, contacted: bool | None = None,
                   industry: Annotated[str | None, Query(max_length=120)] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> ProspectPage:
    """Prospects ordered by ``automation_need_score`` (45–95)."""
    rows, total = store.list_prospects(scope.conn, tenant_id=scope.tenant_id,
                                       contacted=contacted, industry=industry, limit=limit,
                                       offset=offset)
    return ProspectPage.of([ProspectOut.model_validate(r) for r in rows], total, limit, offset)


@routes.post("/prospects/import", response_model=ImportReport, status_code=201,
             responses={**BODY, **FORBIDDEN, 415: _resp("The body is not text/csv")},
             summary="Import prospects from a CSV export (text/csv body)",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {
                 "type": "string"}}}, "required": True}})
async def import_prospects(
        request: Request, scope: Scope,
        source: Literal["pdl", "apollo", "google_places", "plain"] | None = None,
        partial: bool = False,
        map: Annotated[list[Annotated[str, StringConstraints(max_length=300)]] | None,  # noqa: A002
                       Query(max_length=20)] = None) -> ImportReport:
    """All or nothing unless ``partial``: 422 lists every rejected row (line, column,
    reason) and stores nothing. ``map=industry:Sector`` maps a field to a header."""
    scope.require_decide()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("text/csv", "text/plain", "application/csv"):
        raise UnsupportedMediaType("send the CSV as the body with Content-Type: text/csv")
    mapping = {}
    for m in map or []:
        field, sep, header = m.partition(":")
        if not sep:
            raise InvalidInput(f"map: {m!r} is not field:Header")
        mapping[field.strip()] = header.strip()
    data = await request.body()
    report = store.import_csv(scope.conn, tenant_id=scope.tenant_id, data=data, source=source,
                              mapping=mapping, partial=partial, by=scope.who.actor)
    return ImportReport.model_validate(report)


@routes.post("/prospects/profile", response_model=ProfileOut, status_code=201,
             responses={**BODY, **FORBIDDEN}, summary="Set the ideal customer profile")
def set_profile(body: ProfileIn, scope: Scope) -> ProfileOut:
    """Embedded with the local model (MiniLM with the ``[ml]`` extra, else hashed n-grams);
    every prospect is rescored."""
    scope.require_decide()
    return ProfileOut.model_validate(scoring.set_profile(scope.conn, tenant_id=scope.tenant_id,
                                                         text=body.text))


@routes.get("/prospects/queue", response_model=list[ProspectOut],
            summary="The latest daily prospect queue")
def prospect_queue(scope: Scope) -> list[ProspectOut]:
    """The most recent day's queue, by rank (empty before the first daily job)."""
    day = scope.conn.execute("select max(queue_date) d from leads.prospect_queue where "
                             "tenant_id = %s", [str(scope.tenant_id)]).fetchone()["d"]
    rows = store.queue_of(scope.conn, tenant_id=scope.tenant_id, day=day) if day else []
    return [ProspectOut.model_validate(r) for r in rows]


@routes.post("/outreach/templates", response_model=TemplateOut, status_code=201,
             responses={**BODY, **FORBIDDEN}, summary="Create or replace an e-mail template")
def create_template(body: TemplateIn, scope: Scope) -> TemplateOut:
    """422 on a syntax error or an unknown variable."""
    scope.require_decide()
    return TemplateOut.model_validate(templates.create(
        scope.conn, tenant_id=scope.tenant_id, name=body.name, subject=body.subject,
        html_content=body.html_content, plain_content=body.plain_content,
        language=body.language, description=body.description))


@routes.post("/outreach/campaigns", response_model=CampaignOut, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT}, summary="Create a campaign")
def create_campaign(body: CampaignIn, scope: Scope) -> CampaignOut:
    """409 when the name is taken; 404 for an unknown template."""
    scope.require_decide()
    row = campaigns.create_campaign(
        scope.conn, tenant_id=scope.tenant_id, name=body.name, template_id=body.template_id,
        follow_ups=[f.model_dump() for f in body.follow_ups],
        target_criteria=body.target_criteria.model_dump(exclude_none=True),
        auto_approve=body.auto_approve, by=actor(scope, body.by, "by"))
    return CampaignOut.model_validate(row)


@routes.get("/outreach/campaigns", response_model=list[CampaignOut],
            summary="Campaigns and their figures")
def list_campaigns(scope: Scope) -> list[CampaignOut]:
    """Figures from ``outreach_metrics`` (recomputed by the ``leads.outreach_metrics`` job)."""
    return [CampaignOut.model_validate(r) for r in metrics.campaign_figures(
        scope.conn, tenant_id=scope.tenant_id)]


@routes.post("/outreach/campaigns/{campaign_id}/generate", response_model=GenerateOut,
             status_code=201, responses={**FORBIDDEN, **CONFLICT, **NOT_FOUND},
             summary="Generate step-1 e-mails for the campaign's prospects")
def generate(campaign_id: IdPath, scope: Scope,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> GenerateOut:
    """Pending e-mails (approved only under the campaign's auto-approve policy)."""
    scope.require_decide()
    return GenerateOut.model_validate(campaigns.generate(
        scope.conn, tenant_id=scope.tenant_id, campaign_id=campaign_id, limit=limit))


@routes.post("/outreach/campaigns/{campaign_id}/stop", response_model=Changed,
             responses={**BODY, **FORBIDDEN, **NOT_FOUND},
             summary="Stop a prospect's sequence in the campaign")
def stop(campaign_id: IdPath, body: StopIn, scope: Scope) -> Changed:
    """Unsent e-mails of the sequence are cancelled; ``changed`` is their count as a list."""
    scope.require_decide()
    n = campaigns.stop(scope.conn, tenant_id=scope.tenant_id, campaign_id=campaign_id,
                       prospect_id=body.prospect_id, by=actor(scope, body.by, "by"))
    return Changed(changed=[body.prospect_id] if n else [])


@routes.get("/outreach/emails", response_model=list[EmailOut],
            summary="Outreach e-mails by status (the approval queue)")
def list_emails(scope: Scope, status: Literal["pending", "approved", "sent", "replied",
                                              "bounced", "rejected", "cancelled"] = "pending",
                campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[EmailOut]:
    """Oldest due first."""
    return [EmailOut.model_validate(r) for r in campaigns.pending(
        scope.conn, tenant_id=scope.tenant_id, status=status, campaign_id=campaign_id,
        limit=limit)]


def _decide(body: DecideIn, scope: Any, decision: str) -> Changed:
    scope.require_decide()
    return Changed(changed=campaigns.decide(scope.conn, tenant_id=scope.tenant_id,
                                            email_ids=body.email_ids, decision=decision,
                                            by=actor(scope, body.by, "by")))


@routes.post("/outreach/emails/approve", response_model=Changed,
             responses={**BODY, **FORBIDDEN}, summary="Approve pending e-mails (bulk)")
def approve(body: DecideIn, scope: Scope) -> Changed:
    """Only pending e-mails change."""
    return _decide(body, scope, "approved")


@routes.post("/outreach/emails/reject", response_model=Changed,
             responses={**BODY, **FORBIDDEN}, summary="Reject pending e-mails (bulk)")
def reject(body: DecideIn, scope: Scope) -> Changed:
    """Only pending e-mails change."""
    return _decide(body, scope, "rejected")


@routes.post("/outreach/suppressions", response_model=Changed, status_code=201,
             responses={**BODY, **FORBIDDEN}, summary="Suppress an address or a domain")
def suppress(body: SuppressIn, scope: Scope) -> Changed:
    """Checked before every send; every sequence to the address ends."""
    scope.require_decide()
    addr = body.email.strip().lower()
    by = actor(scope, body.by, "by")
    scope.conn.execute(
        """insert into leads.suppression_list (tenant_id, email_norm, reason, created_by)
           values (%s, %s, 'manual', %s) on conflict (tenant_id, email_norm) do nothing""",
        [str(scope.tenant_id), addr, by])
    if addr.startswith("@"):
        ids = [r["prospect_id"] for r in scope.conn.execute(
            """select prospect_id from leads.prospect_candidates where tenant_id = %s
               and (domain = %s or split_part(email_norm, '@', 2) = %s)""",
            [str(scope.tenant_id), addr[1:], addr[1:]])]
        campaigns.end_sequences(scope.conn, tenant_id=scope.tenant_id, state="unsubscribed",
                                reason=f"suppressed by {by}", prospect_ids=ids)
    else:
        campaigns.end_sequences(scope.conn, tenant_id=scope.tenant_id, state="unsubscribed",
                                reason=f"suppressed by {by}", email_norms=[addr])
    return Changed(changed=[])


@routes.get("/outreach/settings", response_model=SendingSettingsOut,
            summary="The sending settings")
def get_sending_settings(scope: Scope) -> SendingSettingsOut:
    """Defaults (9–17, 3 a domain, paced, tracked) until changed."""
    return SendingSettingsOut.model_validate(
        campaigns.settings_of(scope.conn, tenant_id=scope.tenant_id))


@routes.patch("/outreach/settings", response_model=SendingSettingsOut,
              responses={**BODY, **FORBIDDEN}, summary="Change the sending settings")
def patch_sending_settings(body: SendingSettingsIn, scope: Scope) -> SendingSettingsOut:
    """Change the given settings; 422 naming the field (e.g. hours whose start is not before
    their end), nothing changed then."""
    scope.require_decide()
    return SendingSettingsOut.model_validate(campaigns.update_settings(
        scope.conn, tenant_id=scope.tenant_id, **body.model_dump(exclude_none=True)))


router = tenant_router(routes, "/leads")
short_router = own_router(routes, "/leads")
