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

import io
import json
import re
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import jinja2
import numpy as np
import psycopg
from markupsafe import Markup

from growthops.ads.reporting.digest import (
    code_label,
    entity_label,
    fetch_suggestions,
    fetch_tenant,
    fmt_num,
    fmt_ts,
    fmt_value,
    format_intervals,
    metric_label,
    suggestion_text,
)
from growthops.core.db import Database
from growthops.core.errors import NotFound
from growthops.settings import get_settings

CHART_DAYS = 60
ROLLING_DAYS = 7  # the baselines' window shown as the band (ads.baselines.window_days = 7)

# -------------------------------------------------------------------------------- labels
_L: dict[str, dict[str, str]] = {
    "en": {
        "title": "Daily media-buying report",
        "client_key": "client",
        "currency": "currency",
        "roi_target": "ROAS target",
        "as_of": "data as of",
        "generated": "generated",
        "summary": "Cycle summary",
        "run_status": "run",
        "started": "started",
        "finished": "finished",
        "no_run": "No cycle run is recorded for this day.",
        "suggestions": "Suggestions",
        "no_suggestions": "No suggestion for this day.",
        "anomalies": "Active anomalies",
        "no_anomalies": "No active anomaly for this day.",
        "overspend": "Overspend, last 7 days",
        "no_overspend": "No overspend in the last 7 days.",
        "fatigue": "Most fatigued ads",
        "no_fatigue": "No creative fatigue computed for this day.",
        "charts": "Flagged entities",
        "charts_note": "Last 60 days. Thin grey line: daily value (days where it is defined); thick line: trailing 7-day "
        "value (ratio of sums); bands: peers' p25–p75 (dark) and p10–p90 (light) "
        "over 7 days; triangles: anomalies.",
        "no_charts": "No flagged entity.",
        "footer": "growthops · self-contained report",
        "col_id": "#",
        "col_priority": "priority",
        "col_type": "type",
        "col_entity": "entity",
        "col_action": "action",
        "col_reason": "reason",
        "col_impact": "expected impact",
        "col_confidence": "confidence",
        "col_expires": "expires (UTC)",
        "col_status": "status",
        "col_metric": "metric",
        "col_direction": "direction",
        "col_expected": "expected",
        "col_actual": "actual",
        "col_deviation": "deviation",
        "col_q": "q-value",
        "col_severity": "severity",
        "col_day": "day",
        "col_spend": "spend",
        "col_budget": "daily budget",
        "col_over": "over budget",
        "col_ad": "ad",
        "col_fatigue": "fatigue (0–100)",
        "col_ctr": "CTR recent / earlier",
        "col_freq": "frequency recent / earlier",
        "col_cpr": "cost per result recent / earlier",
        "col_hook": "hook rate",
        "col_days": "days active",
        "col_components": "components",
        "why_suggestion": "suggestion",
        "why_anomaly": "anomaly",
        "daily": "daily",
        "rolling": "7 days",
        "band_50": "peers p25–p75",
        "band_80": "peers p10–p90",
        "median": "peers median",
        "anomaly": "anomaly",
        "no_data": "no data in the last 60 days",
        "date_fmt": "%d %b",
        "colon": ":",
    },
    "fr": {
        "title": "Rapport quotidien d'achat média",
        "client_key": "client",
        "currency": "devise",
        "roi_target": "ROAS cible",
        "as_of": "données au",
        "generated": "généré",
        "summary": "Résumé du cycle",
        "run_status": "exécution",
        "started": "début",
        "finished": "fin",
        "no_run": "Aucune exécution du cycle n'est enregistrée pour ce jour.",
        "suggestions": "Suggestions",
        "no_suggestions": "Aucune suggestion pour ce jour.",
        "anomalies": "Anomalies actives",
        "no_anomalies": "Aucune anomalie active pour ce jour.",
        "overspend": "Surdépenses, 7 derniers jours",
        "no_overspend": "Aucune surdépense sur les 7 derniers jours.",
        "fatigue": "Publicités les plus fatiguées",
        "no_fatigue": "Aucune fatigue créative calculée pour ce jour.",
        "charts": "Entités signalées",
        "charts_note": "60 derniers jours. Trait gris fin : valeur du jour (quand elle est définie) ; trait épais : "
        "valeur sur 7 jours glissants (ratio des sommes) ; bandes : p25–p75 "
        "(foncée) et p10–p90 (claire) des pairs sur 7 jours ; triangles : anomalies.",
        "no_charts": "Aucune entité signalée.",
        "footer": "growthops · rapport autonome",
        "col_id": "n°",
        "col_priority": "priorité",
        "col_type": "type",
        "col_entity": "entité",
        "col_action": "action",
        "col_reason": "raison",
        "col_impact": "impact attendu",
        "col_confidence": "confiance",
        "col_expires": "expire (UTC)",
        "col_status": "statut",
        "col_metric": "métrique",
        "col_direction": "sens",
        "col_expected": "attendu",
        "col_actual": "observé",
        "col_deviation": "écart",
        "col_q": "valeur q",
        "col_severity": "gravité",
        "col_day": "jour",
        "col_spend": "dépense",
        "col_budget": "budget quotidien",
        "col_over": "dépassement",
        "col_ad": "publicité",
        "col_fatigue": "fatigue (0–100)",
        "col_ctr": "CTR récent / antérieur",
        "col_freq": "fréquence récente / antérieure",
        "col_cpr": "coût par résultat récent / antérieur",
        "col_hook": "taux d'accroche",
        "col_days": "jours actifs",
        "col_components": "composantes",
        "why_suggestion": "suggestion",
        "why_anomaly": "anomalie",
        "daily": "par jour",
        "rolling": "7 jours",
        "band_50": "pairs p25–p75",
        "band_80": "pairs p10–p90",
        "median": "médiane des pairs",
        "anomaly": "anomalie",
        "no_data": "aucune donnée sur les 60 derniers jours",
        "date_fmt": "%d/%m",
        "colon": "\u00a0:",
    },
}
_SUMMARY_FR = {
    "baselines": "références",
    "anomalies": "anomalies",
    "overspend": "surdépenses",
    "fatigued": "publicités fatiguées",
    "suggestions": "suggestions",
    "tests": "tests",
    "insufficient_data": "données insuffisantes",
}

# Chart metric -> (numerator column, denominator column or None, scale). "result" is the
# platform's result column (ads.platform_configs.result_metric, default conversions).
_SERIES: dict[str, tuple[str, str | None, float]] = {
    "ctr": ("clicks", "impressions", 1.0),
    "cvr": ("conversions", "clicks", 1.0),
    "cpc": ("spend", "clicks", 1.0),
    "cpm": ("spend", "impressions", 1000.0),
    "cpa": ("spend", "result", 1.0),
    "cpl": ("spend", "leads", 1.0),
    "roas": ("conversion_value", "spend", 1.0),
    "spend": ("spend", None, 1.0),
    "frequency": ("impressions", "reach", 1.0),
    "impressions": ("impressions", None, 1.0),
    "clicks": ("clicks", None, 1.0),
    "conversions": ("conversions", None, 1.0),
    "leads": ("leads", None, 1.0),
}
_ALIASES = {
    "spend_per_day": "spend",
    "cost": "spend",
    "overspend": "spend",
    "cost_per_result": "cpa",
    "cost_per_conversion": "cpa",
    "conversion_rate": "cvr",
}
# Metric by suggestion type when the entity has no anomaly for as_of.
_TYPE_METRIC = {
    "refresh": "ctr",
    "test_angle": "ctr",
    "pause": "cpa",
    "scale": "cpa",
    "budget_increase": "cpa",
    "budget_decrease": "cpa",
    "bid_adjustment": "cpa",
    "campaign_diagnostic": "cpa",
}
# Cost metrics fall back in this order when the entity has no result in the window (CPA undefined).
_FALLBACK = {
    "cpa": ("cpc", "spend"),
    "cpl": ("cpc", "spend"),
    "cpc": ("spend",),
    "roas": ("spend",),
    "ctr": ("impressions",),
    "cvr": ("clicks",),
}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_LEVELS = ("campaign", "adset", "ad")
_CHART_LOCK = threading.Lock()  # rc_context mutates matplotlib's global rcParams

_env: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(__file__).parents[1] / "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
    return _env


def norm_metric(metric: str | None) -> str | None:
    """Return the chartable metric name for an anomaly or baseline metric (None if unsupported)."""
    if not metric:
        return None
    m = _ALIASES.get(metric.lower(), metric.lower())
    return m if m in _SERIES else None


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
       s.budget_daily::float8 as budget_daily, s.overspend_ratio, m.entity_name
from ads.spend_history s
left join ads.metrics_daily m
  on m.tenant_id = s.tenant_id and m.platform = s.platform and m.level = s.level
 and m.entity_id = s.entity_id and m.day = s.day
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


# -------------------------------------------------------------------------------- series
def _series(
    rows: list[dict[str, Any]],
    metric: str,
    result_col: str,
    end: date,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (days, daily, trailing 7-day) values of ``metric`` over CHART_DAYS days to ``end``.

    Daily value: numerator / denominator of the day (NaN when the denominator is 0). 7-day
    value: sum over the 7 days / sum of the denominator (ratio of sums, never a mean of daily
    ratios); for additive metrics (spend, counts) the 7-day mean per day. Missing days are
    zero delivery. Frequency has no 7-day value (reach is not additive across days).
    """
    num_col, den_col, scale = _SERIES[metric]
    if den_col == "result":
        den_col = result_col
    n = CHART_DAYS + ROLLING_DAYS - 1
    first = end - timedelta(days=n - 1)
    num, den = np.zeros(n), np.zeros(n)
    for r in rows:
        i = (r["day"] - first).days
        if 0 <= i < n:
            num[i] = float(r[num_col] or 0)
            den[i] = float(r[den_col] or 0) if den_col else 1.0
    if den_col is None:
        den[:] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = np.where(den > 0, scale * num / den, np.nan)
        kernel = np.ones(ROLLING_DAYS)
        snum = np.convolve(num, kernel, "valid")
        sden = np.convolve(den, kernel, "valid")
        rolling = np.where(sden > 0, scale * snum / sden, np.nan)
    if metric == "frequency":
        rolling[:] = np.nan
    days = np.array([first + timedelta(days=i) for i in range(ROLLING_DAYS - 1, n)])
    return days, daily[ROLLING_DAYS - 1 :], rolling


def _pick_metric(
    entity: dict[str, Any], rows: list[dict[str, Any]], result_col: str, end: date
) -> tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Choose the entity's chart metric: its most severe anomaly's, else its suggestion type's.

    A ratio metric with no value in the window (e.g. CPA with zero results) falls back to the
    next metric in ``_FALLBACK`` (CPA -> CPC -> spend).
    """
    metric = None
    for a in sorted(entity["anomalies"], key=lambda a: _SEVERITY_RANK.get(a["severity"], 9)):
        metric = metric or norm_metric(a["metric"])
    for s in entity["suggestions"]:
        metric = metric or _TYPE_METRIC.get(s["type"])
    metric = metric or "spend"
    series = _series(rows, metric, result_col, end)
    for alt in _FALLBACK.get(metric, ()):
        if np.isfinite(series[1]).any() or np.isfinite(series[2]).any():
            break
        metric, series = alt, _series(rows, alt, result_col, end)
    return metric, series


# -------------------------------------------------------------------------------- charts
_NUM_RE = re.compile(r"-?\d+\.\d+")


def _round(m: re.Match[str]) -> str:
    s = f"{float(m.group()):.1f}"
    return s[:-2] if s.endswith(".0") else s


def _clean_svg(svg: str, prefix: str) -> str:
    """Shrink matplotlib's SVG for inline HTML and make its ids unique with ``prefix``.

    Drops the XML prolog, DOCTYPE, metadata (which names web addresses), comments, namespace
    declarations (not needed inline in HTML), per-text font lists (CSS sets the font), no-op
    rotations and unreferenced ids; rounds coordinates to 0.1 pt.
    """
    s = re.sub(
        r"<\?xml.*?\?>|<!DOCTYPE.*?>|<metadata>.*?</metadata>|<!--.*?-->", "", svg, flags=re.S
    )
    s = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", s)
    s = re.sub(r"font-family:[^;\"]*;?\s*", "", s)
    s = re.sub(r'\s*transform="rotate\(-?0 [^)]*\)"', "", s)
    s = re.sub(r"\s*\n\s*", " ", s)
    s = re.sub(r">\s+<", "><", s)
    # Round coordinates and compact path commands in geometry attributes only: never in text
    # (tick labels) nor in style (opacity, dashes).
    s = re.sub(
        r'\s(?!style=)[\w:-]+="[^"]*"',
        lambda m: re.sub(r" ?([MLCQZz]) ", r"\1", _NUM_RE.sub(_round, m.group())),
        s,
    )
    refs = set(re.findall(r"#([\w.\-]+)", s))
    s = re.sub(r'\sid="([^"]*)"', lambda m: m.group(0) if m.group(1) in refs else "", s)
    s = re.sub(r'(id="|url\(#|href="#)([\w.\-]+)', lambda m: m.group(1) + prefix + m.group(2), s)
    for _ in range(3):
        s = re.sub(r"<g>(<(?:[^<>]*/>|text[^<>]*>[^<]*</text>))</g>", r"\1", s)
    s = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg role="img"', s, count=1)
    return s.strip()


def render_chart(
    days: np.ndarray,
    daily: np.ndarray,
    rolling: np.ndarray,
    *,
    ylabel: str,
    band: dict[str, Any] | None,
    marks: list[tuple[date, float, str]],
    lang: str,
    prefix: str,
) -> str:
    """Return an inline SVG line chart of one entity's metric (a few KB).

    ``band``: peers' p10/p25/p50/p75/p90 in display units (None: no band). ``marks``: anomaly
    (day, value, "spike" | "drop") in display units.
    """
    import matplotlib.dates as mdates
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    L = _L.get(lang, _L["en"])
    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": "growthops",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "path.simplify_threshold": 0.5,
    }
    with _CHART_LOCK, rc_context(rc):
        fig = Figure(figsize=(6.4, 2.3), dpi=72, facecolor="none")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_facecolor("none")
        finite = np.isfinite(daily) | np.isfinite(rolling)
        if not finite.any():
            ax.text(0.5, 0.5, L["no_data"], ha="center", va="center", transform=ax.transAxes)
        others: list[float] = [float(v) for v in rolling[np.isfinite(rolling)]]
        if band and band.get("p10") is not None and band.get("p90") is not None:
            ax.axhspan(
                band["p10"], band["p90"], color="#9ec5e8", alpha=0.35, lw=0, label=L["band_80"]
            )
            others += [band["p10"], band["p90"]]
        if band and band.get("p25") is not None and band.get("p75") is not None:
            ax.axhspan(
                band["p25"], band["p75"], color="#4a90c8", alpha=0.35, lw=0, label=L["band_50"]
            )
        if band and band.get("p50") is not None:
            ax.axhline(band["p50"], color="#2b6a9e", lw=0.8, ls="--", label=L["median"])
        x = mdates.date2num(days)
        if finite.any():
            ok = np.isfinite(daily)  # a ratio is undefined on days with a zero denominator
            ax.plot(x[ok], daily[ok], color="#8a8f98", lw=0.8, label=L["daily"])
            if np.isfinite(rolling).any():
                ax.plot(x, rolling, color="#1d2433", lw=1.6, label=L["rolling"])
        for i, (day, value, kind) in enumerate(marks):
            ax.plot(
                mdates.date2num(day),
                value,
                "^" if kind == "spike" else "v",
                color="#c62828" if kind == "spike" else "#e08a00",
                ms=6,
                label=L["anomaly"] if i == 0 else None,
                zorder=5,
            )
            others.append(value)
        fin_daily = daily[np.isfinite(daily)]
        if fin_daily.size or others:
            # Clip isolated daily outliers (1.5 x the daily p95) so they do not flatten the rest.
            cap = float(np.percentile(fin_daily, 95)) * 1.5 if fin_daily.size else 0.0
            top = max([*fin_daily, *others])
            hi = min(max([cap, *others]), top)
            lo = min(0.0, *fin_daily, *others)
            if hi > lo:
                ax.set_ylim(lo, hi * 1.08)
        ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=8))
        ax.xaxis.set_major_formatter(mdates.DateFormatter(L["date_fmt"]))
        sep = "," if lang == "fr" else "."
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}".replace(".", sep)))
        ax.set_ylabel(ylabel)
        ax.tick_params(length=3, width=0.6)
        ax.legend(
            fontsize=7,
            ncol=6,
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            frameon=False,
            handlelength=1.6,
            columnspacing=1.0,
        )
        fig.tight_layout(pad=0.4)
        buf = io.StringIO()
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    return _clean_svg(buf.getvalue(), prefix)


def _display_scale(metric: str) -> float:
    """Return the factor from stored units to chart units (fractions are shown in percent)."""
    return 100.0 if metric in ("ctr", "cvr") else 1.0


def _ylabel(metric: str, currency: str, lang: str) -> str:
    unit = (
        "%"
        if metric in ("ctr", "cvr")
        else currency
        if metric in ("cpa", "cpc", "cpl", "cpm", "spend")
        else "×"
        if metric == "roas"
        else ""
    )
    label = metric_label(metric, lang)
    if metric == "spend":
        label = f"{label}/{'jour' if lang == 'fr' else 'day'}"
    return f"{label} ({unit})" if unit else label


def _charts(data: dict[str, Any], as_of: date, lang: str) -> list[dict[str, Any]]:
    """Build one chart per flagged entity (see the module docstring)."""
    L = _L.get(lang, _L["en"])
    currency = data["tenant"]["currency"]
    by_entity: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in data["metrics"]:
        by_entity[(r["platform"], r["level"], r["entity_id"])].append(r)
    marks_by: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in data["window_anomalies"]:
        marks_by[(a["platform"], a["level"], a["entity_id"])].append(a)
    bands = {(b["platform"], b["level"], b["metric"]): b for b in data["baselines"]}
    charts = []
    for i, (key, ent) in enumerate(data["flagged"].items()):
        platform, level, entity_id = key
        rows = by_entity.get(key, [])
        result_col = data["results"].get(platform, "conversions")
        metric, (days, daily, rolling) = _pick_metric(ent, rows, result_col, as_of)
        k = _display_scale(metric)
        b = bands.get((platform, level, "spend_per_day" if metric == "spend" else metric))
        band = (
            {
                q: (None if b[q] is None else float(b[q]) * k)
                for q in ("p10", "p25", "p50", "p75", "p90")
            }
            if b
            else None
        )
        day_index = {d: j for j, d in enumerate(days)}
        marks = []
        for a in sorted(marks_by.get(key, []), key=lambda a: a["as_of"]):
            if norm_metric(a["metric"]) != metric:
                continue
            value = a["actual_value"]
            if value is None and a["as_of"] in day_index:
                value = daily[day_index[a["as_of"]]] / k
            if value is not None and np.isfinite(value):
                marks.append((a["as_of"], float(value) * k, a["anomaly_type"]))
        name = ent["name"] or next(
            (r["entity_name"] for r in reversed(rows) if r["entity_name"]), None
        )
        why = [f"{L['why_suggestion']} {code_label(s['type'], lang)}" for s in ent["suggestions"]]
        why += [
            f"{L['why_anomaly']} {metric_label(a['metric'], lang)} "
            f"{code_label(a['anomaly_type'], lang)}"
            for a in ent["anomalies"]
        ]
        svg = render_chart(
            days,
            daily * k,
            rolling * k,
            band=band,
            marks=marks,
            lang=lang,
            ylabel=_ylabel(metric, currency, lang),
            prefix=f"c{i}-",
        )
        charts.append(
            {
                "entity": f"{level} {name} ({entity_id})" if name else f"{level} {entity_id}",
                "platform": platform,
                "metric": _ylabel(metric, currency, lang),
                "why": ", ".join(why),
                "svg": Markup(svg),  # noqa: S704 - matplotlib output, escaped
            }
        )
    return charts


# ---------------------------------------------------------------------------- view model
def _fmt_component(v: Any, lang: str) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return fmt_num(v, lang, 2)
    return json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else str(v)


def _pair(a: Any, b: Any, fmt: Any) -> str:
    return f"{fmt(a)} / {fmt(b)}"


def _context(data: dict[str, Any], as_of: date, lang: str) -> dict[str, Any]:
    """Turn the rows into display strings (units, language); the template only lays them out."""
    tn, cur = data["tenant"], data["tenant"]["currency"]
    run = data["run"]
    run_ctx = None
    if run:
        summary = run["summary"] if isinstance(run["summary"], dict) else {}

        def label(k: str) -> str:
            return _SUMMARY_FR.get(k, k.replace("_", " ")) if lang == "fr" else k.replace("_", " ")

        def value(v: Any) -> str:
            if isinstance(v, dict):  # e.g. timings, held back: "key value · key value"
                return (
                    " · ".join(
                        f"{label(str(k))} {value(x)}" for k, x in v.items() if x not in (0, None)
                    )
                    or "0"
                )
            if isinstance(v, float):
                return fmt_num(v, lang, 3 if abs(v) < 1 else 1)
            return _fmt_component(v, lang) if not isinstance(v, int) else fmt_num(v, lang, 0)

        items = [(label(k), value(v)) for k, v in summary.items() if not isinstance(v, dict)]
        items += [(label(k), value(v)) for k, v in summary.items() if isinstance(v, dict)]
        run_ctx = {
            "status": code_label(run["status"], lang),
            "started": fmt_ts(run["started_at"]),
            "finished": fmt_ts(run["finished_at"]),
            "counts": items,
        }
    suggestions = [
        {
            "id": s["suggestion_id"],
            "priority": code_label(s["priority"], lang),
            "priority_code": s["priority"],
            "type": code_label(s["type"], lang),
            "entity": entity_label(s),
            "platform": s["platform"],
            "action": suggestion_text(s, "action", lang),
            "reason": suggestion_text(s, "reason", lang),
            "impact": suggestion_text(s, "expected_impact", lang),
            "intervals": format_intervals(s["predicted_metrics"], lang, cur),
            "confidence": f"{s['confidence']}\u00a0%",
            "expires": fmt_ts(s["expires_at"]),
            "status": code_label(s["status"], lang),
        }
        for s in data["suggestions"]
    ]
    anomalies = [
        {
            "entity": entity_label(a),
            "platform": a["platform"],
            "metric": metric_label(a["metric"], lang),
            "direction": code_label(a["anomaly_type"], lang),
            "expected": fmt_value(a["baseline_value"], a["metric"], lang, cur),
            "actual": fmt_value(a["actual_value"], a["metric"], lang, cur),
            "deviation": (
                "–"
                if a["deviation"] is None
                else f"{'+' if a['deviation'] > 0 else ''}"
                f"{fmt_num(a['deviation'] * 100, lang, 1)}\u00a0%"
            ),
            "q": f"{a['q_value']:.2g}".replace(".", "," if lang == "fr" else "."),
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
            "entity": entity_label(o),
            "spend": fmt_value(o["spend_total"], "spend", lang, cur),
            "budget": fmt_value(o["budget_daily"], "spend", lang, cur),
            "over": f"+{fmt_num(o['overspend_ratio'] * 100, lang, 1)}\u00a0%",
        }
        for o in data["overspend"]
    ]

    def money(v: Any) -> str:
        return fmt_value(v, "spend", lang, cur)

    fatigue = [
        {
            "ad": f"{f['ad_name']} ({f['ad_id']})" if f["ad_name"] else f["ad_id"],
            "platform": f["platform"],
            "index": fmt_num(f["fatigue_index"], lang, 0),
            "ctr": _pair(
                f["ctr_recent"], f["ctr_earlier"], lambda v: fmt_value(v, "ctr", lang, cur)
            ),
            "freq": _pair(
                f["frequency_recent"], f["frequency_earlier"], lambda v: fmt_num(v, lang, 2)
            ),
            "cpr": _pair(f["cost_per_result_recent"], f["cost_per_result_earlier"], money),
            "hook": fmt_value(f["hook_rate"], "hook_rate", lang, cur),
            "days": f["days_active"],
            "components": [
                (k, _fmt_component(v, lang))
                for k, v in (f["components"] if isinstance(f["components"], dict) else {}).items()
            ],
        }
        for f in data["fatigue"]
    ]
    return {
        "lang": lang if lang in _L else "en",
        "L": _L.get(lang, _L["en"]),
        "tenant": tn,
        "roi_target": f"{fmt_num(tn['roi_target'], lang, 2)}×",
        "as_of": as_of.isoformat(),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
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
