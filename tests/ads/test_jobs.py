"""Jobs: the 09:00-local scheduler decision, deferring, and the worker running a daily cycle.

``growthops.ads.cycle.run_daily_cycle`` is replaced by a stub module (``cycle_stub``) so these
tests check the job plumbing (arguments, tenant, retries, logs) independently of the cycle.
"""

from __future__ import annotations

import gc
import sys
import types
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import psycopg_pool
import pytest

from growthops.ads.jobs import (
    TASK_DAILY_CYCLE,
    TASK_SCHEDULER,
    already_run,
    cycle_queueing_lock,
    defer_daily_cycle,
    due_tenants,
    is_transient_db_error,
    schedule_due_cycles,
)
from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from growthops.worker import build_app, run_worker
from tests.conftest import new_tenant

PARIS, LA, TOKYO = "Europe/Paris", "America/Los_Angeles", "Asia/Tokyo"


@pytest.fixture(scope="session", autouse=True)
def _release_template_connections(template_db: Database) -> None:
    """Collect the migration tool's unclosed connection to the template before cloning it.

    ``migrate()`` leaves yoyo's backend connection to be garbage-collected; while it lives,
    ``CREATE DATABASE ... TEMPLATE`` fails with ObjectInUse. Remove once migrate closes it.
    """
    gc.collect()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def tenants(*zones: str) -> list[dict[str, Any]]:
    names = {PARIS: "paris", LA: "la", TOKYO: "tokyo"}
    return [{"tenant_id": str(uuid4()), "client_key": names.get(z, z), "time_zone": z}
            for z in zones]


def keys(due: list) -> set[str]:
    return {d.client_key for d in due}


# ------------------------------------------------------------------------- due_tenants (pure)
def test_due_tenants_three_zones_at_one_instant() -> None:
    ts = tenants(PARIS, LA, TOKYO)
    # 07:00 UTC on 14 June 2024: Paris 09:00 CEST, Tokyo 16:00 JST, Los Angeles 00:00 PDT.
    due = due_tenants(ts, utc(2024, 6, 14, 7, 0), set())
    assert keys(due) == {"paris", "tokyo"}
    assert {d.as_of for d in due} == {date(2024, 6, 13)}
    paris = next(d for d in due if d.client_key == "paris")
    assert paris.local_time.hour == 9 and paris.local_time.minute == 0
    # One minute earlier Paris is at 08:59; Los Angeles is at 23:59 on the 13th, still after
    # its 09:00, so its cycle for the 12th is due (a worker down at 09:00 catches up).
    early = due_tenants(ts, utc(2024, 6, 14, 6, 59), set())
    assert {(d.client_key, d.as_of) for d in early} == {
        ("tokyo", date(2024, 6, 13)), ("la", date(2024, 6, 12))}
    # Tokyo turns 09:00 at 00:00 UTC; at 23:59 UTC the day before it is 08:59.
    tk = tenants(TOKYO)
    assert due_tenants(tk, utc(2024, 6, 13, 23, 59), {(tk[0]["tenant_id"], date(2024, 6, 12))}) == []
    tokyo = due_tenants(tk, utc(2024, 6, 14, 0, 0), set())
    assert len(tokyo) == 1 and tokyo[0].as_of == date(2024, 6, 13)
    # Los Angeles: 09:00 PDT = 16:00 UTC; its reporting day is its own yesterday.
    la = tenants(LA)
    ran_12th = {(la[0]["tenant_id"], date(2024, 6, 12))}
    assert due_tenants(la, utc(2024, 6, 14, 15, 45), ran_12th) == []
    la_due = due_tenants(la, utc(2024, 6, 14, 16, 0), ran_12th)
    assert len(la_due) == 1 and la_due[0].as_of == date(2024, 6, 13)


def test_due_tenants_skips_cycles_already_run() -> None:
    ts = tenants(PARIS, TOKYO)
    now = utc(2024, 6, 14, 7, 0)
    done = {(ts[0]["tenant_id"], date(2024, 6, 13))}
    assert keys(due_tenants(ts, now, done)) == {"tokyo"}
    # Another day for the same tenant does not count.
    assert keys(due_tenants(ts, now, {(ts[0]["tenant_id"], date(2024, 6, 12))})) == {
        "paris", "tokyo"}


@pytest.mark.parametrize(
    ("zone", "before", "at", "as_of"),
    [
        # Paris springs forward on 31 March 2024 (CET UTC+1 -> CEST UTC+2): 09:00 is 07:00 UTC.
        (PARIS, utc(2024, 3, 31, 6, 45), utc(2024, 3, 31, 7, 0), date(2024, 3, 30)),
        # The day before, still CET: 09:00 is 08:00 UTC (07:00 UTC is only 08:00 local).
        (PARIS, utc(2024, 3, 30, 7, 0), utc(2024, 3, 30, 8, 0), date(2024, 3, 29)),
        # Paris falls back on 27 October 2024: 09:00 CET is 08:00 UTC.
        (PARIS, utc(2024, 10, 27, 7, 45), utc(2024, 10, 27, 8, 0), date(2024, 10, 26)),
        # Los Angeles springs forward on 10 March 2024: 09:00 PDT is 16:00 UTC (not 17:00).
        (LA, utc(2024, 3, 10, 15, 45), utc(2024, 3, 10, 16, 0), date(2024, 3, 9)),
        # ... and falls back on 3 November 2024: 09:00 PST is 17:00 UTC.
        (LA, utc(2024, 11, 3, 16, 45), utc(2024, 11, 3, 17, 0), date(2024, 11, 2)),
    ],
)
def test_due_tenants_across_dst_changes(zone: str, before: datetime, at: datetime,
                                        as_of: date) -> None:
    ts = tenants(zone)
    assert due_tenants(ts, before, set()) == []
    due = due_tenants(ts, at, set())
    assert len(due) == 1 and due[0].as_of == as_of
    assert (due[0].local_time.hour, due[0].local_time.minute) == (9, 0)


def test_fifteen_minute_ticks_queue_each_tenant_once_a_day_at_0900_local() -> None:
    """Simulate the scheduler over two DST changes: one cycle per tenant and reporting day,
    each first due at exactly 09:00 local time, for consecutive days."""
    ts = tenants(PARIS, LA, TOKYO)
    done: set[tuple[str, date]] = set()
    fired: dict[str, list[tuple[date, datetime]]] = {t["tenant_id"]: [] for t in ts}
    now = utc(2024, 3, 8, 0, 0)
    while now < utc(2024, 4, 3, 0, 0):
        for d in due_tenants(ts, now, done):
            done.add((d.tenant_id, d.as_of))
            fired[d.tenant_id].append((d.as_of, d.local_time))
        now += timedelta(minutes=15)
    for t in ts:
        runs = fired[t["tenant_id"]]
        days = [a for a, _ in runs]
        assert len(days) == len(set(days)), t["time_zone"]
        assert all(b - a == timedelta(days=1) for a, b in zip(days, days[1:], strict=False))
        # The first run may be a catch-up (the simulation starts after 09:00 in Los Angeles).
        assert all((lt.hour, lt.minute) == (9, 0) for _, lt in runs[1:]), t["time_zone"]
        assert len(runs) >= 25


def test_due_tenants_skips_an_unknown_zone_and_needs_an_aware_instant() -> None:
    ts = tenants(PARIS) + [{"tenant_id": str(uuid4()), "client_key": "mars",
                            "time_zone": "Mars/Olympus"}]
    assert keys(due_tenants(ts, utc(2024, 6, 14, 12, 0), set())) == {"paris"}
    with pytest.raises(InvalidInput):
        due_tenants(ts, datetime(2024, 6, 14, 12, 0), set())


def test_only_transient_database_errors_are_retried() -> None:
    assert is_transient_db_error(psycopg.errors.SerializationFailure("x"))
    assert is_transient_db_error(psycopg.errors.DeadlockDetected("x"))
    assert is_transient_db_error(psycopg.OperationalError("connection refused"))
    assert is_transient_db_error(psycopg_pool.PoolTimeout("no connection"))
    try:
        try:
            raise psycopg.errors.AdminShutdown("terminating connection")
        except psycopg.Error as inner:
            raise RuntimeError("cycle step failed") from inner
    except RuntimeError as wrapped:
        assert is_transient_db_error(wrapped)
    assert not is_transient_db_error(psycopg.errors.UniqueViolation("dup"))
    assert not is_transient_db_error(psycopg.errors.DivisionByZero("x"))
    assert not is_transient_db_error(ValueError("bad data"))


# ----------------------------------------------------------------------------- database tests
@dataclass
class FakeResult:
    as_of: date

    def counts(self) -> dict[str, int]:
        return {"suggestions": 3, "anomalies": 1}


class CycleStub:
    """Stands in for ``growthops.ads.cycle`` (the job's plumbing is tested without a real cycle)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Database, UUID, date | None]] = []
        self.error: BaseException | None = None

    def run_daily_cycle(self, db: Database, *, tenant_id: UUID, as_of: date | None = None,
                        **_: Any) -> FakeResult | None:
        self.calls.append((db, tenant_id, as_of))
        if self.error is not None:
            raise self.error
        return FakeResult(as_of or date(2024, 1, 1))


@pytest.fixture()
def cycle_stub(monkeypatch: pytest.MonkeyPatch) -> CycleStub:
    stub = CycleStub()
    module = types.ModuleType("growthops.ads.cycle")
    module.run_daily_cycle = stub.run_daily_cycle  # type: ignore[attr-defined]
    module.after_cycle = lambda db, **_: {}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "growthops.ads.cycle", module)
    import growthops.ads

    monkeypatch.setattr(growthops.ads, "cycle", module, raising=False)
    return stub


def jobs(db: Database, task: str = TASK_DAILY_CYCLE) -> list[dict[str, Any]]:
    with db.admin() as conn:
        return conn.execute(
            """select id, status::text as status, attempts, args, queueing_lock, lock,
                      scheduled_at from procrastinate_jobs where task_name = %s order by id""",
            [task],
        ).fetchall()


def tenant_logs(db: Database, tenant_id: UUID) -> list[dict[str, Any]]:
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(
            "select level, module, message, context, exception_type, stack_trace "
            "from core.system_logs order by id"
        ).fetchall()


def test_deferring_the_same_tenant_and_day_twice_yields_one_job(fresh_db: Database) -> None:
    t = new_tenant(fresh_db)
    first = defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="2024-06-13")
    again = defer_daily_cycle(fresh_db, tenant_id=str(t.tenant_id), as_of=date(2024, 6, 13))
    other_day = defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="2024-06-12")
    assert again == first and other_day != first
    rows = jobs(fresh_db)
    assert [r["id"] for r in rows] == [first, other_day]
    assert rows[0]["args"] == {"tenant_id": str(t.tenant_id), "as_of": "2024-06-13"}
    assert rows[0]["queueing_lock"] == cycle_queueing_lock(t.tenant_id, "2024-06-13")
    assert rows[0]["lock"] == f"{TASK_DAILY_CYCLE}:{t.tenant_id}"
    with pytest.raises(InvalidInput, match="as_of"):
        defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="13/06/2024")
    with pytest.raises(InvalidInput, match="tenant_id"):
        defer_daily_cycle(fresh_db, tenant_id="acme", as_of=None)


def test_worker_once_runs_a_queued_daily_cycle_end_to_end(
    fresh_db: Database, cycle_stub: CycleStub
) -> None:
    a = new_tenant(fresh_db)
    b = new_tenant(fresh_db)
    job_a = defer_daily_cycle(fresh_db, tenant_id=a.tenant_id, as_of="2024-06-13")
    job_b = defer_daily_cycle(fresh_db, tenant_id=b.tenant_id, as_of=None)
    run_worker(fresh_db, concurrency=1, once=True)
    assert {(tid, day) for _, tid, day in cycle_stub.calls} == {
        (a.tenant_id, date(2024, 6, 13)), (b.tenant_id, None)}
    assert all(d is fresh_db for d, _, _ in cycle_stub.calls)
    assert {r["id"]: r["status"] for r in jobs(fresh_db)} == {job_a: "succeeded",
                                                              job_b: "succeeded"}
    logs = tenant_logs(fresh_db, a.tenant_id)
    assert [r["message"] for r in logs] == [
        "daily cycle started (as of 2024-06-13)", "daily cycle finished (as of 2024-06-13)"]
    assert logs[1]["context"]["summary"] == {
        "status": "succeeded", "as_of": "2024-06-13", "suggestions": 3, "anomalies": 1}
    assert logs[0]["context"]["job_id"] == job_a
    # Each tenant sees its own log lines only.
    assert {r["context"]["job_id"] for r in tenant_logs(fresh_db, b.tenant_id)} == {job_b}
    # A second once-run finds nothing waiting.
    run_worker(fresh_db, concurrency=1, once=True)
    assert len(cycle_stub.calls) == 2


def test_a_failing_cycle_is_not_retried_and_its_stack_trace_is_logged(
    fresh_db: Database, cycle_stub: CycleStub
) -> None:
    t = new_tenant(fresh_db)
    cycle_stub.error = ValueError("column 'spend' is negative")
    job = defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="2024-06-13")
    run_worker(fresh_db, concurrency=1, once=True)
    row = jobs(fresh_db)[0]
    assert (row["id"], row["status"], row["attempts"]) == (job, "failed", 1)
    err = tenant_logs(fresh_db, t.tenant_id)[-1]
    assert err["level"] == "ERROR" and err["exception_type"] == "builtins.ValueError"
    assert "Traceback" in err["stack_trace"] and "spend' is negative" in err["stack_trace"]


def test_a_transient_database_error_is_retried_with_backoff(
    fresh_db: Database, cycle_stub: CycleStub
) -> None:
    t = new_tenant(fresh_db)
    cycle_stub.error = psycopg.errors.SerializationFailure("could not serialize access")
    defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="2024-06-13")
    before = datetime.now(UTC)
    run_worker(fresh_db, concurrency=1, once=True)
    row = jobs(fresh_db)[0]
    # Back in the queue after the first failure, 4 s later (4 ** 1); not run again by this worker.
    assert (row["status"], row["attempts"]) == ("todo", 1)
    assert row["scheduled_at"] >= before + timedelta(seconds=3)
    assert len(cycle_stub.calls) == 1
    assert tenant_logs(fresh_db, t.tenant_id)[-1]["level"] == "WARNING"
    assert "will retry" in tenant_logs(fresh_db, t.tenant_id)[-1]["message"]


def test_scheduler_tick_queues_due_tenants_once(fresh_db: Database) -> None:
    paris = new_tenant(fresh_db, time_zone=PARIS)
    tokyo = new_tenant(fresh_db, time_zone=TOKYO)
    new_tenant(fresh_db, time_zone=LA)  # midnight in Los Angeles: not due
    done_paris = new_tenant(fresh_db, time_zone=PARIS)
    with fresh_db.tenant_tx(done_paris.tenant_id) as conn:  # e.g. run from `growthops daily`
        conn.execute("insert into ads.cycle_runs (tenant_id, as_of, status) values (%s, %s, %s)",
                     [done_paris.tenant_id, date(2024, 6, 13), "succeeded"])
    now = utc(2024, 6, 14, 7, 0)
    queued = schedule_due_cycles(fresh_db, now_utc=now)
    assert {d.tenant_id for d, _ in queued} == {str(paris.tenant_id), str(tokyo.tenant_id)}
    assert {d.as_of for d, _ in queued} == {date(2024, 6, 13)}
    assert already_run(fresh_db, [date(2024, 6, 13)]) == {
        (str(x.tenant_id), date(2024, 6, 13)) for x in (paris, tokyo, done_paris)}
    # The next ticks find the jobs queued: nothing new.
    assert schedule_due_cycles(fresh_db, now_utc=now + timedelta(minutes=15)) == []
    assert len(jobs(fresh_db)) == 2


def test_the_scheduler_job_run_by_the_worker_runs_the_due_cycles(
    fresh_db: Database, cycle_stub: CycleStub
) -> None:
    paris = new_tenant(fresh_db, time_zone=PARIS)
    new_tenant(fresh_db, time_zone=LA)
    tick = int(utc(2024, 6, 14, 7, 0).timestamp())
    with build_app(fresh_db, periodic=False, max_connections=2).open() as app:
        app.configure_task(TASK_SCHEDULER).defer(timestamp=tick)
    run_worker(fresh_db, concurrency=1, once=True)
    assert [(tid, day) for _, tid, day in cycle_stub.calls] == [
        (paris.tenant_id, date(2024, 6, 13))]
    assert [r["status"] for r in jobs(fresh_db, TASK_SCHEDULER)] == ["succeeded"]
    assert [r["status"] for r in jobs(fresh_db)] == ["succeeded"]
    # A succeeded job counts as run, even when the cycle itself found no data.
    assert schedule_due_cycles(fresh_db, now_utc=utc(2024, 6, 14, 12, 0)) == []


def test_the_worker_app_registers_its_periodic_tasks(fresh_db: Database) -> None:
    periodic = build_app(fresh_db).periodic_registry.periodic_tasks
    assert sorted((t.task.name, t.cron) for t in periodic.values()) == sorted([
        (TASK_SCHEDULER, "*/15 * * * *"), ("nightly_archive", "0 2 * * *"), ("hourly_upkeep", "0 * * * *"),
        ("schedule_syncs", "*/15 * * * *"),  # the 07:00-local account sync (growthops.ads.sync)
        ("schedule_intraday", "5 * * * *"),  # issue 15: intraday pacing (growthops.ads.sync.intraday)
        ("ads.weekly_tests", "30 5 * * 1"),  # issue 15: close finished tests (ads.experiments)
        ("ads.scheduled_allocation", "40 * * * *"),  # issue 15: budgets once a period
        ("ads.slack_sync", "* * * * *"),  # issue 15: Slack threads and alerts (slack_threads)
        ("ads.airtable_schedule", "40 * * * *"),  # issue 15: the Airtable mirror
        # the inbox domain's (every installed domain's tasks are registered on the worker)
        ("inbox.recover", "* * * * *"), ("inbox.upkeep", "*/15 * * * *"),
        ("inbox.purge_webhooks", "0 3 * * *"), ("inbox.ai_sweep", "* * * * *"),
        ("inbox.vector_indexes", "*/5 * * * *"),  # per-tenant HNSW graphs (inbox.ai.vector_index)
        # issue 12: scheduled posts, comment monitoring, the monthly grant of credits
        ("inbox.publish_posts", "* * * * *"), ("inbox.comments", "* * * * *"),
        ("inbox.credits_reset", "5 * * * *"),
        # issue 11: topics, suggested FAQ entries, labels from people's actions
        ("inbox.topics", "0 4 * * 1"), ("inbox.faq_suggest", "30 4 * * 1"),
        ("inbox.ai_labels", "20 * * * *"),
        ("inbox.answer_models", "40 * * * *"),  # the answer classifiers (inbox.ai.answer_model)
        # the leads domain's (growthops.leads.jobs)
        ("leads.sweep", "*/5 * * * *"), ("leads.weekly_insights", "0 6 * * 1"),
        ("leads.expire", "30 3 * * *"), ("leads.outreach_send", "*/5 * * * *"),
        ("leads.outreach_metrics", "17 * * * *"), ("leads.prospect_queue", "2 * * * *")])
    assert build_app(fresh_db, periodic=False).periodic_registry.periodic_tasks == {}


def test_worker_runs_the_real_daily_cycle(fresh_db: Database) -> None:
    """Same path with the real ``growthops.ads.cycle`` (a tenant without metrics)."""
    t = new_tenant(fresh_db)
    defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of=None)
    defer_daily_cycle(fresh_db, tenant_id=t.tenant_id, as_of="2024-06-13")
    run_worker(fresh_db, concurrency=2, once=True)
    assert [r["status"] for r in jobs(fresh_db)] == ["succeeded", "succeeded"]
    messages = [r["message"] for r in tenant_logs(fresh_db, t.tenant_id)]
    assert "daily cycle found no data (as of latest day with data)" in messages
    assert "daily cycle finished (as of 2024-06-13)" in messages
    assert (str(t.tenant_id), date(2024, 6, 13)) in already_run(fresh_db, [date(2024, 6, 13)])
