"""The HTML report of a daily-cycle run: one self-contained file, charts inline as SVG.

The file needs no network: CSS is inline, charts are SVG produced by matplotlib (no pyplot: a
``Figure`` with the SVG canvas, so no global backend state) and embedded in the page, there is
no script, no external font and no link to any resource. Every value from the database goes
through Jinja2 autoescaping; the SVGs are produced by matplotlib, which escapes its text.

Charts: one per flagged entity (an entity with a suggestion or an anomaly for ``as_of``) over the
last 60 days up to ``as_of``: the daily value and the trailing 7-day value (ratio of the 7 days'
sums, the definition the window-7 baselines use), the peers' band from ``ads.baselines``
(p25-p75 dark, p10-p90 light, median dashed) and the entity's anomalies of that metric as markers.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from growthops.ads.labels import metric_label
from growthops.ads.reporting.digest import (
    code_label,
    confidence_text,
    entity_label,
    fetch_suggestions,
    fetch_tenant,
    fmt_value,
    format_intervals,
    suggestion_text,
)
from growthops.ads.reporting.report_charts import _charts
from growthops.ads.reporting.report_labels import (
    _LEVELS,
    CHART_DAYS,
    ROLLING_DAYS,
    SUMMARY,
    _environment,
)
from growthops.core.db import Database
from growthops.core.errors import NotFound
from growthops.core.i18n import (
    DASH,
    LANGS,
    N_,
    _,
    format_datetime,
    format_number,
    format_percent,
    format_ratio,
    format_significant,
)
from growthops.settings import get_settings


# ------------------------------------------------------------------------------- queries
def latest_as_of(db: Database, *, tenant_id: UUID | str) -> date:
    """Return the latest ``ads.cycle_runs.as_of`` of the tenant; :class:`NotFound` if none ran."""
    with db.tenant_tx(tenant_id) as conn:
        row = conn.execute(
            "select max(as_of) as as_of from ads.cycle_runs where tenant_id = %s", [str(tenant_id)]
        ).fetchone()
    if row is None or row["as_of"] is None:
        raise NotFound("no daily cycle has run for this tenant (run: growthops daily)")
    return row["as_of"]


_METRICS_SQL = """
select m.platform, m.level, m.entity_id, m.day, m.entity_name, m.spend::float8 as spend,
       m.impressions, m.clicks, m.conversions, m.leads, m.applications, m.bookings,
       m.conversion_value::float8 as conversion_value, m.reach
from unnest(%(platforms)s::text[], %(levels)s::text[], %(ids)s::text[]) as e(platform, level, entity_id)
join ads.metrics_daily m
  on m.tenant_id = %(tid)s and m.platform = e.platform and m.level = e.level
 and m.entity_id = e.entity_id and m.day between %(start)s and %(as_of)s
order by m.day
"""
_WINDOW_ANOMALIES_SQL = """
select a.platform, a.level, a.entity_id, a.metric, a.as_of, a.anomaly_type,
       a.baseline_value, a.actual_value
from unnest(%(platforms)s::text[], %(levels)s::text[], %(ids)s::text[]) as e(platform, level, entity_id)
join ads.anomalies a
  on a.tenant_id = %(tid)s and a.platform = e.platform and a.level = e.level
 and a.entity_id = e.entity_id and a.as_of between %(start)s and %(as_of)s
"""
_OVERSPEND_SQL = """
select s.platform, s.level, s.entity_id, s.day, s.spend_total::float8 as spend_total,
       s.budget_daily::float8 as budget_daily, s.overspend_ratio, m.entity_name,
       w.spend7, w.budget7, w.days7
from ads.spend_history s
left join ads.metrics_daily m
  on m.tenant_id = s.tenant_id and m.platform = s.platform and m.level = s.level
 and m.entity_id = s.entity_id and m.day = s.day
left join lateral (  -- the 7 days ending on the row's day: the weekly cap's figures
  select sum(h.spend_total)::float8 as spend7, sum(h.budget_daily)::float8 as budget7,
         count(*) as days7
  from ads.spend_history h
  where h.tenant_id = s.tenant_id and h.platform = s.platform and h.level = s.level
    and h.entity_id = s.entity_id and h.day between s.day - 6 and s.day) w on true
where s.tenant_id = %(tid)s and s.overspend_detected
  and s.day between %(as_of)s::date - 6 and %(as_of)s
order by s.day desc, s.overspend_ratio desc
limit 50
"""


def _collect(conn: psycopg.Connection[Any], tenant_id: str, as_of: date) -> dict[str, Any]:
    """Read everything the report shows for ``as_of`` (one transaction, a fixed set of queries)."""
    p = {"tid": tenant_id, "as_of": as_of}
    data: dict[str, Any] = {"tenant": fetch_tenant(conn, tenant_id=tenant_id)}
    data["run"] = conn.execute(
        "select * from ads.cycle_runs where tenant_id = %(tid)s and as_of = %(as_of)s", p
    ).fetchone()
    data["suggestions"] = fetch_suggestions(conn, tenant_id=tenant_id, as_of=as_of)
    data["anomalies"] = conn.execute(
        "select * from ads.anomalies where tenant_id = %(tid)s and as_of = %(as_of)s "
        "order by case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 "
        "else 3 end, q_value, anomaly_id",
        p,
    ).fetchall()
    data["overspend"] = conn.execute(_OVERSPEND_SQL, p).fetchall()
    data["fatigue"] = conn.execute(
        "select * from ads.creative_performance where tenant_id = %(tid)s and as_of = %(as_of)s "
        "order by fatigue_index desc, ad_id limit 10",
        p,
    ).fetchall()
    data["results"] = {
        r["platform"]: r["result_metric"]
        for r in conn.execute(
            "select platform, result_metric from ads.platform_configs where tenant_id = %(tid)s", p
        ).fetchall()
    }
    flagged = _flagged(data["suggestions"], data["anomalies"])
    data["flagged"] = flagged
    keys = list(flagged)
    start = as_of - timedelta(days=CHART_DAYS - 1)
    q = {
        **p,
        "platforms": [k[0] for k in keys],
        "levels": [k[1] for k in keys],
        "ids": [k[2] for k in keys],
        "start": start - timedelta(days=ROLLING_DAYS - 1),
    }
    data["metrics"] = conn.execute(_METRICS_SQL, q).fetchall() if keys else []
    data["window_anomalies"] = (
        conn.execute(_WINDOW_ANOMALIES_SQL, {**q, "start": start}).fetchall() if keys else []
    )
    data["baselines"] = conn.execute(
        "select platform, level, metric, p10, p25, p50, p75, p90 from ads.baselines "
        "where tenant_id = %(tid)s and as_of = %(as_of)s and window_days = %(w)s",
        {**p, "w": ROLLING_DAYS},
    ).fetchall()
    return data


def _flagged(
    suggestions: list[dict[str, Any]], anomalies: list[dict[str, Any]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Return flagged entities (platform, level, id) -> {name, suggestions, anomalies}, in order.

    Suggestions on funnels or sales (no daily metrics level) are not charted.
    """
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s in suggestions:
        if s["entity_type"] in _LEVELS:
            e = out.setdefault(
                (s["platform"], s["entity_type"], s["entity_id"]),
                {"name": None, "suggestions": [], "anomalies": []},
            )
            e["name"] = e["name"] or s["entity_name"]
            e["suggestions"].append(s)
    for a in anomalies:
        e = out.setdefault(
            (a["platform"], a["level"], a["entity_id"]),
            {"name": None, "suggestions": [], "anomalies": []},
        )
        e["name"] = e["name"] or a["entity_name"]
        e["anomalies"].append(a)
    return out


# ---------------------------------------------------------------------------- view model
#: The fatigue index's three signals (:mod:`growthops.ads.analysis.fatigue`: 0-1 each, weighted
#: 0.5 / 0.2 / 0.3), named for a reader; the raw counts stored beside them are not shown.
FATIGUE_SIGNALS = {"ctr_decay": N_("CTR decline"), "frequency_growth": N_("frequency growth"),
                   "cost_per_result": N_("cost per result rise")}


def fatigue_signals(components: Any, lang: str) -> str:
    """``CTR decline 0.85 · cost per result rise 1.00 (2 of 3 signals)``: the signals the
    index is the weighted mean of, in ``lang``; a signal without data is left out and the count
    says how many the index rests on (an index of 100 from one signal is one signal at its
    maximum)."""
    comp = components if isinstance(components, dict) else {}
    parts = [_(lang, label) + " " + format_number(comp[k], lang, 2)
             for k, label in FATIGUE_SIGNALS.items() if comp.get(k) is not None]
    if not parts:
        return DASH
    return " · ".join(parts) + " (" + _(lang, "{n} of {total} signals", n=len(parts),
                                         total=len(FATIGUE_SIGNALS)) + ")"


def _fmt_component(v: Any, lang: str) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return format_number(v, lang, 2)
    return json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else str(v)


def _pair(a: Any, b: Any, fmt: Any) -> str:
    return f"{fmt(a)} / {fmt(b)}"


def _over_budget(o: dict[str, Any], lang: str) -> str:
    """Say by how much a flagged row passed its budget: the day's excess when the day itself
    was over, else the 7 days' spend against 7 daily budgets (the weekly cap that flagged it;
    a day under its own budget must not read as an overspend of "-9.3%")."""
    if o["overspend_ratio"] > 0 or not o.get("budget7"):
        return format_percent(o["overspend_ratio"], lang, 1, sign=True)
    return _(lang, "{pct} over 7 days", pct=format_percent(o["spend7"] / o["budget7"] - 1, lang, 1,
                                                           sign=True))


def _context(data: dict[str, Any], as_of: date, lang: str) -> dict[str, Any]:
    """Turn the rows into display strings (units, language, the tenant's time zone); the
    template only lays them out."""
    tn, cur = data["tenant"], data["tenant"]["currency"]
    tz = tn.get("time_zone") or "UTC"
    run = data["run"]
    run_ctx = None
    if run:
        summary = run["summary"] if isinstance(run["summary"], dict) else {}

        def label(k: str) -> str:
            return _(lang, SUMMARY[k]) if k in SUMMARY else k.replace("_", " ")

        def value(v: Any) -> str:
            if isinstance(v, dict):  # e.g. timings, held back: "key value · key value"
                return (
                    " · ".join(
                        f"{label(str(k))} {value(x)}" for k, x in v.items() if x not in (0, None)
                    )
                    or "0"
                )
            if isinstance(v, float):
                return format_number(v, lang, 3 if abs(v) < 1 else 1)
            return _fmt_component(v, lang) if not isinstance(v, int) else format_number(v, lang, 0)

        items = [(label(k), value(v)) for k, v in summary.items() if not isinstance(v, dict)]
        items += [(label(k), value(v)) for k, v in summary.items() if isinstance(v, dict)]
        run_ctx = {
            "status": code_label(run["status"], lang),
            "started": format_datetime(run["started_at"], tz, lang),
            "finished": format_datetime(run["finished_at"], tz, lang)
            if run["finished_at"] else None,
            "counts": items,
        }
    suggestions = [
        {
            "id": s["suggestion_id"],
            "priority": code_label(s["priority"], lang),
            "priority_code": s["priority"],
            "type": code_label(s["type"], lang),
            "entity": entity_label(s, lang),
            "platform": s["platform"],
            "action": suggestion_text(s, "action", lang),
            "reason": suggestion_text(s, "reason", lang),
            "impact": suggestion_text(s, "expected_impact", lang),
            "intervals": format_intervals(s["predicted_metrics"], lang, cur),
            "confidence": confidence_text(s["confidence"], lang),
            "expires": format_datetime(s["expires_at"], tz, lang),
            "status": code_label(s["status"], lang),
        }
        for s in data["suggestions"]
    ]
    anomalies = [
        {
            "entity": entity_label(a, lang),
            "platform": a["platform"],
            "metric": metric_label(a["metric"], lang),
            "direction": code_label(a["anomaly_type"], lang),
            "expected": fmt_value(a["baseline_value"], a["metric"], lang, cur),
            "actual": fmt_value(a["actual_value"], a["metric"], lang, cur),
            "deviation": format_percent(a["deviation"], lang, 1, sign=True),
            "q": format_significant(a["q_value"], lang),
            "severity": code_label(a["severity"], lang),
            "severity_code": a["severity"],
            "status": code_label(a["status"], lang),
        }
        for a in data["anomalies"]
        if a["status"] in ("active", "investigating")
    ]
    overspend = [
        {
            "day": str(o["day"]),
            "platform": o["platform"],
            "entity": entity_label(o, lang),
            "spend": fmt_value(o["spend_total"], "spend", lang, cur),
            "budget": fmt_value(o["budget_daily"], "spend", lang, cur),
            "over": _over_budget(o, lang),
        }
        for o in data["overspend"]
    ]

    def money(v: Any) -> str:
        return fmt_value(v, "spend", lang, cur)

    fatigue = [
        {
            "ad": f"{f['ad_name']} ({f['ad_id']})" if f["ad_name"] else f["ad_id"],
            "platform": f["platform"],
            "index": format_number(f["fatigue_index"], lang, 0),
            "ctr": _pair(
                f["ctr_recent"], f["ctr_earlier"], lambda v: fmt_value(v, "ctr", lang, cur)
            ),
            "freq": _pair(
                f["frequency_recent"], f["frequency_earlier"],
                lambda v: format_number(v, lang, 2)
            ),
            "cpr": _pair(f["cost_per_result_recent"], f["cost_per_result_earlier"], money),
            "hook": fmt_value(f["hook_rate"], "hook_rate", lang, cur),
            "days": f["days_active"],
            "components": fatigue_signals(f["components"], lang),
        }
        for f in data["fatigue"]
    ]
    return {
        "lang": lang if lang in LANGS else "en",
        "time_zone": tz,
        "tenant": tn,
        "roi_target": format_ratio(tn["roi_target"], lang),
        "as_of": as_of.isoformat(),
        "generated_at": format_datetime(datetime.now(UTC), tz, lang, with_zone=True),
        "run": run_ctx,
        "suggestions": suggestions,
        "anomalies": anomalies,
        "overspend": overspend,
        "fatigue": fatigue,
        "charts": _charts(data, as_of, lang),
    }


def render_report(db: Database, *, tenant_id: UUID | str, as_of: date, lang: str) -> str:
    """Return the report's HTML for ``as_of`` (see :func:`write_report`)."""
    with db.tenant_tx(tenant_id) as conn:
        data = _collect(conn, str(tenant_id), as_of)
    return _environment().get_template("report.html.j2").render(**_context(data, as_of, lang))


def write_report(
    db: Database, *, tenant_id: UUID | str, as_of: date, lang: str, out: Path | None = None
) -> Path:
    """Write the self-contained HTML report of the cycle run for ``as_of`` and return its path.

    Default path: ``get_settings().reports_dir / f"{client_key}-{as_of}.html"`` (directories are
    created). Sections: header (tenant, currency, ROAS target, as_of, generation time in UTC),
    cycle summary (``ads.cycle_runs.summary``, any keys), suggestions in review order, active
    anomalies, overspend of the last 7 days, the 10 most fatigued ads, and one SVG chart per
    flagged entity. Money in the tenant's currency; fractions shown as percent. A day without a
    cycle run still renders (the summary says so). Raises :class:`NotFound` for an unknown tenant.
    """
    html = render_report(db, tenant_id=tenant_id, as_of=as_of, lang=lang)
    if out is None:
        with db.tenant_tx(tenant_id) as conn:
            key = fetch_tenant(conn, tenant_id=tenant_id)["client_key"]
        out = get_settings().reports_dir / f"{key}-{as_of.isoformat()}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
