"""``growthops leads prospects ...`` and ``growthops leads outreach ...``: import and review
prospects; templates, mailboxes, campaigns, the approval queue, sending, metrics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.i18n import _

prospects_app = typer.Typer(help="Prospects: CSV import, score, profile, daily queue.",
                            no_args_is_help=True)
outreach_app = typer.Typer(help="Outreach: templates, mailboxes, campaigns, approval, sending.",
                           no_args_is_help=True)
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (recorded).")]


def _pct(v: object) -> str:
    return "–" if v is None else f"{float(v):.1f} %"  # type: ignore[arg-type]


@prospects_app.command("import")
def import_cmd(path: Path, tenant: TenantOpt,
               source: Annotated[str | None, typer.Option(
                   help="pdl, apollo, google_places or plain (default: detected).")] = None,
               partial: Annotated[bool, typer.Option(
                   "--partial", help="Store the valid rows even when some are rejected.")] = False,
               map_: Annotated[list[str] | None, typer.Option(
                   "--map", help="field:Header, e.g. industry:Sector (repeat).")] = None,
               lang: LangOpt = "") -> None:
    """Import a CSV export; every rejected row is listed (line, column, reason)."""
    from growthops.leads.prospects import store

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    mapping = dict(m.split(":", 1) for m in map_ or [] if ":" in m)
    try:
        with get_db().tenant_tx(tid) as conn:
            rep = store.import_csv(conn, tenant_id=tid, data=path.read_bytes(),
                                   filename=path.name, source=source, mapping=mapping,
                                   partial=partial, by="cli")
    except store.ImportRejected as exc:
        rep = exc.report
        _rejections(rep["rejected"], lg)
        console.print(_(lg, "{n} row(s) rejected: nothing imported (use --partial to import "
                            "the valid rows).", n=len(rep["rejected"])))
        raise typer.Exit(2) from exc
    if rep["rejected"]:
        _rejections(rep["rejected"], lg)
    console.print(_(lg, "{source}: {rows} rows, {ins} new prospects, {mer} merged into existing "
                        "ones, {dup} duplicates within the file, {rej} rejected.",
                    source=rep["source"], rows=rep["rows"], ins=rep["inserted"],
                    mer=rep["merged"], dup=rep["merged_in_file"], rej=len(rep["rejected"])))


def _rejections(rows: list[dict[str, object]], lg: str) -> None:
    table = Table(_(lg, "line"), _(lg, "column"), _(lg, "reason"))
    for r in rows[:200]:
        table.add_row(str(r["line"]), str(r["column"]), str(r["reason"]))
    console.print(table)


@prospects_app.command("list")
def list_cmd(tenant: TenantOpt, limit: int = 20, contacted: bool | None = None,
             explain: Annotated[bool, typer.Option(help="Show each score's contributions.")] = False,
             lang: LangOpt = "") -> None:
    """Prospects, best score first."""
    from growthops.leads.prospects import store

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = store.list_prospects(conn, tenant_id=tid, contacted=contacted, limit=limit)
    table = Table("id", _(lg, "business"), _(lg, "domain"), _(lg, "industry"), _(lg, "region"),
                  _(lg, "score"), _(lg, "contacted"))
    for r in rows:
        table.add_row(str(r["prospect_id"]), r["business_name"], r["domain"] or "",
                      r["industry"] or "", r["region"] or "",
                      str(r["automation_need_score"] or ""), "✓" if r["contacted"] else "")
    console.print(table)
    if explain:
        for r in rows:
            parts = ", ".join(f"{k} {v['points']:+.1f} ({v['basis']})"
                              for k, v in r["score_contributions"].items())
            console.print(f"#{r['prospect_id']} = 45 + {parts}")
    console.print(_(lg, "{n} of {total} prospects.", n=len(rows), total=total))


@prospects_app.command("profile")
def profile_cmd(tenant: TenantOpt, text: Annotated[str, typer.Argument(
        help="The ideal customer profile (or @file).")], lang: LangOpt = "") -> None:
    """Set the ideal customer profile (embedded locally) and rescore every prospect."""
    from growthops.leads.prospects import scoring

    tid = _tenant_id(tenant)
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    with get_db().tenant_tx(tid) as conn:
        out = scoring.set_profile(conn, tenant_id=tid, text=text)
    console.print(_(_lang(lang), "Profile embedded with {model}; {n} prospects rescored.",
                    model=out["model"], n=out["rescored"]))


@prospects_app.command("queue")
def queue_cmd(tenant: TenantOpt, day: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD (default today, UTC).")] = None, size: int | None = None,
        lang: LangOpt = "") -> None:
    """Build (once) and show the day's prospect queue."""
    from growthops.leads.prospects import store

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    d = date.fromisoformat(day) if day else datetime.now(UTC).date()
    with get_db().tenant_tx(tid) as conn:
        store.build_queue(conn, tenant_id=tid, day=d, size=size)
        rows = store.queue_of(conn, tenant_id=tid, day=d)
    table = Table("#", "id", _(lg, "business"), _(lg, "e-mail"), _(lg, "score"))
    for r in rows:
        table.add_row(str(r["rank"]), str(r["prospect_id"]), r["business_name"],
                      r["contact_email"] or "", str(r["automation_need_score"] or ""))
    console.print(table)


@outreach_app.command("mailbox")
def mailbox_cmd(address: str, tenant: TenantOpt, cap: int = 30,
                warmup_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                smtp_host: str | None = None, smtp_port: int | None = None,
                starttls: bool = True, lang: LangOpt = "") -> None:
    """Add or update a sender mailbox (daily cap, warm-up start)."""
    from growthops.leads.outreach import sending

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        mb = sending.add_mailbox(conn, tenant_id=tid, address=address, daily_cap=cap,
                                 warmup_start=date.fromisoformat(warmup_start) if warmup_start
                                 else None, smtp_host=smtp_host, smtp_port=smtp_port,
                                 smtp_starttls=starttls)
    console.print(_(_lang(lang), "Mailbox {id} {address}: cap {cap} a day.",
                    id=mb["mailbox_id"], address=mb["address"], cap=mb["daily_cap"]))


@outreach_app.command("template")
def template_cmd(tenant: TenantOpt, name: str, subject: str, html_file: Path, text_file: Path,
                 language: str = "en", lang: LangOpt = "") -> None:
    """Create or replace a template from an HTML and a plain-text file (Jinja)."""
    from growthops.leads.outreach import templates

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = templates.create(conn, tenant_id=tid, name=name, subject=subject,
                               html_content=html_file.read_text(encoding="utf-8"),
                               plain_content=text_file.read_text(encoding="utf-8"),
                               language=language)
    console.print(_(_lang(lang), "Template {id} ({vars}).", id=row["template_id"],
                    vars=", ".join(row["variables"])))


@outreach_app.command("campaign")
def campaign_cmd(tenant: TenantOpt, name: str, template: int,
                 follow_up: Annotated[list[str] | None, typer.Option(
                     "--follow-up", help="DAYS:TEMPLATE_ID, business days after the previous "
                     "step (repeat).")] = None,
                 industry: Annotated[list[str] | None, typer.Option("--industry")] = None,
                 auto_approve: Annotated[bool, typer.Option(
                     "--auto-approve", help="Explicit policy: e-mails need no person.")] = False,
                 by: Annotated[str | None, typer.Option("--by")] = None,
                 lang: LangOpt = "") -> None:
    """Create a campaign (step 1 + follow-ups)."""
    from growthops.leads.outreach import campaigns

    tid = _tenant_id(tenant)
    steps = [{"delay_business_days": int(f.split(":")[0]), "template_id": int(f.split(":")[1])}
             for f in follow_up or []]
    with get_db().tenant_tx(tid) as conn:
        row = campaigns.create_campaign(conn, tenant_id=tid, name=name, template_id=template,
                                        follow_ups=steps, auto_approve=auto_approve, by=by,
                                        target_criteria={"industries": industry} if industry
                                        else None)
    console.print(_(_lang(lang), "Campaign {id} created.", id=row["campaign_id"]))


@outreach_app.command("generate")
def generate_cmd(campaign: int, tenant: TenantOpt, limit: int = 100, lang: LangOpt = "") -> None:
    """Render step 1 for the campaign's prospects (pending approval)."""
    from growthops.leads.outreach import campaigns

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        out = campaigns.generate(conn, tenant_id=tid, campaign_id=campaign, limit=limit)
    console.print(_(lg, "{n} e-mails generated.", n=out["created"]))
    for e in out["errors"]:
        console.print(f"  #{e['prospect_id']}: {e['reason']}")


@outreach_app.command("pending")
def pending_cmd(tenant: TenantOpt, campaign: int | None = None, lang: LangOpt = "") -> None:
    """The approval queue."""
    from growthops.leads.outreach import campaigns

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = campaigns.pending(conn, tenant_id=tid, campaign_id=campaign)
    table = Table("id", _(lg, "campaign"), _(lg, "step"), _(lg, "to"), _(lg, "subject"))
    for r in rows:
        table.add_row(str(r["email_id"]), r["campaign"], str(r["follow_up_sequence"]),
                      r["prospect_email"], r["subject"])
    console.print(table)


def _decide(ids: list[int], tenant: str, by: str, decision: str, every: bool, lang: str) -> None:
    from growthops.leads.outreach import campaigns

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        if every:
            ids = [r["email_id"] for r in campaigns.pending(conn, tenant_id=tid, limit=10_000)]
        done = campaigns.decide(conn, tenant_id=tid, email_ids=ids, decision=decision, by=by)
    console.print(_(_lang(lang), "{n} e-mails {decision} by {by}.", n=len(done),
                    decision=decision, by=by))


@outreach_app.command("approve")
def approve_cmd(tenant: TenantOpt, by: ByOpt, ids: list[int] = typer.Argument(None),  # noqa: B008
                every: Annotated[bool, typer.Option("--all")] = False, lang: LangOpt = "") -> None:
    """Approve pending e-mails (ids, or --all)."""
    _decide(ids or [], tenant, by, "approved", every, lang)


@outreach_app.command("reject")
def reject_cmd(tenant: TenantOpt, by: ByOpt, ids: list[int] = typer.Argument(None),  # noqa: B008
               every: Annotated[bool, typer.Option("--all")] = False, lang: LangOpt = "") -> None:
    """Reject pending e-mails (ids, or --all)."""
    _decide(ids or [], tenant, by, "rejected", every, lang)


@outreach_app.command("settings")
def settings_cmd(
    tenant: TenantOpt,
    business_hours: Annotated[str | None, typer.Option(
        help="Sending hours, local time: START-END, e.g. 9-17.")] = None,
    per_domain_cap: Annotated[int | None, typer.Option(
        help="Cold e-mails a day to one recipient domain.")] = None,
    pacing: Annotated[bool | None, typer.Option(
        "--pacing/--no-pacing", help="Spread each mailbox's daily cap over the hours.")] = None,
    tracking: Annotated[bool | None, typer.Option(
        "--tracking/--no-tracking", help="Count opens and clicks.")] = None,
    sender_name: str | None = None,
    postal_address: Annotated[str | None, typer.Option(
        help="The sender's postal address, printed in every e-mail.")] = None,
    public_base_url: Annotated[str | None, typer.Option(
        help="Where unsubscribe and tracking links point (https://...).")] = None,
    lang: LangOpt = "",
) -> None:
    """Show the tenant's outreach settings; change those given."""
    from growthops.core.errors import InvalidInput
    from growthops.leads.outreach import campaigns

    lg = _lang(lang)
    changes: dict[str, object] = {
        "per_domain_daily_cap": per_domain_cap, "send_pacing": pacing,
        "tracking_enabled": tracking, "sender_name": sender_name,
        "postal_address": postal_address, "public_base_url": public_base_url}
    if business_hours is not None:
        parts = business_hours.replace(" ", "").split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise InvalidInput(f"--business-hours: {business_hours!r} is not START-END, e.g. 9-17")
        changes["business_hours_start"], changes["business_hours_end"] = map(int, parts)
    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        st = campaigns.update_settings(
            conn, tenant_id=tid, **{k: v for k, v in changes.items() if v is not None})
    yes, no = _(lg, "yes"), _(lg, "no")
    table = Table(_(lg, "setting"), _(lg, "value"))
    for label, value in (
        (_(lg, "business hours"), f"{st['business_hours_start']}–{st['business_hours_end']} "
                                  f"({st['time_zone']})"),
        (_(lg, "cap per recipient domain, a day"), str(st["per_domain_daily_cap"])),
        (_(lg, "pacing over the hours"), yes if st["send_pacing"] else no),
        (_(lg, "open and click tracking"), yes if st["tracking_enabled"] else no),
        (_(lg, "sender name"), st.get("sender_name") or "–"),
        (_(lg, "postal address"), st.get("postal_address") or "–"),
        (_(lg, "public base URL"), st["public_base_url"]),
    ):
        table.add_row(label, value)
    console.print(table)


@outreach_app.command("send")
def send_cmd(tenant: TenantOpt, limit: int = 100,
             pacing: Annotated[bool | None, typer.Option(
                 "--pacing/--no-pacing",
                 help="Default: the tenant's setting. --no-pacing sends what the caps allow "
                      "now.")] = None,
             lang: LangOpt = "") -> None:
    """Render due follow-ups and send due approved e-mails now (caps, hours, suppression,
    pacing)."""
    from growthops.leads.jobs import mailbox_sender
    from growthops.leads.outreach import campaigns, sending

    tid = _tenant_id(tenant)
    db = get_db()
    now = datetime.now(UTC)
    with db.tenant_tx(tid) as conn:
        fu = campaigns.schedule_follow_ups(conn, tenant_id=tid, now=now)
    out = sending.send_due(db, tenant_id=tid, sender_for=mailbox_sender(db.settings), now=now,
                           limit=limit, pace=pacing)
    console.print(_(_lang(lang), "{fu} follow-ups rendered; {out}", fu=fu, out=json.dumps(out)))


@outreach_app.command("stuck")
def stuck_cmd(tenant: TenantOpt,
              resolve_as: Annotated[str | None, typer.Option(
                  "--as", help="sent (found in the mailbox's Sent folder) or approved (not sent: "
                               "queue it again).")] = None,
              by: Annotated[str | None, typer.Option("--by", help="Who resolves (recorded).")] = None,
              lang: LangOpt = "") -> None:
    """List the e-mails left 'sending' by a crash for more than an hour; with --as, resolve them."""
    from growthops.core.errors import InvalidInput
    from growthops.leads.outreach import sending

    lg = _lang(lang)
    tid = _tenant_id(tenant)
    now = datetime.now(UTC)
    with get_db().tenant_tx(tid) as conn:
        if resolve_as is None:
            rows = sending.stuck_emails(conn, tenant_id=tid, now=now)
            table = Table(_(lg, "e-mail"), _(lg, "to"), _(lg, "from"), _(lg, "claimed at"))
            for r in rows:
                table.add_row(str(r["email_id"]), r["prospect_email"], r["sender_email"] or "",
                              str(r["claimed_at"] or "–"))
            console.print(table)
            return
        if not by:
            raise InvalidInput("--by: say who resolves the stuck e-mails")
        ids = sending.resolve_stuck(conn, tenant_id=tid, now=now, as_status=resolve_as, by=by)
    console.print(_(lg, "{n} stuck e-mails resolved as {status}.", n=len(ids), status=resolve_as))


@outreach_app.command("metrics")
def metrics_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Recompute and print each campaign's funnel (human and machine apart)."""
    from growthops.leads.outreach import metrics

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        metrics.recompute(conn, tenant_id=tid)
        rows = metrics.campaign_figures(conn, tenant_id=tid)
    print_figures(rows, _lang(lang))


def print_figures(rows: list[dict[str, object]], lg: str) -> None:
    """The campaigns' funnel as a table (replies first: the headline)."""
    table = Table(_(lg, "campaign"), _(lg, "replies"), _(lg, "reply rate"), _(lg, "sent"),
                  _(lg, "delivered"), _(lg, "human opens"), _(lg, "machine opens"),
                  _(lg, "human clicks"), _(lg, "machine clicks"), _(lg, "bounces"),
                  _(lg, "unsubscribes"))
    for r in rows:
        tracked = r.get("tracking_enabled") is not False
        nt = _(lg, "not tracked")
        table.add_row(str(r["name"]), str(r.get("total_emails_replied") or 0),
                      _pct(r.get("reply_rate")), str(r.get("total_emails_sent") or 0),
                      str(r.get("total_emails_delivered") or 0),
                      str(r.get("total_emails_opened")) if tracked else nt,
                      str(r.get("machine_opens")) if tracked else nt,
                      str(r.get("total_emails_clicked")) if tracked else nt,
                      str(r.get("machine_clicks")) if tracked else nt,
                      str(r.get("total_emails_bounced") or 0),
                      str(r.get("total_emails_unsubscribed") or 0))
    console.print(table)


@outreach_app.command("suppress")
def suppress_cmd(address: str, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Put an address (or @domain) on the suppression list; its sequences end."""
    from growthops.leads.outreach import campaigns

    tid = _tenant_id(tenant)
    addr = address.strip().lower()
    with get_db().tenant_tx(tid) as conn:
        conn.execute("""insert into leads.suppression_list (tenant_id, email_norm, reason,
                          created_by) values (%s, %s, 'manual', %s) on conflict do nothing""",
                     [str(tid), addr, by])
        campaigns.end_sequences(conn, tenant_id=tid, state="unsubscribed",
                                reason=f"suppressed by {by}", email_norms=[addr])
    console.print(_(_lang(lang), "{address} suppressed.", address=addr))
