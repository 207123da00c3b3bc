"""Handoff: rules and people escalate; assign, resolve, reopen, archive; the AI stays silent while
a conversation is escalated; every transition recorded with who and when."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from growthops.core.auth.users import create_user
from growthops.core.errors import Conflict, InvalidInput
from growthops.inbox import handoff, triage
from growthops.inbox.upkeep import escalate_closed_windows
from tests.inbox.conftest import inbox_tenant, now, post, process_pending, q, wa_text


@pytest.fixture()
def calls():
    seen: list = []

    def spy(conn, *, tenant_id, messages):
        seen.extend(messages)

    previous = triage.install(spy)
    yield seen
    triage.install(previous)


def _conv(db, tid):
    return q(db, tid, "select conversation_id, status from inbox.conversations where tenant_id = %s")[0]


def test_a_customer_asking_for_a_person_is_escalated_and_the_ai_is_not_called(client, hook_db, calls):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33640000001", "wamid.H1", "Where is my parcel?", now()))
    process_pending(hook_db)
    assert [m.text for m in calls] == ["Where is my parcel?"]
    post(client, "whatsapp", wa_text(t["wa"], "33640000001", "wamid.H2",
                                     "Je veux parler à un conseiller humain", now()))
    post(client, "whatsapp", wa_text(t["wa"], "33640000001", "wamid.H3", "Hello??", now()))
    process_pending(hook_db)
    assert len(calls) == 1  # escalated: the AI saw neither message
    conv = _conv(hook_db, tid)
    assert conv["status"] == "escalated"
    (e,) = q(hook_db, tid, "select reason, status, opened_by from inbox.support_escalations "
                           "where tenant_id = %s")
    assert e == {"reason": "customer_request", "status": "open", "opened_by": "rule:customer_request"}


def test_assign_resolve_reopen_archive_with_who_and_when(hook_db, calls):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    agent = create_user(hook_db, email=f"agent-{t['tenant'].client_key}@client.test",
                        password="correct horse battery", role="support_agent", tenant_id=tid)
    other = inbox_tenant(hook_db)
    outsider = create_user(hook_db, email=f"agent-{other['tenant'].client_key}@client.test",
                           password="correct horse battery", role="support_agent",
                           tenant_id=other["tenant"].tenant_id)
    from growthops.connectors.messaging import InboundMessage
    from growthops.inbox.ingest import store_items
    with hook_db.tenant_tx(tid) as conn:
        store_items(conn, tenant_id=tid, items=[(t["wa_id"], InboundMessage(
            platform="whatsapp", account_id=t["wa"], customer_id="3364", message_id="m1",
            sent_at=now(), type="text", text="help"))])
        cid = conn.execute("select conversation_id from inbox.conversations where tenant_id = %s",
                           [tid]).fetchone()["conversation_id"]
        esc = handoff.escalate(conn, tenant_id=tid, conversation_id=cid,
                               reason="manual_escalation", actor="lead@agency.test", notes="VIP")
        assert esc["status"] == "open"
        with pytest.raises(Conflict, match="already escalated"):
            handoff.escalate(conn, tenant_id=tid, conversation_id=cid, reason="manual_escalation",
                             actor="x")
        with pytest.raises(InvalidInput, match="may not answer"):
            handoff.assign(conn, tenant_id=tid, conversation_id=cid, assignee=outsider.email,
                           actor="lead@agency.test")
        handoff.assign(conn, tenant_id=tid, conversation_id=cid, assignee=agent.email,
                       actor="lead@agency.test")
        assert handoff.get_escalation(conn, tenant_id=tid, escalation_id=esc["escalation_id"])[
            "status"] == "in_progress"
        with pytest.raises(Conflict):
            handoff.archive(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
        handoff.resolve(conn, tenant_id=tid, conversation_id=cid, actor=agent.email, notes="done")
        handoff.reopen(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
        handoff.resolve(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
        handoff.archive(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
        handoff.reopen(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
        with pytest.raises(Conflict, match="nothing to resolve"):
            handoff.resolve(conn, tenant_id=tid, conversation_id=cid, actor=agent.email)
    evs = q(hook_db, tid, "select action, actor, at from inbox.conversation_events "
                          "where tenant_id = %s order by event_id")
    assert [(e["action"], e["actor"]) for e in evs] == [
        ("escalated", "lead@agency.test"), ("assigned", "lead@agency.test"),
        ("resolved", agent.email), ("reopened", agent.email), ("resolved", agent.email),
        ("archived", agent.email), ("reopened", agent.email)]
    assert all(e["at"] is not None for e in evs)
    assert _conv(hook_db, tid)["status"] == "active"
    with pytest.raises(psycopg.errors.InsufficientPrivilege), hook_db.tenant_tx(tid) as conn:
        conn.execute("delete from inbox.conversation_events where tenant_id = %s", [str(tid)])


def test_a_new_customer_message_reopens_an_archived_conversation(client, hook_db, calls):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33640000002", "wamid.R1", "Hi", now() - timedelta(minutes=5)))
    process_pending(hook_db)
    with hook_db.tenant_tx(tid) as conn:
        handoff.archive(conn, tenant_id=tid, conversation_id=_conv(hook_db, tid)["conversation_id"],
                        actor="ana")
    post(client, "whatsapp", wa_text(t["wa"], "33640000002", "wamid.R2", "Me again", now() + timedelta(seconds=2)))
    process_pending(hook_db)
    assert _conv(hook_db, tid)["status"] == "active"
    assert [e["actor"] for e in q(hook_db, tid, "select actor from inbox.conversation_events "
                                                "where tenant_id = %s and action = 'reopened'")] == ["customer"]


def test_unanswered_conversations_past_the_window_are_handed_to_people(client, hook_db, calls):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33640000003", "wamid.U1", "anyone?",
                                     now() - timedelta(hours=30)))
    process_pending(hook_db)
    assert escalate_closed_windows(hook_db, now=now()) >= 1
    (e,) = q(hook_db, tid, "select reason, opened_by from inbox.support_escalations where tenant_id = %s")
    assert e == {"reason": "outside_window", "opened_by": "system"}
