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
* Next week's ROAS (pause, budget and scale premises since issue 16,
  :func:`change_variance_model`, :func:`shrink_log_ratio`, :func:`prob_next_ratio_below`): the
  log ROAS of the next 7 days is Student t around the entity's empirical-Bayes estimate, with
  the variance of the tenant's own week-to-week changes (drift plus inflated sampling noise).
  The earlier count model (:func:`prob_future_count_below`, :func:`drift_variance`) judged
  results at a fixed value per result and missed the spread of the value per result, which
  dominates on value-reporting accounts (see ``docs/confidences.md``).
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


#: Fewer usable entities than this in a group: its change-variance model falls back to the
#: tenant's entities of every group (then to the Poisson-only model, kappa 1 and tau2 0).
MIN_ENTITIES_FOR_CHANGE_MODEL = 8
#: Degrees of freedom of the predictive's Student t: bounds (4 keeps the variance finite with
#: room; 60 is practically normal).
DF_BOUNDS = (4.5, 60.0)


def change_variance_model(
    num_recent: np.ndarray, e_recent: np.ndarray, c_recent: np.ndarray,
    num_earlier: np.ndarray, e_earlier: np.ndarray, c_earlier: np.ndarray,
    group: np.ndarray, *, min_count: float = 3.0, iterations: int = 20,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit, per group, how much an entity's log ratio moves from one period to the next.

    ``num / e`` is the ratio the premise is about (conversion value per spend, i.e. ROAS, when
    the tenant reports values; results per spend otherwise), ``c`` the result counts behind it
    (all arrays of one length n; ``group`` the (platform, level) key of each entity). For the
    entities with at least ``min_count`` results in both periods, the observed change
    ``d = log(ratio_recent / ratio_earlier)`` is modelled as

        E[d**2] = tau2 + kappa * (1/c_recent + 1/c_earlier),

    ``tau2`` the between-period variance of the true log ratio (drift, random effects: the next
    week is not the last two, including the shifts common to all entities since ``d`` is not
    centred) and ``kappa`` the inflation of the Poisson sampling variance ``1/c`` (day-to-day
    overdispersion and the spread of the value per result: a compound Poisson sum's squared
    coefficient of variation is ``(1 + cv**2) / c``). Fitted by iteratively reweighted least
    squares of ``d**2`` on ``1/c_r + 1/c_e`` with weights ``1 / fitted**2`` (the variance of
    ``d**2`` is ``2 fitted**2`` under normality), both coefficients kept >= their floors
    (``tau2 >= 0``, ``kappa >= 1``): the variance-function estimator of Carroll & Ruppert
    (1988, *Transformation and Weighting in Regression*, ch. 3), which with ``kappa`` fixed to 1
    is the Paule–Mandel / DerSimonian–Laird random-effects estimator (Paule & Mandel 1982;
    DerSimonian & Laird 1986). The tails: ``nu`` = ``4 + 6 / excess kurtosis`` of the
    standardised changes (a Student t with ``nu`` degrees of freedom has excess kurtosis
    ``6 / (nu - 4)``), within :data:`DF_BOUNDS`.

    Returns ``(tau2, kappa, nu)``, each of length n (the value of the element's group). A group
    with fewer than :data:`MIN_ENTITIES_FOR_CHANGE_MODEL` usable entities takes the fit over all
    groups; with fewer overall: ``tau2 = 0, kappa = 1, nu = 60`` (the Poisson model). A group's
    ``tau2`` is floored at the overall fit's: with a few dozen entities (ad sets) the fit trades
    ``tau2`` against ``kappa`` (few entities have the volume that separates them) and came out
    near 0 on days the ad sets then moved as much as the ads (issue 16 backtest; floor: ECE
    5 % -> 3 %, see ``docs/confidences.md``).
    """
    nr, er, cr = (np.asarray(x, float) for x in (num_recent, e_recent, c_recent))
    ne, ee, ce = (np.asarray(x, float) for x in (num_earlier, e_earlier, c_earlier))
    ok = (cr >= min_count) & (ce >= min_count) & (er > 0) & (ee > 0) & (nr > 0) & (ne > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = np.where(ok, np.log((nr / np.where(ok, er, 1)) / (ne / np.where(ok, ee, 1))) ** 2, np.nan)
        v = np.where(ok, 1.0 / cr + 1.0 / ce, np.nan)

    def fit(sel: np.ndarray) -> tuple[float, float, float]:
        y, x = d2[sel], v[sel]
        tau2, kappa = max(float(np.mean(y - x)), 0.0), 1.0
        for _ in range(iterations):
            w = 1.0 / np.maximum(tau2 + kappa * x, 1e-9) ** 2
            sw, swx, swy = w.sum(), (w * x).sum(), (w * y).sum()
            swxx, swxy = (w * x * x).sum(), (w * x * y).sum()
            det = sw * swxx - swx**2
            t_new, k_new = ((swxx * swy - swx * swxy) / det, (sw * swxy - swx * swy) / det) if det > 0 else (tau2, kappa)
            if k_new < 1.0:  # kappa at its floor: tau2 alone (weighted mean of y - x)
                k_new, t_new = 1.0, (w * (y - x)).sum() / sw
            if t_new < 0.0:  # tau2 at its floor: kappa alone (weighted ratio, >= 1)
                t_new, k_new = 0.0, max(1.0, swxy / swxx)
            done = abs(t_new - tau2) < 1e-6 and abs(k_new - kappa) < 1e-6
            tau2, kappa = float(t_new), float(k_new)
            if done:
                break
        z2 = y / np.maximum(tau2 + kappa * x, 1e-12)  # squared standardised changes
        excess = float(np.mean(z2**2) / np.mean(z2) ** 2 - 3.0) if np.mean(z2) > 0 else 0.0
        nu = 4.0 + 6.0 / excess if excess > 0 else DF_BOUNDS[1]
        return tau2, kappa, float(np.clip(nu, *DF_BOUNDS))

    keys, inv = np.unique(np.asarray(group), return_inverse=True)
    overall = fit(ok) if ok.sum() >= MIN_ENTITIES_FOR_CHANGE_MODEL else (0.0, 1.0, DF_BOUNDS[1])
    per = [fit(ok & (inv == g)) if (ok & (inv == g)).sum() >= MIN_ENTITIES_FOR_CHANGE_MODEL else overall
           for g in range(len(keys))]
    per = [(max(t, overall[0]), k, n) for t, k, n in per]  # drift floored at the tenant's
    arr = np.array(per, dtype=float).reshape(len(keys), 3)
    return arr[inv, 0], arr[inv, 1], arr[inv, 2]


def prob_next_ratio_below(threshold: np.ndarray | float, center: np.ndarray, log_sd: np.ndarray,
                          nu: np.ndarray | float) -> np.ndarray:
    """P(next week's ratio < ``threshold``) (fraction 0–1): ``log ratio`` is Student t with
    ``nu`` degrees of freedom, location ``log center`` and standard deviation ``log_sd``
    (scale ``log_sd * sqrt((nu - 2) / nu)``, so the variance is ``log_sd**2``; heavier tails
    than the normal as the observed changes have; Lange, Little & Taylor 1989, *JASA* 84).
    ``center`` and ``threshold`` are positive (NaN otherwise)."""
    c = np.asarray(center, float)
    t = np.asarray(threshold, float)
    nu = np.asarray(nu, float)
    scale = np.asarray(log_sd, float) * np.sqrt((nu - 2.0) / nu)
    ok = (c > 0) & (t > 0) & (scale > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.where(ok, t, 1.0)) - np.log(np.where(ok, c, 1.0))) / np.where(ok, scale, 1.0)
    return np.where(ok, stats.t.cdf(z, nu), np.nan)


def paule_mandel(y: np.ndarray, v: np.ndarray) -> float:
    """Paule–Mandel estimate of the between-unit variance ``sigma2`` of ``y`` (length n >= 2)
    observed with within-unit variances ``v``: the root of
    ``sum((y - mu_w)**2 / (sigma2 + v)) = n - 1``, ``mu_w`` the mean weighted by
    ``1 / (sigma2 + v)``; 0 when even ``sigma2 = 0`` leaves the sum below ``n - 1`` (Paule &
    Mandel 1982; recommended over DerSimonian–Laird by Veroniki et al. 2016, *Research
    Synthesis Methods* 7). Solved by Brent's method (SciPy ``brentq``)."""
    from scipy.optimize import brentq

    y, v = np.asarray(y, float), np.asarray(v, float)

    def excess(s2: float) -> float:
        w = 1.0 / (s2 + v)
        mu = (w * y).sum() / w.sum()
        return float((w * (y - mu) ** 2).sum() - (len(y) - 1))

    if len(y) < 2 or excess(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(y)), 1e-6)
    while excess(hi) > 0:
        hi *= 4.0
    return float(brentq(excess, 0.0, hi, xtol=1e-10))


def shrink_log_ratio(log_ratio: np.ndarray, sampling_var: np.ndarray, group: np.ndarray,
                     active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes shrinkage of each entity's log ratio toward its group's (normal-normal).

    Within a group (platform, level), the true log ratios are ``N(mu, sigma2)`` and each
    ``log_ratio`` is observed with ``sampling_var``; ``mu`` and ``sigma2`` are the random-effects
    estimates over the ``active`` entities (:func:`paule_mandel`; ``mu`` the mean weighted by
    ``1 / (sigma2 + v)``), and each
    entity gets the posterior mean ``mu + B (log_ratio - mu)`` with ``B = sigma2 / (sigma2 + v)``
    and variance ``B v`` (Efron & Morris 1975, *JASA* 70; Clayton & Kaldor 1987, *Biometrics*
    43). This is the regression to the mean a rule that picks the lowest (or highest) observed
    ROAS must expect. Groups with fewer than 3 active entities are left unshrunk (``B = 1``).
    Returns ``(posterior mean, posterior variance)`` of the log ratio, length n.
    """
    y = np.asarray(log_ratio, float)
    v = np.maximum(np.asarray(sampling_var, float), 1e-9)
    ok = np.asarray(active, bool) & np.isfinite(y)
    keys, inv = np.unique(np.asarray(group), return_inverse=True)
    mean_out, var_out = y.copy(), v.copy()
    for g in range(len(keys)):
        sel = ok & (inv == g)
        if sel.sum() < 3:
            continue
        ys, vs = y[sel], v[sel]
        sigma2 = paule_mandel(ys, vs)
        w = 1.0 / (sigma2 + vs)
        mu = float((w * ys).sum() / w.sum())
        members = inv == g
        b = sigma2 / (sigma2 + v[members])
        mean_out[members] = mu + b * (y[members] - mu)
        var_out[members] = b * v[members]
    return mean_out, var_out
