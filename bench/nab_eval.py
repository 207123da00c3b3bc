"""Evaluate the ads anomaly detector's statistical core on three labelled NAB series.

Run: ``.venv/bin/python bench/nab_eval.py [--data /work/shared/data/nab]``

The detector is :func:`growthops.ads.analysis.detect.detect` (gamma-Poisson predictive with estimated
overdispersion, insufficient-data rule) run as a *streaming* detector on counts:

* seasonality: per slot (length inferred from the data by
  :func:`growthops.ads.analysis.grid.regularise`: 30 min at 5- or 30-minute steps, 1 h hourly), factor = day-of-week x time-of-day x (weekday, slot)
  interaction, each estimated with :func:`growthops.ads.analysis.predictive.seasonal_factors` (shrunk toward
  1) from the 28 days before the current day only (causal; recomputed once a day). Day of week
  uses the production prior (sd 0.15); time of day (48 slots) and the interaction (336 cells)
  estimate their prior spread by empirical Bayes (``prior_sd=None``), because a fixed +-15 %
  prior cannot describe a curve that varies five-fold over the day;
* history: the trailing 28 days (4 whole weeks, the ads default window) before the tested block;
* scales: the tested quantity is the count of the last ``h`` steps, for ``h`` on a geometric
  ladder x4 from the native step up to one day (taxi 30 min, 2 h, 8 h; tweets 5 min ... 21 h);
  the history is cut into blocks of the same length, which gives the sums the core needs
  (``Y``, ``E``, ``sum y_b**2 / S_b``, number of blocks), all from cumulative sums;
* level: two-sided p <= alpha with alpha = 0.05 / (steps per day x scales), i.e. Bonferroni for
  a 5 % family-wise false-alarm rate per day under the model. Not tuned, one value for all files;
* an alarm suppresses further alarms for one day (NAB counts only the first detection in a
  window); no test before one full day of history.

Four versions of the detector in the same run: ``gamma_poisson`` (the model's p-values),
``gp_causal_null`` (the same, widened by each scale's causal empirical null: a ``scale x t(nu)``
null fitted once a day on that scale's scores of the 28 days before,
:func:`growthops.ads.analysis.tails.causal_null`; issue 16) and ``gp_causal_tail`` (the same
null fitted on the tests made by the median, 90th and 99th percentiles,
:data:`growthops.ads.analysis.tails.TAIL_QUANTILES`; docs/performance.md section 2c) and
``gp_causal_both`` (``gp_causal_null``'s null, fitted the same way, replacing the model's
p-values both ways instead of only widening them: ``detect(null_widen_only=False)``;
docs/performance.md section 2e). Same untuned level for all four.

Baselines in the same run: the null detector, and NAB's "windowed Gaussian" (mean and sd of the
previous 1000 values, alarm when the two-sided normal tail p <= 0.05 / steps per day, same
suppression). Scoring: :mod:`growthops.ads.analysis.nab` (NAB v1.1 rules, checked on edge cases first).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from growthops.ads.analysis.detect import detect
from growthops.ads.analysis.grid import Grid, infer_step, regularise
from growthops.ads.analysis.nab import (
    load_labels,
    load_series,
    normalised_score,
    probation_length,
    score_file,
    window_indices,
)
from growthops.ads.analysis.predictive import estimate_dispersion, seasonal_factors
from growthops.ads.analysis.tails import TAIL_QUANTILES

FILES = (
    "realKnownCause/nyc_taxi.csv",
    "realTweets/Twitter_volume_AMZN.csv",
    "realTweets/Twitter_volume_FB.csv",
)
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
HIST_DAYS = 28
DAY = 86400
FWER_PER_DAY = 0.05
SUPPRESS_DAYS = 1.0
MIN_HISTORY_DAYS = 1.0


def seasonal_series(ts: np.ndarray, y: np.ndarray, grid: Grid | None = None) -> np.ndarray:
    """Return the causal seasonal factor of every row (weekday x slot, 28-day trailing fit).

    ``ts`` datetime64 rows (sorted, unique: see :func:`growthops.ads.analysis.grid.regularise`),
    ``y`` values; the slot length comes from ``grid`` (inferred from the data when None: 30 min
    on 5- or 30-minute data, 1 h on hourly data, one slot a day on daily data). For day ``d``
    only complete days (every step of every slot present) among the 28 before ``d`` are used
    (continuous mode of ``seasonal_factors``: day-to-day variance from sums of squares).
    Warns (``warnings.warn``) when no day is complete or every factor came out exactly 1.
    """
    g = grid or regularise(ts, y)
    sec = ts.astype("datetime64[s]").astype(np.int64)
    day_abs = sec // DAY
    day = day_abs - day_abs[0]
    weekday = (day_abs + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    slot_len = g.slot or DAY
    slot = (sec % DAY) // slot_len
    n_days, n_slots = int(day[-1]) + 1, DAY // slot_len
    z = np.zeros((n_days, n_slots))
    cnt = np.zeros((n_days, n_slots))
    np.add.at(z, (day, slot), y)
    np.add.at(cnt, (day, slot), 1)
    steps_per_slot = slot_len // g.step if g.slot else cnt.max()
    complete = (cnt == steps_per_slot).all(axis=1)
    if not complete.any():
        warnings.warn(
            f"seasonality: no complete day at a {g.step}-second step ({slot_len}-second slots); "
            "falling back to no seasonality (factors 1)",
            stacklevel=2,
        )
        return np.ones(y.size)
    wd_of_day = (day_abs[0] + np.arange(n_days) + 3) % 7
    factors = np.ones((n_days, 7, n_slots))
    for d in range(n_days):
        hist = np.arange(max(0, d - HIST_DAYS), d)
        hist = hist[complete[hist]]
        if hist.size == 0:
            continue
        zh, wh = z[hist], wd_of_day[hist]
        tot = zh.sum(1)
        onehot = np.eye(7)[wh]  # (days, 7)
        dow = seasonal_factors(onehot.T @ tot, onehot.sum(0), sum_sq=onehot.T @ tot**2)
        x = zh / dow[wh][:, None]
        if n_slots > 1:
            tod = seasonal_factors(
                x.sum(0), np.full(n_slots, float(hist.size)), sum_sq=(x**2).sum(0), prior_sd=None
            )
        else:
            tod = np.ones(1)
        u = x / tod[None, :]
        cell_sum = (onehot.T @ u).ravel()
        cell_sq = (onehot.T @ u**2).ravel()
        cell_n = np.repeat(onehot.sum(0), n_slots)
        inter = seasonal_factors(cell_sum, cell_n, sum_sq=cell_sq, prior_sd=None)
        inter = inter.reshape(7, n_slots)
        factors[d] = dow[:, None] * tod[None, :] * inter
    out = factors[day, weekday, slot]
    if np.all(out == 1.0):
        warnings.warn(
            "seasonality: every factor is exactly 1 (degenerate fit): no seasonality applied",
            stacklevel=2,
        )
    return out


def seasonality_check(ts: np.ndarray, y: np.ndarray) -> list[str]:
    """Refit the seasonality of one series at other steps (hourly, daily, one duplicated row).

    Returns one line per variant: step, slot, warnings and the spread (min-max) of the factors;
    before issue 16 the hourly and duplicated variants gave factors all exactly 1.0.
    """
    sec = ts.astype("datetime64[s]").astype(np.int64)
    lines = []
    variants = {}
    for name, width in (("hourly", 3600), ("daily", DAY)):
        keys = sec // width * width
        uk, inv = np.unique(keys, return_inverse=True)
        variants[name] = (uk.astype("datetime64[s]"), np.bincount(inv, weights=y))
    i = ts.size // 2
    variants["one duplicated row"] = (np.insert(ts, i, ts[i]), np.insert(y, i, y[i]))
    for name, (t, v) in variants.items():
        g = regularise(t, v)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = seasonal_series(g.ts, g.y, g)
        notes = g.warnings + [str(w.message) for w in caught]
        lines.append(
            f"  {name:<19} step {g.step:>5} s, slot {g.slot or DAY:>5} s, factors "
            f"{f.min():.2f}-{f.max():.2f}" + (f"  [{'; '.join(notes)}]" if notes else "")
        )
    return lines


def block_sums(y: np.ndarray, s: np.ndarray, h: int, n_hist: int) -> dict[str, np.ndarray]:
    """Return, for every row t, the block ending at t and the sums over the history blocks.

    Block ``(t-h, t]``; history = up to ``n_hist // h`` whole blocks of ``h`` steps ending at
    ``t-h, t-2h, ...`` (only blocks inside the data). Sums: ``Y``, ``E`` (seasonal exposure),
    ``SS = sum y_b**2 / S_b`` and the number of blocks.
    """
    n = y.size
    cy = np.concatenate([[0.0], np.cumsum(y)])
    cs = np.concatenate([[0.0], np.cumsum(s)])
    u = np.arange(n)
    valid = u >= h - 1
    lo = np.maximum(u + 1 - h, 0)
    yb = np.where(valid, cy[u + 1] - cy[lo], 0.0)
    sb = np.where(valid, cs[u + 1] - cs[lo], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(valid & (sb > 0), yb**2 / sb, 0.0)

    def strided_cumsum(v: np.ndarray) -> np.ndarray:
        pad = (-n) % h
        return np.cumsum(np.concatenate([v, np.zeros(pad)]).reshape(-1, h), axis=0).ravel()[:n]

    k_max = n_hist // h
    end = u - h
    n_blocks = np.where(end >= h - 1, np.minimum(k_max, (end - h + 1) // h + 1), 0)
    start = end - n_blocks * h  # exclusive end index of the older part

    def hist_sum(v: np.ndarray) -> np.ndarray:
        c = strided_cumsum(v)
        hi = np.where(end >= 0, c[np.clip(end, 0, n - 1)], 0.0)
        lo_ = np.where(start >= 0, c[np.clip(start, 0, n - 1)], 0.0)
        return hi - lo_

    return {
        "yb": yb,
        "sb": sb,
        "Y": hist_sum(yb),
        "E": hist_sum(sb),
        "SS": hist_sum(q),
        "n_blocks": n_blocks.astype(float),
    }


def suppress(alarm: np.ndarray, gap: int) -> np.ndarray:
    """Keep an alarm only if no kept alarm occurred in the previous ``gap`` rows."""
    out = np.zeros_like(alarm)
    last = -(10**12)
    for i in np.flatnonzero(alarm):
        if i - last >= gap:
            out[i] = True
            last = i
    return out


#: The detector's versions: name -> keywords of :func:`gamma_poisson_stream`.
VERSIONS: dict[str, dict[str, Any]] = {
    "gamma_poisson": {"null": "model"},
    "gp_causal_null": {"null": "causal"},
    "gp_causal_tail": {"null": "causal", "null_fit": "made", "null_quantiles": TAIL_QUANTILES},
    "gp_causal_both": {"null": "causal", "null_widen_only": False},
}


def scale_test(
    y: np.ndarray,
    s: np.ndarray,
    h: int,
    n_hist: int,
    alpha: float,
    null: str = "model",
    day: np.ndarray | None = None,
    **null_options: Any,
) -> dict:
    """Run the core count test at one scale ``h`` on every row (no multiplicity).

    ``null="model"``: the model's p-values; ``"causal"``: widened by the null fitted on this
    scale's own past scores, refitted once a day on the ``HIST_DAYS`` days before the row's day
    (``day``: the day index of each row; :func:`growthops.ads.analysis.tails.causal_null`).
    ``null_options``: further keywords of :func:`growthops.ads.analysis.detect.detect`
    (``null_fit``, ``null_quantiles``). Returns its arrays for the blocks ``(t-h, t]``.
    """
    b = block_sums(y, s, h, n_hist)
    phi = estimate_dispersion(b["Y"], b["E"], b["SS"], b["n_blocks"], group=np.arange(y.size))
    return detect(
        {
            "kind": np.full(y.size, "count"),
            "value": b["yb"],
            "exposure": b["sb"],
            "hist_days": b["n_blocks"],
            "hist_count": b["Y"],
            "hist_exposure": b["E"],
            "dispersion": phi,
            "block": np.arange(y.size) if day is None else day,
        },
        fdr_q=alpha,
        multiplicity="none",
        null=null,
        null_window=None if day is None else float(HIST_DAYS),
        **null_options,
    )


def day_index(ts: np.ndarray) -> np.ndarray:
    """Return each row's day number since the first row's day (UTC days)."""
    d = ts.astype("datetime64[s]").astype(np.int64) // DAY
    return d - d[0]


def gamma_poisson_stream(
    ts: np.ndarray,
    y: np.ndarray,
    fwer_per_day: float = FWER_PER_DAY,
    null: str = "model",
    **null_options: Any,
) -> tuple[np.ndarray, dict]:
    """Run the core detector as a streaming multi-scale test; return (alarms, diagnostics).

    ``null``: ``"model"`` or ``"causal"``, ``null_options`` (see :func:`scale_test`).
    """
    step = infer_step(ts)
    per_day = DAY // step
    s = seasonal_series(ts, y)
    scales = [1]
    while scales[-1] * 4 * step <= DAY:
        scales.append(scales[-1] * 4)
    alpha = fwer_per_day / (per_day * len(scales))
    n_hist = HIST_DAYS * per_day
    alarm = np.zeros(y.size, dtype=bool)
    per_scale = {}
    for h in scales:
        res = scale_test(y, s, h, n_hist, alpha, null=null, day=day_index(ts), **null_options)
        hit = res["status"] == "anomaly"
        hit[: int(MIN_HISTORY_DAYS * per_day)] = False
        per_scale[h] = int(hit.sum())
        alarm |= hit
    return suppress(alarm, int(SUPPRESS_DAYS * per_day)), {
        "alpha": alpha,
        "scales": scales,
        "raw_alarms": per_scale,
    }


def windowed_gaussian(
    ts: np.ndarray, y: np.ndarray, window: int = 1000, fwer_per_day: float = FWER_PER_DAY
) -> np.ndarray:
    """NAB's windowed Gaussian: z of each value against the previous ``window`` values."""
    step = infer_step(ts)
    per_day = DAY // step
    alpha = fwer_per_day / per_day
    c1 = np.concatenate([[0.0], np.cumsum(y)])
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    t = np.arange(y.size)
    lo = np.maximum(t - window, 0)
    n = (t - lo).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (c1[t] - c1[lo]) / n
        var = (c2[t] - c2[lo]) / n - mean**2
        sd = np.sqrt(np.maximum(var, 0.0))
        sd = np.where(sd > 0, sd, 1e-6)
        p = special.erfc(np.abs(y - mean) / sd / np.sqrt(2.0))
    hit = (p <= alpha) & (t >= MIN_HISTORY_DAYS * per_day)
    return suppress(hit, int(SUPPRESS_DAYS * per_day))


def check_scorer(data: dict, windows: dict, profiles: dict) -> None:
    """Assert the scorer's edge cases: null detector -> 0, detection at each window start -> 100."""
    for prof in PROFILES:
        cost = profiles[prof]
        null = [score_file(d["n"], np.zeros(d["n"], bool), d["win"], cost) for d in data.values()]
        perfect = [
            score_file(d["n"], [lft for lft, _ in d["win"]], d["win"], cost) for d in data.values()
        ]
        assert abs(normalised_score(null)) < 1e-9, prof
        assert abs(normalised_score(perfect) - 100.0) < 1e-9, prof
    print("scorer checks: null detector = 0.0, alarm at every window start = 100.0 (3 profiles)")


def main(argv: list[str] | None = None) -> int:
    """Score the detector and the baselines on the three files; print one table per profile."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/nab")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    windows, profiles = load_labels(args.data)
    data = {}
    for f in FILES:
        ts, y = load_series(Path(args.data) / "data" / f)
        g = regularise(ts, y)
        for w in g.warnings:
            print(f"{f}: warning: {w}")
        ts, y = g.ts, g.y
        data[f] = {"ts": ts, "y": y, "n": y.size, "win": window_indices(ts, windows[f])}
    check_scorer(data, windows, profiles)
    taxi = data[FILES[0]]
    print(f"seasonality at other steps ({Path(FILES[0]).stem} resampled):")
    print("\n".join(seasonality_check(taxi["ts"], taxi["y"])))

    detectors: dict[str, dict] = {name: {} for name in ("null", "windowed_gaussian", *VERSIONS)}
    for f, d in data.items():
        detectors["null"][f] = np.zeros(d["n"], dtype=bool)
        detectors["windowed_gaussian"][f] = windowed_gaussian(d["ts"], d["y"])
        for name, opts in VERSIONS.items():
            alarms, diag = gamma_poisson_stream(d["ts"], d["y"], **opts)
            detectors[name][f] = alarms
            print(
                f"{f} [{name}]: rows {d['n']}, probation {probation_length(d['n']):.0f} "
                f"rows, windows {len(d['win'])}, alpha/test {diag['alpha']:.2e}, scales "
                f"{diag['scales']} steps, raw alarms per scale {diag['raw_alarms']}, "
                f"after suppression {int(alarms.sum())}"
            )

    for prof in PROFILES:
        print(
            f"\nprofile {prof} (A_TP, A_FP, A_FN = {profiles[prof]['tpWeight']}, "
            f"{profiles[prof]['fpWeight']}, {profiles[prof]['fnWeight']})"
        )
        print(
            f"  {'detector':<18} {'score':>7} {'TP':>3} {'FP':>3} {'FN':>3}   per file (TP/FP/FN)"
        )
        for name, det in detectors.items():
            sc = {
                f: score_file(data[f]["n"], det[f], data[f]["win"], profiles[prof]) for f in FILES
            }
            tot = normalised_score(sc.values())
            per = "  ".join(f"{Path(f).stem}:{s.tp}/{s.fp}/{s.fn}" for f, s in sc.items())
            print(
                f"  {name:<18} {tot:7.1f} {sum(s.tp for s in sc.values()):3d} "
                f"{sum(s.fp for s in sc.values()):3d} {sum(s.fn for s in sc.values()):3d}   {per}"
            )
    print(
        "\nsensitivity (not used to choose anything): standard-profile score by false-alarm "
        "rate per day"
    )
    for fwer in (0.01, 0.05, 0.2):
        row = []
        for name, fn in (
            *((name, partial(gamma_poisson_stream, **opts)) for name, opts in VERSIONS.items()),
            ("windowed_gaussian", windowed_gaussian),
        ):
            sc = []
            for f in FILES:
                out = fn(data[f]["ts"], data[f]["y"], fwer_per_day=fwer)
                det = out[0] if isinstance(out, tuple) else out
                sc.append(score_file(data[f]["n"], det, data[f]["win"], profiles["standard"]))
            row.append(f"{name} {normalised_score(sc):5.1f}")
        print(f"  FWER/day {fwer:<5} " + "   ".join(row))
    print(
        "\nreference (SOURCE.md, same 3 files, standard, thresholds tuned on the whole corpus): "
        "Numenta HTM 65.0, Windowed Gaussian 34.9, null 0"
    )
    print(f"elapsed {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
