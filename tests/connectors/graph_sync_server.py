"""The local Graph API server (graph_server.py) plus the insights the sync reads.

Adds, in Meta's wire format (Marketing API v26 "Insights API" and "Asynchronous Jobs"):

* ``GET /act_<id>/insights`` per level and ``time_range``, paged by ``page_size`` rows with
  ``paging.cursors.after`` and ``paging.next`` while rows remain;
* ``POST /act_<id>/insights`` → ``{"report_run_id"}``; ``GET /<run>`` answers ``Job Running``
  ``polls_before_done`` times then ``Job Completed``; ``GET /<run>/insights`` pages the rows;
* usage headers (``X-Business-Use-Case-Usage``, ``X-Ad-Account-Usage``,
  ``X-FB-Ads-Insights-Throttle``) from :attr:`usage`, on every answer;
* :attr:`data`: ``(level, entity id, day) -> row``, editable by a test to restate a day;
* the ``hourly_stats_aggregated_by_advertiser_time_zone`` breakdown: each day's row split over
  24 rows by :data:`HOURLY_WEIGHTS` (spend, impressions, clicks; the field's value like
  ``"13:00:00 - 13:59:59"``), or the 24 spends a test puts in :attr:`hourly`
  (``(level, entity id, day) -> [spend per hour]``).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from tests.connectors.graph_server import ACCOUNT, GraphServer

CAMPAIGNS = {"120210000000000001": "Prospecting FR", "120210000000000002": "Retargeting CBO"}
ADSETS = {  # ad set -> (campaign, name)
    "120210000000000101": ("120210000000000001", "Broad 25-54"),
    "120210000000000102": ("120210000000000001", "Lookalike 1%"),
    "120210000000000201": ("120210000000000002", "Visitors 30d"),
}
ADS = {  # ad -> (ad set, name)
    "120210000000001001": ("120210000000000101", "UGC video A"),
    "120210000000001002": ("120210000000000101", "Static B"),
}
ATTRIBUTION = "7d_click_1d_view"
HOURLY = "hourly_stats_aggregated_by_advertiser_time_zone"
#: Relative spend per hour 0-23: quiet nights, busy days.
HOURLY_WEIGHTS = [1] * 7 + [3] * 15 + [1] * 2


def insight_row(level: str, entity: str, day: date, *, spend: float, conversions: int,
                value: float) -> dict[str, Any]:
    """One insights row of ``level`` as the Graph API sends it (strings for numbers)."""
    row: dict[str, Any] = {
        "date_start": day.isoformat(), "date_stop": day.isoformat(),
        "spend": f"{spend:.2f}", "impressions": str(int(spend * 100)),
        "clicks": str(int(spend * 1.5)), "reach": str(int(spend * 80)),
        "actions": [{"action_type": "link_click", "value": str(int(spend))},
                    {"action_type": "omni_purchase", "value": str(conversions)}],
        "action_values": [{"action_type": "omni_purchase", "value": f"{value:.2f}"}],
        "attribution_setting": ATTRIBUTION,
    }
    if level == "ad":
        adset = ADS[entity][0]
        row.update(ad_id=entity, ad_name=ADS[entity][1], adset_id=adset,
                   adset_name=ADSETS[adset][1], campaign_id=ADSETS[adset][0],
                   campaign_name=CAMPAIGNS[ADSETS[adset][0]])
    elif level == "adset":
        row.update(adset_id=entity, adset_name=ADSETS[entity][1], campaign_id=ADSETS[entity][0],
                   campaign_name=CAMPAIGNS[ADSETS[entity][0]])
    else:
        row.update(campaign_id=entity, campaign_name=CAMPAIGNS[entity])
    return row


class InsightsGraphServer(GraphServer):
    """Graph API server with insights for ``first_day``..``last_day`` (see module doc)."""

    def __init__(self, token: str, first_day: date, last_day: date, page_size: int = 2) -> None:
        super().__init__(token)
        self.page_size = page_size
        self.polls_before_done = 1
        self.usage: dict[str, Any] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.data: dict[tuple[str, str, date], dict[str, Any]] = {}
        self.hourly: dict[tuple[str, str, date], list[float]] = {}
        d, i = first_day, 0
        while d <= last_day:
            for n, ad in enumerate(ADS):
                self.data[("ad", ad, d)] = insight_row("ad", ad, d, spend=10 + n + i % 3,
                                                        conversions=1 + n, value=40.0 + n)
            for n, adset in enumerate(ADSETS):
                self.data[("adset", adset, d)] = insight_row(
                    "adset", adset, d, spend=30 + n + i % 3, conversions=2 + n, value=90.0 + n)
            for n, cam in enumerate(CAMPAIGNS):
                self.data[("campaign", cam, d)] = insight_row(
                    "campaign", cam, d, spend=70 + n + i % 3, conversions=4 + n, value=200.0 + n)
            d += timedelta(days=1)
            i += 1

    def response_headers(self, method: str, path: str) -> dict[str, str]:
        """The usage headers set in :attr:`usage` (JSON-encoded), on every answer."""
        return {name: json.dumps(value) for name, value in self.usage.items()}

    def _rows(self, params: dict[str, str]) -> list[dict[str, Any]]:
        level = params.get("level", "ad")
        rng = json.loads(params["time_range"])
        since, until = date.fromisoformat(rng["since"]), date.fromisoformat(rng["until"])
        rows = [row for (lv, _e, d), row in sorted(self.data.items(), key=lambda kv: (kv[0][2], kv[0][1]))
                if lv == level and since <= d <= until]
        if HOURLY not in params.get("breakdowns", ""):
            return rows
        out = []
        for row in rows:
            key = (level, row[f"{level}_id"], date.fromisoformat(row["date_start"]))
            total = sum(HOURLY_WEIGHTS)
            spends = self.hourly.get(key) or [float(row["spend"]) * w / total for w in HOURLY_WEIGHTS]
            for h, spend in enumerate(spends):
                share = HOURLY_WEIGHTS[h] / total
                hour_row = {k: v for k, v in row.items() if k not in (
                    "actions", "action_values", "reach", "attribution_setting", "ad_id", "ad_name")}
                hour_row.update(spend=f"{spend:.2f}", impressions=str(int(int(row["impressions"]) * share)),
                                clicks=str(int(int(row["clicks"]) * share)),
                                **{HOURLY: f"{h:02d}:00:00 - {h:02d}:59:59"})
                out.append(hour_row)
        return out

    def _page(self, rows: list[dict[str, Any]], path: str, query: dict[str, str]) -> dict[str, Any]:
        start = int(query.get("after") or 0)
        size = min(self.page_size, int(query.get("limit") or self.page_size))
        out: dict[str, Any] = {"data": rows[start:start + size],
                               "paging": {"cursors": {"before": str(start), "after": str(start + size)}}}
        if start + size < len(rows):
            out["paging"]["next"] = f"{self.url}{path}?after={start + size}"
        return out

    def answer(self, method: str, path: str, query: dict[str, str],
               form: dict[str, str]) -> tuple[int, Any]:
        pending = any(m == method and path.rstrip("/").endswith(s) for m, s, _, _ in self._failures)
        token = query.get("access_token") or form.get("access_token")
        segs = [s for s in path.split("/") if s][1:]
        if pending or token != self.token or not segs:
            return super().answer(method, path, query, form)
        if segs == [ACCOUNT, "insights"] and method == "GET":
            return 200, self._page(self._rows(query), path, query)
        if segs == [ACCOUNT, "insights"] and method == "POST":
            run_id = f"6023{len(self.runs) + 1:08d}"
            self.runs[run_id] = {"params": form, "polls": 0}
            return 200, {"report_run_id": run_id}
        if segs[0] in self.runs and method == "GET":
            run = self.runs[segs[0]]
            if len(segs) == 2 and segs[1] == "insights":
                return 200, self._page(self._rows(run["params"]), path, query)
            run["polls"] += 1
            done = run["polls"] > self.polls_before_done
            return 200, {"id": segs[0], "async_status": "Job Completed" if done else "Job Running",
                         "async_percent_completion": 100 if done else 50}
        return super().answer(method, path, query, form)
