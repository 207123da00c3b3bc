"""Where the window scan's time goes, and what the numpy design of issue 16 would cost.

Run on a database built by ``bench/daily_cycle.py`` (same ``--data-dir``), e.g.
``.venv/bin/python bench/daily_cycle.py --tenants 4 --entities 2500 --days 100 --data-dir DIR``
then ``.venv/bin/python bench/window_scan.py --data-dir DIR --repeat 5``.

Every variant runs once per round for every bench tenant (one tenant transaction each), the
variants alternated within a round; the table gives the minimum and median over rounds of the
time summed over tenants, and the median over the floor's median (``bench/daily_cycle.py``'s
floor: one aggregate scan of the 90 days per tenant). Variants:

* ``scan``: :func:`growthops.ads.analysis.window._scan_sql`, the cycle's window scan (with the
  weekday factors' query, as ``prepare_window``; the carried days 30-89 sums ready, as after a
  first cycle that day); ``scan_recent`` its last-30-days aggregate alone, ``scan_older`` the
  days 30-89 aggregate that recomputing the carried sums costs (``create temp table ... as``).
* ``scan_main``: main's scan (``--main-src``: the ``src`` of a ``git archive`` of main), for a
  before/after in one process.
* ``scan_no_casts``: the scan with its ``numeric::float8`` casts replaced by ``bigint::float8``
  ones (wrong sums: a bound on what the casts cost); ``scan_buckets``: grouped by (entity,
  bucket of days) with unfiltered sums, the windows summed from buckets;
  ``scan_shared_states``: the anomaly-history statistics from shared transition states
  (:data:`SHARED_STATES`); ``scan_numeric_sums``: spend and value summed as ``numeric``.
* ``move2``: the carried days 30-89 sums moved a day back then a day forward
  (:func:`growthops.ads.analysis.window.long_sums`, two of each morning's moves; it ends where it began).
* ``copy_1col``: ``COPY (select impressions ...)`` of the 90 days' rows in binary, read with
  libpq (no Python per row beyond one call): what exporting rows costs at least.
* ``copy_rows_libpq`` / ``copy_rows_psycopg``: the numpy design's rows (``bench/window_numpy.py``:
  key hashes, age, nine float8), read with libpq or psycopg's ``Copy``; ``copy_recent_libpq``:
  the same for the last 30 days only; ``arrays_per_day``: the same columns as one row of arrays
  per day.
* ``numpy_libpq`` / ``numpy_psycopg``: the whole numpy design (read, names, order, bincounts,
  ``_entity`` written), checked equal to ``scan`` first.

``--cpu``: parallel workers off (``max_parallel_workers_per_gather = 0``) and, besides wall
time, the backend's CPU time (``/proc/PID/schedstat``) and this process's (``process_time``):
much less noisy than wall time on a shared machine, and it counts the Python side of the numpy
design, which the backend's does not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import window_numpy as wn  # noqa: E402
from daily_cycle import AS_OF, FLOOR_SQL, load_avg, open_db  # noqa: E402
from growthops.ads.analysis import window as W  # noqa: E402
from growthops.ads.config import load_context  # noqa: E402

BUCKET_WINDOWS = {"1": "b = 0", "7": "b <= 1", "14": "b <= 2", "h": "b between 1 and 3", "e": "b between 2 and 3"}


def bucket_sql(result: str) -> str:
    """The scan grouped by (entity, bucket): 0 = as_of, 1 = 1-6 days before, 2 = 7-13, 3 = 14-28,
    4 = 29; unfiltered sums per bucket, then the windows as filtered sums over the buckets."""
    inner, outer, old, final = [], [], [], []
    for name, (expr, windows) in W.QUANTITIES.items():
        inner.append(f"{W._agg(expr, result, None)} as {name}")
        for w in windows:
            if w not in ("30", "90"):
                outer.append(f"sum(x.{name}) filter (where {BUCKET_WINDOWS[w]}) as {name}_{w}")
                final.append(f"coalesce(r.{name}_{w}, 0) as {name}_{w}")
        if "30" in windows or "90" in windows:
            outer.append(f"sum(x.{name}) as {name}_30")
            if "30" in windows:
                final.append(f"coalesce(r.{name}_30, 0) as {name}_30")
            if "90" in windows:
                old.append(f"{W._agg(expr, result, None)} as {name}_old")
                final.append(f"coalesce(r.{name}_30, 0) + coalesce(o.{name}_old, 0) as {name}_90")
    names = "max(m.entity_name) as entity_name, max(m.campaign_id) as campaign_id, max(m.adset_id) as adset_id"
    where = "m.tenant_id = %(tenant_id)s and m.day between {lo} and {hi}"
    b = ("case when m.day = %(as_of)s then 0 when m.day > %(as_of)s::date - 7 then 1 when m.day > %(as_of)s::date - 14"
         " then 2 when m.day > %(as_of)s::date - 29 then 3 else 4 end")
    return (
        "create temp table _entity on commit drop as\nwith x as materialized (\n"
        f"  select m.platform, m.level, m.entity_id, {b} as b, {names}, max(m.daily_budget::float8) as budget,\n    "
        + ",\n    ".join(inner) + "\n  from ads.metrics_daily m where "
        + where.format(lo="%(as_of)s::date - 29", hi="%(as_of)s") + " group by 1, 2, 3, 4),\n"
        "r as (select x.platform, x.level, x.entity_id, max(x.entity_name) as entity_name,"
        " max(x.campaign_id) as campaign_id, max(x.adset_id) as adset_id,"
        " max(x.budget) filter (where b = 0) as budget_today,\n    " + ",\n    ".join(outer)
        + "\n  from x group by 1, 2, 3),\no as materialized (\n"
        f"  select m.platform, m.level, m.entity_id, {names},\n    " + ",\n    ".join(old)
        + "\n  from ads.metrics_daily m where " + where.format(lo="%(as_of)s::date - 89", hi="%(as_of)s::date - 30")
        + " group by 1, 2, 3)\nselect platform, level, entity_id, coalesce(r.entity_name, o.entity_name) as entity_name,"
        " coalesce(r.campaign_id, o.campaign_id) as campaign_id, coalesce(r.adset_id, o.adset_id) as adset_id,"
        " r.budget_today,\n  " + ",\n  ".join(final) + "\nfrom r full join o using (platform, level, entity_id)"
    )


# Aggregates with the same transition function, arguments and filter share one state (computed
# once per row): n, sum x, sum x^2 and sum y of the history statistics from regr_* and avg/var_pop.
_DOW = W._DOW
_LS = f"ln(m.spend::float8 / (%(spend_f)s::float8[])[{_DOW}])"
_RSS = f"{{result}}::float8 ^ 2 / (m.spend::float8 * (%(rate_f)s::float8[])[{_DOW}])"
_N_SP = "count(*) filter (where m.spend > 0{and_w})"
_REGR = f"({_RSS}, {_LS}) filter (where m.spend > 0{{and_w}})"
_LC = "ln(1000 * m.spend::float8 / m.impressions)"
_CPM = "filter (where m.spend > 0 and m.impressions > 0{and_w})"
_N_CPM = f"count(*) {_CPM}"
SHARED_STATES = {
    "rss": f"regr_avgy{_REGR} * {_N_SP}",
    "ls": f"regr_avgx{_REGR} * {_N_SP}",
    "ls2": f"regr_sxx{_REGR} + regr_avgx{_REGR} ^ 2 * {_N_SP}",
    "lc": f"avg({_LC}) {_CPM} * {_N_CPM}",
    "lc2": f"var_pop({_LC}) {_CPM} * {_N_CPM} + avg({_LC}) {_CPM} ^ 2 * {_N_CPM}",
}
NUMERIC_SUMS = {"spend": "sum(m.spend)", "value": "sum(m.conversion_value)"}


def patched_scan(result: str, exprs: dict[str, str]) -> str:
    """The scan with some quantities' aggregate expressions replaced."""
    saved = dict(W.QUANTITIES)
    try:
        for name, expr in exprs.items():
            W.QUANTITIES[name] = (expr, saved[name][1])
        return W._scan_sql(result)
    finally:
        W.QUANTITIES.clear()
        W.QUANTITIES.update(saved)


def scan_parts(full: str) -> tuple[str, str]:
    """The scan's last-30-days aggregate alone, and the sum of days 30-89 that
    :func:`growthops.ads.analysis.window.long_sums` recomputes when it cannot move the carried
    sums (the scan's older aggregate before migration 0185), each as a ``create temp table``."""
    recent = full.split("with r as materialized (\n", 1)[1].split(",\no as (", 1)[0].rstrip(")")
    older = ("select m.platform, m.level, m.entity_id, "
             + ", ".join(f"sum({x.format(x='m')}) as {c}" for c, x in W.LONG_ITEMS.items())
             + " from ads.metrics_daily m where m.tenant_id = %(tenant_id)s"
             " and m.day between %(as_of)s::date - 89 and %(as_of)s::date - 30 group by 1, 2, 3")
    head = "create temp table _part on commit drop as "
    return head + recent, head + older


def load_main(src: Path):
    """Main's window module from a ``git archive``'s ``src`` (imported under another name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("window_main", src / "growthops/ads/analysis/window.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def backend_cpu(pid: int) -> float:
    """CPU seconds a local backend has used (``/proc/PID/schedstat``; 0 if unreadable)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:
        return 0.0


def check_equal(db, tenant_id) -> str:
    """Run the numpy design and the scan for one tenant; compare every column of ``_entity``."""
    with db.tenant_tx(tenant_id) as conn:
        ctx = load_context(conn, tenant_id=tenant_id)
        E = wn.prepare(conn, ctx, AS_OF)
        mine = conn.execute("select * from _entity order by platform, level, entity_id").fetchall()
        conn.execute("drop table _entity")
        W.prepare_window(conn, ctx, AS_OF)
        ref = conn.execute("select * from _entity order by platform, level, entity_id").fetchall()
    assert len(mine) == len(ref) == len(E.get("platform", ())), "row counts differ"
    numbers = differ = 0
    worst = 0.0
    for i, (a, b) in enumerate(zip(ref, mine, strict=True)):
        assert list(a) == list(b), "columns differ"
        for k, x in a.items():
            y, z = b[k], E[k][i]
            if x is None or isinstance(x, str):
                assert x == y and (x == z or (x is None and z != z)), (k, x, y, z)
                continue
            numbers += 1
            assert float(y) == float(z), (k, y, z)
            if float(x) != float(y):
                differ += 1
                worst = max(worst, abs(float(x) - float(y)) / max(abs(float(x)), abs(float(y))))
    return f"{len(ref)} entities, {numbers} numbers, {differ} differ, worst relative difference {worst:.1e}"


def main() -> None:
    """Parse flags, check the numpy design against the scan, time every variant."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--main-src", type=Path, default=None, help="src dir of main's code (adds scan_main)")
    ap.add_argument("--cpu", action="store_true", help="parallel off; report backend and client CPU time")
    ap.add_argument("--only", default=None, help="comma-separated variants (default: all)")
    args = ap.parse_args()
    main_w = load_main(args.main_src) if args.main_src else None
    db = open_db(args.data_dir)
    with db.admin() as conn:
        tenants = [r["tenant_id"] for r in conn.execute(
            "select tenant_id from core.tenants where client_key like 'bench%%' order by client_key")]
    if not tenants:
        raise SystemExit("no bench tenants: build the data with bench/daily_cycle.py --data-dir first")
    wn.TRANSPORT = "libpq"
    print("numpy design against the scan (first tenant):", check_equal(db, tenants[0]))

    def run(conn, ctx, name: str) -> None:
        res = ctx.result_sql()
        conn.execute("select set_config('work_mem', %s, true)", [W.WORK_MEM])
        if args.cpu:
            conn.execute("select set_config('max_parallel_workers_per_gather', '0', true)")
        p = {"tenant_id": ctx.tenant_id, "as_of": AS_OF, "seed": 0}
        if name == "floor":
            conn.execute(FLOOR_SQL, [ctx.tenant_id, AS_OF, AS_OF]).fetchall()
        elif name.startswith("scan"):
            spend_f, rate_f = W.dow_factors(conn, ctx, AS_OF)
            p |= {"spend_f": spend_f, "rate_f": rate_f}
            if name == "scan_main":
                conn.execute(main_w._scan_sql(res), p)
                return
            W.long_sums(conn, ctx.tenant_id, AS_OF)  # the carried days 30-89 (kept: ready after the first round)
            full = W._scan_sql(res, ctx.result_sql("o"))
            sql = {"scan": full, "scan_recent": scan_parts(full)[0], "scan_older": scan_parts(full)[1],
                   "scan_no_casts": full.replace("m.spend::float8", "m.impressions::float8")
                   .replace("m.conversion_value::float8", "m.clicks::float8"),
                   "scan_buckets": bucket_sql(res),
                   "scan_shared_states": patched_scan(res, SHARED_STATES),
                   "scan_numeric_sums": patched_scan(res, NUMERIC_SUMS)}[name]
            conn.execute(sql, p)
            if name == "scan":
                conn.execute(W._NAMES_SQL, p)
        elif name == "move2":
            W.long_sums(conn, ctx.tenant_id, AS_OF)  # ready for AS_OF (a no-op after the first round)
            assert W.long_sums(conn, ctx.tenant_id, AS_OF - timedelta(days=1)) == "moved"
            assert W.long_sums(conn, ctx.tenant_id, AS_OF) == "moved"
        elif name == "copy_1col":
            wn.raw_copy_out(conn, "copy (select m.impressions from ads.metrics_daily m where m.tenant_id ="
                            " %(tenant_id)s and m.day between %(as_of)s::date - 89 and %(as_of)s) to stdout"
                            " (format binary)", p)
        elif name in ("copy_rows_libpq", "copy_recent_libpq"):
            sql = wn.copy_rows_sql(res)
            if name == "copy_recent_libpq":
                sql = sql.replace("%(as_of)s::date - 89", "%(as_of)s::date - 29")
            wn.parse_rows(wn.raw_copy_out(conn, sql, p))
        elif name == "copy_rows_psycopg":
            with conn.cursor().copy(wn.copy_rows_sql(res), p) as cp:
                wn.parse_rows(b"".join(cp))
        elif name == "arrays_per_day":
            cols = [e.replace("{result}", res).replace("{key}", wn._KEY_SQL) for _, e in wn._ROW_FIELDS[1:]]
            sql = ("copy (select a, (select row(" + ", ".join(f"array_agg({c})" for c in cols) + ")"
                   " from ads.metrics_daily m where m.tenant_id = %(tenant_id)s and m.day = %(as_of)s::date - a)"
                   " from generate_series(0, 89) a) to stdout (format binary)")
            with conn.cursor().copy(sql, p) as cp:
                b"".join(cp)
        elif name.startswith("numpy"):
            wn.TRANSPORT = "libpq" if name == "numpy_libpq" else "psycopg"
            wn.prepare(conn, ctx, AS_OF)
        else:
            raise ValueError(name)

    names = ["floor", "scan", *(["scan_main"] if main_w else []), "scan_recent", "scan_older", "move2", "scan_no_casts",
             "scan_buckets", "scan_shared_states", "scan_numeric_sums", "copy_1col", "copy_rows_libpq", "copy_rows_psycopg", "copy_recent_libpq",
             "arrays_per_day", "numpy_libpq", "numpy_psycopg"]
    if args.only:
        names = ["floor", *[n for n in args.only.split(",") if n in names and n != "floor"]]
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu_pg: dict[str, list[float]] = {n: [] for n in names}
    cpu_py: dict[str, list[float]] = {n: [] for n in names}
    load_before = load_avg()
    for _ in range(args.repeat):
        for name in names:
            wall = pg = py = 0.0
            for tid in tenants:
                with db.tenant_tx(tid) as conn:
                    ctx = load_context(conn, tenant_id=tid)
                    pid = conn.execute("select pg_backend_pid() as p").fetchone()["p"]
                    c0, p0, t0 = backend_cpu(pid), time.process_time(), time.perf_counter()
                    run(conn, ctx, name)
                    wall += time.perf_counter() - t0
                    pg += backend_cpu(pid) - c0
                    py += time.process_time() - p0
            times[name].append(wall)
            cpu_pg[name].append(pg)
            cpu_py[name].append(py)
    med = statistics.median
    print(f"{len(tenants)} tenants, as of {AS_OF}, {args.repeat} rounds{', parallel off' if args.cpu else ''}; "
          f"load average before / after: {load_before} / {load_avg()}")
    print(f"{'variant':20s} {'wall min':>9s} {'wall med':>9s} {'/floor':>7s} {'pg cpu med':>11s} {'/floor':>7s}"
          f" {'py cpu med':>11s}")
    for n in names:
        print(f"{n:20s} {min(times[n]):9.3f} {med(times[n]):9.3f} {med(times[n]) / med(times['floor']):7.2f}"
              f" {med(cpu_pg[n]):11.3f} {med(cpu_pg[n]) / max(med(cpu_pg['floor']), 1e-9):7.2f} {med(cpu_py[n]):11.3f}")
    db.close()


if __name__ == "__main__":
    main()
