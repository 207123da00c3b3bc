"""Posterior probabilities behind suggestion confidences (vectorised; NumPy/SciPy).

A suggestion's ``confidence`` is the posterior probability, in percent, that its premise holds
(e.g. "this ad set's true ROAS is below 0.6 x target"), under these conjugate models:

* Results per unit of spend (or clicks per impression): counts are Poisson given exposure, the
  rate has a Gamma prior, so the posterior is ``Gamma(a0 + y, b0 + exposure)`` (Gelman et al.,
  *Bayesian Data Analysis*, 3rd ed., §2.6). The prior is weak and centred on the peers' pooled
  rate: ``a0 = PRIOR_STRENGTH`` pseudo-results, ``b0 = a0 / pooled_rate``.
* Comparing two periods' rates (CTR recent vs earlier): conditional on the total count, the
  recent count is Binomial with ``p = e_r r_r / (e_r r_r + e_e r_e)``; with a Jeffreys prior
  ``p ~ Beta(c_r + 1/2, c_e + 1/2)`` and ``r_r < r_e  <=>  p < e_r / (e_r + e_e)``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from growthops.ads.analysis.codes import unique_inverse

#: Pseudo-results of the rate prior (half a result: weak, Jeffreys-like).
PRIOR_STRENGTH = 0.5


def group_totals(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return, for each element, the sum of ``values`` over the elements sharing its key.

    ``keys`` and ``values`` have the same length n; the result has length n (vectorised with
    ``np.unique`` + ``np.bincount``, no Python loop over entities).
    """
    uniq, inv = unique_inverse(keys)
    return np.bincount(inv, weights=np.asarray(values, dtype=float), minlength=len(uniq))[inv]


def rate_posterior(
    counts: np.ndarray | float, exposure: np.ndarray | float, pooled_rate: np.ndarray | float, *,
    history_counts: np.ndarray | float = 0.0, history_exposure: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the Gamma posterior ``(shape, rate)`` of a Poisson rate per unit of exposure.

    ``counts`` (results), ``exposure`` (spend in currency, or impressions) and ``pooled_rate``
    (the peers' counts / exposure) are broadcastable arrays; exposure 0 leaves the prior.
    ``history_counts`` / ``history_exposure`` are the entity's own earlier data, already
    discounted (:func:`discounted_history`), added to the prior as pseudo-data (0 by default).
    """
    pooled = np.maximum(np.asarray(pooled_rate, dtype=float), 1e-12)
    a = PRIOR_STRENGTH + np.asarray(history_counts, dtype=float) + np.asarray(counts, dtype=float)
    b = PRIOR_STRENGTH / pooled + np.asarray(history_exposure, dtype=float) + np.asarray(exposure, dtype=float)
    return a, b


def discounted_history(
    counts: np.ndarray, exposure: np.ndarray, drift: np.ndarray | float,
    inflation: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entity's own earlier period as a discounted prior: ``(k c, k e, k)`` (length-n arrays).

    A power prior (Ibrahim & Chen 2000, *Statistical Science* 15): the earlier period's Poisson
    likelihood raised to ``k`` in [0, 1] is ``Gamma(k c, k e)`` pseudo-data. ``k`` is chosen so
    that the pseudo-data's information about the *current* log rate is what the earlier period
    is worth once the rate has drifted: its log rate estimate has variance ``inflation / c``
    (Poisson, ``inflation`` >= 1 for day-to-day overdispersion) plus the drift ``tau2`` between
    that period and now, i.e. ``n_eff = 1 / (inflation / c + tau2)`` results, so
    ``k = n_eff / c = 1 / (inflation + tau2 c)``. An entity that was as bad before as now keeps
    its verdict (more evidence, tighter); one whose last two weeks fell far from its own long
    history is pulled part of the way back to it: on the display tenant the last 14 days'
    deviation from the entity's own earlier rate reverted by about 75 % the next week, part of it sampling noise (issue 16;
    ``docs/confidences.md``). No peer enters: the centre is the entity's own history.
    ``counts`` <= 0 or ``exposure`` <= 0 give ``k = 0`` (no history, no change).
    """
    c = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    ok = (c > 0) & (e > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(ok, 1.0 / (np.asarray(inflation, float) + np.asarray(drift, float) * c), 0.0)
    k = np.clip(k, 0.0, 1.0)
    return k * np.where(ok, c, 0.0), k * np.where(ok, e, 0.0), k


def prob_rate_below(threshold: np.ndarray | float, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """P(rate < threshold) under ``Gamma(shape, rate)`` (fraction 0–1)."""
    return stats.gamma.cdf(threshold, a=shape, scale=1.0 / rate)


def prob_future_count_below(
    threshold: np.ndarray | float,
    shape: np.ndarray,
    rate: np.ndarray,
    exposure: np.ndarray | float,
    *,
    dispersion: np.ndarray | float = 0.0,
    days: int = 7,
    drift: np.ndarray | float = 0.0,
    value_dispersion: np.ndarray | float = 0.0,
    value_drift: np.ndarray | float = 0.0,
) -> np.ndarray:
    """P(Y < threshold) for the count ``Y`` of a future period with ``exposure`` (fraction 0–1).

    The posterior predictive of a Poisson count whose rate has the ``Gamma(shape, rate)``
    posterior is negative binomial with mean ``mu = shape / rate * exposure`` and shape ``shape``
    (Gelman et al. 2013, §2.6): it adds the future period's sampling noise to the rate's
    uncertainty, so "the next 7 days' ROAS stays below the line" is judged, not the unobservable
    true rate. Day-to-day overdispersion ``phi`` (variance ``mu_d + phi mu_d**2`` per day, see
    :func:`growthops.ads.analysis.detect.estimate_dispersion`) adds ``phi mu**2 / days`` to the variance of
    a ``days``-day sum: the shape becomes ``1 / (1/shape + phi/days)`` (moment matching).
    ``drift`` is the variance of the log rate's change from the evidence window to the next
    period (week-to-week drift, see :func:`drift_variance`); a log-normal drift of variance
    ``tau2`` multiplies the second moment by ``exp(tau2)``, so it adds ``exp(tau2) - 1`` to the
    squared coefficient of variation (moment matching again). ``threshold`` may be fractional
    (strict inequality).

    When the premise is about *value* (ROAS = results x value per result / spend) and the count
    threshold was computed at the estimated value per result ``v``, ``Y`` stands for
    ``Y x w`` with ``w`` = next week's mean value per result / ``v`` (mean 1), and two terms carry
    the uncertainty of ``w`` (issue 16: on the display tenant the log ROAS moves 3-6 times more
    than Poisson noise on the results says, because the value per result varies):

    * ``value_dispersion`` ``c_v``: squared coefficient of variation of one result's value. Next
      week's value is a compound Poisson sum, whose squared coefficient of variation is that of
      the count plus ``c_v / mu`` (Wald's identity, ``Var(sum) = E[Y] Var(x) + Var(Y) E[x]**2``);
      it fades as the entity's volume grows.
    * ``value_drift`` ``tau2_v``: variance of the log of the mean value per result between the
      estimate ``v`` and next week, beyond the per-result noise (the week-to-week drift of the
      value per result plus the estimate's own ``c_v / n``); it multiplies the second moment by
      ``exp(tau2_v)`` like ``drift``.

    So ``1 / r = (1 + cv2) exp(tau2 + tau2_v) - 1 + c_v / mu`` (both 0 by default: the count
    model of a tenant without conversion values). See :func:`value_variance` for the estimates.
    """
    e = np.asarray(exposure, dtype=float)
    mu = shape / rate * np.where(e > 0, e, 1.0)
    cv2 = 1.0 / shape + np.asarray(dispersion, dtype=float) / days
    tau2 = np.asarray(drift, dtype=float) + np.asarray(value_drift, dtype=float)
    k = np.ceil(np.asarray(threshold, dtype=float)) - 1  # Y < t  <=>  Y <= ceil(t) - 1
    r = 1.0 / ((1.0 + cv2) * np.exp(tau2) - 1.0 + np.asarray(value_dispersion, dtype=float) / mu)
    out = stats.nbinom.cdf(k, r, r / (r + mu))
    return np.where(e > 0, out, np.nan)


def drift_variance(
    c_recent: np.ndarray, e_recent: np.ndarray, c_earlier: np.ndarray, e_earlier: np.ndarray,
    group: np.ndarray, *, min_count: float = 10.0,
) -> np.ndarray:
    """Estimate, per group, the variance of the week-to-week change of an entity's log rate.

    For entities with at least ``min_count`` events in both periods, the observed
    ``d = log(r_recent / r_earlier)`` has variance ``tau2 + 1/c_recent + 1/c_earlier`` (Poisson
    sampling by the delta method); the method-of-moments estimate
    ``tau2 = max(0, mean(d**2) - mean(1/c_r + 1/c_e))`` per group (DerSimonian & Laird 1986,
    the random-effects moment estimator) is returned for every element of the group (0 where a
    group has fewer than 3 such entities). Rates must have positive exposure.
    """
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    ce, ee = np.asarray(c_earlier, float), np.asarray(e_earlier, float)
    ok = (cr >= min_count) & (ce >= min_count) & (er > 0) & (ee > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = np.where(ok, np.log((cr / er) / (ce / ee)) ** 2, 0.0)
        samp = np.where(ok, 1.0 / cr + 1.0 / ce, 0.0)
    keys, inv = unique_inverse(group)
    n = np.bincount(inv, weights=ok.astype(float), minlength=len(keys))
    sd2 = np.bincount(inv, weights=d2, minlength=len(keys))
    ss = np.bincount(inv, weights=samp, minlength=len(keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = np.where(n >= 3, np.maximum(0.0, (sd2 - ss) / n), 0.0)
    return tau2[inv]


def value_variance(
    v_recent: np.ndarray, c_recent: np.ndarray, v_earlier: np.ndarray, c_earlier: np.ndarray,
    group: np.ndarray, *, min_count: float = 1.0, iterations: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate, per group, the dispersion of the value per result: ``(c_v, tau2_v)`` per element.

    Inputs: each entity's conversion value and results (counts) in a recent and an earlier
    period (length-n arrays) and its group (platform and level). For entities with at least
    ``min_count`` results and a positive value in both periods, the change of the log mean value
    per result ``d = log(v_r / c_r) - log(v_e / c_e)`` has (delta method, independent results)
    ``E[d**2] = tau2_v + c_v (1/c_r + 1/c_e)``: ``c_v`` is the squared coefficient of variation
    of one result's value (a mean of ``c`` results has ``c_v / c``) and ``tau2_v`` the variance
    of the week-to-week drift of the mean. The two are fitted per group by iteratively
    reweighted least squares of ``d**2`` on ``x = 1/c_r + 1/c_e`` with weights
    ``1 / (tau2_v + c_v x)**2`` (the variance of ``d**2`` is ``2 (E d**2)**2`` for a normal
    ``d``; variance-function estimation, Carroll & Ruppert 1988, ch. 3), both constrained to
    be >= 0 (a negative one is set to 0 and the other refitted through the origin or as a
    mean). No entity's own value is shrunk toward its peers: only the *spread* is pooled.

    Returns two length-n arrays ``(c_v, tau2_v)``; both 0 for a group with fewer than 5 such
    entities (too few to tell), and 0 everywhere when no value is reported.
    """
    vr, cr = np.asarray(v_recent, float), np.asarray(c_recent, float)
    ve, ce = np.asarray(v_earlier, float), np.asarray(c_earlier, float)
    ok = (cr >= min_count) & (ce >= min_count) & (vr > 0) & (ve > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(ok, np.log((vr / cr) / (ve / ce)) ** 2, 0.0)
        x = np.where(ok, 1.0 / cr + 1.0 / ce, 0.0)
    keys, inv = unique_inverse(group)
    inv = inv.reshape(-1)
    g = len(keys)
    n = np.bincount(inv, weights=ok.astype(float), minlength=g)
    w0 = ok.astype(float)

    def fit(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sw = np.bincount(inv, weights=w, minlength=g)
        sx = np.bincount(inv, weights=w * x, minlength=g)
        sy = np.bincount(inv, weights=w * y, minlength=g)
        sxx = np.bincount(inv, weights=w * x * x, minlength=g)
        sxy = np.bincount(inv, weights=w * x * y, minlength=g)
        with np.errstate(divide="ignore", invalid="ignore"):
            det = sw * sxx - sx * sx
            c = np.where(det > 0, (sw * sxy - sx * sy) / det, 0.0)
            t = np.where(sw > 0, (sy - c * sx) / sw, 0.0)
            c_origin = np.where(sxx > 0, sxy / sxx, 0.0)  # tau2_v = 0
            t_mean = np.where(sw > 0, sy / sw, 0.0)  # c_v = 0
        c, t = np.where(t < 0, c_origin, c), np.where(t < 0, 0.0, t)
        c, t = np.where(c < 0, 0.0, c), np.where(c < 0, t_mean, t)
        return np.maximum(c, 0.0), np.maximum(t, 0.0)

    c_v, tau2_v = fit(w0)
    for _ in range(iterations):
        s2 = tau2_v[inv] + c_v[inv] * x
        w = np.where(ok & (s2 > 0), 1.0 / np.maximum(s2, 1e-12) ** 2, 0.0)
        c_v, tau2_v = fit(w)
    enough = n >= 5
    return np.where(enough, c_v, 0.0)[inv], np.where(enough, tau2_v, 0.0)[inv]


#: Grid of candidate history-drift variances for :func:`history_drift_variance` (log-spaced).
HISTORY_DRIFT_GRID = np.geomspace(0.005, 20.0, 25)


def history_drift_variance(
    c_next: np.ndarray, e_next: np.ndarray, c_recent: np.ndarray, e_recent: np.ndarray,
    c_old: np.ndarray, e_old: np.ndarray, group: np.ndarray, *,
    inflation_recent: np.ndarray | float = 1.0, inflation_old: np.ndarray | float = 1.0,
    min_count: float = 3.0,
) -> np.ndarray:
    """Estimate, per group, the drift variance ``tau2`` that makes :func:`discounted_history`
    predict best, one step back in the tenant's own history (length-n array; 0 = no estimate).

    Three consecutive periods per entity, all before the decision: ``old``, ``recent`` and
    ``next`` (in the cycle: days 31-90, 8-30 and 1-7 before the as-of day). For each candidate
    ``tau2`` of :data:`HISTORY_DRIFT_GRID`, the posterior mean rate of ``recent`` (its counts
    divided by ``inflation_recent``) with ``old`` as a discounted prior predicts the ``next``
    rate; the ``tau2`` with the least weighted squared error of the log rate per group is
    returned (weights ``1 / (1/c_next + 1/c_recent + 0.1)``: noisy changes count less). This is
    an empirical (cross-validated) choice of the power prior's discount (Ibrahim & Chen 2000;
    the one-step-ahead selection of a discount as in exponential smoothing, Hyndman et al. 2008,
    *Forecasting with Exponential Smoothing*, ch. 5): no entity's rate enters another's, only
    the tenant's evidence on how much an entity's last weeks revert to its own past.
    Entities need ``min_count`` events in each period; groups with fewer than 5 give 0.
    """
    cn, en = np.asarray(c_next, float), np.asarray(e_next, float)
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    co, eo = np.asarray(c_old, float), np.asarray(e_old, float)
    ok = (cn >= min_count) & (cr >= min_count) & (co >= min_count) & (en > 0) & (er > 0) & (eo > 0)
    keys, inv = unique_inverse(group)
    inv = inv.reshape(-1)
    g = len(keys)
    n = np.bincount(inv, weights=ok.astype(float), minlength=g)
    # Only the entities with three periods enter the fit (the grid loop runs on them alone).
    infl_r = np.broadcast_to(np.asarray(inflation_recent, float), cr.shape)[ok]
    infl_o = np.broadcast_to(np.asarray(inflation_old, float), co.shape)[ok]
    cn, en, cr, er, co, eo, gi = cn[ok], en[ok], cr[ok], er[ok], co[ok], eo[ok], inv[ok]
    d = np.log((cn / en) / (cr / er))
    w = 1.0 / (1.0 / cn + 1.0 / cr + 0.1)
    sse = np.zeros((len(HISTORY_DRIFT_GRID), g))
    for j, t2 in enumerate(HISTORY_DRIFT_GRID):
        k = 1.0 / (infl_o + t2 * co)
        pred = np.log(((k * co + cr / infl_r) / (k * eo + er / infl_r)) / (cr / er))
        sse[j] = np.bincount(gi, weights=w * (d - pred) ** 2, minlength=g)
    best = HISTORY_DRIFT_GRID[np.argmin(sse, axis=0)]
    return np.where(n >= 5, best, 0.0)[inv]


def rate_quantiles(shape: np.ndarray, rate: np.ndarray, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> list[np.ndarray]:
    """Posterior quantiles of the rate, one array per entry of ``qs``."""
    return [stats.gamma.ppf(q, a=shape, scale=1.0 / rate) for q in qs]


def prob_rate_declined(
    c_recent: np.ndarray, e_recent: np.ndarray, c_earlier: np.ndarray, e_earlier: np.ndarray
) -> np.ndarray:
    """P(recent rate < earlier rate) for two Poisson periods (fraction 0–1; NaN without exposure).

    Exact conditional-binomial comparison with a Jeffreys Beta prior (see module docstring).
    """
    e_r = np.asarray(e_recent, dtype=float)
    e_e = np.asarray(e_earlier, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = e_r / (e_r + e_e)
    out = stats.beta.cdf(p0, np.asarray(c_recent, float) + 0.5, np.asarray(c_earlier, float) + 0.5)
    return np.where((e_r > 0) & (e_e > 0), out, np.nan)
