"""The scheduled sync: every ad account pulled before its tenant's 09:00 daily cycle.

Like the daily cycle (:mod:`growthops.ads.jobs`), one periodic task, ``schedule_syncs``, ticks
every 15 minutes (cron in UTC) and queues ``sync_account`` for each ad account whose tenant's
local clock has passed :data:`LOCAL_SYNC_AT` (07:00: two hours before the cycle, room for
report runs, back-off and retries) and that has no running or successful sync for that local
date. A failed sync is queued again at a later tick, at most :data:`MAX_ATTEMPTS_PER_DAY`
times a day (each failure is in ``ads.sync_runs`` and ``core.system_logs``). The decision is
the pure function :func:`due_syncs`; each job carries ``tenant_id`` and opens the tenant's
transactions itself.

Intraday pacing (:mod:`growthops.ads.sync.intraday`): ``schedule_intraday`` ticks every hour at
minute :data:`INTRADAY_MINUTE` and queues ``intraday_pacing`` for each tenant with an ad account
(one waiting job per tenant and tick hour); the job syncs the accounts' hours and checks the
pacing at the tick's instant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from procrastinate import JobContext, exceptions

from growthops.core.jobs.retry import db_of
from growthops.core.logs.service import log_event

if TYPE_CHECKING:
    from procrastinate import App

    from growthops.core.db import Database

logger = logging.getLogger("growthops.jobs")

TASK_SYNC = "sync_account"
TASK_SYNC_SCHEDULER = "schedule_syncs"
SYNC_CRON = "*/15 * * * *"
#: Local time from which an account is synced: 2 h before the 09:00 cycle (seed 000 "ANALYSE
#: (9h AM)"); Meta's and Google's previous day is complete by then in the account's zone.
LOCAL_SYNC_AT = time(7, 0)
#: Failed syncs of one account and local date after which the scheduler stops trying.
MAX_ATTEMPTS_PER_DAY = 3
MODULE = "growthops.ads.sync"
TASK_INTRADAY = "intraday_pacing"
TASK_INTRADAY_SCHEDULER = "schedule_intraday"
#: Minute past each hour of the intraday run: Meta and Google report an hour's spend within
#: minutes; :05 leaves them the hour's end (the run also reads the hour in progress).
INTRADAY_MINUTE = 5
INTRADAY_CRON = f"{INTRADAY_MINUTE} * * * *"


@dataclass(frozen=True)
class DueSync:
    """An account to sync: ``sync_date`` is the tenant's local date."""

    tenant_id: str
    platform: str
    sync_date: date


def due_syncs(accounts: Iterable[Mapping[str, Any]], now_utc: datetime) -> list[DueSync]:
    """Return the accounts to sync at ``now_utc`` (pure).

    ``accounts``: rows with ``tenant_id``, ``platform``, ``time_zone`` (IANA), ``sync_date``
    (the local date their counts are for, or None), ``ok`` (running or succeeded syncs that
    date) and ``failed`` (failed syncs that date). Due: local time ≥ :data:`LOCAL_SYNC_AT`,
    no ok sync and fewer than :data:`MAX_ATTEMPTS_PER_DAY` failures on the local date. An
    unknown zone is skipped with a warning.
    """
    out = []
    for a in accounts:
        try:
            local = now_utc.astimezone(ZoneInfo(str(a["time_zone"])))
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("tenant %s: unknown time zone %r, sync not scheduled",
                           a["tenant_id"], a["time_zone"])
            continue
        same_day = a.get("sync_date") == local.date()
        ok = int(a.get("ok") or 0) if same_day else 0
        failed = int(a.get("failed") or 0) if same_day else 0
        if local.time() >= LOCAL_SYNC_AT and not ok and failed < MAX_ATTEMPTS_PER_DAY:
            out.append(DueSync(str(a["tenant_id"]), str(a["platform"]), local.date()))
    return out


def account_states(db: Database, now_utc: datetime) -> list[dict[str, Any]]:
    """Return every tenant's ad accounts with their sync counts for the tenant's local date.

    One query per tenant (its own transaction, row-level security), tenants listed by the
    directory; tenants before :data:`LOCAL_SYNC_AT` local are not read.
    """
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    out: list[dict[str, Any]] = []
    for t in tenants:
        try:
            local = now_utc.astimezone(ZoneInfo(str(t["time_zone"])))
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if local.time() < LOCAL_SYNC_AT:
            continue
        with db.tenant_tx(t["tenant_id"]) as conn:
            rows = conn.execute(
                """select a.platform, %(day)s::date as sync_date,
                          count(r.run_id) filter (where r.status <> 'failed') as ok,
                          count(r.run_id) filter (where r.status = 'failed') as failed
                   from ads.ad_accounts a
                   left join ads.sync_runs r on r.tenant_id = a.tenant_id
                        and r.platform = a.platform and r.sync_date = %(day)s
                   where a.tenant_id = %(t)s group by a.platform""",
                {"t": t["tenant_id"], "day": local.date()}).fetchall()
        out += [{**r, "tenant_id": t["tenant_id"], "time_zone": t["time_zone"]} for r in rows]
    return out


def sync_queueing_lock(tenant_id: UUID | str, platform: str, sync_date: date) -> str:
    """Return the queueing lock ``sync:<tenant>:<platform>:<date>`` (one waiting job each)."""
    return f"sync:{tenant_id}:{platform}:{sync_date.isoformat()}"


def schedule_syncs_at(db: Database, app: App, now_utc: datetime) -> list[DueSync]:
    """Queue the syncs due at ``now_utc`` on an open ``app``; return those queued."""
    queued = []
    for d in due_syncs(account_states(db, now_utc), now_utc):
        try:
            app.configure_task(
                TASK_SYNC, lock=f"sync:{d.tenant_id}:{d.platform}",
                queueing_lock=sync_queueing_lock(d.tenant_id, d.platform, d.sync_date),
            ).defer(tenant_id=d.tenant_id, platform=d.platform, tick=int(now_utc.timestamp()))
        except exceptions.AlreadyEnqueued:
            continue
        queued.append(d)
    return queued


def schedule_syncs(context: JobContext, timestamp: int) -> int:
    """Queue the due syncs at the tick ``timestamp`` (task ``schedule_syncs``); return how many."""
    return len(schedule_syncs_at(db_of(context), context.app,
                                 datetime.fromtimestamp(timestamp, UTC)))


def sync_account_job(context: JobContext, tenant_id: str, platform: str,
                     tick: int | None = None) -> dict[str, Any]:
    """Sync one account (task ``sync_account``); a failure is logged and re-raised.

    Calls :func:`growthops.ads.sync.run.sync_account` with ``trigger='schedule'`` and, as
    ``now``, the scheduler's tick (Unix time, UTC; the clock when None), so the run's local
    date is the one the scheduler decided on; returns the run's counts.
    """
    from growthops.ads.sync.run import sync_account

    db = db_of(context)
    tid = UUID(str(tenant_id))
    try:
        now = datetime.fromtimestamp(tick, UTC) if tick is not None else None
        res = sync_account(db, tenant_id=tid, platform=platform, trigger="schedule", now=now)
    except Exception as exc:
        try:
            with db.tenant_tx(tid) as conn:
                log_event(conn, tenant_id=tid, level="ERROR", module=MODULE,
                          message=f"sync of the {platform} account failed",
                          context={"job_id": context.job.id, "platform": platform}, exc=exc)
        except Exception:  # the database may be the problem; never mask the sync's error
            logger.exception("could not log the failure of sync job %s", context.job.id)
        raise
    return {"run_id": res.run_id, "from": str(res.date_from), "to": str(res.date_to),
            "inserted": res.rows_inserted, "updated": res.rows_updated}


def tenants_with_accounts(db: Database) -> list[str]:
    """Return the ids of the tenants that have an ad account (one query per tenant, RLS)."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    out = []
    for t in tenants:
        with db.tenant_tx(t["tenant_id"]) as conn:
            if conn.execute("select exists (select 1 from ads.ad_accounts where tenant_id = %s) e",
                            [t["tenant_id"]]).fetchone()["e"]:
                out.append(str(t["tenant_id"]))
    return out


def schedule_intraday_at(db: Database, app: App, now_utc: datetime) -> list[str]:
    """Queue ``intraday_pacing`` for every tenant with an ad account; return the tenants queued.

    Queueing lock ``intraday:<tenant>:<UTC hour>``: one waiting job per tenant and hour.
    """
    hour = now_utc.astimezone(UTC).strftime("%Y-%m-%dT%H")
    queued = []
    for tid in tenants_with_accounts(db):
        try:
            app.configure_task(TASK_INTRADAY, lock=f"intraday:{tid}",
                               queueing_lock=f"intraday:{tid}:{hour}").defer(
                tenant_id=tid, tick=int(now_utc.timestamp()))
        except exceptions.AlreadyEnqueued:
            continue
        queued.append(tid)
    return queued


def schedule_intraday(context: JobContext, timestamp: int) -> int:
    """Queue the intraday runs at the tick ``timestamp`` (task ``schedule_intraday``)."""
    return len(schedule_intraday_at(db_of(context), context.app,
                                    datetime.fromtimestamp(timestamp, UTC)))


def intraday_job(context: JobContext, tenant_id: str, tick: int | None = None) -> dict[str, Any]:
    """Sync a tenant's hours and check its pacing at ``tick`` (task ``intraday_pacing``).

    Calls :func:`growthops.ads.sync.intraday.run_intraday` with the tick (Unix time, UTC; the
    clock when None) as ``now``; returns the counts (checked, over, newly flagged, failed syncs).
    A failure (e.g. a bad ``time_zone`` setting) is logged to ``core.system_logs`` and re-raised.
    """
    from growthops.ads.sync.intraday import run_intraday

    db = db_of(context)
    tid = UUID(str(tenant_id))
    now = datetime.fromtimestamp(tick, UTC) if tick is not None else None
    try:
        res = run_intraday(db, tenant_id=tid, now=now)
    except Exception as exc:
        try:
            with db.tenant_tx(tid) as conn:
                log_event(conn, tenant_id=tid, level="ERROR", module=MODULE,
                          message="intraday pacing failed",
                          context={"job_id": context.job.id}, exc=exc)
        except Exception:  # the database may be the problem; never mask the run's error
            logger.exception("could not log the failure of intraday job %s", context.job.id)
        raise
    return {"checked": len(res.checks), "over": sum(c.over for c in res.checks),
            "newly_flagged": len(res.newly_flagged),
            "failed_syncs": [s.platform for s in res.syncs if s.error]}


def register_sync_tasks(app: App, *, periodic: bool = True) -> None:
    """Register ``sync_account``, the 15-minute ``schedule_syncs``, ``intraday_pacing`` and the
    hourly ``schedule_intraday`` on ``app``."""
    app.task(name=TASK_SYNC, pass_context=True)(sync_account_job)
    scheduler = app.task(name=TASK_SYNC_SCHEDULER, pass_context=True,
                         queueing_lock=TASK_SYNC_SCHEDULER)(schedule_syncs)
    app.task(name=TASK_INTRADAY, pass_context=True)(intraday_job)
    intraday = app.task(name=TASK_INTRADAY_SCHEDULER, pass_context=True,
                        queueing_lock=TASK_INTRADAY_SCHEDULER)(schedule_intraday)
    if periodic:
        app.periodic(cron=SYNC_CRON, periodic_id="account_sync_0700")(scheduler)
        app.periodic(cron=INTRADAY_CRON, periodic_id="intraday_pacing_hourly")(intraday)
