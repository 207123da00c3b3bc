"""Daily insights of a Meta ad account for the sync: report runs, paging, usage and back-off.

:func:`fetch_insights` reads one level (campaign, ad set or ad) for a date range through the
``facebook-business`` SDK:

* short ranges (≤ ``async_after_days`` days) read ``GET /act_<id>/insights`` directly; longer
  ones start an asynchronous report run (``POST /act_<id>/insights`` → ``report_run_id``), poll
  ``GET /<report_run_id>`` until ``async_status`` is ``Job Completed`` and read
  ``GET /<report_run_id>/insights`` (Marketing API, "Insights API: Asynchronous Jobs": use
  them for large requests, which time out synchronously);
* every page follows the cursor (``paging.cursors.after`` while ``paging.next`` is present):
  the SDK's ``Cursor``; a failed page is asked again with the same cursor;
* ``use_unified_attribution_setting=true`` (Meta's recommendation: the figures match Ads
  Manager, each ad set counted under its own attribution setting) and the row field
  ``attribution_setting`` is read, so the sync records which setting the numbers carry;
* usage headers are read after every call by :class:`Throttle`: ``X-Business-Use-Case-Usage``
  (``call_count``, ``total_cputime``, ``total_time`` in percent, and
  ``estimated_time_to_regain_access`` in minutes), ``X-Ad-Account-Usage``
  (``acc_id_util_pct``, ``reset_time_duration`` in seconds), ``X-FB-Ads-Insights-Throttle``
  (``app_id_util_pct``, ``acc_id_util_pct``) and ``X-App-Usage`` (Graph API "Rate Limiting"
  and Marketing API "Rate Limiting", "Insights API limits"). Above :data:`SLOW_DOWN_PCT` the
  reader pauses before its next call, longer as usage nears 100 %; at :data:`STOP_PCT` it waits
  for the announced regain time;
* rate-limit and temporary error codes (:data:`growthops.connectors.meta.account.RETRYABLE_CODES`:
  4, 17, 32, 341, 613, 80000–80014, 1, 2) are retried after a back-off: the regain time the
  headers announce, else exponential ``BACKOFF_BASE_S × 2^(attempt−1)`` capped at
  ``BACKOFF_MAX_S`` (Meta: "wait and retry later"; Google's and AWS's standard back-off).

``sleep`` is injectable: tests record the waits instead of sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adsinsights import AdsInsights

from growthops.connectors.base import Level, PlatformError
from growthops.connectors.insights import HourlyBatch, HourlySpend, InsightsBatch, with_retries
from growthops.connectors.meta.account import INSIGHT_FIELDS, MetaAdAccount

#: Usage (percent of the allowance) above which the reader slows down.
SLOW_DOWN_PCT = 75.0
#: Usage at which the reader stops until the regain time (Meta throttles at 100 %).
STOP_PCT = 95.0
#: Longest pause between calls while slowing down (seconds), reached at STOP_PCT.
SLOW_DOWN_MAX_S = 30.0
#: Back-off after a rate-limit or temporary error: first wait and cap (seconds).
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 300.0
#: Attempts per call before the error is raised.
MAX_ATTEMPTS = 5
#: Report run states (AdReportRun.async_status).
JOB_DONE = "Job Completed"
JOB_FAILED = frozenset({"Job Failed", "Job Skipped"})
USAGE_HEADERS = (
    "x-business-use-case-usage",
    "x-ad-account-usage",
    "x-fb-ads-insights-throttle",
    "x-app-usage",
)
_PCT_KEYS = ("call_count", "total_cputime", "total_time", "acc_id_util_pct", "app_id_util_pct")


@dataclass(frozen=True)
class Usage:
    """The highest usage in one response's headers (percent 0–100) and the regain time (s)."""

    pct: float = 0.0
    regain_s: float = 0.0


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def read_usage(headers: dict[str, str]) -> Usage:
    """Return the highest percentage and regain time of Meta's usage headers (lower-case keys).

    Business-use-case entries are ``{id: [{type, call_count, ..., estimated_time_to_regain_access}]}``
    (minutes); the others flat objects. Unparsable headers are ignored.
    """
    pct, regain = 0.0, 0.0
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries: list[dict[str, Any]] = []
        if name == "x-business-use-case-usage" and isinstance(data, dict):
            for v in data.values():
                entries += [e for e in (v if isinstance(v, list) else [v]) if isinstance(e, dict)]
        elif isinstance(data, dict):
            entries.append(data)
        for e in entries:
            pct = max(pct, *(_number(e.get(k)) for k in _PCT_KEYS))
            regain = max(regain, 60.0 * _number(e.get("estimated_time_to_regain_access")),
                         _number(e.get("reset_time_duration")))
    return Usage(pct, regain)


@dataclass
class Throttle:
    """Respect Meta's usage headers: pause before the next call when usage is high.

    ``waits`` records every pause (seconds) and ``peak_pct`` the highest usage seen.
    """

    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)
    peak_pct: float = 0.0
    last: Usage = field(default_factory=Usage)

    def observe(self, headers: dict[str, str]) -> None:
        """Read one response's headers; pause when usage is at or above :data:`SLOW_DOWN_PCT`."""
        self.last = read_usage(headers)
        self.peak_pct = max(self.peak_pct, self.last.pct)
        if self.last.pct >= STOP_PCT:
            self.wait(max(self.last.regain_s, 60.0))
        elif self.last.pct >= SLOW_DOWN_PCT:
            frac = (self.last.pct - SLOW_DOWN_PCT) / (STOP_PCT - SLOW_DOWN_PCT)
            self.wait(round(SLOW_DOWN_MAX_S * frac, 3))

    def backoff_s(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based): the regain time, else exponential."""
        if self.last.regain_s > 0:
            return min(self.last.regain_s, BACKOFF_MAX_S)
        return min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S)

    def wait(self, seconds: float) -> None:
        """Pause ``seconds`` (recorded in :attr:`waits`)."""
        if seconds > 0:
            self.waits.append(seconds)
            self.sleep(seconds)


_END = object()


def _read_rows(
    account: MetaAdAccount,
    start: date,
    end: date,
    params: dict[str, Any],
    fields: list[str],
    *,
    throttle: Throttle,
    async_after_days: int,
    poll_interval_s: float,
    max_polls: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Read every insights row of ``params`` (see the module doc); return (rows, run id, retries)."""
    account.api.on_headers = throttle.observe
    retries = [0]

    def guarded(fn: Any) -> Any:
        return with_retries(lambda: account._guard(fn), backoff_s=throttle.backoff_s,
                            wait=throttle.wait, max_attempts=MAX_ATTEMPTS, counter=retries)

    acc = AdAccount(account.account_id, api=account.api)
    run_id = None
    if (end - start).days + 1 > async_after_days:
        run = guarded(
            lambda: acc.get_insights(fields=fields, params=dict(params), is_async=True))
        run_id = str(run["id"])
        for _poll in range(max_polls):
            state = guarded(
                lambda: run.api_get(fields=["async_status", "async_percent_completion"]))
            status = str(state.get("async_status", ""))
            if status == JOB_DONE:
                break
            if status in JOB_FAILED:
                raise PlatformError(f"Meta report run {run_id}: {status}", code="report_failed",
                                    retryable=True)
            throttle.wait(poll_interval_s)
        else:
            raise PlatformError(f"Meta report run {run_id} not done after {max_polls} polls",
                                code="report_timeout", retryable=True)
        cursor = guarded(lambda: run.get_insights(params={"limit": page_size}))
    else:
        cursor = guarded(lambda: acc.get_insights(fields=fields, params=dict(params)))
    it = iter(cursor)
    raw: list[dict[str, Any]] = []
    while (item := guarded(lambda: next(it, _END))) is not _END:
        raw.append(dict(item.export_all_data()))
    return raw, run_id, retries[0]


def fetch_insights(
    account: MetaAdAccount,
    start: date,
    end: date,
    level: Level,
    *,
    throttle: Throttle,
    async_after_days: int = 7,
    poll_interval_s: float = 2.0,
    max_polls: int = 300,
    page_size: int = 500,
) -> InsightsBatch:
    """Return ``level``'s daily insights for ``start``..``end`` (inclusive, account time zone).

    See the module doc for the call sequence. Raises :class:`PlatformError`: the API's errors
    after :data:`MAX_ATTEMPTS` attempts, code ``report_failed`` for a failed or skipped report
    run, ``report_timeout`` when it is not done after ``max_polls`` polls.
    """
    first_wait = len(throttle.waits)
    params: dict[str, Any] = {
        "level": level,
        "time_range": {"since": start.isoformat(), "until": end.isoformat()},
        "time_increment": 1,
        "limit": page_size,
        "use_unified_attribution_setting": True,
    }
    raw, run_id, retries = _read_rows(
        account, start, end, params, [*INSIGHT_FIELDS, "attribution_setting"], throttle=throttle,
        async_after_days=async_after_days, poll_interval_s=poll_interval_s, max_polls=max_polls,
        page_size=page_size)
    settings = sorted({str(r["attribution_setting"]) for r in raw if r.get("attribution_setting")})
    return InsightsBatch([account.parse_insights_row(r, level) for r in raw], settings, run_id,
                         retries, throttle.waits[first_wait:], throttle.peak_pct)


#: The hourly breakdown in the ad account's time zone (Marketing API, "Insights API
#: Breakdowns": ``hourly_stats_aggregated_by_advertiser_time_zone``; values like
#: ``"13:00:00 - 13:59:59"``). Only on-Meta metrics (spend, impressions, clicks) are returned
#: with it, which is all the pacing needs.
HOURLY_BREAKDOWN = AdsInsights.Breakdowns.hourly_stats_aggregated_by_advertiser_time_zone
HOURLY_FIELDS = ["campaign_id", "campaign_name", "adset_id", "adset_name", "date_start", "spend",
                 "impressions", "clicks"]


def parse_hourly_row(r: dict[str, Any], level: Level) -> HourlySpend:
    """Turn one hourly insights row (Graph API JSON) of ``level`` into :class:`HourlySpend`.

    Raises :class:`PlatformError` (code ``bad_row``) when the hour cannot be read.
    """
    label = str(r.get(HOURLY_BREAKDOWN) or "")
    try:
        hour = int(label.split(":", 1)[0])
    except ValueError as exc:
        raise PlatformError(f"Meta hourly row: {HOURLY_BREAKDOWN}={label!r} has no hour",
                            code="bad_row") from exc
    if not 0 <= hour <= 23:
        raise PlatformError(f"Meta hourly row: hour {hour} is not 0-23", code="bad_row")
    return HourlySpend(
        entity_id=str(r.get(f"{level}_id") or r.get("id")), level=level,
        day=date.fromisoformat(r["date_start"]), hour=hour,
        spend=Decimal(str(r.get("spend") or "0")), impressions=int(r.get("impressions") or 0),
        clicks=int(r.get("clicks") or 0), name=r.get(f"{level}_name"),
        campaign_id=r.get("campaign_id") if level != "campaign" else None)


def fetch_hourly(
    account: MetaAdAccount,
    start: date,
    end: date,
    level: Level,
    *,
    throttle: Throttle,
    async_after_days: int = 7,
    poll_interval_s: float = 2.0,
    max_polls: int = 300,
    page_size: int = 500,
) -> HourlyBatch:
    """Return ``level``'s hourly spend for ``start``..``end`` (inclusive, account time zone).

    Same call sequence as :func:`fetch_insights` (report runs past ``async_after_days``, cursor
    paging, usage headers, back-off) with ``breakdowns=[HOURLY_BREAKDOWN]``.
    """
    first_wait = len(throttle.waits)
    params: dict[str, Any] = {
        "level": level,
        "time_range": {"since": start.isoformat(), "until": end.isoformat()},
        "time_increment": 1,
        "breakdowns": [HOURLY_BREAKDOWN],
        "limit": page_size,
    }
    raw, run_id, retries = _read_rows(
        account, start, end, params, HOURLY_FIELDS, throttle=throttle,
        async_after_days=async_after_days, poll_interval_s=poll_interval_s, max_polls=max_polls,
        page_size=page_size)
    return HourlyBatch([parse_hourly_row(r, level) for r in raw], run_id, retries,
                       throttle.waits[first_wait:], throttle.peak_pct)
