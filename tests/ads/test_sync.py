"""The live sync (growthops.ads.sync) against the local Graph API and Google Ads gRPC servers.

Paging, asynchronous report runs, usage headers and rate-limit back-off, restated days with
their history, the call log with cost estimates, failures recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from growthops.ads.sync.run import INITIAL_DAYS, plan_range, sync_account
from growthops.connectors.base import PlatformError
from growthops.connectors.meta.insights import Throttle, read_usage
from growthops.connectors.registry import register_account
from growthops.core import secrets
from growthops.core.errors import InvalidInput
from tests.conftest import new_tenant
from tests.connectors.graph_sync_server import ADS, ADSETS, CAMPAIGNS, InsightsGraphServer

TOKEN = "EAAsyncTOKENneverLogged987"
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
#: 2026-12-01 08:00 in Paris: the local date is Dec 1, the last complete day Nov 30.
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
PER_DAY = len(ADS) + len(ADSETS) + len(CAMPAIGNS)


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secrets.ENV_VAR, secrets.generate_key())


@pytest.fixture()
def graph() -> Iterator[InsightsGraphServer]:
    with InsightsGraphServer(TOKEN, FIRST, LAST) as server:
        yield server


def meta_tenant(db, graph: InsightsGraphServer):
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(conn, tenant_id=tenant.tenant_id, platform="meta", connector="meta",
                         account_id="1234567890", credentials={"access_token": TOKEN},
                         settings={"base_url": graph.url})
    return tenant


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def rows(db, tenant, sql: str, params=()) -> list[dict]:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


def test_plan_range_repull_window_first_sync_and_bad_ranges() -> None:
    today = date(2026, 12, 1)
    # First sync: INITIAL_DAYS back from yesterday.
    assert plan_range(today=today, last_synced_to=None, window_days=28, date_from=None,
                      date_to=None) == (today - timedelta(days=INITIAL_DAYS), date(2026, 11, 30))
    # Synced yesterday: the trailing 28-day window is pulled again.
    assert plan_range(today=today, last_synced_to=date(2026, 11, 29), window_days=28,
                      date_from=None, date_to=None) == (date(2026, 11, 3), date(2026, 11, 30))
    # A gap longer than the window: from the day after the last sync.
    assert plan_range(today=today, last_synced_to=date(2026, 9, 30), window_days=28,
                      date_from=None, date_to=None)[0] == date(2026, 10, 1)
    with pytest.raises(InvalidInput, match="--from"):
        plan_range(today=today, last_synced_to=None, window_days=7,
                   date_from=date(2026, 11, 20), date_to=date(2026, 11, 10))
    with pytest.raises(InvalidInput, match="--to"):
        plan_range(today=today, last_synced_to=None, window_days=7, date_from=None,
                   date_to=date(2026, 12, 2))


def test_usage_headers_slow_down_then_stop() -> None:
    usage = read_usage({
        "x-business-use-case-usage": '{"123": [{"type": "ads_insights", "call_count": 12, '
                                     '"total_cputime": 81, "total_time": 40, '
                                     '"estimated_time_to_regain_access": 2}]}',
        "x-ad-account-usage": '{"acc_id_util_pct": 9.5, "reset_time_duration": 30}',
        "x-fb-ads-insights-throttle": "not json",
    })
    assert usage.pct == 81 and usage.regain_s == 120
    sleeps = Sleeps()
    t = Throttle(sleep=sleeps)
    t.observe({"x-app-usage": '{"call_count": 50}'})
    assert sleeps == []  # below 75 %: no pause
    t.observe({"x-fb-ads-insights-throttle": '{"app_id_util_pct": 85, "acc_id_util_pct": 3}'})
    assert sleeps == [15.0]  # halfway from 75 to 95 %: half of 30 s
    t.observe({"x-ad-account-usage": '{"acc_id_util_pct": 99, "reset_time_duration": 200}'})
    assert sleeps[-1] == 200 and t.peak_pct == 99
    assert t.backoff_s(1) == 200  # the announced regain time wins over exponential back-off


def test_meta_sync_pages_levels_logs_calls_and_attribution(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph)
    res = sync_account(db, tenant_id=tenant.tenant_id, platform="meta",
                       date_from=date(2026, 11, 28), date_to=LAST, now=NOW, sleep=Sleeps())
    assert res.status == "succeeded" and res.rows_fetched == 3 * PER_DAY
    assert res.rows_inserted == 3 * PER_DAY and res.rows_updated == 0
    got = rows(db, tenant, "select level, count(*) n, sum(conversions) c from ads.metrics_daily "
                           "group by level order by level")
    assert {r["level"]: r["n"] for r in got} == {"ad": 6, "adset": 9, "campaign": 6}
    ad = rows(db, tenant, "select * from ads.metrics_daily where level = 'ad' and entity_id = %s "
                          "and day = %s", ["120210000000001002", date(2026, 11, 29)])[0]
    assert ad["conversions"] == 2 and ad["adset_id"] == "120210000000000101"
    assert ad["campaign_id"] == "120210000000000001" and ad["entity_name"] == "Static B"
    # Three days ≤ 7: synchronous reads, paged by 2 rows (the SDK followed the cursors).
    insights = [r for r in graph.requests if r["path"].endswith("/insights")]
    assert all(r["method"] == "GET" for r in insights)
    assert sum(1 for r in insights if r["query"].get("after")) >= 6
    assert all(r["query"]["use_unified_attribution_setting"] == "true" for r in insights)
    run = rows(db, tenant, "select * from ads.sync_runs")[0]
    assert run["status"] == "succeeded" and run["attribution_setting"] == ["7d_click_1d_view"]
    assert run["api_calls"] == len(graph.requests) and run["cost_estimate"] == 0
    logged = rows(db, tenant, "select endpoint, cost_estimate, request_payload::text p "
                              "from core.api_calls_log")
    assert len(logged) == len(graph.requests)
    assert all(r["cost_estimate"] == 0 for r in logged)
    assert not any(TOKEN in (r["endpoint"] or "") + r["p"] for r in logged)
    # The same sync again changes nothing (the importer's idempotent upsert).
    again = sync_account(db, tenant_id=tenant.tenant_id, platform="meta",
                         date_from=date(2026, 11, 28), date_to=LAST, now=NOW, sleep=Sleeps())
    assert (again.rows_inserted, again.rows_updated) == (0, 0)


def test_meta_async_report_run_usage_throttle_and_rate_limit_backoff(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph)
    graph.usage = {"x-fb-ads-insights-throttle": {"app_id_util_pct": 80, "acc_id_util_pct": 12}}
    graph.fail_next("GET", "/insights", 400, "graph_error_rate_limit")  # code 17, first page
    sleeps = Sleeps()
    res = sync_account(db, tenant_id=tenant.tenant_id, platform="meta",
                       date_from=date(2026, 11, 21), date_to=LAST, now=NOW, sleep=sleeps)
    assert res.rows_fetched == 10 * PER_DAY and res.retries == 1
    posts = [r for r in graph.requests if r["method"] == "POST"]
    assert len(posts) == 3 and all(p["path"].endswith(f"/{'act_1234567890'}/insights") for p in posts)
    assert len(graph.runs) == 3 and all(r["polls"] == 2 for r in graph.runs.values())
    # Waits: 7.5 s after every call at 80 % usage, 2 s between polls, 5 s back-off after code 17.
    assert 5.0 in sleeps and 2.0 in sleeps and sleeps.count(7.5) >= len(graph.requests) - 1
    run = rows(db, tenant, "select * from ads.sync_runs")[0]
    assert run["retries"] == 1 and float(run["peak_usage_pct"]) == 80
    assert float(run["waited_s"]) == pytest.approx(sum(sleeps))
    failed = rows(db, tenant, "select status_code, error_message from core.api_calls_log "
                              "where not success")
    assert [f["status_code"] for f in failed] == [400] and "limit" in failed[0]["error_message"]


def test_restated_day_updates_the_row_and_keeps_what_was_known(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph)
    kw = dict(tenant_id=tenant.tenant_id, platform="meta", now=NOW, sleep=Sleeps())
    sync_account(db, date_from=date(2026, 11, 25), date_to=LAST, **kw)
    with db.tenant_tx(tenant.tenant_id) as conn:
        first_known = conn.execute("select now() t").fetchone()["t"]
    ad, day = "120210000000001001", date(2026, 11, 27)
    graph.data[("ad", ad, day)]["actions"][1]["value"] = "4"  # 1 → 4 late conversions
    graph.data[("ad", ad, day)]["action_values"][0]["value"] = "160.00"
    res = sync_account(db, date_from=date(2026, 11, 25), date_to=LAST, **kw)
    assert (res.rows_inserted, res.rows_updated) == (0, 1)
    now_row = rows(db, tenant, "select conversions, conversion_value from ads.metrics_daily "
                               "where entity_id = %s and day = %s", [ad, day])[0]
    assert now_row["conversions"] == 4 and now_row["conversion_value"] == Decimal("160")
    hist = rows(db, tenant, "select conversions, known_from < known_until ok "
                            "from ads.metrics_daily_history")
    assert hist == [{"conversions": 1, "ok": True}]
    # Replaying: at the first sync's instant the day had 1 conversion, now it has 4.
    known = rows(db, tenant, "select conversions from ads.metrics_as_known(%s) "
                             "where entity_id = %s and day = %s", [first_known, ad, day])
    assert [k["conversions"] for k in known] == [1]
    known_now = rows(db, tenant, "select count(*) n, sum(conversions) c from "
                                 "ads.metrics_as_known(now()) where entity_id = %s", [ad])[0]
    assert known_now["n"] == 6 and known_now["c"] == 6 + 3


def test_an_entity_day_the_platform_stops_reporting_is_zeroed_not_kept(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph)
    kw = dict(tenant_id=tenant.tenant_id, platform="meta", now=NOW, sleep=Sleeps())
    sync_account(db, date_from=date(2026, 11, 25), date_to=LAST, **kw)
    ad, day = "120210000000001001", date(2026, 11, 27)
    before = rows(db, tenant, "select spend, impressions, conversions from ads.metrics_daily "
                              "where entity_id = %s and day = %s", [ad, day])[0]
    assert before["spend"] > 0
    # a file import of the same platform, a day and an entity the API never reports: kept
    from growthops.ads.metrics.formats import Record
    from growthops.ads.metrics.importer import load_records

    with db.tenant_tx(tenant.tenant_id) as conn:
        load_records(conn, tenant_id=tenant.tenant_id, fmt="generic", source_name="old.csv",
                     records=[Record(platform="meta", level="campaign", entity_id="csv-1",
                                     day=day, spend=Decimal("12.5"), impressions=100)])
    others = rows(db, tenant, "select entity_id, day, spend from ads.metrics_daily "
                              "where not (entity_id = %s and day = %s) order by 1, 2", [ad, day])
    del graph.data[("ad", ad, day)]  # the day's delivery refunded: Meta omits the row
    res = sync_account(db, date_from=date(2026, 11, 25), date_to=LAST, **kw)
    assert (res.rows_zeroed, res.rows_updated) == (1, 1)
    after = rows(db, tenant, "select spend, impressions, conversions from ads.metrics_daily "
                             "where entity_id = %s and day = %s", [ad, day])[0]
    assert after == {"spend": 0, "impressions": 0, "conversions": 0}
    assert rows(db, tenant, "select entity_id, day, spend from ads.metrics_daily where not "
                            "(entity_id = %s and day = %s) order by 1, 2", [ad, day]) == others
    hist = rows(db, tenant, "select spend from ads.metrics_daily_history where entity_id = %s",
                [ad])
    assert [h["spend"] for h in hist] == [before["spend"]]  # what was known is kept
    # a level-day the platform answers empty for is a gap in its answer, not a refund: kept
    empty_day = date(2026, 11, 29)
    for key in [k for k in graph.data if k[0] == "ad" and k[2] == empty_day]:
        del graph.data[key]
    res = sync_account(db, date_from=date(2026, 11, 28), date_to=LAST, **kw)
    assert res.rows_zeroed == 0  # (and the range 28-30 leaves day 27 alone)
    assert rows(db, tenant, "select count(*) n from ads.metrics_daily where level = 'ad' "
                            "and day = %s and spend > 0", [empty_day])[0]["n"] > 0
    res = sync_account(db, date_from=date(2026, 11, 25), date_to=LAST, **kw)
    assert (res.rows_zeroed, res.rows_updated) == (0, 0)


def test_failed_sync_is_recorded_with_its_calls_and_loads_nothing(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph)
    graph.fail_next("GET", "/insights", 400, "graph_error_budget_too_low")  # not retryable
    with pytest.raises(PlatformError):
        sync_account(db, tenant_id=tenant.tenant_id, platform="meta", date_from=LAST,
                     date_to=LAST, now=NOW, sleep=Sleeps())
    run = rows(db, tenant, "select status, error_message, api_calls from ads.sync_runs")[0]
    assert run["status"] == "failed" and "PlatformError" in run["error_message"]
    assert run["api_calls"] == 1
    assert rows(db, tenant, "select count(*) n from core.api_calls_log")[0]["n"] == 1
    assert rows(db, tenant, "select count(*) n from ads.metrics_daily")[0]["n"] == 0


# ----------------------------------------------------------------------------- Google Ads
@pytest.fixture()
def gads(monkeypatch: pytest.MonkeyPatch):
    import grpc
    from google.api_core import grpc_helpers

    from tests.connectors.ads_stream_server import StreamAdsServer

    with StreamAdsServer(FIRST, LAST, lookback_days=[7, 14]) as server:
        monkeypatch.setattr(grpc_helpers, "create_channel",
                            lambda *a, **kw: grpc.insecure_channel(server.target))
        yield server


def test_google_sync_streams_gaql_repulls_the_conversion_window_and_retries(
        db, keys, gads) -> None:
    import grpc

    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(conn, tenant_id=tenant.tenant_id, platform="google",
                         connector="google_ads", account_id="123-456-7890",
                         credentials={"developer_token": "devTOKEN-x", "access_token": "ya29.t"})
    first = sync_account(db, tenant_id=tenant.tenant_id, platform="google", now=NOW,
                         sleep=Sleeps())
    # First sync: 90 days back; the server has November only (2 campaigns, 1 ad group, 1 ad).
    assert first.date_from == LAST - timedelta(days=INITIAL_DAYS - 1)
    assert first.rows_inserted == 30 * 4
    streams = gads.calls_to("SearchStream")
    assert len(streams) == 3 and "FROM ad_group_ad" in streams[2].query
    assert "segments.date BETWEEN" in streams[0].query
    cam = rows(db, tenant, "select spend, conversions, conversion_value from ads.metrics_daily "
                           "where entity_id = '20001' and day = %s", [FIRST])[0]
    assert cam["spend"] == Decimal("40.123456") and cam["conversions"] == 6  # 5.5 half up
    # Next day: the re-pull window is the longest conversion window (14 days), a restated
    # day is updated, and a quota error is retried after a back-off.
    gads.daily[("campaign", "20001", date(2026, 11, 20))]["conversions"] = 9.0
    gads.fail_next("SearchStream", grpc.StatusCode.RESOURCE_EXHAUSTED, "quota_error",
                   "RESOURCE_EXHAUSTED")
    sleeps = Sleeps()
    second = sync_account(db, tenant_id=tenant.tenant_id, platform="google",
                          now=NOW + timedelta(days=1), sleep=sleeps)
    assert second.date_from == date(2026, 11, 18) and second.date_to == date(2026, 12, 1)
    assert second.attribution_settings == ["click_through_lookback_14d"]
    assert (second.rows_inserted, second.rows_updated) == (0, 1)
    assert second.retries == 1 and sleeps == [5.0]
    assert rows(db, tenant, "select conversions from ads.metrics_daily_history")[0] == {
        "conversions": 6}
    logged = rows(db, tenant, "select endpoint, success, cost_estimate from core.api_calls_log "
                              "order by id")
    assert [r["endpoint"] for r in logged].count("GoogleAdsService/SearchStream") == 7
    assert [r["success"] for r in logged].count(False) == 1
    assert all(r["cost_estimate"] == 0 for r in logged)


def test_sandbox_sync_goes_through_the_same_path(db) -> None:
    from growthops.connectors.sandbox import create_sandbox_account

    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        create_sandbox_account(conn, tenant_id=tenant.tenant_id, seed=3,
                               start=date(2026, 11, 21), days_history=10)
    res = sync_account(db, tenant_id=tenant.tenant_id, platform="meta", now=NOW,
                       trigger="demo")
    # The sandbox reads its own rows: the upsert finds them unchanged.
    assert res.status == "succeeded" and res.rows_fetched > 0
    assert (res.rows_inserted, res.rows_updated) == (0, 0)
    assert res.date_from == LAST - timedelta(days=INITIAL_DAYS - 1)


def test_cli_sync_prints_a_table_and_names_a_bad_date(db, keys, graph) -> None:
    from typer.testing import CliRunner

    from growthops.cli import app

    tenant = meta_tenant(db, graph)
    runner = CliRunner()
    out = runner.invoke(app, ["sync", "--tenant", tenant.client_key, "--from", "2026-11-29",
                              "--to", "2026-11-30"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "meta" in out.output and "2026-11-29" in out.output and "succeeded" in out.output
    assert rows(db, tenant, "select count(*) n from ads.metrics_daily")[0]["n"] == 2 * PER_DAY
    bad = runner.invoke(app, ["sync", "--tenant", tenant.client_key, "--from", "29/11/2026"])
    assert isinstance(bad.exception, InvalidInput) and "--from" in str(bad.exception)


# ------------------------------------------------------------------------------- schedule
def test_due_syncs_at_0700_local_once_a_day_with_bounded_retries() -> None:
    from growthops.ads.sync.jobs import MAX_ATTEMPTS_PER_DAY, due_syncs

    day = date(2026, 12, 1)
    paris = {"tenant_id": "p", "platform": "meta", "time_zone": "Europe/Paris",
             "sync_date": day, "ok": 0, "failed": 0}
    tokyo = {**paris, "tenant_id": "t", "time_zone": "Asia/Tokyo"}
    # 05:59 UTC = 06:59 Paris (not yet), 14:59 Tokyo (due, its own date).
    at = datetime(2026, 12, 1, 5, 59, tzinfo=UTC)
    assert [d.tenant_id for d in due_syncs([paris, tokyo], at)] == ["t"]
    at7 = at + timedelta(minutes=1)
    assert {d.tenant_id for d in due_syncs([paris, tokyo], at7)} == {"p", "t"}
    assert due_syncs([{**paris, "ok": 1}], at7) == []
    assert due_syncs([{**paris, "failed": MAX_ATTEMPTS_PER_DAY}], at7) == []
    # Counts of another date do not hold back today's sync.
    assert len(due_syncs([{**paris, "ok": 1, "sync_date": day - timedelta(days=1)}], at7)) == 1
    assert due_syncs([{**paris, "time_zone": "Mars/Olympus"}], at7) == []


def test_worker_syncs_each_account_from_the_scheduler_tick(fresh_db) -> None:
    from growthops.ads.sync.jobs import TASK_SYNC_SCHEDULER, schedule_syncs_at
    from growthops.connectors.sandbox import create_sandbox_account
    from growthops.worker import build_app, run_worker

    paris = new_tenant(fresh_db)
    new_tenant(fresh_db)  # no ad account: nothing to sync
    with fresh_db.tenant_tx(paris.tenant_id) as conn:
        create_sandbox_account(conn, tenant_id=paris.tenant_id, seed=5,
                               start=date(2026, 11, 25), days_history=6)
    tick = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        app.configure_task(TASK_SYNC_SCHEDULER).defer(timestamp=int(tick.timestamp()))
    run_worker(fresh_db, concurrency=1, once=True)
    runs = rows(fresh_db, paris, "select trigger, status, sync_date, date_to from ads.sync_runs")
    assert runs == [{"trigger": "schedule", "status": "succeeded", "sync_date": date(2026, 12, 1),
                     "date_to": date(2026, 11, 30)}]
    # The next tick finds today's sync done: nothing queued.
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        assert schedule_syncs_at(fresh_db, app, tick + timedelta(minutes=15)) == []
