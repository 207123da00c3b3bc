"""The predictive behind pause / budget / scale confidences (issue 16): next week's ROAS."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.ads.suggestions.evidence import (
    DF_BOUNDS,
    change_variance_model,
    prob_next_ratio_below,
    shrink_log_ratio,
)


def _weeks(rng: np.random.Generator, n: int, drift_sd: float, value_cv2: float, drift=None):
    """Two weeks of n entities: results Poisson, each result's value Gamma with squared CV
    ``value_cv2``, the true rate moving by a log-normal factor (or ``drift`` draws)."""
    spend_e = rng.uniform(500, 20000, n)
    spend_r = rng.uniform(500, 20000, n)
    rate = 0.01 * np.exp(rng.normal(0, 0.5, n))
    move = rng.normal(0, drift_sd, n) if drift is None else drift
    c_e = rng.poisson(rate * spend_e).astype(float)
    c_r = rng.poisson(rate * np.exp(move) * spend_r).astype(float)
    k = 1.0 / value_cv2  # Gamma shape of one result's value (mean 50)
    v_e = rng.gamma(np.maximum(c_e * k, 1e-9), 50.0 / k) * (c_e > 0)
    v_r = rng.gamma(np.maximum(c_r * k, 1e-9), 50.0 / k) * (c_r > 0)
    return v_r, spend_r, c_r, v_e, spend_e, c_e


def test_change_model_recovers_the_drift_and_the_value_noise() -> None:
    rng = np.random.default_rng(3)
    args = _weeks(rng, 6000, drift_sd=0.3, value_cv2=3.0)
    tau2, kappa, _ = change_variance_model(*args, np.zeros(6000))
    assert tau2[0] == pytest.approx(0.09, abs=0.02)
    # about 1 + the value's squared CV (4), a little more: at a few results the log of a Gamma
    # sum is wider than the delta method's 1 / c, and kappa carries that too
    assert 3.5 < kappa[0] < 5.5
    # results only (no value noise, no drift): the Poisson model
    v_r, s_r, c_r, v_e, s_e, c_e = _weeks(rng, 6000, drift_sd=0.0, value_cv2=3.0)
    tau2, kappa, _ = change_variance_model(c_r, s_r, c_r, c_e, s_e, c_e, np.zeros(6000))
    assert tau2[0] < 0.01 and kappa[0] == pytest.approx(1.0, abs=0.15)


def test_change_model_sees_heavy_tails_and_small_groups_borrow_the_overall_fit() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    heavy = _weeks(rng, n, 0.0, 0.5, drift=0.25 * rng.standard_t(5, n))
    normal = _weeks(rng, n, 0.25 * np.sqrt(5 / 3), 0.5)
    nu_heavy = change_variance_model(*heavy, np.zeros(n))[2][0]
    nu_normal = change_variance_model(*normal, np.zeros(n))[2][0]
    assert nu_heavy < 12 < nu_normal
    assert DF_BOUNDS[0] <= nu_heavy and nu_normal <= DF_BOUNDS[1]
    group = np.array(["big"] * (n - 5) + ["tiny"] * 5, dtype=object)
    tau2, kappa, nu = change_variance_model(*heavy, group)
    overall = change_variance_model(*heavy, np.zeros(n))
    assert tau2[-1] == pytest.approx(overall[0][0]) and kappa[-1] == pytest.approx(overall[1][0])


def test_a_still_group_keeps_at_least_the_tenants_drift() -> None:
    rng = np.random.default_rng(6)
    moving = _weeks(rng, 3000, 0.4, 0.5)
    still = _weeks(rng, 300, 0.0, 0.5)
    args = [np.concatenate([m, s]) for m, s in zip(moving, still, strict=True)]
    group = np.array(["ads"] * 3000 + ["adsets"] * 300, dtype=object)
    tau2, _, _ = change_variance_model(*args, group)
    overall = change_variance_model(*args, np.zeros(3300))[0][0]
    assert tau2[-1] == pytest.approx(overall) and tau2[0] > overall > 0.05


def test_more_week_to_week_variance_widens_the_predictive() -> None:
    # The current ROAS is 20 % under the line: more variance, less confidence it stays below.
    p = prob_next_ratio_below(1.0, 0.8, np.array([0.1, 0.2, 0.4]), 30.0)
    assert 0.5 < p[2] < p[1] < p[0] < 1.0
    # Same variance, heavier tails: less confidence far from the line, more near it.
    far_t, far_n = prob_next_ratio_below(1.0, 0.5, 0.2, np.array([5.0, 60.0]))
    assert far_t < far_n
    assert np.isnan(prob_next_ratio_below(1.0, 0.0, 0.2, 5.0))


def test_shrinkage_pulls_thin_evidence_toward_the_peers() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0.0, 0.3, 50)
    v = np.full(50, 0.01)
    y[0], v[0] = -2.0, 1.0  # a low ROAS on few results
    y[1], v[1] = -2.0, 0.001  # the same on many results
    mean, var = shrink_log_ratio(y, v, np.zeros(50), np.ones(50, bool))
    assert -2.0 < mean[1] < mean[0] < -0.1
    assert mean[0] > -1.0  # mostly the peers' level
    assert var[0] < v[0] and var[1] <= v[1]
    # groups of fewer than 3 active entities are left as observed
    mean2, var2 = shrink_log_ratio(y[:2], v[:2], np.zeros(2), np.ones(2, bool))
    assert np.allclose(mean2, y[:2]) and np.allclose(var2, v[:2])
