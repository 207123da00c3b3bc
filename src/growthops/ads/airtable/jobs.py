"""The scheduled Airtable sync: each enabled mirror synced about once an hour.

One periodic task, ``ads.airtable_schedule`` (cron :data:`AIRTABLE_CRON`, UTC), lists the
tenants (directory) and queues ``ads.airtable_sync`` for each tenant whose enabled mirror was
not synced in the last :data:`MIN_INTERVAL` (one job waiting per tenant: queueing lock). The
decision is the pure function :func:`due_mirrors`. Every job carries ``tenant_id`` and opens
the tenant's transactions itself; a failed sync is in ``ads.airtable_runs`` and
``core.system_logs`` and is tried again at the next tick.

Why hourly: a person's edit in Airtable (a target, a label) reaches PostgreSQL within the hour,
and a base with seed 000's ~10,000 rows at most costs about 100 list requests per sync, 20 s at
Airtable's 5 requests per second, far from the limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from procrastinate import JobContext, exceptions

from growthops.core.jobs.retry import db_of
from growthops.core.logs.service import log_event

if TYPE_CHECKING:
    from procrastinate import App

    from growthops.core.db import Database

logger = logging.getLogger("growthops.jobs")

TASK_AIRTABLE_SYNC = "ads.airtable_sync"
TASK_AIRTABLE_SCHEDULER = "ads.airtable_schedule"
#: Minute 40 of every hour (away from the :00/:15 ticks of the other schedulers).
AIRTABLE_CRON = "40 * * * *"
#: A mirror synced more recently than this is not queued again (a manual sync counts).
MIN_INTERVAL = timedelta(minutes=50)
MODULE = "growthops.ads.airtable"


def due_mirrors(mirrors: Iterable[Mapping[str, Any]], now_utc: datetime) -> list[str]:
    """Return the tenant ids whose mirror is due at ``now_utc`` (pure).

    ``mirrors``: rows with ``tenant_id``, ``enabled`` and ``last_synced_at`` (UTC or None).
    Due: enabled and never synced, or synced at least :data:`MIN_INTERVAL` ago.
    """
    return [
        str(m["tenant_id"])
        for m in mirrors
        if m["enabled"]
        and (m["last_synced_at"] is None or now_utc - m["last_synced_at"] >= MIN_INTERVAL)
    ]


def mirror_states(db: Database) -> list[dict[str, Any]]:
    """Return every tenant's mirror state (one query per tenant, in its own transaction)."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    out: list[dict[str, Any]] = []
    for t in tenants:
        with db.tenant_tx(t["tenant_id"]) as conn:
            out += conn.execute(
                "select tenant_id, enabled, last_synced_at "
                "from ads.airtable_mirrors where tenant_id = %s",
                [t["tenant_id"]],
            ).fetchall()
    return out


def schedule_airtable_at(db: Database, app: App, now_utc: datetime) -> list[str]:
    """Queue the due mirrors' syncs on an open ``app``; return their tenant ids."""
    queued = []
    for tid in due_mirrors(mirror_states(db), now_utc):
        try:
            app.configure_task(
                TASK_AIRTABLE_SYNC, lock=f"airtable:{tid}", queueing_lock=f"airtable:{tid}"
            ).defer(tenant_id=tid)
        except exceptions.AlreadyEnqueued:
            continue
        queued.append(tid)
    return queued


def schedule_airtable(context: JobContext, timestamp: int) -> int:
    """Queue the due syncs at the tick ``timestamp`` (Unix time, UTC); return how many."""
    return len(
        schedule_airtable_at(db_of(context), context.app, datetime.fromtimestamp(timestamp, UTC))
    )


def airtable_sync_job(context: JobContext, tenant_id: str) -> dict[str, Any]:
    """Sync one tenant's mirror (``trigger='schedule'``); a failure is logged and re-raised."""
    from growthops.ads.airtable.sync import sync_mirror

    db = db_of(context)
    tid = UUID(str(tenant_id))
    try:
        res = sync_mirror(db, tenant_id=tid, trigger="schedule")
    except Exception as exc:
        try:
            with db.tenant_tx(tid) as conn:
                log_event(
                    conn,
                    tenant_id=tid,
                    level="ERROR",
                    module=MODULE,
                    message="Airtable sync failed",
                    context={"job_id": context.job.id},
                    exc=exc,
                )
        except Exception:  # never mask the sync's own error
            logger.exception("could not log the failure of Airtable job %s", context.job.id)
        raise
    return {
        "run_id": res.run_id,
        "created": res.created,
        "updated": res.updated,
        "pulled": res.pulled,
        "conflicts": res.conflicts,
    }


def register_airtable_tasks(app: App, *, periodic: bool = True) -> None:
    """Register ``ads.airtable_sync`` and the hourly ``ads.airtable_schedule`` on ``app``."""
    app.task(name=TASK_AIRTABLE_SYNC, pass_context=True)(airtable_sync_job)
    scheduler = app.task(
        name=TASK_AIRTABLE_SCHEDULER, pass_context=True, queueing_lock=TASK_AIRTABLE_SCHEDULER
    )(schedule_airtable)
    if periodic:
        app.periodic(cron=AIRTABLE_CRON, periodic_id="airtable_hourly")(scheduler)
