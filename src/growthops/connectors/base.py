"""Capability Protocols the domains depend on (never on a vendor SDK).

An :class:`AdPlatform` is one ad account on one platform (Meta, Google Ads, the sandbox). Money
is in the account's currency as ``Decimal`` major units (the connectors convert to and from the
platform's minor units: Meta budgets are in cents, Google Ads in micros). Entity ids are the
platform's ids as strings. Every method may raise :class:`PlatformError` (with ``retryable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, Protocol, runtime_checkable

Level = Literal["campaign", "adset", "ad"]
Status = Literal["active", "paused", "archived", "deleted"]
LearningStage = Literal["learning", "learning_limited", "success", "unknown"]


class PlatformError(Exception):
    """An ad platform refused or failed a call; ``retryable`` for rate limits and 5xx."""

    def __init__(self, message: str, *, retryable: bool = False, code: str | None = None,
                 response: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.response = response or {}


def parse_amount(value: Any, field: str, *, positive: bool = True, cents: bool = True) -> Decimal:
    """Parse an amount of the account currency (major units) for a platform write.

    ``positive``: zero and negatives are refused too; ``cents``: rounded half up to 0.01
    (Meta converts to minor units itself, per currency, so it passes ``cents=False``).
    Raises :class:`PlatformError` code 'invalid_parameter' naming ``field``.
    """
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise PlatformError(f"{field}: {value!r} is not an amount", code="invalid_parameter") from exc
    if not d.is_finite():
        raise PlatformError(f"{field}: {value!r} is not an amount", code="invalid_parameter")
    if positive and d <= 0:
        raise PlatformError(f"{field}: {value!r} must be a positive amount", code="invalid_parameter")
    return d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if cents else d


@dataclass(frozen=True)
class EntityState:
    """The platform's view of one campaign, ad set or ad.

    ``daily_budget`` is ``None`` when the budget lives elsewhere (e.g. campaign budget
    optimisation) or the entity has none; ``learning_stage`` is ``unknown`` where the platform
    has no learning phase concept for that level.
    """

    entity_id: str
    level: Level
    name: str
    status: Status
    daily_budget: Decimal | None = None
    bid_amount: Decimal | None = None
    parent_id: str | None = None
    learning_stage: LearningStage = "unknown"
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyMetrics:
    """One entity-day of delivery, in the canonical columns of ``ads.metrics_daily``."""

    entity_id: str
    level: Level
    day: date
    spend: Decimal
    impressions: int
    clicks: int
    conversions: int
    conversion_value: Decimal
    reach: int | None = None
    name: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None
    daily_budget: Decimal | None = None


@dataclass(frozen=True)
class ChangeResult:
    """What a write did: the state before and after, and the platform's (redacted) response.

    ``validated_only`` is True when the platform only validated the change (``validate_only``).
    """

    before: EntityState
    after: EntityState
    response: dict[str, Any]
    validated_only: bool = False


@runtime_checkable
class AdPlatform(Protocol):
    """One ad account. Implementations: sandbox, meta (facebook-business), google_ads (google-ads)."""

    platform: str
    account_id: str

    def list_entities(self, level: Level | None = None) -> list[EntityState]:
        """Return the account's entities (all levels, or one), with budgets and learning state."""
        ...

    def get_entity(self, entity_id: str) -> EntityState:
        """Return one entity's current state; :class:`PlatformError` (code 'not_found') if absent."""
        ...

    def daily_metrics(self, start: date, end: date, level: Level = "ad") -> list[DailyMetrics]:
        """Return delivery per entity and day for ``start``..``end`` (inclusive, account time zone)."""
        ...

    def set_daily_budget(self, entity_id: str, amount: Decimal, *, validate_only: bool = False) -> ChangeResult:
        """Set an entity's daily budget (major units of the account currency)."""
        ...

    def set_status(self, entity_id: str, status: Status, *, validate_only: bool = False) -> ChangeResult:
        """Pause or activate an entity."""
        ...

    def set_bid_amount(self, entity_id: str, amount: Decimal, *, validate_only: bool = False) -> ChangeResult:
        """Set an ad set's bid cap / cost cap (major units); :class:`PlatformError` where unsupported."""
        ...

    def copy_entity(self, entity_id: str, *, changes: dict[str, Any], name_suffix: str = " - copy",
                    validate_only: bool = False) -> ChangeResult:
        """Copy an ad set (with its ads) or an ad under the same parent, created PAUSED, with
        exactly one field changed (``changes``: ``{field: value}``, plus an optional ``name``).

        ``before`` is the source, ``after`` the copy. The copy delivers only once activated
        (``set_status``), which the execution of an approved test does. :class:`PlatformError`
        'unsupported' where the platform cannot copy, 'invalid_parameter' for a change it
        does not take (fields per connector).
        """
        ...
