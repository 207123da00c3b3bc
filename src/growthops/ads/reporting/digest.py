"""The digest of the daily cycle on the command line: Rich tables of suggestions.

Also holds the helpers the HTML report shares: fetching suggestions in review order, picking a
suggestion's text in the user's language, and formatting numbers, money and predicted intervals.

Review order is priority (critical, high, medium, low), then confidence (highest first), then id.
Predicted intervals are the p10-p90 range of ``predicted_metrics`` (an 80% interval) around p50.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from rich.console import Console
from rich.table import Table
from rich.text import Text

from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.i18n import MESSAGES, t

# ---------------------------------------------------------------------------------- messages
_MESSAGES: dict[str, dict[str, str]] = {
    "col.id": {"en": "#", "fr": "n°"},
    "col.priority": {"en": "priority", "fr": "priorité"},
    "col.type": {"en": "type", "fr": "type"},
    "col.entity": {"en": "entity", "fr": "entité"},
    "col.action": {"en": "action", "fr": "action"},
    "col.reason": {"en": "reason", "fr": "raison"},
    "col.impact": {"en": "expected impact", "fr": "impact attendu"},
    "col.confidence": {"en": "confidence", "fr": "confiance"},
    "col.expires": {"en": "expires (UTC)", "fr": "expire (UTC)"},
    "col.status": {"en": "status", "fr": "statut"},
    "col.as_of": {"en": "data as of", "fr": "données au"},
    "col.platform": {"en": "platform", "fr": "plateforme"},
    "col.created": {"en": "created (UTC)", "fr": "créée (UTC)"},
    "col.decided": {"en": "decided", "fr": "décision"},
    "col.metric": {"en": "metric", "fr": "métrique"},
    "col.field": {"en": "field", "fr": "champ"},
    "col.value": {"en": "value", "fr": "valeur"},
    "col.params": {"en": "change", "fr": "modification"},
    "col.evidence": {"en": "evidence", "fr": "preuves"},
    "digest.interval": {
        "en": "{metric} {p50} (80% interval {p10} to {p90}) over {days} days",
        "fr": "{metric} {p50} (intervalle à 80 % : {p10} à {p90}) sur {days} jours",
    },
    "digest.point": {
        "en": "{metric} {p50} over {days} days",
        "fr": "{metric} {p50} sur {days} jours",
    },
    "digest.list_title": {
        "en": "Suggestions for {tenant} ({status})",
        "fr": "Suggestions pour {tenant} ({status})",
    },
    "digest.all_statuses": {"en": "all statuses", "fr": "tous statuts"},
    "digest.none_listed": {"en": "No suggestion.", "fr": "Aucune suggestion."},
    "digest.not_found": {
        "en": "no suggestion {id} for this tenant",
        "fr": "aucune suggestion {id} pour ce client",
    },
    "digest.suggestion_title": {"en": "Suggestion {id}", "fr": "Suggestion {id}"},
    "digest.predicted_title": {
        "en": "Predicted over {days} days (p10 / p50 / p90)",
        "fr": "Prévision sur {days} jours (p10 / p50 / p90)",
    },
}
# Code values shown translated (fallback: the code itself).
_CODES: dict[str, dict[str, str]] = {
    "critical": {"en": "critical", "fr": "critique"},
    "high": {"en": "high", "fr": "haute"},
    "medium": {"en": "medium", "fr": "moyenne"},
    "low": {"en": "low", "fr": "basse"},
    "pending": {"en": "pending", "fr": "en attente"},
    "approved": {"en": "approved", "fr": "approuvée"},
    "refused": {"en": "refused", "fr": "refusée"},
    "backlog": {"en": "backlog", "fr": "en réserve"},
    "executed": {"en": "executed", "fr": "exécutée"},
    "expired": {"en": "expired", "fr": "expirée"},
    "failed": {"en": "failed", "fr": "échouée"},
    "scale": {"en": "scale", "fr": "augmenter"},
    "pause": {"en": "pause", "fr": "pause"},
    "refresh": {"en": "refresh creative", "fr": "renouveler la créa"},
    "test_angle": {"en": "test an angle", "fr": "tester un angle"},
    "campaign_diagnostic": {"en": "diagnostic", "fr": "diagnostic"},
    "budget_increase": {"en": "budget +", "fr": "budget +"},
    "budget_decrease": {"en": "budget −", "fr": "budget −"},
    "bid_adjustment": {"en": "bid", "fr": "enchère"},
    "spike": {"en": "spike", "fr": "hausse"},
    "drop": {"en": "drop", "fr": "baisse"},
    "active": {"en": "active", "fr": "active"},
    "investigating": {"en": "investigating", "fr": "en analyse"},
    "resolved": {"en": "resolved", "fr": "résolue"},
    "dismissed": {"en": "dismissed", "fr": "écartée"},
    "running": {"en": "running", "fr": "en cours"},
    "succeeded": {"en": "succeeded", "fr": "réussi"},
}
for _k, _v in _MESSAGES.items():
    MESSAGES.setdefault(_k, _v)

STATUSES = ("pending", "approved", "refused", "backlog", "executing", "executed", "expired", "failed", "blocked")
PRIORITY_STYLE = {"critical": "bold red", "high": "yellow", "medium": "cyan", "low": "dim"}
MONEY_METRICS = frozenset({"spend", "spend_per_day", "cpa", "cpc", "cpl", "cpm", "revenue",
                           "conversion_value", "budget", "daily_budget"})
FRACTION_METRICS = frozenset({"ctr", "cvr", "hook_rate"})
COUNT_METRICS = frozenset({"conversions", "leads", "applications", "bookings", "clicks",
                           "impressions", "reach", "results"})
METRIC_LABEL = {"ctr": "CTR", "cvr": "CVR", "cpa": "CPA", "cpc": "CPC", "cpl": "CPL", "cpm": "CPM",
                "roas": "ROAS", "spend": "spend", "spend_per_day": "spend/day",
                "conversions": "conversions", "leads": "leads", "clicks": "clicks",
                "impressions": "impressions", "frequency": "frequency"}
_FR_METRIC = {"spend": "dépenses", "spend/day": "dépenses/jour", "clicks": "clics",
              "frequency": "fréquence"}


def code_label(code: str | None, lang: str) -> str:
    """Return a status, priority, type or severity code in ``lang`` (the code if unknown)."""
    if code is None:
        return ""
    entry = _CODES.get(code)
    return entry.get(lang, entry["en"]) if entry else code


def metric_label(metric: str, lang: str) -> str:
    """Return the display name of a metric (CTR, CPA, spend...) in ``lang``."""
    label = METRIC_LABEL.get(metric, metric)
    return _FR_METRIC.get(label, label) if lang == "fr" else label


# -------------------------------------------------------------------------------- formatting
def fmt_num(x: Any, lang: str, decimals: int | None = None) -> str:
    """Format a number with ``decimals`` places (auto by magnitude if None), "-" for None/NaN.

    English: ``1,234.5``; French: ``1 234,5`` (narrow no-break space, decimal comma).
    """
    if x is None:
        return "–"
    v = float(x)
    if v != v:  # NaN
        return "–"
    if decimals is None:
        a = abs(v)
        decimals = 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 1 else 3
    s = f"{v:,.{decimals}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def fmt_value(x: Any, metric: str, lang: str, currency: str, unit: str | None = None) -> str:
    """Format a metric value with its unit.

    Money metrics (or a 3-letter ``unit``) get 2 decimals and the currency code; fractions
    (CTR, CVR, or ``unit == "fraction"``) are shown as percent 0-100; ROAS with "×"; counts
    without decimals when whole.
    """
    if x is None:
        return "–"
    if unit and len(unit) == 3 and unit.isalpha() and unit.isupper():
        return f"{fmt_num(x, lang, 2)} {unit}"
    if unit == "fraction" or (unit is None and metric in FRACTION_METRICS):
        return f"{fmt_num(float(x) * 100, lang, 2)}\u00a0%"
    if unit in ("%", "percent", "pct"):
        return f"{fmt_num(x, lang, 1)}\u00a0%"
    if unit is None and metric in MONEY_METRICS:
        return f"{fmt_num(x, lang, 2)} {currency}"
    if metric == "roas" or unit in ("x", "ratio"):
        return f"{fmt_num(x, lang, 2)}×"
    if metric in COUNT_METRICS:
        return fmt_num(x, lang, 0 if float(x).is_integer() else 1)
    return fmt_num(x, lang)


def fmt_ts(ts: datetime | None) -> str:
    """Format a timestamp as ``YYYY-MM-DD HH:MM`` in UTC ("" for None)."""
    if ts is None:
        return ""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%d %H:%M")


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

    A metric lacking p10 or p90 is shown with its p50 only.
    """
    horizon, rows = predicted_rows(predicted)
    out = []
    for r in rows:
        def f(q: str, r: dict[str, Any] = r) -> str:
            return fmt_value(r[q], r["metric"], lang, currency, r["unit"])

        key = "digest.point" if r["p10"] is None or r["p90"] is None else "digest.interval"
        out.append(t(key, lang, metric=metric_label(r["metric"], lang),
                     p50=f("p50"), p10=f("p10"), p90=f("p90"), days=horizon or "?"))
    return out


def entity_label(row: dict[str, Any]) -> str:
    """Return ``type name (id)`` of a suggestion or anomaly row's entity."""
    kind = row.get("entity_type") or row.get("level") or ""
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
    """Return the tenant's key, name, currency and ROAS target; :class:`NotFound` if absent."""
    row = conn.execute("select client_key, client_name, currency, roi_target from core.tenants "
                       "where tenant_id = %s", [str(tenant_id)]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    return row


# ------------------------------------------------------------------------------------ output
def _status_cell(r: dict[str, Any], lang: str) -> Text:
    """Status, marked when auto-applied, with the guard rail that applied (if any)."""
    cell = Text(code_label(r["status"], lang))
    if r.get("auto_applied"):
        cell.append(" (auto-appliquée)" if lang == "fr" else " (auto-applied)", style="magenta")
    if r.get("guard_rail_note"):
        from growthops.ads.action.guardrails import describe

        cell.append("\n" + describe(r["guard_rail_note"], lang), style="yellow")
    return cell


def _table(rows: list[dict[str, Any]], *, lang: str, currency: str, title: str,
           show_day: bool) -> Table:
    """The review table: one line per suggestion (action, expected impact, confidence); the
    reason and the predicted intervals are in ``growthops suggestions show ID``."""
    table = Table(title=title, show_lines=False, expand=False)
    for key in ("col.id", "col.priority", "col.type", "col.entity", "col.action", "col.impact",
                "col.confidence", "col.status"):
        table.add_column(t(key, lang), overflow="fold",
                         justify="right" if key in ("col.id", "col.confidence") else "left")
    if show_day:
        table.add_column(t("col.as_of", lang))
    for r in rows:
        cells: list[Any] = [
            str(r["suggestion_id"]),
            Text(code_label(r["priority"], lang), style=PRIORITY_STYLE.get(r["priority"], "")),
            Text(code_label(r["type"], lang)),
            Text(entity_label(r)),
            Text(suggestion_text(r, "action", lang), style="bold"),
            Text(suggestion_text(r, "expected_impact", lang)),
            f"{r['confidence']}\u00a0%",
            _status_cell(r, lang),
        ]
        if show_day:
            cells.append(str(r["as_of"]))
        table.add_row(*cells)
    return table


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
    title = t("digest.title", lang, tenant=tenant["client_name"], as_of=as_of)
    if not rows:
        console.print(Text(title, style="bold"))
        console.print(t("digest.empty", lang))
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
    label = code_label(status, lang) if status else t("digest.all_statuses", lang)
    title = t("digest.list_title", lang, tenant=tenant["client_name"], status=label)
    if not rows:
        console.print(Text(title, style="bold"))
        console.print(t("digest.none_listed", lang))
        return
    console.print(_table(rows, lang=lang, currency=tenant["currency"], title=title,
                         show_day=True))


def _json_text(v: Any) -> str:
    d = v if isinstance(v, dict | list) else _as_dict(v)
    return json.dumps(d, ensure_ascii=False, indent=1, default=str) if d else "–"


def print_suggestion(db: Database, console: Console, *, tenant_id: UUID | str,
                     suggestion_id: int, lang: str) -> None:
    """Print one suggestion: texts, entity, dates, predicted p10/p50/p90, change and evidence.

    Raises :class:`NotFound` when the tenant has no suggestion ``suggestion_id`` (row-level
    security hides other tenants' suggestions).
    """
    with db.tenant_tx(tenant_id) as conn:
        tenant = fetch_tenant(conn, tenant_id=tenant_id)
        row = conn.execute("select * from ads.suggestions where tenant_id = %s and "
                           "suggestion_id = %s", [str(tenant_id), suggestion_id]).fetchone()
    if row is None:
        raise NotFound(t("digest.not_found", lang, id=suggestion_id))
    cur = tenant["currency"]
    table = Table(t("col.field", lang), t("col.value", lang), show_lines=True,
                  title=t("digest.suggestion_title", lang, id=suggestion_id))
    decided = " ".join(x for x in (row["decided_by"] or "", fmt_ts(row["decided_at"])) if x)
    fields: list[tuple[str, Any]] = [
        ("col.status", code_label(row["status"], lang)),
        ("col.priority", Text(code_label(row["priority"], lang),
                              style=PRIORITY_STYLE.get(row["priority"], ""))),
        ("col.type", code_label(row["type"], lang)),
        ("col.platform", row["platform"]),
        ("col.entity", entity_label(row)),
        ("col.action", Text(suggestion_text(row, "action", lang), style="bold")),
        ("col.reason", suggestion_text(row, "reason", lang)),
        ("col.impact", suggestion_text(row, "expected_impact", lang)),
        ("col.confidence", f"{row['confidence']}\u00a0%"),
        ("col.as_of", str(row["as_of"])),
        ("col.created", fmt_ts(row["created_at"])),
        ("col.expires", fmt_ts(row["expires_at"])),
        ("col.decided", decided or "–"),
        ("col.params", _json_text(row["action_params"])),
        ("col.evidence", _json_text(row["evidence"])),
    ]
    for key, value in fields:
        table.add_row(t(key, lang), value if isinstance(value, Text) else Text(str(value)))
    console.print(table)
    horizon, preds = predicted_rows(row["predicted_metrics"])
    if preds:
        pt = Table(t("col.metric", lang), "p10", "p50", "p90",
                   title=t("digest.predicted_title", lang, days=horizon or "?"))
        for p in preds:
            pt.add_row(metric_label(p["metric"], lang),
                       *(fmt_value(p[q], p["metric"], lang, cur, p["unit"])
                         for q in ("p10", "p50", "p90")))
        console.print(pt)
