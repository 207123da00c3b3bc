"""The leads part of ``growthops demo``: a tenant whose website posts real messages to the real
HTTP endpoint, enrichment, a few personalised replies to a local SMTP server, the week's
insights.

Runs uvicorn on a free 127.0.0.1 port in a thread and ``aiosmtpd`` on another, posts
``examples/data/leads/messages.csv`` (real BANKING77 and CLINC150 queries, see its SOURCE.md)
with a capture-only API key and Idempotency-Keys (posting twice stores nothing twice), adds
French questions from ``../shared/data/wikit_nlu_fr`` when present, enriches in-process, turns
the auto-reply policy on and sends three replies, converts two leads, then prints the insights;
then prospects and outreach (:mod:`growthops.leads.outreach_demo`).
"""

from __future__ import annotations

import csv
import hashlib
import socket
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from growthops.core.db import Database
from growthops.core.demo import ensure_tenant, examples_dir
from growthops.core.i18n import _

TENANT = {"client_key": "avenir-demo", "client_name": "Avenir AI Solutions (demo)",
          "industry": "saas", "currency": "CAD", "time_zone": "America/Toronto"}


def _messages() -> list[tuple[str, str]]:
    """(language hint, text) of the demo's messages."""
    out = []
    with open(examples_dir() / "leads" / "messages.csv", encoding="utf-8") as f:
        out += [("en", r["text"]) for r in csv.DictReader(f)]
    wikit = Path(__file__).resolve().parents[4] / "shared/data/wikit_nlu_fr/training_dataset.csv"
    if wikit.exists():
        with open(wikit, encoding="utf-8") as f:
            out += [("fr", r["utterance"]) for r in list(csv.DictReader(f))[::30]]
    return out


def _free_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


def _capture_app(db: Database) -> Any:
    """The leads API mounted on a bare FastAPI app with the shell's error handlers (a domain
    does not import the composition root :mod:`growthops.app`; the routes are the same)."""
    from fastapi import FastAPI

    from growthops.leads.api import routers
    from growthops.web.errors import install_error_handlers
    from growthops.web.sessions import install_sessions

    app = FastAPI()
    app.state.db = db
    install_error_handlers(app)
    install_sessions(app, db.settings)
    for r in routers():
        app.include_router(r)
    return app


def run_demo(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Run the leads demo (idempotent: Idempotency-Keys make a second run store nothing new)."""
    import httpx
    import uvicorn
    from aiosmtpd.controller import Controller

    from growthops.core.auth import api_keys
    from growthops.leads import insights, replies, settings
    from growthops.leads.cli import print_insights
    from growthops.leads.enrichment.service import enrich_leads

    t0 = time.perf_counter()
    console.rule(_(lang, "Leads: Avenir AI (seed 002)"))
    tid = ensure_tenant(db, TENANT, reset=reset)
    with db.tenant_tx(tid) as conn:
        key = api_keys.create(conn, tenant_id=tid, name="demo website", scopes=["leads:capture"])
        settings.update(conn, tenant_id=tid, business_name="Avenir AI Solutions", language="en",
                        email_tone="friendly", booking_link="https://cal.example.com/avenir",
                        reply_from="hello@avenir.example")

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    smtp_sock = _free_port()
    smtp_port = smtp_sock.getsockname()[1]
    smtp_sock.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sock = _free_port()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_capture_app(db), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        msgs = _messages()
        stored = replayed = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for i, (hint, text) in enumerate(msgs):
                body = {"email": f"prospect{i}@example.org", "name": f"Prospect {i}",
                        "message": text, "language": hint, "source": "demo website"}
                r = client.post("/api/v1/leads", json=body,
                                headers={"X-API-Key": key.plaintext,
                                         "Idempotency-Key": "demo-" + hashlib.sha256(
                                             text.encode()).hexdigest()[:24]})
                r.raise_for_status()
                replayed += r.headers.get("idempotent-replayed") == "true"
                stored += 1
        console.print(_(lang, "{n} leads posted to POST /api/v1/leads ({r} answered from an "
                              "earlier run's Idempotency-Key).", n=stored, r=replayed))
        with db.tenant_tx(tid) as conn:
            readings = enrich_leads(conn, tenant_id=tid, limit=1000)
        table = Table("#", _(lang, "language"), _(lang, "intent"), _(lang, "tone"),
                      _(lang, "urgency"), _(lang, "confidence"), _(lang, "summary"))
        for r in readings[:12]:
            table.add_row(str(r.lead_id), r.language, r.intent, r.tone, r.urgency,
                          f"{r.confidence:.2f}", r.summary[:60])
        console.print(table)
        from growthops.connectors.smtp import SmtpSender

        sender = SmtpSender(host="127.0.0.1", port=smtp_port, starttls=False)
        with db.tenant_tx(tid) as conn:
            settings.update(conn, tenant_id=tid, ai_personalized_reply=True, reply_daily_cap=3)
            ids = [r["lead_id"] for r in conn.execute(
                """select lead_id from leads.lead_memory where tenant_id = %s
                   order by lead_id desc limit 10""", [str(tid)])]
            send_ids = replies.queue_replies(conn, tenant_id=tid, lead_ids=ids)
        sent = 0
        for sid in send_ids:
            with db.tenant_tx(tid) as conn:
                sent += replies.send_one(conn, tenant_id=tid, send_id=sid, sender=sender) == "sent"
        console.print(_(lang, "{n} personalised replies sent to the local SMTP server "
                              "(127.0.0.1:{port}); {m} messages received there.",
                        n=sent, port=smtp_port, m=len(received)))
        from growthops.leads import work

        with db.tenant_tx(tid) as conn:
            for lid in ids[:2]:
                lead = work.get_lead(conn, tenant_id=tid, lead_id=lid)
                if not lead["converted"]:
                    work.act(conn, tenant_id=tid, lead_id=lid, action="convert", by="demo")
            row = insights.compute(conn, tenant_id=tid)
        print_insights(row, lang)
        from growthops.leads.outreach_demo import run_outreach_demo

        run_outreach_demo(db, console, tid=tid, http_base=f"http://127.0.0.1:{port}", lang=lang)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        controller.stop()
    console.print(_(lang, "Leads demo done in {s:.1f} s.", s=time.perf_counter() - t0))
