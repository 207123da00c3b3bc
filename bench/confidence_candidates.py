"""Calibration of the pause / budget / scale probabilities over EVERY candidate entity-day.

The backtest (``growthops backtest``) measures the suggestions the replayed cycle made: one per
entity and type, under the daily cap, so its figures depend on that selection. This check
replays the same days (:func:`growthops.ads.learning.backtest.run_backtest`, nothing kept) and
records the three probabilities :func:`growthops.ads.suggestions.generate.generate` computes for
every ad and ad set (P(ROAS < 0.6 x target), P(ROAS < target), P(ROAS > 1.2 x target) over the
next 7 days at the current spend), then judges each against what the next 7 days did, as the
backtest's judge does (conversion value / spend, or results x the value per result / spend when
the account reports no values). Kept: ads and ad sets that spent in the last 7 days, with at
least twice the target CPA spent over the 14 days, and a spend in the next 7 days (docs/confidences.md
sections 6 and 7).

Run: ``GROWTHOPS_DATA_DIR=... .venv/bin/python bench/confidence_candidates.py [--tenant display-demo]
[--from 2020-05-01] [--to 2020-06-23]`` after ``growthops demo`` (the display tenant). Prints, for
each probability of at least 80 %, how often its premise held against the mean probability
(fraction 0-1), the expected calibration error (10 bins) and the same split by the two halves of
the range; then pause's calibration over every probability bin.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

import growthops.ads.suggestions.generate as G
from growthops.ads.config import load_context
from growthops.ads.learning.backtest import expected_calibration_error, run_backtest
from growthops.core.cli import _tenant_id
from growthops.core.db import get_db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenant", default="display-demo")
    ap.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2020, 5, 1))
    ap.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2020, 6, 23))
    args = ap.parse_args()

    days: list[dict] = []
    calls: list[np.ndarray] = []
    gen, prob = G.generate, G.prob_future_count_below

    def prob_spy(*a, **k):
        out = prob(*a, **k)
        calls.append(np.asarray(out, dtype=float).copy())
        return out

    def gen_spy(conn, ctx, as_of, E, *a, **k):
        calls.clear()
        res = gen(conn, ctx, as_of, E, *a, **k)
        if E and len(calls) >= 3:
            _, vbar, troas, target_cpa = G.value_targets(ctx, E)  # as generate reads them
            days.append(dict(as_of=as_of, E={kk: np.asarray(v).copy() for kk, v in E.items()},
                             vbar=vbar, troas=troas, target_cpa=target_cpa,
                             p=(calls[0], calls[1], 1.0 - calls[2])))
        return res

    G.generate, G.prob_future_count_below = gen_spy, prob_spy
    db = get_db()
    tid = _tenant_id(args.tenant)
    t0 = time.time()
    try:
        run_backtest(db, tenant_id=tid, start=args.start, end=args.end)
    finally:
        G.generate, G.prob_future_count_below = gen, prob
    with db.tenant_tx(tid, rollback=True) as conn:
        ctx = load_context(conn, tenant_id=tid)
        m = pd.DataFrame(conn.execute(
            f"select platform, level, entity_id, day, spend::float8 as spend, "
            f"{ctx.result_sql('m')}::float8 as results, conversion_value::float8 as value "
            "from ads.metrics_daily m where tenant_id = %s", [tid]).fetchall())
    m["day"] = pd.to_datetime(m["day"])
    rows = []
    for d in days:
        E = d["E"]
        platform, level = E["platform"], E["level"]
        vbar, troas, target_cpa = d["vbar"], d["troas"], d["target_cpa"]
        day = pd.Timestamp(d["as_of"])
        nxt = m[(m.day > day) & (m.day <= day + timedelta(days=7))]
        after = nxt.groupby(["platform", "level", "entity_id"])[["spend", "results", "value"]].sum()
        key = pd.MultiIndex.from_arrays([platform, level, E["entity_id"]])
        a = after.reindex(key)
        sp, va, re = a["spend"].to_numpy(), a["value"].to_numpy(), a["results"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            roas = np.where(va > 0, va / sp, re * vbar / sp)
        ok = ((E["spend_7"] > 0) & np.isin(level, ("ad", "adset")) & (E["spend_14"] >= 2 * target_cpa)
              & (sp > 0) & np.isfinite(roas))
        pb, pbl, pg = d["p"]
        for i in np.flatnonzero(ok):
            rows.append(dict(as_of=day, level=level[i], p_bad=pb[i], p_below=pbl[i], p_good=pg[i],
                             bad=roas[i] < 0.6 * troas[i], below=roas[i] < troas[i],
                             good=roas[i] > 1.2 * troas[i]))
    R = pd.DataFrame(rows)
    mid = pd.Timestamp(args.start) + (pd.Timestamp(args.end) - pd.Timestamp(args.start)) / 2
    print(f"{args.tenant} {args.start} -> {args.end}: {len(days)} days replayed, {len(R)} entity-days judged "
          f"({time.time() - t0:.0f} s, load average {os.getloadavg()[0]:.1f})")
    for col, hit, name in (("p_bad", "bad", "pause: ROAS < 0.6 x target"),
                           ("p_below", "below", "ROAS < target"), ("p_good", "good", "ROAS > 1.2 x target")):
        q = R[R[col] >= 0.8]
        if q.empty:
            continue
        ece = expected_calibration_error(list(zip(q[col].tolist(), q[hit].astype(bool).tolist(), strict=True)))
        halves = " · ".join(f"{lab} held {z[hit].mean():.3f} / stated {z[col].mean():.3f} (n={len(z)})"
                            for lab, z in (("first half", q[q.as_of < mid]), ("second half", q[q.as_of >= mid]))
                            if len(z))
        print(f"{name} (P >= 0.8): held {q[hit].mean():.3f} / stated {q[col].mean():.3f} (n={len(q)}), "
              f"ECE {ece:.3f}; {halves}")
    bins = pd.cut(R.p_bad, [-0.01, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001])
    t = R.groupby(bins, observed=True).agg(n=("bad", "size"), held=("bad", "mean"), stated=("p_bad", "mean"))
    print("pause, every probability bin:")
    print(t.round(3).T.to_string())


if __name__ == "__main__":
    main()
