"""What a platform sync reads per level, shared by the Meta and Google Ads readers.

An account that offers ``fetch_insights(start, end, level, *, sleep)`` (Meta:
:mod:`growthops.connectors.meta.insights`, Google Ads:
:mod:`growthops.connectors.google_ads.insights`) is read through it by the sync
(:mod:`growthops.ads.sync`); any other :class:`~growthops.connectors.base.AdPlatform` (the
sandbox) through ``daily_metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from growthops.connectors.base import DailyMetrics, Level, PlatformError

#: Meta: actions are attributed to the impression or click day and can arrive for up to 28
#: days (the longest attribution window Meta has offered, 28-day click; Marketing API
#: "Ads Insights", ``action_attribution_windows``), so the last 28 days are re-pulled.
META_REPULL_DAYS = 28


@dataclass
class InsightsBatch:
    """One level's daily rows for a range and how they were obtained.

    ``attribution_settings``: the attribution the figures carry (Meta's ``attribution_setting``
    values, Google's conversion window); ``waits``: pauses in seconds (usage and back-off);
    ``peak_usage_pct``: the highest rate-limit usage the platform reported (percent 0–100).
    """

    rows: list[DailyMetrics]
    attribution_settings: list[str] = field(default_factory=list)
    report_run_id: str | None = None
    retries: int = 0
    waits: list[float] = field(default_factory=list)
    peak_usage_pct: float | None = None


@dataclass(frozen=True)
class HourlySpend:
    """One entity-hour of delivery: ``day`` and ``hour`` (0–23) in the ad account's time zone.

    ``spend`` in major units of the account currency (as :class:`DailyMetrics`).
    """

    entity_id: str
    level: Level
    day: date
    hour: int
    spend: Decimal
    impressions: int = 0
    clicks: int = 0
    name: str | None = None
    campaign_id: str | None = None


@dataclass
class HourlyBatch:
    """One level's hourly rows for a range, with the same call accounting as :class:`InsightsBatch`."""

    rows: list[HourlySpend]
    report_run_id: str | None = None
    retries: int = 0
    waits: list[float] = field(default_factory=list)
    peak_usage_pct: float | None = None


def with_retries(
    fn: Callable[[], Any],
    *,
    backoff_s: Callable[[int], float],
    wait: Callable[[float], None],
    max_attempts: int,
    counter: list[int],
) -> Any:
    """Run ``fn``; on a retryable :class:`PlatformError` wait ``backoff_s(attempt)`` and retry.

    Raises the last error after ``max_attempts`` attempts, or at once when not retryable.
    ``counter[0]`` is incremented per retry.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            return fn()
        except PlatformError as exc:
            if not exc.retryable or attempt == max_attempts:
                raise
            counter[0] += 1
            wait(backoff_s(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _is_meta(account: Any) -> bool:
    return getattr(account, "platform", None) == "meta" and hasattr(account, "api")


def _is_google(account: Any) -> bool:
    return getattr(account, "platform", None) == "google" and hasattr(account, "client")


def read_insights(
    account: Any,
    start: date,
    end: date,
    level: Level,
    *,
    sleep: Callable[[float], None] = time.sleep,
    state: dict[str, Any] | None = None,
) -> InsightsBatch:
    """Read one level's daily rows, ``start``..``end`` inclusive, the best way the account offers.

    Meta: :func:`growthops.connectors.meta.insights.fetch_insights` (one usage throttle per
    ``state`` dict, so successive levels share what the headers said); Google Ads:
    :func:`growthops.connectors.google_ads.insights.fetch_insights`; any other
    :class:`~growthops.connectors.base.AdPlatform`: its ``daily_metrics``.
    """
    state = {} if state is None else state
    if _is_meta(account):
        from growthops.connectors.meta.insights import Throttle, fetch_insights

        throttle = state.setdefault("throttle", Throttle(sleep=sleep))
        return fetch_insights(account, start, end, level, throttle=throttle)
    if _is_google(account):
        from growthops.connectors.google_ads.insights import fetch_insights as google_fetch

        return google_fetch(account, start, end, level, sleep=sleep)
    return InsightsBatch(account.daily_metrics(start, end, level))


def read_hourly(
    account: Any,
    start: date,
    end: date,
    level: Level,
    *,
    sleep: Callable[[float], None] = time.sleep,
    state: dict[str, Any] | None = None,
) -> HourlyBatch | None:
    """Read one level's hourly spend, ``start``..``end`` inclusive (account time zone).

    Meta: :func:`growthops.connectors.meta.insights.fetch_hourly` (breakdown
    ``hourly_stats_aggregated_by_advertiser_time_zone``); Google Ads:
    :func:`growthops.connectors.google_ads.insights.fetch_hourly` (``segments.hour``); any
    other platform: its ``hourly_spend(start, end, level)`` (the sandbox). None when the
    platform offers no hourly figures.
    """
    state = {} if state is None else state
    if _is_meta(account):
        from growthops.connectors.meta.insights import Throttle, fetch_hourly

        throttle = state.setdefault("throttle", Throttle(sleep=sleep))
        return fetch_hourly(account, start, end, level, throttle=throttle)
    if _is_google(account):
        from growthops.connectors.google_ads.insights import fetch_hourly as google_hourly

        return google_hourly(account, start, end, level, sleep=sleep)
    if hasattr(account, "hourly_spend"):
        return HourlyBatch(account.hourly_spend(start, end, level))
    return None


def repull_window(account: Any) -> int | None:
    """Return the days a platform may still restate (late conversions), None when unknown.

    Meta: :data:`META_REPULL_DAYS`; Google Ads: the account's conversion window
    (:func:`growthops.connectors.google_ads.insights.conversion_lookback_days`, one call).
    """
    if _is_meta(account):
        return META_REPULL_DAYS
    if _is_google(account):
        from growthops.connectors.google_ads.insights import conversion_lookback_days

        return int(conversion_lookback_days(account))
    return None
