"""Publish the scheduled posts that are due (job ``inbox.publish_posts``, every minute).

For each tenant (``core.tenant_directory()``, each in its own transaction):

1. **claim**: ``select ... where status = 'queued' and next_attempt_at <= now for update skip
   locked`` then ``status = 'publishing'`` and a ``post_runs`` row ``running`` (attempt n), in
   one committed transaction, so two workers never take the same occurrence (the second skips
   the locked row, and sees it ``publishing`` afterwards); the credit of the occurrence is
   debited in the same transaction (idempotent on ``post:<id>:<occurrence>``), and a tenant
   out of credits gets the occurrence ``failed`` with reason ``out_of_credits``;
2. **publish** outside any transaction: Instagram's container → ``media_publish`` flow
   (:class:`growthops.connectors.instagram.publishing.GraphPublisher`); the container id is
   recorded before ``media_publish`` so an interrupted run can be checked;
3. **record**: ``success`` (the media id; the post becomes a monitored post for the comment
   monitoring; the next occurrence of a recurring post is queued) or, for a transient error
   (429, 5xx, Meta's throttling and temporary codes), ``retry`` with exponential backoff
   (:func:`backoff`) up to :data:`MAX_ATTEMPTS` attempts, else ``failed`` with the platform's
   error (and the credit refunded). A unique index allows one ``success`` per occurrence.

:func:`recover_stale` handles posts left ``publishing`` by a killed worker: if the recorded
container is ``PUBLISHED`` the occurrence is recorded as published, otherwise it is queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.connectors.instagram.publishing import PublishingTransport
from growthops.connectors.messaging import MessagingError
from growthops.core.db import Database
from growthops.inbox import accounts, credits, posts

logger = logging.getLogger("growthops.inbox")
#: Attempts at one occurrence before it is failed (transient errors only).
MAX_ATTEMPTS = 5
#: A post ``publishing`` for longer than this belongs to a dead worker.
STALE_AFTER = timedelta(minutes=10)
#: Most posts claimed per tenant and run (Instagram allows 100 API posts per 24 h per account).
BATCH = 20

TransportFactory = Callable[[dict[str, Any]], PublishingTransport]


def backoff(attempt: int) -> timedelta:
    """Delay before attempt ``attempt + 1``: 60 s × 2^(attempt-1), at most 1 h (exponential
    backoff; the job runs every minute, so finer jitter is not needed)."""
    return timedelta(seconds=min(60 * 2 ** max(attempt - 1, 0), 3600))


def publisher_for(account: dict[str, Any], *, api_logger: Any = None,
                  wait_max: float = 8.0) -> PublishingTransport:
    """Build the publishing transport of an Instagram account row (decrypting its token)."""
    from growthops.connectors.instagram.publishing import GraphPublisher, SandboxPublisher
    from growthops.core.errors import ConfigError
    from growthops.core.secrets import decrypt

    if account["connector"] == "sandbox":
        return SandboxPublisher(account["account_id"])
    if not account.get("access_token"):
        raise ConfigError(f"instagram account {account['account_id']} has no token: reconnect it")
    meta = dict(account.get("metadata") or {})
    return GraphPublisher(account["account_id"], decrypt(account["access_token"]),
                          base_url=meta.get("base_url"), version=meta.get("api_version"),
                          api_logger=api_logger, wait_max=wait_max)


def claim(conn: Any, *, tenant_id: UUID | str, now: datetime, limit: int = BATCH
          ) -> list[dict[str, Any]]:
    """Claim the tenant's due posts (``for update skip locked``) and open their runs; return
    ``[{post..., run_id, attempt, account}]``. Runs in the tenant's transaction, which must
    commit before publishing. Occurrences the tenant cannot pay are failed here."""
    tid = str(tenant_id)
    rows = conn.execute(
        """with due as (
             select post_id from inbox.scheduled_posts
             where tenant_id = %(t)s and status = 'queued' and next_attempt_at <= %(now)s
             order by next_attempt_at limit %(n)s for update skip locked)
           update inbox.scheduled_posts p set status = 'publishing', claimed_at = %(now)s,
             updated_at = now()
           from due where p.tenant_id = %(t)s and p.post_id = due.post_id
           returning p.*""", {"t": tid, "now": now, "n": limit}).fetchall()
    if not rows:
        return []
    runs = {r["post_id"]: r for r in conn.execute(
        """insert into inbox.post_runs (tenant_id, post_id, occurrence_at, attempt, started_at)
           select %s, x.post_id, x.occurrence_at, x.attempt, %s
           from unnest(%s::bigint[], %s::timestamptz[], %s::int[]) as x(post_id, occurrence_at, attempt)
           returning run_id, post_id, attempt""",
        [tid, now, [r["post_id"] for r in rows], [r["occurrence_at"] for r in rows],
         [r["retry_count"] + 1 for r in rows]]).fetchall()}
    out = []
    for r in rows:
        try:
            credits.debit(conn, tenant_id=tid, reason="post_published",
                          action_id=f"post:{r['post_id']}:{r['occurrence_at'].isoformat()}",
                          metadata={"post_id": r["post_id"]})
        except credits.OutOfCredits as exc:
            _finish(conn, tid, {**r, **runs[r["post_id"]]}, now=now, ok=None,
                    error=str(exc), code="out_of_credits", permanent=True, refund=False)
            continue
        out.append({**r, **runs[r["post_id"]],
                    "account": accounts.get_account(conn, tenant_id=tid,
                                                    social_account_id=r["social_account_id"])})
    return out


def _next_after(post: dict[str, Any], now: datetime) -> datetime | None:
    """The occurrence after this one, skipping those missed by more than MISSED_AFTER."""
    return posts.next_occurrence(post, max(post["occurrence_at"], now - posts.MISSED_AFTER))


def _finish(conn: Any, tid: str, job: dict[str, Any], *, now: datetime, ok: str | None,
            error: str | None = None, code: str | None = None, permanent: bool = False,
            refund: bool = True) -> str:
    """Record the run's outcome and move the post on; return the run's status."""
    occ = job["occurrence_at"]
    if ok is not None:
        status = "success"
    elif not permanent and job["attempt"] < MAX_ATTEMPTS:
        status = "retry"
    else:
        status = "failed"
    conn.execute(
        """update inbox.post_runs set status = %s, finished_at = %s, platform_post_id = %s,
             error = %s, error_code = %s where tenant_id = %s and run_id = %s""",
        [status, now, ok, error, code, tid, job["run_id"]])
    if status == "retry":
        conn.execute(
            """update inbox.scheduled_posts set status = 'queued', retry_count = %s,
                 next_attempt_at = %s, error_message = %s, claimed_at = null, updated_at = now()
               where tenant_id = %s and post_id = %s""",
            [job["attempt"], now + backoff(job["attempt"]), error, tid, job["post_id"]])
        return status
    if status == "failed" and refund:
        credits.credit(conn, tenant_id=tid, reason="adjustment", amount=1,
                       action_id=f"refund:post:{job['post_id']}:{occ.isoformat()}",
                       metadata={"post_id": job["post_id"], "error": (error or "")[:200]})
    nxt = _next_after(job, now)
    final = "published" if status == "success" else "failed"
    conn.execute(
        """update inbox.scheduled_posts set
             status = case when %(nxt)s::timestamptz is null then %(final)s else 'queued' end,
             occurrence_at = %(nxt)s, next_attempt_at = %(nxt)s, retry_count = 0,
             claimed_at = null, error_message = %(err)s,
             platform_post_id = coalesce(%(ok)s, platform_post_id),
             published_count = published_count + case when %(ok)s::text is null then 0 else 1 end,
             updated_at = now()
           where tenant_id = %(t)s and post_id = %(p)s""",
        {"nxt": nxt, "final": final, "err": error, "ok": ok, "t": tid, "p": job["post_id"]})
    if ok is not None:
        from growthops.inbox import comments

        content = job["content_json"] or {}
        media = (content.get("media") or [{}])[0]
        comments.monitor_post(conn, tenant_id=tid, social_account_id=job["social_account_id"],
                              platform_post_id=ok, caption=content.get("text"),
                              media_url=media.get("url"), posted_at=now, source="scheduled",
                              post_id=job["post_id"], now=now)
    return status


def publish_one(db: Database, tid: str, job: dict[str, Any], *, now: datetime,
                transport: PublishingTransport | None = None, api_logger: Any = None) -> str:
    """Publish one claimed occurrence and record the outcome; return the run's status."""
    content = job["content_json"] or {}

    def record_container(container_id: str) -> None:
        with db.tenant_tx(tid) as conn:
            conn.execute("update inbox.post_runs set container_id = %s where tenant_id = %s "
                         "and run_id = %s", [container_id, tid, job["run_id"]])

    try:
        tr = transport or publisher_for(job["account"], api_logger=api_logger)
        media_id = tr.publish(str(content.get("text") or ""), list(content.get("media") or []),
                              on_container=record_container)
    except MessagingError as exc:
        with db.tenant_tx(tid) as conn:
            if exc.kind == "token_expired":
                accounts.mark_expired(conn, tenant_id=tid,
                                      social_account_id=job["social_account_id"], reason=str(exc))
            return _finish(conn, tid, job, now=now, ok=None, error=str(exc),
                           code=exc.kind + (f":{exc.meta_code}" if exc.meta_code else ""),
                           permanent=not exc.retryable)
    except Exception as exc:  # a bug or a configuration error: failed, never silently retried
        logger.exception("post %s: publishing failed", job["post_id"])
        with db.tenant_tx(tid) as conn:
            return _finish(conn, tid, job, now=now, ok=None, error=f"{type(exc).__name__}: {exc}",
                           code="internal", permanent=True)
    with db.tenant_tx(tid) as conn:
        return _finish(conn, tid, job, now=now, ok=media_id)


def recover_stale(db: Database, tid: str, *, now: datetime,
                  transport_factory: TransportFactory | None = None) -> int:
    """Settle the tenant's posts left ``publishing`` for over :data:`STALE_AFTER`; return how
    many. A run whose container Instagram reports ``PUBLISHED`` is recorded as a success
    (the media id is unknown: ``platform_post_id`` stays NULL); otherwise the attempt is a
    ``retry`` (nothing reached the feed)."""
    with db.tenant_tx(tid) as conn:
        stale = conn.execute(
            """select p.*, r.run_id, r.attempt, r.container_id from inbox.scheduled_posts p
               join lateral (select * from inbox.post_runs r where r.tenant_id = p.tenant_id
                             and r.post_id = p.post_id and r.status = 'running'
                             order by run_id desc limit 1) r on true
               where p.tenant_id = %s and p.status = 'publishing' and p.claimed_at < %s
               for update of p skip locked""", [tid, now - STALE_AFTER]).fetchall()
        for job in stale:
            published = False
            if job["container_id"]:
                acc = accounts.get_account(conn, tenant_id=tid,
                                           social_account_id=job["social_account_id"])
                try:
                    tr = (transport_factory or publisher_for)(acc)
                    published = tr.container_status(job["container_id"]) == "PUBLISHED"
                except MessagingError:
                    published = False
            if published:
                conn.execute("update inbox.post_runs set status = 'success', finished_at = %s, "
                             "error = 'recovered: container PUBLISHED' where tenant_id = %s "
                             "and run_id = %s", [now, tid, job["run_id"]])
                nxt = _next_after(job, now)
                conn.execute(
                    """update inbox.scheduled_posts set status = case when %(n)s::timestamptz is null
                         then 'published' else 'queued' end, occurrence_at = %(n)s,
                         next_attempt_at = %(n)s, retry_count = 0, claimed_at = null,
                         published_count = published_count + 1, updated_at = now()
                       where tenant_id = %(t)s and post_id = %(p)s""",
                    {"n": nxt, "t": tid, "p": job["post_id"]})
            else:
                _finish(conn, tid, dict(job), now=now, ok=None,
                        error="interrupted: the worker stopped while publishing", code="interrupted")
    return len(stale)


def publish_due(db: Database, *, now: datetime | None = None, tenant_id: UUID | str | None = None,
                transport_factory: TransportFactory | None = None,
                api_logger: Any = None) -> dict[str, int]:
    """Publish every due occurrence (one tenant, or all); return counts per run status.

    ``transport_factory(account_row)``: overrides :func:`publisher_for` (tests)."""
    at = now or datetime.now(UTC)
    if tenant_id is not None:
        tids = [str(tenant_id)]
    else:
        with db.app_tx() as conn:
            tids = [str(r["tenant_id"]) for r in
                    conn.execute("select tenant_id from core.tenant_directory()").fetchall()]
    counts = {"success": 0, "retry": 0, "failed": 0, "recovered": 0}
    for tid in tids:
        counts["recovered"] += recover_stale(db, tid, now=at, transport_factory=transport_factory)
        with db.tenant_tx(tid) as conn:
            jobs = claim(conn, tenant_id=tid, now=at)
            failed_now = conn.execute(
                """select count(*) as n from inbox.post_runs where tenant_id = %s
                   and started_at = %s and error_code = 'out_of_credits'""", [tid, at]).fetchone()["n"]
        counts["failed"] += int(failed_now)
        for job in jobs:
            tr = transport_factory(job["account"]) if transport_factory else None
            status = publish_one(db, tid, job, now=at, transport=tr, api_logger=api_logger)
            counts[status] += 1
    return counts
