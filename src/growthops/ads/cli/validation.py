"""Validation queue commands: ``validation submit | advance | reject | list`` (client review,
then team review)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.ads.cli.app import app
from growthops.core.cli import LangOpt, NotesOpt, TenantOpt, _lang, _tenant_id, console, err_console
from growthops.core.db import get_db
from growthops.core.errors import GrowthopsError
from growthops.core.i18n import _, format_datetime, pgettext

validation_app = typer.Typer(help="Validation queue: client review, then team review.",
                             no_args_is_help=True)
app.add_typer(validation_app, name="validation")


def _utc(ts: Any, lang: str) -> str:
    return format_datetime(ts, "UTC", lang, with_zone=True) if ts else "?"


def _validation_conflict(exc: Exception, tid: Any, queue_id: int, lang: str) -> str:
    """Word a validation conflict in ``lang`` from the item's state (fallback: the message)."""
    from growthops.ads.action.validation import get_item
    from growthops.ads.reporting.digest import code_label

    try:
        with get_db().tenant_tx(tid) as conn:
            item = get_item(conn, tenant_id=tid, queue_id=queue_id)
    except GrowthopsError:
        return str(exc)
    if item["effective_status"] == "expired":
        return _(lang, "Validation item {id} expired on {expires} at stage {stage}; it can no "
                       "longer move (submit it again).", id=queue_id,
                 expires=_utc(item["expires_at"], lang), stage=item["validation_stage"])
    if item["status"] in ("approved", "rejected"):
        by, at = ((item["team_validated_by"], item["team_validated_at"])
                  if item["status"] == "approved" else (item["rejected_by"], item["rejected_at"]))
        return _(lang, "Validation item {id} is already {status} (by {by} on {at}); it cannot "
                       "move any more.", id=queue_id, status=code_label(item["status"], lang),
                 by=by or "?", at=_utc(at, lang))
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

    from growthops.ads.action.validation import submit
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
    console.print(_(_lang(lang), "Validation item {id} submitted ({type}): in client review until "
                                 "{expires}.", id=row["queue_id"], type=item_type,
                    expires=_utc(row["expires_at"], _lang(lang))))


def _validation_move(action: str, queue_id: int, tenant: str, by: str, text: str | None,
                     lang: str) -> None:
    from growthops.ads.action.validation import advance, reject
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
        console.print(_(lg, "Validation item {id}: {before} → {after} (by {by}).", id=queue_id,
                        before=before["validation_stage"] if before else "?",
                        after=row["validation_stage"], by=by))
    else:
        console.print(_(lg, "Validation item {id} rejected at {stage} by {by}: {reason}",
                        id=queue_id,
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
    from growthops.ads.action.validation import list_items
    from growthops.ads.reporting.digest import code_label

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = list_items(conn, tenant_id=tid, status=status, stage=stage, limit=limit)
        zone = conn.execute("select time_zone from core.tenants where tenant_id = %s",
                            [tid]).fetchone()
    tz = zone["time_zone"] if zone else "UTC"

    def fmt_ts(ts: Any) -> str:
        return format_datetime(ts, tz, lg)

    if not rows:
        console.print(_(lg, "No validation item."))
        return
    table = Table("#", _(lg, "type"), _(lg, "item"), _(lg, "stage"), _(lg, "status"),
                  _(lg, "submitted"), _(lg, "client review"), _(lg, "team review"),
                  pgettext(lg, "column", "rejected"), _(lg, "expires ({tz})", tz=tz),
                  title=_(lg, "Validation queue of {tenant}", tenant=tenant)
                  + f" ({len(rows)}/{total})")
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


