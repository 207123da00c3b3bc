"""The posts, comments and credits API and CLI: create/edit/cancel by role, 409s, the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from growthops.core.auth.users import create_user
from growthops.inbox import credits
from tests.api.conftest import make_key
from tests.inbox.conftest import inbox_tenant

PW = "correct horse battery"


def test_posts_api_by_role(client, hook_db):
    t = inbox_tenant(hook_db)
    tid, key = t["tenant"].tenant_id, t["tenant"].client_key
    base = f"/api/v1/tenants/{key}/inbox"
    api = TestClient(client.app, headers={"X-API-Key": make_key(hook_db, t["tenant"])})
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    body = {"social_account_id": t["ig_id"], "text": "Hello #spring", "local_at": at.isoformat(),
            "media": [{"type": "image", "url": "https://cdn.example.org/a.jpg"}],
            "rrule": "FREQ=WEEKLY;COUNT=3", "by": "ana@agency.test"}
    r = api.post(f"{base}/posts", json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "queued" and len(p["upcoming"]) == 3 and p["created_by"] == "ana@agency.test"
    assert api.post(f"{base}/posts", json={**body, "social_account_id": t["wa_id"]}).status_code == 422
    bad = api.post(f"{base}/posts", json={**body, "local_at": "2020-01-01T09:00:00"})
    assert bad.status_code == 422 and "local_at" in bad.text
    r = api.post(f"{base}/posts/{p['post_id']}/edit", json={"text": "Changed", "clear_rrule": True,
                                                           "by": "ana@agency.test"})
    assert r.status_code == 200 and r.json()["rrule"] is None and len(r.json()["upcoming"]) == 1
    assert api.post(f"{base}/posts/{p['post_id']}/cancel", json={"by": "ana"}).status_code == 200
    assert api.post(f"{base}/posts/{p['post_id']}/cancel", json={"by": "ana"}).status_code == 409
    page = api.get(f"{base}/posts").json()
    assert page["total"] == 1 and page["items"][0]["status"] == "cancelled"
    # a client_viewer reads but cannot schedule nor change the plan
    viewer = create_user(hook_db, email=f"v-{key}@x.test", password=PW, role="client_viewer",
                         tenant_id=tid)
    v = TestClient(client.app)
    assert v.post("/api/v1/auth/login", json={"email": viewer.email, "password": PW}).status_code == 200
    assert v.get(f"{base}/posts").status_code == 200
    assert v.post(f"{base}/posts", json={**body, "by": None}).status_code == 403
    assert v.post(f"{base}/credits/plan", json={"plan": "pro"}).status_code == 403
    # the plan (API key) and the credits page
    r = api.post(f"{base}/credits/plan", json={"plan": "starter", "grant_now": True})
    assert r.status_code == 200 and r.json()["credits_remaining"] == 1000
    c = api.get(f"{base}/credits").json()
    assert c["plan"] == "starter" and c["ledger"][0]["reason"] == "grant"
    r = api.post(f"{base}/monitoring-rules", json={"auto_monitor_count": 25})
    assert r.status_code == 422
    r = api.post(f"{base}/monitoring-rules", json={"social_account_id": t["ig_id"],
                                                   "auto_reply_enabled": True})
    assert r.status_code == 200 and r.json()["auto_reply_enabled"] is True
    assert len(api.get(f"{base}/monitoring-rules").json()) == 1
    assert api.get(f"{base}/comments").json()["total"] == 0
    assert api.get(f"{base}/monitored-posts").json() == []
    with hook_db.tenant_tx(tid) as conn:
        assert credits.reconcile(conn, tenant_id=tid)["balance"] == 1000


def test_cli_posts_and_credits(hook_db, monkeypatch):
    from typer.testing import CliRunner

    from growthops.cli import app

    t = inbox_tenant(hook_db)
    key = t["tenant"].client_key
    run = CliRunner()
    at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = run.invoke(app, ["inbox", "posts", "create", "--tenant", key, "--account", str(t["ig_id"]),
                         "--at", at, "--media", "https://cdn.example.org/a.jpg", "--text", "Hi",
                         "--rrule", "FREQ=DAILY;COUNT=2"])
    assert r.exit_code == 0, r.output
    assert "scheduled" in r.output
    r = run.invoke(app, ["inbox", "posts", "list", "--tenant", key])
    assert r.exit_code == 0 and "FREQ=DAILY;COUNT=2" in r.output
    r = run.invoke(app, ["inbox", "posts", "create", "--tenant", key, "--account", str(t["wa_id"]),
                         "--at", at, "--media", "https://cdn.example.org/a.jpg"])
    assert r.exit_code != 0 and "WhatsApp has no feed" in str(r.exception)
    r = run.invoke(app, ["inbox", "credits", "plan", "--tenant", key, "pro", "--grant"])
    assert r.exit_code == 0 and "5000" in r.output
    r = run.invoke(app, ["inbox", "credits", "show", "--tenant", key, "--lang", "fr"])
    assert r.exit_code == 0
    r = run.invoke(app, ["inbox", "comments", "rules", "--tenant", key, "--count", "3"])
    assert r.exit_code == 0 and '"auto_monitor_count": 3' in r.output
