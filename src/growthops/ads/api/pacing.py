"""Intraday pacing over the API: ``GET /api/v1/tenants/{tenant}/pacing``.

Today's entity-day checks and the month's pace from ``ads.pacing_checks`` (written by the hourly
job, :mod:`growthops.ads.sync.intraday`; ``docs/sync.md``, "Intraday pacing"), read through
:func:`growthops.ads.sync.intraday.pacing_today`, the function the dashboard uses. Read-only:
any principal of the tenant may read it. Money in major units of the tenant's currency.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from growthops.ads.sync.pacing import pacing_today
from growthops.web.deps import Scope, tenant_router
from growthops.web.errors import TENANT_RESPONSES
from growthops.web.models import Out

routes = APIRouter(tags=["metrics"], responses=TENANT_RESPONSES)


class PacingCheckOut(Out):
    """One check: an entity's day (``scope`` ``day``) or the tenant's month (``month``, platform
    ``all``, level ``tenant``, entity ``*``); the latest projection and when it was first
    flagged (``flagged_at``, never reset)."""

    scope: str
    platform: str
    level: str
    entity_id: str
    entity_name: str | None
    period_start: date = Field(description="The account's local day, or the month's first day.")
    checked_at: datetime
    elapsed_hours: float = Field(description="Hours of the local day the spend covers (0-24).")
    spend_so_far: float
    budget: float = Field(description="Daily budget, or the tenant's monthly_budget_max.")
    tolerance: float = Field(description="Fraction over the budget allowed (0.25 = 25 %).")
    cap: float = Field(description="budget × (1 + tolerance).")
    expected_share: float | None = Field(description="Fraction 0-1 of the day expected by now.")
    method: str = Field(description="profile, linear or run_rate.")
    projected: float
    pct_of_cap: float | None = Field(description="projected / cap, percent.")
    over: bool = Field(description="The latest check found it over the cap.")
    flagged: bool
    flagged_at: datetime | None


class PacingOut(Out):
    """Today's entity-days (only those flagged unless ``flagged_only`` is false), the month, how many checked."""

    days: list[PacingCheckOut]
    month: PacingCheckOut | None
    checked_days: int


@routes.get("", response_model=PacingOut, summary="Today's intraday pacing and the month's pace")
def get_pacing(
    scope: Scope,
    flagged_only: Annotated[bool, Query(description="false: every entity-day checked.")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PacingOut:
    """Return today's pacing checks (each account's local day) and the month's."""
    out = pacing_today(
        scope.conn, tenant_id=scope.tenant_id, flagged_only=flagged_only, limit=limit
    )
    return PacingOut.model_validate(out)


router = tenant_router(routes, "/pacing")
