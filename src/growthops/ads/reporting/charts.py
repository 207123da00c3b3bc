"""Charts of the dashboard: inline SVG drawn on the server with matplotlib.

Why server-side SVG rather than a JavaScript chart library: the entity chart is the HTML
report's chart (:func:`growthops.ads.reporting.report_charts.render_chart`: daily value, trailing 7-day ratio of
sums, the peers' baseline band, anomaly markers), so the dashboard and the report show the same
picture from the same code; the page needs no script beyond htmx, works with scripts off, prints,
and its content is testable from the HTML alone. An SVG is a few KB.

The calibration chart is a reliability diagram (DeGroot & Fienberg 1983, "The comparison and
evaluation of forecasters"; Niculescu-Mizil & Caruana 2005): per 10-point bin of stated
confidence, the observed rate with its Wilson 95% interval (from
:func:`growthops.ads.learning.calibration.reliability_table`), the diagonal of perfect calibration and
the tenant's fitted calibration map when one is active.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import numpy as np
from markupsafe import Markup

from growthops.ads.reporting import report_charts as report
from growthops.core.i18n import _

#: The entity chart shows at least this many days, however young the entity.
MIN_CHART_DAYS = 14

#: Metrics the entity page offers, in the selector's order.
ENTITY_METRICS = ("cpa", "roas", "ctr", "cpc", "cpm", "cvr", "spend", "impressions", "clicks",
                  "conversions", "leads", "frequency")


def pick_metric(ent: dict[str, Any], requested: str | None) -> str:
    """Return the metric to chart: ``requested`` if offered, else as the HTML report picks it.

    Report rule (:func:`growthops.ads.reporting.report_charts._pick_metric`): the metric of the entity's most
    severe anomaly, else the key metric of its latest suggestion's type, else spend; a ratio
    with no defined value in the window falls back (CPA → CPC → spend).
    """
    if requested in ENTITY_METRICS:
        return str(requested)
    flagged = {"anomalies": ent["anomalies"],
               "suggestions": [h["suggestion"] for h in ent["history"]][:1]}
    metric, _series = report._pick_metric(flagged, ent["metrics"], ent["result_metric"],
                                          ent["end"])
    return metric


def chart_start(ent: dict[str, Any]) -> date:
    """Return the entity chart's first day: two days before the entity's first reported day,
    within the chart's 60 days, and at least :data:`MIN_CHART_DAYS` days before its end."""
    end: date = ent["end"]
    first = min(r["day"] for r in ent["metrics"]) - timedelta(days=2)
    return max(end - timedelta(days=report.CHART_DAYS - 1),
               min(first, end - timedelta(days=MIN_CHART_DAYS - 1)))


def entity_chart(ent: dict[str, Any], metric: str, *, lang: str, currency: str) -> Markup | None:
    """Return the entity's chart of ``metric`` as inline SVG (None without metrics).

    Series from :func:`growthops.ads.reporting.report._series` (ratios of sums over 7 days); band: the
    peers' p10..p90 of ``ads.baselines`` (window 7) at the latest as-of, when the metric has
    one; markers: the entity's anomalies on that metric in the window. The x axis starts on
    :func:`chart_start`.
    """
    if not ent["metrics"] or ent["end"] is None:
        return None
    end: date = ent["end"]
    days, daily, rolling = report._series(ent["metrics"], metric, ent["result_metric"], end)
    # A young entity's two days must not sit at the edge of 60 empty ones.
    keep = int(np.searchsorted(days, chart_start(ent)))
    days, daily, rolling = days[keep:], daily[keep:], rolling[keep:]
    k = report._display_scale(metric)
    b = ent["baselines"].get("spend_per_day" if metric == "spend" else metric)
    band = ({q: (None if b[q] is None else float(b[q]) * k)
             for q in ("p10", "p25", "p50", "p75", "p90")} if b else None)
    index = {d: i for i, d in enumerate(days)}
    marks = []
    for a in sorted(ent["anomalies"], key=lambda a: a["as_of"]):
        if report.norm_metric(a["metric"]) != metric or a["as_of"] not in index:
            continue
        value = a["actual_value"]
        if value is None:
            value = daily[index[a["as_of"]]] / k
        if value is not None and np.isfinite(value):
            marks.append((a["as_of"], float(value) * k, a["anomaly_type"]))
    svg = report.render_chart(days, daily * k, rolling * k, band=band, marks=marks, lang=lang,
                              ylabel=report._ylabel(metric, currency, lang), prefix="ent-")
    return Markup(svg)  # noqa: S704 - matplotlib output; it escapes its text


def calibration_chart(reliability: list[dict[str, Any]], model: dict[str, Any] | None, *,
                      lang: str) -> Markup:
    """Return the reliability diagram as inline SVG (see the module docstring).

    ``reliability``: the 10 bins of :func:`growthops.ads.learning.calibration.reliability_table`
    (fractions); ``model``: the active ``ads.calibration_models`` row (its ``params`` ``x``/``y``
    breakpoints are drawn as the calibration map) or None. Axes in percent 0-100.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    rc: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": "growthops", "font.size": 8,
                          "axes.spines.top": False, "axes.spines.right": False}
    bins = [b for b in reliability if b.get("count")]
    with report._CHART_LOCK, rc_context(rc):  # type: ignore[arg-type]
        fig = Figure(figsize=(4.2, 3.6), dpi=72, facecolor="none")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_facecolor("none")
        ax.plot([0, 100], [0, 100], color="#8a8f98", lw=0.8, ls="--",
                label=_(lang, "perfect calibration"))
        params = (model or {}).get("params") or {}
        if params.get("x") and params.get("y"):
            ax.plot(np.asarray(params["x"], float) * 100, np.asarray(params["y"], float) * 100,
                    color="#2b6a9e", lw=1.4, label=_(lang, "calibration map"))
        if bins:
            x = np.array([b["mean_stated"] for b in bins]) * 100
            y = np.array([b["observed"] for b in bins]) * 100
            lo = y - np.array([b["ci_low"] for b in bins]) * 100
            hi = np.array([b["ci_high"] for b in bins]) * 100 - y
            sizes = np.array([b["count"] for b in bins], float)
            ax.errorbar(x, y, yerr=[lo, hi], fmt="none", ecolor="#1d2433", elinewidth=0.8,
                        capsize=2)
            ax.scatter(x, y, s=14 + 60 * sizes / sizes.max(), color="#1d2433", zorder=5,
                       label=_(lang, "observed (95% CI)"))
        else:
            ax.text(50, 50, _(lang, "no measured outcome yet"), ha="center", va="center")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel(_(lang, "stated confidence (%)"))
        ax.set_ylabel(_(lang, "observed rate (%)"))
        ax.set_aspect("equal")
        ax.tick_params(length=3, width=0.6)
        ax.legend(fontsize=7, loc="upper left", frameon=False)
        fig.tight_layout(pad=0.4)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None,
                                                 "Format": None, "Type": None})
    return Markup(report._clean_svg(buf.getvalue(), "cal-"))  # noqa: S704 - matplotlib output
