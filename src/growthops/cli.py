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
suggestions_app = typer.Typer(help="Suggestions: list, show, approve, refuse, backlog, execute, history.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(import_app, name="import")
app.add_typer(suggestions_app, name="suggestions")


def _register_learning() -> None:
    from growthops.ads.learning_cli import learning_app

    app.add_typer(learning_app, name="learning", help="Learning: hypotheses outcomes, calibration, decision patterns.")


_register_learning()

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
    """Run the daily cycle: baselines, anomalies, overspend, fatigue, learning, suggestions, digest;
    then reconcile, auto-apply (if the tenant's policy allows) and post the Slack digest."""
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
        from growthops.ads.cycle import after_cycle

        after_cycle(db, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
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
    """Run the main job on real data (two tenants: import, daily cycle, digest, report, backtest),
    then close the loop on a sandbox account (approve, execute, fast-forward, measure)."""
    from growthops.demo import run_demo

    run_demo(get_db(), console, reset=reset, lang=_lang(lang))


# ------------------------------------------------- decisions, validation, archive, audit, keys
validation_app = typer.Typer(help="Validation queue: client review, then team review.",
                             no_args_is_help=True)
archive_app = typer.Typer(help="Archive old suggestions and decisions.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of a tenant (HTTP API).", no_args_is_help=True)
app.add_typer(validation_app, name="validation")
app.add_typer(archive_app, name="archive")
app.add_typer(apikeys_app, name="apikeys")

SuggestionArg = Annotated[int, typer.Argument(help="Suggestion id (see: growthops suggestions list).")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="client_key or tenant id")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (name or handle).")]
NotesOpt = Annotated[str | None, typer.Option("--notes", help="Why (free text).")]


def _decision_conflict_text(exc: Any, decision: str, lang: str) -> str:
    """Word a DecisionConflict in ``lang`` from its attributes."""
    from growthops.ads.decisions import fmt_utc
    from growthops.ads.digest import code_label

    status = code_label(exc.status, lang)
    if exc.reason == "expired":
        return t("decision.conflict_expired", lang, id=exc.suggestion_id,
                 expires=fmt_utc(exc.expires_at), status=status)
    if exc.reason == "archived":
        return t("decision.conflict_archived", lang, id=exc.suggestion_id, status=status)
    return t("decision.conflict_decided", lang, id=exc.suggestion_id, status=status,
             by=exc.decided_by or "?", at=fmt_utc(exc.decided_at), channel=exc.channel or "?",
             decision=code_label(decision, lang))


def _decide_cmd(decision: str, suggestion_id: int, tenant: str, by: str, notes: str | None,
                lang: str, execute: bool = False) -> None:
    """Record a decision from the CLI; print a clear message and exit 5 on a conflict."""
    from growthops.ads.decisions import DecisionConflict, decide
    from growthops.ads.digest import code_label

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    try:
        with get_db().tenant_tx(tid) as conn:
            res = decide(conn, tenant_id=tid, suggestion_id=suggestion_id, decision=decision,
                         decided_by=by, notes=notes, channel="cli")
    except DecisionConflict as exc:
        err_console.print(f"[red]{_decision_conflict_text(exc, decision, lg)}[/]")
        raise typer.Exit(code=exc.exit_code) from None
    console.print(t("decision.done", lg, id=suggestion_id, decision=code_label(decision, lg),
                    by=res["decided_by"], before=code_label(res["status_before"], lg)))
    if decision == "approved" and execute:
        from growthops.ads.execution import execute_after_approval

        out = execute_after_approval(get_db(), tenant_id=tid, suggestion_id=suggestion_id, actor=by)
        if out is not None:
            _print_outcomes([out])


@suggestions_app.command("approve")
def suggestions_approve(
    suggestion_id: SuggestionArg, tenant: TenantOpt, by: ByOpt, notes: NotesOpt = None,
    execute: Annotated[bool, typer.Option("--execute/--no-execute", help="Execute it on the ad account now (within the guard rails).")] = True,
    lang: LangOpt = "",
) -> None:
    """Approve a suggestion and execute it on the ad account within the guard rails (when the
    tenant has one); refused if expired or already decided."""
    _decide_cmd("approved", suggestion_id, tenant, by, notes, lang, execute=execute)


@suggestions_app.command("refuse")
def suggestions_refuse(suggestion_id: SuggestionArg, tenant: TenantOpt, by: ByOpt,
                       notes: NotesOpt = None, lang: LangOpt = "") -> None:
    """Refuse a suggestion, saying why (the reviewers' patterns are learnt from this)."""
    _decide_cmd("refused", suggestion_id, tenant, by, notes, lang)


@suggestions_app.command("backlog")
def suggestions_backlog(suggestion_id: SuggestionArg, tenant: TenantOpt, by: ByOpt,
                        notes: NotesOpt = None, lang: LangOpt = "") -> None:
    """Put a suggestion in the backlog: it can still be approved or refused until it expires."""
    _decide_cmd("backlog", suggestion_id, tenant, by, notes, lang)


@suggestions_app.command("history")
def suggestions_history(
    tenant: TenantOpt,
    entity: Annotated[str | None, typer.Option("--entity", help="The platform's entity id.")] = None,
    suggestion_id: Annotated[int | None, typer.Option("--id", help="One suggestion.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    lang: LangOpt = "",
) -> None:
    """What changed on the account, who approved it, why, and what happened."""
    from growthops.ads.decisions import history
    from growthops.ads.digest import code_label, entity_label, fmt_ts, suggestion_text

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = history(conn, tenant_id=tid, entity_id=entity, suggestion_id=suggestion_id,
                       limit=limit)
    if not rows:
        console.print(t("history.empty", lg))
        return
    table = Table(title=t("history.title", lg, tenant=tenant), show_lines=True)
    for key in ("col.id", "col.created", "col.type", "col.entity", "col.action", "col.status",
                "history.col.decisions", "history.col.execution", "history.col.outcome"):
        table.add_column(t(key, lg), overflow="fold")
    for e in rows:
        s = e["suggestion"]
        decided = "\n".join(
            f"{code_label(d['decision'], lg)}: {d['decided_by']} {fmt_ts(d['decided_at'])}"
            + (f" — {d['notes']}" if d["notes"] else "") for d in e["decisions"]) or "–"
        ex = e["executions"][-1] if e["executions"] else None
        execution = (f"{ex['status']} {fmt_ts(ex['executed_at'] or ex['claimed_at'])}"
                     + (f"\n{ex['error_message']}" if ex.get("error_message") else "")) if ex else "–"
        hyp = e["hypothesis"]
        outcome = (hyp["outcome"] or f"… {hyp['measurement_end_date']}") if hyp else "–"
        table.add_row(str(s["suggestion_id"]), fmt_ts(s["created_at"]), code_label(s["type"], lg),
                      entity_label(s), suggestion_text(s, "action", lg),
                      code_label(s["status"], lg) + (" (archive)" if s["archived"] else ""),
                      decided, execution, outcome)
    console.print(table)


# -------------------------------------------------------------------------------- validation
def _validation_conflict(exc: Exception, tid: Any, queue_id: int, lang: str) -> str:
    """Word a validation conflict in ``lang`` from the item's state (fallback: the message)."""
    from growthops.ads.digest import code_label
    from growthops.ads.validation import audit_ts, get_item

    try:
        with get_db().tenant_tx(tid) as conn:
            item = get_item(conn, tenant_id=tid, queue_id=queue_id)
    except GrowthopsError:
        return str(exc)
    if item["effective_status"] == "expired":
        return t("validation.conflict_expired", lang, id=queue_id,
                 expires=audit_ts(item["expires_at"]), stage=item["validation_stage"])
    if item["status"] in ("approved", "rejected"):
        by, at = ((item["team_validated_by"], item["team_validated_at"])
                  if item["status"] == "approved" else (item["rejected_by"], item["rejected_at"]))
        return t("validation.conflict_final", lang, id=queue_id,
                 status=code_label(item["status"], lang), by=by or "?", at=audit_ts(at))
    return str(exc)


@validation_app.command("submit")
def validation_submit(
    tenant: TenantOpt,
    item_type: Annotated[str, typer.Option("--type", help="ad_creative, campaign_change or budget_increase")],
    name: Annotated[str, typer.Option("--name", help="What is reviewed (creative or change name).")],
    by: Annotated[str, typer.Option("--by", help="Who submits.")],
    content: Annotated[str | None, typer.Option("--content", help="JSON object: copy, asset URL, change...")] = None,
    suggestion: Annotated[int | None, typer.Option("--suggestion", help="The suggestion this item comes from.")] = None,
    ttl_hours: Annotated[float | None, typer.Option("--ttl-hours", help="Review window in hours (default 72).")] = None,
    lang: LangOpt = "",
) -> None:
    """Submit an item for client review (it expires after the review window)."""
    import json

    from growthops.ads.validation import audit_ts, submit
    from growthops.core.errors import InvalidInput

    try:
        body = json.loads(content) if content else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--content: not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(body, dict):
        raise InvalidInput("--content: must be a JSON object")
    if suggestion is not None:
        body["suggestion_id"] = suggestion
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = submit(conn, tenant_id=tid, item_type=item_type, item_name=name, submitted_by=by,
                     content=body, ttl_hours=ttl_hours)
    console.print(t("validation.submitted", _lang(lang), id=row["queue_id"], type=item_type,
                    expires=audit_ts(row["expires_at"])))


def _validation_move(action: str, queue_id: int, tenant: str, by: str, text: str | None,
                     lang: str) -> None:
    from growthops.ads.validation import advance, reject
    from growthops.core.errors import Conflict

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    try:
        with get_db().tenant_tx(tid) as conn:
            before = conn.execute("select validation_stage from ads.validation_queue "
                                  "where tenant_id = %s and queue_id = %s",
                                  [tid, queue_id]).fetchone()
            if action == "advance":
                row = advance(conn, tenant_id=tid, queue_id=queue_id, by=by, notes=text)
            else:
                row = reject(conn, tenant_id=tid, queue_id=queue_id, by=by, reason=text or "")
    except Conflict as exc:
        err_console.print(f"[red]{_validation_conflict(exc, tid, queue_id, lg)}[/]")
        raise typer.Exit(code=exc.exit_code) from None
    if action == "advance":
        console.print(t("validation.advanced", lg, id=queue_id,
                        before=before["validation_stage"] if before else "?",
                        after=row["validation_stage"], by=by))
    else:
        console.print(t("validation.rejected", lg, id=queue_id,
                        stage=before["validation_stage"] if before else "?",
                        by=by, reason=row["rejection_reason"]))


@validation_app.command("advance")
def validation_advance(
    queue_id: Annotated[int, typer.Argument(help="Validation item id.")],
    tenant: TenantOpt,
    by: Annotated[str, typer.Option("--by", help="Reviewer.")],
    notes: NotesOpt = None,
    lang: LangOpt = "",
) -> None:
    """Move an item to the next stage: client_review → team_review → approved."""
    _validation_move("advance", queue_id, tenant, by, notes, lang)


@validation_app.command("reject")
def validation_reject(
    queue_id: Annotated[int, typer.Argument(help="Validation item id.")],
    tenant: TenantOpt,
    by: Annotated[str, typer.Option("--by", help="Reviewer.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
    lang: LangOpt = "",
) -> None:
    """Reject an item at its current stage, saying why."""
    _validation_move("reject", queue_id, tenant, by, reason, lang)


@validation_app.command("list")
def validation_list(
    tenant: TenantOpt,
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected, expired")] = None,
    stage: Annotated[str | None, typer.Option(help="client_review, team_review, approved, rejected")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    lang: LangOpt = "",
) -> None:
    """List validation items, newest first (overdue items show as expired)."""
    from growthops.ads.digest import code_label, fmt_ts
    from growthops.ads.validation import list_items

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = list_items(conn, tenant_id=tid, status=status, stage=stage, limit=limit)
    if not rows:
        console.print(t("validation.none", lg))
        return
    cols = ("type", "item", "stage", "status", "submitted", "client", "team", "rejected", "expires")
    table = Table("#", *(t(f"validation.col.{c}", lg) for c in cols),
                  title=f"{t('validation.list_title', lg, tenant=tenant)} ({len(rows)}/{total})")
    for r in rows:
        def who(by: Any, at: Any) -> str:
            return f"{by} {fmt_ts(at)}" if by else "–"
        table.add_row(str(r["queue_id"]), r["item_type"], r["item_name"], r["validation_stage"],
                      code_label(r["effective_status"], lg),
                      who(r["submitted_by"], r["submitted_at"]),
                      who(r["client_validated_by"], r["client_validated_at"]),
                      who(r["team_validated_by"], r["team_validated_at"]),
                      who(r["rejected_by"], r["rejected_at"])
                      + (f": {r['rejection_reason']}" if r["rejection_reason"] else ""),
                      fmt_ts(r["expires_at"]))
    console.print(table)


# ----------------------------------------------------------------------------------- archive
@archive_app.command("run")
def archive_run(
    tenant: Annotated[str | None, typer.Option("--tenant", help="client_key; all tenants if omitted")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100000)] = 1000,
    lang: LangOpt = "",
) -> None:
    """Archive suggestions older than 30 days and decisions older than 90 days (idempotent)."""
    from growthops.ads.archive import archive_tenant

    lg = _lang(lang)
    for row in _tenant_keys(tenant):
        r = archive_tenant(get_db(), tenant_id=row["tenant_id"], batch_size=batch_size)
        s, d = r.suggestions, r.decisions
        console.print(t("archive.done", lg, tenant=row["client_key"], expired=r.expired,
                        sug=s.moved, sug_before=s.before["live"] + s.before["archive"],
                        sug_after=s.after["live"] + s.after["archive"], dec=d.moved,
                        dec_before=d.before["live"] + d.before["archive"],
                        dec_after=d.after["live"] + d.after["archive"]))


# ------------------------------------------------------------------------------------- audit
@app.command("audit")
def audit_cmd(
    tenant: TenantOpt,
    entity: Annotated[str | None, typer.Option("--entity", help="The platform's entity id.")] = None,
    object_type: Annotated[str | None, typer.Option("--object-type", help="suggestion, execution, validation_item...")] = None,
    object_id: Annotated[str | None, typer.Option("--object-id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    lang: LangOpt = "",
) -> None:
    """Show the audit trail: every state change, who made it and why (newest first)."""
    import json

    from growthops.ads.audit import trail
    from growthops.ads.digest import fmt_ts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = trail(conn, tenant_id=tid, object_type=object_type, object_id=object_id,
                     entity_id=entity, limit=limit)
    if not rows:
        console.print(t("audit.none", lg))
        return
    cols = ("when", "actor", "action", "object", "entity", "before", "after", "reason")
    table = Table("#", *(t(f"audit.col.{c}", lg) for c in cols),
                  title=t("audit.title", lg, tenant=tenant))

    def js(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str) if v is not None else "–"

    for r in rows:
        table.add_row(str(r["audit_id"]), fmt_ts(r["occurred_at"]), r["actor"], r["action"],
                      f"{r['object_type']} {r['object_id']}",
                      " ".join(x for x in (r["platform"], r["entity_id"]) if x) or "–",
                      js(r["before"]), js(r["after"]), r["reason"] or "–")
    console.print(table)


# ---------------------------------------------------------------------------------- API keys
@apikeys_app.command("create")
def apikeys_create(
    tenant: TenantOpt,
    name: Annotated[str, typer.Option("--name", help="What the key is for (dashboard, zapier...).")],
    by: Annotated[str | None, typer.Option("--by", help="Who creates it.")] = None,
    lang: LangOpt = "",
) -> None:
    """Create an API key for a tenant and print it once (only its hash is stored)."""
    from growthops.core.auth.api_keys import create

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        key = create(conn, tenant_id=tid, name=name, created_by=by)
    console.print(t("apikey.created", _lang(lang), prefix=key.prefix, tenant=tenant, name=key.name))
    # The key alone on its own line, unstyled, so it can be piped or copied.
    print(key.plaintext, flush=True)


@apikeys_app.command("list")
def apikeys_list(tenant: TenantOpt) -> None:
    """List a tenant's API keys (prefix, name, dates; never the key)."""
    from growthops.ads.digest import fmt_ts
    from growthops.core.auth.api_keys import list_keys

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_keys(conn, tenant_id=tid)
    table = Table("id", "prefix", "name", "created", "last used", "revoked")
    for r in rows:
        table.add_row(str(r["key_id"]), r["prefix"], r["name"], fmt_ts(r["created_at"]),
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
    console.print(t("apikey.revoked", _lang(lang), prefix=row["prefix"], tenant=tenant))


# -------------------------------------------------------------------------------------- users
users_app = typer.Typer(help="User accounts of the dashboard and the API (roles, passwords).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    """Read a new password from stdin (first line) or prompt for it twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail (login).")],
    role: Annotated[str, typer.Option("--role", help="admin, media_buyer or client_viewer.")],
    tenant: Annotated[str | None, typer.Option(
        "--tenant", help="client_key of the one tenant a client_viewer sees.")] = None,
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
    from growthops.ads.digest import fmt_ts
    from growthops.core.auth.users import list_users
    from growthops.core.tenants.service import directory

    users = list_users(get_db(), tenant_id=_tenant_id(tenant) if tenant else None)
    with get_db().app_tx() as conn:
        keys = {str(r["tenant_id"]): r["client_key"] for r in directory(conn)}
    table = Table("email", "role", "tenant", "lang", "active", "last login")
    for u in users:
        table.add_row(u.email, u.role, keys.get(str(u.tenant_id), "–") if u.tenant_id else "–",
                      u.lang, "yes" if u.active else "no",
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


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API (uvicorn); OpenAPI docs at /docs."""
    import uvicorn

    uvicorn.run("growthops.app:create_app", factory=True, host=host, port=port)



# --------------------------------------------------------------------------------- execution
def _print_outcomes(outcomes: list[Any]) -> None:
    table = Table("suggestion", "status", "message")
    for o in outcomes:
        table.add_row(str(o.suggestion_id), o.status, o.message or "")
    console.print(table)


@suggestions_app.command("execute")
def suggestions_execute(
    suggestion_id: Annotated[int, typer.Argument()],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    by: Annotated[str | None, typer.Option("--by", help="Who executes (required with --force).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Edit an entity still in its learning phase (audited).")] = False,
) -> None:
    """Execute one approved suggestion on the ad account, within the guard rails."""
    from growthops.ads.execution import execute_suggestion
    from growthops.core.errors import InvalidInput

    if force and not by:
        raise InvalidInput("--force needs --by NAME: forcing a guard rail is audited under a person's name")
    out = execute_suggestion(get_db(), tenant_id=_tenant_id(tenant), suggestion_id=suggestion_id,
                             actor=by or "cli", force=force)
    _print_outcomes([out])


@app.command("execute")
def execute_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Execute every approved suggestion of a tenant (exactly once, within the guard rails)."""
    from growthops.ads.execution import execute_approved

    _print_outcomes(execute_approved(get_db(), tenant_id=_tenant_id(tenant)))


@app.command("reconcile")
def reconcile_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Settle executions interrupted between the platform call and the database write."""
    from growthops.ads.execution import reconcile

    n = reconcile(get_db(), tenant_id=_tenant_id(tenant))
    console.print(f"{n} interrupted execution(s) settled")


@app.command("auto-apply")
def auto_apply_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Apply pending suggestions without a human where the tenant's auto-apply policy allows it."""
    from growthops.ads.execution import auto_apply

    _print_outcomes(auto_apply(get_db(), tenant_id=_tenant_id(tenant)))


def main() -> None:
    """Console entry point: run the app, mapping growthops errors to exit codes."""
    try:
        app()
    except GrowthopsError as exc:
        err_console.print(f"[red]{t('error', get_settings().lang)}:[/] {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
