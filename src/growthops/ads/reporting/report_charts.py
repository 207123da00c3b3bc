"""The report's charts: a metric's daily and trailing series, drawn as inline SVG by matplotlib.

Used by the HTML report (:mod:`.report`) and the dashboard's entity page (:mod:`.charts`).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from markupsafe import Markup

from growthops.ads.labels import code, metric_label
from growthops.ads.reporting.report_labels import (
    _CHART_LOCK,
    _FALLBACK,
    _SERIES,
    _SEVERITY_RANK,
    _TYPE_METRIC,
    CHART_DAYS,
    ROLLING_DAYS,
    norm_metric,
)
from growthops.core.i18n import _, locale_of


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
    for _round_trip in range(3):
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
            ax.text(0.5, 0.5, _(lang, "no data in the last 60 days"), ha="center", va="center", transform=ax.transAxes)
        others: list[float] = [float(v) for v in rolling[np.isfinite(rolling)]]
        if band and band.get("p10") is not None and band.get("p90") is not None:
            ax.axhspan(
                band["p10"], band["p90"], color="#9ec5e8", alpha=0.35, lw=0, label=_(lang, "peers p10–p90")
            )
            others += [band["p10"], band["p90"]]
        if band and band.get("p25") is not None and band.get("p75") is not None:
            ax.axhspan(
                band["p25"], band["p75"], color="#4a90c8", alpha=0.35, lw=0, label=_(lang, "peers p25–p75")
            )
        if band and band.get("p50") is not None:
            ax.axhline(band["p50"], color="#2b6a9e", lw=0.8, ls="--", label=_(lang, "peers median"))
        x = mdates.date2num(days)
        if finite.any():
            # A ratio is undefined on days with a zero denominator: the NaN breaks the line
            # there (never a segment joining the days around a gap), and a day defined alone
            # between two gaps gets a dot, or it would not show at all.
            ax.plot(x, daily, color="#8a8f98", lw=0.8, label=_(lang, "daily"))
            ok = np.isfinite(daily)
            prev = np.concatenate(([False], ok[:-1]))
            nxt = np.concatenate((ok[1:], [False]))
            alone = ok & ~prev & ~nxt
            if alone.any():
                ax.plot(x[alone], daily[alone], "o", color="#8a8f98", ms=2.2)
            if np.isfinite(rolling).any():
                ax.plot(x, rolling, color="#1d2433", lw=1.6, label=_(lang, "7 days"))
        for i, (day, value, kind) in enumerate(marks):
            ax.plot(
                mdates.date2num(day),
                value,
                "^" if kind == "spike" else "v",
                color="#c62828" if kind == "spike" else "#e08a00",
                ms=6,
                label=_(lang, "anomaly") if i == 0 else None,
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
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _day_tick(v, lang)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _value_tick(v, lang)))
        # The y title sits left of the widest tick label: browsers render the SVG's text in
        # the page's font, wider than matplotlib's measure, so a fixed pad would let the tick
        # labels cover it. Placed in axes coordinates from the longest label's length.
        ax.set_ylabel(ylabel)
        fig.canvas.draw()
        widest = max((len(t.get_text()) for t in ax.get_yticklabels()), default=1)
        ax.yaxis.set_label_coords(-0.035 - 0.0125 * widest, 0.5)
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


def _day_tick(v: float, lang: str) -> str:
    """A date axis tick in ``lang``: day and abbreviated month (``Mar 5`` / ``5 mars``)."""
    import matplotlib.dates as mdates
    from babel.dates import format_skeleton

    return format_skeleton("MMMd", mdates.num2date(v).date(), locale=locale_of(lang))


def _value_tick(v: float, lang: str) -> str:
    """A value axis tick in ``lang`` (up to 3 decimals, as matplotlib's ``%g`` would)."""
    from babel.numbers import format_decimal

    return format_decimal(v, format="#,##0.###", locale=locale_of(lang))


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
    label = metric_label("spend_per_day" if metric == "spend" else metric, lang)
    return f"{label} ({unit})" if unit else label


def _charts(data: dict[str, Any], as_of: date, lang: str) -> list[dict[str, Any]]:
    """Build one chart per flagged entity (see the module docstring)."""
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
        why = [_(lang, "suggestion {type}", type=code(s["type"], lang))
               for s in ent["suggestions"]]
        why += [
            _(lang, "anomaly {metric} {direction}", metric=metric_label(a["metric"], lang),
              direction=code(a["anomaly_type"], lang))
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
                "entity": f"{code(level, lang)} {name} ({entity_id})" if name
                else f"{code(level, lang)} {entity_id}",
                "platform": platform,
                "metric": _ylabel(metric, currency, lang),
                "why": ", ".join(why),
                "svg": Markup(svg),  # noqa: S704 - matplotlib output, escaped
            }
        )
    return charts


