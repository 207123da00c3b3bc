"""Benchmark the daily cycle against the floor (one aggregate scan) and seed 001's per-entity design.

Run: ``.venv/bin/python bench/daily_cycle.py [--tenants N] [--entities M] [--days D]``
(``make bench`` runs a small size; the issue's target is measured at about 1M entity-days, e.g.
``--tenants 4 --entities 2500 --days 100``), or the scale mode
``.venv/bin/python bench/daily_cycle.py --scale 0.1M,1M,10M``: one fresh database per size
(0.1M = 1 tenant x 1,000 ads x 100 days, 1M = 4 x 2,500 x 100, 10M = 40 x 2,500 x 100 ad-days),
then cycle time, cycle/floor, peak memory of this Python process and of PostgreSQL's work per
size, and the growth exponent of cycle time against size (least-squares slope of log time on
log size; 1 = linear).

1. Generates N tenants x M ads x D days deterministically (:mod:`growthops.ads.metrics.synthetic`; ad sets
   of 5 ads and campaigns of 10 ad sets, so entity-days = N x D x 1.22 M), loads them with COPY
   into a fresh embedded database.
2. Times the full daily cycle (:func:`growthops.ads.cycle.run_daily_cycle`) for every tenant and
   one as-of date, and one aggregate query per tenant that scans the same rows (the 90 days up to
   as-of: sums of the metrics per entity) — the floor: no design reading those rows can be
   faster. Figure (a) = cycle time / floor time (target <= 3).
   Rows are stored day after day as daily syncs write them (``--layout entity``: entity after
   entity, as a one-off backfill of each entity's history would).
3. Times seed 001's design on a sample of ad sets: one metrics query per ad set (7 days) plus a
   benchmark query for the tenant (seed 001 ``calculate_benchmarks``) and Python loops, then
   extrapolates to the entities the cycle covers. Figure (b) = that time / cycle time
   (target >= 30). Seed 001 does much less (one rule, one level, no anomalies): the ratio
   flatters it.

4. Memory: the peak of Python allocations during one (untimed) cycle of every tenant
   (tracemalloc), this process's maximum resident set (``ru_maxrss``, data generation included),
   the temp-file bytes PostgreSQL wrote during the timed cycles (``pg_stat_database.temp_bytes``)
   and the largest peak resident set (``VmHWM``) of the application pool's backends, which counts
   the shared buffers a backend touched, not only its private work memory.

5. ``--fill``: the cost of the anomaly test's stored days (docs/performance.md section 2f),
   per tenant, in rounds of two cycles on ``AS_OF`` in this process: a normal cycle (the 28
   days before it stored: nothing to fill) and a first cycle (the tenant's stored days and
   marks deleted: the 28 days filled in, as a new tenant's); each round's extra time is against
   the normal cycle of the same round.

All times are medians of ``--repeat`` runs in this process, on the same database.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
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


SCALES = {"0.1M": (1, 1000, 100), "1M": (4, 2500, 100), "10M": (40, 2500, 100)}


def build(db: Database, n_tenants: int, n_ads: int, days: int, *, by_day: bool, console: Console,
          reuse: bool = False) -> dict:
    """Fresh schema, then ``n_tenants`` synthetic tenants loaded with COPY; returns the tenants,
    rows stored, load seconds and the number of ad sets per tenant. ``reuse``: keep the data
    of an earlier run with the same flags (``--data-dir``) when it has the bench tenants."""
    ads_per_adset, adsets_per_campaign = 5, 10
    campaigns = max(1, n_ads // (ads_per_adset * adsets_per_campaign))
    if reuse:
        try:
            with db.admin() as conn:
                ids = [r["tenant_id"] for r in conn.execute(
                    "select tenant_id from core.tenants where client_key like 'bench%%' order by client_key")]
                rows = conn.execute("select count(*) as n from ads.metrics_daily").fetchone()["n"]
        except Exception:
            ids, rows = [], 0
        if len(ids) == n_tenants and rows:
            from types import SimpleNamespace

            migrate(db)  # the code's newer migrations (0185's carried sums)
            return {"tenants": [SimpleNamespace(tenant_id=t) for t in ids], "rows": rows, "load_s": 0.0,
                    "n_adsets": campaigns * adsets_per_campaign}
    with db.admin() as conn:
        schemas = [r["nspname"] for r in conn.execute(
            "select nspname from pg_namespace where nspname not like 'pg\\_%%' and nspname not in"
            " ('information_schema', 'public')").fetchall()]
        for name in schemas:  # every schema the migrations made (ads, core, leads, ...)
            conn.execute(f'drop schema if exists "{name}" cascade')
        conn.execute("drop table if exists public._yoyo_migration, public._yoyo_log, public._yoyo_version, public.yoyo_lock cascade")
    migrate(db)
    tenants, rows_total = [], 0
    t_load = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generate + COPY", total=n_tenants)
        for i in range(n_tenants):
            tn = create_tenant(db, TenantIn.model_validate(
                {"client_key": f"bench{i}", "client_name": f"Bench {i}", "roi_target": "3.0"}, strict=False))
            plan = Plan(campaigns=campaigns, adsets_per_campaign=adsets_per_campaign, ads_per_adset=ads_per_adset,
                        days=days, end=AS_OF, bad_adsets=tuple(range(0, campaigns * adsets_per_campaign, 7)),
                        great_adsets=tuple(range(3, campaigns * adsets_per_campaign, 11)),
                        fatigued_ads=tuple(range(0, campaigns * adsets_per_campaign * ads_per_adset, 13)),
                        seed=100 + i)
            with db.tenant_tx(tn.tenant_id) as conn:
                rows_total += copy_rows(conn, generate(tn.tenant_id, plan), by_day=by_day)
            tenants.append(tn)
            bar.advance(task)
    with db.admin() as conn:
        conn.execute("vacuum analyze ads.metrics_daily")
    return {"tenants": tenants, "rows": rows_total, "load_s": time.perf_counter() - t_load,
            "n_adsets": campaigns * adsets_per_campaign}


def pg_temp_bytes(db: Database) -> int:
    """Bytes of temp files PostgreSQL wrote in this database since the statistics' reset."""
    with db.admin() as conn:
        return int(conn.execute(
            "select temp_bytes from pg_stat_database where datname = current_database()").fetchone()["temp_bytes"])


def pg_backend_hwm(db: Database) -> int:
    """Largest VmHWM (peak resident set, bytes) among this database's client backends; 0 if
    /proc cannot be read (another host)."""
    with db.admin() as conn:
        pids = [r["pid"] for r in conn.execute(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
            " and backend_type = 'client backend'").fetchall()]
    best = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]) * 1024)
        except OSError:
            pass
    return best


def step_back(db: Database, tenant_id) -> None:
    """Leave the tenant's carried days 30-89 sums one day behind ``AS_OF`` (untimed), so that
    the timed cycle moves them by one day, as each morning's cycle does (migration 0185,
    :func:`growthops.ads.analysis.window.long_sums`); without it, a repeated cycle on the same
    day would find them ready. A no-op for code without carried sums."""
    try:
        from growthops.ads.analysis.window import long_sums
    except ImportError:
        return
    with db.tenant_tx(tenant_id) as conn:
        long_sums(conn, tenant_id, AS_OF - timedelta(days=1))


def measure(db: Database, built: dict, repeat: int, sample: int) -> dict:
    """Time the cycle, the floor and seed 001's design on ``built``'s tenants; measure memory."""
    tenants = built["tenants"]
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
        for tn in tenants:
            step_back(db, tn.tenant_id)
        t0 = time.perf_counter()
        stages: dict[str, float] = {}
        for tn in tenants:
            res = run_daily_cycle(db, tenant_id=tn.tenant_id, as_of=AS_OF)
            for k, v in (res.timings if res else {}).items():
                stages[k] = stages.get(k, 0.0) + v
        stage_runs.append(stages)
        return time.perf_counter() - t0

    floor()  # warm the buffer cache
    temp0 = pg_temp_bytes(db)
    cycle_times, floor_times = [], []
    for _ in range(repeat):
        cycle_times.append(cycle())
        floor_times.append(floor())
    temp_bytes = (pg_temp_bytes(db) - temp0) / max(1, repeat)
    tracemalloc.start()
    cycle()
    py_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stage_runs.pop()

    # Seed 001's per-entity design on a sample of ad sets, extrapolated to every entity.
    tn = tenants[0]
    sample_ids = [f"adset{i}" for i in range(min(sample, built["n_adsets"]))]
    t0 = time.perf_counter()
    with db.tenant_tx(tn.tenant_id) as conn:
        for a in sample_ids:
            seed001_adset(conn, tn.tenant_id, a, 3.0)
    per_entity = (time.perf_counter() - t0) / len(sample_ids)
    with db.admin() as conn:  # hash aggregate (count(distinct row) sorts 12M rows at 10M: minutes)
        entities = conn.execute(
            "select count(*) as n from (select distinct tenant_id, platform, level, entity_id"
            " from ads.metrics_daily) e"
        ).fetchone()["n"]
    t_cycle, t_floor = statistics.median(cycle_times), statistics.median(floor_times)
    steps = list(stage_runs[0]) if stage_runs else []
    return {
        "scanned": scanned, "entities": entities, "cycle": t_cycle, "cycle_runs": cycle_times,
        "floor": t_floor, "steps": {k: statistics.median(r.get(k, 0.0) for r in stage_runs[1:] or stage_runs)
                                    for k in steps},
        "seed_per_entity": per_entity, "seed": per_entity * entities, "sample": len(sample_ids),
        "py_peak": py_peak, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "pg_temp": temp_bytes, "pg_hwm": pg_backend_hwm(db),
    }


def measure_fill(db: Database, built: dict, repeat: int) -> dict:
    """Time the fill of the anomaly test's stored days (see the module doc, item 5)."""
    tenants = built["tenants"]
    load_before = load_avg()

    def clear(tenant_id) -> None:
        with db.tenant_tx(tenant_id) as conn:
            conn.execute("with s as (delete from ads.anomaly_null_scores where day < %(d)s) "
                         "delete from ads.anomaly_null_days where day < %(d)s", {"d": AS_OF})

    def cycle(prep) -> tuple[float, dict[str, float], int]:
        for tn in tenants:
            step_back(db, tn.tenant_id)
            prep(tn.tenant_id)
        t0 = time.perf_counter()
        stages: dict[str, float] = {}
        filled = 0
        for tn in tenants:
            res = run_daily_cycle(db, tenant_id=tn.tenant_id, as_of=AS_OF)
            if res is not None:
                filled += res.summary.get("null_days_filled", 0)
                for k, v in res.timings.items():
                    stages[k] = stages.get(k, 0.0) + v
        return time.perf_counter() - t0, stages, filled

    cycle(lambda t: None)  # stores the 28 days (untimed)
    runs: dict[str, list] = {"normal": [], "first": []}
    for _ in range(repeat):
        runs["normal"].append(cycle(lambda t: None))
        runs["first"].append(cycle(clear))
    out: dict = {"load": load_before}
    for name, rr in runs.items():
        out[name] = {"s": statistics.median(r[0] for r in rr), "filled": rr[-1][2],
                     "null_days": statistics.median(r[1].get("null_days", 0.0) for r in rr),
                     "extra": statistics.median(r[0] - n[0] for r, n in zip(rr, runs["normal"], strict=True))}
    out["load_after"] = load_avg()
    return out


def open_db(data_dir: Path | None) -> Database:
    """The benchmark's database on an embedded server (a temp dir unless ``data_dir``)."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="growthops-bench-"))
    return Database(Settings(data_dir=data_dir, database_name="growthops_bench", embedded_cleanup="stop"))


def load_avg() -> str:
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Parse flags, build the data, measure and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=2)
    ap.add_argument("--entities", type=int, default=200, help="ads per tenant")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", type=int, default=40, help="ad sets timed with the seed 001 design")
    ap.add_argument("--layout", choices=("day", "entity"), default="day",
                    help="storage order of the rows: day after day (daily syncs) or entity after entity")
    ap.add_argument("--scale", default=None,
                    help=f"comma-separated sizes among {', '.join(SCALES)} (scale mode; ignores --tenants/--entities/--days)")
    ap.add_argument("--data-dir", type=Path, default=None, help="embedded PostgreSQL data dir (default: temp)")
    ap.add_argument("--fill", action="store_true",
                    help="time the anomaly test's stored days filled in by a first cycle (section 2f)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the data already in --data-dir (same sizes), e.g. to time two versions of the code on it")
    args = ap.parse_args()
    console = Console(width=max(160, Console().width))
    db = open_db(args.data_dir)
    by_day = args.layout == "day"
    if args.scale:
        scale_mode(db, [s.strip() for s in args.scale.split(",") if s.strip()], args, by_day, console)
        db.close()
        return
    built = build(db, args.tenants, args.entities, args.days, by_day=by_day, console=console, reuse=args.reuse)
    if args.fill:
        print_fill(console, args, measure_fill(db, built, args.repeat))
        db.close()
        return
    load_before = load_avg()
    r = measure(db, built, args.repeat, args.sample)

    table = Table(title="daily cycle benchmark (embedded PostgreSQL, this machine)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("tenants x ads x days, layout", f"{args.tenants} x {args.entities} x {args.days}, by {args.layout}")
    table.add_row("entity-days stored (all levels)", f"{built['rows']:,}")
    table.add_row("entity-days scanned by one cycle (90-day window)", f"{r['scanned']:,}")
    table.add_row("entities", f"{r['entities']:,}")
    table.add_row("generate + COPY load", f"{built['load_s']:.2f} s")
    table.add_row("daily cycle, all tenants (median)",
                  f"{r['cycle']:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in r['cycle_runs'])})")
    table.add_row("cycle steps, all tenants (median s)", ", ".join(f"{k} {v:.3f}" for k, v in r["steps"].items()))
    table.add_row("floor: one aggregate scan per tenant (median)", f"{r['floor']:.3f} s")
    table.add_row("(a) cycle / floor  [target <= 3]", f"{r['cycle'] / r['floor']:.2f}")
    table.add_row(f"seed 001 design, per ad set (sample of {r['sample']})", f"{1000 * r['seed_per_entity']:.2f} ms")
    table.add_row("seed 001 design extrapolated to all entities", f"{r['seed']:.2f} s")
    table.add_row("(b) seed 001 / cycle  [target >= 30]", f"{r['seed'] / r['cycle']:.1f}")
    table.add_row("peak Python allocations in one cycle (tracemalloc)", f"{r['py_peak'] / 2**20:.1f} MiB")
    table.add_row("process max RSS (incl. data generation)", f"{r['maxrss'] / 2**20:.0f} MiB")
    table.add_row("PostgreSQL temp bytes per cycle / max backend VmHWM",
                  f"{r['pg_temp'] / 2**20:.1f} MiB / {r['pg_hwm'] / 2**20:.0f} MiB")
    table.add_row("load average before / after the timings", f"{load_before} / {load_avg()}")
    console.print(table)
    db.close()


def print_fill(console: Console, args: argparse.Namespace, f: dict) -> None:
    """Print :func:`measure_fill`'s figures."""
    table = Table(title=f"anomaly test's stored days filled in ({args.tenants} x {args.entities} x {args.days}, "
                        f"all tenants, median of {args.repeat} rounds)")
    for col in ("cycle", "days filled", "cycle s", "fill step s", "extra vs normal s", "ratio"):
        table.add_column(col, justify="right")
    base = f["normal"]["s"]
    for name, label in (("normal", "normal (28 days stored)"), ("first", "first (nothing stored)")):
        r = f[name]
        table.add_row(label, str(r["filled"]), f"{r['s']:.3f}", f"{r['null_days']:.3f}",
                      f"{r['extra']:+.3f}", f"{r['s'] / base:.2f}")
    console.print(table)
    console.print(f"load average before / after: {f['load']} / {f['load_after']}")


def scale_mode(db: Database, sizes: list[str], args: argparse.Namespace, by_day: bool, console: Console) -> None:
    """Run :func:`build` and :func:`measure` for each size of ``SCALES``, print a table and the
    growth exponent of cycle time against entity-days (log-log least squares)."""
    table = Table(title=f"daily cycle at scale (layout by {args.layout}, median of {args.repeat})")
    for col in ("size", "tenants x ads x days", "rows stored", "load s", "cycle s", "floor s", "cycle/floor",
                "s per 1M ad-days", "py peak MiB", "max RSS MiB", "pg temp MiB", "pg backend HWM MiB", "load avg"):
        table.add_column(col, justify="right")
    points = []
    for size in sizes:
        if size not in SCALES:
            raise SystemExit(f"unknown size {size!r}; choose among {', '.join(SCALES)}")
        n_t, n_a, n_d = SCALES[size]
        console.print(f"[bold]{size}[/]: {n_t} tenants x {n_a} ads x {n_d} days (load avg {load_avg()})")
        built = build(db, n_t, n_a, n_d, by_day=by_day, console=console)
        console.print(f"  loaded {built['rows']:,} rows in {built['load_s']:.1f} s")
        r = measure(db, built, args.repeat, args.sample)
        ad_days = n_t * n_a * n_d
        points.append((ad_days, r["cycle"]))
        table.add_row(size, f"{n_t} x {n_a} x {n_d}", f"{built['rows']:,}", f"{built['load_s']:.1f}",
                      f"{r['cycle']:.2f}", f"{r['floor']:.3f}", f"{r['cycle'] / r['floor']:.2f}",
                      f"{r['cycle'] / ad_days * 1e6:.2f}", f"{r['py_peak'] / 2**20:.0f}",
                      f"{r['maxrss'] / 2**20:.0f}", f"{r['pg_temp'] / 2**20:.1f}", f"{r['pg_hwm'] / 2**20:.0f}",
                      load_avg())
        console.print(f"  cycle {r['cycle']:.2f} s, floor {r['floor']:.3f} s, steps "
                      + ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items()))
    console.print(table)
    if len(points) >= 2:
        xs = [math.log(p[0]) for p in points]
        ys = [math.log(p[1]) for p in points]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        console.print(f"growth exponent of cycle time against ad-days (log-log slope): {slope:.2f}  [target <= 1]")


if __name__ == "__main__":
    main()
