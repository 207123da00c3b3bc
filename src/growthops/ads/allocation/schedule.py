"""Budget allocation on a schedule: once per period and platform, per tenant, through the queue.

The worker's periodic task ``ads.scheduled_allocation`` (registered in :mod:`growthops.ads.jobs`,
cron :data:`SCHEDULE_CRON`) calls :func:`run_scheduled_allocations`. For each tenant and each
platform with metrics in the last :data:`RECENT_DAYS` days, it runs
:func:`growthops.ads.allocation.allocate.allocate` once per **period** of the tenant's local
calendar (:func:`period_start`): ``weekly`` (ISO week, from Monday; the default, seed 004
"budget_allocation" is a weekly reallocation), ``daily`` or ``monthly``, or never (``off``),
as :data:`CADENCES` in ``ads.platform_configs.allocation_cadence`` (migration 0130) says. A
period is due once the local time is past :data:`LOCAL_RUN_AT` on any of its days (a worker
that was down catches up later in the same period; a period entirely missed is not replayed).

The allocation's lines become budget suggestions (``scale`` / ``budget_increase`` /
``budget_decrease``) that wait, pending, in the approval queue like any other: nothing is
executed without a person (or the tenant's auto-apply policy).

Exactly once per period: in the tenant's transaction, a transaction-scoped advisory lock on
(tenant, platform) serialises concurrent workers; then the period counts as done when a run
carries ``details.scheduled_period`` = the period's first day, or the tenant's system log has an
entry of this module for it (each run and each skip is logged with its platform and period) (an allocation refused with :class:`InvalidInput`: no budget holder,
no target CPA...; logged once, not retried every tick). The run is marked in the same
transaction that stores it. An allocation already stored for the same reporting day (one run
by hand) is marked and reused: no second set of suggestions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from growthops.core.errors import InvalidInput

logger = logging.getLogger("growthops.ads.allocation")
MODULE = "growthops.ads.allocation.schedule"
#: How often a tenant's platform is allocated (``ads.platform_configs.allocation_cadence``).
CADENCES = ("off", "daily", "weekly", "monthly")
DEFAULT_CADENCE = "weekly"
#: Local time after which a period is due: one hour after the 09:00 daily cycle (seed 000
#: "ANALYSE (9h AM)"), so the allocation reads the morning's metrics and anomalies.
LOCAL_RUN_AT = time(10, 0)
#: The scheduler's tick (UTC cron): every hour at :40, so every zone (whole, :30 and :45
#: offsets) is reached within the hour after 10:00 local.
SCHEDULE_CRON = "40 * * * *"
#: A platform is allocated when it has metrics this recent (days before the local date).
RECENT_DAYS = 14


def period_start(cadence: str, local_day: date) -> date | None:
    """Return the first day of the period holding ``local_day`` (None for ``off``).

    ``weekly``: the Monday of its ISO week; ``daily``: the day; ``monthly``: the 1st. Raises
    :class:`InvalidInput` naming ``allocation_cadence`` for another value.
    """
    if cadence == "off":
        return None
    if cadence == "daily":
        return local_day
    if cadence == "weekly":
        return local_day - timedelta(days=local_day.weekday())
    if cadence == "monthly":
        return local_day.replace(day=1)
    raise InvalidInput(f"allocation_cadence: {cadence!r} is not one of {', '.join(CADENCES)}")


def _already(conn: Any, platform: str, period: date) -> bool:
    """True when the period's allocation of ``platform`` ran or was skipped (tenant's tx)."""
    return bool(conn.execute(
        """select exists (select 1 from ads.allocation_runs
                          where platform = %(p)s and details->>'scheduled_period' = %(d)s)
               or exists (select 1 from core.system_logs
                          where logged_at >= %(since)s and module = %(m)s
                            and context->>'platform' = %(p)s and context->>'period' = %(d)s)
               as done""",
        {"p": platform, "d": period.isoformat(), "m": MODULE,
         # the period's entries are written during it (local day; a day of margin for the zone)
         "since": period - timedelta(days=1)}).fetchone()["done"])


def allocate_tenant(db: Any, *, tenant_id: UUID | str, time_zone: str, now_utc: datetime,
                    strategy: str = "thompson") -> list[dict[str, Any]]:
    """Run the allocations of one tenant that are due at ``now_utc`` (UTC); return one entry per
    platform looked at: ``{"platform", "period", "status", "allocation_id", "suggestions"}``
    with status ``allocated``, ``reused`` (the reporting day's run existed), ``done`` (the
    period ran already), ``skipped`` (refused: the reason is logged), ``not_due`` or ``off``.

    One transaction per platform (the allocation, its suggestions and the period's mark commit
    together). Raises :class:`InvalidInput` for a naive ``now_utc``; other errors propagate.
    """
    from growthops.ads.allocation.allocate import allocate
    from growthops.core.logs.service import log_event

    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise InvalidInput("now_utc: must be timezone-aware (UTC)")
    tid = UUID(str(tenant_id))
    local = now_utc.astimezone(ZoneInfo(time_zone))
    with db.tenant_tx(tid) as conn:
        rows = conn.execute(
            """select p.platform, coalesce(c.allocation_cadence, %(default)s) as cadence
               from unnest(%(platforms)s::text[]) p(platform)
               left join ads.platform_configs c on c.tenant_id = %(t)s and c.platform = p.platform
               where exists (select 1 from ads.metrics_daily m where m.tenant_id = %(t)s
                             and m.platform = p.platform and m.day >= %(since)s)
               order by p.platform""",
            {"default": DEFAULT_CADENCE, "platforms": list(_platforms()), "t": str(tid),
             "since": local.date() - timedelta(days=RECENT_DAYS)}).fetchall()
    out: list[dict[str, Any]] = []
    for r in rows:
        platform = r["platform"]
        period = period_start(r["cadence"], local.date())
        entry: dict[str, Any] = {"platform": platform, "period": period, "status": "off",
                                 "allocation_id": None, "suggestions": 0}
        out.append(entry)
        if period is None:
            continue
        if local.time() < LOCAL_RUN_AT:
            entry["status"] = "not_due"
            continue
        with db.tenant_tx(tid) as conn:
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))",
                         [f"ads.scheduled_allocation:{tid}:{platform}"])
            if _already(conn, platform, period):
                entry["status"] = "done"
                continue
            try:
                with conn.transaction():
                    a = allocate(conn, tenant_id=tid, platform=platform, strategy=strategy,
                                 now=now_utc)
            except InvalidInput as exc:
                entry["status"] = "skipped"
                log_event(conn, tenant_id=tid, level="WARNING", module=MODULE,
                          message=f"scheduled {platform} allocation of the period from "
                                  f"{period} skipped: {exc}",
                          context={"platform": platform, "period": period.isoformat(),
                                   "reason": str(exc)})
                continue
            conn.execute(
                """update ads.allocation_runs
                   set details = details || jsonb_build_object('scheduled_period', %s::text)
                   where tenant_id = %s and allocation_id = %s""",
                [period.isoformat(), str(tid), a.allocation_id])
            entry.update(status="allocated" if a.created else "reused",
                         allocation_id=a.allocation_id,
                         suggestions=a.suggestions if a.created else 0)
            log_event(conn, tenant_id=tid, level="INFO", module=MODULE,
                      message=f"scheduled {platform} allocation {a.allocation_id} of the period "
                              f"from {period}: {entry['status']}, {entry['suggestions']} "
                              "suggestions to approve",
                      context={"platform": platform, "period": period.isoformat(),
                               "allocation_id": a.allocation_id, "status": entry["status"]})
    return out


def _platforms() -> tuple[str, ...]:
    from growthops.ads.config import PLATFORMS

    return PLATFORMS


def run_scheduled_allocations(db: Any, *, now_utc: datetime,
                              tenants: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Run :func:`allocate_tenant` for every tenant (default: the directory); return counts
    ``{"tenants", "allocated", "reused", "suggestions", "done", "skipped", "errors"}``.

    A tenant whose zone is unknown or whose allocation fails is logged (its system log) and
    counted in ``errors``; the other tenants still run.
    """
    from growthops.core.logs.service import log_event
    from growthops.core.tenants.service import directory

    if tenants is None:
        with db.app_tx() as conn:
            tenants = directory(conn)
    out = {"tenants": 0, "allocated": 0, "reused": 0, "suggestions": 0, "done": 0,
           "skipped": 0, "errors": 0}
    for t in tenants:
        out["tenants"] += 1
        tid = UUID(str(t["tenant_id"]))
        try:
            for e in allocate_tenant(db, tenant_id=tid, time_zone=str(t["time_zone"]),
                                     now_utc=now_utc):
                if e["status"] in out:
                    out[e["status"]] += 1
                out["suggestions"] += e["suggestions"]
        except Exception as exc:  # one tenant (unknown zone, failed fit...) never stops the rest
            out["errors"] += 1
            try:
                with db.tenant_tx(tid) as conn:
                    log_event(conn, tenant_id=tid, level="ERROR", module="growthops.ads.jobs",
                              message="scheduled allocation failed", exc=exc)
            except Exception:  # the database may be the problem
                logger.exception("could not log the scheduled allocation failure")
    return out


def scheduled_allocation(context: Any, timestamp: int) -> dict[str, Any]:
    """Task ``ads.scheduled_allocation``: :func:`run_scheduled_allocations` at the tick (UTC
    Unix time, given by procrastinate's periodic deferrer)."""
    from growthops.core.jobs.retry import db_of

    return run_scheduled_allocations(db_of(context), now_utc=datetime.fromtimestamp(timestamp, UTC))
