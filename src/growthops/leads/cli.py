"""``growthops leads ...``: settings, form tokens, leads and their work, enrichment, insights,
export, prompts and A/B tests."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from growthops.core.cli import LangOpt, TenantOpt, _lang, _tenant_id, console
from growthops.core.db import get_db
from growthops.core.i18n import _

app = typer.Typer(help="Inbound leads: capture, enrichment, work, insights, prompts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
prompts_app = typer.Typer(help="Versioned prompts and their A/B tests.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
ByOpt = Annotated[str, typer.Option("--by", help="Who does it (recorded in the journal).")]


def _ts(v: Any) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if v else "–"


@app.command("settings")
def settings_cmd(
    tenant: TenantOpt,
    business_name: Annotated[str | None, typer.Option(help="Name used in replies.")] = None,
    language: Annotated[str | None, typer.Option(help="en or fr.")] = None,
    email_tone: Annotated[str | None, typer.Option(help="professional, friendly, formal, energetic.")] = None,
    auto_reply: Annotated[bool | None, typer.Option("--auto-reply/--no-auto-reply",
                          help="Send the personalised first reply to each lead (policy).")] = None,
    booking_link: Annotated[str | None, typer.Option(help="https://... calendar link.")] = None,
    reply_from: Annotated[str | None, typer.Option(help="From: address of replies.")] = None,
    lang: LangOpt = "",
) -> None:
    """Show or change the tenant's leads settings."""
    from growthops.leads import settings as svc

    tid = _tenant_id(tenant)
    changes = {k: v for k, v in {"business_name": business_name, "language": language,
                                 "email_tone": email_tone, "ai_personalized_reply": auto_reply,
                                 "booking_link": booking_link, "reply_from": reply_from}.items()
               if v is not None}
    with get_db().tenant_tx(tid) as conn:
        row = svc.update(conn, tenant_id=tid, **changes) if changes else svc.get(conn, tenant_id=tid)
    table = Table(_(_lang(lang), "setting"), _(_lang(lang), "value"))
    for k in ("business_name", "language", "email_tone", "ai_personalized_reply", "booking_link",
              "reply_from", "reply_daily_cap"):
        table.add_row(k, str(row.get(k)))
    console.print(table)


@app.command("form-token")
def form_token(tenant: TenantOpt,
               origin: Annotated[list[str], typer.Option("--origin", help="Allowed origin, e.g. https://www.example.com (repeat).")],
               name: Annotated[str, typer.Option(help="What the form is.")] = "website form",
               by: Annotated[str | None, typer.Option("--by")] = None, lang: LangOpt = "") -> None:
    """Create a public form token bound to allowed origins (for browser forms) and print it."""
    from growthops.leads import settings as svc

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = svc.create_form_token(conn, tenant_id=tid, name=name, origins=origin, by=by)
    console.print(_(_lang(lang), "Form token {id} created for {origins}.", id=row["token_id"],
                    origins=", ".join(row["allowed_origins"])))
    print(row["token"], flush=True)


@app.command("list")
def list_cmd(tenant: TenantOpt, state: str = "active", intent: str | None = None,
             urgency: str | None = None, tag: str | None = None, language: str | None = None,
             since: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
             limit: int = 50, lang: LangOpt = "") -> None:
    """List leads, newest first, with their AI reading."""
    from growthops.leads import work

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows, total = work.list_leads(conn, tenant_id=tid, state=state, intent=intent,
                                      urgency=urgency, tag=tag, language=language,
                                      since=date.fromisoformat(since) if since else None,
                                      limit=limit)
    lg = _lang(lang)
    table = Table("id", _(lg, "received"), _(lg, "from"), _(lg, "intent"), _(lg, "urgency"),
                  _(lg, "tone"), _(lg, "lang"), _(lg, "conf."), _(lg, "tag"), _(lg, "summary"))
    for r in rows:
        table.add_row(str(r["lead_id"]), _ts(r["received_at"]), r["name"] or r["email"],
                      r["intent"] or "…", r["urgency"] or "", r["tone"] or "",
                      r["language"] or "", f"{r['confidence_score']:.2f}" if r["confidence_score"] is not None else "",
                      r["current_tag"] or "", (r["ai_summary"] or "")[:60])
    console.print(table)
    console.print(_(lg, "{n} of {total} leads.", n=len(rows), total=total))


@app.command("show")
def show(lead_id: int, tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Show a lead: message, AI reading and history, notes, journal, replies."""
    from growthops.leads import replies, work

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        lead = work.get_lead(conn, tenant_id=tid, lead_id=lead_id)
        entries = work.journal(conn, tenant_id=tid, lead_id=lead_id)
        notes = work.notes(conn, tenant_id=tid, lead_id=lead_id)
        sends = replies.sends(conn, tenant_id=tid, lead_id=lead_id)
    lg = _lang(lang)
    console.print(f"[bold]#{lead['lead_id']}[/] {lead['name'] or ''} <{lead['email']}> · {_ts(lead['received_at'])}")
    console.print(lead["message"])
    console.print(_(lg, "AI: intent {intent}, tone {tone}, urgency {urgency}, language {language}, confidence {conf}",
                    intent=lead["intent"], tone=lead["tone"], urgency=lead["urgency"],
                    language=lead["language"], conf=lead["confidence_score"]))
    for n in notes:
        console.print(f"  ✎ {n['performed_by']}: {n['note']}")
    table = Table(_(lg, "when"), _(lg, "action"), _(lg, "by"), _(lg, "details"))
    for e in entries:
        table.add_row(_ts(e["timestamp"]), e["action_type"], e["performed_by"],
                      e["tag"] or e["reversion_reason"] or json.dumps(e["details"], default=str)[:80])
    console.print(table)
    for s in sends:
        console.print(_(lg, "Reply {id}: {status} ({attempts} attempts) {mid}", id=s["send_id"],
                        status=s["status"], attempts=s["attempts"], mid=s["message_id"]))


def _act(tenant: str, lead_id: int, action: str, by: str, lang: str, **kw: Any) -> None:
    from growthops.leads import work

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        work.act(conn, tenant_id=tid, lead_id=lead_id, action=action, by=by, **kw)
    console.print(_(_lang(lang), "Lead {id}: {action} done by {by}.", id=lead_id, action=action, by=by))


@app.command("tag")
def tag_cmd(lead_id: int, tag: str, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Tag a lead."""
    _act(tenant, lead_id, "tag", by, lang, tag=tag)


@app.command("archive")
def archive_cmd(lead_id: int, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Archive a lead."""
    _act(tenant, lead_id, "archive", by, lang)


@app.command("delete")
def delete_cmd(lead_id: int, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Delete a lead (soft: reactivate brings it back)."""
    _act(tenant, lead_id, "delete", by, lang)


@app.command("reactivate")
def reactivate_cmd(lead_id: int, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Bring an archived or deleted lead back."""
    _act(tenant, lead_id, "reactivate", by, lang)


@app.command("convert")
def convert_cmd(lead_id: int, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Mark a lead converted."""
    _act(tenant, lead_id, "convert", by, lang)


@app.command("revert")
def revert_cmd(lead_id: int, tenant: TenantOpt, by: ByOpt,
               reason: Annotated[str, typer.Option("--reason", help="Why.")], lang: LangOpt = "") -> None:
    """Revert a conversion, with a reason."""
    _act(tenant, lead_id, "revert", by, lang, reason=reason)


@app.command("correct-intent")
def correct_cmd(lead_id: int, intent: str, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Set the right intent of a lead (it becomes a training example)."""
    _act(tenant, lead_id, "correct_intent", by, lang, intent=intent)


@app.command("note")
def note_cmd(lead_id: int, note: str, tenant: TenantOpt, by: ByOpt, lang: LangOpt = "") -> None:
    """Add a note to a lead."""
    from growthops.leads import work

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        work.add_note(conn, tenant_id=tid, lead_id=lead_id, note=note, by=by)
    console.print(_(_lang(lang), "Note added to lead {id}.", id=lead_id))


@app.command("export")
def export_cmd(tenant: TenantOpt, state: str = "active", intent: str | None = None,
               urgency: str | None = None, tag: str | None = None, language: str | None = None) -> None:
    """Write the filtered leads as CSV to standard output."""
    from growthops.leads import work

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        sys.stdout.write(work.export_csv(conn, tenant_id=tid, state=state, intent=intent,
                                         urgency=urgency, tag=tag, language=language))


@app.command("enrich")
def enrich_cmd(tenant: TenantOpt, reanalyse: Annotated[bool, typer.Option(help="Re-read enriched leads too.")] = False,
               lang: LangOpt = "") -> None:
    """Enrich the tenant's pending leads now (in this process), 200 at a time."""
    from growthops.core.ai.embeddings import MISSING_HINT, local_embedder
    from growthops.core.ai.llm import llm_from_settings
    from growthops.leads.enrichment.service import enrich_leads

    db = get_db()
    tid = _tenant_id(tenant)
    if local_embedder() is None:
        hint = _(_lang(lang), MISSING_HINT)
        console.print(f"[dim]{hint}[/]")
    done = 0
    with console.status(_(_lang(lang), "Enriching…")):
        while True:
            with db.tenant_tx(tid) as conn:
                n = len(enrich_leads(conn, tenant_id=tid, reanalyse=reanalyse,
                                     llm=llm_from_settings(db.settings)))
            done += n
            if n == 0 or reanalyse:
                break
    console.print(_(_lang(lang), "{n} leads enriched.", n=done))


@app.command("insights")
def insights_cmd(tenant: TenantOpt, lang: LangOpt = "") -> None:
    """Compute this week's growth insights now and print them."""
    from growthops.leads import insights

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = insights.compute(conn, tenant_id=tid)
    print_insights(row, _lang(lang))


def print_insights(row: dict[str, Any], lang: str) -> None:
    """Print a growth_brain row as tables and the recommendations."""
    table = Table(_(lang, "figure"), _(lang, "value"))
    table.add_row(_(lang, "week"), f"{_ts(row['analysis_period_start'])} → {_ts(row['analysis_period_end'])}")
    table.add_row(_(lang, "leads"), str(row["total_leads"]))
    table.add_row(_(lang, "top intents"), ", ".join(f"{i['intent']} {i['count']}" for i in row["top_intents"]))
    table.add_row(_(lang, "urgency"), json.dumps(row["urgency_distribution"]))
    table.add_row(_(lang, "urgency trend (points)"), str(row["urgency_trend_percentage"]))
    table.add_row(_(lang, "tone"), json.dumps(row["tone_distribution"]))
    table.add_row(_(lang, "sentiment score"), str(row["tone_sentiment_score"]))
    table.add_row(_(lang, "mean confidence"), str(row["avg_confidence"]))
    table.add_row(_(lang, "languages"), json.dumps(row["language_ratio"]))
    table.add_row(_(lang, "engagement score"), str(row["engagement_score"]))
    console.print(table)
    for rec in row["predictive_insights"].get(lang, []):
        console.print(f"• {rec['text']}")


@prompts_app.command("list")
def prompts_list(tenant: TenantOpt) -> None:
    """List prompt versions with executions and status."""
    from growthops.leads.experiments import prompts

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        rows = prompts.list_prompts(conn, tenant_id=tid)
    table = Table("id", "variant", "status", "uses", "executions", "errors")
    for r in rows:
        table.add_row(str(r["prompt_id"]), r["variant_id"], r["status"], str(r["usage_count"]),
                      str(r["executions"]), str(r["errors"]))
    console.print(table)


@prompts_app.command("add")
def prompts_add(tenant: TenantOpt, name: str, language: str, by: ByOpt,
                text_file: Annotated[typer.FileText, typer.Option("--text-file", help="Prompt text ('-' for stdin).")]) -> None:
    """Add a new (candidate) version of a prompt."""
    from growthops.leads.experiments import prompts

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = prompts.add_version(conn, tenant_id=tid, name=name, language=language,
                                  text=text_file.read(), created_by=by)
    console.print(f"{row['variant_id']} (id {row['prompt_id']}) candidate")


@prompts_app.command("test")
def prompts_test(tenant: TenantOpt, name: str, treatment: int, by: ByOpt,
                 metric: str = "conversion", share: float = 0.5, min_sample: int = 100,
                 max_days: int = 7, auto_promote: bool = False) -> None:
    """Start an A/B test of a candidate version against the active one."""
    from growthops.leads.experiments import prompts

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = prompts.create_test(conn, tenant_id=tid, test_name=name, treatment_prompt_id=treatment,
                                  created_by=by, treatment_share=share, outcome_metric=metric,
                                  min_sample_size=min_sample, max_duration_days=max_days,
                                  auto_promote=auto_promote)
    console.print(f"test {row['test_id']} {row['status']}")


@prompts_app.command("status")
def prompts_status(tenant: TenantOpt, test_id: int) -> None:
    """Evaluate a test now: arms, always-valid p-value, SRM, conclusion."""
    from growthops.leads.experiments import prompts

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = prompts.evaluate(conn, tenant_id=tid, test_id=test_id)
    console.print_json(json.dumps({k: row[k] for k in (
        "test_id", "status", "conclusion", "control_metrics", "treatment_metrics",
        "statistical_significance", "srm_p_value", "winner_prompt_id")}, default=str))


@prompts_app.command("promote")
def prompts_promote(tenant: TenantOpt, test_id: int, winner: str, by: ByOpt) -> None:
    """End a running test with its winner (treatment or control)."""
    from growthops.leads.experiments import prompts

    tid = _tenant_id(tenant)
    with get_db().tenant_tx(tid) as conn:
        row = prompts.promote(conn, tenant_id=tid, test_id=test_id, winner=winner, decided_by=by)
    console.print(f"test {row['test_id']} completed, winner prompt {row['winner_prompt_id']}")


def new_form_token() -> str:
    """Return a new public form token ``gof_<32 url-safe characters>``."""
    return "gof_" + secrets.token_urlsafe(24)


def _add_outreach() -> None:
    from growthops.leads.outreach_cli import outreach_app, prospects_app

    app.add_typer(prospects_app, name="prospects")
    app.add_typer(outreach_app, name="outreach")


_add_outreach()
