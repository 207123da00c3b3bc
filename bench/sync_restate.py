"""Benchmark the cost of keeping restated rows' history (migration 0100's trigger) in the sync's load.

Run: ``.venv/bin/python bench/sync_restate.py [--ads N] [--days D] [--window W] [--repeat R]``

1. Generates one tenant with N ads over D days (:mod:`growthops.ads.metrics.synthetic`, ad sets of
   5 ads, campaigns of 10 ad sets) in a fresh embedded database.
2. Builds what a sync re-pulls: the ad rows of the last W days (the Meta re-pull window, 28),
   every one restated (one more conversion), and loads them with the importer's upsert
   (:func:`growthops.ads.metrics.importer.load_records`, which also rewrites the ad-set and
   campaign roll-ups): with the history trigger enabled, and with it disabled (the baseline, in
   the same process and database). Passes alternate; times are medians of ``--repeat`` passes.
3. Also times an unchanged re-pull (the common case: nothing restated, nothing written).

Figures: rows per second with and without history, the ratio (cost of the history), the
history rows written per pass, and the unchanged re-pull time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.metrics.formats import Record  # noqa: E402
from growthops.ads.metrics.importer import load_records  # noqa: E402
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

END = date(2026, 11, 30)
COLS = ("platform", "level", "entity_id", "day", "entity_name", "campaign_id", "adset_id",
        "spend", "impressions", "reach", "clicks", "leads", "applications", "bookings",
        "conversions", "conversion_value", "daily_budget")


def main() -> None:
    """Parse flags, build the data, measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=500)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--window", type=int, default=28)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    console = Console()
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-sync-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_sync",
                           embedded_cleanup="stop"))
    migrate(db)
    tn = create_tenant(db, TenantIn.model_validate(
        {"client_key": "benchsync", "client_name": "Bench sync", "roi_target": "3.0"}, strict=False))
    tid = tn.tenant_id
    plan = Plan(campaigns=max(1, args.ads // 50), adsets_per_campaign=10, ads_per_adset=5,
                days=args.days, end=END, seed=11)
    with db.tenant_tx(tid) as conn:
        copy_rows(conn, generate(tid, plan))
        rows = conn.execute(
            f"select {', '.join(COLS)} from ads.metrics_daily where level = 'ad' and day > %s",
            [END - timedelta(days=args.window)]).fetchall()
    with db.admin() as conn:
        conn.execute("analyze ads.metrics_daily")
    base = [Record(**{c: r[c] for c in COLS}) for r in rows]
    console.print(f"{len(base):,} ad rows re-pulled ({args.window} days), "
                  f"{plan.campaigns * 50:,} ads, {args.days} days stored")

    def load(records: list[Record]) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        with db.tenant_tx(tid) as conn:
            before = conn.execute("select count(*) n from ads.metrics_daily_history").fetchone()["n"]
            res = load_records(conn, tenant_id=tid, source_name="bench", fmt="bench", records=records)
            after = conn.execute("select count(*) n from ads.metrics_daily_history").fetchone()["n"]
        return time.perf_counter() - t0, res.rows_updated + res.rollups_updated, after - before

    def trigger(on: bool) -> None:
        with db.admin() as conn:
            conn.execute("alter table ads.metrics_daily "
                         f"{'enable' if on else 'disable'} trigger metrics_daily_history")

    with_h, without_h, hist, updated = [], [], [], 0
    bump = 0
    for _ in range(args.repeat):
        for on in (True, False):
            bump += 1
            trigger(on)
            secs, updated, written = load([replace(r, conversions=r.conversions + bump)
                                           for r in base])
            (with_h if on else without_h).append(secs)
            if on:
                hist.append(written)
    trigger(True)
    unchanged = statistics.median(load([replace(r, conversions=r.conversions + bump)
                                        for r in base])[0] for _ in range(args.repeat))
    a, b = statistics.median(with_h), statistics.median(without_h)
    table = Table("figure", "value")
    table.add_row("rows written per pass (ads + roll-ups)", f"{updated:,}")
    table.add_row("restated load, history kept (s)", f"{a:.3f}")
    table.add_row("restated load, trigger disabled (s)", f"{b:.3f}")
    table.add_row("ratio history / no history", f"{a / b:.2f}")
    table.add_row("history rows per pass", f"{statistics.median(hist):,.0f}")
    table.add_row("unchanged re-pull (s)", f"{unchanged:.3f}")
    table.add_row("restated rows/s with history", f"{len(base) / a:,.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
