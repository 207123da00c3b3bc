"""Route ``/api/v1/audit``: the tenant's audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from growthops.ads import audit
from growthops.api.deps import Identity, TenantConn
from growthops.api.errors import AUTH_RESPONSES
from growthops.api.models import AuditOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=AUTH_RESPONSES)


@router.get("", response_model=list[AuditOut], summary="Audit trail, newest first")
def audit_trail(
    conn: TenantConn,
    ident: Identity,
    object_type: Annotated[str | None, Query(max_length=100)] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditOut]:
    """Return the audit entries of the key's tenant, optionally for one object or entity."""
    rows = audit.trail(conn, tenant_id=ident.tenant_id, object_type=object_type,
                       object_id=object_id, entity_id=entity_id, limit=limit, offset=offset)
    return [AuditOut.model_validate(r) for r in rows]
