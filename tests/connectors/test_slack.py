"""Slack: the digest posted to a local server speaking Slack's Web API, and signed button clicks
sent through FastAPI exactly as Slack sends them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from growthops.ads.cycle import run_daily_cycle
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.ads.reporting.slack import (
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    digest_messages,
    post_digest,
)
from growthops.ads.reporting.slack_actions import handle, tenants_for_channel
from growthops.connectors.slack.client import SlackError, make_client
from growthops.connectors.slack.interactivity import SlackSignatureError, verify_request
from growthops.core.errors import ConfigError
from growthops.web.slack import SlackSettings, get_slack_settings, install_handlers, router
from tests.conftest import new_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
END = date(2024, 3, 31)
TOKEN = "xoxb-1111-2222-testtokensecret"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PLAN = Plan(
    campaigns=2,
    adsets_per_campaign=3,
    ads_per_adset=3,
    days=60,
    end=END,
    base_spend=150.0,
    bad_adsets=(1,),
    great_adsets=(0,),
    fatigued_ads=(6,),
    drop_campaigns=(1,),
    budget_adsets=(2, 5),
    overspend_adsets=(2,),
)


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


# ------------------------------------------------------------------ a local Slack Web API
class SlackServer:
    """Answers ``POST /api/<method>`` like Slack's Web API and records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_channels: dict[str, str] = {}  # channel -> error fixture
        self.channel_ids: dict[str, str] = {}  # "#name" -> "C..." (what Slack answers)
        # Every message posted, as Slack keeps it: channel id -> messages (oldest first).
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._last_ts = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the read methods: conversations.*)
                url = urllib.parse.urlsplit(self.path)
                args = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                self._answer(url.path, args, "")

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    args = json.loads(raw or b"{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                self._answer(self.path, args, ctype)

            def _answer(self, path: str, args: dict[str, Any], ctype: str) -> None:
                method = path.rsplit("/", 1)[-1]
                auth = self.headers.get("Authorization")
                server.requests.append(
                    {
                        "method": method,
                        "path": path,
                        "auth": auth,
                        "content_type": ctype,
                        "args": args,
                    }
                )
                body = json.dumps(server.answer(method, args, auth)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"

    def answer(self, method: str, args: dict[str, Any], auth: str | None) -> dict[str, Any]:
        if auth != f"Bearer {TOKEN}":
            return _fixture("error.invalid_auth.json")
        channel = str(args.get("channel", ""))
        if channel in self.fail_channels:
            return _fixture(self.fail_channels[channel])
        channel_id = self.channel_ids.get(channel, channel)
        if method == "chat.postMessage":
            out = _fixture("chat.postMessage.json")
            with self._lock:  # Slack's ts: the post's Unix time, unique per channel
                self._last_ts = max(time.time(), self._last_ts + 1e-6)
                ts = f"{self._last_ts:.6f}"
            out.update(channel=channel_id, ts=ts)
            out["message"].update(ts=ts, text=args.get("text", ""), blocks=args.get("blocks", []))
            kept = {**out["message"], "thread_ts": args.get("thread_ts")}
            if args.get("metadata"):
                kept["metadata"] = args["metadata"]
            self.messages.setdefault(channel_id, []).append(kept)
            return out
        if method in ("conversations.history", "conversations.replies"):
            # https://docs.slack.dev/reference/methods/conversations.history (and .replies):
            # newest first, messages at or after `oldest`, metadata only when asked for.
            if channel_id not in self.messages:
                return {"ok": False, "error": "channel_not_found"}
            oldest = float(args.get("oldest") or 0)
            meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
            if method == "conversations.replies":
                keep = [m for m in self.messages[channel_id]
                        if m["ts"] == args.get("ts") or m.get("thread_ts") == args.get("ts")]
            else:
                keep = [m for m in self.messages[channel_id] if not m.get("thread_ts")]
            out_msgs = [{k: v for k, v in m.items() if meta or k != "metadata"}
                        for m in reversed(keep) if float(m["ts"]) >= oldest]
            return {"ok": True, "messages": out_msgs, "has_more": False,
                    "response_metadata": {"next_cursor": ""}}
        if method == "chat.update":
            out = _fixture("chat.update.json")
            out.update(channel=channel_id, ts=args["ts"], text=args.get("text", ""))
            out["message"].update(text=args.get("text", ""), blocks=args.get("blocks", []))
            return out
        if method == "chat.postEphemeral":
            return _fixture("chat.postEphemeral.json")
        return {"ok": False, "error": "unknown_method"}

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method]


@pytest.fixture()
def slack():
    server = SlackServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture()
def api(db, slack):
    """A minimal app with the Slack router, its settings pointing at the local server."""
    app = FastAPI()
    app.include_router(router)
    install_handlers([handle])
    app.state.db = db
    app.dependency_overrides[get_slack_settings] = lambda: SlackSettings(
        signing_secret=SECRET, bot_token=TOKEN, api_url=slack.url
    )
    with TestClient(app) as client:
        yield client


# ------------------------------------------------------------------------------- helpers
def _channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


def _account(db, **tenant_fields):
    """A tenant with the planted synthetic account and its daily cycle run (real suggestions).

    The test reviewers U0REVIEW1 and U0REVIEW2 are mapped to a media buyer of the agency (only
    mapped Slack users who may decide can click: growthops.core.auth.slack_users)."""
    from growthops.core.auth.slack_users import link
    from growthops.core.auth.users import create_user

    t = new_tenant(db, **tenant_fields)
    buyer = create_user(db, email=f"buyer-{uuid.uuid4().hex[:10]}@agency.example",
                        password="correct horse battery", role="media_buyer")
    for reviewer in ("U0REVIEW1", "U0REVIEW2"):
        link(db, tenant_id=t.tenant_id, slack_user_id=reviewer, email=buyer.email)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END)
    return t


def _q(db, tenant_id, sql, params=()):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


def _post(db, t, slack, lang="en"):
    with db.tenant_tx(t.tenant_id) as conn:
        return post_digest(
            conn, tenant_id=t.tenant_id, as_of=END, client=make_client(TOKEN, slack.url), lang=lang
        )


def _sign(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    """Headers Slack sends: X-Slack-Signature = v0=HMAC-SHA256(secret, 'v0:{ts}:{body}')."""
    stamp = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
    }


def _click_body(
    posted: dict[str, Any],
    suggestion_id: int,
    decision: str,
    *,
    user: str = "U0REVIEW1",
    name: str = "alice.martin",
    channel: str | None = None,
) -> bytes:
    """The form body Slack sends when ``user`` presses a button of the posted message."""
    payload = _fixture("block_actions.json")
    ts = posted["ts"]
    channel = channel or posted["channel"]
    blocks = copy.deepcopy(posted["message"]["blocks"])
    payload["user"].update(id=user, username=name, name=name)
    payload["channel"]["id"] = channel
    payload["container"].update(channel_id=channel, message_ts=ts)
    payload["message"].update(ts=ts, text=posted["message"]["text"], blocks=blocks)
    action = None
    for b in blocks:
        for el in b.get("elements", []) if b["type"] == "actions" else []:
            if el["action_id"] == f"decide:{decision}" and el["value"] == str(suggestion_id):
                action = {**el, "block_id": b["block_id"], "action_ts": f"{time.time():.6f}"}
    assert action is not None, f"no {decision} button for suggestion {suggestion_id}"
    payload["actions"] = [action]
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def _posted_message(slack, n: int = 0) -> dict[str, Any]:
    """What Slack answered for the n-th chat.postMessage (channel, ts, message with blocks)."""
    req = slack.calls("chat.postMessage")[n]
    return slack.answer("chat.postMessage", req["args"], req["auth"])


def _units(blocks: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Blocks of each suggestion, keyed by suggestion id (from block ids KIND:ID:...)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for b in blocks:
        parts = str(b.get("block_id", "")).split(":")
        if parts[0] in ("sug", "act", "done", "div"):
            out.setdefault(int(parts[1]), []).append(b)
    return out


def _decisions(db, t, sid):
    return _q(
        db,
        t.tenant_id,
        "select decision, decided_by, channel from ads.decisions where suggestion_id = %s order by decision_id",
        [sid],
    )


# ---------------------------------------------------------------------------- the digest
def test_post_digest_sends_block_kit_and_stores_ts(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel, slack_validation_channel="#acme-validation")
    pending = _q(
        db,
        t.tenant_id,
        "select suggestion_id, priority, confidence, texts, "
        "predicted_metrics from ads.suggestions where status = 'pending'",
    )
    assert len(pending) >= 2
    ts = _post(db, t, slack)

    assert len(ts) == 1 and len(slack.requests) == 1
    req = slack.requests[0]
    assert req["path"] == "/api/chat.postMessage"
    assert req["auth"] == f"Bearer {TOKEN}"
    assert req["args"]["channel"] == channel  # the id wins over the channel name
    blocks = req["args"]["blocks"]
    assert blocks[0]["type"] == "header" and t.client_name in blocks[0]["text"]["text"]
    units = _units(blocks)
    assert set(units) == {p["suggestion_id"] for p in pending}
    by_id = {p["suggestion_id"]: p for p in pending}
    for sid, unit in units.items():
        section, actions, divider = unit
        assert [b["type"] for b in unit] == ["section", "actions", "divider"]
        text = section["text"]["text"]
        assert by_id[sid]["texts"]["en"]["action"].replace("&", "&amp;") in text
        shown = min(by_id[sid]["confidence"], 99)  # never "100%" (issue 9): "≥99%"
        assert f"{shown}%" in text  # en_US percent (Babel)
        assert "80% interval" in text  # p10-p90 of predicted_metrics
        assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
            ("decide:approved", str(sid)),
            ("decide:refused", str(sid)),
            ("decide:backlog", str(sid)),
        ]
        assert actions["elements"][0]["style"] == "primary"
    # Review order: priority, then confidence.
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    order = [(rank[by_id[s]["priority"]], -by_id[s]["confidence"]) for s in units]
    assert order == sorted(order)

    stored = _q(
        db, t.tenant_id, "select slack_message_ts from ads.suggestions where status = 'pending'"
    )
    assert {r["slack_message_ts"] for r in stored} == {ts[0]}
    log = _q(db, t.tenant_id, "select * from core.api_calls_log where api_name = 'slack'")
    assert len(log) == 1 and log[0]["success"] and log[0]["endpoint"] == "chat.postMessage"
    assert log[0]["response_payload"]["ts"] == ts[0]
    assert TOKEN not in json.dumps(log, default=str)
    # Idempotent: a second run posts nothing more.
    assert _post(db, t, slack) == [] and len(slack.requests) == 1


def test_post_digest_in_french_learns_the_channel_id(db, slack):
    t = _account(db, slack_validation_channel="#acme-validation")
    learned = _channel()
    slack.channel_ids["#acme-validation"] = learned
    _post(db, t, slack, lang="fr")
    req = slack.requests[0]
    assert req["args"]["channel"] == "#acme-validation"
    blocks = req["args"]["blocks"]
    assert blocks[0]["text"]["text"].startswith("Suggestions pour")
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert set(buttons) == {"Approuver", "Refuser", "Mettre en réserve"}
    assert "Confiance :" in blocks[2]["text"]["text"]
    # Clicks carry the channel id, so the id Slack answered is stored on the tenant.
    row = _q(db, t.tenant_id, "select slack_channel_id from core.tenants")[0]
    assert row["slack_channel_id"] == learned
    assert tenants_for_channel(db, learned) == [str(t.tenant_id)]


def test_post_digest_splits_long_digests(db, slack):
    t = _account(db, slack_channel_id=_channel())
    with db.tenant_tx(t.tenant_id) as conn:  # 20 more pending suggestions (other entities)
        conn.execute(
            """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, confidence, platform, entity_type,
                 entity_id, entity_name, created_at, expires_at)
               select tenant_id, as_of, type, priority, action, reason, expected_impact, texts,
                      predicted_metrics, confidence, platform, entity_type,
                      entity_id || '-copy' || g, entity_name, created_at, expires_at
               from (select * from ads.suggestions where status = 'pending' limit 1) s,
                    generate_series(1, 20) g"""
        )
    n = _q(db, t.tenant_id, "select count(*) as n from ads.suggestions where status = 'pending'")[
        0
    ]["n"]
    ts = _post(db, t, slack)
    posts = slack.calls("chat.postMessage")
    assert len(ts) == len(posts) == -(-n // 16) >= 2
    assert all(len(p["args"]["blocks"]) <= MAX_BLOCKS for p in posts)
    assert len(posts[0]["args"]["blocks"]) == MAX_BLOCKS  # 2 + 16 x 3
    counts = _q(
        db,
        t.tenant_id,
        "select slack_message_ts, count(*) as n from ads.suggestions "
        "where status = 'pending' group by 1 order by 1",
    )
    assert [c["slack_message_ts"] for c in counts] == sorted(ts)
    assert sum(c["n"] for c in counts) == n


def test_post_digest_channel_not_found(db, slack):
    channel = _channel()
    slack.fail_channels[channel] = "error.channel_not_found.json"
    t = _account(db, slack_channel_id=channel)
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(SlackError) as err:
            post_digest(
                conn, tenant_id=t.tenant_id, as_of=END, client=make_client(TOKEN, slack.url)
            )
        assert err.value.error == "channel_not_found" and not err.value.retryable
        log = conn.execute(
            "select success, error_message, status_code from core.api_calls_log"
        ).fetchall()
        assert log == [
            {
                "success": False,
                "status_code": 200,
                "error_message": "Slack chat.postMessage failed: channel_not_found",
            }
        ]
    stored = _q(
        db,
        t.tenant_id,
        "select count(*) as n from ads.suggestions where slack_message_ts is not null",
    )
    assert stored[0]["n"] == 0


def test_post_digest_wrong_token_and_no_channel(db, slack):
    t = _account(db, slack_channel_id=_channel())
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(SlackError) as err:
        post_digest(
            conn, tenant_id=t.tenant_id, as_of=END, client=make_client("xoxb-wrong", slack.url)
        )
    assert err.value.error == "invalid_auth"
    bare = new_tenant(db)
    with db.tenant_tx(bare.tenant_id) as conn, pytest.raises(ConfigError):
        post_digest(conn, tenant_id=bare.tenant_id, as_of=END, client=make_client(TOKEN, slack.url))


def test_block_kit_limits_on_long_texts(db):
    t = _account(db)
    rows = _q(db, t.tenant_id, "select * from ads.suggestions where status = 'pending'")
    long_rows = []
    for i in range(40):
        r = copy.deepcopy(rows[i % len(rows)])
        r["suggestion_id"] = 10_000 + i
        for lang in ("en", "fr"):
            r["texts"][lang]["reason"] = "Because <numbers> & more. " * 400  # 10,400 chars
        long_rows.append(r)
    for lang in ("en", "fr"):
        msgs = digest_messages(
            long_rows,
            tenant_name="N" * 200,
            as_of=END,
            lang=lang,
            currency="EUR",
            time_zone="Europe/Paris",
        )
        assert [len(m.suggestion_ids) for m in msgs] == [16, 16, 8]
        seen: list[int] = []
        for m in msgs:
            assert len(m.blocks) <= MAX_BLOCKS
            ids = [b["block_id"] for b in m.blocks]
            assert len(ids) == len(set(ids)) and max(map(len, ids)) <= 255
            for b in m.blocks:
                if b["type"] == "header":
                    assert len(b["text"]["text"]) <= MAX_HEADER_TEXT
                if b["type"] == "section":
                    text = b["text"]["text"]
                    assert len(text) <= MAX_SECTION_TEXT
                    assert "<numbers>" not in text and "&lt;numbers&gt; &amp;" in text
                    assert "%" in text.rsplit("\n", 1)[-1]  # confidence survives the cut
                if b["type"] == "actions":
                    assert all(len(e["text"]["text"]) <= MAX_BUTTON_TEXT for e in b["elements"])
            seen += m.suggestion_ids
        assert seen == [r["suggestion_id"] for r in long_rows]


# ---------------------------------------------------------------------- signature checks
def test_verify_request_follows_slacks_recipe():
    body = b"payload=%7B%7D"
    now = 1_706_789_123
    verify_request(body, _sign(body, ts=now), signing_secret=SECRET, now=now + 299)
    bad = [
        (_sign(body, ts=now, secret="other-secret"), now),  # wrong secret
        (_sign(body, ts=now), now + 301),  # too old
        (_sign(body, ts=now), now - 301),  # from the future
        ({**_sign(body, ts=now), "X-Slack-Request-Timestamp": str(now + 1)}, now),  # ts swapped
        ({"Content-Type": "application/x-www-form-urlencoded"}, now),  # unsigned
        ({**_sign(body, ts=now), "X-Slack-Request-Timestamp": "1e9"}, now),
    ]
    for headers, at in bad:
        with pytest.raises(SlackSignatureError):
            verify_request(body, headers, signing_secret=SECRET, now=at)
    with pytest.raises(SlackSignatureError):  # body changed after signing
        verify_request(body + b"x", _sign(body, ts=now), signing_secret=SECRET, now=now)


# ----------------------------------------------------------------------- interactivity
@pytest.fixture()
def posted(db, slack):
    """A tenant whose digest was posted: (tenant, the message Slack holds, suggestion ids)."""
    t = _account(db, slack_channel_id=_channel(), time_zone="Europe/Paris")
    _post(db, t, slack)
    message = _posted_message(slack)
    sids = list(_units(message["message"]["blocks"]))
    assert len(sids) >= 2
    return t, message, sids


def test_valid_click_records_decision_and_updates_message(db, slack, api, posted):
    t, message, sids = posted
    sid, other = sids[0], sids[1]
    before = time.time()
    r = api.post(
        "/slack/interactivity",
        content=(body := _click_body(message, sid, "approved")),
        headers=_sign(body),
    )
    assert r.status_code == 200 and r.content == b""
    assert _decisions(db, t, sid) == [
        {"decision": "approved", "channel": "slack", "decided_by": "slack:U0REVIEW1 (alice.martin)"}
    ]
    s = _q(
        db,
        t.tenant_id,
        "select status, decided_by, decided_at from ads.suggestions where suggestion_id = %s",
        [sid],
    )[0]
    assert s["status"] == "approved" and s["decided_at"].timestamp() >= before - 1
    audit = _q(
        db, t.tenant_id, "select actor, action from ads.audit_log where object_id = %s", [str(sid)]
    )
    assert audit == [{"actor": "slack:U0REVIEW1 (alice.martin)", "action": "suggestion.approved"}]

    updates = slack.calls("chat.update")
    assert len(updates) == 1 and not slack.calls("chat.postEphemeral")
    up = updates[0]
    assert up["auth"] == f"Bearer {TOKEN}"
    assert up["args"]["channel"] == message["channel"] and up["args"]["ts"] == message["ts"]
    new_units = _units(up["args"]["blocks"])
    assert set(new_units) == set(sids)
    done = new_units[sid]
    assert [b["type"] for b in done] == ["section", "context", "divider"]
    line = done[1]["elements"][0]["text"]
    hhmm = s["decided_at"].astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert line.startswith(":white_check_mark: Approved by <@U0REVIEW1> at <!date^")
    assert f"|{hhmm:%H:%M}>" in line
    # New block ids for the changed unit (Slack: new block_id when a message is updated).
    old_ids = {b["block_id"] for b in _units(message["message"]["blocks"])[sid]}
    assert not old_ids & {b["block_id"] for b in done}
    # The other suggestions keep their buttons, and the header stays.
    assert [b["type"] for b in new_units[other]] == ["section", "actions", "divider"]
    assert up["args"]["blocks"][0] == message["message"]["blocks"][0]
    log = _q(
        db,
        t.tenant_id,
        "select endpoint, success from core.api_calls_log where api_name = 'slack' order by id",
    )
    assert [x["endpoint"] for x in log] == ["chat.postMessage", "chat.update"]


def test_second_click_does_nothing_twice(db, slack, api, posted):
    t, message, sids = posted
    sid = sids[0]
    body = _click_body(message, sid, "approved")
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    # Same button again (the old message, still showing it), then another reviewer refuses.
    again = _click_body(message, sid, "approved")
    assert api.post("/slack/interactivity", content=again, headers=_sign(again)).status_code == 200
    other = _click_body(message, sid, "refused", user="U0REVIEW2", name="bob")
    assert api.post("/slack/interactivity", content=other, headers=_sign(other)).status_code == 200

    assert _decisions(db, t, sid) == [
        {"decision": "approved", "channel": "slack", "decided_by": "slack:U0REVIEW1 (alice.martin)"}
    ]
    eph = slack.calls("chat.postEphemeral")
    assert [e["args"]["user"] for e in eph] == ["U0REVIEW1", "U0REVIEW2"]
    assert all(e["args"]["channel"] == message["channel"] for e in eph)
    assert all(
        e["args"]["text"].startswith(
            f"Suggestion {sid} is already approved: <@U0REVIEW1> decided at <!date^"
        )
        for e in eph
    )
    # Every update shows the one decision.
    for up in slack.calls("chat.update"):
        line = _units(up["args"]["blocks"])[sid][1]["elements"][0]["text"]
        assert "Approved by <@U0REVIEW1>" in line


def test_backlog_then_approve_in_french(db, slack, api):
    t = _account(db, slack_channel_id=_channel())
    _post(db, t, slack, lang="fr")
    message = _posted_message(slack)
    sid = list(_units(message["message"]["blocks"]))[0]
    body = _click_body(message, sid, "backlog", name="chloé")
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    up = slack.calls("chat.update")[-1]
    unit = _units(up["args"]["blocks"])[sid]
    assert [b["type"] for b in unit] == ["section", "context", "actions"]
    assert unit[1]["elements"][0]["text"].startswith(
        ":card_index_dividers: Mise en réserve par <@U0REVIEW1> à <!date^"
    )
    assert [e["action_id"] for e in unit[2]["elements"]] == ["decide:approved", "decide:refused"]
    # Approve from the updated message (backlog is not final).
    updated = {**message, "message": {**message["message"], "blocks": up["args"]["blocks"]}}
    body = _click_body(updated, sid, "approved")
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    assert [d["decision"] for d in _decisions(db, t, sid)] == ["backlog", "approved"]
    line = _units(slack.calls("chat.update")[-1]["args"]["blocks"])[sid][1]
    assert line["elements"][0]["text"].startswith(":white_check_mark: Approuvée par <@U0REVIEW1>")


def test_bad_signature_is_rejected_before_anything(db, slack, api, posted):
    t, message, sids = posted
    body = _click_body(message, sids[0], "approved")
    for headers in (
        _sign(body, secret="not-the-secret"),
        {k: v for k, v in _sign(body).items() if k != "X-Slack-Signature"},
        _sign(b"payload=%7B%7D"),
    ):  # signature of another body
        r = api.post("/slack/interactivity", content=body, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "SlackSignatureError"
    # Garbage with a bad signature: 401 (verified first), not 400 (parsed).
    r = api.post("/slack/interactivity", content=b"\xff\xfe not a form", headers=_sign(b"other"))
    assert r.status_code == 401
    assert _decisions(db, t, sids[0]) == []
    assert len(slack.requests) == 1  # only the digest post: no update, no reply


def test_stale_timestamp_is_rejected(db, slack, api, posted):
    t, message, sids = posted
    body = _click_body(message, sids[0], "approved")
    for ts in (int(time.time()) - 6 * 60, int(time.time()) + 6 * 60):
        r = api.post("/slack/interactivity", content=body, headers=_sign(body, ts=ts))
        assert r.status_code == 401 and "stale" in r.json()["error"]["message"]
    assert _decisions(db, t, sids[0]) == []
    assert len(slack.requests) == 1


def test_malformed_but_signed_payload_is_400(api):
    for body in (b"payload=not-json", b"nothing=here", b"payload=%5B1%5D"):
        r = api.post("/slack/interactivity", content=body, headers=_sign(body))
        assert r.status_code == 400, body
    # Other interactions (not a decision button) are acknowledged and ignored.
    body = urllib.parse.urlencode({"payload": json.dumps({"type": "view_closed"})}).encode()
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200


def test_a_channel_cannot_decide_another_tenants_suggestion(db, slack, api, posted):
    t, message, sids = posted
    other = _account(db, slack_channel_id=_channel())
    foreign = _q(
        db,
        other.tenant_id,
        "select suggestion_id from ads.suggestions where status = 'pending' limit 1",
    )[0]["suggestion_id"]
    # A click in t's channel whose button value names the other tenant's suggestion.
    forged = copy.deepcopy(message)
    for b in forged["message"]["blocks"]:
        for el in b.get("elements", []) if b["type"] == "actions" else []:
            if el["value"] == str(sids[0]):
                el["value"] = str(foreign)
    body = _click_body(forged, foreign, "approved")
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    assert _decisions(db, other, foreign) == []
    assert (
        _q(
            db,
            other.tenant_id,
            "select status from ads.suggestions where suggestion_id = %s",
            [foreign],
        )[0]["status"]
        == "pending"
    )
    eph = slack.calls("chat.postEphemeral")
    assert len(eph) == 1 and "unknown to growthops" in eph[0]["args"]["text"]


def test_unknown_channel_gets_a_private_reply(db, slack, api, posted):
    t, message, sids = posted
    body = _click_body(message, sids[0], "approved", channel=_channel())
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    assert _decisions(db, t, sids[0]) == []
    eph = slack.calls("chat.postEphemeral")
    assert len(eph) == 1 and "not linked to any growthops client" in eph[0]["args"]["text"]
    assert not slack.calls("chat.update")


def test_expired_suggestion_shows_expired(db, slack, api, posted):
    t, message, sids = posted
    sid = sids[0]
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute(
            "update ads.suggestions set expires_at = now() - interval '1 minute' "
            "where suggestion_id = %s",
            [sid],
        )
    body = _click_body(message, sid, "approved")
    assert api.post("/slack/interactivity", content=body, headers=_sign(body)).status_code == 200
    assert _decisions(db, t, sid) == []
    unit = _units(slack.calls("chat.update")[-1]["args"]["blocks"])[sid]
    assert unit[1]["elements"][0]["text"].startswith(":hourglass: Expired at")
    assert "expired at" in slack.calls("chat.postEphemeral")[-1]["args"]["text"]


# ------------------------------------------------------- the proposed lookup migration
PROPOSED_LOOKUP_SQL = """
create or replace function core.tenant_by_slack_channel(p_channel text)
returns table (tenant_id uuid)
language sql stable security definer set search_path = core, pg_temp
as $$ select tenant_id from core.tenants
      where p_channel in (slack_channel_id, slack_validation_channel)
      order by tenant_id $$;
revoke all on function core.tenant_by_slack_channel(text) from public;
grant execute on function core.tenant_by_slack_channel(text) to growthops_app;
create index if not exists tenants_slack_channel_id on core.tenants (slack_channel_id)
  where slack_channel_id is not null;
"""


def test_proposed_lookup_function(fresh_db):
    a = new_tenant(fresh_db, slack_channel_id="C0AAAAAAA1")
    b = new_tenant(fresh_db, slack_validation_channel="C0BBBBBBB2")
    new_tenant(fresh_db, slack_validation_channel="#general")
    fallback = {c: tenants_for_channel(fresh_db, c) for c in ("C0AAAAAAA1", "C0BBBBBBB2", "C0NONE")}
    with fresh_db.admin() as conn:
        conn.execute(PROPOSED_LOOKUP_SQL)
    with fresh_db.app_tx() as conn:  # the application role may call it, sees only ids
        rows = conn.execute("select * from core.tenant_by_slack_channel('C0AAAAAAA1')").fetchall()
        assert rows == [{"tenant_id": a.tenant_id}]
        assert conn.execute("select count(*) as n from core.tenants").fetchone()["n"] == 0
    with_fn = {c: tenants_for_channel(fresh_db, c) for c in fallback}
    assert (
        with_fn
        == fallback
        == {"C0AAAAAAA1": [str(a.tenant_id)], "C0BBBBBBB2": [str(b.tenant_id)], "C0NONE": []}
    )


def test_status_line_times_are_slack_date_tokens():
    from growthops.ads.reporting.slack import slack_time, status_line

    at = datetime(2024, 1, 1, 12, 5, tzinfo=UTC)
    assert slack_time(at, "Europe/Paris") == f"<!date^{int(at.timestamp())}^{{time}}|13:05>"
    row = {
        "status": "refused",
        "decided_by": "dashboard:claire",
        "decided_at": at,
        "expires_at": at + timedelta(hours=48),
    }
    assert status_line(row, lang="en", time_zone="UTC", now=at) == (
        f":x: Refused by dashboard:claire at <!date^{int(at.timestamp())}^{{time}}|12:05>"
    )
