"""An agency's whole morning: N tenants' daily cycles through the worker, concurrency > 1.

Run: ``.venv/bin/python bench/agency_morning.py [--tenants 100] [--ads 50] [--days 100]
[--concurrency 4]``

1. Loads N tenants x ads x days (synthetic accounts, COPY) into a fresh embedded database.
2. Times the same cycles run one after the other in this process (the baseline), then resets
   (cycle runs and suggestions of the day deleted) and queues every tenant's
   cycle twice (the queueing lock must keep one job each), runs ``growthops worker --once``'s
   loop (:func:`growthops.worker.run_worker`) with ``--concurrency``.
3. Prints the time from the first job's start to the last cycle's end (the last digest:
   ``after_cycle`` runs inside the job), the ratio to the sequential baseline, jobs per status,
   and the tenants whose cycle was lost or ran twice (both must be 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.cycle import run_daily_cycle  # noqa: E402
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate  # noqa: E402
from growthops.ads.morning import morning_report, queue_morning  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402
from growthops.worker import run_worker  # noqa: E402

#: The morning's day (the synthetic accounts end on it), as in ``bench/daily_cycle.py``.
AS_OF = date(2024, 6, 30)


def build(db: Database, n_tenants: int, entities: int, days: int, console: Console, *, prefix: str = "bench"
          ) -> tuple[list, int, float]:
    """Create ``n_tenants`` tenants of ``entities`` ads x ``days`` days, loaded with COPY.

    Returns (tenants, rows stored, load seconds)."""
    ads_per_adset, adsets_per_campaign = 5, 10
    campaigns = max(1, entities // (ads_per_adset * adsets_per_campaign))
    tenants = []
    rows_total = 0
    t_load = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generate + COPY", total=n_tenants)
        for i in range(n_tenants):
            tn = create_tenant(db, TenantIn.model_validate(
                {"client_key": f"{prefix}{i}", "client_name": f"Bench {i}", "roi_target": "3.0"}, strict=False))
            plan = Plan(campaigns=campaigns, adsets_per_campaign=adsets_per_campaign, ads_per_adset=ads_per_adset,
                        days=days, end=AS_OF, bad_adsets=tuple(range(0, campaigns * adsets_per_campaign, 7)),
                        great_adsets=tuple(range(3, campaigns * adsets_per_campaign, 11)),
                        fatigued_ads=tuple(range(0, campaigns * adsets_per_campaign * ads_per_adset, 13)),
                        seed=100 + i)
            with db.tenant_tx(tn.tenant_id) as conn:
                rows_total += copy_rows(conn, generate(tn.tenant_id, plan))
            tenants.append(tn)
            bar.advance(task)
    with db.admin() as conn:
        conn.execute("analyze ads.metrics_daily")
    return tenants, rows_total, time.perf_counter() - t_load




def fresh_db(data_dir: Path, name: str) -> Database:
    """An embedded database with the schema migrated and no data."""
    db = Database(Settings(data_dir=data_dir, database_name=name, embedded_cleanup="stop"))
    with db.admin() as conn:
        conn.execute("drop schema if exists ads cascade")
        conn.execute("drop schema if exists core cascade")
        conn.execute("drop table if exists public._yoyo_migration, public._yoyo_log, public._yoyo_version, public.yoyo_lock cascade")
    migrate(db)
    return db




def main() -> None:
    """Parse flags, build the data, run the morning, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--ads", type=int, default=50, help="ads per tenant")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    console = Console()
    db = fresh_db(args.data_dir or Path(tempfile.mkdtemp(prefix="growthops-morning-")), "growthops_morning")
    tenants, rows, t_load = build(db, args.tenants, args.ads, args.days, console, prefix="agency")
    ids = [t.tenant_id for t in tenants]

    t0 = time.perf_counter()
    for tid in ids:
        run_daily_cycle(db, tenant_id=tid, as_of=AS_OF)
    t_seq = time.perf_counter() - t0
    with db.admin() as conn:
        for table in ("ads.cycle_runs", "ads.suggestions", "core.system_logs"):
            conn.execute(f"delete from {table}")

    queue_morning(db, ids, AS_OF)
    t0 = time.perf_counter()
    run_worker(db, concurrency=args.concurrency, once=True)
    t_wall = time.perf_counter() - t0
    rep = morning_report(db, ids, AS_OF)

    table = Table(title="an agency's morning through the worker")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("tenants x ads x days", f"{args.tenants} x {args.ads} x {args.days} ({rows:,} rows, load {t_load:.0f} s)")
    table.add_row("cycles one after the other, in process (baseline)", f"{t_seq:.2f} s")
    table.add_row(f"worker, concurrency {args.concurrency}: first start to last digest",
                  f"{rep['seconds_to_last']:.2f} s" if rep["seconds_to_last"] else "-")
    table.add_row("worker wall time (run_worker once)", f"{t_wall:.2f} s")
    table.add_row("baseline / worker", f"{t_seq / t_wall:.2f}")
    table.add_row("jobs by status", ", ".join(f"{k} {v}" for k, v in sorted(rep["jobs"].items())))
    table.add_row("cycles lost [target 0]", str(len(rep["lost"])))
    table.add_row("cycles run twice [target 0]", str(len(rep["twice"])))
    console.print(table)
    db.close()


if __name__ == "__main__":
    main()
