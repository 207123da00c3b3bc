"""Copies with one change (a test's variant B): Meta through the SDK against the local Graph API
server (POST /{id}/copies, then POST /{copy}), the sandbox in PostgreSQL, Google refusing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from growthops.connectors.base import PlatformError
from growthops.connectors.meta import MetaAdAccount
from growthops.connectors.sandbox import create_sandbox_account
from tests.conftest import new_tenant
from tests.connectors.graph_server import GraphServer

TOKEN = "EAAGm0PX4ZCpsBAKtestTOKENdoNotLeak123"
ADSET = "120210000000000101"
AD = "120210000000001001"


@pytest.fixture()
def graph() -> Iterator[GraphServer]:
    with GraphServer(TOKEN) as server:
        yield server


def _acc(graph: GraphServer) -> MetaAdAccount:
    return MetaAdAccount("1234567890", TOKEN, base_url=graph.url, currency="EUR")


def test_meta_copies_an_ad_paused_then_changes_its_creative(graph: GraphServer) -> None:
    res = _acc(graph).copy_entity(AD, changes={"creative": {"creative_id": "777"}},
                                  name_suffix=" [test 4]")
    assert res.before.entity_id == AD and res.after.entity_id != AD
    assert res.after.status == "paused" and res.after.name.endswith(" [test 4]")
    assert res.after.parent_id == ADSET
    post = [r for r in graph.requests if r["method"] == "POST"]
    assert post[0]["path"].endswith(f"/{AD}/copies")
    assert post[0]["form"]["status_option"] == "PAUSED"
    assert json.loads(post[0]["form"]["rename_options"])["rename_suffix"] == " [test 4]"
    assert post[1]["path"].rstrip("/").endswith(f"/{res.after.entity_id}")
    assert graph.nodes[res.after.entity_id]["creative"] == {"creative_id": "777"}
    assert graph.nodes[AD].get("creative") is None          # the source is untouched


def test_meta_deep_copies_an_ad_set_with_its_ads_and_sets_the_budget(graph: GraphServer) -> None:
    res = _acc(graph).copy_entity(ADSET, changes={"daily_budget": "60"})
    new = res.after.entity_id
    assert res.response["copied_adset_id"] == new and res.after.status == "paused"
    assert graph.nodes[new]["daily_budget"] == "6000"      # cents on the wire
    kids = [n for n in graph.nodes.values() if n.get("adset_id") == new]
    assert kids and all(k["status"] == "PAUSED" for k in kids)
    copy_call = next(r for r in graph.requests if r["path"].endswith("/copies"))
    assert copy_call["form"]["deep_copy"] == "true"


def test_meta_refuses_two_changes_and_campaigns_without_calling(graph: GraphServer) -> None:
    acc = _acc(graph)
    with pytest.raises(PlatformError) as e:
        acc.copy_entity(ADSET, changes={"daily_budget": "60", "targeting": {"age_min": 30}})
    assert e.value.code == "invalid_parameter"
    with pytest.raises(PlatformError) as e:
        acc.copy_entity("120210000000000001", changes={"targeting": {}})
    assert e.value.code == "unsupported"
    assert not [r for r in graph.requests if r["method"] == "POST"]


def test_sandbox_copies_an_ad_paused_with_a_new_creative_quality(db) -> None:
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        acc = create_sandbox_account(conn, tenant_id=t.tenant_id, seed=3, days_history=3,
                                     start=date(2026, 1, 1))
        ad = acc.list_entities("ad")[0]
        res = acc.copy_entity(ad.entity_id, changes={"quality": 1.4})
        assert res.after.status == "paused" and res.after.parent_id == ad.parent_id
        row = conn.execute("select params from ads.sandbox_entities where tenant_id = %s and "
                           "entity_id = %s", [t.tenant_id, res.after.entity_id]).fetchone()
        assert row["params"]["quality"] == 1.4
        acc.set_status(res.after.entity_id, "active")
        acc.advance(conn, days=2)
        n = conn.execute("select count(*) as n from ads.metrics_daily where tenant_id = %s and "
                         "entity_id = %s and impressions > 0",
                         [t.tenant_id, res.after.entity_id]).fetchone()["n"]
        assert n == 2                                   # it delivers once activated
        with pytest.raises(PlatformError):
            acc.copy_entity(ad.entity_id, changes={"quality": 1.2, "ctr": 0.02})


def test_an_approved_test_is_launched_on_meta_once(db, monkeypatch) -> None:
    """Through the registry (encrypted token), approval, execution: copy PAUSED, change, then
    activate; every call in core.api_calls_log; a second execution calls nothing."""
    from growthops.ads.action.decisions import decide
    from growthops.ads.action.execution import execute_suggestion
    from growthops.ads.experiments import plan
    from growthops.connectors.registry import register_account
    from growthops.core import secrets

    monkeypatch.setenv(secrets.ENV_VAR, secrets.generate_key())
    t = new_tenant(db)
    with GraphServer(TOKEN) as graph:
        with db.tenant_tx(t.tenant_id) as conn:
            register_account(conn, tenant_id=t.tenant_id, platform="meta", connector="meta",
                             account_id="1234567890", credentials={"access_token": TOKEN},
                             settings={"base_url": graph.url})
            test = plan.create_test(conn, tenant_id=t.tenant_id, test_name="New creative",
                                    hypothesis="Creative 777 lifts CTR", platform="meta",
                                    level="ad", variant_a=AD,
                                    change={"creative": {"creative_id": "777"}},
                                    primary_metric="ctr", mde_rel=0.2, baseline_value=0.012)
            req = plan.request_launch(conn, tenant_id=t.tenant_id, test_id=test["test_id"])
        assert not [r for r in graph.requests if r["method"] == "POST"]   # nothing before approval
        with db.tenant_tx(t.tenant_id) as conn:
            decide(conn, tenant_id=t.tenant_id, suggestion_id=req["suggestion_id"],
                   decision="approved", decided_by="alex")
        out = execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=req["suggestion_id"],
                                 actor="alex")
        assert out.status == "applied", out.message
        posts = [r for r in graph.requests if r["method"] == "POST"]
        assert [p["path"].rstrip("/").rsplit("/", 1)[-1] for p in posts][0] == "copies"
        assert posts[0]["form"]["status_option"] == "PAUSED"
        copy_id = graph.copies[0][1]
        assert graph.nodes[copy_id]["creative"] == {"creative_id": "777"}
        assert posts[-1]["form"]["status"] == "ACTIVE"      # activated last
        assert execute_suggestion(db, tenant_id=t.tenant_id,
                                  suggestion_id=req["suggestion_id"]).status == "skipped"
        assert len(graph.copies) == 1
        with db.tenant_tx(t.tenant_id) as conn:
            row = plan.get_test(conn, tenant_id=t.tenant_id, test_id=test["test_id"])
            logged = conn.execute("select count(*) as n from core.api_calls_log where "
                                  "endpoint like %s", ["%/copies%"]).fetchone()["n"]
        assert row["status"] == "running" and row["variant_b"] == copy_id and logged == 1
