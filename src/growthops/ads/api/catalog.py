"""Routes of a tenant's products, funnels and Slack settings without SQL (issue 15):
``GET/POST /api/v1/tenants/{tenant}/products``, ``PATCH .../products/{product_id}``, the same
for ``funnels``, and ``GET/PATCH /api/v1/tenants/{tenant}/slack``.

One implementation with the CLI (``growthops tenants products|funnels``, ``growthops slack
settings``) and the dashboard's settings page: rows are validated by
:class:`growthops.core.tenants.catalog.ProductIn` / :class:`~growthops.core.tenants.catalog.
FunnelIn` and written by :func:`~growthops.core.tenants.catalog.save_product` /
:func:`~growthops.core.tenants.catalog.save_funnel` (audited in ``core.system_logs``, module
``growthops.core.tenants``); Slack settings by
:func:`growthops.ads.reporting.slack_threads.change_prefs` (audited, module
``growthops.ads.slack``) and read by :func:`~growthops.ads.reporting.slack_threads.tenant_prefs`.
A PATCH changes only the fields given: they are merged into the stored row and the whole row is
validated again, so a rule spanning fields (a funnel's benchmark keys against its stages) is
checked; a fault answers 422 naming the field and nothing is written. Write rules are those of
``PATCH /api/v1/tenants/{tenant}``: 403 for a read-only principal (client_viewer), ``by``
required with an API key acting for people. Nothing is deleted: a product is retired with
status ``deprecated``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, Strict, ValidationError, create_model

from growthops.core.errors import NotFound
from growthops.core.tenants.catalog import (
    FunnelIn,
    ProductIn,
    list_funnels,
    list_products,
    save_funnel,
    save_product,
)
from growthops.web.deps import IdPath, Scope, actor, tenant_router
from growthops.web.errors import BODY, FORBIDDEN, TENANT_RESPONSES
from growthops.web.models import Name, Out, Page, StrictIn

routes = APIRouter(tags=["settings"], responses=TENANT_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


# ------------------------------------------------------------------------------ bodies
class ProductNewIn(StrictIn, ProductIn):
    """A new product: the fields and rules of :class:`~growthops.core.tenants.catalog.ProductIn`
    (``price`` in the tenant's currency, major units); ``by`` as for ``PATCH /tenants``."""

    by: Name | None = None


class FunnelNewIn(StrictIn, FunnelIn):
    """A new funnel: the fields and rules of :class:`~growthops.core.tenants.catalog.FunnelIn`
    (benchmarks are fractions 0-1 keyed ``<stage>_to_<next stage>``); ``by`` as above."""

    by: Name | None = None


def _partial(model: type[BaseModel], name: str, doc: str, **types: Any) -> Any:
    """A strict body with every field of ``model`` optional (same types and bounds, or the type
    given in ``types`` for a field the model coerces in a validator) plus ``by``; the model's
    validators run on the merged row (:func:`_merge`)."""
    fields: dict[str, Any] = {
        k: (
            types.get(k, Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation)
            | None,
            Field(default=None, description=f.description),
        )
        for k, f in model.model_fields.items()
    }
    out = create_model(name, __base__=StrictIn, __doc__=doc, by=(Name | None, None), **fields)
    return out


ProductChangeIn = _partial(
    ProductIn,
    "ProductChangeIn",
    "Changes to a product: only the fields given change (``null`` clears "
    "a nullable one); rules of ProductIn.",
)
FunnelChangeIn = _partial(
    FunnelIn,
    "FunnelChangeIn",
    "Changes to a funnel: only the fields given change; a list given "
    "replaces the stored one; rules of FunnelIn.",
    conversion_benchmarks=dict[str, Annotated[Decimal, Strict(False)]],
)


def _merge(model: type[BaseModel], stored: dict[str, Any], body: BaseModel) -> Any:
    """Validate the stored row with the given fields of ``body`` over it; a fault raises the
    request's 422 naming ``body.<field>``."""
    data = {k: stored[k] for k in model.model_fields}
    data.update(body.model_dump(exclude_unset=True, exclude={"by"}))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


def _stored(conn: Any, table: str, key: str, tenant_id: Any, row_id: int, what: str) -> Any:
    row = conn.execute(
        f"select * from {table} where tenant_id = %s and {key} = %s for update",
        [str(tenant_id), row_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"{key}: no {what} {row_id} for this tenant")
    return row


# ------------------------------------------------------------------------------ answers
class ProductOut(Out):
    """A product (``price`` in the tenant's currency, major units; null: unknown)."""

    product_id: int
    product_name: str
    product_type: str | None
    price: Decimal | None
    payment_options: str | None
    status: str
    created_at: datetime


class FunnelOut(Out):
    """A funnel: stages in order, benchmarks (fractions 0-1), product and campaigns."""

    funnel_id: int
    funnel_name: str
    funnel_type: str | None
    stages: list[str]
    conversion_benchmarks: dict[str, float]
    product_id: int | None
    campaign_ids: list[str]
    created_at: datetime


class ProductPage(Page[ProductOut]):
    """One page of products, oldest first."""


class FunnelPage(Page[FunnelOut]):
    """One page of funnels, oldest first."""


class CatalogChangeOut(Out):
    """The row written (``id``) and the fields that changed, before and after (``before`` empty
    for a new row; both empty when nothing changed and nothing was written)."""

    id: int
    before: dict[str, Any]
    after: dict[str, Any]


WRITE = {**BODY, **FORBIDDEN}


# ------------------------------------------------------------------------------ products
@routes.get("/products", response_model=ProductPage, summary="The tenant's products")
def get_products(scope: Scope, limit: Limit = 50, offset: Offset = 0) -> ProductPage:
    """List the tenant's products, oldest first (retired ones have status ``deprecated``)."""
    rows = list_products(scope.conn, tenant_id=scope.tenant_id)
    return ProductPage.of(
        [ProductOut.model_validate(r) for r in rows[offset : offset + limit]],
        len(rows),
        limit,
        offset,
    )


@routes.post(
    "/products",
    response_model=CatalogChangeOut,
    status_code=201,
    responses=WRITE,
    summary="Add a product",
)
def add_product(body: ProductNewIn, scope: Scope) -> CatalogChangeOut:
    """Add a product (audited); 403 for a read-only principal."""
    scope.require_decide()
    by = actor(scope, body.by, "by")
    product = ProductIn.model_validate(body.model_dump(exclude={"by"}))
    before, after, pid = save_product(
        scope.conn, tenant_id=scope.tenant_id, product_id=None, product=product, by=by
    )
    return CatalogChangeOut(id=pid, before=before, after=after)


@routes.patch(
    "/products/{product_id}",
    response_model=CatalogChangeOut,
    responses=WRITE,
    summary="Change a product (status deprecated retires it)",
)
def change_product(product_id: IdPath, body: ProductChangeIn, scope: Scope) -> CatalogChangeOut:
    """Change the given fields of a product (audited); 404 for a product the tenant lacks."""
    scope.require_decide()
    by = actor(scope, body.by, "by")
    stored = _stored(
        scope.conn, "core.products", "product_id", scope.tenant_id, product_id, "product"
    )
    product = _merge(ProductIn, stored, body)
    before, after, pid = save_product(
        scope.conn, tenant_id=scope.tenant_id, product_id=product_id, product=product, by=by
    )
    return CatalogChangeOut(id=pid, before=before, after=after)


# ------------------------------------------------------------------------------ funnels
@routes.get("/funnels", response_model=FunnelPage, summary="The tenant's funnels")
def get_funnels(scope: Scope, limit: Limit = 50, offset: Offset = 0) -> FunnelPage:
    """List the tenant's funnels, oldest first."""
    rows = list_funnels(scope.conn, tenant_id=scope.tenant_id)
    return FunnelPage.of(
        [FunnelOut.model_validate(r) for r in rows[offset : offset + limit]],
        len(rows),
        limit,
        offset,
    )


@routes.post(
    "/funnels",
    response_model=CatalogChangeOut,
    status_code=201,
    responses=WRITE,
    summary="Add a funnel",
)
def add_funnel(body: FunnelNewIn, scope: Scope) -> CatalogChangeOut:
    """Add a funnel (audited); 422 naming ``product_id`` for another tenant's product."""
    scope.require_decide()
    by = actor(scope, body.by, "by")
    funnel = FunnelIn.model_validate(body.model_dump(exclude={"by"}))
    before, after, fid = save_funnel(
        scope.conn, tenant_id=scope.tenant_id, funnel_id=None, funnel=funnel, by=by
    )
    return CatalogChangeOut(id=fid, before=before, after=after)


@routes.patch(
    "/funnels/{funnel_id}",
    response_model=CatalogChangeOut,
    responses=WRITE,
    summary="Change a funnel",
)
def change_funnel(funnel_id: IdPath, body: FunnelChangeIn, scope: Scope) -> CatalogChangeOut:
    """Change the given fields of a funnel (audited); benchmark keys are checked against the
    stages after the merge."""
    scope.require_decide()
    by = actor(scope, body.by, "by")
    stored = _stored(scope.conn, "core.funnels", "funnel_id", scope.tenant_id, funnel_id, "funnel")
    funnel = _merge(FunnelIn, stored, body)
    before, after, fid = save_funnel(
        scope.conn, tenant_id=scope.tenant_id, funnel_id=funnel_id, funnel=funnel, by=by
    )
    return CatalogChangeOut(id=fid, before=before, after=after)


# ------------------------------------------------------------------------------ Slack
class SlackSettingsIn(StrictIn):
    """Slack settings to change (only those given; ``null`` clears ``lang`` or
    ``alerts_channel``); validated by :func:`~growthops.ads.reporting.slack_threads.set_prefs`."""

    lang: Literal["en", "fr"] | None = Field(
        default=None,
        description="Language of the messages; null: the reader's (en for the worker).",
    )
    alerts_channel: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Channel id (C…) or #name of the alerts; null: the Slack channel."
    )
    mode: Literal["threads", "digest", "both"] | None = None
    alert_min_severity: Literal["low", "medium", "high", "critical"] | None = None
    by: Name | None = None


class SlackSettingsOut(Out):
    """The tenant's Slack settings with defaults applied (``channel``: the tenant's Slack
    channel, set by ``PATCH /api/v1/tenants/{tenant}``)."""

    channel: str | None
    lang: str
    mode: str
    alerts_channel: str | None
    alert_min_severity: str


@routes.get("/slack", response_model=SlackSettingsOut, summary="The tenant's Slack settings")
def get_slack(scope: Scope) -> SlackSettingsOut:
    """Return the language, mode, alerts channel and lowest alerted severity."""
    from growthops.ads.reporting.slack_threads import tenant_prefs

    return SlackSettingsOut.model_validate(tenant_prefs(scope.conn, tenant_id=scope.tenant_id))


@routes.patch(
    "/slack",
    response_model=SlackSettingsOut,
    responses=WRITE,
    summary="Change the tenant's Slack settings",
)
def change_slack(body: SlackSettingsIn, scope: Scope) -> SlackSettingsOut:
    """Apply the given settings (audited when a stored value changes) and return them all."""
    from growthops.ads.reporting.slack_threads import change_prefs

    scope.require_decide()
    by = actor(scope, body.by, "by")
    prefs = change_prefs(
        scope.conn,
        tenant_id=scope.tenant_id,
        by=by,
        **body.model_dump(exclude_unset=True, exclude={"by"}),
    )
    return SlackSettingsOut.model_validate(prefs)


router = tenant_router(routes)
