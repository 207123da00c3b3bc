"""Ads commands: ``import ads``, ``daily``, ``report``, ``backtest``, ``suggestions``,
``execute``, ``reconcile``, ``auto-apply``, ``learning``, ``archive`` and ``audit``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.ads.cli.app import _print_outcomes, app
from growthops.core.cli import (
    LangOpt,
    NotesOpt,
    TenantOpt,
    _lang,
    _tenant_id,
    _tenant_keys,
    console,
    err_console,
)
from growthops.core.db import get_db
from growthops.core.i18n import N_, _, format_datetime

import_app = typer.Typer(help="Import data files.", no_args_is_help=True)
suggestions_app = typer.Typer(help="Suggestions: list, show, approve, refuse, backlog, execute, history.", no_args_is_help=True)
archive_app = typer.Typer(help="Archive old suggestions and decisions.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(suggestions_app, name="suggestions")
app.add_typer(archive_app, name="archive")


def _register_learning() -> None:
    from growthops.ads.cli.learning import learning_app

    app.add_typer(learning_app, name="learning", help="Learning: hypotheses outcomes, calibration, decision patterns.")


_register_learning()

#: Messages the demo prints too (:mod:`growthops.ads.demo`).
IMPORT_DONE = N_("{path}: {accepted} rows accepted ({inserted} new, {updated} changed, "
                 "{unchanged} unchanged), {rejected} rejected, {dups} exact duplicates skipped.")
DAILY_NO_DATA = N_("{tenant}: no metrics on or before {as_of}; nothing to analyse.")
DAILY_DONE = N_("{tenant} as of {as_of}: {baselines} baselines, {anomalies} anomalies, "
                "{overspend} overspend days, {fatigued} fatigued ads, {suggestions} new "
                "suggestions.")
REPORT_WRITTEN = N_("HTML report written to {path}")

#: One or more suggestion ids: a bulk decision with one note (``approve 12 14 15 --notes ...``).
SuggestionIds = Annotated[list[int], typer.Argument(help="Suggestion id(s) (see: growthops suggestions list); several decide them all with the same note.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="E-mail of the growthops user who decides (admin or media buyer); default GROWTHOPS_OPERATOR.")]


# ------------------------------------------------------------------------------------ import
@import_app.command("ads")
def import_ads(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key or tenant id")],
    fmt: Annotated[str, typer.Option("--format", help="growthops, online_ad_performance, fb_ad_campaign_2017, meta_ads_export, google_ads_export, tiktok_ads_export, linkedin_ads_export")] = "growthops",
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows of a file with rejected rows.")] = False,
    year: Annotated[int, typer.Option("--year", help="Year for files whose dates have none (online_ad_performance).")] = 2020,
    rejected_out: Annotated[Path | None, typer.Option("--rejected", help="CSV file listing the rejected rows (default: <file>.rejected.csv next to the file).")] = None,
    lang: LangOpt = "",
) -> None:
    """Import daily ad metrics (COPY + idempotent upsert; every rejected row is reported)."""
    from growthops.ads.metrics.importer import import_metrics
    from growthops.core.errors import ImportRejected

    lg = _lang(lang)
    db = get_db()
    tid = _tenant_id(tenant)
    out = rejected_out or file.with_name(f"{file.stem}.rejected.csv")
    try:
        with db.tenant_tx(tid) as conn:
            res = import_metrics(conn, tenant_id=tid, path=file, fmt=fmt,
                                 skip_invalid=skip_invalid, progress=True, year=year)
    except ImportRejected as exc:
        err_console.print(_(lg, REJECTED_HEAD, path=file.name, n=len(exc.rejected),
                            total=exc.rows_total), markup=False)
        _print_rejected(exc.rejected, lg, out)
        raise typer.Exit(exc.exit_code) from None
    if res.rejected:
        _print_rejected(res.rejected, lg, out)
    console.print(_(lg, IMPORT_DONE, path=file.name, accepted=res.rows_accepted,
                    inserted=res.rows_inserted, updated=res.rows_updated,
                    unchanged=res.rows_accepted - res.rows_inserted - res.rows_updated,
                    rejected=len(res.rejected), dups=res.duplicates_skipped))


REJECTED_HEAD = N_("{path}: {n} of {total} rows rejected; nothing was imported (fix them, or "
                   "use --skip-invalid to import the valid rows).")
REJECTED_ROW = N_("line {line}, column '{column}': {reason} (value '{value}')")
REJECTED_FILE = N_("Every rejected row is listed in {path}")


def _print_rejected(rejected: list[Any], lang: str, out: Path) -> None:
    """Print every rejected row in ``lang`` (the file's own column names) and write them all to
    the CSV ``out`` (line, column, value, reason), saying where."""
    import csv

    from growthops.ads.metrics.formats.base import translate_reason

    try:
        f = out.open("w", newline="", encoding="utf-8")
    except OSError:  # a read-only folder: the system's temporary one
        import tempfile

        out = Path(tempfile.gettempdir()) / out.name
        f = out.open("w", newline="", encoding="utf-8")
    with f:
        w = csv.writer(f)
        w.writerow([_(lang, "line"), _(lang, "column"), _(lang, "value"), _(lang, "reason")])
        for r in rejected:
            reason = translate_reason(r.reason, lang)
            w.writerow([r.line, r.column, r.value, reason])
            err_console.print(_(lang, REJECTED_ROW, line=r.line, column=r.column, reason=reason,
                                value=r.value), style="yellow", markup=False, highlight=False)
    err_console.print(_(lang, REJECTED_FILE, path=out), markup=False)


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
    from growthops.ads.reporting.digest import print_digest

    db = get_db()
    day = date.fromisoformat(as_of) if as_of else None
    for row in _tenant_keys(tenant):
        result = run_daily_cycle(db, tenant_id=row["tenant_id"], as_of=day, progress=True)
        if result is None:
            console.print(_(_lang(lang), DAILY_NO_DATA, tenant=row["client_key"],
                            as_of=as_of or "today"))
            continue
        console.print(_(_lang(lang), DAILY_DONE, tenant=row["client_key"], **result.counts()))
        from growthops.ads.cycle import after_cycle

        after_cycle(db, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
        print_digest(db, console, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
        if report:
            from growthops.ads.reporting.report import write_report

            path = write_report(db, tenant_id=row["tenant_id"], as_of=result.as_of, lang=_lang(lang))
            console.print(_(_lang(lang), REPORT_WRITTEN, path=path))


@app.command("report")
def report_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default: latest cycle run")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output HTML file.")] = None,
    lang: LangOpt = "",
) -> None:
    """Write the self-contained HTML report of a cycle run (charts inline, no network needed)."""
    from growthops.ads.reporting.report import latest_as_of, write_report

    db = get_db()
    tid = _tenant_id(tenant)
    day = date.fromisoformat(as_of) if as_of else latest_as_of(db, tenant_id=tid)
    path = write_report(db, tenant_id=tid, as_of=day, lang=_lang(lang), out=out)
    console.print(_(_lang(lang), REPORT_WRITTEN, path=path))


@app.command("backtest")
def backtest_cmd(
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    start: Annotated[str, typer.Option("--from", help="First as-of day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last as-of day (YYYY-MM-DD).")],
    horizon: Annotated[int, typer.Option(help="Days after each suggestion to measure.")] = 7,
    lang: LangOpt = "",
) -> None:
    """Replay the daily cycle day by day and measure what followed each suggestion (nothing is kept)."""
    from growthops.ads.learning.backtest import print_backtest, run_backtest

    db = get_db()
    tid = _tenant_id(tenant)
    res = run_backtest(db, tenant_id=tid, start=date.fromisoformat(start), end=date.fromisoformat(end),
                       horizon_days=horizon, progress=True)
    print_backtest(console, res, tenant=tenant, lang=_lang(lang))


# ------------------------------------------------------------------------------- suggestions
@suggestions_app.command("list")
def suggestions_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="client_key; every client if omitted (the morning queue)")] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved, refused, backlog, executing, executed, expired, failed, blocked, or all")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    lang: LangOpt = "",
) -> None:
    """List suggestions, highest priority first: one client's (by confidence), or every
    client's in one queue (by priority, then the spend at stake, then confidence)."""
    from growthops.ads.reporting.digest import print_queue, print_suggestions

    db = get_db()
    st = None if status in (None, "", "all") else status
    if tenant is None:
        print_queue(db, console, tenants=_tenant_keys(None), status=st, limit=limit,
                    lang=_lang(lang))
        return
    print_suggestions(db, console, tenant_id=_tenant_id(tenant), status=st, limit=limit, lang=_lang(lang))


@suggestions_app.command("show")
def suggestions_show(
    suggestion_id: Annotated[int, typer.Argument()],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    lang: LangOpt = "",
) -> None:
    """Show one suggestion: action, reason, expected impact with its interval, evidence."""
    from growthops.ads.reporting.digest import print_suggestion

    print_suggestion(get_db(), console, tenant_id=_tenant_id(tenant), suggestion_id=suggestion_id, lang=_lang(lang))


def _decision_conflict_text(exc: Any, decision: str, lang: str) -> str:
    """Word a DecisionConflict in ``lang`` from its attributes (times in UTC)."""
    from growthops.ads.reporting.digest import code_label

    def utc(ts: Any) -> str:
        return format_datetime(ts, "UTC", lang, with_zone=True) if ts else "?"

    status = code_label(exc.status, lang)
    if exc.reason == "expired":
        return _(lang, "Suggestion {id} expired on {expires} (status {status}); it can no longer "
                       "be decided. The next daily cycle proposes it again if the evidence still "
                       "holds.", id=exc.suggestion_id, expires=utc(exc.expires_at), status=status)
    if exc.reason == "archived":
        return _(lang, "Suggestion {id} has been archived (status {status}); it can no longer be "
                       "decided.", id=exc.suggestion_id, status=status)
    return _(lang, "Suggestion {id} is already {status} (by {by} on {at}, via {channel}); it "
                   "cannot be changed to {decision}.", id=exc.suggestion_id, status=status,
             by=exc.decided_by or "?", at=utc(exc.decided_at), channel=exc.channel or "?",
             decision=code_label(decision, lang))


def _time_zone(conn: Any, tenant_id: Any) -> str:
    """The tenant's time zone (IANA name), for the times a table shows."""
    row = conn.execute("select time_zone from core.tenants where tenant_id = %s",
                       [str(tenant_id)]).fetchone()
    return str(row["time_zone"]) if row else "UTC"


def _decide_cmd(decision: str, suggestion_ids: list[int], tenant: str, by: str | None,
                notes: str | None, lang: str, execute: bool = False) -> None:
    """Record one decision (with one note) on each of ``suggestion_ids`` from the CLI, each in
    its own transaction; print a line per suggestion; exit 5 after the others if any
    conflicted (already decided, expired). The person is a growthops user
    (:func:`growthops.ads.cli.identity.operator_identity`), checked before anything."""
    from growthops.ads.cli.identity import operator_identity

    who, source = operator_identity(get_db(), by, _lang(lang))
    code = 0
    for sid in suggestion_ids:
        code = _decide_one(decision, sid, tenant, who, notes, lang, execute, source) or code
    if code:
        raise typer.Exit(code=code)


def _decide_one(decision: str, suggestion_id: int, tenant: str, by: str, notes: str | None,
                lang: str, execute: bool = False, identity: str | None = None) -> int:
    """Record a decision from the CLI; print a clear message; return 5 on a conflict, else 0."""
    from growthops.ads.action.decisions import DecisionConflict, decide
    from growthops.ads.reporting.digest import code_label

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    try:
        with get_db().tenant_tx(tid) as conn:
            res = decide(conn, tenant_id=tid, suggestion_id=suggestion_id, decision=decision,
                         decided_by=by, notes=notes, channel="cli", identity=identity)
    except DecisionConflict as exc:
        err_console.print(f"[red]{_decision_conflict_text(exc, decision, lg)}[/]")
        return exc.exit_code
    console.print(_(lg, "Suggestion {id}: {decision} by {by} (was {before}).", id=suggestion_id,
                    decision=code_label(decision, lg), by=res["decided_by"],
                    before=code_label(res["status_before"], lg)))
    if decision == "approved" and execute:
        from growthops.ads.action.execution import execute_after_approval

        out = execute_after_approval(get_db(), tenant_id=tid, suggestion_id=suggestion_id, actor=by)
        if out is not None:
            _print_outcomes([out])
    return 0


@suggestions_app.command("approve")
def suggestions_approve(
    suggestion_id: SuggestionIds, tenant: TenantOpt, by: ByOpt = None, notes: NotesOpt = None,
    execute: Annotated[bool, typer.Option("--execute/--no-execute", help="Execute it on the ad account now (within the guard rails).")] = True,
    lang: LangOpt = "",
) -> None:
    """Approve a suggestion and execute it on the ad account within the guard rails (when the
    tenant has one); refused if expired or already decided."""
    _decide_cmd("approved", suggestion_id, tenant, by, notes, lang, execute=execute)


@suggestions_app.command("refuse")
def suggestions_refuse(suggestion_id: SuggestionIds, tenant: TenantOpt, by: ByOpt = None,
                       notes: NotesOpt = None, lang: LangOpt = "") -> None:
    """Refuse a suggestion, saying why (the reviewers' patterns are learnt from this)."""
    _decide_cmd("refused", suggestion_id, tenant, by, notes, lang)


@suggestions_app.command("backlog")
def suggestions_backlog(suggestion_id: SuggestionIds, tenant: TenantOpt, by: ByOpt = None,
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
    from growthops.ads.action.decisions import history
    from growthops.ads.reporting.digest import code_label, entity_label, suggestion_text

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = history(conn, tenant_id=tid, entity_id=entity, suggestion_id=suggestion_id,
                       limit=limit)
        tz = _time_zone(conn, tid)

    def fmt_ts(ts: Any) -> str:
        return format_datetime(ts, tz, lg)

    if not rows:
        console.print(_(lg, "No suggestion in the history."))
        return
    table = Table(title=_(lg, "History of {tenant}: what changed, who decided, why, and what "
                              "happened", tenant=tenant), show_lines=True)
    for header in (_(lg, "#"), _(lg, "created ({tz})", tz=tz), _(lg, "type"), _(lg, "entity"),
                   _(lg, "action"), _(lg, "status"), _(lg, "decisions (who, why)"),
                   _(lg, "execution"), _(lg, "outcome")):
        table.add_column(header, overflow="fold")
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
        console.print(_(lg, "{tenant}: {expired} undecided suggestions expired; {sug} suggestions "
                            "archived (live + archive: {sug_before} before, {sug_after} after); "
                            "{dec} decisions archived (live + archive: {dec_before} before, "
                            "{dec_after} after).", tenant=row["client_key"], expired=r.expired,
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

    from growthops.ads.action.audit import trail

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = trail(conn, tenant_id=tid, object_type=object_type, object_id=object_id,
                     entity_id=entity, limit=limit)
        tz = _time_zone(conn, tid)
    if not rows:
        console.print(_(lg, "No audit entry."))
        return
    table = Table("#", _(lg, "when ({tz})", tz=tz), _(lg, "who"), _(lg, "action"),
                  _(lg, "object"), _(lg, "entity"), _(lg, "before"), _(lg, "after"),
                  _(lg, "why"), title=_(lg, "Audit trail of {tenant}", tenant=tenant))

    def js(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str) if v is not None else "–"

    for r in rows:
        table.add_row(str(r["audit_id"]), format_datetime(r["occurred_at"], tz, lg), r["actor"],
                      r["action"],
                      f"{r['object_type']} {r['object_id']}",
                      " ".join(x for x in (r["platform"], r["entity_id"]) if x) or "–",
                      js(r["before"]), js(r["after"]), r["reason"] or "–")
    console.print(table)


# --------------------------------------------------------------------------------- execution
@suggestions_app.command("execute")
def suggestions_execute(
    suggestion_id: Annotated[int, typer.Argument()],
    tenant: Annotated[str, typer.Option("--tenant", help="client_key")],
    by: Annotated[str | None, typer.Option("--by", help="E-mail of the growthops user who executes (default GROWTHOPS_OPERATOR; needed with --force).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Edit an entity still in its learning phase (audited).")] = False,
    lang: LangOpt = "",
) -> None:
    """Execute one approved suggestion on the ad account, within the guard rails (exit code 3
    when nothing was executed)."""
    from growthops.ads.action.execution import execute_suggestion
    from growthops.ads.cli.identity import operator_identity
    from growthops.core.errors import InvalidInput
    from growthops.settings import get_settings

    lg = _lang(lang)
    actor = "cli"
    if force or by or get_settings().operator:
        try:
            actor = operator_identity(get_db(), by, lg)[0]
        except InvalidInput as exc:
            if force:
                raise InvalidInput(_(lg, "--force: forcing a guard rail is audited under a "
                                         "person's name; {why}", why=str(exc))) from exc
            raise
    tn = _tenant_keys(tenant)[0]
    out = execute_suggestion(get_db(), tenant_id=tn["tenant_id"], suggestion_id=suggestion_id,
                             actor=actor, force=force)
    if out.status == "skipped" and (out.message or "").startswith("no ad account for "):
        console.print(_(lg, NO_ACCOUNT, id=suggestion_id), markup=False)
    else:
        from growthops.ads.present import outcome_message

        console.print(outcome_message(out, lg, str(tn.get("currency") or "EUR").strip())["text"],
                      markup=False)
    if out.status not in EXECUTED:
        raise typer.Exit(3)  # nothing was done on the account: a script must not read success


#: Outcomes after which the change is on the account (or needed no platform write).
EXECUTED = ("applied", "reconciled", "handoff", "not_executable")
NO_ACCOUNT = N_("Suggestion {id}: no ad account of its platform is connected for this client; "
                "nothing was executed (connect one: growthops accounts connect).")


@app.command("execute")
def execute_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Execute every approved suggestion of a tenant (exactly once, within the guard rails)."""
    from growthops.ads.action.execution import execute_approved

    _print_outcomes(execute_approved(get_db(), tenant_id=_tenant_id(tenant)))


@app.command("reconcile")
def reconcile_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Settle executions interrupted between the platform call and the database write."""
    from growthops.ads.action.reconcile import reconcile

    n = reconcile(get_db(), tenant_id=_tenant_id(tenant))
    console.print(f"{n} interrupted execution(s) settled")


@app.command("auto-apply")
def auto_apply_cmd(tenant: Annotated[str, typer.Option("--tenant", help="client_key")]) -> None:
    """Apply pending suggestions without a human where the tenant's auto-apply policy allows it."""
    from growthops.ads.action.autoapply import auto_apply

    _print_outcomes(auto_apply(get_db(), tenant_id=_tenant_id(tenant)))


@app.command("defer-daily")
def defer_daily(
    tenant: Annotated[str | None, typer.Option("--tenant", help="client_key; all if omitted")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
) -> None:
    """Queue the daily cycle now (run by ``growthops worker``)."""
    from growthops.ads.jobs import defer_daily_cycle

    for row in _tenant_keys(tenant):
        job_id = defer_daily_cycle(get_db(), tenant_id=row["tenant_id"], as_of=as_of)
        console.print(f"{row['client_key']}: job {job_id}")
