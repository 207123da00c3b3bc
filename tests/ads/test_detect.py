"""Known-answer tests of the anomaly detector's statistical core and of the NAB scorer."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from growthops.ads.analysis.detect import (
    STATUS_ANOMALY,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    benjamini_hochberg,
    classify_severity,
    detect,
)
from growthops.ads.analysis.nab import (
    load_labels,
    load_series,
    normalised_score,
    probation_length,
    scaled_sigmoid,
    score_file,
    window_indices,
)
from growthops.ads.analysis.predictive import (
    count_test,
    dow_factors,
    estimate_dispersion,
    lognormal_test,
    seasonal_factors,
)
from growthops.core.errors import InvalidInput

NAB = Path("/work/shared/data/nab")
DOW = np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.7, 1.1])


def _count_tests(n, rate, spend, days=28, today_factor=1.0, phi=0.0, seed=0):
    """Simulate n entities' history sums (as the SQL would give them) and today's count."""
    rng = np.random.default_rng(seed)
    rate = np.broadcast_to(np.asarray(rate, float), (n,))
    e = spend * rng.lognormal(0.0, 0.3, (n, days + 1))
    s = np.broadcast_to(DOW[np.arange(days + 1) % 7] / DOW.mean(), (n, days + 1))
    theta = rng.gamma(1 / phi, phi, (n, days + 1)) if phi > 0 else 1.0
    mu = rate[:, None] * e * s * theta
    mu[:, -1] *= today_factor
    y = rng.poisson(mu)
    h = slice(0, days)
    return {
        "kind": np.full(n, "count"),
        "value": y[:, -1].astype(float),
        "exposure": e[:, -1],
        "season": s[:, -1].copy(),
        "hist_days": np.full(n, float(days)),
        "hist_count": y[:, h].sum(1).astype(float),
        "hist_exposure": (e[:, h] * s[:, h]).sum(1),
        "hist_sum_sq": (y[:, h] ** 2 / (e[:, h] * s[:, h])).sum(1),
    }


# --------------------------------------------------------------------------- count model


def test_negbin_predictive_equals_monte_carlo_of_gamma_poisson():
    y_grid = np.arange(0, 25)
    a0, rho = 1.0, 0.01
    res = count_test(y_grid, 800.0, 30.0, 2500.0, season=1.2, prior_rate=rho, hist_days=28)
    rng = np.random.default_rng(1)
    lam = rng.gamma(a0 + 30.0, 1.0 / (a0 / rho + 2500.0), 400_000)
    draws = rng.poisson(lam * 800.0 * 1.2)
    for k in (0, 5, 10, 15, 20):
        mc_low = np.mean(draws < k) + 0.5 * np.mean(draws == k)
        se = math.sqrt(mc_low * (1 - mc_low) / draws.size) + 1e-4
        assert abs(res["p_low"][k] - mc_low) < 4 * se, k
    assert res["expected"][0] == pytest.approx(draws.mean(), rel=0.01)
    # p_low + p_high = 1 with mid-p; pmf agrees with scipy's negative binomial
    np.testing.assert_allclose(res["p_low"] + res["p_high"], 1.0, atol=1e-12)
    pmf = stats.nbinom.pmf(7, res["r"][7], res["p"][7])
    assert res["p_low"][8] - res["p_low"][7] == pytest.approx(
        0.5 * (pmf + stats.nbinom.pmf(8, res["r"][8], res["p"][8])), rel=1e-9
    )


def test_overdispersed_predictive_matches_mean_and_variance():
    phi, alpha, beta, e = 0.2, 40.5, 4000.0, 1000.0
    res = count_test(np.array([10.0]), e, alpha - 0.5, beta, dispersion=phi)
    rng = np.random.default_rng(2)
    lam = rng.gamma(alpha, 1 / beta, 400_000) * rng.gamma(1 / phi, phi, 400_000)
    draws = rng.poisson(lam * e)
    r, p = res["r"][0], res["p"][0]
    assert stats.nbinom.mean(r, p) == pytest.approx(draws.mean(), rel=0.01)
    # hist_days is not given, so the history is not inflated: moments match exactly
    assert stats.nbinom.var(r, p) == pytest.approx(draws.var(), rel=0.03)


def test_planted_drop_at_large_volume_is_flagged_and_same_drop_at_tiny_volume_is_not():
    peers = _count_tests(200, 0.1, 1000.0, seed=3)  # a family of ~100-a-day entities
    # 28 days at 1,000 spend a day; 100 conversions a day vs 2 a day; today half of that
    hand = {
        "kind": np.full(4, "count"),
        "value": np.array([50.0, 1.0, 0.0, 12.0]),
        "exposure": np.full(4, 1000.0),
        "season": np.ones(4),
        "hist_days": np.full(4, 28.0),
        "hist_count": np.array([2800.0, 56.0, 56.0, 56.0]),
        "hist_exposure": np.full(4, 28_000.0),
        "hist_sum_sq": np.array([280.0, 0.14, 0.14, 0.14]),  # sum y_d^2 / e_d: Poisson-like
    }
    both = {k: np.concatenate([hand[k], peers[k]]) for k in hand}
    out = detect(both)
    assert out["status"][0] == STATUS_ANOMALY
    assert out["direction"][0] == "drop"
    assert out["expected"][0] == pytest.approx(100.0, rel=0.01)
    assert out["deviation"][0] == pytest.approx(-0.5, rel=0.02)
    assert out["severity"][0] == "critical"
    # same relative drop at 2 a day, and even zero conversions: not enough data, not an alarm
    # (P(Y = 0) ~ exp(-2) = 0.14 > q = 0.05, so no count could make the drop significant)
    assert out["status"][1] == STATUS_INSUFFICIENT
    assert out["status"][2] == STATUS_INSUFFICIENT
    assert np.isnan(out["q_value"][1])
    # a spike at tiny volume can still be tested: 12 when 2 are expected
    assert out["status"][3] == STATUS_ANOMALY and out["direction"][3] == "spike"
    # the untouched peers are fine
    assert (out["status"][4:] == STATUS_OK).mean() > 0.95


def test_short_history_or_no_exposure_is_insufficient():
    t = _count_tests(5, 0.1, 1000.0, seed=5)
    t["hist_days"][0] = 6
    t["exposure"][1] = 0.0
    out = detect(t)
    assert out["status"][0] == STATUS_INSUFFICIENT
    assert out["status"][1] == STATUS_INSUFFICIENT


def test_dispersion_estimator_recovers_planted_overdispersion():
    t = _count_tests(3000, 0.05, 1000.0, phi=0.15, seed=6)
    phi = estimate_dispersion(t["hist_count"], t["hist_exposure"], t["hist_sum_sq"], t["hist_days"])
    assert np.median(phi) == pytest.approx(0.15, rel=0.2)
    poisson = _count_tests(3000, 0.05, 1000.0, phi=0.0, seed=7)
    phi0 = estimate_dispersion(
        poisson["hist_count"],
        poisson["hist_exposure"],
        poisson["hist_sum_sq"],
        poisson["hist_days"],
    )
    assert np.median(phi0) < 0.01
    # pooling by group keeps the groups apart
    grp = np.r_[np.zeros(3000), np.ones(3000)]
    both = [
        np.r_[t[k], poisson[k]] for k in ("hist_count", "hist_exposure", "hist_sum_sq", "hist_days")
    ]
    phig = estimate_dispersion(*both, group=grp)
    assert np.median(phig[:3000]) > 10 * max(np.median(phig[3000:]), 1e-3)


def test_false_discovery_proportion_stays_near_q_under_the_null_and_with_planted_anomalies():
    q = 0.05
    any_false, fdps = 0, []
    for rep in range(100):
        rng = np.random.default_rng(100 + rep)
        rate = rng.lognormal(np.log(0.02), 0.7, 1000)
        t = _count_tests(1000, rate, 300.0, phi=0.1, seed=1000 + rep)
        out = detect(t, fdr_q=q, min_rel_change=0.0)
        any_false += int((out["status"] == STATUS_ANOMALY).any())
        # planted: 5 % of entities with the rate x3 or /4 today
        factor = np.where(rng.random(1000) < 0.05, rng.choice([3.0, 0.25], 1000), 1.0)
        t2 = _count_tests(1000, rate, 300.0, phi=0.1, today_factor=factor, seed=5000 + rep)
        out2 = detect(t2, fdr_q=q, min_rel_change=0.0)
        flagged = out2["status"] == STATUS_ANOMALY
        fdps.append(((factor == 1.0) & flagged).sum() / max(flagged.sum(), 1))
    # complete null: FDR = P(any false alarm) <= q (binomial sd over 100 runs ~ 2.2)
    assert any_false <= 11
    assert np.mean(fdps) <= q + 0.02


# --------------------------------------------------------------------------- seasonality


def test_dow_factors_recover_planted_weekday_effects_and_shrink_at_low_volume():
    rng = np.random.default_rng(8)
    truth = DOW / DOW.mean()
    exposure = np.full(7, 8 * 10_000.0)  # 8 weeks of 10,000 spend a day
    counts = rng.poisson(0.05 * exposure * truth)  # ~4,000 events per weekday
    f = dow_factors(counts, exposure)
    np.testing.assert_allclose(f, truth / np.average(truth, weights=exposure), rtol=0.04)
    assert np.average(f, weights=exposure) == pytest.approx(1.0)
    # low volume (~4 events per weekday): shrunk toward 1 compared with the raw ratios
    small = rng.poisson(0.00005 * exposure * truth)
    fs = dow_factors(small, exposure)
    raw = (small + 0.5) / (exposure * small.sum() / exposure.sum() + 0.5)
    assert np.all(np.abs(np.log(fs)) <= np.abs(np.log(raw)) + 0.05)
    assert np.abs(np.log(fs)).max() < 0.15
    # leading axes: two tenants at once
    both = dow_factors(np.stack([counts, small]), np.stack([exposure, exposure]))
    np.testing.assert_allclose(both[0], f)


def test_continuous_dow_factors_recover_weekday_effects():
    rng = np.random.default_rng(9)
    truth = DOW / DOW.mean()
    weeks = 8
    x = 500.0 * truth[None, :] * rng.lognormal(0.0, 0.05, (weeks, 7))
    f = seasonal_factors(x.sum(0), np.full(7, float(weeks)), sum_sq=(x**2).sum(0))
    np.testing.assert_allclose(f, truth, rtol=0.05)
    with pytest.raises(InvalidInput):
        dow_factors(np.ones(6), np.ones(6))


# --------------------------------------------------------------------------- continuous


def test_lognormal_predictive_flags_a_planted_drop_and_is_calibrated():
    rng = np.random.default_rng(10)
    n_ent, days = 4000, 28
    logs = rng.normal(np.log(200.0), 0.2, (n_ent, days + 1))
    res = lognormal_test(np.exp(logs[:, -1]), days, logs[:, :-1].sum(1), (logs[:, :-1] ** 2).sum(1))
    p2 = np.minimum(2 * np.minimum(res["p_low"], res["p_high"]), 1)
    assert np.mean(p2 < 0.05) == pytest.approx(0.05, abs=0.012)
    t = {
        "kind": np.full(3, "continuous"),
        "value": np.array([100.0, 200.0, 0.0]),
        "hist_days": np.array([28.0, 5.0, 28.0]),
        "hist_sum_log": np.full(3, 28 * np.log(200.0)),
        "hist_sum_log_sq": np.full(3, 28 * np.log(200.0) ** 2 + 27 * 0.1**2),
    }
    t["hist_sum_log"][1] = 5 * np.log(200.0)
    t["hist_sum_log_sq"][1] = 5 * np.log(200.0) ** 2 + 4 * 0.01
    out = detect(t)
    assert out["status"][0] == STATUS_ANOMALY and out["direction"][0] == "drop"
    assert out["expected"][0] == pytest.approx(200.0)
    assert out["status"][1] == STATUS_INSUFFICIENT  # 5 days of history
    assert out["p_low"][2] == pytest.approx(0.5 / 29)  # a zero day: Jeffreys frequency


# --------------------------------------------------------------------------- multiplicity


def test_benjamini_hochberg_matches_hand_computed_example():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> 4p/rank = 0.02, 0.02, 0.04, 0.04
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02, np.nan])
    # monotone step-up: 3*0.01/1 = 0.03 is lowered to 3*0.011/2 = 0.0165
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.011, 0.5]), [0.0165, 0.0165, 0.5])
    np.testing.assert_allclose(benjamini_hochberg([0.9, 0.95]), [0.95, 0.95])
    fam = benjamini_hochberg([0.01, 0.02, 0.01, 0.02], family=["a", "a", "b", "b"])
    np.testing.assert_allclose(fam, [0.02, 0.02, 0.02, 0.02])


def test_severity_bands_and_input_errors():
    sev = classify_severity(
        [0.0005, 0.005, 0.04, 0.04, 0.5],
        [100, 100, 100, 100, 100],
        [30, 160, 80, 95, 50],
        [True, True, True, True, False],
    )
    assert list(sev) == ["critical", "high", "medium", "low", "none"]
    with pytest.raises(InvalidInput):
        detect({"kind": ["count", "count"], "value": [1.0, 2.0], "exposure": [1.0]})
    with pytest.raises(InvalidInput):
        detect({"kind": ["ratio"], "value": [1.0]})


# --------------------------------------------------------------------------- NAB scorer

COST = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}


def test_nab_scorer_hand_computed_file():
    n, win = 100, [(40, 49)]
    assert probation_length(n) == 15
    s = score_file(n, [10, 20, 45, 47, 60], win, COST)  # 10 is in probation
    expected = (
        -0.11
        + float(scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0))
        + 0.11 * float(scaled_sigmoid(11 / 9))
    )
    assert s.raw == pytest.approx(expected)
    assert (s.tp, s.fp, s.fn, s.first_detection) == (1, 2, 0, (45,))
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert float(scaled_sigmoid(3.5)) == -1.0
    assert probation_length(20_000) == 750  # NAB caps probation at 0.15 * 5000 rows
    late = score_file(n, [49], win, COST)  # last row of the window: position -1/10
    assert late.raw == pytest.approx(float(scaled_sigmoid(-0.1) / scaled_sigmoid(-1.0)))


def test_nab_scorer_null_and_perfect_detectors_on_the_real_windows():
    if not NAB.exists():
        pytest.skip("NAB data not present")
    windows, profiles = load_labels(NAB)
    for prof in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        null, perfect, late = [], [], []
        for f, lims in windows.items():
            ts, y = load_series(NAB / "data" / f)
            win = window_indices(ts, lims)
            null.append(score_file(y.size, np.zeros(y.size, bool), win, profiles[prof]))
            perfect.append(score_file(y.size, [lft for lft, _ in win], win, profiles[prof]))
            late.append(score_file(y.size, [r for _, r in win], win, profiles[prof]))
        assert normalised_score(null) == pytest.approx(0.0, abs=1e-9)
        assert normalised_score(perfect) == pytest.approx(100.0)
        assert sum(s.tp for s in perfect) == 11 and sum(s.fp for s in perfect) == 0
        assert 0 < normalised_score(late) < normalised_score(perfect)
