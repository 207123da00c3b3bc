"""POST /api/v1/leads: authentication, validation, honeypot, idempotency, limits, logs."""

from __future__ import annotations

import json

from growthops.core.auth import api_keys
from tests.conftest import new_tenant
from tests.leads.conftest import make_key, q

LEAD = {"email": "jane@example.org", "name": "Jane", "message": "Could you send me a quote?"}


def test_a_lead_is_stored_and_logged_with_the_key_prefix_only(leads_env):
    c, key, t, db = leads_env["client"], leads_env["key"], leads_env["tenant"], leads_env["db"]
    r = c.post("/api/v1/leads", json=LEAD, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    lid = r.json()["lead_id"]
    (row,) = q(db, t, "select * from leads.lead_memory where tenant_id = %s")
    assert row["lead_id"] == lid and row["message"] == LEAD["message"]
    assert row["enrichment_status"] == "pending"
    (log,) = q(db, t, "select * from leads.integration_logs where tenant_id = %s")
    assert log["response_status"] == 201 and log["key_prefix"] == key.split("_")[1]
    assert key not in json.dumps(log, default=str)
    acts = q(db, t, "select action_type from leads.lead_actions where tenant_id = %s")
    assert [a["action_type"] for a in acts] == ["created"]


def test_idempotency_key_returns_the_first_answer_and_stores_once(leads_env):
    c, key, t, db = leads_env["client"], leads_env["key"], leads_env["tenant"], leads_env["db"]
    h = {"X-API-Key": key, "Idempotency-Key": "abc-1"}
    first = c.post("/api/v1/leads", json=LEAD, headers=h)
    again = c.post("/api/v1/leads", json=dict(reversed(list(LEAD.items()))), headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = c.post("/api/v1/leads", json={**LEAD, "message": "other"}, headers=h)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]["message"]
    assert q(db, t, "select count(*) n from leads.lead_memory where tenant_id = %s")[0]["n"] == 1


def test_validation_names_fields_and_never_echoes_values(leads_env):
    c, key, t, db = leads_env["client"], leads_env["key"], leads_env["tenant"], leads_env["db"]
    bad = {"email": "not-an-email-SECRETVALUE", "message": "", "extra": 1}
    r = c.post("/api/v1/leads", json=bad, headers={"X-API-Key": key})
    assert r.status_code == 422
    msg = r.json()["error"]["message"]
    assert "body.email" in msg and "body.message" in msg and "body.extra" in msg
    assert "SECRETVALUE" not in r.text
    assert q(db, t, "select count(*) n from leads.lead_memory where tenant_id = %s")[0]["n"] == 0
    logs = q(db, t, "select response_status from leads.integration_logs where tenant_id = %s")
    assert [x["response_status"] for x in logs] == [422]


def test_honeypot_stores_nothing(leads_env):
    c, key, t, db = leads_env["client"], leads_env["key"], leads_env["tenant"], leads_env["db"]
    r = c.post("/api/v1/leads", json={**LEAD, "hp": "http://spam"}, headers={"X-API-Key": key})
    assert r.status_code == 202 and r.json() == {"status": "discarded"}
    assert q(db, t, "select count(*) n from leads.lead_memory where tenant_id = %s")[0]["n"] == 0


def test_bad_or_revoked_credentials_get_401(leads_env):
    c, t, db = leads_env["client"], leads_env["tenant"], leads_env["db"]
    assert c.post("/api/v1/leads", json=LEAD).status_code == 401
    assert c.post("/api/v1/leads", json=LEAD, headers={"X-API-Key": "gok_x"}).status_code == 401
    key = make_key(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        api_keys.revoke(conn, tenant_id=t.tenant_id, key=key.split("_")[1])
    assert c.post("/api/v1/leads", json=LEAD, headers={"X-API-Key": key}).status_code == 401


def test_capture_only_key_cannot_read_the_api(leads_env):
    c, key = leads_env["client"], leads_env["key"]
    assert c.get("/api/v1/leads", headers={"X-API-Key": key}).status_code == 403
    assert c.get("/api/v1/leads", headers={"X-API-Key": leads_env["api_key"]}).status_code == 200


def test_body_over_the_limit_is_413(leads_env):
    c, key = leads_env["client"], leads_env["key"]
    r = c.post("/api/v1/leads", content=b"{" + b" " * 20000 + b"}",
               headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_tenant_path_with_another_tenants_key_is_404(leads_env, db):
    other = new_tenant(db)
    r = leads_env["client"].post(f"/api/v1/tenants/{other.client_key}/leads", json=LEAD,
                                 headers={"X-API-Key": leads_env["key"]})
    assert r.status_code == 404
    assert q(db, other, "select count(*) n from leads.lead_memory where tenant_id = %s")[0]["n"] == 0


def test_form_token_needs_an_allowed_origin_and_gets_cors(leads_env):
    from growthops.leads import settings

    c, t, db = leads_env["client"], leads_env["tenant"], leads_env["db"]
    with db.tenant_tx(t.tenant_id) as conn:
        tok = settings.create_form_token(conn, tenant_id=t.tenant_id, name="site",
                                         origins=["https://www.client.example"])["token"]
    bad = c.post("/api/v1/leads", json=LEAD,
                 headers={"X-Form-Token": tok, "Origin": "https://evil.example"})
    assert bad.status_code == 403
    ok = c.post("/api/v1/leads", json=LEAD,
                headers={"X-Form-Token": tok, "Origin": "https://www.client.example"})
    assert ok.status_code == 201
    assert ok.headers["access-control-allow-origin"] == "https://www.client.example"
    pre = c.options("/api/v1/leads", headers={"Origin": "https://www.client.example",
                                              "Access-Control-Request-Method": "POST"})
    assert pre.headers.get("access-control-allow-origin") == "https://www.client.example"


def test_rate_limit_answers_429_with_retry_after(db):
    from fastapi.testclient import TestClient

    from growthops.app import create_app
    from growthops.core.db import Database
    from growthops.settings import Settings

    t = new_tenant(db)
    key = make_key(db, t)
    settings = Settings(**{**db.settings.model_dump(), "leads_rate_per_key": "3/minute"})
    d = Database(settings)
    try:
        c = TestClient(create_app(db=d))
        codes = [c.post("/api/v1/leads", json=LEAD, headers={"X-API-Key": key}).status_code
                 for _ in range(5)]
        assert codes[:3] == [201] * 3 and codes[3] == 429
        r = c.post("/api/v1/leads", json=LEAD, headers={"X-API-Key": key})
        assert int(r.headers["retry-after"]) >= 1
    finally:
        d.close()
    assert q(db, t, "select count(*) n from leads.lead_memory where tenant_id = %s")[0]["n"] == 3
