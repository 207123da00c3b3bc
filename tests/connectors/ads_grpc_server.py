"""A local gRPC server speaking the Google Ads API v26 services the connector uses.

The real SDK (``GoogleAdsClient`` with ready credentials, its interceptors, its proto
serialisation) talks to it through an insecure loopback channel: the test replaces
``google.api_core.grpc_helpers.create_channel`` (which every service transport calls) with a
factory returning that channel. Requests arrive as real request protos (recorded for
assertions with their metadata), answers are real response protos built from the state in
``tests/fixtures/google_ads/account.json``; errors carry a serialized ``GoogleAdsFailure`` in
the trailing metadata, as Google does.
"""

from __future__ import annotations

import copy
import json
import re
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.ads.googleads.v26.enums.types.ad_group_ad_status import AdGroupAdStatusEnum
from google.ads.googleads.v26.enums.types.ad_group_status import AdGroupStatusEnum
from google.ads.googleads.v26.enums.types.bidding_strategy_system_status import (
    BiddingStrategySystemStatusEnum,
)
from google.ads.googleads.v26.enums.types.bidding_strategy_type import BiddingStrategyTypeEnum
from google.ads.googleads.v26.enums.types.campaign_status import CampaignStatusEnum
from google.ads.googleads.v26.errors.types.errors import ErrorCode, GoogleAdsError, GoogleAdsFailure
from google.ads.googleads.v26.services.types import (
    ad_group_ad_service,
    ad_group_service,
    campaign_budget_service,
    campaign_service,
    google_ads_service,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "google_ads"
PKG = "google.ads.googleads.v26.services"
FAILURE_KEY = "google.ads.googleads.v26.errors.googleadsfailure-bin"


def fixture(name: str) -> Any:
    """Load ``tests/fixtures/google_ads/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


class AdsServer:
    """The server, its state (``campaigns``, ``budgets``, ``ad_groups``, ``ads``) and its log."""

    def __init__(self) -> None:
        state = fixture("account")
        self.customer_id: str = state["customer_id"]
        self.campaigns = {c["id"]: copy.deepcopy(c) for c in state["campaigns"]}
        self.budgets = {b["id"]: copy.deepcopy(b) for b in state["budgets"]}
        self.ad_groups = {g["id"]: copy.deepcopy(g) for g in state["ad_groups"]}
        self.ads = {a["id"]: copy.deepcopy(a) for a in state["ads"]}
        self.metrics = state["metrics"]
        self.calls: list[tuple[str, Any, dict[str, str]]] = []
        self._failures: list[tuple[str, grpc.StatusCode, str, str]] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {
            ("GoogleAdsService", "Search"): (
                google_ads_service.SearchGoogleAdsRequest,
                google_ads_service.SearchGoogleAdsResponse,
                self.search,
            ),
            ("CampaignBudgetService", "MutateCampaignBudgets"): (
                campaign_budget_service.MutateCampaignBudgetsRequest,
                campaign_budget_service.MutateCampaignBudgetsResponse,
                self.mutate_budgets,
            ),
            ("CampaignService", "MutateCampaigns"): (
                campaign_service.MutateCampaignsRequest,
                campaign_service.MutateCampaignsResponse,
                self.mutate_campaigns,
            ),
            ("AdGroupService", "MutateAdGroups"): (
                ad_group_service.MutateAdGroupsRequest,
                ad_group_service.MutateAdGroupsResponse,
                self.mutate_ad_groups,
            ),
            ("AdGroupAdService", "MutateAdGroupAds"): (
                ad_group_ad_service.MutateAdGroupAdsRequest,
                ad_group_ad_service.MutateAdGroupAdsResponse,
                self.mutate_ads,
            ),
        }
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for (svc, method), (req, resp, fn) in handlers.items():
            by_service.setdefault(svc, {})[method] = grpc.unary_unary_rpc_method_handler(
                self._wrap(svc, method, fn),
                request_deserializer=req.deserialize,
                response_serializer=resp.serialize,
            )
        self.server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(f"{PKG}.{svc}", m)
                for svc, m in by_service.items()
            ]
        )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"

    def __enter__(self) -> AdsServer:
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop(0)

    def fail_next(
        self, method: str, status: grpc.StatusCode, category: str, enum_name: str
    ) -> None:
        """Fail the next call of ``method`` with ``status`` and a GoogleAdsFailure ``category.enum``."""
        self._failures.append((method, status, category, enum_name))

    def calls_to(self, method: str) -> list[Any]:
        """The request protos received for ``method``."""
        return [req for m, req, _ in self.calls if m == method]

    def _wrap(self, svc: str, method: str, fn: Any) -> Any:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            self.calls.append((method, request, dict(context.invocation_metadata())))
            for i, (m, status, category, enum_name) in enumerate(self._failures):
                if m == method:
                    del self._failures[i]
                    code = ErrorCode()
                    enum_type = type(getattr(code, category))
                    setattr(code, category, getattr(enum_type, enum_name))
                    failure = GoogleAdsFailure(
                        errors=[GoogleAdsError(error_code=code, message=f"{category} {enum_name}")]
                    )
                    context.set_trailing_metadata(
                        (
                            (FAILURE_KEY, GoogleAdsFailure.serialize(failure)),
                            ("request-id", "req-abc123"),
                        )
                    )
                    context.abort(status, f"{category}.{enum_name}")
            return fn(request)

        return handler

    # -- GoogleAdsService.Search (the GAQL the connector sends) -----------------------------------
    def search(self, request: Any) -> Any:
        q = request.query
        resource = re.search(r"\bFROM\s+(\w+)", q).group(1)
        only = re.search(r"\.id\s*=\s*(\d+)", q)
        rows = []
        if "segments.date" in q:
            for m in self.metrics:
                if m["level"] != resource:
                    continue
                row = google_ads_service.GoogleAdsRow()
                row.campaign.id = int(m["campaign_id"])
                row.campaign.name = self.campaigns[m["campaign_id"]]["name"]
                row.segments.date = m["date"]
                row.metrics.cost_micros = m["cost_micros"]
                row.metrics.impressions = m["impressions"]
                row.metrics.clicks = m["clicks"]
                row.metrics.conversions = m["conversions"]
                row.metrics.conversions_value = m["conversions_value"]
                rows.append(row)
            return google_ads_service.SearchGoogleAdsResponse(results=rows)
        c = self.customer_id
        if resource == "campaign":
            for cam in self.campaigns.values():
                if only and cam["id"] != only.group(1):
                    continue
                b = self.budgets[cam["budget_id"]]
                row = google_ads_service.GoogleAdsRow()
                row.campaign.resource_name = f"customers/{c}/campaigns/{cam['id']}"
                row.campaign.id = int(cam["id"])
                row.campaign.name = cam["name"]
                row.campaign.status = CampaignStatusEnum.CampaignStatus[cam["status"]]
                row.campaign.bidding_strategy_type = BiddingStrategyTypeEnum.BiddingStrategyType[
                    cam["bidding"]
                ]
                row.campaign.bidding_strategy_system_status = (
                    BiddingStrategySystemStatusEnum.BiddingStrategySystemStatus[
                        cam["system_status"]
                    ]
                )
                row.campaign_budget.resource_name = f"customers/{c}/campaignBudgets/{b['id']}"
                row.campaign_budget.amount_micros = b["amount_micros"]
                row.campaign_budget.explicitly_shared = b["shared"]
                rows.append(row)
        elif resource == "ad_group":
            for g in self.ad_groups.values():
                if only and g["id"] != only.group(1):
                    continue
                row = google_ads_service.GoogleAdsRow()
                row.ad_group.resource_name = f"customers/{c}/adGroups/{g['id']}"
                row.ad_group.id = int(g["id"])
                row.ad_group.name = g["name"]
                row.ad_group.status = AdGroupStatusEnum.AdGroupStatus[g["status"]]
                row.ad_group.cpc_bid_micros = g["cpc_bid_micros"]
                row.campaign.id = int(g["campaign_id"])
                rows.append(row)
        elif resource == "ad_group_ad":
            for a in self.ads.values():
                if only and a["id"] != only.group(1):
                    continue
                row = google_ads_service.GoogleAdsRow()
                row.ad_group_ad.resource_name = (
                    f"customers/{c}/adGroupAds/{a['ad_group_id']}~{a['id']}"
                )
                row.ad_group_ad.ad.id = int(a["id"])
                row.ad_group_ad.ad.name = a["name"]
                row.ad_group_ad.status = AdGroupAdStatusEnum.AdGroupAdStatus[a["status"]]
                row.ad_group.id = int(a["ad_group_id"])
                row.campaign.id = int(self.ad_groups[a["ad_group_id"]]["campaign_id"])
                rows.append(row)
        return google_ads_service.SearchGoogleAdsResponse(results=rows)

    # -- mutates -------------------------------------------------------------------------------------
    def _mutate(
        self,
        request: Any,
        table: dict[str, dict[str, Any]],
        fields: dict[str, str],
        response_type: Any,
        result_type: Any,
    ) -> Any:
        results = []
        for op in request.operations:
            obj = op.update
            key = obj.resource_name.rsplit("/", 1)[1].split("~")[-1]
            if not request.validate_only:
                for path in op.update_mask.paths:
                    if path in fields:
                        value = getattr(obj, path)
                        table[key][fields[path]] = getattr(value, "name", value)
            results.append(result_type(resource_name=obj.resource_name))
        # validate_only: "the request is validated but not executed"; only errors come back.
        return response_type(results=[] if request.validate_only else results)

    def mutate_budgets(self, request: Any) -> Any:
        return self._mutate(
            request,
            self.budgets,
            {"amount_micros": "amount_micros"},
            campaign_budget_service.MutateCampaignBudgetsResponse,
            campaign_budget_service.MutateCampaignBudgetResult,
        )

    def mutate_campaigns(self, request: Any) -> Any:
        return self._mutate(
            request,
            self.campaigns,
            {"status": "status"},
            campaign_service.MutateCampaignsResponse,
            campaign_service.MutateCampaignResult,
        )

    def mutate_ad_groups(self, request: Any) -> Any:
        return self._mutate(
            request,
            self.ad_groups,
            {"status": "status", "cpc_bid_micros": "cpc_bid_micros"},
            ad_group_service.MutateAdGroupsResponse,
            ad_group_service.MutateAdGroupResult,
        )

    def mutate_ads(self, request: Any) -> Any:
        return self._mutate(
            request,
            self.ads,
            {"status": "status"},
            ad_group_ad_service.MutateAdGroupAdsResponse,
            ad_group_ad_service.MutateAdGroupAdResult,
        )
