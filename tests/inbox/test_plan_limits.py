"""The plan's limits are enforced (issue 12): knowledge-base storage (a document past it is
refused with an error naming the limit, nothing stored; ``kb_ingest`` charged when the plan
charges ingestion), monitored posts (rules that could monitor more posts than the plan are
refused) and AI replies per month (the monthly allowance)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from growthops.inbox import comments, credits
from growthops.inbox.accounts import connect
from growthops.inbox.ai import kb
from tests.api.conftest import make_key
from tests.conftest import new_tenant
from tests.inbox.conftest import inbox_tenant

MB = credits.MB


def _doc(n_mb: float, tag: str) -> bytes:
    return (f"{tag} " + "lorem ipsum dolor sit amet " * 40 + "\n").encode() * int(n_mb * MB / 1090)


def _docs(db, tid):
    with db.tenant_tx(tid) as conn:
        return kb.list_documents(conn, tenant_id=tid), credits.state(conn, tenant_id=tid)


def test_kb_storage_is_capped_by_the_plan(db):
    t = new_tenant(db)
    tid = t.tenant_id
    with db.tenant_tx(tid) as conn:  # free plan: 10 MB
        first = kb.add_document(conn, tenant_id=tid, title="A", filename="a.txt", data=_doc(6, "a"))
    with pytest.raises(credits.PlanLimit, match=r"storage limit of the free plan is 10 MB"), \
            db.tenant_tx(tid) as conn:
        kb.add_document(conn, tenant_id=tid, title="B", filename="b.txt", data=_doc(6, "b"))
    docs, st = _docs(db, tid)
    assert [d["title"] for d in docs] == ["A"] and 5.5 < st["storage_used_mb"] < 6.5
    # the same refusal in the caller's transaction keeps what was done before it
    with db.tenant_tx(tid) as conn:
        with pytest.raises(credits.PlanLimit):
            kb.add_document(conn, tenant_id=tid, title="B", filename="b.txt", data=_doc(6, "b"))
        kb.add_faq(conn, tenant_id=tid, entries=[{"question": "Q?", "answer": "A."}])
    assert len(_docs(db, tid)[0]) == 1
    # room made (a document deleted) or a larger plan: accepted
    with db.tenant_tx(tid) as conn:
        kb.delete_document(conn, tenant_id=tid, document_id=first["document_id"])
        assert credits.state(conn, tenant_id=tid)["storage_used_mb"] == 0
        kb.add_document(conn, tenant_id=tid, title="B", filename="b.txt", data=_doc(6, "b"))
        credits.set_plan(conn, tenant_id=tid, plan="starter")
        kb.add_document(conn, tenant_id=tid, title="C", filename="c.txt", data=_doc(6, "c"))
    docs, st = _docs(db, tid)
    assert len(docs) == 2 and 11 < st["storage_used_mb"] < 13


def test_kb_ingest_is_charged_when_the_plan_charges_it(db, monkeypatch):
    monkeypatch.setitem(credits.PLANS, "free",
                        dataclasses.replace(credits.PLANS["free"], kb_ingest_credits=2))
    t = new_tenant(db)
    tid = t.tenant_id
    with db.tenant_tx(tid) as conn:
        credits.credit(conn, tenant_id=tid, action_id="g", amount=3)
        d = kb.add_document(conn, tenant_id=tid, title="A", filename="a.txt", data=b"hello there")
        again = kb.add_document(conn, tenant_id=tid, title="A", filename="a.txt", data=b"hello there")
        assert again["created"] is False  # the same bytes: one document, charged once
        (row,) = [r for r in credits.ledger(conn, tenant_id=tid) if r["reason"] == "kb_ingest"]
        assert (row["amount"], row["action_id"]) == (-2, f"kb:{d['document_id']}")
        with pytest.raises(credits.OutOfCredits):
            kb.add_document(conn, tenant_id=tid, title="B", filename="b.txt", data=b"another")
        assert [x["title"] for x in kb.list_documents(conn, tenant_id=tid)] == ["A"]
        assert credits.reconcile(conn, tenant_id=tid) == {"balance": 1, "ledger_sum": 1}


def test_the_api_refuses_a_document_past_the_limit_with_409(client, hook_db):
    t = inbox_tenant(hook_db)
    base = f"/api/v1/tenants/{t['tenant'].client_key}/inbox"
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t["tenant"])})
    with hook_db.tenant_tx(t["tenant"].tenant_id) as conn:  # (past the API's body limit)
        kb.add_document(conn, tenant_id=t["tenant"].tenant_id, title="Big", filename="big.txt",
                        data=_doc(9.95, "x"))
    body2 = {"filename": "more.txt", "content_base64": base64.b64encode(_doc(0.2, "y")).decode()}
    r = api.post(f"{base}/kb/documents", json=body2)
    assert r.status_code == 409 and "10 MB" in r.json()["error"]["message"]
    assert len(api.get(f"{base}/kb/documents").json()) == 1


def test_monitoring_rules_cannot_exceed_the_plans_monitored_posts(db):
    t = inbox_tenant(db)
    tid = t["tenant"].tenant_id
    with db.tenant_tx(tid) as conn:  # free plan: 5 posts at once, one Instagram account
        comments.set_rule(conn, tenant_id=tid, auto_monitor_count=5)
        with pytest.raises(credits.PlanLimit, match="at most 5 posts"):
            comments.set_rule(conn, tenant_id=tid, auto_monitor_count=6)
        ig2 = connect(conn, tenant_id=tid, platform="instagram", account_id=f"ig2-{tid}",
                      connector="sandbox")["social_account_id"]
    # two accounts on the default rule of 5 would monitor 10 (an account was connected): a
    # change raising it is refused, one lowering it is accepted
    with pytest.raises(credits.PlanLimit, match="would monitor 11"), db.tenant_tx(tid) as conn:
        comments.set_rule(conn, tenant_id=tid, social_account_id=ig2, auto_monitor_count=6)
    with db.tenant_tx(tid) as conn:
        comments.set_rule(conn, tenant_id=tid, social_account_id=ig2, auto_monitor_count=1)
        comments.set_rule(conn, tenant_id=tid, auto_monitor_count=4)
        with pytest.raises(credits.PlanLimit, match="would monitor 6"):
            comments.set_rule(conn, tenant_id=tid, social_account_id=ig2, auto_monitor_count=2)
        credits.set_plan(conn, tenant_id=tid, plan="starter")
        assert comments.set_rule(conn, tenant_id=tid, social_account_id=ig2,
                                 auto_monitor_count=15)["auto_monitor_count"] == 15
        # a canceled subscription falls back to the free plan's limits
        credits.set_plan(conn, tenant_id=tid, plan="starter", status="canceled")
        with pytest.raises(credits.PlanLimit, match="free plan"):
            comments.set_rule(conn, tenant_id=tid, auto_monitor_count=5)


def test_the_monitoring_rules_api_answers_409_past_the_plan(client, hook_db):
    t = inbox_tenant(hook_db)
    base = f"/api/v1/tenants/{t['tenant'].client_key}/inbox"
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t["tenant"])})
    r = api.post(f"{base}/monitoring-rules", json={"auto_monitor_count": 8})
    assert r.status_code == 409 and "at most 5 posts" in r.json()["error"]["message"]


def test_ai_replies_per_month_are_the_plans_allowance(db):
    t = new_tenant(db)
    tid = t.tenant_id
    at = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    with db.tenant_tx(tid) as conn:
        credits.monthly_reset(conn, tenant_id=tid, now=at)
        for i in range(credits.PLANS["free"].ai_replies):
            assert credits.debit(conn, tenant_id=tid, action_id=f"message:{i}")
        with pytest.raises(credits.OutOfCredits, match="0 left this month"):
            credits.debit(conn, tenant_id=tid, action_id="message:50")
        st = credits.state(conn, tenant_id=tid)
        assert (st["used_this_month"], st["credits_remaining"]) == (50, 0)
