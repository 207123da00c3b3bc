"""Tenant types (seed 000 ``clients``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Industry = Literal["coaching", "ecom", "saas", "finance", "health", "education", "media", "other"]


class TenantIn(BaseModel):
    """A new tenant (one of the agency's clients).

    Money fields are in ``currency`` (ISO 4217) major units; ``roi_target`` is a ROAS ratio
    (conversion value / spend, 3.0 = 3x); ``time_zone`` is an IANA name used for schedules.
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    client_key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,49}$")
    client_name: str = Field(min_length=1, max_length=200)
    industry: Industry | None = None
    vertical: str | None = None
    main_offer: str | None = None
    ticket_price: Decimal | None = Field(default=None, ge=0)
    roi_target: Decimal = Field(default=Decimal("3.0"), gt=0)
    monthly_budget_max: Decimal | None = Field(default=None, ge=0)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    time_zone: str = "Europe/Paris"
    slack_validation_channel: str | None = None
    slack_channel_id: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v


class Tenant(TenantIn):
    """A stored tenant."""

    model_config = ConfigDict(strict=False, extra="ignore")

    tenant_id: UUID


class TenantUpdate(BaseModel):
    """Changes to a tenant's business settings; only the fields given change.

    Same units and rules as :class:`TenantIn` (``roi_target`` a ROAS ratio > 0,
    ``monthly_budget_max`` ≥ 0 in ``currency`` major units or None to remove the ceiling,
    ``currency`` ISO 4217, ``time_zone`` IANA). ``client_key`` is the tenant's identity and
    cannot change. Amounts accept numbers or decimal strings.
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    client_name: str | None = Field(default=None, min_length=1, max_length=200)
    industry: Industry | None = None
    vertical: str | None = Field(default=None, max_length=200)
    main_offer: str | None = Field(default=None, max_length=500)
    ticket_price: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999.99"),
                                         strict=False, decimal_places=2)
    roi_target: Decimal | None = Field(default=None, gt=0, le=Decimal("99999.999"),
                                       strict=False, decimal_places=3)
    monthly_budget_max: Decimal | None = Field(default=None, ge=0,
                                               le=Decimal("999999999999.99"), strict=False,
                                               decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    time_zone: str | None = None
    slack_validation_channel: str | None = Field(default=None, max_length=200)
    slack_channel_id: str | None = Field(default=None, max_length=200)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v

    @field_validator("client_name", "roi_target", "currency", "time_zone")
    @classmethod
    def _not_null(cls, v: object) -> object:
        # These columns are NOT NULL: omit the field to keep the value.
        if v is None:
            raise ValueError("cannot be removed (omit the field to keep it)")
        return v
