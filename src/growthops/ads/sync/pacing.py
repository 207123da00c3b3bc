"""Intraday pacing checks: an entity's day and the tenant's month projected from the hours
stored (steps 2 and 3 of :mod:`growthops.ads.sync.intraday`, whose docstring gives the rules
in full), the findings in ``ads.pacing_checks``, and the reads the API and dashboard use.

Split from :mod:`growthops.ads.sync.intraday`, which syncs the hours from the platforms and runs
both: this module holds the decisions, that one the I/O.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from growthops.ads.thresholds import DAILY_OVERSPEND_ALLOWANCE, DEFAULT_OVERSPEND_ALLOWANCE
from growthops.connectors.base import Level
from growthops.core.errors import InvalidInput, NotFound

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
