"""The leads domain's JSON API (``DOMAIN.api`` = :func:`routers`).

:mod:`.capture`: ``POST /api/v1/leads`` (and under the tenant path), the public capture route.
:mod:`.leads`: list, read, act, notes, journal, CSV export, insights and integration health,
under ``/api/v1/tenants/{tenant}/leads`` and, for the caller's own tenant, ``/api/v1/leads``.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Return the leads routers (capture first: its POST shares the list's path)."""
    from growthops.leads.api import capture, leads

    return [capture.own_router, capture.tenant_router, leads.router, leads.short_router]
