"""The leads domain's JSON API (``DOMAIN.api`` = :func:`routers`).

:mod:`.capture`: ``POST /api/v1/leads`` (and under the tenant path), the public capture route.
:mod:`.outreach`: prospects and outreach (before :mod:`.leads`, whose ``/{lead_id}`` would
take ``/prospects``). :mod:`.public`: the unsubscribe, pixel and click links of e-mails.
:mod:`.leads`: list, read, act, notes, journal, CSV export, insights and integration health,
under ``/api/v1/tenants/{tenant}/leads`` and, for the caller's own tenant, ``/api/v1/leads``.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Return the leads routers (capture first: its POST shares the list's path)."""
    from growthops.leads.api import capture, leads, outreach, public

    return [capture.own_router, capture.tenant_router, outreach.router, outreach.short_router,
            leads.router, leads.short_router, public.router]
