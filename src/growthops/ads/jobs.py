"""The ads domain's jobs: the daily cycle and its 09:00-local scheduler, the nightly archive,
the hourly upkeep.

procrastinate's periodic tasks are cron expressions in a single zone, while the daily cycle must
run at 09:00 in *each* tenant's time zone (seed 000: "ANALYSE (9h AM)"). So one periodic task,
``schedule_daily_cycles``, runs every 15 minutes; it lists the tenants and queues ``daily_cycle``
for each tenant whose local clock has passed 09:00 and whose cycle for the previous local day
(the reporting day) has not run nor been queued yet. The decision is the pure function
:func:`due_tenants`. A worker that was down at 09:00 catches up at its next tick the same local
day; a day entirely missed is not replayed (``growthops daily --as-of`` replays it).

Every job carries ``tenant_id``; procrastinate's tables have no row-level security, so the task
opens ``db.tenant_tx(tenant_id)`` itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from procrastinate import JobContext, exceptions

from growthops.core.errors import Conflict, InvalidInput
from growthops.core.jobs.retry import (
    MAX_RETRIES,
    TransientDbRetry,
    db_of,
    is_transient_db_error,
    optional,
)
from growthops.core.logs.service import log_event

if TYPE_CHECKING:
    from procrastinate import App

    from growthops.core.db import Database

logger = logging.getLogger("growthops.jobs")

TASK_DAILY_CYCLE = "daily_cycle"
TASK_SCHEDULER = "schedule_daily_cycles"
#: The scheduler tick. 15 minutes bounds the delay after 09:00 local (zones with :30/:45
#: offsets, e.g. Asia/Kolkata, Asia/Kathmandu, are reached at most 15 minutes late).
SCHEDULER_CRON = "*/15 * * * *"
SCHEDULER_PERIODIC_ID = "tenant_local_0900"
#: Local time of the daily analysis. Source: seed 000 workflow "ANALYSE (9h AM)".
LOCAL_RUN_AT = time(9, 0)
#: Job states that mean "this cycle ran or will run": a failed job is not re-queued by the
#: scheduler every 15 minutes (its failure is in system_logs); cancelled/aborted ones are.
_JOB_STATES_DONE = ("todo", "doing", "succeeded", "failed")
MODULE = "growthops.ads.jobs"
TASK_NIGHTLY_ARCHIVE = "nightly_archive"
#: Nightly archive at 02:00 UTC (procrastinate's cron runs in UTC). Source: seed 000 (archive
#: job at 02:00).
ARCHIVE_CRON = "0 2 * * *"
TASK_HOURLY_UPKEEP = "hourly_upkeep"
#: Hourly: measure due hypotheses, reconcile executions, expire validation items.
HOURLY_CRON = "0 * * * *"
TASK_SCHEDULED_ALLOCATION = "ads.scheduled_allocation"


# --------------------------------------------------------------------------- pure decisions
@dataclass(frozen=True)
class DueCycle:
    """A daily cycle to queue: ``as_of`` is the reporting day (local date − 1 day)."""

    tenant_id: str
    client_key: str | None
    as_of: date
    local_time: datetime


def reporting_day(time_zone: str, now_utc: datetime) -> tuple[datetime, date]:
    """Return ``(local now, local date − 1 day)`` for an IANA zone at the UTC instant ``now_utc``.

    Raises :class:`InvalidInput` when ``now_utc`` is naive, ``ZoneInfoNotFoundError`` (a
    ``KeyError``) or ``ValueError`` for an unknown zone. DST is handled by :mod:`zoneinfo`.
    """
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise InvalidInput("now_utc: must be timezone-aware (UTC)")
    local = now_utc.astimezone(ZoneInfo(time_zone))
    return local, local.date() - timedelta(days=1)


def due_tenants(
    tenants: Iterable[Mapping[str, Any]],
    now_utc: datetime,
    already_run: set[tuple[str, date]],
) -> list[DueCycle]:
    """Return the tenants whose daily cycle must be queued at the instant ``now_utc``.

    ``tenants``: rows with ``tenant_id``, ``time_zone`` (IANA) and optionally ``client_key``
    (as returned by :func:`growthops.core.tenants.service.directory`). ``already_run``: set of
    ``(str(tenant_id), as_of)`` whose cycle ran or is queued (see :func:`already_run`).
    A tenant is due when its local time is ≥ :data:`LOCAL_RUN_AT` (09:00) and
    ``(tenant, local date − 1)`` is not in ``already_run``. A tenant with an unknown zone is
    skipped with a warning on the ``growthops.jobs`` logger. Pure: no I/O besides that warning.
    """
    due: list[DueCycle] = []
    for t in tenants:
        tid = str(t["tenant_id"])
        try:
            local, as_of = reporting_day(str(t["time_zone"]), now_utc)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("tenant %s: unknown time zone %r, daily cycle not scheduled",
                           t.get("client_key") or tid, t["time_zone"])
            continue
        if local.time() >= LOCAL_RUN_AT and (tid, as_of) not in already_run:
            due.append(DueCycle(tid, t.get("client_key"), as_of, local))
    return due


def candidate_days(now_utc: datetime) -> list[date]:
    """Return every reporting day some zone can have at ``now_utc`` (UTC−12 to UTC+14).

    The local date is the UTC date −1, +0 or +1, so the reporting day (local − 1) is one of
    UTC date −2, −1, 0.
    """
    d = now_utc.astimezone(UTC).date()
    return [d - timedelta(days=2), d - timedelta(days=1), d]


def cycle_queueing_lock(tenant_id: UUID | str, as_of: date | str | None) -> str:
    """Return the queueing lock of a tenant's cycle for one day: ``daily_cycle:<tenant>:<day>``.

    ``as_of`` None (the latest day with data) is written ``latest``. procrastinate refuses a
    second job with the same lock while the first is waiting (``todo``).
    """
    return f"{TASK_DAILY_CYCLE}:{tenant_id}:{as_of or 'latest'}"


def tenant_lock(tenant_id: UUID | str) -> str:
    """Return the per-tenant lock: two cycles of one tenant never run at the same time."""
    return f"{TASK_DAILY_CYCLE}:{tenant_id}"


# ----------------------------------------------------------------------------------- tasks
def _summary(result: Any) -> dict[str, Any]:
    """Return a JSON-safe summary of a cycle result (None: no data)."""
    if result is None:
        return {"status": "no_data"}
    out: dict[str, Any] = {"status": "succeeded"}
    if getattr(result, "as_of", None) is not None:
        out["as_of"] = str(result.as_of)
    counts = getattr(result, "counts", None)
    if callable(counts):
        with contextlib.suppress(Exception):  # a summary never fails a cycle that succeeded
            out.update({str(k): v if isinstance(v, int | float | str) else str(v)
                        for k, v in dict(counts()).items()})
    return out


def daily_cycle(context: JobContext, tenant_id: str, as_of: str | None = None) -> dict[str, Any]:
    """Run one tenant's daily cycle (task ``daily_cycle``); log start, end and failure.

    ``as_of`` is the last reporting day to analyse (YYYY-MM-DD) or None for the tenant's latest
    day with data. Calls :func:`growthops.ads.cycle.run_daily_cycle` (imported here, lazily),
    which owns its transactions. Start, end and failure are written to ``core.system_logs``
    for the tenant, each in its own transaction. Transient database errors are retried by
    :class:`TransientDbRetry`; any exception is re-raised for procrastinate to record.
    """
    db = db_of(context)
    tid = UUID(str(tenant_id))
    day = date.fromisoformat(as_of) if as_of else None
    job = context.job
    ctx: dict[str, Any] = {"job_id": job.id, "attempt": job.attempts + 1, "as_of": as_of}
    label = as_of or "latest day with data"
    with db.tenant_tx(tid) as conn:
        log_event(conn, tenant_id=tid, level="INFO", module=MODULE,
                  message=f"daily cycle started (as of {label})", context=ctx)
    try:
        from growthops.ads.cycle import after_cycle, run_daily_cycle

        result = run_daily_cycle(db, tenant_id=tid, as_of=day)
        if result is not None:
            after_cycle(db, tenant_id=tid, as_of=result.as_of)
    except Exception as exc:
        retry = is_transient_db_error(exc) and job.attempts < MAX_RETRIES
        try:
            with db.tenant_tx(tid) as conn:
                log_event(
                    conn, tenant_id=tid, level="WARNING" if retry else "ERROR", module=MODULE,
                    message=f"daily cycle failed (as of {label})"
                    + (", will retry" if retry else ""),
                    context=ctx, exc=exc,
                )
        except Exception:  # the database may be the problem; never mask the cycle's error
            logger.exception("could not log the failure of job %s", job.id)
        raise
    summary = _summary(result)
    with db.tenant_tx(tid) as conn:
        msg = ("daily cycle finished" if result is not None else "daily cycle found no data")
        log_event(conn, tenant_id=tid, level="INFO", module=MODULE,
                  message=f"{msg} (as of {summary.get('as_of', label)})",
                  context={**ctx, "summary": summary})
    return summary


def schedule_daily_cycles(context: JobContext, timestamp: int) -> int:
    """Queue the daily cycles due at the tick ``timestamp`` (task ``schedule_daily_cycles``).

    ``timestamp`` is the tick's Unix time (UTC), given by procrastinate's periodic deferrer.
    Returns the number of cycles queued. See :func:`schedule_due_cycles`.
    """
    now = datetime.fromtimestamp(timestamp, UTC)
    queued = schedule_due_cycles(db_of(context), now_utc=now, app=context.app)
    return len(queued)


def nightly_archive(context: JobContext, timestamp: int) -> dict[str, Any]:
    """Archive every tenant's old suggestions and decisions (task ``nightly_archive``, 02:00 UTC).

    Calls :func:`growthops.ads.archive.archive_all` with ``now`` = the tick (UTC): per tenant,
    suggestions older than 30 days and decisions older than 90 days move to their archive
    tables, one transaction per batch. A failing tenant is logged to its ``core.system_logs``
    and the others still run; the first error is then re-raised (the job shows failed).
    Returns ``{"tenants": n, "expired": n, "suggestions": n, "decisions": n}`` moved.
    """
    from growthops.ads.archive import archive_all

    results = archive_all(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))
    return {
        "tenants": len(results),
        "expired": sum(r.expired for r in results),
        "suggestions": sum(r.suggestions.moved for r in results),
        "decisions": sum(r.decisions.moved for r in results),
    }


def run_upkeep(db: Database, *, now_utc: datetime,
               tenants: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Run the hourly upkeep for every tenant; return counts per step and the errors.

    Per tenant, each step in its own transaction: (1) expire overdue validation items
    (:func:`growthops.ads.action.validation.expire_due`); (2) measure the hypotheses whose window has
    ended, ``growthops.ads.learning.measurement.measure_due(conn, tenant_id=, today=)`` with ``today`` the
    tenant's local date; (3) reconcile executions left claimed by a crashed worker,
    ``growthops.ads.action.reconcile.reconcile(db, tenant_id=)``. Steps (2) and (3) are skipped when
    their module is not installed. A failing step is logged to the tenant's
    ``core.system_logs`` and does not stop the other steps or tenants.
    """
    from growthops.ads.action.validation import expire_due
    from growthops.core.tenants.service import directory

    if tenants is None:
        with db.app_tx() as conn:
            tenants = directory(conn)
    measure_due = optional("growthops.ads.learning.measurement", "measure_due")
    reconcile = optional("growthops.ads.action.reconcile", "reconcile")
    out: dict[str, Any] = {"tenants": 0, "validation_expired": 0, "measured": 0,
                           "reconciled": 0, "errors": 0,
                           "skipped": [name for name, fn in (("measure_due", measure_due),
                                                             ("reconcile", reconcile))
                                       if fn is None]}
    for t in tenants:
        tid = UUID(str(t["tenant_id"]))
        out["tenants"] += 1
        try:
            today = now_utc.astimezone(ZoneInfo(str(t.get("time_zone") or "UTC"))).date()
        except (ZoneInfoNotFoundError, ValueError):
            today = now_utc.astimezone(UTC).date()

        def expire(tid: UUID = tid) -> int:
            with db.tenant_tx(tid) as conn:
                return expire_due(conn, tenant_id=tid, now=now_utc)

        def measure(tid: UUID = tid, today: date = today) -> int:
            with db.tenant_tx(tid) as conn:
                return sum(r["status"] == "measured" for r in (measure_due(conn, tenant_id=tid, today=today) or []))

        def reconcile_(tid: UUID = tid) -> int:
            # Settle interrupted executions, then execute what was approved but not executed
            # (an approval whose immediate execution failed or was deferred).
            settled = int(reconcile(db, tenant_id=tid) or 0)
            from growthops.ads.action.execution import execute_approved

            execute_approved(db, tenant_id=tid)
            return settled

        steps = [("validation_expired", expire)]
        if measure_due is not None:
            steps.append(("measured", measure))
        if reconcile is not None:
            steps.append(("reconciled", reconcile_))
        for key, step in steps:
            try:
                out[key] += step()
            except Exception as exc:
                out["errors"] += 1
                try:
                    with db.tenant_tx(tid) as conn:
                        log_event(conn, tenant_id=tid, level="ERROR", module=MODULE,
                                  message=f"hourly upkeep step {key} failed",
                                  context={"step": key}, exc=exc)
                except Exception:  # the database may be the problem
                    logger.exception("could not log the failure of upkeep step %s", key)
    return out


def hourly_upkeep(context: JobContext, timestamp: int) -> dict[str, Any]:
    """Run :func:`run_upkeep` at the tick ``timestamp`` (task ``hourly_upkeep``, every hour)."""
    return run_upkeep(db_of(context), now_utc=datetime.fromtimestamp(timestamp, UTC))


def register_tasks(app: App, *, periodic: bool = True) -> None:
    """Register growthops' tasks on ``app`` (and their schedules when ``periodic``).

    Schedules (cron in UTC): the 15-minute daily-cycle scheduler, the nightly archive at 02:00
    (:data:`ARCHIVE_CRON`) and the hourly upkeep (:data:`HOURLY_CRON`). Each periodic job has
    a queueing lock, so ticks never pile up while a worker is down.
    """
    app.task(name=TASK_DAILY_CYCLE, pass_context=True, retry=TransientDbRetry())(daily_cycle)
    scheduler = app.task(name=TASK_SCHEDULER, pass_context=True,
                         queueing_lock=TASK_SCHEDULER)(schedule_daily_cycles)
    archive = app.task(name=TASK_NIGHTLY_ARCHIVE, pass_context=True,
                       queueing_lock=TASK_NIGHTLY_ARCHIVE, retry=TransientDbRetry())(nightly_archive)
    hourly = app.task(name=TASK_HOURLY_UPKEEP, pass_context=True,
                      queueing_lock=TASK_HOURLY_UPKEEP)(hourly_upkeep)
    if periodic:
        app.periodic(cron=SCHEDULER_CRON, periodic_id=SCHEDULER_PERIODIC_ID)(scheduler)
        app.periodic(cron=ARCHIVE_CRON, periodic_id=TASK_NIGHTLY_ARCHIVE)(archive)
        app.periodic(cron=HOURLY_CRON, periodic_id=TASK_HOURLY_UPKEEP)(hourly)
    from growthops.ads.sync.jobs import register_sync_tasks  # the 07:00-local account sync

    register_sync_tasks(app, periodic=periodic)
    from growthops.ads.experiments.jobs import register_experiment_tasks  # Mondays: close tests

    register_experiment_tasks(app, periodic=periodic)
    from growthops.ads.allocation.schedule import SCHEDULE_CRON, scheduled_allocation

    allocation = app.task(name=TASK_SCHEDULED_ALLOCATION, pass_context=True,  # weekly budgets
                          queueing_lock=TASK_SCHEDULED_ALLOCATION)(scheduled_allocation)
    if periodic:
        app.periodic(cron=SCHEDULE_CRON, periodic_id=TASK_SCHEDULED_ALLOCATION)(allocation)
    from growthops.ads.reporting.slack_threads import register_slack_tasks  # every minute

    register_slack_tasks(app, periodic=periodic)
    from growthops.ads.airtable.jobs import register_airtable_tasks  # hourly Airtable mirror

    register_airtable_tasks(app, periodic=periodic)


# ------------------------------------------------------------------------------- deferring
def _defer(app: App, db: Database, *, tenant_id: UUID | str, as_of: str | None) -> int:
    """Queue ``daily_cycle`` on an open ``app``; return the new job id or the waiting one's."""
    qlock = cycle_queueing_lock(tenant_id, as_of)
    try:
        return app.configure_task(
            TASK_DAILY_CYCLE, lock=tenant_lock(tenant_id), queueing_lock=qlock
        ).defer(tenant_id=str(tenant_id), as_of=as_of)
    except exceptions.AlreadyEnqueued:
        with db.admin() as conn:
            row = conn.execute(
                """select id from procrastinate_jobs
                   where queueing_lock = %s and status in ('todo', 'doing')
                   order by id desc limit 1""",
                [qlock],
            ).fetchone()
        if row is None:  # it finished between the two statements
            raise Conflict(f"daily cycle {qlock} was queued and has just finished") from None
        return int(row["id"])


def _check_args(tenant_id: UUID | str, as_of: str | date | None) -> tuple[UUID, str | None]:
    """Validate a tenant id and an as-of day; return them normalised."""
    try:
        tid = tenant_id if isinstance(tenant_id, UUID) else UUID(str(tenant_id))
    except ValueError as exc:
        raise InvalidInput(f"tenant_id: {tenant_id!r} is not a UUID") from exc
    if as_of is None or as_of == "":
        return tid, None
    if isinstance(as_of, date):
        return tid, as_of.isoformat()
    try:
        return tid, date.fromisoformat(as_of).isoformat()
    except ValueError as exc:
        raise InvalidInput(f"as_of: {as_of!r} is not a date (YYYY-MM-DD)") from exc


def defer_daily_cycle(db: Database, *, tenant_id: UUID | str, as_of: str | date | None) -> int:
    """Queue one tenant's daily cycle and return the job id (run by ``growthops worker``).

    ``as_of``: last reporting day (YYYY-MM-DD) or None for the latest day with data.
    Idempotent while the job waits: deferring the same tenant and day again returns the job
    already queued (queueing lock :func:`cycle_queueing_lock`). Raises :class:`InvalidInput`
    for a malformed tenant id or date.
    """
    from growthops.core.jobs.app import build_app

    tid, day = _check_args(tenant_id, as_of)
    with build_app(db, registrars=[register_tasks], periodic=False,
                   max_connections=2).open() as app:
        return _defer(app, db, tenant_id=tid, as_of=day)


def already_run(db: Database, days: Iterable[date]) -> set[tuple[str, date]]:
    """Return ``(str(tenant_id), as_of)`` of every cycle for ``days`` that ran or is queued.

    Two set-based queries on the owner connection, whatever the number of tenants:
    ``daily_cycle`` jobs in states todo/doing/succeeded/failed (procrastinate keeps finished
    jobs), and ``ads.cycle_runs`` rows with status ``succeeded`` (cycles run from the CLI).
    Reading ``ads.cycle_runs`` across tenants needs an owner that bypasses row-level security
    (the embedded server's superuser); elsewhere only the job rows count.
    """
    day_list = sorted(set(days))
    with db.admin() as conn:
        jobs = conn.execute(
            """select args->>'tenant_id' as tenant_id, (args->>'as_of')::date as as_of
               from procrastinate_jobs
               where task_name = %s and status::text = any(%s)
                 and args->>'as_of' = any(%s)""",
            [TASK_DAILY_CYCLE, list(_JOB_STATES_DONE), [d.isoformat() for d in day_list]],
        ).fetchall()
        runs = conn.execute(
            """select tenant_id::text as tenant_id, as_of from ads.cycle_runs
               where status = 'succeeded' and as_of = any(%s)""",
            [day_list],
        ).fetchall()
    return {(r["tenant_id"], r["as_of"]) for r in [*jobs, *runs]}


def schedule_due_cycles(
    db: Database, *, now_utc: datetime, app: App | None = None
) -> list[tuple[DueCycle, int]]:
    """Queue the daily cycle of every tenant due at ``now_utc``; return ``(due, job id)`` pairs.

    One directory query, two :func:`already_run` queries, then one defer per due tenant.
    ``app``: an open App (inside the worker); None opens a short-lived one.
    """
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    due = due_tenants(tenants, now_utc, already_run(db, candidate_days(now_utc)))
    if not due:
        return []

    def defer_all(a: App) -> list[tuple[DueCycle, int]]:
        out = []
        for d in due:
            out.append((d, _defer(a, db, tenant_id=d.tenant_id, as_of=d.as_of.isoformat())))
            logger.info("queued daily cycle of %s as of %s (local %s)",
                        d.client_key or d.tenant_id, d.as_of, d.local_time.strftime("%H:%M %Z"))
        return out

    if app is not None:
        return defer_all(app)
    from growthops.core.jobs.app import build_app

    with build_app(db, registrars=[register_tasks], periodic=False,
                   max_connections=2).open() as opened:
        return defer_all(opened)
