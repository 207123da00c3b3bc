"""The HTTP API with FastAPI's TestClient against the session database: per-tenant API keys,
decisions, strict bodies, tenant isolation, pagination, audit, validation queue, OpenAPI."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.ads.action import audit
from growthops.ads.cycle import run_daily_cycle
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.app import create_app
from growthops.cli import app as cli_app
from growthops.core.auth import api_keys
from growthops.core.errors import Conflict
from growthops.web.deps import Identity, TenantConn
from tests.conftest import new_tenant

END = date(2024, 3, 31)
PLAN = Plan(campaigns=2, adsets_per_campaign=3, ads_per_adset=3, days=60, end=END,
            base_spend=150.0, bad_adsets=(1,), great_adsets=(0,), fatigued_ads=(6,),
            budget_adsets=(2, 5))


def _tenant_with_suggestions(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    res = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END)
    with db.tenant_tx(t.tenant_id) as conn:
        key = api_keys.create(conn, tenant_id=t.tenant_id, name="tests", created_by="pytest",
                              acts_for_people=True)
    return t, sorted(res.suggestion_ids), key.plaintext


@pytest.fixture(scope="module")
def world(db):
    a = _tenant_with_suggestions(db)
    b = _tenant_with_suggestions(db)
    client = TestClient(create_app(db=db))
    return client, a, b


def h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_approve_then_double_approve_is_409(world, db):
    client, (ta, ids, key), _ = world
    r = client.post(f"/api/v1/suggestions/{ids[0]}/decision", headers=h(key),
                    json={"decision": "approved", "decided_by": "alice", "notes": "go"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status_before"], body["status"], body["channel"]) == ("pending", "approved", "api")
    again = client.post(f"/api/v1/suggestions/{ids[0]}/decision",
                        headers={"Authorization": f"Bearer {key}"},
                        json={"decision": "approved", "decided_by": "bob"})
    assert again.status_code == 409
    err = again.json()["error"]
    assert err["type"] == "DecisionConflict" and "already approved (by alice" in err["message"]
    assert err["details"]["status"] == "approved" and err["details"]["decided_by"] == "alice"
    shown = client.get(f"/api/v1/suggestions/{ids[0]}", headers=h(key)).json()
    assert shown["status"] == "approved" and shown["decided_by"] == "alice"
    story = client.get(f"/api/v1/suggestions/{ids[0]}/history", headers=h(key)).json()
    assert story["summary"] == 'approved by alice ("go")'
    trail = client.get("/api/v1/audit", headers=h(key), params={"object_id": str(ids[0])}).json()["items"]
    assert [(e["action"], e["actor"], e["reason"]) for e in trail] == [("suggestion.approved", "alice", "go")]


def test_another_tenants_key_gets_404(world):
    client, (_, ids_a, key_a), (_, ids_b, key_b) = world
    assert client.get(f"/api/v1/suggestions/{ids_a[1]}", headers=h(key_b)).status_code == 404
    r = client.post(f"/api/v1/suggestions/{ids_a[1]}/decision", headers=h(key_b),
                    json={"decision": "refused", "decided_by": "mallory"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"
    # Still pending for its own tenant; B's list holds only B's suggestions.
    assert client.get(f"/api/v1/suggestions/{ids_a[1]}", headers=h(key_a)).json()["status"] == "pending"
    listed = client.get("/api/v1/suggestions", headers=h(key_b), params={"limit": 200}).json()
    assert {s["suggestion_id"] for s in listed["items"]} == set(ids_b)


def test_missing_invalid_and_revoked_keys_get_401(world, db):
    client, (ta, ids, key), _ = world
    bad = key[:-1] + ("A" if key[-1] != "A" else "B")
    for headers, kind in (({}, "LoginRequired"), ({"X-API-Key": "nope"}, "InvalidApiKey"),
                          ({"X-API-Key": bad}, "InvalidApiKey"),
                          ({"Authorization": "Basic dXNlcjpwYXNz"}, "LoginRequired")):
        r = client.get("/api/v1/suggestions", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["type"] == kind
        assert r.headers["www-authenticate"].startswith("Bearer")
    with db.tenant_tx(ta.tenant_id) as conn:
        extra = api_keys.create(conn, tenant_id=ta.tenant_id, name="temp")
    assert client.get("/api/v1/suggestions", headers=h(extra.plaintext)).status_code == 200
    with db.tenant_tx(ta.tenant_id) as conn:
        api_keys.revoke(conn, tenant_id=ta.tenant_id, key=extra.prefix, revoked_by="ops")
    assert client.get("/api/v1/suggestions", headers=h(extra.plaintext)).status_code == 401
    # Only the hash is stored.
    with db.tenant_tx(ta.tenant_id) as conn:
        row = conn.execute("select key_hash, last_used_at from core.api_keys where prefix = %s",
                           [extra.prefix]).fetchone()
    assert row["key_hash"].startswith("$argon2id$") and extra.plaintext not in row["key_hash"]
    assert row["last_used_at"] is not None


@pytest.mark.parametrize("body", [
    {"decision": False, "decided_by": "alice"},
    {"decision": 0, "decided_by": "alice"},
    {"decision": "approve", "decided_by": "alice"},
    {"decision": "approved", "decided_by": 7},
    {"decision": "approved", "decided_by": ""},
    {"decision": "approved", "decided_by": "alice", "notes": None, "force": True},
    {"decided_by": "alice"},
])
def test_strict_bodies_are_refused_with_the_field_named(world, body):
    client, (_, ids, key), _ = world
    r = client.post(f"/api/v1/suggestions/{ids[2]}/decision", headers=h(key), json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["type"] == "InvalidInput" and "body." in err["message"]
    assert client.get(f"/api/v1/suggestions/{ids[2]}", headers=h(key)).json()["status"] == "pending"


def test_malformed_json_and_bad_query(world):
    client, (_, ids, key), _ = world
    r = client.post(f"/api/v1/suggestions/{ids[2]}/decision", headers={**h(key), "content-type": "application/json"},
                    content=b'{"decision": ')
    assert r.status_code == 422 and r.json()["error"]["type"] == "InvalidInput"
    assert r.json()["error"]["message"] == "body: malformed JSON at character 13"
    assert client.get("/api/v1/suggestions", headers=h(key), params={"status": "nope"}).status_code == 422
    assert client.get("/api/v1/suggestions", headers=h(key), params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/suggestions/abc", headers=h(key)).status_code == 422
    assert client.get("/api/v1/nowhere", headers=h(key)).json()["error"]["type"] == "NotFound"


def test_pagination(world):
    client, _, (_, ids, key) = world
    first = client.get("/api/v1/suggestions", headers=h(key), params={"limit": 2}).json()
    second = client.get("/api/v1/suggestions", headers=h(key), params={"limit": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == len(ids) and len(first["items"]) == 2
    assert not {s["suggestion_id"] for s in first["items"]} & {s["suggestion_id"] for s in second["items"]}
    pending = client.get("/api/v1/suggestions", headers=h(key), params={"status": "pending", "limit": 200}).json()
    assert all(s["status"] == "pending" for s in pending["items"])
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    order = [(rank[s["priority"]], -s["confidence"]) for s in pending["items"]]
    assert order == sorted(order)


def test_the_list_answers_the_same_json_as_fastapis_own_encoding(world, db):
    # the route serialises with pydantic's model_dump_json (issue 16): byte-for-byte the page
    # FastAPI's response_model + jsonable_encoder path gave, items, dates and nulls included
    from fastapi.encoders import jsonable_encoder

    from growthops.ads.action import decisions
    from growthops.ads.models import SuggestionOut, SuggestionPage

    client, _, (t, ids, key) = world
    r = client.get("/api/v1/suggestions", headers=h(key), params={"limit": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with db.tenant_tx(t.tenant_id) as conn:
        rows, total = decisions.list_suggestions(conn, tenant_id=t.tenant_id, limit=3)
    page = SuggestionPage.of([SuggestionOut.model_validate(x) for x in rows], total, 3, 0)
    assert r.json() == jsonable_encoder(page) and r.json()["next_offset"] == 3


def test_validation_queue_over_http(world):
    client, _, (_, ids, key) = world
    r = client.post("/api/v1/validation", headers=h(key), json={
        "item_type": "ad_creative", "item_name": "Hook v3", "submitted_by": "dana",
        "content": {"suggestion_id": ids[0]}, "ttl_hours": 24.0})
    assert r.status_code == 201, r.text
    qid = r.json()["queue_id"]
    assert client.post("/api/v1/validation", headers=h(key), json={
        "item_type": "ad_creative", "item_name": "x", "submitted_by": "dana", "ttl_hours": "24"}).status_code == 422
    r = client.post(f"/api/v1/validation/{qid}/advance", headers=h(key), json={"by": "client"})
    assert r.json()["validation_stage"] == "team_review" and r.json()["client_validated_by"] == "client"
    r = client.post(f"/api/v1/validation/{qid}/reject", headers=h(key), json={"by": "lead", "reason": "off-brand"})
    assert (r.json()["status"], r.json()["rejection_reason"]) == ("rejected", "off-brand")
    r = client.post(f"/api/v1/validation/{qid}/advance", headers=h(key), json={"by": "client"})
    assert r.status_code == 409 and "already rejected" in r.json()["error"]["message"]
    listed = client.get("/api/v1/validation", headers=h(key), params={"status": "rejected"}).json()
    assert [i["queue_id"] for i in listed["items"]] == [qid] and listed["total"] == 1
    assert client.get(f"/api/v1/validation/{qid}", headers=h(key)).json()["rejected_by"] == "lead"


def test_openapi_lists_error_responses_and_security(world):
    client, _, _ = world
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/suggestions/{suggestion_id}/decision"]["post"]
    assert {"201", "401", "404", "409", "422"} <= set(op["responses"])
    assert op["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert {"APIKeyHeader", "HTTPBearer"} <= set(spec["components"]["securitySchemes"])
    assert client.get("/api/v1/health").json() == {"status": "ok"}


def test_cli_creates_a_key_shown_once_that_the_api_accepts(world, db):
    client, (ta, ids, _), _ = world
    res = CliRunner().invoke(cli_app, ["apikeys", "create", "--tenant", ta.client_key, "--name", "zapier"])
    assert res.exit_code == 0, res.output
    key = next(line for line in res.output.splitlines() if line.startswith("gok_"))
    assert "shown only once" in " ".join(res.output.split())
    assert client.get("/api/v1/suggestions", headers=h(key)).status_code == 200
    listed = CliRunner().invoke(cli_app, ["apikeys", "list", "--tenant", ta.client_key]).output
    assert "zapier" in listed and key not in listed
    prefix = key.split("_")[1]
    assert CliRunner().invoke(cli_app, ["apikeys", "revoke", prefix, "--tenant", ta.client_key]).exit_code == 0
    assert client.get("/api/v1/suggestions", headers=h(key)).status_code == 401


def test_a_route_that_fails_rolls_its_writes_back(db, world):
    """The tenant transaction wraps the route: written then raised means nothing committed."""
    _, (ta, _, key), _ = world
    app = create_app(db=db)

    @app.post("/api/v1/_test/write-then-fail")
    def write_then_fail(conn: TenantConn, ident: Identity) -> dict:
        audit.record(conn, tenant_id=ident.tenant_id, actor="probe", action="probe.written",
                     object_type="probe", object_id="1")
        raise Conflict("refused after writing")

    r = TestClient(app).post("/api/v1/_test/write-then-fail", headers=h(key))
    assert r.status_code == 409 and r.json()["error"] == {
        "type": "Conflict", "message": "refused after writing", "details": None}
    with db.tenant_tx(ta.tenant_id) as conn:
        n = conn.execute("select count(*) as n from ads.audit_log where actor = 'probe'").fetchone()["n"]
    assert n == 0
