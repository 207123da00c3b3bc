"""The Meta connector through the real facebook-business SDK against a local Graph API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from growthops.connectors.base import AdPlatform, PlatformError
from growthops.connectors.meta import MetaAdAccount
from growthops.connectors.registry import db_api_logger
from tests.conftest import new_tenant
from tests.connectors.graph_server import ACCOUNT, GraphServer

TOKEN = "EAAGm0PX4ZCpsBAKtestTOKENdoNotLeak123"
ADSET = "120210000000000101"
ADSET_LIMITED = "120210000000000102"
ADSET_CBO = "120210000000000201"
CAMPAIGN_CBO = "120210000000000002"
AD = "120210000000001001"


@pytest.fixture()
def graph() -> Iterator[GraphServer]:
    with GraphServer(TOKEN) as server:
        yield server


def account(graph: GraphServer, **kw) -> MetaAdAccount:
    return MetaAdAccount("1234567890", TOKEN, base_url=graph.url, currency="EUR", **kw)


def posts(graph: GraphServer) -> list[dict]:
    return [r for r in graph.requests if r["method"] == "POST"]


def test_reads_entities_with_learning_stage_across_pages(graph: GraphServer) -> None:
    acc = account(graph)
    assert isinstance(acc, AdPlatform) and acc.account_id == ACCOUNT
    adsets = {e.entity_id: e for e in acc.list_entities("adset")}
    # Two pages: the SDK followed the cursor to the second one.
    assert set(adsets) == {ADSET, ADSET_LIMITED, ADSET_CBO}
    assert any(r["query"].get("after") for r in graph.requests if r["path"].endswith("/adsets"))
    assert adsets[ADSET].learning_stage == "learning"
    assert adsets[ADSET_LIMITED].learning_stage == "learning_limited"  # Meta's FAIL
    assert adsets[ADSET_CBO].learning_stage == "success"
    assert adsets[ADSET].daily_budget == Decimal("50.00")  # "5000" cents on the wire
    assert adsets[ADSET_LIMITED].bid_amount == Decimal("15.00")
    assert adsets[ADSET_CBO].daily_budget is None  # budget on the campaign
    assert adsets[ADSET].parent_id == "120210000000000001"
    assert adsets[ADSET].raw["learning_stage_info"]["conversions"] == 12
    # The fields asked for include learning_stage_info; the token travelled as a query parameter.
    first = next(r for r in graph.requests if r["path"].endswith("/adsets"))
    assert (
        "learning_stage_info" in first["query"]["fields"]
        and first["query"]["access_token"] == TOKEN
    )
    ads = acc.list_entities("ad")
    assert [a.status for a in ads] == ["active", "paused"] and ads[0].parent_id == ADSET


def test_get_entity_finds_the_level_then_reads_the_node(graph: GraphServer) -> None:
    acc = account(graph)
    e = acc.get_entity(CAMPAIGN_CBO)
    assert e.level == "campaign" and e.daily_budget == Decimal("200.00")
    with pytest.raises(PlatformError) as err:
        acc.get_entity("999")
    assert err.value.code == "not_found"


def test_set_budget_sends_cents_and_logs_without_the_token(graph: GraphServer, db) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = account(graph, api_logger=db_api_logger(conn, tenant.tenant_id))
        result = acc.set_daily_budget(ADSET, Decimal("62.35"))
        logged = conn.execute(
            "select endpoint, method, request_payload, response_payload, status_code, success "
            "from core.api_calls_log order by id"
        ).fetchall()
    (post,) = posts(graph)
    assert post["path"].rstrip("/") == f"/v26.0/{ADSET}"  # the SDK posts to the node
    assert post["form"]["daily_budget"] == "6235"  # cents, not 62.35
    assert "execution_options" not in post["form"]
    assert result.before.daily_budget == Decimal("50.00")
    assert result.after.daily_budget == Decimal("62.35")  # re-read from the server
    assert result.response == {"success": True} and not result.validated_only
    assert graph.nodes[ADSET]["daily_budget"] == "6235"
    # Every call was logged; the token appears nowhere in the stored rows.
    assert len(logged) == len(graph.requests) >= 3
    assert any(
        r["method"] == "POST" and r["request_payload"]["daily_budget"] == "6235" for r in logged
    )
    assert all(r["success"] and r["status_code"] == 200 for r in logged)
    assert TOKEN not in json.dumps(logged, default=str)


def test_pause_and_validate_only(graph: GraphServer) -> None:
    acc = account(graph)
    checked = acc.set_daily_budget(ADSET, Decimal("80"), validate_only=True)
    post = posts(graph)[-1]
    assert json.loads(post["form"]["execution_options"]) == ["validate_only"]
    assert post["form"]["daily_budget"] == "8000"
    assert checked.validated_only and checked.after.daily_budget == Decimal("80")
    assert graph.nodes[ADSET]["daily_budget"] == "5000"  # nothing applied
    paused = acc.set_status(AD, "paused")
    assert posts(graph)[-1]["path"].rstrip("/").endswith(AD) and paused.after.status == "paused"
    result = acc.set_status(ADSET, "paused")
    assert posts(graph)[-1]["form"] == {"status": "PAUSED"}
    assert result.before.status == "active" and result.after.status == "paused"
    bid = acc.set_bid_amount(ADSET_LIMITED, Decimal("12.5"))
    assert posts(graph)[-1]["form"]["bid_amount"] == "1250" and bid.after.bid_amount == Decimal(
        "12.50"
    )


def test_zero_decimal_currency_uses_offset_one(graph: GraphServer) -> None:
    acc = MetaAdAccount(ACCOUNT, TOKEN, base_url=graph.url, currency="JPY")
    acc.set_daily_budget(ADSET, Decimal("6000"))
    assert posts(graph)[-1]["form"]["daily_budget"] == "6000"


def test_currency_is_read_from_the_account_when_not_given(graph: GraphServer) -> None:
    acc = MetaAdAccount(ACCOUNT, TOKEN, base_url=graph.url)
    assert acc.get_entity(ADSET).daily_budget == Decimal("50.00")
    assert acc.currency == "EUR"
    assert any(
        r["path"].rstrip("/") == f"/v26.0/{ACCOUNT}" and r["query"]["fields"] == "currency"
        for r in graph.requests
    )


@pytest.mark.parametrize(
    ("fixture_name", "http", "code", "retryable"),
    [
        ("graph_error_rate_limit", 400, "17", True),
        ("graph_error_call_limit", 400, "613", True),
        ("graph_error_transient", 500, "2", True),
        ("graph_error_budget_too_low", 400, "100", False),
    ],
)
def test_errors_map_to_platform_error(
    graph: GraphServer, db, fixture_name: str, http: int, code: str, retryable: bool
) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = account(graph, api_logger=db_api_logger(conn, tenant.tenant_id))
        acc.get_entity(ADSET)  # level known, node read
        graph.fail_next("POST", f"/{ADSET}", http, fixture_name)
        with pytest.raises(PlatformError) as err:
            acc.set_daily_budget(ADSET, Decimal("0.50"))
        failed = conn.execute(
            "select status_code, success, error_message, response_payload "
            "from core.api_calls_log where not success"
        ).fetchall()
    assert err.value.code == code and err.value.retryable is retryable
    assert err.value.response["error"]["fbtrace_id"] in str(err.value)
    assert graph.nodes[ADSET]["daily_budget"] == "5000"
    assert len(failed) == 1 and failed[0]["status_code"] == http
    assert failed[0]["response_payload"]["error"]["code"] == int(code)


def test_daily_metrics_reads_insights(graph: GraphServer) -> None:
    acc = account(graph)
    rows = acc.daily_metrics(date(2024, 6, 1), date(2024, 6, 2), level="adset")
    req = next(r for r in graph.requests if r["path"].endswith("/insights"))
    assert req["query"]["level"] == "adset" and req["query"]["time_increment"] == "1"
    assert json.loads(req["query"]["time_range"]) == {"since": "2024-06-01", "until": "2024-06-02"}
    assert [(r.day, r.spend, r.conversions, r.conversion_value) for r in rows] == [
        (date(2024, 6, 1), Decimal("48.73"), 3, Decimal("161.4")),
        (date(2024, 6, 2), Decimal("51.02"), 0, Decimal(0)),
    ]
    assert (
        rows[0].entity_id == ADSET
        and rows[0].campaign_id == "120210000000000001"
        and rows[0].reach == 4480
    )


def test_unsupported_changes_are_refused_before_any_write(graph: GraphServer) -> None:
    acc = account(graph)
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget(ADSET_CBO, Decimal("10"))  # budget lives on its campaign
    assert err.value.code == "unsupported"
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget(AD, Decimal("10"))
    assert err.value.code == "unsupported"
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget(ADSET, Decimal("-1"))
    assert err.value.code == "invalid_parameter"
    assert posts(graph) == []
