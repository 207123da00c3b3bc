"""Decisions on real suggestions of the daily cycle: approve, refuse, backlog, conflicts, audit,
concurrency and the history that answers "who approved it, why, and what happened"."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from growthops.ads.action import audit
from growthops.ads.action.decisions import DecisionConflict, decide, decide_query, decided, history
from growthops.ads.cycle import run_daily_cycle
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.cli import app as cli_app
from growthops.core.errors import InvalidInput, NotFound
from tests.ads.staff import staff
from tests.conftest import new_tenant

END = date(2024, 3, 31)
PLAN = Plan(campaigns=2, adsets_per_campaign=3, ads_per_adset=3, days=60, end=END,
            base_spend=150.0, bad_adsets=(1,), great_adsets=(0,), fatigued_ads=(6,),
            budget_adsets=(2, 5))


def account(db, clock: datetime | None = None, **fields):
    """A tenant with the synthetic account and its pending suggestions (ids, review order)."""
    t = new_tenant(db, **fields)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    res = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END, clock=clock)
    assert res is not None and len(res.suggestion_ids) >= 4
    return t, sorted(res.suggestion_ids)


@pytest.fixture()
def acct(db):
    return account(db)


def _one(db, tid, sql, params=()):
    with db.tenant_tx(tid) as conn:
        return conn.execute(sql, params).fetchone()


def test_approve_writes_decision_status_and_audit(db, acct):
    t, ids = acct
    with db.tenant_tx(t.tenant_id) as conn:
        res = decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[0], decision="approved",
                     decided_by="  alice ", notes="ROAS 4x for two weeks")
    assert (res["status_before"], res["status"], res["decided_by"]) == ("pending", "approved", "alice")
    s = _one(db, t.tenant_id, "select status, decided_by, decided_at from ads.suggestions "
             "where suggestion_id = %s", [ids[0]])
    assert s["status"] == "approved" and s["decided_by"] == "alice"
    d = _one(db, t.tenant_id, "select * from ads.decisions where suggestion_id = %s", [ids[0]])
    assert (d["decision"], d["notes"], d["channel"]) == ("approved", "ROAS 4x for two weeks", "cli")
    with db.tenant_tx(t.tenant_id) as conn:
        rows = audit.trail(conn, tenant_id=t.tenant_id, object_type="suggestion", object_id=ids[0])
    assert len(rows) == 1
    a = rows[0]
    assert (a["actor"], a["action"], a["reason"]) == ("alice", "suggestion.approved", "ROAS 4x for two weeks")
    assert a["before"] == {"status": "pending"} and a["after"]["status"] == "approved"
    assert a["after"]["decision_id"] == d["decision_id"] and a["entity_id"] == res["entity_id"]


def test_a_decided_suggestion_cannot_be_decided_again(db, acct):
    t, ids = acct
    with db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[0], decision="refused",
               decided_by="bob", notes="client freeze", channel="slack")
    for again in ("approved", "refused", "backlog"):
        with pytest.raises(DecisionConflict) as err, db.tenant_tx(t.tenant_id) as conn:
            decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[0], decision=again,
                   decided_by="carol")
        msg = str(err.value)
        assert "already refused" in msg and "by bob" in msg and "via slack" in msg
        assert err.value.reason == "decided" and err.value.decided_by == "bob"
    n = _one(db, t.tenant_id, "select count(*) as n from ads.decisions where suggestion_id = %s", [ids[0]])
    assert n["n"] == 1


def test_backlog_then_approve_and_history_tells_the_story(db, acct):
    t, ids = acct
    sid = ids[1]
    with db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=sid, decision="backlog", decided_by="bob",
               notes="wait for the promo")
    with pytest.raises(DecisionConflict, match="already in backlog"), db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=sid, decision="backlog", decided_by="carol")
    with db.tenant_tx(t.tenant_id) as conn:
        res = decide(conn, tenant_id=t.tenant_id, suggestion_id=sid, decision="approved",
                     decided_by="alice", notes="promo over")
    assert res["status_before"] == "backlog"
    # What the execution and learning helpers write afterwards (simulated here).
    with db.tenant_tx(t.tenant_id) as conn:
        s = conn.execute("select * from ads.suggestions where suggestion_id = %s", [sid]).fetchone()
        ex = conn.execute(
            """insert into ads.execution_logs (tenant_id, suggestion_id, idempotency_key, action_type,
                 platform, entity_type, entity_id, status, executed_at, before_state, after_state, success)
               values (%s, %s, %s, 'budget_change', %s, %s, %s, 'applied', now(), %s, %s, true)
               returning execution_id""",
            [t.tenant_id, sid, f"sug-{sid}", s["platform"], s["entity_type"], s["entity_id"],
             Jsonb({"daily_budget": 100}), Jsonb({"daily_budget": 120})]).fetchone()
        audit.record(conn, tenant_id=t.tenant_id, actor="system", action="execution.applied",
                     object_type="execution", object_id=ex["execution_id"], platform=s["platform"],
                     entity_id=s["entity_id"], before={"daily_budget": 100}, after={"daily_budget": 120})
        conn.execute(
            """insert into ads.hypothesis_tracking (tenant_id, suggestion_id, execution_id, suggestion_type,
                 platform, entity_type, entity_id, hypothesis_text, predicted_metrics, confidence_score,
                 executed_at, start_day, measurement_end_date, outcome, measured_at)
               values (%s, %s, %s, %s, %s, %s, %s, 'more conversions', '{}', 90, now(), %s, %s,
                       'validated', now())""",
            [t.tenant_id, sid, ex["execution_id"], s["type"], s["platform"], s["entity_type"],
             s["entity_id"], END + timedelta(days=1), END + timedelta(days=7)])
    with db.tenant_tx(t.tenant_id) as conn:
        by_entity = history(conn, tenant_id=t.tenant_id, entity_id=s["entity_id"])
        one = history(conn, tenant_id=t.tenant_id, suggestion_id=sid)
    assert [e["suggestion"]["suggestion_id"] for e in one] == [sid]
    assert sid in {e["suggestion"]["suggestion_id"] for e in by_entity}
    assert all(e["suggestion"]["entity_id"] == s["entity_id"] for e in by_entity)
    e = one[0]
    assert [(d["decision"], d["decided_by"], d["notes"]) for d in e["decisions"]] == [
        ("backlog", "bob", "wait for the promo"), ("approved", "alice", "promo over")]
    assert e["executions"][0]["after_state"] == {"daily_budget": 120}
    assert e["hypothesis"]["outcome"] == "validated"
    assert [a["action"] for a in e["audit"]] == ["suggestion.backlog", "suggestion.approved",
                                                 "execution.applied"]
    assert e["summary"] == ('backlog by bob ("wait for the promo") -> approved by alice '
                            '("promo over") -> applied -> validated')


def test_expired_suggestions_cannot_be_decided(db, acct):
    t, ids = acct
    s = _one(db, t.tenant_id, "select expires_at from ads.suggestions where suggestion_id = %s", [ids[2]])
    with pytest.raises(DecisionConflict) as err, db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[2], decision="approved",
               decided_by="alice", now=s["expires_at"])  # expires_at <= now: expired
    assert err.value.reason == "expired" and "expired on" in str(err.value)
    assert "status pending" in str(err.value)
    # Marked expired by a later cycle: refused as well, and nothing was written.
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.suggestions set status = 'expired' where suggestion_id = %s", [ids[2]])
    with pytest.raises(DecisionConflict, match="expired"), db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[2], decision="refused", decided_by="bob")
    assert _one(db, t.tenant_id, "select count(*) as n from ads.decisions")["n"] == 0
    assert _one(db, t.tenant_id, "select count(*) as n from ads.audit_log")["n"] == 0


def test_unknown_other_tenants_and_bad_input(db, acct):
    t, ids = acct
    other = new_tenant(db)
    with pytest.raises(NotFound), db.tenant_tx(other.tenant_id) as conn:
        decide(conn, tenant_id=other.tenant_id, suggestion_id=ids[0], decision="approved", decided_by="x")
    with pytest.raises(NotFound), db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=10**12, decision="approved", decided_by="x")
    for kwargs, field in [({"decision": "ok"}, "decision"), ({"decided_by": " "}, "decided_by"),
                          ({"channel": "fax"}, "channel"), ({"now": datetime(2024, 1, 1)}, "now")]:
        args = {"decision": "approved", "decided_by": "alice", **kwargs}
        with pytest.raises(InvalidInput, match=field), db.tenant_tx(t.tenant_id) as conn:
            decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[0], **args)


def test_the_decision_alone_binds_its_tenant_and_refuses_another(db, acct):
    # ads.decide_suggestion (migration 0196): sent alone on an autocommit connection (the API's
    # way) it is its own transaction bound to its tenant; inside a transaction bound to another
    # tenant it refuses before writing anything; another tenant's suggestion is not found
    t, ids = acct
    other = new_tenant(db)
    sql, params = decide_query(tenant_id=t.tenant_id, suggestion_id=ids[0],
                               decision="approved", decided_by="alice", channel="api")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(other.tenant_id) as c:
        c.execute(sql, params)
    assert _one(db, t.tenant_id, "select status from ads.suggestions where suggestion_id = %s",
                [ids[0]])["status"] == "pending"
    stolen, stolen_params = decide_query(tenant_id=other.tenant_id, suggestion_id=ids[0],
                                         decision="approved", decided_by="mallory")
    assert db.one_statement(stolen, stolen_params) == []
    (row,) = db.one_statement(sql, params)
    assert (row["suggestion_id"], row["status_before"], row["status"], row["channel"],
            row["has_ad_account"]) == (ids[0], "pending", "approved", "api", False)
    assert decided(None, row, params)["audit_id"] == row["audit_id"]
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) as n from ads.decisions").fetchone()["n"] == 1
        entry = conn.execute("select actor, after from ads.audit_log where audit_id = %s",
                             [row["audit_id"]]).fetchone()
    assert entry["actor"] == "alice" and entry["after"]["decision_id"] == row["decision_id"]
    with db.app_tx() as conn:  # the tenant did not outlive the statement on its connection
        assert conn.execute("select current_setting('app.tenant_id', true) as t"
                            ).fetchone()["t"] in (None, "")


def test_two_reviewers_at_once_make_one_decision(db, acct):
    """A holds the row (decided, not committed); B's UPDATE waits on the row lock, then finds the
    suggestion approved and gets a Conflict: one decision row, one audit entry."""
    t, ids = acct
    sid = ids[3]
    a_decided, release_a = threading.Event(), threading.Event()
    out: dict[str, object] = {}

    def reviewer_a() -> None:
        with db.tenant_tx(t.tenant_id) as conn:
            out["a"] = decide(conn, tenant_id=t.tenant_id, suggestion_id=sid, decision="approved",
                              decided_by="alice")
            a_decided.set()
            release_a.wait(30)

    def reviewer_b() -> None:
        a_decided.wait(30)
        try:
            with db.tenant_tx(t.tenant_id) as conn:
                out["b"] = decide(conn, tenant_id=t.tenant_id, suggestion_id=sid,
                                  decision="refused", decided_by="bob")
        except Exception as exc:  # noqa: BLE001 - inspected below
            out["b"] = exc

    threads = [threading.Thread(target=reviewer_a), threading.Thread(target=reviewer_b)]
    for th in threads:
        th.start()
    assert a_decided.wait(30)
    # Wait (bounded) until B is blocked on A's row lock, then let A commit.
    with psycopg.connect(db.admin_uri, autocommit=True) as admin:
        for _ in range(2000):
            waiting = admin.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock' and query like '%%update ads.suggestions%%'").fetchone()[0]
            if waiting or "b" in out:
                break
            threading.Event().wait(0.005)
    release_a.set()
    for th in threads:
        th.join(30)
    assert isinstance(out["b"], DecisionConflict) and "already approved" in str(out["b"])
    rows = _one(db, t.tenant_id, "select count(*) as n, min(decided_by) as who from ads.decisions "
                "where suggestion_id = %s", [sid])
    assert (rows["n"], rows["who"]) == (1, "alice")
    assert _one(db, t.tenant_id, "select count(*) as n from ads.audit_log where object_id = %s",
                [str(sid)])["n"] == 1


def test_audit_log_is_append_only(db, acct):
    t, ids = acct
    with db.tenant_tx(t.tenant_id) as conn:
        aid = audit.record(conn, tenant_id=t.tenant_id, actor="alice", action="platform_config.changed",
                           object_type="platform_config", object_id="meta",
                           before={"access_token": "EAAB-secret", "max_change_pct": 20},
                           after={"max_change_pct": 30}, reason="more room")
    row = _one(db, t.tenant_id, "select before from ads.audit_log where audit_id = %s", [aid])
    assert row["before"] == {"access_token": "[REDACTED]", "max_change_pct": 20}
    for stmt in ("update ads.audit_log set actor = 'mallory'", "delete from ads.audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(t.tenant_id) as conn:
            conn.execute(stmt)
    with db.admin() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("update ads.audit_log set actor = 'mallory' where audit_id = %s", [aid])
    assert _one(db, t.tenant_id, "select actor from ads.audit_log where audit_id = %s", [aid])["actor"] == "alice"


def test_cli_approve_conflict_and_history_in_two_languages(db, acct, monkeypatch):
    t, ids = acct
    alice, bob = staff(db, "alice"), staff(db, "bob")
    runner = CliRunner()
    key = t.client_key
    res = runner.invoke(cli_app, ["suggestions", "approve", str(ids[0]), "--tenant", key,
                                  "--by", alice, "--notes", "clear winner"])
    assert res.exit_code == 0, res.output
    assert f"Suggestion {ids[0]}: approved by {alice} (was pending)." in " ".join(res.output.split())
    res = runner.invoke(cli_app, ["suggestions", "refuse", str(ids[0]), "--tenant", key, "--by", bob])
    assert res.exit_code == 5
    text = " ".join(res.output.split())
    assert f"Suggestion {ids[0]} is already approved (by {alice} on" in text and "via cli" in text
    res = runner.invoke(cli_app, ["suggestions", "refuse", str(ids[0]), "--tenant", key, "--by", bob,
                                  "--lang", "fr"])
    assert res.exit_code == 5 and f"est déjà approuvée (par {alice}" in " ".join(res.output.split())
    res = runner.invoke(cli_app, ["suggestions", "backlog", str(ids[1]), "--tenant", key, "--by", bob,
                                  "--lang", "fr"])
    assert res.exit_code == 0 and f"en réserve par {bob}" in " ".join(res.output.split())
    from growthops.core.cli import console

    monkeypatch.setattr(console, "width", 300)  # a wide terminal: no cell folds a name
    res = runner.invoke(cli_app, ["suggestions", "history", "--tenant", key, "--id", str(ids[0])])
    assert res.exit_code == 0 and alice in " ".join(res.output.split()) and "clear winner" in " ".join(res.output.split())
    res = runner.invoke(cli_app, ["audit", "--tenant", key])
    assert res.exit_code == 0 and "suggestion.approved" in res.output and "suggestion.backlog" in res.output
    res = runner.invoke(cli_app, ["suggestions", "approve", "999999999", "--tenant", key, "--by", alice])
    assert res.exit_code != 0 and isinstance(res.exception, NotFound)


def test_now_defaults_to_utc_and_created_at_follows_it(db):
    """A simulated clock (demo, benchmark) keeps decisions on its own timeline."""
    clock = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
    t, ids = account(db, clock=clock)
    at = clock + timedelta(hours=3)
    with db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ids[0], decision="approved",
               decided_by="alice", now=at)
    d = _one(db, t.tenant_id, "select decided_at, created_at from ads.decisions")
    assert d["decided_at"] == at and d["created_at"] == at
    assert _one(db, t.tenant_id, "select occurred_at from ads.audit_log")["occurred_at"] == at
