"""Hypotheses (seed 000 ``hypothesis_tracking``): each execution is a prediction, measured later.

:func:`open_hypothesis` copies what the suggestion predicted (``predicted_metrics``: p10 / p50 /
p90 per metric over ``horizon_days`` and the ``status_quo``), its confidence, the entity and the
measurement window (``start_day`` .. ``start_day + period_days - 1``), and the entity's
**baseline**: the same-length window just before ``start_day``.

:func:`measure_due` measures, in one query for every due hypothesis (window ended
:data:`SETTLE_DAYS` ago, every day of metrics in), the actual metrics over the window (ratios of
sums), the variance against the prediction, and a **counterfactual from untouched siblings**,
then classifies the outcome. The rule is written in ``docs/learning.md``
and in :func:`classify`; in short:

* The *measured unit* is the entity, except for ``pause`` where it is the parent the paused
  spend belonged to (an ad's ad set, an ad set's campaign): a paused entity has no metrics after.
* The *comparators* are the unit's siblings (ads of the same ad set, ad sets of the same
  campaign, the platform's other campaigns) with spend in both windows and no execution on them,
  their parent or their children between the baseline's first day and the window's last day.
* The *effect* is a difference in differences of logs on the type's key metric:
  ``log(unit after / unit before) - log(comparators after / comparators before)``, the
  comparators' sums pooled (Angrist & Pischke, *Mostly Harmless Econometrics*, ch. 5; controls
  as in Brodersen et al. 2015, "Inferring causal impact using Bayesian structural time-series").
  Without comparators it is the unit's own change, and the confounding factors say so.
* Noise: the standard error of a log count ratio is ``sqrt(1/a + 1/b)`` (delta method for
  Poisson counts; Rothman, *Modern Epidemiology*, rate-ratio interval), summed over the four
  cells; the band is ``max(1.645 x SE, 5%)`` (one-sided 95%; the 5% floor stands for the
  day-of-week mix and auction noise that count noise does not see).

Key metric per type (direction from the prediction's p50):

* ``scale`` / ``budget_increase``: results (incremental results; predicted up); premise: the
  entity's ROAS, net of the comparators' ROAS change, stays at or above the target ROAS.
* ``budget_decrease``: ROAS (predicted up: diminishing returns in reverse); premise, when the cut
  was ROAS-driven: the counterfactual ROAS stays below target.
* ``pause``: the parent's ROAS (predicted up: sub-par spend removed) and the spend saved (must
  reach the prediction's p10); the pause must have held (entity spend <= 5% of expected).
* ``bid_adjustment``: CPM (predicted down); CPA is reported beside it.
* ``refresh`` / ``test_angle``: CTR (predicted up).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.core.errors import InvalidInput

#: Fewer results than this in either window of the measured unit: inconclusive. A Poisson count
#: of N has a relative standard error of 1/sqrt(N) (32% at 10): below 10 a 7-day window cannot
#: tell the +/-20% moves the suggestions predict from noise.
MIN_RESULTS = 10
#: CPM needs at least this many impressions per window (1 000: the unit CPM is defined on).
MIN_IMPRESSIONS = 1000
#: CTR needs at least this many clicks per window (same reasoning as MIN_RESULTS).
MIN_CLICKS = 10
#: One-sided 95% normal quantile for the noise band of the effect.
Z_NOISE = 1.645
#: Floor of the noise band, as a log change (about 5%).
NOISE_FLOOR = 0.05
#: A pause has held when the entity spent at most this share of its expected spend.
PAUSE_HELD_SHARE = 0.05
#: Days to wait after the window's last day before measuring: platforms report conversions
#: days after the click (Meta's default attribution is 7-day click, 1-day view; Help Center,
#: "About attribution settings"). With the sandbox's lag shares (0.70, 0.15, 0.07, 0.04, ...)
#: a window measured on its last day shows about 91% of its conversions against a complete
#: baseline (a -9% bias on results and ROAS when no sibling shares the lag); after 3 days, 99%.
SETTLE_DAYS = 3

KEY_METRIC = {
    "scale": "results", "budget_increase": "results", "budget_decrease": "roas",
    "pause": "roas", "bid_adjustment": "cpm", "refresh": "ctr", "test_angle": "ctr",
    "campaign_diagnostic": "cpa",
}
#: The count whose Poisson noise drives each key metric's noise.
NOISE_COUNT = {"results": "results", "roas": "results", "cpa": "results", "cpm": "impressions",
               "ctr": "clicks", "spend": "results"}
RATIO_METRICS = {"roas", "cpa", "cpm", "ctr", "cpc", "cvr"}
_SUMS = ("spend", "impressions", "clicks", "results", "value")


def _jsonb(v: Any) -> dict[str, Any]:
    if v is None:
        return {}
    return json.loads(v) if isinstance(v, str | bytes) else dict(v)


def _parent_level(level: str) -> str | None:
    return {"ad": "adset", "adset": "campaign"}.get(level)


# ------------------------------------------------------------------------------------ open
def rescale_prediction(predicted: dict[str, Any], suggested_change: float, executed_change: float) -> dict[str, Any]:
    """Return ``predicted`` for a budget change of ``executed_change`` instead of ``suggested_change``.

    Used when a guard rail split the change (fractions, e.g. +0.20 suggested, +0.10 executed).
    Same power-law response as the suggestion (``results ∝ spend ** e``, ``e`` =
    ``predicted["elasticity"]["central"]``, default :data:`growthops.ads.thresholds.ELASTICITY`):
    spend x r, results x r ** e, ROAS x r ** (e - 1), CPA x r ** (1 - e), with
    ``r = (1 + executed) / (1 + suggested)``. The original is kept under ``"as_suggested"``.
    """
    from growthops.ads.thresholds import ELASTICITY

    e = float((predicted.get("elasticity") or {}).get("central") or ELASTICITY)
    r = (1 + executed_change) / (1 + suggested_change)
    power = {"spend": 1.0, "results": e, "roas": e - 1, "cpa": 1 - e}
    metrics = {}
    for name, q in (predicted.get("metrics") or {}).items():
        if name in power and isinstance(q, dict):
            q = {**q, **{k: round(float(q[k]) * r ** power[name], 4) for k in ("p10", "p50", "p90") if k in q}}
        metrics[name] = q
    return {**predicted, "metrics": metrics,
            "as_suggested": {"change": suggested_change, "metrics": predicted.get("metrics")},
            "executed_change": round(executed_change, 6)}


def _executed_change(suggestion: dict[str, Any]) -> tuple[float, float] | None:
    """(suggested, executed) budget change fractions when a guard rail changed the step."""
    step, params = suggestion.get("executed_step"), _jsonb(suggestion.get("action_params"))
    budget = params.get("daily_budget") or {}
    if not isinstance(step, dict) or step.get("action") != "budget_change" or budget.get("change") is None:
        return None
    if not step.get("from") or step.get("to") is None:
        return None
    executed, suggested = float(step["to"]) / float(step["from"]) - 1, float(budget["change"])
    return (suggested, executed) if abs(executed - suggested) > 0.005 else None


_BASELINE_SQL = """
with ent as (
  select campaign_id, adset_id from ads.metrics_daily
  where tenant_id = %(t)s and platform = %(p)s and level = %(lv)s and entity_id = %(id)s
    and day < %(start)s + %(n)s
  order by day desc limit 1
), mem as (
  select 'entity'::text as role, %(lv)s::text as level, %(id)s::text as entity_id
  union all
  select 'parent', %(plv)s::text, case %(lv)s::text when 'ad' then ent.adset_id else ent.campaign_id end
  from ent where %(plv)s::text is not null
)
select mem.role, mem.level, mem.entity_id,
       coalesce(sum(m.spend), 0)::float8 as spend, coalesce(sum(m.impressions), 0)::float8 as impressions,
       coalesce(sum(m.clicks), 0)::float8 as clicks, coalesce(sum({result}), 0)::float8 as results,
       coalesce(sum(m.conversion_value), 0)::float8 as value, count(distinct m.day) as days
from mem
left join ads.metrics_daily m
  on m.tenant_id = %(t)s and m.platform = %(p)s and m.level = mem.level and m.entity_id = mem.entity_id
 and m.day between %(start)s - %(n)s and %(start)s - 1
where mem.entity_id is not null
group by mem.role, mem.level, mem.entity_id
"""


def open_hypothesis(conn: Any, *, tenant_id: UUID | str, suggestion: dict[str, Any], execution_id: int | None,
                    executed_at: datetime, start_day: date, period_days: int = 7) -> int:
    """Open (or find) the hypothesis of an executed suggestion; return its ``hypothesis_id``.

    ``suggestion`` is an ``ads.suggestions`` row (dict): ``suggestion_id``, ``type``,
    ``platform``, ``entity_type``, ``entity_id``, ``predicted_metrics``, ``confidence`` (percent
    0-100), and optionally ``action``, ``expected_impact``, ``evidence``, ``action_params`` and
    ``executed_step`` (the guard rails' step, ``{"action": "budget_change", "from", "to"}``: when
    it differs from the suggested change the prediction is rescaled, see
    :func:`rescale_prediction`).
    The window is ``start_day`` .. ``start_day + period_days - 1`` (reporting days); the baseline
    the ``period_days`` before ``start_day`` (sums, days with data, and the parent's sums).
    Idempotent per suggestion: a second call returns the same id and changes nothing (except
    filling a missing ``execution_id``). Raises :class:`InvalidInput` for a missing field or a
    ``period_days`` outside 1-90. Never commits.
    """
    missing = [k for k in ("suggestion_id", "type", "platform", "entity_type", "entity_id",
                           "predicted_metrics", "confidence") if suggestion.get(k) is None]
    if missing:
        raise InvalidInput(f"suggestion: missing field(s) {', '.join(missing)}")
    if not 1 <= int(period_days) <= 90:
        raise InvalidInput(f"period_days: {period_days} is not between 1 and 90")
    from growthops.ads.config import load_context

    ctx = load_context(conn, tenant_id=UUID(str(tenant_id)))
    predicted = _jsonb(suggestion["predicted_metrics"])
    changed = _executed_change(suggestion)
    if changed is not None:
        predicted = rescale_prediction(predicted, *changed)
    evidence = _jsonb(suggestion.get("evidence"))
    lv, eid, platform = suggestion["entity_type"], str(suggestion["entity_id"]), suggestion["platform"]
    rows = conn.execute(
        _BASELINE_SQL.format(result=ctx.result_sql("m")),
        {"t": str(tenant_id), "p": platform, "lv": lv, "id": eid, "plv": _parent_level(lv),
         "start": start_day, "n": int(period_days)},
    ).fetchall()
    baseline: dict[str, Any] = {
        "window": [(start_day - timedelta(days=period_days)).isoformat(),
                   (start_day - timedelta(days=1)).isoformat()],
        "context": {
            "target_roas": evidence.get("target_roas") or ctx.target_roas(platform),
            "value_per_result": evidence.get("value_per_result") or ctx.ticket_price,
            "action_params": _jsonb(suggestion.get("action_params")),
            "roas_driven": "p_roas_below_target" in evidence,
            "executed_step": suggestion.get("executed_step"),
        },
    }
    for r in rows:
        baseline[r["role"]] = {"level": r["level"], "entity_id": r["entity_id"], "days": r["days"],
                               **_ratios({k: r[k] for k in _SUMS}, None)}
    end_day = start_day + timedelta(days=period_days - 1)
    action = suggestion.get("action") or f"{suggestion['type']} {lv} {eid}"
    impact = suggestion.get("expected_impact") or ""
    text = f"{action}. Over {start_day.isoformat()}..{end_day.isoformat()}: {impact}".strip()
    row = conn.execute(
        """insert into ads.hypothesis_tracking
             (tenant_id, suggestion_id, execution_id, suggestion_type, platform, entity_type, entity_id,
              hypothesis_text, predicted_metrics, confidence_score, executed_at, start_day,
              measurement_period_days, measurement_end_date, baseline_metrics)
           values (%(t)s, %(sid)s, %(xid)s, %(type)s, %(p)s, %(lv)s, %(id)s, %(text)s, %(pred)s::jsonb,
                   %(conf)s, %(at)s, %(start)s, %(n)s, %(end)s, %(base)s::jsonb)
           on conflict (tenant_id, suggestion_id) do update
             set execution_id = coalesce(ads.hypothesis_tracking.execution_id, excluded.execution_id)
           returning hypothesis_id""",
        {"t": str(tenant_id), "sid": int(suggestion["suggestion_id"]), "xid": execution_id,
         "type": suggestion["type"], "p": platform, "lv": lv, "id": eid, "text": text,
         "pred": json.dumps(predicted), "conf": int(suggestion["confidence"]), "at": executed_at,
         "start": start_day, "n": int(period_days), "end": end_day,
         "base": json.dumps(baseline, default=str)},
    ).fetchone()
    return int(row["hypothesis_id"])


def _ratios(s: dict[str, float], vpr: float | None, use_value: bool = True) -> dict[str, Any]:
    """Sums plus ratios of sums: ROAS (value / spend, or results x value per result / spend when
    the platform reports no value), CPA, CPM (per 1 000 impressions), CTR (fraction)."""
    sp, im, cl, res, val = (float(s.get(k) or 0.0) for k in _SUMS)
    value = val if use_value else (res * vpr if vpr else 0.0)
    out: dict[str, Any] = {k: round(float(s.get(k) or 0.0), 4) for k in _SUMS}
    out["roas"] = value / sp if sp > 0 and (use_value or vpr) else None
    out["cpa"] = sp / res if res > 0 else None
    out["cpm"] = 1000 * sp / im if im > 0 else None
    out["ctr"] = cl / im if im > 0 else None
    return out


def _finite(o: Any) -> Any:
    """Replace NaN and infinities (invalid in JSON) by None, recursively."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, date | datetime):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")
