"""Allocate an account's daily budgets: fit, sample, solve, step within the rails, store, suggest.

:func:`allocate` runs once per tenant, platform and reporting day (a replayed day returns the
stored allocation):

1. **Where budgets live and what they are now**: the platform's live entities
   (``AdPlatform.list_entities``: budget, status, learning stage), the campaign level if any
   campaign has a budget of its own, else the ad set level; without an ad account, the last
   reported ``ads.metrics_daily.daily_budget``.
2. **The curves** (:mod:`.curves`): the last :data:`FIT_DAYS` days ending
   :data:`growthops.ads.learning.hypotheses.SETTLE_DAYS` before ``as_of`` (the days late
   conversions still restate are left out), one query.
3. **The objective**: ``value_at_target_roas`` when the platform reports conversion value and
   has no ``max_cpa``, else ``conversions_at_target_cpa`` (targets from
   :class:`growthops.ads.config.TenantContext`). Budget ceiling: what the tenant's
   ``monthly_budget_max`` leaves, computed as the guard rail does
   (:func:`growthops.ads.action.guardrails.load_spend`).
4. **The allocation** (:mod:`.solve`): ``thompson`` solves on ONE joint draw of every curve from
   its posterior (Thompson sampling: Russo et al., "A Tutorial on Thompson Sampling", 2018), so
   the uncertain curves get explored; ``posterior_mean`` solves on the posterior means. Each
   budget stays within ``[live / TRUST_REGION, live x TRUST_REGION]`` (the fitted curve is not
   trusted far from the spend it was fitted on: :data:`TRUST_REGION`, :data:`RECENT_DAYS`). Entities in Meta's learning phase, protected,
   with too little data, or already in front of a person (a pending or approved budget
   suggestion) keep their budget.
5. **Today's step** toward that optimum: at most ``min(max_change_pct, max_change_pct_24h)`` of
   the live budget (a step never starts a learning phase), none under :data:`DEADBAND`, checked
   by :func:`growthops.ads.action.guardrails.check` (a split keeps its allowed step, a refusal
   holds), increases scaled down so the steps stay under the ceiling.
6. **Confidence and expected effect** from :data:`DRAWS` posterior draws: a line's confidence is
   P(its step's gain in objective exceeds its budget change x the shadow price of the
   posterior-mean solution); the run's expected effect is the 7-day change in objective and
   spend (p10, p50, p90) of the steps and of the full recommendation.
7. **Stored** in ``ads.allocation_runs`` and ``ads.budget_allocation``; each line with a step and
   a confidence >= :data:`growthops.ads.thresholds.MIN_CONFIDENCE` becomes a budget suggestion
   (``scale`` / ``budget_increase`` / ``budget_decrease``, ``action_params.daily_budget``) that
   is approved and executed like any other (:mod:`growthops.ads.action`). Decreases get one
   priority rank more than increases of the same stake, so an executor working by priority
   frees budget before it spends it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.ads.action import guardrails as gr
from growthops.ads.action.changes import BUDGET_TYPES
from growthops.ads.allocation import curves as cv
from growthops.ads.allocation.solve import solve
from growthops.ads.allocation.texts import render_line
from growthops.ads.config import TenantContext, load_context
from growthops.ads.learning.hypotheses import SETTLE_DAYS
from growthops.ads.thresholds import MIN_CONFIDENCE, SUGGESTION_TTL_HOURS
from growthops.connectors.base import EntityState, PlatformError
from growthops.core.errors import GrowthopsError, InvalidInput, NotFound

STRATEGIES = ("thompson", "posterior_mean")
#: Days of history each curve is fitted on (weighted, see curves.HALF_LIFE_DAYS).
FIT_DAYS = 42
#: A recommended budget stays within [live / TRUST_REGION, live x TRUST_REGION], and within one
#: step (the rails' percentage) of the spend level observed over the last RECENT_DAYS fitted
#: days: the curve is not extrapolated beyond what the data have shown, so a budget climbs only
#: as fast as the data confirm the climb (the fit ends SETTLE_DAYS before as_of).
TRUST_REGION = 2.0
RECENT_DAYS = 7
#: Average days in a month, for the sustainable daily run rate of a monthly budget (Google Ads
#: Help, "About average daily budgets": 30.4).
DAYS_PER_MONTH = 30.4
#: Steps smaller than this fraction of the live budget are not worth a change.
DEADBAND = 0.05
#: Posterior draws for confidences and expected effects.
DRAWS = 400
#: The expected effect is stated over this many days (the suggestions' horizon).
HORIZON_DAYS = 7
#: Value objective: the least conversion value an extra unit of budget must bring back
#: (break-even when the value is margin, as the policy benchmark assumes).
VALUE_FLOOR = 1.0
#: Conversions objective: no break-even exists; the average CPA target is the only bound.
CONVERSIONS_FLOOR = 1e-9


@dataclass
class Line:
    """One budget-holding entity of an allocation (money in the tenant's currency)."""

    entity_id: str
    entity_name: str | None
    daily_budget: float
    recommended_budget: float
    step_budget: float
    status: str
    confidence: int | None = None
    curve: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    suggestion_id: int | None = None


@dataclass
class Allocation:
    """An allocation run and its lines; ``created`` False when the day's run already existed."""

    allocation_id: int
    as_of: date
    platform: str
    level: str
    strategy: str
    objective: str
    target_roas: float | None
    target_cpa: float | None
    daily_cap: float | None
    current_total: float
    recommended_total: float
    step_total: float
    shadow_price: float | None
    expected_effect: dict[str, Any]
    details: dict[str, Any]
    suggestions: int
    created_at: datetime | None
    lines: list[Line]
    created: bool = True


def _live_budgets(conn: Any, *, tenant_id: UUID, platform: str, as_of: date) -> tuple[str, list[EntityState], str]:
    """Return ``(level, budget holders, source)``: live from the ad account, else the metrics."""
    from growthops.connectors.registry import get_platform

    try:
        with conn.transaction():
            ents = get_platform(conn, tenant_id=tenant_id, platform=platform).list_entities()
        holders = [e for e in ents if e.daily_budget is not None and e.level in ("campaign", "adset")
                   and e.status not in ("archived", "deleted")]
        level = "campaign" if any(e.level == "campaign" for e in holders) else "adset"
        return level, [e for e in holders if e.level == level], "platform"
    except NotFound:
        pass
    except (PlatformError, GrowthopsError) as exc:
        raise InvalidInput(f"cannot read the {platform} account's budgets: {exc}") from exc
    rows = conn.execute(
        """select distinct on (level, entity_id) level, entity_id, entity_name, daily_budget
           from ads.metrics_daily
           where platform = %s and level in ('campaign', 'adset') and day between %s::date - 6 and %s
             and daily_budget is not null
           order by level, entity_id, day desc""", [platform, as_of, as_of]).fetchall()
    level = "campaign" if any(r["level"] == "campaign" for r in rows) else "adset"
    return level, [EntityState(entity_id=r["entity_id"], level=r["level"], name=r["entity_name"] or r["entity_id"],
                               status="active", daily_budget=Decimal(r["daily_budget"]))
                   for r in rows if r["level"] == level], "metrics"


def _history(conn: Any, ctx: TenantContext, platform: str, level: str, ids: list[str],
             as_of: date) -> dict[str, dict[str, np.ndarray]]:
    """Daily spend, results and value of ``ids`` over the fit window (one query)."""
    last = as_of - timedelta(days=SETTLE_DAYS)
    rows = conn.execute(
        f"""select m.entity_id, m.spend::float8 as spend, {ctx.result_sql('m')}::float8 as results,
                   m.conversion_value::float8 as value
            from ads.metrics_daily m
            where m.platform = %s and m.level = %s and m.entity_id = any(%s)
              and m.day between %s and %s order by m.entity_id, m.day""",
        [platform, level, ids, last - timedelta(days=FIT_DAYS - 1), last]).fetchall()
    out: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        d = out.setdefault(r["entity_id"], {"spend": [], "results": [], "value": []})
        d["spend"].append(r["spend"])
        d["results"].append(r["results"] or 0.0)
        d["value"].append(r["value"] or 0.0)
    return {k: {c: np.asarray(v) for c, v in d.items()} for k, d in out.items()}


def _busy_entities(conn: Any, platform: str, now: datetime) -> dict[str, int]:
    """Entities with a budget suggestion in front of a person (pending, unexpired, or approved
    and not executed yet) -> its id."""
    rows = conn.execute(
        """select entity_id, min(suggestion_id) as sid from ads.suggestions
           where platform = %s and type = any(%s)
             and (status in ('approved', 'executing') or (status = 'pending' and expires_at > %s))
           group by entity_id""", [platform, list(BUDGET_TYPES), now]).fetchall()
    return {r["entity_id"]: r["sid"] for r in rows}


def _seed(tenant_id: UUID, as_of: date, platform: str) -> list[int]:
    return [UUID(str(tenant_id)).int % (2**63), as_of.toordinal(), sum(map(ord, platform))]


def allocate(conn: Any, *, tenant_id: UUID, as_of: date | None = None, platform: str = "meta",
             strategy: str = "thompson", now: datetime | None = None, suggest: bool = True) -> Allocation:
    """Recommend the account's daily budgets for ``as_of`` and store them (module docstring).

    ``as_of`` defaults to the tenant's latest day with metrics on ``platform``; ``now`` (UTC)
    is the suggestions' creation time (default the wall clock). Inside the caller's tenant
    transaction (no commit). Returns the :class:`Allocation`; the day's stored one, unchanged,
    if it exists. Raises :class:`InvalidInput` for an unknown strategy, no metrics, no budget
    holder, or no target CPA in the conversions objective.
    """
    if strategy not in STRATEGIES:
        raise InvalidInput(f"strategy: must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    now = now or datetime.now(UTC)
    ctx = load_context(conn, tenant_id=tenant_id)
    if as_of is None:
        as_of = conn.execute("select max(day) as d from ads.metrics_daily where platform = %s",
                             [platform]).fetchone()["d"]
        if as_of is None:
            raise InvalidInput(f"platform: the tenant has no {platform} metrics to allocate from")
    existing = conn.execute("select allocation_id from ads.allocation_runs where platform = %s and as_of = %s",
                            [platform, as_of]).fetchone()
    if existing:
        out = load_allocation(conn, allocation_id=existing["allocation_id"])
        out.created = False
        return out
    level, holders, source = _live_budgets(conn, tenant_id=tenant_id, platform=platform, as_of=as_of)
    if not holders:
        raise InvalidInput(f"platform: no {platform} campaign or ad set has a daily budget of its own")
    ids = [e.entity_id for e in holders]
    hist = _history(conn, ctx, platform, level, ids, as_of)
    empty = {"spend": np.zeros(0), "results": np.zeros(0), "value": np.zeros(0)}
    h = [hist.get(i, empty) for i in ids]
    has_value = sum(float(x["value"].sum()) for x in h) > 0
    cfg = ctx.config(platform)
    value_mode = has_value and not cfg.max_cpa
    curves = cv.fit([x["spend"] for x in h], [x["results"] for x in h], [x["value"] for x in h],
                    value_mode=value_mode)
    target_roas = ctx.target_roas(platform) if value_mode else None
    tot_r = sum(float(x["results"].sum()) for x in h)
    v_acct = sum(float(x["value"].sum()) for x in h) / tot_r if tot_r else None
    target_cpa = None if value_mode else ctx.target_cpa(platform, v_acct)
    if not value_mode and not target_cpa:
        raise InvalidInput("max_cpa: no conversion value is reported, so the conversions objective needs a "
                           "target CPA (growthops config set --max-cpa) or the tenant's ticket_price")
    target = float(target_roas) if value_mode else 1.0 / float(target_cpa or 1)
    floor = VALUE_FLOOR if value_mode else CONVERSIONS_FLOOR
    rules_by, tenant = gr.load_rules(conn, tenant_id=tenant_id)
    rules = rules_by.get(platform) or gr.default_rules(platform, tenant["monthly_budget_max"])
    spend_state = gr.load_spend(conn, tenant_id=tenant_id, now=now, time_zone=tenant["time_zone"])
    cur = np.array([float(e.daily_budget or 0) for e in holders])
    busy = _busy_entities(conn, platform, now)
    status = np.array(["increase"] * len(ids), dtype=object)
    for k, e in enumerate(holders):
        if e.entity_id in rules.protected_entity_ids or (e.parent_id and e.parent_id in rules.protected_entity_ids):
            status[k] = "protected"
        elif e.learning_stage == "learning" and not rules.allow_learning_edits:
            status[k] = "learning"
        elif not curves.ok[k] or e.status != "active" or cur[k] <= 0:
            status[k] = "insufficient_data"
        elif e.entity_id in busy:
            status[k] = "hold"
    movable = status == "increase"
    w = curves.value
    a_mean = curves.a_mean()
    # Objective of the entities that keep their budget: their curve at the live budget, or
    # their observed average where no curve was fitted.
    obs = np.array([float((x["value"] if value_mode else x["results"]).sum()) / max(len(x["spend"]), 1) for x in h])
    fixed_obj = np.where(curves.ok, w * cv.response(a_mean, curves.b_mean, curves.xbar, cur), obs)
    fixed_spend = float(cur[~movable].sum())
    fixed_objective = float(fixed_obj[~movable].sum())
    cap_total = None
    if rules.monthly_budget_max is not None:
        days_left = max(spend_state.days_remaining, 1)
        headroom = (float(rules.monthly_budget_max) - float(spend_state.month_to_date)) / days_left \
            - float(spend_state.daily_spend)
        # the guard rail's headroom this month, and a run rate the month can sustain
        cap_total = max(min(float(cur.sum()) + headroom, float(rules.monthly_budget_max) / DAYS_PER_MONTH), 0.0)
    min_b = float(rules.min_daily_budget)
    p_step = float(min(rules.max_change_pct, rules.max_change_pct_24h)) / 100.0
    recent = np.array([float(x["spend"][-RECENT_DAYS:].mean()) if len(x["spend"]) else 0.0 for x in h])
    lo = np.maximum(min_b, np.maximum(cur / TRUST_REGION, np.minimum(cur, recent / (1 + p_step))))
    hi = np.maximum(np.minimum(cur * TRUST_REGION, np.maximum(cur, recent * (1 + p_step))), lo)
    cap = None if cap_total is None else max(cap_total - fixed_spend, float(lo[movable].sum()))
    m = movable

    def solve_on(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float, str]:
        goal = cur.copy()
        if not m.any():
            return goal, float("nan"), "nothing_movable"
        s = solve(w[m], a[m], b[m], curves.xbar[m], lo[m], hi[m], cap=cap, target=target, floor=floor,
                  fixed_spend=fixed_spend, fixed_objective=fixed_objective)
        goal[m] = s.x
        return goal, s.lam, s.bound_by

    rng = np.random.default_rng(_seed(tenant_id, as_of, platform))
    goal_pm, lam_pm, bound_pm = solve_on(a_mean, curves.b_mean)
    if strategy == "thompson":
        a1, b1 = curves.draw(rng, 1)
        goal, lam, bound = solve_on(a1[0], b1[0])
    else:
        goal, lam, bound = goal_pm, lam_pm, bound_pm
    step = _steps(cur, goal, m, rules, cap)
    # The rails, as execution will check them (a split keeps its step, a refusal holds).
    hist24 = gr.load_history(conn, tenant_id=tenant_id, keys=[(platform, i) for i in ids], now=now)
    rail_note: dict[str, str] = {}
    for k in np.flatnonzero(m & (np.abs(step - cur) >= 0.005)):
        e = holders[k]
        change = gr.ProposedChange(platform=platform, entity_type=level, entity_id=e.entity_id,
                                   action="budget_change", current=e.daily_budget,
                                   target=gr.cents_toward(step[k], e.daily_budget),
                                   requested=gr.cents_toward(step[k], e.daily_budget))
        d = gr.check(change, rules, gr.GuardState(entity=e, now=now, spend=spend_state,
                                                  history=hist24.get((platform, e.entity_id), gr.History())))
        if d.outcome == "split" and d.step is not None and d.step.target is not None:
            step[k] = float(d.step.target)
        elif d.outcome != "allowed":
            step[k] = cur[k]
            rail_note[e.entity_id] = d.rails[0] if d.rails else "refused"
    # Posterior draws: confidences and the expected effect.
    A, B = curves.draw(rng, DRAWS)
    y_cur = w * cv.response(A, B, curves.xbar, cur)
    y_step = w * cv.response(A, B, curves.xbar, step)
    y_goal = w * cv.response(A, B, curves.xbar, goal)
    price = lam_pm if np.isfinite(lam_pm) else floor
    gain = (y_step - y_cur) - price * (step - cur)
    conf = (gain > 0).mean(axis=0)
    lines: list[Line] = []
    for k, e in enumerate(holders):
        st = status[k]
        if st == "increase":
            if abs(step[k] - cur[k]) < 0.005:
                st = "hold"
            elif conf[k] < MIN_CONFIDENCE:
                st = "uncertain"
            else:
                st = "increase" if step[k] > cur[k] else "decrease"
        curve = {"xbar": round(float(curves.xbar[k]), 2), "b_mean": round(float(curves.b_mean[k]), 4),
                 "b_sd": round(float(curves.b_sd[k]), 4), "a_mean": round(float(a_mean[k]), 4),
                 "value_per_result": round(float(w[k]), 4), "days": int(curves.days[k]),
                 "results": round(float(curves.results[k]), 2), "dispersion": round(float(curves.disp[k]), 3)}
        if e.entity_id in rail_note:
            curve["rail"] = rail_note[e.entity_id]
        if e.entity_id in busy:
            curve["pending_suggestion_id"] = busy[e.entity_id]
        exp = {"current": _q(y_cur[:, k]), "step": _q(y_step[:, k]), "recommended": _q(y_goal[:, k]),
               "marginal": round(float(np.mean(B[:, k] * y_cur[:, k] / cur[k])), 4)
               if cur[k] > 0 else None}
        lines.append(Line(e.entity_id, e.name, round(float(cur[k]), 2), round(float(goal[k]), 2),
                          round(float(step[k]), 2), st,
                          int(round(100 * conf[k])) if status[k] == "increase" else None, curve, exp))
    # Only the lines that move count in the step's effect.
    moving = np.array([ln.status in ("increase", "decrease") for ln in lines])
    step_eff = np.where(moving, step, cur)
    y_eff = w * cv.response(A, B, curves.xbar, step_eff)
    unit = "value" if value_mode else "results"
    effect = {
        "horizon_days": HORIZON_DAYS, "unit": unit,
        "step": {f"delta_{unit}": _q(HORIZON_DAYS * (y_eff - y_cur).sum(axis=1)),
                 "delta_spend": round(HORIZON_DAYS * float((step_eff - cur).sum()), 2),
                 "p_improves": round(float(((y_eff - y_cur).sum(axis=1) - price * (step_eff - cur).sum() > 0).mean()), 4)},
        "recommended": {f"delta_{unit}": _q(HORIZON_DAYS * (y_goal - y_cur).sum(axis=1)),
                        "delta_spend": round(HORIZON_DAYS * float((goal - cur).sum()), 2)},
    }
    if value_mode:
        effect["step"]["delta_profit"] = _q(HORIZON_DAYS * ((y_eff - y_cur).sum(axis=1) - (step_eff - cur).sum()))
        effect["recommended"]["delta_profit"] = _q(HORIZON_DAYS * ((y_goal - y_cur).sum(axis=1) - (goal - cur).sum()))
    details = {"source": source, "bound_by": bound, "bound_by_posterior_mean": bound_pm,
               "fit_days": FIT_DAYS, "fit_lag_days": SETTLE_DAYS, "trust_region": TRUST_REGION,
               "floor": floor, "draws": DRAWS,
               "month_to_date_spend": float(spend_state.month_to_date),
               "days_remaining": spend_state.days_remaining}
    alloc = Allocation(
        allocation_id=0, as_of=as_of, platform=platform, level=level, strategy=strategy,
        objective="value_at_target_roas" if value_mode else "conversions_at_target_cpa",
        target_roas=target_roas, target_cpa=round(float(target_cpa), 2) if target_cpa else None,
        daily_cap=round(cap_total, 2) if cap_total is not None else None,
        current_total=round(float(cur.sum()), 2), recommended_total=round(float(goal.sum()), 2),
        step_total=round(float(step_eff.sum()), 2),
        shadow_price=round(float(lam), 6) if np.isfinite(lam) else None,
        expected_effect=effect, details=details, suggestions=0, created_at=now, lines=lines)
    _store(conn, ctx, alloc)
    if suggest:
        _suggest(conn, ctx, alloc, now)
    return alloc


def _q(x: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return {"p10": round(float(p10), 2), "p50": round(float(p50), 2), "p90": round(float(p90), 2)}


def _steps(cur: np.ndarray, goal: np.ndarray, movable: np.ndarray, rules: gr.Rules, cap: float | None) -> np.ndarray:
    """Today's budgets: toward ``goal`` by at most the per-action and 24 h rails, none under the
    deadband, not under the minimum budget, increases scaled so the movable total stays under
    ``cap``; cents rounded toward the live budget."""
    p = float(min(rules.max_change_pct, rules.max_change_pct_24h)) / 100.0
    step = cur.copy()
    ratio = np.divide(goal, cur, out=np.ones_like(cur), where=cur > 0)
    want = movable & (np.abs(ratio - 1) >= DEADBAND)
    step[want] = cur[want] * np.clip(ratio[want], 1 - p, 1 + p)
    step = np.maximum(step, np.minimum(cur, float(rules.min_daily_budget)))
    if cap is not None:
        inc = np.where(movable, np.maximum(step - cur, 0), 0)
        base = float(np.where(movable, np.minimum(step, cur), 0).sum())
        if inc.sum() > 0 and base + inc.sum() > cap:
            step = np.where(inc > 0, cur + inc * max(cap - base, 0.0) / inc.sum(), step)
            step = np.where(movable & (np.abs(step / np.where(cur > 0, cur, 1) - 1) < DEADBAND), cur, step)
    up = step > cur
    return np.where(up, np.floor(step * 100) / 100, np.ceil(step * 100) / 100)


def _store(conn: Any, ctx: TenantContext, a: Allocation) -> None:
    """Insert the run and its lines (two statements); sets ``a.allocation_id``."""
    row = conn.execute(
        """insert into ads.allocation_runs (tenant_id, as_of, platform, level, strategy, objective,
             target_roas, target_cpa, daily_cap, current_total, recommended_total, step_total,
             shadow_price, expected_effect, details, created_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           returning allocation_id""",
        [ctx.tenant_id, a.as_of, a.platform, a.level, a.strategy, a.objective, a.target_roas,
         a.target_cpa, a.daily_cap, a.current_total, a.recommended_total, a.step_total,
         a.shadow_price, Jsonb(a.expected_effect), Jsonb(a.details), a.created_at]).fetchone()
    a.allocation_id = row["allocation_id"]
    conn.execute(
        """insert into ads.budget_allocation (tenant_id, allocation_id, platform, level, entity_id,
             entity_name, daily_budget, recommended_budget, step_budget, allocation_strategy,
             target_roas, status, confidence, curve, expected)
           select %(t)s, %(id)s, %(p)s, %(lv)s, x.entity_id, x.entity_name, x.daily_budget,
                  x.recommended_budget, x.step_budget, %(s)s, %(troas)s, x.status, x.confidence,
                  x.curve, x.expected
           from jsonb_to_recordset(%(rows)s::jsonb) as x(entity_id text, entity_name text,
             daily_budget numeric, recommended_budget numeric, step_budget numeric, status text,
             confidence int, curve jsonb, expected jsonb)""",
        {"t": ctx.tenant_id, "id": a.allocation_id, "p": a.platform, "lv": a.level, "s": a.strategy,
         "troas": a.target_roas,
         "rows": json.dumps([{k: v for k, v in ln.__dict__.items() if k != "suggestion_id"} for ln in a.lines])})


def _suggest(conn: Any, ctx: TenantContext, a: Allocation, now: datetime) -> None:
    """Turn the moving lines into budget suggestions (one statement) and link them."""
    from growthops.ads.suggestions.generate import _finite, _json_default

    week_total = 7 * a.current_total
    payload = []
    for ln in a.lines:
        if ln.status not in ("increase", "decrease"):
            continue
        up = ln.status == "increase"
        kind = ("scale" if a.level == "adset" else "budget_increase") if up else "budget_decrease"
        stake = 7 * abs(ln.step_budget - ln.daily_budget)
        share = stake / week_total if week_total > 0 else 0.0
        rank = 0 if share >= 0.10 else 1 if share >= 0.03 else 2 if share >= 0.01 else 3
        if not up:
            rank = max(rank - 1, 0)
        texts, predicted = render_line(a, ln, ctx.currency)
        payload.append({
            "type": kind, "priority": ("critical", "high", "medium", "low")[rank],
            "action": texts["en"]["action"], "reason": texts["en"]["reason"],
            "expected_impact": texts["en"]["expected_impact"], "texts": texts,
            "predicted_metrics": predicted,
            "action_params": {"daily_budget": {"from": ln.daily_budget, "to": ln.step_budget,
                                               "change": round(ln.step_budget / ln.daily_budget - 1, 6)},
                              "allocation_id": a.allocation_id},
            "evidence": {"allocation_id": a.allocation_id, "strategy": a.strategy, "objective": a.objective,
                         "recommended_budget": ln.recommended_budget, "curve": ln.curve,
                         "shadow_price": a.shadow_price},
            "confidence": ln.confidence, "entity_id": ln.entity_id, "entity_name": ln.entity_name})
    if not payload:
        return
    rows = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason, expected_impact,
             texts, predicted_metrics, action_params, evidence, confidence, platform, entity_type,
             entity_id, entity_name, created_at, expires_at)
           select %(t)s, %(d)s, x.type, x.priority, x.action, x.reason, x.expected_impact, x.texts,
                  x.predicted_metrics, x.action_params, x.evidence, x.confidence, %(p)s, %(lv)s,
                  x.entity_id, x.entity_name, %(now)s, %(exp)s
           from jsonb_to_recordset(%(rows)s::jsonb) as x(type text, priority text, action text,
             reason text, expected_impact text, texts jsonb, predicted_metrics jsonb,
             action_params jsonb, evidence jsonb, confidence int, entity_id text, entity_name text)
           on conflict (tenant_id, platform, entity_type, entity_id, type) where status = 'pending'
           do nothing
           returning suggestion_id, entity_id""",
        {"t": ctx.tenant_id, "d": a.as_of, "p": a.platform, "lv": a.level, "now": now,
         "exp": now + timedelta(hours=SUGGESTION_TTL_HOURS),
         "rows": json.dumps(_finite(payload), default=_json_default)}).fetchall()
    ids = {r["entity_id"]: r["suggestion_id"] for r in rows}
    for ln in a.lines:
        ln.suggestion_id = ids.get(ln.entity_id)
    a.suggestions = len(ids)
    conn.execute(
        """update ads.budget_allocation b set suggestion_id = x.sid
           from jsonb_to_recordset(%s::jsonb) as x(entity_id text, sid bigint)
           where b.allocation_id = %s and b.platform = %s and b.entity_id = x.entity_id""",
        [json.dumps([{"entity_id": k, "sid": v} for k, v in ids.items()]), a.allocation_id, a.platform])
    conn.execute("update ads.allocation_runs set suggestions = %s where allocation_id = %s",
                 [a.suggestions, a.allocation_id])


def load_allocations(conn: Any, *, allocation_ids: list[int]) -> list[Allocation]:
    """Return stored allocations with their lines, in the order of ``allocation_ids`` (two
    queries whatever their number)."""
    runs = {r["allocation_id"]: r for r in conn.execute(
        "select * from ads.allocation_runs where allocation_id = any(%s)", [allocation_ids]).fetchall()}
    by_run: dict[int, list[Line]] = {}
    for x in conn.execute(
            """select * from ads.budget_allocation where allocation_id = any(%s)
               order by allocation_id, recommended_budget - daily_budget desc, entity_id""",
            [allocation_ids]).fetchall():
        by_run.setdefault(x["allocation_id"], []).append(
            Line(x["entity_id"], x["entity_name"], float(x["daily_budget"]), float(x["recommended_budget"]),
                 float(x["step_budget"]), x["status"], x["confidence"], x["curve"], x["expected"],
                 x["suggestion_id"]))

    def f(v: Any) -> float | None:
        return float(v) if v is not None else None

    return [Allocation(
        allocation_id=r["allocation_id"], as_of=r["as_of"], platform=r["platform"], level=r["level"],
        strategy=r["strategy"], objective=r["objective"], target_roas=f(r["target_roas"]),
        target_cpa=f(r["target_cpa"]), daily_cap=f(r["daily_cap"]), current_total=float(r["current_total"]),
        recommended_total=float(r["recommended_total"]), step_total=float(r["step_total"]),
        shadow_price=r["shadow_price"], expected_effect=r["expected_effect"], details=r["details"],
        suggestions=r["suggestions"], created_at=r["created_at"], lines=by_run.get(i, []), created=False)
        for i in allocation_ids if (r := runs.get(i)) is not None]


def load_allocation(conn: Any, *, allocation_id: int) -> Allocation:
    """Return a stored allocation with its lines; :class:`NotFound` if absent."""
    found = load_allocations(conn, allocation_ids=[allocation_id])
    if not found:
        raise NotFound(f"allocation {allocation_id} not found")
    return found[0]


def latest_allocation(conn: Any, *, platform: str | None = None) -> Allocation | None:
    """Return the tenant's latest allocation (optionally on ``platform``), or None."""
    r = conn.execute(
        """select allocation_id from ads.allocation_runs where %(p)s::text is null or platform = %(p)s
           order by as_of desc, allocation_id desc limit 1""", {"p": platform}).fetchone()
    return load_allocation(conn, allocation_id=r["allocation_id"]) if r else None
