"""Learning from people: suggested FAQ entries mined from their answers (approve / reject), and
labels drawn from their actions on the AI's decisions (feeding calibration and evaluation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from growthops.core.errors import Conflict, NotFound
from growthops.inbox.ai import faq_miner, kb, labels
from tests.inbox.ai.conftest import FAQ
from tests.inbox.ai.threads import add_thread, days_ago, tenant_with_account

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
DELIVERY = ["how long does delivery take to Lyon?", "how long is delivery to Paris please",
            "how long does the delivery take", "delivery takes how long to Marseille?",
            "how long will delivery take for my parcel"]
DELIVERY_A = ["Delivery takes 2 to 4 working days in France.",
              "Delivery takes 2 to 4 working days in France, 5 to 7 elsewhere.",
              "Hello! Delivery takes 2 to 4 working days in France.",
              "Delivery takes 2-4 working days in France.",
              "Delivery takes 2 to 4 working days in France usually."]
RETURNS = ["can I return a sweater I bought", "how do I return an item I bought online",
           "can I return shoes bought last week", "how can I return my jacket?",
           "is it possible to return a dress I bought"]
RETURNS_A = ["Yes, items can be returned within 30 days with the receipt.",
             "Items can be returned within 30 days with the receipt, in store or by post.",
             "You can return items within 30 days with the receipt.",
             "Items can be returned within 30 days, just keep the receipt.",
             "Yes: items can be returned within 30 days with the receipt."]
ONE_OFFS = [("do you sponsor local football clubs", "We do, write to our marketing team."),
            ("what is the colour of your logo", "Our logo is green and white."),
            ("is the manager called Paul", "No, our manager is Claire."),
            ("my order 123456 has not arrived", "Your order 1234567 left yesterday."),
            ("thanks!", "You are welcome, have a nice day!")]


def _pairs(db, t, acct, pairs, start=3.0):
    for k, (q, a) in enumerate(pairs):
        at = days_ago(NOW, start + k * 0.05)
        add_thread(db, t.tenant_id, acct, [("inbound", "customer", q, at),
                                           ("outbound", "human", a, at + timedelta(minutes=5))])


def test_miner_suggests_the_often_asked_questions_once_and_people_approve_them(db):
    t, acct = tenant_with_account(db)
    _pairs(db, t, acct, list(zip(DELIVERY, DELIVERY_A, strict=True))
           + list(zip(RETURNS, RETURNS_A, strict=True)) + ONE_OFFS)
    # the AI's replies and templates are not people's answers
    add_thread(db, t.tenant_id, acct, [("inbound", "customer", DELIVERY[0], days_ago(NOW, 2)),
                                       ("outbound", "ai", DELIVERY_A[0], days_ago(NOW, 1.9))])
    with db.tenant_tx(t.tenant_id) as conn:
        got = faq_miner.pairs(conn, tenant_id=t.tenant_id, now=NOW)
    assert len(got) == 13  # 15 pairs - an order number in the answer - "thanks!"
    out = faq_miner.suggest(db, tenant_id=t.tenant_id, now=NOW)
    assert out["suggested"] == 2, out
    with db.tenant_tx(t.tenant_id) as conn:
        pending = faq_miner.list_suggestions(conn, tenant_id=t.tenant_id)
        assert {p["question"] for p in pending} <= set(DELIVERY) | set(RETURNS)
        assert all(p["support"] >= 3 and not p["enabled"] for p in pending)
        assert any(p["answer"] in DELIVERY_A for p in pending)
        assert all(len(p["questions"]) >= 2 for p in pending)
    # idempotent: nothing new the second time
    assert faq_miner.suggest(db, tenant_id=t.tenant_id, now=NOW)["suggested"] == 0
    first, second = pending
    with db.tenant_tx(t.tenant_id) as conn:
        faq_miner.approve(conn, tenant_id=t.tenant_id, faq_id=first["faq_id"], by="ann")
        faq_miner.reject(conn, tenant_id=t.tenant_id, faq_id=second["faq_id"], by="ann")
        assert [p["faq_id"] for p in faq_miner.list_suggestions(
            conn, tenant_id=t.tenant_id, status="approved")] == [first["faq_id"]]
        assert [p["faq_id"] for p in faq_miner.list_suggestions(
            conn, tenant_id=t.tenant_id, status="rejected")] == [second["faq_id"]]
        assert faq_miner.list_suggestions(conn, tenant_id=t.tenant_id) == []
        manual = kb.add_faq(conn, tenant_id=t.tenant_id, entries=FAQ[:1])[0]
        with pytest.raises(Conflict):
            faq_miner.approve(conn, tenant_id=t.tenant_id, faq_id=manual, by="ann")
        with pytest.raises(NotFound):
            faq_miner.reject(conn, tenant_id=t.tenant_id, faq_id=manual + 10_000, by="ann")
    # the rejected one does not come back
    assert faq_miner.suggest(db, tenant_id=t.tenant_id, now=NOW)["suggested"] == 0


def _decision(db, tid, message_id, conversation_id, **fields):
    from psycopg.types.json import Jsonb

    cols = {"decision": "escalate", "matched_rule": "low_confidence", "reason": "r",
            "message_text": "", **fields}
    for k in ("snapshot_json", "citations"):
        if k in cols:
            cols[k] = Jsonb(cols[k])
    with db.tenant_tx(tid) as conn:
        return conn.execute(
            f"""insert into inbox.ai_decisions (tenant_id, message_id, conversation_id,
                  {", ".join(cols)}) values (%s, %s, %s, {", ".join(["%s"] * len(cols))})
                returning ai_decision_id""",
            [str(tid), message_id, conversation_id, *cols.values()]).fetchone()["ai_decision_id"]


def _conv(db, tid, message_id):
    with db.tenant_tx(tid) as conn:
        return conn.execute("select conversation_id from inbox.conversation_messages "
                            "where message_id = %s", [message_id]).fetchone()["conversation_id"]


def test_people_actions_label_decisions_and_record_examples(db):
    t, acct = tenant_with_account(db)
    tid = t.tenant_id
    with db.tenant_tx(tid) as conn:
        ids = kb.add_faq(conn, tenant_id=tid, entries=FAQ[:3])
    hours, delivery = ids[0], ids[1]
    hits = [{"kind": "faq", "ref_id": delivery, "title": FAQ[1]["question"]},
            {"kind": "faq", "ref_id": hours, "title": FAQ[0]["question"]}]
    at = NOW - timedelta(days=1)
    case = {}

    def thread(key, question, reply, **decision):
        msgs = [("inbound", "customer", question, at)]
        if reply:
            msgs.append(("outbound", "human", reply, at + timedelta(minutes=3)))
        mid = add_thread(db, tid, acct, msgs)[0]
        case[key] = _decision(db, tid, mid, _conv(db, tid, mid), message_text=question,
                              **decision)
        return mid

    # escalated for low confidence; the person answered with the best passage's answer
    thread("best", "how many days to deliver?", FAQ[1]["answer"], snapshot_json={"hits": hits})
    # ... with the second passage's answer: the AI's best passage was the wrong one
    thread("other", "when are you open?", "Hi! We are open Monday to Friday from 9am to 6pm.",
           snapshot_json={"hits": hits})
    # ... with something the knowledge base does not hold
    thread("outside", "can I pay with paypal?", "Yes, PayPal works at checkout on our site.",
           snapshot_json={"hits": hits})
    # ignored by the AI, answered by a person
    thread("ignored", "ok and the price of the red bag?", "The red bag costs 45 euros.",
           decision="ignore", matched_rule="ignore:thanks")
    # a draft the person sent nearly as is, and one the person replaced
    draft = "Hello! " + FAQ[2]["answer"]
    thread("draft_ok", "do you ship to canada", "Hello, yes we ship to Canada; customs fees "
           "are paid by the recipient.", decision="respond", matched_rule="knowledge_base",
           reply_text=draft, reply_status="draft",
           citations=[{"title": FAQ[2]["question"]}])
    thread("draft_bad", "do you ship to canada?", "Sorry, only in store pickup for that item.",
           decision="respond", matched_rule="knowledge_base", reply_text=draft,
           reply_status="draft", citations=[{"title": FAQ[2]["question"]}])
    # no person's action: no label
    thread("quiet", "nobody answered this one", None, snapshot_json={"hits": hits})
    # a person's own verdict is kept
    thread("verdict", "how long does delivery take?", FAQ[1]["answer"],
           snapshot_json={"hits": hits})
    with db.tenant_tx(tid) as conn:
        conn.execute("update inbox.ai_decisions set label = 'correct', labelled_by = 'ann' "
                     "where ai_decision_id = %s", [case["verdict"]])

    out = labels.derive(db, tenant_id=tid, now=NOW)
    assert out["labelled"] == 6, out
    with db.tenant_tx(tid) as conn:
        got = {r["ai_decision_id"]: r for r in conn.execute(
            "select ai_decision_id, label, labelled_by from inbox.ai_decisions").fetchall()}
        ex = {r["ai_decision_id"]: r for r in conn.execute(
            "select ai_decision_id, label, expected, source from inbox.ai_examples").fetchall()}
    assert got[case["best"]]["label"] == "wrong"  # the draft would have been right
    assert got[case["best"]]["labelled_by"] == "action:answered_like_best_passage"
    assert ex[case["best"]]["expected"] == FAQ[1]["question"]
    assert got[case["other"]]["label"] == "correct"
    assert ex[case["other"]]["expected"] == FAQ[0]["question"]
    assert got[case["outside"]]["label"] == "correct" and ex[case["outside"]]["label"] == "escalate"
    assert got[case["ignored"]]["label"] == "wrong"
    assert got[case["draft_ok"]]["label"] == "correct"
    assert got[case["draft_bad"]]["label"] == "wrong"
    assert got[case["quiet"]]["label"] is None
    assert got[case["verdict"]]["labelled_by"] == "ann"
    assert all(e["source"] == "action" for e in ex.values())
    # idempotent
    assert labels.derive(db, tenant_id=tid, now=NOW)["labelled"] == 0


def test_a_manual_escalation_after_an_ai_reply_labels_it_wrong(db):
    from growthops.inbox import handoff

    t, acct = tenant_with_account(db)
    mid = add_thread(db, t.tenant_id, acct, [("inbound", "customer", "where is my parcel",
                                              datetime.now(UTC) - timedelta(minutes=5))])[0]
    conv = _conv(db, t.tenant_id, mid)
    d = _decision(db, t.tenant_id, mid, conv, decision="respond", matched_rule="knowledge_base",
                  reply_text="It is on its way.", reply_status="sent")
    with db.tenant_tx(t.tenant_id) as conn:
        handoff.escalate(conn, tenant_id=t.tenant_id, conversation_id=conv,
                         reason="manual_escalation", actor="ann@example.org")
    assert labels.derive(db, tenant_id=t.tenant_id)["escalated_by_person"] == 1
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select label from inbox.ai_decisions where ai_decision_id = %s",
                            [d]).fetchone()["label"] == "wrong"


@pytest.mark.parametrize("reply, text, low, high", [
    ("Delivery takes 2 to 4 days", "Delivery takes 2 to 4 working days in France", 0.99, 1.0),
    ("Nous sommes ouverts le samedi", "Nous sommes ouverts du lundi au samedi", 0.99, 1.0),
    ("PayPal works at checkout", "We are open Monday to Friday", 0.0, 0.01),
])
def test_containment(reply, text, low, high):
    assert low <= labels.containment(reply, text) <= high
