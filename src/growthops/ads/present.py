"""Turn the rows of :mod:`growthops.ads.pages_data` into display values in the user's language.

The templates only lay these out: every number is formatted here by Babel for the reader's
locale (:mod:`growthops.core.i18n`: money in the tenant's currency, fractions as percentages,
dates, and times in the tenant's time zone ``tz``), every code translated
(:mod:`growthops.ads.labels`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from growthops.ads.action.decisions import DECIDABLE_FROM
from growthops.ads.action.guardrails import describe
from growthops.ads.labels import code, metric_label
from growthops.ads.pages_data import LEVELS
from growthops.ads.reporting.digest import (
    CONFIDENCE_CAP_NOTE,
    confidence_capped,
    confidence_text,
    fmt_value,
    format_intervals,
    suggestion_text,
)
from growthops.core.i18n import (
    DASH,
    N_,
    _,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_ratio,
    ngettext,
)


def money(x: Any, lang: str, currency: str) -> str:
    """Format an amount in ``currency`` (its usual decimals; '–' for None)."""
    return format_money(x, currency, lang)


def pct(fraction: Any, lang: str, decimals: int = 0) -> str:
    """Format a fraction 0-1 as a percentage ('–' for None)."""
    return format_percent(fraction, lang, decimals)


# ----------------------------------------------------------------------------- overview
#: Data older than this many days is flagged on the first page: more than the usual reporting
#: delay (Meta and Google Ads finish a day's figures within about 3 days: Meta Business Help,
#: "About the delayed reporting of conversions", up to 72 hours), so an import or sync has
#: probably stopped.
STALE_AFTER_DAYS = 3


def data_age(days: int | None, lang: str) -> str:
    """``today``, ``yesterday`` or ``N days ago`` for a day ``days`` before today ('' for None)."""
    if days is None:
        return ""
    if days <= 0:
        return _(lang, "today")
    if days == 1:
        return _(lang, "yesterday")
    return ngettext(lang, "{n} day ago", "{n} days ago", days, n=days)


def overview_row(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """Display values of one :func:`growthops.ads.pages_data.overview_row`.

    ``kpi_ok``: True / False against the target (ROAS ≥ ``roi_target``; CPA ≤ ``max_cpa``),
    None without a target or a result. ROAS is shown when the 7 days carry conversion value,
    else CPA. ``pacing_pct`` (0-100+, for the meter) and ``over`` (projection above the cap).
    ``last_day`` is the tenant's own latest reported day, ``age`` how long ago that is (``3 days
    ago``) and ``stale`` True beyond :data:`STALE_AFTER_DAYS`.
    """
    cur = r["currency"].strip()
    kpi, ok = _(lang, "no result yet"), None
    if r["roas_7d"] is not None:
        target = float(r["roi_target"])
        kpi = _(lang, "ROAS {value} (target {target})", value=format_ratio(r["roas_7d"], lang),
                target=format_ratio(target, lang))
        ok = r["roas_7d"] >= target
    elif r["cpa_7d"] is not None:
        if r["max_cpa"] is not None:
            kpi = _(lang, "CPA {value} (max {target})", value=money(r["cpa_7d"], lang, cur),
                    target=money(r["max_cpa"], lang, cur))
            ok = r["cpa_7d"] <= float(r["max_cpa"])
        else:
            kpi = _(lang, "CPA {value}", value=money(r["cpa_7d"], lang, cur))
    cap = r["monthly_budget_max"]
    if cap:
        pacing = _(lang, "{mtd} spent, {projected} projected of {budget} ({pct})",
                   mtd=money(r["mtd"], lang, cur), projected=money(r["projected"], lang, cur),
                   budget=money(cap, lang, cur), pct=pct(r["pacing"], lang))
    else:
        pacing = _(lang, "{mtd} spent, {projected} projected (no monthly maximum)",
                   mtd=money(r["mtd"], lang, cur), projected=money(r["projected"], lang, cur))
    return {
        "client_key": r["client_key"], "client_name": r["client_name"],
        "last_day": format_date(r["last_day"], lang) if r["last_day"] else _(lang, "no data"),
        "age": data_age(r.get("data_age"), lang),
        "stale": r.get("data_age") is not None and r["data_age"] > STALE_AFTER_DAYS,
        "spend_7d": money(r["spend_7d"], lang, cur) if r["last_day"] else DASH,
        "kpi": kpi, "kpi_ok": ok, "pacing": pacing,
        "pacing_pct": round(min(float(r["pacing"]) * 100, 100), 1) if r["pacing"] is not None
        else None,
        "over": r["pacing"] is not None and r["pacing"] > 1,
        "pending": int(r["pending"]), "anomalies": int(r["anomalies"]),
        "severe": int(r["severe_anomalies"]),
    }


# -------------------------------------------------------------------------------- queue
def readable_prediction(predicted: Any) -> dict[str, Any]:
    """Return ``predicted_metrics`` ready for :func:`growthops.ads.reporting.digest.format_intervals`.

    A metric whose p10 and p90 are equal (a fixed quantity, e.g. the spend a budget sets) is
    shown as a point, not as a zero-width interval. Units are kept, so formatting is unchanged;
    metric codes are named by :func:`growthops.ads.labels.metric_label` (``spend_saved`` →
    "spend saved").
    """
    pm = predicted if isinstance(predicted, dict) else {}
    metrics = {}
    for name, q in (pm.get("metrics") or {}).items():
        if not isinstance(q, dict):
            continue
        q = dict(q)
        if q.get("p10") is not None and q.get("p10") == q.get("p90"):
            q["p10"] = q["p90"] = None
        metrics[name] = q
    return {**pm, "metrics": metrics}


def rail_note(note: dict[str, Any] | None, lang: str) -> str | None:
    """The guard-rail note worth showing: a refusal, a split, a forced rail or a non-live mode.

    A change that ran inside every rail needs no note (None).
    """
    if not note or (note.get("outcome") == "allowed" and note.get("mode", "live") == "live"
                    and not note.get("overridden")):
        return None
    return describe(note, lang) or None


def effective_status(row: dict[str, Any], now: datetime) -> str:
    """The status a reviewer sees: ``expired`` for an undecided suggestion past ``expires_at``."""
    if row["status"] in ("pending", "backlog") and row["expires_at"] <= now:
        return "expired"
    return str(row["status"])


def entity_link(row: dict[str, Any]) -> dict[str, str] | None:
    """Return the entity page's path parts of a suggestion / execution row (None: no page)."""
    level = row.get("entity_type") or row.get("level")
    if level not in LEVELS:
        return None
    return {"platform": row["platform"], "level": level, "entity_id": str(row["entity_id"])}


def step_text(note: dict[str, Any] | None, lang: str, currency: str) -> str:
    """The change a guard-rail note's ``step`` made: ``daily budget €155.00 → €124.00``,
    ``status → paused`` ('' without a step)."""
    step = (note or {}).get("step") or {}
    action = str(step.get("action"))
    frm, to = money(step.get("from"), lang, currency), money(step.get("to"), lang, currency)
    if action == "budget_change":
        return _(lang, "daily budget {frm} → {to}", frm=frm, to=to)
    if action == "bid_change":
        return _(lang, "bid cap {frm} → {to}", frm=frm, to=to)
    if step.get("status"):
        return _(lang, "status") + " → " + code(step["status"], lang)
    return ""


def entity_text(row: dict[str, Any], lang: str) -> str:
    """``ad set Prospecting · Audience 1 (sbx-c1-s1)`` with the level in ``lang``; an ad with
    its ad set's name when known (``ad Carousel B (123) in ad set Retargeting``)."""
    kind = code(row.get("entity_type") or row.get("level") or "", lang)
    name, ident = row.get("entity_name"), row.get("entity_id")
    text = f"{kind} {name} ({ident})" if name else f"{kind} {ident}"
    if row.get("parent_name"):
        text += " " + _(lang, "in ad set {name}", name=row["parent_name"])
    return text


#: How an execution's outcome is announced, by :class:`ExecutionOutcome` status.
_OUTCOME_TEXT = {
    "applied": N_("Executed on the account: {message}"),
    "reconciled": N_("Executed (settled from the account's state): {message}"),
    "blocked": N_("Blocked by the guard rail {rails}: {message}"),
    "dry_run": N_("Not executed (dry run / validate only): {message}"),
    "failed": N_("Execution failed: {message}"),
    "retry": N_("Execution will be retried: {message}"),
    "skipped": N_("Not executed: {message}"),
    "handoff": N_("Handed to the validation queue: {message}"),
    "not_executable": N_("Recorded (nothing to execute): {message}"),
    "held": N_("Held: {message}"),
}


def outcome_message(outcome: Any, lang: str, currency: str) -> dict[str, str]:
    """Return ``{"kind", "text"}`` for an :class:`growthops.ads.action.execution.ExecutionOutcome`.

    ``kind`` is ``ok`` (applied, reconciled, handoff, not executable), ``warn`` (blocked,
    dry run, skipped, retry, held) or ``err`` (failed). Applied: the change made, plus the
    guard-rail note when a rail bound it (split); blocked: the rail(s) and why.
    """
    status = outcome.status
    if status in ("applied", "reconciled"):
        parts = [step_text(outcome.note, lang, currency), rail_note(outcome.note, lang)]
        message = "; ".join(p for p in parts if p) or outcome.message
    elif status == "dry_run":
        message = describe(outcome.note, lang) or outcome.message
    else:
        message = outcome.message
    rails = ", ".join(outcome.rails) or DASH
    text = _OUTCOME_TEXT.get(status, _OUTCOME_TEXT["skipped"])
    kind = ("ok" if status in ("applied", "reconciled", "handoff", "not_executable")
            else "err" if status == "failed" else "warn")
    return {"kind": kind, "text": _(lang, text, message=message or "", rails=rails)}


def suggestion(row: dict[str, Any], *, lang: str, currency: str, now: datetime,
               can_decide: bool, tz: str = "UTC",
               flash: dict[str, str] | None = None) -> dict[str, Any]:
    """Display values of one :func:`growthops.ads.pages_data.queue` row (a suggestion card).

    ``decisions``: the buttons to show (none for a read-only user or a final / expired
    suggestion); ``flash``: a message from the action that just ran (decision, execution);
    times in the time zone ``tz`` (the tenant's).
    """
    status = effective_status(row, now)
    decisions = [d for d in ("approved", "refused", "backlog")
                 if can_decide and status != "expired" and row["status"] in DECIDABLE_FROM[d]]
    decided = None
    if row["decided_by"]:
        decided = _(lang, "{decision} by {by} on {at}", decision=code(
            row["status"] if row["status"] in ("approved", "refused", "backlog") else "approved",
            lang), by=row["decided_by"], at=format_datetime(row["decided_at"], tz, lang))
        if row.get("decision_channel"):
            decided += " (" + _(lang, "via {channel}",
                                channel=code(row["decision_channel"], lang)) + ")"
    execution = None
    if row.get("execution_status"):
        execution = _(lang, "Last execution: {status} {when}",
                      status=code(row["execution_status"], lang),
                      when=format_datetime(row["execution_at"], tz, lang))
        if row.get("execution_error"):
            execution += f" — {row['execution_error']}"
    cal = row.get("calibrated_confidence")
    return {
        "id": row["suggestion_id"], "priority": row["priority"],
        "priority_label": code(row["priority"], lang), "type": row["type"],
        "type_label": code(row["type"], lang), "status": status,
        "status_label": code(status, lang), "entity": entity_text(row, lang),
        "link": entity_link(row), "platform": row["platform"],
        "action": suggestion_text(row, "action", lang),
        "reason": suggestion_text(row, "reason", lang),
        "impact": suggestion_text(row, "expected_impact", lang),
        "intervals": format_intervals(readable_prediction(row["predicted_metrics"]), lang,
                                      currency),
        "confidence": _(lang, "confidence {pct}", pct=confidence_text(row["confidence"], lang)),
        "calibrated": (_(lang, "calibrated {pct}", pct=confidence_text(cal, lang))
                       if cal is not None and cal != row["confidence"] else None),
        "confidence_note": (_(lang, CONFIDENCE_CAP_NOTE)
                            if confidence_capped(row["confidence"]) or confidence_capped(cal)
                            else None),
        "as_of": _(lang, "data as of {day}", day=format_date(row["as_of"], lang)),
        "expires": _(lang, "expires {when}", when=format_datetime(row["expires_at"], tz, lang)),
        "decided": decided, "notes": row.get("decision_notes"),
        "guard_rail": rail_note(row.get("guard_rail_note"), lang),
        "execution": execution, "decisions": decisions, "flash": flash,
    }


# ------------------------------------------------------------------------------- entity
def _change(x: dict[str, Any], lang: str, currency: str) -> str:
    """One line for an execution's change: before → intended (budget, bid or status)."""
    before, intended = x.get("before_state") or {}, x.get("intended_state") or {}
    if "daily_budget" in intended:
        return _(lang, "daily budget {frm} → {to}", frm=money(before.get("daily_budget"), lang,
                                                               currency),
                 to=money(intended["daily_budget"], lang, currency))
    if "bid_amount" in intended:
        return _(lang, "bid cap {frm} → {to}", frm=money(before.get("bid_amount"), lang, currency),
                 to=money(intended["bid_amount"], lang, currency))
    if "status" in intended:
        return _(lang, "status {frm} → {to}", frm=code(before.get("status"), lang) or DASH,
                 to=code(intended["status"], lang))
    if "validation_queue" in intended:
        return code("handoff", lang)
    return code(x.get("action_type"), lang)


def _variance(v: dict[str, Any] | None, lang: str, currency: str) -> list[dict[str, Any]]:
    """Predicted p10–p90 against observed, per measured metric (``hypothesis_tracking.variance``)."""
    out: list[dict[str, Any]] = []
    for metric, q in (v or {}).items():
        if metric == "key" or not isinstance(q, dict) or "actual" not in q:
            continue
        unit = currency if metric in ("spend", "cpa", "cpc", "cpm", "spend_saved", "value_lost") \
            else None
        shown = metric_label(metric, lang)

        def f(x: Any, metric: str = metric, unit: str | None = unit) -> str:
            return fmt_value(x, metric, lang, currency, unit)

        out.append({"metric": shown, "predicted": f"{f(q.get('p10'))} – {f(q.get('p90'))}",
                     "actual": f(q["actual"]), "inside": bool(q.get("inside"))})
    return out


def execution(x: dict[str, Any], *, lang: str, currency: str, tz: str = "UTC") -> dict[str, Any]:
    """Display values of one execution row with its hypothesis (entity page); times in ``tz``."""
    outcome = x.get("outcome")
    if x.get("hypothesis_id") and not outcome:
        outcome_text = _(lang, "measuring until {day}",
                         day=format_date(x["measurement_end_date"], lang))
    else:
        outcome_text = code(outcome, lang) if outcome else DASH
    window = (f"{format_date(x['start_day'], lang)} → "
              f"{format_date(x['measurement_end_date'], lang)}" if x.get("start_day") else DASH)
    why = x.get("why_accurate") or x.get("why_inaccurate")
    return {
        "id": x["execution_id"], "suggestion_id": x["suggestion_id"],
        "when": format_datetime(x["executed_at"] or x["claimed_at"], tz, lang),
        "by": x["executed_by"],
        "type": code(x.get("suggestion_type"), lang), "change": _change(x, lang, currency),
        "status": x["status"], "status_label": code(x["status"], lang),
        "error": x.get("error_message"), "outcome": outcome, "outcome_label": outcome_text,
        "window": window, "why": why, "variance": _variance(x.get("variance"), lang, currency),
    }


def anomaly(a: dict[str, Any], *, lang: str, currency: str) -> dict[str, Any]:
    """Display values of one anomaly row (entity page)."""
    return {
        "day": format_date(a["as_of"], lang), "metric": metric_label(a["metric"], lang),
        "direction": code(a["anomaly_type"], lang),
        "expected": fmt_value(a["baseline_value"], a["metric"], lang, currency),
        "actual": fmt_value(a["actual_value"], a["metric"], lang, currency),
        "deviation": format_percent(a.get("deviation"), lang, 1, sign=True),
        "severity": a["severity"], "severity_label": code(a["severity"], lang),
        "status": code(a["status"], lang),
    }


def totals(metrics: list[dict[str, Any]], result_metric: str, *, lang: str,
           currency: str) -> list[tuple[str, str]]:
    """Return (label, value) of the entity's last 7 reported days: sums and ratios of sums."""
    rows = metrics[-7:]
    s = {k: sum(float(r[k] or 0) for r in rows)
         for k in ("spend", "impressions", "clicks", "conversion_value", result_metric)}
    res = s[result_metric]
    out = [(metric_label("spend", lang), money(s["spend"], lang, currency)),
           (metric_label("impressions", lang), format_number(s["impressions"], lang, 0)),
           ("CTR", pct(s["clicks"] / s["impressions"], lang, 2) if s["impressions"] else DASH),
           (metric_label(result_metric, lang), format_number(res, lang, 0)),
           ("CPA", money(s["spend"] / res, lang, currency) if res else DASH)]
    if s["conversion_value"] > 0 and s["spend"] > 0:
        out.append(("ROAS", format_ratio(s["conversion_value"] / s["spend"], lang)))
    return out


def history_summary(entry: dict[str, Any], *, lang: str) -> str:
    """Return :func:`growthops.ads.action.decisions.summarize` in ``lang``: decisions, the
    last execution's status, the hypothesis' outcome, or the status when nobody decided."""
    from growthops.ads.action.decisions import DECISIONS

    parts = []
    for d in entry["decisions"]:
        part = _(lang, "{decision} by {who}", decision=code(d["decision"], lang),
                 who=d["decided_by"])
        parts.append(f'{part} ("{d["notes"]}")' if d.get("notes") else part)
    if entry["executions"]:
        parts.append(code(entry["executions"][-1]["status"], lang))
    hyp = entry.get("hypothesis")
    if hyp is not None:
        parts.append(code(hyp["outcome"], lang) if hyp["outcome"] else _(
            lang, "measuring until {day}", day=format_date(hyp["measurement_end_date"], lang)))
    status = entry["suggestion"]["status"]
    if not parts or (not entry["executions"] and status not in DECISIONS and status != "pending"):
        parts.append(code(status, lang))
    return " → ".join(parts)


def children(rows: list[dict[str, Any]], result_metric: str, *, lang: str,
             currency: str) -> list[dict[str, Any]]:
    """Return display rows of an entity's children (``pages_data.entity`` key ``children``):
    id, name, days reported, spend, results, CPA and ROAS (ratios of the sums)."""
    out = []
    for r in rows:
        spend, res = float(r["spend"] or 0), float(r.get(result_metric) or 0)
        value = float(r["conversion_value"] or 0)
        out.append({
            "id": r["entity_id"], "name": r["entity_name"] or r["entity_id"], "days": r["days"],
            "spend": money(spend, lang, currency), "results": format_number(res, lang, 0),
            "cpa": money(spend / res, lang, currency) if res else DASH,
            "roas": format_ratio(value / spend, lang) if value > 0 and spend > 0 else DASH,
        })
    return out


# ------------------------------------------------------------------------------ validation
def validation_item(item: dict[str, Any], *, lang: str, can_decide: bool, tz: str = "UTC",
                    flash: dict[str, str] | None = None) -> dict[str, Any]:
    """Display values of one ``ads.validation_queue`` row (with ``effective_status``); times
    in ``tz``."""
    status = item["effective_status"]
    content = item.get("content") or {}

    def at(ts: Any) -> str:
        return format_datetime(ts, tz, lang)

    lines = []
    if item.get("submitted_by"):
        lines.append(_(lang, "submitted by {by} on {at}", by=item["submitted_by"],
                       at=at(item["submitted_at"])))
    if item.get("client_validated_by"):
        lines.append(_(lang, "client review: {by} on {at}", by=item["client_validated_by"],
                       at=at(item["client_validated_at"])))
    if item.get("team_validated_by"):
        lines.append(_(lang, "team review: {by} on {at}", by=item["team_validated_by"],
                       at=at(item["team_validated_at"])))
    if item.get("rejected_by"):
        lines.append(_(lang, "rejected by {by} on {at}: {reason}", by=item["rejected_by"],
                       at=at(item["rejected_at"]), reason=item.get("rejection_reason") or ""))
    details = [(k, v) for k, v in content.items()
               if k in ("action", "reason", "hook", "body", "cta", "angle", "entity_id")
               and isinstance(v, str | int | float)]
    return {
        "id": item["queue_id"], "name": item["item_name"],
        "type_label": code(item["item_type"], lang), "stage": item["validation_stage"],
        "stage_label": code(item["validation_stage"], lang), "status": status,
        "status_label": code(status, lang), "lines": lines, "details": details,
        "suggestion_id": content.get("suggestion_id"),
        "expires": _(lang, "expires {when}", when=at(item["expires_at"])),
        "actionable": can_decide and status == "pending", "flash": flash,
    }


def now_utc() -> datetime:
    """Return the wall clock in UTC (one place, so tests can patch it)."""
    return datetime.now(UTC)
