"""The weekly creative-tests job (task ``ads.weekly_tests``, Mondays 05:30 UTC).

Per tenant, in its own transaction: launches whose suggestion was refused or expired go back to
``draft``; every running test is looked at and closed when its decision rule is met
(:func:`growthops.ads.experiments.closing.close_finished`); the library is tagged from ad names
(:func:`growthops.ads.experiments.angles.parse_ad_names`). Then, once, the industry aggregates
are rebuilt across tenants with k-anonymity (``ads.refresh_industry_patterns``,
``ads.refresh_performance_benchmarks``). A failing tenant is logged to its system log; the
others still run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from procrastinate import App, JobContext

from growthops.ads.experiments import angles
from growthops.ads.experiments.closing import close_finished
from growthops.core.db import Database
from growthops.core.jobs.retry import db_of
from growthops.core.logs.service import log_event

TASK_WEEKLY_TESTS = "ads.weekly_tests"
#: Mondays 05:30 UTC: before the Monday daily cycles of European tenants (09:00 local).
WEEKLY_TESTS_CRON = "30 5 * * 1"
#: Window of the k-anonymous performance benchmarks, days.
BENCHMARK_DAYS = 30
logger = logging.getLogger("growthops.ads.experiments")


def reset_undecided_launches(conn: Any, *, tenant_id: UUID | str) -> int:
    """Return tests waiting for a launch whose suggestion was refused, expired or failed to
    ``draft`` (they can be launched again); returns how many."""
    return conn.execute(
        """update ads.ab_tests t set status = 'draft', suggestion_id = null, updated_at = now()
           from ads.suggestions s
           where t.tenant_id = %s and t.status = 'pending_approval'
             and s.tenant_id = t.tenant_id and s.suggestion_id = t.suggestion_id
             and (s.status in ('refused', 'expired', 'failed')
                  or (s.status = 'pending' and s.expires_at <= now()))""",
        [str(tenant_id)]).rowcount


def run_weekly(db: Database, *, tenants: list[dict[str, Any]] | None = None,
               k: int = angles.K_ANONYMITY) -> dict[str, Any]:
    """Run the weekly step for every tenant, then the aggregates; return counts and errors."""
    from growthops.core.tenants.service import directory

    if tenants is None:
        with db.app_tx() as conn:
            tenants = directory(conn)
    out: dict[str, Any] = {"tenants": 0, "closed": 0, "looked": 0, "reset": 0, "tagged": 0,
                           "errors": 0}
    for t in tenants:
        tid = UUID(str(t["tenant_id"]))
        out["tenants"] += 1
        try:
            with db.tenant_tx(tid) as conn:
                out["reset"] += reset_undecided_launches(conn, tenant_id=tid)
                res = close_finished(conn, tenant_id=tid)
                out["looked"] += len(res)
                out["closed"] += sum(r["closed"] for r in res)
                out["tagged"] += angles.parse_ad_names(conn, tenant_id=tid)
        except Exception as exc:
            out["errors"] += 1
            try:
                with db.tenant_tx(tid) as conn:
                    log_event(conn, tenant_id=tid, level="ERROR", module="ads.experiments",
                              message="weekly tests step failed", exc=exc)
            except Exception:  # the database may be the problem
                logger.exception("could not log the weekly tests failure")
    with db.app_tx() as conn:
        out["industry_patterns"] = angles.refresh_industry_patterns(conn, k)
        row = conn.execute("select ads.refresh_performance_benchmarks(%s, %s) as n",
                           [k, BENCHMARK_DAYS]).fetchone()
        out["benchmarks"] = row["n"] if row else 0
    return out


def weekly_tests(context: JobContext, timestamp: int) -> dict[str, Any]:
    """Task ``ads.weekly_tests``: :func:`run_weekly` at the tick (UTC Unix time)."""
    logger.info("weekly tests at %s", datetime.fromtimestamp(timestamp, UTC).isoformat())
    return run_weekly(db_of(context))


def register_experiment_tasks(app: App, *, periodic: bool = True) -> None:
    """Register ``ads.weekly_tests`` (and its Monday schedule when ``periodic``)."""
    task = app.task(name=TASK_WEEKLY_TESTS, pass_context=True,
                    queueing_lock=TASK_WEEKLY_TESTS)(weekly_tests)
    if periodic:
        app.periodic(cron=WEEKLY_TESTS_CRON, periodic_id=TASK_WEEKLY_TESTS)(task)
