"""Google Ads customer account through the official ``google-ads`` SDK (gRPC).

:class:`GoogleAdsAccount` implements :class:`~growthops.connectors.base.AdPlatform`:

* budgets live on campaign budgets (``CampaignBudgetService.MutateCampaignBudgets``, field
  ``amount_micros``: one currency unit = 1,000,000 micros), so ``set_daily_budget`` takes a
  campaign id and changes its budget, refusing a budget shared with other campaigns
  (``campaign_budget.explicitly_shared``) since the change would move them all;
* status: campaigns (``CampaignService``), ad groups (``AdGroupService``) and ads
  (``AdGroupAdService``), ENABLED / PAUSED;
* bids: an ad group's ``cpc_bid_micros`` (manual CPC);
* learning state: ``campaign.bidding_strategy_system_status`` (Google Ads API reference,
  ``BiddingStrategySystemStatusEnum``): ``LEARNING_*`` and ``MULTIPLE_LEARNING`` →
  'learning'; ``LIMITED_*`` and ``MULTIPLE_LIMITED`` → 'learning_limited'; ``ENABLED`` →
  'success'; anything else (misconfigured, paused, unavailable) → 'unknown';
* every mutate honours ``validate_only`` (the request field: validated, not executed);
* reads use ``GoogleAdsService.Search`` with GAQL; conversions are reported as doubles
  (fractional with data-driven attribution) and rounded half-up to integers.

Level names follow growthops: ad groups are ``adset``. Errors: ``GoogleAdsException`` and
``grpc.RpcError`` map to :class:`PlatformError`, retryable for gRPC UNAVAILABLE,
DEADLINE_EXCEEDED, INTERNAL, RESOURCE_EXHAUSTED, ABORTED and for the API's
``QuotaError.RESOURCE_EXHAUSTED`` / ``RESOURCE_TEMPORARILY_EXHAUSTED``,
``InternalError.*`` and ``DatabaseError.CONCURRENT_MODIFICATION`` (Google Ads API guide,
"Error handling" / "Common errors": retry these with exponential backoff).

Building a client from a refresh token contacts Google when the first service is used: tests
pass ready ``google.oauth2.credentials.Credentials`` (STACK-NOTES).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import grpc
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions
from google.api_core import protobuf_helpers

from growthops.connectors.base import (
    ChangeResult,
    DailyMetrics,
    EntityState,
    LearningStage,
    Level,
    PlatformError,
    Status,
    parse_amount,
)
from growthops.core.errors import ConfigError, InvalidInput
from growthops.core.logs.service import redact

MICROS = Decimal(1_000_000)
RETRYABLE_STATUS = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)
RETRYABLE_ERRORS = frozenset(
    {
        "quota_error.RESOURCE_EXHAUSTED",
        "quota_error.RESOURCE_TEMPORARILY_EXHAUSTED",
        "internal_error.INTERNAL_ERROR",
        "internal_error.TRANSIENT_ERROR",
        "internal_error.DEADLINE_EXCEEDED",
        "database_error.CONCURRENT_MODIFICATION",
    }
)
STATUS_IN: dict[str, Status] = {"ENABLED": "active", "PAUSED": "paused", "REMOVED": "deleted"}
LEVELS: tuple[Level, ...] = ("campaign", "adset", "ad")
STATUS_OUT = {"active": "ENABLED", "paused": "PAUSED"}
#: Growthops level -> (GAQL resource, id field, name field, status field).
RESOURCES: dict[str, tuple[str, str, str, str]] = {
    "campaign": ("campaign", "campaign.id", "campaign.name", "campaign.status"),
    "adset": ("ad_group", "ad_group.id", "ad_group.name", "ad_group.status"),
    "ad": ("ad_group_ad", "ad_group_ad.ad.id", "ad_group_ad.ad.name", "ad_group_ad.status"),
}
ENTITY_FIELDS = {
    "campaign": [
        "campaign.bidding_strategy_type",
        "campaign.bidding_strategy_system_status",
        "campaign_budget.resource_name",
        "campaign_budget.amount_micros",
        "campaign_budget.explicitly_shared",
    ],
    "adset": ["ad_group.cpc_bid_micros", "campaign.id"],
    "ad": ["ad_group.id", "campaign.id"],
}

ApiLogger = Callable[..., Any]


def learning_stage(system_status: str) -> LearningStage:
    """Map a ``BiddingStrategySystemStatus`` name to a growthops learning stage (see module doc)."""
    s = system_status.upper()
    if s.startswith("LEARNING_") or s == "MULTIPLE_LEARNING":
        return "learning"
    if s.startswith("LIMITED_") or s == "MULTIPLE_LIMITED":
        return "learning_limited"
    if s == "ENABLED":
        return "success"
    return "unknown"


def _error_codes(exc: GoogleAdsException) -> list[str]:
    """Return ``"<category>.<ENUM>"`` for each error of a GoogleAdsFailure."""
    out = []
    for err in exc.failure.errors:
        pb = (
            type(err.error_code).pb(err.error_code)
            if hasattr(type(err.error_code), "pb")
            else err.error_code
        )
        which = pb.WhichOneof("error_code")
        if which:
            val = getattr(err.error_code, which)
            out.append(f"{which}.{getattr(val, 'name', val)}")
    return out


def platform_error(exc: Exception) -> PlatformError:
    """Map a ``GoogleAdsException``, ``grpc.RpcError`` or api-core error to a :class:`PlatformError`.

    ``code`` is the first ``category.ENUM`` of the failure (e.g. ``quota_error.RESOURCE_EXHAUSTED``)
    or the gRPC status name; ``retryable`` per :data:`RETRYABLE_STATUS` / :data:`RETRYABLE_ERRORS`.
    """
    if isinstance(exc, GoogleAdsException):
        status = exc.error.code() if hasattr(exc.error, "code") else None
        codes = _error_codes(exc)
        messages = [e.message for e in exc.failure.errors]
        retryable = status in RETRYABLE_STATUS or any(c in RETRYABLE_ERRORS for c in codes)
        msg = (
            f"Google Ads API error ({status.name if status else 'UNKNOWN'}, request {exc.request_id}): "
            + "; ".join(f"{c}: {m}" for c, m in zip(codes, messages, strict=False))
        )
        return PlatformError(
            msg,
            retryable=retryable,
            code=codes[0] if codes else None,
            response=redact(
                {
                    "request_id": exc.request_id,
                    "errors": [
                        {"code": c, "message": m} for c, m in zip(codes, messages, strict=False)
                    ],
                }
            ),
        )
    if isinstance(exc, core_exceptions.GoogleAPICallError):  # gapic's wrapping of a bare RpcError
        status, details = exc.grpc_status_code, exc.message
    else:
        status = exc.code() if isinstance(exc, grpc.Call) else None
        details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    name = status.name if status is not None else type(exc).__name__
    return PlatformError(
        f"Google Ads API unreachable or failed ({name}): {details}",
        retryable=status in RETRYABLE_STATUS,
        code=name,
        response={"status": name},
    )


def _to_dict(msg: Any) -> Any:
    """A proto-plus message as a JSON-ready dict (for the call log)."""
    try:
        return type(msg).to_dict(msg)
    except Exception:  # a raw protobuf message or a non-message
        return str(msg)[:2000]


class GoogleAdsAccount:
    """One Google Ads customer as an :class:`AdPlatform` (levels: campaign, ad group, ad).

    ``customer_id`` with or without dashes. Pass a ready ``GoogleAdsClient`` (with
    ``use_proto_plus=True``), or ``credentials`` (``google.oauth2.credentials.Credentials``) and
    ``developer_token`` (+ ``login_customer_id`` for a manager account). ``currency`` is
    informative (Google amounts are micros of the account currency). ``api_logger`` receives
    each RPC as the keyword arguments of :func:`growthops.core.logs.service.log_api_call`.
    Every method raises :class:`PlatformError` on an API error.
    """

    platform = "google"

    def __init__(
        self,
        customer_id: str,
        client: GoogleAdsClient | None = None,
        *,
        credentials: Any = None,
        developer_token: str | None = None,
        login_customer_id: str | None = None,
        version: str | None = None,
        currency: str | None = None,
        api_logger: ApiLogger | None = None,
    ) -> None:
        cid = str(customer_id).replace("-", "").strip()
        if not cid.isdigit():
            raise InvalidInput(
                f"customer_id: {customer_id!r} is not a Google Ads customer id (10 digits)"
            )
        self.customer_id = self.account_id = cid
        if client is None:
            if credentials is None or not developer_token:
                raise ConfigError(
                    "google_ads: pass a GoogleAdsClient, or credentials and developer_token"
                )
            client = GoogleAdsClient(
                credentials=credentials,
                developer_token=developer_token,
                login_customer_id=login_customer_id,
                version=version,
                use_proto_plus=True,
            )
        self.client = client
        self.currency = currency
        self.api_logger = api_logger
        self._services: dict[str, Any] = {}
        self._levels: dict[str, Level] = {}

    def __repr__(self) -> str:
        return f"GoogleAdsAccount({self.customer_id})"

    # -- plumbing --------------------------------------------------------------------------------
    def _service(self, name: str) -> Any:
        if name not in self._services:
            self._services[name] = self.client.get_service(name)
        return self._services[name]

    def _rpc(
        self,
        service: str,
        method: str,
        request: Any,
        run: Callable[[], Any],
        summarise: Callable[[Any], Any] = _to_dict,
    ) -> Any:
        """Run one RPC (``run``), report it to ``api_logger``, map its errors."""
        t0 = time.perf_counter()
        endpoint = f"{service}/{method}"
        try:
            result = run()
        except (GoogleAdsException, grpc.RpcError, core_exceptions.GoogleAPICallError) as exc:
            err = platform_error(exc)
            self._log(endpoint, request, err.response, t0, False, str(err))
            raise err from exc
        self._log(endpoint, request, summarise(result), t0, True, None)
        return result

    def _log(
        self,
        endpoint: str,
        request: Any,
        response: Any,
        t0: float,
        success: bool,
        error: str | None,
    ) -> None:
        if self.api_logger is None:
            return
        self.api_logger(
            api_name="google_ads",
            endpoint=endpoint,
            method="GRPC",
            request_payload=_to_dict(request),
            response_payload=response,
            status_code=None,
            duration_ms=(time.perf_counter() - t0) * 1000,
            success=success,
            error_message=error,
        )

    def _search(self, query: str) -> list[Any]:
        svc = self._service("GoogleAdsService")
        request = self.client.get_type("SearchGoogleAdsRequest")
        request.customer_id = self.customer_id
        request.query = query
        return self._rpc(
            "GoogleAdsService",
            "Search",
            request,
            lambda: list(svc.search(request=request)),
            lambda rows: {"rows": len(rows), "first": [_to_dict(r) for r in rows[:20]]},
        )

    def _state(self, level: Level, row: Any) -> EntityState:
        if level == "campaign":
            ent, status = row.campaign, row.campaign.status.name
            budget = (
                (Decimal(row.campaign_budget.amount_micros) / MICROS).quantize(Decimal("0.01"))
                if row.campaign_budget.resource_name
                else None
            )
            sys_status = row.campaign.bidding_strategy_system_status.name
            raw = {
                "resource_name": ent.resource_name,
                "bidding_strategy_type": ent.bidding_strategy_type.name,
                "bidding_strategy_system_status": sys_status,
                "campaign_budget": {
                    "resource_name": row.campaign_budget.resource_name,
                    "amount_micros": int(row.campaign_budget.amount_micros),
                    "explicitly_shared": bool(row.campaign_budget.explicitly_shared),
                },
            }
            state = EntityState(
                str(ent.id),
                "campaign",
                ent.name,
                STATUS_IN.get(status, "paused"),
                daily_budget=budget,
                learning_stage=learning_stage(sys_status),
                raw=raw,
            )
        elif level == "adset":
            ent = row.ad_group
            bid = (
                (Decimal(ent.cpc_bid_micros) / MICROS).quantize(Decimal("0.01"))
                if ent.cpc_bid_micros
                else None
            )
            state = EntityState(
                str(ent.id),
                "adset",
                ent.name,
                STATUS_IN.get(ent.status.name, "paused"),
                bid_amount=bid,
                parent_id=str(row.campaign.id),
                raw={"resource_name": ent.resource_name, "cpc_bid_micros": int(ent.cpc_bid_micros)},
            )
        else:
            ent = row.ad_group_ad
            state = EntityState(
                str(ent.ad.id),
                "ad",
                ent.ad.name,
                STATUS_IN.get(ent.status.name, "paused"),
                parent_id=str(row.ad_group.id),
                raw={"resource_name": ent.resource_name, "ad_group_id": str(row.ad_group.id)},
            )
        self._levels[state.entity_id] = level
        return state

    def _query(self, level: Level, where: str = "") -> str:
        resource, id_f, name_f, status_f = RESOURCES[level]
        fields = ", ".join(
            [id_f, name_f, status_f, f"{resource}.resource_name", *ENTITY_FIELDS[level]]
        )
        return f"SELECT {fields} FROM {resource} WHERE {status_f} != 'REMOVED'{where}"

    # -- reads -----------------------------------------------------------------------------------
    def list_entities(self, level: Level | None = None) -> list[EntityState]:
        """Return campaigns, ad groups and ads (or one level), removed ones excluded."""
        out: list[EntityState] = []
        for lv in (level,) if level else LEVELS:
            out += [self._state(lv, r) for r in self._search(self._query(lv))]
        return out

    def get_entity(self, entity_id: str) -> EntityState:
        """Return one campaign, ad group or ad by id; 'not_found' if the customer has none."""
        eid = str(entity_id)
        if not eid.isdigit():
            raise PlatformError(f"{eid!r} is not a Google Ads id", code="not_found")
        levels = (self._levels[eid],) if eid in self._levels else LEVELS
        for lv in levels:
            rows = self._search(self._query(lv, f" AND {RESOURCES[lv][1]} = {eid}"))
            if rows:
                return self._state(lv, rows[0])
        raise PlatformError(
            f"customer {self.customer_id}: no campaign, ad group or ad {eid}", code="not_found"
        )

    def daily_metrics(self, start: date, end: date, level: Level = "ad") -> list[DailyMetrics]:
        """Return cost, impressions, clicks, conversions and value per entity and ``segments.date``."""
        return [
            self.parse_metrics_row(r, level)
            for r in self._search(self.metrics_query(start, end, level))
        ]

    def metrics_query(self, start: date, end: date, level: Level) -> str:
        """Return the GAQL of one level's daily metrics for ``start``..``end`` (inclusive)."""
        resource, id_f, name_f, _ = RESOURCES[level]
        parents = {"campaign": [], "adset": ["campaign.id"], "ad": ["campaign.id", "ad_group.id"]}[
            level
        ]
        return (
            f"SELECT {', '.join([id_f, name_f, *parents])}, segments.date, metrics.cost_micros, "
            "metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value "
            f"FROM {resource} WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
        )

    def parse_metrics_row(self, r: Any, level: Level) -> DailyMetrics:
        """Turn one ``GoogleAdsRow`` of :meth:`metrics_query` into :class:`DailyMetrics`.

        Cost micros → major units (6 decimals kept); conversions (doubles under data-driven
        attribution) rounded half up to integers; value to cents.
        """
        if level == "campaign":
            eid, name = r.campaign.id, r.campaign.name
        elif level == "adset":
            eid, name = r.ad_group.id, r.ad_group.name
        else:
            eid, name = r.ad_group_ad.ad.id, r.ad_group_ad.ad.name
        m = r.metrics
        return DailyMetrics(
            entity_id=str(eid),
            level=level,
            day=date.fromisoformat(r.segments.date),
            spend=(Decimal(m.cost_micros) / MICROS).quantize(Decimal("0.000001")),
            impressions=int(m.impressions),
            clicks=int(m.clicks),
            conversions=int(Decimal(str(m.conversions)).to_integral_value(ROUND_HALF_UP)),
            conversion_value=Decimal(str(m.conversions_value)).quantize(Decimal("0.01")),
            name=name,
            campaign_id=str(r.campaign.id) if level != "campaign" else None,
            adset_id=str(r.ad_group.id) if level == "ad" else None,
        )

    # -- writes ----------------------------------------------------------------------------------
    def _mutate(
        self, service: str, method: str, request_type: str, operation: Any, validate_only: bool
    ) -> dict[str, Any]:
        svc = self._service(service)
        request = self.client.get_type(request_type)
        request.customer_id = self.customer_id
        request.operations.append(operation)
        request.validate_only = validate_only
        response = self._rpc(
            service, method, request, lambda: getattr(svc, _snake(method))(request=request)
        )
        return redact(
            {"results": [r.resource_name for r in response.results], "validate_only": validate_only}
        )

    def _update_op(self, type_name: str, resource_name: str, **values: Any) -> Any:
        op = self.client.get_type(type_name)
        for k, v in values.items():
            setattr(op.update, k, v)
        op.update.resource_name = resource_name
        self.client.copy_from(
            op.update_mask, protobuf_helpers.field_mask(None, type(op.update).pb(op.update))
        )
        return op

    def set_daily_budget(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set a campaign's budget ``amount_micros`` (major units in, micros on the wire).

        :class:`PlatformError` 'unsupported' off campaigns, 'shared_budget' when the budget is
        shared, 'invalid_parameter' for a non-positive amount, and the API's errors.
        """
        amount = parse_amount(amount, "daily_budget")
        before = self.get_entity(entity_id)
        if before.level != "campaign":
            raise PlatformError(
                f"{entity_id}: Google Ads budgets are set on campaigns", code="unsupported"
            )
        budget = before.raw.get("campaign_budget") or {}
        if not budget.get("resource_name"):
            raise PlatformError(f"campaign {entity_id} has no campaign budget", code="unsupported")
        if budget.get("explicitly_shared"):
            raise PlatformError(
                f"campaign {entity_id} uses a shared budget; changing it would change every "
                "campaign sharing it",
                code="shared_budget",
            )
        micros = int((amount * MICROS).to_integral_value(ROUND_HALF_UP))
        op = self._update_op(
            "CampaignBudgetOperation", budget["resource_name"], amount_micros=micros
        )
        resp = self._mutate(
            "CampaignBudgetService",
            "MutateCampaignBudgets",
            "MutateCampaignBudgetsRequest",
            op,
            validate_only,
        )
        after = (
            replace(before, daily_budget=amount) if validate_only else self.get_entity(entity_id)
        )
        return ChangeResult(before, after, resp, validated_only=validate_only)

    def set_status(
        self, entity_id: str, status: Status, *, validate_only: bool = False
    ) -> ChangeResult:
        """Enable or pause a campaign, ad group or ad ('unsupported' for archived/deleted)."""
        if status not in STATUS_OUT:
            raise PlatformError(
                f"status: {status!r} cannot be set through growthops on Google Ads "
                "(active or paused)",
                code="unsupported",
            )
        before = self.get_entity(entity_id)
        enum = {
            "campaign": self.client.enums.CampaignStatusEnum,
            "adset": self.client.enums.AdGroupStatusEnum,
            "ad": self.client.enums.AdGroupAdStatusEnum,
        }[before.level]
        value = getattr(enum, STATUS_OUT[status])
        service, method, req, op_type = {
            "campaign": (
                "CampaignService",
                "MutateCampaigns",
                "MutateCampaignsRequest",
                "CampaignOperation",
            ),
            "adset": (
                "AdGroupService",
                "MutateAdGroups",
                "MutateAdGroupsRequest",
                "AdGroupOperation",
            ),
            "ad": (
                "AdGroupAdService",
                "MutateAdGroupAds",
                "MutateAdGroupAdsRequest",
                "AdGroupAdOperation",
            ),
        }[before.level]
        op = self._update_op(op_type, before.raw["resource_name"], status=value)
        resp = self._mutate(service, method, req, op, validate_only)
        after = replace(before, status=status) if validate_only else self.get_entity(entity_id)
        return ChangeResult(before, after, resp, validated_only=validate_only)

    def set_bid_amount(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set an ad group's manual CPC bid (``cpc_bid_micros``); 'unsupported' elsewhere."""
        amount = parse_amount(amount, "bid_amount")
        before = self.get_entity(entity_id)
        if before.level != "adset":
            raise PlatformError(f"{entity_id}: bids are set on ad groups here", code="unsupported")
        micros = int((amount * MICROS).to_integral_value(ROUND_HALF_UP))
        op = self._update_op("AdGroupOperation", before.raw["resource_name"], cpc_bid_micros=micros)
        resp = self._mutate(
            "AdGroupService", "MutateAdGroups", "MutateAdGroupsRequest", op, validate_only
        )
        after = replace(before, bid_amount=amount) if validate_only else self.get_entity(entity_id)
        return ChangeResult(before, after, resp, validated_only=validate_only)

    def copy_entity(self, entity_id: str, *, changes: dict[str, Any], name_suffix: str = " - copy",
                    validate_only: bool = False) -> ChangeResult:
        """Not offered: Google Ads has no copy operation in its API (Ads Manager's "copy" is a
        client-side feature; experiments go through ``ExperimentService``, not handled here).
        Raises :class:`PlatformError` 'unsupported'."""
        raise PlatformError("Google Ads: copying an ad group or ad is not supported here; "
                            "create the variant in Google Ads and start the test from its id",
                            code="unsupported")


def _snake(name: str) -> str:
    """``MutateCampaignBudgets`` -> ``mutate_campaign_budgets``."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
