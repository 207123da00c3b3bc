"""Statistics of creative and audience tests (A/B tests): planning, frequentist and Bayesian
readouts, sample-ratio mismatch, and an always-valid sequential test.

Pure functions (no I/O). Rates are fractions 0-1, never percent; money ratios (CPA, ROAS) are
in the account currency. Sources, per function:

* two-proportion z-test: pooled-variance z statistic (``statsmodels.stats.proportion.
  proportions_ztest``), Wald interval on the difference (``confint_proportions_2indep``);
* planned sample size: normal approximation with Cohen's *h* (``statsmodels.stats.power.
  NormalIndPower`` + ``proportion_effectsize``; Cohen 1988, ch. 6) for rates; for CPA and ROAS
  the log rate ratio of two Poisson counts (variance 1/λa + 1/λb), inflated by (1 + cv²) of the
  order value for ROAS;
* ratio-of-sums metrics (CPA = spend/conversions, ROAS = value/spend, CTR per impression over
  units that are not single impressions): the delta method, Deng, Knoblich & Lu (2018),
  "Applying the Delta Method in Metric Analytics", KDD, eq. (3);
* probability to be best and expected loss: Beta(1 + x, 1 + n - x) posteriors (uniform prior)
  by Monte Carlo with a fixed seed (Stucchio 2015, "Bayesian A/B Testing at VWO"); normal
  posteriors for ratio metrics (delta-method standard errors);
* sample-ratio mismatch: Pearson's chi-square goodness of fit against the planned split
  (``scipy.stats.chisquare``), flagged below p = 0.0005 (Fabijan et al. 2019, "Diagnosing Sample
  Ratio Mismatch in Online Controlled Experiments", KDD, section 5);
* always-valid sequential test: the mixture SPRT (mSPRT) with a normal mixing distribution,
  Johari, Koomen, Pekelis & Walsh (2017/2022), "Always Valid Inference: Continuous Monitoring of
  A/B Tests", Operations Research, eq. (11): Λ = sqrt(σ²/(σ²+τ²)) exp(τ²θ̂²/(2σ²(σ²+τ²))),
  reject when Λ ≥ 1/α; the always-valid p-value is min(1, 1/max Λ) over the looks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from growthops.core.errors import InvalidInput

#: Sample-ratio mismatch threshold on the chi-square p-value (Fabijan et al. 2019).
SRM_P_THRESHOLD = 0.0005
#: Monte Carlo draws and seed of the Bayesian readouts (fixed: the same data gives the same figures).
MC_DRAWS = 200_000
MC_SEED = 20_240_101
#: Metrics a test can decide on, with their kind and the unit the planned sample counts.
METRICS: dict[str, dict[str, str]] = {
    "ctr": {"kind": "proportion", "num": "clicks", "den": "impressions", "unit": "impressions",
            "better": "higher"},
    "cvr": {"kind": "proportion", "num": "conversions", "den": "clicks", "unit": "clicks",
            "better": "higher"},
    "cpa": {"kind": "ratio", "num": "spend", "den": "conversions", "unit": "conversions",
            "better": "lower"},
    "roas": {"kind": "ratio", "num": "conversion_value", "den": "spend", "unit": "conversions",
             "better": "higher"},
}


class _Record:
    """Dataclass results that serialise themselves (``as_dict``: JSON-ready fields)."""

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)  # type: ignore[call-overload]


def _check_counts(x: int, n: int, field: str) -> None:
    if n <= 0 or x < 0 or x > n:
        raise InvalidInput(f"{field}: need 0 <= successes <= trials and trials > 0 (got {x}/{n})")


@dataclass(frozen=True)
class ProportionTest(_Record):
    """Two-proportion z-test of B against A (control).

    ``p_a``, ``p_b``, ``diff`` (p_b - p_a), ``ci_low``/``ci_high`` (Wald interval on ``diff``,
    level 1 - ``alpha``) are fractions 0-1; ``lift`` is diff / p_a (fraction); ``z`` the pooled
    statistic; ``p_value`` two-sided.
    """

    x_a: int
    n_a: int
    x_b: int
    n_b: int
    p_a: float
    p_b: float
    diff: float
    lift: float | None
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float


def two_proportion_ztest(x_a: int, n_a: int, x_b: int, n_b: int, *,
                         alpha: float = 0.05) -> ProportionTest:
    """Test whether B's rate differs from A's (pooled two-sided z-test, Wald interval).

    ``x_*`` successes (clicks, conversions, retained users), ``n_*`` trials. Raises
    :class:`InvalidInput` for impossible counts. statsmodels computes z as (p_a - p_b)/se; the
    sign here is B minus A.
    """
    _check_counts(x_a, n_a, "variant a")
    _check_counts(x_b, n_b, "variant b")
    p_a, p_b = x_a / n_a, x_b / n_b
    if 0 < x_a + x_b < n_a + n_b:
        z, p = proportions_ztest([x_b, x_a], [n_b, n_a], alternative="two-sided")
    else:  # no variance at all: nothing to test
        z, p = 0.0, 1.0
    lo, hi = confint_proportions_2indep(x_b, n_b, x_a, n_a, method="wald", compare="diff",
                                        alpha=alpha)
    return ProportionTest(x_a, n_a, x_b, n_b, p_a, p_b, p_b - p_a,
                          (p_b - p_a) / p_a if p_a > 0 else None, float(z), float(p),
                          float(lo), float(hi), alpha)


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio of sums over units with its delta-method variance.

    ``value`` = Σnum / Σden; ``se`` its standard error; ``n_units`` the units (days, users).
    """

    value: float
    se: float
    n_units: int
    num_sum: float
    den_sum: float


def ratio_of_sums(num: Sequence[float], den: Sequence[float]) -> RatioEstimate:
    """Estimate Σnum/Σden and its delta-method standard error (Deng et al. 2018, eq. 3).

    ``num``/``den``: one value per unit (e.g. spend and conversions per day of one variant).
    Var(R) ≈ (1/n)(s²_y/μx² - 2 μy s_xy/μx³ + μy² s²_x/μx⁴) with sample moments (ddof 1).
    Raises :class:`InvalidInput` with fewer than 2 units, unequal lengths or Σden = 0.
    """
    y, x = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise InvalidInput("ratio_of_sums: numerator and denominator need one value per unit")
    n = len(y)
    if n < 2:
        raise InvalidInput("ratio_of_sums: need at least 2 units for a variance")
    mx, my = x.mean(), y.mean()
    if mx == 0:
        raise InvalidInput("ratio_of_sums: the denominator sums to 0")
    cov = np.cov(y, x, ddof=1)
    var = (cov[0, 0] / mx**2 - 2 * my * cov[0, 1] / mx**3 + my**2 * cov[1, 1] / mx**4) / n
    return RatioEstimate(float(my / mx), float(math.sqrt(max(var, 0.0))), n, float(y.sum()),
                         float(x.sum()))


@dataclass(frozen=True)
class RatioTest(_Record):
    """Difference of two independent ratio metrics (B - A) with a normal test.

    ``diff`` in the metric's unit; ``lift`` = diff / a (fraction); ``ci_*`` at level 1-``alpha``.
    """

    a: float
    b: float
    se_a: float
    se_b: float
    diff: float
    lift: float | None
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float


def ratio_test(a: RatioEstimate, b: RatioEstimate, *, alpha: float = 0.05) -> RatioTest:
    """Test B's ratio against A's: z = (R_b - R_a)/sqrt(se_a² + se_b²), two-sided."""
    se = math.sqrt(a.se**2 + b.se**2)
    diff = b.value - a.value
    z = diff / se if se > 0 else 0.0
    p = float(2 * sps.norm.sf(abs(z))) if se > 0 else 1.0
    q = float(sps.norm.ppf(1 - alpha / 2))
    return RatioTest(a.value, b.value, a.se, b.se, diff, diff / a.value if a.value else None,
                     z, p, diff - q * se, diff + q * se, alpha)


def prob_best_beta(successes: Sequence[int], trials: Sequence[int], *, draws: int = MC_DRAWS,
                   seed: int = MC_SEED) -> dict[str, list[float]]:
    """Return each variant's probability to have the highest rate and its expected loss.

    Posteriors Beta(1 + x, 1 + n - x); ``prob_best[k]`` = P(θk = max θ) and
    ``expected_loss[k]`` = E[max θ - θk] (fraction 0-1 of the rate), by ``draws`` Monte Carlo
    draws from ``numpy.random.default_rng(seed)``.
    """
    for i, (x, n) in enumerate(zip(successes, trials, strict=True)):
        _check_counts(int(x), int(n), f"variant {i}")
    rng = np.random.default_rng(seed)
    th = np.column_stack([rng.beta(1 + x, 1 + n - x, draws)
                          for x, n in zip(successes, trials, strict=True)])
    return _best_and_loss(th, higher=True)


def prob_best_normal(means: Sequence[float], ses: Sequence[float], *, higher: bool = True,
                     draws: int = MC_DRAWS, seed: int = MC_SEED) -> dict[str, list[float]]:
    """Return probability to be best and expected loss under normal posteriors N(mean, se²).

    For ratio metrics (delta-method ``se``); ``higher=False`` when lower is better (CPA): loss
    is then θk - min θ. Same Monte Carlo as :func:`prob_best_beta`.
    """
    rng = np.random.default_rng(seed)
    th = np.column_stack([rng.normal(m, max(s, 1e-12), draws) for m, s in zip(means, ses,
                                                                              strict=True)])
    return _best_and_loss(th, higher=higher)


def _best_and_loss(th: np.ndarray, *, higher: bool) -> dict[str, list[float]]:
    best = th.argmax(axis=1) if higher else th.argmin(axis=1)
    prob = np.bincount(best, minlength=th.shape[1]) / th.shape[0]
    edge = th.max(axis=1, keepdims=True) if higher else th.min(axis=1, keepdims=True)
    loss = np.abs(edge - th).mean(axis=0)
    return {"prob_best": [float(v) for v in prob], "expected_loss": [float(v) for v in loss]}


@dataclass(frozen=True)
class SrmCheck(_Record):
    """Sample-ratio mismatch: observed units per arm against the planned split."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    mismatch: bool


def srm_check(observed: Sequence[int], split: Sequence[float] | None = None, *,
              threshold: float = SRM_P_THRESHOLD) -> SrmCheck:
    """Chi-square test of the units per arm against ``split`` (fractions summing to 1; equal
    by default); ``mismatch`` when p < ``threshold``. Raises :class:`InvalidInput` on no units."""
    obs = np.asarray(observed, dtype=float)
    if obs.sum() <= 0 or (obs < 0).any():
        raise InvalidInput("srm_check: observed units must be non-negative and not all zero")
    w = np.full(len(obs), 1 / len(obs)) if split is None else np.asarray(split, dtype=float)
    if len(w) != len(obs) or abs(w.sum() - 1) > 1e-9 or (w <= 0).any():
        raise InvalidInput("srm_check: split needs one positive fraction per arm, summing to 1")
    exp = w * obs.sum()
    chi2, p = sps.chisquare(obs, exp)
    return SrmCheck(tuple(int(v) for v in obs), tuple(float(v) for v in exp), float(chi2),
                    float(p), bool(p < threshold))


def sample_size_per_arm(metric: str, *, baseline: float, mde_rel: float, alpha: float = 0.05,
                        power: float = 0.8, value_cv: float = 1.0) -> int:
    """Return the planned sample per arm (in the metric's unit, :data:`METRICS`) to detect a
    relative change ``mde_rel`` (fraction, e.g. 0.10 = 10 %) two-sided at ``alpha`` with ``power``.

    ``ctr``/``cvr``: ``baseline`` is the control rate (fraction); Cohen's h between baseline and
    baseline × (1 + mde) through ``NormalIndPower().solve_power``. ``cpa``/``roas``: conversions per
    arm for a log ratio of ln(1 + mde): n = (z₁₋α/₂ + z_power)² · 2 / ln(1 + mde)², × (1 + value_cv²)
    for ROAS (value per conversion varies; ``value_cv`` its coefficient of variation, 1.0 unless
    measured). Raises :class:`InvalidInput` naming the bad field.
    """
    if metric not in METRICS:
        raise InvalidInput(f"primary_metric: {metric!r} is not one of {', '.join(METRICS)}")
    if not 0 < mde_rel < 10:
        raise InvalidInput("mde_rel: the minimum detectable effect must be a fraction > 0")
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1:
        raise InvalidInput("alpha/power: need 0 < alpha < 0.5 and 0.5 <= power < 1")
    if METRICS[metric]["kind"] == "proportion":
        p2 = baseline * (1 + mde_rel)
        if not 0 < baseline < 1 or not 0 < p2 < 1:
            raise InvalidInput("baseline: need 0 < baseline < 1 and baseline x (1 + mde) < 1")
        h = abs(float(proportion_effectsize(p2, baseline)))
        n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0,
                                         alternative="two-sided")
        return int(math.ceil(float(n)))
    zsum = float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))
    n = zsum**2 * 2 / math.log1p(mde_rel) ** 2
    if metric == "roas":
        n *= 1 + value_cv**2
    return int(math.ceil(n))


def msprt_lambda(diff: float, se: float, tau: float) -> float:
    """Return the normal-mixture likelihood ratio Λ of an observed difference (Johari et al.).

    ``diff`` the estimate θ̂ (B - A), ``se`` its standard error σ, ``tau`` the mixing standard
    deviation τ (set to the absolute minimum detectable effect when the test is planned).
    """
    s2, t2 = se * se, tau * tau
    if s2 <= 0 or t2 <= 0:
        return 1.0
    log_l = 0.5 * math.log(s2 / (s2 + t2)) + t2 * diff * diff / (2 * s2 * (s2 + t2))
    return math.exp(min(log_l, 700.0))


def msprt_p_value(previous: float | None, lam: float) -> float:
    """Return the always-valid p-value after a look: min(previous, 1/Λ), capped at 1."""
    p = min(1.0, 1.0 / lam) if lam > 0 else 1.0
    return p if previous is None else min(previous, p)
