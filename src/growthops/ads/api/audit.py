"""Routes of the audit trail (``/api/v1/tenants/{tenant}/audit``, and ``/api/v1/audit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from growthops.ads.action import audit
from growthops.ads.api import reads
from growthops.ads.models import AuditOut
from growthops.web.deps import Scope, own_router, tenant_router
from growthops.web.errors import TENANT_RESPONSES
from growthops.web.models import Page

routes = APIRouter(tags=["audit"], responses=TENANT_RESPONSES)
AuditPage = Page[AuditOut]


@routes.get("", response_model=AuditPage, summary="Audit trail, newest first (paginated)")
def audit_trail(
    scope: Scope,
    object_type: Annotated[str | None, Query(max_length=100)] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    """Return the tenant's audit entries, optionally for one object or entity."""
    rows = audit.trail(
        scope.conn,
        tenant_id=scope.tenant_id,
        object_type=object_type,
        object_id=object_id,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    total = reads.count_audit(
        scope.conn,
        tenant_id=scope.tenant_id,
        object_type=object_type,
        object_id=object_id,
        entity_id=entity_id,
    )
    return AuditPage.of([AuditOut.model_validate(r) for r in rows], total, limit, offset)


router = tenant_router(routes, "/audit")
short_router = own_router(routes, "/audit")
