"""Intraday pacing (growthops.ads.sync.intraday) against the local Graph API and gRPC servers.

Hourly rows paged and stored, a projection over budget flagged exactly once, a day on pace not
flagged, the month against monthly_budget_max, the account's time zone, row-level security.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from growthops.ads.sync.intraday import (
    MIN_EXPECTED_SHARE,
    expected_share,
    pacing_today,
    plan_hours,
    project_day,
    run_intraday,
    sync_hourly,
    tolerance_of,
)
from growthops.connectors.registry import register_account
from growthops.core import secrets
from growthops.core.errors import InvalidInput
from tests.conftest import new_tenant
from tests.connectors.graph_sync_server import (
    ADSETS,
    CAMPAIGNS,
    HOURLY_WEIGHTS,
    InsightsGraphServer,
)

TOKEN = "EAAintradayTOKENneverLogged42"
TODAY = date(2026, 12, 1)
FIRST = TODAY - timedelta(days=15)
#: 14:30 in Paris on Dec 1.
NOW = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
FAST = "120210000000000101"  # ad set, daily budget 50.00 (fixtures/meta/graph_adsets.json)
STEADY = "120210000000000102"  # ad set, daily budget 30.00


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secrets.ENV_VAR, secrets.generate_key())


@pytest.fixture()
def graph() -> Iterator[InsightsGraphServer]:
    with InsightsGraphServer(TOKEN, FIRST, TODAY, page_size=50) as server:
        yield server


def meta_tenant(db, graph: InsightsGraphServer, *, settings: dict | None = None, **fields):
    tenant = new_tenant(db, **fields)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="meta",
            connector="meta",
            account_id="1234567890",
            credentials={"access_token": TOKEN},
            settings={"base_url": graph.url, **(settings or {})},
        )
    return tenant


def rows(db, tenant, sql: str, params=()) -> list[dict]:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


def test_expected_share_linear_profile_and_the_early_hours_guard() -> None:
    assert expected_share(None, 6) == pytest.approx(0.25)
    profile = [float(w) for w in HOURLY_WEIGHTS]  # 54 in all; hours 0-6 weigh 1, 7-21 weigh 3
    assert expected_share(profile, 7) == pytest.approx(7 / 54)
    assert expected_share(profile, 14.5) == pytest.approx((7 + 3 * 7 + 1.5) / 54)
    assert expected_share(profile, 24) == pytest.approx(1.0)
    # A short history: linear, whatever the profile.
    short = project_day(45, 50, 0.25, 14.5, profile, history_days=3)
    assert short.method == "linear" and short.share == pytest.approx(14.5 / 24)
    assert short.projected == pytest.approx(45 / (14.5 / 24)) and short.over  # 74.5 > 62.5
    own = project_day(45, 50, 0.25, 14.5, profile, history_days=14)
    assert own.method == "profile" and own.projected == pytest.approx(45 / (29.5 / 54))
    # 01:00 at an even pace: 5 spent projects 120 > 62.5, but the share is under the guard.
    early = project_day(5, 50, 0.25, 1, None, 0)
    assert early.share < MIN_EXPECTED_SHARE and not early.over
    assert project_day(63, 50, 0.25, 1, None, 0).over  # already past the cap: flagged at once
    assert plan_hours(TODAY, None) == TODAY - timedelta(days=14)
    assert plan_hours(TODAY, TODAY) == TODAY - timedelta(days=1)
    assert plan_hours(TODAY, TODAY - timedelta(days=4)) == TODAY - timedelta(days=4)  # a gap
    assert plan_hours(TODAY, TODAY - timedelta(days=40)) == TODAY - timedelta(days=14)
    assert tolerance_of("meta", {}) == 0.25 and tolerance_of("google", {}) == 1.0
    assert tolerance_of("meta", {"overspend_tolerance": "0.1"}) == 0.1
    with pytest.raises(InvalidInput, match="overspend_tolerance"):
        tolerance_of("meta", {"overspend_tolerance": 42})


def test_meta_hours_paged_stored_over_budget_flagged_once(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph, monthly_budget_max=Decimal("100"))
    with db.tenant_tx(tenant.tenant_id) as conn:  # an hour past the retention: deleted
        conn.execute(
            "insert into ads.spend_hourly (tenant_id, platform, level, entity_id, day, hour, spend)"
            " values (%s, 'meta', 'adset', 'gone', %s, 3, 1)",
            [tenant.tenant_id, TODAY - timedelta(days=63)],
        )
    # The fast ad set spends 3.00 an hour today: 45.00 by 14:30 (under its 62.50 cap), but its
    # own profile expects 29.5/54 of the day by then, so the day projects to 82.37.
    graph.hourly[("adset", FAST, TODAY)] = [3.0] * 24
    res = run_intraday(db, tenant_id=tenant.tenant_id, now=NOW, sleep=Sleeps())
    sync = res.syncs[0]
    assert sync.error is None and sync.date_from == TODAY - timedelta(days=14)
    # 14 days x 24 hours + today's hours 0-14, for 2 campaigns and 3 ad sets.
    per_hour = len(CAMPAIGNS) + len(ADSETS)
    assert sync.rows_inserted == per_hour * (14 * 24 + 15) == sync.rows_fetched
    stored = rows(
        db,
        tenant,
        "select count(*) n, max(hour) filter (where day = %s) h from ads.spend_hourly",
        [TODAY],
    )[0]
    assert stored == {"n": per_hour * (14 * 24 + 15), "h": 14}  # "gone" is gone
    # 15 days > 7: asynchronous report runs with the hourly breakdown, read page after page.
    posts = [r for r in graph.requests if r["method"] == "POST"]
    assert len(posts) == 2 and all(
        "hourly_stats_aggregated_by_advertiser_time_zone" in p["form"]["breakdowns"] for p in posts
    )
    assert sum(1 for r in graph.requests if r["query"].get("after")) >= 30
    budgets = rows(
        db,
        tenant,
        "select entity_id, daily_budget from ads.spend_hourly "
        "where day = %s and hour = 0 and daily_budget is not null "
        "order by entity_id",
        [TODAY],
    )
    assert {b["entity_id"]: b["daily_budget"] for b in budgets} == {
        "120210000000000002": Decimal("200.00"),
        FAST: Decimal("50.00"),
        STEADY: Decimal("30.00"),
    }
    by_id = {c.entity_id: c for c in res.checks}
    fast = by_id[FAST]
    assert fast.method == "profile" and fast.history_days == 14
    assert fast.spend_so_far == pytest.approx(45.0)
    assert fast.projected == pytest.approx(45 / (29.5 / 54), rel=1e-3)  # cents of the split
    assert fast.over and fast.newly_flagged
    steady = by_id[STEADY]  # on its usual curve: about its usual 31-33 a day, cap 37.50
    assert not steady.over and not steady.flagged and 30 < steady.projected < 34
    assert not by_id["120210000000000002"].over  # the CBO campaign: about 72 of 200
    assert "120210000000000001" not in by_id  # no budget: not checked
    # The month: nothing before today, today's campaigns project above the 100.00 limit.
    month = by_id["*"]
    assert month.scope == "month" and month.over and month.newly_flagged
    warnings = rows(db, tenant, "select message from core.system_logs where level = 'WARNING'")
    assert len(warnings) == 2 and any(FAST in w["message"] for w in warnings)

    # An hour later: still over, not flagged again; on pace stays unflagged.
    later = run_intraday(
        db, tenant_id=tenant.tenant_id, now=NOW + timedelta(hours=1), sleep=Sleeps()
    )
    assert later.syncs[0].date_from == TODAY - timedelta(days=1)
    again = {c.entity_id: c for c in later.checks}
    assert again[FAST].over and again[FAST].flagged and not again[FAST].newly_flagged
    assert later.newly_flagged == []
    checks = rows(
        db,
        tenant,
        "select entity_id, flagged_at, checked_at from ads.pacing_checks "
        "where scope = 'day' order by entity_id",
    )
    assert len(checks) == 3
    flagged = [c for c in checks if c["flagged_at"] is not None]
    assert [c["entity_id"] for c in flagged] == [FAST]
    assert flagged[0]["flagged_at"] == NOW and flagged[0]["checked_at"] == NOW + timedelta(hours=1)
    assert len(rows(db, tenant, "select 1 from core.system_logs where level = 'WARNING'")) == 2
    # The same instant again changes nothing either (an idempotent re-run).
    run_intraday(db, tenant_id=tenant.tenant_id, now=NOW + timedelta(hours=1), sleep=Sleeps())
    assert len(rows(db, tenant, "select 1 from ads.pacing_checks")) == 4


def test_account_time_zone_decides_the_day_and_the_hours(db, keys, graph) -> None:
    # 02:30 UTC: Dec 1 03:30 in Paris (the tenant), Nov 30 21:30 in New York (the account).
    tenant = meta_tenant(db, graph, settings={"time_zone": "America/New_York"})
    now = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    res = sync_hourly(db, tenant_id=tenant.tenant_id, platform="meta", now=now, sleep=Sleeps())
    assert res.day == date(2026, 11, 30) and res.local_hour == 21
    got = rows(
        db,
        tenant,
        "select max(day) d, max(hour) filter (where day = %s) h from ads.spend_hourly",
        [date(2026, 11, 30)],
    )[0]
    assert got == {"d": date(2026, 11, 30), "h": 21}
    out = run_intraday(db, tenant_id=tenant.tenant_id, now=now, sleep=Sleeps())
    assert {c.period_start for c in out.checks} == {date(2026, 11, 30)}
    assert all(c.elapsed_hours == 21.5 for c in out.checks)
    bad = meta_tenant(db, graph, settings={"time_zone": "Mars/Olympus"})
    with pytest.raises(InvalidInput, match="settings.time_zone"):
        sync_hourly(db, tenant_id=bad.tenant_id, platform="meta", now=now, sleep=Sleeps())


def test_hourly_rows_and_checks_are_tenant_isolated(db, keys, graph) -> None:
    a = meta_tenant(db, graph)
    b = new_tenant(db)
    graph.hourly[("adset", FAST, TODAY)] = [3.0] * 24
    run_intraday(db, tenant_id=a.tenant_id, now=NOW, sleep=Sleeps())
    assert rows(db, a, "select count(*) n from ads.pacing_checks")[0]["n"] == 3
    assert rows(db, b, "select count(*) n from ads.spend_hourly")[0]["n"] == 0
    assert rows(db, b, "select count(*) n from ads.pacing_checks")[0]["n"] == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(b.tenant_id) as conn:
        conn.execute(
            "insert into ads.spend_hourly (tenant_id, platform, level, entity_id, day, "
            "hour, spend) values (%s, 'meta', 'adset', 'x', %s, 1, 1)",
            [a.tenant_id, TODAY],
        )
    # b's run sees none of a's hours: nothing to check.
    assert run_intraday(db, tenant_id=b.tenant_id, now=NOW).checks == []


# ----------------------------------------------------------------------------- Google Ads
@pytest.fixture()
def gads(monkeypatch: pytest.MonkeyPatch):
    import grpc
    from google.api_core import grpc_helpers

    from tests.connectors.ads_stream_server import StreamAdsServer

    with StreamAdsServer(FIRST, TODAY, lookback_days=[7]) as server:
        monkeypatch.setattr(
            grpc_helpers, "create_channel", lambda *a, **kw: grpc.insecure_channel(server.target)
        )
        yield server


def test_google_hours_by_segments_hour_and_campaign_budgets(db, keys, gads) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="google",
            connector="google_ads",
            account_id="123-456-7890",
            credentials={"developer_token": "devTOKEN-x", "access_token": "ya29.t"},
        )
    # Brand (budget 50.00, Google's allowance 100 %): 120.00 spent by 14:00, over 2 x 50.
    gads.hourly[("campaign", "20001", TODAY)] = [8_000_000] * 24
    res = run_intraday(db, tenant_id=tenant.tenant_id, now=NOW, sleep=Sleeps())
    assert res.syncs[0].error is None
    queries = [c.query for c in gads.calls_to("SearchStream")]
    assert len(queries) == 2 and all("segments.hour" in q for q in queries)
    day = rows(
        db,
        tenant,
        "select level, entity_id, count(*) n, sum(spend) s from ads.spend_hourly "
        "where day = %s group by 1, 2 order by 1, 2",
        [TODAY],
    )
    assert [(d["level"], d["entity_id"], d["n"]) for d in day] == [
        ("adset", "40001", 15),
        ("campaign", "20001", 15),
        ("campaign", "20002", 15),
    ]
    assert day[1]["s"] == Decimal("120")
    by_id = {c.entity_id: c for c in res.checks}
    assert by_id["20001"].over and by_id["20001"].tolerance == 1.0
    assert by_id["20001"].budget == 50.0 and by_id["20001"].newly_flagged
    assert not by_id["20002"].over and by_id["20002"].budget == 120.0
    assert "40001" not in by_id  # ad groups carry no budget


def test_sandbox_hours_add_up_to_its_days(db) -> None:
    from growthops.connectors.sandbox import create_sandbox_account

    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = create_sandbox_account(
            conn,
            tenant_id=tenant.tenant_id,
            seed=4,
            start=TODAY - timedelta(days=10),
            days_history=11,
        )
        hours = acc.hourly_spend(TODAY - timedelta(days=3), TODAY, "adset")
        daily = conn.execute(
            "select entity_id, day, spend from ads.metrics_daily where level = "
            "'adset' and day between %s and %s",
            [TODAY - timedelta(days=3), TODAY],
        ).fetchall()
    sums: dict = {}
    for h in hours:
        sums[(h.entity_id, h.day)] = sums.get((h.entity_id, h.day), 0) + h.spend
    assert sums and sums == {
        (d["entity_id"], d["day"]): d["spend"] for d in daily if d["spend"] > 0
    }
    res = run_intraday(db, tenant_id=tenant.tenant_id, now=NOW)
    assert res.syncs[0].error is None and res.syncs[0].rows_inserted > 0
    today = rows(db, tenant, "select max(hour) h from ads.spend_hourly where day = %s", [TODAY])
    assert today[0]["h"] == 14  # the simulated day's later hours are not known yet
    assert res.checks and all(c.method == "profile" for c in res.checks if c.scope == "day")


def test_cli_intraday_prints_the_table_in_french(db, keys, graph) -> None:
    from typer.testing import CliRunner

    from growthops.cli import app

    tenant = meta_tenant(db, graph)
    graph.hourly[("adset", FAST, TODAY)] = [3.0] * 24
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["intraday", "--tenant", tenant.client_key, "--lang", "fr", "--at", "2026-12-01T13:30:00"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert "Rythme intrajournalier" in out.output and "(nouveau)" in out.output
    assert "profil horaire" in out.output and "50,00" in out.output and "82,39" in out.output
    bad = runner.invoke(app, ["intraday", "--tenant", tenant.client_key, "--at", "1er décembre"])
    assert isinstance(bad.exception, InvalidInput) and "--at" in str(bad.exception)


def test_worker_runs_the_hourly_tick_once_per_tenant_and_hour(fresh_db) -> None:
    from growthops.ads.sync.jobs import TASK_INTRADAY_SCHEDULER, schedule_intraday_at
    from growthops.connectors.sandbox import create_sandbox_account
    from growthops.worker import build_app, run_worker

    paris = new_tenant(fresh_db)
    new_tenant(fresh_db)  # no ad account: no job
    with fresh_db.tenant_tx(paris.tenant_id) as conn:
        create_sandbox_account(
            conn,
            tenant_id=paris.tenant_id,
            seed=5,
            start=TODAY - timedelta(days=9),
            days_history=10,
        )
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        app.configure_task(TASK_INTRADAY_SCHEDULER).defer(timestamp=int(NOW.timestamp()))
    run_worker(fresh_db, concurrency=1, once=True)
    got = rows(
        fresh_db,
        paris,
        "select count(*) n, max(checked_at) t from ads.pacing_checks where scope = 'day'",
    )[0]
    assert got["n"] > 0 and got["t"] == NOW  # the tick is the clock
    assert rows(
        fresh_db, paris, "select max(hour) h from ads.spend_hourly where day = %s", [TODAY]
    )[0] == {"h": 14}
    # A second tick in the same hour while a job waits is not queued twice.
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        assert len(schedule_intraday_at(fresh_db, app, NOW)) == 1
        assert schedule_intraday_at(fresh_db, app, NOW) == []


def test_month_to_date_takes_the_hours_of_days_not_synced_daily_yet(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph, monthly_budget_max=Decimal("1000"))
    now = datetime(2026, 11, 30, 13, 30, tzinfo=UTC)  # Nov 30, 14:30 in Paris
    res = run_intraday(db, tenant_id=tenant.tenant_id, now=now, sleep=Sleeps())
    month = next(c for c in res.checks if c.scope == "month")
    assert month.period_start == date(2026, 11, 1)
    hourly = rows(
        db,
        tenant,
        "select sum(spend)::float8 s from ads.spend_hourly where level = 'campaign' and day < %s",
        [date(2026, 11, 30)],
    )[0]["s"]
    stored = rows(db, tenant, "select details from ads.pacing_checks where scope = 'month'")[0]
    assert hourly > 0 and stored["details"]["month_to_yesterday"] == pytest.approx(hourly)
    # Nov 16-29 at about 141 a day: already over 1000, flagged.
    assert month.over and month.spend_so_far > 1000 and month.newly_flagged


def test_pacing_today_reads_the_days_flags_and_the_months_pace(db, keys, graph) -> None:
    tenant = meta_tenant(db, graph, monthly_budget_max=Decimal("100"))
    graph.hourly[("adset", FAST, TODAY)] = [3.0] * 24
    run_intraday(db, tenant_id=tenant.tenant_id, now=NOW, sleep=Sleeps())
    later = NOW + timedelta(hours=1)
    run_intraday(db, tenant_id=tenant.tenant_id, now=later, sleep=Sleeps())
    with db.tenant_tx(tenant.tenant_id) as conn:
        got = pacing_today(conn, tenant_id=tenant.tenant_id, now=later)
        every = pacing_today(conn, tenant_id=tenant.tenant_id, now=later, flagged_only=False)
        tomorrow = pacing_today(conn, tenant_id=tenant.tenant_id, now=later + timedelta(days=1))
        with pytest.raises(InvalidInput, match="limit"):
            pacing_today(conn, tenant_id=tenant.tenant_id, limit=0)
    assert [d["entity_id"] for d in got["days"]] == [FAST] and got["checked_days"] == 3
    fast = got["days"][0]
    assert fast["flagged"] and fast["flagged_at"] == NOW and fast["over"]
    assert fast["cap"] == pytest.approx(62.5)
    assert fast["pct_of_cap"] == pytest.approx(100 * fast["projected"] / 62.5)
    assert fast["pct_of_cap"] > 100
    assert len(every["days"]) == 3 and every["days"][0]["entity_id"] == FAST  # flagged first
    month = got["month"]
    assert month["scope"] == "month" and month["over"] and month["budget"] == 100
    assert month["period_start"] == date(2026, 12, 1)
    # The next day: nothing checked yet that day; the month is still December's.
    assert tomorrow["days"] == [] and tomorrow["checked_days"] == 0
    assert tomorrow["month"]["period_start"] == date(2026, 12, 1)
