"""The validation queue: the pure transition table, the two review stages with who and when,
rejection, expiry, concurrent reviewers, the audit entries and the CLI."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from growthops.ads.action import audit, validation
from growthops.ads.action.validation import TRANSITIONS, next_stage
from growthops.cli import app as cli_app
from growthops.core.errors import Conflict, InvalidInput, NotFound
from tests.conftest import new_tenant

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


def test_transition_table_is_complete_and_final_stages_are_final():
    assert next_stage("client_review", "advance")[:2] == ("team_review", "pending")
    assert next_stage("team_review", "advance")[:2] == ("approved", "approved")
    assert next_stage("client_review", "reject")[:2] == ("rejected", "rejected")
    assert next_stage("team_review", "reject")[:2] == ("rejected", "rejected")
    for final in ("approved", "rejected"):
        for action in ("advance", "reject"):
            with pytest.raises(Conflict, match="final"):
                next_stage(final, action)
    with pytest.raises(InvalidInput, match="action"):
        next_stage("client_review", "skip")
    # Every reachable stage is a declared stage; only the two review stages have exits.
    assert {s for s, _ in TRANSITIONS} == {"client_review", "team_review"}
    assert {to for to, _, _ in TRANSITIONS.values()} <= set(validation.STAGES)


def _submit(conn, t, **kw):
    args = {"item_type": "ad_creative", "item_name": "Spring hook v2", "submitted_by": "dana",
            "content": {"headline": "Spring is here", "suggestion_id": 42}, "now": T0}
    args.update(kw)
    return validation.submit(conn, tenant_id=t.tenant_id, **args)


def test_client_then_team_review_with_who_and_when_and_audit(db, tenant):
    t = tenant
    with db.tenant_tx(t.tenant_id) as conn:
        item = _submit(conn, t)
        qid = item["queue_id"]
        assert (item["validation_stage"], item["status"]) == ("client_review", "pending")
        assert item["expires_at"] == T0 + timedelta(hours=72)
        one = validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="client-cmo",
                                 now=T0 + timedelta(hours=1))
        assert (one["validation_stage"], one["status"]) == ("team_review", "pending")
        assert one["client_validated_by"] == "client-cmo"
        assert one["client_validated_at"] == T0 + timedelta(hours=1)
        two = validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="team-lead",
                                 now=T0 + timedelta(hours=2))
        assert (two["validation_stage"], two["status"]) == ("approved", "approved")
        assert (two["team_validated_by"], two["team_validated_at"]) == ("team-lead", T0 + timedelta(hours=2))
        with pytest.raises(Conflict, match="already approved .by team-lead"):
            validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="x", now=T0 + timedelta(hours=3))
        with pytest.raises(Conflict, match="already approved"):
            validation.reject(conn, tenant_id=t.tenant_id, queue_id=qid, by="x", reason="late",
                              now=T0 + timedelta(hours=3))
        rows = audit.trail(conn, tenant_id=t.tenant_id, object_type="validation_item", object_id=qid)
    assert [r["action"] for r in reversed(rows)] == ["validation.submitted", "validation.advanced",
                                                     "validation.advanced"]
    assert rows[0]["before"] == {"stage": "team_review", "status": "pending"}
    assert rows[0]["after"] == {"stage": "approved", "status": "approved", "suggestion_id": 42}
    assert [r["actor"] for r in reversed(rows)] == ["dana", "client-cmo", "team-lead"]


def test_reject_at_team_review_needs_a_reason(db, tenant):
    t = tenant
    with db.tenant_tx(t.tenant_id) as conn:
        qid = _submit(conn, t, item_type="budget_increase", content={"from": 100, "to": 150})["queue_id"]
        validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="client", now=T0)
        with pytest.raises(InvalidInput, match="reason"):
            validation.reject(conn, tenant_id=t.tenant_id, queue_id=qid, by="lead", reason="  ", now=T0)
        row = validation.reject(conn, tenant_id=t.tenant_id, queue_id=qid, by="lead",
                                reason="over the monthly cap", now=T0 + timedelta(minutes=5))
    assert (row["validation_stage"], row["status"], row["rejected_by"]) == ("rejected", "rejected", "lead")
    assert row["rejection_reason"] == "over the monthly cap"
    assert row["client_validated_by"] == "client" and row["team_validated_by"] is None


def test_expired_items_cannot_advance_and_are_marked_once(db, tenant):
    t = tenant
    with db.tenant_tx(t.tenant_id) as conn:
        qid = _submit(conn, t, ttl_hours=1)["queue_id"]
        keep = _submit(conn, t, item_name="still fresh")["queue_id"]
        late = T0 + timedelta(hours=1)  # expires_at <= now: expired
        with pytest.raises(Conflict, match="expired on 2024-04-01 10:00 UTC at stage client_review"):
            validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="client", now=late)
        with pytest.raises(Conflict, match="expired"):
            validation.reject(conn, tenant_id=t.tenant_id, queue_id=qid, by="client", reason="no", now=late)
        items, total = validation.list_items(conn, tenant_id=t.tenant_id, status="expired", now=late)
        assert [i["queue_id"] for i in items] == [qid] and total == 1
        assert items[0]["status"] == "pending"  # effective status only, nothing written yet
        assert validation.expire_due(conn, tenant_id=t.tenant_id, now=late) == 1
        assert validation.expire_due(conn, tenant_id=t.tenant_id, now=late) == 0
        item = validation.get_item(conn, tenant_id=t.tenant_id, queue_id=qid, now=late)
        assert (item["status"], item["validation_stage"]) == ("expired", "client_review")
        assert validation.get_item(conn, tenant_id=t.tenant_id, queue_id=keep, now=late)["status"] == "pending"
        rows = audit.trail(conn, tenant_id=t.tenant_id, object_type="validation_item", object_id=qid)
    assert rows[0]["action"] == "validation.expired" and rows[0]["actor"] == "system"
    assert rows[0]["after"] == {"stage": "client_review", "status": "expired", "suggestion_id": "42"}


def test_bad_input_and_other_tenants(db, tenant):
    t = tenant
    with db.tenant_tx(t.tenant_id) as conn:
        for kw, field in [({"item_type": "banner"}, "item_type"), ({"item_name": ""}, "item_name"),
                          ({"submitted_by": ""}, "submitted_by"), ({"ttl_hours": 0}, "ttl_hours"),
                          ({"content": ["x"]}, "content")]:
            with pytest.raises(InvalidInput, match=field):
                _submit(conn, t, **kw)
        qid = _submit(conn, t)["queue_id"]
        with pytest.raises(InvalidInput, match="status"):
            validation.list_items(conn, tenant_id=t.tenant_id, status="done")
    other = new_tenant(db)
    with pytest.raises(NotFound), db.tenant_tx(other.tenant_id) as conn:
        validation.advance(conn, tenant_id=other.tenant_id, queue_id=qid, by="x")


def test_two_reviewers_advancing_at_once_move_the_item_one_stage(db, tenant):
    t = tenant
    with db.tenant_tx(t.tenant_id) as conn:
        qid = _submit(conn, t, now=datetime.now(UTC))["queue_id"]
    a_done, release_a = threading.Event(), threading.Event()
    out: dict[str, object] = {}

    def a() -> None:
        with db.tenant_tx(t.tenant_id) as conn:
            out["a"] = validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="client-a")
            a_done.set()
            release_a.wait(30)

    def b() -> None:
        a_done.wait(30)
        try:
            with db.tenant_tx(t.tenant_id) as conn:
                out["b"] = validation.advance(conn, tenant_id=t.tenant_id, queue_id=qid, by="client-b")
        except Exception as exc:  # noqa: BLE001 - inspected below
            out["b"] = exc

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for th in threads:
        th.start()
    assert a_done.wait(30)
    with psycopg.connect(db.admin_uri, autocommit=True) as admin:
        for _ in range(2000):
            if admin.execute("select count(*) from pg_stat_activity where datname = current_database() "
                             "and wait_event_type = 'Lock' and query like '%%validation_queue%%'"
                             ).fetchone()[0]:
                break
            threading.Event().wait(0.005)
    release_a.set()
    for th in threads:
        th.join(30)
    assert isinstance(out["b"], Conflict) and "changed while you acted" in str(out["b"])
    with db.tenant_tx(t.tenant_id) as conn:
        item = validation.get_item(conn, tenant_id=t.tenant_id, queue_id=qid)
        n = conn.execute("select count(*) as n from ads.audit_log where object_type = 'validation_item' "
                         "and action = 'validation.advanced' and object_id = %s", [str(qid)]).fetchone()["n"]
    assert (item["validation_stage"], item["client_validated_by"], n) == ("team_review", "client-a", 1)


def test_cli_submit_advance_reject_list(db, tenant):
    key = tenant.client_key
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        res = runner.invoke(cli_app, list(args))
        assert res.exit_code == code, res.output
        return " ".join(res.output.split())

    out = run("validation", "submit", "--tenant", key, "--type", "campaign_change", "--name",
              "Split retargeting", "--by", "dana", "--content", '{"campaign": "camp1"}', "--suggestion", "7")
    qid = int(out.split("Validation item ")[1].split()[0])
    assert "in client review until" in out
    assert "client_review → team_review (by cmo)" in run("validation", "advance", str(qid), "--tenant", key, "--by", "cmo")
    assert "rejected at team_review by lead: not now" in run("validation", "reject", str(qid), "--tenant", key,
                                                         "--by", "lead", "--reason", "not now")
    out = run("validation", "advance", str(qid), "--tenant", key, "--by", "cmo", "--lang", "fr", code=5)
    assert f"L'élément {qid} est déjà" in out and "par lead" in out
    listed = run("validation", "list", "--tenant", key)
    assert "Split" in listed and "lead" in listed and "(1/1)" in listed
    assert "--content: not valid JSON" in str(runner.invoke(cli_app, [
        "validation", "submit", "--tenant", key, "--type", "ad_creative", "--name", "x", "--by", "y",
        "--content", "{oops"]).exception)
