"""Statistics of prompt A/B tests on a binary business outcome (conversion, reply).

Why not the seed's rule ("stop at n = 100, α = 0.05, 7 days")? Looking at a fixed-horizon
p-value every day and stopping at the first p < α inflates the false-positive rate far above α
(Johari, Koomen, Pekelis, Walsh, "Peeking at A/B Tests", KDD 2017; the simulation in
``tests/leads/test_stats.py`` shows it). The stored p-value is therefore **always valid**: the
mixture sequential probability ratio test (mSPRT) of Johari, Pekelis & Walsh, "Always Valid
Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022, §4, in its
normal approximation for a difference of two proportions:

    θ̂ = p̂_T − p̂_C,   s² = p̂_C(1 − p̂_C)/n_C + p̂_T(1 − p̂_T)/n_T
    Λ = sqrt(s² / (s² + τ²)) · exp(τ² θ̂² / (2 s² (s² + τ²)))

with a N(0, τ²) mixing distribution on θ (τ: the size of effect the test is tuned for). The
always-valid p-value is the running minimum of 1/Λ over every point where the data was looked
at — here after each outcome, in the order the leads were assigned, so the value does not depend
on how often anyone opened the page. Rejecting when it falls below α keeps the type-I error
≤ α whenever one stops.

For planning, :func:`sample_size` gives the per-arm n of the fixed-horizon two-proportion test
(Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd ed., eq. 4.14,
without continuity correction), and :func:`two_proportion_z` is that test, valid only once at
the horizon fixed in advance. :func:`srm_p_value` is the sample-ratio-mismatch check, a χ²
goodness-of-fit test of the assignment counts against the planned split; p < 0.001 flags a
broken assignment (Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled
Experiments", KDD 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: SRM alarm threshold. Source: Fabijan et al. 2019 (p < 0.0005 there; 0.001 is the common
#: industry value, e.g. Kohavi, Tang & Xu, *Trustworthy Online Controlled Experiments*, ch. 21).
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class Arm:
    """One arm's counts: ``n`` leads assigned, ``successes`` with the outcome."""

    n: int
    successes: int

    @property
    def rate(self) -> float:
        """Outcome rate, a fraction 0-1 (0 when n = 0)."""
        return self.successes / self.n if self.n else 0.0


def msprt_lambda(c: Arm, t: Arm, tau: float) -> float:
    """Return the mixture likelihood ratio Λ for arms ``c`` and ``t`` (1.0 when undefined)."""
    if c.n == 0 or t.n == 0:
        return 1.0
    s2 = c.rate * (1 - c.rate) / c.n + t.rate * (1 - t.rate) / t.n
    if s2 <= 0:
        # both rates 0 or 1: pool to keep the variance positive (no evidence either way)
        pooled = (c.successes + t.successes) / (c.n + t.n)
        s2 = pooled * (1 - pooled) * (1 / c.n + 1 / t.n)
        if s2 <= 0:
            return 1.0
    theta = t.rate - c.rate
    tau2 = tau * tau
    return math.sqrt(s2 / (s2 + tau2)) * math.exp(tau2 * theta * theta / (2 * s2 * (s2 + tau2)))


def always_valid_p(variants: list[str], outcomes: list[bool], tau: float) -> float:
    """Return the always-valid p-value after the sequence of observations.

    ``variants[i]`` is ``"control"`` or ``"treatment"``, ``outcomes[i]`` the i-th lead's
    outcome, in assignment order. The p-value is min over i of 1/Λ_i (capped at 1).
    """
    arr = np.asarray(outcomes, dtype=float)
    is_t = np.asarray([v == "treatment" for v in variants])
    n_t = np.cumsum(is_t)
    n_c = np.cumsum(~is_t)
    s_t = np.cumsum(arr * is_t)
    s_c = np.cumsum(arr * ~is_t)
    return float(min(1.0, _min_inv_lambda(n_c, s_c, n_t, s_t, tau)))


def _min_inv_lambda(n_c: np.ndarray, s_c: np.ndarray, n_t: np.ndarray, s_t: np.ndarray,
                    tau: float) -> float | np.ndarray:
    """Vectorised min over the last axis of 1/Λ (arrays of running counts)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pc = np.where(n_c > 0, s_c / np.maximum(n_c, 1), 0.0)
        pt = np.where(n_t > 0, s_t / np.maximum(n_t, 1), 0.0)
        s2 = pc * (1 - pc) / np.maximum(n_c, 1) + pt * (1 - pt) / np.maximum(n_t, 1)
        pooled = (s_c + s_t) / np.maximum(n_c + n_t, 1)
        s2 = np.where(s2 > 0, s2, pooled * (1 - pooled) * (1 / np.maximum(n_c, 1)
                                                            + 1 / np.maximum(n_t, 1)))
        tau2 = tau * tau
        log_lam = 0.5 * np.log(s2 / (s2 + tau2)) + tau2 * (pt - pc) ** 2 / (2 * s2 * (s2 + tau2))
        log_lam = np.where((n_c > 0) & (n_t > 0) & (s2 > 0), log_lam, 0.0)
    return np.exp(-np.max(log_lam, axis=-1))


def msprt_reject_matrix(n_c: np.ndarray, s_c: np.ndarray, n_t: np.ndarray, s_t: np.ndarray,
                        tau: float, alpha: float) -> np.ndarray:
    """For simulations: True where a sequence's always-valid p-value ever falls below α.

    Arrays of shape ``(experiments, looks)`` with running counts.
    """
    return np.asarray(_min_inv_lambda(n_c, s_c, n_t, s_t, tau)) < alpha


def two_proportion_z(c: Arm, t: Arm) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (fixed horizon only)."""
    if c.n == 0 or t.n == 0:
        return 1.0
    pooled = (c.successes + t.successes) / (c.n + t.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n))
    if se == 0:
        return 1.0
    z = (t.rate - c.rate) / se
    return float(2 * stats.norm.sf(abs(z)))


def sample_size(p_control: float, p_treatment: float, *, alpha: float = 0.05,
                power: float = 0.8) -> int:
    """Per-arm n of the two-sided fixed-horizon test to detect ``p_control`` → ``p_treatment``.

    Fleiss et al. eq. 4.14 (no continuity correction). Raises ValueError for equal rates.
    """
    if p_control == p_treatment:
        raise ValueError("the two rates must differ")
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    pbar = (p_control + p_treatment) / 2
    num = (za * math.sqrt(2 * pbar * (1 - pbar))
           + zb * math.sqrt(p_control * (1 - p_control) + p_treatment * (1 - p_treatment))) ** 2
    return math.ceil(num / (p_control - p_treatment) ** 2)


def srm_p_value(n_control: int, n_treatment: int, treatment_share: float) -> float:
    """χ² goodness-of-fit p-value of the assignment counts against the planned split."""
    total = n_control + n_treatment
    if total == 0:
        return 1.0
    expected = [total * (1 - treatment_share), total * treatment_share]
    return float(stats.chisquare([n_control, n_treatment], expected).pvalue)
