"""The local Google Ads gRPC server (ads_grpc_server.py) plus what the sync reads.

Adds ``GoogleAdsService.SearchStream`` (server streaming, real
``SearchGoogleAdsStreamResponse`` protos, ``batch_size`` rows per message) answering the
connector's daily-metrics GAQL at campaign, ad group and ad level from :attr:`daily`
(``(level, entity id, day) -> metrics``, editable to restate a day), and
``FROM conversion_action`` for the conversion window. A query with ``segments.hour`` gets each
day split over 24 rows by :data:`HOURLY_WEIGHTS` (the cost micros' remainder in hour 23), or
the 24 cost micros a test puts in :attr:`hourly` (``(level, entity id, day) -> [micros]``). Failures injected with
``fail_next("SearchStream", ...)`` arrive as Google sends them: a GoogleAdsFailure in the
trailing metadata.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import grpc
from google.ads.googleads.v26.errors.types.errors import ErrorCode, GoogleAdsError, GoogleAdsFailure
from google.ads.googleads.v26.services.types import google_ads_service

from tests.connectors.ads_grpc_server import FAILURE_KEY, PKG, AdsServer

LEVELS = {"campaign": "campaign", "ad_group": "adset", "ad_group_ad": "ad"}
HOURLY_WEIGHTS = [1] * 7 + [3] * 15 + [1] * 2


class StreamAdsServer(AdsServer):
    """Google Ads server with daily metrics for ``first_day``..``last_day`` (see module doc)."""

    def __init__(self, first_day: date, last_day: date, *, lookback_days: list[int] | None = None,
                 batch_size: int = 2) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.lookback_days = lookback_days or []
        self.daily: dict[tuple[str, str, date], dict[str, Any]] = {}
        self.hourly: dict[tuple[str, str, date], list[int]] = {}
        d, i = first_day, 0
        while d <= last_day:
            for n, cam in enumerate(("20001", "20002")):
                self.daily[("campaign", cam, d)] = {
                    "cost_micros": (40 + n + i % 4) * 1_000_000 + 123_456,
                    "impressions": 1000 + 10 * i, "clicks": 100 + i, "conversions": 5.5 + n,
                    "conversions_value": 300.25 + n}
            self.daily[("adset", "40001", d)] = {
                "cost_micros": 30_000_000, "impressions": 800, "clicks": 80, "conversions": 4.0,
                "conversions_value": 200.0}
            self.daily[("ad", "50001", d)] = {
                "cost_micros": 30_000_000, "impressions": 800, "clicks": 80, "conversions": 4.0,
                "conversions_value": 200.0}
            d += timedelta(days=1)
            i += 1
        handler = grpc.unary_stream_rpc_method_handler(
            self._stream,
            request_deserializer=google_ads_service.SearchGoogleAdsStreamRequest.deserialize,
            response_serializer=google_ads_service.SearchGoogleAdsStreamResponse.serialize,
        )
        self.server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(f"{PKG}.GoogleAdsService",
                                                  {"SearchStream": handler})]
        )

    def _stream(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append(("SearchStream", request, dict(context.invocation_metadata())))
        for i, (m, status, category, enum_name) in enumerate(self._failures):
            if m == "SearchStream":
                del self._failures[i]
                code = ErrorCode()
                setattr(code, category, getattr(type(getattr(code, category)), enum_name))
                failure = GoogleAdsFailure(
                    errors=[GoogleAdsError(error_code=code, message=f"{category} {enum_name}")])
                context.set_trailing_metadata(((FAILURE_KEY, GoogleAdsFailure.serialize(failure)),
                                               ("request-id", "req-stream-1")))
                context.abort(status, f"{category}.{enum_name}")
        q = request.query
        level = LEVELS[re.search(r"\bFROM\s+(\w+)", q).group(1)]
        since, until = (date.fromisoformat(x) for x in re.findall(r"'(\d{4}-\d{2}-\d{2})'", q))
        rows = []
        for (lv, eid, day), m in sorted(self.daily.items(), key=lambda kv: (kv[0][2], kv[0][1])):
            if lv != level or not since <= day <= until:
                continue
            row = google_ads_service.GoogleAdsRow()
            if level == "campaign":
                row.campaign.id, row.campaign.name = int(eid), self.campaigns[eid]["name"]
            elif level == "adset":
                g = self.ad_groups[eid]
                row.ad_group.id, row.ad_group.name = int(eid), g["name"]
                row.campaign.id = int(g["campaign_id"])
            else:
                a = self.ads[eid]
                row.ad_group_ad.ad.id, row.ad_group_ad.ad.name = int(eid), a["name"]
                row.ad_group.id = int(a["ad_group_id"])
                row.campaign.id = int(self.ad_groups[a["ad_group_id"]]["campaign_id"])
            row.segments.date = day.isoformat()
            if "segments.hour" in q:
                total = sum(HOURLY_WEIGHTS)
                costs = self.hourly.get((lv, eid, day)) or [
                    m["cost_micros"] * w // total for w in HOURLY_WEIGHTS]
                if (lv, eid, day) not in self.hourly:
                    costs[-1] += m["cost_micros"] - sum(costs)
                for h, cost in enumerate(costs):
                    hour_row = google_ads_service.GoogleAdsRow()
                    hour_row._pb.CopyFrom(row._pb)
                    hour_row.segments.hour = h
                    hour_row.metrics.cost_micros = cost
                    hour_row.metrics.impressions = m["impressions"] * HOURLY_WEIGHTS[h] // total
                    hour_row.metrics.clicks = m["clicks"] * HOURLY_WEIGHTS[h] // total
                    rows.append(hour_row)
                continue
            for k, v in m.items():
                setattr(row.metrics, k, v)
            rows.append(row)
        for start in range(0, max(len(rows), 1), self.batch_size):
            yield google_ads_service.SearchGoogleAdsStreamResponse(
                results=rows[start:start + self.batch_size], request_id="req-stream")

    def search(self, request: Any) -> Any:
        """``FROM conversion_action``: the enabled actions' windows; else the base server."""
        if "FROM conversion_action" in request.query:
            rows = []
            for n, days in enumerate(self.lookback_days):
                row = google_ads_service.GoogleAdsRow()
                row.conversion_action.id = 70001 + n
                row.conversion_action.click_through_lookback_window_days = days
                rows.append(row)
            return google_ads_service.SearchGoogleAdsResponse(results=rows)
        return super().search(request)
