"""Routes ``/api/v1/validation``: submit, list, show, advance and reject review items."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from growthops.ads import validation
from growthops.api.deps import Identity, TenantConn
from growthops.api.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND
from growthops.api.models import (
    ValidationAdvanceIn,
    ValidationItemOut,
    ValidationPage,
    ValidationRejectIn,
    ValidationSubmitIn,
)

router = APIRouter(prefix="/api/v1/validation", tags=["validation"], responses=AUTH_RESPONSES)


@router.post("", response_model=ValidationItemOut, status_code=201,
             summary="Submit an item for client review")
def submit(body: ValidationSubmitIn, conn: TenantConn, ident: Identity) -> ValidationItemOut:
    """Queue a creative, campaign change or budget increase at stage ``client_review``."""
    row = validation.submit(conn, tenant_id=ident.tenant_id, item_type=body.item_type,
                            item_name=body.item_name, submitted_by=body.submitted_by,
                            content=body.content, ttl_hours=body.ttl_hours)
    return ValidationItemOut.model_validate(row)


@router.get("", response_model=ValidationPage, summary="List items (paginated)")
def list_items(
    conn: TenantConn,
    ident: Identity,
    status: Annotated[Literal["pending", "approved", "rejected", "expired"] | None,
                      Query()] = None,
    stage: Annotated[Literal["client_review", "team_review", "approved", "rejected"] | None,
                     Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ValidationPage:
    """List the tenant's items, newest first; ``status=expired`` includes overdue ones."""
    rows, total = validation.list_items(conn, tenant_id=ident.tenant_id, status=status,
                                        stage=stage, limit=limit, offset=offset)
    return ValidationPage(items=[ValidationItemOut.model_validate(r) for r in rows],
                          total=total, limit=limit, offset=offset)


@router.get("/{queue_id}", response_model=ValidationItemOut, responses=NOT_FOUND,
            summary="Show one item")
def get_item(queue_id: int, conn: TenantConn, ident: Identity) -> ValidationItemOut:
    """Return one item of the key's tenant."""
    return ValidationItemOut.model_validate(
        validation.get_item(conn, tenant_id=ident.tenant_id, queue_id=queue_id))


@router.post("/{queue_id}/advance", response_model=ValidationItemOut,
             responses={**NOT_FOUND, **CONFLICT}, summary="Move to the next review stage")
def advance(queue_id: int, body: ValidationAdvanceIn, conn: TenantConn,
            ident: Identity) -> ValidationItemOut:
    """client_review → team_review → approved; 409 when final or expired."""
    return ValidationItemOut.model_validate(
        validation.advance(conn, tenant_id=ident.tenant_id, queue_id=queue_id, by=body.by,
                           notes=body.notes))


@router.post("/{queue_id}/reject", response_model=ValidationItemOut,
             responses={**NOT_FOUND, **CONFLICT}, summary="Reject at the current stage")
def reject(queue_id: int, body: ValidationRejectIn, conn: TenantConn,
           ident: Identity) -> ValidationItemOut:
    """Reject the item with a reason; 409 when final or expired."""
    return ValidationItemOut.model_validate(
        validation.reject(conn, tenant_id=ident.tenant_id, queue_id=queue_id, by=body.by,
                          reason=body.reason))
