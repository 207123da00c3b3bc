"""Benchmark the daily cycle against the floor (one aggregate scan) and seed 001's per-entity design.

Run: ``.venv/bin/python bench/daily_cycle.py [--tenants N] [--entities M] [--days D]``
(``make bench`` runs a small size; the issue's target is measured at about 1M entity-days, e.g.
``--tenants 4 --entities 2000 --days 100``).

1. Generates N tenants x M ads x D days deterministically (:mod:`growthops.ads.metrics.synthetic`; ad sets
   of 5 ads and campaigns of 10 ad sets, so entity-days = N x D x 1.22 M), loads them with COPY
   into a fresh embedded database.
2. Times the full daily cycle (:func:`growthops.ads.cycle.run_daily_cycle`) for every tenant and
   one as-of date, and one aggregate query per tenant that scans the same rows (the 90 days up to
   as-of: sums of the metrics per entity) — the floor: no design reading those rows can be
   faster. Figure (a) = cycle time / floor time (target <= 3).
3. Times seed 001's design on a sample of ad sets: one metrics query per ad set (7 days) plus a
   benchmark query for the tenant (seed 001 ``calculate_benchmarks``) and Python loops, then
   extrapolates to the entities the cycle covers. Figure (b) = that time / cycle time
   (target >= 30). Seed 001 does much less (one rule, one level, no anomalies): the ratio
   flatters it.

All times are medians of ``--repeat`` runs in this process, on the same database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.cycle import run_daily_cycle  # noqa: E402
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

AS_OF = date(2024, 6, 30)
FLOOR_SQL = """
select platform, level, entity_id, sum(spend) as spend, sum(impressions) as impressions,
       sum(clicks) as clicks, sum(conversions) as conversions, sum(conversion_value) as value,
       sum(reach) as reach
from ads.metrics_daily
where tenant_id = %s and day between %s::date - 89 and %s
group by 1, 2, 3
"""


def seed001_adset(conn, tenant_id, adset_id: str, roi_target: float) -> dict | None:
    """Seed 001 ``DailyAnalyzer.analyze_client``'s loop body for one ad set."""
    metrics = conn.execute(
        """select * from ads.metrics_daily where tenant_id = %s and level = 'adset' and entity_id = %s
           and day > %s::date - 7 and day <= %s order by day desc""",
        [tenant_id, adset_id, AS_OF, AS_OF],
    ).fetchall()
    if not metrics:
        return None
    latest = metrics[0]
    avg_roi = float(latest["conversion_value"]) / float(latest["spend"]) if latest["spend"] else 0.0
    total_spend = sum(float(m["spend"]) for m in metrics)
    # calculate_benchmarks(client_key, 'roi', level='client'): the tenant's ROI values, percentiles
    rois = [
        float(r["v"]) / float(r["s"])
        for r in conn.execute(
            """select conversion_value as v, spend as s from ads.metrics_daily
               where tenant_id = %s and level = 'adset' and day > %s::date - 7 and day <= %s and spend > 0""",
            [tenant_id, AS_OF, AS_OF],
        ).fetchall()
    ]
    p75 = float(np.percentile(rois, 75)) if rois else 0.0
    if avg_roi > roi_target and avg_roi > p75:
        return {"type": "scale", "entity_id": adset_id}
    if avg_roi < roi_target * 0.6 and total_spend > 500:
        return {"type": "pause", "entity_id": adset_id}
    return None


def main() -> None:
    """Parse flags, build the data, measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=2)
    ap.add_argument("--entities", type=int, default=200, help="ads per tenant")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", type=int, default=40, help="ad sets timed with the seed 001 design")
    ap.add_argument("--data-dir", type=Path, default=None, help="embedded PostgreSQL data dir (default: temp)")
    args = ap.parse_args()
    console = Console()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="growthops-bench-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench", embedded_cleanup="stop"))
    with db.admin() as conn:
        conn.execute("drop schema if exists ads cascade")
        conn.execute("drop schema if exists core cascade")
        conn.execute("drop table if exists public._yoyo_migration, public._yoyo_log, public._yoyo_version, public.yoyo_lock cascade")
    migrate(db)

    ads_per_adset, adsets_per_campaign = 5, 10
    campaigns = max(1, args.entities // (ads_per_adset * adsets_per_campaign))
    tenants = []
    rows_total = 0
    t_load = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generate + COPY", total=args.tenants)
        for i in range(args.tenants):
            tn = create_tenant(db, TenantIn.model_validate(
                {"client_key": f"bench{i}", "client_name": f"Bench {i}", "roi_target": "3.0"}, strict=False))
            plan = Plan(campaigns=campaigns, adsets_per_campaign=adsets_per_campaign, ads_per_adset=ads_per_adset,
                        days=args.days, end=AS_OF, bad_adsets=tuple(range(0, campaigns * adsets_per_campaign, 7)),
                        great_adsets=tuple(range(3, campaigns * adsets_per_campaign, 11)),
                        fatigued_ads=tuple(range(0, campaigns * adsets_per_campaign * ads_per_adset, 13)),
                        seed=100 + i)
            with db.tenant_tx(tn.tenant_id) as conn:
                rows_total += copy_rows(conn, generate(tn.tenant_id, plan))
            tenants.append(tn)
            bar.advance(task)
    with db.admin() as conn:
        conn.execute("analyze ads.metrics_daily")
    t_load = time.perf_counter() - t_load
    scanned = 0
    with db.admin() as conn:
        scanned = conn.execute(
            "select count(*) as n from ads.metrics_daily where day between %s::date - 89 and %s", [AS_OF, AS_OF]
        ).fetchone()["n"]

    def floor() -> float:
        t0 = time.perf_counter()
        for tn in tenants:
            with db.tenant_tx(tn.tenant_id) as conn:
                conn.execute(FLOOR_SQL, [tn.tenant_id, AS_OF, AS_OF]).fetchall()
        return time.perf_counter() - t0

    stage_runs: list[dict[str, float]] = []

    def cycle() -> float:
        t0 = time.perf_counter()
        stages: dict[str, float] = {}
        for tn in tenants:
            res = run_daily_cycle(db, tenant_id=tn.tenant_id, as_of=AS_OF)
            for k, v in (res.timings if res else {}).items():
                stages[k] = stages.get(k, 0.0) + v
        stage_runs.append(stages)
        return time.perf_counter() - t0

    floor()  # warm the buffer cache
    cycle_times, floor_times = [], []
    for _ in range(args.repeat):
        cycle_times.append(cycle())
        floor_times.append(floor())
    t_cycle = statistics.median(cycle_times)
    t_floor = statistics.median(floor_times)

    # Seed 001's per-entity design on a sample of ad sets, extrapolated to every entity.
    tn = tenants[0]
    n_adsets = campaigns * adsets_per_campaign
    sample = [f"adset{i}" for i in range(min(args.sample, n_adsets))]
    t0 = time.perf_counter()
    with db.tenant_tx(tn.tenant_id) as conn:
        for a in sample:
            seed001_adset(conn, tn.tenant_id, a, 3.0)
    per_entity = (time.perf_counter() - t0) / len(sample)
    with db.admin() as conn:
        entities = conn.execute(
            "select count(distinct (tenant_id, platform, level, entity_id)) as n from ads.metrics_daily"
        ).fetchone()["n"]
    t_seed = per_entity * entities

    table = Table(title="daily cycle benchmark (embedded PostgreSQL 16, this machine)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("tenants x ads x days", f"{args.tenants} x {args.entities} x {args.days}")
    table.add_row("entity-days stored (all levels)", f"{rows_total:,}")
    table.add_row("entity-days scanned by one cycle (90-day window)", f"{scanned:,}")
    table.add_row("entities", f"{entities:,}")
    table.add_row("generate + COPY load", f"{t_load:.2f} s")
    table.add_row("daily cycle, all tenants (median)", f"{t_cycle:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in cycle_times)})")
    stage_names = list(stage_runs[0]) if stage_runs else []
    table.add_row("cycle steps, all tenants (median s)", ", ".join(
        f"{k} {statistics.median(r.get(k, 0.0) for r in stage_runs[1:] or stage_runs):.3f}"
        for k in stage_names))
    table.add_row("floor: one aggregate scan per tenant (median)", f"{t_floor:.3f} s")
    table.add_row("(a) cycle / floor  [target <= 3]", f"{t_cycle / t_floor:.2f}")
    table.add_row(f"seed 001 design, per ad set (sample of {len(sample)})", f"{1000 * per_entity:.2f} ms")
    table.add_row("seed 001 design extrapolated to all entities", f"{t_seed:.2f} s")
    table.add_row("(b) seed 001 / cycle  [target >= 30]", f"{t_seed / t_cycle:.1f}")
    console.print(table)
    db.close()


if __name__ == "__main__":
    main()
