"""Benchmark the intraday pacing run (growthops.ads.sync.intraday) on a sandbox account.

Run: ``.venv/bin/python bench/intraday_pacing.py [--campaigns C] [--adsets A] [--repeat R]``

1. Creates one tenant with a sandbox account of C campaigns × A ad sets (2 ads each) and
   16 simulated days, in a fresh embedded database.
2. Times the first run (:func:`growthops.ads.sync.intraday.run_intraday`: 15 days of hours
   read and upserted, then the checks), a later run (yesterday and today only) and the check
   alone (:func:`growthops.ads.sync.intraday.check_pacing`, medians of ``--repeat``).

Figures: hourly rows written, seconds per step, entity-days checked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.sync.intraday import check_pacing, run_intraday  # noqa: E402
from growthops.connectors.sandbox import create_sandbox_account  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)  # 14:30 in Paris


def main() -> None:
    """Parse flags, build the account, measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--campaigns", type=int, default=10)
    ap.add_argument("--adsets", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    console = Console()
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-intraday-"))
    db = Database(
        Settings(
            data_dir=data_dir, database_name="growthops_bench_intraday", embedded_cleanup="stop"
        )
    )
    migrate(db)
    tn = create_tenant(
        db,
        TenantIn.model_validate(
            {"client_key": "benchintraday", "client_name": "Bench intraday", "roi_target": "3.0",
             "monthly_budget_max": "500000"},
            strict=False,
        ),
    )
    tid = tn.tenant_id
    with db.tenant_tx(tid) as conn:
        create_sandbox_account(
            conn, tenant_id=tid, seed=7, start=TODAY - timedelta(days=15), days_history=16,
            campaigns=args.campaigns, adsets_per_campaign=args.adsets, ads_per_adset=2,
        )
    t0 = time.perf_counter()
    first = run_intraday(db, tenant_id=tid, now=NOW)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    later = run_intraday(db, tenant_id=tid, now=NOW + timedelta(hours=1))
    t_later = time.perf_counter() - t0
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with db.tenant_tx(tid) as conn:
            checks = check_pacing(conn, tenant_id=tid, now=NOW + timedelta(hours=1))
        times.append(time.perf_counter() - t0)
    table = Table("step", "hourly rows written", "seconds", "checks")
    table.add_row("first run (15 days)", f"{first.syncs[0].rows_inserted:,}", f"{t_first:.2f}",
                  str(len(first.checks)))
    table.add_row("next hour (2 days)",
                  f"{later.syncs[0].rows_inserted + later.syncs[0].rows_updated:,}",
                  f"{t_later:.2f}", str(len(later.checks)))
    table.add_row(f"check alone (median of {args.repeat})", "0",
                  f"{statistics.median(times):.3f}", str(len(checks)))
    console.print(table)
    db.close()


if __name__ == "__main__":
    main()
