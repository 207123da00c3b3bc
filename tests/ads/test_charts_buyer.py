"""The entity chart as a media buyer reads it (issue 9 #8): no line across undefined days."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np

from growthops.ads.reporting.report_charts import render_chart

GREY = r'<path d="([^"]*)"[^>]*style="[^"]*stroke: ?#8a8f98[^"]*stroke-width: ?0\.8'


def test_the_daily_line_breaks_where_the_metric_is_undefined():
    days = np.array([date(2024, 3, 1) + timedelta(days=i) for i in range(10)])
    daily = np.array([1, 2, np.nan, np.nan, 3, 4, np.nan, 5, np.nan, 6.0])
    svg = render_chart(days, daily, np.full(10, 3.0), ylabel="CPA (EUR)", band=None, marks=[],
                       lang="fr", prefix="t-")
    line = re.findall(GREY, svg)[0]  # the data line (the legend's sample comes after)
    # Runs [1, 2] and [3, 4] are two separate strokes (no segment across the NaN days).
    assert line.count("M") >= 2
    full = render_chart(days, np.arange(10.0), np.full(10, 3.0), ylabel="CPA (EUR)", band=None,
                        marks=[], lang="fr", prefix="t-")
    whole = re.findall(GREY, full)[0]
    assert whole.count("M") == 1


def test_an_overspend_flagged_by_the_weekly_cap_shows_the_weeks_excess():
    from growthops.ads.reporting.report import _over_budget

    day_over = {"overspend_ratio": 0.4, "spend7": 700.0, "budget7": 700.0}
    assert _over_budget(day_over, "en") == "+40.0%"
    week_over = {"overspend_ratio": -0.093, "spend7": 1134.0, "budget7": 1085.0}
    assert _over_budget(week_over, "en") == "+4.5% over 7 days"
    assert _over_budget(week_over, "fr").endswith("sur 7 jours")
