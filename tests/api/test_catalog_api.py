"""A tenant's products, funnels and Slack settings through the API (issue 15): create, list,
change, 422 naming the field with nothing written, a viewer refused, another tenant 404, and
the audit entries of the service functions the CLI and the dashboard use."""

from __future__ import annotations

from fastapi.testclient import TestClient

from growthops.app import create_app
from growthops.core.auth.users import create_user
from tests.api.conftest import PASSWORD, make_key, unique_email
from tests.conftest import new_tenant


def _client(db, key: str | None = None) -> TestClient:
    settings = db.settings.model_copy(update={"rate_limits_enabled": False})
    c = TestClient(create_app(settings, db=db))
    if key:
        c.headers["X-API-Key"] = key
    return c


def _logs(db, t, module: str) -> list[dict]:
    with db.tenant_tx(t.tenant_id) as conn:
        return conn.execute(
            "select message, context from core.system_logs where module = %s order by id", [module]
        ).fetchall()


def test_products_create_list_change_and_audit(db) -> None:
    t = new_tenant(db)
    client = _client(db, make_key(db, t))
    url = f"/api/v1/tenants/{t.client_key}/products"
    r = client.post(
        url,
        json={
            "product_name": "Coaching Pro",
            "product_type": "coaching_program",
            "price": "2997.00",
            "by": "Léa",
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["before"] == {} and r.json()["after"]["price"] == "2997.00"
    r = client.patch(f"{url}/{pid}", json={"status": "deprecated", "by": "Léa"})
    assert r.status_code == 200, r.text
    assert r.json()["before"] == {"status": "active"} and r.json()["after"] == {
        "status": "deprecated"
    }
    page = client.get(url).json()
    assert page["total"] == 1
    item = page["items"][0]
    # only the field given changed; the others are kept
    assert (item["product_name"], item["price"], item["status"]) == (
        "Coaching Pro",
        "2997.00",
        "deprecated",
    )
    # the same value again: nothing written, nothing logged
    assert (
        client.patch(f"{url}/{pid}", json={"status": "deprecated", "by": "Léa"}).json()["after"]
        == {}
    )
    logs = _logs(db, t, "growthops.core.tenants")
    assert len(logs) == 2 and "Léa" in logs[1]["message"]
    assert logs[1]["context"]["before"] == {"status": "active"}
    # invalid body: 422 naming the field, nothing changed
    bad = client.patch(f"{url}/{pid}", json={"price": "-5", "by": "Léa"})
    assert bad.status_code == 422 and "body.price" in bad.json()["error"]["message"]
    bad = client.patch(f"{url}/{pid}", json={"product_name": None, "by": "Léa"})
    assert bad.status_code == 422 and "body.product_name" in bad.json()["error"]["message"]
    bad = client.post(url, json={"product_name": "X", "status": "retired", "by": "Léa"})
    assert bad.status_code == 422 and "body.status" in bad.json()["error"]["message"]
    assert client.get(url).json()["items"][0]["price"] == "2997.00"
    assert len(_logs(db, t, "growthops.core.tenants")) == 2
    assert client.patch(f"{url}/999999", json={"status": "paused", "by": "L"}).status_code == 404


def test_funnels_create_change_and_benchmark_keys_checked_after_the_merge(db) -> None:
    t = new_tenant(db)
    client = _client(db, make_key(db, t))
    base = f"/api/v1/tenants/{t.client_key}"
    pid = client.post(f"{base}/products", json={"product_name": "Course", "by": "L"}).json()["id"]
    r = client.post(
        f"{base}/funnels",
        json={
            "funnel_name": "Webinar",
            "funnel_type": "webinar",
            "stages": ["Lead", "Webinar", "Sale"],
            "conversion_benchmarks": {"lead_to_webinar": 0.4},
            "product_id": pid,
            "campaign_ids": ["c1", "c1", "c2"],
            "by": "Léa",
        },
    )
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    r = client.patch(
        f"{base}/funnels/{fid}",
        json={
            "conversion_benchmarks": {"lead_to_webinar": "0.35", "webinar_to_sale": "0.1"},
            "by": "Léa",
        },
    )
    assert r.status_code == 200, r.text
    (funnel,) = client.get(f"{base}/funnels").json()["items"]
    assert funnel["stages"] == ["Lead", "Webinar", "Sale"] and funnel["product_id"] == pid
    assert funnel["campaign_ids"] == ["c1", "c2"]
    assert funnel["conversion_benchmarks"] == {"lead_to_webinar": 0.35, "webinar_to_sale": 0.1}
    # new stages without the stored benchmarks' stages: refused by the whole-row rule
    bad = client.patch(f"{base}/funnels/{fid}", json={"stages": ["A", "B"], "by": "Léa"})
    assert bad.status_code == 422 and "lead_to_webinar" in bad.text, bad.text
    bad = client.patch(f"{base}/funnels/{fid}", json={"product_id": 999999, "by": "Léa"})
    assert bad.status_code == 422 and "product_id" in bad.text
    assert client.get(f"{base}/funnels").json()["items"][0]["stages"] == ["Lead", "Webinar", "Sale"]
    assert [r["context"].get("funnel") for r in _logs(db, t, "growthops.core.tenants")] == [
        None,
        fid,
        fid,
    ]


def test_slack_settings_read_change_and_audit(db) -> None:
    t = new_tenant(db)
    client = _client(db, make_key(db, t))
    url = f"/api/v1/tenants/{t.client_key}/slack"
    r = client.get(url)
    assert r.status_code == 200 and r.json()["mode"] == "threads"
    r = client.patch(
        url, json={"mode": "digest", "lang": "fr", "alerts_channel": "#alerts", "by": "Léa"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["mode"], r.json()["lang"], r.json()["alerts_channel"]) == (
        "digest",
        "fr",
        "#alerts",
    )
    bad = client.patch(url, json={"alert_min_severity": "urgent", "by": "Léa"})
    assert bad.status_code == 422 and "body.alert_min_severity" in bad.text
    bad = client.patch(url, json={"alerts_channel": "two words", "by": "Léa"})
    assert bad.status_code == 422 and "alerts_channel" in bad.text
    assert client.get(url).json()["alerts_channel"] == "#alerts"
    (log,) = _logs(db, t, "growthops.ads.slack")
    assert log["context"]["by"] == "Léa" and log["context"]["after"]["mode"] == "digest"


def test_viewer_refused_other_tenant_404_and_by_required(db) -> None:
    t, other = new_tenant(db), new_tenant(db)
    viewer = create_user(
        db,
        email=unique_email("viewer"),
        password=PASSWORD,
        role="client_viewer",
        tenant_id=t.tenant_id,
    )
    client = _client(db)
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": viewer.email, "password": PASSWORD}
        ).status_code
        == 200
    )
    base = f"/api/v1/tenants/{t.client_key}"
    assert client.get(f"{base}/products").status_code == 200  # a viewer reads
    for method, path, body in (
        ("post", "/products", {"product_name": "X"}),
        ("post", "/funnels", {"funnel_name": "F"}),
        ("patch", "/slack", {"mode": "both"}),
    ):
        assert client.request(method, base + path, json=body).status_code == 403
    # another tenant's key: the tenant is reported missing
    key = _client(db, make_key(db, other))
    assert key.get(f"{base}/products").status_code == 404
    assert key.post(f"{base}/products", json={"product_name": "X", "by": "L"}).status_code == 404
    assert key.patch(f"{base}/slack", json={"mode": "both", "by": "L"}).status_code == 404
    # a key acting for people must name the person
    own = _client(db, make_key(db, t))
    bad = own.post(f"{base}/products", json={"product_name": "X"})
    assert bad.status_code == 422 and "body.by" in bad.text
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from core.products").fetchone()["n"] == 0
        assert conn.execute("select count(*) n from ads.slack_settings").fetchone()["n"] == 0
