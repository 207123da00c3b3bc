"""Suggestions (seed 000 ``suggestions`` with seed 004's recommendation types).

Each rule below states a *premise* about an entity over the next 7 days at its current pace
(e.g. "its ROAS will stay below 0.6 x target") and the suggestion's ``confidence`` is the
posterior predictive probability of that premise, in percent, from the models in
:mod:`growthops.ads.suggestions.evidence` — not a constant per rule. A suggestion is
emitted only when that probability is at least ``MIN_CONFIDENCE`` and the entity has the minimum
evidence written in :mod:`growthops.ads.thresholds`.

Types and premises:

* ``pause`` (ad set, ad): ROAS < 0.6 x target (seed 001) after >= 2 target CPAs of spend.
* ``scale`` (ad set holding the budget) / ``budget_increase`` (campaign holding the budget):
  ROAS > 1.2 x target, above the peers' p75 (seed 001), out of the learning phase.
* ``budget_decrease``: ROAS < target (but not pause-worthy), or the month's spend is projected
  above the tenant's ``monthly_budget_max``.
* ``refresh`` (ad): fatigue index >= 60 and the CTR (else the results per spend) really fell.
* ``test_angle`` (campaign): at least half (and >= 2) of its ads are fatigued.
* ``campaign_diagnostic`` (campaign): a high or critical anomaly on the campaign.
* ``bid_adjustment`` (ad set): a CPM spike anomaly while the CTR held (auction pressure).

Expected impact over 7 days uses a power-law response of results to spend
(``results ∝ spend ** ELASTICITY``) and the rate posterior's p10 / p90, widened by the
elasticity range. At most one suggestion per entity, no ad-level suggestion under a paused ad
set, no duplicate of a suggestion still pending, decided within its validity or of a replayed
day (:func:`store`), at most ``MAX_SUGGESTIONS_PER_DAY``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from growthops.ads.analysis.codes import unique_inverse
from growthops.ads.analysis.predictive import estimate_dispersion
from growthops.ads.config import TenantContext
from growthops.ads.suggestions import texts as tx
from growthops.ads.suggestions.candidates import (
    Candidate,
    LazyTexts,
    _anomaly_candidates,
    _budget_change,
    _fatigue_candidates,
    _pacing_candidates,
    _q,
    _safe_div,
    plain_texts,
)
from growthops.ads.suggestions.evidence import (
    discounted_history,
    drift_moments,
    drift_variance_function,
    group_totals,
    prob_future_count_below,
    rate_posterior,
    rate_quantiles,
    transient_variance,
    value_variance,
)
from growthops.ads.thresholds import (
    BUDGET_STEP,
    MAX_SUGGESTIONS_PER_DAY,
    MIN_CONFIDENCE,
    PAUSE_MIN_SPEND_IN_TARGET_CPAS,
    PAUSE_ROAS_FRACTION_OF_TARGET,
    SCALE_ROAS_MARGIN,
    SUGGESTION_TTL_HOURS,
    scale_rules,
)
from growthops.core.i18n import LANGS

PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
VALUE_SHRINK_RESULTS = 5.0
#: Days after an executed change during which the entity gets no new suggestion (the
#: measurement window of its hypothesis; Meta's learning phase is ~7 days).
COOLDOWN_DAYS = 7
#: Actions moving less than 0.1% of the tenant's weekly spend are held back as immaterial.
MIN_STAKE_SHARE = 0.001  # value per result is shrunk toward the platform's with 5 pseudo-results


def value_targets(ctx: TenantContext, E: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per entity of the window ``E`` (:func:`growthops.ads.analysis.window.fetch_entities`):
    ``(has_value, vbar, target_roas, target_cpa)``, four length-n arrays.

    ``has_value`` (bool): the entity's platform reports conversion values (campaign level,
    30 days). ``vbar``: the value per result (account currency) — the entity's 30 days shrunk
    toward its platform's by :data:`VALUE_SHRINK_RESULTS` pseudo-results when values are
    reported, else the platform's (the tenant's ticket price; NaN without one).
    ``target_roas`` (fraction, e.g. 2.5): the platform's target; ``target_cpa`` (account
    currency): the platform's ``max_cpa`` when set, else ``vbar / target_roas``. The premises
    the suggestions and the backtest judge are written against these (docs/confidences.md).
    Config lookups run once per platform, not per entity.
    """
    platform, level = E["platform"], E["level"]
    camp = level == "campaign"
    plats = set(platform)
    v_plat: dict[str, float | None] = {}
    plat_has_value: dict[str, bool] = {}
    for p in plats:
        m = camp & (platform == p)
        value, results = E["value_30"][m].sum(), E["results_30"][m].sum()
        v_plat[p] = value / results if value > 0 and results > 0 else ctx.ticket_price
        plat_has_value[p] = bool(value > 0)
    vp = np.array([v_plat[p] if v_plat[p] else np.nan for p in platform], dtype=float)
    has_value = np.array([plat_has_value[p] for p in platform])
    vbar = np.where(
        has_value,
        (E["value_30"] + vp * VALUE_SHRINK_RESULTS) / (E["results_30"] + VALUE_SHRINK_RESULTS),
        vp,
    )
    troas_of = {p: ctx.target_roas(p) for p in plats}
    max_cpa_of = {p: ctx.config(p).max_cpa or np.nan for p in plats}
    troas = np.array([troas_of[p] for p in platform])
    max_cpa = np.array([max_cpa_of[p] for p in platform], dtype=float)
    return has_value, vbar, troas, np.where(np.isfinite(max_cpa), max_cpa, vbar / troas)


def generate(
    conn: Any,
    ctx: TenantContext,
    as_of: date,
    E: dict[str, np.ndarray],
    baselines: dict[tuple[str, str, int, str], dict[str, float]],
    anomalies: list[dict[str, Any]],
    tests_run: int,
) -> tuple[list[Candidate], dict[str, int]]:
    """Build the day's candidate suggestions from the entity window (no writes).

    ``E`` is :func:`growthops.ads.analysis.window.fetch_entities`' columns; returns the ranked, capped
    candidates and counters of what was held back and why.
    """
    held: dict[str, int] = {"insufficient_evidence": 0, "below_confidence": 0, "monthly_budget": 0}
    if not E:
        return [], held
    cur = ctx.currency
    platform, level, ids, names = E["platform"], E["level"], E["entity_id"], E["entity_name"]
    names = np.array([n or i for n, i in zip(names, ids, strict=True)], dtype=object)
    active = E["spend_7"] > 0

    # Pooled results per unit of spend by (platform, level), 14 days: the prior's centre.
    pl = np.array([f"{p}|{lv}" for p, lv in zip(platform, level, strict=True)], dtype=object)
    pooled = (np.maximum(group_totals(pl, E["results_14"]), 0.5)
              / np.maximum(group_totals(pl, E["spend_14"]), 1e-9))

    camp = level == "campaign"
    has_value, vbar, troas, target_cpa = value_targets(ctx, E)
    # Rate thresholds (results per unit of spend) equivalent to ROAS thresholds.
    lam_target = 1.0 / target_cpa
    # Day-to-day overdispersion of results per spend (pooled per platform and level, shrunk):
    # the 14 days weigh as 14 / c independent Poisson days, c = 1 + phi x daily results.
    phi = estimate_dispersion(E["results_h"], E["adj_spend_h"], E["rss_h"], E["n_sp_h"], group=pl)
    c_disp = 1.0 + phi * E["results_14"] / 14.0
    # Week-to-week drift of the rate (results per spend, last 7 days vs days 7-28 before),
    # pooled per platform and level: the next week is not the last two. Its mean too (issue 16:
    # the display tenant's rates rose by ~0.2 in log a fortnight; a mean-one drift centred the
    # predictive below where next weeks fell); see evidence.drift_moments.
    gid = unique_inverse(pl)[1]  # integer group codes: one sort of the strings
    m_drift, tau2 = drift_moments(E["results_7"], E["spend_7"], E["results_e"], E["spend_e"], gid)
    # The weekly counts vary more than Poisson's (kappa, ~2-3 on the display tenant), so the
    # drift proper is what is left of the squared changes beyond kappa times Poisson's noise
    # (issue 16: read as Poisson, an ad with a handful of results looked three times surer than
    # it was); see evidence.drift_variance_function. Too few entities: the moments above.
    tau2_f, kappa = drift_variance_function(E["results_7"], E["spend_7"], E["results_e"], E["spend_e"], gid)
    tau2 = np.where(np.isfinite(tau2_f), tau2_f, tau2)
    kappa = np.where(np.isfinite(kappa), kappa, 1.0)
    # How much of a recent deviation is transient, and how far levels move between the entity's
    # history and its recent weeks, from the tenant's own three-period changes (days 0-6, 7-29,
    # 30-89 before; evidence.transient_variance). The last 14 days are then discounted by their
    # transient (a power likelihood, k = 1 / (c + nu y)), and the history (days 15-90 before) by
    # the level's drift since (evidence.discounted_history): a two-week dip of an entity steady
    # for months is pulled toward its level, a steady loser keeps its verdict.
    y_old = np.maximum(E["results_90"] - E["results_14"], 0.0)
    s_old = np.maximum(E["spend_90"] - E["spend_14"], 0.0)
    nu, d_level = transient_variance(
        E["results_7"], E["spend_7"], E["results_30"] - E["results_7"], E["spend_30"] - E["spend_7"],
        E["results_90"] - E["results_30"], E["spend_90"] - E["spend_30"], gid,
        inflation_recent=np.maximum(kappa, 1.0 + phi * (E["results_30"] - E["results_7"]) / 23.0),
        inflation_old=np.maximum(kappa, 1.0 + phi * (E["results_90"] - E["results_30"]) / 60.0))
    # No estimate (too few entities with three periods): no transient, no history prior.
    # nu is the transient of a 23-day period; a 14-day one averages fewer days: nu x 23 / 14.
    nu14 = np.where(np.isfinite(nu), nu * 23.0 / 14.0, 0.0)
    d_level = np.where(np.isfinite(d_level), d_level, np.inf)
    # The history informs the current level no better than one week's drift allows (section 5's
    # floor): a level-drift estimate of 0 (a jump read as all transient) would otherwise let two
    # months of history outweigh two weeks of thousands of results (a budget decrease of an ad
    # set at ROAS 280 against a target of 150, at 91 %).
    d_level = np.maximum(d_level, tau2)
    # Next week's change about the level: the week-to-week drift measured between two observed
    # windows also carries the earlier window's transient, which the level's posterior now
    # carries (nu); the common shift's size m counts as its own uncertainty (it may not persist).
    tau2 = np.maximum(tau2 + m_drift ** 2 - np.where(np.isfinite(nu), nu, 0.0), 0.0)
    k_recent = 1.0 / (np.maximum(c_disp, kappa) + nu14 * E["results_14"])
    h_c, h_e, h_k = discounted_history(y_old, s_old, d_level, 1.0 + phi * y_old / 76.0)
    a, b = rate_posterior(E["results_14"] * k_recent, E["spend_14"] * k_recent, pooled,
                          history_counts=h_c, history_exposure=h_e)
    # Premises are about the NEXT 7 days at the current pace (posterior predictive), which is
    # what a reviewer and the backtest can check; see evidence.prob_future_count_below.
    s_next = E["spend_7"]
    # The value per result varies too (issue 16): its per-result dispersion and week-to-week
    # drift, pooled per platform and level from the last 7 days vs the 23 before (no entity's
    # value is shrunk toward its peers'); vbar's own uncertainty adds c_v / its results.
    c_v, tau2_v = value_variance(E["value_7"], E["results_7"], E["value_30"] - E["value_7"],
                                 E["results_30"] - E["results_7"], gid)
    c_v = np.where(has_value, c_v, 0.0)
    tau2_v = np.where(has_value, tau2_v + c_v / (E["results_30"] + VALUE_SHRINK_RESULTS), 0.0)
    pred = dict(dispersion=phi, drift=tau2, value_dispersion=c_v, overdispersion=kappa, value_drift=tau2_v, drift_mean=m_drift)
    p_bad = prob_future_count_below(lam_target * PAUSE_ROAS_FRACTION_OF_TARGET * s_next, a, b, s_next, **pred)
    p_below = prob_future_count_below(lam_target * s_next, a, b, s_next, **pred)
    p_good = 1.0 - prob_future_count_below(np.floor(lam_target * SCALE_ROAS_MARGIN * s_next) + 1, a, b, s_next, **pred)
    roas14 = np.where(has_value, _safe_div(E["value_14"], E["spend_14"]), _safe_div(E["results_14"] * vbar, E["spend_14"]))
    evaluable = np.isfinite(target_cpa) & (target_cpa > 0)

    # Where budgets live: the campaign level if any campaign reports one, else the ad set level.
    budget_level = {}
    for p in set(platform):
        budget_level[p] = "campaign" if np.any(np.isfinite(E["budget_today"][camp & (platform == p)])) else "adset"

    anomalies_by_entity: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for an in anomalies:
        anomalies_by_entity.setdefault((an["platform"], an["level"], an["entity_id"]), []).append(an)

    # Days each entity actually reported in the 14-day window: what "ROAS over N days" says.
    # (an entity of the window without a row in those 14 days says 14, as before).
    days14 = np.where(E["days_14"] > 0, E["days_14"], 14).astype(int)

    cands: list[Candidate] = []
    week_spend_total = float(E["spend_7"][camp].sum()) or float(E["spend_7"].sum())

    is_budget_level = np.array([lv == budget_level[p] for p, lv in zip(platform, level, strict=True)])
    worth_a_look = active & evaluable & (
        (np.isin(level, ("adset", "ad")) & (p_bad >= MIN_CONFIDENCE))
        | (is_budget_level & ((p_good >= MIN_CONFIDENCE) | (p_below >= MIN_CONFIDENCE)))
    )
    # Posterior rate quantiles (gamma ppf, the costliest inversion here) only where a candidate
    # can read them: the entities worth a look and, when a monthly maximum is set, the pacing
    # rule's pool (budget level, spending); element by element, so the same values (issue 16).
    need = worth_a_look | (is_budget_level & active) if ctx.monthly_budget_max else worth_a_look
    lam10, lam50, lam90 = (np.full(len(ids), np.nan) for _ in range(3))
    if need.any():
        lam10[need], lam50[need], lam90[need] = rate_quantiles(a[need], b[need])
    # Rounded once for every entity (numpy's rounding, as round() of a numpy float gives, at a
    # fraction of the cost of one call per candidate).
    spend14_r2, spend7_r2 = np.round(E["spend_14"], 2), np.round(E["spend_7"], 2)
    for i in np.flatnonzero(worth_a_look):
        p, lv = platform[i], level[i]
        key = (p, lv, ids[i])
        spend7, spend14 = E["spend_7"][i], E["spend_14"][i]
        daily = E["budget_today"][i] if np.isfinite(E["budget_today"][i]) else spend7 / 7.0
        common_ev = {
            "spend_14": spend14_r2[i], "results_14": E["results_14"][i], "value_per_result": round(float(vbar[i]), 4),
            "roas_14": round(float(roas14[i]), 4) if np.isfinite(roas14[i]) else None,
            "target_roas": troas[i], "target_cpa": round(float(target_cpa[i]), 4),
            "posterior_rate": {"shape": float(a[i]), "rate": float(b[i])}, "dispersion": float(phi[i]),
            "drift_variance": float(tau2[i]), "drift_mean": float(m_drift[i]), "overdispersion": float(kappa[i]),
            "value_dispersion": float(c_v[i]), "value_drift_variance": float(tau2_v[i]),
            "recent_weight": float(k_recent[i]), "transient_variance": float(nu14[i]),
            "history_weight": float(h_k[i]),
            "history_drift_variance": float(d_level[i]) if np.isfinite(d_level[i]) else None,
        }
        # ---- pause
        if lv in ("adset", "ad"):
            enough = spend14 >= PAUSE_MIN_SPEND_IN_TARGET_CPAS * target_cpa[i]
            if p_bad[i] >= MIN_CONFIDENCE and enough:
                save = spend7
                lost = np.array([lam10[i], lam50[i], lam90[i]]) * spend7
                bad_roas = troas[i] * PAUSE_ROAS_FRACTION_OF_TARGET
                cands.append(Candidate(
                    "pause", p, lv, ids[i], names[i], float(p_bad[i]), save,
                    LazyTexts(partial(_pause_texts, lv, names[i], roas14[i], days14[i], E["results_14"][i], spend14,
                                      troas[i], bad_roas, p_bad[i], save, lost, vbar[i], cur)),
                    {"horizon_days": 7, "metrics": {
                        "spend": _q(0, 0, 0, cur),
                        "spend_saved": _q(0.8 * save, save, 1.2 * save, cur),
                        "results_lost": _q(*lost, "results"),
                        "value_lost": _q(*(lost * vbar[i]), cur)},
                     "status_quo": {"spend": spend7_r2[i], "results": round(float(lost[1]), 2)}},
                    {"status": "paused"}, {**common_ev, "p_roas_below_pause_line": float(p_bad[i])},
                    parent_adset=E["adset_id"][i],
                ))
                continue
            if p_bad[i] >= MIN_CONFIDENCE:
                held["insufficient_evidence"] += 1
        # ---- scale / budget_increase / budget_decrease at the level holding the budget
        if lv == budget_level[p]:
            rules = scale_rules(p)
            results_window = E["results_7"][i] if rules.days == 7 else E["results_30"][i]
            bl = baselines.get((p, lv, 14, "roas")) or {}
            p75 = bl.get("p75")
            if p_good[i] >= MIN_CONFIDENCE and p75 is not None and roas14[i] >= p75:
                if results_window < rules.min_results or any(an["metric"] == "cpa" and an["anomaly_type"] == "spike" for an in anomalies_by_entity.get(key, [])):
                    held["insufficient_evidence"] += 1
                else:
                    kind = "scale" if lv == "adset" else "budget_increase"
                    c = _budget_change(kind, +BUDGET_STEP, i, daily, lam10, lam50, lam90, vbar, names, cur,
                                       tx_params={"roas": roas14[i], "target": troas[i], "p75": p75,
                                                  "results": E["results_14"][i], "results_window": results_window,
                                                  "days": rules.days, "good": troas[i] * SCALE_ROAS_MARGIN,
                                                  "conf": p_good[i], "window": days14[i]}, lv=lv,
                                       inferred=not np.isfinite(E["budget_today"][i]))
                    c.platform, c.entity_id, c.confidence = p, ids[i], float(p_good[i])
                    c.evidence = {**common_ev, "p_roas_above_scale_line": float(p_good[i]), "peers_p75_roas": p75}
                    cands.append(c)
                    continue
            elif p_below[i] >= MIN_CONFIDENCE and spend14 >= PAUSE_MIN_SPEND_IN_TARGET_CPAS * target_cpa[i]:
                why = partial(_why_below_target, roas14[i], troas[i], p_below[i], days14[i])
                c = _budget_change("budget_decrease", -BUDGET_STEP, i, daily, lam10, lam50, lam90, vbar, names, cur,
                                   tx_params={"why": why}, lv=lv,
                                   inferred=not np.isfinite(E["budget_today"][i]))
                c.platform, c.entity_id, c.confidence = p, ids[i], float(p_below[i])
                c.evidence = {**common_ev, "p_roas_below_target": float(p_below[i])}
                cands.append(c)
                continue

    idx = {(platform[i], level[i], ids[i]): i for i in range(len(ids))}
    cands += _fatigue_candidates(conn, ctx, as_of, E, idx, names, cur)
    cands += _anomaly_candidates(E, idx, names, anomalies, tests_run, cur)
    cands += _pacing_candidates(conn, ctx, as_of, E, names, roas14, lam10, lam50, lam90, vbar, budget_level, cur, held)
    from growthops.ads.experiments.diagnostic import enrich_candidates  # funnels, angles (issue 15)

    enrich_candidates(conn, tenant_id=ctx.tenant_id, as_of=as_of, cands=cands, currency=cur)

    # Priority from the weekly spend at stake, relative to the tenant's weekly spend.
    for c in cands:
        share = c.stake / week_spend_total if week_spend_total > 0 else 0.0
        c.priority = "critical" if share >= 0.10 else "high" if share >= 0.03 else "medium" if share >= 0.01 else "low"
        if c.type == "pause" and c.confidence >= 0.95 and share >= 0.03:
            c.priority = "critical"
        if c.type == "campaign_diagnostic" and c.evidence.get("severity") == "critical":
            c.priority = min(c.priority, "high", key=PRIORITY_RANK.__getitem__)
    # Cool-down: an entity changed in the last COOLDOWN_DAYS is left alone until the change has
    # shown its effect (its evidence window still mixes before and after; Meta's learning phase
    # also needs ~7 days after a significant edit). A change claimed but not settled yet (it may
    # be applied on the platform already) counts too. One query for the tenant.
    recent = {
        (r["platform"], r["entity_type"], r["entity_id"])
        for r in conn.execute(
            """select distinct platform, entity_type, entity_id from ads.execution_logs
               where tenant_id = %s and status in ('applied', 'reconciled', 'claimed')
                 and coalesce(executed_at, claimed_at) >= %s::date - %s""",
            [ctx.tenant_id, as_of, COOLDOWN_DAYS - 1],
        ).fetchall()
    }
    fresh = [c for c in cands if (c.platform, c.level, c.entity_id) not in recent]
    held["cooling_down"] = len(cands) - len(fresh)
    cands = fresh
    # Materiality: an action moving less than MIN_STAKE_SHARE of the weekly spend is not worth a
    # reviewer's attention (held back, counted).
    material = [c for c in cands if week_spend_total <= 0 or c.stake >= MIN_STAKE_SHARE * week_spend_total]
    held["immaterial"] = len(cands) - len(material)
    cands = material
    # One suggestion per entity (best first), none under a paused ad set, capped.
    cands.sort(key=lambda c: (PRIORITY_RANK[c.priority], -c.confidence * max(c.stake, 1e-9)))
    seen: set[tuple[str, str, str]] = set()
    paused_adsets = {c.entity_id for c in cands if c.type == "pause" and c.level == "adset"}
    kept: list[Candidate] = []
    for c in cands:
        k = (c.platform, c.level, c.entity_id)
        if k in seen or (c.level == "ad" and c.parent_adset in paused_adsets):
            continue
        if c.confidence < MIN_CONFIDENCE:
            held["below_confidence"] += 1
            continue
        seen.add(k)
        kept.append(c)
    return kept[:MAX_SUGGESTIONS_PER_DAY], held


def _pause_texts(lv: str, name: str, roas14: float, days14: int, results14: float, spend14: float,
                 troas: float, bad_roas: float, p_bad: float, save: float, lost: np.ndarray, vbar: float,
                 cur: str) -> dict[str, dict[str, str]]:
    """Texts of a ``pause`` candidate (rendered only for the candidates stored)."""
    params = {
        lang: dict(
            level=tx.level(lv, lang), name=name, roas=tx.ratio(roas14, lang),
            window=tx.days(days14, lang),
            results=tx.num(results14, lang), spend=tx.money(spend14, cur, lang),
            target=tx.ratio(troas, lang), bad=tx.ratio(bad_roas, lang),
            bad_frac=tx.pct(PAUSE_ROAS_FRACTION_OF_TARGET, lang), conf=tx.pct(p_bad, lang),
            save=tx.money(save, cur, lang), save_lo=tx.money(0.8 * save, cur, lang),
            save_hi=tx.money(1.2 * save, cur, lang), lost_lo=tx.num(lost[0], lang),
            lost_hi=tx.num(lost[2], lang), value_lost=tx.money(lost[1] * vbar, cur, lang),
        )
        for lang in LANGS
    }
    return tx.render("pause", params)


def _why_below_target(roas14: float, troas: float, p_below: float, days14: int) -> dict[str, str]:
    """The ``why`` sentence of a ``budget_decrease`` below target, per language."""
    return tx.sentence(tx.WHY_BELOW_TARGET, {
        lang: {"roas": tx.ratio(roas14, lang), "target": tx.ratio(troas, lang),
               "conf": tx.pct(p_below, lang), "window": tx.days(days14, lang)}
        for lang in LANGS})


def store(conn: Any, ctx: TenantContext, as_of: date, cands: list[Candidate], clock: datetime) -> tuple[int, int]:
    """Expire stale pending suggestions, then insert ``cands`` skipping any that duplicate one a
    person already has (same platform, entity and type). Returns ``(inserted, duplicates)``.

    A candidate is skipped when a suggestion for the same entity and type: has the same ``as_of``
    (a replayed day adds nothing, whatever became of the first one), is ``executing``, has not
    expired at ``clock`` (pending, backlog, or approved / refused within its validity), or was
    approved or executed less than :data:`COOLDOWN_DAYS` before ``clock`` (issue 9: an approved
    suggestion on a tenant without an ad account stays ``approved``, and the buyer must not
    review the same change twice). Only suggestions created at or before ``clock`` count: when
    the backtest replays a past day, the account's later suggestions (created after that day's
    clock, still valid then) did not exist yet and must not block the replay (issue 16). One
    statement each."""
    conn.execute(
        "update ads.suggestions set status = 'expired' where tenant_id = %s and status = 'pending' and expires_at <= %s",
        [ctx.tenant_id, clock],
    )
    if not cands:
        return 0, 0
    payload = [
        {
            "as_of": as_of.isoformat(), "type": c.type, "priority": c.priority,
            "action": c.texts["en"]["action"], "reason": c.texts["en"]["reason"],
            "expected_impact": c.texts["en"]["expected_impact"], "texts": plain_texts(c.texts),
            "predicted_metrics": c.predicted, "action_params": c.params, "evidence": c.evidence,
            "confidence": int(round(100 * c.confidence)),
            "calibrated_confidence": (round(100 * c.calibrated_confidence)
                                      if getattr(c, "calibrated_confidence", None) is not None else None),
            "platform": c.platform, "entity_type": c.level,
            "entity_id": c.entity_id, "entity_name": c.entity_name,
        }
        for c in cands
    ]
    cur = conn.execute(
        """insert into ads.suggestions
             (tenant_id, as_of, type, priority, action, reason, expected_impact, texts, predicted_metrics,
              action_params, evidence, confidence, calibrated_confidence, platform, entity_type,
              entity_id, entity_name, created_at, expires_at)
           select %(t)s, x.as_of, x.type, x.priority, x.action, x.reason, x.expected_impact, x.texts,
                  x.predicted_metrics, x.action_params, x.evidence, x.confidence, x.calibrated_confidence, x.platform,
                  x.entity_type, x.entity_id, x.entity_name, %(clock)s, %(expires)s
           from jsonb_to_recordset(%(rows)s::jsonb) as x(
             as_of date, type text, priority text, action text, reason text, expected_impact text,
             texts jsonb, predicted_metrics jsonb, action_params jsonb, evidence jsonb, confidence int,
             calibrated_confidence int,
             platform text, entity_type text, entity_id text, entity_name text)
           where not exists (  -- the same entity and type, already in front of a person
             select 1 from ads.suggestions o
             where o.tenant_id = %(t)s and o.platform = x.platform
               and o.entity_type = x.entity_type and o.entity_id = x.entity_id
               and o.type = x.type
               and o.created_at <= %(clock)s  -- known at the clock (a replay must not see later ones)
               and (o.as_of = x.as_of              -- a replayed day adds nothing
                    or o.status = 'executing'
                    or o.expires_at > %(clock)s    -- pending, backlog or decided, still valid
                    or (o.status in ('approved', 'executed')
                        and o.decided_at > %(clock)s - make_interval(days => %(cooldown)s))))
           on conflict (tenant_id, platform, entity_type, entity_id, type) where status = 'pending'
           do nothing""",
        {"t": ctx.tenant_id, "clock": clock, "expires": clock + timedelta(hours=SUGGESTION_TTL_HOURS),
         "cooldown": COOLDOWN_DAYS,
         "rows": json.dumps(_finite(payload), default=_json_default)},
    )
    return cur.rowcount, len(cands) - cur.rowcount


def _finite(o: Any) -> Any:
    """Replace NaN and infinities (invalid in JSON) by None, recursively."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    if isinstance(o, float | np.floating) and not np.isfinite(o):
        return None
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, date | datetime):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o)}")
