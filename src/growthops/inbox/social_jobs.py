"""The jobs of scheduled posts, comment monitoring and credits (issue 12; queue ``inbox``).

* ``inbox.publish_posts`` (every minute): :func:`growthops.inbox.publishing.publish_due` for
  every tenant (claims with ``for update skip locked``: two workers never publish the same
  occurrence);
* ``inbox.comments`` (every minute): for every tenant, the last N posts of each Instagram account
  put under monitoring (at most hourly per account), due monitored posts polled from their
  cursor, approved replies sent (:mod:`growthops.inbox.comments`);
* ``inbox.credits_reset`` (hourly): the monthly grant of credits on the first day of each
  tenant's local month (:func:`growthops.inbox.credits.monthly_reset`, idempotent per month).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from procrastinate import JobContext
from psycopg.types.json import Jsonb

from growthops.core.jobs.retry import db_of

if TYPE_CHECKING:
    from procrastinate import App

logger = logging.getLogger("growthops.inbox")
QUEUE = "inbox"
TASK_PUBLISH = "inbox.publish_posts"
TASK_COMMENTS = "inbox.comments"
TASK_CREDITS = "inbox.credits_reset"


def _tenants(db: Any) -> list[dict[str, Any]]:
    with db.app_tx() as conn:
        return conn.execute("select tenant_id, time_zone from core.tenant_directory()").fetchall()


def publish_posts(context: JobContext, timestamp: int) -> dict[str, int]:
    """Publish the due occurrences of every tenant."""
    from growthops.inbox.publishing import publish_due

    return publish_due(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def run_comments(db: Any, *, now: datetime, tenant_id: Any = None) -> dict[str, int]:
    """Auto-monitor, poll and send approved replies for one tenant or all; return counts."""
    from growthops.core.errors import GrowthopsError
    from growthops.inbox import comments
    from growthops.inbox.publishing import publisher_for

    out = {"monitored": 0, "comments_new": 0, "sent": 0, "failed": 0}
    tids = [str(tenant_id)] if tenant_id else [str(t["tenant_id"]) for t in _tenants(db)]
    for tid in tids:
        with db.tenant_tx(tid) as conn:
            accts = conn.execute(
                """select * from inbox.social_accounts where tenant_id = %s and platform = 'instagram'
                     and status = 'active' and (metadata->>'monitored_at' is null
                       or (metadata->>'monitored_at')::timestamptz < %s - interval '1 hour')""",
                [tid, now]).fetchall()
        for acc in accts:
            try:
                with db.tenant_tx(tid) as conn:
                    out["monitored"] += comments.auto_monitor(
                        conn, tenant_id=tid, social_account_id=acc["social_account_id"],
                        transport=publisher_for(acc), now=now)
                    conn.execute("""update inbox.social_accounts set metadata = metadata || %s
                                    where tenant_id = %s and social_account_id = %s""",
                                 [Jsonb({"monitored_at": now.isoformat()}), tid, acc["social_account_id"]])
            except GrowthopsError as exc:
                logger.warning("tenant %s account %s: auto-monitor failed: %s", tid,
                               acc["account_id"], exc)
        out["comments_new"] += comments.poll(db, tenant_id=tid, now=now)["comments_new"]
        sent = comments.send_approved(db, tenant_id=tid, now=now)
        out["sent"] += sent["sent"]
        out["failed"] += sent["failed"]
    return out


def comments_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """The comment monitoring round of every tenant."""
    return run_comments(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def credits_reset(context: JobContext, timestamp: int) -> int:
    """Grant the month's credits to every tenant whose local month changed; return how many."""
    from growthops.inbox.credits import monthly_reset

    db = db_of(context)
    now = datetime.fromtimestamp(timestamp, UTC)
    n = 0
    for t in _tenants(db):
        with db.tenant_tx(t["tenant_id"]) as conn:
            n += monthly_reset(conn, tenant_id=t["tenant_id"], now=now, time_zone=t["time_zone"])
    return n


def register(app: App, *, periodic: bool = True) -> None:
    """Register the tasks on ``app`` (and their schedules when ``periodic``)."""
    pub = app.task(name=TASK_PUBLISH, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_PUBLISH)(publish_posts)
    com = app.task(name=TASK_COMMENTS, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_COMMENTS)(comments_task)
    cre = app.task(name=TASK_CREDITS, queue=QUEUE, pass_context=True,
                   queueing_lock=TASK_CREDITS)(credits_reset)
    if periodic:
        app.periodic(cron="* * * * *", periodic_id="inbox_publish_posts")(pub)
        app.periodic(cron="* * * * *", periodic_id="inbox_comments")(com)
        app.periodic(cron="5 * * * *", periodic_id="inbox_credits_reset")(cre)
