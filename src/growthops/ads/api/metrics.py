"""Routes of a tenant's measurements: entities, daily metrics, baselines and anomalies.

All under ``/api/v1/tenants/{tenant}/``; ratios are ratios of sums (:mod:`growthops.ads.api.reads`).
"""

from __future__ import annotations

from datetime import date
from enum import IntEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from growthops.ads.api import reads
from growthops.ads.models import (
    AnomalyOut,
    AnomalyPage,
    BaselineOut,
    BaselinePage,
    EntityOut,
    EntityPage,
    Level,
    MetricDayOut,
    MetricsPage,
    MetricTotals,
    Platform,
)
from growthops.web.deps import IdPath, Scope, tenant_router
from growthops.web.errors import TENANT_RESPONSES

routes = APIRouter(tags=["metrics"], responses=TENANT_RESPONSES)


class WindowDays(IntEnum):
    """The baseline windows computed by the daily cycle (days)."""

    d1 = 1
    d7 = 7
    d14 = 14
    d30 = 30
    d90 = 90


Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
EntityId = Annotated[
    str,
    Query(
        min_length=1, max_length=200, description="The platform's id of the campaign, ad set or ad."
    ),
]
Start = Annotated[date | None, Query(description="First reporting day (inclusive).")]
End = Annotated[date | None, Query(description="Last reporting day (inclusive).")]


@routes.get(
    "/entities",
    response_model=EntityPage,
    summary="Entities with their sums and ratios over a period (paginated)",
)
def list_entities(
    scope: Scope,
    platform: Annotated[Platform | None, Query()] = None,
    level: Annotated[Level | None, Query()] = None,
    start: Start = None,
    end: End = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> EntityPage:
    """List campaigns, ad sets and ads with metrics, highest spend first."""
    rows, total = reads.list_entities(
        scope.conn,
        tenant_id=scope.tenant_id,
        platform=platform,
        level=level,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    return EntityPage.of([EntityOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get(
    "/metrics",
    response_model=MetricsPage,
    summary="An entity's daily metrics (paginated) with the period's totals",
)
def entity_metrics(
    scope: Scope,
    entity_id: EntityId,
    platform: Annotated[Platform | None, Query()] = None,
    level: Annotated[Level | None, Query()] = None,
    start: Start = None,
    end: End = None,
    order: Annotated[Literal["desc", "asc"], Query(description="By day.")] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> MetricsPage:
    """Return the entity's days (each with the ratios of its sums) and the totals of the whole
    filtered period (ratios of the period's sums, never means of daily ratios)."""
    rows, total, totals = reads.entity_metrics(
        scope.conn,
        tenant_id=scope.tenant_id,
        entity_id=entity_id,
        platform=platform,
        level=level,
        start=start,
        end=end,
        newest_first=order == "desc",
        limit=limit,
        offset=offset,
    )
    return MetricsPage.of(
        [MetricDayOut.model_validate(r) for r in rows],
        total,
        limit,
        offset,
        totals=MetricTotals.model_validate(totals),
    )


@routes.get(
    "/baselines", response_model=BaselinePage, summary="Baselines of one as-of day (paginated)"
)
def list_baselines(
    scope: Scope,
    as_of: Annotated[date | None, Query(description="Default: the latest computed.")] = None,
    platform: Annotated[Platform | None, Query()] = None,
    level: Annotated[Level | None, Query()] = None,
    window_days: Annotated[WindowDays | None, Query(description="Window length in days.")] = None,
    metric: Annotated[str | None, Query(max_length=50)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> BaselinePage:
    """Return the p10-p90 distribution of each metric across entities, per window."""
    rows, total = reads.list_baselines(
        scope.conn,
        tenant_id=scope.tenant_id,
        as_of=as_of,
        platform=platform,
        level=level,
        window_days=int(window_days) if window_days else None,
        metric=metric,
        limit=limit,
        offset=offset,
    )
    return BaselinePage.of([BaselineOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get("/anomalies", response_model=AnomalyPage, summary="Anomalies (paginated)")
def list_anomalies(
    scope: Scope,
    status: Annotated[
        Literal["active", "investigating", "resolved", "dismissed"] | None, Query()
    ] = None,
    severity: Annotated[Literal["low", "medium", "high", "critical"] | None, Query()] = None,
    as_of: Annotated[date | None, Query()] = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AnomalyPage:
    """List anomalies, newest reporting day first, most severe first."""
    rows, total = reads.list_anomalies(
        scope.conn,
        tenant_id=scope.tenant_id,
        status=status,
        severity=severity,
        as_of=as_of,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    return AnomalyPage.of([AnomalyOut.model_validate(r) for r in rows], total, limit, offset)


@routes.get("/anomalies/{anomaly_id}", response_model=AnomalyOut, summary="One anomaly")
def get_anomaly(anomaly_id: IdPath, scope: Scope) -> AnomalyOut:
    """Return one anomaly of the tenant."""
    return AnomalyOut.model_validate(
        reads.get_one(
            scope.conn,
            tenant_id=scope.tenant_id,
            table="anomalies",
            key="anomaly_id",
            value=anomaly_id,
            label="anomaly",
        )
    )


router = tenant_router(routes)
