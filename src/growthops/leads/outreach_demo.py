"""The prospects and outreach part of the leads demo (called by :mod:`growthops.leads.demo`).

Imports ``examples/data/leads/prospects.csv`` (fictional businesses under ``.example``, see
``prospects.SOURCE.md``), sets the ideal customer profile, creates a two-step campaign whose
first e-mails a person (``demo``) approves, sends them to a local SMTP server (aiosmtpd), sends
a reply and a bounce (DSN) back through the inbound SMTP receiver, lets a link scanner and a
privacy proxy hit the tracking links over HTTP, renders the follow-ups due four business days
later (not for the replied and the bounced prospect) and prints the campaign's metrics.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from rich.console import Console

from growthops.core.db import Database
from growthops.core.demo import examples_dir
from growthops.core.i18n import _

HTML1 = ("<html><body><p>Hello {{ first_name }},</p><p>{{ business_name }} receives inquiries "
         "at all hours. We answer them in minutes, in English and French.</p><p>"
         '<a href="https://avenir.example/demo">See a two-minute demo</a> · '
         '<a href="https://avenir.example/pricing">Pricing</a></p><p>{{ sender_name }}</p>'
         '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>')
TEXT1 = ("Hello {{ first_name }},\n\n{{ business_name }} receives inquiries at all hours. We "
         "answer them in minutes, in English and French.\n\nDemo: https://avenir.example/demo"
         "\n\n{{ sender_name }}\nUnsubscribe: {{ unsubscribe_url }}\n")
HTML2 = ("<html><body><p>{{ first_name }}, a short follow-up: would a 15-minute call this week "
         "help?</p><p>{{ sender_name }}</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>"
         "</p></body></html>")
TEXT2 = ("{{ first_name }}, a short follow-up: would a 15-minute call this week help?\n\n"
         "{{ sender_name }}\nUnsubscribe: {{ unsubscribe_url }}\n")
PROFILE = ("Small service businesses in Québec and Ontario (dental and health clinics, trades, "
           "notaries) with 10 to 50 employees, whose front desk cannot answer every call and "
           "web inquiry quickly, in French and English.")


def _dsn(orig: Any) -> bytes:
    return ("From: MAILER-DAEMON@mx.example\r\nTo: ann@avenir.example\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example"
            f"\r\n\r\nFinal-Recipient: rfc822; {orig['To']}\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"Message-ID: {orig['Message-ID']}\r\nTo: {orig['To']}\r\n\r\n--B--\r\n").encode()


def run_outreach_demo(db: Database, console: Console, *, tid: Any, http_base: str,
                      lang: str = "en") -> None:
    """Run the outreach demo on tenant ``tid``; ``http_base`` serves the public links."""
    import email

    import httpx
    from aiosmtpd.controller import Controller

    from growthops.connectors.smtp import SmtpSession
    from growthops.connectors.smtp.inbound import start_receiver
    from growthops.core.errors import Conflict
    from growthops.leads.outreach import campaigns, inbound, metrics, sending, templates
    from growthops.leads.outreach_cli import print_figures
    from growthops.leads.prospects import scoring, store

    console.rule(_(lang, "Prospects and outreach"))
    with db.tenant_tx(tid) as conn:
        rep = store.import_csv(conn, tenant_id=tid, filename="prospects.csv",
                               data=(examples_dir() / "leads" / "prospects.csv").read_bytes())
        scoring.set_profile(conn, tenant_id=tid, text=PROFILE)
        campaigns.update_settings(conn, tenant_id=tid, sender_name="Ann, Avenir AI",
                                  public_base_url=http_base)
    console.print(_(lang, "{source}: {rows} rows, {ins} new prospects, {mer} merged into "
                          "existing ones, {dup} duplicates within the file, {rej} rejected.",
                    source=rep["source"], rows=rep["rows"], ins=rep["inserted"],
                    mer=rep["merged"], dup=rep["merged_in_file"], rej=len(rep["rejected"])))
    received: list[Any] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out_smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    out_smtp.start()
    results: list[dict[str, Any]] = []
    inbox = start_receiver(lambda raw, rcpt: results.append(inbound.process(db, raw, rcpt)))
    try:
        with db.tenant_tx(tid) as conn:
            sending.add_mailbox(conn, tenant_id=tid, address="ann@avenir.example",
                                display_name="Ann (Avenir AI)", smtp_host="127.0.0.1",
                                smtp_port=port, smtp_starttls=False)
            t1 = templates.create(conn, tenant_id=tid, name="first touch",
                                  subject="{{ business_name }}: every inquiry answered",
                                  html_content=HTML1, plain_content=TEXT1)
            t2 = templates.create(conn, tenant_id=tid, name="follow-up", subject="x",
                                  html_content=HTML2, plain_content=TEXT2)
            try:
                camp = campaigns.create_campaign(
                    conn, tenant_id=tid, name="Québec & Ontario clinics",
                    template_id=t1["template_id"], by="demo",
                    target_criteria={"min_score": 60},
                    follow_ups=[{"delay_business_days": 3, "template_id": t2["template_id"]}])
            except Conflict:
                camp = conn.execute("""select * from leads.outreach_campaigns where tenant_id = %s
                                       and name = 'Québec & Ontario clinics'""", [tid]).fetchone()
            gen = campaigns.generate(conn, tenant_id=tid, campaign_id=camp["campaign_id"], limit=6)
            pending = campaigns.pending(conn, tenant_id=tid, campaign_id=camp["campaign_id"])
            ok = campaigns.decide(conn, tenant_id=tid, email_ids=[p["email_id"] for p in pending],
                                  decision="approved", by="demo (a person)")
        console.print(_(lang, "{n} e-mails generated.", n=gen["created"]) + " " + _(
            lang, "{n} e-mails {decision} by {by}.", n=len(ok), decision="approved",
            by="demo (a person)"))
        now = datetime.now(UTC)
        sent = sending.send_due(
            db, tenant_id=tid, now=now, hours=False, pace=False,  # the six at once, for the demo
            sender_for=lambda mb: SmtpSession(host="127.0.0.1", port=port, starttls=False))
        console.print(_(lang, "{n} outreach e-mails sent to the local SMTP server; {m} "
                              "received there.", n=sent["sent"], m=len(received)))
        if len(received) >= 2:
            reply = EmailMessage()
            reply["From"], reply["To"] = received[0]["To"], "ann@avenir.example"
            reply["Subject"] = "Re: " + received[0]["Subject"]
            reply["In-Reply-To"] = reply["References"] = received[0]["Message-ID"]
            reply.set_content("Yes, please call me on Thursday.")
            with smtplib.SMTP("127.0.0.1", inbox.port) as smtp:
                smtp.sendmail(received[0]["To"], ["ann@avenir.example"], reply.as_bytes())
                smtp.sendmail("", ["ann@avenir.example"], _dsn(received[1]))
            console.print(_(lang, "Inbound: {kinds}.", kinds=", ".join(r["kind"] for r in results)))
            # a link scanner (HEAD, then every link at once) and a privacy proxy
            with db.tenant_tx(tid) as conn:
                emails = conn.execute("""select token, links from leads.outreach_emails
                    where tenant_id = %s and status = 'sent' order by email_id""",
                                      [tid]).fetchall()
            with httpx.Client(base_url=http_base, timeout=10) as http:
                for e in emails[:3]:
                    http.head(f"/o/c/{e['token']}/0", headers={"User-Agent": "Mimecast"})
                    for i in range(len(e["links"])):
                        http.get(f"/o/c/{e['token']}/{i}", follow_redirects=False,
                                 headers={"User-Agent": "Mozilla/5.0 (X11) Chrome/120"})
                    http.get(f"/o/o/{e['token']}.gif", headers={"User-Agent": "Mozilla/5.0"})
        with db.tenant_tx(tid) as conn:
            fu = campaigns.schedule_follow_ups(conn, tenant_id=tid, now=now + timedelta(days=6))
            rules = conn.execute(
                """select machine_rule, count(*) n from leads.outreach_tracking where tenant_id = %s
                   and action in ('opened', 'clicked') group by 1 order by 2 desc""",
                [tid]).fetchall()
            metrics.recompute(conn, tenant_id=tid)
            figures = metrics.campaign_figures(conn, tenant_id=tid)
        console.print(_(lang, "Tracking events: {rules}.", rules=", ".join(
            f"{r['machine_rule'] or 'human'} {r['n']}" for r in rules)))
        console.print(_(lang, "{n} follow-ups pending approval (none for the replied and the "
                              "bounced prospect).", n=fu))
        print_figures(figures, lang)
    finally:
        inbox.stop()
        out_smtp.stop()
