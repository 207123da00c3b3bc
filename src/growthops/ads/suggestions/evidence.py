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

#: Pseudo-results of the rate prior (half a result: weak, Jeffreys-like).
PRIOR_STRENGTH = 0.5


def group_totals(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return, for each element, the sum of ``values`` over the elements sharing its key.

    ``keys`` and ``values`` have the same length n; the result has length n (vectorised with
    ``np.unique`` + ``np.bincount``, no Python loop over entities).
    """
    uniq, inv = np.unique(np.asarray(keys), return_inverse=True)
    return np.bincount(inv, weights=np.asarray(values, dtype=float), minlength=len(uniq))[inv]


def rate_posterior(
    counts: np.ndarray, exposure: np.ndarray, pooled_rate: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the Gamma posterior ``(shape, rate)`` of a Poisson rate per unit of exposure.

    ``counts`` (results), ``exposure`` (spend in currency, or impressions) and ``pooled_rate``
    (the peers' counts / exposure) are broadcastable arrays; exposure 0 leaves the prior.
    """
    pooled = np.maximum(np.asarray(pooled_rate, dtype=float), 1e-12)
    a = PRIOR_STRENGTH + np.asarray(counts, dtype=float)
    b = PRIOR_STRENGTH / pooled + np.asarray(exposure, dtype=float)
    return a, b


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
    """
    e = np.asarray(exposure, dtype=float)
    mu = shape / rate * np.where(e > 0, e, 1.0)
    cv2 = 1.0 / shape + np.asarray(dispersion, dtype=float) / days
    tau2 = np.asarray(drift, dtype=float)
    r = 1.0 / ((1.0 + cv2) * np.exp(tau2) - 1.0)
    k = np.ceil(np.asarray(threshold, dtype=float)) - 1  # Y < t  <=>  Y <= ceil(t) - 1
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
    keys, inv = np.unique(np.asarray(group), return_inverse=True)
    n = np.bincount(inv, weights=ok.astype(float), minlength=len(keys))
    sd2 = np.bincount(inv, weights=d2, minlength=len(keys))
    ss = np.bincount(inv, weights=samp, minlength=len(keys))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = np.where(n >= 3, np.maximum(0.0, (sd2 - ss) / n), 0.0)
    return tau2[inv]


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
