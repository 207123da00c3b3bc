"""Webhooks in: handshake, signature before anything, size cap, raw store + queue, and
idempotent, order-independent processing of Meta-shaped deliveries."""

from __future__ import annotations

import json
from datetime import timedelta

from growthops.inbox.ingest import process_event
from tests.inbox.conftest import (
    IG_ACCOUNT,
    SECRET,
    VERIFY,
    WA_PHONE,
    fixture,
    ig_text,
    inbox_tenant,
    now,
    post,
    process_pending,
    q,
    wa_status,
    wa_text,
    with_account_ids,
)


def _events(db, since_id=0):
    with db.admin() as conn:
        return conn.execute("select event_id, platform, signature, headers, processed_at, error, "
                            "summary from inbox.webhook_events where event_id > %s "
                            "order by event_id", [since_id]).fetchall()


def _last_event_id(db):
    with db.admin() as conn:
        return conn.execute("select coalesce(max(event_id), 0) as m from "
                            "inbox.webhook_events").fetchone()["m"]


def _rejections(db, reason):
    with db.admin() as conn:
        return conn.execute("select coalesce(sum(count), 0) as n from inbox.webhook_rejections "
                            "where reason = %s", [reason]).fetchone()["n"]


def test_subscription_handshake_echoes_the_challenge_only_for_our_token(client):
    ok = client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe",
                                                   "hub.verify_token": VERIFY,
                                                   "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
                   {"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                    "hub.challenge": "<script>alert(1)</script>"}):
        r = client.get("/webhooks/instagram", params=params)
        assert r.status_code == 403 and "script" not in r.text and "nope" not in r.text


def test_unsigned_forged_and_oversized_deliveries_store_nothing_but_a_counter(client, hook_db):
    t = inbox_tenant(hook_db)
    body = wa_text(t["wa"], "33600000001", "wamid.FORGED1", "hello", now())
    before = _last_event_id(hook_db)
    counts = {r: _rejections(hook_db, r) for r in ("no_signature", "bad_signature", "too_large")}
    r1 = post(client, "whatsapp", body, signature=None)
    r2 = post(client, "whatsapp", body, secret="not-the-app-secret")
    r3 = post(client, "whatsapp", body, signature="sha256=" + "0" * 64)
    r4 = post(client, "whatsapp", body, signature="sha1=abc")
    assert [r.status_code for r in (r1, r2, r3, r4)] == [401] * 4
    assert all("hello" not in r.text and "FORGED" not in r.text for r in (r1, r2, r3, r4))
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    r5 = post(client, "whatsapp", None, raw=big)
    assert r5.status_code == 413 and "x" * 20 not in r5.text
    # a lying Content-Length is caught while reading
    r6 = client.post("/webhooks/instagram", content=iter([b"{", b"x" * (1024 * 1024 + 10)]),
                     headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert r6.status_code == 413
    assert _last_event_id(hook_db) == before
    assert _rejections(hook_db, "no_signature") == counts["no_signature"] + 1
    assert _rejections(hook_db, "bad_signature") == counts["bad_signature"] + 3
    # oversized bodies are refused by the app-wide body limit (growthops.web.limits) before the
    # route reads them: 413, nothing stored (the route's own cap stays as a second line)
    assert q(hook_db, t["tenant"].tenant_id,
             "select count(*) n from inbox.conversation_messages where tenant_id = %s")[0]["n"] == 0


def test_a_signed_delivery_is_stored_raw_and_queued_in_one_statement(client, hook_db):
    t = inbox_tenant(hook_db)
    body = with_account_ids(fixture("whatsapp/text"), wa=t["wa"])
    raw = json.dumps(body, indent=1).encode()  # the signature covers the exact bytes
    before = _last_event_id(hook_db)
    r = post(client, "whatsapp", None, raw=raw)
    assert r.status_code == 200, r.text
    (ev,) = _events(hook_db, before)
    assert ev["signature"] == "current" and ev["processed_at"] is None
    assert "x-hub-signature-256" in ev["headers"] and "cookie" not in ev["headers"]
    with hook_db.admin() as conn:
        stored = conn.execute("select body from inbox.webhook_events where event_id = %s",
                              [ev["event_id"]]).fetchone()["body"]
        job = conn.execute("select task_name, queue_name, status, args from procrastinate_jobs "
                           "where queueing_lock = %s", [f"inbox.webhook:{ev['event_id']}"]).fetchone()
    assert bytes(stored) == raw
    assert job == {"task_name": "inbox.process_webhook", "queue_name": "inbox", "status": "todo",
                   "args": {"event_id": ev["event_id"]}}


def test_the_previous_secret_still_verifies_during_a_rotation(hook_db):
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from growthops.app import create_app
    from growthops.core.db import Database

    rotated = Database(hook_db.settings.model_copy(
        update={"meta_app_secret": SecretStr(f"new-secret-abc,{SECRET}")}))
    try:
        c = TestClient(create_app(db=rotated))
        before = _last_event_id(hook_db)
        assert post(c, "instagram", {"object": "instagram", "entry": []}).status_code == 200
        assert post(c, "instagram", {"object": "instagram", "entry": []},
                    secret="new-secret-abc").status_code == 200
        assert [e["signature"] for e in _events(hook_db, before)] == ["previous", "current"]
    finally:
        rotated.close()


def test_whatsapp_text_image_and_unknown_types_become_one_row_each(client, hook_db):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    for name in ("whatsapp/text", "whatsapp/image", "whatsapp/unknown"):
        assert post(client, "whatsapp", with_account_ids(fixture(name), wa=t["wa"])).status_code == 200
    summaries = process_pending(hook_db)
    rows = q(hook_db, tid, """select m.message_type, m.text, m.media_url, m.direction,
                                     m.metadata ? 'a_future_field' as kept, cu.name
                              from inbox.conversation_messages m
                              join inbox.conversations c using (tenant_id, conversation_id)
                              join inbox.customers cu on cu.tenant_id = c.tenant_id
                                                     and cu.customer_id = c.customer_id
                              where m.tenant_id = %s order by m.sent_at""")
    assert [(r["message_type"], r["text"]) for r in rows] == [
        ("text", "Does it come in another color?"), ("unsupported", None),
        ("image", "This is the one I mean")]
    assert rows[2]["media_url"] == "1003383421387256"
    assert rows[1]["kept"] is True and {r["name"] for r in rows} == {"Sheena Nelson"}
    unknown = next(s for s in summaries if s.get("unhandled"))
    assert unknown["unhandled"] == {"field:message_template_status_update": 1}
    conv = q(hook_db, tid, "select * from inbox.conversations where tenant_id = %s")
    assert len(conv) == 1 and conv[0]["status"] == "active"
    assert conv[0]["last_inbound_at"].timestamp() == 1750090702


def test_redeliveries_store_one_row_and_a_second_processing_changes_nothing(client, hook_db):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    body = wa_text(t["wa"], "33611111111", "wamid.DUP1", "Where is my order?", now())
    for _ in range(3):
        assert post(client, "whatsapp", body).status_code == 200
    before = _last_event_id(hook_db)
    sums = process_pending(hook_db)
    assert sum(s["messages_new"] for s in sums) == 1
    assert sum(s["messages_duplicate"] for s in sums) >= 2
    assert process_event(hook_db, before)["status"] == "already processed"
    again = process_event(hook_db, before, again=True)  # the same delivery processed twice
    assert again["messages_new"] == 0
    assert q(hook_db, tid, "select count(*) n from inbox.conversation_messages "
                           "where tenant_id = %s")[0]["n"] == 1


def test_batched_entries_in_any_order_give_the_same_state(client, hook_db):
    a, b = inbox_tenant(hook_db), inbox_tenant(hook_db)
    batched = fixture("instagram/batched")
    assert post(client, "instagram", with_account_ids(batched, ig=a["ig"])).status_code == 200
    # the same items one delivery per message, newest first
    entries = with_account_ids(batched, ig=b["ig"])["entry"]
    singles = [{"object": "instagram", "entry": [{**e, "messaging": [m], "changes": []}]}
               for e in entries for m in e["messaging"]]
    for s in reversed(singles):
        assert post(client, "instagram", s).status_code == 200
    sums = process_pending(hook_db)
    # the comment is parsed (issue 12) but its post is not monitored: stored nowhere
    assert not any(s["unhandled"].get("field:comments") for s in sums)
    assert any("comments_new" in s for s in sums)

    def state(side):
        return q(hook_db, side["tenant"].tenant_id, """
            select cu.platform_customer_id, c.status, c.last_inbound_at, c.last_message_at,
                   array_agg(m.platform_message_id order by m.sent_at) as mids
            from inbox.conversations c
            join inbox.customers cu on cu.tenant_id = c.tenant_id and cu.customer_id = c.customer_id
            join inbox.conversation_messages m on m.tenant_id = c.tenant_id
                                              and m.conversation_id = c.conversation_id
            where c.tenant_id = %s group by 1, 2, 3, 4 order by 1""")
    assert state(a) == state(b)
    assert [len(r["mids"]) for r in state(a)] == [2, 1]


def test_statuses_update_the_outbound_message_in_any_order_even_before_it_exists(client, hook_db):
    from growthops.connectors.messaging_sandbox import SandboxTransport
    from growthops.inbox.sending import send_reply

    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    t0 = now()
    post(client, "whatsapp", wa_text(t["wa"], "33622222222", "wamid.IN1", "Hi", t0))
    process_pending(hook_db)
    (conv,) = q(hook_db, tid, "select conversation_id from inbox.conversations where tenant_id = %s")

    class Fixed(SandboxTransport):
        def send_text(self, to, text, *, tag=None):
            from growthops.connectors.messaging import SendResult
            return SendResult(message_id="wamid.OUT_FIXED")

    # read arrives first, then delivered, before the send has stored the id
    post(client, "whatsapp", wa_status(t["wa"], "33622222222", "wamid.OUT_FIXED", "read",
                                       t0 + timedelta(seconds=30)))
    process_pending(hook_db)
    send_reply(hook_db, tenant_id=tid, conversation_id=conv["conversation_id"], actor="agent@x",
               text="Hello!", transport=Fixed("whatsapp", t["wa"]))
    post(client, "whatsapp", wa_status(t["wa"], "33622222222", "wamid.OUT_FIXED", "delivered",
                                       t0 + timedelta(seconds=20)))
    post(client, "whatsapp", wa_status(t["wa"], "33622222222", "wamid.OUT_FIXED", "sent",
                                       t0 + timedelta(seconds=10)))
    process_pending(hook_db)
    (m,) = q(hook_db, tid, "select status, delivered_at, read_at from inbox.conversation_messages "
                           "where tenant_id = %s and direction = 'outbound'")
    assert m["status"] == "read"
    assert m["delivered_at"] == t0 + timedelta(seconds=20)
    assert m["read_at"] == t0 + timedelta(seconds=30)


def test_instagram_echo_of_our_send_is_not_a_new_message_and_app_replies_are_kept(client, hook_db):
    from growthops.connectors.messaging import SendResult
    from growthops.connectors.messaging_sandbox import SandboxTransport
    from growthops.inbox.sending import send_reply

    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    t0 = now()
    post(client, "instagram", ig_text(t["ig"], "555001", "aWdfIN1", "Still available?", t0))
    process_pending(hook_db)
    (conv,) = q(hook_db, tid, "select conversation_id from inbox.conversations where tenant_id = %s")

    class Fixed(SandboxTransport):
        def send_text(self, to, text, *, tag=None):
            return SendResult(message_id="aWdfOURS1")

    # the echo of our own send arrives before the send call returns its id
    post(client, "instagram", ig_text(t["ig"], "555001", "aWdfOURS1", "Yes!",
                                      t0 + timedelta(seconds=5), echo=True))
    process_pending(hook_db)
    send_reply(hook_db, tenant_id=tid, conversation_id=conv["conversation_id"], actor="agent@x",
               text="Yes!", transport=Fixed("instagram", t["ig"]))
    post(client, "instagram", ig_text(t["ig"], "555001", "aWdfOURS1", "Yes!",
                                      t0 + timedelta(seconds=5), echo=True))
    # a person answering from the Instagram app
    post(client, "instagram", ig_text(t["ig"], "555001", "aWdfAPP1", "Sizes M and L",
                                      t0 + timedelta(seconds=9), echo=True))
    process_pending(hook_db)
    rows = q(hook_db, tid, "select direction, author_kind, author, platform_message_id "
                           "from inbox.conversation_messages where tenant_id = %s order by sent_at")
    assert [(r["direction"], r["author_kind"], r["platform_message_id"]) for r in rows] == [
        ("inbound", "customer", "aWdfIN1"), ("outbound", "human", "aWdfOURS1"),
        ("outbound", "platform_app", "aWdfAPP1")]


def test_a_delivery_for_an_unknown_account_or_not_json_is_kept_never_a_failure(client, hook_db):
    before = _last_event_id(hook_db)
    assert post(client, "whatsapp", fixture("whatsapp/text")).status_code == 200  # no such phone
    assert post(client, "instagram", None, raw=b"not json at all").status_code == 200
    sums = process_pending(hook_db)
    evs = _events(hook_db, before)
    assert all(e["processed_at"] is not None for e in evs)
    assert any(s["unrouted"] == [WA_PHONE] for s in sums)
    assert any(s["unhandled"] == {"not_json": 1} for s in sums)
    assert IG_ACCOUNT not in json.dumps([s["unrouted"] for s in sums])


def test_the_worker_processes_queued_deliveries_and_recovers_lost_ones(client, hook_db):
    from growthops.inbox.jobs import requeue
    from growthops.worker import run_worker

    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33633333333", "wamid.W1", "Via the worker", now()))
    run_worker(hook_db, concurrency=1, once=True)
    assert q(hook_db, tid, "select count(*) n from inbox.conversation_messages "
                           "where tenant_id = %s")[0]["n"] == 1
    # a delivery whose job vanished (worker killed mid-job) is queued again by the recovery
    post(client, "whatsapp", wa_text(t["wa"], "33633333333", "wamid.W2", "Lost job", now()))
    with hook_db.admin() as conn:
        eid = conn.execute("select max(event_id) m from inbox.webhook_events").fetchone()["m"]
        conn.execute("update procrastinate_jobs set status = 'doing' where queueing_lock = %s",
                     [f"inbox.webhook:{eid}"])
        conn.execute("update inbox.webhook_events set received_at = now() - interval '5 minutes' "
                     "where event_id = %s", [eid])
    assert requeue(hook_db) >= 1
    run_worker(hook_db, concurrency=1, once=True)
    assert q(hook_db, tid, "select count(*) n from inbox.conversation_messages "
                           "where tenant_id = %s")[0]["n"] == 2


def test_the_periodic_recovery_and_upkeep_tasks_run_in_the_worker(client, hook_db):
    import time as _time

    from growthops.core.jobs.app import build_app
    from growthops.inbox.jobs import register_tasks
    from growthops.worker import run_worker

    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33644444444", "wamid.REC1", "stuck", now()))
    with hook_db.admin() as conn:
        eid = conn.execute("select max(event_id) m from inbox.webhook_events").fetchone()["m"]
        conn.execute("update procrastinate_jobs set status = 'doing' where queueing_lock = %s",
                     [f"inbox.webhook:{eid}"])
        conn.execute("update inbox.webhook_events set received_at = now() - interval '5 minutes' "
                     "where event_id = %s", [eid])
    app = build_app(hook_db, registrars=[register_tasks], periodic=False)
    with app.open():
        app.configure_task("inbox.recover").defer(timestamp=int(_time.time()))
        app.configure_task("inbox.upkeep").defer(timestamp=int(_time.time()))
    run_worker(hook_db, concurrency=1, once=True)
    assert q(hook_db, tid, "select count(*) n from inbox.conversation_messages "
                           "where tenant_id = %s")[0]["n"] == 1
    with hook_db.admin() as conn:
        done = conn.execute("select task_name, status from procrastinate_jobs where task_name in "
                            "('inbox.recover', 'inbox.upkeep') order by id desc limit 2").fetchall()
    assert {d["status"] for d in done} == {"succeeded"}
