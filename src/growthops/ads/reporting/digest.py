"""The digest of the daily cycle on the command line: Rich tables of suggestions.

Also holds the helpers the HTML report, the dashboard and Slack share: fetching suggestions in
review order, picking a suggestion's text in the user's language, and formatting metric values
and predicted intervals (Babel, through :mod:`growthops.core.i18n`).

Review order is priority (critical, high, medium, low), then confidence (highest first), then id.
Predicted intervals are the p10-p90 range of ``predicted_metrics`` (an 80% interval) around p50.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from rich.console import Console
from rich.table import Table
from rich.text import Text

from growthops.ads import labels
from growthops.ads.labels import metric_label
from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.i18n import (
    DASH,
    N_,
    _,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_ratio,
)

STATUSES = ("pending", "approved", "refused", "backlog", "executing", "executed", "expired", "failed", "blocked")
PRIORITY_STYLE = {"critical": "bold red", "high": "yellow", "medium": "cyan", "low": "dim"}
MONEY_METRICS = frozenset({"spend", "spend_per_day", "cpa", "cpc", "cpl", "cpm", "revenue",
                           "conversion_value", "budget", "daily_budget", "spend_saved",
                           "value_lost"})
FRACTION_METRICS = frozenset({"ctr", "cvr", "hook_rate"})
COUNT_METRICS = frozenset({"conversions", "leads", "applications", "bookings", "clicks",
                           "impressions", "reach", "results", "results_lost"})


def code_label(code: str | None, lang: str) -> str:
    """Return a status, priority, type or severity code in ``lang`` (the code if unknown)."""
    return labels.code(code, lang)


# -------------------------------------------------------------------------------- formatting
def fmt_value(x: Any, metric: str, lang: str, currency: str, unit: str | None = None) -> str:
    """Format a metric value with its unit for ``lang`` (Babel, :mod:`growthops.core.i18n`).

    Money metrics (or a 3-letter ``unit``, an ISO 4217 code) in that currency (``€350.00`` /
    ``350,00 €``); fractions (CTR, CVR, or ``unit == "fraction"``) as percentages with 2
    decimals; ``unit`` ``%`` / ``percent`` / ``pct``: a percent 0-100 value, 1 decimal; ROAS
    (or ``unit`` ``x`` / ``ratio``) with "×"; counts without decimals when whole; anything else
    with decimals by magnitude. None → "–".
    """
    if x is None:
        return DASH
    if unit and len(unit) == 3 and unit.isalpha() and unit.isupper():
        return format_money(x, unit, lang, 2)
    if unit == "fraction" or (unit is None and metric in FRACTION_METRICS):
        return format_percent(x, lang, 2)
    if unit in ("%", "percent", "pct"):
        return format_percent(float(x) / 100, lang, 1)
    if unit is None and metric in MONEY_METRICS:
        return format_money(x, currency, lang, 2)
    if metric == "roas" or unit in ("x", "ratio"):
        return format_ratio(x, lang)
    if metric in COUNT_METRICS:
        return format_number(x, lang, 0 if float(x).is_integer() else 1)
    return format_number(x, lang)


#: The highest confidence shown, in percent: a model's probability about next week is never a
#: certainty (the data can break, the platform can change delivery), so a stored 99.5-100 is
#: shown as "≥ 99%" with :data:`CONFIDENCE_CAP_NOTE` beside it, never as "100%".
CONFIDENCE_DISPLAY_MAX = 99
CONFIDENCE_CAP_NOTE = N_("shown at most 99%: a model's probability about next week is never a "
                         "certainty")


def confidence_capped(confidence: Any) -> bool:
    """True when a confidence (percent 0-100) is above :data:`CONFIDENCE_DISPLAY_MAX`."""
    return confidence is not None and float(confidence) > CONFIDENCE_DISPLAY_MAX


def confidence_text(confidence: Any, lang: str) -> str:
    """Format a confidence stored as a percent 0-100 (``90%`` / ``90 %``); above
    :data:`CONFIDENCE_DISPLAY_MAX` it reads ``≥99%`` (never ``100%``)."""
    if confidence_capped(confidence):
        return "≥" + format_percent(CONFIDENCE_DISPLAY_MAX / 100, lang)
    return format_percent(None if confidence is None else float(confidence) / 100, lang)


def _as_dict(v: Any) -> dict[str, Any]:
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return {}
    return v if isinstance(v, dict) else {}


def suggestion_text(row: dict[str, Any], field: str, lang: str) -> str:
    """Return ``field`` (action, reason, expected_impact) in ``lang`` from ``texts``.

    Falls back to the English column when ``texts`` lacks the language or the field.
    """
    texts = _as_dict(row.get("texts"))
    value = _as_dict(texts.get(lang)).get(field)
    return str(value) if value else str(row.get(field) or "")


def predicted_rows(predicted: Any) -> tuple[int | None, list[dict[str, Any]]]:
    """Return (horizon_days, [{metric, p10, p50, p90, unit}]) from ``predicted_metrics`` JSON.

    Shape: ``{"horizon_days": 7, "metrics": {"cpa": {"p10":..,"p50":..,"p90":..,"unit":"EUR"}}}``;
    any key may be missing, non-numeric values are skipped.
    """
    pm = _as_dict(predicted)
    horizon = pm.get("horizon_days")
    rows = []
    for metric, spec in _as_dict(pm.get("metrics")).items():
        spec = _as_dict(spec)
        vals = {}
        for q in ("p10", "p50", "p90"):
            v = spec.get(q)
            vals[q] = float(v) if isinstance(v, int | float | Decimal) else None
        if all(v is None for v in vals.values()):
            continue
        rows.append({"metric": metric, **vals, "unit": spec.get("unit")})
    return (int(horizon) if isinstance(horizon, int | float) else None), rows


def format_intervals(predicted: Any, lang: str, currency: str) -> list[str]:
    """Return one sentence per predicted metric: p50 and the p10-p90 interval, with units.

    A metric lacking p10 or p90, or whose p10 equals its p90 (a fixed quantity such as the
    spend of a paused entity), is shown with its p50 only: never "0.00 to 0.00".
    """
    horizon, rows = predicted_rows(predicted)
    out = []
    for r in rows:
        def f(q: str, r: dict[str, Any] = r) -> str:
            return fmt_value(r[q], r["metric"], lang, currency, r["unit"])

        params = {"metric": metric_label(r["metric"], lang), "p50": f("p50"),
                  "days": horizon or "?"}
        if r["p10"] is None or r["p90"] is None or r["p10"] == r["p90"]:  # a point, not a range
            out.append(_(lang, "{metric} {p50} over {days} days", **params))
        else:
            out.append(_(lang, "{metric} {p50} (80% interval {p10} to {p90}) over {days} days",
                         p10=f("p10"), p90=f("p90"), **params))
    return out


def entity_label(row: dict[str, Any], lang: str | None = None) -> str:
    """Return ``type name (id)`` of a suggestion or anomaly row's entity; with ``lang`` the
    type is named in that language (``ensemble de pubs``), else as stored (``adset``)."""
    kind = row.get("entity_type") or row.get("level") or ""
    if lang and kind:
        kind = code_label(kind, lang)
    name = row.get("entity_name")
    ident = row.get("entity_id")
    return f"{kind} {name} ({ident})" if name else f"{kind} {ident}"


# ----------------------------------------------------------------------------------- queries
_SUGGESTIONS_SQL = """
select s.*,
       case s.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end
         as priority_rank
from ads.suggestions s
where s.tenant_id = %(tenant_id)s
  and (%(as_of)s::date is null or s.as_of = %(as_of)s::date)
  and (%(status)s::text is null or s.status = %(status)s::text)
order by priority_rank, s.confidence desc, s.suggestion_id
limit %(limit)s
"""


def fetch_suggestions(conn: psycopg.Connection[Any], *, tenant_id: UUID | str,
                      as_of: date | None = None, status: str | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
    """Return suggestions in review order (priority, then confidence desc), optionally filtered.

    ``as_of`` None: any day; ``status`` None: any status; ``limit`` None: all rows.
    Raises :class:`InvalidInput` for an unknown ``status``.
    """
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    return conn.execute(_SUGGESTIONS_SQL, {"tenant_id": str(tenant_id), "as_of": as_of,
                                           "status": status, "limit": limit}).fetchall()


def fetch_tenant(conn: psycopg.Connection[Any], *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's key, name, currency, time zone and ROAS target; :class:`NotFound` if
    absent."""
    row = conn.execute("select client_key, client_name, currency, time_zone, roi_target "
                       "from core.tenants where tenant_id = %s", [str(tenant_id)]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    return row


# ------------------------------------------------------------------------------------ output
#: The columns of the review table, in order.
_REVIEW_COLUMNS = (N_("#"), N_("priority"), N_("type"), N_("entity"), N_("action"),
                   N_("expected impact"), N_("confidence"), N_("status"))


def _status_cell(r: dict[str, Any], lang: str) -> Text:
    """Status, marked when auto-applied, with the guard rail that applied (if any)."""
    cell = Text(code_label(r["status"], lang))
    if r.get("auto_applied"):
        cell.append(" " + _(lang, "(auto-applied)"), style="magenta")
    if r.get("guard_rail_note"):
        from growthops.ads.action.guardrails import describe

        cell.append("\n" + describe(r["guard_rail_note"], lang), style="yellow")
    return cell


def _table(rows: list[dict[str, Any]], *, lang: str, currency: str, title: str,
           show_day: bool) -> Table:
    """The review table: one line per suggestion (action, expected impact, confidence); the
    reason and the predicted intervals are in ``growthops suggestions show ID``."""
    table = Table(title=title, show_lines=False, expand=False)
    for label in _REVIEW_COLUMNS:
        table.add_column(_(lang, label), overflow="fold",
                         justify="right" if label in ("#", "confidence") else "left")
    if show_day:
        table.add_column(_(lang, "data as of"))
    for r in rows:
        cells: list[Any] = [
            str(r["suggestion_id"]),
            Text(code_label(r["priority"], lang), style=PRIORITY_STYLE.get(r["priority"], "")),
            Text(code_label(r["type"], lang)),
            Text(entity_label(r)),
            Text(suggestion_text(r, "action", lang), style="bold"),
            Text(suggestion_text(r, "expected_impact", lang)),
            confidence_text(r["confidence"], lang),
            _status_cell(r, lang),
        ]
        if show_day:
            cells.append(str(r["as_of"]))
        table.add_row(*cells)
    return table


def weekly_stake(row: dict[str, Any]) -> float:
    """The spend a suggestion moves in a week (tenant currency): ``|status quo spend -
    predicted spend p50|`` from ``predicted_metrics`` (a pause: the whole status quo spend);
    0 when the suggestion changes no spend (refresh, diagnostic)."""
    pm = _as_dict(row.get("predicted_metrics"))
    quo = _as_dict(pm.get("status_quo")).get("spend")
    p50 = _as_dict(_as_dict(pm.get("metrics")).get("spend")).get("p50")
    try:
        return abs(float(quo) - float(p50 or 0)) if quo is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def print_queue(db: Database, console: Console, *, tenants: list[dict[str, Any]],
                status: str | None, limit: int, lang: str) -> None:
    """Print the morning queue across ``tenants`` (directory rows): their suggestions with
    ``status`` (None: any), sorted by priority, then the spend at stake
    (:func:`weekly_stake`, largest first), then confidence; at most ``limit`` lines. One
    query per tenant, each under its own row-level security."""
    rows: list[dict[str, Any]] = []
    for tn in tenants:
        with db.tenant_tx(tn["tenant_id"]) as conn:
            for r in fetch_suggestions(conn, tenant_id=tn["tenant_id"], status=status,
                                       limit=limit):
                rows.append({**r, "client_key": tn["client_key"]})
    rows.sort(key=lambda r: (r["priority_rank"], -weekly_stake(r), -r["confidence"],
                             r["suggestion_id"]))
    label = code_label(status, lang) if status else _(lang, "all statuses")
    table = Table(title=_(lang, "Suggestions of every client ({status})", status=label))
    table.add_column(_(lang, "client"))
    for label_ in _REVIEW_COLUMNS:
        table.add_column(_(lang, label_), overflow="fold",
                         justify="right" if label_ in ("#", "confidence") else "left")
    for r in rows[:limit]:
        table.add_row(r["client_key"], str(r["suggestion_id"]),
                      Text(code_label(r["priority"], lang),
                           style=PRIORITY_STYLE.get(r["priority"], "")),
                      Text(code_label(r["type"], lang)), Text(entity_label(r)),
                      Text(suggestion_text(r, "action", lang), style="bold"),
                      Text(suggestion_text(r, "expected_impact", lang)),
                      confidence_text(r["confidence"], lang), _status_cell(r, lang))
    if not rows:
        console.print(Text(str(table.title), style="bold"))
        console.print(_(lang, "No suggestion."))
        return
    console.print(table)


def print_digest(db: Database, console: Console, *, tenant_id: UUID | str, as_of: date,
                 lang: str) -> None:
    """Print the suggestions of ``as_of`` awaiting a decision, those a guard rail blocked and
    those applied automatically (marked), as a Rich table, in review order.

    Confidence is a percent 0-100; intervals are p10-p90 of ``predicted_metrics``.
    """
    with db.tenant_tx(tenant_id) as conn:
        tenant = fetch_tenant(conn, tenant_id=tenant_id)
        rows = [r for r in fetch_suggestions(conn, tenant_id=tenant_id, as_of=as_of)
                if r["status"] in ("pending", "blocked") or r.get("auto_applied")]
    title = _(lang, "Suggestions for {tenant} (data as of {as_of})", tenant=tenant["client_name"],
              as_of=as_of)
    if not rows:
        console.print(Text(title, style="bold"))
        console.print(_(lang, "No suggestion: not enough evidence for any action, or nothing to "
                              "change."))
        return
    console.print(_table(rows, lang=lang, currency=tenant["currency"], title=title,
                         show_day=False))


def print_suggestions(db: Database, console: Console, *, tenant_id: UUID | str,
                      status: str | None, limit: int, lang: str) -> None:
    """Print up to ``limit`` suggestions with ``status`` (None: any), in review order.

    Raises :class:`InvalidInput` for an unknown status.
    """
    with db.tenant_tx(tenant_id) as conn:
        tenant = fetch_tenant(conn, tenant_id=tenant_id)
        rows = fetch_suggestions(conn, tenant_id=tenant_id, status=status, limit=limit)
    label = code_label(status, lang) if status else _(lang, "all statuses")
    title = _(lang, "Suggestions for {tenant} ({status})", tenant=tenant["client_name"],
              status=label)
    if not rows:
        console.print(Text(title, style="bold"))
        console.print(_(lang, "No suggestion."))
        return
    console.print(_table(rows, lang=lang, currency=tenant["currency"], title=title,
                         show_day=True))


#: Names of the evidence and change fields a suggestion stores (``evidence``,
#: ``action_params``), for a reader; other keys are shown with spaces for underscores.
FIELD_LABELS = {
    "spend_14": N_("spend over the window"), "results_14": N_("results over the window"),
    "value_per_result": N_("value per result"), "roas_14": N_("ROAS over the window"),
    "target_roas": N_("target ROAS"), "target_cpa": N_("target CPA"),
    "posterior_rate": N_("results per unit of spend (model)"), "shape": N_("shape"),
    "rate": N_("rate"), "dispersion": N_("day-to-day dispersion"),
    "drift_variance": N_("week-to-week drift"), "drift_mean": N_("mean week-to-week change"),
    "overdispersion": N_("weekly counts' overdispersion"),
    "recent_weight": N_("weight of the last 14 days"),
    "transient_variance": N_("transient part of the last 14 days"),
    "value_dispersion": N_("spread of one result's value"),
    "value_drift_variance": N_("uncertainty of the value per result"),
    "history_weight": N_("weight of the entity's own history"),
    "history_drift_variance": N_("drift since the entity's history"),
    "p_roas_below_pause_line": N_("probability ROAS stays below the pause line"),
    "p_roas_above_scale_line": N_("probability ROAS stays above the scale line"),
    "p_roas_below_target": N_("probability ROAS stays below target"),
    "peers_p75_roas": N_("peers' ROAS, 75th percentile"), "daily_budget": N_("daily budget"),
    "from": N_("from"), "to": N_("to"), "change": N_("change"),
    "inferred": N_("inferred from the average daily spend"), "status": N_("status"),
    "bid_cap": N_("bid cap"), "q_value": N_("q-value"), "anomaly_id": N_("anomaly"),
    "month_to_date_spend": N_("month-to-date spend"),
    "projected_month_spend": N_("projected month spend"),
    "monthly_budget_max": N_("monthly maximum"), "p_over": N_("probability of going over"),
}


def readable_fields(v: Any, lang: str, indent: str = "") -> str:
    """A stored JSON object (evidence, action parameters) as ``label: value`` lines in ``lang``:
    numbers by Babel (3 significant digits), nested objects indented; never raw JSON."""
    d = v if isinstance(v, dict | list) else _as_dict(v)
    if not d:
        return DASH
    if isinstance(d, list):
        return ", ".join(str(x) for x in d)
    lines = []
    for k, x in d.items():
        label = _(lang, FIELD_LABELS[k]) if k in FIELD_LABELS else str(k).replace("_", " ")
        if isinstance(x, dict):
            lines.append(f"{indent}{label}:")
            lines.append(readable_fields(x, lang, indent + "  "))
        elif isinstance(x, bool):
            yes_no = _(lang, "yes") if x else _(lang, "no")
            lines.append(f"{indent}{label}: {yes_no}")
        elif isinstance(x, int | float):
            lines.append(f"{indent}{label}: {format_number(x, lang, None if abs(x) >= 1 else 3)}")
        else:
            lines.append(f"{indent}{label}: {DASH if x is None else x}")
    return "\n".join(lines)


def _json_text(v: Any, lang: str = "en") -> str:
    return readable_fields(v, lang)


def print_suggestion(db: Database, console: Console, *, tenant_id: UUID | str,
                     suggestion_id: int, lang: str) -> None:
    """Print one suggestion: texts, entity, dates, predicted p10/p50/p90, change and evidence.

    Times are in the tenant's time zone. Raises :class:`NotFound` when the tenant has no
    suggestion ``suggestion_id`` (row-level security hides other tenants' suggestions).
    """
    with db.tenant_tx(tenant_id) as conn:
        tenant = fetch_tenant(conn, tenant_id=tenant_id)
        row = conn.execute("select * from ads.suggestions where tenant_id = %s and "
                           "suggestion_id = %s", [str(tenant_id), suggestion_id]).fetchone()
    if row is None:
        raise NotFound(_(lang, "no suggestion {id} for this tenant", id=suggestion_id))
    cur, tz = tenant["currency"], tenant["time_zone"]

    def when(ts: Any) -> str:
        return format_datetime(ts, tz, lang) if ts is not None else ""

    table = Table(_(lang, "field"), _(lang, "value"), show_lines=True,
                  title=_(lang, "Suggestion {id}", id=suggestion_id))
    decided = " ".join(x for x in (row["decided_by"] or "", when(row["decided_at"])) if x)
    fields: list[tuple[str, Any]] = [
        (_(lang, "status"), code_label(row["status"], lang)),
        (_(lang, "priority"), Text(code_label(row["priority"], lang),
                                   style=PRIORITY_STYLE.get(row["priority"], ""))),
        (_(lang, "type"), code_label(row["type"], lang)),
        (_(lang, "platform"), row["platform"]),
        (_(lang, "entity"), entity_label(row)),
        (_(lang, "action"), Text(suggestion_text(row, "action", lang), style="bold")),
        (_(lang, "reason"), suggestion_text(row, "reason", lang)),
        (_(lang, "expected impact"), suggestion_text(row, "expected_impact", lang)),
        (_(lang, "confidence"), confidence_text(row["confidence"], lang)),
        (_(lang, "data as of"), str(row["as_of"])),
        (_(lang, "created ({tz})", tz=tz), when(row["created_at"])),
        (_(lang, "expires ({tz})", tz=tz), when(row["expires_at"])),
        (_(lang, "decided"), decided or DASH),
        (_(lang, "change"), _json_text(row["action_params"], lang)),
        (_(lang, "evidence"), _json_text(row["evidence"], lang)),
    ]
    for label, value in fields:
        table.add_row(label, value if isinstance(value, Text) else Text(str(value)))
    console.print(table)
    horizon, preds = predicted_rows(row["predicted_metrics"])
    if preds:
        pt = Table(_(lang, "metric"), "p10", "p50", "p90",
                   title=_(lang, "Predicted over {days} days (p10 / p50 / p90)",
                           days=horizon or "?"))
        for p in preds:
            pt.add_row(metric_label(p["metric"], lang),
                       *(fmt_value(p[q], p["metric"], lang, cur, p["unit"])
                         for q in ("p10", "p50", "p90")))
        console.print(pt)
