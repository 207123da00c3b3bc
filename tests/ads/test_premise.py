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
