"""Each endpoint of the JSON API on its happy path, as a session user and with an API key:
tenants, entities, metrics (ratios of sums), baselines, anomalies, suggestions, decisions,
executions, hypotheses, validation queue, audit; pagination everywhere."""

from __future__ import annotations

import pytest

from tests.api.conftest import World, make_key, synthetic_tenant


def pages(client, url, **params):
    """Return every item of a paginated list, following ``next_offset``; check the totals."""
    items, offset, total = [], 0, None
    while offset is not None:
        r = client.get(url, params={**params, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert total is None or body["total"] == total
        total = body["total"]
        items += body["items"]
        offset = body["next_offset"]
    assert len(items) == total
    return items


def test_tenants_list_for_staff_viewers_and_keys(world: World):
    a, b = world.a.tenant, world.b.tenant
    for user in (world.admin, world.buyer):
        keys = {t["client_key"] for t in pages(world.client(user), "/api/v1/tenants", limit=200)}
        assert {a.client_key, b.client_key} <= keys
    for who in (world.a.viewer, world.a.key):
        body = world.client(who).get("/api/v1/tenants").json()
        assert [t["client_key"] for t in body["items"]] == [a.client_key] and body["total"] == 1
    one = world.client(world.admin).get(f"/api/v1/tenants/{a.client_key}").json()
    assert one["tenant_id"] == str(a.tenant_id) and one["last_day"] == "2026-03-09"
    assert one["pending_suggestions"] >= 1 and one["active_anomalies"] == 1
    assert one["spend_mtd"] > 0 and one["pacing"] > 0
    assert one["roas_mtd"] == pytest.approx(one["conversion_value_mtd"] / one["spend_mtd"])
    by_id = world.client(world.a.key).get(f"/api/v1/tenants/{a.tenant_id}").json()
    assert by_id["client_key"] == a.client_key


def test_tenants_pagination(world: World):
    client = world.client(world.admin)
    first = client.get("/api/v1/tenants", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["total"] >= 2 and first["next_offset"] == 1
    second = client.get("/api/v1/tenants", params={"limit": 1, "offset": 1}).json()
    assert second["items"][0]["client_key"] > first["items"][0]["client_key"]


def test_entities_and_metrics_ratios_are_ratios_of_sums(world: World):
    client = world.client(world.buyer)
    base = f"/api/v1/tenants/{world.a.tenant.client_key}"
    ents = pages(client, f"{base}/entities", level="adset", limit=2)
    assert len(ents) == 6 and all(e["level"] == "adset" for e in ents)
    assert [e["spend"] for e in ents] == sorted((e["spend"] for e in ents), reverse=True)
    ent = ents[0]
    days = pages(client, f"{base}/metrics", entity_id=ent["entity_id"], level="adset", limit=7)
    assert len(days) == 35 == ent["days"]
    assert [d["day"] for d in days] == sorted((d["day"] for d in days), reverse=True)
    clicks = sum(d["clicks"] for d in days)
    imps = sum(d["impressions"] for d in days)
    spend = sum(d["spend"] for d in days)
    body = client.get(
        f"{base}/metrics", params={"entity_id": ent["entity_id"], "level": "adset", "limit": 7}
    ).json()
    totals = body["totals"]
    assert totals["days"] == 35 and totals["clicks"] == clicks == ent["clicks"]
    assert totals["ctr"] == pytest.approx(clicks / imps)
    assert totals["cpc"] == pytest.approx(spend / clicks)
    assert totals["cpm"] == pytest.approx(1000 * spend / imps)
    mean_daily_ctr = sum(d["ctr"] for d in days) / len(days)
    assert totals["ctr"] != pytest.approx(mean_daily_ctr, rel=1e-9)  # sums, not a mean
    d0 = days[0]
    assert d0["ctr"] == pytest.approx(d0["clicks"] / d0["impressions"])
    window = client.get(
        f"{base}/metrics",
        params={
            "entity_id": ent["entity_id"],
            "start": "2026-03-03",
            "end": "2026-03-09",
            "order": "asc",
            "level": "adset",
        },
    ).json()
    assert [d["day"] for d in window["items"]][:2] == ["2026-03-03", "2026-03-04"]
    assert window["totals"]["days"] == 7 and window["next_offset"] is None
    r = client.get(f"{base}/metrics", params={"entity_id": "no-such-entity"})
    assert r.status_code == 404 and "entity_id" in r.json()["error"]["message"]


def test_baselines_and_anomalies(world: World):
    client = world.client(world.a.key)
    base = f"/api/v1/tenants/{world.a.tenant.client_key}"
    rows = pages(client, f"{base}/baselines", limit=50)
    assert rows and {r["as_of"] for r in rows} == {"2026-03-09"}
    assert all(r["p10"] is None or r["p10"] <= r["p50"] <= r["p90"] for r in rows)
    ctr7 = client.get(f"{base}/baselines", params={"metric": "ctr", "window_days": 7}).json()
    assert ctr7["total"] >= 1 and {r["metric"] for r in ctr7["items"]} == {"ctr"}
    anomalies = client.get(f"{base}/anomalies", params={"status": "active"}).json()
    assert anomalies["total"] == 1 and anomalies["items"][0]["entity_id"] == "sbx-c1-s1"
    aid = world.a.ids["anomaly_id"]
    assert client.get(f"{base}/anomalies/{aid}").json()["deviation"] == -0.5
    assert client.get(f"{base}/anomalies", params={"severity": "low"}).json()["total"] == 0


def test_suggestions_list_show_history(world: World):
    client = world.client(world.admin)
    base = f"/api/v1/tenants/{world.b.tenant.client_key}/suggestions"
    listed = pages(client, base, limit=2)
    assert sorted(s["suggestion_id"] for s in listed) == world.b.suggestion_ids
    sid = world.b.suggestion_ids[0]
    assert client.get(f"{base}/{sid}").json()["suggestion_id"] == sid
    assert client.get(f"{base}/{sid}/history").json()["suggestion"]["suggestion_id"] == sid
    # the short route serves a key's own tenant
    own = world.client(world.b.key).get("/api/v1/suggestions", params={"limit": 200}).json()
    assert sorted(s["suggestion_id"] for s in own["items"]) == world.b.suggestion_ids


def test_decisions_executions_hypotheses(world: World):
    client = world.client(world.a.viewer)  # read-only users read all of it
    base = f"/api/v1/tenants/{world.a.tenant.client_key}"
    decs = pages(client, f"{base}/decisions", limit=1)
    assert len(decs) == 2 and {d["decided_by"] for d in decs} == {"seed-buyer"}
    sid = decs[0]["suggestion_id"]
    assert client.get(f"{base}/decisions", params={"suggestion_id": sid}).json()["total"] == 1
    execs = pages(client, f"{base}/executions", limit=1)
    assert len(execs) == 2 and {e["status"] for e in execs} == {"applied"}
    one = client.get(f"{base}/executions/{world.a.ids['execution_id']}").json()
    assert one["before_state"] and one["after_state"] and one["success"] is True
    hyps = client.get(f"{base}/hypotheses", params={"measured": "false"}).json()
    assert hyps["total"] == 2 and all(h["outcome"] is None for h in hyps["items"])
    assert client.get(f"{base}/hypotheses", params={"measured": "true"}).json()["total"] == 0
    h = client.get(f"{base}/hypotheses/{world.a.ids['hypothesis_id']}").json()
    assert h["suggestion_id"] in {d["suggestion_id"] for d in decs}


def test_decide_as_session_user_and_as_key(db, world: World):
    t = synthetic_tenant(db)
    key = make_key(db, t)
    base = f"/api/v1/tenants/{t.client_key}/suggestions"
    buyer = world.client(world.buyer)
    sids = [s["suggestion_id"] for s in buyer.get(base).json()["items"]]
    r = buyer.post(f"{base}/{sids[0]}/decision", json={"decision": "approved", "notes": "ok"})
    assert r.status_code == 201, r.text
    assert r.json()["decided_by"] == world.buyer.email and r.json()["status"] == "approved"
    r = buyer.post(
        f"{base}/{sids[1]}/decision", json={"decision": "refused", "decided_by": "someone else"}
    )
    assert r.status_code == 422 and "decided_by" in r.json()["error"]["message"]
    keyed = world.client(key)
    r = keyed.post(f"{base}/{sids[1]}/decision", json={"decision": "backlog"})
    assert r.status_code == 422 and "decided_by" in r.json()["error"]["message"]
    r = keyed.post(f"{base}/{sids[1]}/decision", json={"decision": "backlog", "decided_by": "zap"})
    assert r.status_code == 201 and r.json()["decided_by"] == "zap"
    again = buyer.post(f"{base}/{sids[0]}/decision", json={"decision": "refused"})
    assert again.status_code == 409
    decs = buyer.get(f"/api/v1/tenants/{t.client_key}/decisions", params={"channel": "api"}).json()
    assert decs["total"] == 2
    audit = buyer.get(
        f"/api/v1/tenants/{t.client_key}/audit", params={"object_id": str(sids[0])}
    ).json()
    assert audit["total"] == 1 and audit["items"][0]["actor"] == world.buyer.email


def test_validation_queue_with_roles(db, world: World):
    t = synthetic_tenant(db)
    from growthops.core.auth.users import create_user
    from tests.api.conftest import PASSWORD, unique_email

    viewer = create_user(
        db, email=unique_email("v"), password=PASSWORD, role="client_viewer", tenant_id=t.tenant_id
    )
    base = f"/api/v1/tenants/{t.client_key}/validation"
    buyer, client = world.client(world.buyer), world.client(viewer)
    assert client.post(base, json={"item_type": "ad_creative", "item_name": "x"}).status_code == 403
    r = buyer.post(
        base, json={"item_type": "ad_creative", "item_name": "Hook A", "content": {"copy": "hi"}}
    )
    assert r.status_code == 201 and r.json()["submitted_by"] == world.buyer.email
    qid = r.json()["queue_id"]
    # the client reviews at client_review, not at the team's stage
    r = client.post(f"{base}/{qid}/advance", json={})
    assert r.status_code == 200 and r.json()["validation_stage"] == "team_review"
    assert r.json()["client_validated_by"] == viewer.email
    assert client.post(f"{base}/{qid}/reject", json={"reason": "no"}).status_code == 403
    r = buyer.post(f"{base}/{qid}/advance", json={})
    assert r.json()["validation_stage"] == "approved"
    assert buyer.post(f"{base}/{qid}/advance", json={}).status_code == 409
    listed = client.get("/api/v1/validation", params={"status": "approved"}).json()
    assert [i["queue_id"] for i in listed["items"]] == [qid] and listed["next_offset"] is None
    assert client.get(f"{base}/{qid}").json()["team_validated_by"] == world.buyer.email


def test_health_login_openapi(world: World):
    client = world.client()
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/tenants/{tenant}/suggestions/{suggestion_id}/decision"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "422"} <= set(op["responses"])
    assert {"APIKeyHeader", "HTTPBearer", "APIKeyCookie"} <= set(
        spec["components"]["securitySchemes"]
    )
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/health":
            continue
        for method, op in ops.items():
            assert {"401", "422", "500"} <= set(op["responses"]), (method, path)
            if method == "post" and "requestBody" in op:
                assert "400" in op["responses"] and "422" in op["responses"], (method, path)
            if "{tenant}" in path:
                assert "404" in op["responses"] and "401" in op["responses"], (method, path)
