"""Inbox pages: list with filters, thread with ticks and decisions, reply within the window,
escalate/assign/resolve from the page, English and French, roles and tenants."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest

from growthops.connectors.messaging import InboundMessage
from growthops.inbox.accounts import connect
from growthops.inbox.ingest import store_items
from tests.conftest import new_tenant
from tests.dashboard.conftest import build_app, csrf_of, login, user


def inbox_world(db):
    t = new_tenant(db, client_name="Maison Lumière")
    now = datetime.now(UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        wa = connect(conn, tenant_id=t.tenant_id, platform="whatsapp", account_id=f"wa-{t.client_key}",
                     connector="sandbox")
        ig = connect(conn, tenant_id=t.tenant_id, platform="instagram", account_id=f"ig-{t.client_key}",
                     connector="sandbox")
        store_items(conn, tenant_id=t.tenant_id, items=[
            (wa["social_account_id"], InboundMessage(
                platform="whatsapp", account_id=wa["account_id"], customer_id="33660000001",
                message_id="p1", sent_at=now - timedelta(minutes=3), type="text",
                text="Bonjour, où en est ma commande ?", customer_name="Camille")),
            (ig["social_account_id"], InboundMessage(
                platform="instagram", account_id=ig["account_id"], customer_id="880001",
                message_id="p2", sent_at=now - timedelta(days=3), type="image",
                media_ref="https://cdn.example/x.jpg"))])
        conn.execute("update inbox.conversation_messages set triage = 'respond', confidence = 0.87, "
                     "metadata = metadata || '{\"triage_reason\": \"order status FAQ\"}' "
                     "where tenant_id = %s and platform_message_id = 'p1'", [t.tenant_id])
        rows = conn.execute("select conversation_id, platform from inbox.conversations "
                            "where tenant_id = %s", [t.tenant_id]).fetchall()
    return t, {r["platform"]: r["conversation_id"] for r in rows}


@pytest.fixture(scope="module")
def iw(db):
    t, convs = inbox_world(db)
    return {"app": build_app(db), "t": t, "convs": convs,
            "agent": user(db, "support_agent", tenant_id=t.tenant_id),
            "agent_fr": user(db, "support_agent", tenant_id=t.tenant_id, lang="fr"),
            "viewer": user(db, "client_viewer", tenant_id=t.tenant_id),
            "stranger": user(db, "support_agent", tenant_id=new_tenant(db).tenant_id)}


def test_the_list_shows_conversations_counts_and_filters(iw):
    c = login(iw["app"], iw["agent"])
    r = c.get(f"/t/{iw['t'].client_key}/inbox")
    assert r.status_code == 200
    assert "Camille" in r.text and "880001" in r.text and 'hx-trigger="every 10s"' in r.text
    assert "unread 2" in r.text
    r = c.get(f"/t/{iw['t'].client_key}/inbox/list", params={"channel": "instagram"})
    assert "880001" in r.text and "Camille" not in r.text


def test_the_thread_shows_decisions_and_the_window_then_a_reply_goes_out(iw, db):
    c = login(iw["app"], iw["agent"])
    base = f"/t/{iw['t'].client_key}/inbox/{iw['convs']['whatsapp']}"
    page = c.get(base)
    assert "où en est ma commande" in page.text and "AI decision" in page.text
    assert "confidence 87%" in page.text and "order status FAQ" in page.text and "WhatsApp free-form message allowed until" in page.text
    r = c.post(f"{base}/reply", data={"text": "Elle part aujourd'hui !", "csrf": csrf_of(page.text)},
               headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Elle part aujourd" in r.text and "Sent (whatsapp_24h)" in r.text
    r = c.post(f"{base}/escalate", data={"reason": "manual_escalation", "csrf": csrf_of(page.text)},
               headers={"HX-Request": "true"})
    assert r.status_code == 200 and "escalated" in r.text and 'data-testid="resolve"' in r.text
    r = c.post(f"{base}/reply", data={"text": "x"}, headers={"HX-Request": "true"})
    assert r.status_code == 403  # no CSRF token


def test_french_pages_and_the_instagram_human_agent_window(iw):
    c = login(iw["app"], iw["agent_fr"])
    page = c.get(f"/t/{iw['t'].client_key}/inbox/{iw['convs']['instagram']}")
    text = html.unescape(page.text)
    assert "Réponse d'un agent humain sur Instagram autorisée" in text
    assert "Envoyer" in text and "Historique" in text
    assert "Messagerie" in c.get(f"/t/{iw['t'].client_key}/inbox").text


def test_a_viewer_reads_without_forms_and_another_tenant_is_not_found(iw):
    v = login(iw["app"], iw["viewer"])
    base = f"/t/{iw['t'].client_key}/inbox/{iw['convs']['whatsapp']}"
    page = v.get(base)
    assert page.status_code == 200 and 'name="text"' not in page.text
    assert v.post(f"{base}/escalate", data={"csrf": "x"}).status_code == 403
    s = login(iw["app"], iw["stranger"])
    assert s.get(f"/t/{iw['t'].client_key}/inbox").status_code == 404
    assert s.get(base).status_code == 404
