"""Candidates: the suggestion record before ranking and storage, and the candidate rules fed by
the cycle's other stages (creative fatigue, anomalies, pacing against the daily budget).

The scale, pause and budget rules and the ranking, cool-down and storage are in
:mod:`.generate`; thresholds and their sources in :mod:`growthops.ads.thresholds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

import numpy as np
import psycopg.rows

from growthops.ads.analysis.codes import unique_inverse
from growthops.ads.config import TenantContext
from growthops.ads.labels import metric_label
from growthops.ads.suggestions import texts as tx
from growthops.ads.suggestions.evidence import (
    drift_variance,
    prob_future_count_below,
    prob_rate_declined,
    rate_posterior,
)
from growthops.ads.thresholds import (
    BUDGET_STEP,
    ELASTICITY,
    ELASTICITY_RANGE,
    FATIGUE_THRESHOLD,
    MIN_CONFIDENCE,
)
from growthops.core.i18n import LANGS, _, format_date, format_number, format_percent
from growthops.core.i18n import format_significant as _sig

PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class LazyTexts(Mapping[str, dict[str, str]]):
    """A candidate's texts by language, rendered by ``render()`` on first access.

    Most candidates of a day are dropped (cool-down, materiality, one per entity, the daily cap)
    before they are stored; formatting both languages' numbers with Babel for each of them was
    half the suggestion step (issue 16). The rendered dict is cached, so in-place edits (e.g.
    :func:`growthops.ads.experiments.diagnostic.enrich_candidates` appending a sentence) stick.
    """

    __slots__ = ("_render", "_texts")

    def __init__(self, render: Callable[[], dict[str, dict[str, str]]]) -> None:
        self._render: Callable[[], dict[str, dict[str, str]]] | None = render
        self._texts: dict[str, dict[str, str]] | None = None

    def resolve(self) -> dict[str, dict[str, str]]:
        """Render (once) and return the plain dict ``{lang: {action, reason, expected_impact}}``."""
        if self._texts is None:
            assert self._render is not None
            self._texts, self._render = self._render(), None
        return self._texts

    def __getitem__(self, lang: str) -> dict[str, str]:
        return self.resolve()[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(self.resolve())

    def __len__(self) -> int:
        return len(self.resolve())


def plain_texts(texts: Mapping[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """``texts`` as a plain dict (renders a :class:`LazyTexts`)."""
    return texts.resolve() if isinstance(texts, LazyTexts) else dict(texts)


@dataclass
class Candidate:
    """A suggestion before ranking and storage. Money in the tenant's currency; ``confidence``
    is a fraction 0–1; ``stake`` the weekly spend the action moves (for priority)."""

    type: str
    platform: str
    level: str
    entity_id: str
    entity_name: str
    confidence: float
    stake: float
    texts: Mapping[str, dict[str, str]]  # a dict or a LazyTexts, rendered when read
    predicted: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    parent_adset: str | None = None
    priority: str = "low"
    #: Confidence mapped through the tenant's fitted calibration (fraction), when one is active.
    calibrated_confidence: float | None = None


def _q(lo: float, mid: float, hi: float, unit: str) -> dict[str, Any]:
    return {"p10": round(float(lo), 4), "p50": round(float(mid), 4), "p90": round(float(hi), 4), "unit": unit}


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _budget_change(kind: str, step: float, i: int, daily: float, lam10: np.ndarray, lam50: np.ndarray,
                   lam90: np.ndarray, vbar: np.ndarray, names: np.ndarray, cur: str, *,
                   tx_params: dict[str, Any], lv: str, inferred: bool = False) -> Candidate:
    """A budget change by ``step`` (fraction, +0.2 or -0.2) with its 7-day predicted impact.

    ``inferred``: no daily budget was reported and ``daily`` is the average daily spend; the
    action then says so (:data:`growthops.ads.suggestions.texts.ACTION_NO_BUDGET`) and
    ``action_params.daily_budget.inferred`` is true.
    """
    # Cents rounded toward the current budget: the step never passes BUDGET_STEP by a cent.
    new_daily = (np.floor if step > 0 else np.ceil)(daily * (1 + step) * 100) / 100
    week = 7 * daily
    lo_el, hi_el = ELASTICITY_RANGE
    factor = {e: (1 + step) ** e for e in (lo_el, ELASTICITY, hi_el)}
    # Results at the new spend; the pessimistic end pairs the low rate with the weak elasticity
    # for an increase (and the strong one for a decrease, which loses more).
    r_lo = lam10[i] * week * (factor[lo_el] if step > 0 else factor[hi_el])
    r_mid = lam50[i] * week * factor[ELASTICITY]
    r_hi = lam90[i] * week * (factor[hi_el] if step > 0 else factor[lo_el])
    # Triples of numpy scalars (the same operations element by element as on arrays, without
    # building three small arrays per candidate: issue 16).
    base = (lam10[i] * week, lam50[i] * week, lam90[i] * week)
    new_spend = week * (1 + step)
    roas = tuple(r * vbar[i] / new_spend for r in (r_lo, r_mid, r_hi))
    delta = (r_lo - base[0], r_mid - base[1], r_hi - base[2])
    lost = tuple(-d for d in delta)

    def render() -> dict[str, dict[str, str]]:
        params: dict[str, dict[str, Any]] = {}
        tp0 = tx_params.copy()
        why = tp0.pop("why", None)
        if callable(why):
            why = why()
        for lang in LANGS:
            d = dict(level=tx.level(lv, lang), name=names[i], budget_from=tx.money(daily, cur, lang),
                     budget_to=tx.money(new_daily, cur, lang), step=tx.pct(abs(step), lang),
                     roas_new=tx.ratio(roas[1], lang), roas_lo=tx.ratio(min(roas), lang),
                     roas_hi=tx.ratio(max(roas), lang),
                     inc=tx.num(delta[1], lang), inc_lo=tx.num(min(delta), lang), inc_hi=tx.num(max(delta), lang),
                     extra_spend=tx.money(week * step, cur, lang), save=tx.money(-week * step, cur, lang),
                     lost_lo=tx.num(min(lost), lang), lost_hi=tx.num(max(lost), lang))
            if why is not None:
                d["why"] = why[lang]
            for k, v in tp0.items():
                if k in ("roas", "target", "p75", "good"):
                    d[k] = tx.ratio(v, lang)
                elif k == "conf":
                    d[k] = tx.pct(v, lang)
                elif k == "window":
                    d[k] = tx.days(v, lang)
                else:
                    d[k] = tx.num(v, lang)
            params[lang] = d
        texts = tx.render(kind, params)
        if inferred:
            for lang in LANGS:
                texts[lang]["action"] = _(lang, tx.ACTION_NO_BUDGET[kind], **params[lang])
        return texts

    predicted = {
        "horizon_days": 7,
        "metrics": {
            "spend": _q(new_spend, new_spend, new_spend, cur),
            "results": _q(r_lo, r_mid, r_hi, "results"),
            "roas": _q(min(roas), roas[1], max(roas), "ratio"),
            "cpa": _q(new_spend / max(r_hi, 1e-9), new_spend / max(r_mid, 1e-9), new_spend / max(r_lo, 1e-9), cur),
        },
        "status_quo": {"spend": round(week, 2), "results": round(float(base[1]), 2)},
        "elasticity": {"central": ELASTICITY, "range": list(ELASTICITY_RANGE)},
    }
    budget: dict[str, Any] = {"from": round(daily, 2), "to": round(new_daily, 2), "change": step}
    if inferred:
        budget["inferred"] = True
    return Candidate(kind, "", lv, "", names[i], 0.0, abs(week * step), LazyTexts(render), predicted,
                     {"daily_budget": budget})


def _refresh_texts(r: dict[str, Any], name: str, by_ctr: bool, ctr_r: float, ctr_e: float, conf: float,
                   lost_clicks: float, cur: str) -> dict[str, dict[str, str]]:
    """Texts of a ``refresh`` candidate (``r``: its ``ads.creative_performance`` row)."""
    params = {}
    for lang in LANGS:
        extra = ""
        if r["cost_per_result_recent"] and r["cost_per_result_earlier"]:
            extra = _(lang, tx.EXTRA_COST_PER_RESULT,
                      recent=tx.money(r["cost_per_result_recent"], cur, lang),
                      earlier=tx.money(r["cost_per_result_earlier"], cur, lang))
        signal = _(lang, tx.SIGNAL_CTR_FELL if by_ctr else tx.SIGNAL_COST_ROSE)
        params[lang] = dict(name=name, fatigue=format_number(r["fatigue_index"], lang, 0),
                            ctr_r=tx.pct(ctr_r, lang, 2), signal=signal,
                            ctr_e=tx.pct(ctr_e, lang, 2), extra=extra, conf=tx.pct(conf, lang),
                            clicks=tx.num(lost_clicks, lang), clicks_lo=tx.num(0.5 * lost_clicks, lang),
                            clicks_hi=tx.num(lost_clicks, lang))
    return tx.render("refresh", params)


def _fatigue_candidates(conn: Any, ctx: TenantContext, as_of: date, E: dict[str, np.ndarray],
                        idx: dict[tuple[str, str, str], int], names: np.ndarray,
                        cur: str) -> list[Candidate]:
    """``refresh`` for fatigued ads and ``test_angle`` for campaigns where most ads are fatigued."""
    # Every ad with a fatigue row counts toward its campaign's share; only fatigued ones are read.
    # Tuples (a dict per row for the ~2,500 ads of a tenant was a tenth of the suggestion step):
    # a dict is made for the fatigued rows only.
    cur_t = conn.cursor(row_factory=psycopg.rows.tuple_row)
    rows = cur_t.execute(
        """select platform, ad_id, fatigue_index,
                  case when fatigue_index >= %(th)s then ctr_recent end as ctr_recent,
                  case when fatigue_index >= %(th)s then ctr_earlier end as ctr_earlier,
                  case when fatigue_index >= %(th)s then cost_per_result_recent end as cost_per_result_recent,
                  case when fatigue_index >= %(th)s then cost_per_result_earlier end as cost_per_result_earlier,
                  case when fatigue_index >= %(th)s then components end as components
           from ads.creative_performance where tenant_id = %(t)s and as_of = %(d)s""",
        {"t": ctx.tenant_id, "d": as_of, "th": FATIGUE_THRESHOLD},
    ).fetchall()
    if not rows:
        return []
    # Week-to-week drift of the CTR and of the results per spend, pooled per platform and level
    # (as for the pause confidence): the premise is about next week, not the last one.
    pl = unique_inverse(np.array([f"{p}|{lv}" for p, lv in zip(E["platform"], E["level"], strict=True)],
                                dtype=object))[1]  # integer group codes
    tau2_ctr = drift_variance(E["clicks_7"], E["impressions_7"], E["clicks_e"], E["impressions_e"], pl)
    tau2_res = drift_variance(E["results_7"], E["spend_7"], E["results_e"], E["spend_e"], pl)
    out: list[Candidate] = []
    per_campaign: dict[tuple[str, str], list[bool]] = {}
    # First pass: the premise of every fatigued ad that spent; its confidence is then computed
    # for all of them in one vectorised call (one scipy call per ad was a quarter of the
    # suggestion step: issue 16, docs/performance.md §4e).
    todo: list[tuple[dict[str, Any], int, bool, dict[str, Any]]] = []
    counts, exposures, lines, drifts = [], [], [], []
    cols = [d.name for d in cur_t.description]
    for t in rows:
        i = idx.get((t[0], "ad", t[1]))
        if i is None:
            continue
        fatigued = t[2] >= FATIGUE_THRESHOLD
        per_campaign.setdefault((t[0], E["campaign_id"][i]), []).append(fatigued)
        if not fatigued or E["spend_7"][i] <= 0:
            continue
        r = dict(zip(cols, t, strict=True))
        comp = r["components"]
        # The premise is the strongest signal: the CTR fell, else the results per spend fell.
        by_ctr = (comp.get("ctr_decay") or 0) >= (comp.get("cost_per_result") or 0)
        if by_ctr:
            base = float(r["ctr_earlier"] or _safe_div(E["clicks_e"][i], E["impressions_e"][i]))
            counts.append(E["clicks_7"][i])
            exposures.append(E["impressions_7"][i])
            lines.append(base)
            drifts.append(tau2_ctr[i])
            premise = {"metric": "ctr", "direction": "drop", "baseline_value": base}
        else:
            cpr_e = float(r["cost_per_result_earlier"] or _safe_div(E["spend_e"][i], E["results_e"][i]))
            counts.append(E["results_7"][i])
            exposures.append(E["spend_7"][i])
            lines.append(1.0 / cpr_e if cpr_e > 0 else np.nan)
            drifts.append(tau2_res[i])
            premise = {"metric": "cpa", "direction": "spike", "baseline_value": cpr_e}
        todo.append((r, i, by_ctr, premise))
    confs = prob_next_week_rates_below(np.array(counts, dtype=float), np.array(exposures, dtype=float),
                                       np.array(lines, dtype=float), np.array(drifts, dtype=float))
    for (r, i, by_ctr, premise), conf in zip(todo, confs, strict=True):
        conf = float(conf)
        if not np.isfinite(conf):
            continue
        comp = r["components"]
        ctr_r, ctr_e = r["ctr_recent"] or 0.0, r["ctr_earlier"] or 0.0
        lost_clicks = max(0.0, (ctr_e - ctr_r) * E["impressions_7"][i])
        out.append(Candidate(
            "refresh", r["platform"], "ad", r["ad_id"], names[i], conf, E["spend_7"][i] * min(1.0, r["fatigue_index"] / 100),
            LazyTexts(partial(_refresh_texts, r, names[i], by_ctr, ctr_r, ctr_e, conf, lost_clicks, cur)),
            {"horizon_days": 7, "metrics": {"clicks_recovered": _q(0.5 * lost_clicks, 0.75 * lost_clicks, lost_clicks, "clicks"),
                                            "ctr": _q(ctr_r, (ctr_r + ctr_e) / 2, ctr_e, "fraction")},
             "status_quo": {"ctr": ctr_r}},
            {"creative": "replace"}, {"fatigue_index": r["fatigue_index"], "components": comp, **premise,
                                      "drift_variance": float(tau2_ctr[i] if by_ctr else tau2_res[i])},
            parent_adset=E["adset_id"][i],
        ))
    for (p, camp_id), flags in per_campaign.items():
        if camp_id is None or sum(flags) < 2 or sum(flags) < 0.5 * len(flags):
            continue
        i = idx.get((p, "campaign", camp_id))
        if i is None or E["spend_7"][i] <= 0:
            continue
        conf = float(prob_rate_declined(E["clicks_7"][i], E["impressions_7"][i], E["clicks_e"][i], E["impressions_e"][i]))
        if not np.isfinite(conf):
            continue
        ctr_r = E["clicks_7"][i] / max(E["impressions_7"][i], 1)
        ctr_e = E["clicks_e"][i] / max(E["impressions_e"][i], 1)
        lost_clicks = max(0.0, (ctr_e - ctr_r) * E["impressions_7"][i])
        params = {lang: dict(name=names[i], fatigued=sum(flags), ads=len(flags), ctr_r=tx.pct(ctr_r, lang, 2),
                             ctr_e=tx.pct(ctr_e, lang, 2), conf=tx.pct(conf, lang), clicks=tx.num(lost_clicks, lang),
                             clicks_lo=tx.num(0.5 * lost_clicks, lang), clicks_hi=tx.num(lost_clicks, lang))
                  for lang in LANGS}
        out.append(Candidate(
            "test_angle", p, "campaign", camp_id, names[i], conf, 0.1 * E["spend_7"][i], tx.render("test_angle", params),
            {"horizon_days": 7, "metrics": {"clicks_recovered": _q(0.5 * lost_clicks, 0.75 * lost_clicks, lost_clicks, "clicks")},
             "status_quo": {"ctr": ctr_r}},
            {"creative": "new_angle"}, {"fatigued_ads": sum(flags), "ads_with_data": len(flags)},
        ))
    return out


def prob_next_week_rate_below(count: float, exposure: float, threshold_rate: float, drift: float) -> float:
    """P(next week's rate < ``threshold_rate``) at the last 7 days' exposure (fraction; NaN if
    undefined): the premise of ``refresh`` (CTR below the earlier CTR, or results per spend below
    the earlier ones, i.e. cost per result above), as the backtest measures it (issue 16).

    The rate's Gamma posterior from the last 7 days (``count`` clicks or results over
    ``exposure`` impressions or spend; weak prior centred on the threshold,
    :func:`growthops.ads.suggestions.evidence.rate_posterior`), next week's Poisson noise and
    the week-to-week drift ``drift`` (:func:`growthops.ads.suggestions.evidence.drift_variance`)
    in the negative binomial predictive of
    :func:`growthops.ads.suggestions.evidence.prob_future_count_below`. The earlier rate is the
    fixed line the premise is judged against, so its own sampling noise does not enter (the old
    confidence, P(recent rate < earlier rate) of the two periods, said 99-100 % of a change that
    had happened, not of the next week: 86 % held on the display tenant).
    """
    if not (exposure > 0 and np.isfinite(threshold_rate) and threshold_rate > 0):
        return float("nan")
    a, b = rate_posterior(count, exposure, threshold_rate)
    return float(prob_future_count_below(threshold_rate * exposure, a, b, exposure, drift=drift))


def prob_next_week_rates_below(count: np.ndarray, exposure: np.ndarray, threshold_rate: np.ndarray,
                               drift: np.ndarray) -> np.ndarray:
    """:func:`prob_next_week_rate_below` for arrays of length n (element by element, the same
    formulas; NaN where the exposure is not positive or the threshold not a positive number)."""
    count, exposure = np.asarray(count, dtype=float), np.asarray(exposure, dtype=float)
    threshold_rate, drift = np.asarray(threshold_rate, dtype=float), np.asarray(drift, dtype=float)
    if count.size == 0:
        return np.zeros(0)
    with np.errstate(invalid="ignore"):
        ok = (exposure > 0) & np.isfinite(threshold_rate) & (threshold_rate > 0)
    if not ok.any():
        return np.full(count.shape, np.nan)
    c, e, t, d = count[ok], exposure[ok], threshold_rate[ok], drift[ok]
    a, b = rate_posterior(c, e, t)
    out = np.full(count.shape, np.nan)
    out[ok] = prob_future_count_below(t * e, a, b, e, drift=d)
    return out


#: Per anomaly metric: the (count, exposure) whose rate FALLS when the metric is flagged "spike"
#: (CPA up = results per spend down; CPM up = impressions per spend down), or rises (CTR).
_SHIFT_RATES = {"cpa": ("results", "spend", True), "cpm": ("impressions", "spend", True),
                "ctr": ("clicks", "impressions", False)}


def prob_shift_persists(E: dict[str, np.ndarray], i: int, metric: str, direction: str) -> float:
    """P(the flagged metric stays on the flagged side of its baseline over the next 7 days).

    The premise of ``campaign_diagnostic`` / ``bid_adjustment`` as the backtest measures it
    (issue 16: the old confidence, ``1 - q`` of one day's test, said 100 % for one-day spikes
    that then reverted). Model: the shift persists with probability ``pi`` = the posterior
    probability that the last 7 days' rate is already off the earlier period's (days 7..28
    before) in the flagged direction (conditional-binomial comparison with a Jeffreys prior,
    :func:`growthops.ads.suggestions.evidence.prob_rate_declined`); if it does not persist, the
    next week falls on either side of the baseline (the predictive median) with probability 1/2.
    So ``P = pi + (1 - pi) / 2`` (fraction 0.5-1). Metrics without a rate (spend) get ``pi = 0``.
    """
    spec = _SHIFT_RATES.get(metric)
    if spec is None:
        return 0.5
    c, e, falls_on_spike = spec
    p_fell = float(prob_rate_declined(E[f"{c}_7"][i], E[f"{e}_7"][i], E[f"{c}_e"][i], E[f"{e}_e"][i]))
    if not np.isfinite(p_fell):
        return 0.5
    pi = p_fell if (direction == "spike") == falls_on_spike else 1.0 - p_fell
    return pi + (1.0 - pi) / 2.0


def _anomaly_candidates(E: dict[str, np.ndarray], idx: dict[tuple[str, str, str], int], names: np.ndarray,
                        anomalies: list[dict[str, Any]],
                        tests_run: int, cur: str) -> list[Candidate]:
    """``campaign_diagnostic`` for severe campaign anomalies; ``bid_adjustment`` for CPM spikes."""
    out: list[Candidate] = []
    by_entity: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for a in anomalies:
        by_entity.setdefault((a["platform"], a["level"], a["entity_id"]), []).append(a)
    for key, items in by_entity.items():
        i = idx.get(key)
        if i is None:
            continue
        p, lv, eid = key
        if lv == "campaign":
            severe = [a for a in items if a["severity"] in ("high", "critical")]
            if not severe:
                continue
            a = min(severe, key=lambda x: x["q_value"])
            conf = prob_shift_persists(E, i, a["metric"], a["anomaly_type"])
            params = {}
            for lang in LANGS:
                unit_money = a["metric"] in ("cpa", "spend", "cpm")
                f = (lambda v, lang=lang: tx.money(v, cur, lang)) if unit_money else (lambda v, lang=lang: tx.pct(v, lang, 2))
                params[lang] = dict(
                    name=names[i], metric=metric_label(a["metric"], lang),
                    direction=tx.direction(a["anomaly_type"], lang),
                    actual=f(a["actual_value"]), expected=f(a["baseline_value"]),
                    deviation=format_percent(a["deviation"], lang, sign=True),
                    q=_sig(a["q_value"], lang), tests=tx.num(tests_run, lang),
                    day=format_date(a["as_of"], lang), stake=tx.money(E["spend_7"][i], cur, lang))
            out.append(Candidate(
                "campaign_diagnostic", p, lv, eid, names[i], conf, E["spend_7"][i], tx.render("campaign_diagnostic", params),
                {"horizon_days": 7, "metrics": {a["metric"]: _q(a["baseline_value"], a["baseline_value"], a["actual_value"], a["metric"])},
                 "status_quo": {a["metric"]: a["actual_value"]}},
                {"investigate": a["metric"]}, {"anomaly_id": a["anomaly_id"], "severity": a["severity"], "q_value": a["q_value"],
                                               **_premise(a)},
            ))
        elif lv == "adset":
            cpm = [a for a in items if a["metric"] == "cpm" and a["anomaly_type"] == "spike"]
            ctr_drop = any(a["metric"] == "ctr" and a["anomaly_type"] == "drop" for a in items)
            if not cpm or ctr_drop:
                continue
            a = cpm[0]
            conf = prob_shift_persists(E, i, "cpm", "spike")
            params = {lang: dict(level=tx.level(lv, lang), name=names[i], step=tx.pct(0.10, lang),
                                 actual=tx.money(a["actual_value"], cur, lang), expected=tx.money(a["baseline_value"], cur, lang),
                                 deviation=format_percent(a["deviation"], lang, sign=True),
                                 q=_sig(a["q_value"], lang), day=format_date(a["as_of"], lang),
                                 spend=tx.money(E["spend_7"][i], cur, lang)) for lang in LANGS}
            out.append(Candidate(
                "bid_adjustment", p, lv, eid, names[i], conf, 0.1 * E["spend_7"][i], tx.render("bid_adjustment", params),
                {"horizon_days": 7, "metrics": {"cpm": _q(a["baseline_value"], a["baseline_value"], a["actual_value"], cur)},
                 "status_quo": {"cpm": a["actual_value"]}},
                {"bid_cap": {"change": -0.10}}, {"anomaly_id": a["anomaly_id"], "q_value": a["q_value"], **_premise(a)},
            ))
    return out


def _premise(a: dict[str, Any]) -> dict[str, Any]:
    """The anomaly's metric, direction and baseline, kept in the evidence for the backtest."""
    return {"metric": a["metric"], "direction": a["anomaly_type"], "baseline_value": a["baseline_value"]}


def _pacing_candidates(conn: Any, ctx: TenantContext, as_of: date, E: dict[str, np.ndarray], names: np.ndarray,
                       roas14: np.ndarray, lam10: np.ndarray, lam50: np.ndarray, lam90: np.ndarray, vbar: np.ndarray,
                       budget_level: dict[str, str], cur: str, held: dict[str, int]) -> list[Candidate]:
    """``budget_decrease`` when the month's projected spend passes ``monthly_budget_max``.

    Projection: month-to-date spend + remaining days x the mean daily spend of the last 14 days;
    confidence = P(projection > max) with the daily spend's standard deviation (normal model).
    """
    if not ctx.monthly_budget_max:
        return []
    rows = conn.execute(
        """select day, sum(spend)::float8 as spend from ads.metrics_daily
           where tenant_id = %(t)s and level = 'campaign'
             and day between least(date_trunc('month', %(d)s::date)::date, %(d)s - 13) and %(d)s
           group by day order by day""",
        {"t": ctx.tenant_id, "d": as_of},
    ).fetchall()
    month_start = as_of.replace(day=1)
    mtd = sum(r["spend"] for r in rows if r["day"] >= month_start)
    last14 = np.array([r["spend"] for r in rows if r["day"] > as_of - timedelta(days=14)])
    if len(last14) < 3:
        return []
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    remaining = (next_month - as_of).days - 1
    mean, sd = float(last14.mean()), float(last14.std(ddof=1))
    projected = mtd + remaining * mean
    from scipy import stats

    p_over = float(stats.norm.sf(ctx.monthly_budget_max, loc=projected, scale=max(sd * np.sqrt(max(remaining, 1)), 1e-9)))
    if p_over < MIN_CONFIDENCE:
        return []
    held["monthly_budget"] += 1
    # Cut the budget-holding entity with the lowest ROAS that still spends.
    cand = [i for i in range(len(E["entity_id"])) if E["level"][i] == budget_level.get(E["platform"][i]) and E["spend_7"][i] > 0]
    if not cand:
        return []
    i = min(cand, key=lambda j: roas14[j] if np.isfinite(roas14[j]) else np.inf)
    daily = E["budget_today"][i] if np.isfinite(E["budget_today"][i]) else E["spend_7"][i] / 7.0
    why = tx.sentence(tx.WHY_MONTHLY_PACE, {
        lang: {"mtd": tx.money(mtd, cur, lang), "projected": tx.money(projected, cur, lang),
               "maximum": tx.money(ctx.monthly_budget_max, cur, lang),
               "conf": tx.pct(p_over, lang), "level": tx.level(E["level"][i], lang),
               "window": tx.days(len(last14), lang),
               "roas": tx.ratio(roas14[i], lang)}
        for lang in LANGS})
    c = _budget_change("budget_decrease", -BUDGET_STEP, i, daily, lam10, lam50, lam90, vbar, names, cur,
                       tx_params={"why": why}, lv=E["level"][i],
                       inferred=not np.isfinite(E["budget_today"][i]))
    c.platform, c.entity_id, c.confidence = E["platform"][i], E["entity_id"][i], p_over
    c.stake = max(c.stake, projected - ctx.monthly_budget_max)
    c.evidence = {"month_to_date_spend": round(mtd, 2), "projected_month_spend": round(projected, 2),
                  "monthly_budget_max": ctx.monthly_budget_max, "p_over": p_over}
    return [c]


