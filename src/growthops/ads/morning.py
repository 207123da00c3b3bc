"""An agency's morning: every tenant's daily cycle queued, run by the worker, then checked.

:func:`queue_morning` defers one ``daily_cycle`` job per tenant (twice, to prove the queueing
lock keeps one); :func:`morning_report` reads back, with the owner connection, what the worker
did: jobs per status, cycle runs per tenant, "daily cycle started" log lines per tenant (a
cycle run twice logs twice), and the time from the first job's start to the last cycle's end
(the last digest: ``after_cycle`` runs inside the same job). Used by ``bench/agency_morning.py``
and ``tests/ads/test_morning.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from growthops.ads.jobs import TASK_DAILY_CYCLE, defer_daily_cycle
from growthops.core.db import Database


def queue_morning(db: Database, tenant_ids: list[UUID], as_of: date) -> dict[UUID, int]:
    """Defer each tenant's cycle for ``as_of`` twice; return ``{tenant: job id}``.

    Raises AssertionError when the second defer of a tenant did not return the first job
    (the queueing lock, :func:`growthops.ads.jobs.cycle_queueing_lock`, failed)."""
    out = {}
    for tid in tenant_ids:
        first = defer_daily_cycle(db, tenant_id=tid, as_of=as_of)
        again = defer_daily_cycle(db, tenant_id=tid, as_of=as_of)
        if first != again:
            raise AssertionError(f"tenant {tid}: two jobs queued for {as_of} ({first}, {again})")
        out[tid] = first
    return out


def morning_report(db: Database, tenant_ids: list[UUID], as_of: date) -> dict[str, Any]:
    """What the worker did for ``as_of``: ``jobs`` ({status: count}), ``runs`` ({tenant: number
    of succeeded ``ads.cycle_runs`` rows}), ``starts`` ({tenant: "daily cycle started" log
    lines}), ``lost`` (tenants with no succeeded run), ``twice`` (tenants started more than
    once), ``seconds_to_last`` (first job start to the last cycle's end, seconds).
    Needs the owner connection (reads across tenants)."""
    ids = [str(t) for t in tenant_ids]
    with db.admin() as conn:
        jobs = conn.execute(
            """select status::text as status, count(*) as n from procrastinate_jobs
               where task_name = %s and args->>'as_of' = %s group by 1""",
            [TASK_DAILY_CYCLE, as_of.isoformat()]).fetchall()
        runs = conn.execute(
            """select tenant_id::text as t, count(*) as n, min(started_at) as s, max(finished_at) as f
               from ads.cycle_runs where as_of = %s and status = 'succeeded' and tenant_id::text = any(%s)
               group by 1""", [as_of, ids]).fetchall()
        starts = conn.execute(
            """select tenant_id::text as t, count(*) as n from core.system_logs
               where message = %s and tenant_id::text = any(%s) group by 1""",
            [f"daily cycle started (as of {as_of.isoformat()})", ids]).fetchall()
        first = conn.execute(
            """select min(e.at) as s from procrastinate_events e join procrastinate_jobs j on j.id = e.job_id
               where j.task_name = %s and j.args->>'as_of' = %s and e.type = 'started'""",
            [TASK_DAILY_CYCLE, as_of.isoformat()]).fetchone()["s"]
    run_n = {r["t"]: r["n"] for r in runs}
    start_n = {r["t"]: r["n"] for r in starts}
    last = max((r["f"] for r in runs), default=None)
    return {
        "jobs": {r["status"]: r["n"] for r in jobs},
        "runs": run_n,
        "starts": start_n,
        "lost": [t for t in ids if run_n.get(t, 0) == 0],
        "twice": [t for t in ids if start_n.get(t, 0) > 1],
        "seconds_to_last": (last - first).total_seconds() if last and first else None,
    }
