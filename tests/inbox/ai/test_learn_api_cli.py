"""Topics and suggested FAQ entries through the API and the CLI; labels from people's actions
through the CLI; settings changed through the API are audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.cli import app
from growthops.inbox.ai import audit
from tests.api.conftest import make_key
from tests.inbox.ai.test_learning import DELIVERY, DELIVERY_A, RETURNS, RETURNS_A
from tests.inbox.ai.threads import add_inbound, add_thread, intent_messages, tenant_with_account


def _history(db, t, acct):
    now = datetime.now(UTC)
    data = intent_messages(n_intents=4, per_intent=20, seed=4)
    add_inbound(db, t.tenant_id, acct, [(x, now - timedelta(days=2, minutes=k))
                                        for k, (x, _i) in enumerate(data)])
    for k, (q, a) in enumerate(list(zip(DELIVERY, DELIVERY_A, strict=True))
                               + list(zip(RETURNS, RETURNS_A, strict=True))):
        at = now - timedelta(days=3, hours=k)
        add_thread(db, t.tenant_id, acct, [("inbound", "customer", q, at),
                                           ("outbound", "human", a, at + timedelta(minutes=4))])


def test_topics_and_suggestions_through_the_api(client, hook_db):
    t, acct = tenant_with_account(hook_db)
    _history(hook_db, t, acct)
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t)})
    base = f"/api/v1/tenants/{t.client_key}/inbox"
    assert api.get(f"{base}/topics").json() == []
    run = api.post(f"{base}/topics/run", json={"days": 28})
    assert run.status_code == 200 and run.json()["topics"] >= 2, run.text
    got = api.get(f"{base}/topics").json()
    assert len(got) == run.json()["topics"] and got[0]["examples"] and got[0]["label"]
    assert api.post(f"{base}/topics/run", json={"post_id": 999_999}).status_code == 404
    assert api.post(f"{base}/topics/run", json={"days": 0}).status_code == 422
    from growthops.inbox.ai import faq_miner

    faq_miner.suggest(hook_db, tenant_id=t.tenant_id)
    pending = api.get(f"{base}/kb/faq/suggestions").json()
    assert len(pending) == 2 and pending[0]["support"] == 5
    fid = pending[0]["faq_id"]
    r = api.post(f"{base}/kb/faq/{fid}/approve")
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert api.post(f"{base}/kb/faq/{fid}/approve").status_code == 200  # idempotent
    r = api.post(f"{base}/kb/faq/{pending[1]['faq_id']}/reject")
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert api.post(f"{base}/kb/faq/424242424/reject").status_code == 404
    assert [s["faq_id"] for s in api.get(f"{base}/kb/faq/suggestions",
                                         params={"status": "approved"}).json()] == [fid]
    # changes through the API are audited with the key as actor
    api.patch(f"{base}/ai/settings", json={"target_precision": 0.9})
    with hook_db.tenant_tx(t.tenant_id) as conn:
        trail = audit.trail(conn, tenant_id=t.tenant_id)
    assert {"AI settings changed", "faq approved", "faq rejected"} <= {
        e["context"]["what"] for e in trail}
    assert all(e["context"]["by"].startswith("apikey:") for e in trail)


def test_topics_suggestions_and_labels_through_the_cli(db, monkeypatch):
    from growthops.core import db as core_db

    monkeypatch.setattr(core_db, "_db", db)
    hook_db = db
    t, acct = tenant_with_account(hook_db)
    _history(hook_db, t, acct)
    run = CliRunner().invoke
    k = t.client_key
    r = run(app, ["inbox", "topics", "--tenant", k])
    assert r.exit_code == 0 and "90 messages" in r.output and "Topics of" in r.output, r.output
    r = run(app, ["inbox", "topics", "--tenant", k, "--stored"])
    assert r.exit_code == 0 and "messages," not in r.output
    r = run(app, ["inbox", "kb", "suggest", "--tenant", k])
    assert r.exit_code == 0 and "2 new suggestions" in r.output, r.output
    r = run(app, ["inbox", "kb", "suggestions", "--tenant", k])
    assert r.exit_code == 0 and "Suggested FAQ entries (pending)" in r.output
    from growthops.inbox.ai import faq_miner

    with hook_db.tenant_tx(t.tenant_id) as conn:
        ids = [str(s["faq_id"]) for s in faq_miner.list_suggestions(conn, tenant_id=t.tenant_id)]
    assert run(app, ["inbox", "kb", "approve", "--tenant", k, ids[0]]).exit_code == 0
    assert run(app, ["inbox", "kb", "reject", "--tenant", k, ids[1]]).exit_code == 0
    assert run(app, ["inbox", "kb", "suggestions", "--tenant", k, "--status", "maybe"]
               ).exit_code != 0
    r = run(app, ["inbox", "ai", "labels", "--tenant", k, "--lang", "fr"])
    assert r.exit_code == 0 and "0 décisions étiquetées" in r.output, r.output
