"""The AI page's forms (rules, channels, settings, FAQ entry, document upload), the topics page
and the suggested-FAQ inbox: staff change and approve (CSRF-checked, audited), support agents
and viewers cannot, another tenant is 404, bad input is 422 with nothing changed; English and
French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from growthops.inbox import comments
from growthops.inbox.ai import audit, config, faq_miner, kb, topics
from tests.dashboard.conftest import csrf_of, login, user
from tests.inbox.ai.test_learning import DELIVERY, DELIVERY_A, RETURNS, RETURNS_A
from tests.inbox.ai.threads import add_inbound, add_thread, intent_messages, tenant_with_account


def _staff(client, hook_db, lang="en"):
    return login(client.app, user(hook_db, "media_buyer", lang=lang))


def test_staff_change_rules_channels_and_settings_audited(client, hook_db):
    t, _acct = tenant_with_account(hook_db)
    tid = t.tenant_id
    staff = _staff(client, hook_db)
    page = staff.get(f"/t/{t.client_key}/inbox-ai")
    assert page.status_code == 200 and 'data-testid="form-rules"' in page.text
    token = csrf_of(page.text)
    base = f"/t/{t.client_key}/inbox-ai"
    r = staff.post(f"{base}/rules", data={"csrf": token, "instructions": "Be brief",
                                          "ignore_examples": "win a phone\n\nfollow me\n",
                                          "ai_control_enabled": "1"})
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=1")
    r = staff.post(f"{base}/channels", data={"csrf": token, "conversations_ai": "1",
                                             "comments_auto": "1"})
    assert r.status_code == 303
    r = staff.post(f"{base}/settings", data={"csrf": token, "target_precision": "90",
                                             "temperature": "0,3", "max_tokens": "200",
                                             "reply_lang": "fr"})
    assert r.status_code == 303
    with hook_db.tenant_tx(tid) as conn:
        rules = config.get_rules(conn, tenant_id=tid)
        s = config.get_settings(conn, tenant_id=tid)
        rule = comments.get_rule(conn, tenant_id=tid, social_account_id=None)
        trail = audit.trail(conn, tenant_id=tid)
    assert rules["instructions"] == "Be brief"
    assert rules["ignore_examples"] == ["win a phone", "follow me"]
    assert s["ai_enabled_for_conversations"] and not s["auto_reply_enabled"]
    assert rule["auto_reply_enabled"] and not rule["ai_enabled_for_comments"]
    assert s["target_precision"] == 0.9 and s["temperature"] == 0.3 and s["max_tokens"] == 200
    assert s["reply_lang"] == "fr"
    whats = [e["context"]["what"] for e in trail]
    assert {"AI rules changed", "AI settings changed", "comment AI settings changed"} <= set(whats)
    assert all(e["context"]["by"].startswith("media_buyer-") for e in trail)
    change = next(e for e in trail if "target_precision" in e["context"]["after"])
    assert change["context"]["before"]["target_precision"] == 0.95
    # the page shows the trail, and a change that changes nothing is not audited
    n = len(trail)
    staff.post(f"{base}/settings", data={"csrf": token, "target_precision": "90",
                                         "reply_lang": "fr"})
    with hook_db.tenant_tx(tid) as conn:
        assert len(audit.trail(conn, tenant_id=tid)) == n
    assert 'data-testid="ai-trail"' in staff.get(base).text
    # bad input: 422 naming the field, nothing changed
    r = staff.post(f"{base}/settings", data={"csrf": token, "target_precision": "150"})
    assert r.status_code == 422 and "target_precision" in r.text
    r = staff.post(f"{base}/settings", data={"csrf": token, "temperature": "warm"})
    assert r.status_code == 422 and "temperature" in r.text
    with hook_db.tenant_tx(tid) as conn:
        assert config.get_settings(conn, tenant_id=tid)["target_precision"] == 0.9
    # no CSRF token: 403, nothing changed
    r = staff.post(f"{base}/rules", data={"instructions": "Hacked"})
    assert r.status_code == 403
    with hook_db.tenant_tx(tid) as conn:
        assert config.get_rules(conn, tenant_id=tid)["instructions"] == "Be brief"


def test_faq_entry_and_document_upload(client, hook_db):
    t, _acct = tenant_with_account(hook_db)
    staff = _staff(client, hook_db)
    base = f"/t/{t.client_key}/inbox-ai"
    token = csrf_of(staff.get(base).text)
    r = staff.post(f"{base}/faq", data={"csrf": token, "question": "Do you deliver on Sunday?",
                                        "answer": "No, deliveries are Monday to Saturday."})
    assert r.status_code == 303
    r = staff.post(f"{base}/faq", data={"csrf": token, "question": "", "answer": "x"})
    assert r.status_code == 422
    r = staff.post(f"{base}/documents", data={"csrf": token, "doc_lang": "en"},
                   files={"file": ("returns.md", b"# Returns\n\nItems can be returned within "
                                   b"30 days.", "text/markdown")})
    assert r.status_code == 303 and "uploaded=" in r.headers["location"]
    r = staff.post(f"{base}/documents", data={"csrf": token},
                   files={"file": ("virus.exe", b"MZ", "application/octet-stream")})
    assert r.status_code == 422
    with hook_db.tenant_tx(t.tenant_id) as conn:
        faq = kb.list_faq(conn, tenant_id=t.tenant_id)
        docs = kb.list_documents(conn, tenant_id=t.tenant_id)
    assert [f["question"] for f in faq] == ["Do you deliver on Sunday?"]
    assert [(d["title"], d["status"]) for d in docs] == [("returns.md", "processing")]
    page = staff.get(base + "?saved=1").text
    assert "returns.md" in page and 'data-testid="saved"' in page


def test_only_staff_change_the_ai_and_other_tenants_are_404(client, hook_db):
    t, _acct = tenant_with_account(hook_db)
    other, _a = tenant_with_account(hook_db)
    base = f"/t/{t.client_key}/inbox-ai"
    for role in ("support_agent", "client_viewer"):
        who = login(client.app, user(hook_db, role, tenant_id=t.tenant_id))
        page = who.get(base)
        assert page.status_code == 200 and 'data-testid="form-rules"' not in page.text
        token = csrf_of(page.text) if 'name="csrf"' in page.text else "x"
        for path in ("rules", "channels", "settings", "faq"):
            r = who.post(f"{base}/{path}", data={"csrf": token, "instructions": "x",
                                                 "question": "q?", "answer": "a"})
            assert r.status_code == 403, (role, path)
    intruder = login(client.app, user(hook_db, "client_viewer", tenant_id=other.tenant_id))
    assert intruder.get(f"/t/{t.client_key}/inbox-topics").status_code == 404
    assert intruder.get(f"/t/{t.client_key}/inbox-faq").status_code == 404
    with hook_db.tenant_tx(t.tenant_id) as conn:
        assert config.get_rules(conn, tenant_id=t.tenant_id)["instructions"] is None


def test_topics_page_shows_size_trend_and_examples_in_french(client, hook_db):
    t, acct = tenant_with_account(hook_db)
    now = datetime.now(UTC)
    data = intent_messages(n_intents=4, per_intent=20, seed=3)
    add_inbound(hook_db, t.tenant_id, acct,
                [(text, now - timedelta(days=1 + 7 * (k % 3 == 0), hours=k % 7))
                 for k, (text, _i) in enumerate(data)])
    staff = _staff(client, hook_db, lang="fr")
    page = staff.get(f"/t/{t.client_key}/inbox-topics")
    assert 'data-testid="no-topics"' in page.text and "Aucun sujet" in page.text
    r = staff.post(f"/t/{t.client_key}/inbox-topics/run", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "found=" in r.headers["location"]
    page = staff.get(f"/t/{t.client_key}/inbox-topics").text
    with hook_db.tenant_tx(t.tenant_id) as conn:
        rows = topics.list_topics(conn, tenant_id=t.tenant_id)
    assert rows and rows[0]["label"] in page and "▲" in page
    assert rows[0]["examples"][0][:40] in page
    assert "Cette semaine" in page or "cette semaine" in page


def test_suggested_faq_inbox_approve_and_reject(client, hook_db):
    t, acct = tenant_with_account(hook_db)
    now = datetime.now(UTC)
    for k, (q, a) in enumerate(list(zip(DELIVERY, DELIVERY_A, strict=True))
                               + list(zip(RETURNS, RETURNS_A, strict=True))):
        at = now - timedelta(days=2, hours=k)
        add_thread(hook_db, t.tenant_id, acct, [("inbound", "customer", q, at),
                                               ("outbound", "human", a, at + timedelta(minutes=4))])
    staff = _staff(client, hook_db)
    page = staff.get(f"/t/{t.client_key}/inbox-faq")
    token = csrf_of(page.text)
    r = staff.post(f"/t/{t.client_key}/inbox-faq/suggest", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"].endswith("mined=2")
    page = staff.get(f"/t/{t.client_key}/inbox-faq").text
    with hook_db.tenant_tx(t.tenant_id) as conn:
        first, second = faq_miner.list_suggestions(conn, tenant_id=t.tenant_id)
    assert f'data-testid="approve-{first["faq_id"]}"' in page and "5 times" in page
    agent = login(client.app, user(hook_db, "support_agent", tenant_id=t.tenant_id))
    assert agent.post(f"/t/{t.client_key}/inbox-faq/{first['faq_id']}/approve",
                      data={"csrf": token}).status_code == 403
    assert staff.post(f"/t/{t.client_key}/inbox-faq/{first['faq_id']}/approve",
                      data={"csrf": token}).status_code == 303
    assert staff.post(f"/t/{t.client_key}/inbox-faq/{second['faq_id']}/reject",
                      data={"csrf": token}).status_code == 303
    assert staff.post(f"/t/{t.client_key}/inbox-faq/{second['faq_id']}/delete",
                      data={"csrf": token}).status_code == 404
    with hook_db.tenant_tx(t.tenant_id) as conn:
        assert faq_miner.list_suggestions(conn, tenant_id=t.tenant_id) == []
        approved = faq_miner.list_suggestions(conn, tenant_id=t.tenant_id, status="approved")
        assert [a["faq_id"] for a in approved] == [first["faq_id"]]
        whats = {e["context"]["what"] for e in audit.trail(conn, tenant_id=t.tenant_id)}
    assert {"faq approved", "faq rejected"} <= whats
    assert first["question"] in staff.get(f"/t/{t.client_key}/inbox-faq?status=approved").text
