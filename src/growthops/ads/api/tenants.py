"""Routes ``/api/v1/tenants``: the tenants the caller may see, and one tenant's summary.

The list works across tenants the way cross-tenant jobs do: it reads the tenant directory
(``core.tenant_directory()``, names only), keeps the tenants the caller may see (every tenant
for admins and media buyers; its own for an API key or a client_viewer), and opens one
``db.tenant_tx`` per tenant of the page to read its summary under that tenant's row-level
security.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from growthops.ads.api import reads
from growthops.ads.models import TenantOut, TenantPage
from growthops.core.tenants.models import TenantUpdate
from growthops.web.deps import Scope, Who, actor, get_database, tenant_router
from growthops.web.errors import AUTH_RESPONSES, BODY, CONFLICT, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Name, Out, StrictIn

list_router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"], responses=AUTH_RESPONSES)
routes = APIRouter(tags=["tenants"], responses=TENANT_RESPONSES)


@list_router.get("", response_model=TenantPage, summary="Tenants visible to the caller")
def list_tenants(
    request: Request,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TenantPage:
    """List the tenants the caller may see, by client_key, with month-to-date figures."""
    db = get_database(request)
    with db.app_tx() as conn:
        visible = [
            r
            for r in conn.execute("select * from core.tenant_directory()").fetchall()
            if who.can_access(r["tenant_id"])
        ]
    items = []
    for row in visible[offset : offset + limit]:
        with db.tenant_tx(row["tenant_id"]) as conn:
            items.append(
                TenantOut.model_validate(reads.tenant_summary(conn, tenant_id=row["tenant_id"]))
            )
    return TenantPage.of(items, len(visible), limit, offset)


@routes.get("", response_model=TenantOut, summary="One tenant with month-to-date figures")
def get_tenant(scope: Scope) -> TenantOut:
    """Return the tenant's settings, month-to-date spend, ROAS, CPA, pacing and open work."""
    return TenantOut.model_validate(reads.tenant_summary(scope.conn, tenant_id=scope.tenant_id))


class TenantSettingsIn(StrictIn, TenantUpdate):
    """Changes to the tenant's settings (only the fields given change) and who makes them.

    Fields and rules of :class:`growthops.core.tenants.models.TenantUpdate`; ``by`` is required
    with an API key created to act for people (others act as themselves).
    """

    by: Name | None = None


class TenantSettingsOut(Out):
    """The settings that changed, before and after (both empty when nothing changed)."""

    before: dict[str, Any]
    after: dict[str, Any]


@routes.patch("", response_model=TenantSettingsOut, responses={**BODY, **FORBIDDEN, **CONFLICT},
              summary="Change the tenant's targets, budget limit, currency, time zone, Slack")
def update_tenant(body: TenantSettingsIn, scope: Scope) -> TenantSettingsOut:
    """Apply the given settings (validated; audited in ``core.system_logs``); 403 for a
    read-only principal, 409 for a currency change once metrics exist."""
    from growthops.core.tenants.service import update_tenant as update

    scope.require_decide()
    by = actor(scope, body.by, "by")
    changes = TenantUpdate.model_validate(body.model_dump(exclude_unset=True, exclude={"by"}))
    before, after = update(scope.conn, tenant_id=scope.tenant_id, changes=changes, by=by)
    return TenantSettingsOut(before=before, after=after)


router = tenant_router(routes)
