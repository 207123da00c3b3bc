"""The inbox domain's jobs (procrastinate, task names ``inbox.*``, queue ``inbox``).

* ``inbox.process_webhook(event_id)``: process one stored delivery
  (:func:`growthops.inbox.ingest.process_event`); queued by the webhook route in the same
  statement that stores the delivery; idempotent, retried after transient database errors.
* ``inbox.recover`` (every minute): deliveries left unprocessed (a worker killed with SIGKILL
  mid-job, a job that failed) are queued again after :data:`RECOVER_AFTER`; jobs of a worker
  whose heartbeat stopped are retried (procrastinate's stalled jobs).
* ``inbox.upkeep`` (every 15 minutes): escalate unanswered conversations whose automated window
  has closed (reason ``outside_window``), then recompute every tenant's KPIs for the last 2 days.
* ``inbox.purge_webhooks`` (03:00 UTC): delete processed raw deliveries older than 30 days.
* ``inbox.ai_sweep`` (every minute): index the knowledge-base documents still ``processing``
  (uploads through the API) and send the AI replies still ``pending`` after
  :data:`PENDING_AFTER` (a crash between the commit and the send); see
  :mod:`growthops.inbox.ai.policy`.
* ``inbox.vector_indexes`` (every 5 minutes): build the per-tenant HNSW indexes of tenants past
  ``EXACT_MAX`` passages and drop those of deleted or shrunk tenants
  (:func:`growthops.inbox.ai.vector_index.ensure`). Its own task, so that a build (minutes for
  100,000 passages) never holds the minute's sweep, whose late replies and uploads wait on it;
  until the index exists the tenant is searched exactly (correct, slower).
* ``inbox.publish_posts``, ``inbox.comments``, ``inbox.credits_reset``: see
  :mod:`growthops.inbox.social_jobs`.
* ``inbox.topics``, ``inbox.faq_suggest`` (weekly), ``inbox.ai_labels``,
  ``inbox.answer_models`` (hourly): see
  :mod:`growthops.inbox.ai.jobs`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from procrastinate import JobContext

from growthops.core.jobs.retry import TransientDbRetry, db_of

if TYPE_CHECKING:
    from procrastinate import App

logger = logging.getLogger("growthops.inbox")
QUEUE = "inbox"
TASK_PROCESS = "inbox.process_webhook"
TASK_RECOVER = "inbox.recover"
TASK_UPKEEP = "inbox.upkeep"
TASK_PURGE = "inbox.purge_webhooks"
TASK_AI_SWEEP = "inbox.ai_sweep"
TASK_VECTOR_INDEXES = "inbox.vector_indexes"
#: A pending AI reply older than this is sent by the sweep (the ingestion sends it at once).
PENDING_AFTER = timedelta(minutes=1)
#: A delivery still unprocessed after this is queued again (processing takes milliseconds).
RECOVER_AFTER = timedelta(seconds=60)
#: Raw deliveries are personal data: kept 30 days after processing.
KEEP_RAW = timedelta(days=30)
#: A worker without heartbeat for this long is dead (procrastinate's default is 30 s).
STALLED_AFTER_SECONDS = 30


def process_webhook(context: JobContext, event_id: int) -> dict[str, Any]:
    """Process one stored delivery (see :func:`growthops.inbox.ingest.process_event`)."""
    from growthops.inbox.ingest import process_event

    return process_event(db_of(context), int(event_id))


def requeue(db: Any, *, older_than: timedelta = RECOVER_AFTER) -> int:
    """Queue again the deliveries unprocessed for longer than ``older_than``; return how many."""
    with db.app_tx() as conn:
        row = conn.execute("select inbox.requeue_webhooks(%s) as n", [older_than]).fetchone()
    return int(row["n"])


async def recover(context: JobContext, timestamp: int) -> dict[str, int]:
    """Retry stalled processing jobs, then requeue unprocessed deliveries (task ``inbox.recover``)."""
    from starlette.concurrency import run_in_threadpool

    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(task_name=TASK_PROCESS,
                                             seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    for job in stalled:
        await manager.retry_job(job)
    queued = await run_in_threadpool(requeue, db_of(context))
    return {"stalled_retried": len(list(stalled)), "requeued": queued}


def upkeep(context: JobContext, timestamp: int) -> dict[str, int]:
    """Escalate closed-window conversations and refresh KPIs for every tenant."""
    from growthops.inbox.kpis.store import refresh_all
    from growthops.inbox.upkeep import escalate_closed_windows

    db = db_of(context)
    now = datetime.fromtimestamp(timestamp, UTC)
    escalated = escalate_closed_windows(db, now=now)
    tenants = refresh_all(db, start=now - timedelta(days=2), end=now)
    return {"escalated": escalated, "tenants": tenants}


def purge_webhooks(context: JobContext, timestamp: int) -> int:
    """Delete processed raw deliveries older than :data:`KEEP_RAW`; return how many."""
    with db_of(context).app_tx() as conn:
        return int(conn.execute("select inbox.purge_webhooks(%s) as n", [KEEP_RAW]).fetchone()["n"])


def ai_sweep(context: JobContext, timestamp: int) -> dict[str, int]:
    """Index pending documents and send stale pending AI replies, for every tenant."""
    return sweep_ai(db_of(context))


def sweep_ai(db: Any, *, pending_after: timedelta = PENDING_AFTER) -> dict[str, int]:
    """The work of ``inbox.ai_sweep`` (callable without a worker); returns counts."""
    from growthops.core.tenants.service import directory
    from growthops.inbox.ai.kb import index_document, pending_documents
    from growthops.inbox.ai.policy import send_pending

    with db.app_tx() as conn:
        tenants = [str(t["tenant_id"]) for t in directory(conn)]
    out = {"indexed": 0, "failed": 0, "sent": 0}
    for tid in tenants:
        with db.tenant_tx(tid) as conn:
            docs = pending_documents(conn, tenant_id=tid)
            stale = [r["ai_decision_id"] for r in conn.execute(
                """select ai_decision_id from inbox.ai_decisions where tenant_id = %s
                     and reply_status = 'pending' and created_at < now() - %s""",
                [tid, pending_after]).fetchall()]
        for d in docs:
            res = index_document(db, tenant_id=tid, document_id=d)
            out["indexed" if res["status"] == "indexed" else "failed"] += 1
        if stale:
            out["sent"] += send_pending(db, tenant_id=tid, decision_ids=stale)["sent"]
    return out


def vector_indexes(context: JobContext, timestamp: int) -> dict[str, int]:
    """Build and drop the per-tenant HNSW indexes (:func:`growthops.inbox.ai.vector_index.ensure`);
    returns its counts. A failed build is logged and counted there; the next run retries it."""
    from growthops.inbox.ai import vector_index

    return vector_index.ensure(db_of(context))


def register_tasks(app: App, *, periodic: bool = True) -> None:
    """Register the inbox tasks on ``app`` (and their schedules when ``periodic``)."""
    app.task(name=TASK_PROCESS, queue=QUEUE, retry=TransientDbRetry(),
             pass_context=True)(process_webhook)
    rec = app.task(name=TASK_RECOVER, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_RECOVER)(recover)
    up = app.task(name=TASK_UPKEEP, queue=QUEUE, pass_context=True,
                  queueing_lock=TASK_UPKEEP)(upkeep)
    pur = app.task(name=TASK_PURGE, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_PURGE)(purge_webhooks)
    sweep = app.task(name=TASK_AI_SWEEP, queue=QUEUE, pass_context=True,
                     queueing_lock=TASK_AI_SWEEP)(ai_sweep)
    vix = app.task(name=TASK_VECTOR_INDEXES, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_VECTOR_INDEXES)(vector_indexes)
    from growthops.inbox.social_jobs import register as register_social

    register_social(app, periodic=periodic)
    from growthops.inbox.ai.jobs import register as register_ai_learning

    register_ai_learning(app, periodic=periodic)
    if periodic:
        app.periodic(cron="* * * * *", periodic_id="inbox_ai_sweep")(sweep)
        app.periodic(cron="*/5 * * * *", periodic_id="inbox_vector_indexes")(vix)
        app.periodic(cron="* * * * *", periodic_id="inbox_recover")(rec)
        app.periodic(cron="*/15 * * * *", periodic_id="inbox_upkeep")(up)
        app.periodic(cron="0 3 * * *", periodic_id="inbox_purge")(pur)
