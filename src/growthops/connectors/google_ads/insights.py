"""Daily metrics of a Google Ads customer for the sync: GAQL through ``SearchStream``.

``GoogleAdsService.SearchStream`` answers one GAQL query with a stream of batches (up to
10,000 rows each) and no page tokens: Google recommends it over ``Search`` for reports
("Streaming vs paging", Google Ads API guide). A stream that fails is asked again whole.
Retryable errors (:data:`growthops.connectors.google_ads.account.RETRYABLE_ERRORS` and
gRPC statuses, e.g. ``quota_error.RESOURCE_EXHAUSTED``) are retried after an exponential
back-off, ``BACKOFF_BASE_S × 2^(attempt−1)`` capped at ``BACKOFF_MAX_S`` (Google Ads API,
"Error handling": retry with exponential backoff).

The re-pull window for late conversions is the account's conversion window: the largest
``conversion_action.click_through_lookback_window_days`` of its enabled conversion actions,
:data:`DEFAULT_LOOKBACK_DAYS` (Google's default conversion window, 30 days) when it has none
("About conversion windows", Google Ads Help).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from growthops.connectors.base import Level
from growthops.connectors.google_ads.account import MICROS, RESOURCES, GoogleAdsAccount, _to_dict
from growthops.connectors.insights import HourlyBatch, HourlySpend, InsightsBatch, with_retries

BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 300.0
MAX_ATTEMPTS = 5
#: Google's default click-through conversion window (days); windows range 1-90.
DEFAULT_LOOKBACK_DAYS = 30
LOOKBACK_QUERY = (
    "SELECT conversion_action.id, conversion_action.click_through_lookback_window_days "
    "FROM conversion_action WHERE conversion_action.status = 'ENABLED'"
)


def _backoff_s(attempt: int) -> float:
    return min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S)


def conversion_lookback_days(account: GoogleAdsAccount) -> int:
    """Return the account's longest click-through conversion window (days, 1–90)."""
    rows = account._search(LOOKBACK_QUERY)
    days = [int(r.conversion_action.click_through_lookback_window_days) for r in rows]
    days = [d for d in days if d > 0]
    return max(days) if days else DEFAULT_LOOKBACK_DAYS


def _stream_rows(account: GoogleAdsAccount, query: str,
                 sleep: Callable[[float], None]) -> tuple[list[Any], int, list[float]]:
    """Run one GAQL query through SearchStream with retries; return (rows, retries, waits)."""
    svc = account._service("GoogleAdsService")
    request = account.client.get_type("SearchGoogleAdsStreamRequest")
    request.customer_id = account.customer_id
    request.query = query
    waits: list[float] = []
    retries = [0]

    def stream() -> list[Any]:
        return [row for batch in svc.search_stream(request=request) for row in batch.results]

    def call() -> list[Any]:
        return account._rpc(
            "GoogleAdsService", "SearchStream", request, stream,
            lambda rows: {"rows": len(rows), "first": [_to_dict(r) for r in rows[:20]]},
        )

    def wait(seconds: float) -> None:
        waits.append(seconds)
        sleep(seconds)

    rows = with_retries(call, backoff_s=_backoff_s, wait=wait, max_attempts=MAX_ATTEMPTS,
                        counter=retries)
    return rows, retries[0], waits


def hourly_query(start: date, end: date, level: Level) -> str:
    """Return the GAQL of one level's spend per ``segments.date`` and ``segments.hour``.

    ``segments.hour`` is the hour of day 0–23 and ``segments.date`` the date, both in the
    account's time zone (Google Ads API, "Segments": ``segments.hour``). Campaign and ad group
    levels only: ads carry no budget, so the pacing does not need them.
    """
    if level == "ad":
        raise ValueError("level: hourly spend is read at campaign and ad group levels only")
    resource, id_f, name_f, _ = RESOURCES[level]
    parent = ", campaign.id" if level == "adset" else ""
    return (
        f"SELECT {id_f}, {name_f}{parent}, segments.date, segments.hour, metrics.cost_micros, "
        "metrics.impressions, metrics.clicks "
        f"FROM {resource} WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
    )


def fetch_hourly(
    account: GoogleAdsAccount,
    start: date,
    end: date,
    level: Level,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> HourlyBatch:
    """Return ``level``'s spend per hour for ``start``..``end`` (inclusive) through SearchStream.

    Cost micros → major units (6 decimals). Retries as :func:`fetch_insights`.
    """
    rows, retries, waits = _stream_rows(account, hourly_query(start, end, level), sleep)
    out = []
    for r in rows:
        ent = r.campaign if level == "campaign" else r.ad_group
        out.append(HourlySpend(
            entity_id=str(ent.id), level=level, day=date.fromisoformat(r.segments.date),
            hour=int(r.segments.hour),
            spend=(Decimal(r.metrics.cost_micros) / MICROS).quantize(Decimal("0.000001")),
            impressions=int(r.metrics.impressions), clicks=int(r.metrics.clicks), name=ent.name,
            campaign_id=str(r.campaign.id) if level == "adset" else None))
    return HourlyBatch(out, retries=retries, waits=waits)


def fetch_insights(
    account: GoogleAdsAccount,
    start: date,
    end: date,
    level: Level,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> InsightsBatch:
    """Return ``level``'s daily metrics for ``start``..``end`` (inclusive) through SearchStream.

    One RPC per attempt, logged like every call of the account (``GoogleAdsService/SearchStream``
    with the number of rows). Raises :class:`~growthops.connectors.base.PlatformError` after
    :data:`MAX_ATTEMPTS` attempts or at once for a non-retryable error.
    """
    rows, retries, waits = _stream_rows(account, account.metrics_query(start, end, level), sleep)
    return InsightsBatch(
        [account.parse_metrics_row(r, level) for r in rows], retries=retries, waits=waits
    )
