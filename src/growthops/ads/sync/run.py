"""Pull a tenant's daily insights from its ad platforms into ``ads.metrics_daily``.

One sync of one account (:func:`sync_account`):

1. the range: ``date_to`` defaults to the account's last complete day (the tenant's local date
   − 1); ``date_from`` to the earliest of the day after the last successful sync and the start
   of the **re-pull window** (late conversions: Meta restates a day's actions for up to
   :data:`growthops.connectors.insights.META_REPULL_DAYS` days; Google for the account's conversion window, read from its
   conversion actions; the sandbox for its 7-day attribution lag), or
   :data:`INITIAL_DAYS` back on the first sync. ``settings.repull_days`` on the
   ``ads.ad_accounts`` row overrides the window;
2. a row in ``ads.sync_runs`` (status ``running``), committed at once;
3. campaign, ad set and ad levels read through the account's ``fetch_insights`` (Meta: report
   runs, paging, usage headers, back-off; Google Ads: GAQL SearchStream) or ``daily_metrics``
   (the sandbox);
4. the rows loaded with the importer's own upsert (:func:`growthops.ads.metrics.importer.load_records`:
   staging COPY, ``ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM``), so a re-pulled day
   that did not change writes nothing and a restated one updates its row; the trigger of
   migration 0100 keeps the replaced version in ``ads.metrics_daily_history``
   (``ads.metrics_as_known(at)`` replays what was known at any instant);
   an entity-day inside the pulled range that an earlier sync of this platform loaded and that
   the platform no longer reports (its delivery refunded or removed; Meta and Google omit
   entity-days without delivery) is set to zero in the same transaction
   (:func:`zero_unreported`), so the stored spend matches the platform's. Rows loaded by a
   file import are never touched;
5. the run closed (``succeeded`` with counts, or ``failed`` with the error) and every API call
   written to ``core.api_calls_log`` with its cost estimate, in a transaction of their own so
   a failed sync still leaves its calls and its failure on record.

Steps 3–4 are one tenant transaction: a failure loads nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from growthops.ads.metrics.formats import Record
from growthops.ads.metrics.importer import load_records
from growthops.connectors.base import DailyMetrics, Level
from growthops.connectors.costs import estimate_cost
from growthops.connectors.insights import read_insights, repull_window
from growthops.connectors.registry import get_platform
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.logs.service import log_api_call

LEVELS: tuple[Level, ...] = ("campaign", "adset", "ad")
#: The sandbox reports a day's conversions over that day and the 6 following ones
#: (:mod:`growthops.connectors.sandbox.model`, ``attribution_lag_shares``).
SANDBOX_REPULL_DAYS = 7
#: First sync of an account: the longest baseline window of the daily cycle (90 days).
INITIAL_DAYS = 90
#: Longest range one sync may pull (days), so a typo in --from cannot ask for years.
MAX_RANGE_DAYS = 400

Progress = Callable[[str], None]


@dataclass
class SyncResult:
    """What one account's sync did (``status`` 'succeeded' or 'failed')."""

    run_id: int
    platform: str
    account_id: str
    date_from: date
    date_to: date
    status: str = "running"
    rows_fetched: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_zeroed: int = 0
    api_calls: int = 0
    retries: int = 0
    waited_s: float = 0.0
    peak_usage_pct: float | None = None
    attribution_settings: list[str] = field(default_factory=list)
    error: str | None = None


class CallBuffer:
    """Collect a connector's calls (the keyword arguments of ``log_api_call``) in memory."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kw: Any) -> None:
        """Record one call."""
        if kw.get("cost_estimate") is None:
            kw["cost_estimate"] = estimate_cost(str(kw.get("api_name")))
        self.calls.append(kw)

    def flush(self, conn: Any, tenant_id: UUID | str) -> None:
        """Write the recorded calls to ``core.api_calls_log`` (redacted there), then forget them."""
        for kw in self.calls:
            log_api_call(conn, tenant_id=tenant_id, **kw)
        self.calls.clear()

    def cost(self) -> Decimal:
        """Return the sum of the recorded calls' cost estimates (USD; unknown counts 0)."""
        return sum((Decimal(str(c["cost_estimate"] or 0)) for c in self.calls), Decimal(0))


def _record(platform: str, m: DailyMetrics) -> Record:
    return Record(
        platform=platform,
        level=m.level,
        entity_id=m.entity_id,
        day=m.day,
        entity_name=m.name,
        campaign_id=m.campaign_id,
        adset_id=m.adset_id,
        spend=m.spend,
        impressions=m.impressions,
        reach=m.reach,
        clicks=m.clicks,
        conversions=m.conversions,
        conversion_value=m.conversion_value,
        daily_budget=m.daily_budget,
    )


def repull_days(account: Any, settings: dict[str, Any]) -> int:
    """Return the trailing window (days) re-pulled for late conversions (see module doc)."""
    if settings.get("repull_days"):
        days = int(settings["repull_days"])
        if not 1 <= days <= MAX_RANGE_DAYS:
            raise InvalidInput(f"ads.ad_accounts.settings.repull_days: {days} is not 1-{MAX_RANGE_DAYS}")
        return days
    return repull_window(account) or SANDBOX_REPULL_DAYS


def _local_today(conn: Any, tenant_id: UUID | str, now: datetime) -> date:
    row = conn.execute("select time_zone from core.tenants where tenant_id = %s",
                       [tenant_id]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    return now.astimezone(ZoneInfo(row["time_zone"])).date()


def plan_range(*, today: date, last_synced_to: date | None, window_days: int,
               date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Return the inclusive range to pull (pure; see the module doc).

    Raises :class:`InvalidInput` naming ``--from``/``--to`` for a reversed range, a range
    ending after ``today`` or longer than :data:`MAX_RANGE_DAYS`.
    """
    end = date_to or today - timedelta(days=1)
    if date_from is not None:
        start = date_from
    elif last_synced_to is None:
        start = end - timedelta(days=INITIAL_DAYS - 1)
    else:
        start = min(last_synced_to + timedelta(days=1), end - timedelta(days=window_days - 1))
    if start > end:
        raise InvalidInput(f"--from: {start} is after --to {end}")
    if end > today:
        raise InvalidInput(f"--to: {end} is after the account's current day {today}")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"--from/--to: {(end - start).days + 1} days; at most {MAX_RANGE_DAYS}")
    return start, end


def sync_account(
    db: Any,
    *,
    tenant_id: UUID | str,
    platform: str,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
    trigger: str = "cli",
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> SyncResult:
    """Sync one ad account of ``tenant_id`` (see the module doc); return its :class:`SyncResult`.

    ``now`` (UTC, default the clock) fixes the tenant's local date; ``progress`` is called with
    a label after each level and after the load. A platform error is recorded on the run
    (status 'failed') and re-raised; :class:`NotFound` when the tenant has no account on
    ``platform``; :class:`InvalidInput` for a bad range (nothing recorded then).
    """
    now = now or datetime.now(UTC)
    calls = CallBuffer()
    with db.tenant_tx(tenant_id) as conn:
        acc_row = conn.execute(
            "select account_id, connector, settings from ads.ad_accounts "
            "where tenant_id = %s and platform = %s", [tenant_id, platform]).fetchone()
        if acc_row is None:
            raise NotFound(f"tenant {tenant_id} has no ad account on platform {platform!r}")
        today = _local_today(conn, tenant_id, now)
        last = conn.execute(
            "select max(date_to) as d from ads.sync_runs where tenant_id = %s and platform = %s "
            "and status = 'succeeded'", [tenant_id, platform]).fetchone()["d"]
        account = get_platform(conn, tenant_id=tenant_id, platform=platform, api_logger=calls)
        window = repull_days(account, dict(acc_row["settings"] or {}))
        start, end = plan_range(today=today, last_synced_to=last, window_days=window,
                                date_from=date_from, date_to=date_to)
        run_id = conn.execute(
            """insert into ads.sync_runs (tenant_id, platform, account_id, connector, sync_date,
                   trigger, date_from, date_to)
               values (%s, %s, %s, %s, %s, %s, %s, %s) returning run_id""",
            [tenant_id, platform, acc_row["account_id"], acc_row["connector"], today, trigger,
             start, end]).fetchone()["run_id"]
    res = SyncResult(run_id, platform, acc_row["account_id"], start, end)
    if acc_row["connector"] == "google_ads":  # Google's attribution is per conversion action
        res.attribution_settings = [f"click_through_lookback_{window}d"]
    try:
        with db.tenant_tx(tenant_id) as conn:
            _pull_and_load(conn, tenant_id, platform, res, calls, sleep, progress)
        res.status = "succeeded"
    except Exception as exc:
        res.status, res.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        res.api_calls = len(calls.calls)
        cost = calls.cost()
        with db.tenant_tx(tenant_id) as conn:
            calls.flush(conn, tenant_id)
            conn.execute(
                """update ads.sync_runs set status = %s, rows_fetched = %s, rows_inserted = %s,
                       rows_updated = %s, api_calls = %s, retries = %s, waited_s = %s,
                       peak_usage_pct = %s, cost_estimate = %s, attribution_setting = %s,
                       error_message = %s, finished_at = now()
                   where tenant_id = %s and run_id = %s""",
                [res.status, res.rows_fetched, res.rows_inserted, res.rows_updated,
                 res.api_calls, res.retries, round(res.waited_s, 3), res.peak_usage_pct, cost,
                 Jsonb(res.attribution_settings), res.error, tenant_id, res.run_id])
    return res


def _pull_and_load(conn: Any, tenant_id: UUID | str, platform: str, res: SyncResult,
                   calls: CallBuffer, sleep: Callable[[float], None],
                   progress: Progress | None) -> None:
    """Read the three levels and upsert them (inside the caller's tenant transaction)."""
    account = get_platform(conn, tenant_id=tenant_id, platform=platform, api_logger=calls)
    records: list[Record] = []
    state: dict[str, Any] = {}
    attribution: set[str] = set(res.attribution_settings)
    for level in LEVELS:
        batch = read_insights(account, res.date_from, res.date_to, level, sleep=sleep, state=state)
        records += [_record(platform, m) for m in batch.rows]
        res.retries += batch.retries
        res.waited_s += sum(batch.waits)
        attribution.update(batch.attribution_settings)
        if batch.peak_usage_pct is not None:
            res.peak_usage_pct = max(res.peak_usage_pct or 0.0, batch.peak_usage_pct)
        if progress:
            progress(f"{platform} {level}")
    res.rows_fetched = len(records)
    res.attribution_settings = sorted(attribution)
    loaded = load_records(
        conn, tenant_id=tenant_id, fmt=f"sync_{platform}", records=records,
        source_name=f"sync {platform} {res.account_id} {res.date_from}..{res.date_to}")
    res.rows_zeroed = zero_unreported(conn, tenant_id=tenant_id, platform=platform,
                                      date_from=res.date_from, date_to=res.date_to,
                                      records=records, batch_id=loaded.batch_id)
    res.rows_inserted = loaded.rows_inserted
    res.rows_updated = loaded.rows_updated + res.rows_zeroed
    conn.execute("update ads.sync_runs set import_batch_id = %s where tenant_id = %s and run_id = %s",
                 [loaded.batch_id, tenant_id, res.run_id])
    if progress:
        progress(f"{platform} load")


def reported_keys(records: list[Record]) -> set[tuple[str, str, date]]:
    """The ``(level, entity_id, day)`` rows a sync's ``records`` account for: each record, and
    the parent ad set and campaign of each ad or ad set record (the importer rolls a parent up
    from its children when the platform did not give it)."""
    keys = {(r.level, r.entity_id, r.day) for r in records}
    keys |= {("adset", r.adset_id, r.day) for r in records if r.level == "ad" and r.adset_id}
    keys |= {("campaign", r.campaign_id, r.day) for r in records
             if r.level in ("ad", "adset") and r.campaign_id}
    return keys


def zero_unreported(conn: Any, *, tenant_id: UUID | str, platform: str, date_from: date,
                    date_to: date, records: list[Record], batch_id: int | None) -> int:
    """Set to zero the rows of ``platform`` in ``[date_from, date_to]`` (inclusive, the account's
    reporting dates) that a sync loaded before (their ``import_batch_id`` is a batch of format
    ``sync_<platform>``) and that ``records`` no longer account for (:func:`reported_keys`);
    return how many changed.

    Spend, impressions, clicks, the conversion counts and value become 0 (reach and the video
    and engagement counts 0 where they were reported, NULL stays NULL), ``custom_metrics`` empty;
    the row is kept (the history trigger of migration 0100 keeps the version replaced) and
    stamped with ``batch_id``. Only within a level and day for which ``records`` hold at least
    one row: a level-day the platform answered empty for is more likely a gap in its answer
    than every entity refunded, and is left as it was. One statement; rows already zero are not
    rewritten; rows from a file import (another format) are never touched, so a platform whose
    history was imported from CSV keeps it.
    """
    keys = reported_keys(records)
    cur = conn.execute(
        """with got(level, entity_id, day) as (
             select * from unnest(%(lv)s::text[], %(ids)s::text[], %(days)s::date[]))
           update ads.metrics_daily m
              set spend = 0, impressions = 0, clicks = 0, leads = 0, applications = 0,
                  bookings = 0, conversions = 0, conversion_value = 0,
                  reach = case when m.reach is not null then 0 end,
                  video_3s_views = case when m.video_3s_views is not null then 0 end,
                  video_thruplays = case when m.video_thruplays is not null then 0 end,
                  post_engagements = case when m.post_engagements is not null then 0 end,
                  custom_metrics = '{}', import_batch_id = %(batch)s, updated_at = now()
            where m.tenant_id = %(t)s and m.platform = %(p)s
              and m.day between %(from)s and %(to)s
              and m.import_batch_id in (select b.batch_id from ads.import_batches b
                                        where b.tenant_id = %(t)s and b.format = %(fmt)s)
              and not exists (select 1 from got g where g.level = m.level
                              and g.entity_id = m.entity_id and g.day = m.day)
              and exists (select 1 from got g where g.level = m.level and g.day = m.day)
              and (m.spend, m.impressions, m.clicks, m.leads, m.applications, m.bookings,
                   m.conversions, m.conversion_value)
                  is distinct from (0, 0, 0, 0, 0, 0, 0, 0)""",
        {"lv": [k[0] for k in keys], "ids": [k[1] for k in keys], "days": [k[2] for k in keys],
         "batch": batch_id, "t": tenant_id, "p": platform, "from": date_from, "to": date_to,
         "fmt": f"sync_{platform}"})
    return cur.rowcount


def accounts_of(db: Any, tenant_id: UUID | str) -> list[str]:
    """Return the platforms on which ``tenant_id`` has an ad account (``ads.ad_accounts``)."""
    with db.tenant_tx(tenant_id) as conn:
        rows = conn.execute("select platform from ads.ad_accounts where tenant_id = %s "
                            "order by platform", [tenant_id]).fetchall()
    return [r["platform"] for r in rows]
