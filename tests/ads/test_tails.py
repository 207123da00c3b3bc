"""The empirical null: widens miscalibrated p-values, leaves calibrated ones, never narrows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from growthops.ads.analysis.detect import detect
from growthops.ads.analysis.tails import (
    MIN_TESTS,
    causal_null,
    empirical_null,
    fit_null,
    normal_scores,
)


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


# --- the causal empirical null for streams (one test per step) ---------------------------


def _stream(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pl, ph = _p_from_z(z)
    return pl, ph, np.arange(z.size) // 100  # "days" of 100 steps


def test_causal_null_moves_a_heavy_tailed_stream_toward_alpha() -> None:
    rng = np.random.default_rng(17)
    z = 1.6 * rng.standard_t(4, size=30000)  # the model says N(0, 1) at every step
    pl, ph, day = _stream(z)
    pl2, ph2, fits = causal_null(pl, ph, block=day, window=28)
    live = day >= 28  # after the first full window
    before = 2 * np.minimum(pl, ph)[live]
    after = 2 * np.minimum(pl2, ph2)[live]
    for a in (0.05, 0.01, 0.001):
        assert (before <= a).mean() > 3 * a
        assert 0.5 * a <= (after <= a).mean() <= 2 * a
    scale, nu = fits[("", 100.0)]
    assert 3 < nu < 8 and scale > 1.3
    assert all(b >= 1 for _, b in fits)  # day 0 has no past: no fit


def test_causal_null_never_makes_a_p_value_smaller_and_leaves_a_conservative_stream() -> None:
    rng = np.random.default_rng(19)
    for z in (0.5 * rng.standard_normal(5000), 2.0 * rng.standard_normal(5000)):
        pl, ph, day = _stream(z)
        pl2, ph2, _ = causal_null(pl, ph, block=day)
        assert np.all(pl2 >= pl) and np.all(ph2 >= ph)
    # an under-dispersed stream keeps the model's two-sided p-values (only the larger, unused
    # one-sided p of a test can move, as with the cross-sectional null)
    pl, ph, day = _stream(0.5 * rng.standard_normal(5000))
    pl2, ph2, _ = causal_null(pl, ph, block=day)
    assert np.allclose(np.minimum(pl2, ph2), np.minimum(pl, ph))


def test_causal_null_has_no_look_ahead_and_a_burn_in() -> None:
    rng = np.random.default_rng(23)
    z = 2.0 * rng.standard_normal(3000)
    for block, window in ((np.arange(3000) // 100, 5.0), (None, None), (None, 300.0)):
        pl, ph = _p_from_z(z)
        pl2, ph2, _ = causal_null(pl, ph, block=block, window=window)
        z_future = z.copy()
        z_future[2000:] = 40.0 * rng.standard_normal(1000)  # the future changes wildly
        fl, fh = _p_from_z(z_future)
        fl2, fh2, _ = causal_null(fl, fh, block=block, window=window)
        cut = 2000
        assert np.array_equal(pl2[:cut], fl2[:cut]) and np.array_equal(ph2[:cut], fh2[:cut])
        assert not np.allclose(pl2[cut + 100 :], fl2[cut + 100 :])
    # burn-in: rows with fewer than MIN_TESTS past tests keep the model's p-values
    pl, ph = _p_from_z(z)
    pl2, _, _ = causal_null(pl, ph)
    assert np.array_equal(pl2[:MIN_TESTS], pl[:MIN_TESTS])
    assert not np.array_equal(pl2[MIN_TESTS:], pl[MIN_TESTS:])
    # untested rows neither enter the fit nor change; streams (groups) are fitted apart
    tested = np.ones(3000, bool)
    tested[::2] = False
    group = np.where(np.arange(3000) < 1500, "a", "b")
    pl3, _, fits = causal_null(pl, ph, tested=tested, group=group)
    assert np.array_equal(pl3[~tested], pl[~tested])
    assert ("b", 1500.0 + 2 * MIN_TESTS - 1) not in fits and ("b", 1501.0 + 2 * MIN_TESTS) in fits


def test_causal_null_can_pool_the_current_block_with_past_ones() -> None:
    rng = np.random.default_rng(29)
    z = 2.0 * rng.standard_normal(600)
    pl, ph = _p_from_z(z)
    block = np.arange(600) // 30  # 30 tests a day: fewer than MIN_TESTS
    _, _, past_only = causal_null(pl, ph, block=block)
    _, _, with_today = causal_null(pl, ph, block=block, include_current=True)
    assert min(b for _, b in past_only) == 2.0  # 60 past tests from day 2 on
    assert min(b for _, b in with_today) == 1.0  # 30 past + 30 today on day 1
    # as needed: a day with enough tests of its own gets exactly the cross-sectional null; a
    # small day pools the fewest previous days that make MIN_TESTS (here one), never later ones
    z2 = np.concatenate([z[:300], 3.0 * rng.standard_normal(600)])
    pl, ph = _p_from_z(z2)
    block = np.r_[np.arange(300) // 30, 10 + np.arange(600) // 100]  # 30 a day, then 100 a day
    pl2, _, fits = causal_null(pl, ph, block=block, include_current=True, as_needed=True)
    day12 = block == 12
    _, _, cross = empirical_null(pl[day12], ph[day12])
    assert fits[("", 12.0)] == cross[""]
    assert fits[("", 5.0)] == fit_null(normal_scores(pl, ph)[(block == 4) | (block == 5)])
    pl_f, ph_f = pl.copy(), ph.copy()
    pl_f[block == 6], ph_f[block == 6] = 0.5, 0.5  # a later day changes: day 5 does not
    assert causal_null(pl_f, ph_f, block=block, include_current=True, as_needed=True)[2][
        ("", 5.0)
    ] == fits[("", 5.0)]


def test_detect_applies_the_causal_null_along_the_stream() -> None:
    rng = np.random.default_rng(31)
    n = 3000
    x = np.exp(0.3 * rng.standard_normal(n))  # history says sd 0.1, the stream moves by 0.3
    rec = {
        "kind": np.full(n, "continuous"),
        "value": x,
        "hist_days": np.full(n, 28.0),
        "hist_sum_log": np.zeros(n),
        "hist_sum_log_sq": np.full(n, 27 * 0.01),
        "block": np.arange(n) // 100,
    }
    model = detect(rec, multiplicity="none", null="model")
    causal = detect(rec, multiplicity="none", null="causal", null_window=10)
    live = slice(1000, None)
    assert (model["p_value"][live] <= 0.01).mean() > 0.3
    assert (causal["p_value"][live] <= 0.01).mean() < 0.03
    assert np.all(causal["p_value"] >= model["p_value"] - 1e-12)
    assert np.array_equal(causal["p_value"][:100], model["p_value"][:100])  # day 0: no past
