"""``growthops ads airtable configure|show|sync|remove``: the tenant's Airtable mirror
(:mod:`growthops.ads.airtable`, ``docs/airtable.md``).

The personal access token is read from stdin (``--token-stdin``) or a hidden prompt, never
from a command-line argument (shell history, ``ps``), and stored encrypted.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.ads.cli.allocation import ads_app
from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import N_, _

airtable_app = typer.Typer(
    help="Mirror the tenant's business data to an Airtable base.", no_args_is_help=True
)
ads_app.add_typer(airtable_app, name="airtable")
#: The merge rule's outcomes shown by ``sync`` (mapping.merge_field).
RULES = {"conflict": N_("conflict"), "rejected": N_("rejected")}


def _tables(values: list[str] | None, lang: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        kind, sep, name = v.partition("=")
        if not sep or not kind.strip() or not name.strip():
            raise InvalidInput(
                _(lang, "--table: {value!r} is not KIND=NAME (e.g. clients=Clients)", value=v[:80])
            )
        out[kind.strip()] = name.strip()
    return out


@airtable_app.command("configure")
def configure_cmd(
    tenant: TenantOpt,
    base: Annotated[str, typer.Option("--base", help="Airtable base id (app...).")],
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            help="KIND=NAME: the Airtable table of a kind (clients, suggestions, "
            "decisions, winning_patterns, ads_library); default the kind's name.",
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="API root (default https://api.airtable.com)."),
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the personal access token from stdin.")
    ] = False,
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Replace the stored token (hidden prompt).")
    ] = False,
    disable: Annotated[
        bool, typer.Option("--disable", help="Keep the settings, stop syncing.")
    ] = False,
    by: Annotated[str, typer.Option("--by", help="Who changes it.")] = "cli",
    lang: LangOpt = "",
) -> None:
    """Create or change the tenant's Airtable mirror; the token is stored encrypted."""
    from growthops.ads.airtable.mirror import configure

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    tables = _tables(table, lg)
    db = get_db()
    with db.tenant_tx(tid) as conn:
        exists = (
            conn.execute(
                "select 1 from ads.airtable_mirrors where tenant_id = %s", [tid]
            ).fetchone()
            is not None
        )
    token = None
    if token_stdin:
        token = sys.stdin.read().strip()
    elif new_token or not exists:
        token = typer.prompt(_(lg, "Airtable personal access token"), hide_input=True)
    with db.tenant_tx(tid) as conn:
        row = configure(
            conn,
            tenant_id=tid,
            base_id=base,
            token=token,
            endpoint_url=endpoint_url,
            table_names=tables,
            enabled=not disable,
            by=by,
        )
    console.print(
        _(
            lg,
            "{tenant}: Airtable mirror to base {base} saved ({state}); the token is "
            "stored encrypted.",
            tenant=tenant,
            base=row["base_id"],
            state=_(lg, "enabled") if row["enabled"] else _(lg, "disabled"),
        ),
        markup=False,
    )


@airtable_app.command("show")
def show_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Show the tenant's mirror (never the token), its record counts and its last sync."""
    from growthops.ads.airtable.mirror import show

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        m = show(conn, tenant_id=tid)
    table = Table(
        _(lg, "setting"), _(lg, "value"), title=_(lg, "Airtable mirror of {tenant}", tenant=tenant)
    )
    table.add_row(_(lg, "base"), m["base_id"])
    table.add_row(_(lg, "endpoint"), m["endpoint_url"] or "https://api.airtable.com")
    table.add_row(_(lg, "status"), _(lg, "enabled") if m["enabled"] else _(lg, "disabled"))
    table.add_row(_(lg, "token"), _(lg, "stored, encrypted") if m["has_token"] else "—")
    table.add_row(
        _(lg, "tables"), ", ".join(f"{k}={v}" for k, v in m["table_names"].items()) or "—"
    )
    table.add_row(
        _(lg, "records mirrored"),
        ", ".join(f"{k}: {n}" for k, n in sorted(m["records"].items())) or "0",
    )
    run = m["last_run"]
    if run:
        table.add_row(_(lg, "last sync"), _sync_line(run, lg))
    console.print(table)


def _sync_line(r: Any, lang: str) -> str:
    get = r.get if isinstance(r, dict) else lambda k: getattr(r, k)
    return _(
        lang,
        "{status}: {created} created, {updated} updated, {unchanged} unchanged, "
        "{deleted} deleted; {pulled} pulled, {conflicts} conflicts (PostgreSQL kept), "
        "{rejected} refused; {calls} API calls, {retries} retries",
        status=_(lang, str(get("status"))),
        created=get("created"),
        updated=get("updated"),
        unchanged=get("unchanged"),
        deleted=get("deleted"),
        pulled=get("pulled"),
        conflicts=get("conflicts"),
        rejected=get("rejected"),
        calls=get("api_calls"),
        retries=get("retries"),
    )


@airtable_app.command("sync")
def sync_cmd(
    tenant: TenantOpt,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Push every row, even unchanged ones (repairs records deleted in Airtable).",
        ),
    ] = False,
    lang: LangOpt = "",
) -> None:
    """Pull the declared fields from Airtable, merge them, push what changed."""
    from growthops.ads.airtable.sync import sync_mirror

    lg = _lang(lang)
    res = sync_mirror(get_db(), tenant_id=_tenant_id(tenant), trigger="cli", full=full)
    console.print(_sync_line(res, lg), markup=False)
    for d in res.details:
        if d["rule"] in ("conflict", "rejected"):
            console.print(
                _(
                    lg,
                    "{rule}: {kind} {key} {field}: Airtable {airtable!r}, PostgreSQL "
                    "{postgresql!r} (kept)",
                    rule=_(lg, RULES[d["rule"]]),
                    kind=d["kind"],
                    key=d["row_key"],
                    field=d["field"],
                    airtable=d["airtable"],
                    postgresql=d["postgresql"],
                ),
                markup=False,
            )


@airtable_app.command("remove")
def remove_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Remove the tenant's mirror and its record map (the Airtable base is left as it is)."""
    from growthops.ads.airtable.mirror import remove

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        found = remove(conn, tenant_id=tid)
    console.print(
        _(lg, "{tenant}: Airtable mirror removed.", tenant=tenant)
        if found
        else _(lg, "{tenant} has no Airtable mirror.", tenant=tenant),
        markup=False,
    )
