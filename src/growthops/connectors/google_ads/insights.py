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
from typing import Any

from growthops.connectors.base import Level
from growthops.connectors.google_ads.account import GoogleAdsAccount, _to_dict
from growthops.connectors.insights import InsightsBatch, with_retries

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
    svc = account._service("GoogleAdsService")
    request = account.client.get_type("SearchGoogleAdsStreamRequest")
    request.customer_id = account.customer_id
    request.query = account.metrics_query(start, end, level)
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
    return InsightsBatch(
        [account.parse_metrics_row(r, level) for r in rows], retries=retries[0], waits=waits
    )
