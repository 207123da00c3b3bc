"""Budget allocation and campaign roll-ups under ``/api/v1/tenants/{tenant}/``.

* ``POST allocations`` runs :func:`growthops.ads.allocation.allocate.allocate` (201 with the new
  allocation and its suggestions; 200 with the stored one when the day's allocation exists);
  403 for a read-only principal (it creates suggestions), 422 for a bad body or an account it
  cannot allocate (the message names the field).
* ``GET allocations`` lists the stored allocations with their lines, newest first.
* ``GET campaign-performance`` reads ``ads.campaign_performance`` (one period length).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from growthops.ads.allocation.allocate import Allocation, allocate, load_allocations
from growthops.ads.allocation.performance import list_performance
from growthops.ads.models import Platform
from growthops.web.deps import Scope, tenant_router
from growthops.web.errors import BODY, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Out, StrictIn

routes = APIRouter(tags=["allocation"], responses=TENANT_RESPONSES)


class AllocationIn(StrictIn):
    """What to allocate: the platform's account, the reporting day (default: the latest with
    metrics), the strategy, and whether today's steps become suggestions."""

    platform: Platform = "meta"
    # JSON has no date type: an ISO string (YYYY-MM-DD) is accepted here despite strict mode.
    as_of: Annotated[date | None, Field(strict=False, description="Reporting day (YYYY-MM-DD).")] = None
    strategy: Literal["thompson", "posterior_mean"] = "thompson"
    suggest: bool = True


class AllocationLineOut(Out):
    """One budget holder: live budget, recommended budget, today's step (money in the tenant's
    currency), status, confidence (percent) that the step improves the objective, the fitted
    curve, the expected objective per day (p10/p50/p90) and the suggestion it became."""

    entity_id: str
    entity_name: str | None
    daily_budget: float
    recommended_budget: float
    step_budget: float
    status: str
    confidence: int | None
    curve: dict[str, Any]
    expected: dict[str, Any]
    suggestion_id: int | None


class AllocationOut(Out):
    """An allocation run (docs/allocation.md): objective and targets, totals, the shadow price,
    the expected 7-day effect with its interval, and its lines."""

    allocation_id: int
    as_of: date
    platform: str
    level: str
    strategy: str
    objective: str
    target_roas: float | None
    target_cpa: float | None
    daily_cap: float | None
    current_total: float
    recommended_total: float
    step_total: float
    shadow_price: float | None
    expected_effect: dict[str, Any]
    details: dict[str, Any]
    suggestions: int
    created_at: datetime | None
    lines: list[AllocationLineOut]


class AllocationList(Out):
    """Stored allocations, newest first."""

    items: list[AllocationOut]


class CampaignPerformanceOut(Out):
    """One campaign over one period: sums, ROAS and CPA from sums, and the efficiency score
    (1 = on the tenant's target; basis ``roas`` or ``cpa``; docs/allocation.md)."""

    platform: str
    campaign_id: str
    campaign_name: str | None
    period_days: int
    period_start: date
    period_end: date
    days_reported: int
    spend: float
    impressions: int
    clicks: int
    conversions: float
    results: float
    conversion_value: float
    roas: float | None
    cpa: float | None
    efficiency_basis: str | None
    efficiency_score: float | None


class CampaignPerformanceList(Out):
    """The campaigns of one period, best efficiency first."""

    items: list[CampaignPerformanceOut]


def _out(a: Allocation) -> AllocationOut:
    return AllocationOut.model_validate({**a.__dict__, "lines": [ln.__dict__ for ln in a.lines]})


@routes.post("/allocations", response_model=AllocationOut, status_code=201,
             responses={**BODY, **FORBIDDEN,
                        200: {"model": AllocationOut, "description": "The day's allocation existed: the stored one."}},
             summary="Allocate the account's daily budgets")
def run_allocation(body: AllocationIn, scope: Scope, response: Response) -> AllocationOut:
    """Recommend daily budgets and turn today's steps into budget suggestions (201), or return
    the day's stored allocation (200)."""
    scope.require_decide()
    a = allocate(scope.conn, tenant_id=scope.tenant_id, as_of=body.as_of, platform=body.platform,
                 strategy=body.strategy, suggest=body.suggest)
    if not a.created:
        response.status_code = 200
    return _out(a)


@routes.get("/allocations", response_model=AllocationList, summary="Stored budget allocations")
def list_allocations(
    scope: Scope,
    platform: Annotated[Platform | None, Query()] = None,
    as_of: Annotated[date | None, Query(description="Only this reporting day.")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> AllocationList:
    """List the allocations with their lines, newest day first."""
    rows = scope.conn.execute(
        """select allocation_id from ads.allocation_runs
           where (%(p)s::text is null or platform = %(p)s) and (%(d)s::date is null or as_of = %(d)s)
           order by as_of desc, allocation_id desc limit %(n)s""",
        {"p": platform, "d": as_of, "n": limit}).fetchall()
    found = load_allocations(scope.conn, allocation_ids=[r["allocation_id"] for r in rows])
    return AllocationList(items=[_out(a) for a in found])


@routes.get("/campaign-performance", response_model=CampaignPerformanceList,
            summary="Campaign roll-ups with their efficiency score")
def campaign_performance(
    scope: Scope,
    days: Annotated[Literal[7, 28, 90], Query(description="Period length in days.")] = 28,
    period_end: Annotated[date | None, Query(description="Last day of the period (default: the latest stored).")] = None,
    platform: Annotated[Platform | None, Query()] = None,
) -> CampaignPerformanceList:
    """List the campaigns of one period, best efficiency first."""
    rows = list_performance(scope.conn, days=days, period_end=period_end, platform=platform)
    return CampaignPerformanceList(items=[CampaignPerformanceOut.model_validate(r) for r in rows])


router = tenant_router(routes, "")
