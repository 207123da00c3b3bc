"""The sandbox's simulation model: parameters, the true response curves and one simulated day.

Pure NumPy/SciPy, no database. :mod:`growthops.connectors.sandbox.account` persists the state
and writes the days into ``ads.metrics_daily``. Every piece, its parameters and its source are
listed in ``docs/sandbox.md``; in short, for ad set ``s`` on day ``d``:

* **Pacing** (Meta Business Help Center, "About daily budgets"): the ad set aims at its daily
  budget ``b``; the day's spend is ``b·m_d`` plus a share of the week's under-delivery, where
  ``m_d`` is a day-of-week delivery factor times log-normal noise; a day never spends more than
  ``(1 + overdelivery_max)·b`` (25 %) and a calendar week (Sunday to Saturday) never more than
  the sum of its daily budgets (7 × the daily budget).
* **Diminishing returns** (the Hill saturation curve of Meta's Robyn and Google's Meridian):
  expected conversions ``β · x^α / (x^α + K^α)`` at daily spend ``x``; ``K`` is the
  half-saturation spend, ``α`` the shape, ``β`` the ceiling.
* **Day-of-week seasonality** multiplies expected conversions (``dow_conversion``, mean 1).
* **Creative fatigue** (advertising wear-out: Pechmann & Stewart 1988; Meta's "creative
  fatigue" delivery signal): an ad's CTR and conversion yield decay as
  ``2^(-max(0, F - wear_in) / half_life)`` with its exposure frequency
  ``F = exposure stock / audience size``; the stock is the ad's impressions decayed by
  ``audience_turnover`` per day (geometric adstock, as in Robyn: people forget, the audience
  renews), so fatigue builds with spend and levels off; delivery shifts to fresher, better ads.
* **Learning phase** (Meta Business Help Center, "About the learning phase": about 50
  optimisation events within 7 days of the last significant edit to exit): while learning,
  conversions are scaled by ``learning_efficiency`` (CPA ÷ 0.8 = +25 %) and are noisier; after
  7 days without 50 events the ad set is ``learning_limited``.
* **Significant edits** (same Meta page; no published figure for budgets): a budget or bid
  change above ``significant_change`` (20 %, the practitioners' rule), a first bid cap, or
  re-activating after ``reactivation_days`` (7) paused days restarts the learning phase.
* **Bid caps** (assumption: a cap set too low under-delivers): delivery ×
  ``min(1, (cap / natural CPA) ** bid_delivery_exponent)``.
* **Count noise**: impressions Poisson, clicks binomial, conversions negative binomial
  (gamma-Poisson, overdispersed counts: Cameron & Trivedi, *Regression Analysis of Count
  Data*), conversion values log-normal per ad-day.
* **Attribution delay** (Chapelle 2014, "Modeling delayed feedback in display advertising",
  KDD: delays roughly exponential; Meta's default 7-day-click window): a day's conversions are
  reported over that day and the 6 following ones with shares ``attribution_lag_shares``.

Random draws are common random numbers: each day uses ``default_rng([seed, day.toordinal()])``
and fixed-shape uniform / normal arrays turned into counts by inverse CDFs, so two policies run
on the same seed see the same luck, and ``advance(2)`` equals ``advance(1)`` twice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy import stats

STAGES = ("learning", "learning_limited", "success", "unknown")
LEARNING, LIMITED, SUCCESS, UNKNOWN = range(4)
LAGS = 7


@dataclass(frozen=True)
class SandboxParams:
    """Every parameter of the simulated account (defaults documented in ``docs/sandbox.md``).

    Money in major units of the account currency; fractions 0–1; counts per day.
    ``*_median`` / ``*_sigma`` are the median and log-scale spread of a log-normal draw per
    entity at creation; the ``dow_*`` tuples are Monday first and normalised to mean 1.
    """

    # -- what the account looks like at creation ------------------------------------------
    adset_budget_median: float = 180.0  # daily budget per ad set
    adset_budget_sigma: float = 0.45
    roas_at_budget_median: float = 3.2  # value / spend at the initial budget
    roas_at_budget_sigma: float = 0.35
    aov_median: float = 45.0  # value per conversion
    aov_sigma: float = 0.25
    half_saturation_median: float = 1.5  # K / initial budget
    half_saturation_sigma: float = 0.5
    hill_shape_min: float = 0.9  # alpha ~ U(min, max); Robyn's bounds are [0.5, 3]
    hill_shape_max: float = 1.6
    cpm_median: float = 9.0  # cost per 1000 impressions
    cpm_sigma: float = 0.25
    ctr_median: float = 0.012  # clicks / impressions (fraction)
    ctr_sigma: float = 0.30
    ad_quality_sigma: float = 0.30  # relative delivery weight of an ad in its ad set
    audience_per_budget: float = 830.0  # people reachable per unit of initial daily budget
    audience_sigma: float = 0.40
    # -- dynamics ----------------------------------------------------------------------------
    dow_conversion: tuple[float, ...] = (1.06, 1.04, 1.02, 1.00, 0.96, 0.92, 1.00)
    dow_delivery: tuple[float, ...] = (1.04, 1.03, 1.00, 0.99, 0.96, 0.95, 1.03)
    delivery_noise_sigma: float = 0.10  # log-normal day noise on the pacing target
    overdelivery_max: float = 0.25  # Meta: up to 25 % over the daily budget on a day
    cpm_noise_sigma: float = 0.08
    nb_size: float = 10.0  # negative binomial size (var = mu + mu^2/size)
    nb_size_learning: float = 5.0
    value_noise_sigma: float = 0.20
    fatigue_wear_in: float = 1.5  # exposure frequency before wear-out starts
    fatigue_half_life: float = 5.0  # extra exposure frequency that halves CTR
    audience_turnover: float = 0.01  # daily decay of the exposure stock (adstock-like)
    learning_events: int = 50  # Meta: ~50 optimisation events ...
    learning_days: int = 7  # ... within 7 days of the last significant edit
    learning_efficiency: float = 0.80  # conversions x 0.8 while learning (CPA +25 %)
    significant_change: float = 0.20  # budget / bid change above 20 % restarts learning
    reactivation_days: int = 7  # Meta: paused 7 days or more restarts learning
    attribution_lag_shares: tuple[float, ...] = (0.70, 0.15, 0.07, 0.04, 0.02, 0.01, 0.01)
    bid_delivery_exponent: float = 1.5  # delivery share (bid / natural CPA) ** 1.5, capped at 1
    min_daily_budget: float = 1.00
    max_daily_budget: float = 1_000_000.00
    campaign_names: tuple[str, ...] = field(
        default=("Prospecting", "Retargeting", "Lookalikes", "Broad", "Catalog", "Brand")
    )

    def to_json(self) -> dict[str, Any]:
        """Return the parameters as a JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SandboxParams:
        """Build from :meth:`to_json` output; unknown keys are ignored, missing ones default."""
        data = data or {}
        names = {f.name for f in fields(cls)}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**kw)  # type: ignore[arg-type]

    def dow(self, which: str) -> np.ndarray:
        """Return a day-of-week factor array (Monday first) normalised to mean 1."""
        arr = np.asarray(self.dow_conversion if which == "conversion" else self.dow_delivery, float)
        return arr / arr.mean()

    def lag_shares(self) -> np.ndarray:
        """Return the attribution lag shares (lag 0..6 days) normalised to sum to 1."""
        arr = np.asarray(self.attribution_lag_shares, float)
        if arr.size != LAGS:
            raise ValueError(f"attribution_lag_shares: {LAGS} shares expected, got {arr.size}")
        return arr / arr.sum()


def hill(x: np.ndarray | float, k: np.ndarray | float, alpha: np.ndarray | float) -> np.ndarray:
    """Return the Hill saturation ``x^α / (x^α + K^α)`` (0 at x = 0, 1/2 at x = K, → 1).

    Source: Robyn's ``saturation_hill`` and Meridian's ``hill`` (same curve, K = inflexion /
    ``ec``, α = shape / ``slope``). ``x`` ≥ 0, any shape that broadcasts.
    """
    x = np.maximum(np.asarray(x, float), 0.0)
    xa = np.power(x, alpha)
    return xa / (xa + np.power(k, alpha))


def fatigue_factor(
    exposure: np.ndarray, audience: np.ndarray, wear_in: float, half_life: float
) -> np.ndarray:
    """Return the creative wear-out multiplier ``2^(-max(0, F - wear_in) / half_life)`` (0–1].

    ``F`` = exposure stock (impressions, decayed) / audience size (frequency per person).
    """
    freq = np.asarray(exposure, float) / np.asarray(audience, float)
    return np.power(2.0, -np.maximum(freq - wear_in, 0.0) / half_life)


@dataclass
class SimState:
    """The account's state as arrays (ad sets ``s``, ads ``a`` grouped by ad set, campaigns ``c``).

    Money in integer cents; ``*_since`` as proleptic ordinals (``date.toordinal()``), -1 if none.
    """

    c_ids: list[str]
    c_active: np.ndarray
    s_ids: list[str]
    s_campaign: np.ndarray  # index into c_*
    s_active: np.ndarray
    s_budget: np.ndarray  # cents
    s_bid: np.ndarray  # cents, 0 = no bid cap (lowest cost)
    s_k: np.ndarray
    s_alpha: np.ndarray
    s_beta: np.ndarray
    s_aov: np.ndarray
    s_cpm: np.ndarray
    s_audience: np.ndarray
    s_stage: np.ndarray  # index into STAGES
    s_since: np.ndarray
    s_events: np.ndarray
    s_week_spend: np.ndarray  # cents since Sunday
    s_week_budget: np.ndarray  # cents since Sunday
    a_ids: list[str]
    a_adset: np.ndarray  # index into s_*
    a_active: np.ndarray
    a_ctr: np.ndarray
    a_quality: np.ndarray
    a_cum_impr: np.ndarray  # exposure stock (impressions decayed by audience_turnover)


@dataclass
class DayOut:
    """One simulated day: per ad and per ad set, before attribution delay."""

    day: date
    a_spend: np.ndarray  # cents
    a_impr: np.ndarray
    a_clicks: np.ndarray
    a_reach: np.ndarray
    a_conv_lags: np.ndarray  # (n_ads, LAGS) conversions by reporting lag
    a_value_lags: np.ndarray  # (n_ads, LAGS) value by reporting lag (major units)
    s_spend: np.ndarray  # cents
    s_impr: np.ndarray
    s_reach: np.ndarray
    s_budget: np.ndarray  # cents, in effect that day


def draw_entities(
    rng: np.random.Generator,
    p: SandboxParams,
    campaigns: int,
    adsets_per_campaign: int,
    ads_per_adset: int,
) -> dict[str, np.ndarray]:
    """Draw the hidden truth of a new account (see :class:`SandboxParams` for the distributions).

    ``beta`` is set so that the ad set's ROAS at its initial budget is the drawn
    ``roas_at_budget``: ``β = budget · roas / aov / hill(budget)``.
    """
    n_s = campaigns * adsets_per_campaign
    n_a = n_s * ads_per_adset

    def logn(median: float, sigma: float, n: int) -> np.ndarray:
        return median * rng.lognormal(0.0, sigma, n)

    budget = np.clip(np.round(logn(p.adset_budget_median, p.adset_budget_sigma, n_s)), 20, 5000)
    roas = logn(p.roas_at_budget_median, p.roas_at_budget_sigma, n_s)
    aov = logn(p.aov_median, p.aov_sigma, n_s)
    k = budget * logn(p.half_saturation_median, p.half_saturation_sigma, n_s)
    alpha = rng.uniform(p.hill_shape_min, p.hill_shape_max, n_s)
    beta = budget * roas / aov / hill(budget, k, alpha)
    cpm = logn(p.cpm_median, p.cpm_sigma, n_s)
    audience = np.round(budget * logn(p.audience_per_budget, p.audience_sigma, n_s))
    ctr = np.clip(logn(p.ctr_median, p.ctr_sigma, n_a), 0.002, 0.08)
    quality = rng.lognormal(0.0, p.ad_quality_sigma, n_a)
    return {
        "budget": budget,
        "roas": roas,
        "aov": aov,
        "k": k,
        "alpha": alpha,
        "beta": beta,
        "cpm": cpm,
        "audience": audience,
        "ctr": ctr,
        "quality": quality,
    }


def _alloc_cents(raw: np.ndarray) -> np.ndarray:
    """Round amounts (cents, float) to integers whose running sums stay exact (ads by ad set)."""
    c = np.round(np.cumsum(raw))
    return np.diff(c, prepend=0.0).astype(np.int64)


def simulate_day(st: SimState, p: SandboxParams, seed: int, day: date) -> DayOut:
    """Simulate ``day`` with the current budgets and statuses; update ``st`` in place.

    Updates: the ads' exposure stock (fatigue), the learning phase (events, stage), the weekly
    pacing counters. Returns the day's delivery per ad with conversions split by reporting lag.
    Deterministic for ``(seed, day, st)``.
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, day.toordinal()])
    n_s, n_a = len(st.s_ids), len(st.a_ids)
    # Fixed-shape draws first (common random numbers across policies).
    z_deliv = rng.standard_normal(n_s)
    z_cpm = rng.standard_normal(n_a)
    u_impr = rng.uniform(size=n_a)
    u_click = rng.uniform(size=n_a)
    u_gamma = rng.uniform(size=n_a)
    u_conv = rng.uniform(size=n_a)
    z_value = rng.standard_normal(n_a)
    lag_rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, day.toordinal(), 7])

    dow = day.weekday()
    ord_ = day.toordinal()
    # -- who delivers ----------------------------------------------------------------------
    fat = fatigue_factor(
        st.a_cum_impr, st.s_audience[st.a_adset], p.fatigue_wear_in, p.fatigue_half_life
    )
    a_live = st.a_active & st.s_active[st.a_adset] & st.c_active[st.s_campaign[st.a_adset]]
    w = np.where(a_live, st.a_quality * fat, 0.0)
    w_sum = np.bincount(st.a_adset, weights=w, minlength=n_s)
    s_live = w_sum > 0
    share = np.where(a_live, w / np.where(w_sum > 0, w_sum, 1.0)[st.a_adset], 0.0)
    s_fatigue = np.bincount(st.a_adset, weights=share * fat, minlength=n_s)  # spend-weighted

    # -- pacing (cents) ------------------------------------------------------------------------
    if dow == 6:  # Sunday starts Meta's calendar week
        st.s_week_spend[:] = 0
        st.s_week_budget[:] = 0
    budget = st.s_budget.astype(float)
    carry = np.where(s_live, st.s_week_budget - st.s_week_spend, 0).astype(float)
    st.s_week_budget += np.where(s_live, st.s_budget, 0)
    days_left = 7 - ((dow + 1) % 7)  # Sunday 7 ... Saturday 1
    sig = p.delivery_noise_sigma
    m = p.dow("delivery")[dow] * np.exp(sig * z_deliv - sig * sig / 2)
    target = budget * m + carry / days_left
    # Weekly allowance: the week's budgets so far plus today's budget for the days left.
    allowance = (st.s_week_budget + st.s_budget * (days_left - 1) - st.s_week_spend).astype(float)
    cap = np.minimum((1 + p.overdelivery_max) * budget, allowance)
    spend = np.clip(target, 0.0, np.maximum(cap, 0.0))
    # A bid cap below the ad set's natural CPA wins fewer auctions (delivery share).
    learning = st.s_stage == LEARNING
    eff = np.where(learning, p.learning_efficiency, 1.0)
    exp_conv_b = st.s_beta * hill(budget / 100, st.s_k, st.s_alpha) * s_fatigue * eff
    natural_cpa = np.where(exp_conv_b > 0, budget / np.maximum(exp_conv_b, 1e-9), np.inf)
    delivery = np.where(
        st.s_bid > 0, np.minimum(1.0, (st.s_bid / natural_cpa) ** p.bid_delivery_exponent), 1.0
    )
    s_spend = np.where(s_live, np.round(spend * delivery), 0).astype(np.int64)
    st.s_week_spend += s_spend

    # -- ads: spend, impressions, clicks ------------------------------------------------------
    a_spend = _alloc_cents(s_spend[st.a_adset] * share)
    cpm = st.s_cpm[st.a_adset] * np.exp(p.cpm_noise_sigma * z_cpm - p.cpm_noise_sigma**2 / 2)
    mu_impr = a_spend / 100 / cpm * 1000
    a_impr = np.where(mu_impr > 0, stats.poisson.ppf(u_impr, np.maximum(mu_impr, 1e-12)), 0).astype(
        np.int64
    )
    ctr = st.a_ctr * fat
    a_clicks = stats.binom.ppf(u_click, a_impr, ctr).astype(np.int64)
    aud = st.s_audience[st.a_adset]
    a_reach = np.round(aud * (1 - np.exp(-a_impr / aud))).astype(np.int64)
    s_impr = np.bincount(st.a_adset, weights=a_impr, minlength=n_s).astype(np.int64)
    s_reach = np.round(st.s_audience * (1 - np.exp(-s_impr / st.s_audience))).astype(np.int64)

    # -- conversions ----------------------------------------------------------------------------
    s_mu = st.s_beta * hill(s_spend / 100, st.s_k, st.s_alpha) * p.dow("conversion")[dow] * eff
    a_mu = s_mu[st.a_adset] * share * fat
    size = np.where(learning, p.nb_size_learning, p.nb_size)[st.a_adset]
    lam = stats.gamma.ppf(u_gamma, size) / size * a_mu
    conv = np.where(lam > 0, stats.poisson.ppf(u_conv, np.maximum(lam, 1e-12)), 0).astype(np.int64)
    conv = np.minimum(conv, a_clicks)
    vs = p.value_noise_sigma
    value = conv * st.s_aov[st.a_adset] * np.exp(vs * z_value - vs * vs / 2)
    conv_lags = lag_rng.multinomial(conv, p.lag_shares())
    # Value by lag, in cents, so restated rows add up exactly whatever the reporting day.
    value_lags = np.round(
        np.where(conv[:, None] > 0, value[:, None] * conv_lags / np.maximum(conv, 1)[:, None], 0.0),
        2,
    )

    # -- state updates ----------------------------------------------------------------------------
    st.a_cum_impr = np.round(st.a_cum_impr * (1 - p.audience_turnover) + a_impr).astype(np.int64)
    s_conv = np.bincount(st.a_adset, weights=conv, minlength=n_s).astype(np.int64)
    st.s_events = np.where(learning, st.s_events + s_conv, st.s_events)
    exited = learning & (st.s_events >= p.learning_events)
    timed_out = learning & ~exited & (ord_ - st.s_since + 1 >= p.learning_days)
    st.s_stage = np.where(exited, SUCCESS, np.where(timed_out, LIMITED, st.s_stage))
    return DayOut(
        day,
        a_spend,
        a_impr,
        a_clicks,
        a_reach,
        conv_lags,
        value_lags,
        s_spend,
        s_impr,
        s_reach,
        np.where(s_live, st.s_budget, 0),
    )


def expected_daily(
    st: SimState, p: SandboxParams, s: int, spend: np.ndarray | float, *, fatigue: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return (expected conversions, expected value) per day for ad set ``s`` at ``spend``.

    Steady state: out of the learning phase, day-of-week averaged (factors have mean 1), with
    the ads' current fatigue when ``fatigue`` is True. ``spend`` in major units, any shape.
    """
    mask = (st.a_adset == s) & st.a_active
    fat = fatigue_factor(
        st.a_cum_impr, st.s_audience[st.a_adset], p.fatigue_wear_in, p.fatigue_half_life
    )
    if not fatigue:
        fat = np.ones_like(fat)
    w = np.where(mask, st.a_quality * fat, 0.0)
    f = float((w / w.sum() * fat).sum()) if w.sum() > 0 else 0.0
    conv = st.s_beta[s] * hill(spend, st.s_k[s], st.s_alpha[s]) * f
    return conv, conv * st.s_aov[s]


def week_start(day: date) -> date:
    """Return the Sunday that starts ``day``'s calendar week (Meta's budget week)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def nan_to_none(x: float) -> float | None:
    """Return None for NaN (JSON has no NaN)."""
    return None if isinstance(x, float) and math.isnan(x) else x
