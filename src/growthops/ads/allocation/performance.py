"""``ads.campaign_performance``: stored per-campaign roll-ups with an ``efficiency_score``.

:func:`refresh_performance` (a step of the daily cycle) writes, for the reporting day ``as_of``,
one row per campaign and period of :data:`PERIODS` days ending ``as_of``: the sums of
``ads.metrics_daily`` (campaign rows) and the score, in ONE statement (``insert ... select ...
on conflict do update``); a replayed day rewrites its rows. A re-import that corrects a day is
picked up by the next cycle (the rows are a dated snapshot, ``computed_at`` says when).

``efficiency_score`` — the campaign's return per unit of spend against the tenant's target,
shrunk toward the account (platform) mean by its sample size; 1.0 = exactly on target, 1.25 =
25 % better, 0.5 = half as good. With ``S`` the campaign's spend, ``S0 = k x`` the account's
cost per result (the spend that buys ``k = VALUE_PSEUDO_RESULTS`` results at the account's
rate: a campaign with little spend is pulled toward the account):

* basis ``roas`` (the platform reports conversion value and has no ``max_cpa``):
  ``((V + S0 x ROAS_account) / (S + S0)) / target_ROAS``;
* basis ``cpa`` (otherwise): ``((R + k) / (S + S0)) x target_CPA``, i.e. target CPA / shrunk CPA,
  with target CPA = ``max_cpa``, else ticket price / target ROAS; NULL when there is none.

The shrinkage is a credibility weighting (Bühlmann): the campaign's own ratio weighs
``S / (S + S0)``. ``k`` = 5 as the value per result of the suggestions
(:data:`growthops.ads.allocation.curves.VALUE_PSEUDO_RESULTS`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from growthops.ads.allocation.curves import VALUE_PSEUDO_RESULTS
from growthops.ads.config import PLATFORMS, TenantContext

PERIODS = (7, 28, 90)

#: Quantities summed per campaign and period (column of the roll-up -> expression over ``m``).
_SUMS = {"spend": "m.spend", "impressions": "m.impressions", "clicks": "m.clicks",
         "conversions": "m.conversions", "results": "{result}", "value": "m.conversion_value"}


def _agg_sql() -> str:
    """The roll-ups of every period of :data:`PERIODS` in ONE pass over the campaign rows of the
    longest period: ``FILTER``ed aggregates per period, then one row per (campaign, period) that
    has rows. Rows are unique per (platform, campaign, day) (the primary key of
    ``ads.metrics_daily``), so ``count(*)`` is the number of days reported. An earlier version
    joined every row to each period (three times the rows) and sorted them for
    ``count(distinct day)``; the sums are exact (``numeric``) either way (issue 16)."""
    cols, lateral = [], []
    for d in PERIODS:
        f = f"filter (where m.day > %(as_of)s::date - {d})"
        cols.append(f"max(m.entity_name) {f} as name_{d}, count(*) {f} as days_{d}")
        cols += [f"sum({expr}) {f} as {q}_{d}" for q, expr in _SUMS.items()]
        lateral.append(f"({d}, a.name_{d}, a.days_{d}::int, " + ", ".join(f"a.{q}_{d}" for q in _SUMS) + ")")
    return f"""
with agg0 as (
  select m.platform, m.entity_id as campaign_id, {', '.join(cols)}
  from ads.metrics_daily m
  where m.tenant_id = %(t)s and m.level = 'campaign'
    and m.day > %(as_of)s::date - {max(PERIODS)} and m.day <= %(as_of)s::date
  group by m.platform, m.entity_id),
agg as (
  select a.platform, a.campaign_id, p.*
  from agg0 a cross join lateral (values {', '.join(lateral)})
    as p(period_days, campaign_name, days_reported, {', '.join(_SUMS)})
  where p.days_reported > 0),
"""


_REFRESH_SQL = _agg_sql() + """acct as (
  select platform, period_days, sum(spend) as s, sum(results) as r, sum(value) as v
  from agg group by platform, period_days),
tg as (
  select * from jsonb_to_recordset(%(targets)s::jsonb)
    as x(platform text, troas float8, max_cpa float8, ticket float8)),
scored as (
  select a.*, (ac.v > 0 and tg.max_cpa is null) as by_roas,
         %(k)s * ac.s / nullif(ac.r, 0) as s0, ac.s as acct_s, ac.v as acct_v, tg.troas,
         coalesce(tg.max_cpa, tg.ticket / nullif(tg.troas, 0)) as target_cpa
  from agg a join acct ac using (platform, period_days) left join tg using (platform))
insert into ads.campaign_performance as c (tenant_id, platform, campaign_id, campaign_name,
  period_days, period_start, period_end, days_reported, spend, impressions, clicks, conversions,
  results, conversion_value, efficiency_basis, efficiency_score, computed_at)
select %(t)s, platform, campaign_id, campaign_name, period_days, %(as_of)s::date - period_days + 1,
       %(as_of)s::date, days_reported, spend, impressions, clicks, conversions, results, value,
       case when by_roas then 'roas' when target_cpa is not null then 'cpa' end,
       case when spend <= 0 or s0 is null then null
            when by_roas then ((value + s0 * acct_v / acct_s) / (spend + s0) / troas)::float8
            else ((results + %(k)s) / (spend + s0) * target_cpa)::float8 end,
       now()
from scored
on conflict (tenant_id, platform, campaign_id, period_days, period_end) do update set
  campaign_name = excluded.campaign_name, period_start = excluded.period_start,
  days_reported = excluded.days_reported, spend = excluded.spend,
  impressions = excluded.impressions, clicks = excluded.clicks,
  conversions = excluded.conversions, results = excluded.results,
  conversion_value = excluded.conversion_value, efficiency_basis = excluded.efficiency_basis,
  efficiency_score = excluded.efficiency_score, computed_at = excluded.computed_at
"""


def refresh_performance(conn: Any, ctx: TenantContext, as_of: date) -> int:
    """Write the campaign roll-ups of the periods ending ``as_of``; return the rows written.

    One set-based statement in the caller's tenant transaction (no commit). Formula of
    ``efficiency_score``: module docstring.
    """
    targets = [{"platform": p, "troas": ctx.target_roas(p), "max_cpa": ctx.config(p).max_cpa,
                "ticket": ctx.ticket_price} for p in PLATFORMS]
    sql = _REFRESH_SQL.replace("{result}", ctx.result_sql("m"))
    cur = conn.execute(sql, {"t": ctx.tenant_id, "as_of": as_of,
                             "targets": json.dumps(targets), "k": VALUE_PSEUDO_RESULTS})
    return cur.rowcount


def list_performance(conn: Any, *, days: int = 28, period_end: date | None = None,
                     platform: str | None = None) -> list[dict[str, Any]]:
    """Return the rows of one period length (7, 28 or 90 days) ending ``period_end`` (default:
    the latest stored), best efficiency first. Money in the tenant's currency."""
    from growthops.core.errors import InvalidInput

    if days not in PERIODS:
        raise InvalidInput(f"days: must be one of {', '.join(map(str, PERIODS))}, not {days}")
    return conn.execute(
        """select platform, campaign_id, campaign_name, period_days, period_start, period_end,
                  days_reported, spend::float8 as spend, impressions, clicks,
                  conversions::float8 as conversions, results::float8 as results,
                  conversion_value::float8 as conversion_value, roas, cpa::float8 as cpa,
                  efficiency_basis, efficiency_score, computed_at
           from ads.campaign_performance
           where period_days = %(d)s and (%(p)s::text is null or platform = %(p)s)
             and period_end = coalesce(%(e)s::date, (select max(period_end) from ads.campaign_performance
                                                     where period_days = %(d)s))
           order by efficiency_score desc nulls last, spend desc, campaign_id""",
        {"d": days, "p": platform, "e": period_end}).fetchall()
