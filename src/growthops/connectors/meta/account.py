"""Meta (Facebook/Instagram) ad account through the official ``facebook-business`` SDK.

:class:`MetaAdAccount` implements :class:`~growthops.connectors.base.AdPlatform` for budget,
status and bid changes and for reading entities, learning state and daily insights.

Wire facts (Meta Marketing API reference, v26.0):

* budgets and bid amounts travel in the currency's minor units with the offset of the
  "Currencies" page (100 for EUR/USD: cents; 1 for JPY, KRW and the other zero-decimal
  currencies); insights' ``spend`` is in major units;
* an update is ``POST /{id}`` with the fields; ``{"success": true}`` answers it;
  ``execution_options=["validate_only"]`` validates without applying;
* ad sets carry ``learning_stage_info.status``: ``LEARNING``, ``FAIL`` (shown as "Learning
  limited" in Ads Manager) or ``SUCCESS``;
* errors come as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id",
  "is_transient"}}``; codes 1 and 2 are temporary (retry later), 4, 17, 32, 341, 613 and the
  80000-80014 business-use-case codes are rate limits (Graph API "Handling Errors" and
  "Rate Limiting" guides) — those map to ``PlatformError(retryable=True)``.

The SDK is used without ``FacebookAdsApi.init`` (which installs a global default and a crash
reporter that posts to Meta): each account has its own session and API object, and
``base_url`` points the session's ``GRAPH`` at another server (tests run a local one). Every
call can be reported to ``api_logger`` (e.g. :func:`growthops.connectors.registry.db_api_logger`,
which stores it redacted in ``core.api_calls_log``); the access token lives in the session's
query parameters and never reaches the logger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

import requests
from facebook_business.adobjects.ad import Ad
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.campaign import Campaign
from facebook_business.api import FacebookAdsApi, FacebookResponse
from facebook_business.exceptions import FacebookError, FacebookRequestError
from facebook_business.session import FacebookSession

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
from growthops.core.logs.service import redact

API_VERSION = FacebookAdsApi.API_VERSION
#: Currencies whose Marketing API offset is 1 (amounts in whole units); all others use 100.
#: Source: Meta Marketing API, "Currencies" (code / offset table).
OFFSET_1_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)
#: Graph API error codes worth retrying later (temporary errors and rate limits).
#: Source: Graph API "Handling Errors" (1 API Unknown, 2 API Service, 4 app too many calls,
#: 17 user too many calls, 32 page request limit, 341 application limit, 613 calls within one
#: hour exceeded) and Marketing API "Rate Limiting" (80000-80014 business use case limits).
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, *range(80000, 80015)})
#: Conversion action types, by preference (the first present in an insights row is counted;
#: ``omni_purchase`` already de-duplicates pixel, app and offline purchases).
DEFAULT_CONVERSION_ACTIONS = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
LEARNING: dict[str, LearningStage] = {
    "LEARNING": "learning",
    "FAIL": "learning_limited",
    "SUCCESS": "success",
}
#: Fields a test's copy may change, per level (see :meth:`MetaAdAccount.copy_entity`).
COPY_FIELDS: dict[str, tuple[str, ...]] = {
    "ad": ("creative",),
    "adset": ("targeting", "optimization_goal", "bid_amount", "daily_budget"),
}
STATUS_OUT = {"active": "ACTIVE", "paused": "PAUSED", "archived": "ARCHIVED", "deleted": "DELETED"}
FIELDS: dict[str, list[str]] = {
    "campaign": ["id", "name", "status", "effective_status", "daily_budget", "bid_strategy"],
    "adset": [
        "id",
        "name",
        "status",
        "effective_status",
        "daily_budget",
        "bid_amount",
        "bid_strategy",
        "campaign_id",
        "learning_stage_info",
    ],
    "ad": ["id", "name", "status", "effective_status", "adset_id", "campaign_id"],
}
INSIGHT_FIELDS = [
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "date_start",
    "spend",
    "impressions",
    "clicks",
    "reach",
    "actions",
    "action_values",
]

ApiLogger = Callable[..., Any]


def platform_error(exc: FacebookRequestError) -> PlatformError:
    """Map an SDK request error (Graph API error envelope) to a :class:`PlatformError`.

    ``code`` is the Graph error code as text (``"17"``), ``retryable`` for
    :data:`RETRYABLE_CODES`, ``is_transient`` or an HTTP 5xx; ``response`` is the redacted body.
    """
    raw_body = exc.body()
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {"raw": str(raw_body)[:2000]}
    err = body.get("error") or {}
    code = exc.api_error_code()
    status = exc.http_status() or 0
    retryable = bool(code in RETRYABLE_CODES or exc.api_transient_error() or status >= 500)
    msg = (
        f"Meta API error {code}"
        + (f"/{exc.api_error_subcode()}" if exc.api_error_subcode() else "")
        + f" (HTTP {status}): {exc.api_error_message() or exc.get_message()}"
        + (f" [fbtrace_id {err.get('fbtrace_id')}]" if err.get("fbtrace_id") else "")
    )
    return PlatformError(
        msg,
        retryable=retryable,
        code=str(code) if code is not None else None,
        response=redact(body),
    )


class _LoggedApi(FacebookAdsApi):
    """A :class:`FacebookAdsApi` that reports every call (method, path, params, response, timing)."""

    def __init__(
        self, session: FacebookSession, api_version: str, on_call: Callable[..., None]
    ) -> None:
        super().__init__(session, api_version)
        self._on_call = on_call
        #: Called with each response's headers (success or error), e.g. by the sync's
        #: usage throttle (:class:`growthops.connectors.meta.insights.Throttle`).
        self.on_headers: Callable[[dict[str, str]], None] | None = None

    def _headers_seen(self, headers: Any) -> None:
        if self.on_headers is not None and headers:
            self.on_headers({str(k).lower(): str(v) for k, v in dict(headers).items()})

    def call(
        self,
        method: str,
        path: Any,
        params: Any = None,
        headers: Any = None,
        files: Any = None,
        url_override: Any = None,
        api_version: Any = None,
    ) -> FacebookResponse:
        """Make the call through the SDK and report it, success or failure."""
        shown = (
            path
            if isinstance(path, str)
            else "/".join(
                (
                    url_override or self._session.GRAPH,
                    api_version or self._api_version,
                    *map(str, path),
                )
            )
        )
        t0 = time.perf_counter()
        try:
            resp = super().call(
                method,
                path,
                params=params,
                headers=headers,
                files=files,
                url_override=url_override,
                api_version=api_version,
            )
        except FacebookRequestError as exc:
            self._headers_seen(exc.http_headers())
            self._on_call(
                method,
                shown,
                params,
                exc.body(),
                exc.http_status(),
                t0,
                False,
                exc.api_error_message() or exc.get_message(),
            )
            raise
        except requests.RequestException as exc:
            self._on_call(
                method, shown, params, None, None, t0, False, f"{type(exc).__name__}: {exc}"
            )
            raise
        self._headers_seen(resp.headers())
        self._on_call(method, shown, params, resp.json(), resp.status(), t0, True, None)
        return resp


class MetaAdAccount:
    """One Meta ad account (``act_<id>``) as an :class:`AdPlatform`.

    ``account_id`` with or without the ``act_`` prefix; ``access_token`` a system-user or user
    token with ``ads_management``; ``app_secret`` adds ``appsecret_proof`` to every call;
    ``base_url`` replaces ``https://graph.facebook.com``; ``currency`` (ISO 4217) sets the
    minor-unit offset, read from the account when None. ``api_logger`` receives each call as
    the keyword arguments of :func:`growthops.core.logs.service.log_api_call` (without
    ``conn`` and ``tenant_id``). Every method raises :class:`PlatformError` on an API error.
    """

    platform = "meta"

    def __init__(
        self,
        account_id: str,
        access_token: str,
        app_secret: str | None = None,
        api_version: str = API_VERSION,
        base_url: str | None = None,
        *,
        currency: str | None = None,
        api_logger: ApiLogger | None = None,
        conversion_actions: Iterable[str] = DEFAULT_CONVERSION_ACTIONS,
        timeout: float = 60.0,
    ) -> None:
        account_id = str(account_id)
        self.account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"
        self._session = FacebookSession(
            access_token=access_token, app_secret=app_secret, timeout=timeout
        )
        if base_url:
            self._session.GRAPH = base_url.rstrip("/")
        self.api = _LoggedApi(self._session, api_version, self._report)
        self.currency = currency.upper() if currency else None
        self.api_logger = api_logger
        self.conversion_actions = tuple(conversion_actions)
        self._levels: dict[str, Level] = {}

    def __repr__(self) -> str:
        return f"MetaAdAccount({self.account_id})"

    # -- plumbing --------------------------------------------------------------------------------
    def _report(
        self,
        method: str,
        endpoint: str,
        params: Any,
        body: Any,
        status: int | None,
        t0: float,
        success: bool,
        error: str | None,
    ) -> None:
        if self.api_logger is None:
            return
        self.api_logger(
            api_name="meta_marketing",
            endpoint=endpoint,
            method=method,
            request_payload=params or {},
            response_payload=body,
            status_code=status,
            duration_ms=(time.perf_counter() - t0) * 1000,
            success=success,
            error_message=error,
        )

    def _guard(self, fn: Callable[[], Any]) -> Any:
        """Run an SDK call, mapping its errors to :class:`PlatformError`."""
        try:
            return fn()
        except FacebookRequestError as exc:
            raise platform_error(exc) from exc
        except requests.RequestException as exc:
            raise PlatformError(
                f"Meta API unreachable: {type(exc).__name__}", retryable=True, code="network"
            ) from exc
        except FacebookError as exc:
            raise PlatformError(f"Meta SDK error: {exc}", code="sdk") from exc

    def _offset(self) -> int:
        if self.currency is None:
            data = self._guard(
                lambda: AdAccount(self.account_id, api=self.api).api_get(fields=["currency"])
            )
            self.currency = str(data["currency"]).upper()
        return 1 if self.currency in OFFSET_1_CURRENCIES else 100

    def _to_minor(self, amount: Decimal) -> int:
        return int((amount * self._offset()).to_integral_value(rounding=ROUND_HALF_UP))

    def _from_minor(self, value: Any) -> Decimal | None:
        if value in (None, "", "0", 0):
            return None
        off = self._offset()
        return (Decimal(str(value)) / off).quantize(Decimal(1) / off)

    def _state(self, level: Level, obj: Any) -> EntityState:
        data = dict(obj.export_all_data()) if hasattr(obj, "export_all_data") else dict(obj)
        self._levels[str(data["id"])] = level
        stage: LearningStage = "unknown"
        if level == "adset":
            info = data.get("learning_stage_info") or {}
            stage = LEARNING.get(str(info.get("status", "")).upper(), "unknown")
        status = str(data.get("status", "")).lower()
        parent = (
            data.get("adset_id")
            if level == "ad"
            else data.get("campaign_id")
            if level == "adset"
            else None
        )
        return EntityState(
            entity_id=str(data["id"]),
            level=level,
            name=str(data.get("name", "")),
            status=cast(Status, status if status in STATUS_OUT else "paused"),
            daily_budget=self._from_minor(data.get("daily_budget")),
            bid_amount=self._from_minor(data.get("bid_amount")),
            parent_id=parent,
            learning_stage=stage,
            raw=data,
        )

    # -- reads -----------------------------------------------------------------------------------
    def list_entities(self, level: Level | None = None) -> list[EntityState]:
        """Return the account's campaigns, ad sets and ads (or one level), paging through edges."""
        acc = AdAccount(self.account_id, api=self.api)
        edges = {"campaign": acc.get_campaigns, "adset": acc.get_ad_sets, "ad": acc.get_ads}
        out: list[EntityState] = []
        levels: tuple[Level, ...] = (level,) if level else ("campaign", "adset", "ad")
        for lv in levels:

            def read(lv: Level = lv) -> list[EntityState]:
                cursor = edges[lv](fields=FIELDS[lv], params={"limit": 200})
                return [self._state(lv, o) for o in cursor]

            out.extend(self._guard(read))
        return out

    def _level_of(self, entity_id: str) -> Level:
        if entity_id not in self._levels:
            acc = AdAccount(self.account_id, api=self.api)
            edges: tuple[tuple[Level, Any], ...] = (
                ("campaign", acc.get_campaigns),
                ("adset", acc.get_ad_sets),
                ("ad", acc.get_ads),
            )
            for lv, edge in edges:

                def ids(edge: Any = edge) -> list[Any]:
                    return list(edge(fields=["id"], params={"limit": 500}))

                for o in self._guard(ids):
                    self._levels[str(o["id"])] = lv
        if entity_id not in self._levels:
            raise PlatformError(
                f"{self.account_id}: no campaign, ad set or ad {entity_id!r}", code="not_found"
            )
        return self._levels[entity_id]

    def get_entity(self, entity_id: str) -> EntityState:
        """Return one campaign, ad set or ad (``GET /{id}``); 'not_found' if the account lacks it."""
        level = self._level_of(str(entity_id))
        resp = self._guard(
            lambda: self.api.call(
                "GET", (str(entity_id),), params={"fields": ",".join(FIELDS[level])}
            )
        )
        return self._state(level, resp.json())

    def daily_metrics(self, start: date, end: date, level: Level = "ad") -> list[DailyMetrics]:
        """Return insights per entity and day (``/act_<id>/insights``, ``time_increment=1``).

        ``conversions`` counts the first action type of ``conversion_actions`` present in the
        row; ``conversion_value`` the same type in ``action_values``. Spend in major units.
        """
        params = {
            "level": level,
            "time_range": {"since": start.isoformat(), "until": end.isoformat()},
            "time_increment": 1,
            "limit": 500,
        }
        acc = AdAccount(self.account_id, api=self.api)
        rows = self._guard(
            lambda: [
                dict(r.export_all_data())
                for r in acc.get_insights(fields=INSIGHT_FIELDS, params=params)
            ]
        )
        return [self.parse_insights_row(r, level) for r in rows]

    def parse_insights_row(self, r: dict[str, Any], level: Level) -> DailyMetrics:
        """Turn one insights row (Graph API JSON) of ``level`` into :class:`DailyMetrics`.

        ``conversions`` counts the first action type of ``conversion_actions`` present in the
        row (rounded half up); ``conversion_value`` the same type in ``action_values``.
        """
        actions = {a.get("action_type"): a.get("value") for a in r.get("actions") or []}
        values = {a.get("action_type"): a.get("value") for a in r.get("action_values") or []}
        kind = next((k for k in self.conversion_actions if k in actions), None)
        return DailyMetrics(
            entity_id=str(r.get(f"{level}_id") or r.get("id")),
            level=level,
            day=date.fromisoformat(r["date_start"]),
            spend=Decimal(str(r.get("spend", "0"))),
            impressions=int(r.get("impressions", 0)),
            clicks=int(r.get("clicks", 0)),
            conversions=int(Decimal(str(actions[kind])).to_integral_value(ROUND_HALF_UP))
            if kind
            else 0,
            conversion_value=Decimal(str(values.get(kind, "0"))) if kind else Decimal(0),
            reach=int(r["reach"]) if r.get("reach") not in (None, "") else None,
            name=r.get(f"{level}_name"),
            campaign_id=r.get("campaign_id") if level != "campaign" else None,
            adset_id=r.get("adset_id") if level == "ad" else None,
        )

    # -- writes ----------------------------------------------------------------------------------
    def _update(
        self, level: Level, entity_id: str, params: dict[str, Any], validate_only: bool
    ) -> dict[str, Any]:
        """``POST /{id}`` through the SDK's ``Campaign`` / ``AdSet`` / ``Ad`` ``api_update``;
        ``execution_options=["validate_only"]`` when asked (validated, not applied)."""
        params = dict(params)
        if validate_only:
            params["execution_options"] = [AdSet.ExecutionOptions.validate_only]
        node = {"campaign": Campaign, "adset": AdSet, "ad": Ad}[level]

        def call() -> dict[str, Any]:
            obj = node(entity_id, api=self.api)
            obj.api_update(params=params)
            data = {k: v for k, v in obj.export_all_data().items() if k != "id"}
            return data or {"success": True}

        return self._guard(call)

    def _write(
        self,
        before: EntityState,
        params: dict[str, Any],
        validate_only: bool,
        intended: dict[str, Any],
    ) -> ChangeResult:
        response = self._update(before.level, before.entity_id, params, validate_only)
        after = replace(before, **intended) if validate_only else self.get_entity(before.entity_id)
        return ChangeResult(before, after, redact(response), validated_only=validate_only)

    def set_daily_budget(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set a campaign's (CBO) or ad set's daily budget; sent in minor units (cents).

        :class:`PlatformError` 'unsupported' for an ad or an entity without a daily budget
        (lifetime budget, or an ad set under a campaign budget), 'invalid_parameter' for a
        non-positive amount, and the API's own errors.
        """
        amount = parse_amount(amount, "daily_budget", cents=False)
        level = self._level_of(str(entity_id))
        if level == "ad":
            raise PlatformError(f"{entity_id}: ads have no budget on Meta", code="unsupported")
        before = self.get_entity(str(entity_id))
        if before.daily_budget is None:
            raise PlatformError(
                f"{entity_id}: this {level} has no daily budget (lifetime budget, or the "
                "budget is set on its campaign)",
                code="unsupported",
            )
        return self._write(
            before,
            {"daily_budget": str(self._to_minor(amount))},
            validate_only,
            {"daily_budget": amount},
        )

    def set_status(
        self, entity_id: str, status: Status, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set ``status`` (ACTIVE, PAUSED, ARCHIVED, DELETED) on a campaign, ad set or ad."""
        if status not in STATUS_OUT:
            raise PlatformError(
                f"status: {status!r} is not one of {', '.join(STATUS_OUT)}",
                code="invalid_parameter",
            )
        before = self.get_entity(str(entity_id))
        return self._write(
            before, {"status": STATUS_OUT[status]}, validate_only, {"status": status}
        )

    def set_bid_amount(
        self, entity_id: str, amount: Decimal, *, validate_only: bool = False
    ) -> ChangeResult:
        """Set an ad set's ``bid_amount`` (bid cap / cost cap), sent in minor units.

        :class:`PlatformError` 'unsupported' off ad sets (campaign-level caps are
        ``bid_constraints``, not handled here).
        """
        amount = parse_amount(amount, "bid_amount", cents=False)
        if self._level_of(str(entity_id)) != "adset":
            raise PlatformError(f"{entity_id}: bid amounts are set on ad sets", code="unsupported")
        before = self.get_entity(str(entity_id))
        return self._write(
            before,
            {"bid_amount": self._to_minor(amount)},
            validate_only,
            {"bid_amount": amount},
        )

    # -- copies (tests) --------------------------------------------------------------------------
    def copy_entity(self, entity_id: str, *, changes: dict[str, Any], name_suffix: str = " - copy",
                    validate_only: bool = False) -> ChangeResult:
        """Copy an ad set (``deep_copy``: with its ads) or an ad, PAUSED, then apply one change.

        ``POST /{id}/copies`` (SDK ``create_copy``) with ``status_option=PAUSED`` and
        ``rename_options={"rename_strategy": "ONLY_TOP_LEVEL_RENAME", "rename_suffix": ...}``
        answers ``{"copied_adset_id", "ad_object_ids"}`` or ``{"copied_ad_id"}`` (Marketing API
        reference, "Ad Set Copies" / "Ad Copies"); the change is then ``POST /{copy}``: an ad's
        ``creative`` (``{"creative_id": ...}``), an ad set's ``targeting`` (object),
        ``optimization_goal``, ``bid_amount`` or ``daily_budget`` (major units, sent in minor).
        ``validate_only`` checks the change and calls nothing. :class:`PlatformError`
        'unsupported' for a campaign, 'invalid_parameter' for another change.
        """
        level = self._level_of(str(entity_id))
        allowed = COPY_FIELDS.get(level, ())
        if not allowed:
            raise PlatformError(f"{entity_id}: only ad sets and ads are copied for a test",
                                code="unsupported")
        fields = [k for k in changes if k != "name"]
        if len(fields) != 1 or fields[0] not in allowed:
            raise PlatformError(f"changes: exactly one of {', '.join(allowed)} for an {level}",
                                code="invalid_parameter")
        field, value = fields[0], changes[fields[0]]
        if field in ("bid_amount", "daily_budget"):
            value = str(self._to_minor(parse_amount(value, field, cents=False)))
        before = self.get_entity(str(entity_id))
        if validate_only:
            return ChangeResult(before, replace(before, entity_id="", status="paused"),
                                {"validate_only": True}, validated_only=True)
        rename = {"rename_strategy": "ONLY_TOP_LEVEL_RENAME", "rename_suffix": name_suffix}
        params: dict[str, Any] = {"status_option": "PAUSED", "rename_options": rename}
        if level == "adset":
            params["deep_copy"] = True

        def copy() -> dict[str, Any]:
            node = AdSet(str(entity_id), api=self.api) if level == "adset" else Ad(str(entity_id), api=self.api)
            return dict(node.create_copy(params=params).export_all_data())

        resp = self._guard(copy)
        new_id = str(resp.get("copied_adset_id") or resp.get("copied_ad_id") or "")
        if not new_id:
            raise PlatformError(f"{entity_id}: the copy answered no id: {redact(resp)}", code="sdk")
        self._levels[new_id] = level
        update = {field: value}
        if changes.get("name"):
            update["name"] = str(changes["name"])
        self._update(level, new_id, update, False)
        return ChangeResult(before, self.get_entity(new_id), redact(resp))
