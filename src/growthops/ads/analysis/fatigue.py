"""Creative fatigue (seed 000 ``creative_performance.fatigue_index``, 0–100).

For every ad, three signals compare the last 7 days ("recent") with days 7–28 before ``as_of``
("earlier"), each mapped to 0–1:

* CTR decay with exposure: ``1 - ctr_recent / ctr_earlier``, full at a 50% drop. Wear-out of a
  repeated ad shows first as falling click-through (Pechmann & Stewart 1988, "Advertising
  repetition: a critical review of wearin and wearout"; Schmidt & Eisend 2015, J. Advertising).
  Needs >= 20 earlier clicks and >= 1,000 recent impressions.
* Frequency growth: ``frequency_recent / frequency_earlier - 1``, full at a doubling
  (needs reach on both periods).
* Cost per result: Meta flags creative fatigue when the cost per result is 2x or more of the
  ad's earlier level (Ads Manager delivery diagnostics). ``(cpr_recent / cpr_earlier - 1)``,
  full at 2x. Needs >= 5 earlier results; no recent result counts as the recent spend per one.

``fatigue_index = 100 x`` the weighted mean (0.5 CTR, 0.2 frequency, 0.3 cost per result) of the
available signals; an ad with neither the CTR nor the cost-per-result signal gets no row
(not enough data), rather than a zero.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from growthops.ads.analysis.window import prepare_window
from growthops.ads.config import TenantContext
from growthops.ads.thresholds import (
    FATIGUE_CPR_RATIO,
    FATIGUE_MIN_EARLIER_CLICKS,
    FATIGUE_MIN_RECENT_IMPRESSIONS,
    FATIGUE_THRESHOLD,
)

_SQL = """
with base as (
  select e.*,
    e.clicks_7 / nullif(e.impressions_7, 0) as ctr_r,
    e.clicks_e / nullif(e.impressions_e, 0) as ctr_e,
    e.imp_r_7 / nullif(e.reach_7, 0) as f_r,
    e.imp_r_e / nullif(e.reach_e, 0) as f_e,
    e.spend_7 / greatest(e.results_7, 1) as cpr_r,
    e.spend_e / nullif(e.results_e, 0) as cpr_e
  from _entity e
  where e.level = 'ad' and e.spend_7 + e.impressions_7 > 0
), comp as (
  select b.*,
    case when b.clicks_e >= %(min_clicks)s and b.impressions_7 >= %(min_imp)s and b.ctr_e > 0
         then least(1, greatest(0, 1 - b.ctr_r / b.ctr_e) / 0.5) end as c_ctr,
    case when b.f_r is not null and b.f_e > 0
         then least(1, greatest(0, b.f_r / b.f_e - 1)) end as c_freq,
    case when b.results_e >= 5 and b.spend_7 > 0 and b.cpr_e > 0
         then least(1, greatest(0, b.cpr_r / b.cpr_e - 1) / (%(cpr_ratio)s - 1)) end as c_cpr
  from base b
), new as (
  select %(t)s::uuid as tenant_id, platform, entity_id as ad_id, %(d)s::date as as_of, entity_name as ad_name,
       (impressions_7 + impressions_e)::bigint as impressions,
       ctr_r as ctr_recent, ctr_e as ctr_earlier, f_r as frequency_recent, f_e as frequency_earlier,
       case when results_7 > 0 then cpr_r end as cost_per_result_recent, cpr_e as cost_per_result_earlier,
       v3s_7 / nullif(imp_v_7, 0) as hook_rate, active_days_90::int as days_active,
       round((100 * (0.5 * coalesce(c_ctr, 0) + 0.2 * coalesce(c_freq, 0) + 0.3 * coalesce(c_cpr, 0))
             / (0.5 * (c_ctr is not null)::int + 0.2 * (c_freq is not null)::int
                + 0.3 * (c_cpr is not null)::int))::numeric, 1)::float8 as fatigue_index,
       jsonb_build_object('ctr_decay', c_ctr, 'frequency_growth', c_freq, 'cost_per_result', c_cpr,
                          'clicks_recent', clicks_7, 'clicks_earlier', clicks_e,
                          'impressions_recent', impressions_7, 'impressions_earlier', impressions_e,
                          'results_recent', results_7, 'results_earlier', results_e,
                          'spend_recent', spend_7, 'spend_earlier', spend_e) as components
  from comp
  where c_ctr is not null or c_cpr is not null
), gone as (  -- a replayed day: ads of the earlier run that no longer qualify
  delete from ads.creative_performance cp
  where cp.tenant_id = %(t)s and cp.as_of = %(d)s
    and not exists (select 1 from new n where n.platform = cp.platform and n.ad_id = cp.ad_id)
), up as (  -- new rows, and rows of a replayed day whose values changed; equal rows are left alone
  insert into ads.creative_performance as cp
    (tenant_id, platform, ad_id, as_of, ad_name, impressions, ctr_recent, ctr_earlier,
     frequency_recent, frequency_earlier, cost_per_result_recent, cost_per_result_earlier,
     hook_rate, days_active, fatigue_index, components)
  select * from new
  on conflict (tenant_id, platform, ad_id, as_of) do update set
    ad_name = excluded.ad_name, impressions = excluded.impressions,
    ctr_recent = excluded.ctr_recent, ctr_earlier = excluded.ctr_earlier,
    frequency_recent = excluded.frequency_recent, frequency_earlier = excluded.frequency_earlier,
    cost_per_result_recent = excluded.cost_per_result_recent,
    cost_per_result_earlier = excluded.cost_per_result_earlier, hook_rate = excluded.hook_rate,
    days_active = excluded.days_active, fatigue_index = excluded.fatigue_index,
    components = excluded.components
  where (cp.ad_name, cp.impressions, cp.ctr_recent, cp.ctr_earlier, cp.frequency_recent,
         cp.frequency_earlier, cp.cost_per_result_recent, cp.cost_per_result_earlier, cp.hook_rate,
         cp.days_active, cp.fatigue_index, cp.components)
        is distinct from
        (excluded.ad_name, excluded.impressions, excluded.ctr_recent, excluded.ctr_earlier,
         excluded.frequency_recent, excluded.frequency_earlier, excluded.cost_per_result_recent,
         excluded.cost_per_result_earlier, excluded.hook_rate, excluded.days_active,
         excluded.fatigue_index, excluded.components)
)
select count(*) filter (where fatigue_index >= %(th)s) as n from new
"""


def compute_fatigue(conn: Any, ctx: TenantContext, as_of: date) -> int:
    """Upsert ``ads.creative_performance`` for every ad with enough data; return how many are
    fatigued (``fatigue_index >= FATIGUE_THRESHOLD``). Idempotent for a given ``as_of``.

    One statement: the day's rows are inserted; when the day is replayed, rows whose values did
    not change are left as they are (no dead tuples, no index entries), changed ones are updated
    and ads that no longer qualify are deleted (issue 16, docs/performance.md §4e: the delete
    and re-insert of every row was most of this step on a replay).
    """
    prepare_window(conn, ctx, as_of)
    row = conn.execute(
        _SQL,
        {
            "t": ctx.tenant_id,
            "d": as_of,
            "min_clicks": FATIGUE_MIN_EARLIER_CLICKS,
            "min_imp": FATIGUE_MIN_RECENT_IMPRESSIONS,
            "cpr_ratio": FATIGUE_CPR_RATIO,
            "th": FATIGUE_THRESHOLD,
        },
    ).fetchone()
    return int(row["n"])
