"""The inbox API: lists with filters and counts, the thread, actions by role, the window's 409."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from growthops.core.auth.users import create_user
from tests.api.conftest import make_key
from tests.inbox.conftest import ig_text, inbox_tenant, now, post, process_pending, wa_text

PW = "correct horse battery"


@pytest.fixture()
def world(client, hook_db):
    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "33650000001", "wamid.A1", "Order 42?", now(), "Zoé"))
    post(client, "instagram", ig_text(t["ig"], "777001", "aWdfA2", "Jacket in M?",
                                      now() - timedelta(days=2)))
    process_pending(hook_db)
    key = t["tenant"].client_key
    users = {r: create_user(hook_db, email=f"{r}-{key}@x.test", password=PW, role=r,
                            tenant_id=tid if r in ("support_agent", "client_viewer") else None)
             for r in ("support_agent", "client_viewer", "media_buyer")}
    return {"t": t, "key": key, "users": users, "apikey": make_key(hook_db, t["tenant"]),
            "base": f"/api/v1/tenants/{key}/inbox"}


def login(client_app, user):
    c = TestClient(client_app.app)
    assert c.post("/api/v1/auth/login", json={"email": user.email, "password": PW}).status_code == 200
    return c


def test_lists_filters_counts_and_thread(client, world):
    c = login(client, world["users"]["support_agent"])
    page = c.get(f"{world['base']}/conversations").json()
    assert page["total"] == 2 and page["counts"]["unread"] == 2
    assert [i["platform"] for i in page["items"]] == ["whatsapp", "instagram"]  # newest first
    wa = page["items"][0]
    assert wa["customer_name"] == "Zoé" and wa["last_text"] == "Order 42?" and wa["unread"]
    assert c.get(f"{world['base']}/conversations", params={"channel": "instagram"}).json()["total"] == 1
    assert c.get(f"{world['base']}/conversations", params={"escalated": True}).json()["total"] == 0
    th = c.get(f"{world['base']}/conversations/{wa['conversation_id']}").json()
    assert [m["text"] for m in th["messages"]] == ["Order 42?"]
    assert c.get(f"{world['base']}/conversations/999999999").status_code == 404


def test_a_support_agent_answers_escalates_assigns_and_resolves(client, world):
    c = login(client, world["users"]["support_agent"])
    me = world["users"]["support_agent"]
    convs = c.get(f"{world['base']}/conversations").json()["items"]
    wa, ig = convs[0]["conversation_id"], convs[1]["conversation_id"]
    r = c.post(f"{world['base']}/conversations/{wa}/reply", json={"text": "Shipped today!"})
    assert r.status_code == 201 and r.json()["rule"] == "whatsapp_24h"
    r = c.post(f"{world['base']}/conversations/{ig}/reply", json={"text": "Yes, in M."})
    assert r.status_code == 201 and r.json()["tag"] == "HUMAN_AGENT"
    r = c.post(f"{world['base']}/conversations/{wa}/escalate", json={"notes": "refund"})
    assert r.status_code == 201 and r.json()["opened_by"] == me.email
    assert c.post(f"{world['base']}/conversations/{wa}/escalate", json={}).status_code == 409
    r = c.post(f"{world['base']}/conversations/{wa}/assign", json={"assignee": me.email})
    assert r.status_code == 200 and r.json()["assignee_email"] == me.email
    mine = c.get(f"{world['base']}/conversations", params={"mine": True}).json()
    assert [i["conversation_id"] for i in mine["items"]] == [wa] and mine["counts"]["mine"] == 1
    assert c.post(f"{world['base']}/conversations/{wa}/resolve", json={}).json()["status"] == "resolved"
    assert c.post(f"{world['base']}/conversations/{wa}/by-nobody", json={}).status_code == 404
    events = c.get(f"{world['base']}/conversations/{wa}").json()["events"]
    assert [e["action"] for e in events] == ["replied", "escalated", "assigned", "resolved"]
    assert {e["actor"] for e in events} == {me.email}


def test_a_viewer_reads_but_cannot_act_and_a_key_must_name_the_person(client, world):
    v = login(client, world["users"]["client_viewer"])
    conv = v.get(f"{world['base']}/conversations").json()["items"][0]["conversation_id"]
    for action, body in (("reply", {"text": "x"}), ("escalate", {}), ("resolve", {}),
                         ("archive", {}), ("assign", {"assignee": None})):
        r = v.post(f"{world['base']}/conversations/{conv}/{action}", json=body)
        assert r.status_code == 403, (action, r.text)
    k = TestClient(client.app, headers={"X-API-Key": world["apikey"]})
    r = k.post(f"{world['base']}/conversations/{conv}/escalate", json={})
    assert r.status_code == 422 and "body.by" in r.json()["error"]["message"]
    assert k.post(f"{world['base']}/conversations/{conv}/escalate",
                  json={"by": "ops bot"}).status_code == 201


def test_a_reply_outside_the_window_answers_409_with_the_rule_and_until(client, hook_db, world):
    t = world["t"]
    post(client, "whatsapp", wa_text(t["wa"], "33650000009", "wamid.OLD", "old",
                                     now() - timedelta(hours=40)))
    process_pending(hook_db)
    c = login(client, world["users"]["media_buyer"])
    convs = c.get(f"{world['base']}/conversations", params={"channel": "whatsapp"}).json()["items"]
    old = next(i for i in convs if i["last_text"] == "old")["conversation_id"]
    r = c.post(f"{world['base']}/conversations/{old}/reply", json={"text": "late"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["details"]["rule"] == "whatsapp_24h" and err["details"]["until"]
    r = c.post(f"{world['base']}/conversations/{old}/reply",
               json={"template": "order_update", "language": "en_US"})
    assert r.status_code == 201 and r.json()["rule"] == "whatsapp_template"
