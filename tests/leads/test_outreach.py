"""Outreach rules through the public functions, with a real SMTP server on loopback (aiosmtpd):
approval before sending, caps, suppression, sequences stopped by replies and bounces, DSN and
ARF parsing, templates with missing variables, metrics."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from growthops.connectors.smtp import SmtpSession
from growthops.core.errors import InvalidInput
from growthops.leads.outreach import campaigns, inbound, metrics, sending, templates
from growthops.leads.prospects import store
from tests.conftest import new_tenant
from tests.leads.conftest import q

DATA = Path(__file__).parent / "data"
# a Tuesday, 14:00 in Toronto (the test tenants' zone is set below)
NOW = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
TEXT = ("Hello {{ first_name }},\n{{ business_name }} could answer every inquiry in minutes.\n"
        "{{ sender_name }}\nUnsubscribe: {{ unsubscribe_url }}\n")
HTML = ("<html><body><p>Hello {{ first_name }}, see <a href=\"https://avenir.example/demo\">"
        "our demo</a> and <a href=\"https://avenir.example/price\">prices</a>.</p>"
        "<p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p></body></html>")


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp():
    import socket

    sink = Sink()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        sink.port = s.getsockname()[1]
    ctl = Controller(sink, hostname="127.0.0.1", port=sink.port)
    ctl.start()
    yield sink
    ctl.stop()


def sender_for(smtp: Sink):
    return lambda mailbox: SmtpSession(host="127.0.0.1", port=smtp.port, starttls=False)


def setup(db: Any, *, auto: bool = False, follow_up: bool = True, cap: int = 30,
          pacing: bool = False) -> dict:
    """A tenant with 3 prospects, one mailbox and a campaign; pacing off unless asked (the
    other rules are tested on one run each)."""
    t = new_tenant(db, time_zone="America/Toronto")
    with db.tenant_tx(t.tenant_id) as conn:
        store.import_csv(conn, tenant_id=t.tenant_id, data=(DATA / "apollo.csv").read_bytes())
        campaigns.update_settings(conn, tenant_id=t.tenant_id, sender_name="Ann from Avenir",
                                  public_base_url="https://go.avenir.example",
                                  send_pacing=pacing)
        sending.add_mailbox(conn, tenant_id=t.tenant_id, address="ann@avenir.example",
                            daily_cap=cap)
        tpl = templates.create(conn, tenant_id=t.tenant_id, name="first", subject=(
            "{{ business_name }}: your inquiries"), html_content=HTML, plain_content=TEXT)
        tpl2 = templates.create(conn, tenant_id=t.tenant_id, name="second", subject="x",
                                html_content="<p>Following up, {{ first_name }}</p>",
                                plain_content="Following up, {{ first_name }}")
        camp = campaigns.create_campaign(
            conn, tenant_id=t.tenant_id, name="spring", template_id=tpl["template_id"],
            follow_ups=[{"delay_business_days": 3, "template_id": tpl2["template_id"]}]
            if follow_up else [], auto_approve=auto)
        gen = campaigns.generate(conn, tenant_id=t.tenant_id, campaign_id=camp["campaign_id"],
                                 now=NOW - timedelta(minutes=5))
    return {"t": t, "camp": camp, "gen": gen}


def _ids(db, t, status="pending"):
    return [r["email_id"] for r in q(db, t, """select email_id from leads.outreach_emails
        where tenant_id = %s and status = %s order by email_id""", status)]


def test_nothing_is_sent_before_a_person_approves(db, smtp):
    env = setup(db)
    t = env["t"]
    assert env["gen"]["created"] == 3 and not env["gen"]["errors"]
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert out["sent"] == 0 and smtp.messages == []
    ids = _ids(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        assert campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=ids[:2],
                                decision="approved", by="ann@agency") == ids[:2]
        assert campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=ids[:1],
                                decision="rejected", by="bob") == []  # decided already
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert out["sent"] == 2 and len(smtp.messages) == 2
    m = smtp.messages[0]
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<mailto:unsubscribe+" in m["List-Unsubscribe"]
    assert "<https://go.avenir.example/o/u/" in m["List-Unsubscribe"]
    html = next(p for p in m.walk() if p.get_content_type() == "text/html").get_payload(
        decode=True).decode()
    assert "/o/c/" in html and "/o/o/" in html and "avenir.example/demo" not in html
    # sent once only
    again = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert again["sent"] == 0 and len(smtp.messages) == 2


def test_outside_business_hours_nothing_is_sent(db, smtp):
    env = setup(db, auto=True)
    saturday = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)
    out = sending.send_due(db, tenant_id=env["t"].tenant_id, sender_for=sender_for(smtp),
                           now=saturday)
    assert out["outside_hours"] == 1 and smtp.messages == []


def test_a_send_past_the_mailbox_cap_is_refused(db, smtp):
    env = setup(db, auto=True, cap=2)
    t = env["t"]
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert out["sent"] == 2 and len(smtp.messages) == 2
    later = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                             now=NOW + timedelta(hours=1))
    assert later["sent"] == 0 and len(smtp.messages) == 2
    # the next local day, room again
    nxt = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                           now=NOW + timedelta(days=1))
    assert nxt["sent"] == 1


def test_pacing_spreads_a_mailbox_cap_over_the_business_hours():
    st = {"time_zone": "America/Toronto", "business_hours_start": 9, "business_hours_end": 17}
    at = lambda h, m: datetime(2026, 3, 3, h + 5, m, tzinfo=UTC)  # noqa: E731 (EST = UTC-5)
    # cap 30 over 480 minutes, 5-minute steps: one a run, ceil(30 x 5 / 480) = 1
    assert sending.paced_room(30, 0, at(9, 0), st) == 1
    assert sending.paced_room(30, 1, at(9, 0), st) == 0  # the first step's share is sent
    assert sending.paced_room(30, 1, at(9, 20), st) == 1  # due by 9:25: ceil(30 x 25/480) = 2
    assert sending.paced_room(30, 19, at(14, 0), st) == 1  # due 20 by 14:05
    assert sending.paced_room(30, 20, at(14, 0), st) == 0
    assert sending.paced_room(30, 0, at(15, 0), st) == 1  # a late start does not burst
    assert sending.paced_room(30, 29, at(16, 55), st) == 1  # the 30th in the last step
    assert sending.paced_room(30, 30, at(16, 55), st) == 0  # never past the cap
    assert sending.paced_room(200, 0, at(9, 0), st) == 3  # ceil(200 x 5 / 480)
    assert sending.paced_room(0, 0, at(12, 0), st) == 0
    assert sending.paced_room(30, 0, at(14, 0), st, sent_recent=1) == 0  # this step's is out


def test_with_pacing_a_morning_of_approvals_goes_out_through_the_day(db, smtp):
    env = setup(db, pacing=True)
    t = env["t"]
    with db.tenant_tx(t.tenant_id) as conn:
        campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=_ids(db, t), decision="approved",
                         by="ann")
    first = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    again = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert first["sent"] == 1 and again["sent"] == 0 and len(smtp.messages) == 1
    assert first["waiting"] == 2 and again["waiting"] == 2  # said, not lost
    assert len(_ids(db, t, "approved")) == 2  # waiting, not lost
    later = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                             now=NOW + timedelta(minutes=5))
    assert later["sent"] == 1 and len(smtp.messages) == 2
    # an e-mail left 'sending' by a crash does not hold the mailbox back in later steps
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update leads.outreach_emails set status = 'sending', sent_at = null "
                     "where tenant_id = %s and email_id = %s", [t.tenant_id, _ids(db, t, "sent")[0]])
    stuck = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                             now=NOW + timedelta(minutes=10))
    assert stuck["sent"] == 1 and stuck["waiting"] == 0 and len(smtp.messages) == 3


def test_an_email_left_sending_by_a_crash_is_reported_and_resolved_by_a_person(db, smtp):
    env = setup(db)
    t = env["t"]
    ids = _ids(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=ids, decision="approved", by="ann")
        # two claimed yesterday and never marked (the process died mid-send)
        conn.execute("update leads.outreach_emails set status = 'sending', claimed_at = %s "
                     "where tenant_id = %s and email_id = any(%s)",
                     [NOW - timedelta(days=1), t.tenant_id, ids[:2]])
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW,
                           limit=0)
    assert out["stuck"] == 2 and out["waiting"] == 1
    # yesterday's claims do not eat today's cap (cap 1: today's send is still allowed)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update leads.sender_mailboxes set daily_cap = 1 where tenant_id = %s",
                     [t.tenant_id])
    assert sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                            now=NOW)["sent"] == 1
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(InvalidInput, match="as_status"):
        sending.resolve_stuck(conn, tenant_id=t.tenant_id, now=NOW, as_status="lost", by="ann")
    with db.tenant_tx(t.tenant_id) as conn:
        done = sending.resolve_stuck(conn, tenant_id=t.tenant_id, now=NOW, as_status="sent",
                                     by="ann")
    assert done == ids[:2]
    rows = q(db, t, "select status, sent_at, last_error from leads.outreach_emails "
                    "where tenant_id = %s and email_id = any(%s) order by email_id", ids[:2])
    assert all(r["status"] == "sent" and r["sent_at"] == NOW - timedelta(days=1)
               and "resolved as sent by ann" in r["last_error"] for r in rows)
    assert len(smtp.messages) == 1  # resolving sends nothing
    with db.tenant_tx(t.tenant_id) as conn:
        assert sending.resolve_stuck(conn, tenant_id=t.tenant_id, now=NOW, as_status="approved",
                                     by="ann") == []


def test_pacing_can_be_overridden_for_one_run(db, smtp):
    env = setup(db, pacing=True)
    t = env["t"]
    with db.tenant_tx(t.tenant_id) as conn:
        campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=_ids(db, t), decision="approved",
                         by="ann")
    now_all = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW,
                               pace=False)  # "send now"
    assert now_all["sent"] == 3 and now_all["waiting"] == 0


def test_outreach_settings_name_the_field_at_fault_and_change_nothing(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        before = campaigns.settings_of(conn, tenant_id=t.tenant_id)
        assert before["send_pacing"] is True and before["business_hours_start"] == 9
        for bad, field in (({"business_hours_start": 18}, "business_hours"),
                           ({"business_hours_end": 25}, "business_hours"),
                           ({"per_domain_daily_cap": 0}, "per_domain_daily_cap"),
                           ({"public_base_url": "ftp://x"}, "public_base_url"),
                           ({"sender_name": "x" * 201}, "sender_name"),
                           ({"bogus": 1}, "bogus")):
            with pytest.raises(InvalidInput, match=field):
                campaigns.update_settings(conn, tenant_id=t.tenant_id, **bad)
        assert campaigns.settings_of(conn, tenant_id=t.tenant_id) == before
        after = campaigns.update_settings(conn, tenant_id=t.tenant_id, business_hours_start=8,
                                          business_hours_end=12, send_pacing=False)
        assert (after["business_hours_start"], after["business_hours_end"],
                after["send_pacing"]) == (8, 12, False)


def test_warm_up_ramp():
    from datetime import date

    mb = {"daily_cap": 30, "warmup_start": date(2026, 3, 1), "warmup_initial": 5,
          "warmup_increment": 5}
    assert [sending.mailbox_cap(mb, date(2026, 3, d)) for d in (1, 2, 3, 10)] == [5, 10, 15, 30]


def test_a_send_to_a_suppressed_address_is_refused(db, smtp):
    env = setup(db, auto=True)
    t = env["t"]
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""insert into leads.suppression_list (tenant_id, email_norm, reason)
                        values (%s, 'john@smithplumbing.com', 'manual'),
                               (%s, '@leelaw.example', 'manual')""", [t.tenant_id, t.tenant_id])
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=NOW)
    assert out["sent"] == 1
    assert [m["To"] for m in smtp.messages] == ["marie@cliniquetremblay.ca"]


def test_a_template_with_a_missing_variable_is_an_error_before_sending(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        with pytest.raises(InvalidInput, match="unknown variable"):
            templates.create(conn, tenant_id=t.tenant_id, name="x", subject="Hi {{ ceo }}",
                             html_content="<p>x</p>", plain_content="x")
        with pytest.raises(InvalidInput, match="syntax"):
            templates.create(conn, tenant_id=t.tenant_id, name="x", subject="Hi {{ ",
                             html_content="<p>x</p>", plain_content="x")
        tpl = templates.create(conn, tenant_id=t.tenant_id, name="x",
                               subject="Hi {{ first_name }}", html_content="<p>x</p>",
                               plain_content="{{ contact_name }}")
    with pytest.raises(templates.MissingVariable, match="first_name"):
        templates.render(tpl, {"first_name": None, "contact_name": "A"})
    s, h, txt = templates.render({**tpl, "html_content": "<p>{{ business_name }}</p>"},
                                 {"first_name": "Jo", "contact_name": "A",
                                  "business_name": "<b>&</b>"})
    assert h == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"  # autoescaped
    # in a campaign: the prospect without a contact name gets no e-mail, and is reported
    with db.tenant_tx(t.tenant_id) as conn:
        store.import_csv(conn, tenant_id=t.tenant_id, data=(
            "business_name,email,contact_name\nA Co,a@a.example,Al\nB Co,b@b.example,\n"))
        camp = campaigns.create_campaign(conn, tenant_id=t.tenant_id, name="c",
                                         template_id=tpl["template_id"])
        gen = campaigns.generate(conn, tenant_id=t.tenant_id, campaign_id=camp["campaign_id"])
    assert gen["created"] == 1 and len(gen["errors"]) == 1
    assert "first_name" in gen["errors"][0]["reason"]


def _send_all(db, env, smtp, now=NOW):
    t = env["t"]
    with db.tenant_tx(t.tenant_id) as conn:
        campaigns.decide(conn, tenant_id=t.tenant_id, email_ids=_ids(db, t), decision="approved",
                         by="ann")
    return sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp), now=now)


def _reply_to(msg, body="Yes, let's talk", auto=False) -> bytes:
    r = email.message.EmailMessage()
    r["From"] = msg["To"]
    r["To"] = msg["From"]
    r["Subject"] = "Re: " + msg["Subject"]
    r["In-Reply-To"] = msg["Message-ID"]
    r["References"] = msg["Message-ID"]
    if auto:
        r["Auto-Submitted"] = "auto-replied"
    r.set_content(body)
    return r.as_bytes()


def test_follow_ups_after_n_business_days_stop_at_a_reply(db, smtp):
    env = setup(db)
    t = env["t"]
    assert _send_all(db, env, smtp)["sent"] == 3
    by_to = {m["To"]: m for m in smtp.messages}
    # an out-of-office does not stop the sequence; a real reply does
    assert inbound.process(db, _reply_to(by_to["john@smithplumbing.com"], auto=True))["kind"] \
        == "auto_reply"
    res = inbound.process(db, _reply_to(by_to["marie@cliniquetremblay.ca"]))
    assert res["kind"] == "reply"
    row = q(db, t, """select status, reply_content from leads.outreach_emails
                      where tenant_id = %s and email_id = %s""", res["email_id"])[0]
    assert row["status"] == "replied" and "let's talk" in row["reply_content"]
    # Tuesday + 3 business days = Friday 09:00 Toronto; not before
    with db.tenant_tx(t.tenant_id) as conn:
        assert campaigns.schedule_follow_ups(conn, tenant_id=t.tenant_id,
                                             now=NOW + timedelta(days=2)) == 0
        assert campaigns.schedule_follow_ups(conn, tenant_id=t.tenant_id,
                                             now=NOW + timedelta(days=3)) == 2
        assert campaigns.schedule_follow_ups(conn, tenant_id=t.tenant_id,
                                             now=NOW + timedelta(days=4)) == 0
    follow = q(db, t, """select prospect_email, subject, thread_id, due_at from
                         leads.outreach_emails where tenant_id = %s and follow_up_sequence = 2""")
    assert {f["prospect_email"] for f in follow} == {"john@smithplumbing.com",
                                                     "ann@leelaw.example"}
    assert all(f["subject"].startswith("Re: ") and f["thread_id"] for f in follow)
    # Ann replies before her follow-up goes: it is cancelled, never sent
    inbound.process(db, _reply_to(by_to["ann@leelaw.example"]))
    n = len(smtp.messages)
    out = _send_all(db, env, smtp, now=NOW + timedelta(days=3, hours=1))
    assert out["sent"] == 1 and len(smtp.messages) == n + 1
    sent = smtp.messages[-1]
    assert sent["To"] == "john@smithplumbing.com"
    assert sent["In-Reply-To"] == by_to["john@smithplumbing.com"]["Message-ID"]


def _dsn(orig, status="5.1.1", action="failed") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: ann@avenir.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {orig['To']}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {orig['From']}\r\nTo: {orig['To']}\r\nMessage-ID: {orig['Message-ID']}\r\n"
        "Subject: x\r\n\r\n--B--\r\n").encode()


def test_bounces_hard_suppress_soft_retry_then_suppress(db, smtp):
    env = setup(db)
    t = env["t"]
    _send_all(db, env, smtp)
    by_to = {m["To"]: m for m in smtp.messages}
    r = inbound.process(db, _dsn(by_to["marie@cliniquetremblay.ca"]))
    assert r["kind"] == "bounce_hard"
    assert inbound.process(db, _dsn(by_to["john@smithplumbing.com"], action="delayed",
                                    status="4.4.1"))["kind"] == "ignored"
    assert inbound.process(db, _dsn(by_to["john@smithplumbing.com"], status="4.2.2"),
                           at=NOW)["kind"] == "bounce_soft_retry"
    sup = {r["email_norm"]: r["reason"] for r in q(
        db, t, "select email_norm, reason from leads.suppression_list where tenant_id = %s")}
    assert sup == {"marie@cliniquetremblay.ca": "hard_bounce"}
    # the soft-bounced e-mail is retried the next day
    n = len(smtp.messages)
    out = sending.send_due(db, tenant_id=t.tenant_id, sender_for=sender_for(smtp),
                           now=NOW + timedelta(days=1))
    assert out["sent"] == 1 and smtp.messages[n]["To"] == "john@smithplumbing.com"
    assert inbound.process(db, _dsn(smtp.messages[n], status="4.2.2"))["kind"] \
        == "bounce_soft_suppressed"
    sup = {r["email_norm"]: r["reason"] for r in q(
        db, t, "select email_norm, reason from leads.suppression_list where tenant_id = %s")}
    assert sup["john@smithplumbing.com"] == "soft_bounce"
    states = {r["state"] for r in q(db, t, """select state from leads.outreach_sequences
        where tenant_id = %s and state <> 'active'""")}
    assert states == {"bounced"}
    # no follow-up for the bounced
    with db.tenant_tx(t.tenant_id) as conn:
        assert campaigns.schedule_follow_ups(conn, tenant_id=t.tenant_id,
                                             now=NOW + timedelta(days=10)) == 1


def test_a_complaint_and_a_mailto_unsubscribe_suppress(db, smtp):
    env = setup(db)
    t = env["t"]
    _send_all(db, env, smtp)
    by_to = {m["To"]: m for m in smtp.messages}
    arf = _dsn(by_to["ann@leelaw.example"]).replace(b"delivery-status; boundary",
                                                    b"feedback-report; boundary")
    assert inbound.process(db, arf)["kind"] == "complaint"
    token = by_to["john@smithplumbing.com"]["Message-ID"][1:].split("@")[0]
    assert inbound.process(db, b"Subject: unsubscribe\r\n\r\n",
                           [f"unsubscribe+{token}@avenir.example"])["kind"] == "unsubscribe"
    assert inbound.process(db, b"Subject: hello\r\n\r\nhi")["kind"] == "unmatched"
    sup = {r["email_norm"]: r["reason"] for r in q(
        db, t, "select email_norm, reason from leads.suppression_list where tenant_id = %s")}
    assert sup == {"ann@leelaw.example": "complaint", "john@smithplumbing.com": "unsubscribe"}


def test_a_stopped_sequence_and_a_paused_mailbox(db, smtp):
    env = setup(db, auto=True)
    t = env["t"]
    pid = q(db, t, """select prospect_id from leads.prospect_candidates where tenant_id = %s
                      and email_norm = 'ann@leelaw.example'""")[0]["prospect_id"]
    with db.tenant_tx(t.tenant_id) as conn:
        assert campaigns.stop(conn, tenant_id=t.tenant_id,
                              campaign_id=env["camp"]["campaign_id"], prospect_id=pid,
                              by="ann") == 1
    # a mailbox whose server refuses connections is paused, its e-mails wait
    from growthops.connectors.smtp import SmtpSession as S

    out = sending.send_due(db, tenant_id=t.tenant_id, now=NOW,
                           sender_for=lambda mb: S(host="127.0.0.1", port=1, starttls=False,
                                                   timeout=2))
    assert out["paused"] == 1 and out["sent"] == 0
    mb = q(db, t, "select status, paused_reason from leads.sender_mailboxes where tenant_id = %s")
    assert mb[0]["status"] == "paused" and "SMTP" in mb[0]["paused_reason"]
    assert len(_ids(db, t, "approved")) == 2


def test_metrics_count_humans_apart_and_say_when_not_tracked(db, smtp):
    from growthops.leads.outreach import tracking

    env = setup(db)
    t = env["t"]
    _send_all(db, env, smtp)
    emails = q(db, t, """select * from leads.outreach_emails where tenant_id = %s
                         order by email_id""")
    with db.tenant_tx(t.tenant_id) as conn:
        e0, e1, e2 = emails
        # e0: Apple MPP prefetch, then a person clicks an hour later
        assert tracking.record(conn, email=e0, action="opened", method="GET", user_agent=(
            "Mozilla/5.0"), ip="17.58.1.2", at=NOW + timedelta(minutes=1))["machine_rule"] \
            == "apple_mpp"
        assert not tracking.record(conn, email=e0, action="clicked", method="GET", user_agent=(
            "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0"), ip="203.0.113.5", link_index=0,
            at=NOW + timedelta(hours=1))["is_machine"]
        # e1: a scanner follows both links within a second of delivery, HEAD first
        ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"
        assert tracking.record(conn, email=e1, action="clicked", method="HEAD", user_agent=ua,
                               ip="198.51.100.7", link_index=0,
                               at=NOW + timedelta(seconds=1))["machine_rule"] == "head_request"
        assert tracking.record(conn, email=e1, action="clicked", method="GET", user_agent=ua,
                               ip="198.51.100.7", link_index=0, at=NOW + timedelta(seconds=3)
                               )["machine_rule"] == "too_fast"
        # e2: every link within 5 s, an hour after sending: the burst rule
        at = NOW + timedelta(hours=2)
        first = tracking.record(conn, email=e2, action="clicked", method="GET", user_agent=ua,
                                ip="198.51.100.8", link_index=0, at=at)
        second = tracking.record(conn, email=e2, action="clicked", method="GET", user_agent=ua,
                                 ip="198.51.100.8", link_index=1, at=at + timedelta(seconds=2))
        assert not first["is_machine"] and second["machine_rule"] == "all_links_at_once"
        assert tracking.record(conn, email=e2, action="opened", method="GET", user_agent=(
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com "
            "GoogleImageProxy)"), ip="66.102.8.1", at=at)["machine_rule"] == "gmail_image_proxy"
        rules = {r["machine_rule"] for r in conn.execute(
            """select machine_rule from leads.outreach_tracking where tenant_id = %s
               and email_id = %s and action = 'clicked'""", [t.tenant_id, e2["email_id"]])}
        assert rules == {"all_links_at_once"}
        metrics.recompute(conn, tenant_id=t.tenant_id)
    inbound.process(db, _reply_to(smtp.messages[0]))
    with db.tenant_tx(t.tenant_id) as conn:
        metrics.recompute(conn, tenant_id=t.tenant_id)
        m = metrics.campaign_figures(conn, tenant_id=t.tenant_id)[0]
    assert m["total_emails_sent"] == 3 and m["total_emails_delivered"] == 3
    assert m["total_emails_opened"] == 1 and m["machine_opens"] == 2
    assert m["total_emails_clicked"] == 1 and m["machine_clicks"] == 2
    assert m["total_emails_replied"] == 1 and float(m["reply_rate"]) == pytest.approx(33.3)
    assert float(m["open_rate"]) == pytest.approx(33.3)
    with db.tenant_tx(t.tenant_id) as conn:
        campaigns.update_settings(conn, tenant_id=t.tenant_id, tracking_enabled=False)
        metrics.recompute(conn, tenant_id=t.tenant_id)
        m = metrics.campaign_figures(conn, tenant_id=t.tenant_id)[0]
        perf = conn.execute("""select * from leads.prospect_industry_performance
                               where tenant_id = %s""", [t.tenant_id]).fetchall()
    assert m["tracking_enabled"] is False and m["total_emails_opened"] is None \
        and m["open_rate"] is None and m["total_emails_replied"] == 1
    assert sum(p["total_contacted"] for p in perf) == 3
    assert sum(p["total_replied"] for p in perf) == 1


def test_jobs_send_follow_ups_and_build_the_queue(db, smtp):
    from growthops.leads import jobs

    env = setup(db, auto=True)
    t = env["t"]
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update leads.sender_mailboxes set smtp_host = '127.0.0.1', smtp_port = %s, "
                     "smtp_starttls = false where tenant_id = %s", [smtp.port, t.tenant_id])
    out = jobs.outreach_send_all(db, now=NOW)
    assert out["sent"] >= 3 and len([m for m in smtp.messages]) >= 3
    # 07:xx in Toronto = 12:xx UTC in March (EST)
    assert jobs.prospect_queue_all(db, now=datetime(2026, 3, 4, 12, 2, tzinfo=UTC)) >= 0
    assert jobs.prospect_queue_all(db, now=datetime(2026, 3, 4, 15, 2, tzinfo=UTC)) == 0
