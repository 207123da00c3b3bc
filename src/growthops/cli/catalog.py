"""``growthops tenants products | funnels list | set``: a tenant's products and funnels.

The rows of ``core.products`` and ``core.funnels`` (seed 000), through
:mod:`growthops.core.tenants.catalog` (``save_product``, ``save_funnel``): the functions of the
dashboard's settings page, with the same validation (:class:`~growthops.core.tenants.catalog.
ProductIn`, :class:`~growthops.core.tenants.catalog.FunnelIn`) and the same audit in
``core.system_logs`` (module ``growthops.core.tenants``, ``--by``). ``set`` without ``--id``
adds a row; with ``--id`` it changes only the options given and keeps the others. Nothing is
deleted: a product is retired with ``--status deprecated``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.cli.core import tenants_app
from growthops.core.cli import LangOpt, _lang, _tenant_id, _validate, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.i18n import _

products_app = typer.Typer(help="Products of a tenant (price, type, status).", no_args_is_help=True)
funnels_app = typer.Typer(
    help="Funnels of a tenant (stages, benchmarks, product, campaigns).", no_args_is_help=True
)
tenants_app.add_typer(products_app, name="products")
tenants_app.add_typer(funnels_app, name="funnels")

TenantArg = Annotated[str, typer.Option("--tenant", help="client_key or tenant id")]
ByOpt = Annotated[str, typer.Option("--by", help="Who makes the change (audited).")]
IdOpt = Annotated[int | None, typer.Option("--id", help="The row to change; none: add one.")]


def _none(v: str | None) -> Any:
    """``none`` (any case) clears an option's value."""
    return None if v is not None and v.strip().lower() == "none" else v


def _current(conn: Any, table: str, key: str, tid: Any, row_id: int, what: str) -> dict[str, Any]:
    row = conn.execute(
        f"select * from {table} where tenant_id = %s and {key} = %s", [str(tid), row_id]
    ).fetchone()
    if row is None:
        raise NotFound(f"--id: no {what} {row_id} for this tenant")
    return dict(row)


def _report(lg: str, what: str, row_id: int, before: dict[str, Any], after: dict[str, Any]) -> None:
    if not after:
        console.print(_(lg, "{what} {id}: nothing to change.", what=what, id=row_id))
        return
    table = Table(
        _(lg, "setting"),
        _(lg, "before"),
        _(lg, "after"),
        title=_(lg, "{what} {id} saved", what=what, id=row_id),
    )
    for k in sorted(after):
        table.add_row(
            k,
            "" if before.get(k) is None else str(before[k]),
            "" if after[k] is None else str(after[k]),
        )
    console.print(table)


# ---------------------------------------------------------------------------------- products
@products_app.command("list")
def products_list(tenant: TenantArg, lang: LangOpt = "") -> None:
    """List the tenant's products, oldest first."""
    from growthops.core.tenants.catalog import list_products

    lg, tid = _lang(lang), _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_products(conn, tenant_id=tid)
    if not rows:
        console.print(_(lg, "{tenant}: no product yet.", tenant=tenant))
        return
    table = Table(
        "id",
        _(lg, "name"),
        _(lg, "type"),
        _(lg, "price"),
        _(lg, "payment options"),
        _(lg, "status"),
        title=_(lg, "Products of {tenant}", tenant=tenant),
    )
    for r in rows:
        table.add_row(
            str(r["product_id"]),
            r["product_name"],
            r["product_type"] or "",
            "" if r["price"] is None else str(r["price"]),
            r["payment_options"] or "",
            r["status"],
        )
    console.print(table)


@products_app.command("set")
def products_set(
    tenant: TenantArg,
    by: ByOpt,
    product_id: IdOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Product name (required to add).")
    ] = None,
    product_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="coaching_program, course, software, physical_product or service; none clears it.",
        ),
    ] = None,
    price: Annotated[
        str | None,
        typer.Option(
            "--price", help="Price in the tenant's currency (major units); none clears it."
        ),
    ] = None,
    payment_options: Annotated[
        str | None, typer.Option("--payment-options", help="Free text; none clears it.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="active, paused or deprecated.")
    ] = None,
    lang: LangOpt = "",
) -> None:
    """Add a product, or change one (``--id``; only the options given change); audited."""
    from growthops.core.tenants.catalog import ProductIn, save_product

    lg, tid = _lang(lang), _tenant_id(tenant)
    options = {
        "product_name": name,
        "product_type": product_type,
        "price": price,
        "payment_options": payment_options,
        "status": status,
    }
    given = {k: _none(v) for k, v in options.items() if v is not None}
    with get_db().tenant_tx(tid) as conn:
        data: dict[str, Any] = {}
        if product_id is not None:
            cur = _current(conn, "core.products", "product_id", tid, product_id, "product")
            data = {k: cur[k] for k in ProductIn.model_fields}
        elif name is None:
            raise InvalidInput("--name: required to add a product")
        data.update(given)
        product = _validate(ProductIn, data)
        before, after, pid = save_product(
            conn, tenant_id=tid, product_id=product_id, product=product, by=by
        )
    _report(lg, _(lg, "product"), pid, before, after)


# ----------------------------------------------------------------------------------- funnels
def parse_benchmarks(items: list[str]) -> dict[str, str]:
    """Parse ``--benchmark stage_to_next=0.3`` options (``30%`` is 0.3); raise
    :class:`InvalidInput` naming ``--benchmark`` and the bad item."""
    from decimal import Decimal, InvalidOperation

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        value = value.strip()
        pct = value.endswith("%")
        try:
            number = Decimal(value.rstrip("%").strip())
        except InvalidOperation:
            number = None
        if not sep or not key.strip() or number is None:
            raise InvalidInput(
                f"--benchmark: {item!r} is not stage_to_next_stage=fraction, "
                "e.g. webinar_to_application=0.3"
            )
        out[key.strip()] = str(number / 100 if pct else number)
    return out


def split_ids(items: list[str]) -> list[str]:
    """Campaign ids from repeated and comma-separated options, stripped, first occurrence kept."""
    out: list[str] = []
    for item in items:
        for x in item.split(","):
            x = x.strip()
            if x and x not in out:
                out.append(x)
    return out


@funnels_app.command("list")
def funnels_list(tenant: TenantArg, lang: LangOpt = "") -> None:
    """List the tenant's funnels, oldest first."""
    from growthops.core.tenants.catalog import list_funnels

    lg, tid = _lang(lang), _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_funnels(conn, tenant_id=tid)
    if not rows:
        console.print(_(lg, "{tenant}: no funnel yet.", tenant=tenant))
        return
    table = Table(
        "id",
        _(lg, "name"),
        _(lg, "type"),
        _(lg, "stages"),
        _(lg, "benchmarks"),
        _(lg, "product"),
        _(lg, "campaigns"),
        title=_(lg, "Funnels of {tenant}", tenant=tenant),
    )
    for r in rows:
        table.add_row(
            str(r["funnel_id"]),
            r["funnel_name"],
            r["funnel_type"] or "",
            " > ".join(r["stages"] or []),
            ", ".join(f"{k}={v}" for k, v in (r["conversion_benchmarks"] or {}).items()),
            "" if r["product_id"] is None else str(r["product_id"]),
            ", ".join(r["campaign_ids"] or []) or _(lg, "all"),
        )
    console.print(table)


@funnels_app.command("set")
def funnels_set(
    tenant: TenantArg,
    by: ByOpt,
    funnel_id: IdOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Funnel name (required to add).")
    ] = None,
    funnel_type: Annotated[
        str | None,
        typer.Option(
            "--type", help="webinar, vsl, application, book-call, ecom or hybrid; none clears it."
        ),
    ] = None,
    stages: Annotated[
        list[str] | None,
        typer.Option("--stage", help="A stage, in order (repeat the option); replaces them all."),
    ] = None,
    benchmarks: Annotated[
        list[str] | None,
        typer.Option(
            "--benchmark",
            help="stage_to_next_stage=fraction or percentage (repeat); replaces them all.",
        ),
    ] = None,
    product_id: Annotated[
        str | None,
        typer.Option("--product-id", help="One of the tenant's products; none clears it."),
    ] = None,
    campaign_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--campaign-id",
            help="A campaign of this funnel (repeat, or comma-separated); none: every campaign.",
        ),
    ] = None,
    lang: LangOpt = "",
) -> None:
    """Add a funnel, or change one (``--id``; only the options given change); audited."""
    from growthops.core.tenants.catalog import FunnelIn, save_funnel

    lg, tid = _lang(lang), _tenant_id(tenant)
    given: dict[str, Any] = {}
    if name is not None:
        given["funnel_name"] = name
    if funnel_type is not None:
        given["funnel_type"] = _none(funnel_type)
    if stages is not None:
        given["stages"] = [s for s in stages if s.strip()]
    if benchmarks is not None:
        given["conversion_benchmarks"] = parse_benchmarks(benchmarks)
    if product_id is not None:
        given["product_id"] = _none(product_id)
    if campaign_ids is not None:
        ids = split_ids(campaign_ids)
        given["campaign_ids"] = [] if [x.lower() for x in ids] == ["none"] else ids
    with get_db().tenant_tx(tid) as conn:
        data: dict[str, Any] = {}
        if funnel_id is not None:
            cur = _current(conn, "core.funnels", "funnel_id", tid, funnel_id, "funnel")
            data = {k: cur[k] for k in FunnelIn.model_fields}
            data["conversion_benchmarks"] = dict(data["conversion_benchmarks"] or {})
        elif name is None:
            raise InvalidInput("--name: required to add a funnel")
        data.update(given)
        funnel = _validate(FunnelIn, data)
        before, after, fid = save_funnel(
            conn, tenant_id=tid, funnel_id=funnel_id, funnel=funnel, by=by
        )
    _report(lg, _(lg, "funnel"), fid, before, after)
