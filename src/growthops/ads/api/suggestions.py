"""Routes of suggestions: list, show, history, and decide (approve, refuse, backlog).

Served under ``/api/v1/tenants/{tenant}/suggestions`` and, for the caller's own tenant (an API
key's or a client_viewer's), under ``/api/v1/suggestions``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from growthops.ads.action import decisions
from growthops.ads.models import DecisionIn, DecisionOut, HistoryOut, SuggestionOut, SuggestionPage
from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import NotFound
from growthops.web.background import run_after
from growthops.web.deps import (
    IdPath,
    Scope,
    TenantScope,
    Who,
    acting_key_of,
    actor_of,
    own_router,
    read_in_scope,
    run_in_scope,
    tenant_router,
)
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
async def list_suggestions(
    request: Request,
    who: Who,
    status: Annotated[Status | None, Query(description="Filter by status; all if omitted.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SuggestionPage:
    """List the tenant's live suggestions in review order (priority, then confidence).

    The hot read path (issue 16, docs/performance.md §7): PostgreSQL builds the page's JSON
    (:func:`growthops.ads.action.decisions.suggestion_page_query`, the shape of
    :class:`SuggestionPage`) and the route sends that text as the body, without decoding the
    ``jsonb`` columns nor validating and encoding the rows again; the tenant's transaction
    (with the API key's liveness check) is one round trip and one hop to the thread pool
    (:func:`growthops.web.deps.read_in_scope`). ``tests/test_api.py`` checks the body equals
    what FastAPI's own encoding of the validated page gave.
    """
    def query(tenant_id: UUID) -> list[tuple[str, Any]]:
        return [decisions.suggestion_page_query(tenant_id=tenant_id, status=status, limit=limit,
                                                offset=offset)]

    ((row,),) = await read_in_scope(request, who, query)
    return Response(row["page"], media_type="application/json")  # type: ignore[return-value]


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
async def decide(suggestion_id: IdPath, body: DecisionIn, request: Request, who: Who,
                 background: BackgroundTasks) -> DecisionOut:
    """Record a decision (channel ``api``); 403 for a client_viewer; 409 when expired or
    already decided. A logged-in user decides as itself; an API key decides as itself
    (``apikey:<name>#<id>``), or names ``decided_by`` when it was created to act for people.
    An approval is then executed on the ad account (within the guard rails) after the response,
    when the tenant has an account on the suggestion's platform.

    The decision's one statement (:func:`growthops.ads.action.decisions.decide_query`) is sent
    with the tenant transaction's opening (and an API key's liveness check, read first: a dead
    key's decision is rolled back), then the commit: two round trips, in one hop to the thread
    pool (:func:`growthops.web.deps.run_in_scope`); the execution runs on the app's own
    after-response threads (:func:`growthops.web.background.run_after`), not the request's
    pool, and only when there is an account to execute on (issue 16, docs/performance.md §7).
    """
    sent: dict[str, Any] = {}

    def statement(tenant_id: UUID) -> list[tuple[str, Any]]:
        # after the tenant's resolution (404), before the transaction opens: 403, 422
        if not who.can_decide:  # TenantScope.require_decide
            raise PermissionDenied(f"a {who.user.role if who.user else 'principal'} "
                                   "can read this tenant but cannot change it")
        sql, sent["params"] = decisions.decide_query(
            tenant_id=tenant_id, suggestion_id=suggestion_id, decision=body.decision,
            decided_by=actor_of(who, body.decided_by, "decided_by"), notes=body.notes,
            channel="api", api_key=acting_key_of(who))
        return [(sql, sent["params"])]

    def work(scope: TenantScope, rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
        return decisions.decided(scope.conn, rows[0][0] if rows[0] else None, sent["params"])

    row = await run_in_scope(request, who, work, statement)
    if body.decision == "approved" and row["has_ad_account"]:
        from growthops.ads.action.execution import execute_after_approval

        background.add_task(run_after, request.app, execute_after_approval, request.app.state.db,
                            tenant_id=row["tenant_id"], suggestion_id=suggestion_id,
                            actor=row["decided_by"])
    out = DecisionOut.model_validate(row).model_dump_json()
    return Response(out, status_code=201, media_type="application/json")  # type: ignore[return-value]


router = tenant_router(routes, "/suggestions")
short_router = own_router(routes, "/suggestions")
