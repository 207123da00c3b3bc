"""Response curves with diminishing returns, one per budget-holding entity, with their posterior.

Model (per entity, per day ``d`` of the fit window, spend ``x_d`` in the tenant's currency,
results ``y_d`` = conversions or the platform's result metric)::

    E[y_d] = A * (x_d / xbar) ** b          0 < b < 1 (diminishing returns)

``xbar`` is the entity's (weighted) mean daily spend over the window, so ``A`` is its results per day at
that spend. This is the power-law response the suggestions already use
(:data:`growthops.ads.thresholds.ELASTICITY`), the small-change limit of the Hill / saturation
curves of Robyn (``saturation_hill``) and Meridian (``hill``).

Posterior:

* ``b`` — Normal prior ``ELASTICITY`` with standard deviation ``(hi - lo) / (2 * 1.2816)`` from
  :data:`growthops.ads.thresholds.ELASTICITY_RANGE` read as the prior's 10th-90th percentiles;
  updated by the least-squares slope of ``log(y_d + 0.5)`` on ``log(x_d / xbar)`` (Gaussian
  likelihood, residual variance estimated, conjugate normal update; Gelman et al., *Bayesian
  Data Analysis*, 3rd ed., section 14.2). Draws are truncated to [``B_MIN``, ``B_MAX``]. An
  entity whose spend barely varied learns little about ``b`` and keeps the prior: that is why
  the allocation explores (Thompson sampling), and why its steps create the variation the next
  fits learn from.
* ``A`` given ``b`` — Gamma posterior of a Poisson rate with Jeffreys' prior (shape
  ``R / c + 0.5``, rate ``E / c``), ``R`` = the window's (weighted) results,
  ``E = sum(w_d (x_d / xbar) ** b)`` the exposure, ``c >= 1`` the overdispersion (variance / mean of the daily results, from the
  log residuals: ``c = max(1, s2 * mean(y))``; negative binomial counts, Cameron & Trivedi).

Value per result ``v`` is the window's value / results shrunk toward the account's with
:data:`VALUE_PSEUDO_RESULTS` pseudo-results (as :mod:`growthops.ads.suggestions.generate`);
in the conversions objective ``v = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from growthops.ads.thresholds import ELASTICITY, ELASTICITY_RANGE

#: Prior of the elasticity ``b``: mean and standard deviation (range read as p10-p90).
B_PRIOR_MEAN = ELASTICITY
B_PRIOR_SD = (ELASTICITY_RANGE[1] - ELASTICITY_RANGE[0]) / (2 * 1.2816)
#: Draws of ``b`` are truncated here: b >= 1 would mean no diminishing returns (spend
#: everything), b <= 0 that spend buys nothing.
B_MIN, B_MAX = 0.05, 0.95
#: Pseudo-results pulling an entity's value per result toward the account's.
VALUE_PSEUDO_RESULTS = 5.0
#: Days are weighted 0.5 ** (age / HALF_LIFE_DAYS): the curve follows the entity as it changes
#: (creative fatigue, audience, season) while a fortnight of data still counts.
HALF_LIFE_DAYS = 14.0
#: Fewer than this many days with spend, or results, and the entity is not fitted.
MIN_DAYS = 7
MIN_RESULTS = 5.0


@dataclass(frozen=True)
class Curves:
    """Posterior response curves of ``n`` entities (arrays of shape ``(n,)``).

    ``xbar`` mean daily spend (money); ``b_mean``, ``b_sd`` the elasticity's posterior;
    ``results``, ``exposure_per_b`` inputs of ``A``'s Gamma posterior (see :meth:`a_posterior`);
    ``disp`` the overdispersion ``c``; ``value`` the value per result (1 for conversions);
    ``days`` the days fitted; ``ok`` False where there was too little data.
    """

    xbar: np.ndarray
    b_mean: np.ndarray
    b_sd: np.ndarray
    results: np.ndarray
    disp: np.ndarray
    value: np.ndarray
    days: np.ndarray
    ok: np.ndarray
    log_ratio: list[np.ndarray]
    weights: list[np.ndarray]

    def exposure(self, b: np.ndarray) -> np.ndarray:
        """``E = sum_d w_d (x_d / xbar) ** b`` per entity for the elasticities ``b`` (shape (n,)
        or (s, n)), ``w_d`` the days' weights."""
        b = np.asarray(b, dtype=float)
        out = np.empty(b.shape)
        for i, u in enumerate(self.log_ratio):
            out[..., i] = np.exp(np.multiply.outer(b[..., i], u)) @ self.weights[i] if len(u) else 1.0
        return out

    def a_mean(self, b: np.ndarray | None = None) -> np.ndarray:
        """Posterior mean of ``A`` (results per day at ``xbar``) given ``b`` (default its mean)."""
        b = self.b_mean if b is None else b
        return (self.results / self.disp + 0.5) / (self.exposure(b) / self.disp)

    def draw(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``size`` joint posterior draws ``(A, b)``, each of shape ``(size, n)``."""
        n = len(self.xbar)
        b = np.clip(self.b_mean + self.b_sd * rng.standard_normal((size, n)), B_MIN, B_MAX)
        shape = self.results / self.disp + 0.5
        rate = self.exposure(b) / self.disp
        a = rng.gamma(np.broadcast_to(shape, (size, n)), 1.0 / np.maximum(rate, 1e-12))
        return a, b


def fit(spend: list[np.ndarray], results: list[np.ndarray], value: list[np.ndarray],
        *, value_mode: bool) -> Curves:
    """Fit the posterior curve of each entity from its daily ``spend``, ``results``, ``value``.

    Each list has one array per entity, oldest day first (its days with spend > 0 count, any
    length); day ``d`` days before the last weighs ``0.5 ** (d / HALF_LIFE_DAYS)`` in the slope,
    the level and the value per result (so ``results`` are effective counts). Money in the
    tenant's currency; results are counts. Returns :class:`Curves`; entities with fewer than
    :data:`MIN_DAYS` days or :data:`MIN_RESULTS` results get ``ok = False`` (and the prior).
    """
    n = len(spend)
    tot_r = float(sum(r.sum() for r in results))
    tot_v = float(sum(v.sum() for v in value))
    v_acct = tot_v / tot_r if tot_r > 0 else 0.0
    xbar, bm, bs, rr, disp, val, days = (np.zeros(n) for _ in range(7))
    ok = np.zeros(n, dtype=bool)
    logs: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    prior_prec = 1.0 / B_PRIOR_SD**2
    for i in range(n):
        x, y, v = (np.asarray(a, dtype=float) for a in (spend[i], results[i], value[i]))
        age = np.arange(len(x))[::-1].astype(float)
        keep = x > 0
        x, y, v, age = x[keep], y[keep], v[keep], age[keep]
        wt = np.power(0.5, age / HALF_LIFE_DAYS)
        days[i] = len(x)
        xbar[i] = float(wt @ x / wt.sum()) if len(x) else 0.0
        u = np.log(x / xbar[i]) if len(x) else np.zeros(0)
        logs.append(u)
        weights.append(wt)
        rr[i] = float(wt @ y)
        val[i] = (float(wt @ v) + v_acct * VALUE_PSEUDO_RESULTS) / (rr[i] + VALUE_PSEUDO_RESULTS) if value_mode else 1.0
        ok[i] = len(x) >= MIN_DAYS and y.sum() >= MIN_RESULTS
        bm[i], bs[i], disp[i] = B_PRIOR_MEAN, B_PRIOR_SD, 1.0
        if not ok[i]:
            continue
        z = np.log(y + 0.5)
        uc, zc = u - float(wt @ u) / wt.sum(), z - float(wt @ z) / wt.sum()
        sxx = float(wt @ (uc * uc))
        slope = float(wt @ (uc * zc)) / sxx if sxx > 1e-12 else 0.0
        resid = zc - slope * uc
        n_eff = wt.sum() ** 2 / float(wt @ wt)
        s2 = max(float(wt @ (resid * resid)) / wt.sum() * n_eff / max(n_eff - 2, 1), 0.05**2)
        disp[i] = max(1.0, s2 * float(wt @ y) / wt.sum())
        prec = prior_prec + sxx / s2
        bm[i] = (B_PRIOR_MEAN * prior_prec + slope * sxx / s2) / prec
        bs[i] = prec**-0.5
    return Curves(xbar=xbar, b_mean=bm, b_sd=bs, results=rr, disp=disp, value=val, days=days,
                  ok=ok, log_ratio=logs, weights=weights)


def response(a: np.ndarray, b: np.ndarray, xbar: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Expected results per day at spend ``x``: ``A * (x / xbar) ** b`` (broadcasting)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, a * np.power(np.maximum(x, 1e-12) / np.maximum(xbar, 1e-12), b), 0.0)
