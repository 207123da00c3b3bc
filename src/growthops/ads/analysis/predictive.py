"""The per-test predictive models of the daily anomaly detector (split from
:mod:`growthops.ads.analysis.detect`, which runs the whole chain): day-of-week seasonality,
the dispersion of count metrics, and each test's one-sided predictive p-values.

* **count given exposure**: a gamma-Poisson model with a peer-centred prior and its exact
  negative-binomial posterior predictive, optionally inflated for day-to-day overdispersion
  (:func:`count_test`, :func:`estimate_dispersion`).
* **continuous positive**: a log-normal model with the Student-t prediction interval
  (:func:`lognormal_test`).
* day-of-week factors estimated from pooled tenant totals and shrunk toward 1
  (:func:`seasonal_factors`, :func:`dow_factors`).

Inputs are equal-length NumPy arrays of history sums (see :mod:`growthops.ads.analysis.detect`
for the keys and every source); no database access.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from growthops.ads.analysis.codes import unique_inverse
from growthops.core.errors import InvalidInput

#: Minimum history days (with exposure / positive value). One full week, so that every weekday
#: is seen at least once and the dispersion estimate has >= 6 degrees of freedom. Convention.
MIN_HISTORY_DAYS = 7
#: Weakly informative prior spread of a weekday effect on the log scale (+-15 %); a weekday with
#: about 1 / 0.15**2 = 44 events of its own weighs as much as the prior. Product default.
DOW_PRIOR_SD = 0.15
#: Prior degrees of freedom of the pooled dispersion (edgeR's default, Robinson & Smyth 2007).
DISPERSION_PRIOR_DF = 10.0
#: Floor on the day-to-day log standard deviation of continuous metrics: a metric pinned at its
#: budget cap (sd ~ 0) would otherwise flag cent-level noise. Product default (1 %).
MIN_LOG_SD = 0.01


def as_array(x: Any, n: int | None = None, fill: float = np.nan) -> np.ndarray:
    """Return ``x`` as a float64 array broadcast to length ``n`` (None -> ``fill``)."""
    if x is None:
        return np.full(n if n is not None else (), fill, dtype=float)
    a = np.asarray(x, dtype=float)
    return np.broadcast_to(a, (n,)).copy() if n is not None and a.ndim == 0 else a



# --------------------------------------------------------------------------- seasonality


def seasonal_factors(
    totals: Any,
    exposure: Any,
    *,
    sum_sq: Any = None,
    n_obs: Any = None,
    dispersion: float = 0.0,
    prior_sd: float | None = DOW_PRIOR_SD,
) -> np.ndarray:
    """Estimate multiplicative seasonal factors (e.g. day of week) shrunk toward 1.

    Shapes: ``totals`` and ``exposure`` are ``(..., K)`` (K = 7 weekdays, Monday first; or any
    K categories such as time-of-day slots); leading axes are independent series (tenants,
    metrics). Returns ``(..., K)`` factors whose exposure-weighted mean is exactly 1, so
    ``sum_k exposure_k * factor_k == sum_k exposure_k``.

    Two modes:

    * counts (``sum_sq`` is None): ``totals`` = pooled event counts per category, ``exposure`` =
      pooled exposure per category (spend, impressions; or the number of days for a plain daily
      count). Raw log ratio ``log((Y_k + .5) / (E_k * Y/E + .5))`` with sampling variance
      ``(1 + dispersion * Y_k / n_obs_k) / (Y_k + .5)`` (Poisson by the delta method, inflated
      quasi-Poisson style when ``dispersion`` and ``n_obs`` = days per category are given).
    * continuous (``sum_sq`` given): ``totals`` = sum of daily values, ``exposure`` = number of
      days per category, ``sum_sq`` = sum of squared daily values. Raw log ratio of the category
      mean to the overall mean, variance ``s_k**2 / (n_k * mean_k**2)`` (delta method).

    Shrinkage rule (normal-normal empirical Bayes on the log scale, Efron & Morris 1975):
    ``log f_k = B_k * log r_k`` with ``B_k = tau**2 / (tau**2 + v_k)``; ``tau = prior_sd``
    (default 0.15, see :data:`DOW_PRIOR_SD`), or, when ``prior_sd`` is None, estimated per series
    by the method of moments ``tau**2 = max(0, mean(log r_k**2 - v_k))`` (positive-part
    James-Stein). A category without data gets factor 1 before renormalisation.
    """
    y = np.asarray(totals, dtype=float)
    e = np.asarray(exposure, dtype=float)
    if y.shape != e.shape or y.ndim == 0:
        raise InvalidInput("seasonal_factors: totals and exposure need the same (..., K) shape")
    with np.errstate(divide="ignore", invalid="ignore"):
        if sum_sq is None:
            rate = y.sum(-1, keepdims=True) / e.sum(-1, keepdims=True)
            expected = e * rate
            log_r = np.log((y + 0.5) / (expected + 0.5))
            v = 1.0 / (y + 0.5)
            if dispersion > 0 and n_obs is not None:
                v = v * (1.0 + dispersion * y / np.maximum(np.asarray(n_obs, float), 1.0))
            v = np.where(e > 0, v, np.inf)
        else:
            ss = np.asarray(sum_sq, dtype=float)
            mean_k = y / e
            overall = y.sum(-1, keepdims=True) / e.sum(-1, keepdims=True)
            var_k = (ss - e * mean_k**2) / (e - 1.0)
            log_r = np.log(mean_k / overall)
            v = np.where((e >= 2) & (mean_k > 0), np.maximum(var_k, 0) / (e * mean_k**2), np.inf)
        log_r = np.where(np.isfinite(log_r) & np.isfinite(v), log_r, 0.0)
        if prior_sd is None:
            finite = np.isfinite(v)
            k = np.maximum(finite.sum(-1, keepdims=True), 1)
            excess = np.where(finite, log_r**2 - np.where(finite, v, 0), 0).sum(-1, keepdims=True)
            tau2 = np.maximum(excess / k, 0.0)
        else:
            tau2 = np.full(y.shape[:-1] + (1,), float(prior_sd) ** 2)
        shrink = np.where(np.isfinite(v), tau2 / (tau2 + v), 0.0)
        shrink = np.nan_to_num(shrink, nan=0.0)
        f = np.exp(shrink * log_r)
        w = np.where(e > 0, e, 0.0)
        norm = (w * f).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
        f = f / np.where((norm > 0) & np.isfinite(norm), norm, 1.0)
    return f


def dow_factors(totals: Any, exposure: Any, **kwargs: Any) -> np.ndarray:
    """Estimate day-of-week factors (index 0 = Monday); see :func:`seasonal_factors`.

    ``totals``/``exposure`` have shape ``(..., 7)``; pooled tenant totals by weekday over the
    history window (ideally whole weeks, e.g. 28 days). Returns ``(..., 7)`` factors.
    """
    y = np.asarray(totals)
    if y.shape[-1:] != (7,):
        raise InvalidInput(f"dow_factors: last axis must have 7 weekdays, got shape {y.shape}")
    return seasonal_factors(totals, exposure, **kwargs)


# --------------------------------------------------------------------------- dispersion


def estimate_dispersion(
    hist_count: Any,
    hist_exposure: Any,
    hist_sum_sq: Any,
    hist_days: Any,
    *,
    group: Any = None,
    prior_df: float = DISPERSION_PRIOR_DF,
) -> np.ndarray:
    """Estimate each test's day-to-day overdispersion ``phi``, shrunk toward its group's pool.

    Model: ``y_d ~ NegBin(mean mu_d, variance mu_d + phi * mu_d**2)`` with
    ``mu_d = lambda * e_d * s_d``. Inputs (length-n arrays, sums over history days with
    ``e_d > 0``): ``Y = sum y_d``, ``E = sum e_d s_d``, ``S = sum y_d**2 / (e_d s_d)``,
    ``n`` = days. With ``lambda = Y/E`` the Pearson statistic is ``X2 = S*E/Y - Y`` and the
    moment estimator (Breslow 1984; Cameron & Trivedi 2013, 3.2) is
    ``phi_i = (X2 - (n-1)) / Y``. The pooled value per group is
    ``sum(X2 - (n-1)) / sum(Y)``. Each test gets the weighted mean
    ``(w_i phi_i + prior_df phi_pool) / (w_i + prior_df)``, floored at 0, where
    ``w_i = (n-1) * (phi_pool m_i / (1 + phi_pool m_i))**2`` (``m_i = Y/n``) is the effective
    degrees of freedom of ``phi_i`` (its relative variance is ``~2/(n-1)`` only when the
    extra-Poisson variance dominates) and ``prior_df`` = 10 (edgeR's default, Robinson & Smyth
    2007). Returns ``phi`` (length n, >= 0). Tests with ``Y == 0`` or ``n < 2`` get the pool.
    """
    yy = np.asarray(hist_count, dtype=float)
    ee = np.asarray(hist_exposure, dtype=float)
    ss = np.asarray(hist_sum_sq, dtype=float)
    nn = np.asarray(hist_days, dtype=float)
    valid = (yy > 0) & (ee > 0) & (nn >= 2) & np.isfinite(ss)
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = np.where(valid, ss * ee / yy - yy, 0.0)
        df = np.where(valid, nn - 1.0, 0.0)
        excess = np.where(valid, x2 - df, 0.0)
        phi_i = np.where(valid, excess / yy, 0.0)
    if group is None:
        inv = np.zeros(yy.shape, dtype=np.intp)
        n_groups = 1
    else:
        _, inv = unique_inverse(np.asarray(group))
        inv = inv.reshape(yy.shape)
        n_groups = int(inv.max()) + 1 if inv.size else 1
    num = np.bincount(inv.ravel(), weights=excess.ravel(), minlength=n_groups)
    den = np.bincount(inv.ravel(), weights=np.where(valid, yy, 0.0).ravel(), minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        pool = np.maximum(np.where(den > 0, num / den, 0.0), 0.0)[inv]
        m = np.where(valid, yy / np.maximum(nn, 1.0), 0.0)
        w = df * (pool * m / (1.0 + pool * m)) ** 2
        phi = (w * phi_i + prior_df * pool) / (w + prior_df)
    return np.maximum(np.where(valid, phi, pool), 0.0)


# --------------------------------------------------------------------------- tests


def _negbin_tails(y: np.ndarray, r: np.ndarray, p: np.ndarray, mid_p: bool) -> tuple:
    """Return (P(Y<y) + h P(Y=y), P(Y>y) + h P(Y=y), P(Y=0)) for NegBin(r, p); h = 1/2 or 1."""
    with np.errstate(all="ignore"):
        k = np.maximum(y, 0.0)
        logpmf = (
            special.gammaln(k + r)
            - special.gammaln(r)
            - special.gammaln(k + 1.0)
            + r * np.log(p)
            + k * np.log1p(-p)
        )
        pmf = np.exp(logpmf)
        cdf_below = np.where(k > 0, special.betainc(r, np.maximum(k, 1.0), p), 0.0)  # P(Y<=k-1)
        sf_above = special.betainc(k + 1.0, r, 1.0 - p)  # P(Y>k)
        pmf0 = np.exp(r * np.log(p))
    h = 0.5 if mid_p else 1.0
    return cdf_below + h * pmf, sf_above + h * pmf, pmf0


def count_test(
    y: Any,
    exposure: Any,
    hist_count: Any,
    hist_exposure: Any,
    *,
    season: Any = 1.0,
    hist_days: Any = None,
    prior_rate: Any = None,
    prior_strength: float = 1.0,
    dispersion: Any = 0.0,
    mid_p: bool = True,
) -> dict[str, np.ndarray]:
    """Test a day's count against its gamma-Poisson posterior predictive (vectorised).

    Model (Gelman et al. 2013, 2.6): ``y_d ~ Poisson(lambda * e_d * s_d)``,
    ``lambda ~ Gamma(a0, b0)``. Prior centred on the pooled ``prior_rate`` with ``a0 =
    prior_strength`` pseudo-events (default 1) and ``b0 = a0 / prior_rate``; without a prior rate,
    Jeffreys ``a0 = 1/2, b0 = 0`` (2.8). Posterior ``Gamma(a0 + Y, b0 + E)`` and, for today's
    exposure ``e`` and factor ``s``, the exact predictive ``NegBin(r = a0 + Y,
    p = (b0 + E) / (b0 + E + e s))``.

    Overdispersion ``phi`` (day effect ``theta ~ Gamma(1/phi, 1/phi)``, mean 1): the history
    sums are scaled quasi-Poisson style by ``c = 1 + phi * Y / hist_days`` (McCullagh & Nelder
    1989, ch. 4) and the predictive of ``lambda * theta`` is moment-matched to a gamma of shape
    ``r = 1 / ((1 + 1/alpha)(1 + phi) - 1)`` (``alpha`` = posterior shape), which is exact when
    ``phi = 0``.

    Shapes: all arguments broadcast to length n; counts are rounded to integers; ``exposure``
    in the metric's exposure unit (money, impressions). Returns arrays ``expected`` (predictive
    mean count), ``p_low`` = P(Y<y) + P(Y=y)/2, ``p_high`` = P(Y>y) + P(Y=y)/2 (mid-p, Lancaster
    1961; conventional P(Y<=y), P(Y>=y) when ``mid_p`` is False), ``p_min_drop`` = ``p_low`` at
    ``y = 0`` (the smallest attainable drop p-value), ``r`` and ``p`` (predictive parameters,
    as in ``scipy.stats.nbinom(r, p)``).
    """
    yv = np.rint(as_array(y))
    n = yv.shape[0] if yv.ndim else None
    e = as_array(exposure, n)
    yy = as_array(hist_count, n)
    ee = as_array(hist_exposure, n)
    s = as_array(season, n)
    phi = np.maximum(np.nan_to_num(as_array(dispersion, n), nan=0.0), 0.0)
    rho = as_array(prior_rate, n)
    days = as_array(hist_days, n) if hist_days is not None else np.full_like(yy, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        has_prior = np.isfinite(rho) & (rho > 0)
        a0 = np.where(has_prior, prior_strength, 0.5)
        b0 = np.where(has_prior, prior_strength / rho, 0.0)
        c = 1.0 + phi * np.where(days > 0, yy / days, 0.0)
        alpha = a0 + yy / c
        beta = b0 + ee / c
        mean = alpha / beta * e * s
        cv2 = (1.0 + 1.0 / alpha) * (1.0 + phi) - 1.0
        r = 1.0 / cv2
        p = r / (r + mean)
    p_low, p_high, pmf0 = _negbin_tails(yv, r, p, mid_p)
    p_min_drop = (0.5 if mid_p else 1.0) * pmf0
    return {
        "expected": mean,
        "p_low": p_low,
        "p_high": p_high,
        "p_min_drop": p_min_drop,
        "r": r,
        "p": p,
    }


def lognormal_test(
    x: Any,
    hist_days: Any,
    hist_sum_log: Any,
    hist_sum_log_sq: Any,
    *,
    season: Any = 1.0,
    hist_zero_days: Any = 0.0,
    min_log_sd: float = MIN_LOG_SD,
) -> dict[str, np.ndarray]:
    """Test a day's positive value against a log-normal Student-t predictive (vectorised).

    Model: ``log(x_d / s_d) ~ N(mu, sigma**2)`` iid over the ``n`` positive history days. With
    ``m = sum/n`` and the sample sd ``sd`` from ``n, sum log, sum log**2`` (floored at
    ``min_log_sd``), ``(log(x/s) - m) / (sd * sqrt(1 + 1/n))`` is Student-t with ``n - 1`` df
    (normal prediction interval, Hahn & Meeker 1991, 4.7). ``p_low = T(z)``,
    ``p_high = T(-z)``; ``expected = s * exp(m)`` (predictive median, in the metric's unit).

    A zero value (``x == 0``) is tested on the frequency of zero days: ``p_low = pi0 =
    (zeros + 1/2) / (n + zeros + 1)`` (Jeffreys estimate), ``p_high = 1``. Needs ``n >= 2``
    (else NaN p-values). Returns ``expected``, ``p_low``, ``p_high`` (length n).
    """
    xv = as_array(x)
    n_ = xv.shape[0] if xv.ndim else None
    n = as_array(hist_days, n_)
    s1 = as_array(hist_sum_log, n_)
    s2 = as_array(hist_sum_log_sq, n_)
    s = as_array(season, n_)
    z0 = np.nan_to_num(as_array(hist_zero_days, n_), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s1 / n
        var = (s2 - n * m * m) / (n - 1.0)
        sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), min_log_sd)
        scale = sd * np.sqrt(1.0 + 1.0 / n)
        z = (np.log(np.where(xv > 0, xv, 1.0) / s) - m) / scale
        df = np.where(n >= 2, n - 1.0, np.nan)
        t_low = special.stdtr(df, z)
        t_high = special.stdtr(df, -z)
        pi0 = (z0 + 0.5) / (n + z0 + 1.0)
    zero = xv <= 0
    p_low = np.where(zero, pi0, t_low)
    p_high = np.where(zero, 1.0, t_high)
    bad = ~(n >= 2) | ~np.isfinite(xv)
    p_low = np.where(bad, np.nan, p_low)
    p_high = np.where(bad, np.nan, p_high)
    return {"expected": s * np.exp(m), "p_low": p_low, "p_high": p_high}
