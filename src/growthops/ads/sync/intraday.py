"""Intraday pacing: hourly spend from the platforms, and overspend caught the same day.

:func:`run_intraday` does, for one tenant at the instant ``now``:

1. **the hourly sync** of each ad account (:func:`sync_hourly`): campaign and ad set spend per
   hour (:func:`growthops.connectors.insights.read_hourly`: Meta's
   ``hourly_stats_aggregated_by_advertiser_time_zone`` breakdown, Google Ads'
   ``segments.hour``, the sandbox's split of its days) up to today in the account's time zone,
   from the last day stored but at most :data:`PROFILE_DAYS` days back (:func:`plan_hours`; the
   first run reads them all, so the entity's own hourly profile exists), and the daily
   budgets in force (``list_entities``), upserted into ``ads.spend_hourly`` (staging ``COPY``,
   ``ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM``). Hours after the account's current
   hour are dropped, and hours older than :data:`HOURLY_RETENTION_DAYS` deleted. API calls go
   to ``core.api_calls_log``; hourly syncs are not ``ads.sync_runs`` (those are the daily syncs
   the 07:00 scheduler counts);
2. **the entity-day check** (:func:`check_pacing`): for each entity with a daily budget and spend
   today, the spend so far is divided by the share of a day's spend expected by now: the
   entity's own hourly profile over the :data:`PROFILE_DAYS` previous days when it spent on at
   least :data:`MIN_PROFILE_DAYS` of them (a whole week, so every weekday is in it), else linear
   (hours elapsed / 24: with a few days, one unusual day would bend the curve more than the
   evenness assumption errs). The day is flagged when the projection passes budget × (1 +
   tolerance), once at least :data:`MIN_EXPECTED_SHARE` of the day's spend is expected (before
   that a few euros project wildly), or at any hour when the spend so far already passes it;
3. **the month check**: month-to-date spend (``ads.metrics_daily``, campaign level, before today;
   a platform-day the daily sync has not brought yet is taken from its hours) + today's
   projection + the remaining days × the mean daily spend of the last 14 days (the run rate of :func:`growthops.ads.suggestions.candidates._pacing_candidates`) against the
   tenant's ``monthly_budget_max``.

Findings go to ``ads.pacing_checks`` (migration 0140), one row per entity-day or tenant-month
holding the latest projection; ``flagged_at`` is set by the first check that finds it over and
never reset, so an overspend is flagged (and logged as a WARNING to ``core.system_logs``)
exactly once per entity and day, once per month for the tenant. The daily overspend check
(:mod:`growthops.ads.analysis.overspend`, ``ads.spend_history``) judges the whole day the next
morning; ``ads.anomalies`` holds statistical tests with p- and q-values, which a projection has
not, so intraday findings are not written there.

Tolerance: ``settings.overspend_tolerance`` of the ``ads.ad_accounts`` row (a fraction, 0–10),
else the platform's documented daily allowance the daily check uses
(:data:`growthops.ads.thresholds.DAILY_OVERSPEND_ALLOWANCE`: Meta 25 %, Google 100 %).
Time zone: ``settings.time_zone`` of the account, else the tenant's ``time_zone``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from growthops.ads.sync.pacing import (  # noqa: F401 (re-exported: one entry point)
    HOURLY_LEVELS,
    HOURLY_RETENTION_DAYS,
    MIN_EXPECTED_SHARE,
    MIN_PROFILE_DAYS,
    MODULE,
    PROFILE_DAYS,
    RUN_RATE_DAYS,
    AccountClock,
    PacingRow,
    Projection,
    account_zone,
    check_pacing,
    clocks_of,
    expected_share,
    pacing_today,
    project_day,
    tolerance_of,
)
from growthops.ads.sync.run import CallBuffer
from growthops.connectors.insights import HourlySpend, read_hourly
from growthops.connectors.registry import get_platform
from growthops.core.errors import NotFound
from growthops.core.logs.service import log_event

logger = logging.getLogger("growthops.ads.intraday")


# ----------------------------------------------------------------------------- the sync
@dataclass
class HourlySyncResult:
    """What one account's hourly sync did (``error`` set when it failed)."""

    platform: str
    day: date
    date_from: date
    local_hour: int
    rows_fetched: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    budgets: int = 0
    api_calls: int = 0
    retries: int = 0
    error: str | None = None


_STAGE = "spend_hourly_stage"


def _upsert_hours(
    conn: Any,
    tenant_id: UUID | str,
    platform: str,
    rows: list[HourlySpend],
    budgets: dict[tuple[str, str], Decimal],
    today: date,
) -> tuple[int, int]:
    """COPY ``rows`` to a staging table and upsert them into ``ads.spend_hourly``.

    Today's rows carry the budget in force (``budgets``); returns (inserted, updated). Rows that
    did not change are not written.
    """
    conn.execute(f"drop table if exists pg_temp.{_STAGE}")
    conn.execute(f"""create temp table {_STAGE} (
        level text not null, entity_id text not null, day date not null, hour smallint not null,
        entity_name text, campaign_id text, spend numeric(18,6) not null,
        impressions bigint not null, clicks bigint not null, daily_budget numeric(14,2),
        primary key (level, entity_id, day, hour)) on commit drop""")
    seen: dict[tuple[str, str, date, int], HourlySpend] = {}
    for r in rows:  # a platform repeating a row: the last one wins
        seen[(r.level, r.entity_id, r.day, r.hour)] = r
    with (
        conn.cursor() as cur,
        cur.copy(
            f"copy pg_temp.{_STAGE} (level, entity_id, day, hour, entity_name, campaign_id, "
            "spend, impressions, clicks, daily_budget) from stdin"
        ) as copy,
    ):
        for r in seen.values():
            copy.write_row(
                (
                    r.level,
                    r.entity_id,
                    r.day,
                    r.hour,
                    r.name,
                    r.campaign_id,
                    r.spend,
                    r.impressions,
                    r.clicks,
                    budgets.get((r.level, r.entity_id)) if r.day == today else None,
                )
            )
    out = conn.execute(
        f"""insert into ads.spend_hourly as h (tenant_id, platform, level, entity_id, day, hour,
                entity_name, campaign_id, spend, impressions, clicks, daily_budget)
            select %(t)s, %(p)s, level, entity_id, day, hour, entity_name, campaign_id, spend,
                   impressions, clicks, daily_budget from pg_temp.{_STAGE}
            on conflict (tenant_id, platform, level, entity_id, day, hour) do update set
              entity_name = coalesce(excluded.entity_name, h.entity_name),
              campaign_id = coalesce(excluded.campaign_id, h.campaign_id),
              spend = excluded.spend, impressions = excluded.impressions,
              clicks = excluded.clicks,
              daily_budget = coalesce(excluded.daily_budget, h.daily_budget), updated_at = now()
            where (h.spend, h.impressions, h.clicks, h.daily_budget)
                  is distinct from (excluded.spend, excluded.impressions, excluded.clicks,
                                    coalesce(excluded.daily_budget, h.daily_budget))
            returning (xmax = 0) as inserted""",
        {"t": tenant_id, "p": platform},
    ).fetchall()
    inserted = sum(1 for r in out if r["inserted"])
    return inserted, len(out) - inserted


def plan_hours(today: date, last_stored: date | None) -> date:
    """Return the first day of an hourly sync that ends ``today`` (pure).

    From the last day stored (its later hours), never after yesterday (its late hours settle)
    nor before :data:`PROFILE_DAYS` days back, which is also the first run's start, so a gap
    left by failed runs is filled.
    """
    floor = today - timedelta(days=PROFILE_DAYS)
    if last_stored is None:
        return floor
    return max(floor, min(last_stored, today - timedelta(days=1)))


def sync_hourly(
    db: Any,
    *,
    tenant_id: UUID | str,
    platform: str,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HourlySyncResult:
    """Pull one account's hourly spend and budgets into ``ads.spend_hourly`` (module doc, step 1).

    ``now``: UTC instant (default the clock). Raises :class:`NotFound` when the tenant has no
    account on ``platform``, :class:`InvalidInput` for a bad zone setting; a platform error is
    re-raised after the calls made are logged (nothing is loaded then).
    """
    now = now or datetime.now(UTC)
    calls = CallBuffer()
    with db.tenant_tx(tenant_id) as conn:
        row = conn.execute(
            """select a.settings, t.time_zone from ads.ad_accounts a
               join core.tenants t using (tenant_id)
               where a.tenant_id = %s and a.platform = %s""",
            [tenant_id, platform],
        ).fetchone()
        if row is None:
            raise NotFound(f"tenant {tenant_id} has no ad account on platform {platform!r}")
        local = now.astimezone(account_zone(dict(row["settings"] or {}), row["time_zone"]))
        today = local.date()
        last = conn.execute(
            "select max(day) as d from ads.spend_hourly where tenant_id = %s and platform = %s "
            "and day <= %s",
            [tenant_id, platform, today],
        ).fetchone()["d"]
    start = plan_hours(today, last)
    res = HourlySyncResult(platform, today, start, local.hour)
    try:
        with db.tenant_tx(tenant_id) as conn:
            account = get_platform(conn, tenant_id=tenant_id, platform=platform, api_logger=calls)
            state: dict[str, Any] = {}
            rows: list[HourlySpend] = []
            for level in HOURLY_LEVELS:
                batch = read_hourly(account, start, today, level, sleep=sleep, state=state)
                if batch is None:
                    return res
                rows += batch.rows
                res.retries += batch.retries
            budgets = {
                (e.level, e.entity_id): e.daily_budget
                for level in HOURLY_LEVELS
                for e in account.list_entities(level)
                if e.daily_budget is not None
            }
            rows = [r for r in rows if r.day < today or (r.day == today and r.hour <= local.hour)]
            res.rows_fetched, res.budgets = len(rows), len(budgets)
            res.rows_inserted, res.rows_updated = _upsert_hours(
                conn, tenant_id, platform, rows, budgets, today
            )
            conn.execute(
                "delete from ads.spend_hourly where tenant_id = %s and platform = %s and day < %s",
                [tenant_id, platform, today - timedelta(days=HOURLY_RETENTION_DAYS)],
            )
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        res.api_calls = len(calls.calls)
        if calls.calls:
            with db.tenant_tx(tenant_id) as conn:
                calls.flush(conn, tenant_id)
    return res


# ------------------------------------------------------------------------------- the run
@dataclass
class IntradayResult:
    """One tenant's intraday run: the hourly syncs and the checks."""

    syncs: list[HourlySyncResult] = field(default_factory=list)
    checks: list[PacingRow] = field(default_factory=list)

    @property
    def newly_flagged(self) -> list[PacingRow]:
        """The checks flagged for the first time by this run."""
        return [c for c in self.checks if c.newly_flagged]


def run_intraday(
    db: Any,
    *,
    tenant_id: UUID | str,
    now: datetime | None = None,
    platforms: Iterable[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> IntradayResult:
    """Sync every ad account's hours, then check the pacing (the module doc); return both.

    A failed account sync is recorded on its :class:`HourlySyncResult` and logged (ERROR, in
    ``core.system_logs``); the check still runs on what is stored. Each newly flagged
    overspend is logged once as a WARNING.
    """
    from growthops.ads.sync.run import accounts_of

    now = now or datetime.now(UTC)
    out = IntradayResult()
    for p in platforms or accounts_of(db, tenant_id):
        try:
            out.syncs.append(sync_hourly(db, tenant_id=tenant_id, platform=p, now=now, sleep=sleep))
        except Exception as exc:
            failed = HourlySyncResult(
                p, now.date(), now.date(), now.hour, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            out.syncs.append(failed)
            with db.tenant_tx(tenant_id) as conn:
                log_event(
                    conn,
                    tenant_id=tenant_id,
                    level="ERROR",
                    module=MODULE,
                    message=f"hourly sync of the {p} account failed",
                    context={"platform": p},
                    exc=exc,
                )
    with db.tenant_tx(tenant_id) as conn:
        out.checks = check_pacing(conn, tenant_id=tenant_id, now=now)
        for c in out.newly_flagged:
            what = "month" if c.scope == "month" else f"{c.platform} {c.level} {c.entity_id}"
            log_event(
                conn,
                tenant_id=tenant_id,
                level="WARNING",
                module=MODULE,
                message=f"intraday overspend: {what} projected {c.projected:.2f} "
                f"for a budget of {c.budget:.2f}",
                context={
                    "scope": c.scope,
                    "platform": c.platform,
                    "level": c.level,
                    "entity_id": c.entity_id,
                    "period_start": str(c.period_start),
                    "spend_so_far": c.spend_so_far,
                    "projected": c.projected,
                    "budget": c.budget,
                    "tolerance": c.tolerance,
                    "method": c.method,
                },
            )
    return out

