"""The inbox AI's learning jobs (registered by :func:`growthops.inbox.jobs.register_tasks`,
queue ``inbox``):

* ``inbox.topics`` (Mondays 04:00 UTC): every tenant's topics of the last 28 days
  (:func:`growthops.inbox.ai.topics.run_topics`, scope ``global``), and those of each monitored
  post with comments in the last week (scope ``post``);
* ``inbox.faq_suggest`` (Mondays 04:30 UTC): suggested FAQ entries mined from people's answers
  (:func:`growthops.inbox.ai.faq_miner.suggest`);
* ``inbox.ai_labels`` (every hour, minute 20): labels and examples from people's actions on AI
  decisions (:func:`growthops.inbox.ai.labels.derive`);
* ``inbox.answer_models`` (every hour, minute 40): the answer classifier of each tenant whose
  FAQ entries or embedder changed, retrained, and its calibration refitted
  (:func:`growthops.inbox.ai.answer_model.train_stale`).

Each iterates the tenants explicitly and opens each tenant's own transactions; a tenant's
failure is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from procrastinate import JobContext

from growthops.core.jobs.retry import db_of

if TYPE_CHECKING:
    from procrastinate import App

logger = logging.getLogger("growthops.inbox.ai")
QUEUE = "inbox"
TASK_TOPICS = "inbox.topics"
TASK_FAQ = "inbox.faq_suggest"
TASK_LABELS = "inbox.ai_labels"
CRON_TOPICS = "0 4 * * 1"
CRON_FAQ = "30 4 * * 1"
CRON_LABELS = "20 * * * *"
TASK_ANSWER_MODELS = "inbox.answer_models"
CRON_ANSWER_MODELS = "40 * * * *"


def _tenants(db: Any) -> list[str]:
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        return [str(t["tenant_id"]) for t in directory(conn)]


def _each(db: Any, work: Any) -> dict[str, int]:
    """Run ``work(tenant_id) -> dict of counts`` for every tenant; sum the counts."""
    total: dict[str, int] = {"tenants": 0, "failed": 0}
    for tid in _tenants(db):
        try:
            out = work(tid)
        except Exception:  # one tenant's bad data must not stop the others
            logger.exception("inbox AI job failed for tenant %s", tid)
            total["failed"] += 1
            continue
        total["tenants"] += 1
        for k, v in out.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
    return total


def weekly_topics(db: Any, *, now: datetime | None = None) -> dict[str, int]:
    """The work of ``inbox.topics`` (callable without a worker); returns summed counts."""
    from growthops.inbox.ai.topics import run_topics, scopes_due

    at = now or datetime.now(UTC)

    def one(tid: str) -> dict[str, int]:
        out = run_topics(db, tenant_id=tid, now=at)
        with db.tenant_tx(tid) as conn:
            posts = scopes_due(conn, now=at)
        for p in posts:
            run_topics(db, tenant_id=tid, scope="post", scope_ref=p, now=at)
        return {"topics": out["topics"], "items": out["items"], "posts": len(posts)}

    return _each(db, one)


def weekly_faq(db: Any, *, now: datetime | None = None) -> dict[str, int]:
    """The work of ``inbox.faq_suggest``; returns summed counts."""
    from growthops.inbox.ai.faq_miner import suggest

    return _each(db, lambda tid: suggest(db, tenant_id=tid, now=now))


def hourly_labels(db: Any, *, now: datetime | None = None) -> dict[str, int]:
    """The work of ``inbox.ai_labels``; returns summed counts."""
    from growthops.inbox.ai.labels import derive

    return _each(db, lambda tid: derive(db, tenant_id=tid, now=now))


def hourly_answer_models(db: Any) -> dict[str, int]:
    """The work of ``inbox.answer_models``; returns summed counts (``trained``)."""
    from growthops.inbox.ai.answer_model import train_stale

    return _each(db, lambda tid: train_stale(db, tenant_id=tid))


def topics_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Task ``inbox.topics``."""
    return weekly_topics(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def faq_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Task ``inbox.faq_suggest``."""
    return weekly_faq(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def labels_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Task ``inbox.ai_labels``."""
    return hourly_labels(db_of(context), now=datetime.fromtimestamp(timestamp, UTC))


def answer_models_task(context: JobContext, timestamp: int) -> dict[str, int]:
    """Task ``inbox.answer_models``."""
    return hourly_answer_models(db_of(context))


def register(app: App, *, periodic: bool = True) -> None:
    """Register the four tasks on ``app`` (and their schedules when ``periodic``)."""
    for name, fn, cron, pid in ((TASK_TOPICS, topics_task, CRON_TOPICS, "inbox_topics"),
                                (TASK_FAQ, faq_task, CRON_FAQ, "inbox_faq_suggest"),
                                (TASK_LABELS, labels_task, CRON_LABELS, "inbox_ai_labels"),
                                (TASK_ANSWER_MODELS, answer_models_task, CRON_ANSWER_MODELS,
                                 "inbox_answer_models")):
        task = app.task(name=name, queue=QUEUE, pass_context=True, queueing_lock=name)(fn)
        if periodic:
            app.periodic(cron=cron, periodic_id=pid)(task)
