"""The decision rules on synthetic arms: fixed horizon waits for the planned sample, the mSPRT
stops early on a clear effect, ratio metrics use the delta method over days, and a sample-ratio
mismatch invalidates only a randomized split."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from growthops.ads.experiments import stats
from growthops.ads.experiments.readout import Arms, evaluate


def _test(metric="ctr", kind="fixed_horizon", planned=50_000, randomized=False, **rule):
    unit = stats.METRICS[metric]["unit"]
    return {"primary_metric": metric, "sample_unit": unit, "planned_sample_per_arm": planned,
            "min_days": 3, "max_days": 28, "alpha": 0.05,
            "decision_rule": {"kind": kind, "alpha": 0.05, "split": [0.5, 0.5],
                              "randomized": randomized, "tau": 0.002, **rule}}


def _arms(days, imp=(10_000, 10_000), ctr=(0.010, 0.013), cvr=0.05, cpc=0.5, seed=1):
    rng = np.random.default_rng(seed)
    arms = Arms()
    for d in range(days):
        for arm, n, p in (("a", imp[0], ctr[0]), ("b", imp[1], ctr[1])):
            clicks = int(rng.binomial(n, p))
            conv = int(rng.binomial(clicks, cvr))
            arms.days[arm].append({"day": date(2026, 1, 1) + timedelta(days=d), "impressions": n,
                                   "clicks": clicks, "conversions": conv,
                                   "spend": clicks * cpc, "conversion_value": conv * 60.0})
    return arms


def test_fixed_horizon_waits_for_the_planned_sample_then_decides_once() -> None:
    early = evaluate(_test(), _arms(3))
    assert not early["done"] and early["p_value"] < 0.05   # significant, but not planned yet
    done = evaluate(_test(), _arms(6))
    assert done["done"] and done["winner"] == "b" and done["result_status"] == "success"
    forced = evaluate(_test(), _arms(2), final=True)
    assert forced["done"] and forced["stats"]["closed_early"]


def test_msprt_stops_early_on_a_clear_effect_and_keeps_its_p_value() -> None:
    ev = evaluate(_test(kind="msprt", planned=10**7), _arms(4))
    assert ev["done"] and ev["lambda"] >= 20 and ev["winner"] == "b"
    null = evaluate(_test(kind="msprt", planned=10**7), _arms(4, ctr=(0.01, 0.01)))
    assert not null["done"] and null["p_value"] > 0.05
    assert evaluate(_test(kind="msprt", planned=10**7), _arms(4, ctr=(0.01, 0.01)),
                    previous_p=0.2)["p_value"] <= 0.2            # never rises between looks


def test_cpa_uses_the_delta_method_over_days_and_lower_is_better() -> None:
    t = _test(metric="cpa", planned=30)
    ev = evaluate(t, _arms(10, ctr=(0.01, 0.01), cvr=0.05))
    assert ev["stats"]["test"]["name"] == "ratio_delta_method"
    assert ev["done"] and ev["result_status"] == "inconclusive"
    cheaper = Arms()
    for arm, cpc in (("a", 0.8), ("b", 0.4)):
        for d in _arms(10, ctr=(0.01, 0.01), cpc=cpc, seed=3).days[arm]:
            cheaper.days[arm].append(d)
    won = evaluate(t, cheaper)
    assert won["winner"] == "b" and won["stats"]["bayes"]["prob_best"][1] > 0.99


def test_sample_ratio_mismatch_invalidates_only_a_randomized_split() -> None:
    skewed = _arms(7, imp=(10_000, 8_000))
    assert evaluate(_test(), skewed)["result_status"] == "success"
    ev = evaluate(_test(randomized=True), skewed)
    assert ev["stats"]["srm"]["mismatch"] and ev["result_status"] == "invalid"


def test_thin_data_is_reported_not_raised() -> None:
    ev = evaluate(_test(metric="cpa"), _arms(1))
    assert not ev["done"] and "at least 2 units" in ev["stats"]["error"]
