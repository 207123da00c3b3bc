"""Anomaly-driven suggestions: the confidence and the backtest judge the same premise (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from growthops.ads.learning.backtest import expected_calibration_error, judge
from growthops.ads.suggestions.candidates import prob_shift_persists


def _row(**kw: float) -> dict:
    base = {
        "spend_b": 1400.0,
        "spend_a": 700.0,
        "results_b": 140.0,
        "results_a": 70.0,
        "value_b": 0.0,
        "value_a": 0.0,
        "clicks_b": 0.0,
        "clicks_a": 0.0,
        "imp_b": 0.0,
        "imp_a": 0.0,
        "days_a": 7,
        "type": "campaign_diagnostic",
        "predicted_metrics": {},
    }
    return {**base, **kw}


def test_judge_uses_the_flagged_metric_direction_and_baseline() -> None:
    # CPA after = 10; the anomaly was a CPA drop from a baseline of 12: the premise held.
    drop = _row(evidence={"metric": "cpa", "direction": "drop", "baseline_value": 12.0})
    assert judge(drop, 7)[:2] == (True, "cpa")
    spike = _row(evidence={"metric": "cpa", "direction": "spike", "baseline_value": 12.0})
    assert judge(spike, 7)[0] is False
    cpm = _row(
        imp_a=100_000.0, evidence={"metric": "cpm", "direction": "spike", "baseline_value": 6.0}
    )
    held, metric, _, after = judge(cpm, 7)
    assert (held, metric) == (True, "cpm") and after == pytest.approx(7.0)
    assert (
        judge(
            _row(
                spend_a=0.0,
                results_a=0.0,
                evidence={"metric": "cpa", "direction": "drop", "baseline_value": 1.0},
            ),
            7,
        )[0]
        is None
    )


def test_persistence_probability_follows_the_last_week() -> None:
    E = {
        "results_7": np.array([10.0, 40.0]),
        "spend_7": np.array([700.0, 700.0]),
        "results_e": np.array([90.0, 90.0]),
        "spend_e": np.array([2100.0, 2100.0]),
    }
    # entity 0: results per spend fell from 0.043 to 0.014 over the last week: a CPA spike persists
    p_spike = prob_shift_persists(E, 0, "cpa", "spike")
    assert 0.95 < p_spike <= 1.0
    assert prob_shift_persists(E, 0, "cpa", "drop") == pytest.approx(1.5 - p_spike)
    # entity 1: last week as before: barely more than a coin flip either way
    assert 0.5 <= prob_shift_persists(E, 1, "cpa", "spike") < 0.75
    assert prob_shift_persists(E, 0, "spend", "spike") == 0.5


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([]) is None
    assert expected_calibration_error([(0.95, True)] * 19 + [(0.95, False)]) == pytest.approx(0.0)
    pairs = [(0.95, True)] * 8 + [(0.95, False)] * 2 + [(0.55, True)] * 5 + [(0.55, False)] * 5
    # bin 0.9-1: |0.95 - 0.8| = 0.15; bin 0.5-0.6: |0.55 - 0.5| = 0.05; equal weights
    assert expected_calibration_error(pairs) == pytest.approx(0.10)


def test_refresh_states_next_weeks_ctr_and_is_judged_on_its_stored_premise() -> None:
    """refresh (issue 16): P(next week's CTR < the earlier CTR) with the week-to-week drift, not
    P(recent < earlier) of two observed periods; the judge reads the stored premise."""
    from growthops.ads.suggestions.candidates import prob_next_week_rate_below
    from growthops.ads.suggestions.evidence import prob_rate_declined

    # 600 clicks on 150,000 impressions (CTR 0.40 %) against an earlier CTR of 0.50 %.
    old = float(prob_rate_declined(600.0, 150_000.0, 2000.0, 400_000.0))
    no_drift = prob_next_week_rate_below(600.0, 150_000.0, 0.005, 0.0)
    drift = prob_next_week_rate_below(600.0, 150_000.0, 0.005, 0.1)
    assert old > 0.999 and no_drift > 0.99
    assert 0.6 < drift < 0.9 < no_drift  # a 22 % fall against a drift sd of 0.32 in log CTR
    assert np.isnan(prob_next_week_rate_below(600.0, 0.0, 0.005, 0.1))
    row = _row(type="refresh", clicks_a=300.0, imp_a=100_000.0,
               evidence={"metric": "ctr", "direction": "drop", "baseline_value": 0.005})
    assert judge(row, 7)[:2] == (True, "ctr")
    row = _row(type="refresh", evidence={"metric": "cpa", "direction": "spike", "baseline_value": 12.0})
    assert judge(row, 7)[:2] == (False, "cpa")  # CPA after = 10


def test_history_prior_pulls_a_dip_back_but_keeps_a_steady_loser() -> None:
    """The entity's own earlier period as a discounted prior (power prior): a two-week dip of an
    entity good for months is pulled part of the way back; an entity as bad before keeps its
    rate and gains evidence; no history changes nothing; the cross-validated discount finds
    strong reversion when dips revert and weak when changes persist."""
    from growthops.ads.suggestions.evidence import (
        discounted_history,
        history_drift_variance,
        rate_posterior,
    )

    # Last 14 days: 10 results for 1,000; before: 300 results for 6,000 (5x better) or 60.
    hc, he, k = discounted_history(np.array([300.0, 60.0, 0.0]), np.array([6000.0, 6000.0, 0.0]), 0.2)
    a, b = rate_posterior(np.full(3, 10.0), np.full(3, 1000.0), 0.01, history_counts=hc, history_exposure=he)
    mean = a / b
    assert 0.012 < mean[0] < 0.02  # ~5 pseudo-results at 0.05 (n_eff = 1 / (1/300 + 0.2)): pulled part of the way
    assert mean[1] == pytest.approx(0.01, rel=0.05) and a[1] > 12
    assert k[2] == 0 and a[2] == pytest.approx(10.5)
    # Tenant's changes: dips around a stable level that revert (next ~ old) vs a random walk.
    rng = np.random.default_rng(2)
    n = 400
    level = rng.normal(0, 0.5, n)
    old_c = rng.poisson(np.exp(level) * 200)
    rec = np.exp(level + rng.normal(0, 0.5, n))
    rec_c = rng.poisson(rec * 50)
    nxt_c = rng.poisson(np.exp(level) * 20)
    e = np.ones(n)
    revert = history_drift_variance(nxt_c, e * 0.1, rec_c, e * 0.25, old_c, e, np.zeros(n))[0]
    walk_c = rng.poisson(rec * 20)
    persist = history_drift_variance(walk_c, e * 0.1, rec_c, e * 0.25, old_c, e, np.zeros(n))[0]
    assert revert < 0.05 < persist


def test_drift_variance_function_separates_overdispersion_from_drift() -> None:
    """Weekly counts planted quasi-Poisson (negative binomial of variance kappa x mu, kappa = 3)
    with a log-normal drift of variance 0.04: the variance function recovers both (kappa within
    a quarter: the observed counts stand in for the expected ones, which dilutes it a little),
    where the Poisson reading (drift_moments) takes the overdispersion for drift; the
    predictive widens with kappa."""
    from growthops.ads.suggestions.evidence import (
        drift_moments,
        drift_variance_function,
        prob_future_count_below,
    )

    rng = np.random.default_rng(5)
    n, kappa, tau2 = 4000, 3.0, 0.04
    mu = np.exp(rng.uniform(np.log(30), np.log(3000), n))  # expected results in the earlier weeks
    drift = rng.normal(0.0, np.sqrt(tau2), n)

    def quasi_poisson(m: np.ndarray) -> np.ndarray:
        return rng.poisson(rng.gamma(m / (kappa - 1), kappa - 1))  # mean m, variance kappa m

    earlier = quasi_poisson(mu)
    recent = quasi_poisson(mu * np.exp(drift) / 3.0)  # one week against three
    e_rec, e_ear = np.full(n, 1.0), np.full(n, 3.0)
    group = np.array(["meta|ad"] * n, dtype=object)
    t_hat, k_hat = drift_variance_function(recent, e_rec, earlier, e_ear, group)
    assert k_hat[0] == pytest.approx(kappa, rel=0.25)
    assert t_hat[0] == pytest.approx(tau2, abs=0.02)
    assert drift_moments(recent, e_rec, earlier, e_ear, group)[1][0] > 1.5 * tau2  # Poisson reading: ~0.08
    # Too few entities: no estimate (NaN), the caller keeps the moments.
    few = drift_variance_function(recent[:5], e_rec[:5], earlier[:5], e_ear[:5], group[:5])
    assert np.isnan(few[0]).all() and np.isnan(few[1]).all()
    # P(next week's count < 10) for an entity expecting 4 results: lower with kappa = 3.
    p1 = prob_future_count_below(10.0, np.array([40.0]), np.array([10.0]), 1.0, drift=0.04)
    p3 = prob_future_count_below(10.0, np.array([40.0]), np.array([10.0]), 1.0, drift=0.04, overdispersion=3.0)
    assert p3[0] < p1[0] - 0.01
