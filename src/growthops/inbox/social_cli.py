"""``growthops inbox posts|comments|credits ...``: scheduled posts, comment monitoring, credits.

Times given on the command line are wall-clock times of the tenant's time zone
(``2026-06-01T09:00``); times printed are UTC unless the column says otherwise.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _

posts_app = typer.Typer(help="Scheduled Instagram posts: list, create, edit, cancel, publish.",
                        no_args_is_help=True)
comments_app = typer.Typer(help="Comment monitoring: monitored posts, comments, rules, replies.",
                           no_args_is_help=True)
credits_app = typer.Typer(help="The tenant's plan, credits and ledger.", no_args_is_help=True)


def _fmt(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if ts else "–"


def _local(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--at: {value!r} is not a date and time such as 2026-06-01T09:00") from None


def _media(values: list[str]) -> list[dict[str, Any]]:
    out = []
    for v in values:
        kind = "video" if v.lower().split("?")[0].endswith((".mp4", ".mov")) else "image"
        out.append({"type": kind, "url": v})
    return out


# ----------------------------------------------------------------------------------- posts
@posts_app.command("list")
def posts_list(tenant: TenantOpt, status: Annotated[str | None, typer.Option(
        "--status", help="queued, publishing, published, failed, cancelled.")] = None,
        runs: Annotated[bool, typer.Option("--runs", help="Show each post's runs.")] = False,
        lang: LangOpt = "") -> None:
    """List scheduled posts with their next occurrence (and runs)."""
    from growthops.inbox import posts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = posts.list_posts(conn, tenant_id=tid, status=status, limit=200)
        rs = posts.runs(conn, tenant_id=tid, post_ids=[r["post_id"] for r in rows]) if rows else []
    table = Table(_(lg, "id"), _(lg, "account"), _(lg, "status"), _(lg, "next (UTC)"),
                  _(lg, "recurrence"), _(lg, "published"), _(lg, "text"), _(lg, "error"),
                  title=_(lg, "Scheduled posts of {tenant} ({n})", tenant=tenant, n=total))
    for r in rows:
        table.add_row(str(r["post_id"]), r["account_name"] or r["account_id"], r["status"],
                      _fmt(r["occurrence_at"]), r["rrule"] or "–", str(r["published_count"]),
                      (r["content_json"].get("text") or "")[:40], (r["error_message"] or "")[:60])
    console.print(table)
    if runs and rs:
        rt = Table(_(lg, "post"), _(lg, "occurrence (UTC)"), _(lg, "attempt"), _(lg, "status"),
                   _(lg, "media id"), _(lg, "error"), title=_(lg, "Runs"))
        for r in rs:
            rt.add_row(str(r["post_id"]), _fmt(r["occurrence_at"]), str(r["attempt"]), r["status"],
                       r["platform_post_id"] or "–", (r["error"] or "")[:60])
        console.print(rt)


@posts_app.command("create")
def posts_create(
    tenant: TenantOpt,
    account: Annotated[int, typer.Option("--account", help="social_account_id (inbox accounts list).")],
    at: Annotated[str, typer.Option("--at", help="Wall-clock time in the tenant's time zone, "
                                                 "e.g. 2026-06-01T09:00.")],
    media: Annotated[list[str], typer.Option("--media", help="Image or video URL (repeat for a "
                                                             "carousel).")],
    text: Annotated[str, typer.Option("--text", help="The caption.")] = "",
    rrule: Annotated[str | None, typer.Option("--rrule", help="e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=4")] = None,
    by: Annotated[str, typer.Option("--by", help="Who schedules it.")] = "cli",
    lang: LangOpt = "",
) -> None:
    """Schedule a post."""
    from growthops.inbox import posts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = posts.create_post(conn, tenant_id=tid, social_account_id=account, text=text,
                                media=_media(media), local_at=_local(at), rrule=rrule, created_by=by)
    console.print(_(lg, "Post {id} scheduled: first occurrence {at} UTC ({tz} {local}).",
                    id=row["post_id"], at=_fmt(row["occurrence_at"]), tz=row["time_zone"],
                    local=row["local_at"].strftime("%Y-%m-%d %H:%M")))


@posts_app.command("edit")
def posts_edit(
    tenant: TenantOpt, post_id: Annotated[int, typer.Argument(help="The post id.")],
    text: Annotated[str | None, typer.Option("--text")] = None,
    at: Annotated[str | None, typer.Option("--at", help="New wall-clock time.")] = None,
    media: Annotated[list[str] | None, typer.Option("--media")] = None,
    rrule: Annotated[str | None, typer.Option("--rrule")] = None,
    no_rrule: Annotated[bool, typer.Option("--no-rrule", help="Stop the recurrence.")] = False,
    lang: LangOpt = "",
) -> None:
    """Edit a queued post."""
    from growthops.inbox import posts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = posts.edit_post(conn, tenant_id=tid, post_id=post_id, text=text,
                              media=_media(media) if media else None,
                              local_at=_local(at) if at else None, rrule=rrule, clear_rrule=no_rrule)
    console.print(_(lg, "Post {id} updated: next occurrence {at} UTC.", id=post_id,
                    at=_fmt(row["occurrence_at"])))


@posts_app.command("cancel")
def posts_cancel(tenant: TenantOpt, post_id: Annotated[int, typer.Argument(help="The post id.")],
                 lang: LangOpt = "") -> None:
    """Cancel a queued post."""
    from growthops.inbox import posts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        posts.cancel_post(conn, tenant_id=tid, post_id=post_id)
    console.print(_(lg, "Post {id} cancelled.", id=post_id))


@posts_app.command("publish")
def posts_publish(tenant: Annotated[str | None, typer.Option(
        "--tenant", help="client_key or tenant id (default: every tenant)")] = None,
        lang: LangOpt = "") -> None:
    """Publish what is due now (what the worker's inbox.publish_posts does every minute)."""
    from growthops.inbox.publishing import publish_due

    lg = _lang(lang)
    out = publish_due(get_db(), tenant_id=_tenant_id(tenant) if tenant else None)
    console.print(_(lg, "Published {success}, to retry {retry}, failed {failed}, recovered "
                        "{recovered}.", **out))


# -------------------------------------------------------------------------------- comments
@comments_app.command("list")
def comments_list(tenant: TenantOpt, triage: Annotated[str | None, typer.Option(
        "--triage", help="respond, ignore, escalate, user_conversation.")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
        lang: LangOpt = "") -> None:
    """List comments (newest first) with their triage and reply."""
    from growthops.inbox import comments

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = comments.list_comments(conn, tenant_id=tid, triage_=triage, limit=limit)
    table = Table(_(lg, "id"), _(lg, "post"), _(lg, "author"), _(lg, "comment"), _(lg, "triage"),
                  _(lg, "reply"), _(lg, "at (UTC)"),
                  title=_(lg, "Comments of {tenant} ({n})", tenant=tenant, n=total))
    for r in rows:
        reply = r["reply_status"] + (f" ({r['reply_kind']}): {r['ai_reply_text'][:40]}"
                                     if r["ai_reply_text"] else "")
        table.add_row(str(r["comment_id"]), r["platform_post_id"], r["author_name"] or "–",
                      ("↳ " if r["parent_id"] else "") + (r["text"] or "")[:50],
                      (r["triage"] or "–") + (f" · {r['triage_reason']}" if r["triage_reason"] else ""),
                      reply, _fmt(r["created_at"]))
    console.print(table)


@comments_app.command("reply")
def comments_reply(tenant: TenantOpt, comment_id: Annotated[int, typer.Argument()],
                   by: Annotated[str, typer.Option("--by", help="Who replies.")],
                   text: Annotated[str | None, typer.Option(
                       "--text", help="The reply (default: approve the AI's draft).")] = None,
                   private: Annotated[bool, typer.Option(
                       "--private", help="A private reply to the commenter (once, within 7 days).")] = False,
                   lang: LangOpt = "") -> None:
    """Reply to a comment, or approve the AI's draft."""
    from growthops.inbox import comments

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    db = get_db()
    with db.tenant_tx(tid) as conn:
        comments.approve(conn, tenant_id=tid, comment_id=comment_id, by=by, text=text,
                         private=private or None)
    row = comments.send_reply(db, tenant_id=tid, comment_id=comment_id)
    console.print(_(lg, "Comment {id}: reply {status}.", id=comment_id, status=row["reply_status"]))


@comments_app.command("poll")
def comments_poll(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Monitor the last posts, poll comments and send approved replies now (the worker's round)."""
    from growthops.inbox.social_jobs import run_comments

    lg = _lang(lang)
    out = run_comments(get_db(), now=datetime.now(UTC), tenant_id=_tenant_id(tenant))
    console.print(_(lg, "Posts newly monitored {monitored}, new comments {comments_new}, replies "
                        "sent {sent}, failed {failed}.", **out))


@comments_app.command("rules")
def comments_rules(
    tenant: TenantOpt,
    account: Annotated[int | None, typer.Option("--account", help="social_account_id (default: "
                                                                  "the tenant's rule).")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, max=20, help="Last N posts.")] = None,
    days: Annotated[int | None, typer.Option("--days", min=1, max=30, help="For D days.")] = None,
    ai: Annotated[bool | None, typer.Option("--ai/--no-ai", help="AI triage of comments.")] = None,
    auto_reply: Annotated[bool | None, typer.Option(
        "--auto-reply/--no-auto-reply", help="The AI's replies go out without approval.")] = None,
    lang: LangOpt = "",
) -> None:
    """Show or change a monitoring rule."""
    from growthops.inbox import comments

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        if any(v is not None for v in (count, days, ai, auto_reply)):
            rule = comments.set_rule(conn, tenant_id=tid, social_account_id=account,
                                     auto_monitor_count=count, monitoring_duration_days=days,
                                     ai_enabled_for_comments=ai, auto_reply_enabled=auto_reply)
        else:
            rule = comments.get_rule(conn, tenant_id=tid, social_account_id=account)
    console.print(json.dumps({k: rule[k] for k in comments.DEFAULT_RULE if k != "rule_id"}))
    del lg


# --------------------------------------------------------------------------------- credits
@credits_app.command("show")
def credits_show(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Show the plan, the balance and the last ledger rows."""
    from growthops.inbox import credits

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        st = credits.state(conn, tenant_id=tid)
        rows = credits.ledger(conn, tenant_id=tid, limit=20)
    console.print(_(lg, "{tenant}: plan {plan} ({status}), {left} credits left, {used} used this "
                        "month (allowance {allow} a month).", tenant=tenant, plan=st["plan"],
                    status=st["status"], left=st["credits_remaining"], used=st["used_this_month"],
                    allow=st["limits"]["ai_replies"]))
    table = Table(_(lg, "at (UTC)"), _(lg, "amount"), _(lg, "reason"), _(lg, "action"),
                  _(lg, "balance"), title=_(lg, "Ledger"))
    for r in rows:
        table.add_row(_fmt(r["created_at"]), f"{r['amount']:+d}", r["reason"], r["action_id"],
                      str(r["balance_after"]))
    console.print(table)


@credits_app.command("plan")
def credits_plan(tenant: TenantOpt,
                 plan: Annotated[str, typer.Argument(help="free, starter, pro or enterprise.")],
                 grant: Annotated[bool, typer.Option("--grant", help="Grant this month's credits "
                                                                     "now.")] = False,
                 lang: LangOpt = "") -> None:
    """Put the tenant on a plan."""
    from growthops.inbox import credits

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    now = datetime.now(UTC)
    with get_db().tenant_tx(tid) as conn:
        st = credits.set_plan(conn, tenant_id=tid, plan=plan, now=now)
        top = st["limits"]["ai_replies"] - st["credits_remaining"]
        if grant and top > 0:
            credits.credit(conn, tenant_id=tid, amount=top, reason="grant",
                           action_id=f"plan:{plan}:{now:%Y-%m}")
        st = credits.state(conn, tenant_id=tid)
    console.print(_(lg, "{tenant}: plan {plan}, {left} credits left.", tenant=tenant,
                    plan=st["plan"], left=st["credits_remaining"]))
