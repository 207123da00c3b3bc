"""Benchmark outreach: sending to a local SMTP server, and recomputing campaign metrics.

Run: ``.venv/bin/python bench/outreach_send.py [--emails 500] [--campaigns 100]
[--per-campaign 10000] [--events 5]`` (a few minutes at the defaults).

1. Send: ``--emails`` approved e-mails of one auto-approved campaign sent by
   ``growthops.leads.outreach.sending.send_due`` (caps and business hours off; suppression,
   sequence and claim checks on; one SMTP connection per mailbox) to an aiosmtpd server on
   loopback; baseline in the same run: the same messages, already built, sent with raw
   ``smtplib`` on one connection (no database). Prints messages/s of both and the ratio.
2. Metrics: ``--campaigns`` × ``--per-campaign`` sent e-mails with ``--events`` tracking events
   each (opens and clicks, a fifth machine), generated server-side; times
   ``growthops.leads.outreach.metrics.recompute`` (campaign + industry metrics, set-based)
   against one aggregate query over the events (``GROUP BY campaign, action, is_machine``):
   the floor for reading every event once. Median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.connectors.smtp import SmtpSession  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tenant(db: Database, key: str) -> Any:
    return create_tenant(db, TenantIn(client_key=key, client_name=key, industry="saas",
                                      currency="CAD", time_zone="America/Toronto"))


def bench_send(db: Database, n: int) -> None:
    """Part 1: growthops send_due vs raw smtplib, messages per second."""
    from aiosmtpd.controller import Controller

    from growthops.leads.outreach import campaigns, sending, templates
    from growthops.leads.prospects import store

    count = {"n": 0}

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            count["n"] += 1
            return "250 OK"

    port = _free_port()
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port)
    ctl.start()
    t = _tenant(db, "bench-send")
    rows = "business_name,email\n" + "".join(f"Business {i},c{i}@d{i}.example\n" for i in range(n))
    with db.tenant_tx(t.tenant_id) as conn:
        store.import_csv(conn, tenant_id=t.tenant_id, data=rows)
        sending.add_mailbox(conn, tenant_id=t.tenant_id, address="ann@avenir.example")
        tpl = templates.create(conn, tenant_id=t.tenant_id, name="b", subject="Hi {{ business_name }}",
                               html_content='<p>Hello <a href="https://x.example/a">a</a></p>',
                               plain_content="Hello {{ business_name }}")
        camp = campaigns.create_campaign(conn, tenant_id=t.tenant_id, name="b",
                                         template_id=tpl["template_id"], auto_approve=True)
        campaigns.generate(conn, tenant_id=t.tenant_id, campaign_id=camp["campaign_id"], limit=n)
        st = campaigns.settings_of(conn, tenant_id=t.tenant_id)
        emails = conn.execute("select * from leads.outreach_emails order by email_id").fetchall()
        mb = conn.execute("select * from leads.sender_mailboxes").fetchone()
    msgs = [sending.build(e, mb, st) for e in emails]
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for m in msgs:
            smtp.send_message(m)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = sending.send_due(db, tenant_id=t.tenant_id, now=datetime.now(UTC), limit=n, caps=False,
                           hours=False, sender_for=lambda _mb: SmtpSession(
                               host="127.0.0.1", port=port, starttls=False))
    ours = time.perf_counter() - t0
    ctl.stop()
    assert out["sent"] == n, out
    print(f"send {n} e-mails: raw smtplib {n / base:8.1f} msg/s | growthops send_due "
          f"{n / ours:8.1f} msg/s | ratio {base / ours:.2f}x  (received {count['n']})")


def bench_metrics(db: Database, campaigns_n: int, per: int, events: int, repeat: int) -> None:
    """Part 2: metrics recompute vs one aggregate over the events."""
    from growthops.leads.outreach import metrics

    t = _tenant(db, "bench-metrics")
    tid = str(t.tenant_id)
    t0 = time.perf_counter()
    with db.tenant_tx(tid) as conn:
        conn.execute("""insert into leads.prospect_candidates (tenant_id, business_name, name_norm,
                          email_norm, contact_email, industry)
                        select %s, 'B' || i, 'b' || i, 'p' || i || '@x.example',
                               'p' || i || '@x.example', 'industry ' || (i %% 12)
                        from generate_series(1, %s) i""", [tid, per])
        tpl = conn.execute("""insert into leads.email_templates (tenant_id, name, subject,
                                html_content, plain_content) values (%s, 'b', 's', 'h', 'p')
                              returning template_id""", [tid]).fetchone()["template_id"]
        conn.execute("""insert into leads.outreach_campaigns (tenant_id, name, email_template_id,
                          status) select %s, 'c' || i, %s, 'active' from generate_series(1, %s) i""",
                     [tid, tpl, campaigns_n])
        conn.execute(
            """insert into leads.outreach_emails (tenant_id, campaign_id, prospect_id, prospect_email,
                 template_id, subject, content, plain_content, status, token, message_id, sent_at,
                 replied_at)
               select %s, c.campaign_id, p.prospect_id, p.email_norm, %s, 's', 'h', 'p', 'sent',
                      md5(c.campaign_id || ':' || p.prospect_id), md5(c.campaign_id || ':' ||
                      p.prospect_id) || '@x', now() - interval '2 days',
                      case when p.prospect_id %% 37 = 0 then now() - interval '1 day' end
               from leads.outreach_campaigns c cross join leads.prospect_candidates p
               where c.tenant_id = %s and p.tenant_id = %s""", [tid, tpl, tid, tid])
        conn.execute(
            """insert into leads.outreach_tracking (tenant_id, email_id, prospect_id, campaign_id,
                 action, "timestamp", is_machine, machine_rule)
               select %s, e.email_id, e.prospect_id, e.campaign_id,
                      case when k %% 2 = 0 then 'opened' else 'clicked' end,
                      now() - interval '1 day', k = 1, case when k = 1 then 'too_fast' end
               from leads.outreach_emails e cross join generate_series(1, %s) k
               where e.tenant_id = %s""", [tid, events, tid])
        conn.execute("analyze leads.outreach_emails")
        conn.execute("analyze leads.outreach_tracking")
    print(f"metrics data: {campaigns_n} campaigns x {per} e-mails x {events} events "
          f"({campaigns_n * per * events:,} events) built in {time.perf_counter() - t0:.0f} s")

    def floor() -> float:
        s = time.perf_counter()
        with db.tenant_tx(tid) as conn:
            conn.execute("""select campaign_id, action, is_machine, count(*) from
                            leads.outreach_tracking where tenant_id = %s group by 1, 2, 3""",
                         [tid]).fetchall()
        return time.perf_counter() - s

    def ours() -> float:
        s = time.perf_counter()
        with db.tenant_tx(tid) as conn:
            metrics.recompute(conn, tenant_id=tid)
        return time.perf_counter() - s

    fl = statistics.median(floor() for _ in range(repeat))
    ou = statistics.median(ours() for _ in range(repeat))
    print(f"metrics recompute: one aggregate over the events {fl:7.2f} s | growthops "
          f"recompute (campaigns + industries) {ou:7.2f} s | ratio {ou / fl:.2f}x")


def main() -> None:
    """Parse the flags, build a fresh embedded database, run both parts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--emails", type=int, default=500)
    ap.add_argument("--campaigns", type=int, default=100)
    ap.add_argument("--per-campaign", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-outreach-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_outreach",
                           embedded_cleanup="stop"))
    migrate(db)
    try:
        bench_send(db, args.emails)
        bench_metrics(db, args.campaigns, args.per_campaign, args.events, args.repeat)
    finally:
        db.close()


if __name__ == "__main__":
    main()
