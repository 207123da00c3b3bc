"""Creative tests over HTTP and the CLI: create (plan fixed), list, read, launch (approval
asked), close, cancel; bad input named, another tenant's test 404, states enforced."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.app import create_app
from tests.api.conftest import make_key
from tests.conftest import new_tenant

BODY = {"test_name": "Hook test", "hypothesis": "A question hook lifts CTR", "variant_a": "ad-1",
        "primary_metric": "ctr", "mde_rel": 0.2, "baseline_value": 0.012,
        "change": {"creative": {"creative_id": "55"}}, "by": "alex"}


def test_api_creates_reads_launches_and_cancels_a_test(db) -> None:
    a, b = new_tenant(db), new_tenant(db)
    client = TestClient(create_app(db=db))
    client.headers["X-API-Key"] = make_key(db, a)
    base = f"/api/v1/tenants/{a.client_key}/ab-tests"
    r = client.post(base, json=BODY)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == "draft" and t["planned_sample_per_arm"] > 10_000
    assert t["sample_unit"] == "impressions" and t["created_by"] == "alex"
    bad = client.post(base, json={**BODY, "change": {"creative": {}, "targeting": {}}})
    assert bad.status_code == 422 and "change" in bad.text
    assert client.post(base, json={**BODY, "mde_rel": -1}).status_code == 422
    assert [x["test_id"] for x in client.get(base).json()] == [t["test_id"]]
    assert client.get(f"{base}/{t['test_id']}").json()["hypothesis"] == BODY["hypothesis"]
    launch = client.post(f"{base}/{t['test_id']}/launch", json={"by": "alex"})
    assert launch.status_code == 200 and launch.json()["suggestion_id"] > 0
    assert client.post(f"{base}/{t['test_id']}/launch", json={"by": "alex"}).status_code == 409
    assert client.post(f"{base}/{t['test_id']}/close", json={"by": "alex"}).status_code == 409
    sugg = client.get(f"/api/v1/tenants/{a.client_key}/suggestions").json()
    assert any(s["suggestion_id"] == launch.json()["suggestion_id"] for s in
               (sugg["items"] if isinstance(sugg, dict) else sugg))
    assert client.post(f"{base}/{t['test_id']}/cancel", json={"by": "alex"}).json()["status"] == "cancelled"
    other = TestClient(create_app(db=db))
    other.headers["X-API-Key"] = make_key(db, b)
    assert other.get(f"/api/v1/tenants/{b.client_key}/ab-tests/{t['test_id']}").status_code == 404


def test_cli_creates_lists_and_shows_a_test(db) -> None:
    from growthops.cli import app

    t = new_tenant(db)
    runner = CliRunner()
    res = runner.invoke(app, ["tests", "create", "--tenant", t.client_key, "--name", "Budget split",
                              "--hypothesis", "A broader audience lowers CPA", "--level", "adset",
                              "--control", "as-1", "--change", "targeting={\"age_max\": 65}",
                              "--metric", "cpa", "--mde", "0.2", "--baseline", "25",
                              "--type", "audience", "--by", "sam", "--launch"])
    assert res.exit_code == 0, res.output
    assert "473" in res.output and "approval" in res.output
    res = runner.invoke(app, ["tests", "list", "--tenant", t.client_key, "--lang", "fr"])
    assert res.exit_code == 0 and "Budget split" in res.output
    res = runner.invoke(app, ["tests", "create", "--tenant", t.client_key, "--name", "x",
                              "--hypothesis", "y", "--control", "a", "--metric", "ctr",
                              "--mde", "0.1", "--by", "sam", "--change", "ctr"])
    assert res.exit_code != 0 and "--change" in str(res.exception)  # mapped to exit 2 by main()
