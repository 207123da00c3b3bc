"""The empirical null: widens miscalibrated p-values, leaves calibrated ones, never narrows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from growthops.ads.analysis.detect import detect
from growthops.ads.analysis.tails import (
    FIT_QUANTILES,
    MIN_TESTS,
    TAIL_QUANTILES,
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


def test_causal_null_both_ways_narrows_an_under_dispersed_stream_to_alpha() -> None:
    rng = np.random.default_rng(29)
    for z, scale in ((0.5 * rng.standard_normal(30000), 0.5), (1.6 * rng.standard_t(4, size=30000), None)):
        pl, ph, day = _stream(z)
        pl2, ph2, fits = causal_null(pl, ph, block=day, window=28, widen_only=False)
        live = day >= 28
        before = 2 * np.minimum(pl, ph)[live]
        after = 2 * np.minimum(pl2, ph2)[live]
        for a in (0.05, 0.01, 0.001):
            assert 0.5 * a <= (after <= a).mean() <= 2 * a
        if scale is not None:  # the model is conservative: narrowed, so smaller p-values
            assert (before <= 0.05).mean() < 0.001
            assert fits[("", 100.0)][0] == pytest.approx(scale, rel=0.1)
            assert np.all(np.minimum(pl2, ph2)[live] <= np.minimum(pl, ph)[live] + 1e-12)
    # the direction of each test is kept: the null never swaps p_low and p_high
    assert np.array_equal(pl2 < ph2, pl < ph)


@pytest.mark.parametrize("widen_only", [True, False])
def test_causal_null_has_no_look_ahead_and_a_burn_in(widen_only: bool) -> None:
    rng = np.random.default_rng(23)
    z = 2.0 * rng.standard_normal(3000)
    for block, window in ((np.arange(3000) // 100, 5.0), (None, None), (None, 300.0)):
        pl, ph = _p_from_z(z)
        pl2, ph2, _ = causal_null(pl, ph, block=block, window=window, widen_only=widen_only)
        z_future = z.copy()
        z_future[2000:] = 40.0 * rng.standard_normal(1000)  # the future changes wildly
        fl, fh = _p_from_z(z_future)
        fl2, fh2, _ = causal_null(fl, fh, block=block, window=window, widen_only=widen_only)
        cut = 2000
        assert np.array_equal(pl2[:cut], fl2[:cut]) and np.array_equal(ph2[:cut], fh2[:cut])
        assert not np.allclose(pl2[cut + 100 :], fl2[cut + 100 :])
    # burn-in: rows with fewer than MIN_TESTS past tests keep the model's p-values
    pl, ph = _p_from_z(z)
    pl2, _, _ = causal_null(pl, ph, widen_only=widen_only)
    assert np.array_equal(pl2[:MIN_TESTS], pl[:MIN_TESTS])
    assert not np.array_equal(pl2[MIN_TESTS:], pl[MIN_TESTS:])
    # untested rows neither enter the fit nor change; streams (groups) are fitted apart
    tested = np.ones(3000, bool)
    tested[::2] = False
    group = np.where(np.arange(3000) < 1500, "a", "b")
    pl3, _, fits = causal_null(pl, ph, tested=tested, group=group, widen_only=widen_only)
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
    # a small day is judged against the fewest previous days that make MIN_TESTS (two), alone
    assert fits[("", 5.0)] == fit_null(normal_scores(pl, ph)[(block == 3) | (block == 4)])
    pl_f, ph_f = pl.copy(), ph.copy()
    pl_f[block == 5], ph_f[block == 5] = 0.5, 0.5  # its own tests or a later day: no change
    pl_f[block == 6], ph_f[block == 6] = 0.5, 0.5
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
    # a stream narrower than its model (sd 0.05 against the history's 0.1): only widening keeps
    # it conservative; null_widen_only=False brings it to the level (section 2e)
    rec["value"] = np.exp(0.05 * rng.standard_normal(n))
    model = detect(rec, multiplicity="none", null="model")
    widen = detect(rec, multiplicity="none", null="causal", null_window=10)
    both = detect(rec, multiplicity="none", null="causal", null_window=10, null_widen_only=False)
    assert (model["p_value"][live] <= 0.05).mean() < 0.005
    assert np.array_equal(widen["p_value"], model["p_value"])
    assert 0.025 <= (both["p_value"][live] <= 0.05).mean() <= 0.1


# --- section 2c: the fit that sees the tail, and the tests the null is fitted on -----------


def test_fit_null_recovers_a_known_t_from_its_quantiles() -> None:
    u = (np.arange(20000) + 0.5) / 20000  # exact quantiles of |1.5 t(5)| and |1.3 N|
    a_t = 1.5 * stats.t.ppf((1 + u) / 2, 5)
    a_n = 1.3 * special.ndtri((1 + u) / 2)
    for qs in (FIT_QUANTILES, TAIL_QUANTILES):
        scale, nu = fit_null(a_t, quantiles=qs)
        assert scale == pytest.approx(1.5, rel=0.02) and nu == pytest.approx(5.0, rel=0.05)
        scale, nu = fit_null(a_n, quantiles=qs)
        assert scale == pytest.approx(1.3, rel=0.01) and nu == float("inf")
    assert fit_null(np.ones(3), quantiles=TAIL_QUANTILES) == (1.0, float("inf"))


def test_tail_quantiles_widen_a_tail_that_the_bulk_does_not_show() -> None:
    rng = np.random.default_rng(1)
    n = 40000  # 90 % of the scores as the model says, 10 % from a heavy 2 t(3)
    z = np.where(rng.random(n) < 0.9, rng.standard_normal(n), 2.0 * rng.standard_t(3, n))
    pl, ph = _p_from_z(z)
    rates = {}
    for name, qs in (("central", FIT_QUANTILES), ("tail", TAIL_QUANTILES)):
        pl2, ph2, fits = empirical_null(pl, ph, quantiles=qs)
        p = 2 * np.minimum(pl2, ph2)
        rates[name] = [(p <= a).mean() / a for a in (0.05, 0.01, 0.001)]
        assert np.all(pl2 >= pl) and np.all(ph2 >= ph)
    assert rates["central"][1] > 2 and rates["central"][2] > 5  # the median and q90 miss it
    assert 0.5 <= rates["tail"][0] <= 2 and 0.5 <= rates["tail"][1] <= 2
    assert 0.5 <= rates["tail"][2] <= 2.5
    assert fits[""][1] < 5  # heavy: the 99th percentile is in the fit


def test_detect_fits_the_null_on_the_tests_made_when_asked() -> None:
    rng = np.random.default_rng(37)
    n = 600
    exposure = np.where(np.arange(n) < 300, 1000.0, 10.0)  # expected 100 or 1 today
    rate = 0.1 * np.exp(0.4 * rng.standard_normal(n))  # today's rate drifts: wider than the model
    rec = {
        "kind": np.full(n, "count"),
        "value": rng.poisson(rate * exposure).astype(float),
        "exposure": exposure,
        "hist_days": np.full(n, 28.0),
        "hist_count": 28 * 0.1 * exposure,
        "hist_exposure": 28 * exposure,
        "dispersion": np.zeros(n),
        "group": np.full(n, "meta|ad|ctr"),
    }
    model = detect(rec, multiplicity="none", null="model")
    made = model["status"] != "insufficient_data"
    assert 300 < made.sum() < n  # the drops of the small entities are not tests
    out = {}
    for fit, mask in (("made", made), ("candidates", np.isfinite(model["p_low"]))):
        res = detect(rec, multiplicity="none", null_fit=fit, null_quantiles=TAIL_QUANTILES)
        pl, ph, _ = empirical_null(
            model["p_low"], model["p_high"], tested=mask, quantiles=TAIL_QUANTILES
        )
        p = np.minimum(2 * np.minimum(pl, ph), 1.0)
        assert np.allclose(res["p_value"][made], p[made])
        assert np.array_equal(res["status"] == "insufficient_data", ~made)
        out[fit] = res["p_value"][made]
    assert not np.allclose(out["made"], out["candidates"])  # the untested drops moved the fit
    default = detect(rec, multiplicity="none")  # section 2: candidates, median and q90
    pl, ph, _ = empirical_null(model["p_low"], model["p_high"], tested=np.isfinite(model["p_low"]))
    assert np.allclose(default["p_value"][made], np.minimum(2 * np.minimum(pl, ph), 1.0)[made])
    with pytest.raises(Exception, match="null_fit"):
        detect(rec, null_fit="bogus")
