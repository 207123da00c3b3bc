"""The leads domain's jobs (procrastinate; names prefixed ``leads.``).

* ``leads.enrich_lead(tenant_id, lead_id)``: one job per lead, deferred after the capture's
  201 in batches (:func:`defer_enrichment`), or by the sweep (queueing lock
  ``leads.enrich:<lead>``); idempotent (a lead already enriched is skipped); retried on transient database and LLM errors; then queues the
  personalised reply when the tenant's policy allows it.
* ``leads.send_reply(tenant_id, send_id)``: one e-mail; transient SMTP failures are retried
  (5 times, 4 s × 4^n backoff), then the send is marked failed (visible on the lead's page).
* ``leads.sweep`` (every 5 minutes): safety net — defers the enrichment of leads still pending
  after a minute (a crash between commit and deferral) and re-defers queued replies.
* ``leads.weekly_insights`` (Mondays 06:00 UTC): growth insights of every tenant with leads.
* ``leads.outreach_send`` (every 5 minutes): due follow-ups rendered, approved outreach sent
  within caps, hours and the suppression list (:mod:`growthops.leads.outreach.sending`).
* ``leads.outreach_metrics`` (hourly): campaign and industry metrics recomputed set-based.
* ``leads.prospect_queue`` (hourly; acts at 07:xx in each tenant's time zone): the day's queue.
* ``leads.expire`` (daily 03:30 UTC): deletes ``feedback_tracking`` rows past ``expires_at``
  (1 year), expired translation cache entries and idempotency keys older than 24 hours.

Every job carries ``tenant_id`` and opens the tenant's transaction itself (procrastinate's
tables have no row-level security).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from procrastinate import JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy

from growthops.core.jobs.retry import db_of, is_transient_db_error

if TYPE_CHECKING:
    from procrastinate import App
    from procrastinate.jobs import Job

    from growthops.core.db import Database

logger = logging.getLogger("growthops.leads.jobs")
MAX_RETRIES = 5
BACKOFF_BASE = 4


class LeadsRetry(BaseRetryStrategy):
    """Retry transient database errors, LLM errors marked transient and SMTP 4xx/network
    errors, waiting ``4 ** (attempts + 1)`` seconds, at most 5 times."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        from growthops.connectors.smtp import SendError
        from growthops.core.ai import LLMError

        transient = is_transient_db_error(exception) or (
            isinstance(exception, SendError | LLMError) and exception.transient)
        if not transient or job.attempts >= MAX_RETRIES:
            return None
        return RetryDecision(retry_in={"seconds": BACKOFF_BASE ** (job.attempts + 1)})


def enrich_lead(context: JobContext, tenant_id: str, lead_id: int) -> dict[str, Any]:
    """Enrich one lead, then queue and defer its reply if the policy allows."""
    from growthops.core.ai.llm import llm_from_settings
    from growthops.leads.enrichment.service import enrich_leads
    from growthops.leads.replies import queue_replies

    db = db_of(context)
    tid = UUID(str(tenant_id))
    with db.tenant_tx(tid) as conn:
        readings = enrich_leads(conn, tenant_id=tid, lead_ids=[int(lead_id)],
                                llm=llm_from_settings(db.settings))
        sends = queue_replies(conn, tenant_id=tid, lead_ids=[r.lead_id for r in readings],
                              from_default=db.settings.smtp_from)
    for send_id in sends:
        context.app.configure_task("leads.send_reply", queueing_lock=f"leads.send:{send_id}",
                                   ).defer(tenant_id=str(tid), send_id=send_id)
    return {"enriched": len(readings), "replies": len(sends)}


def send_reply(context: JobContext, tenant_id: str, send_id: int) -> str:
    """Send one queued reply over SMTP; mark it failed after the last retry."""
    from growthops.connectors.smtp import SendError, sender_from_settings
    from growthops.leads.replies import mark_failed, send_one

    db = db_of(context)
    tid = UUID(str(tenant_id))
    sender = sender_from_settings(db.settings)
    if sender is None:
        logger.warning("reply %s not sent: no SMTP host configured (GROWTHOPS_SMTP_HOST)", send_id)
        return "no_smtp"
    try:
        with db.tenant_tx(tid) as conn:
            return send_one(conn, tenant_id=tid, send_id=int(send_id), sender=sender)
    except SendError:
        if context.job.attempts + 1 >= MAX_RETRIES + 1:
            with db.tenant_tx(tid) as conn:
                mark_failed(conn, tenant_id=tid, send_id=int(send_id))
        raise


def sweep(context: JobContext, timestamp: int) -> dict[str, int]:
    """Defer enrichment of leads pending for over a minute and sends still queued."""
    return sweep_all(db_of(context), app=context.app)


def sweep_all(db: Database, *, app: App) -> dict[str, int]:
    """Per tenant: defer pending enrichments (older than 1 minute) and queued replies."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    n_leads = n_sends = 0
    for t in tenants:
        tid = str(t["tenant_id"])
        with db.tenant_tx(tid) as conn:
            leads = [r["lead_id"] for r in conn.execute(
                """select lead_id from leads.lead_memory where tenant_id = %s
                   and enrichment_status = 'pending' and not deleted
                   and received_at < now() - interval '1 minute' limit 1000""", [tid])]
            sends = [r["send_id"] for r in conn.execute(
                """select send_id from leads.email_sends where tenant_id = %s
                   and status = 'queued' and created_at < now() - interval '1 minute'
                   limit 1000""", [tid])]
        for lid in leads:
            n_leads += _defer(app, "leads.enrich_lead", f"leads.enrich:{lid}",
                              tenant_id=tid, lead_id=lid)
        for sid in sends:
            n_sends += _defer(app, "leads.send_reply", f"leads.send:{sid}",
                              tenant_id=tid, send_id=sid)
    return {"leads": n_leads, "sends": n_sends}


def _defer(app: App, task: str, lock: str, **kwargs: Any) -> int:
    from procrastinate import exceptions

    try:
        app.configure_task(task, queueing_lock=lock).defer(**kwargs)
        return 1
    except exceptions.AlreadyEnqueued:
        return 0


def weekly_insights(context: JobContext, timestamp: int) -> int:
    """Compute the week's growth insights of every tenant that has leads."""
    from growthops.core.tenants.service import directory
    from growthops.leads.insights import compute

    db = db_of(context)
    now = datetime.fromtimestamp(timestamp, UTC)
    with db.app_tx() as conn:
        tenants = directory(conn)
    done = 0
    for t in tenants:
        with db.tenant_tx(t["tenant_id"]) as conn:
            if conn.execute("select 1 from leads.lead_memory where tenant_id = %s limit 1",
                            [str(t["tenant_id"])]).fetchone():
                compute(conn, tenant_id=t["tenant_id"], as_of=now)
                done += 1
    return done


def expire(context: JobContext, timestamp: int) -> dict[str, int]:
    """Delete expired feedback (1 year), translation cache (90 days), idempotency keys (24 h)."""
    return expire_all(db_of(context))


def expire_all(db: Database) -> dict[str, int]:
    """Run :func:`expire` for every tenant; return the rows deleted per table."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    out = {"feedback": 0, "translations": 0, "idempotency": 0}
    for t in tenants:
        tid = str(t["tenant_id"])
        with db.tenant_tx(tid) as conn:
            out["feedback"] += conn.execute(
                "delete from leads.feedback_tracking where tenant_id = %s and expires_at <= now()",
                [tid]).rowcount
            out["translations"] += conn.execute(
                "delete from leads.translation_cache where tenant_id = %s and expires_at <= now()",
                [tid]).rowcount
            out["idempotency"] += conn.execute(
                """delete from leads.idempotency_keys where tenant_id = %s
                   and created_at < now() - interval '24 hours'""", [tid]).rowcount
    return out


def register_tasks(app: App, *, periodic: bool = True) -> None:
    """Register the leads tasks (and their schedules when ``periodic``)."""
    retry = LeadsRetry()
    app.task(name="leads.enrich_lead", retry=retry, pass_context=True)(enrich_lead)
    app.task(name="leads.send_reply", retry=retry, pass_context=True)(send_reply)
    tasks = {
        "leads.sweep": (sweep, "*/5 * * * *"),
        "leads.weekly_insights": (weekly_insights, "0 6 * * 1"),
        "leads.expire": (expire, "30 3 * * *"),
        "leads.outreach_send": (outreach_send, "*/5 * * * *"),
        "leads.outreach_metrics": (outreach_metrics, "17 * * * *"),
        "leads.prospect_queue": (prospect_queue, "2 * * * *"),
    }
    for name, (fn, cron) in tasks.items():
        task = app.task(name=name, pass_context=True)(fn)
        if periodic:
            app.periodic(cron=cron, periodic_id=name)(task)


# ------------------------------------------------------------------- deferring from the web
_apps: dict[int, Any] = {}
_batchers: dict[int, _Batcher] = {}
_lock = threading.Lock()
#: Longest wait of a stored lead before its job is deferred (seconds), and the batch size.
BATCH_WAIT_SECONDS = 0.1
BATCH_MAX = 200


def _open_app(db: Database) -> Any:
    """A process-wide opened App for ``db`` (deferring only; 2 connections)."""
    from growthops.core.jobs.app import build_app

    with _lock:
        app = _apps.get(id(db))
        if app is None:
            app = build_app(db, registrars=[register_tasks], periodic=False, max_connections=2)
            app.open()
            _apps[id(db)] = app
        return app


class _Batcher:
    """Collects stored leads and defers their ``leads.enrich_lead`` jobs in batches (one
    statement per batch instead of one per lead), from a daemon thread."""

    def __init__(self, db: Database) -> None:
        import queue

        self.db = db
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._run, name="leads-defer", daemon=True).start()

    def _run(self) -> None:
        import queue

        while True:
            batch = [self.queue.get()]
            deadline = time.monotonic() + BATCH_WAIT_SECONDS
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self.queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:  # duplicates with the sweep are harmless: the job skips enriched leads
                _open_app(self.db).configure_task("leads.enrich_lead").batch_defer(*batch)
            except Exception:  # the leads are stored; the sweep will defer them
                logger.warning("could not defer %d enrichment jobs; the sweep will", len(batch),
                               exc_info=True)


def defer_enrichment(db: Database, *, tenant_id: UUID | str, lead_id: int) -> bool:
    """Queue the enrichment job of a stored lead (after the 201), batched by a background
    thread. Never raises: a failure is logged and the 5-minute sweep defers it later."""
    with _lock:
        batcher = _batchers.get(id(db))
        if batcher is None:
            batcher = _batchers[id(db)] = _Batcher(db)
    batcher.queue.put({"tenant_id": str(tenant_id), "lead_id": int(lead_id)})
    return True


# ------------------------------------------------------------------- prospects and outreach
def outreach_send(context: JobContext, timestamp: int) -> dict[str, int]:
    """Every 5 minutes: per tenant, render due follow-ups, then send due approved e-mails."""
    return outreach_send_all(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def mailbox_sender(settings: Any) -> Any:
    """``sender_for(mailbox)``: an SMTP session to the mailbox's server (or the app's
    ``GROWTHOPS_SMTP_*`` relay when the mailbox names none)."""
    from growthops.connectors.smtp import SmtpSession

    def sender_for(mb: dict[str, Any]) -> SmtpSession:
        pw = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpSession(host=mb.get("smtp_host") or settings.smtp_host or "127.0.0.1",
                           port=mb.get("smtp_port") or settings.smtp_port,
                           username=mb.get("smtp_username") or settings.smtp_username,
                           password=pw, starttls=bool(mb.get("smtp_starttls", True)))
    return sender_for


def outreach_send_all(db: Database, *, now: datetime) -> dict[str, int]:
    """Follow-ups and sends of every tenant with outreach (see :func:`outreach_send`)."""
    from growthops.core.tenants.service import directory
    from growthops.leads.outreach import campaigns, sending

    with db.app_tx() as conn:
        tenants = directory(conn)
    out = {"follow_ups": 0, "sent": 0}
    for t in tenants:
        tid = str(t["tenant_id"])
        with db.tenant_tx(tid) as conn:
            if not conn.execute("select 1 from leads.outreach_sequences where tenant_id = %s "
                                "and state = 'active' limit 1", [tid]).fetchone():
                continue
            out["follow_ups"] += campaigns.schedule_follow_ups(conn, tenant_id=tid, now=now)
        res = sending.send_due(db, tenant_id=tid, sender_for=mailbox_sender(db.settings), now=now)
        out["sent"] += res["sent"]
    return out


def outreach_metrics(context: JobContext, timestamp: int) -> int:
    """Hourly: recompute campaign and industry metrics of every tenant with campaigns."""
    from growthops.core.tenants.service import directory
    from growthops.leads.outreach.metrics import recompute

    db = db_of(context)
    with db.app_tx() as conn:
        tenants = directory(conn)
    done = 0
    for t in tenants:
        with db.tenant_tx(t["tenant_id"]) as conn:
            if conn.execute("select 1 from leads.outreach_campaigns where tenant_id = %s limit 1",
                            [str(t["tenant_id"])]).fetchone():
                recompute(conn, tenant_id=t["tenant_id"])
                done += 1
    return done


#: Local hour at which each tenant's daily prospect queue is built.
QUEUE_HOUR = 7


def prospect_queue(context: JobContext, timestamp: int) -> int:
    """Hourly: tenants whose local time is 07:xx get the day's prospect queue (once a day)."""
    return prospect_queue_all(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def prospect_queue_all(db: Database, *, now: datetime) -> int:
    """Build the local day's queue of every tenant at :data:`QUEUE_HOUR` in its time zone."""
    from zoneinfo import ZoneInfo

    from growthops.core.tenants.service import directory
    from growthops.leads.prospects.store import build_queue

    with db.app_tx() as conn:
        tenants = directory(conn)
    n = 0
    for t in tenants:
        local = now.astimezone(ZoneInfo(t["time_zone"] or "UTC"))
        if local.hour != QUEUE_HOUR:
            continue
        with db.tenant_tx(t["tenant_id"]) as conn:
            n += build_queue(conn, tenant_id=t["tenant_id"], day=local.date())
    return n
