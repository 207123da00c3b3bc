"""Known-answer tests of the A/B statistics on two real randomized experiments
(/work/shared/data/cookie_cats_ab and hillstrom_email_ab; see their SOURCE.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from growthops.ads.experiments import stats
from growthops.core.errors import InvalidInput

DATA = Path("/work/shared/data")
COOKIE = DATA / "cookie_cats_ab" / "cookie_cats.csv"
HILL = DATA / "hillstrom_email_ab" / "hillstrom.csv"
needs_data = pytest.mark.skipif(not COOKIE.exists() or not HILL.exists(),
                                reason="shared data sets not present")


def _cookie(col: str) -> tuple[int, int, int, int]:
    with COOKIE.open() as f:
        rows = list(csv.DictReader(f))
    a = [r[col] == "TRUE" for r in rows if r["version"] == "gate_30"]
    b = [r[col] == "TRUE" for r in rows if r["version"] == "gate_40"]
    return sum(a), len(a), sum(b), len(b)


@needs_data
def test_cookie_cats_7_day_retention_known_answer() -> None:
    xa, na, xb, nb = _cookie("retention_7")
    assert (na, nb) == (44_700, 45_489)
    t = stats.two_proportion_ztest(xa, na, xb, nb)
    assert round(100 * t.p_a, 2) == 19.02 and round(100 * t.p_b, 2) == 18.20
    assert abs(t.z) == pytest.approx(3.16, abs=0.01) and t.z < 0   # gate_40 (B) is worse
    assert t.p_value == pytest.approx(0.0016, abs=0.0001)
    assert t.ci_high < 0
    bayes = stats.prob_best_beta([xa, xb], [na, nb])
    # SOURCE.md: bootstrap probability ~ 99.9 % that gate_30 is better
    assert bayes["prob_best"][0] == pytest.approx(0.999, abs=0.002)
    assert bayes["expected_loss"][1] == pytest.approx(-t.diff, rel=0.02)
    assert bayes == stats.prob_best_beta([xa, xb], [na, nb])        # fixed seed: reproducible


@needs_data
def test_cookie_cats_1_day_retention_is_not_significant() -> None:
    t = stats.two_proportion_ztest(*_cookie("retention_1"))
    assert t.p_value == pytest.approx(0.074, abs=0.001)
    assert t.ci_low < 0 < t.ci_high


@needs_data
def test_cookie_cats_split_passes_the_srm_threshold_but_not_a_naive_one() -> None:
    srm = stats.srm_check([44_700, 45_489])
    assert srm.p_value == pytest.approx(0.0086, abs=0.0002)
    assert not srm.mismatch                       # p > 0.0005 (Fabijan et al. 2019)
    assert stats.srm_check([44_700, 45_489], threshold=0.01).mismatch


def _hill() -> dict[str, dict[str, np.ndarray]]:
    with HILL.open() as f:
        rows = list(csv.DictReader(f))
    out: dict[str, dict[str, np.ndarray]] = {}
    for seg in ("Mens E-Mail", "No E-Mail"):
        r = [x for x in rows if x["segment"] == seg]
        out[seg] = {k: np.array([float(x[k]) for x in r]) for k in ("spend", "visit", "conversion")}
    return out


@needs_data
def test_hillstrom_mens_email_doubles_conversion_and_spend() -> None:
    h = _hill()
    m, c = h["Mens E-Mail"], h["No E-Mail"]
    t = stats.two_proportion_ztest(int(c["conversion"].sum()), len(c["conversion"]),
                                   int(m["conversion"].sum()), len(m["conversion"]))
    # Hillstrom's published figures: 1.253 % vs 0.573 % conversion
    assert round(100 * t.p_b, 3) == 1.253 and round(100 * t.p_a, 3) == 0.573
    assert t.lift == pytest.approx(1.19, abs=0.01) and t.p_value < 1e-10
    # spend per customer ($1.423 vs $0.653) as a ratio of sums over customers: the delta method
    # reduces to Welch's t-test, computed independently by scipy
    ra = stats.ratio_of_sums(c["spend"], np.ones(len(c["spend"])))
    rb = stats.ratio_of_sums(m["spend"], np.ones(len(m["spend"])))
    rt = stats.ratio_test(ra, rb)
    assert (round(rb.value, 3), round(ra.value, 3)) == (1.423, 0.653)
    welch = sps.ttest_ind(m["spend"], c["spend"], equal_var=False)
    assert rt.z == pytest.approx(float(welch.statistic), rel=1e-4)
    assert rt.p_value == pytest.approx(float(welch.pvalue), rel=1e-2)


@needs_data
def test_hillstrom_spend_per_visit_delta_method_matches_a_bootstrap() -> None:
    m = _hill()["Mens E-Mail"]
    est = stats.ratio_of_sums(m["spend"], m["visit"])
    assert est.value == pytest.approx(30311.69 / 3894, rel=1e-9)
    rng = np.random.default_rng(7)
    n = len(m["spend"])
    boot = []
    for _ in range(400):
        i = rng.integers(0, n, n)
        boot.append(m["spend"][i].sum() / m["visit"][i].sum())
    assert est.se == pytest.approx(float(np.std(boot, ddof=1)), rel=0.12)


def test_sample_size_matches_the_textbook_formula() -> None:
    # two proportions 10 % vs 12 %, alpha 0.05 two-sided, power 0.8: Cohen's h; the variance of 2 asin(sqrt(p)) is 1/n per arm, so n = 2 (z+z)^2 / h^2 per arm
    # (about 3,840: the figure of the usual online calculators)
    h = 2 * np.arcsin(np.sqrt(0.12)) - 2 * np.arcsin(np.sqrt(0.10))
    expected = 2 * (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) ** 2 / h**2
    assert stats.sample_size_per_arm("cvr", baseline=0.10, mde_rel=0.2) == int(np.ceil(expected))
    # CPA: 20 % change of a Poisson rate -> 2 (z+z)^2 / ln(1.2)^2 conversions per arm
    assert stats.sample_size_per_arm("cpa", baseline=30, mde_rel=0.2) == 473
    assert stats.sample_size_per_arm("roas", baseline=3, mde_rel=0.2) == 945  # x (1 + 1^2), ceil of 944.6
    with pytest.raises(InvalidInput, match="baseline"):
        stats.sample_size_per_arm("ctr", baseline=1.5, mde_rel=0.1)
    with pytest.raises(InvalidInput, match="primary_metric"):
        stats.sample_size_per_arm("clicks", baseline=0.1, mde_rel=0.1)


def test_msprt_rejects_a_real_effect_and_rarely_a_null_one() -> None:
    # Under the null, the always-valid p-value over 20 looks stays above alpha in most runs.
    rng = np.random.default_rng(3)
    false_alarms = 0
    for _ in range(200):
        p = None
        xa = xb = na = 0
        for _look in range(20):
            xa += rng.binomial(1000, 0.05)
            xb += rng.binomial(1000, 0.05)
            na += 1000
            t = stats.two_proportion_ztest(xa, na, xb, na)
            se = np.sqrt(t.p_a * (1 - t.p_a) / na + t.p_b * (1 - t.p_b) / na)
            p = stats.msprt_p_value(p, stats.msprt_lambda(t.diff, se, tau=0.005))
        false_alarms += p < 0.05
    assert false_alarms <= 200 * 0.05            # type-I error kept under continuous monitoring
    lam = stats.msprt_lambda(0.01, 0.002, 0.005)  # a 5-sigma difference
    assert lam > 20 and stats.msprt_p_value(None, lam) < 0.05


def test_ratio_of_sums_refuses_thin_data() -> None:
    with pytest.raises(InvalidInput, match="at least 2 units"):
        stats.ratio_of_sums([1.0], [2.0])
    with pytest.raises(InvalidInput, match="sums to 0"):
        stats.ratio_of_sums([1.0, 2.0], [0.0, 0.0])


def test_prob_best_normal_prefers_the_lower_cpa_when_lower_is_better() -> None:
    r = stats.prob_best_normal([20.0, 25.0], [1.0, 1.0], higher=False)
    assert r["prob_best"][0] > 0.99 and r["expected_loss"][1] == pytest.approx(5.0, rel=0.02)
