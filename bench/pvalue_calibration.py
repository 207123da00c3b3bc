"""Do the anomaly tests' p-values mean what they say on real data? (issue 16)

Run: ``.venv/bin/python bench/pvalue_calibration.py [--data /work/shared/data]``

Counts, for alpha in {0.05, 0.01, 0.001, 1e-4}, how often two-sided ``p <= alpha`` happens on
stretches that should be null, and prints the ratio observed / alpha (target: within
[0.5, 2] wherever the expected count ``alpha x tests`` is at least 5; below that the row says
"too few") with its 95 % interval from resampling whole days (:func:`day_interval`: the tests
of one day share its shocks, so the days are the independent units; ``!`` marks a ratio whose
whole interval is outside [0.5, 2], ``~`` one outside whose interval reaches into it;
docs/performance.md section 2e):

* ``online_ad_performance`` (95 series = campaign x engagement x banner x placement, 91 days;
  no injected anomaly): every day with 28 days of history is tested the way the daily cycle
  does (:func:`growthops.ads.analysis.anomalies.build_tests` semantics): CPM and CPC with the
  log-normal predictive on the log ratio (history: the 28 days before), CTR (clicks given
  impressions) and conversions given spend with the gamma-Poisson predictive and the pooled
  overdispersion;
* the three NAB series: the streaming multi-scale count test of ``bench/nab_eval.py``, on rows
  farther than one window width from every labelled window, per scale.

Versions side by side in the same run: ``before`` (the model's p-values: log-normal
Student-t, gamma-Poisson; ``detect(null="model")``) and ``after`` (widened by each metric's
empirical null over the day's tests, :mod:`growthops.ads.analysis.tails`, the default; like
``detect``, fitted on every candidate test, including the count drops that the
uninformative-drop rule then leaves untested), then options fitted on the tests actually made
only: ``made`` (the day's tests alone; a day with fewer than 50 keeps the model's p-values),
``tail`` (the same with the 99th percentile in the fit,
:data:`growthops.ads.analysis.tails.TAIL_QUANTILES`, docs/performance.md section 2c) and
``pooled`` / ``tail pooled`` (a day with fewer than 50 is judged against the fewest previous
days' tests that make 50, within 28 days, without its own (section 2g):
:func:`growthops.ads.analysis.tails.causal_null` with ``include_current=True, as_needed=True``;
past days only). Last, ``cycle``: the daily cycle's
rule since docs/performance.md section 2d (:data:`growthops.ads.analysis.anomalies.NULL_RULE`),
run the way :func:`growthops.ads.analysis.anomalies.detect_anomalies` runs it: day by day,
``detect(null_past=...)`` with the scores of the tests made on the 28 previous days, stored as
float4 as ``ads.anomaly_null_scores`` keeps them (it equals ``tail pooled`` but for that
rounding; ``after`` was the cycle's rule before). The NAB stream tests one series at a
time (one test per step), so the day's cross-section does not exist: its rows are ``model`` (the
model's p-values), ``causal`` (widened by the null fitted on the same scale's scores of the 28
days before the row's day, :func:`growthops.ads.analysis.tails.causal_null`, as
``bench/nab_eval.py`` runs it) and ``causal tail`` (the same fitted on the tests made by the
three quantiles of section 2c), and ``causal both`` (the ``causal`` null replacing the model's
p-values both ways instead of only widening them, ``detect(null_widen_only=False)``, section 2e).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from growthops.ads.analysis.anomalies import NULL_PAST_DAYS, NULL_RULE, NULL_RULES  # noqa: E402
from growthops.ads.analysis.detect import detect  # noqa: E402
from growthops.ads.analysis.nab import load_labels, load_series, window_indices  # noqa: E402
from growthops.ads.analysis.tails import (  # noqa: E402
    FIT_QUANTILES,
    TAIL_QUANTILES,
    causal_null,
)

ALPHAS = (0.05, 0.01, 0.001, 1e-4)
#: Bootstrap resamples of the days for the intervals of :func:`day_interval`.
BOOT = 2000
#: The versions run through detect: the model's p-values (``before``); the default empirical
#: null (section 2: fitted on every candidate test by the median and the 90th percentile,
#: ``after``); the same fitted on the tests made only (``made``); the option of section 2c
#: (the tests made, the median, 90th and 99th percentiles, ``tail``).
VERSIONS: dict[str, dict] = {
    "before": {"null": "model"},
    "after": {"null": "empirical"},
    "made": {"null": "empirical", "null_fit": "made"},
    "tail": {"null": "empirical", "null_fit": "made", "null_quantiles": TAIL_QUANTILES},
}
HIST = 28
MONTHS = {"April": 4, "May": 5, "June": 6}


def load_oap(path: Path) -> dict[str, np.ndarray]:
    """Return (series, day) arrays of spend, displays, clicks, conversions (duplicates dropped)."""
    seen, rows = set(), []
    with open(path, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = tuple(r[k] for k in list(r)[:12])
            if key in seen:
                continue
            seen.add(key)
            rows.append(r)
    series = sorted(
        {(r["campaign_number"], r["user_engagement"], r["banner"], r["placement"]) for r in rows}
    )
    sidx = {s: i for i, s in enumerate(series)}
    day0 = np.datetime64("2020-04-01")
    out = {k: np.zeros((len(series), 91)) for k in ("spend", "displays", "clicks", "conv")}
    for r in rows:
        d = int(
            (np.datetime64(f"2020-{MONTHS[r['month']]:02d}-{int(r['day']):02d}") - day0).astype(int)
        )
        i = sidx[(r["campaign_number"], r["user_engagement"], r["banner"], r["placement"])]
        out["spend"][i, d] += float(r["cost"])
        out["displays"][i, d] += float(r["displays"])
        out["clicks"][i, d] += float(r["clicks"])
        out["conv"][i, d] += float(r["post_click_conversions"])
    return out


def _window(a: np.ndarray, d: int) -> np.ndarray:
    return a[:, d - HIST : d]


def oap_tests(D: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Two-sided p-values per metric and version on every (series, day) with 28 days of history."""
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    n_series, n_days = D["spend"].shape
    cycle_kw = {k: v for k, v in NULL_RULES[NULL_RULE].items() if k != "pool"}
    stored: dict[str, list[tuple[int, np.ndarray]]] = {}  # metric -> (day, float4 scores)
    for d in range(HIST, n_days):
        recs: dict[str, dict[str, np.ndarray]] = {}
        for name, num, den, scale in (
            ("cpm", D["spend"], D["displays"], 1000.0),
            ("cpc", D["spend"], D["clicks"], 1.0),
        ):
            hn, hd = _window(num, d), _window(den, d)
            ok = (hn > 0) & (hd > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(ok, np.log(scale * hn / np.where(ok, hd, 1.0)), 0.0)
                today = np.where(den[:, d] > 0, scale * num[:, d] / den[:, d], np.nan)
            recs[name] = {
                "kind": np.full(n_series, "continuous"),
                "value": today,
                "hist_days": ok.sum(1).astype(float),
                "hist_sum_log": lg.sum(1),
                "hist_sum_log_sq": (lg**2).sum(1),
                "group": np.full(n_series, name),
            }
        for name, cnt, exp in (("ctr", D["clicks"], D["displays"]), ("cpa", D["conv"], D["spend"])):
            hc, he = _window(cnt, d), _window(exp, d)
            ok = he > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                ss = np.where(ok, hc**2 / np.where(ok, he, 1.0), 0.0).sum(1)
            prior = hc.sum() / he.sum()
            recs[name] = {
                "kind": np.full(n_series, "count"),
                "value": cnt[:, d],
                "exposure": exp[:, d],
                "hist_days": ok.sum(1).astype(float),
                "hist_count": hc.sum(1),
                "hist_exposure": he.sum(1),
                "hist_sum_sq": ss,
                "prior_rate": np.full(n_series, prior),
                "group": np.full(n_series, name),
            }
        for name, rec in recs.items():
            for ver, kw in VERSIONS.items():
                res = detect(rec, fdr_q=0.05, multiplicity="none", **kw)
                p = np.where(res["status"] == "insufficient_data", np.nan, res["p_value"])
                out.setdefault(name, {}).setdefault(ver, []).append(p)
                if kw["null"] == "model":  # the one-sided p-values, for the pooled versions
                    for key, val in (
                        ("p_low", res["p_low"]),
                        ("p_high", res["p_high"]),
                        ("tested", res["status"] != "insufficient_data"),
                        ("day", np.full(n_series, d)),
                    ):
                        out[name].setdefault(key, []).append(val)
            # the daily cycle: the previous days' stored scores, most recent first
            past = [sc for day, sc in reversed(stored.get(name, [])) if day >= d - NULL_PAST_DAYS]
            res = detect(rec, fdr_q=0.05, multiplicity="none", null_past={name: past}, **cycle_kw)
            p = np.where(res["status"] == "insufficient_data", np.nan, res["p_value"])
            out[name].setdefault("cycle", []).append(p)
            z = res["null_score"]
            stored.setdefault(name, []).append((d, z[np.isfinite(z)].astype(np.float32).astype(float)))
    result = {}
    for m, vs in out.items():
        cat = {k: np.concatenate(v) for k, v in vs.items()}
        result[m] = {ver: cat[ver] for ver in VERSIONS}
        # fitted on the tests made, a day under MIN_TESTS pooled with the fewest previous days
        # that make MIN_TESTS (causal), by the quantiles of section 2 and by the default ones
        for ver, qs in (("pooled", FIT_QUANTILES), ("tail pooled", TAIL_QUANTILES)):
            pl, ph, _ = causal_null(
                cat["p_low"],
                cat["p_high"],
                block=cat["day"],
                tested=cat["tested"],
                window=float(HIST),
                include_current=True,
                as_needed=True,
                quantiles=qs,
            )
            p = np.minimum(2.0 * np.minimum(pl, ph), 1.0)
            result[m][ver] = np.where(cat["tested"], p, np.nan)
        result[m]["cycle"] = cat["cycle"]
        result[m]["day"] = cat["day"]  # the tested day of every row, for the intervals
    return result


def nab_tests(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(p-values, day of each test) of the streaming count test per scale and version, far
    from the labelled windows (days numbered across the three files, never shared)."""
    import nab_eval

    windows, _ = load_labels(root)
    out: dict[str, list[np.ndarray]] = {}
    days: dict[str, list[np.ndarray]] = {}  # each test's day, unique across the files
    day_offset = 0
    for f in nab_eval.FILES:
        ts, y = load_series(root / "data" / f)
        win = window_indices(ts, windows[f])
        far = np.ones(y.size, dtype=bool)
        for lo, hi in win:
            w = hi - lo + 1
            far[max(lo - w, 0) : hi + w + 1] = False
        step = int((ts[1] - ts[0]).astype("timedelta64[s]").astype(int))
        per_day = nab_eval.DAY // step
        far[: HIST * per_day] = False  # a full history window
        s = nab_eval.seasonal_series(ts, y)
        day = nab_eval.day_index(ts)
        h = 1
        while h * step <= nab_eval.DAY:
            sel = far & (np.arange(y.size) % h == h - 1)  # non-overlapping blocks
            minutes = h * step // 60
            label = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
            for ver, kw in (
                ("model", {"null": "model"}),
                ("causal", {"null": "causal"}),
                (
                    "causal tail",
                    {"null": "causal", "null_fit": "made", "null_quantiles": TAIL_QUANTILES},
                ),
                ("causal both", {"null": "causal", "null_widen_only": False}),
            ):
                res = nab_eval.scale_test(y, s, h, HIST * per_day, 0.05, day=day, **kw)
                p = np.where(res["status"] == "insufficient_data", np.nan, res["p_value"])
                out.setdefault(f"{label} {ver}", []).append(p[sel])
                days.setdefault(f"{label} {ver}", []).append(day[sel] + day_offset)
            h *= 4
        day_offset += int(day[-1]) + 1
    return {k: (np.concatenate(v), np.concatenate(days[k])) for k, v in out.items()}


def day_interval(hits: np.ndarray, day: np.ndarray, alpha: float) -> tuple[float, float]:
    """95 % interval of (rate of ``hits``) / ``alpha``, resampling whole days.

    ``hits`` (bool, one per test) and ``day`` (the test's day label): the tests of one day
    share its shocks (a holiday, an event, a platform-wide shift), so the days, not the tests,
    are the independent units. Pairs cluster bootstrap (Cameron & Miller 2015, *J. Human
    Resources* 50:317, section VI.A): :data:`BOOT` resamples of the days with replacement,
    the rate as sum of hits / sum of tests over the drawn days, percentile interval (2.5 and
    97.5 %). Fixed seed: the bench is deterministic.
    """
    labels, inv = np.unique(day, return_inverse=True)
    k = np.bincount(inv, weights=hits.astype(float), minlength=labels.size)
    n = np.bincount(inv, minlength=labels.size).astype(float)
    rng = np.random.default_rng(20161207)
    w = rng.multinomial(labels.size, np.full(labels.size, 1.0 / labels.size), size=BOOT)
    rate = (w @ k) / np.maximum(w @ n, 1.0) / alpha
    lo, hi = np.quantile(rate, [0.025, 0.975])
    return float(lo), float(hi)


def report(title: str, pvals: np.ndarray, day: np.ndarray | None = None) -> str:
    """One table row: tests and observed/alpha per alpha ("too few" when alpha x tests < 5),
    with the 95 % day-resampled interval of the ratio when ``day`` is given (a verdict mark
    ``!`` when the whole interval is outside [0.5, 2], ``~`` when the ratio is outside but the
    interval reaches into [0.5, 2]: the days cannot tell)."""
    keep = np.isfinite(pvals)
    p = pvals[keep]
    cells = []
    for a in ALPHAS:
        k = int((p <= a).sum())
        if a * p.size < 5:
            cells.append(f"{'too few':>6} ({k:>4})" + (" " * 14 if day is not None else ""))
            continue
        r = k / p.size / a
        cell = f"{r:6.2f} ({k:>4})"
        if day is not None:
            lo, hi = day_interval(p <= a, day[keep], a)
            mark = " " if 0.5 <= r <= 2.0 else ("!" if hi < 0.5 or lo > 2.0 else "~")
            cell += f" [{lo:4.2f}-{hi:5.2f}]{mark}"
        cells.append(cell)
    return f"  {title:<28} {p.size:>7}  " + "  ".join(cells)


def main(argv: list[str] | None = None) -> int:
    """Print the calibration tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    head = f"  {'test':<28} {'tests':>7}  " + "  ".join(
        f"{'a=' + format(a, 'g'):>13}" for a in ALPHAS
    )
    print(
        "observed rate of p <= alpha divided by alpha (count of such tests) [95 % interval, "
        "days resampled]; target 0.5-2; ~ outside but the days cannot tell, ! outside"
    )
    print("\nonline_ad_performance (daily, no injected anomaly)")
    print(head)
    res = oap_tests(
        load_oap(
            Path(args.data) / "online_ad_performance" / "online_advertising_performance_data.csv"
        )
    )
    for metric, vs in res.items():
        for ver, p in vs.items():
            if ver != "day":
                print(report(f"{metric} {ver}", p, vs["day"]))
    print("\nNAB, streaming count test, rows > 1 window width from any labelled window")
    print(head)
    for scale, (p, day) in nab_tests(Path(args.data) / "nab").items():
        print(report(f"count {scale}", p, day))
    print(f"elapsed {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
