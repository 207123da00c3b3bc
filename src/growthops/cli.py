"""The ``growthops`` command line (Typer + Rich).

Errors of the :class:`~growthops.core.errors.GrowthopsError` hierarchy are printed without a
traceback and mapped to their ``exit_code``.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from growthops.core.db import get_db
from growthops.core.errors import GrowthopsError
from growthops.i18n import t
from growthops.settings import get_settings

# Piped output (CI logs, `make demo | tee`) gets wide tables instead of Rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 150
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)

app = typer.Typer(help="growthops: the media-buying copilot and AI operations platform for agencies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database: init, migrate, status.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (the agency's clients).", no_args_is_help=True)
import_app = typer.Typer(help="Import data files.", no_args_is_help=True)
suggestions_app = typer.Typer(help="Suggestions: list, show.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(import_app, name="import")
app.add_typer(suggestions_app, name="suggestions")

LangOpt = Annotated[str, typer.Option("--lang", help="Language of messages: en or fr (default GROWTHOPS_LANG).")]


def _lang(lang: str | None) -> str:
    return lang or get_settings().lang


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
    msg = t("db.migrated", _lang(lang), ids=", ".join(applied)) if applied else t("db.up_to_date", _lang(lang))
    console.print(msg)


@db_app.command("status")
def db_status() -> None:
    """Show where the database lives and which migrations are applied."""
    from growthops.core.db import describe
    from growthops.core.migrate import status

    db = get_db()
    table = Table("setting", "value")
    for k, v in describe(db).items():
        table.add_row(k, v)
    console.print(table)
    mt = Table("migration", "applied")
    for mid, ok in status(db):
        mt.add_row(mid, "yes" if ok else "[yellow]no[/]")
    console.print(mt)


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
    console.print(t("tenant.created", _lang(lang), client_key=tenant.client_key, id=tenant.tenant_id))


def _validate(model: Any, data: dict[str, Any]) -> Any:
    """Validate CLI input with the model (lax: CLI values are strings) naming each bad field."""
    from pydantic import ValidationError

    from growthops.core.errors import InvalidInput

    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(problems) from exc


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants."""
    from growthops.core.tenants.service import directory

    db = get_db()
    with db.app_tx() as conn:
        rows = directory(conn)
    table = Table("client_key", "name", "currency", "time zone", "tenant_id")
    for r in rows:
        table.add_row(r["client_key"], r["client_name"], r["currency"], r["time_zone"], str(r["tenant_id"]))
    console.print(table)


@tenants_app.command("show")
def tenants_show(tenant: Annotated[str, typer.Argument(help="client_key or tenant id")]) -> None:
    """Show one tenant's settings."""
    from growthops.core.tenants.service import get_tenant, resolve

    db = get_db()
    with db.app_tx() as conn:
        tid = resolve(conn, tenant)["tenant_id"]
    with db.tenant_tx(tid) as conn:
        tn = get_tenant(conn, tenant_id=tid)
    table = Table("field", "value")
    for k, v in tn.model_dump().items():
        table.add_row(k, "" if v is None else str(v))
    console.print(table)


def _tenant_id(key: str) -> Any:
    from growthops.core.tenants.service import resolve

    with get_db().app_tx() as conn:
        return resolve(conn, key)["tenant_id"]


def _tenant_keys(key: str | None) -> list[dict[str, Any]]:
    from growthops.core.tenants.service import directory, resolve

    with get_db().app_tx() as conn:
        return [resolve(conn, key)] if key else directory(conn)


# ------------------------------------------------------------------------------------ import
@import_app.command("ads")
def import_ads(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    fmt: Annotated[str, typer.Option("--format", help="growthops, online_ad_performance, fb_ad_campaign_2017, meta_ads_export")] = "growthops",
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows of a file with rejected rows.")] = False,
    year: Annotated[int, typer.Option("--year", help="Year for files whose dates have none (online_ad_performance).")] = 2020,
    lang: LangOpt = "",
) -> None:
    """Import daily ad metrics (COPY + idempotent upsert; every rejected row is reported)."""
    from growthops.ads.importer import import_metrics

    db = get_db()
    tid = _tenant_id(tenant)
    with db.tenant_tx(tid) as conn:
        res = import_metrics(conn, tenant_id=tid, path=file, fmt=fmt, skip_invalid=skip_invalid, progress=True, year=year)
    for r in res.rejected[:50]:
        err_console.print(f"[yellow]line {r.line}, column {r.column!r}: {r.reason} (value {r.value!r})[/]")
    console.print(t("import.done", _lang(lang), path=file.name, accepted=res.rows_accepted,
                    inserted=res.rows_inserted, updated=res.rows_updated,
                    unchanged=res.rows_accepted - res.rows_inserted - res.rows_updated,
                    rejected=len(res.rejected), dups=res.duplicates_skipped))


# ------------------------------------------------------------------------------------- daily
@app.command("daily")
def daily(
    tenant: Annotated[str | None, typer.Option("--tenant", help="client_key; all tenants if omitted")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last reporting day to analyse (YYYY-MM-DD); default: the tenant's latest day with data.")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report.")] = True,
    lang: LangOpt = "",
) -> None:
    """Run the daily cycle: baselines, anomalies, overspend, fatigue, suggestions, digest."""
    from growthops.ads.cycle import run_daily_cycle
    from growthops.ads.digest import print_digest

    db = get_db()
    day = date.fromisoformat(as_of) if as_of else None
    for row in _tenant_keys(tenant):
        result = run_daily_cycle(db, tenant_id=row["tenant_id"], as_of=day, progress=True)
        if result is None:
            console.print(t("daily.no_data", _lang(lang), tenant=row["client_key"], as_of=as_of or "today"))
            continue
        console.print(t("daily.done", _lang(lang), tenant=row["client_key"], **result.counts()))
        print_digest(db, console, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
        if report:
            from growthops.ads.report import write_report

            path = write_report(db, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
            console.print(t("report.written", _lang(lang), path=path))


@app.command("report")
def report_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default: latest cycle run")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output HTML file.")] = None,
    lang: LangOpt = "",
) -> None:
    """Write the self-contained HTML report of a cycle run (charts inline, no network needed)."""
    from growthops.ads.report import latest_as_of, write_report

    db = get_db()
    tid = _tenant_id(tenant)
    day = date.fromisoformat(as_of) if as_of else latest_as_of(db, tenant_id=tid)
    path = write_report(db, tenant_id=tid, as_of=day, lang=_lang(lang), out=out)
    console.print(t("report.written", _lang(lang), path=path))


@app.command("backtest")
def backtest_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    start: Annotated[str, typer.Option("--from", help="First as-of day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last as-of day (YYYY-MM-DD).")],
    horizon: Annotated[int, typer.Option(help="Days after each suggestion to measure.")] = 7,
    lang: LangOpt = "",
) -> None:
    """Replay the daily cycle day by day and measure what followed each suggestion (nothing is kept)."""
    from growthops.ads.backtest import print_backtest, run_backtest

    db = get_db()
    tid = _tenant_id(tenant)
    res = run_backtest(db, tenant_id=tid, start=date.fromisoformat(start), end=date.fromisoformat(end),
                       horizon_days=horizon, progress=True)
    print_backtest(console, res, tenant=tenant, lang=_lang(lang))


# ------------------------------------------------------------------------------- suggestions
@suggestions_app.command("list")
def suggestions_list(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    status: Annotated[str | None, typer.Option(help="pending, approved, refused, backlog, executed, expired")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    lang: LangOpt = "",
) -> None:
    """List a tenant's suggestions, highest priority and confidence first."""
    from growthops.ads.digest import print_suggestions

    db = get_db()
    print_suggestions(db, console, tenant_id=_tenant_id(tenant), status=status, limit=limit, lang=_lang(lang))


@suggestions_app.command("show")
def suggestions_show(
    suggestion_id: Annotated[int, typer.Argument()],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    lang: LangOpt = "",
) -> None:
    """Show one suggestion: action, reason, expected impact with its interval, evidence."""
    from growthops.ads.digest import print_suggestion

    print_suggestion(get_db(), console, tenant_id=_tenant_id(tenant), suggestion_id=suggestion_id, lang=_lang(lang))


# ------------------------------------------------------------------------------------ worker
@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 2,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs waiting now, then exit.")] = False,
) -> None:
    """Run the job worker (procrastinate): the daily cycle at 09:00 in each tenant's time zone."""
    from growthops.core.jobs.worker import run_worker

    run_worker(get_db(), concurrency=concurrency, once=once)


@app.command("defer-daily")
def defer_daily(
    tenant: Annotated[str | None, typer.Option("--tenant", help="client_key; all if omitted")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
) -> None:
    """Queue the daily cycle now (run by ``growthops worker``)."""
    from growthops.core.jobs.tasks import defer_daily_cycle

    for row in _tenant_keys(tenant):
        job_id = defer_daily_cycle(get_db(), tenant_id=row["tenant_id"], as_of=as_of)
        console.print(f"{row['client_key']}: job {job_id}")


# -------------------------------------------------------------------------------------- demo
@app.command("demo")
def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Delete the demo tenants first.")] = False,
    lang: LangOpt = "",
) -> None:
    """Run the main job on real public data: two tenants, import, daily cycle, digest, report, backtest."""
    from growthops.demo import run_demo

    run_demo(get_db(), console, reset=reset, lang=_lang(lang))


def main() -> None:
    """Console entry point: run the app, mapping growthops errors to exit codes."""
    try:
        app()
    except GrowthopsError as exc:
        err_console.print(f"[red]{t('error', get_settings().lang)}:[/] {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
