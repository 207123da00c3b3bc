"""``GET/PUT/DELETE /api/v1/tenants/{tenant}/airtable``: the token is write-only and encrypted,
the endpoint is not settable over the API, another tenant's mirror is invisible."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from growthops.app import create_app
from growthops.core.secrets import generate_key
from tests.api.conftest import make_key
from tests.conftest import new_tenant

TOKEN = "patApiApiApiApiAp.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def test_put_get_delete(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", generate_key())
    t, other = new_tenant(db), new_tenant(db)
    client = TestClient(create_app(db=db))
    client.headers["X-API-Key"] = make_key(db, t)
    url = f"/api/v1/tenants/{t.client_key}/airtable"
    r = client.get(url)  # no mirror: the integration is off, not a missing route
    assert r.status_code == 200 and r.json()["configured"] is False and r.json()["base_id"] is None
    r = client.put(url, json={"base_id": "appAPIAPIAPIAPIAP", "by": "Léa"})
    assert r.status_code == 422 and "token" in r.text  # required the first time
    r = client.put(
        url,
        json={
            "base_id": "appAPIAPIAPIAPIAP",
            "token": TOKEN,
            "by": "Léa",
            "table_names": {"clients": "Clients"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_token"] is True and TOKEN not in r.text and "token_encrypted" not in body
    assert body["table_names"] == {"clients": "Clients"} and body["updated_by"] == "Léa"
    assert body["endpoint_url"] is None and body["last_run"] is None
    r = client.put(
        url, json={"base_id": "appAPIAPIAPIAPIAP", "endpoint_url": "http://10.0.0.1", "by": "Léa"}
    )
    assert r.status_code == 422  # not settable over the API
    r = client.put(url, json={"base_id": "app1", "token": "x" * 600, "by": "Léa"})
    assert r.status_code == 422 and "x" * 40 not in r.text  # a refused token is not echoed
    r = client.put(url, json={"base_id": "appAPIAPIAPIAPIAP", "enabled": False, "by": "Léa"})
    assert r.status_code == 200 and r.json()["enabled"] is False  # the token is kept
    with db.tenant_tx(t.tenant_id) as conn:
        stored = conn.execute("select token_encrypted from ads.airtable_mirrors").fetchone()
    assert stored["token_encrypted"].startswith("gAAAAA") and TOKEN not in stored["token_encrypted"]
    assert client.get(f"/api/v1/tenants/{other.client_key}/airtable").status_code == 404
    assert client.get(url).json()["base_id"] == "appAPIAPIAPIAPIAP"
    r = client.delete(url)
    assert r.status_code == 200 and r.json() == {"removed": True}
    assert client.delete(url).status_code == 404
    assert client.get(url).json()["configured"] is False
