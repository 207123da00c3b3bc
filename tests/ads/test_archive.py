"""The nightly archive: old suggestions and decisions move, batch by batch, nothing is lost,
counts balance, re-running changes nothing; and the periodic jobs that run it."""

from __future__ import annotations

import gc
import sys
import types
from datetime import UTC, date, datetime, timedelta

import pytest

from growthops.ads import archive
from growthops.ads.action.decisions import DecisionConflict, decide, history
from growthops.ads.archive import ArchiveMismatch, archive_tenant
from growthops.ads.cycle import run_daily_cycle
from growthops.ads.jobs import (
    ARCHIVE_CRON,
    HOURLY_CRON,
    TASK_HOURLY_UPKEEP,
    TASK_NIGHTLY_ARCHIVE,
    run_upkeep,
)
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.worker import build_app, run_worker
from tests.conftest import new_tenant

END = date(2024, 3, 31)
PLAN = Plan(campaigns=3, adsets_per_campaign=3, ads_per_adset=3, days=60, end=END,
            base_spend=150.0, bad_adsets=(1, 4), great_adsets=(0, 6), fatigued_ads=(6, 15),
            budget_adsets=(2, 5, 8))
NOW = datetime.now(UTC).replace(microsecond=0)


def old_account(db):
    """A tenant whose cycle ran 100 days ago, with decisions then, one live decision 40 days old,
    two suggestions made recent, and one suggestion still executing."""
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    clock = NOW - timedelta(days=100)
    res = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END, clock=clock)
    ids = sorted(res.suggestion_ids)
    assert len(ids) >= 7
    with db.tenant_tx(t.tenant_id) as conn:
        for sid, dec in zip(ids[:3], ("approved", "refused", "backlog"), strict=True):
            decide(conn, tenant_id=t.tenant_id, suggestion_id=sid, decision=dec, decided_by="alice",
                   notes=f"{dec} then", now=clock + timedelta(hours=1))
        conn.execute("""insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by,
                          decided_at, created_at) values (%s, %s, 'approved', 'bob', %s, %s)""",
                     [t.tenant_id, ids[3], NOW - timedelta(days=40), NOW - timedelta(days=40)])
        conn.execute("update ads.suggestions set created_at = %s, expires_at = %s "
                     "where suggestion_id = any(%s)",
                     [NOW - timedelta(hours=1), NOW + timedelta(hours=47), ids[4:6]])
        conn.execute("update ads.suggestions set status = 'executing' where suggestion_id = %s", [ids[6]])
    return t, ids


def snapshot(db, tid):
    with db.tenant_tx(tid) as conn:
        return {tbl: conn.execute(f"select * from ads.{tbl} order by 2").fetchall()
                for tbl in ("suggestions", "suggestions_archive", "decisions", "decisions_archive")}


def test_archive_moves_old_rows_in_batches_and_loses_nothing(db):
    t, ids = old_account(db)
    before = snapshot(db, t.tenant_id)
    n_sug = len(before["suggestions"])
    pending_old = [s["suggestion_id"] for s in before["suggestions"]
                   if s["status"] in ("pending", "backlog") and s["suggestion_id"] not in ids[4:6]]
    res = archive_tenant(db, tenant_id=t.tenant_id, now=NOW, batch_size=3)
    moved = n_sug - 3  # two recent and one executing stay
    assert res.expired == len(pending_old)
    assert res.suggestions.moved == moved and res.suggestions.batches == -(-moved // 3)
    assert res.decisions.moved == 3 and res.decisions.batches == 1
    for tr in (res.suggestions, res.decisions):
        assert sum(tr.before.values()) == sum(tr.after.values())
        assert tr.after["archive"] - tr.before["archive"] == tr.moved
    after = snapshot(db, t.tenant_id)
    assert {s["suggestion_id"] for s in after["suggestions"]} == set(ids[4:7])
    assert [d["decided_by"] for d in after["decisions"]] == ["bob"]
    # Every moved row is in the archive, unchanged but for the expiry of the undecided ones.
    archived = {s["suggestion_id"]: s for s in after["suggestions_archive"]}
    for s in before["suggestions"]:
        if s["suggestion_id"] in ids[4:7]:
            continue
        a = archived[s["suggestion_id"]]
        expected = "expired" if s["suggestion_id"] in pending_old else s["status"]
        assert a["status"] == expected and a["archived_at"] == NOW
        assert {k: v for k, v in a.items() if k not in ("status", "archived_at")} == {
            k: v for k, v in s.items() if k != "status"}
    assert {a["suggestion_id"]: a["status"] for a in after["suggestions_archive"]}[ids[2]] == "expired"
    assert [d["decision"] for d in after["decisions_archive"]] == ["approved", "refused", "backlog"]
    # The expiries are audited; the story of an archived suggestion is still told.
    with db.tenant_tx(t.tenant_id) as conn:
        n_audit = conn.execute("select count(*) as n from ads.audit_log where action = 'suggestion.expired'"
                               ).fetchone()["n"]
        story = history(conn, tenant_id=t.tenant_id, suggestion_id=ids[0])[0]
    assert n_audit == len(pending_old)
    assert story["suggestion"]["archived"] and story["decisions"][0]["archived"]
    assert story["summary"] == 'approved by alice ("approved then")'
    # Re-running changes nothing.
    again = archive_tenant(db, tenant_id=t.tenant_id, now=NOW, batch_size=3)
    assert (again.expired, again.suggestions.moved, again.decisions.moved) == (0, 0, 0)
    assert snapshot(db, t.tenant_id) == after


def test_an_archived_suggestion_cannot_be_decided(db):
    t, ids = old_account(db)
    archive_tenant(db, tenant_id=t.tenant_id, now=NOW)
    with pytest.raises(DecisionConflict, match="archived") as err, db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[3],
               decision="approved", decided_by="alice")
    assert err.value.reason == "archived"


def test_unbalanced_counts_roll_the_batch_back(db, monkeypatch):
    t, _ = old_account(db)
    before = snapshot(db, t.tenant_id)
    monkeypatch.setattr(archive, "_counts", lambda conn, tid, live, arch: {"live": 10, "archive": 0})
    with pytest.raises(ArchiveMismatch, match="does not balance"):
        archive.archive_tenant(db, tenant_id=t.tenant_id, now=NOW, batch_size=2)
    after = snapshot(db, t.tenant_id)
    # The expiry step committed on its own; no row left the live table.
    assert [s["suggestion_id"] for s in after["suggestions"]] == [s["suggestion_id"] for s in before["suggestions"]]
    assert after["suggestions_archive"] == [] and len(after["decisions"]) == len(before["decisions"])


def test_schema_drift_is_refused_before_anything_moves(db, tenant):
    with db.tenant_tx(tenant.tenant_id) as conn, pytest.raises(ArchiveMismatch, match="lacks the column"):
        archive._columns(conn, "suggestions", "decisions_archive")


def test_bad_arguments(db, tenant):
    from growthops.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="batch_size"):
        archive_tenant(db, tenant_id=tenant.tenant_id, batch_size=0)
    with pytest.raises(InvalidInput, match="now"):
        archive_tenant(db, tenant_id=tenant.tenant_id, now=datetime(2024, 1, 1))


# ------------------------------------------------------------------------------ periodic jobs
@pytest.fixture()
def jobs_db(request):
    gc.collect()  # migrate() leaves a connection to the template for the GC (see test_jobs)
    return request.getfixturevalue("fresh_db")


def test_worker_registers_and_runs_the_nightly_archive(jobs_db):
    periodic = build_app(jobs_db).periodic_registry.periodic_tasks
    crons = {p.task.name: p.cron for p in periodic.values()}
    assert crons[TASK_NIGHTLY_ARCHIVE] == ARCHIVE_CRON == "0 2 * * *"
    assert crons[TASK_HOURLY_UPKEEP] == HOURLY_CRON
    a, _ = old_account(jobs_db)
    b, _ = old_account(jobs_db)
    with build_app(jobs_db, periodic=False, max_connections=2).open() as app:
        app.configure_task(TASK_NIGHTLY_ARCHIVE).defer(timestamp=int(NOW.timestamp()))
    run_worker(jobs_db, concurrency=1, once=True)
    with jobs_db.admin() as conn:
        status = conn.execute("select status from procrastinate_jobs where task_name = %s",
                              [TASK_NIGHTLY_ARCHIVE]).fetchone()["status"]
    assert status == "succeeded"
    for t in (a, b):  # every tenant was archived
        s = snapshot(jobs_db, t.tenant_id)
        assert len(s["suggestions"]) == 3 and len(s["suggestions_archive"]) > 0
        assert len(s["decisions_archive"]) == 3


def test_hourly_upkeep_calls_measure_and_reconcile_and_skips_them_when_absent(db, tenant, monkeypatch):
    from growthops.ads.action import validation

    calls: list[tuple] = []
    hyp = types.ModuleType("growthops.ads.learning.measurement")
    hyp.measure_due = lambda conn, *, tenant_id, today: calls.append(("measure", tenant_id, today)) or [{"status": "measured"}, {"status": "measured"}, {"status": "waiting"}]
    ex = types.ModuleType("growthops.ads.action.execution")
    rc = types.ModuleType("growthops.ads.action.reconcile")
    rc.reconcile = lambda db_, *, tenant_id: calls.append(("reconcile", tenant_id, db_ is db)) or 1
    ex.execute_approved = lambda db_, *, tenant_id: calls.append(("execute_approved", tenant_id)) or []
    monkeypatch.setitem(sys.modules, "growthops.ads.learning.measurement", hyp)
    monkeypatch.setitem(sys.modules, "growthops.ads.action.execution", ex)
    monkeypatch.setitem(sys.modules, "growthops.ads.action.reconcile", rc)
    with db.tenant_tx(tenant.tenant_id) as conn:
        validation.submit(conn, tenant_id=tenant.tenant_id, item_type="ad_creative", item_name="x",
                          submitted_by="dana", now=NOW - timedelta(hours=80))
    # 23:30 UTC on 1 June is already 2 June in Paris: "today" is the tenant's local date.
    at = datetime(2024, 6, 1, 23, 30, tzinfo=UTC)
    rows = [{"tenant_id": tenant.tenant_id, "time_zone": "Europe/Paris", "client_key": tenant.client_key}]
    out = run_upkeep(db, now_utc=max(at, NOW), tenants=rows)
    assert out["validation_expired"] == 1 and out["errors"] == 0 and out["skipped"] == []
    assert out["measured"] == 2 and out["reconciled"] == 1
    assert ("reconcile", tenant.tenant_id, True) in calls
    assert ("execute_approved", tenant.tenant_id) in calls  # approvals not yet executed are run
    out = run_upkeep(db, now_utc=at, tenants=rows)
    assert ("measure", tenant.tenant_id, date(2024, 6, 2)) in calls
    # Absent modules are skipped cleanly.
    monkeypatch.setitem(sys.modules, "growthops.ads.learning.measurement", None)
    monkeypatch.setitem(sys.modules, "growthops.ads.action.reconcile", None)
    out = run_upkeep(db, now_utc=at, tenants=rows)
    assert out["skipped"] == ["measure_due", "reconcile"] and out["errors"] == 0
    # A failing step is logged for the tenant and does not stop the others.
    boom = types.ModuleType("growthops.ads.learning.measurement")

    def measure_due(conn, *, tenant_id, today):
        raise ValueError("window not complete")

    boom.measure_due = measure_due
    monkeypatch.setitem(sys.modules, "growthops.ads.learning.measurement", boom)
    out = run_upkeep(db, now_utc=at, tenants=rows)
    assert out["errors"] == 1
    with db.tenant_tx(tenant.tenant_id) as conn:
        log = conn.execute("select message, exception_type from core.system_logs order by id desc limit 1"
                           ).fetchone()
    assert log["message"] == "hourly upkeep step measured failed" and "ValueError" in log["exception_type"]
