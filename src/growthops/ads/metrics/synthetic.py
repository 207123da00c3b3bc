"""Deterministic synthetic ad accounts for tests and benchmarks (not a simulator of record).

``generate(...)`` returns the daily rows of one tenant's account at the three levels (ads, and
their ad-set and campaign sums), as columns ready for ``COPY`` into ``ads.metrics_daily``.
Per ad: a base daily spend (log-normal), a CPM, a CTR and a conversion rate drawn around
realistic values, weekday seasonality on spend, Poisson/binomial count noise, and optional
planted effects (a bad or a great ad set, a fatigued ad, a last-day conversion drop) so tests
can check that the cycle finds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import numpy as np

COLUMNS = (
    "tenant_id", "platform", "level", "entity_id", "day", "entity_name", "campaign_id", "adset_id",
    "spend", "impressions", "reach", "clicks", "conversions", "conversion_value", "daily_budget",
)
DOW_SPEND = np.array([1.05, 1.05, 1.0, 1.0, 0.95, 0.9, 1.05])  # Monday first


@dataclass
class Plan:
    """Shape and planted effects of a synthetic account.

    ``bad_adsets`` / ``great_adsets``: ad-set indexes whose conversion rate is x0.25 / x3;
    ``fatigued_ads``: ad indexes whose CTR halves over the last 3 weeks while frequency grows;
    ``drop_campaigns``: campaign indexes whose conversions fall to 20% on the last day;
    ``budget_adsets``: ad sets with a daily budget; ``overspend_adsets``: ad sets that spend
    1.6x their budget on the last day.
    """

    campaigns: int = 2
    adsets_per_campaign: int = 3
    ads_per_adset: int = 3
    days: int = 60
    end: date = date(2024, 3, 31)
    platform: str = "meta"
    base_spend: float = 60.0
    aov: float = 80.0
    cvr: float = 0.05
    bad_adsets: tuple[int, ...] = ()
    great_adsets: tuple[int, ...] = ()
    fatigued_ads: tuple[int, ...] = ()
    drop_campaigns: tuple[int, ...] = ()
    budget_adsets: tuple[int, ...] = ()
    overspend_adsets: tuple[int, ...] = ()
    seed: int = 7
    extra: dict[str, Any] = field(default_factory=dict)


def generate(tenant_id: UUID | str, plan: Plan) -> dict[str, np.ndarray]:
    """Return the account's rows (ads, ad sets, campaigns) as equal-length column arrays.

    Money in the tenant's currency (floats rounded to cents), counts as integers; ``day`` holds
    ``datetime.date`` objects; ``reach`` is reported at every level (summed for roll-ups).
    """
    rng = np.random.default_rng(plan.seed)
    n_adsets = plan.campaigns * plan.adsets_per_campaign
    n_ads = n_adsets * plan.ads_per_adset
    D = plan.days
    days = [plan.end - timedelta(days=D - 1 - i) for i in range(D)]
    dow = np.array([d.weekday() for d in days])
    adset_of_ad = np.repeat(np.arange(n_adsets), plan.ads_per_adset)
    camp_of_adset = np.repeat(np.arange(plan.campaigns), plan.adsets_per_campaign)
    camp_of_ad = camp_of_adset[adset_of_ad]

    base = plan.base_spend * rng.lognormal(0, 0.5, n_ads)
    cpm = 8.0 * rng.lognormal(0, 0.2, n_ads)
    ctr = np.clip(0.012 * rng.lognormal(0, 0.25, n_ads), 0.002, 0.05)
    cvr = np.clip(plan.cvr * rng.lognormal(0, 0.2, n_ads), 0.001, 0.5)
    adset_mult = np.ones(n_adsets)
    adset_mult[list(plan.bad_adsets)] = 0.25
    adset_mult[list(plan.great_adsets)] = 3.0
    cvr = cvr * adset_mult[adset_of_ad]

    spend = base[:, None] * DOW_SPEND[dow][None, :] * rng.lognormal(0, 0.15, (n_ads, D))
    ctr_t = np.repeat(ctr[:, None], D, axis=1)
    freq = np.full((n_ads, D), 1.3)
    for a in plan.fatigued_ads:
        decay = np.clip((np.arange(D) - (D - 21)) / 21, 0, 1)
        ctr_t[a] = ctr[a] * (1 - 0.5 * decay)
        freq[a] = 1.3 * (1 + 1.5 * decay)
    impressions = rng.poisson(spend / cpm[:, None] * 1000)
    clicks = rng.binomial(impressions, ctr_t)
    conv_rate = np.repeat(cvr[:, None], D, axis=1)
    for c in plan.drop_campaigns:
        conv_rate[camp_of_ad == c, -1] *= 0.2
    conversions = rng.binomial(clicks, np.clip(conv_rate, 0, 1))
    value = conversions * plan.aov * rng.lognormal(0, 0.1, (n_ads, D))
    reach = np.maximum(1, (impressions / freq).astype(np.int64))

    budget = np.full((n_adsets, D), np.nan)
    adset_spend = np.zeros((n_adsets, D))
    np.add.at(adset_spend, adset_of_ad, spend)
    for s_ in plan.budget_adsets:
        budget[s_] = np.round(adset_spend[s_].mean() * 1.1, 2)
    for s_ in plan.overspend_adsets:
        if np.isnan(budget[s_, 0]):
            budget[s_] = np.round(adset_spend[s_].mean() * 1.1, 2)
        scale = budget[s_, -1] * 1.6 / adset_spend[s_, -1]
        spend[adset_of_ad == s_, -1] *= scale
    spend = np.round(spend, 2)
    value = np.round(value, 2)

    def roll(mat: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
        out = np.zeros((n, D), dtype=mat.dtype)
        np.add.at(out, groups, mat)
        return out

    cols: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    tid = str(tenant_id)
    ad_ids = np.array([f"ad{a}" for a in range(n_ads)], dtype=object)
    adset_ids = np.array([f"adset{s}" for s in range(n_adsets)], dtype=object)
    camp_ids = np.array([f"camp{c}" for c in range(plan.campaigns)], dtype=object)

    def add(level: str, ids: np.ndarray, names: np.ndarray, camp: np.ndarray, adset: np.ndarray,
            sp: np.ndarray, im: np.ndarray, re: np.ndarray, cl: np.ndarray, co: np.ndarray,
            va: np.ndarray, bu: np.ndarray) -> None:
        n = len(ids)
        cols["tenant_id"].append(np.full(n * D, tid, dtype=object))
        cols["platform"].append(np.full(n * D, plan.platform, dtype=object))
        cols["level"].append(np.full(n * D, level, dtype=object))
        cols["entity_id"].append(np.repeat(ids, D))
        cols["day"].append(np.tile(np.array(days, dtype=object), n))
        cols["entity_name"].append(np.repeat(names, D))
        cols["campaign_id"].append(np.repeat(camp, D))
        cols["adset_id"].append(np.repeat(adset, D))
        for k, v in (("spend", sp), ("impressions", im), ("reach", re), ("clicks", cl),
                     ("conversions", co), ("conversion_value", va), ("daily_budget", bu)):
            cols[k].append(v.ravel())

    add("ad", ad_ids, np.array([f"Ad {a}" for a in range(n_ads)], dtype=object), camp_ids[camp_of_ad],
        adset_ids[adset_of_ad], spend, impressions, reach, clicks, conversions, value,
        np.full((n_ads, D), np.nan))
    add("adset", adset_ids, np.array([f"Ad set {s}" for s in range(n_adsets)], dtype=object),
        camp_ids[camp_of_adset], np.full(n_adsets, None, dtype=object),
        np.round(roll(spend, adset_of_ad, n_adsets), 2), roll(impressions, adset_of_ad, n_adsets),
        roll(reach, adset_of_ad, n_adsets), roll(clicks, adset_of_ad, n_adsets),
        roll(conversions, adset_of_ad, n_adsets), np.round(roll(value, adset_of_ad, n_adsets), 2), budget)
    add("campaign", camp_ids, np.array([f"Campaign {c}" for c in range(plan.campaigns)], dtype=object),
        np.full(plan.campaigns, None, dtype=object), np.full(plan.campaigns, None, dtype=object),
        np.round(roll(spend, camp_of_ad, plan.campaigns), 2), roll(impressions, camp_of_ad, plan.campaigns),
        roll(reach, camp_of_ad, plan.campaigns), roll(clicks, camp_of_ad, plan.campaigns),
        roll(conversions, camp_of_ad, plan.campaigns), np.round(roll(value, camp_of_ad, plan.campaigns), 2),
        np.full((plan.campaigns, D), np.nan))
    return {k: np.concatenate(v) for k, v in cols.items()}


def copy_rows(conn: Any, rows: dict[str, np.ndarray], *, by_day: bool = False, chunk: int = 200_000) -> int:
    """COPY generated rows into ``ads.metrics_daily`` through a temp table (caller's transaction).

    Rows go in entity after entity (the order of :func:`generate`), or with ``by_day`` day after
    day, the order daily syncs write them (a day's rows stored together). Text is formatted a
    column at a time and sent in chunks of ``chunk`` rows, so a tenant of 300,000 rows loads in
    seconds. Returns the number of rows.
    """
    n = len(rows["entity_id"])
    order = np.argsort(rows["day"].astype("datetime64[D]"), kind="stable") if by_day else None
    # COPY cannot write a table with row-level security: stage in a temp table, then insert.
    conn.execute("create temp table if not exists _syn (like ads.metrics_daily including defaults) on commit drop")
    conn.execute("truncate _syn")
    with conn.cursor().copy(f"copy _syn ({', '.join(COLUMNS)}) from stdin") as cp:
        for lo in range(0, n, chunk):
            sel = slice(lo, min(n, lo + chunk)) if order is None else order[lo:lo + chunk]
            cols = [_column_text(col, rows[col][sel]) for col in COLUMNS]
            cp.write("\n".join(map("\t".join, zip(*cols, strict=True))) + "\n")
    cols_sql = ", ".join(COLUMNS)
    conn.execute(f"insert into ads.metrics_daily ({cols_sql}) select {cols_sql} from _syn")
    return n


def _column_text(col: str, arr: np.ndarray) -> list[str]:
    """COPY text of one column: ``\\N`` for None and NaN, money with 2 decimals, else ``str``."""
    vals = arr.tolist()
    if col in ("spend", "conversion_value", "daily_budget"):
        return ["\\N" if v is None or v != v else f"{float(v):.2f}" for v in vals]
    return ["\\N" if v is None or (isinstance(v, float) and v != v) else str(v) for v in vals]
