"""Comment monitoring: webhook and polling (a missed webhook caught), idempotent on the comment
id, threads, triage through the seam, replies by approval or the auto policy, Instagram's
private-reply rules (one per comment, within 7 days), credits under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from growthops.connectors.instagram.local_server import LocalInstagram
from growthops.core.errors import Conflict
from growthops.inbox import comments, credits, triage
from growthops.inbox.publishing import publish_due
from tests.inbox.conftest import post, process_pending, q
from tests.inbox.test_posts import TOKEN, schedule, setup


@pytest.fixture()
def published(db, secret_keys):
    """A tenant whose scheduled post was published on the local server (monitored)."""
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime.now(UTC).replace(microsecond=0)
        schedule(db, t, acc, (now + timedelta(hours=3)).replace(tzinfo=None), now=now)
        assert publish_due(db, tenant_id=t.tenant_id, now=now + timedelta(hours=4))["success"] == 1
        (media_id,) = server.media
        with db.tenant_tx(t.tenant_id) as conn:  # published "now", for the 7-day windows
            conn.execute("update inbox.monitored_posts set posted_at = %s, next_check_at = %s, "
                         "monitoring_ends_at = %s where tenant_id = %s",
                         [now, now, now + timedelta(days=7), t.tenant_id])
        yield {"t": t, "acc": acc, "server": server, "media": media_id}


def comment_hook(account: str, media: str, cid: str, text: str, parent: str | None = None):
    value = {"from": {"id": "9001", "username": "fan"}, "media": {"id": media,
             "media_product_type": "FEED"}, "id": cid, "text": text}
    if parent:
        value["parent_id"] = parent
    return {"object": "instagram", "entry": [{"id": account, "time": int(datetime.now(UTC).timestamp()),
                                              "changes": [{"field": "comments", "value": value}]}]}


class Policy:
    """A stand-in AI: answers questions publicly, moves orders to private, ignores the rest."""

    def __call__(self, conn, *, tenant_id, comments):
        out = []
        for c in comments:
            if "?" in (c.text or ""):
                out.append(triage.CommentDecision(c.comment_id, "respond", "Yes, in stock!", 0.9))
            elif "order" in (c.text or ""):
                out.append(triage.CommentDecision(c.comment_id, "user_conversation",
                                                  "We wrote to you privately.", 0.8))
            else:
                out.append(triage.CommentDecision(c.comment_id, "ignore", None, 0.7))
        return out


@pytest.fixture()
def ai():
    prev = triage.install_comment_policy(Policy())
    yield
    triage.install_comment_policy(prev)


def test_webhook_and_polling_store_each_comment_once_and_polling_catches_a_missed_one(
        db, client, published):
    t, acc, server, media = published["t"], published["acc"], published["server"], published["media"]
    c1 = server.add_comment(media, "Love it")
    c2 = server.add_comment(media, "Which sizes?")
    reply = server.add_comment(media, "Me too", parent_id=c1)
    c3 = server.add_comment(media, "Nice")  # its webhook is lost
    for cid, text, parent in ((c1, "Love it", None), (c2, "Which sizes?", None),
                              (reply, "Me too", c1), (c1, "Love it", None)):  # c1 delivered twice
        assert post(client, "instagram", comment_hook(acc["account_id"], media, cid, text,
                                                       parent)).status_code == 200
    process_pending(db)
    rows = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s order by comment_id")
    assert [(r["platform_comment_id"], r["received_via"]) for r in rows] == [
        (c1, "webhook"), (c2, "webhook"), (reply, "webhook")]
    assert rows[2]["parent_id"] == c1
    # polling (page size 2: three pages) finds the missed comment, and only it
    out = comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=1))
    assert out["comments_new"] == 1
    rows = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s order by comment_id")
    assert [r["platform_comment_id"] for r in rows] == [c1, c2, reply, c3]
    assert rows[3]["received_via"] == "poll"
    (cp,) = q(db, t.tenant_id, "select * from inbox.comment_checkpoint where tenant_id = %s")
    assert cp["last_cursor"] == "2"  # the start of the last page: re-read next time
    # a new comment lands on the last page; the next poll reads from the cursor
    c4 = server.add_comment(media, "Wow")
    before = len(server.requests)
    out = comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=10))
    assert out["comments_new"] == 1
    gets = [r for r in server.requests[before:] if r["path"].endswith("/comments")]
    assert [g["query"].get("after") for g in gets] == ["2"]
    assert c4 in {r["platform_comment_id"] for r in q(
        db, t.tenant_id, "select platform_comment_id from inbox.comments where tenant_id = %s")}
    # without the AI, every comment went to a person
    assert {r["triage"] for r in rows} == {"escalate"}


def test_monitoring_rules_bound_n_and_d_and_auto_monitor_takes_the_last_n(db, published):
    from growthops.core.errors import InvalidInput
    from growthops.inbox.publishing import publisher_for

    t, acc, server = published["t"], published["acc"], published["server"]
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(InvalidInput, match="auto_monitor_count"):
            comments.set_rule(conn, tenant_id=t.tenant_id, auto_monitor_count=21)
        with pytest.raises(InvalidInput, match="monitoring_duration_days"):
            comments.set_rule(conn, tenant_id=t.tenant_id, monitoring_duration_days=0)
        rule = comments.set_rule(conn, tenant_id=t.tenant_id,
                                 social_account_id=acc["social_account_id"], auto_monitor_count=2,
                                 monitoring_duration_days=3)
        assert (rule["auto_monitor_count"], rule["ai_enabled_for_comments"]) == (2, True)
    for k in range(3):  # three more media published outside growthops
        server.media[f"1899{k}"] = {"id": f"1899{k}", "caption": f"p{k}", "media_url": None,
                                    "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                                    "owner": acc["account_id"]}
        server.comments[f"1899{k}"] = []
    with db.tenant_tx(t.tenant_id) as conn:
        acc_row = conn.execute("select * from inbox.social_accounts where tenant_id = %s",
                               [t.tenant_id]).fetchone()
        n = comments.auto_monitor(conn, tenant_id=t.tenant_id,
                                  social_account_id=acc["social_account_id"],
                                  transport=publisher_for(acc_row))
    assert n == 2
    mon = q(db, t.tenant_id, "select * from inbox.monitored_posts where tenant_id = %s "
                             "and source = 'imported' order by platform_post_id")
    assert [m["platform_post_id"] for m in mon] == ["18991", "18992"]
    assert all(m["monitoring_ends_at"] - m["posted_at"] == timedelta(days=3) for m in mon)


def test_ai_replies_are_drafts_without_the_auto_policy_and_sent_with_it(db, published, ai):
    t, server, media = published["t"], published["server"], published["media"]
    server.add_comment(media, "Do you ship to Lyon?")
    server.add_comment(media, "Great")
    comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=1))
    rows = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s order by comment_id")
    assert [(r["triage"], r["reply_status"]) for r in rows] == [("respond", "draft"),
                                                                ("ignore", "none")]
    assert comments.send_approved(db, tenant_id=t.tenant_id)["sent"] == 0
    assert not any(r["path"].endswith("/replies") for r in server.requests)
    # a person approves the draft: it goes out, costs one credit, its text is kept
    with db.tenant_tx(t.tenant_id) as conn:
        comments.approve(conn, tenant_id=t.tenant_id, comment_id=rows[0]["comment_id"], by="ana")
    sent = comments.send_reply(db, tenant_id=t.tenant_id, comment_id=rows[0]["comment_id"])
    assert sent["reply_status"] == "sent" and sent["ai_reply_text"] == "Yes, in stock!"
    (req,) = [r for r in server.requests if r["path"].endswith("/replies")]
    assert req["body"] == {"message": "Yes, in stock!"}
    # with the auto policy, the AI's reply goes out without approval
    with db.tenant_tx(t.tenant_id) as conn:
        comments.set_rule(conn, tenant_id=t.tenant_id, auto_reply_enabled=True)
    server.add_comment(media, "Any discount?")
    comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=10))
    assert comments.send_approved(db, tenant_id=t.tenant_id)["sent"] == 1
    # our own reply, read back by polling, is not a comment to answer
    comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=20))
    assert len(q(db, t.tenant_id, "select 1 from inbox.comments where tenant_id = %s")) == 3
    with db.tenant_tx(t.tenant_id) as conn:
        assert credits.state(conn, tenant_id=t.tenant_id)["credits_remaining"] == 99 - 2
        k = comments.counts(conn, tenant_id=t.tenant_id)
    assert (k["comments"], k["respond"], k["ignore"], k["replied_ai"], k["drafts"]) == (3, 2, 1, 2, 0)
    assert k["first_reply_p50_seconds"] >= 0


def test_one_private_reply_per_comment_within_7_days(db, published):
    t, server, media = published["t"], published["server"], published["media"]
    fresh = server.add_comment(media, "my order 1234 is late")
    old = server.add_comment(media, "order?", at=datetime.now(UTC) - timedelta(days=8))
    comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=1))
    ids = {r["platform_comment_id"]: r["comment_id"] for r in q(
        db, t.tenant_id, "select * from inbox.comments where tenant_id = %s")}
    with db.tenant_tx(t.tenant_id) as conn:
        comments.approve(conn, tenant_id=t.tenant_id, comment_id=ids[fresh], by="ana",
                         text="Sorry! We wrote to you.", private=True)
    row = comments.send_reply(db, tenant_id=t.tenant_id, comment_id=ids[fresh])
    assert row["private_replied_at"] is not None and server.private_replies[fresh]
    # a second private reply to the same comment is refused before any call
    n = len(server.requests)
    with pytest.raises(Conflict), db.tenant_tx(t.tenant_id) as conn:
        comments.approve(conn, tenant_id=t.tenant_id, comment_id=ids[fresh], by="ana",
                         text="Again", private=True)
    with db.tenant_tx(t.tenant_id) as conn:  # even forced to approved, sending is refused
        conn.execute("update inbox.comments set reply_status = 'approved' where tenant_id = %s "
                     "and comment_id = %s", [t.tenant_id, ids[fresh]])
    with pytest.raises(Conflict, match="one per comment"):
        comments.send_reply(db, tenant_id=t.tenant_id, comment_id=ids[fresh])
    # past 7 days: refused with the rule and the closing time
    with db.tenant_tx(t.tenant_id) as conn:
        comments.approve(conn, tenant_id=t.tenant_id, comment_id=ids[old], by="ana",
                         text="Hello", private=True)
    with pytest.raises(Conflict, match="within 7 days"):
        comments.send_reply(db, tenant_id=t.tenant_id, comment_id=ids[old])
    assert len(server.requests) == n


def test_20_concurrent_ai_replies_with_credits_for_10(db, published, ai):
    t, server, media = published["t"], published["server"], published["media"]
    with db.tenant_tx(t.tenant_id) as conn:
        comments.set_rule(conn, tenant_id=t.tenant_id, auto_reply_enabled=True)
        bal = credits.state(conn, tenant_id=t.tenant_id)["credits_remaining"]
        credits.debit(conn, tenant_id=t.tenant_id, action_id="test-drain", amount=bal - 10,
                      reason="adjustment")
    for k in range(20):
        server.add_comment(media, f"Question {k}?")
    server.page_size = 50
    comments.poll(db, tenant_id=t.tenant_id, now=datetime.now(UTC) + timedelta(minutes=1))
    ids = [r["comment_id"] for r in q(db, t.tenant_id, "select comment_id from inbox.comments "
                                                       "where tenant_id = %s")]
    assert len(ids) == 20
    barrier = threading.Barrier(20)

    def one(cid):
        barrier.wait()
        comments.send_reply(db, tenant_id=t.tenant_id, comment_id=cid)

    threads = [threading.Thread(target=one, args=(c,)) for c in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    rows = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s")
    assert sum(r["reply_status"] == "sent" for r in rows) == 10
    esc = [r for r in rows if r["triage"] == "escalate"]
    assert len(esc) == 10 and {r["triage_reason"] for r in esc} == {"out_of_credits"}
    assert len([r for r in server.requests if r["path"].endswith("/replies")]) == 10
    with db.tenant_tx(t.tenant_id) as conn:
        assert credits.reconcile(conn, tenant_id=t.tenant_id) == {"balance": 0, "ledger_sum": 0}
        # replaying a charged action does not charge it again (even at a zero balance)
        sent = next(r["comment_id"] for r in rows if r["reply_status"] == "sent")
        assert credits.debit(conn, tenant_id=t.tenant_id, action_id=f"comment:{sent}") is False


def test_a_webhook_comment_is_answered_by_the_job_under_the_auto_policy(db, client, published, ai):
    from growthops.inbox.social_jobs import run_comments

    t, acc, server, media = published["t"], published["acc"], published["server"], published["media"]
    with db.tenant_tx(t.tenant_id) as conn:
        comments.set_rule(conn, tenant_id=t.tenant_id, auto_reply_enabled=True)
    cid = server.add_comment(media, "Livrez-vous en Belgique ?")
    assert post(client, "instagram", comment_hook(acc["account_id"], media, cid,
                                                   "Livrez-vous en Belgique ?")).status_code == 200
    (summary,) = process_pending(db)
    assert summary["comments_new"] == 1
    (row,) = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s")
    assert (row["triage"], row["reply_status"], row["replied_by"]) == ("respond", "approved", "ai")
    out = run_comments(db, now=datetime.now(UTC), tenant_id=t.tenant_id)
    assert out["sent"] == 1 and out["comments_new"] == 0  # polled too: the same comment, once
    (row,) = q(db, t.tenant_id, "select * from inbox.comments where tenant_id = %s")
    assert row["reply_status"] == "sent" and row["reply_platform_id"]
