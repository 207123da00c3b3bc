"""``growthops inbox ...``: accounts, conversations, replies, KPIs, webhook counters.

``accounts connect`` reads the access token from stdin (``--token-stdin``) or a hidden prompt,
never from the command line (shell history, process list); it is stored Fernet-encrypted.
Messages are in English or French (``--lang`` or ``GROWTHOPS_LANG``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.errors import InvalidInput
from growthops.core.i18n import _

app = typer.Typer(help="The social inbox: WhatsApp and Instagram accounts, conversations, "
                       "replies, KPIs.", no_args_is_help=True, pretty_exceptions_enable=False)
accounts_app = typer.Typer(help="Connected WhatsApp numbers and Instagram accounts.",
                           no_args_is_help=True)
conv_app = typer.Typer(help="Conversations: list, show.", no_args_is_help=True)
hooks_app = typer.Typer(help="Webhook deliveries: counters, recovery.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(conv_app, name="conversations")
app.add_typer(hooks_app, name="webhooks")
from growthops.inbox.social_cli import comments_app, credits_app, posts_app  # noqa: E402

app.add_typer(posts_app, name="posts")
app.add_typer(comments_app, name="comments")
app.add_typer(credits_app, name="credits")


def _add_ai_apps() -> None:
    from growthops.inbox.ai.cli import ai_app, kb_app
    from growthops.inbox.ai.learn_cli import install

    install(app, kb_app, ai_app)
    app.add_typer(kb_app, name="kb")
    app.add_typer(ai_app, name="ai")


_add_ai_apps()


def fmt(ts: datetime | None) -> str:
    """A UTC timestamp as ``YYYY-MM-DD HH:MM`` (or ``–``)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if ts else "–"


def fmt_seconds(s: int | float | None) -> str:
    """Seconds as ``45s``, ``12m 05s``, ``3h 20m`` or ``2d 4h`` (``–`` for None)."""
    if s is None:
        return "–"
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


# -------------------------------------------------------------------------------- accounts
@accounts_app.command("connect")
def accounts_connect(
    tenant: TenantOpt,
    platform: Annotated[str, typer.Option("--platform", help="whatsapp or instagram.")],
    account_id: Annotated[str, typer.Option("--account-id", help="WhatsApp phone_number_id or "
                                                                "Instagram account id.")],
    name: Annotated[str | None, typer.Option("--name", help="A readable name.")] = None,
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the access token from "
                                                                    "stdin.")] = False,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="An in-process sandbox account (no "
                                                           "token, no network).")] = False,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Another Graph API host.")] = None,
    api_version: Annotated[str | None, typer.Option("--api-version", help="e.g. v21.0")] = None,
    lang: LangOpt = "",
) -> None:
    """Connect (or reconnect) an account; the token is stored encrypted."""
    from growthops.inbox.accounts import connect

    lg = _lang(lang)
    token = None
    if not sandbox:
        token = (sys.stdin.read() if token_stdin else
                 typer.prompt(_(lg, "Access token"), hide_input=True)).strip()
        if not token:
            raise InvalidInput(_(lg, "--token-stdin: no token on stdin"))
    meta = {k: v for k, v in (("base_url", base_url), ("api_version", api_version)) if v}
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = connect(conn, tenant_id=tid, platform=platform, account_id=account_id,
                      account_name=name, access_token=token,
                      connector="sandbox" if sandbox else "graph", metadata=meta)
    console.print(_(lg, "{tenant}: {platform} account {account} connected ({connector}); token "
                        "stored encrypted: {has}.", tenant=tenant, platform=row["platform"],
                    account=row["account_id"], connector=row["connector"],
                    has=_(lg, "yes") if row["has_token"] else _(lg, "no")))


@accounts_app.command("list")
def accounts_list(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """List the tenant's accounts (never a token)."""
    from growthops.inbox.accounts import list_accounts

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = list_accounts(conn, tenant_id=tid)
    if not rows:
        console.print(_(lg, "{tenant} has no inbox account (growthops inbox accounts connect).",
                        tenant=tenant))
        return
    table = Table(_(lg, "id"), _(lg, "platform"), _(lg, "account"), _(lg, "name"),
                  _(lg, "connector"), _(lg, "status"), _(lg, "token"),
                  title=_(lg, "Inbox accounts of {tenant}", tenant=tenant))
    for r in rows:
        table.add_row(str(r["social_account_id"]), r["platform"], r["account_id"],
                      r["account_name"] or "–", r["connector"],
                      r["status"] + (f" ({r['status_reason']})" if r["status_reason"] else ""),
                      _(lg, "token encrypted") if r["has_token"] else "–")
    console.print(table)


# --------------------------------------------------------------------------- conversations
def conversations_table(rows: list[dict[str, Any]], lg: str, title: str) -> Table:
    """A Rich table of conversation rows (as :func:`growthops.inbox.conversations.list_conversations`)."""
    table = Table(_(lg, "id"), _(lg, "channel"), _(lg, "customer"), _(lg, "status"),
                  _(lg, "assignee"), _(lg, "last message (UTC)"), _(lg, "last text"), title=title)
    for r in rows:
        status = r["status"] + (f" · {r['escalation_reason']}" if r["escalation_reason"] else "")
        text = (r["last_text"] or f"[{r['last_type'] or '–'}]").replace("\n", " ")
        table.add_row(str(r["conversation_id"]), r["platform"],
                      r["customer_name"] or r["platform_customer_id"],
                      ("● " if r["unread"] else "") + status, r["assignee_email"] or "–",
                      fmt(r["last_message_at"]),
                      ("→ " if r["last_direction"] == "outbound" else "← ") + text[:60])
    return table


@conv_app.command("list")
def conversations_list(
    tenant: TenantOpt,
    channel: Annotated[str | None, typer.Option("--channel", help="whatsapp or instagram.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active, escalated, archived.")] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only unread.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 30,
    lang: LangOpt = "",
) -> None:
    """List conversations, newest first."""
    from growthops.inbox.conversations import counts, list_conversations

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = list_conversations(conn, tenant_id=tid, channel=channel, status=status,
                                         unread=unread, limit=limit)
        c = counts(conn, tenant_id=tid)
    console.print(conversations_table(rows, lg, _(lg, "Conversations of {tenant}: {shown} of {total}",
                                                  tenant=tenant, shown=len(rows), total=total)))
    console.print(_(lg, "active {active} · escalated {escalated} · archived {archived} · unread "
                        "{unread} · WhatsApp {whatsapp} · Instagram {instagram}", **c))


TICKS = {"pending": "…", "sent": "✓", "delivered": "✓✓", "read": "✓✓ read", "failed": "✗",
         "received": ""}


@conv_app.command("show")
def conversations_show(
    tenant: TenantOpt,
    conversation_id: Annotated[int, typer.Argument(help="The conversation id.")],
    lang: LangOpt = "",
) -> None:
    """Show one conversation: its messages (with delivery ticks) and its transitions."""
    from growthops.inbox.conversations import events, get_conversation, thread

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        conv = get_conversation(conn, tenant_id=tid, conversation_id=conversation_id)
        msgs = thread(conn, tenant_id=tid, conversation_id=conversation_id)
        evs = events(conn, tenant_id=tid, conversation_id=conversation_id)
    console.print(_(lg, "Conversation {id} · {platform} · {customer} · {status}",
                    id=conversation_id, platform=conv["platform"],
                    customer=conv["customer_name"] or conv["platform_customer_id"],
                    status=conv["status"]))
    table = Table(_(lg, "when (UTC)"), _(lg, "from"), _(lg, "message"), _(lg, "state"))
    for m in msgs:
        who = m["author"] or m["author_kind"] if m["direction"] == "outbound" else _(lg, "customer")
        body = m["text"] or f"[{m['message_type']}]"
        if m["template_name"]:
            body = f"[template {m['template_name']}] " + (m["text"] or "")
        table.add_row(fmt(m["sent_at"]), who, body, TICKS.get(m["status"], m["status"]))
    console.print(table)
    if evs:
        et = Table(_(lg, "when (UTC)"), _(lg, "who"), _(lg, "what"), _(lg, "details"))
        for e in evs:
            et.add_row(fmt(e["at"]), e["actor"], e["action"], json.dumps(e["details"],
                                                                        ensure_ascii=False)[:80])
        console.print(et)


# ---------------------------------------------------------------------------------- reply
@app.command("reply")
def reply(
    tenant: TenantOpt,
    conversation_id: Annotated[int, typer.Option("--conversation", help="The conversation id.")],
    by: Annotated[str, typer.Option("--by", help="Who replies (recorded).")],
    text: Annotated[str | None, typer.Option("--text", help="Free-form text.")] = None,
    template: Annotated[str | None, typer.Option("--template", help="An approved WhatsApp "
                                                                   "template name.")] = None,
    language: Annotated[str, typer.Option("--language", help="Template language.")] = "en_US",
    param: Annotated[list[str] | None, typer.Option("--param", help="Template parameter "
                                                                   "(repeat).")] = None,
    lang: LangOpt = "",
) -> None:
    """Send a person's reply within the platform's window (or a WhatsApp template)."""
    from growthops.inbox.sending import send_reply

    lg = _lang(lang)
    if (text is None) == (template is None):
        raise InvalidInput(_(lg, "give exactly one of --text, --template"))
    tpl = {"name": template, "language": language, "parameters": param or []} if template else None
    sent = send_reply(get_db(), tenant_id=_tenant_id(tenant), conversation_id=conversation_id,
                      actor=by, text=text, template=tpl, author="human", lang=lg)
    tag = ", tag " + sent.tag if sent.tag else ""
    console.print(_(lg, "Sent: message {id} ({platform_id}); rule {rule}{tag}.", id=sent.message_id,
                    platform_id=sent.platform_message_id, rule=sent.rule, tag=tag))


# ------------------------------------------------------------------------------------ KPIs
def kpi_table(rows: list[dict[str, Any]], lg: str, title: str) -> Table:
    """A Rich table of stored KPI rows."""
    table = Table(_(lg, "period"), _(lg, "in"), _(lg, "out"), _(lg, "contacts"),
                  _(lg, "answered"), _(lg, "FRT p50"), _(lg, "FRT p90"), _(lg, "human p50"),
                  _(lg, "human p90"), _(lg, "auto-reply"), _(lg, "escalation"),
                  _(lg, "comments"), _(lg, "posts monitored"), title=title)
    for r in rows:
        p = r["period"]
        table.add_row(p.strftime("%Y-%m-%d %H:%M") if isinstance(p, datetime) else str(p),
                      str(r["inbound_count"]), str(r["outbound_count"]), str(r["contacts_count"]),
                      str(r["answered_count"]), fmt_seconds(r["frt_p50_seconds"]),
                      fmt_seconds(r["frt_p90_seconds"]), fmt_seconds(r["human_frt_p50_seconds"]),
                      fmt_seconds(r["human_frt_p90_seconds"]),
                      "–" if r["auto_reply_rate"] is None else f"{float(r['auto_reply_rate']):.0%}",
                      "–" if r["escalation_rate"] is None else f"{float(r['escalation_rate']):.0%}",
                      str(r.get("comments_count", 0)), str(r.get("posts_active", 0)))
    return table


@app.command("kpis")
def kpis(
    tenant: TenantOpt,
    days: Annotated[int, typer.Option("--days", min=1, max=400)] = 7,
    granularity: Annotated[str, typer.Option("--granularity", help="day or 2h.")] = "day",
    channel: Annotated[str, typer.Option("--channel", help="all, whatsapp or instagram.")] = "all",
    end: Annotated[str | None, typer.Option("--end", help="Last day (YYYY-MM-DD, UTC); default "
                                                          "today.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh/--no-refresh", help="Recompute first.")] = True,
    lang: LangOpt = "",
) -> None:
    """First-response times (any reply and human replies apart), auto-reply and escalation rates."""
    from growthops.inbox.kpis.store import read
    from growthops.inbox.kpis.store import refresh as do_refresh

    lg = _lang(lang)
    if granularity not in ("day", "2h") or channel not in ("all", "whatsapp", "instagram"):
        raise InvalidInput("--granularity: day or 2h; --channel: all, whatsapp or instagram")
    stop = (datetime.fromisoformat(end).replace(tzinfo=UTC) + timedelta(days=1) if end
            else datetime.now(UTC))
    start = stop - timedelta(days=days)
    tid = _tenant_id(tenant)
    if refresh:
        do_refresh(get_db(), tenant_id=tid, start=start, end=stop)
    with get_db().tenant_tx(tid) as conn:
        rows = read(conn, tenant_id=tid, start=start, end=stop, granularity=granularity,
                    channel=channel)
    console.print(kpi_table(rows, lg, _(lg, "Inbox KPIs of {tenant} ({channel}, per {g})",
                                        tenant=tenant, channel=channel, g=granularity)))


@app.command("hours")
def hours(
    tenant: TenantOpt,
    set_: Annotated[str | None, typer.Option("--set", help='JSON, e.g. {"mon": [["09:00", '
                                                           '"18:00"]], ...}')] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Every hour counts.")] = False,
    lang: LangOpt = "",
) -> None:
    """Set or clear the tenant's business hours (KPIs count response time inside them)."""
    from psycopg.types.json import Jsonb

    from growthops.inbox.kpis.compute import parse_hours

    lg = _lang(lang)
    value = None
    if set_ is not None and not clear:
        try:
            value = json.loads(set_)
            parse_hours(value)
        except (ValueError, TypeError, IndexError) as exc:
            raise InvalidInput(f"--set: {exc}") from None
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        conn.execute("""insert into inbox.settings (tenant_id, business_hours) values (%s, %s)
                        on conflict (tenant_id) do update set business_hours = excluded.business_hours,
                        updated_at = now()""", [str(tid), Jsonb(value) if value else None])
    console.print(_(lg, "{tenant}: business hours {v}.", tenant=tenant,
                    v=json.dumps(value) if value else _(lg, "cleared (every hour counts)")))


# -------------------------------------------------------------------------------- webhooks
@hooks_app.command("stats")
def webhooks_stats(days: Annotated[int, typer.Option("--days", min=1, max=90)] = 1,
                   lang: LangOpt = "") -> None:
    """Deliveries stored, processed, pending, failed, and refused (per reason)."""
    lg = _lang(lang)
    with get_db().app_tx() as conn:
        rows = conn.execute("select * from inbox.webhook_stats(%s)",
                            [datetime.now(UTC) - timedelta(days=days)]).fetchall()
    table = Table(_(lg, "platform"), _(lg, "stored"), _(lg, "processed"), _(lg, "pending"),
                  _(lg, "with error"), _(lg, "refused sends"))
    for r in rows:
        table.add_row(r["platform"], str(r["stored"]), str(r["processed"]), str(r["pending"]),
                      str(r["failed"]), json.dumps(r["rejected"]))
    console.print(table)


@hooks_app.command("recover")
def webhooks_recover(
    older_than: Annotated[int, typer.Option("--older-than", help="Seconds.", min=0)] = 60,
    lang: LangOpt = "",
) -> None:
    """Queue again the deliveries left unprocessed (the worker does it every minute)."""
    from growthops.inbox.jobs import requeue

    n = requeue(get_db(), older_than=timedelta(seconds=older_than))
    console.print(_(_lang(lang), "{n} deliveries queued again.", n=n))
