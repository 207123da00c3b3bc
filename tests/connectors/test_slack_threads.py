"""Slack beyond the digest (ads/reporting/slack_threads.py), against the local server speaking
Slack's Web API: one message per suggestion, every later transition answered in its thread
(whoever made it), measured outcomes, anomaly alerts; exactly once, per tenant, retried."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from growthops.ads.action.decisions import decide
from growthops.ads.reporting.slack_threads import (
    MAX_ATTEMPTS,
    STALE_CLAIM,
    Post,
    claim,
    digest_lang,
    set_prefs,
    sync_tenant,
)
from growthops.connectors.slack.client import make_client
from growthops.core.errors import InvalidInput
from tests.connectors.test_slack import (
    END,
    SECRET,
    TOKEN,
    SlackServer,
    _channel,
    _click_body,
    _q,
    _sign,
)
from tests.connectors.test_slack import _account as _cycle_account


@pytest.fixture()
def slack():
    """The local Slack Web API of test_slack (records every request)."""
    server = SlackServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture()
def api(db, slack):
    """The Slack router (button clicks), its settings pointing at the local server."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from growthops.ads.reporting.slack_actions import handle
    from growthops.web.slack import SlackSettings, get_slack_settings, install_handlers, router

    app = FastAPI()
    app.include_router(router)
    install_handlers([handle])
    app.state.db = db
    app.dependency_overrides[get_slack_settings] = lambda: SlackSettings(
        signing_secret=SECRET, bot_token=TOKEN, api_url=slack.url
    )
    with TestClient(app) as client:
        yield client


def _account(db, *, anomalies: bool = False, **tenant_fields):
    """A tenant with its daily cycle run (test_slack's); its anomalies removed unless asked
    for (the planted account has a dozen high-severity ones, alerted on their own)."""
    t = _cycle_account(db, **tenant_fields)
    if not anomalies:
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute("delete from ads.anomalies")
    return t


def _sync(db, t, slack, **kw):
    return sync_tenant(db, tenant_id=t.tenant_id, client=make_client(TOKEN, slack.url), **kw)


def _posts(slack, channel: str | None = None) -> list[dict[str, Any]]:
    """The chat.postMessage arguments Slack received (optionally for one channel)."""
    out = [r["args"] for r in slack.calls("chat.postMessage")]
    return [a for a in out if channel is None or a["channel"] == channel]


def _items(db, t) -> dict[int, dict[str, Any]]:
    rows = _q(db, t.tenant_id, "select * from ads.slack_posts where kind = 'item'")
    return {r["suggestion_id"]: r for r in rows}


def _pending(db, t) -> list[int]:
    return [
        r["suggestion_id"]
        for r in _q(
            db,
            t.tenant_id,
            "select suggestion_id from ads.suggestions where status = 'pending' "
            "order by suggestion_id",
        )
    ]


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true")


# ------------------------------------------------------------------------ a thread per item
def test_each_pending_suggestion_gets_its_own_message_with_buttons(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    pending = _pending(db, t)
    assert len(pending) >= 2

    res = _sync(db, t, slack)

    posts = _posts(slack)
    assert res.sent == {"item": len(pending)} and len(posts) == len(pending)
    for args in posts:
        assert args["channel"] == channel and "thread_ts" not in args
        blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
        actions = [b for b in blocks if b["type"] == "actions"]
        assert len(actions) == 1
        ids = {e["value"] for e in actions[0]["elements"]}
        assert len(ids) == 1  # one suggestion per message
        assert [e["action_id"] for e in actions[0]["elements"]] == [
            "decide:approved",
            "decide:refused",
            "decide:backlog",
        ]
    items = _items(db, t)
    assert sorted(items) == pending
    assert all(r["state"] == "sent" and r["channel_id"] == channel for r in items.values())
    assert len({r["ts"] for r in items.values()}) == len(pending)  # one thread each
    # Re-run: nothing new, nothing posted twice.
    assert _sync(db, t, slack).total_sent == 0
    assert len(_posts(slack)) == len(pending)


def test_transitions_are_answered_in_the_items_thread_whoever_made_them(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    _sync(db, t, slack)
    items = _items(db, t)
    a, b, c = sorted(items)[:3]
    with db.tenant_tx(t.tenant_id) as conn:  # the dashboard, the API, the CLI
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=a,
            decision="approved",
            decided_by="alice@agency.example",
            channel="dashboard",
            notes="Good data",
        )
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=b,
            decision="backlog",
            decided_by="api:key-1",
            channel="api",
        )
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=c,
            decision="refused",
            decided_by="bob",
            channel="cli",
        )
    before = len(_posts(slack))

    res = _sync(db, t, slack)

    replies = _posts(slack)[before:]
    assert res.sent == {"reply": 3} and len(replies) == 3
    by_thread = {r["thread_ts"]: r for r in replies}
    assert set(by_thread) == {items[a]["ts"], items[b]["ts"], items[c]["ts"]}
    assert all(r["channel"] == channel for r in replies)
    assert "Approved by alice@agency.example" in by_thread[items[a]["ts"]]["text"]
    assert "via dashboard" in by_thread[items[a]["ts"]]["text"]
    assert "Good data" in by_thread[items[a]["ts"]]["text"]
    assert "Put in backlog by api:key-1" in by_thread[items[b]["ts"]]["text"]
    assert "Refused by bob" in by_thread[items[c]["ts"]]["text"]
    # The items' own messages are re-rendered: their buttons give way to who decided.
    updates = {u["args"]["ts"]: u["args"] for u in slack.calls("chat.update")}
    assert set(updates) == {items[a]["ts"], items[b]["ts"], items[c]["ts"]}
    blocks = updates[items[c]["ts"]]["blocks"]
    blocks = blocks if isinstance(blocks, list) else json.loads(blocks)
    assert not [x for x in blocks if x["type"] == "actions"]
    # The backlogged one is approved later: a second reply in the same thread.
    with db.tenant_tx(t.tenant_id) as conn:
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=b,
            decision="approved",
            decided_by="carol",
            channel="dashboard",
        )
    assert _sync(db, t, slack).sent == {"reply": 1}
    last = _posts(slack)[-1]
    assert last["thread_ts"] == items[b]["ts"] and "Approved by carol" in last["text"]
    assert _sync(db, t, slack).total_sent == 0  # no duplicate on re-run


def _execution(
    conn,
    t,
    sid: int,
    status: str,
    *,
    error: str | None = None,
    action_type: str = "budget_change",
    after: dict | None = None,
) -> int:
    return conn.execute(
        """insert into ads.execution_logs (tenant_id, suggestion_id, idempotency_key, action_type,
             platform, entity_type, entity_id, status, executed_at, success, error_message,
             after_state)
           select %s, suggestion_id, %s, %s, platform, entity_type, entity_id, %s, clock_timestamp(),
                  %s, %s, %s
           from ads.suggestions where suggestion_id = %s returning execution_id""",
        [
            t.tenant_id,
            f"{t.tenant_id}:{sid}:{uuid.uuid4().hex[:6]}",
            action_type,
            status,
            status == "applied",
            error,
            Jsonb(after) if after else None,
            sid,
        ],
    ).fetchone()["execution_id"]


def _hypothesis(conn, t, sid: int, execution_id: int, outcome: str, measured_at: datetime):
    conn.execute(
        """insert into ads.hypothesis_tracking (tenant_id, suggestion_id, execution_id,
             suggestion_type, platform, entity_type, entity_id, hypothesis_text,
             predicted_metrics, confidence_score, executed_at, start_day, measurement_end_date,
             outcome, variance, why_accurate, measured_at)
           select %s, suggestion_id, %s, type, platform, entity_type, entity_id, 'h', '{}', 80,
                  now(), %s, %s, %s, %s, 'Validated: ...', %s
           from ads.suggestions where suggestion_id = %s""",
        [
            t.tenant_id,
            execution_id,
            END,
            END + timedelta(days=7),
            outcome,
            Jsonb(
                {
                    "key": {
                        "metric": "cpa",
                        "effect": -0.2,
                        "noise": 0.05,
                        "predicted": [-0.3, -0.15, -0.05],
                    }
                }
            ),
            measured_at,
            sid,
        ],
    )


def test_execution_failure_and_measured_outcome_in_the_thread(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    _sync(db, t, slack)
    items = _items(db, t)
    a, b = sorted(items)[:2]
    now = datetime.now(UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        for sid in (a, b):
            decide(
                conn,
                tenant_id=t.tenant_id,
                suggestion_id=sid,
                decision="approved",
                decided_by="alice",
                channel="dashboard",
            )
        ok = _execution(conn, t, a, "applied")
        conn.execute("update ads.suggestions set status = 'executed' where suggestion_id = %s", [a])
        _execution(conn, t, b, "failed", error="Meta said no (#100)")
        conn.execute("update ads.suggestions set status = 'failed' where suggestion_id = %s", [b])
        _hypothesis(conn, t, a, ok, "validated", now + timedelta(minutes=1))
    before = len(_posts(slack))
    now += timedelta(minutes=2)

    res = _sync(db, t, slack, now=now)

    assert res.sent == {"reply": 4, "outcome": 1}
    new = _posts(slack)[before:]
    in_a = [r for r in new if r["thread_ts"] == items[a]["ts"]]
    in_b = [r for r in new if r["thread_ts"] == items[b]["ts"]]
    assert [r["text"].split(" ")[0] for r in in_a] == [
        ":white_check_mark:",
        ":rocket:",
        ":large_green_circle:",
    ]  # in the order they happened
    outcome = in_a[-1]
    assert "*validated*" in outcome["text"] and "-18 %" in outcome["text"]  # exp(-0.2) - 1
    assert _truthy(outcome.get("reply_broadcast"))  # also shown in the channel
    assert "Execution failed" in in_b[-1]["text"] and "Meta said no" in in_b[-1]["text"]
    assert _sync(db, t, slack, now=now).total_sent == 0


def test_an_outcome_without_a_thread_goes_to_the_channel(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    set_prefs_tx(db, t, mode="digest")  # no item messages
    sid = _pending(db, t)[0]
    now = datetime.now(UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=sid,
            decision="approved",
            decided_by="alice",
            channel="cli",
        )
        _hypothesis(conn, t, sid, _execution(conn, t, sid, "applied"), "invalidated", now)
    res = _sync(db, t, slack, now=now)
    assert res.sent == {"outcome": 1}
    (post,) = _posts(slack)
    assert post["channel"] == channel and "thread_ts" not in post
    assert "*invalidated*" in post["text"]
    # Measured long ago (before Slack was set up): not posted.
    assert _sync(db, t, slack, now=now + timedelta(days=30)).total_sent == 0


def set_prefs_tx(db, t, **kw):
    with db.tenant_tx(t.tenant_id) as conn:
        return set_prefs(conn, tenant_id=t.tenant_id, **kw)


def test_a_handed_off_creative_lives_in_its_suggestions_thread(db, slack):
    from growthops.ads.action import validation

    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    _sync(db, t, slack)
    items = _items(db, t)
    sid = sorted(items)[0]
    with db.tenant_tx(t.tenant_id) as conn:
        item = validation.submit(
            conn,
            tenant_id=t.tenant_id,
            item_type="ad_creative",
            item_name="New hook",
            content={"suggestion_id": sid},
            submitted_by="system",
        )
        validation.advance(
            conn, tenant_id=t.tenant_id, queue_id=item["queue_id"], by="client@acme.example"
        )
    _sync(db, t, slack)
    last = _posts(slack)[-1]
    assert last["thread_ts"] == items[sid]["ts"]
    assert f"Validation item {item['queue_id']} moved to" in last["text"]
    row = _q(
        db,
        t.tenant_id,
        "select slack_thread_ts from ads.validation_queue where queue_id = %s",
        [item["queue_id"]],
    )[0]
    assert row["slack_thread_ts"] == items[sid]["ts"]


# ---------------------------------------------------------------------- a click in Slack
def test_a_click_on_an_items_message_is_answered_in_its_thread(db, slack, api):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    _sync(db, t, slack)
    args = _posts(slack)[0]
    blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
    sid = int(blocks[1]["elements"][0]["value"])
    item_ts = _items(db, t)[sid]["ts"]
    posted = {
        "channel": channel,
        "ts": item_ts,
        "message": {"ts": item_ts, "text": args["text"], "blocks": blocks},
    }
    body = _click_body(posted, sid, "refused")

    r = api.post("/slack/interactivity", content=body, headers=_sign(body))

    assert r.status_code == 200
    reply = _posts(slack)[-1]
    assert reply["thread_ts"] == item_ts and "Refused by <@U0REVIEW1>" in reply["text"]
    assert "via slack" in reply["text"]
    assert (
        _q(
            db,
            t.tenant_id,
            "select count(*) as n from ads.slack_posts where post_key like 'decision:%%'",
        )[0]["n"]
        == 1
    )
    # The clicked message itself was updated by the click handler (buttons gone).
    assert item_ts in {u["args"]["ts"] for u in slack.calls("chat.update")}


# --------------------------------------------------------------------------- exactly once
def test_failure_then_retry_posts_once(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    n = len(_pending(db, t))
    slack.fail_channels[channel] = "error.channel_not_found.json"  # bot not invited yet

    res = _sync(db, t, slack)

    assert res.sent == {} and res.failed == {"item": n} and set(res.errors) == {"channel_not_found"}
    rows = _q(db, t.tenant_id, "select state, attempts, ts, last_error from ads.slack_posts")
    assert len(rows) == n and {r["state"] for r in rows} == {"failed"}
    assert all(r["ts"] is None and "channel_not_found" in r["last_error"] for r in rows)

    del slack.fail_channels[channel]  # invited: the next run posts each message once
    assert _sync(db, t, slack).sent == {"item": n}
    assert _sync(db, t, slack).total_sent == 0
    ok = [a for a in _posts(slack, channel)]
    assert len(ok) == 2 * n  # n refused by Slack, n accepted, none after
    rows = _q(db, t.tenant_id, "select state, attempts from ads.slack_posts")
    assert {(r["state"], r["attempts"]) for r in rows} == {("sent", 2)}


def test_retries_stop_after_max_attempts(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    slack.fail_channels[channel] = "error.channel_not_found.json"
    for _ in range(MAX_ATTEMPTS + 2):
        _sync(db, t, slack)
    n = len(_pending(db, t))
    assert len(_posts(slack)) == MAX_ATTEMPTS * n
    rows = _q(db, t.tenant_id, "select distinct state, attempts from ads.slack_posts")
    assert rows == [{"state": "failed", "attempts": MAX_ATTEMPTS}]


def test_a_claim_is_taken_once_until_it_is_stale(db):
    from tests.conftest import new_tenant

    t = new_tenant(db)
    now = datetime.now(UTC)
    post = Post(key="anomaly:x", kind="anomaly", channel="C1", text="x", lang="en")
    with db.tenant_tx(t.tenant_id) as conn:
        assert claim(conn, tenant_id=t.tenant_id, posts=[post], now=now) == [post]
    with db.tenant_tx(t.tenant_id) as conn:  # another run, meanwhile: nothing to post
        assert claim(conn, tenant_id=t.tenant_id, posts=[post], now=now) == []
    with db.tenant_tx(t.tenant_id) as conn:  # the first run died: its claim is taken again
        later = now + STALE_CLAIM + timedelta(seconds=1)
        taken = claim(conn, tenant_id=t.tenant_id, posts=[post], now=later)
        assert [p.key for p in taken] == [post.key]
        assert taken[0].stale_since == now  # to be looked for in Slack before re-posting
        conn.execute("update ads.slack_posts set state = 'sent', ts = '1.2', sent_at = now()")
    with db.tenant_tx(t.tenant_id) as conn:  # sent: never again
        assert claim(conn, tenant_id=t.tenant_id, posts=[post], now=later + STALE_CLAIM * 2) == []


class _Died(BaseException):
    """The process dies (not an error any code handles)."""


def _dying_client(slack, *, after_slack: bool):
    """A Slack client whose process dies on its first chat.postMessage, after Slack accepted
    the message (``after_slack``) or before the request left."""
    client = make_client(TOKEN, slack.url)
    real = client.chat_postMessage

    def post(**kw):
        if after_slack:
            real(**kw)
        raise _Died

    client.chat_postMessage = post
    return client


@pytest.mark.parametrize("after_slack", [True, False])
def test_a_run_that_died_mid_post_is_recovered_exactly_once(db, slack, after_slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    now = datetime.now(UTC)
    with pytest.raises(_Died):
        sync_tenant(db, tenant_id=t.tenant_id, client=_dying_client(slack, after_slack=after_slack),
                    now=now)
    assert len(_posts(slack, channel)) == (1 if after_slack else 0)
    first_key = _q(db, t.tenant_id, "select post_key from ads.slack_posts order by post_id")[0]
    _sync(db, t, slack, now=now + timedelta(minutes=1))  # the dead claims are still fresh
    assert len(_posts(slack, channel)) == (1 if after_slack else 0)

    _sync(db, t, slack, now=now + STALE_CLAIM + timedelta(seconds=1))
    posted = _posts(slack, channel)
    keys = [a["metadata"]["event_payload"]["post_key"] for a in posted]
    assert all(a["metadata"]["event_type"] == "growthops_post" for a in posted)
    assert len(keys) == len(set(keys)) == len(_pending(db, t))  # each item once, none lost
    rows = {r["post_key"]: r for r in _q(db, t.tenant_id, "select * from ads.slack_posts")}
    assert {r["state"] for r in rows.values()} == {"sent"}
    in_slack = {m["metadata"]["event_payload"]["post_key"]: m["ts"]
                for m in slack.messages[channel]}
    assert {k: r["ts"] for k, r in rows.items()} == in_slack  # the record is Slack's message
    assert rows[first_key["post_key"]]["stale_claimed_at"] is not None
    assert len(slack.calls("conversations.history")) == len(rows)  # looked before re-posting


# -------------------------------------------------------------------------- tenant isolation
def test_tenant_isolation(db, slack):
    ca, cb = _channel(), _channel()
    a = _account(db, slack_channel_id=ca)
    b = _account(db, slack_channel_id=cb)
    _sync(db, a, slack)
    _sync(db, b, slack)
    with db.tenant_tx(a.tenant_id) as conn:
        decide(
            conn,
            tenant_id=a.tenant_id,
            suggestion_id=_pending(db, a)[0],
            decision="approved",
            decided_by="alice",
            channel="dashboard",
        )
    _sync(db, b, slack)  # B's run never answers A's decision
    assert len(_posts(slack, ca)) == len(_items(db, a))
    _sync(db, a, slack)
    a_ids, b_ids = set(_items(db, a)), set(_items(db, b))
    assert a_ids and b_ids and not a_ids & b_ids
    for args in _posts(slack, cb):
        assert "thread_ts" not in args
        blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
        assert int(blocks[1]["elements"][0]["value"]) in b_ids
    assert len(_posts(slack, ca)) == len(a_ids) + 1
    assert len(_posts(slack)) == len(a_ids) + len(b_ids) + 1
    # Row-level security: B's transaction sees none of A's posts.
    with db.tenant_tx(b.tenant_id) as conn:
        rows = conn.execute("select tenant_id, channel from ads.slack_posts").fetchall()
    assert rows and {r["tenant_id"] for r in rows} == {b.tenant_id}
    assert {r["channel"] for r in rows} == {cb}


# ------------------------------------------------------------------------------- anomalies
def _anomaly(conn, t, day: date, entity: str, severity: str, metric: str = "cpa") -> None:
    conn.execute(
        """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,
             anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,
             severity, method)
           values (%s, %s, 'meta', 'adset', %s, 'Retargeting FR', 'spike', %s, 20, 41, 1.05,
                   0.0001, 0.002, %s, 'test')""",
        [t.tenant_id, day, entity, metric, severity],
    )


def test_high_severity_anomalies_alert_the_alerts_channel_once(db, slack):
    from tests.conftest import new_tenant

    channel, alerts = _channel(), _channel()
    t = new_tenant(db, slack_channel_id=channel)
    set_prefs_tx(db, t, alerts_channel=alerts)
    day = date(2024, 3, 31)
    with db.tenant_tx(t.tenant_id) as conn:
        _anomaly(conn, t, day, "as1", "high")
        _anomaly(conn, t, day, "as2", "critical")
        _anomaly(conn, t, day, "as3", "medium")
        _anomaly(conn, t, day - timedelta(days=10), "as4", "critical")  # old news
    res = _sync(db, t, slack)
    assert res.sent == {"anomaly": 2}
    posts = _posts(slack)
    assert {p["channel"] for p in posts} == {alerts}
    assert any("*High anomaly*" in p["text"] and "(as1)" in p["text"] for p in posts)
    assert any("*Critical anomaly*" in p["text"] for p in posts)
    # The cycle replayed: the anomalies are re-inserted with new ids; still posted once.
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("delete from ads.anomalies where as_of = %s", [day])
        _anomaly(conn, t, day, "as1", "high")
        _anomaly(conn, t, day, "as2", "critical")
    assert _sync(db, t, slack).total_sent == 0
    # A new day's anomaly is new.
    with db.tenant_tx(t.tenant_id) as conn:
        _anomaly(conn, t, day + timedelta(days=1), "as1", "high")
    assert _sync(db, t, slack).sent == {"anomaly": 1}
    # Without an alerts channel: the validation channel; medium and above when asked.
    with db.tenant_tx(t.tenant_id) as conn:
        _anomaly(conn, t, day + timedelta(days=1), "as5", "medium")
    assert _sync(db, t, slack).total_sent == 0
    set_prefs_tx(db, t, alerts_channel=None, alert_min_severity="medium")
    assert _sync(db, t, slack).sent == {"anomaly": 1}
    assert _posts(slack)[-1]["channel"] == channel


# -------------------------------------------------------------------- language and settings
def test_messages_in_the_tenants_language(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    set_prefs_tx(db, t, lang="fr")
    _sync(db, t, slack, lang="en")  # the tenant's language wins over the caller's
    first = _posts(slack)[0]
    blocks = first["blocks"] if isinstance(first["blocks"], list) else json.loads(first["blocks"])
    buttons = {e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert buttons == {"Approuver", "Refuser", "Mettre en réserve"}
    sid = int(blocks[1]["elements"][0]["value"])
    with db.tenant_tx(t.tenant_id) as conn:
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=sid,
            decision="refused",
            decided_by="bob",
            channel="cli",
        )
    _sync(db, t, slack)
    reply = _posts(slack)[-1]
    assert reply["text"].startswith(":x: Refusée par bob")
    assert "via cli" in reply["text"]


def test_settings_validation_and_modes(db):
    from tests.conftest import new_tenant

    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        assert digest_lang(conn, tenant_id=t.tenant_id, lang="fr") is None  # threads by default
        for bad, field in (
            ({"lang": "de"}, "lang"),
            ({"mode": "all"}, "mode"),
            ({"alerts_channel": "# a b"}, "alerts_channel"),
            ({"alert_min_severity": "huge"}, "alert_min_severity"),
        ):
            with pytest.raises(InvalidInput, match=field):
                set_prefs(conn, tenant_id=t.tenant_id, **bad)
        set_prefs(conn, tenant_id=t.tenant_id, mode="both", lang="fr")
        assert digest_lang(conn, tenant_id=t.tenant_id, lang="en") == "fr"
        row = set_prefs(conn, tenant_id=t.tenant_id, lang=None)  # only lang changes
        assert row["mode"] == "both" and row["lang"] is None


def test_after_cycle_posts_items_instead_of_the_digest(db, slack, monkeypatch):
    from growthops.ads.cycle import after_cycle
    from growthops.settings import get_settings

    channel = _channel()
    t = _account(db, slack_channel_id=channel, anomalies=True)
    alerts = len(
        _q(db, t.tenant_id, "select 1 from ads.anomalies where severity in ('high', 'critical')")
    )
    monkeypatch.setenv("GROWTHOPS_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("GROWTHOPS_SLACK_API_URL", slack.url)
    get_settings.cache_clear()
    try:
        out = after_cycle(db, tenant_id=t.tenant_id, as_of=END)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    n = len(_pending(db, t))
    assert alerts > 0 and out["slack_messages"] == 0 and out["slack_posts"] == n + alerts
    assert len(_posts(slack, channel)) == n + alerts  # no alerts channel: the same one
    assert not any("digest:head" in urllib.parse.unquote(json.dumps(a)) for a in _posts(slack))


def test_cli_settings_and_sync(db, slack, monkeypatch):
    from typer.testing import CliRunner

    from growthops.cli import app
    from growthops.settings import get_settings

    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    run = CliRunner().invoke
    res = run(
        app,
        [
            "slack",
            "settings",
            "--tenant",
            t.client_key,
            "--messages-lang",
            "fr",
            "--alerts-channel",
            "#alerts",
            "--mode",
            "both",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "language fr, mode both, alerts channel #alerts" in res.output
    logs = _q(db, t.tenant_id, "select context from core.system_logs "
              "where module = 'growthops.ads.slack' and message = 'Slack settings changed'")
    assert [x["context"]["by"] for x in logs] == ["cli"]
    assert logs[0]["context"]["after"] == {"lang": "fr", "alerts_channel": "#alerts",
                                           "mode": "both"}
    res = run(app, ["slack", "settings", "--tenant", t.client_key, "--mode", "every"])
    assert res.exit_code != 0 and "mode" in str(res.exception or res.output)
    res = run(
        app,
        ["slack", "settings", "--tenant", t.client_key, "--alerts-channel", "none", "--lang", "fr"],
    )
    assert res.exit_code == 0, res.output
    assert f"Réglages Slack de {t.client_key}" in res.output and "mode both" in res.output
    monkeypatch.setenv("GROWTHOPS_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("GROWTHOPS_SLACK_API_URL", slack.url)
    get_settings.cache_clear()
    try:
        res = run(app, ["slack", "sync", "--tenant", t.client_key])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    n = len(_pending(db, t))
    assert res.exit_code == 0, res.output
    assert f"{n} message(s) sent, 0 failed" in res.output
    assert len(_posts(slack, channel)) == n


def test_expiry_is_answered_in_the_thread_and_old_threads_are_left_alone(db, slack):
    from growthops.ads.reporting.slack_threads import THREAD_HORIZON

    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    _sync(db, t, slack)
    items = _items(db, t)
    a, b = sorted(items)[:2]
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute(
            "update ads.suggestions set expires_at = now() - interval '1 minute' "
            "where suggestion_id = %s",
            [a],
        )
    assert _sync(db, t, slack).sent == {"reply": 1}
    reply = _posts(slack)[-1]
    assert reply["thread_ts"] == items[a]["ts"] and reply["text"].startswith(":hourglass:")
    # A thread older than THREAD_HORIZON is no longer answered.
    with db.tenant_tx(t.tenant_id) as conn:
        decide(
            conn,
            tenant_id=t.tenant_id,
            suggestion_id=b,
            decision="refused",
            decided_by="bob",
            channel="cli",
        )
    later = datetime.now(UTC) + THREAD_HORIZON + timedelta(days=1)
    res = _sync(db, t, slack, now=later)
    assert "reply" not in res.sent


def test_a_rate_limit_stops_the_run_and_the_next_run_goes_on(db, slack):
    channel = _channel()
    t = _account(db, slack_channel_id=channel)
    n = len(_pending(db, t))
    real = slack.answer
    calls = {"n": 0}

    def limited(method, args, auth):
        calls["n"] += 1
        if calls["n"] == 2:
            return {"ok": False, "error": "ratelimited"}
        return real(method, args, auth)

    slack.answer = limited
    res = _sync(db, t, slack)
    assert res.sent == {"item": 1} and res.failed == {"item": 1}
    assert len(slack.calls("chat.postMessage")) == 2  # stopped at the rate limit
    rows = _q(db, t.tenant_id, "select state, attempts from ads.slack_posts order by post_id")
    assert sorted((r["state"], r["attempts"]) for r in rows) == sorted(
        [("sent", 1), ("failed", 1)] + [("failed", 0)] * (n - 2)
    )
    slack.answer = real
    assert _sync(db, t, slack).sent == {"item": n - 1}
    assert len(_items(db, t)) == n and _sync(db, t, slack).total_sent == 0


def test_sync_all_and_the_job_without_a_token(db, slack):
    from growthops.ads.reporting.slack_threads import slack_sync, sync_all
    from tests.conftest import new_tenant

    a = _account(db, slack_channel_id=_channel())
    quiet = new_tenant(db)  # no Slack channel: nothing posted, no call
    out = sync_all(
        db,
        client=make_client(TOKEN, slack.url),
        tenants=[{"tenant_id": a.tenant_id}, {"tenant_id": quiet.tenant_id}],
    )
    n = len(_pending(db, a))
    assert out == {"tenants": 2, "sent": n, "failed": 0, "errors": 0}
    assert len(_posts(slack)) == n
    # The worker's task does nothing without a bot token (no GROWTHOPS_SLACK_BOT_TOKEN here).
    assert slack_sync(None, 0)["skipped"] == "no bot token"


# --------------------------------------------------------------------- intraday overspend
def _pacing(conn, t, *, scope: str, entity: str, day: date, flagged_at: datetime | None) -> None:
    conn.execute(
        """insert into ads.pacing_checks (tenant_id, platform, scope, level, entity_id,
             period_start, entity_name, checked_at, elapsed_hours, spend_so_far, budget,
             tolerance, expected_share, method, history_days, projected, over, flagged_at)
           values (%s, %s, %s, %s, %s, %s, 'Retargeting FR', %s, 14.5, 45, %s, %s, 0.5463,
                   %s, 14, 82.37, %s, %s)""",
        [t.tenant_id, "all" if scope == "month" else "meta", scope,
         "tenant" if scope == "month" else "adset", entity, day, flagged_at or END,
         1000 if scope == "month" else 50, 0 if scope == "month" else 0.25,
         "run_rate" if scope == "month" else "profile", flagged_at is not None, flagged_at],
    )


def test_an_intraday_overspend_is_alerted_once(db, slack):
    from tests.conftest import new_tenant

    channel, alerts = _channel(), _channel()
    t = new_tenant(db, slack_channel_id=channel)
    other = new_tenant(db, slack_channel_id=_channel())
    set_prefs_tx(db, t, alerts_channel=alerts)
    now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    day = date(2026, 12, 1)
    with db.tenant_tx(t.tenant_id) as conn:
        _pacing(conn, t, scope="day", entity="as1", day=day, flagged_at=now - timedelta(hours=1))
        _pacing(conn, t, scope="day", entity="as2", day=day, flagged_at=None)  # on pace
        _pacing(conn, t, scope="month", entity="*", day=date(2026, 12, 1),
                flagged_at=now - timedelta(minutes=5))
        _pacing(conn, t, scope="day", entity="as3", day=day - timedelta(days=3),
                flagged_at=now - timedelta(days=3))  # old news
    with db.tenant_tx(other.tenant_id) as conn:
        _pacing(conn, other, scope="day", entity="bx", day=day, flagged_at=now)
    res = _sync(db, t, slack, now=now)
    assert res.sent == {"anomaly": 2}
    posts = _posts(slack)
    assert {p["channel"] for p in posts} == {alerts}
    day_post = next(p for p in posts if "Intraday overspend" in p["text"])
    assert "Retargeting FR" in day_post["text"] and "as1" in day_post["text"]
    assert "82.37" in day_post["text"] and "62.50" in day_post["text"]  # projected, the cap
    assert any("Monthly budget at risk" in p["text"] and "1,000" in p["text"] for p in posts)
    keys = {r["post_key"] for r in _q(db, t.tenant_id, "select post_key from ads.slack_posts")}
    assert keys == {"pacing:day:2026-12-01:meta:adset:as1", "pacing:month:2026-12-01:all:tenant:*"}
    # The next hourly check re-projects the same day: never posted twice.
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.pacing_checks set checked_at = %s, projected = 90",
                     [now + timedelta(hours=1)])
    assert _sync(db, t, slack, now=now + timedelta(hours=1)).total_sent == 0
    # A tenant alerted on critical anomalies only gets no pacing alert.
    with db.tenant_tx(t.tenant_id) as conn:
        _pacing(conn, t, scope="day", entity="as4", day=day, flagged_at=now)
    set_prefs_tx(db, t, alert_min_severity="critical")
    assert _sync(db, t, slack, now=now).total_sent == 0
    # In French, for the other tenant (its own channel only).
    set_prefs_tx(db, other, lang="fr")
    assert _sync(db, other, slack, now=now).sent == {"anomaly": 1}
    fr = _posts(slack)[-1]
    assert fr["channel"] != alerts and "Dépassement intrajournalier" in fr["text"]
