"""Anomalies of the day (seed 004 ``ads.anomalies``), from the cycle's entity window.

Four tests per entity that delivered on ``as_of`` (see :mod:`growthops.ads.analysis.detect` for the
models and their sources):

* ``cpa`` — results given spend (gamma–Poisson, negative-binomial predictive, day-of-week factor
  on the rate, overdispersion estimated from the history). A *drop* in results per unit of spend
  is a CPA *spike*; both are stored in CPA terms.
* ``ctr`` — clicks given impressions (same model, no weekday factor).
* ``spend`` — log-normal with the weekday factor of spend (Student-t prediction interval).
* ``cpm`` — log-normal.

History is the 28 days before ``as_of``. Tests that cannot reach significance (too little
history or volume) are counted as ``insufficient_data`` and never alarm. False alarms across
all of a platform's tests are controlled with Benjamini–Hochberg at the platform's ``fdr_q``.
The model's p-values are widened by each group's (platform, level, metric) empirical null,
fitted by :data:`NULL_RULE` (docs/performance.md section 2d): on the day's tests actually made,
by the median, 90th and 99th percentiles of ``|z|``, with the fewest previous days' stored
scores (``ads.anomaly_null_scores``, the :data:`NULL_PAST_DAYS` days before ``as_of`` only)
that bring a group to 50 tests, without the day's own when it has fewer (section 2g). The
cycle first fills in the days among those 28 that have metrics but no stored scores
(:func:`fill_null_scores`: a new tenant's first cycle, a day never run;
``ads.anomaly_null_days``, migration 0198, marks each stored day, empty or not; a day restated
later keeps the scores of the test its cycle made; docs/performance.md section 2f).
Only anomalies are stored; the counts of tests, insufficient data and anomalies go to the
cycle's summary.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np

from growthops.ads.analysis.detect import STATUS_ANOMALY, STATUS_INSUFFICIENT, detect
from growthops.ads.analysis.tails import TAIL_QUANTILES
from growthops.ads.analysis.window import prepare_window
from growthops.ads.config import TenantContext
from growthops.ads.suggestions.evidence import group_totals

METHOD = "gamma-poisson NB predictive / log-normal t; BH FDR; 28-day history; DOW factors"

#: The empirical-null rules :func:`detect_anomalies` can run (keyword arguments of
#: :func:`growthops.ads.analysis.detect.detect`, plus ``pool``: pool past days' stored scores).
#: ``pooled`` (docs/performance.md section 2d): section 2c's fit (the tests actually made, Tarone
#: 1990; the median, 90th and 99th percentiles, McCulloch 1986) with a group under 50 tests
#: pooled with the fewest previous days that make 50 (section 2b). ``candidates``: section 2's
#: fit (every candidate test, the median and the 90th percentile, the day alone).
NULL_RULES: dict[str, dict[str, Any]] = {
    "pooled": {"null": "empirical", "null_fit": "made", "null_quantiles": TAIL_QUANTILES, "pool": True},
    "candidates": {"null": "empirical", "pool": False},
}
#: The rule the daily cycle runs (docs/performance.md section 2d).
NULL_RULE = "pooled"
#: Days of past scores pooled and kept in ``ads.anomaly_null_scores`` (the history window).
NULL_PAST_DAYS = 28


def _pooled(keys: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per-element pooled ratio sum(num)/sum(den) within its key group."""
    n, d = group_totals(keys, num), group_totals(keys, den)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, n / d, np.nan)


def build_tests(E: dict[str, np.ndarray], spend_f: list[float], rate_f: list[float], as_of: date) -> dict[str, Any]:
    """Turn the entity window into the test record :func:`growthops.ads.analysis.detect.detect` takes.

    Returns the record plus ``entity_index`` (row of E per test) and ``metric`` (name per test).
    Only entities that delivered on ``as_of`` (spend or impressions > 0) are tested.
    """
    delivered = np.flatnonzero((E["spend_1"] > 0) | (E["impressions_1"] > 0))
    dow = as_of.isoweekday() - 1
    group = np.array([f"{p}|{lv}" for p, lv in zip(E["platform"], E["level"], strict=True)], dtype=object)
    prior_cpa = _pooled(group, E["results_h"], E["adj_spend_h"])
    prior_ctr = _pooled(group, E["clicks_h"], E["impressions_h"])
    parts: list[dict[str, Any]] = []
    i = delivered
    k = len(i)
    parts.append({"metric": np.full(k, "cpa", dtype=object), "kind": np.full(k, "count", dtype=object),
                  "value": E["results_1"][i], "exposure": E["spend_1"][i], "season": np.full(k, rate_f[dow]),
                  "hist_days": E["n_sp_h"][i], "hist_count": E["results_h"][i], "hist_exposure": E["adj_spend_h"][i],
                  "hist_sum_sq": E["rss_h"][i], "prior_rate": prior_cpa[i], "group": group[i] + "|cpa"})
    parts.append({"metric": np.full(k, "ctr", dtype=object), "kind": np.full(k, "count", dtype=object),
                  "value": E["clicks_1"][i], "exposure": E["impressions_1"][i], "season": np.ones(k),
                  "hist_days": E["n_imp_h"][i], "hist_count": E["clicks_h"][i], "hist_exposure": E["impressions_h"][i],
                  "hist_sum_sq": E["css_h"][i], "prior_rate": prior_ctr[i], "group": group[i] + "|ctr"})
    parts.append({"metric": np.full(k, "spend", dtype=object), "kind": np.full(k, "continuous", dtype=object),
                  "value": E["spend_1"][i], "season": np.full(k, spend_f[dow]), "hist_days": E["n_sp_h"][i],
                  "hist_sum_log": E["ls_h"][i], "hist_sum_log_sq": E["ls2_h"][i], "hist_zero_days": E["n_sp0_h"][i],
                  "group": group[i] + "|spend"})
    with np.errstate(divide="ignore", invalid="ignore"):
        cpm_today = np.where(E["impressions_1"][i] > 0, 1000 * E["spend_1"][i] / E["impressions_1"][i], np.nan)
    parts.append({"metric": np.full(k, "cpm", dtype=object), "kind": np.full(k, "continuous", dtype=object),
                  "value": cpm_today, "season": np.ones(k), "hist_days": E["n_cpm_h"][i],
                  "hist_sum_log": E["lc_h"][i], "hist_sum_log_sq": E["lc2_h"][i], "group": group[i] + "|cpm"})
    keys = set().union(*(p.keys() for p in parts))
    rec: dict[str, Any] = {}
    for key in keys:
        cols = []
        for p in parts:
            if key in p:
                cols.append(np.asarray(p[key]))
            else:
                cols.append(np.full(k, np.nan))
        rec[key] = np.concatenate(cols) if cols else np.array([])
    rec["entity_index"] = np.tile(i, 4)
    return rec


def load_null_scores(conn: Any, *, tenant_id: Any, as_of: date, days: int = NULL_PAST_DAYS) -> dict[str, list[np.ndarray]]:
    """Return the stored scores of the ``days`` days before ``as_of`` (never ``as_of`` or later).

    Maps a test group (``platform|level|metric``) to its days' normal scores, most recent day
    first (float64 arrays holding the stored float4 values exactly), as
    :func:`growthops.ads.analysis.tails.pooled_null` takes them. One query.
    """
    rows = conn.execute(
        "select test_group, scores from ads.anomaly_null_scores where tenant_id = %s "
        "and day >= %s::date - %s and day < %s order by test_group, day desc",
        [tenant_id, as_of, days, as_of],
    ).fetchall()
    out: dict[str, list[np.ndarray]] = {}
    for r in rows:
        # float4 as stored (the driver's text form, made exact again)
        out.setdefault(r["test_group"], []).append(np.asarray(r["scores"], dtype=np.float32).astype(float))
    return out


def store_null_scores(conn: Any, *, tenant_id: Any, as_of: date, scores: dict[str, np.ndarray],
                      days: int = NULL_PAST_DAYS) -> None:
    """Replace ``as_of``'s stored scores by ``scores`` (group -> normal scores of the tests made)
    and mark the day computed; delete the rows older than ``days`` days before ``as_of``.

    The mark is ``as_of``'s row of ``ads.anomaly_null_days`` (migration 0198, ``tests`` = the
    scores stored, 0 for a day computed with no test made), written with the scores, so a day
    computed empty is told from a day never computed (:func:`missing_null_days`). Two set-based
    statements (each a data-modifying CTE over both tables).
    """
    groups = [g for g in sorted(scores) if len(scores[g])]
    p = {"t": tenant_id, "d": as_of, "n": days, "k": sum(len(scores[g]) for g in groups), "g": groups,
         "s": ["{" + ",".join(format(float(v), ".9g") for v in scores[g]) + "}" for g in groups]}
    conn.execute(
        "with s as (delete from ads.anomaly_null_scores where tenant_id = %(t)s"
        " and (day = %(d)s or day < %(d)s::date - %(n)s))"
        " delete from ads.anomaly_null_days where tenant_id = %(t)s and (day = %(d)s or day < %(d)s::date - %(n)s)",
        p,
    )
    conn.execute(
        "with m as (insert into ads.anomaly_null_days (tenant_id, day, tests) values (%(t)s, %(d)s, %(k)s))"
        " insert into ads.anomaly_null_scores (tenant_id, test_group, day, scores)"
        " select %(t)s, u.g, %(d)s, u.s::real[] from unnest(%(g)s::text[], %(s)s::text[]) as u(g, s)",
        p,
    )


def missing_null_days(conn: Any, *, tenant_id: Any, as_of: date, days: int = NULL_PAST_DAYS) -> list[date]:
    """Return the days among the ``days`` before ``as_of`` with metrics but no stored scores, oldest first.

    A day is stored when it has its row in ``ads.anomaly_null_days`` (migration 0198, written by
    :func:`store_null_scores`). A day without a metrics row of the tenant has no test to store
    and is not returned. One statement: two index probes per day (``metrics_daily_tenant_day``, the
    markers' primary key), whatever the tenant's size.
    """
    rows = conn.execute(
        """select g::date as day
           from generate_series(%(d)s::date - %(n)s, %(d)s::date - 1, interval '1 day') g
           where exists (select 1 from ads.metrics_daily m where m.tenant_id = %(t)s and m.day = g::date)
             and not exists (select 1 from ads.anomaly_null_days x where x.tenant_id = %(t)s and x.day = g::date)
           order by 1""",
        {"t": tenant_id, "d": as_of, "n": days},
    ).fetchall()
    return [r["day"] for r in rows]


def fill_null_scores(conn: Any, ctx: TenantContext, as_of: date, *, days: int = NULL_PAST_DAYS) -> list[date]:
    """Compute and store the scores of the days :func:`missing_null_days` returns; return those days.

    The daily cycle's first step (:func:`growthops.ads.cycle.run_cycle_in_tx`), so that
    ``as_of``'s test pools the ``days`` days before it even for a new tenant or a day never run
    (docs/performance.md section 2f). Each missing day, oldest
    first, runs :func:`detect_anomalies` with ``scores_only=True`` (its window: the anomaly
    tests' 18 sums over the 29 days ending on the day,
    :func:`growthops.ads.analysis.window.prepare_window` ``recent_only``; no anomaly stored). A day's scores are the model's normal scores of its tests: they depend on
    the metrics of that day, its 28-day history and the 12 weeks of its weekday factors, never
    on other days' stored scores, so the filled days equal those a cycle run each day would
    have stored on the same rows. Cost: at most ``days`` such scans, none when every day is
    stored (idempotent: a second call fills nothing); measured at about 160 ms a day for a
    tenant of 2,500 ads, a third of its normal cycle (``bench/daily_cycle.py --fill``). Takes
    the tenant's exclusive advisory lock that the metrics trigger of migration 0185 takes
    shared, to the end of the transaction, as the window's carried sums do: a metrics write
    does not interleave with the fill.
    """
    conn.execute("select pg_advisory_xact_lock(hashtextextended('ads.window_long_sums:' || %s::text, 0))",
                 [ctx.tenant_id])
    missing = missing_null_days(conn, tenant_id=ctx.tenant_id, as_of=as_of, days=days)
    for day in missing:
        detect_anomalies(conn, ctx, day, scores_only=True)
    return missing


def detect_anomalies(conn: Any, ctx: TenantContext, as_of: date, *, null_rule: str | None = None,
                     scores_only: bool = False) -> dict[str, int]:
    """Run the day's tests and upsert the anomalies; return counts.

    Returns ``{"tests", "insufficient_data", "anomalies"}``. Idempotent for ``as_of``: the
    anomalies of that day are replaced, except their human-set status (investigating,
    dismissed), which is kept, and so are the day's scores in ``ads.anomaly_null_scores``
    (read for the days before ``as_of`` only: a replayed day, e.g. by the backtest, never sees a
    later day's scores). ``null_rule``: a key of :data:`NULL_RULES` (default :data:`NULL_RULE`).
    ``scores_only``: store the day's scores and leave ``ads.anomalies`` alone (the cycle's fill
    of the days it misses, :func:`fill_null_scores`, and the backtest's warm-up of the days
    before its range, :func:`growthops.ads.learning.backtest.run_backtest`); it reads no
    stored day (the scores stored are the model's, which the pooling does not change) and
    builds the anomaly tests' columns of the window only (``prepare_window(..., recent_only=True)``).
    Every run marks ``as_of`` computed in ``ads.anomaly_null_days`` (:func:`store_null_scores`),
    even with no test made. The days before ``as_of`` that are not stored are not filled here:
    the cycle calls :func:`fill_null_scores` first.
    """
    from growthops.ads.analysis.window import fetch_entities

    rule = dict(NULL_RULES[null_rule or NULL_RULE])
    # The stored scores are the model's (detect's null_score): the pooling changes the p-values
    # only, so a scores-only run reads no past day and needs only the tests' window columns.
    pool = rule.pop("pool") and not scores_only
    meta = prepare_window(conn, ctx, as_of, recent_only=scores_only)
    E = fetch_entities(conn)
    counts = {"tests": 0, "insufficient_data": 0, "anomalies": 0}
    made: dict[str, np.ndarray] = {}
    if not E:
        store_null_scores(conn, tenant_id=ctx.tenant_id, as_of=as_of, scores=made)
        return counts
    rec = build_tests(E, meta["spend_f"], meta["rate_f"], as_of)
    if len(rec["entity_index"]) == 0:
        store_null_scores(conn, tenant_id=ctx.tenant_id, as_of=as_of, scores=made)
        return counts
    past = load_null_scores(conn, tenant_id=ctx.tenant_id, as_of=as_of) if pool else None
    platforms = E["platform"][rec["entity_index"]]
    rows: list[dict[str, Any]] = []
    for plat in sorted(set(platforms)):
        cfg = ctx.config(plat)
        if not cfg.anomaly_detection_enabled:
            continue
        sel = platforms == plat
        sub = {k: (v[sel] if isinstance(v, np.ndarray) else v) for k, v in rec.items()}
        groups = sub.pop("group")
        metric = sub.pop("metric")
        idx = sub.pop("entity_index")
        res = detect({**sub, "group": groups}, fdr_q=cfg.fdr_q, null_past=past, **rule)
        z = res["null_score"]
        fin = np.isfinite(z)
        for g in sorted(set(groups[fin])):
            made[str(g)] = z[fin & (groups == g)]
        counts["tests"] += int(np.sum(res["status"] != STATUS_INSUFFICIENT))
        counts["insufficient_data"] += int(np.sum(res["status"] == STATUS_INSUFFICIENT))
        hit = np.flatnonzero(res["status"] == STATUS_ANOMALY)
        if scores_only:
            continue
        for j in hit:
            ei = idx[j]
            m = metric[j]
            expected, actual = res["expected"][j], sub["value"][j]
            direction = res["direction"][j]
            details: dict[str, Any] = {"p_low": res["p_low"][j], "p_high": res["p_high"][j]}
            if m == "cpa":
                spend = sub["exposure"][j]
                exp_cpa = spend / expected if expected > 0 else None
                act_cpa = spend / actual if actual > 0 else None
                details.update(results=actual, expected_results=expected, spend=spend, dispersion=res["dispersion"][j])
                base_v, act_v = exp_cpa, act_cpa
                dev = (expected / actual - 1.0) if actual > 0 else None
                direction = "spike" if direction == "drop" else "drop"
            elif m == "ctr":
                imp = sub["exposure"][j]
                base_v, act_v = expected / imp, actual / imp
                dev = res["deviation"][j]
                details.update(clicks=actual, expected_clicks=expected, impressions=imp, dispersion=res["dispersion"][j])
            else:
                base_v, act_v, dev = expected, actual, res["deviation"][j]
            rows.append({
                "platform": plat, "level": E["level"][ei], "entity_id": E["entity_id"][ei],
                "entity_name": E["entity_name"][ei], "anomaly_type": direction, "metric": m,
                "baseline_value": _f(base_v), "actual_value": _f(act_v), "deviation": _f(dev),
                "p_value": _f(res["p_value"][j]), "q_value": _f(res["q_value"][j]),
                "severity": res["severity"][j], "details": {k: _f(v) for k, v in details.items()},
            })
    store_null_scores(conn, tenant_id=ctx.tenant_id, as_of=as_of, scores=made)
    if scores_only:
        return counts
    conn.execute(
        # An anomaly a person touched (status_by, migration 0101) is kept even when reopened.
        "delete from ads.anomalies where tenant_id = %s and as_of = %s and status = 'active' "
        "and status_by is null",
        [ctx.tenant_id, as_of],
    )
    if rows:
        conn.execute(
            """insert into ads.anomalies
                 (tenant_id, as_of, platform, level, entity_id, entity_name, anomaly_type, metric,
                  baseline_value, actual_value, deviation, p_value, q_value, severity, method, details)
               select %(t)s, %(d)s, x.platform, x.level, x.entity_id, x.entity_name, x.anomaly_type,
                      x.metric, x.baseline_value, x.actual_value, x.deviation, x.p_value, x.q_value,
                      x.severity, %(method)s, x.details
               from jsonb_to_recordset(%(rows)s::jsonb) as x(
                 platform text, level text, entity_id text, entity_name text, anomaly_type text,
                 metric text, baseline_value float8, actual_value float8, deviation float8,
                 p_value float8, q_value float8, severity text, details jsonb)
               on conflict (tenant_id, as_of, platform, level, entity_id, metric) do update set
                 anomaly_type = excluded.anomaly_type, baseline_value = excluded.baseline_value,
                 actual_value = excluded.actual_value, deviation = excluded.deviation,
                 p_value = excluded.p_value, q_value = excluded.q_value,
                 severity = excluded.severity, details = excluded.details""",
            {"t": ctx.tenant_id, "d": as_of, "method": METHOD, "rows": json.dumps(rows)},
        )
    counts["anomalies"] = len(rows)
    return counts


def _f(v: Any) -> float | None:
    """A JSON-safe float (None for None, NaN and infinities)."""
    if v is None:
        return None
    x = float(v)
    return x if np.isfinite(x) else None


def load_anomalies(conn: Any, *, tenant_id: Any, as_of: date) -> list[dict[str, Any]]:
    """Return the anomalies stored for ``as_of``."""
    return conn.execute(
        "select * from ads.anomalies where tenant_id = %s and as_of = %s", [tenant_id, as_of]
    ).fetchall()
