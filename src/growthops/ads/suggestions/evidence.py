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
    drift_mean: np.ndarray | float | None = None,
    overdispersion: np.ndarray | float = 1.0,
) -> np.ndarray:
    """P(Y < threshold) for the count ``Y`` of a future period with ``exposure`` (fraction 0–1).

    The posterior predictive of a Poisson count whose rate has the ``Gamma(shape, rate)``
    posterior is negative binomial with mean ``mu = shape / rate * exposure`` and shape ``shape``
    (Gelman et al. 2013, §2.6): it adds the future period's sampling noise to the rate's
    uncertainty, so "the next 7 days' ROAS stays below the line" is judged, not the unobservable
    true rate. Day-to-day overdispersion ``phi`` (variance ``mu_d + phi mu_d**2`` per day, see
    :func:`growthops.ads.analysis.predictive.estimate_dispersion`) adds ``phi mu**2 / days`` to the variance of
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

    ``drift_mean`` ``m`` (issue 16): the mean of the log rate's change, estimated with ``drift``
    by :func:`drift_moments`. ``None`` (the default) keeps the drift factor's *mean* at 1 (its
    log at ``-tau2/2``); given, the log of the factor is ``N(m, tau2)``, as the tenant's
    week-to-week changes measure it, so the predictive mean is ``mu exp(m + tau2/2)`` (the
    log-normal mean; its second moment is ``exp(tau2)`` times the squared mean as before).

    ``overdispersion`` ``kappa`` (issue 16, default 1: Poisson): the period's count varies
    ``kappa`` times as much as Poisson's at a given rate (quasi-Poisson, ``Var = kappa mu``; see
    :func:`drift_variance_function`), which adds ``(kappa - 1) / mu`` to the squared coefficient
    of variation, like the value's ``c_v / mu``: ``1 / r = (1 + cv2) exp(tau2 + tau2_v) - 1 +
    (c_v + kappa - 1) / mu``.
    """
    e = np.asarray(exposure, dtype=float)
    mu = shape / rate * np.where(e > 0, e, 1.0)
    if drift_mean is not None:
        mu = mu * np.exp(np.asarray(drift_mean, dtype=float) + 0.5 * np.asarray(drift, dtype=float))
    cv2 = 1.0 / shape + np.asarray(dispersion, dtype=float) / days
    tau2 = np.asarray(drift, dtype=float) + np.asarray(value_drift, dtype=float)
    k = np.ceil(np.asarray(threshold, dtype=float)) - 1  # Y < t  <=>  Y <= ceil(t) - 1
    extra = np.asarray(value_dispersion, dtype=float) + np.asarray(overdispersion, dtype=float) - 1.0
    r = 1.0 / ((1.0 + cv2) * np.exp(tau2) - 1.0 + extra / mu)
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


def drift_moments(
    c_recent: np.ndarray, e_recent: np.ndarray, c_earlier: np.ndarray, e_earlier: np.ndarray,
    group: np.ndarray, *, min_count: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate, per group, the mean and the variance of the week-to-week change of the log rate.

    Same data as :func:`drift_variance` (entities with at least ``min_count`` events in both
    periods; ``d = log(r_recent / r_earlier)``), but the random-effects model's mean is estimated
    too instead of being taken as 0 (DerSimonian & Laird 1986 estimate both): ``m = mean(d')``
    with ``d' = d + 1/(2 c_recent) - 1/(2 c_earlier)`` (the second-order bias of the log of a
    Poisson rate estimate, ``E log(c/e) ~ log(rate) - 1/(2c)``, removed), and
    ``tau2 = max(0, mean((d' - m)**2) - mean(1/c_recent + 1/c_earlier))``. On the display demo
    tenant the results per spend of ads and ad sets rose by ``m`` ~ +0.16 to +0.22 in log between
    days 7-28 and the last 7 days on average over May-June 2020, so :func:`drift_variance`'s
    ``mean(d**2)`` carried ``m**2`` as spread and the predictive was centred below where next
    weeks fell (issue 16, ``docs/confidences.md`` section 6).

    Returns two length-n arrays ``(m, tau2)``; both 0 for a group with fewer than 3 such
    entities. Rates must have positive exposure.
    """
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    ce, ee = np.asarray(c_earlier, float), np.asarray(e_earlier, float)
    ok = (cr >= min_count) & (ce >= min_count) & (er > 0) & (ee > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(ok, np.log((cr / er) / (ce / ee)) + 0.5 / cr - 0.5 / ce, 0.0)
        samp = np.where(ok, 1.0 / cr + 1.0 / ce, 0.0)
    keys, inv = unique_inverse(group)
    inv = np.asarray(inv).reshape(-1)
    g = len(keys)
    n = np.bincount(inv, weights=ok.astype(float), minlength=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(n >= 3, np.bincount(inv, weights=d, minlength=g) / n, 0.0)
        dev2 = np.where(ok, (d - m[inv]) ** 2, 0.0)
        tau2 = np.where(n >= 3, np.maximum(0.0, (np.bincount(inv, weights=dev2, minlength=g)
                                                 - np.bincount(inv, weights=samp, minlength=g)) / n), 0.0)
    return m[inv], tau2[inv]


def drift_variance_function(
    c_recent: np.ndarray, e_recent: np.ndarray, c_earlier: np.ndarray, e_earlier: np.ndarray,
    group: np.ndarray, *, min_count: float = 3.0, min_entities: int = 8, iterations: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate, per group, the week-to-week drift ``tau2`` and the counts' overdispersion
    ``kappa`` from the changes of the log rate: ``(tau2, kappa)``, two length-n arrays.

    Entities with at least ``min_count`` events in both periods (a recent week against the
    earlier weeks, as :func:`drift_moments`), ``d'`` the bias-corrected change of the log rate
    centred on its group mean, ``x = 1/c_recent + 1/c_earlier``. :func:`drift_moments` takes the
    sampling variance of ``d'`` as Poisson's ``x``; on real accounts the weekly counts vary more
    (issue 16: on the display tenant ``E[d'^2]`` rises as ``0.03 + 2.3 x`` for ads, ``0.03 +
    3 x`` for ad sets, so an ad with 4 results a week was judged on a third of its real noise,
    and the pauses of ads with 3-10 results held 76 % at 97 % stated). The model
    ``E[d'^2] = tau2 + kappa x`` (a variance function with a constant and a term inversely
    proportional to the counts: quasi-Poisson weekly counts, ``Var = kappa mu``, plus a
    log-normal drift) is fitted by iteratively reweighted least squares of ``d'^2`` on ``x``
    with weights ``1 / (tau2 + kappa x)^2`` (Carroll & Ruppert 1988, *Transformation and
    Weighting in Regression*, ch. 3; as :func:`value_variance` does for the value per result),
    ``kappa`` floored at 1 (Poisson) and ``tau2`` at 0. Only the spread is pooled: no entity's
    rate moves toward its group's.

    The observed counts stand in for the expected ones in ``x``, which dilutes ``kappa``
    somewhat (planted ``kappa`` = 3 with 30-3,000 results: ~2.65; with 3-300: ~2.3): the
    estimate errs toward Poisson, never past it.

    A group with fewer than ``min_entities`` such entities gets NaN for both (the caller falls
    back to :func:`drift_moments`). Rates must have positive exposure.
    """
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    ce, ee = np.asarray(c_earlier, float), np.asarray(e_earlier, float)
    ok = (cr >= min_count) & (ce >= min_count) & (er > 0) & (ee > 0)
    keys, inv = unique_inverse(group)
    inv = np.asarray(inv).reshape(-1)
    g = len(keys)
    w0 = ok.astype(float)
    n = np.bincount(inv, weights=w0, minlength=g)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(ok, np.log((cr / er) / (ce / ee)) + 0.5 / cr - 0.5 / ce, 0.0)
        x = np.where(ok, 1.0 / cr + 1.0 / ce, 0.0)
        mean_d = np.bincount(inv, weights=d, minlength=g) / n
        y = np.where(ok, (d - mean_d[inv]) ** 2, 0.0)
        tau2 = np.maximum((np.bincount(inv, weights=y, minlength=g)
                           - np.bincount(inv, weights=x, minlength=g)) / n, 0.0)
    kappa = np.ones(g)
    tau2 = np.where(np.isfinite(tau2), tau2, 0.0)
    for _ in range(iterations):
        w = w0 / np.maximum(tau2[inv] + kappa[inv] * x, 1e-3) ** 2
        sw, sx, sxx, sy, sxy = (np.bincount(inv, weights=w * v, minlength=g)
                                for v in (np.ones_like(x), x, x * x, y, x * y))
        det = sw * sxx - sx * sx
        with np.errstate(divide="ignore", invalid="ignore"):
            k_new = np.where(det > 0, (sw * sxy - sx * sy) / det, 1.0)
            kappa = np.maximum(np.where(np.isfinite(k_new), k_new, 1.0), 1.0)
            tau2 = np.maximum(np.where(sw > 0, (sy - kappa * sx) / sw, 0.0), 0.0)
    enough = n >= min_entities
    return np.where(enough, tau2, np.nan)[inv], np.where(enough, kappa, np.nan)[inv]


def transient_variance(
    c_next: np.ndarray, e_next: np.ndarray, c_recent: np.ndarray, e_recent: np.ndarray,
    c_old: np.ndarray, e_old: np.ndarray, group: np.ndarray, *,
    inflation_recent: np.ndarray | float = 1.0, inflation_old: np.ndarray | float = 1.0,
    min_count: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate, per group, how much of an entity's recent deviation is transient: ``(nu, D)``.

    Three consecutive periods per entity, all before the decision (in the cycle: ``next`` =
    days 0-6, ``recent`` = days 7-29, ``old`` = days 30-89 before the as-of day), log rates
    ``l_n, l_r, l_o``. Model: the observed log rate of a period is the entity's *level* plus a
    *transient* deviation of that period (variance ``nu`` for the recent period, independent
    between periods) plus Poisson sampling (variance ``inflation / c``); the level moves between
    the old and the recent period with variance ``D``. With ``dn = l_n - l_r`` and
    ``dp = l_r - l_o`` the recent period's transient and sampling noise enter both with opposite
    signs, so (method of moments, per group)::

        -Cov(dn, dp) = nu + E[inflation_recent / c_recent]
        Var(dp)      = nu + D + E[inflation_recent / c_recent + inflation_old / c_old]

    give ``nu`` and ``D`` (each floored at 0). A two-week dip of an entity with a steady level
    is then mostly transient (large ``nu``, small ``D``): it reverts, and the entity's own
    history informs its level more than the random-walk reading (:func:`history_drift_variance`
    floored at the week-to-week drift) allowed (issue 16: on the display tenant the pauses of
    entities whose history was above the pause line held 54 % at 86-91 % stated). Only the
    tenant's own three-period changes enter; no entity's rate moves toward its peers'. This is
    the local-level-plus-noise decomposition of a series' changes (Harvey 1989, *Forecasting,
    Structural Time Series Models and the Kalman Filter*, ch. 2: the lag-1 autocovariance of the
    differences identifies the noise variance) with Poisson sampling variance subtracted.

    Entities need ``min_count`` events in each period; a group with fewer than 5 gets NaN for
    both (no estimate). Returns two length-n arrays ``(nu, D)``.
    """
    cn, en = np.asarray(c_next, float), np.asarray(e_next, float)
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    co, eo = np.asarray(c_old, float), np.asarray(e_old, float)
    ok = (cn >= min_count) & (cr >= min_count) & (co >= min_count) & (en > 0) & (er > 0) & (eo > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dn = np.where(ok, np.log((cn / en) / (cr / er)), 0.0)
        dp = np.where(ok, np.log((cr / er) / (co / eo)), 0.0)
        s_r = np.where(ok, np.broadcast_to(np.asarray(inflation_recent, float), cr.shape) / cr, 0.0)
        s_o = np.where(ok, np.broadcast_to(np.asarray(inflation_old, float), co.shape) / co, 0.0)
    keys, inv = unique_inverse(group)
    inv = np.asarray(inv).reshape(-1)
    g = len(keys)
    w = ok.astype(float)
    n = np.bincount(inv, weights=w, minlength=g)

    def mean(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.bincount(inv, weights=x, minlength=g) / n

    mn, mp = mean(dn), mean(dp)
    cov = mean(w * (dn - mn[inv]) * (dp - mp[inv]))
    var_p = mean(w * (dp - mp[inv]) ** 2)
    nu = np.maximum(0.0, -cov - mean(s_r))
    drift = np.maximum(0.0, var_p - mean(s_r + s_o) - nu)
    enough = n >= 5
    return np.where(enough, nu, np.nan)[inv], np.where(enough, drift, np.nan)[inv]


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
    inv = np.asarray(inv).reshape(-1)
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

    Not used by the daily cycle since docs/confidences.md section 7 (:func:`transient_variance`
    gives the history's discount now); kept with its test as section 5's model and as the
    baseline of ``bench/confidence_estimators.py``.
    """
    cn, en = np.asarray(c_next, float), np.asarray(e_next, float)
    cr, er = np.asarray(c_recent, float), np.asarray(e_recent, float)
    co, eo = np.asarray(c_old, float), np.asarray(e_old, float)
    ok = (cn >= min_count) & (cr >= min_count) & (co >= min_count) & (en > 0) & (er > 0) & (eo > 0)
    keys, inv = unique_inverse(group)
    inv = np.asarray(inv).reshape(-1)
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
