"""Comment threads in the inbox's conversation list, as conversations of their own kind
(filter ``kind``), counted apart (issue 12)."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from growthops.inbox import comments, conversations
from tests.api.conftest import make_key
from tests.dashboard.conftest import build_app, login, user
from tests.inbox.conftest import inbox_tenant, now, post, process_pending, q, wa_text


def _setup(client, db):
    """A WhatsApp conversation and, on a monitored post, two comment threads: c1 (escalated,
    with a reply c2 from another user) and c3 (answered)."""
    t = inbox_tenant(db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "3361", f"wamid.cc{tid}", "Hello?",
                                     now() - timedelta(minutes=30)))
    process_pending(db)
    with db.tenant_tx(tid) as conn:
        mp = comments.monitor_post(conn, tenant_id=tid, social_account_id=t["ig_id"],
                                   platform_post_id="m1", source="manual", caption="Spring sale")
        at = now()
        conn.execute(
            """insert into inbox.comments (tenant_id, monitored_post_id, platform_comment_id,
                 parent_id, author_id, author_name, text, created_at, received_via, triage,
                 triage_reason, reply_status, ai_reply_text, replied_at, replied_by)
               values (%(t)s, %(p)s, 'c1', null, 'u1', 'zoe', 'Is it vegan?', %(a)s - interval '20 min',
                       'webhook', 'escalate', 'no_ai', 'none', null, null, null),
                      (%(t)s, %(p)s, 'c2', 'c1', 'u2', 'max', 'Same question', %(a)s - interval '5 min',
                       'poll', 'escalate', 'no_ai', 'none', null, null, null),
                      (%(t)s, %(p)s, 'c3', null, 'u3', 'ana', 'Love it', %(a)s - interval '10 min',
                       'webhook', 'respond', null, 'sent', 'Thank you!', %(a)s - interval '1 min', 'ai')""",
            {"t": tid, "p": mp["monitored_post_id"], "a": at})
    return t, tid


def test_comment_threads_are_conversations_of_their_own_kind(client, hook_db):
    t, tid = _setup(client, hook_db)
    ids = {r["platform_comment_id"]: r["comment_id"] for r in q(
        hook_db, tid, "select platform_comment_id, comment_id from inbox.comments where tenant_id = %s")}
    with hook_db.tenant_tx(tid) as conn:
        rows, total = conversations.list_conversations(conn, tenant_id=tid)
        assert total == 3 and sorted(r["kind"] for r in rows) == ["comment", "comment", "message"]
        # newest first: c3's reply (1 min ago), c1's thread (c2, 5 min ago), the message (30 min)
        assert [r["comment_id"] for r in rows] == [ids["c3"], ids["c1"], None]
        c3, c1 = rows[0], rows[1]
        assert (c3["status"], c3["last_direction"], c3["last_text"]) == ("active", "outbound",
                                                                         "Thank you!")
        assert (c1["status"], c1["thread_size"], c1["last_text"], c1["customer_name"]) == (
            "escalated", 2, "Same question", "zoe")
        assert c1["escalation_reason"] == "no_ai" and c1["post_caption"] == "Spring sale"
        only, n = conversations.list_conversations(conn, tenant_id=tid, kind="comment")
        assert n == 2 and {r["kind"] for r in only} == {"comment"}
        only, n = conversations.list_conversations(conn, tenant_id=tid, kind="message")
        assert n == 1 and only[0]["kind"] == "message"
        esc, n = conversations.list_conversations(conn, tenant_id=tid, escalated=True)
        assert n == 1 and esc[0]["comment_id"] == ids["c1"]
        assert conversations.list_conversations(conn, tenant_id=tid, channel="whatsapp")[1] == 1
        assert conversations.list_conversations(conn, tenant_id=tid, unread=True)[1] == 1
        page, n = conversations.list_conversations(conn, tenant_id=tid, limit=1, offset=1)
        assert n == 3 and page[0]["comment_id"] == ids["c1"]
        c = conversations.counts(conn, tenant_id=tid)
        assert (c["all"], c["comments"], c["comments_escalated"]) == (1, 2, 1)
    # the API: filter by kind, 422 for an unknown kind
    base = f"/api/v1/tenants/{t['tenant'].client_key}/inbox"
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t["tenant"])})
    r = api.get(f"{base}/conversations", params={"kind": "comment"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and {i["kind"] for i in body["items"]} == {"comment"}
    assert body["items"][0]["customer_id"] is None and body["counts"]["comments"] == 2
    assert api.get(f"{base}/conversations").json()["total"] == 3
    assert api.get(f"{base}/conversations", params={"kind": "post"}).status_code == 422


def test_the_inbox_page_lists_comment_threads_and_filters_by_kind(client, hook_db):
    t, tid = _setup(client, hook_db)
    key = t["tenant"].client_key
    app = build_app(hook_db)
    en = login(app, user(hook_db, "support_agent", tenant_id=tid))
    r = en.get(f"/t/{key}/inbox")
    assert r.status_code == 200 and r.text.count("data-comment=") == 2
    assert f"/t/{key}/comments#comment-" in r.text and "Spring sale" in r.text
    r = en.get(f"/t/{key}/inbox/list", params={"kind": "message"})
    assert r.text.count("data-comment=") == 0 and r.text.count("data-conversation=") == 1
    # the comments page shows the last days' KPIs, comments counted apart from messages
    from growthops.inbox.kpis.store import refresh
    refresh(hook_db, tenant_id=tid, start=now() - timedelta(days=1), end=now() + timedelta(minutes=1))
    r = en.get(f"/t/{key}/comments")
    assert r.status_code == 200 and 'data-testid="kpi-days"' in r.text
    table = r.text.split('data-testid="kpi-days"')[1].split("</table>")[0]
    cells = [[int(x) for x in re.findall(r"<td>(\d+)</td>", row)] for row in table.split("<tr>")[2:]]
    # columns: messages, comments, posts monitored (summed: the times may straddle midnight)
    assert sum(c[0] for c in cells) == 1 and sum(c[1] for c in cells) == 3
    assert max(c[2] for c in cells) == 1
    fr = login(app, user(hook_db, "support_agent", tenant_id=tid, lang="fr"))
    r = fr.get(f"/t/{key}/inbox", params={"kind": "comment"})
    assert r.text.count("data-comment=") == 2 and "commentaire" in r.text
