"""Labels, metric names and constants of the HTML report and its charts (English and French)."""

from __future__ import annotations

import threading
from pathlib import Path

import jinja2

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


