"""The job worker (``growthops worker``): every installed domain's tasks and schedules.

A composition root: :func:`build_app` registers the tasks of each domain of
:func:`growthops.domains.installed` (their ``jobs`` entry point) on one procrastinate App.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TYPE_CHECKING

from growthops.core.jobs import app as jobs_app
from growthops.core.logs.service import install_log_handler
from growthops.domains import installed

if TYPE_CHECKING:
    from procrastinate import App

    from growthops.core.db import Database

#: Upper bound of worker passes in ``--once`` mode (each pass runs every job it can fetch).
MAX_ONCE_PASSES = 100

_RUNNABLE_SQL = """
select coalesce(array_agg(id order by id), '{}') as ids from procrastinate_jobs
where status = 'todo' and (scheduled_at is null or scheduled_at <= now())
"""


async def _run_once(app: App, concurrency: int) -> None:
    """Run passes of a ``wait=False`` worker until no job waiting now can make progress.

    One pass stops as soon as a fetch finds nothing runnable, which also happens when the only
    waiting job is held back by the per-tenant lock of a job still running; the next pass runs
    it. Stops when the set of runnable jobs is empty or unchanged by a pass (jobs held by a
    lock of another worker), or after :data:`MAX_ONCE_PASSES`. Jobs scheduled for later
    (retries in backoff) are left for a later run.
    """
    async with app.open_async():
        before = None
        for _ in range(MAX_ONCE_PASSES):
            await app.run_worker_async(
                wait=False, concurrency=concurrency, listen_notify=False,
                install_signal_handlers=False, name="growthops-once",
            )
            row = await app.connector.execute_query_one_async(_RUNNABLE_SQL)
            ids = list(row["ids"])
            if not ids or ids == before:
                return
            before = ids


def _console_logging() -> None:
    """Show INFO lines of procrastinate and growthops on stderr when nothing is configured."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    for name in ("procrastinate", "growthops"):
        lg = logging.getLogger(name)
        if lg.level == logging.NOTSET or lg.level > logging.INFO:
            lg.setLevel(logging.INFO)


def build_app(db: Database, *, periodic: bool = True, max_connections: int = 6) -> App:
    """Build the procrastinate App of ``db`` with every installed domain's tasks registered.

    See :func:`growthops.core.jobs.app.build_app` for ``periodic`` and ``max_connections``.
    """
    registrars = [r for r in (d.load("jobs") for d in installed()) if r is not None]
    return jobs_app.build_app(db, registrars=registrars, periodic=periodic,
                              max_connections=max_connections)


def run_worker(db: Database, *, concurrency: int, once: bool) -> None:
    """Run the procrastinate worker for ``db``.

    ``once`` True runs the jobs waiting now (including jobs they queue, and jobs held back by a
    per-tenant lock until it is released; see :func:`_run_once`) and returns; the 15-minute
    scheduler is not started, so the run is deterministic (tests, demo).
    ``once`` False prints a startup line (with every periodic schedule) and runs until Ctrl-C /
    SIGTERM, with the schedules (the ads domain's queues each tenant's daily cycle at 09:00
    local time). ``concurrency`` is the number of
    jobs run at the same time (each in a thread; the pool gets ``concurrency + 3`` connections).
    WARNING+ records of the ``growthops`` logger are copied to ``core.platform_logs``; every log
    record is scrubbed of credentials (:mod:`growthops.core.logs.scrub`).
    """
    from growthops.core.logs.scrub import install_log_scrubber, register_settings

    register_settings(db.settings)
    install_log_scrubber()
    install_log_handler(db)
    app = build_app(db, periodic=not once, max_connections=concurrency + 3)
    if once:
        asyncio.run(_run_once(app, concurrency))
        return
    _console_logging()
    from growthops.core.db import describe

    where = describe(db)
    schedules = ", ".join(f"{p.task.name} '{p.cron}'"
                          for p in app.periodic_registry.periodic_tasks.values())
    print(
        f"growthops worker on {where['mode']} database {where['database']!r}: "
        f"concurrency {concurrency}; schedules (UTC cron): {schedules}; "
        "press Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # procrastinate stops gracefully on SIGINT
        app.run_worker(wait=True, concurrency=concurrency, name="growthops")
    print("growthops worker: stopped.", flush=True)
