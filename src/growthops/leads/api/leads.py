"""Routes on a tenant's leads: list (filters), read, act, notes, journal, CSV export, growth
insights and integration health. Served under ``/api/v1/tenants/{tenant}/leads`` and under
``/api/v1/leads`` for the caller's own tenant (an API key's or a client_viewer's)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from growthops.core.errors import NotFound
from growthops.leads import insights, work
from growthops.leads.models import (
    ActionIn,
    ActionOut,
    HealthOut,
    InsightsOut,
    LeadDetail,
    LeadOut,
    LeadPage,
    NoteIn,
    NoteOut,
)
from growthops.web.deps import IdPath, Scope, actor, own_router, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["leads"], responses=TENANT_RESPONSES)
State = Literal["active", "archived", "deleted", "converted", "all"]
Short = Annotated[str, Query(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_ -]+$")]


@routes.get("", response_model=LeadPage, summary="List leads (filters, paginated)")
def list_leads(scope: Scope, state: State = "active", intent: Short | None = None,
               urgency: Literal["high", "medium", "low"] | None = None, tag: Short | None = None,
               language: Literal["en", "fr"] | None = None, since: date | None = None,
               until: date | None = None,
               q: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> LeadPage:
    """Newest first; ``since``/``until`` are UTC days (inclusive)."""
    rows, total = work.list_leads(scope.conn, tenant_id=scope.tenant_id, state=state,
                                  intent=intent, urgency=urgency, tag=tag, language=language,
                                  since=since, until=until, q=q, limit=limit, offset=offset)
    return LeadPage.of([LeadOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get("/export.csv", summary="Export the filtered leads as CSV",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(scope: Scope, state: State = "active", intent: Short | None = None,
           urgency: Literal["high", "medium", "low"] | None = None, tag: Short | None = None,
           language: Literal["en", "fr"] | None = None, since: date | None = None,
           until: date | None = None) -> Response:
    """UTF-8 CSV with a header row; formula-like cells are neutralised."""
    text = work.export_csv(scope.conn, tenant_id=scope.tenant_id, state=state, intent=intent,
                           urgency=urgency, tag=tag, language=language, since=since, until=until)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="leads.csv"'})


@routes.get("/insights", response_model=InsightsOut, summary="The latest growth insights")
def get_insights(scope: Scope) -> InsightsOut:
    """The tenant's ``growth_brain`` row; 404 before the first computation."""
    row = insights.latest(scope.conn, tenant_id=scope.tenant_id)
    if row is None:
        raise NotFound("no insights yet: POST .../leads/insights or growthops leads insights")
    return InsightsOut.model_validate(row)


@routes.post("/insights", response_model=InsightsOut, status_code=201,
             responses={**FORBIDDEN}, summary="Compute this week's growth insights now")
def compute_insights(scope: Scope) -> InsightsOut:
    """Compute and store the insights of the 7 days ending now."""
    scope.require_decide()
    return InsightsOut.model_validate(insights.compute(scope.conn, tenant_id=scope.tenant_id))


@routes.get("/health", response_model=HealthOut, summary="Integration health")
def get_health(scope: Scope) -> HealthOut:
    """Last authenticated capture call, last lead, calls and errors in 24 h, pending leads."""
    return HealthOut.model_validate(work.health(scope.conn, tenant_id=scope.tenant_id))


@routes.get("/{lead_id}", response_model=LeadDetail, summary="One lead and its AI history")
def get_lead(lead_id: IdPath, scope: Scope) -> LeadDetail:
    """404 for another tenant's lead."""
    return LeadDetail.model_validate(work.get_lead(scope.conn, tenant_id=scope.tenant_id,
                                                   lead_id=lead_id))


@routes.post("/{lead_id}/actions", response_model=LeadDetail, status_code=201,
             responses={**BODY, **FORBIDDEN, **CONFLICT},
             summary="Tag, archive, delete, reactivate, convert, revert, correct the intent")
def act(lead_id: IdPath, body: ActionIn, scope: Scope) -> LeadDetail:
    """One action, journaled; 409 when the lead's state forbids it."""
    scope.require_decide()
    row = work.act(scope.conn, tenant_id=scope.tenant_id, lead_id=lead_id, action=body.action,
                   by=actor(scope, body.by, "by"), tag=body.tag, reason=body.reason,
                   intent=body.intent)
    return LeadDetail.model_validate(row)


@routes.get("/{lead_id}/actions", response_model=list[ActionOut], summary="The lead's journal")
def lead_journal(lead_id: IdPath, scope: Scope) -> list[ActionOut]:
    """Newest first; 404 for another tenant's lead."""
    work.get_lead(scope.conn, tenant_id=scope.tenant_id, lead_id=lead_id)
    return [ActionOut.model_validate(r) for r in work.journal(
        scope.conn, tenant_id=scope.tenant_id, lead_id=lead_id)]


@routes.get("/{lead_id}/notes", response_model=list[NoteOut], summary="The lead's notes")
def lead_notes(lead_id: IdPath, scope: Scope) -> list[NoteOut]:
    """Oldest first."""
    work.get_lead(scope.conn, tenant_id=scope.tenant_id, lead_id=lead_id)
    return [NoteOut.model_validate(r) for r in work.notes(scope.conn, tenant_id=scope.tenant_id,
                                                          lead_id=lead_id)]


@routes.post("/{lead_id}/notes", response_model=NoteOut, status_code=201,
             responses={**BODY, **FORBIDDEN}, summary="Add a note")
def add_note(lead_id: IdPath, body: NoteIn, scope: Scope) -> NoteOut:
    """A note and its ``noted`` journal entry."""
    scope.require_decide()
    return NoteOut.model_validate(work.add_note(scope.conn, tenant_id=scope.tenant_id,
                                                lead_id=lead_id, note=body.note,
                                                by=actor(scope, body.by, "by")))


router = tenant_router(routes, "/leads")
short_router = own_router(routes, "/leads")
