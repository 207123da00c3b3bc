"""A tenant's products and funnels (seed 000 ``products``, ``funnels``): list, add, change.

Tables ``core.products`` and ``core.funnels`` (migrations 0001 and 0110). The funnel's stages and
its conversion benchmarks feed the funnel diagnosis of
:mod:`growthops.ads.experiments.diagnostic` (benchmark keys ``<stage>_to_<next stage>``, stage
names lower-cased with spaces as ``_``; values are fractions 0-1); its product's ``price`` values
what a weak stage costs. Every change is audited in ``core.system_logs`` exactly like
:func:`growthops.core.tenants.service.update_tenant` (module ``growthops.core.tenants``, actor
``by``, before and after). Nothing is deleted: a product is retired with status ``deprecated``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from growthops.core.errors import InvalidInput, NotFound

ProductType = Literal["coaching_program", "course", "software", "physical_product", "service"]
ProductStatus = Literal["active", "paused", "deprecated"]
FunnelType = Literal["webinar", "vsl", "application", "book-call", "ecom", "hybrid"]
#: Most stages a funnel may have (a seed 000 funnel has 3-6).
MAX_STAGES = 20
#: Most campaigns a funnel may name (an assumption: an account rarely runs more at once).
MAX_CAMPAIGNS = 500
MODULE = "growthops.core.tenants"


class ProductIn(BaseModel):
    """A product's fields (the whole row is given). ``price`` is in the tenant's currency, major
    units, ≥ 0 with at most 2 decimals (column ``numeric(14,2)``); None: no price known."""

    model_config = ConfigDict(strict=True, extra="forbid")

    product_name: str = Field(min_length=1, max_length=200)
    product_type: ProductType | None = None
    price: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999.99"),
                                  strict=False, decimal_places=2)
    payment_options: str | None = Field(default=None, max_length=500)
    status: ProductStatus = "active"


def stage_key(stage: str) -> str:
    """Return a stage's name as it appears in benchmark keys (lower-case, spaces as ``_``);
    the same rule as the funnel diagnosis' ``_key``."""
    return re.sub(r"\s+", "_", stage.strip().lower())


class FunnelIn(BaseModel):
    """A funnel's fields (the whole row is given).

    ``stages``: 0-20 names in order (1-100 characters each); ``conversion_benchmarks``: the
    expected rate of each transition, ``{"<stage>_to_<next>": fraction}`` with 0 < fraction < 1
    (migration 0001); every key must name two consecutive stages. ``product_id``: one of the
    tenant's products or None. ``campaign_ids``: the platform ids of the campaigns that feed
    this funnel (0-500, 1-200 characters each, duplicates dropped; empty: every campaign not
    named by another funnel, as the funnel diagnosis reads it; migration 0110).
    """

    model_config = ConfigDict(strict=True, extra="forbid")

    funnel_name: str = Field(min_length=1, max_length=200)
    funnel_type: FunnelType | None = None
    stages: list[str] = Field(default_factory=list, max_length=MAX_STAGES)
    conversion_benchmarks: dict[str, Decimal] = Field(default_factory=dict)
    product_id: int | None = Field(default=None, ge=1, strict=False)
    campaign_ids: list[str] = Field(default_factory=list, max_length=MAX_CAMPAIGNS)

    @field_validator("campaign_ids")
    @classmethod
    def _campaign_ids(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for x in (s.strip() for s in v):
            if not 1 <= len(x) <= 200:
                raise PydanticCustomError("campaign_id_length",
                                          "each campaign id needs 1-200 characters")
            if x not in out:
                out.append(x)
        return out

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, v: list[str]) -> list[str]:
        out = [s.strip() for s in v]
        if any(not 1 <= len(s) <= 100 for s in out):
            raise PydanticCustomError("stage_length", "each stage needs 1-100 characters")
        return out

    @field_validator("conversion_benchmarks", mode="before")
    @classmethod
    def _fractions(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for k, x in v.items():
            try:
                d = Decimal(str(x))
            except ArithmeticError:
                d = None
            if d is None or not Decimal(0) < d < Decimal(1):
                raise PydanticCustomError(
                    "benchmark_fraction",
                    "{key}: {value} is not a fraction between 0 and 1 (exclusive)",
                    {"key": str(k), "value": str(x)})
            out[str(k)] = d
        return out

    @model_validator(mode="after")
    def _benchmark_keys(self) -> FunnelIn:
        """Check the benchmark keys against the stages (consecutive pairs only)."""
        keys = {f"{stage_key(a)}_to_{stage_key(b)}" for a, b in zip(self.stages, self.stages[1:],
                                                                     strict=False)}
        unknown = sorted(set(self.conversion_benchmarks) - keys)
        if unknown:
            raise PydanticCustomError(
                "benchmark_keys",
                "{keys}: not two consecutive stages (expected keys: {expected})",
                {"keys": ", ".join(unknown), "expected": ", ".join(sorted(keys)) or "none"})
        return self


def list_products(conn: psycopg.Connection[Any], *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's products, oldest first."""
    return conn.execute("select * from core.products where tenant_id = %s order by product_id",
                        [str(tenant_id)]).fetchall()


def list_funnels(conn: psycopg.Connection[Any], *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's funnels, oldest first."""
    return conn.execute("select * from core.funnels where tenant_id = %s order by funnel_id",
                        [str(tenant_id)]).fetchall()


def _check_by(by: str) -> str:
    by = (by or "").strip()
    if not 1 <= len(by) <= 200:
        raise InvalidInput("by: who changes the tenant is required (1-200 characters)")
    return by


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy (Decimal and other values as text, lists and dicts kept)."""
    def one(v: Any) -> Any:
        if v is None or isinstance(v, (str, int, bool)):
            return v
        if isinstance(v, list):
            return [one(x) for x in v]
        if isinstance(v, dict):
            return {str(k): one(x) for k, x in v.items()}
        return str(v)
    return {k: one(v) for k, v in values.items()}


def _save(conn: psycopg.Connection[Any], *, table: str, key: str, tenant_id: UUID | str,
          row_id: int | None, values: dict[str, Any], by: str, what: str,
          ) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Insert (``row_id`` None) or update one row; audit it; return ``(before, after, id)``."""
    from psycopg.types.json import Jsonb

    from growthops.core.logs.service import log_event

    by = _check_by(by)
    params = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in values.items()}
    if row_id is None:
        cols = ", ".join(values)
        row = conn.execute(
            f"insert into {table} (tenant_id, {cols}) values (%(tenant_id)s, "
            f"{', '.join(f'%({k})s' for k in values)}) returning *",
            {**params, "tenant_id": str(tenant_id)}).fetchone()
        assert row is not None
        before: dict[str, Any] = {}
        after = dict(values)
        row_id = int(row[key])
        verb = "added"
    else:
        old = conn.execute(f"select * from {table} where tenant_id = %s and {key} = %s for update",
                           [str(tenant_id), row_id]).fetchone()
        if old is None:
            raise NotFound(f"{key}: no {what} {row_id} for this tenant")
        diff = {k: v for k, v in values.items() if old[k] != v}
        if not diff:
            return {}, {}, row_id
        conn.execute(f"update {table} set {', '.join(f'{k} = %({k})s' for k in diff)} "
                     f"where tenant_id = %(tenant_id)s and {key} = %(row_id)s",
                     {**{k: params[k] for k in diff}, "tenant_id": str(tenant_id), "row_id": row_id})
        before = {k: old[k] for k in diff}
        after = diff
        verb = "changed"
    log_event(conn, tenant_id=tenant_id, level="INFO", module=MODULE,
              message=f"{what} {row_id} {verb} by {by}: {', '.join(sorted(after))}",
              context={"by": by, what: row_id, "before": _plain(before), "after": _plain(after)})
    return before, after, row_id


def save_product(conn: psycopg.Connection[Any], *, tenant_id: UUID | str, product_id: int | None,
                 product: ProductIn, by: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Add a product (``product_id`` None) or change one; return ``(before, after, product_id)``
    of the fields that changed (``before`` empty for a new one; both empty when nothing changes,
    and nothing is written). Runs in the tenant's transaction; never commits. Audited in
    ``core.system_logs``. Raises :class:`NotFound` for a product the tenant does not have and
    :class:`InvalidInput` for a missing ``by``.
    """
    return _save(conn, table="core.products", key="product_id", tenant_id=tenant_id,
                 row_id=product_id, values=product.model_dump(), by=by, what="product")


def save_funnel(conn: psycopg.Connection[Any], *, tenant_id: UUID | str, funnel_id: int | None,
                funnel: FunnelIn, by: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Add a funnel (``funnel_id`` None) or change one; return ``(before, after, funnel_id)``
    like :func:`save_product`. Raises :class:`InvalidInput` naming ``product_id`` when the
    product is not the tenant's, :class:`NotFound` for a funnel the tenant does not have.
    """
    values = funnel.model_dump()
    values["conversion_benchmarks"] = {k: float(v) for k, v in values["conversion_benchmarks"].items()}
    if funnel.product_id is not None and conn.execute(
            "select 1 from core.products where tenant_id = %s and product_id = %s",
            [str(tenant_id), funnel.product_id]).fetchone() is None:
        raise InvalidInput(f"product_id: no product {funnel.product_id} for this tenant")
    return _save(conn, table="core.funnels", key="funnel_id", tenant_id=tenant_id,
                 row_id=funnel_id, values=values, by=by, what="funnel")
