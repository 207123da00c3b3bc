"""CPU cost of each step of the daily cycle: this process's CPU plus the PostgreSQL backend's.

Run on a database that ``bench/daily_cycle.py --data-dir DIR`` built (any sizes):
``.venv/bin/python bench/cycle_steps_cpu.py DIR [--repeat 5]``; with
``PYTHONPATH=/tmp/main-src/src`` for a ``git archive`` of another version of the code (the
code is imported from the environment, so ``PYTHONPATH`` decides; ``bench/daily_cycle.py``
instead puts its own tree's ``src`` first, so another version runs that version's copy of it;
issue 16, docs/performance.md §4e).

The wall-clock timings of ``bench/daily_cycle.py`` move with the load of the machine (a 2-core
machine at load 10 doubles them). This times each step of
:func:`growthops.ads.cycle.run_daily_cycle` by CPU instead: ``time.process_time()`` of this
process plus the time the cycle's backend spent on a CPU (first field of
``/proc/<pid>/schedstat``, nanoseconds; Linux, same host as the embedded server). What a step
costs then hardly depends on what else runs; on a quiet machine the wall time of a step is
about this sum (the client and its backend take turns). Not counted: PostgreSQL's parallel
workers (the window scan's, so its figure is a lower bound; ``--serial`` turns them off for a
complete figure), autovacuum, and the commit's
WAL flush. Prints the medians of ``--repeat`` runs, summed over the bench tenants.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2024, 6, 30)


def step_back(db, tenant_id) -> None:
    """Carried days 30-89 sums one day behind ``AS_OF`` (untimed): the cycle then moves them by
    a day, as each morning (see ``bench/daily_cycle.py``); a no-op for code without them."""
    try:
        from growthops.ads.analysis.window import long_sums
    except ImportError:
        return
    with db.tenant_tx(tenant_id) as conn:
        long_sums(conn, tenant_id, AS_OF - timedelta(days=1))


def main() -> None:
    """Parse flags, run the cycles with a CPU clock for the steps and print the medians."""
    import growthops
    import growthops.ads.cycle as cy
    from growthops.core.db import Database
    from growthops.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serial", action="store_true",
                    help="parallel workers off, so the window scan's CPU is all in its backend")
    args = ap.parse_args()
    db = Database(Settings(data_dir=args.data_dir, database_name="growthops_bench", embedded_cleanup="stop"))
    with db.admin() as conn:
        tenants = [r["tenant_id"] for r in conn.execute(
            "select tenant_id from core.tenants where client_key like 'bench%%' order by client_key")]
    backend: list[int | None] = [None]

    def cpu_clock() -> float:
        server = 0
        if backend[0] is not None:
            with open(f"/proc/{backend[0]}/schedstat") as f:
                server = int(f.read().split()[0])
        return time.process_time() + server / 1e9

    class Clock:  # what run_cycle_in_tx's step timer reads as ``time``
        perf_counter = staticmethod(cpu_clock)

    run_in_tx = cy.run_cycle_in_tx

    def traced(conn, **kw):  # the backend of the cycle's transaction
        backend[0] = conn.info.backend_pid
        if args.serial:
            conn.execute("select set_config('max_parallel_workers_per_gather', '0', true)")
        return run_in_tx(conn, **kw)

    cy.run_cycle_in_tx, cy.time = traced, Clock
    for t in tenants:  # warm caches
        cy.run_daily_cycle(db, tenant_id=t, as_of=AS_OF)
    runs = []
    for _ in range(args.repeat):
        total: dict[str, float] = {}
        for t in tenants:
            step_back(db, t)
            res = cy.run_daily_cycle(db, tenant_id=t, as_of=AS_OF)
            for k, v in res.timings.items():
                total[k] = total.get(k, 0.0) + v
        runs.append(total)
    db.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"code: {Path(growthops.__file__).parents[1]}; {len(tenants)} tenants; load average "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"CPU seconds per step (client + backend), summed over tenants, median of {args.repeat}:")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
    print(f"  steps after the window: {sum(v for k, v in med.items() if k != 'window'):.3f}")


if __name__ == "__main__":
    main()
