"""Measuring hypotheses: once an execution's window (and its settle days) has ended, compare
the entity's change with its untouched siblings' (difference in differences) and classify the
outcome validated / invalidated / partial / inconclusive (rule in ``docs/learning.md``).

Opening a hypothesis, the constants and the prediction's rescaling: :mod:`.hypotheses`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

#: Fewer results than this in either window of the measured unit: inconclusive. A Poisson count
#: of N has a relative standard error of 1/sqrt(N) (32% at 10): below 10 a 7-day window cannot
#: tell the +/-20% moves the suggestions predict from noise.
from growthops.ads.learning.hypotheses import (
    _SUMS,
    KEY_METRIC,
    MIN_CLICKS,
    MIN_IMPRESSIONS,
    MIN_RESULTS,
    NOISE_COUNT,
    NOISE_FLOOR,
    PAUSE_HELD_SHARE,
    RATIO_METRICS,
    SETTLE_DAYS,
    Z_NOISE,
    _finite,
    _json_default,
    _jsonb,
    _ratios,
)

# ----------------------------------------------------------------------------- measurement
_DUE_SQL = """
with due as (
  select h.hypothesis_id, h.suggestion_id, h.execution_id, h.suggestion_type as type, h.platform,
         h.entity_type, h.entity_id, h.start_day, h.measurement_end_date as end_day,
         h.measurement_period_days as n_days, h.start_day - h.measurement_period_days as before_start,
         h.predicted_metrics, h.baseline_metrics, h.confidence_score
  from ads.hypothesis_tracking h
  where h.tenant_id = %(t)s and h.outcome is null and h.measurement_end_date <= %(today)s
), lineage as (
  select distinct on (d.hypothesis_id) d.hypothesis_id, m.campaign_id, m.adset_id
  from due d join ads.metrics_daily m
    on m.tenant_id = %(t)s and m.platform = d.platform and m.level = d.entity_type
   and m.entity_id = d.entity_id and m.day <= d.end_day
  order by d.hypothesis_id, m.day desc
), unit as (
  select d.*, l.campaign_id, l.adset_id,
         case when d.type = 'pause' and d.entity_type = 'ad' then 'adset'
              when d.type = 'pause' and d.entity_type = 'adset' then 'campaign'
              else d.entity_type end as u_level,
         case when d.type = 'pause' and d.entity_type = 'ad' then l.adset_id
              when d.type = 'pause' and d.entity_type = 'adset' then l.campaign_id
              else d.entity_id end as u_id
  from due d left join lineage l using (hypothesis_id)
), execs as (
  -- every execution on this platform between the baseline's first day and the window's last (UTC)
  select u.hypothesis_id, x.execution_id, x.platform as x_platform, x.entity_type as x_level, x.entity_id as x_id
  from unit u join ads.execution_logs x
    on x.tenant_id = %(t)s and x.platform = u.platform and x.status in ('claimed', 'applied', 'reconciled')
   and (coalesce(x.executed_at, x.claimed_at) at time zone 'UTC')::date between u.before_start and u.end_day
), touched as (
  -- executed entities and their ancestors
  select e.hypothesis_id, e.x_id as id from execs e
  union
  select e.hypothesis_id, a.id
  from execs e
  cross join lateral (
    select m.campaign_id, m.adset_id from ads.metrics_daily m
    where m.tenant_id = %(t)s and m.platform = e.x_platform and m.level = e.x_level and m.entity_id = e.x_id
    order by m.day desc limit 1) l
  cross join lateral (values (l.campaign_id), (l.adset_id)) a(id)
  where a.id is not null
), comp as (
  select u.hypothesis_id, m.entity_id
  from unit u join ads.metrics_daily m
    on m.tenant_id = %(t)s and m.platform = u.platform and m.level = u.u_level
   and m.day between u.before_start and u.end_day and m.entity_id <> u.u_id
   and (u.u_level = 'campaign' or (u.u_level = 'adset' and m.campaign_id = u.campaign_id)
        or (u.u_level = 'ad' and m.adset_id = u.adset_id))
  where not exists (select 1 from touched t where t.hypothesis_id = u.hypothesis_id and t.id = m.entity_id)
    and not exists (select 1 from execs e where e.hypothesis_id = u.hypothesis_id
                    and e.x_id in (m.campaign_id, m.adset_id))
  group by u.hypothesis_id, u.start_day, m.entity_id
  having coalesce(sum(m.spend) filter (where m.day < u.start_day), 0) > 0
     and coalesce(sum(m.spend) filter (where m.day >= u.start_day), 0) > 0
), members as (
  select hypothesis_id, 'entity' as role, platform, entity_type as level, entity_id from unit
  union all
  select hypothesis_id, 'unit', platform, u_level, u_id from unit where type = 'pause' and u_id is not null
  union all
  select c.hypothesis_id, 'comp', u.platform, u.u_level, c.entity_id from comp c join unit u using (hypothesis_id)
), sums as (
  select mb.hypothesis_id, mb.role, count(distinct mb.entity_id) as n_entities,
         coalesce(sum(m.spend) filter (where m.day < u.start_day), 0)::float8 as spend_b,
         coalesce(sum(m.spend) filter (where m.day >= u.start_day), 0)::float8 as spend_a,
         coalesce(sum(m.impressions) filter (where m.day < u.start_day), 0)::float8 as impressions_b,
         coalesce(sum(m.impressions) filter (where m.day >= u.start_day), 0)::float8 as impressions_a,
         coalesce(sum(m.clicks) filter (where m.day < u.start_day), 0)::float8 as clicks_b,
         coalesce(sum(m.clicks) filter (where m.day >= u.start_day), 0)::float8 as clicks_a,
         coalesce(sum({result}) filter (where m.day < u.start_day), 0)::float8 as results_b,
         coalesce(sum({result}) filter (where m.day >= u.start_day), 0)::float8 as results_a,
         coalesce(sum(m.conversion_value) filter (where m.day < u.start_day), 0)::float8 as value_b,
         coalesce(sum(m.conversion_value) filter (where m.day >= u.start_day), 0)::float8 as value_a,
         count(distinct m.day) filter (where m.day < u.start_day) as days_b,
         count(distinct m.day) filter (where m.day >= u.start_day) as days_a
  from members mb join unit u using (hypothesis_id)
  left join ads.metrics_daily m
    on m.tenant_id = %(t)s and m.platform = mb.platform and m.level = mb.level
   and m.entity_id = mb.entity_id and m.day between u.before_start and u.end_day
  group by mb.hypothesis_id, mb.role
)
select u.hypothesis_id, u.suggestion_id, u.execution_id, u.type, u.platform, u.entity_type, u.entity_id,
       u.u_level, u.u_id, u.start_day, u.end_day, u.n_days, u.predicted_metrics, u.baseline_metrics,
       u.confidence_score,
       (select jsonb_object_agg(s.role, to_jsonb(s) - 'hypothesis_id' - 'role')
          from sums s where s.hypothesis_id = u.hypothesis_id) as sums,
       (select coalesce(jsonb_agg(c.entity_id order by c.entity_id), '[]'::jsonb)
          from comp c where c.hypothesis_id = u.hypothesis_id) as comparators,
       (select count(*) from execs e where e.hypothesis_id = u.hypothesis_id
           and e.execution_id is distinct from u.execution_id
           and e.x_id in (u.entity_id, u.campaign_id, u.adset_id)) as other_executions
from unit u
order by u.hypothesis_id
"""

_UPDATE_SQL = """
update ads.hypothesis_tracking h
   set actual_metrics = x.actual_metrics, counterfactual = x.counterfactual, variance = x.variance,
       outcome = x.outcome, why_accurate = x.why_accurate, why_inaccurate = x.why_inaccurate,
       confounding_factors = x.confounding_factors, model_adjustment_needed = x.model_adjustment_needed,
       adjustment_notes = x.adjustment_notes, measured_at = %(now)s
  from jsonb_to_recordset(%(rows)s::jsonb) as x(
       hypothesis_id bigint, actual_metrics jsonb, counterfactual jsonb, variance jsonb, outcome text,
       why_accurate text, why_inaccurate text, confounding_factors text,
       model_adjustment_needed boolean, adjustment_notes text)
 where h.tenant_id = %(t)s and h.hypothesis_id = x.hypothesis_id and h.outcome is null
"""


def _window(s: dict[str, Any], suffix: str, vpr: float | None, use_value: bool) -> dict[str, Any]:
    return _ratios({k: s.get(f"{k}_{suffix}", 0.0) for k in _SUMS}, vpr, use_value)


def _log_change(before: dict[str, Any] | None, after: dict[str, Any] | None, metric: str) -> float | None:
    if not before or not after:
        return None
    b, a = before.get(metric), after.get(metric)
    if b is None or a is None or b <= 0 or a <= 0:
        return None
    return math.log(a / b)


def predicted_log_interval(predicted: dict[str, Any], key: str) -> tuple[float, float, float] | None:
    """Return the prediction of ``key``'s log change vs the status quo as (p10, p50, p90), or None.

    ``results``: ``log(results_q / status_quo.results)``; ``roas``: the same minus
    ``log(spend_p50 / status_quo.spend)`` (value per result held); other metrics with a status
    quo: ``log(metric_q / status_quo.metric)``. Sorted so the first is the lowest.
    """
    m, sq = predicted.get("metrics") or {}, predicted.get("status_quo") or {}
    try:
        if key in ("results", "roas") and "results" in m and sq.get("results"):
            shift = 0.0
            if key == "roas":
                if not ("spend" in m and sq.get("spend")):
                    return None
                shift = math.log(m["spend"]["p50"] / sq["spend"])
            vals = [math.log(m["results"][q] / sq["results"]) - shift for q in ("p10", "p50", "p90")]
        elif key in m and sq.get(key):
            vals = [math.log(m[key][q] / sq[key]) for q in ("p10", "p50", "p90")]
        else:
            return None
    except (ValueError, ZeroDivisionError, KeyError, TypeError):
        return None
    lo, hi = min(vals), max(vals)
    return lo, vals[1], hi


def classify(*, enough_data: bool, direction: int, effect: float | None, interval: tuple[float, float] | None,
             noise: float, premise: bool | None, extra_ok: bool = True) -> str:
    """Classify a measured hypothesis (the documented rule; see ``docs/learning.md``).

    ``effect``: the key metric's log change net of the comparators'; ``direction``: +1 or -1, the
    predicted sign; ``interval``: the predicted log change (p10, p90) or None; ``noise``: the
    noise band (log); ``premise``: True held, False failed, None not applicable; ``extra_ok``: a
    type's secondary requirement (pause: spend saved >= p10).

    * inconclusive: not ``enough_data`` or no effect;
    * invalidated: the effect is opposite to the prediction beyond the noise band, or opposite
      within it while the premise failed;
    * validated: the effect is in the predicted direction, inside the interval or beyond its far
      end, the premise did not fail and ``extra_ok``;
    * partial: everything else (right direction but short of the interval, or the premise or the
      secondary requirement failed; or opposite within noise while the premise held).
    """
    if not enough_data or effect is None:
        return "inconclusive"
    se = direction * effect
    if se < -noise or (se <= 0 and premise is False):
        return "invalidated"
    if se > 0:
        near = min(direction * interval[0], direction * interval[1]) if interval else 0.0
        if se >= near and premise is not False and extra_ok:
            return "validated"
    return "partial"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * (math.exp(x) - 1):+.0f}%"


def _measure_one(r: dict[str, Any]) -> dict[str, Any]:
    """Measure one due hypothesis from its query row (pure: no database access)."""
    pred = _jsonb(r["predicted_metrics"])
    base = _jsonb(r["baseline_metrics"])
    ctx = base.get("context") or {}
    sums = _jsonb(r["sums"])
    typ, n_days = r["type"], int(r["n_days"])
    E, U, C = sums.get("entity"), sums.get("unit") or sums.get("entity"), sums.get("comp")
    out: dict[str, Any] = {"hypothesis_id": r["hypothesis_id"], "suggestion_id": r["suggestion_id"],
                           "type": typ, "entity_id": r["entity_id"]}
    unit_label = f"{r['u_level']} {r['u_id']}" if r["u_id"] else f"{r['entity_type']} {r['entity_id']}"
    ready = r["end_day"] + timedelta(days=int(r["settle_days"]))
    if ready > r["today"]:
        out.update(status="waiting", outcome=None,
                   reason=f"window ended {r['end_day']}; measured from {ready} so that late-attributed "
                          "conversions are reported")
        return out
    days_a = int(U["days_a"]) if U else 0
    if r["u_id"] is None or U is None or days_a < n_days:
        out.update(status="waiting", outcome=None,
                   reason=f"{days_a} of {n_days} days of metrics for {unit_label} in "
                          f"{r['start_day']}..{r['end_day']}; measured when every day is in")
        return out

    vpr = ctx.get("value_per_result")
    use_value = any((s or {}).get("value_b", 0) + (s or {}).get("value_a", 0) > 0 for s in (E, U, C))
    assert E is not None
    e_b, e_a = _window(E, "b", vpr, use_value), _window(E, "a", vpr, use_value)
    u_b, u_a = _window(U, "b", vpr, use_value), _window(U, "a", vpr, use_value)
    c_b = _window(C, "b", vpr, use_value) if C else {}
    c_a = _window(C, "a", vpr, use_value) if C else {}
    key = KEY_METRIC.get(typ, "roas")
    confounding: list[str] = []
    n_comp = int(C["n_entities"]) if C else 0
    if not n_comp:
        confounding.append("no untouched sibling with spend in both windows: compared with its own past only")

    def comp_change(metric: str) -> float:
        ch = _log_change(c_b, c_a, metric) if n_comp else None
        return ch or 0.0

    d_unit = _log_change(u_b, u_a, key)
    d_comp = comp_change(key)
    effect = None if d_unit is None else d_unit - d_comp
    ncount = NOISE_COUNT.get(key, "results")
    cells = [u_b[ncount], u_a[ncount]] + ([c_b[ncount], c_a[ncount]] if n_comp else [])
    se = math.sqrt(sum(1.0 / c for c in cells)) if all(c > 0 for c in cells) else float("inf")
    noise = max(Z_NOISE * se, NOISE_FLOOR)
    if n_comp and abs(d_comp) > 0.2:
        confounding.append(f"the {n_comp} untouched sibling(s) moved {_pct(d_comp)} on {key} over the same days "
                           "(market, season or platform change): removed by the comparison")
    if int(r["other_executions"] or 0):
        confounding.append(f"{r['other_executions']} other execution(s) on this entity or its parents in the window")

    # Enough data?
    minimum = {"cpm": ("impressions", MIN_IMPRESSIONS), "ctr": ("clicks", MIN_CLICKS)}.get(key, ("results", MIN_RESULTS))
    thin = []
    if u_a["spend"] <= 0 or u_b["spend"] <= 0:
        thin.append(f"no spend for {unit_label} in the {'window' if u_a['spend'] <= 0 else 'baseline'}")
    if min(u_b[minimum[0]], u_a[minimum[0]]) < minimum[1]:
        thin.append(f"under {minimum[1]} {minimum[0]} for {unit_label} in a window "
                    f"(baseline {u_b[minimum[0]]:.0f}, window {u_a[minimum[0]]:.0f})")

    # Premise and secondary requirement per type.
    target = ctx.get("target_roas")
    premise: bool | None = None
    extra_ok = True
    notes: list[str] = []
    interval = predicted_log_interval(pred, key)
    horizon = float(pred.get("horizon_days") or 7)
    scale = n_days / horizon
    derived: dict[str, float] = {}
    if typ in ("scale", "budget_increase", "budget_decrease") and e_a.get("roas") is not None and target:
        adj_roas = e_a["roas"] / math.exp(comp_change("roas"))
        if typ != "budget_decrease":
            premise = adj_roas >= float(target)
            net = f" ({adj_roas:.2f} net of the siblings' change)" if n_comp else ""
            notes.append(f"ROAS {e_a['roas']:.2f}{net} vs target {float(target):.2f}")
        elif ctx.get("roas_driven"):
            cf = adj_roas / math.exp(interval[1]) if interval else adj_roas
            premise = cf < float(target)
            notes.append(f"ROAS without the cut about {cf:.2f} vs target {float(target):.2f}")
    if typ == "pause":
        trend = math.exp(comp_change("spend")) if n_comp else 1.0
        expected = e_b["spend"] * trend
        derived["spend_saved"] = expected - e_a["spend"]
        derived["results_lost"] = max(0.0, e_b["results"] * (math.exp(comp_change("results")) if n_comp else 1.0)
                                      - e_a["results"])
        if expected > 0 and e_a["spend"] > PAUSE_HELD_SHARE * expected:
            thin.append(f"the pause did not hold: the entity still spent {e_a['spend']:.2f} of an expected {expected:.2f}")
        saved_q = (pred.get("metrics") or {}).get("spend_saved")
        if saved_q:
            extra_ok = derived["spend_saved"] >= float(saved_q["p10"]) * scale
            notes.append(f"spend saved {derived['spend_saved']:.2f} vs predicted p10 {float(saved_q['p10']) * scale:.2f}")
    if typ in ("refresh", "test_angle") and e_a.get("ctr") is not None and e_b.get("ctr") is not None:
        derived["clicks_recovered"] = (e_a["ctr"] - e_b["ctr"]) * e_a["impressions"]

    direction = 1
    if interval is not None and interval[1] != 0:
        direction = 1 if interval[1] > 0 else -1
    elif key in ("cpm", "cpa"):
        direction = -1
    outcome = classify(enough_data=not thin, direction=direction, effect=effect,
                       interval=(interval[0], interval[2]) if interval else None,
                       noise=noise, premise=premise, extra_ok=extra_ok)

    # Variance of every predicted metric we can measure (levels scaled to the window's length).
    variance: dict[str, Any] = {}
    for metric, q in (pred.get("metrics") or {}).items():
        actual = derived.get(metric, e_a.get(metric) if metric in ("spend", "results", *RATIO_METRICS) else None)
        if actual is None or not isinstance(q, dict) or "p50" not in q:
            continue
        f = 1.0 if metric in RATIO_METRICS else scale
        p10, p50, p90 = (float(q[k]) * f for k in ("p10", "p50", "p90"))
        v: dict[str, Any] = {"actual": round(actual, 4), "p10": round(p10, 4), "p50": round(p50, 4),
                             "p90": round(p90, 4), "diff": round(actual - p50, 4),
                             "inside": bool(p10 <= actual <= p90)}
        if n_comp and metric in ("spend", "results", *RATIO_METRICS) and _log_change(c_b, c_a, metric) is not None:
            adj = actual / math.exp(comp_change(metric))
            v["adjusted_actual"] = round(adj, 4)
            v["adjusted_inside"] = bool(p10 <= adj <= p90)
        variance[metric] = v
    variance["key"] = {"metric": key, "unit": unit_label, "effect": effect, "noise": round(noise, 4),
                       "direction": direction, "predicted": list(interval) if interval else None,
                       "premise_held": premise}

    effect_txt = (f"{key} of {unit_label} changed {_pct(d_unit)}"
                  + (f" vs {_pct(d_comp)} for {n_comp} untouched sibling(s): net {_pct(effect)}" if n_comp else "")
                  + (f"; predicted {_pct(interval[1])} ({_pct(interval[0])} to {_pct(interval[2])})"
                     if interval else "; predicted direction " + ("up" if direction > 0 else "down"))
                  + f"; noise band ±{_pct(noise)[1:]}")
    details = "; ".join([effect_txt, *notes])
    why_ok = why_bad = None
    if outcome == "validated":
        why_ok = f"Validated: {details}."
    elif outcome == "invalidated":
        why_bad = f"Invalidated: {details}."
    elif outcome == "partial":
        why_ok = f"Direction as predicted: {effect_txt}." if (effect or 0) * direction > 0 else None
        why_bad = f"Partial: {details}."
    else:
        why_bad = "Inconclusive: " + "; ".join(thin or ["the key metric could not be computed"]) + "."
    if (r["today"] - r["end_day"]).days < SETTLE_DAYS:
        confounding.append(f"measured {(r['today'] - r['end_day']).days} day(s) after the window: "
                           "late-attributed conversions may still arrive")

    out.update(
        status="measured", outcome=outcome, effect=effect, noise=noise, comparators=list(r["comparators"] or []),
        actual_metrics={"window": [str(r["start_day"]), str(r["end_day"])], "days": days_a,
                        "entity": e_a, **({"unit": u_a} if typ == "pause" else {}), "derived": derived},
        counterfactual={"method": "difference in differences of logs", "key_metric": key,
                        "unit": {"level": r["u_level"], "entity_id": r["u_id"], "before": u_b, "after": u_a},
                        "comparators": list(r["comparators"] or []), "comparator_level": r["u_level"],
                        "before": c_b or None, "after": c_a or None,
                        "unit_change": d_unit, "comparator_change": d_comp if n_comp else None,
                        "effect": effect, "noise": noise},
        variance=variance, why_accurate=why_ok, why_inaccurate=why_bad,
        confounding_factors="; ".join(confounding) or None,
        model_adjustment_needed=outcome == "invalidated",
        adjustment_notes=("the key metric moved against the prediction beyond noise: counts against this "
                          "confidence level in the calibration") if outcome == "invalidated" else None,
    )
    return out


def measure_due(conn: Any, *, tenant_id: UUID | str, today: date, settle_days: int = SETTLE_DAYS,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """Measure every open hypothesis whose window ended on or before ``today - settle_days``.

    ``today`` is the last reporting day to consider (usually the latest day with metrics);
    ``settle_days`` (default :data:`SETTLE_DAYS`) lets late-attributed conversions arrive; a
    window that ended but is still settling is returned as 'waiting' with the day it will be
    measured. One
    query reads every due hypothesis with its unit's, entity's and comparators' sums; each is
    classified in Python (:func:`classify`) and all are written by one ``UPDATE``. A hypothesis
    whose unit lacks metrics for some day of the window stays open. Returns one dict per due
    hypothesis: ``hypothesis_id``, ``suggestion_id``, ``type``, ``entity_id``, ``status``
    ('measured' or 'waiting'), ``outcome``, and ``reason`` (waiting) or the measured fields.
    Never commits.
    """
    from growthops.ads.config import load_context

    ctx = load_context(conn, tenant_id=UUID(str(tenant_id)))
    rows = conn.execute(_DUE_SQL.format(result=ctx.result_sql("m")), {"t": str(tenant_id), "today": today}).fetchall()
    results = [_measure_one({**r, "today": today, "settle_days": int(settle_days)}) for r in rows]
    measured = [m for m in results if m["status"] == "measured"]
    if measured:
        keys = ("hypothesis_id", "actual_metrics", "counterfactual", "variance", "outcome", "why_accurate",
                "why_inaccurate", "confounding_factors", "model_adjustment_needed", "adjustment_notes")
        payload = [{k: m[k] for k in keys} for m in measured]
        conn.execute(_UPDATE_SQL, {"t": str(tenant_id), "rows": json.dumps(_finite(payload), default=_json_default),
                                   "now": now or datetime.now(UTC)})
    return results


