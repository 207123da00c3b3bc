"""Execution: exactly-once under concurrency and crashes, reconcile, guard rails end to end,
platform errors, auto-apply, hand-offs.

Most tests replace the connectors' registry by a small in-test fake ad account
(:class:`FakePlatform`) that counts every read and write; the last ones run against the sandbox
account (``growthops.connectors.sandbox``, persisted in PostgreSQL). Everything else (decisions,
audit, validation queue, hypotheses) is the real code against the real embedded PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from growthops.ads.action import autoapply as aa
from growthops.ads.action import execution as ex
from growthops.ads.action import reconcile as rc
from growthops.ads.action.changes import BUDGET_TYPES
from growthops.ads.action.guardrails import cents
from growthops.connectors.base import ChangeResult, EntityState, PlatformError
from growthops.core.errors import InvalidInput
from tests.conftest import new_tenant

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class FakePlatform:
    """An in-memory ad account: entities by id, every write counted (thread-safe)."""

    platform = "meta"
    account_id = "act_test"

    def __init__(self, *entities: EntityState) -> None:
        self.entities = {e.entity_id: e for e in entities}
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.validations: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[PlatformError] = []  # raised by the next writes, in order
        self.apply_then_fail = False  # apply the write, then raise errors[0]
        self.read_barrier: threading.Barrier | None = None
        self.reads = {"get_entity": 0, "list_entities": 0}
        self._lock = threading.Lock()

    def list_entities(self, level=None):
        self.reads["list_entities"] += 1
        return [e for e in self.entities.values() if level is None or e.level == level]

    def get_entity(self, entity_id):
        self.reads["get_entity"] += 1
        if self.read_barrier is not None:
            self.read_barrier.wait(timeout=20)
        try:
            return self.entities[entity_id]
        except KeyError:
            raise PlatformError(f"{entity_id} not found", code="not_found") from None

    def daily_metrics(self, start, end, level="ad"):
        return []

    def _write(self, entity_id, validate_only, **changes):
        with self._lock:
            before = self.entities[entity_id]
            if self.errors and not self.apply_then_fail:
                raise self.errors.pop(0)
            after = replace(before, **changes)
            response = {"id": entity_id, "success": True, "access_token": "EAAB-secret-token"}
            if validate_only:
                self.validations.append((entity_id, changes))
                return ChangeResult(before, before, response, validated_only=True)
            self.entities[entity_id] = after
            self.writes.append((entity_id, changes))
            if self.errors:
                raise self.errors.pop(0)
            return ChangeResult(before, after, response)

    def set_daily_budget(self, entity_id, amount, *, validate_only=False):
        return self._write(entity_id, validate_only, daily_budget=amount)

    def set_status(self, entity_id, status, *, validate_only=False):
        return self._write(entity_id, validate_only, status=status)

    def set_bid_amount(self, entity_id, amount, *, validate_only=False):
        return self._write(entity_id, validate_only, bid_amount=amount)


def adset(
    eid: str,
    budget: str = "100.00",
    *,
    learning: str = "success",
    status: str = "active",
    bid: str | None = None,
) -> EntityState:
    return EntityState(
        eid,
        "adset",
        f"Ad set {eid}",
        status,
        daily_budget=D(budget),
        bid_amount=D(bid) if bid else None,
        parent_id="c1",
        learning_stage=learning,
    )


@pytest.fixture()
def fake(monkeypatch):
    p = FakePlatform(
        adset("as1"),
        adset("as2"),
        adset("as3"),
        adset("as4"),
        adset("as5", bid="5.00"),
        adset("learn1", learning="learning"),
        EntityState("ad1", "ad", "Ad 1", "active", parent_id="as1"),
    )
    monkeypatch.setattr(ex, "_get_platform", lambda conn, *, tenant_id, platform: p)
    return p


PREDICTED_BUDGET = {
    "horizon_days": 7,
    "metrics": {
        "spend": {"p10": 840, "p50": 840, "p90": 840, "unit": "EUR"},
        "results": {"p10": 20, "p50": 25, "p90": 30, "unit": "results"},
        "roas": {"p10": 3.0, "p50": 3.5, "p90": 4.0, "unit": "ratio"},
    },
    "status_quo": {"spend": 700, "results": 22},
}


def add_suggestion(
    db,
    tenant_id,
    *,
    type: str = "scale",
    entity_id: str = "as1",
    entity_type: str = "adset",
    params: dict | None = None,
    status: str = "approved",
    confidence: int = 92,
    calibrated: int | None = None,
) -> int:
    if params is None:
        params = (
            {"daily_budget": {"from": 100.0, "to": 120.0, "change": 0.2}}
            if type in BUDGET_TYPES
            else {}
        )
    with db.tenant_tx(tenant_id) as conn:
        row = conn.execute(
            """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, action_params, evidence, confidence,
                 calibrated_confidence, platform, entity_type, entity_id, entity_name, status,
                 created_at, expires_at)
               values (%s, %s, %s, 'high', %s, 'because', 'more results', '{}', %s, %s,
                       '{"target_roas": 3}', %s, %s, 'meta', %s, %s, %s, %s, %s, %s)
               returning suggestion_id""",
            [
                tenant_id,
                date(2026, 3, 9),
                type,
                f"{type} {entity_id}",
                json.dumps(PREDICTED_BUDGET),
                json.dumps(params),
                confidence,
                calibrated,
                entity_type,
                entity_id,
                f"name {entity_id}",
                status,
                NOW - timedelta(hours=1),
                NOW + timedelta(hours=47),
            ],
        ).fetchone()
    return int(row["suggestion_id"])


def set_config(db, tenant_id, **cols):
    names = ", ".join(cols)
    with db.tenant_tx(tenant_id) as conn:
        conn.execute(
            f"insert into ads.platform_configs (tenant_id, platform, {names}) values (%s, 'meta', "
            f"{', '.join(['%s'] * len(cols))}) on conflict (tenant_id, platform) do update set "
            + ", ".join(f"{c} = excluded.{c}" for c in cols),
            [tenant_id, *cols.values()],
        )


def q(db, tenant_id, sql, *params):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(sql, [tenant_id, *params]).fetchall()


def sugg(db, tenant_id, sid):
    return q(
        db,
        tenant_id,
        "select * from ads.suggestions where tenant_id = %s and suggestion_id = %s",
        sid,
    )[0]


def logs(db, tenant_id, sid):
    return q(
        db,
        tenant_id,
        "select * from ads.execution_logs where tenant_id = %s and suggestion_id = %s "
        "order by execution_id",
        sid,
    )


def audits(db, tenant_id, action):
    return q(
        db, tenant_id, "select * from ads.audit_log where tenant_id = %s and action = %s", action
    )


# ------------------------------------------------------------------------------ happy path
def test_execute_applies_logs_audits_and_opens_the_hypothesis(db, tenant, fake):
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied", out.message
    assert fake.writes == [("as1", {"daily_budget": D("120.00")})]
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "applied" and row["success"] is True and row["error_message"] is None
    assert (
        row["before_state"]["daily_budget"] == 100.0 and row["after_state"]["daily_budget"] == 120.0
    )
    assert row["intended_state"]["daily_budget"] == 120.0
    assert row["api_response"]["success"] is True
    assert row["api_response"]["access_token"] == "[REDACTED]"
    assert row["idempotency_key"] == f"{tenant.tenant_id}:{sid}:1"
    assert row["executed_at"] == NOW
    s = sugg(db, tenant.tenant_id, sid)
    assert s["status"] == "executed" and s["guard_rail_note"]["outcome"] == "allowed"
    assert len(audits(db, tenant.tenant_id, "execution.applied")) == 1
    (h,) = q(db, tenant.tenant_id, "select * from ads.hypothesis_tracking where tenant_id = %s")
    assert h["suggestion_id"] == sid and h["execution_id"] == row["execution_id"]
    assert h["start_day"] == date(2026, 3, 11) and h["measurement_period_days"] == 7
    assert out.hypothesis_id == h["hypothesis_id"]
    # a second run changes nothing
    again = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert again.status == "skipped" and len(fake.writes) == 1


def test_pending_suggestion_is_not_executed(db, tenant, fake):
    sid = add_suggestion(db, tenant.tenant_id, status="pending")
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "skipped" and fake.writes == [] and logs(db, tenant.tenant_id, sid) == []


def test_budget_moved_since_the_suggestion_keeps_the_relative_change(db, tenant, fake):
    fake.entities["as1"] = adset("as1", "110.00")
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and fake.writes == [("as1", {"daily_budget": D("132.00")})]
    assert (
        sugg(db, tenant.tenant_id, sid)["guard_rail_note"]["asked"]["rebased_from_requested"]
        == 120.0
    )


def test_missing_entity_and_malformed_params_fail_cleanly(db, tenant, fake):
    gone = add_suggestion(db, tenant.tenant_id, entity_id="gone")
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=gone, now=NOW)
    assert out.status == "failed" and "not found" in out.message
    bad = add_suggestion(db, tenant.tenant_id, entity_id="as2",
                         params={"daily_budget": {"from": 100}})
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=bad, now=NOW)
    assert out.status == "failed" and "daily_budget.to" in out.message
    for sid in (gone, bad):
        assert sugg(db, tenant.tenant_id, sid)["status"] == "failed"
        assert [r["status"] for r in logs(db, tenant.tenant_id, sid)] == ["failed"]
    assert fake.writes == []


# ---------------------------------------------------------------------------- exactly once
def _race(db, tenant_id, sid, n=2):
    barrier = threading.Barrier(n)
    results: list[Any] = []

    def run():
        barrier.wait(timeout=20)
        results.append(ex.execute_suggestion(db, tenant_id=tenant_id, suggestion_id=sid, now=NOW))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(results, key=lambda r: r.status)


def test_two_concurrent_workers_apply_once(db, tenant, fake):
    sid = add_suggestion(db, tenant.tenant_id)
    outs = _race(db, tenant.tenant_id, sid)
    assert [o.status for o in outs] == ["applied", "skipped"]
    assert len(fake.writes) == 1
    assert [r["status"] for r in logs(db, tenant.tenant_id, sid)] == ["applied"]


def test_the_database_claim_alone_excludes_a_second_worker(db, tenant, fake, monkeypatch):
    """Without the advisory lock, both workers read the live state, then race to claim: one wins."""

    @contextmanager
    def no_lock(database, key):
        with database.pool.connection() as conn:
            yield conn

    monkeypatch.setattr(ex, "_entity_lock", no_lock)
    fake.read_barrier = threading.Barrier(2)  # both have read the state before either claims
    sid = add_suggestion(db, tenant.tenant_id)
    outs = _race(db, tenant.tenant_id, sid)
    assert [o.status for o in outs] == ["applied", "skipped"]
    assert outs[1].message == "claimed by another worker"  # the claim statement refused it
    assert len(fake.writes) == 1
    assert len(logs(db, tenant.tenant_id, sid)) == 1


def test_crash_after_the_platform_call_is_reconciled_never_reapplied(db, tenant, fake, monkeypatch):
    sid = add_suggestion(db, tenant.tenant_id)
    settle = ex._settle_success

    def crash(*a, **k):
        raise RuntimeError("worker died between the platform call and the database write")

    monkeypatch.setattr(ex, "_settle_success", crash)
    with pytest.raises(RuntimeError):
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    monkeypatch.setattr(ex, "_settle_success", settle)
    assert len(fake.writes) == 1
    assert sugg(db, tenant.tenant_id, sid)["status"] == "executing"
    assert [r["status"] for r in logs(db, tenant.tenant_id, sid)] == ["claimed"]
    # a restarted worker does not apply it again
    assert (
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW).status
        == "skipped"
    )
    assert ex.execute_approved(db, tenant_id=tenant.tenant_id, now=NOW) == []
    # a fresh claim is left alone (its worker may still be running)
    assert rc.reconcile(db, tenant_id=tenant.tenant_id, now=NOW + timedelta(minutes=1)) == 0
    assert rc.reconcile(db, tenant_id=tenant.tenant_id, now=NOW + timedelta(minutes=10)) == 1
    (row,) = logs(db, tenant.tenant_id, sid)
    assert (
        row["status"] == "reconciled"
        and row["success"]
        and row["after_state"]["daily_budget"] == 120.0
    )
    assert sugg(db, tenant.tenant_id, sid)["status"] == "executed"
    assert (
        len(q(db, tenant.tenant_id, "select 1 from ads.hypothesis_tracking where tenant_id = %s"))
        == 1
    )
    assert rc.reconcile(db, tenant_id=tenant.tenant_id, now=NOW + timedelta(hours=1)) == 0
    assert (
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW).status
        == "skipped"
    )
    assert len(fake.writes) == 1


def test_crash_before_the_platform_call_returns_to_approved_and_a_retry_applies_once(
    db, tenant, fake, monkeypatch
):
    sid = add_suggestion(db, tenant.tenant_id)
    call = ex._call_platform

    def crash(*a, **k):
        raise RuntimeError("worker died after the claim, before the platform call")

    monkeypatch.setattr(ex, "_call_platform", crash)
    with pytest.raises(RuntimeError):
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    monkeypatch.setattr(ex, "_call_platform", call)
    assert fake.writes == []
    assert rc.reconcile(db, tenant_id=tenant.tenant_id, now=NOW + timedelta(minutes=10)) == 1
    assert sugg(db, tenant.tenant_id, sid)["status"] == "approved"
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "failed" and "not applied" in row["error_message"]
    assert len(audits(db, tenant.tenant_id, "execution.returned")) == 1
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW + timedelta(minutes=11)
    )
    assert out.status == "applied" and len(fake.writes) == 1
    assert [r["idempotency_key"].rsplit(":", 1)[1] for r in logs(db, tenant.tenant_id, sid)] == [
        "1",
        "2",
    ]


# --------------------------------------------------------------------------- platform errors
def test_non_retryable_error_fails_with_the_message_redacted(db, tenant, fake):
    fake.errors = [
        PlatformError(
            "Invalid parameter: daily_budget",
            code="100",
            response={"error": {"message": "bad", "access_token": "EAAB"}},
        )
    ]
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "failed" and fake.writes == []
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "failed" and row["success"] is False
    assert row["error_message"] == "Invalid parameter: daily_budget"
    assert row["api_response"]["error"]["access_token"] == "[REDACTED]"
    assert sugg(db, tenant.tenant_id, sid)["status"] == "failed"
    assert len(audits(db, tenant.tenant_id, "execution.failed")) == 1


def test_retryable_errors_retry_up_to_max_attempts(db, tenant, fake):
    fake.errors = [
        PlatformError("rate limited", retryable=True, code="17") for _ in range(ex.MAX_ATTEMPTS)
    ]
    sid = add_suggestion(db, tenant.tenant_id)
    seen = []
    for _ in range(ex.MAX_ATTEMPTS):
        seen.append(
            ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW).status
        )
    assert seen == ["retry"] * (ex.MAX_ATTEMPTS - 1) + ["failed"]
    assert sugg(db, tenant.tenant_id, sid)["status"] == "failed"
    assert len(logs(db, tenant.tenant_id, sid)) == ex.MAX_ATTEMPTS and fake.writes == []


def test_retryable_error_after_the_change_happened_is_settled_once(db, tenant, fake):
    fake.errors = [PlatformError("timeout", retryable=True)]
    fake.apply_then_fail = True
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "reconciled" and len(fake.writes) == 1
    assert sugg(db, tenant.tenant_id, sid)["status"] == "executed"


# ----------------------------------------------------------------------- guard rails, end to end
def test_protected_entity_is_blocked_and_the_suggestion_says_which_rail(db, tenant, fake):
    set_config(db, tenant.tenant_id, protected_entity_ids=["as1"])
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "blocked" and out.rails == ("protected_entity",) and fake.writes == []
    s = sugg(db, tenant.tenant_id, sid)
    assert s["status"] == "blocked" and s["guard_rail_note"]["rails"] == ["protected_entity"]
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "blocked" and "protected" in row["error_message"]
    assert len(audits(db, tenant.tenant_id, "guard_rail.blocked")) == 1


def test_change_above_max_per_action_is_split(db, tenant, fake):
    sid = add_suggestion(
        db, tenant.tenant_id, params={"daily_budget": {"from": 100, "to": 150, "change": 0.5}}
    )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and fake.writes == [("as1", {"daily_budget": D("120.00")})]
    note = sugg(db, tenant.tenant_id, sid)["guard_rail_note"]
    assert note["outcome"] == "split" and "max_change_pct" in note["rails"]
    assert [s["to"] for s in note["remaining_steps"]] == [144.0, 150.0]


def test_cumulative_24h_rail_across_two_executions(db, tenant, fake):
    first = add_suggestion(db, tenant.tenant_id)
    assert (
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=first, now=NOW).status
        == "applied"
    )
    second = add_suggestion(
        db,
        tenant.tenant_id,
        type="budget_increase",
        params={"daily_budget": {"from": 120, "to": 144, "change": 0.2}},
    )
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=second, now=NOW + timedelta(hours=2)
    )
    assert out.status == "applied" and out.rails == ("max_change_pct_24h",)
    assert fake.writes[-1] == (
        "as1",
        {"daily_budget": D("130.00")},
    )  # +30% against 100 two hours ago
    third = add_suggestion(
        db,
        tenant.tenant_id,
        type="budget_decrease",
        entity_id="as2",
        params={"daily_budget": {"from": 100, "to": 80, "change": -0.2}},
    )
    assert (
        ex.execute_suggestion(
            db, tenant_id=tenant.tenant_id, suggestion_id=third, now=NOW + timedelta(hours=2)
        ).status
        == "applied"
    )  # another entity


def test_monthly_budget_max_blocks_an_increase(db, fake):
    t = new_tenant(db, monthly_budget_max=D("3100"))
    with db.tenant_tx(t.tenant_id) as conn:
        for i in range(1, 10):
            conn.execute(
                "insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, spend) "
                "values (%s, 'meta', 'campaign', 'c1', %s, 100)",
                [t.tenant_id, date(2026, 3, i)],
            )
    sid = add_suggestion(db, t.tenant_id)  # 900 + 22 x (100 + 20) > 3100
    out = ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "blocked" and out.rails == ("monthly_budget_max",) and fake.writes == []
    # a decrease is never held back by the monthly cap
    sid = add_suggestion(
        db,
        t.tenant_id,
        type="budget_decrease",
        entity_id="as2",
        params={"daily_budget": {"from": 100, "to": 80, "change": -0.2}},
    )
    assert (
        ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid, now=NOW).status
        == "applied"
    )


def test_min_daily_budget_floor_cuts_a_decrease(db, tenant, fake):
    set_config(db, tenant.tenant_id, min_daily_budget=90)
    sid = add_suggestion(
        db,
        tenant.tenant_id,
        type="budget_decrease",
        params={"daily_budget": {"from": 100, "to": 80, "change": -0.2}},
    )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and out.rails == ("min_daily_budget",)
    assert fake.writes == [("as1", {"daily_budget": D("90.00")})]


def test_learning_phase_blocks_unless_forced_by_a_person(db, tenant, fake):
    sid = add_suggestion(db, tenant.tenant_id, entity_id="learn1")
    with pytest.raises(InvalidInput):
        ex.execute_suggestion(
            db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW, force=True
        )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "blocked" and out.rails == ("learning_phase",) and fake.writes == []
    sid = add_suggestion(db, tenant.tenant_id, type="budget_increase", entity_id="learn1")
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW, actor="alice", force=True
    )
    assert out.status == "applied" and len(fake.writes) == 1
    (forced,) = audits(db, tenant.tenant_id, "guard_rail.forced")
    assert forced["actor"] == "alice" and forced["after"]["overridden"] == ["learning_phase"]
    assert sugg(db, tenant.tenant_id, sid)["guard_rail_note"]["forced_by"] == "alice"


def test_pause_during_learning_is_allowed(db, tenant, fake):
    sid = add_suggestion(
        db, tenant.tenant_id, type="pause", entity_id="learn1", params={"status": "paused"}
    )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and fake.writes == [("learn1", {"status": "paused"})]


def test_bid_adjustment_lowers_the_bid_cap(db, tenant, fake):
    sid = add_suggestion(
        db,
        tenant.tenant_id,
        type="bid_adjustment",
        entity_id="as5",
        params={"bid_cap": {"change": -0.10}},
    )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and fake.writes == [("as5", {"bid_amount": D("4.50")})]


def test_dry_run_changes_nothing_and_records_it(db, tenant, fake):
    set_config(db, tenant.tenant_id, dry_run=True)
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "dry_run" and fake.writes == [] and fake.validations == []
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "dry_run" and row["intended_state"]["daily_budget"] == 120.0
    s = sugg(db, tenant.tenant_id, sid)
    assert s["status"] == "blocked" and s["guard_rail_note"]["mode"] == "dry_run"
    assert (
        q(db, tenant.tenant_id, "select 1 from ads.hypothesis_tracking where tenant_id = %s") == []
    )


def test_validate_only_asks_the_platform_to_validate_and_changes_nothing(db, tenant, fake):
    set_config(db, tenant.tenant_id, validate_only=True)
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "dry_run" and fake.writes == []
    assert fake.validations == [("as1", {"daily_budget": D("120.00")})]
    assert fake.entities["as1"].daily_budget == D("100.00")
    (row,) = logs(db, tenant.tenant_id, sid)
    assert row["status"] == "dry_run" and row["api_response"]["access_token"] == "[REDACTED]"
    assert sugg(db, tenant.tenant_id, sid)["guard_rail_note"]["mode"] == "validate_only"


# ------------------------------------------------------------------------ not platform writes
def test_refresh_hands_a_creative_brief_to_the_validation_queue_once(db, tenant, fake):
    sid = add_suggestion(
        db,
        tenant.tenant_id,
        type="refresh",
        entity_id="ad1",
        entity_type="ad",
        params={"creative": "replace"},
    )
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW, actor="bob"
    )
    assert out.status == "handoff"
    assert (
        ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW).status
        == "skipped"
    )
    (item,) = q(db, tenant.tenant_id, "select * from ads.validation_queue where tenant_id = %s")
    assert item["item_type"] == "ad_creative" and item["content"]["suggestion_id"] == sid
    assert item["validation_stage"] == "client_review" and item["submitted_by"] == "bob"
    assert sugg(db, tenant.tenant_id, sid)["status"] == "executed" and fake.writes == []
    assert logs(db, tenant.tenant_id, sid)[0]["after_state"] == {
        "validation_queue_id": item["queue_id"]
    }


def test_campaign_diagnostic_is_not_executable(db, tenant, fake):
    sid = add_suggestion(
        db,
        tenant.tenant_id,
        type="campaign_diagnostic",
        entity_id="c1",
        entity_type="campaign",
        params={"investigate": "cpa"},
    )
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert (
        out.status == "not_executable" and sugg(db, tenant.tenant_id, sid)["status"] == "approved"
    )


def test_execute_approved_runs_every_approved_suggestion_once(db, tenant, fake):
    a = add_suggestion(db, tenant.tenant_id)
    b = add_suggestion(
        db, tenant.tenant_id, type="pause", entity_id="as2", params={"status": "paused"}
    )
    add_suggestion(
        db, tenant.tenant_id, type="campaign_diagnostic", entity_id="c1", entity_type="campaign"
    )
    add_suggestion(db, tenant.tenant_id, entity_id="as3", status="pending")
    outs = ex.execute_approved(db, tenant_id=tenant.tenant_id, now=NOW)
    assert sorted((o.suggestion_id, o.status) for o in outs) == [(a, "applied"), (b, "applied")]
    assert len(fake.writes) == 2
    assert ex.execute_approved(db, tenant_id=tenant.tenant_id, now=NOW) == []


# ------------------------------------------------------------------------------ auto-apply
def test_auto_apply_is_off_by_default(db, tenant, fake):
    sid = add_suggestion(db, tenant.tenant_id, status="pending", confidence=99)
    assert aa.auto_apply(db, tenant_id=tenant.tenant_id, now=NOW) == []
    set_config(db, tenant.tenant_id, max_change_pct=25)  # a config row, auto-apply still off
    assert aa.auto_apply(db, tenant_id=tenant.tenant_id, now=NOW) == []
    assert sugg(db, tenant.tenant_id, sid)["status"] == "pending" and fake.writes == []


def test_auto_apply_only_above_threshold_and_inside_every_rail(db, tenant, fake):
    set_config(db, tenant.tenant_id, auto_apply_recommendations=True, min_auto_apply_confidence=90)
    high = add_suggestion(db, tenant.tenant_id, status="pending", confidence=95, entity_id="as1")
    calibrated_up = add_suggestion(
        db, tenant.tenant_id, status="pending", confidence=85, calibrated=93, entity_id="as2"
    )
    calibrated_down = add_suggestion(
        db, tenant.tenant_id, status="pending", confidence=95, calibrated=70, entity_id="as3"
    )
    too_big = add_suggestion(
        db,
        tenant.tenant_id,
        status="pending",
        confidence=97,
        entity_id="as4",
        params={"daily_budget": {"from": 100, "to": 150, "change": 0.5}},
    )
    refresh = add_suggestion(
        db,
        tenant.tenant_id,
        status="pending",
        confidence=99,
        type="refresh",
        entity_id="ad1",
        entity_type="ad",
    )
    outs = {o.suggestion_id: o for o in aa.auto_apply(db, tenant_id=tenant.tenant_id, now=NOW)}
    # live states read once for the batch, then once per executed suggestion (under its lock)
    assert fake.reads == {"list_entities": 1, "get_entity": 2}
    assert outs[high].status == "applied" and outs[high].auto_applied
    assert outs[calibrated_up].status == "applied"
    assert outs[too_big].status == "held" and "max_change_pct" in outs[too_big].rails
    assert calibrated_down not in outs and refresh not in outs
    assert sorted(e for e, _ in fake.writes) == ["as1", "as2"]
    s = sugg(db, tenant.tenant_id, high)
    assert s["status"] == "executed" and s["auto_applied"] and s["decided_by"] == "auto-apply"
    (d,) = q(
        db,
        tenant.tenant_id,
        "select * from ads.decisions where tenant_id = %s and suggestion_id = %s",
        high,
    )
    assert d["channel"] == "auto" and d["decision"] == "approved"
    held = sugg(db, tenant.tenant_id, too_big)
    assert held["status"] == "pending" and not held["auto_applied"]
    assert "auto_apply" in held["guard_rail_note"]
    assert sugg(db, tenant.tenant_id, calibrated_down)["status"] == "pending"
    assert sugg(db, tenant.tenant_id, refresh)["status"] == "pending"
    # a second pass finds nothing new to apply
    again = aa.auto_apply(db, tenant_id=tenant.tenant_id, now=NOW)
    assert [o.status for o in again] == ["held"] and len(fake.writes) == 2


def test_auto_apply_respects_dry_run(db, tenant, fake):
    set_config(db, tenant.tenant_id, auto_apply_recommendations=True, dry_run=True)
    sid = add_suggestion(db, tenant.tenant_id, status="pending", confidence=95)
    (out,) = aa.auto_apply(db, tenant_id=tenant.tenant_id, now=NOW)
    assert out.status == "dry_run" and out.auto_applied and fake.writes == []
    assert sugg(db, tenant.tenant_id, sid)["status"] == "blocked"


# --------------------------------------------------------------------- with the sandbox account
@pytest.fixture()
def sandbox(db, monkeypatch):
    """A tenant with a simulated ad account (35 days of history up to 2026-03-09).

    Uses the connectors' registry when it exists, else loads the sandbox account directly.
    """
    sbx = pytest.importorskip("growthops.connectors.sandbox")
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        sbx.create_sandbox_account(conn, tenant_id=t.tenant_id, seed=7, start=date(2026, 2, 3),
                                   days_history=35)
    try:
        import growthops.connectors.registry  # noqa: F401
    except ImportError:
        monkeypatch.setattr(ex, "_get_platform", lambda conn, *, tenant_id, platform:
                            sbx.SandboxAccount.load(conn, tenant_id=tenant_id, platform=platform))
    return t, sbx


def _sbx_entity(db, t, sbx, eid):
    with db.tenant_tx(t.tenant_id) as conn:
        return sbx.SandboxAccount.load(conn, tenant_id=t.tenant_id, platform="meta").get_entity(eid)


def _sbx_changes(db, t, eid):
    return q(db, t.tenant_id, "select * from ads.sandbox_changes where tenant_id = %s "
             "and entity_id = %s", eid)


def _scale(db, t, sbx, eid, change=0.2):
    cur = float(_sbx_entity(db, t, sbx, eid).daily_budget)
    params = {"daily_budget": {"from": cur, "to": round(cur * (1 + change), 2), "change": change}}
    return add_suggestion(db, t.tenant_id, entity_id=eid, params=params), cur


def test_sandbox_race_and_crash_apply_each_change_once(db, sandbox, monkeypatch):
    t, sbx = sandbox
    # two workers on one suggestion
    sid, cur = _scale(db, t, sbx, "sbx-c1-s1")
    outs = _race(db, t.tenant_id, sid)
    assert [o.status for o in outs] == ["applied", "skipped"]
    assert len(_sbx_changes(db, t, "sbx-c1-s1")) == 1
    assert _sbx_entity(db, t, sbx, "sbx-c1-s1").daily_budget == cents(cur * 1.2)
    # a crash after the platform call: the sandbox change is committed, the claim is not settled
    sid2, cur2 = _scale(db, t, sbx, "sbx-c1-s3")
    settle = ex._settle_success
    monkeypatch.setattr(ex, "_settle_success", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid2, now=NOW)
    monkeypatch.setattr(ex, "_settle_success", settle)
    assert rc.reconcile(db, tenant_id=t.tenant_id, now=NOW + timedelta(minutes=6)) == 1
    assert ex.execute_approved(db, tenant_id=t.tenant_id, now=NOW + timedelta(minutes=7)) == []
    assert len(_sbx_changes(db, t, "sbx-c1-s3")) == 1
    (row,) = logs(db, t.tenant_id, sid2)
    assert row["status"] == "reconciled" and row["after_state"]["daily_budget"] == float(
        cents(cur2 * 1.2))
    hyps = q(db, t.tenant_id, "select suggestion_id, baseline_metrics from ads.hypothesis_tracking "
             "where tenant_id = %s order by suggestion_id")
    assert [h["suggestion_id"] for h in hyps] == [sid, sid2]
    assert hyps[0]["baseline_metrics"]["entity"]["spend"] > 0  # the sandbox's history is read


def test_sandbox_learning_limited_is_editable_and_rails_hold(db, sandbox):
    t, sbx = sandbox
    assert _sbx_entity(db, t, sbx, "sbx-c1-s2").learning_stage == "learning_limited"
    sid, _ = _scale(db, t, sbx, "sbx-c1-s2")
    assert ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid,
                                 now=NOW).status == "applied"
    # +50% on another ad set: split to +20% now, no learning restart in the sandbox
    sid, cur = _scale(db, t, sbx, "sbx-c2-s1", change=0.5)
    out = ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and "max_change_pct" in out.rails
    (change,) = _sbx_changes(db, t, "sbx-c2-s1")
    assert change["significant"] is False
    assert _sbx_entity(db, t, sbx, "sbx-c2-s1").daily_budget == cents(cur * 1.2)
