"""Persistence of the sandbox's state: rows → simulation arrays → rows, set-based.

Each helper is one (or two) SQL statement(s) whatever the number of entities or days:
``sim_from_rows`` (``ads.sandbox_entities`` rows → :class:`SimState`), ``save_state`` (the
evolving state back), ``write_days`` (simulated days → ``ads.metrics_daily`` + the conversions
still pending), ``apply_due_pending`` (late conversions added to their day's rows at every level).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import numpy as np

from growthops.connectors.sandbox.model import LAGS, STAGES, DayOut, SimState

CENT = Decimal("0.01")


def sim_from_rows(rows: list[dict[str, Any]]) -> SimState:
    """Build the simulation arrays from ``ads.sandbox_entities`` rows (ads grouped by ad set)."""
    camps = [r for r in rows if r["level"] == "campaign"]
    adsets = [r for r in rows if r["level"] == "adset"]
    c_index = {r["entity_id"]: i for i, r in enumerate(camps)}
    s_index = {r["entity_id"]: i for i, r in enumerate(adsets)}
    ads = sorted(
        (r for r in rows if r["level"] == "ad"),
        key=lambda r: (s_index[r["adset_id"]], r["ordinal"]),
    )

    def arr(items: list[dict[str, Any]], fn: Any, dtype: Any = float) -> np.ndarray:
        return np.array([fn(r) for r in items], dtype=dtype)

    def cents(v: Any) -> int:
        return 0 if v is None else int((Decimal(v) * 100).to_integral_value(ROUND_HALF_UP))

    return SimState(
        c_ids=[r["entity_id"] for r in camps],
        c_active=arr(camps, lambda r: r["status"] == "active", bool),
        s_ids=[r["entity_id"] for r in adsets],
        s_campaign=arr(adsets, lambda r: c_index[r["campaign_id"]], np.int64),
        s_active=arr(adsets, lambda r: r["status"] == "active", bool),
        s_budget=arr(adsets, lambda r: cents(r["daily_budget"]), np.int64),
        s_bid=arr(adsets, lambda r: cents(r["bid_amount"]), np.int64),
        s_k=arr(adsets, lambda r: r["params"]["k"]),
        s_alpha=arr(adsets, lambda r: r["params"]["alpha"]),
        s_beta=arr(adsets, lambda r: r["params"]["beta"]),
        s_aov=arr(adsets, lambda r: r["params"]["aov"]),
        s_cpm=arr(adsets, lambda r: r["params"]["cpm"]),
        s_audience=arr(adsets, lambda r: r["params"]["audience"]),
        s_stage=arr(adsets, lambda r: STAGES.index(r["learning_stage"]), np.int64),
        s_since=arr(
            adsets,
            lambda r: r["learning_since"].toordinal() if r["learning_since"] else -1,
            np.int64,
        ),
        s_events=arr(adsets, lambda r: r["learning_events"], np.int64),
        s_week_spend=arr(adsets, lambda r: r["week_spend_cents"], np.int64),
        s_week_budget=arr(adsets, lambda r: r["week_budget_cents"], np.int64),
        a_ids=[r["entity_id"] for r in ads],
        a_adset=arr(ads, lambda r: s_index[r["adset_id"]], np.int64),
        a_active=arr(ads, lambda r: r["status"] == "active", bool),
        a_ctr=arr(ads, lambda r: r["params"]["ctr"]),
        a_quality=arr(ads, lambda r: r["params"]["quality"]),
        a_cum_impr=arr(ads, lambda r: r["exposure_stock"], np.int64),
    )


def save_state(conn: Any, tenant_id: UUID, platform: str, st: SimState) -> None:
    """Write the evolving state (learning, pacing, exposure stock) in one statement."""
    n_s, n_a = len(st.s_ids), len(st.a_ids)
    ids = st.s_ids + st.a_ids
    stage = [STAGES[i] for i in st.s_stage] + [None] * n_a
    events = [int(x) for x in st.s_events] + [None] * n_a
    wspend = [int(x) for x in st.s_week_spend] + [None] * n_a
    wbudget = [int(x) for x in st.s_week_budget] + [None] * n_a
    cum = [None] * n_s + [int(x) for x in st.a_cum_impr]
    conn.execute(
        """update ads.sandbox_entities e set
             learning_stage = coalesce(u.stage, e.learning_stage),
             learning_events = coalesce(u.events, e.learning_events),
             week_spend_cents = coalesce(u.wspend, e.week_spend_cents),
             week_budget_cents = coalesce(u.wbudget, e.week_budget_cents),
             exposure_stock = coalesce(u.cum, e.exposure_stock)
           from unnest(%s::text[], %s::text[], %s::int[], %s::bigint[], %s::bigint[], %s::bigint[])
                as u(entity_id, stage, events, wspend, wbudget, cum)
           where e.tenant_id = %s and e.platform = %s and e.entity_id = u.entity_id""",
        [ids, stage, events, wspend, wbudget, cum, tenant_id, platform],
    )


def apply_due_pending(conn: Any, tenant_id: UUID, platform: str, as_of: date) -> None:
    """Add the delayed conversions reported by ``as_of`` to their days' rows, at every level."""
    conn.execute(
        """with due as (
             delete from ads.sandbox_pending p
              where p.tenant_id = %(t)s and p.platform = %(p)s and p.report_day <= %(d)s
             returning p.ad_id, p.day, p.conversions, p.conversion_value),
           x as (
             select due.*, e.adset_id, e.campaign_id from due
             join ads.sandbox_entities e
               on e.tenant_id = %(t)s and e.platform = %(p)s and e.entity_id = due.ad_id),
           agg as (
             select 'ad' as level, ad_id as entity_id, day, sum(conversions) as c, sum(conversion_value) as v
               from x group by ad_id, day
             union all
             select 'adset', adset_id, day, sum(conversions), sum(conversion_value) from x group by adset_id, day
             union all
             select 'campaign', campaign_id, day, sum(conversions), sum(conversion_value)
               from x group by campaign_id, day)
           update ads.metrics_daily m
              set conversions = m.conversions + a.c, conversion_value = m.conversion_value + a.v,
                  updated_at = now()
             from agg a
            where m.tenant_id = %(t)s and m.platform = %(p)s and m.level = a.level
              and m.entity_id = a.entity_id and m.day = a.day""",
        {"t": tenant_id, "p": platform, "d": as_of},
    )


def write_days(
    conn: Any,
    tenant_id: UUID,
    platform: str,
    rows: list[dict[str, Any]],
    st: SimState,
    outs: list[DayOut],
    as_of: date,
) -> int:
    """Insert the simulated days' rows (reported as of ``as_of``) and the still-pending conversions.

    Entities without delivery on a day get no row (like a platform's insights). Returns the
    number of metric rows written. Two statements, whatever the number of days and entities.
    """
    names = {r["entity_id"]: r["name"] for r in rows}
    camp_of_adset = np.array(st.s_campaign)
    n_c = len(st.c_ids)
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "level",
            "entity_id",
            "day",
            "name",
            "campaign_id",
            "adset_id",
            "spend",
            "impressions",
            "reach",
            "clicks",
            "conversions",
            "value",
            "budget",
        )
    }
    pend: dict[str, list[Any]] = {k: [] for k in ("ad_id", "day", "report_day", "c", "v")}
    lag_idx = np.arange(LAGS)

    def add(
        level: str,
        ids: list[str],
        mask: np.ndarray,
        day: date,
        camp: list[str | None],
        adset: list[str | None],
        spend: np.ndarray,
        impr: np.ndarray,
        reach: np.ndarray,
        clicks: np.ndarray,
        conv: np.ndarray,
        value: np.ndarray,
        budget: list[Any],
    ) -> None:
        for i in np.flatnonzero(mask):
            cols["level"].append(level)
            cols["entity_id"].append(ids[i])
            cols["day"].append(day)
            cols["name"].append(names[ids[i]])
            cols["campaign_id"].append(camp[i])
            cols["adset_id"].append(adset[i])
            cols["spend"].append(f"{spend[i] / 100:.2f}")
            cols["impressions"].append(int(impr[i]))
            cols["reach"].append(int(reach[i]))
            cols["clicks"].append(int(clicks[i]))
            cols["conversions"].append(int(conv[i]))
            cols["value"].append(f"{value[i]:.2f}")
            cols["budget"].append(budget[i])

    s_camp_ids = [st.c_ids[c] for c in st.s_campaign]
    a_adset_ids = [st.s_ids[s] for s in st.a_adset]
    a_camp_ids = [s_camp_ids[s] for s in st.a_adset]
    for o in outs:
        k = (as_of - o.day).days
        rep = lag_idx <= k
        a_conv = o.a_conv_lags[:, rep].sum(axis=1)
        a_val = np.round(o.a_value_lags[:, rep].sum(axis=1), 2)
        late = np.argwhere((o.a_conv_lags > 0) & ~rep[None, :])
        for i, lag in late:
            pend["ad_id"].append(st.a_ids[i])
            pend["day"].append(o.day)
            pend["report_day"].append(o.day + timedelta(days=int(lag)))
            pend["c"].append(int(o.a_conv_lags[i, lag]))
            pend["v"].append(f"{o.a_value_lags[i, lag]:.2f}")
        a_mask = (o.a_spend > 0) | (o.a_impr > 0)
        n_s = len(st.s_ids)
        s_clicks = np.bincount(st.a_adset, weights=o.a_clicks, minlength=n_s)
        s_conv = np.bincount(st.a_adset, weights=a_conv, minlength=n_s)
        s_val = np.bincount(st.a_adset, weights=a_val, minlength=n_s)
        s_mask = (o.s_spend > 0) | (o.s_impr > 0)
        c_sum = {
            name: np.bincount(camp_of_adset, weights=arr, minlength=n_c)
            for name, arr in (
                ("spend", o.s_spend),
                ("impr", o.s_impr),
                ("reach", o.s_reach),
                ("clicks", s_clicks),
                ("conv", s_conv),
                ("val", s_val),
            )
        }
        c_mask = (c_sum["spend"] > 0) | (c_sum["impr"] > 0)
        add(
            "ad",
            st.a_ids,
            a_mask,
            o.day,
            a_camp_ids,
            a_adset_ids,
            o.a_spend,
            o.a_impr,
            o.a_reach,
            o.a_clicks,
            a_conv,
            a_val,
            [None] * len(st.a_ids),
        )
        add(
            "adset",
            st.s_ids,
            s_mask,
            o.day,
            s_camp_ids,
            [None] * n_s,
            o.s_spend,
            o.s_impr,
            o.s_reach,
            s_clicks,
            s_conv,
            s_val,
            [f"{b / 100:.2f}" for b in o.s_budget],
        )
        add(
            "campaign",
            st.c_ids,
            c_mask,
            o.day,
            [None] * n_c,
            [None] * n_c,
            c_sum["spend"],
            c_sum["impr"],
            c_sum["reach"],
            c_sum["clicks"],
            c_sum["conv"],
            c_sum["val"],
            [None] * n_c,
        )
    conn.execute(
        """insert into ads.metrics_daily
             (tenant_id, platform, level, entity_id, day, entity_name, campaign_id, adset_id, spend,
              impressions, reach, clicks, conversions, conversion_value, daily_budget)
           select %s, %s, u.* from unnest(%s::text[], %s::text[], %s::date[], %s::text[], %s::text[],
                  %s::text[], %s::numeric[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                  %s::numeric[], %s::numeric[])
             as u(level, entity_id, day, name, campaign_id, adset_id, spend, impressions, reach, clicks,
                  conversions, value, budget)
           on conflict (tenant_id, platform, level, entity_id, day) do update set
             entity_name = excluded.entity_name, campaign_id = excluded.campaign_id,
             adset_id = excluded.adset_id, spend = excluded.spend, impressions = excluded.impressions,
             reach = excluded.reach, clicks = excluded.clicks, conversions = excluded.conversions,
             conversion_value = excluded.conversion_value, daily_budget = excluded.daily_budget,
             updated_at = now()""",
        [tenant_id, platform, *cols.values()],
    )
    if pend["ad_id"]:
        conn.execute(
            """insert into ads.sandbox_pending (tenant_id, platform, ad_id, day, report_day, conversions,
                                                conversion_value)
               select %s, %s, u.* from unnest(%s::text[], %s::date[], %s::date[], %s::int[], %s::numeric[])
                 as u(ad_id, day, report_day, c, v)
               on conflict (tenant_id, platform, ad_id, day, report_day) do update set
                 conversions = excluded.conversions, conversion_value = excluded.conversion_value""",
            [tenant_id, platform, *pend.values()],
        )
    return len(cols["level"])
