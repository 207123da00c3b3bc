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

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from growthops.ads.sync.run import CallBuffer
from growthops.ads.thresholds import DAILY_OVERSPEND_ALLOWANCE, DEFAULT_OVERSPEND_ALLOWANCE
from growthops.connectors.base import Level
from growthops.connectors.insights import HourlySpend, read_hourly
from growthops.connectors.registry import get_platform
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.logs.service import log_event

logger = logging.getLogger("growthops.ads.intraday")
MODULE = "growthops.ads.intraday"

#: Levels read hourly: where budgets live (Meta ad sets or campaigns with CBO, Google campaigns).
HOURLY_LEVELS: tuple[Level, ...] = ("campaign", "adset")
#: Days of hourly history behind an entity's profile, and pulled on an account's first run.
PROFILE_DAYS = 14
#: Days with spend needed before the entity's own profile replaces the linear pace.
MIN_PROFILE_DAYS = 7
#: Share (fraction 0–1) of the day's spend that must be expected by now before a projection
#: alone may flag the day: 0.25 is about 6 hours at an even pace. An assumption: earlier, a
#: projection divides a few hours' spend by a small share and overshoots on noise.
MIN_EXPECTED_SHARE = 0.25
#: Days of daily spend behind the month's run rate (as the monthly-budget suggestion).
RUN_RATE_DAYS = 14
#: Hourly rows older than this many days are deleted by the hourly sync: the profile reads 14
#: days and the month check at most 31; the platforms keep the hours if they are needed again.
HOURLY_RETENTION_DAYS = 62


# ----------------------------------------------------------------------------------- pure
def account_zone(settings: dict[str, Any], tenant_zone: str) -> ZoneInfo:
    """Return the account's zone: ``settings['time_zone']``, else the tenant's.

    Raises :class:`InvalidInput` naming ``ads.ad_accounts.settings.time_zone`` (or
    ``core.tenants.time_zone``) for an unknown IANA zone.
    """
    name, origin = (settings.get("time_zone"), "ads.ad_accounts.settings.time_zone")
    if not name:
        name, origin = tenant_zone, "core.tenants.time_zone"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"{origin}: {name!r} is not an IANA time zone") from exc


def tolerance_of(platform: str, settings: dict[str, Any]) -> float:
    """Return the overspend tolerance (fraction over the daily budget) for an account.

    ``settings['overspend_tolerance']`` when set (0–10, else :class:`InvalidInput` naming it),
    else :data:`growthops.ads.thresholds.DAILY_OVERSPEND_ALLOWANCE` of the platform (the daily
    check's own allowance, with its sources), else ``DEFAULT_OVERSPEND_ALLOWANCE``.
    """
    raw = settings.get("overspend_tolerance")
    if raw is None:
        return float(DAILY_OVERSPEND_ALLOWANCE.get(platform, DEFAULT_OVERSPEND_ALLOWANCE))
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"ads.ad_accounts.settings.overspend_tolerance: {raw!r} is not a number"
        ) from exc
    if not 0 <= value <= 10:
        raise InvalidInput(f"ads.ad_accounts.settings.overspend_tolerance: {value} is not 0-10")
    return value


def expected_share(profile: list[float] | None, elapsed_hours: float) -> float:
    """Return the fraction (0–1) of a day's spend expected after ``elapsed_hours`` (0–24).

    ``profile``: the day's spend per hour 0–23 (any scale; normalised here); the current hour
    counts pro rata. None, or a profile with no spend: linear, ``elapsed_hours / 24``.
    """
    t = min(max(float(elapsed_hours), 0.0), 24.0)
    total = sum(profile) if profile else 0.0
    if not profile or total <= 0:
        return t / 24.0
    whole = int(t)
    done = sum(profile[:whole])
    if whole < 24:
        done += profile[whole] * (t - whole)
    return done / total


@dataclass(frozen=True)
class Projection:
    """One entity-day's pace: ``share`` expected by now (fraction), ``projected`` spend of the
    day (major units), ``over`` when it passes ``budget × (1 + tolerance)`` (see module doc)."""

    share: float
    projected: float
    method: str
    over: bool


def project_day(
    spend: float,
    budget: float,
    tolerance: float,
    elapsed_hours: float,
    profile: list[float] | None,
    history_days: int,
) -> Projection:
    """Project one entity's day (pure; the rules of the module doc)."""
    method = (
        "profile" if profile and history_days >= MIN_PROFILE_DAYS and sum(profile) > 0 else "linear"
    )
    share = expected_share(profile if method == "profile" else None, elapsed_hours)
    if method == "profile" and share <= 0:  # it never spent at these hours before
        method, share = "linear", expected_share(None, elapsed_hours)
    projected = spend / share if share > 0 else spend
    cap = budget * (1 + tolerance)
    over = spend > cap or (share >= MIN_EXPECTED_SHARE and projected > cap)
    return Projection(share, projected, method, over)


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


# ----------------------------------------------------------------------------- the check
@dataclass(frozen=True)
class PacingRow:
    """One check's outcome (a row of ``ads.pacing_checks``); ``newly_flagged``: this check set
    its ``flagged_at``. Money in major units of the tenant's currency."""

    scope: str
    platform: str
    level: str
    entity_id: str
    entity_name: str | None
    period_start: date
    elapsed_hours: float
    spend_so_far: float
    budget: float
    tolerance: float
    expected_share: float | None
    method: str
    history_days: int
    projected: float
    over: bool
    flagged: bool
    newly_flagged: bool


_TODAY_SQL = """
select h.platform, h.level, h.entity_id, max(h.entity_name) as entity_name,
       sum(h.spend)::float8 as spend, max(h.hour) as max_hour,
       (array_agg(h.daily_budget order by h.updated_at desc, h.hour desc)
          filter (where h.daily_budget is not null))[1]::float8 as budget
from ads.spend_hourly h
join unnest(%(platforms)s::text[], %(days)s::date[]) as p(platform, day)
  on h.platform = p.platform and h.day = p.day
where h.tenant_id = %(t)s
group by h.platform, h.level, h.entity_id
"""
_PROFILE_SQL = """
with hist as materialized (
  select h.platform, h.level, h.entity_id, h.day, h.hour, h.spend
  from ads.spend_hourly h
  join unnest(%(platforms)s::text[], %(days)s::date[]) as p(platform, day)
    on h.platform = p.platform and h.day between p.day - %(n)s and p.day - 1
  where h.tenant_id = %(t)s)
select platform, level, entity_id, hour, sum(spend)::float8 as spend, null::bigint as days
from hist group by platform, level, entity_id, hour
union all
select platform, level, entity_id, null, null, count(*)
from (select platform, level, entity_id from hist group by platform, level, entity_id, day
      having sum(spend) > 0) d
group by platform, level, entity_id
"""
_UPSERT_SQL = """
insert into ads.pacing_checks as c (tenant_id, platform, scope, level, entity_id, period_start,
    entity_name, checked_at, elapsed_hours, spend_so_far, budget, tolerance, expected_share,
    method, history_days, projected, over, flagged_at, details)
select %(t)s, x.platform, x.scope, x.level, x.entity_id, x.period_start, x.entity_name,
       %(now)s, x.elapsed_hours, x.spend_so_far, x.budget, x.tolerance, x.expected_share,
       x.method, x.history_days, x.projected, x.over,
       case when x.over then %(now)s::timestamptz end, x.details
from jsonb_to_recordset(%(rows)s::jsonb) as x(platform text, scope text, level text,
     entity_id text, period_start date, entity_name text, elapsed_hours numeric,
     spend_so_far numeric, budget numeric, tolerance float8, expected_share float8, method text,
     history_days int, projected numeric, over boolean, details jsonb)
on conflict (tenant_id, platform, level, entity_id, period_start) do update set
  entity_name = excluded.entity_name, checked_at = excluded.checked_at,
  elapsed_hours = excluded.elapsed_hours, spend_so_far = excluded.spend_so_far,
  budget = excluded.budget, tolerance = excluded.tolerance,
  expected_share = excluded.expected_share, method = excluded.method,
  history_days = excluded.history_days, projected = excluded.projected, over = excluded.over,
  flagged_at = coalesce(c.flagged_at, excluded.flagged_at), details = excluded.details
returning platform, level, entity_id, period_start, flagged_at
"""


@dataclass(frozen=True)
class AccountClock:
    """An account's local clock at the check: its ``platform``, ``day``, hours elapsed, tolerance."""

    platform: str
    day: date
    local_hours: float
    tolerance: float


def clocks_of(
    conn: Any, tenant_id: UUID | str, now: datetime
) -> tuple[list[AccountClock], ZoneInfo]:
    """Return each ad account's local clock at ``now`` and the tenant's zone (one query)."""
    rows = conn.execute(
        """select a.platform, a.settings, t.time_zone from ads.ad_accounts a
           join core.tenants t using (tenant_id) where a.tenant_id = %s order by a.platform""",
        [tenant_id],
    ).fetchall()
    zone_row = conn.execute(
        "select time_zone from core.tenants where tenant_id = %s", [tenant_id]
    ).fetchone()
    if zone_row is None:
        raise NotFound(f"no tenant {tenant_id}")
    out = []
    for r in rows:
        settings = dict(r["settings"] or {})
        local = now.astimezone(account_zone(settings, r["time_zone"]))
        hours = local.hour + local.minute / 60 + local.second / 3600
        out.append(
            AccountClock(r["platform"], local.date(), hours, tolerance_of(r["platform"], settings))
        )
    return out, account_zone({}, zone_row["time_zone"])


def check_pacing(conn: Any, *, tenant_id: UUID | str, now: datetime) -> list[PacingRow]:
    """Check every budgeted entity's day and the tenant's month at ``now`` (module doc, 2–3).

    Runs in the caller's tenant transaction; a fixed number of queries whatever the number of
    entities. Returns the rows checked, entity-days first.
    """
    clocks, tz = clocks_of(conn, tenant_id, now)
    if not clocks:
        return []
    params = {
        "t": tenant_id,
        "platforms": [c.platform for c in clocks],
        "days": [c.day for c in clocks],
        "n": PROFILE_DAYS,
    }
    today = conn.execute(_TODAY_SQL, params).fetchall()
    prof: dict[tuple[str, str, str], list[float]] = {}
    hist_days: dict[tuple[str, str, str], int] = {}
    for r in conn.execute(_PROFILE_SQL, params).fetchall():
        key = (r["platform"], r["level"], r["entity_id"])
        if r["hour"] is None:
            hist_days[key] = int(r["days"] or 0)
        else:
            prof.setdefault(key, [0.0] * 24)[int(r["hour"])] = float(r["spend"] or 0)
    by_platform = {c.platform: c for c in clocks}
    fresh: dict[str, float] = {}
    for r in today:  # data freshness: the end of the latest hour the account reported today
        fresh[r["platform"]] = max(fresh.get(r["platform"], 0.0), float(r["max_hour"]) + 1)
    rows: list[dict[str, Any]] = []
    for r in today:
        if not r["budget"] or r["budget"] <= 0:
            continue
        c = by_platform[r["platform"]]
        elapsed = min(c.local_hours, fresh[r["platform"]])
        key = (r["platform"], r["level"], r["entity_id"])
        p = project_day(
            r["spend"], r["budget"], c.tolerance, elapsed, prof.get(key), hist_days.get(key, 0)
        )
        rows.append(
            {
                "platform": r["platform"],
                "scope": "day",
                "level": r["level"],
                "entity_id": r["entity_id"],
                "period_start": c.day.isoformat(),
                "entity_name": r["entity_name"],
                "elapsed_hours": round(elapsed, 2),
                "spend_so_far": r["spend"],
                "budget": r["budget"],
                "tolerance": c.tolerance,
                "expected_share": p.share,
                "method": p.method,
                "history_days": hist_days.get(key, 0),
                "projected": round(p.projected, 6),
                "over": p.over,
                "details": {"cap": r["budget"] * (1 + c.tolerance)},
            }
        )
    month = _month_row(conn, tenant_id, now, tz, clocks, fresh)
    if month is not None:
        rows.append(month)
    if not rows:
        return []
    keys = [(r["platform"], r["level"], r["entity_id"], r["period_start"]) for r in rows]
    before = {
        (r["platform"], r["level"], r["entity_id"], r["period_start"].isoformat())
        for r in conn.execute(
            """select c.platform, c.level, c.entity_id, c.period_start
                     from ads.pacing_checks c
                     join unnest(%(p)s::text[], %(l)s::text[], %(e)s::text[], %(d)s::date[])
                       as k(platform, level, entity_id, period_start)
                       using (platform, level, entity_id, period_start)
                     where c.tenant_id = %(t)s and c.flagged_at is not null for update of c""",
            {
                "t": tenant_id,
                "p": [k[0] for k in keys],
                "l": [k[1] for k in keys],
                "e": [k[2] for k in keys],
                "d": [k[3] for k in keys],
            },
        ).fetchall()
    }
    stored = {
        (r["platform"], r["level"], r["entity_id"], r["period_start"].isoformat()): r["flagged_at"]
        for r in conn.execute(
            _UPSERT_SQL, {"t": tenant_id, "now": now, "rows": json.dumps(rows)}
        ).fetchall()
    }
    out = [
        PacingRow(
            r["scope"],
            r["platform"],
            r["level"],
            r["entity_id"],
            r["entity_name"],
            date.fromisoformat(r["period_start"]),
            r["elapsed_hours"],
            r["spend_so_far"],
            r["budget"],
            r["tolerance"],
            r["expected_share"],
            r["method"],
            r["history_days"],
            r["projected"],
            r["over"],
            stored[k] is not None,
            stored[k] is not None and k not in before,
        )
        for r, k in zip(rows, keys, strict=True)
    ]
    return sorted(
        out, key=lambda x: (x.scope != "day", not x.over, x.platform, x.level, x.entity_id)
    )


def _month_row(
    conn: Any,
    tenant_id: UUID | str,
    now: datetime,
    tz: ZoneInfo,
    clocks: list[AccountClock],
    fresh: dict[str, float],
) -> dict[str, Any] | None:
    """The tenant-month check (module doc, step 3); None without ``monthly_budget_max``."""
    local = now.astimezone(tz)
    today = local.date()
    month_start = today.replace(day=1)
    r = conn.execute(
        """select t.monthly_budget_max::float8 as cap,
                  (select coalesce(sum(coalesce(dd.spend, hh.spend)), 0)::float8
                     from (select platform, day, sum(spend) as spend from ads.metrics_daily
                           where tenant_id = %(t)s and level = 'campaign'
                             and day >= %(m)s and day < %(d)s group by 1, 2) dd
                     full join (select platform, day, sum(spend) as spend from ads.spend_hourly
                           where tenant_id = %(t)s and level = 'campaign'
                             and day >= %(m)s and day < %(d)s group by 1, 2) hh
                       using (platform, day)) as mtd,
                  (select coalesce(sum(spend), 0)::float8 / nullif(count(distinct day), 0)
                     from ads.metrics_daily where tenant_id = %(t)s and level = 'campaign'
                       and day between %(d)s::date - %(n)s and %(d)s::date - 1) as run_rate,
                  (select count(distinct day) from ads.metrics_daily
                     where tenant_id = %(t)s and level = 'campaign'
                       and day between %(d)s::date - %(n)s and %(d)s::date - 1) as rate_days,
                  (select coalesce(sum(h.spend), 0)::float8 from ads.spend_hourly h
                     join unnest(%(platforms)s::text[], %(days)s::date[]) as p(platform, day)
                       on h.platform = p.platform and h.day = p.day
                     where h.tenant_id = %(t)s and h.level = 'campaign') as today
           from core.tenants t where t.tenant_id = %(t)s""",
        {
            "t": tenant_id,
            "m": month_start,
            "d": today,
            "n": RUN_RATE_DAYS,
            "platforms": [c.platform for c in clocks],
            "days": [c.day for c in clocks],
        },
    ).fetchone()
    if r is None or r["cap"] is None:
        return None
    hours = local.hour + local.minute / 60
    elapsed = min([hours, *fresh.values()]) if fresh else hours
    share = elapsed / 24
    run_rate = float(r["run_rate"] or 0.0)
    today_proj = r["today"] / share if share >= MIN_EXPECTED_SHARE else max(r["today"], run_rate)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    remaining = (next_month - today).days - 1
    projected = r["mtd"] + today_proj + remaining * run_rate
    spent = r["mtd"] + r["today"]
    return {
        "platform": "all",
        "scope": "month",
        "level": "tenant",
        "entity_id": "*",
        "period_start": month_start.isoformat(),
        "entity_name": None,
        "elapsed_hours": round(min(elapsed, 24.0), 2),
        "spend_so_far": spent,
        "budget": r["cap"],
        "tolerance": 0.0,
        "expected_share": share,
        "method": "run_rate",
        "history_days": int(r["rate_days"] or 0),
        "projected": round(projected, 6),
        "over": spent > r["cap"] or projected > r["cap"],
        "details": {
            "month_to_yesterday": r["mtd"],
            "today_so_far": r["today"],
            "today_projected": today_proj,
            "run_rate": run_rate,
            "remaining_days": remaining,
        },
    }


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


# ------------------------------------------------------------------------------ the reads
_PACING_DAY_SQL = """
select c.* from ads.pacing_checks c
join unnest(%(platforms)s::text[], %(days)s::date[]) as p(platform, day)
  on c.platform = p.platform and c.period_start = p.day
where c.tenant_id = %(t)s and c.scope = 'day'
  and (not %(flagged_only)s or c.flagged_at is not null)
order by c.flagged_at is null, c.projected / nullif(c.budget, 0) desc nulls last,
         c.platform, c.level, c.entity_id
limit %(limit)s
"""


def pacing_today(
    conn: Any,
    *,
    tenant_id: UUID | str,
    now: datetime | None = None,
    flagged_only: bool = True,
    limit: int = 200,
) -> dict[str, Any]:
    """Return the pacing findings of the day and month in force at ``now`` (UTC, default the clock).

    Reads ``ads.pacing_checks`` (written by :func:`check_pacing`), in the caller's tenant
    transaction, at most four queries. "Today" is each ad account's own local day (:func:`clocks_of`),
    the month is the tenant's (its ``time_zone``). Returns ``{"days": [row, ...], "month": row
    | None, "checked_days": n}``: ``days`` the entity-days checked today (only those flagged
    when ``flagged_only``), flagged first then by projected / budget descending, at most
    ``limit`` (1–1000); ``month`` the tenant-month row (None before the first check of the month
    or without ``monthly_budget_max``); ``checked_days`` the entity-days checked today in all.
    Each row is the ``ads.pacing_checks`` row with money as float (major units of the tenant's
    currency) plus ``cap`` (budget × (1 + tolerance)) and ``pct_of_cap`` (projected / cap,
    percent 0–100+, None when the cap is 0). Raises :class:`InvalidInput` naming ``limit``.
    """
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit: {limit} is not between 1 and 1000")
    now = now or datetime.now(UTC)
    clocks, tz = clocks_of(conn, tenant_id, now)
    params = {
        "t": tenant_id,
        "platforms": [c.platform for c in clocks],
        "days": [c.day for c in clocks],
        "flagged_only": bool(flagged_only),
        "limit": int(limit),
    }
    rows = conn.execute(_PACING_DAY_SQL, params).fetchall() if clocks else []
    checked = (
        conn.execute(
            """select count(*) as n from ads.pacing_checks c
               join unnest(%(platforms)s::text[], %(days)s::date[]) as p(platform, day)
                 on c.platform = p.platform and c.period_start = p.day
               where c.tenant_id = %(t)s and c.scope = 'day'""",
            params,
        ).fetchone()["n"]
        if clocks
        else 0
    )
    month = conn.execute(
        "select * from ads.pacing_checks where tenant_id = %s and scope = 'month' "
        "and period_start = %s",
        [tenant_id, now.astimezone(tz).date().replace(day=1)],
    ).fetchone()
    return {
        "days": [_pacing_out(r) for r in rows],
        "month": _pacing_out(month) if month else None,
        "checked_days": int(checked),
    }


def _pacing_out(row: Any) -> dict[str, Any]:
    """A ``ads.pacing_checks`` row with floats, its ``cap``, ``pct_of_cap`` and ``flagged``."""
    out = dict(row)
    for k in ("spend_so_far", "budget", "projected", "elapsed_hours"):
        out[k] = float(out[k]) if out[k] is not None else None
    cap = out["budget"] * (1 + float(out["tolerance"] or 0))
    out["cap"] = cap
    out["pct_of_cap"] = 100 * out["projected"] / cap if cap > 0 else None
    out["flagged"] = out["flagged_at"] is not None
    return out
