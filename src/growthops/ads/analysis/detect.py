"""Statistical core of the daily anomaly detector: vectorised tests on set-based history sums.

Every morning each (entity, metric) of a tenant is one *test*: yesterday's value against the
entity's own history window (the days before yesterday, excluding yesterday). The SQL produces
one row of SUMS per test; the functions here (and the per-test models of
:mod:`growthops.ads.analysis.predictive`) take those sums as equal-length NumPy arrays and
never see per-day arrays. No database access in this module.

Two families of metrics:

* **count given exposure** (conversions given spend -> CPA; clicks given impressions -> CTR;
  leads given spend -> CPL): a gamma-Poisson model with a peer-centred prior and its exact
  negative-binomial posterior predictive, optionally inflated for day-to-day overdispersion
  (:func:`~growthops.ads.analysis.predictive.count_test`, :func:`~growthops.ads.analysis.predictive.estimate_dispersion`).
* **continuous positive** (spend, CPM, CPC): a log-normal model with the Student-t prediction
  interval (:func:`~growthops.ads.analysis.predictive.lognormal_test`).

Day-of-week seasonality enters as multiplicative factors estimated from pooled tenant totals
and shrunk toward 1 (:func:`~growthops.ads.analysis.predictive.seasonal_factors`). Multiplicity across entities is controlled with
the Benjamini-Hochberg false discovery rate (:func:`benjamini_hochberg`), after removing the tests
that cannot reach significance at all (Tarone 1990; Gilbert 2005): those are reported as
``insufficient_data``, never as ``ok`` nor as an alarm. :func:`detect` runs the whole chain.

Inputs the SQL must produce per test (history = the ``W`` days before the tested day, days with
exposure > 0 for counts / value > 0 for continuous metrics; ``s_d`` = the day-of-week factor of
day ``d``; index 0 = Monday, i.e. PostgreSQL ``extract(isodow from day) - 1``):

===================  =========================================================================
key                  meaning
===================  =========================================================================
kind                 ``"count"`` or ``"continuous"``
value                tested day's count ``y`` (integer) or value ``x`` (>= 0)
season               tested day's factor ``s`` (default 1)
exposure             count: tested day's exposure ``e`` (spend, impressions, clicks)
hist_days            count: days with ``e_d > 0``; continuous: days with ``x_d > 0``
hist_count           count: ``Y = sum y_d``
hist_exposure        count: ``E = sum e_d * s_d`` (seasonally adjusted exposure)
hist_sum_sq          count, optional: ``sum y_d**2 / (e_d * s_d)`` (for the dispersion)
prior_rate           count, optional: pooled peer rate (sum of counts / sum of adjusted exposure)
dispersion           count, optional: overdispersion ``phi`` (overrides ``hist_sum_sq``)
group                optional: pooling group for the dispersion and the empirical/causal null
block                optional, ``null="causal"``: time label of each row (e.g. day index)
hist_sum_log         continuous: ``sum log(x_d / s_d)``
hist_sum_log_sq      continuous: ``sum log(x_d / s_d)**2``
hist_zero_days       continuous, optional: days of the window with ``x_d == 0``
family               optional: Benjamini-Hochberg family (default: all tests together)
===================  =========================================================================

Sources: Gelman et al., *Bayesian Data Analysis* 3rd ed. (2013) 2.6-2.8 (gamma-Poisson,
negative-binomial predictive, Jeffreys prior); Breslow (1984) *Applied Statistics* 33:38-44 and
Cameron & Trivedi, *Regression Analysis of Count Data* 2nd ed. (2013) 3.2 (Pearson moment
estimator of the dispersion); McCullagh & Nelder, *Generalized Linear Models* 2nd ed. (1989)
ch. 4 (quasi-Poisson scaling); Robinson & Smyth (2007) *Bioinformatics* 23:2881 and McCarthy,
Chen & Smyth (2012) *Nucleic Acids Res.* 40:4288 (dispersion shrunk toward a common value with
10 prior degrees of freedom); Lancaster (1961) *JASA* 56:223 (mid-p); Hahn & Meeker,
*Statistical Intervals* (1991) 4.7 (normal prediction interval); Efron & Morris (1975) *JASA*
70:311 (normal-normal shrinkage); Benjamini & Hochberg (1995) *JRSS-B* 57:289; Tarone (1990)
*Biometrics* 46:515 and Gilbert (2005) *JRSS-C* 54:143 (discrete tests: drop those whose
minimum attainable p-value cannot reach the level).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from growthops.ads.analysis.codes import unique_inverse
from growthops.ads.analysis.predictive import (
    MIN_HISTORY_DAYS,
    MIN_LOG_SD,
    as_array,
    count_test,
    estimate_dispersion,
    lognormal_test,
)
from growthops.ads.analysis.tails import (
    FIT_QUANTILES,
    causal_null,
    empirical_null,
    normal_scores,
    pooled_null,
)
from growthops.core.errors import InvalidInput

STATUS_OK = "ok"
STATUS_ANOMALY = "anomaly"
STATUS_INSUFFICIENT = "insufficient_data"
#: Severity bands (product conventions): (name, max q, min fold change) checked in order, where
#: fold = max(actual/expected, expected/actual); anomalies matching none are "low".
SEVERITY_BANDS = (("critical", 0.001, 2.0), ("high", 0.01, 1.5), ("medium", 1.0, 1.25))


# --------------------------------------------------------------------------- multiplicity


def benjamini_hochberg(p: Any, *, family: Any = None) -> np.ndarray:
    """Return Benjamini-Hochberg (1995) step-up adjusted p-values (q-values), NaN-safe.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the ``m`` finite p-values of each family
    (sorted ascending); rejecting ``q <= alpha`` is the BH procedure at FDR level ``alpha``
    (independent or positively dependent tests). NaN p-values (untested) give NaN and do not
    count in ``m``. ``family`` (optional, same length) runs one BH per distinct value.
    Shape: 1-D length n in, length n out.
    """
    pv = np.asarray(p, dtype=float).ravel()
    q = np.full(pv.shape, np.nan)
    if family is None:
        groups = [np.flatnonzero(np.isfinite(pv))]
    else:
        fam = np.asarray(family).ravel()
        _, inv = unique_inverse(fam)
        ok = np.isfinite(pv)
        order = np.argsort(inv, kind="stable")
        inv_sorted = inv[order]
        cuts = np.flatnonzero(np.diff(inv_sorted)) + 1
        groups = [g[ok[g]] for g in np.split(order, cuts)]
    for idx in groups:
        m = idx.size
        if m == 0:
            continue
        order = np.argsort(pv[idx], kind="stable")
        ranked = pv[idx][order] * m / np.arange(1, m + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        q[idx[order]] = np.minimum(ranked, 1.0)
    return q


def classify_severity(q: Any, expected: Any, actual: Any, anomaly: Any) -> np.ndarray:
    """Return the severity ('low'|'medium'|'high'|'critical', 'none' when not an anomaly).

    Bands (:data:`SEVERITY_BANDS`, product conventions; q thresholds are the usual "strong"
    1 % and "very strong" 0.1 % evidence levels, fold = max(actual/expected,
    expected/actual), symmetric for drops and spikes): critical = q <= 0.001 and fold >= 2;
    high = q <= 0.01 and fold >= 1.5; medium = fold >= 1.25; other anomalies = low.
    Shapes: length-n arrays; ``anomaly`` boolean.
    """
    qv = np.asarray(q, dtype=float)
    fold = _fold(np.asarray(expected, float), np.asarray(actual, float))
    out = np.full(qv.shape, "low", dtype=object)
    assigned = np.zeros(qv.shape, dtype=bool)
    for name, q_max, fold_min in SEVERITY_BANDS:
        hit = ~assigned & (qv <= q_max) & (fold >= fold_min)
        out[hit] = name
        assigned |= hit
    out[~np.asarray(anomaly, dtype=bool)] = "none"
    return out


def _fold(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Return max(actual/expected, expected/actual) (inf when one side is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.maximum(actual / expected, expected / actual)
    return np.where(np.isnan(f), 1.0, f)


# --------------------------------------------------------------------------- high level


def detect(
    tests: Mapping[str, Any],
    *,
    fdr_q: float = 0.05,
    min_days: int = MIN_HISTORY_DAYS,
    min_rel_change: float = 0.10,
    prior_strength: float = 1.0,
    mid_p: bool = True,
    min_log_sd: float = MIN_LOG_SD,
    multiplicity: str = "bh",
    null: str = "empirical",
    null_window: float | None = None,
    null_quantiles: tuple[float, ...] = FIT_QUANTILES,
    null_fit: str = "candidates",
    null_past: Mapping[str, Any] | None = None,
    null_widen_only: bool = True,
) -> dict[str, np.ndarray]:
    """Run every test of a record of equal-length arrays and classify it (vectorised).

    ``tests``: mapping of the keys listed in the module docstring to length-n arrays (scalars
    broadcast). Steps, per test: the count or log-normal predictive; ``insufficient_data`` when
    history has fewer than ``min_days`` days (default 7), nothing to test (no exposure today,
    missing sums), or - Tarone (1990) / Gilbert (2005) - the observed deviation is a drop and
    even ``y = 0`` could not reach two-sided ``p <= fdr_q`` (with mid-p this means
    ``P(Y=0) > fdr_q``, e.g. fewer than ~3 expected conversions at q = 5 %: a zero day is no
    evidence). Such tests never enter the BH family, which raises the power of the others
    (BH over them can never reject a test whose minimum p exceeds ``fdr_q``). Then
    two-sided ``p = min(1, 2 min(p_low, p_high))``, BH q-values per ``family``, and
    ``anomaly`` when ``q <= fdr_q`` (the tenant's ``platform_configs.fdr_q``) and the fold change
    is at least ``1 + min_rel_change`` (default 10 %: practical significance floor, a product
    choice; very large entities make tiny changes "significant"). ``multiplicity="none"`` skips
    BH (``q_value = p_value``) for callers that test one stream sequentially and set
    ``fdr_q`` to an already corrected per-test level (e.g. Bonferroni per day). ``null`` =
    ``"empirical"`` (default) widens the model's p-values by each ``group``'s empirical null
    (:func:`growthops.ads.analysis.tails.empirical_null`, groups of 50+ tests; issue 16),
    ``"model"`` keeps them (streams, where the tests of one call are not exchangeable),
    ``"causal"`` widens them by a null fitted on each ``group``'s *past* tests only
    (:func:`growthops.ads.analysis.tails.causal_null`: the rows are a stream in time order,
    the optional key ``block`` labels their time, e.g. the day index, default the row index;
    ``null_window`` = how many blocks back the fit looks, None = the whole past;
    ``null_widen_only=False``: the past's null replaces the model's p-values both ways instead
    of only widening them, docs/performance.md section 2e). Both nulls
    are fitted by :func:`growthops.ads.analysis.tails.fit_null` on ``null_quantiles`` of
    ``|z|`` (default the median and the 90th percentile) over every candidate test
    (``null_fit="candidates"``, default, docs/performance.md §2) or over the tests actually
    made only (``null_fit="made"``: without the drops that the Tarone rule above removes because
    they could never reach ``fdr_q``; the option of §2c, with
    :data:`growthops.ads.analysis.tails.TAIL_QUANTILES`). ``null_past`` (with
    ``null="empirical"``): a mapping group -> past days' normal scores (most recent day first,
    days before the tested one only); a group with fewer than 50 tests in the fit pools the
    fewest past days that make 50 (:func:`growthops.ads.analysis.tails.pooled_null`; the daily
    cycle's rule, docs/performance.md section 2d). None (default): the day alone.

    Returns arrays (length n): ``expected`` (count or value in the metric's unit),
    ``expected_rate`` (expected / exposure, counts only, e.g. expected CTR; CPA = 1 / rate),
    ``deviation`` (actual / expected - 1, fraction), ``p_low``, ``p_high``, ``p_value``,
    ``q_value`` (NaN when not tested), ``direction`` ('spike' | 'drop', of the tested quantity:
    a conversions drop is a CPA rise), ``status`` ('ok' | 'anomaly' | 'insufficient_data'),
    ``severity`` (see :func:`classify_severity`), ``dispersion`` (phi used, counts),
    ``null_score`` (the model's normal score of each test the null is fitted on, NaN for the
    others: what the daily cycle stores for the next days' pooling).
    Raises :class:`InvalidInput` when arrays differ in length or ``kind`` is unknown.
    """
    if "kind" not in tests or "value" not in tests:
        raise InvalidInput("detect: 'kind' and 'value' are required")
    kind = np.asarray(tests["kind"]).astype(str)
    n = kind.shape[0]
    for key, val in tests.items():
        if np.ndim(val) and np.shape(val)[0] != n:
            raise InvalidInput(f"detect: {key!r} has length {np.shape(val)[0]}, expected {n}")
    bad_kind = ~np.isin(kind, ("count", "continuous"))
    if bad_kind.any():
        raise InvalidInput(f"detect: unknown kind {kind[bad_kind][0]!r} (count|continuous)")

    def get(key: str, fill: float = np.nan) -> np.ndarray:
        return as_array(tests.get(key), n, fill)

    is_count = kind == "count"
    value = get("value")
    season = np.nan_to_num(get("season", 1.0), nan=1.0)
    days = get("hist_days")
    exposure = get("exposure")

    expected = np.full(n, np.nan)
    p_low = np.full(n, np.nan)
    p_high = np.full(n, np.nan)
    p_min = np.zeros(n)
    phi = np.zeros(n)
    insufficient = ~(days >= min_days) | ~np.isfinite(value) | ~(season > 0)

    ci = np.flatnonzero(is_count)
    if ci.size:
        hc, he = get("hist_count")[ci], get("hist_exposure")[ci]
        if "dispersion" in tests:
            phi[ci] = np.nan_to_num(get("dispersion")[ci], nan=0.0)
        elif "hist_sum_sq" in tests:
            grp = np.asarray(tests["group"])[ci] if np.ndim(tests.get("group")) else None
            phi[ci] = estimate_dispersion(hc, he, get("hist_sum_sq")[ci], days[ci], group=grp)
        res = count_test(
            value[ci],
            exposure[ci],
            hc,
            he,
            season=season[ci],
            hist_days=days[ci],
            prior_rate=get("prior_rate")[ci],
            prior_strength=prior_strength,
            dispersion=phi[ci],
            mid_p=mid_p,
        )
        expected[ci], p_low[ci], p_high[ci] = res["expected"], res["p_low"], res["p_high"]
        p_min[ci] = res["p_min_drop"]
        insufficient[ci] |= ~(exposure[ci] > 0) | ~(he > 0) | ~np.isfinite(hc)
    xi = np.flatnonzero(~is_count)
    if xi.size:
        res = lognormal_test(
            value[xi],
            days[xi],
            get("hist_sum_log")[xi],
            get("hist_sum_log_sq")[xi],
            season=season[xi],
            hist_zero_days=get("hist_zero_days", 0.0)[xi],
            min_log_sd=min_log_sd,
        )
        expected[xi], p_low[xi], p_high[xi] = res["expected"], res["p_low"], res["p_high"]

    # Tarone: drops that even y = 0 could not bring to fdr_q are not tests (decided on the
    # model's p-values, before the null; with mid-p the null never swaps p_low and p_high)
    insufficient |= ~np.isfinite(p_low) | ~np.isfinite(p_high)
    uninformative = (p_low < p_high) & (np.minimum(2.0 * p_min, 1.0) > fdr_q) & is_count
    if null_fit == "made":
        fit_on = ~insufficient & ~uninformative
    elif null_fit == "candidates":
        fit_on = ~insufficient
    else:
        raise InvalidInput(f"detect: null_fit must be 'made' or 'candidates', got {null_fit!r}")
    fit_ok = fit_on & np.isfinite(p_low) & np.isfinite(p_high)
    null_score = np.where(fit_ok, normal_scores(p_low, p_high), np.nan)
    if null == "empirical" and null_past is not None:
        grp = tests.get("group") if np.ndim(tests.get("group")) else None
        p_low, p_high, _ = pooled_null(
            p_low, p_high, past=null_past, group=grp, tested=fit_on, quantiles=null_quantiles
        )
    elif null == "empirical":
        grp = tests.get("group") if np.ndim(tests.get("group")) else None
        p_low, p_high, _ = empirical_null(
            p_low, p_high, group=grp, tested=fit_on, quantiles=null_quantiles
        )
    elif null == "causal":
        grp = tests.get("group") if np.ndim(tests.get("group")) else None
        blk = tests.get("block") if np.ndim(tests.get("block")) else None
        p_low, p_high, _ = causal_null(
            p_low,
            p_high,
            block=blk,
            group=grp,
            tested=fit_on,
            window=null_window,
            quantiles=null_quantiles,
            widen_only=null_widen_only,
        )
    elif null != "model":
        raise InvalidInput(f"detect: null must be 'empirical', 'causal' or 'model', got {null!r}")
    drop = p_low < p_high
    insufficient |= uninformative
    p_value = np.minimum(2.0 * np.minimum(p_low, p_high), 1.0)
    tested_p = np.where(insufficient, np.nan, p_value)
    family = tests.get("family")
    if multiplicity == "bh":
        q_value = benjamini_hochberg(tested_p, family=family if np.ndim(family) else None)
    elif multiplicity == "none":
        q_value = tested_p
    else:
        raise InvalidInput(f"detect: multiplicity must be 'bh' or 'none', got {multiplicity!r}")

    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = value / expected - 1.0
        expected_rate = np.where(is_count, expected / exposure, np.nan)
    big_enough = _fold(expected, value) >= 1.0 + min_rel_change
    anomaly = (q_value <= fdr_q) & big_enough & ~insufficient
    status = np.full(n, STATUS_OK, dtype=object)
    status[anomaly] = STATUS_ANOMALY
    status[insufficient] = STATUS_INSUFFICIENT
    direction = np.where(drop, "drop", "spike").astype(object)
    return {
        "expected": expected,
        "expected_rate": expected_rate,
        "deviation": deviation,
        "p_low": p_low,
        "p_high": p_high,
        "p_value": p_value,
        "q_value": q_value,
        "direction": direction,
        "status": status,
        "severity": classify_severity(q_value, expected, value, anomaly),
        "dispersion": np.where(is_count, phi, np.nan),
        "null_score": null_score,
    }
