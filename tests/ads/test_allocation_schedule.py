"""Budget allocation on a schedule: once per period and platform in the tenant's calendar, its
lines pending approval in the queue, the cadence per tenant, and the worker running the task."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from growthops.ads.allocation.schedule import (
    allocate_tenant,
    period_start,
    run_scheduled_allocations,
)
from growthops.ads.jobs import TASK_SCHEDULED_ALLOCATION
from growthops.connectors.sandbox import create_sandbox_account
from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from growthops.worker import build_app, run_worker
from tests.conftest import new_tenant

START = date(2024, 1, 1)
HISTORY = 40  # metrics to 2024-02-09
MONDAY = date(2024, 2, 12)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def account(db: Database, **fields: Any) -> Any:
    fields.setdefault("roi_target", Decimal("1.5"))
    fields.setdefault("time_zone", "Europe/Paris")
    t = new_tenant(db, **fields)
    with db.tenant_tx(t.tenant_id) as conn:
        create_sandbox_account(conn, tenant_id=t.tenant_id, seed=11, start=START,
                               days_history=HISTORY, campaigns=2, adsets_per_campaign=3,
                               ads_per_adset=1)
    return t


def rows(db: Database, t: Any, sql: str) -> list[dict[str, Any]]:
    with db.tenant_tx(t.tenant_id) as conn:
        return conn.execute(sql, [str(t.tenant_id)]).fetchall()


def test_period_start_per_cadence() -> None:
    wed = date(2024, 2, 14)
    assert period_start("weekly", wed) == MONDAY and period_start("weekly", MONDAY) == MONDAY
    assert period_start("weekly", date(2024, 2, 18)) == MONDAY  # Sunday: same ISO week
    assert period_start("daily", wed) == wed
    assert period_start("monthly", wed) == date(2024, 2, 1)
    assert period_start("off", wed) is None
    with pytest.raises(InvalidInput, match="allocation_cadence"):
        period_start("hourly", wed)


def test_weekly_allocation_runs_once_per_period_and_waits_for_approval(db: Database) -> None:
    t = account(db)
    zone = "Europe/Paris"
    # Monday 09:30 in Paris (08:30 UTC): before 10:00 local, not due yet
    early = allocate_tenant(db, tenant_id=t.tenant_id, time_zone=zone, now_utc=at(MONDAY, 8, 30))
    assert [e["status"] for e in early] == ["not_due"]
    assert not rows(db, t, "select 1 from ads.allocation_runs where tenant_id = %s")
    first = allocate_tenant(db, tenant_id=t.tenant_id, time_zone=zone, now_utc=at(MONDAY, 9, 5))
    assert [(e["platform"], e["status"], e["period"]) for e in first] == [("meta", "allocated", MONDAY)]
    assert first[0]["suggestions"] > 0
    runs = rows(db, t, "select allocation_id, details from ads.allocation_runs where tenant_id = %s")
    assert len(runs) == 1 and runs[0]["details"]["scheduled_period"] == "2024-02-12"
    sugg = rows(db, t, "select status, type from ads.suggestions where tenant_id = %s")
    assert len(sugg) == first[0]["suggestions"]
    assert {s["status"] for s in sugg} == {"pending"}  # in the approval queue, nothing executed
    assert {s["type"] for s in sugg} <= {"scale", "budget_increase", "budget_decrease"}
    assert not rows(db, t, "select 1 from ads.execution_logs where tenant_id = %s")
    # later the same day, and on Sunday: the week's allocation ran already
    for now in (at(MONDAY, 15), at(MONDAY + timedelta(days=6), 20)):
        again = allocate_tenant(db, tenant_id=t.tenant_id, time_zone=zone, now_utc=now)
        assert [e["status"] for e in again] == ["done"]
    assert len(rows(db, t, "select 1 from ads.allocation_runs where tenant_id = %s")) == 1
    assert len(rows(db, t, "select 1 from ads.suggestions where tenant_id = %s")) == len(sugg)
    # the next week: a new period; no new metrics, so the reporting day's run is reused (no
    # second set of suggestions) and marked for that week
    nxt = allocate_tenant(db, tenant_id=t.tenant_id, time_zone=zone,
                          now_utc=at(MONDAY + timedelta(days=7), 11))
    assert [e["status"] for e in nxt] == ["reused"] and nxt[0]["suggestions"] == 0
    assert len(rows(db, t, "select 1 from ads.suggestions where tenant_id = %s")) == len(sugg)
    logged = rows(db, t, "select context from core.system_logs where tenant_id = %s and module = "
                         "'growthops.ads.allocation.schedule' order by id")
    assert [x["context"]["period"] for x in logged] == ["2024-02-12", "2024-02-19"]


def test_cadence_is_per_tenant_and_refusals_are_logged_once(db: Database) -> None:
    daily = account(db)
    off = account(db)
    nothing = new_tenant(db)  # no metrics: no platform to allocate
    for t, cadence in ((daily, "daily"), (off, "off")):
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute("insert into ads.platform_configs (tenant_id, platform, allocation_cadence) "
                         "values (%s, 'meta', %s)", [t.tenant_id, cadence])
    tenants = [{"tenant_id": x.tenant_id, "time_zone": "Europe/Paris"}
               for x in (daily, off, nothing)]
    out = run_scheduled_allocations(db, now_utc=at(MONDAY, 10), tenants=tenants)
    assert out["tenants"] == 3 and out["allocated"] == 1 and out["errors"] == 0
    assert not rows(db, off, "select 1 from ads.allocation_runs where tenant_id = %s")
    out = run_scheduled_allocations(db, now_utc=at(MONDAY, 16), tenants=tenants)
    assert out["allocated"] == 0 and out["done"] == 1
    tue = run_scheduled_allocations(db, now_utc=at(MONDAY + timedelta(days=1), 10), tenants=tenants)
    assert tue["reused"] == 1  # daily: Tuesday is a new period (same reporting day: reused)
    # a tenant whose allocation is refused (conversions objective without a target CPA) is
    # logged once for the period, not retried every hour
    with db.admin() as conn:
        conn.execute("update core.tenants set ticket_price = null where tenant_id = %s",
                     [off.tenant_id])
    with db.tenant_tx(off.tenant_id) as conn:
        conn.execute("update ads.platform_configs set allocation_cadence = 'weekly' "
                     "where tenant_id = %s", [off.tenant_id])
        conn.execute("update ads.metrics_daily set conversion_value = 0 where tenant_id = %s",
                     [off.tenant_id])
    for hour in (10, 11):
        res = allocate_tenant(db, tenant_id=off.tenant_id, time_zone="Europe/Paris",
                              now_utc=at(MONDAY, hour))
        assert [e["status"] for e in res] == (["skipped"] if hour == 10 else ["done"])
    skipped = rows(db, off, "select level, message from core.system_logs where tenant_id = %s "
                            "and module = 'growthops.ads.allocation.schedule'")
    assert len(skipped) == 1 and skipped[0]["level"] == "WARNING" and "max_cpa" in skipped[0]["message"]


def test_the_worker_runs_the_scheduled_allocation_once(fresh_db: Database) -> None:
    t = account(fresh_db)
    for minutes in (0, 60):  # two ticks of the same week
        with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
            app.configure_task(TASK_SCHEDULED_ALLOCATION).defer(
                timestamp=int(at(MONDAY, 9, 40).timestamp()) + minutes * 60)
        run_worker(fresh_db, concurrency=1, once=True)
    with fresh_db.admin() as conn:
        jobs = conn.execute("select status::text as status from procrastinate_jobs "
                            "where task_name = %s order by id", [TASK_SCHEDULED_ALLOCATION]).fetchall()
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert len(rows(fresh_db, t, "select 1 from ads.allocation_runs where tenant_id = %s")) == 1
    pending = rows(fresh_db, t, "select 1 from ads.suggestions where tenant_id = %s and status = 'pending'")
    assert pending


def test_cadence_set_from_the_cli_is_validated_and_audited(db: Database) -> None:
    from typer.testing import CliRunner

    from growthops.cli import app

    t = new_tenant(db)
    runner = CliRunner()
    bad = runner.invoke(app, ["config", "set", "--tenant", t.client_key, "--platform", "meta",
                              "--allocation-cadence", "hourly", "--by", "alice"])
    assert bad.exit_code != 0 and "--allocation-cadence" in str(bad.exception)
    ok = runner.invoke(app, ["config", "set", "--tenant", t.client_key, "--platform", "meta",
                             "--allocation-cadence", "monthly", "--by", "alice"])
    assert ok.exit_code == 0, ok.output
    assert "allocation_cadence: weekly → monthly" in ok.output
    cfg = rows(db, t, "select allocation_cadence from ads.platform_configs where tenant_id = %s")
    assert cfg == [{"allocation_cadence": "monthly"}]
    trail = rows(db, t, "select actor, after from ads.audit_log where tenant_id = %s "
                        "and action = 'platform_config.updated'")
    assert trail[0]["actor"] == "alice" and trail[0]["after"]["allocation_cadence"] == "monthly"
