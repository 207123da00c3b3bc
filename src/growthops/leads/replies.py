"""The personalised first reply to a lead: composed, queued, sent over SMTP, recorded.

Policy: a lead gets an e-mail only when its tenant's ``ai_personalized_reply`` is on (the
explicit auto policy), the lead is not a test, not a vendor pitch nor a job application, has
not refused e-mail (``consent_email`` false), and the tenant is under its ``reply_daily_cap``;
at most one first reply per lead (unique index). The text is the ``lead_reply`` prompt of the
lead's language (an A/B test may choose the version, :func:`growthops.leads.experiments.prompts.
prompt_for_lead`), filled with the tenant's business name, tone (its sign-off) and booking link,
and the lead's name and summary: a template, so nothing is invented. Each send is a row of
``leads.email_sends`` (queued → sent | failed, attempts, last error) with its ``Message-ID``; the
send job retries transient failures (:mod:`growthops.leads.jobs`).
"""

from __future__ import annotations

import html
from typing import Any
from uuid import UUID

from growthops.connectors.smtp import MailSender, SendError, build_message, new_message_id
from growthops.core.i18n import _
from growthops.leads.experiments import prompts

NO_REPLY_INTENTS = ("vendor_pitch", "job_application")
#: Sign-off per tone and language (the tenant's ``email_tone``).
SIGN_OFF = {
    "professional": "Best regards,", "friendly": "Talk soon,", "formal": "Yours sincerely,",
    "energetic": "Can't wait to talk!",
}


def settings_of(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's leads settings (defaults when never set)."""
    row = conn.execute("select * from leads.tenant_settings where tenant_id = %s",
                       [str(tenant_id)]).fetchone()
    if row is None:
        name = conn.execute("select client_name from core.tenants where tenant_id = %s",
                            [str(tenant_id)]).fetchone()
        return {"tenant_id": tenant_id, "business_name": name["client_name"] if name else None,
                "language": "en", "email_tone": "professional", "ai_personalized_reply": False,
                "booking_link": None, "reply_from": None, "reply_daily_cap": 200}
    return row


def compose(*, template: str, lead: dict[str, Any], settings: dict[str, Any],
            lang: str) -> tuple[str, str, str]:
    """Return ``(subject, text, html)`` of the reply from a ``lead_reply`` template.

    The template's first line ``Subject: ...`` is the subject; the rest is the body. HTML is the
    escaped text with paragraphs and a link for the booking URL.
    """
    business = settings.get("business_name") or "our team"
    link = settings.get("booking_link")
    booking = (_(lang, "Book a time that suits you: {link}", link=link) if link else "")
    sign = _(lang, SIGN_OFF.get(settings.get("email_tone") or "professional", "Best regards,"))
    values = {"name": lead.get("name") or _(lang, "there"), "business": business,
              "summary": lead.get("ai_summary") or "", "booking_link": link or "",
              "booking_sentence": booking, "signature": f"{sign}\n{business}",
              "intent": lead.get("intent") or "", "intents": "", "message": ""}
    filled = template.format(**values)
    first, _sep, rest = filled.partition("\n")
    subject = first[len("Subject:"):].strip() if first.startswith("Subject:") else business
    text = (rest if first.startswith("Subject:") else filled).strip() + "\n"
    paras = []
    for p in text.split("\n\n"):
        esc = html.escape(p).replace("\n", "<br>")
        if link:
            esc = esc.replace(html.escape(link), f'<a href="{html.escape(link)}">{html.escape(link)}</a>')
        paras.append(f"<p>{esc}</p>")
    return subject, text, f'<!DOCTYPE html><html lang="{lang}"><body>{"".join(paras)}</body></html>'


def queue_replies(conn: Any, *, tenant_id: UUID | str, lead_ids: list[int],
                  from_default: str | None = None) -> list[int]:
    """Queue the first reply of each lead the policy allows; return the new ``send_id``s."""
    st = settings_of(conn, tenant_id=tenant_id)
    if not st.get("ai_personalized_reply") or not lead_ids:
        return []
    sent_today = conn.execute(
        """select count(*) n from leads.email_sends where tenant_id = %s
           and created_at > now() - interval '24 hours'""", [str(tenant_id)]).fetchone()["n"]
    room = max(0, int(st.get("reply_daily_cap") or 0) - int(sent_today))
    leads = conn.execute(
        """select l.* from leads.lead_memory l
           where l.tenant_id = %s and l.lead_id = any(%s) and l.enrichment_status = 'done'
             and not l.is_test and not l.deleted and coalesce(l.consent_email, true)
             and coalesce(l.intent, '') <> all(%s)
             and not exists (select 1 from leads.email_sends s where s.tenant_id = l.tenant_id
                             and s.lead_id = l.lead_id)
           order by l.lead_id limit %s""",
        [str(tenant_id), lead_ids, list(NO_REPLY_INTENTS), room]).fetchall()
    from_addr = st.get("reply_from") or from_default or "no-reply@localhost"
    domain = from_addr.rsplit("@", 1)[-1]
    ids = []
    for lead in leads:
        lang = lead["language"] or st.get("language") or "en"
        prompt, test, variant = prompts.prompt_for_lead(
            conn, tenant_id=tenant_id, name="lead_reply", language=lang, lead_id=lead["lead_id"])
        subject, text, body_html = compose(template=prompt["prompt_text"], lead=lead,
                                           settings=st, lang=lang)
        row = conn.execute(
            """insert into leads.email_sends (tenant_id, lead_id, prompt_id, test_id, variant,
                 to_address, from_address, subject, body_text, body_html, language, message_id)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict do nothing returning send_id""",
            [str(tenant_id), lead["lead_id"], prompt["prompt_id"],
             test["test_id"] if test else None, variant, lead["email"], from_addr, subject,
             text, body_html, lang, new_message_id(domain)]).fetchone()
        if row is not None:
            prompts.record_execution(conn, tenant_id=tenant_id, prompt_id=prompt["prompt_id"],
                                     lead_id=lead["lead_id"], provider="template",
                                     input_data={"lead_id": lead["lead_id"], "variant": variant},
                                     output_data={"send_id": row["send_id"]}, response_time_ms=0)
            ids.append(int(row["send_id"]))
    return ids


def send_one(conn: Any, *, tenant_id: UUID | str, send_id: int, sender: MailSender) -> str:
    """Send a queued reply; record the result; return ``sent``, ``failed`` or ``skipped``.

    Holds the row lock while sending so two workers never send it twice. A transient failure
    re-raises :class:`SendError` after recording the attempt (the job retries); a permanent
    one marks it failed. Never commits.
    """
    row = conn.execute(
        """select * from leads.email_sends where tenant_id = %s and send_id = %s for update""",
        [str(tenant_id), send_id]).fetchone()
    if row is None or row["status"] == "sent":
        return "skipped"
    msg = build_message(from_address=row["from_address"], to_address=row["to_address"],
                        subject=row["subject"], text=row["body_text"], html=row["body_html"],
                        message_id=row["message_id"], language=row["language"])
    try:
        sender.send(msg)
    except SendError as exc:
        conn.execute(
            """update leads.email_sends set attempts = attempts + 1, last_error = %s,
                 status = %s where tenant_id = %s and send_id = %s""",
            [str(exc)[:500], "queued" if exc.transient else "failed", str(tenant_id), send_id])
        conn.execute(
            """insert into leads.lead_actions (tenant_id, lead_id, action_type, performed_by, details)
               values (%s, %s, 'email_failed', 'ai', jsonb_build_object('send_id', %s::bigint,
                       'error', %s::text, 'transient', %s::boolean))""",
            [str(tenant_id), row["lead_id"], send_id, str(exc)[:200], exc.transient])
        if exc.transient:
            raise
        return "failed"
    conn.execute(
        """with s as (update leads.email_sends set status = 'sent', sent_at = now(),
                        attempts = attempts + 1, last_error = null
                      where tenant_id = %s and send_id = %s returning tenant_id, lead_id, message_id)
           insert into leads.lead_actions (tenant_id, lead_id, action_type, performed_by, details)
           select tenant_id, lead_id, 'email_sent', 'ai', jsonb_build_object('send_id', %s::bigint,
                  'message_id', message_id) from s""",
        [str(tenant_id), send_id, send_id])
    return "sent"


def mark_failed(conn: Any, *, tenant_id: UUID | str, send_id: int) -> None:
    """Mark a reply failed after the last retry (visible in the lead's page)."""
    conn.execute("""update leads.email_sends set status = 'failed' where tenant_id = %s
                    and send_id = %s and status = 'queued'""", [str(tenant_id), send_id])


def sends(conn: Any, *, tenant_id: UUID | str, lead_id: int | None = None) -> list[dict[str, Any]]:
    """Return the tenant's (or a lead's) replies, newest first."""
    return conn.execute(
        """select send_id, lead_id, to_address, subject, language, message_id, status, attempts,
                  last_error, created_at, sent_at, variant, prompt_id
           from leads.email_sends where tenant_id = %s and (%s::bigint is null or lead_id = %s)
           order by send_id desc limit 200""", [str(tenant_id), lead_id, lead_id]).fetchall()
