"""``growthops sync --tenant KEY [--platform P] [--from D --to D]``: pull live insights;
``growthops intraday --tenant KEY``: the hourly sync and the pacing check, now.

Each ad account of the tenant (``ads.ad_accounts``) is synced by
:func:`growthops.ads.sync.run.sync_account` (campaign, ad set and ad levels; the trailing
re-pull window for late conversions unless ``--from`` is given), with a progress bar per
account and a summary table. Exit code: that of the first failed account's error (the other
accounts still sync).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from growthops.ads.cli.app import app
from growthops.core.cli import LangOpt, _lang, _tenant_id, console, err_console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _, format_money, format_percent


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from exc


@app.command("sync")
def sync_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    platform: Annotated[str | None, typer.Option("--platform", help="One platform (meta, google, ...); default: every ad account.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day to pull (YYYY-MM-DD); default: the re-pull window.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day to pull (YYYY-MM-DD); default: yesterday in the tenant's time zone.")] = None,
    lang: LangOpt = "",
) -> None:
    """Pull daily insights (campaign, ad set, ad) from the tenant's ad platforms."""
    from growthops.ads.sync.run import LEVELS, accounts_of, sync_account

    lg = _lang(lang)
    db = get_db()
    tid = _tenant_id(tenant)
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    platforms = [platform] if platform else accounts_of(db, tid)
    if not platforms:
        err_console.print(_(lg, "{tenant} has no ad account (see: growthops accounts).",
                            tenant=tenant))
        raise typer.Exit(1)
    table = Table(_(lg, "platform"), _(lg, "days"), _(lg, "rows read"), _(lg, "new"),
                  _(lg, "changed"), _(lg, "API calls"), _(lg, "retries"), _(lg, "waited (s)"),
                  _(lg, "status"), title=_(lg, "Sync of {tenant}", tenant=tenant))
    first_error: Exception | None = None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        for p in platforms:
            task = bar.add_task(p, total=len(LEVELS) + 1)
            try:
                res = sync_account(db, tenant_id=tid, platform=p, date_from=start, date_to=end,
                                   progress=lambda label, task=task: bar.advance(task))
            except Exception as exc:
                first_error = first_error or exc
                table.add_row(p, "", "", "", "", "", "", "", _(lg, "failed: {error}", error=exc))
                continue
            table.add_row(p, f"{res.date_from} … {res.date_to}", str(res.rows_fetched),
                          str(res.rows_inserted), str(res.rows_updated), str(res.api_calls),
                          str(res.retries), f"{res.waited_s:.1f}", _(lg, "succeeded"))
    console.print(table)
    if first_error is not None:
        raise first_error


@app.command("intraday")
def intraday_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    at: Annotated[str | None, typer.Option("--at", help="Instant to check at (ISO 8601, UTC when no offset); default: now.")] = None,
    lang: LangOpt = "",
) -> None:
    """Sync today's hourly spend and check the pacing of budgets (day and month), now."""
    from growthops.ads.sync.intraday import run_intraday

    lg = _lang(lang)
    now = None
    if at:
        try:
            now = datetime.fromisoformat(at)
        except ValueError as exc:
            raise InvalidInput(f"--at: {at!r} is not an ISO 8601 instant") from exc
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    db = get_db()
    tid = _tenant_id(tenant)
    with db.tenant_tx(tid) as conn:
        currency = conn.execute("select currency from core.tenants where tenant_id = %s",
                                [tid]).fetchone()["currency"].strip()
    with err_console.status(_(lg, "Reading today's hours…")):
        res = run_intraday(db, tenant_id=tid, now=now)
    for s in res.syncs:
        if s.error:
            err_console.print(_(lg, "{platform}: hourly sync failed: {error}", platform=s.platform,
                                error=s.error))
        else:
            err_console.print(_(lg, "{platform}: {rows} hourly rows read up to {hour}:59 on {day} "
                                "({new} new, {changed} changed).", platform=s.platform,
                                rows=s.rows_fetched, hour=str(s.local_hour).zfill(2), day=s.day,
                                new=s.rows_inserted, changed=s.rows_updated))
    methods = {"profile": _(lg, "own hourly profile"), "linear": _(lg, "linear"),
               "run_rate": _(lg, "14-day run rate")}
    table = Table(_(lg, "platform"), _(lg, "level"), _(lg, "entity"), _(lg, "spent so far"),
                  _(lg, "budget"), _(lg, "expected by now"), _(lg, "projected"), _(lg, "pace"),
                  _(lg, "status"), title=_(lg, "Intraday pacing of {tenant}", tenant=tenant))
    for c in res.checks:
        if c.newly_flagged:
            status = Text(_(lg, "overspend (new)"), style="bold red")
        elif c.flagged:
            status = Text(_(lg, "overspend (flagged earlier)"), style="red")
        else:
            status = Text(_(lg, "on pace"))
        entity = _(lg, "month") if c.scope == "month" else (c.entity_name or c.entity_id)
        table.add_row(c.platform if c.scope == "day" else _(lg, "all"),
                      c.level if c.scope == "day" else _(lg, "account"), entity,
                      format_money(c.spend_so_far, currency, lg),
                      format_money(c.budget, currency, lg),
                      format_percent(c.expected_share, lg),
                      format_money(c.projected, currency, lg), methods.get(c.method, c.method),
                      status)
    console.print(table)
    if not res.checks:
        console.print(_(lg, "No budgeted entity has spent today yet."))
