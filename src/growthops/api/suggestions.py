"""Routes ``/api/v1/suggestions``: list, show, history, and decide (approve, refuse, backlog)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from growthops.ads import decisions
from growthops.api.deps import Identity, TenantConn
from growthops.api.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND
from growthops.api.models import DecisionIn, DecisionOut, HistoryOut, SuggestionOut, SuggestionPage
from growthops.core.errors import NotFound

router = APIRouter(prefix="/api/v1/suggestions", tags=["suggestions"], responses=AUTH_RESPONSES)

Status = Literal["pending", "approved", "refused", "backlog", "executing", "executed", "expired",
                 "failed", "blocked"]


@router.get("", response_model=SuggestionPage, summary="List suggestions (paginated)")
def list_suggestions(
    conn: TenantConn,
    ident: Identity,
    status: Annotated[Status | None, Query(description="Filter by status; all if omitted.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SuggestionPage:
    """List the tenant's live suggestions in review order (priority, then confidence)."""
    rows, total = decisions.list_suggestions(conn, tenant_id=ident.tenant_id, status=status,
                                             limit=limit, offset=offset)
    return SuggestionPage(items=[SuggestionOut.model_validate(r) for r in rows], total=total,
                          limit=limit, offset=offset)


@router.get("/{suggestion_id}", response_model=SuggestionOut, responses=NOT_FOUND,
            summary="Show one suggestion (live or archived)")
def get_suggestion(suggestion_id: int, conn: TenantConn, ident: Identity) -> SuggestionOut:
    """Return one suggestion of the key's tenant; 404 for any other tenant's id."""
    return SuggestionOut.model_validate(
        decisions.get_suggestion(conn, tenant_id=ident.tenant_id, suggestion_id=suggestion_id))


@router.get("/{suggestion_id}/history", response_model=HistoryOut, responses=NOT_FOUND,
            summary="Who decided, why, and what happened")
def suggestion_history(suggestion_id: int, conn: TenantConn, ident: Identity) -> HistoryOut:
    """Return the suggestion with its decisions, executions, hypothesis and audit entries."""
    rows = decisions.history(conn, tenant_id=ident.tenant_id, suggestion_id=suggestion_id)
    if not rows:
        raise NotFound(f"no suggestion {suggestion_id} for this tenant")
    return HistoryOut.model_validate(rows[0])


@router.post("/{suggestion_id}/decision", response_model=DecisionOut, status_code=201,
             responses={**NOT_FOUND, **CONFLICT}, summary="Approve, refuse or backlog")
def decide(suggestion_id: int, body: DecisionIn, conn: TenantConn,
           ident: Identity) -> DecisionOut:
    """Record a decision (channel ``api``); 409 when expired or already decided."""
    row = decisions.decide(conn, tenant_id=ident.tenant_id, suggestion_id=suggestion_id,
                           decision=body.decision, decided_by=body.decided_by, notes=body.notes,
                           channel="api")
    return DecisionOut.model_validate(row)

