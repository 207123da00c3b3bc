"""Routes of what happened after the suggestions: decisions, executions and hypotheses.

All under ``/api/v1/tenants/{tenant}/`` (read-only; decisions are made on
``.../suggestions/{id}/decision``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from growthops.ads.api import reads
from growthops.ads.models import (
    DecisionPage,
    DecisionRecordOut,
    ExecutionOut,
    ExecutionPage,
    HypothesisOut,
    HypothesisPage,
)
from growthops.web.deps import IdPath, Scope, tenant_router
from growthops.web.errors import TENANT_RESPONSES

routes = APIRouter(responses=TENANT_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SuggestionId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


@routes.get(
    "/decisions",
    response_model=DecisionPage,
    tags=["decisions"],
    summary="Decisions, live and archived (paginated)",
)
def list_decisions(
    scope: Scope,
    suggestion_id: SuggestionId = None,
    decision: Annotated[Literal["approved", "refused", "backlog"] | None, Query()] = None,
    channel: Annotated[Literal["cli", "api", "slack", "dashboard", "auto"] | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DecisionPage:
    """List who decided what, when, through which channel, newest first."""
    rows, total = reads.list_decisions(
        scope.conn,
        tenant_id=scope.tenant_id,
        suggestion_id=suggestion_id,
        decision=decision,
        channel=channel,
        limit=limit,
        offset=offset,
    )
    return DecisionPage.of(
        [DecisionRecordOut.model_validate(r) for r in rows], total, limit, offset
    )


@routes.get(
    "/executions",
    response_model=ExecutionPage,
    tags=["executions"],
    summary="Execution attempts (paginated)",
)
def list_executions(
    scope: Scope,
    status: Annotated[
        Literal["claimed", "applied", "failed", "dry_run", "blocked", "reconciled"] | None, Query()
    ] = None,
    suggestion_id: SuggestionId = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ExecutionPage:
    """List attempts to apply approved suggestions on the ad platforms, newest first."""
    rows, total = reads.list_executions(
        scope.conn,
        tenant_id=scope.tenant_id,
        status=status,
        suggestion_id=suggestion_id,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    return ExecutionPage.of([ExecutionOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get(
    "/executions/{execution_id}",
    response_model=ExecutionOut,
    tags=["executions"],
    summary="One execution attempt",
)
def get_execution(execution_id: IdPath, scope: Scope) -> ExecutionOut:
    """Return one execution attempt: before, intended and after states, the platform's answer."""
    return ExecutionOut.model_validate(
        reads.get_one(
            scope.conn,
            tenant_id=scope.tenant_id,
            table="execution_logs",
            key="execution_id",
            value=execution_id,
            label="execution",
        )
    )


@routes.get(
    "/hypotheses",
    response_model=HypothesisPage,
    tags=["hypotheses"],
    summary="Hypotheses and their measured outcomes (paginated)",
)
def list_hypotheses(
    scope: Scope,
    outcome: Annotated[
        Literal["validated", "invalidated", "partial", "inconclusive"] | None, Query()
    ] = None,
    measured: Annotated[bool | None, Query(description="true: measured; false: open.")] = None,
    suggestion_id: SuggestionId = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HypothesisPage:
    """List each execution's prediction and, once measured, its outcome, newest first."""
    rows, total = reads.list_hypotheses(
        scope.conn,
        tenant_id=scope.tenant_id,
        outcome=outcome,
        measured=measured,
        suggestion_id=suggestion_id,
        limit=limit,
        offset=offset,
    )
    return HypothesisPage.of([HypothesisOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get(
    "/hypotheses/{hypothesis_id}",
    response_model=HypothesisOut,
    tags=["hypotheses"],
    summary="One hypothesis",
)
def get_hypothesis(hypothesis_id: IdPath, scope: Scope) -> HypothesisOut:
    """Return one hypothesis with its prediction, measurement and verdict."""
    return HypothesisOut.model_validate(
        reads.get_one(
            scope.conn,
            tenant_id=scope.tenant_id,
            table="hypothesis_tracking",
            key="hypothesis_id",
            value=hypothesis_id,
            label="hypothesis",
        )
    )


router = tenant_router(routes)
