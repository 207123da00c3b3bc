"""AI replies to messages cost credits (issue 12): one credit per replied message, debited before
the send, never below zero under concurrency; out of credits the conversation goes to a person
(escalation ``out_of_credits``)."""

from __future__ import annotations

import threading

from growthops.inbox import credits
from growthops.inbox.ai import calibrate, config, kb
from growthops.inbox.ingest import process_event
from tests.inbox.ai.conftest import FAQ, label_examples
from tests.inbox.conftest import inbox_tenant, now, post, process_pending, q, wa_text


def _ai_tenant(db, *, balance: int):
    t = inbox_tenant(db)
    tid = t["tenant"].tenant_id
    with db.tenant_tx(tid) as conn:
        config.update_settings(conn, tenant_id=tid, embedding_model="hashed-ngram-384",
                               ai_enabled_for_conversations=True, auto_reply_enabled=True,
                               target_precision=0.9)
        kb.add_faq(conn, tenant_id=tid, entries=FAQ)
        credits.ensure(conn, tenant_id=tid)
        if balance:
            credits.credit(conn, tenant_id=tid, action_id="test-grant", amount=balance)
    label_examples(db, tid)
    assert calibrate.calibrate_tenant(db, tenant_id=tid).threshold is not None
    return t, tid


def _deliver(client, db, t, n: int, prefix: str) -> list[int]:
    """Store ``n`` deliveries (one question from each of ``n`` customers); return their ids."""
    process_pending(db)  # earlier tests' leftovers out of the way
    for k in range(n):
        post(client, "whatsapp", wa_text(t["wa"], f"33{prefix}{k:04d}", f"wamid.{prefix}{k}",
                                         "What are your opening hours?", now()))
    with db.admin() as conn:
        return [r["event_id"] for r in conn.execute(
            "select event_id from inbox.webhook_events where processed_at is null "
            "order by event_id").fetchall()]


def test_20_concurrent_ai_replies_with_credits_for_10(client, hook_db):
    t, tid = _ai_tenant(hook_db, balance=10)
    events = _deliver(client, hook_db, t, 20, "77")
    assert len(events) == 20
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def one(event_id: int) -> None:  # a worker: its own pool connections, its own delivery
        barrier.wait()
        try:
            process_event(hook_db, event_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(e,)) for e in events]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    decisions = q(hook_db, tid, "select decision, reply_status, reply_error from inbox.ai_decisions "
                                "where tenant_id = %s")
    assert len(decisions) == 20 and {d["decision"] for d in decisions} == {"respond"}
    assert sorted(d["reply_status"] for d in decisions) == ["refused"] * 10 + ["sent"] * 10
    assert all(d["reply_error"].startswith("out_of_credits") for d in decisions
               if d["reply_status"] == "refused")
    sent = q(hook_db, tid, "select 1 from inbox.conversation_messages where tenant_id = %s "
                           "and direction = 'outbound' and author_kind = 'ai'")
    assert len(sent) == 10
    esc = q(hook_db, tid, "select reason, opened_by from inbox.support_escalations "
                          "where tenant_id = %s")
    assert [(e["reason"], e["opened_by"]) for e in esc] == [("out_of_credits", "ai")] * 10
    with hook_db.tenant_tx(tid) as conn:
        assert credits.reconcile(conn, tenant_id=tid) == {"balance": 0, "ledger_sum": 0}
        debits = [r for r in credits.ledger(conn, tenant_id=tid) if r["amount"] < 0]
        assert len(debits) == 10 and {r["reason"] for r in debits} == {"ai_reply"}
        assert all(r["action_id"].startswith("message:") for r in debits)
        # a message already charged is not charged again, even at a zero balance
        assert credits.debit(conn, tenant_id=tid, action_id=debits[0]["action_id"]) is False
    # processing the deliveries again sends nothing and charges nothing
    for e in events:
        process_event(hook_db, e, again=True)
    assert len(q(hook_db, tid, "select 1 from inbox.conversation_messages where tenant_id = %s "
                               "and direction = 'outbound'")) == 10
    with hook_db.tenant_tx(tid) as conn:
        assert credits.reconcile(conn, tenant_id=tid)["balance"] == 0


def test_without_credits_the_ai_reply_is_not_sent_and_a_person_gets_it(client, hook_db):
    t, tid = _ai_tenant(hook_db, balance=0)
    _deliver(client, hook_db, t, 1, "78")
    process_pending(hook_db)
    (d,) = q(hook_db, tid, "select decision, reply_status from inbox.ai_decisions where tenant_id = %s")
    assert d == {"decision": "respond", "reply_status": "refused"}
    (c,) = q(hook_db, tid, "select status from inbox.conversations where tenant_id = %s")
    assert c["status"] == "escalated"
    assert q(hook_db, tid, "select 1 from inbox.conversation_messages where tenant_id = %s "
                           "and direction = 'outbound'") == []
    with hook_db.tenant_tx(tid) as conn:
        assert credits.reconcile(conn, tenant_id=tid) == {"balance": 0, "ledger_sum": 0}
