"""Messages out over the Graph API wire format (local server): texts, templates, the human-agent
tag, retries on 429 / 5xx, Meta errors mapped, an expired token marking the account."""

from __future__ import annotations

from datetime import timedelta

import pytest

from growthops.connectors.graph_http import classify
from growthops.connectors.messaging import InboundMessage, MessagingError
from growthops.connectors.whatsapp import CloudApiTransport
from growthops.inbox.accounts import connect
from growthops.inbox.ingest import store_items
from growthops.inbox.sending import SendFailed, WindowClosed, send_reply
from tests.conftest import new_tenant
from tests.connectors.messaging_server import MessagingServer
from tests.inbox.conftest import now, q

TOKEN = "EAAGtest-token"


def _setup(db, server, platform="whatsapp", inbound_age=timedelta(minutes=5)):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        acc = connect(conn, tenant_id=t.tenant_id, platform=platform,
                      account_id=str(10**12 + hash(t.client_key) % 10**9), access_token=TOKEN,
                      metadata={"base_url": server.url, "api_version": "v21.0"})
        msg = InboundMessage(platform=platform, account_id=acc["account_id"],
                             customer_id="33612345678", message_id=f"in-{t.client_key}",
                             sent_at=now() - inbound_age, type="text", text="Hello?")
        store_items(conn, tenant_id=t.tenant_id, items=[(acc["social_account_id"], msg)])
        conv = conn.execute("select conversation_id from inbox.conversations where tenant_id = %s",
                            [t.tenant_id]).fetchone()["conversation_id"]
    return t, acc, conv


def test_whatsapp_text_goes_out_in_the_cloud_api_format_and_is_recorded(db, secret_keys):
    with MessagingServer(TOKEN) as server:
        t, acc, conv = _setup(db, server)
        sent = send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana@agency.test",
                          text="We are on it!")
    (req,) = server.requests
    assert req["path"] == f"/v21.0/{acc['account_id']}/messages"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["body"] == {"messaging_product": "whatsapp", "recipient_type": "individual",
                           "to": "33612345678", "type": "text",
                           "text": {"preview_url": False, "body": "We are on it!"}}
    (m,) = q(db, t.tenant_id, "select * from inbox.conversation_messages where tenant_id = %s "
                              "and direction = 'outbound'")
    assert (m["platform_message_id"], m["status"], m["author"], m["author_kind"]) == (
        sent.platform_message_id, "sent", "ana@agency.test", "human")
    (ev,) = q(db, t.tenant_id, "select * from inbox.conversation_events where tenant_id = %s")
    assert ev["action"] == "replied" and ev["actor"] == "ana@agency.test"
    logged = q(db, t.tenant_id, "select request_payload::text as p from core.api_calls_log "
                                "where tenant_id = %s")
    assert logged == [] or all("33612345678" not in r["p"] and TOKEN not in r["p"] for r in logged)


def test_outside_the_window_free_form_is_refused_with_the_rule_and_a_template_goes(db, secret_keys):
    with MessagingServer(TOKEN) as server:
        t, acc, conv = _setup(db, server, inbound_age=timedelta(hours=30))
        with pytest.raises(WindowClosed) as exc:
            send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana", text="Hi")
        assert exc.value.rule == "whatsapp_24h" and exc.value.until is not None
        assert server.requests == []
        send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana",
                   template={"name": "order_update", "language": "fr", "parameters": ["42"]})
    assert server.requests[0]["body"]["template"] == {
        "name": "order_update", "language": {"code": "fr"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}
    acts = [r["action"] for r in q(db, t.tenant_id, "select action from inbox.conversation_events "
                                                    "where tenant_id = %s order by event_id")]
    assert acts == ["refused", "replied"]


def test_instagram_human_reply_after_a_day_carries_the_human_agent_tag(db, secret_keys):
    with MessagingServer(TOKEN) as server:
        t, acc, conv = _setup(db, server, platform="instagram", inbound_age=timedelta(days=3))
        sent = send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana",
                          text="Sorry for the wait")
        with pytest.raises(WindowClosed) as exc:
            send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ai", text="auto",
                       author="ai")
    assert sent.tag == "HUMAN_AGENT"
    assert server.requests[0]["body"] == {"recipient": {"id": "33612345678"},
                                          "message": {"text": "Sorry for the wait"},
                                          "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    assert exc.value.rule == "instagram_24h" and len(server.requests) == 1
    # the AI's refusal hands the conversation to a person
    (c,) = q(db, t.tenant_id, "select status from inbox.conversations where tenant_id = %s")
    (e,) = q(db, t.tenant_id, "select reason from inbox.support_escalations where tenant_id = %s")
    assert c["status"] == "escalated" and e["reason"] == "outside_window"


def test_429_and_5xx_are_retried_then_succeed():
    with MessagingServer(TOKEN) as server:
        server.fail_next(429, "error_rate_limit")
        server.fail_next(503)
        tr = CloudApiTransport("123", TOKEN, base_url=server.url, wait_max=0.01)
        res = tr.send_text("336", "hello")
    assert res.message_id.startswith("wamid.TEST") and len(server.requests) == 3


def test_retries_give_up_and_errors_are_mapped():
    with MessagingServer(TOKEN) as server:
        server.fail_next(500, times=4)
        tr = CloudApiTransport("123", TOKEN, base_url=server.url, wait_max=0.01)
        with pytest.raises(MessagingError) as exc:
            tr.send_text("336", "hello")
        assert exc.value.kind == "temporary" and len(server.requests) == 4
        server.fail_next(400, "error_reengagement")
        with pytest.raises(MessagingError) as exc:
            tr.send_text("336", "hello")
        assert exc.value.kind == "window_closed" and exc.value.meta_code == 131047
    assert classify(10, 2534022, 400) == "window_closed"
    assert classify(551, None, 400) == "recipient"
    assert classify(132001, None, 400) == "template"
    assert classify(None, None, 502) == "temporary"


def test_an_expired_token_marks_the_account_expired_and_blocks_sending(db, secret_keys):
    with MessagingServer(TOKEN) as server:
        t, acc, conv = _setup(db, server)
        server.fail_next(401, "error_expired_token")
        with pytest.raises(SendFailed) as exc:
            send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana", text="Hi")
        assert exc.value.kind == "token_expired" and "expired" in str(exc.value)
        (a,) = q(db, t.tenant_id, "select status, status_reason from inbox.social_accounts "
                                  "where tenant_id = %s")
        assert a["status"] == "expired" and "190" in a["status_reason"]
        (m,) = q(db, t.tenant_id, "select status, error from inbox.conversation_messages "
                                  "where tenant_id = %s and direction = 'outbound'")
        assert m["status"] == "failed" and m["error"]["kind"] == "token_expired"
        from growthops.core.errors import Conflict

        with pytest.raises(Conflict, match="expired"):
            send_reply(db, tenant_id=t.tenant_id, conversation_id=conv, actor="ana", text="Hi")
        assert len(server.requests) == 1


def test_tokens_are_stored_encrypted_and_an_account_belongs_to_one_tenant(db, secret_keys):
    from growthops.core.errors import Conflict
    from growthops.core.secrets import decrypt

    a, b = new_tenant(db), new_tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        connect(conn, tenant_id=a.tenant_id, platform="instagram", account_id="178414000001",
                access_token="IGAAsecret")
    (row,) = q(db, a.tenant_id, "select access_token from inbox.social_accounts where tenant_id = %s")
    assert "IGAAsecret" not in row["access_token"] and decrypt(row["access_token"]) == "IGAAsecret"
    with pytest.raises(Conflict), db.tenant_tx(b.tenant_id) as conn:
        connect(conn, tenant_id=b.tenant_id, platform="instagram", account_id="178414000001",
                access_token="other")
