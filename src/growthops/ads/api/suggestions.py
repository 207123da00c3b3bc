"""Routes of suggestions: list, show, history, and decide (approve, refuse, backlog).

Served under ``/api/v1/tenants/{tenant}/suggestions`` and, for the caller's own tenant (an API
key's or a client_viewer's), under ``/api/v1/suggestions``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from growthops.ads.action import decisions
from growthops.ads.models import DecisionIn, DecisionOut, HistoryOut, SuggestionOut, SuggestionPage
from growthops.core.errors import NotFound
from growthops.web.deps import IdPath, Scope, acting_key, actor, own_router, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["suggestions"], responses=TENANT_RESPONSES)

Status = Literal[
    "pending",
    "approved",
    "refused",
    "backlog",
    "executing",
    "executed",
    "expired",
    "failed",
    "blocked",
]


@routes.get("", response_model=SuggestionPage, summary="List suggestions (paginated)")
def list_suggestions(
    scope: Scope,
    status: Annotated[Status | None, Query(description="Filter by status; all if omitted.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SuggestionPage:
    """List the tenant's live suggestions in review order (priority, then confidence).

    The page is validated by :class:`SuggestionPage` and serialised by pydantic's own JSON
    encoder (``model_dump_json``), returned as the response body as is: FastAPI would otherwise
    validate it a second time against ``response_model`` and run ``jsonable_encoder`` over every
    nested dict, which cost more than the query itself (issue 16, docs/performance.md).
    """
    rows, total = decisions.list_suggestions(
        scope.conn, tenant_id=scope.tenant_id, status=status, limit=limit, offset=offset
    )
    page = SuggestionPage.of([SuggestionOut.model_validate(r) for r in rows], total, limit, offset)
    return Response(page.model_dump_json(), media_type="application/json")  # type: ignore[return-value]


@routes.get(
    "/{suggestion_id}",
    response_model=SuggestionOut,
    summary="Show one suggestion (live or archived)",
)
def get_suggestion(suggestion_id: IdPath, scope: Scope) -> SuggestionOut:
    """Return one suggestion of the tenant; 404 for any other tenant's id."""
    return SuggestionOut.model_validate(
        decisions.get_suggestion(scope.conn, tenant_id=scope.tenant_id, suggestion_id=suggestion_id)
    )


@routes.get(
    "/{suggestion_id}/history",
    response_model=HistoryOut,
    summary="Who decided, why, and what happened",
)
def suggestion_history(suggestion_id: IdPath, scope: Scope) -> HistoryOut:
    """Return the suggestion with its decisions, executions, hypothesis and audit entries."""
    rows = decisions.history(scope.conn, tenant_id=scope.tenant_id, suggestion_id=suggestion_id)
    if not rows:
        raise NotFound(f"no suggestion {suggestion_id} for this tenant")
    return HistoryOut.model_validate(rows[0])


@routes.post(
    "/{suggestion_id}/decision",
    response_model=DecisionOut,
    status_code=201,
    responses={**BODY, **FORBIDDEN, **CONFLICT},
    summary="Approve, refuse or backlog",
)
def decide(suggestion_id: IdPath, body: DecisionIn, scope: Scope, request: Request,
           background: BackgroundTasks) -> DecisionOut:
    """Record a decision (channel ``api``); 403 for a client_viewer; 409 when expired or
    already decided. A logged-in user decides as itself; an API key decides as itself
    (``apikey:<name>#<id>``), or names ``decided_by`` when it was created to act for people.
    An approval is then executed on the ad account (within the guard rails) after the response."""
    scope.require_decide()
    row = decisions.decide(
        scope.conn,
        tenant_id=scope.tenant_id,
        suggestion_id=suggestion_id,
        decision=body.decision,
        decided_by=actor(scope, body.decided_by, "decided_by"),
        notes=body.notes,
        channel="api",
        api_key=acting_key(scope),
    )
    if body.decision == "approved":
        from growthops.ads.action.execution import execute_after_approval

        background.add_task(execute_after_approval, request.app.state.db, tenant_id=scope.tenant_id,
                            suggestion_id=suggestion_id, actor=row["decided_by"])
    return DecisionOut.model_validate(row)


router = tenant_router(routes, "/suggestions")
short_router = own_router(routes, "/suggestions")
