"""Tenant isolation over HTTP: for every route of the OpenAPI schema that takes a tenant, a
client_viewer of tenant A and an API key of tenant A asking for tenant B get the same 404 as for
a tenant that does not exist, and change nothing; read-only users cannot decide (403)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import World

BODIES = {
    "decision": {"decision": "approved", "decided_by": "intruder"},
    "validation": {"item_type": "ad_creative", "item_name": "x", "submitted_by": "intruder"},
    "advance": {"by": "intruder"},
    "reject": {"by": "intruder", "reason": "because"},
    "status": {"status": "dismissed", "by": "intruder"},  # ads anomaly triage
    # ads creative tests (issue 15)
    "ab-tests": {"test_name": "x", "hypothesis": "x", "variant_a": "1", "primary_metric": "ctr",
                 "mde_rel": 0.1, "baseline_value": 0.01, "change": {"ctr": 0.02}, "by": "intruder"},
    "launch": {"by": "intruder"},
    "close": {"by": "intruder", "force": True},
    "allocations": {"platform": "meta"},  # ads budget allocation
    # a tenant's products and funnels (issue 15: the business layer without SQL)
    "products": {"product_name": "intruder", "by": "intruder"},
    "funnels": {"funnel_name": "intruder", "by": "intruder"},
    # inbox (valid bodies: another tenant's objects must answer 404, not 422)
    "accounts": {"platform": "whatsapp", "account_id": "123456", "access_token": "EAAintruder"},
    "reply": {"text": "intruder", "by": "intruder"},
    "escalate": {"reason": "manual_escalation", "by": "intruder"},
    "assign": {"assignee": None, "by": "intruder"},
    "resolve": {"by": "intruder"},
    "reopen": {"by": "intruder"},
    "archive": {"by": "intruder"},
    # inbox posts, comments, credits (issue 12)
    "posts": {"social_account_id": 1, "text": "x", "local_at": "2030-01-01T09:00:00",
              "media": [{"type": "image", "url": "https://example.org/a.jpg"}], "by": "intruder"},
    "edit": {"text": "intruder", "by": "intruder"},
    "cancel": {"by": "intruder"},
    "monitoring-rules": {"auto_reply_enabled": True},
    "plan": {"plan": "enterprise", "grant_now": True},
    # leads: capture, actions, notes, insights
    "leads": {"email": "intruder@example.org", "message": "hello"},
    "actions": {"action": "tag", "tag": "x", "by": "intruder"},
    "notes": {"note": "x", "by": "intruder"},
    "insights": None,
    # inbox AI: knowledge base, labelled examples, calibration, decision labels
    "documents": {"filename": "x.txt", "content_base64": "aW50cnVkZXI="},
    "faq": {"entries": [{"question": "intruder?", "answer": "intruder"}]},
    "examples": {"examples": [{"text": "intruder", "label": "escalate"}]},
    "calibrate": None,
    "label": {"label": "wrong", "by": "intruder"},
    # inbox AI learning: topics run (approve / reject of suggestions take no body)
    "run": {"days": 28},
    # leads prospects and outreach
    "import": None,
    "profile": {"text": "Dental clinics"},
    "templates": {"name": "x", "subject": "x", "html_content": "x", "plain_content": "x"},
    "campaigns": {"name": "x", "template_id": 1},
    "generate": None,
    "stop": {"prospect_id": 1},
    "approve": {"email_ids": [1]},
    "suppressions": {"email": "intruder@example.org"},
}


def tenant_operations(client) -> list[tuple[str, str, dict]]:
    """Return (method, path, operation) of every API operation whose path takes ``{tenant}``."""
    spec = client.get("/openapi.json").json()
    return [
        (m, p, op) for p, ops in spec["paths"].items() if "{tenant}" in p for m, op in ops.items()
    ]


def _entity(world: World, side) -> str:
    with world.db.tenant_tx(side.tenant.tenant_id) as conn:
        return conn.execute(
            "select entity_id from ads.metrics_daily order by 1 limit 1"
        ).fetchone()["entity_id"]


def request_for(world: World, side, tenant: str, method: str, path: str, op: dict):
    """Return (url, params, body) of the operation for ``side``'s objects under ``tenant``."""
    ids = {"suggestion_id": side.suggestion_ids[-1], **side.ids}

    def fill(m: re.Match) -> str:
        name = m.group(1)
        return tenant if name == "tenant" else str(ids.get(name, 1))

    url = re.sub(r"\{(\w+)\}", fill, path)
    params = {
        p["name"]: _entity(world, side)
        for p in op.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    body = BODIES[path.rsplit("/", 1)[-1]] if method == "post" else None
    if path.endswith("/leads/insights") and method == "get" and tenant == side.tenant.client_key:
        _ensure_insights(world, side)
    return url, params, body


def _ensure_insights(world: World, side) -> None:
    from growthops.leads import insights

    with world.db.tenant_tx(side.tenant.tenant_id) as conn:
        insights.compute(conn, tenant_id=side.tenant.tenant_id)


def snapshot(world: World, side) -> list:
    with world.db.tenant_tx(side.tenant.tenant_id) as conn:
        return conn.execute(
            """select (select array_agg(status order by suggestion_id) from ads.suggestions) s,
                      (select array_agg(validation_stage || status order by queue_id)
                         from ads.validation_queue) v,
                      (select count(*) from ads.decisions) d,
                      (select array_agg(status || coalesce(assignee_user_id::text, '')
                                        order by conversation_id) from inbox.conversations) c,
                      (select count(*) from inbox.conversation_messages) m,
                      (select count(*) from inbox.conversation_events) e,
                      (select count(*) from inbox.social_accounts) a,
                      (select count(*) from leads.lead_memory) l,
                      (select count(*) from leads.lead_actions) la,
                      (select count(*) from leads.lead_notes) ln,
                      (select count(*) from inbox.knowledge_documents) kd,
                      (select count(*) from inbox.faq_qa) kf,
                      (select count(*) from inbox.ai_examples) ke,
                      (select count(*) from inbox.ai_settings) ks,
                      (select count(*) from inbox.ai_rules) kr,
                      (select count(*) from inbox.clusters) kc"""
        ).fetchone()


@pytest.mark.parametrize("who", ["viewer", "key"])
def test_another_tenant_is_reported_missing_on_every_tenant_route(world: World, who):
    a, b = world.a, world.b
    client = world.client(a.viewer if who == "viewer" else a.key)
    ops = tenant_operations(client)
    assert len(ops) >= 20
    before = snapshot(world, b)
    for method, path, op in ops:
        for name in (b.tenant.client_key, str(b.tenant.tenant_id)):
            url, params, body = request_for(world, b, name, method, path, op)
            r = client.request(method, url, params=params, json=body)
            assert r.status_code == 404, (method, url, r.text)
            ghost_url, _, _ = request_for(world, b, "no-such-tenant", method, path, op)
            ghost = client.request(method, ghost_url, params=params, json=body)
            assert ghost.status_code == 404
            assert r.json()["error"] == {
                **ghost.json()["error"],
                "message": ghost.json()["error"]["message"].replace("'no-such-tenant'", repr(name)),
            }
        # on its own tenant: reads succeed; a viewer may not decide nor submit (403). (Other
        # writes on tenant A are not sent: they would change the shared world.)
        url, params, body = request_for(world, a, a.tenant.client_key, method, path, op)
        if method == "get":
            r = client.request(method, url, params=params, json=body)
            assert r.status_code == 200, (url, r.text)
        elif who == "viewer" and url.endswith(("/decision", "/validation")):
            r = client.request(method, url, params=params, json=body)
            assert r.status_code == 403, (url, r.text)
    assert snapshot(world, b) == before


def test_anonymous_requests_get_401_everywhere(world: World):
    client = world.client()
    for method, path, op in tenant_operations(client):
        url, params, body = request_for(world, world.a, world.a.tenant.client_key, method, path, op)
        r = client.request(method, url, params=params, json=body)
        assert r.status_code == 401, (method, url)
    assert client.get("/api/v1/tenants").status_code == 401


def test_a_viewer_cannot_decide_on_its_own_tenant(world: World):
    a = world.a
    client = world.client(a.viewer)
    before = snapshot(world, a)
    for url in (
        f"/api/v1/tenants/{a.tenant.client_key}/suggestions/{a.suggestion_ids[-1]}/decision",
        f"/api/v1/suggestions/{a.suggestion_ids[-1]}/decision",
    ):
        r = client.post(url, json={"decision": "approved"})
        assert r.status_code == 403 and r.json()["error"]["type"] == "PermissionDenied"
    assert snapshot(world, a) == before


def test_short_routes_serve_only_the_callers_own_tenant(world: World):
    a, b = world.a, world.b
    mine = world.client(a.viewer).get("/api/v1/suggestions", params={"limit": 200}).json()
    assert sorted(s["suggestion_id"] for s in mine["items"]) == a.suggestion_ids
    r = world.client(a.viewer).get(f"/api/v1/suggestions/{b.suggestion_ids[-1]}")
    if b.suggestion_ids[-1] not in a.suggestion_ids:
        assert r.status_code == 404
    staff = world.client(world.admin).get("/api/v1/suggestions")
    assert (
        staff.status_code == 404 and "/api/v1/tenants/{tenant}" in staff.json()["error"]["message"]
    )


def test_a_cross_site_session_post_is_refused(world: World):
    client = world.client(world.buyer)
    url = f"/api/v1/tenants/{world.b.tenant.client_key}/validation"
    r = client.post(
        url,
        json={"item_type": "ad_creative", "item_name": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "cross-site" in r.json()["error"]["message"]
    with world.db.tenant_tx(world.b.tenant.tenant_id) as conn:
        assert (
            conn.execute(
                "select count(*) n from ads.validation_queue where item_name = 'x'"
            ).fetchone()["n"]
            == 0
        )
