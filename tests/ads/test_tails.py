"""The empirical null: widens miscalibrated p-values, leaves calibrated ones, never narrows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from growthops.ads.analysis.detect import detect
from growthops.ads.analysis.tails import MIN_TESTS, empirical_null, fit_null


def _p_from_z(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return special.ndtr(z), special.ndtr(-z)


def test_overdispersed_heavy_tailed_scores_get_calibrated_p_values() -> None:
    rng = np.random.default_rng(7)
    z = 1.6 * rng.standard_t(4, size=20000)  # the model says N(0, 1); truth is wider and heavier
    pl, ph = _p_from_z(z)
    before = 2 * np.minimum(pl, ph)
    pl2, ph2, fits = empirical_null(pl, ph)
    after = 2 * np.minimum(pl2, ph2)
    for a in (0.05, 0.01, 0.001):
        assert (before <= a).mean() > 3 * a
        assert 0.5 * a <= (after <= a).mean() <= 2 * a
    scale, nu = fits[""]
    assert 3 < nu < 6 and scale > 1.3


def test_calibrated_scores_are_left_alone_and_never_made_more_liberal() -> None:
    rng = np.random.default_rng(3)
    z = 0.5 * rng.standard_normal(5000)  # under-dispersed: the model is conservative
    pl, ph = _p_from_z(z)
    pl2, ph2, _ = empirical_null(pl, ph)
    assert np.all(pl2 >= pl) and np.all(ph2 >= ph)
    assert np.allclose(pl2, pl) and np.allclose(ph2, ph)


def test_small_groups_keep_the_model_and_groups_are_fitted_apart() -> None:
    rng = np.random.default_rng(5)
    z = np.concatenate([3 * rng.standard_normal(200), 3 * rng.standard_normal(MIN_TESTS - 1)])
    group = np.array(["big"] * 200 + ["small"] * (MIN_TESTS - 1))
    pl, ph = _p_from_z(z)
    pl2, _, fits = empirical_null(pl, ph, group=group)
    assert fits["small"] == (1.0, float("inf"))
    assert np.array_equal(pl2[200:], pl[200:]) and not np.allclose(pl2[:200], pl[:200])
    assert fits["big"][0] == pytest.approx(3.0, rel=0.25)
    assert fit_null(np.ones(3)) == (1.0, float("inf"))


def test_detect_applies_the_empirical_null_per_group_by_default() -> None:
    rng = np.random.default_rng(11)
    n = 400
    # log-normal history N(0, 0.1) but today's values drift with sd 0.3: the model is too narrow
    x = np.exp(0.3 * rng.standard_normal(n))
    rec = {
        "kind": np.full(n, "continuous"),
        "value": x,
        "hist_days": np.full(n, 28.0),
        "hist_sum_log": np.zeros(n),
        "hist_sum_log_sq": np.full(n, 27 * 0.01),
        "group": np.full(n, "meta|ad|cpm"),
    }
    model = detect(rec, multiplicity="none", null="model")
    emp = detect(rec, multiplicity="none")
    assert (model["p_value"] <= 0.01).mean() > 0.3
    assert (emp["p_value"] <= 0.01).mean() < 0.03
    assert np.all(emp["p_value"] >= model["p_value"] - 1e-12)
    with pytest.raises(Exception, match="null"):
        detect(rec, null="bogus")


def test_unique_inverse_gives_what_np_unique_gives() -> None:
    from growthops.ads.analysis.codes import unique_inverse

    rng = np.random.default_rng(3)
    labels = np.array(["meta|ad|cpa", "meta|adset|ctr", "google|campaign|spend", "b", "a", "é", "Z"], dtype=object)
    keys = labels[rng.integers(0, len(labels), 5000)]
    u, inv = unique_inverse(keys)
    u0, inv0 = np.unique(keys, return_inverse=True)
    assert u.dtype == object and list(u) == list(u0)
    assert inv.dtype == inv0.dtype and np.array_equal(inv, inv0)
    nums = rng.integers(0, 9, 100)  # not strings: np.unique itself
    assert all(np.array_equal(x, y) for x, y in zip(unique_inverse(nums), np.unique(nums, return_inverse=True), strict=True))
    e, einv = unique_inverse(np.array([], dtype=object))
    assert e.size == 0 and einv.size == 0
