"""The Google Ads connector through the real google-ads SDK, at its gRPC service boundary.

A ``GoogleAdsClient`` with ready credentials (no token refresh, no network) sends real request
protos through its own interceptors to a loopback gRPC server (tests/connectors/ads_grpc_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import grpc
import pytest
from google.ads.googleads.client import GoogleAdsClient
from google.api_core import grpc_helpers
from google.oauth2.credentials import Credentials

from growthops.connectors.base import AdPlatform, PlatformError
from growthops.connectors.google_ads import GoogleAdsAccount, learning_stage
from growthops.connectors.registry import db_api_logger
from tests.conftest import new_tenant
from tests.connectors.ads_grpc_server import AdsServer

DEV_TOKEN = "devTOKEN-do-not-log-42"


@pytest.fixture()
def ads(monkeypatch: pytest.MonkeyPatch) -> Iterator[AdsServer]:
    with AdsServer() as server:
        # Every service transport creates its channel with grpc_helpers.create_channel.
        monkeypatch.setattr(
            grpc_helpers, "create_channel", lambda *a, **kw: grpc.insecure_channel(server.target)
        )
        yield server


def client() -> GoogleAdsClient:
    return GoogleAdsClient(
        credentials=Credentials(token="test"),
        developer_token=DEV_TOKEN,
        login_customer_id="9998887776",
        use_proto_plus=True,
    )


def account(**kw) -> GoogleAdsAccount:
    return GoogleAdsAccount("123-456-7890", client(), currency="EUR", **kw)


def test_learning_stage_mapping() -> None:
    assert [
        learning_stage(s)
        for s in (
            "LEARNING_NEW",
            "LEARNING_SETTING_CHANGE",
            "LEARNING_BUDGET_CHANGE",
            "MULTIPLE_LEARNING",
            "ENABLED",
            "LIMITED_BY_DATA",
            "MULTIPLE_LIMITED",
            "MISCONFIGURED_SHARED_BUDGET",
            "PAUSED",
        )
    ] == [
        "learning",
        "learning",
        "learning",
        "learning",
        "success",
        "learning_limited",
        "learning_limited",
        "unknown",
        "unknown",
    ]


def test_reads_campaigns_with_budgets_and_learning_state(ads: AdsServer) -> None:
    acc = account()
    assert isinstance(acc, AdPlatform) and acc.customer_id == "1234567890"
    camps = {e.entity_id: e for e in acc.list_entities("campaign")}
    assert {k: (v.daily_budget, v.learning_stage, v.status) for k, v in camps.items()} == {
        "20001": (Decimal("50.00"), "learning", "active"),
        "20002": (Decimal("120.00"), "learning_limited", "active"),
        "20003": (Decimal("35.50"), "success", "paused"),
        "20004": (Decimal("80.00"), "unknown", "active"),
    }
    (search,) = ads.calls_to("Search")
    query, metadata = search.query, ads.calls[0][2]
    assert search.customer_id == "1234567890"
    assert (
        "campaign.bidding_strategy_system_status" in query
        and "campaign_budget.amount_micros" in query
    )
    # The SDK's metadata interceptor sent the developer token and the manager account.
    assert (
        metadata["developer-token"] == DEV_TOKEN and metadata["login-customer-id"] == "9998887776"
    )
    everything = acc.list_entities()
    assert [e.level for e in everything].count("adset") == 1 and everything[-1].parent_id == "40001"


def test_set_budget_sends_micros_with_update_mask_and_logs(ads: AdsServer, db) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = account(api_logger=db_api_logger(conn, tenant.tenant_id))
        result = acc.set_daily_budget("20001", Decimal("62.35"))
        logged = conn.execute(
            "select endpoint, method, request_payload, success from core.api_calls_log order by id"
        ).fetchall()
    (req,) = ads.calls_to("MutateCampaignBudgets")
    assert req.customer_id == "1234567890" and not req.validate_only
    (op,) = req.operations
    assert op.update.resource_name == "customers/1234567890/campaignBudgets/30001"
    assert op.update.amount_micros == 62_350_000
    assert "amount_micros" in op.update_mask.paths
    assert ads.budgets["30001"]["amount_micros"] == 62_350_000
    assert result.before.daily_budget == Decimal("50.00") and result.after.daily_budget == Decimal(
        "62.35"
    )
    assert result.response["results"] == ["customers/1234567890/campaignBudgets/30001"]
    assert [r["endpoint"] for r in logged] == [
        "GoogleAdsService/Search",
        "CampaignBudgetService/MutateCampaignBudgets",
        "GoogleAdsService/Search",
    ]
    assert logged[1]["method"] == "GRPC" and logged[1]["request_payload"]["operations"][0][
        "update"
    ]["amount_micros"] in ("62350000", 62350000)
    assert DEV_TOKEN not in json.dumps(logged, default=str)


def test_validate_only_changes_nothing(ads: AdsServer) -> None:
    acc = account()
    result = acc.set_daily_budget("20002", Decimal("150"), validate_only=True)
    (req,) = ads.calls_to("MutateCampaignBudgets")
    assert req.validate_only and req.operations[0].update.amount_micros == 150_000_000
    assert ads.budgets["30002"]["amount_micros"] == 120_000_000
    assert result.validated_only and result.after.daily_budget == Decimal("150.00")
    assert result.response["results"] == []


def test_status_and_bid_changes(ads: AdsServer) -> None:
    acc = account()
    r = acc.set_status("20001", "paused")
    (req,) = ads.calls_to("MutateCampaigns")
    assert (
        req.operations[0].update.status.name == "PAUSED"
        and "status" in req.operations[0].update_mask.paths
    )
    assert r.after.status == "paused" and ads.campaigns["20001"]["status"] == "PAUSED"
    acc.set_status("50001", "paused")
    (ad_req,) = ads.calls_to("MutateAdGroupAds")
    assert (
        ad_req.operations[0].update.resource_name == "customers/1234567890/adGroupAds/40001~50001"
    )
    b = acc.set_bid_amount("40001", Decimal("1.35"))
    (bid_req,) = ads.calls_to("MutateAdGroups")
    assert bid_req.operations[
        0
    ].update.cpc_bid_micros == 1_350_000 and b.after.bid_amount == Decimal("1.35")
    with pytest.raises(PlatformError) as err:
        acc.set_status("20001", "archived")
    assert err.value.code == "unsupported"


def test_shared_budget_and_wrong_level_are_refused_without_a_mutate(ads: AdsServer) -> None:
    acc = account()
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget("20004", Decimal("90"))
    assert err.value.code == "shared_budget"
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget("40001", Decimal("90"))
    assert err.value.code == "unsupported"
    with pytest.raises(PlatformError) as err:
        acc.get_entity("77777")
    assert err.value.code == "not_found"
    assert ads.calls_to("MutateCampaignBudgets") == []


def test_quota_error_is_retryable(ads: AdsServer) -> None:
    acc = account()
    ads.fail_next(
        "MutateCampaignBudgets",
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_error",
        "RESOURCE_EXHAUSTED",
    )
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget("20001", Decimal("55"))
    assert err.value.retryable and err.value.code == "RESOURCE_EXHAUSTED"
    assert ads.budgets["30001"]["amount_micros"] == 50_000_000


def test_api_failure_maps_category_and_is_not_retryable(ads: AdsServer) -> None:
    acc = account()
    ads.fail_next(
        "MutateCampaignBudgets", grpc.StatusCode.INVALID_ARGUMENT, "range_error", "TOO_LOW"
    )
    with pytest.raises(PlatformError) as err:
        acc.set_daily_budget("20001", Decimal("0.01"))
    assert err.value.code == "range_error.TOO_LOW" and not err.value.retryable
    assert err.value.response["request_id"] == "req-abc123"
    ads.fail_next("Search", grpc.StatusCode.INTERNAL, "internal_error", "TRANSIENT_ERROR")
    with pytest.raises(PlatformError) as err:
        acc.list_entities("campaign")
    assert err.value.retryable


def test_daily_metrics_from_micros(ads: AdsServer) -> None:
    rows = account().daily_metrics(date(2024, 6, 1), date(2024, 6, 2), level="campaign")
    (search,) = ads.calls_to("Search")
    assert "segments.date BETWEEN '2024-06-01' AND '2024-06-02'" in search.query
    assert [(r.entity_id, r.day, r.spend, r.conversions, r.conversion_value) for r in rows] == [
        ("20001", date(2024, 6, 1), Decimal("48.73"), 7, Decimal("402.35")),
        ("20001", date(2024, 6, 2), Decimal("51.02"), 5, Decimal("310.00")),
    ]
