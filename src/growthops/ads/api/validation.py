"""Routes of the validation queue: submit, list, show, advance and reject review items.

Served under ``/api/v1/tenants/{tenant}/validation`` and ``/api/v1/validation`` (own tenant).
A client_viewer reviews its own items at the ``client_review`` stage only (advance or reject
there); it cannot submit items nor act at the team's stage (403).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from growthops.ads.action import validation
from growthops.ads.models import (
    ValidationAdvanceIn,
    ValidationItemOut,
    ValidationPage,
    ValidationRejectIn,
    ValidationSubmitIn,
)
from growthops.core.auth.users import PermissionDenied
from growthops.web.deps import IdPath, Scope, TenantScope, actor, own_router, tenant_router
from growthops.web.errors import BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES

routes = APIRouter(tags=["validation"], responses=TENANT_RESPONSES)


def _may_review(scope: TenantScope, queue_id: int) -> None:
    """Let staff and keys act at any stage; a client_viewer only at ``client_review``
    (:func:`growthops.ads.action.validation.may_act`, the dashboard's rule too)."""
    if scope.who.can_decide:
        return
    item = validation.get_item(scope.conn, tenant_id=scope.tenant_id, queue_id=queue_id)
    if not validation.may_act(can_decide=False, stage=item["validation_stage"]):
        raise PermissionDenied(
            f"validation item {queue_id} is at stage "
            f"{item['validation_stage']}: only the agency's team acts there"
        )


@routes.post(
    "",
    response_model=ValidationItemOut,
    status_code=201,
    responses={**BODY, **FORBIDDEN},
    summary="Submit an item for client review",
)
def submit(body: ValidationSubmitIn, scope: Scope) -> ValidationItemOut:
    """Queue a creative, campaign change or budget increase at stage ``client_review``."""
    scope.require_decide()
    row = validation.submit(
        scope.conn,
        tenant_id=scope.tenant_id,
        item_type=body.item_type,
        item_name=body.item_name,
        submitted_by=actor(scope, body.submitted_by, "submitted_by"),
        content=body.content,
        ttl_hours=body.ttl_hours,
    )
    return ValidationItemOut.model_validate(row)


@routes.get("", response_model=ValidationPage, summary="List items (paginated)")
def list_items(
    scope: Scope,
    status: Annotated[Literal["pending", "approved", "rejected", "expired"] | None, Query()] = None,
    stage: Annotated[
        Literal["client_review", "team_review", "approved", "rejected"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ValidationPage:
    """List the tenant's items, newest first; ``status=expired`` includes overdue ones."""
    rows, total = validation.list_items(
        scope.conn,
        tenant_id=scope.tenant_id,
        status=status,
        stage=stage,
        limit=limit,
        offset=offset,
    )
    return ValidationPage.of(
        [ValidationItemOut.model_validate(r) for r in rows], total, limit, offset
    )


@routes.get("/{queue_id}", response_model=ValidationItemOut, summary="Show one item")
def get_item(queue_id: IdPath, scope: Scope) -> ValidationItemOut:
    """Return one item of the tenant."""
    return ValidationItemOut.model_validate(
        validation.get_item(scope.conn, tenant_id=scope.tenant_id, queue_id=queue_id)
    )


@routes.post(
    "/{queue_id}/advance",
    response_model=ValidationItemOut,
    responses={**BODY, **FORBIDDEN, **CONFLICT},
    summary="Move to the next review stage",
)
def advance(queue_id: IdPath, body: ValidationAdvanceIn, scope: Scope) -> ValidationItemOut:
    """client_review → team_review → approved; 409 when final or expired."""
    _may_review(scope, queue_id)
    return ValidationItemOut.model_validate(
        validation.advance(
            scope.conn,
            tenant_id=scope.tenant_id,
            queue_id=queue_id,
            by=actor(scope, body.by, "by"),
            notes=body.notes,
        )
    )


@routes.post(
    "/{queue_id}/reject",
    response_model=ValidationItemOut,
    responses={**BODY, **FORBIDDEN, **CONFLICT},
    summary="Reject at the current stage",
)
def reject(queue_id: IdPath, body: ValidationRejectIn, scope: Scope) -> ValidationItemOut:
    """Reject the item with a reason; 409 when final or expired."""
    _may_review(scope, queue_id)
    return ValidationItemOut.model_validate(
        validation.reject(
            scope.conn,
            tenant_id=scope.tenant_id,
            queue_id=queue_id,
            by=actor(scope, body.by, "by"),
            reason=body.reason,
        )
    )


router = tenant_router(routes, "/validation")
short_router = own_router(routes, "/validation")
