"""English and French wording of the allocation's budget suggestions (French in ``ads/locale``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from growthops.ads.suggestions import texts as tx
from growthops.core.i18n import LANGS, N_, _

if TYPE_CHECKING:
    from growthops.ads.allocation.allocate import Allocation, Line

ACTION_UP = N_("Allocation: raise the daily budget of {level} {name} from {budget_from} to {budget_to} (+{step}), toward {goal}")
ACTION_DOWN = N_("Allocation: lower the daily budget of {level} {name} from {budget_from} to {budget_to} (−{step}), toward {goal}")
REASON = N_("The budget allocation across the account's {level_plural} moves budget to where the fitted response curves bring the most {objective} per unit of spend: here about {marginal} at the margin against {price} at the optimum; probability that this step improves the objective: {conf}.")
IMPACT = N_("Over 7 days: {delta} {objective} ({lo} to {hi}) for {spend} of spend.")
OBJECTIVES = {"value": N_("conversion value"), "results": N_("conversions")}
LEVEL_PLURAL = {"adset": N_("ad sets"), "campaign": N_("campaigns")}


def render_line(a: Allocation, ln: Line, cur: str) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """Return the suggestion's ``texts`` (en, fr) and ``predicted_metrics`` for one moving line."""
    value = a.objective == "value_at_target_roas"
    unit = "value" if value else "results"
    up = ln.step_budget > ln.daily_budget
    exp = ln.expected
    d = {k: exp["step"][k] - exp["current"]["p50"] for k in ("p10", "p50", "p90")}
    dspend = 7 * (ln.step_budget - ln.daily_budget)
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        def fmt(x: float, lang: str = lang) -> str:
            return tx.money(x, cur, lang) if value else tx.num(x, lang)

        marginal = exp.get("marginal") or 0.0
        price = a.shadow_price or 0.0
        p = dict(level=tx.level(a.level, lang), name=ln.entity_name or ln.entity_id,
                 budget_from=tx.money(ln.daily_budget, cur, lang), budget_to=tx.money(ln.step_budget, cur, lang),
                 step=tx.pct(abs(ln.step_budget / ln.daily_budget - 1), lang),
                 goal=tx.money(ln.recommended_budget, cur, lang),
                 level_plural=_(lang, LEVEL_PLURAL[a.level]), objective=_(lang, OBJECTIVES[unit]),
                 marginal=tx.ratio(marginal, lang) if value else tx.money(1 / marginal if marginal else 0, cur, lang),
                 price=tx.ratio(price, lang) if value else tx.money(1 / price if price else 0, cur, lang),
                 conf=tx.pct((ln.confidence or 0) / 100, lang),
                 delta=("+" if d["p50"] >= 0 else "") + fmt(7 * d["p50"]), lo=fmt(7 * min(d.values())),
                 hi=fmt(7 * max(d.values())), spend=("+" if dspend >= 0 else "") + tx.money(dspend, cur, lang))
        out[lang] = {"action": _(lang, ACTION_UP if up else ACTION_DOWN, **p),
                     "reason": _(lang, REASON, **p), "expected_impact": _(lang, IMPACT, **p)}
    week_spend = 7 * ln.step_budget

    vpr = float(ln.curve.get("value_per_result") or 1.0) if value else 1.0

    def q(key: str, per: float = 1.0, u: str = "results") -> dict[str, Any]:
        return {k: round(7 * exp[key][k] / per, 2) for k in ("p10", "p50", "p90")} | {"unit": u}

    metrics: dict[str, Any] = {"spend": {"p10": week_spend, "p50": week_spend, "p90": week_spend, "unit": cur},
                               "results": q("step", vpr)}
    status_quo = {"spend": round(7 * ln.daily_budget, 2), "results": round(7 * exp["current"]["p50"] / vpr, 2)}
    if value:
        metrics["value"] = q("step", 1.0, cur)
        status_quo["value"] = round(7 * exp["current"]["p50"], 2)
    predicted = {"horizon_days": 7, "metrics": metrics, "status_quo": status_quo,
                 "allocation": {"allocation_id": a.allocation_id, "recommended_budget": ln.recommended_budget}}
    return out, predicted
