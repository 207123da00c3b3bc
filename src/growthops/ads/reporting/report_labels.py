"""Constants of the HTML report and its charts: summary labels, chart series, template environment."""

from __future__ import annotations

import threading
from pathlib import Path

import jinja2

from growthops.core.i18n import N_, install_jinja

CHART_DAYS = 60
ROLLING_DAYS = 7  # the baselines' window shown as the band (ads.baselines.window_days = 7)

# ------------------------------------------------------------------------------- summary
#: Keys of ``ads.cycle_runs.summary`` (and of its ``timings`` and ``held_back`` objects) as the
#: report shows them; a key not listed here shows with underscores as spaces, untranslated
#: (tests/ads/test_report.py checks every key a cycle writes is listed).
SUMMARY: dict[str, str] = {
    "baselines": N_("baselines"),
    "anomalies": N_("anomalies"),
    "overspend": N_("overspend"),
    "fatigued": N_("fatigued"),
    "suggestions": N_("suggestions"),
    "tests": N_("tests"),
    "insufficient_data": N_("insufficient data"),
    "seconds": N_("seconds"),
    "entities": N_("entities"),
    "decision_patterns": N_("decision patterns"),
    "hypotheses_measured": N_("hypotheses measured"),
    "duplicates_of_pending": N_("duplicates of pending suggestions"),
    "timings": N_("time per step (seconds)"),
    "held_back": N_("candidates held back"),
    # timings' steps
    "window": N_("window"),
    "fatigue": N_("fatigue"),
    "learning": N_("learning"),
    # held_back's reasons
    "immaterial": N_("immaterial"),
    "insufficient_evidence": N_("insufficient evidence"),
    "below_confidence": N_("below the confidence threshold"),
    "cooling_down": N_("cooling down after a decision"),
    "monthly_budget": N_("monthly budget"),
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
            extensions=["jinja2.ext.i18n"],
        )
        install_jinja(_env)  # _() and {% trans %} in the context's ``lang``
    return _env


def norm_metric(metric: str | None) -> str | None:
    """Return the chartable metric name for an anomaly or baseline metric (None if unsupported)."""
    if not metric:
        return None
    m = _ALIASES.get(metric.lower(), metric.lower())
    return m if m in _SERIES else None


