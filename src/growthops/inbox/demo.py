"""The inbox part of ``growthops demo``: real customer-support tweets replayed as an inbox.

Data: ``examples/data/twcs_sample`` (Customer Support on Twitter, first 5,000 rows; see its
SOURCE.md). The consumer tweets of the file's last :data:`DAYS` days (at most
:data:`MAX_INBOUND`) are sent as **signed** WhatsApp and Instagram webhook deliveries to the
application served on 127.0.0.1 (uvicorn, in a thread), 10 % of them delivered twice and 5 %
swapped with their neighbour; the worker processes the queue (tasks ``inbox.*``). The brands'
replies are then sent as human replies (sandbox accounts, no network) at their real delays:
timestamps are shifted so the last tweet is :data:`LAST_AGE` old, nothing is slept, and each
reply is judged by the messaging window as it stood at its time. Delivery statuses come back as
signed webhooks; customers asking for a person are escalated by the rule, unanswered ones past
the window by the upkeep. The demo prints the conversations, escalations and KPI tables.

Tenant ``inbox-demo`` (idempotent: a second run prints the same tables without replaying;
``--reset`` replays).
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from growthops.core.db import Database
from growthops.core.i18n import _

TENANT = {"client_key": "inbox-demo", "client_name": "Inbox demo (customer support tweets)",
          "industry": "ecom", "currency": "EUR", "time_zone": "Europe/Paris"}
DATA = "twcs_sample/twcs_first5000.csv"
DAYS = 10
MAX_INBOUND = 400
LAST_AGE = timedelta(minutes=5)
DUPLICATE_RATE, REORDER_RATE = 0.10, 0.05
SEED = 2017
DEMO_SECRET = "growthops-demo-app-secret"
WA_ACCOUNT, IG_ACCOUNT = "demo-wa-15550100", "demo-ig-17841400"
_FMT = "%a %b %d %H:%M:%S %z %Y"
_MENTION = re.compile(r"^(@\w+\s+)+")


@dataclass(frozen=True)
class Tweet:
    """One row of the sample, with its time shifted to the present."""

    tweet_id: str
    author: str
    inbound: bool
    at: datetime
    text: str
    reply_to: str | None


def load(path: Path, *, now: datetime) -> tuple[list[Tweet], list[Tweet]]:
    """Return ``(inbound, replies)``: the consumer tweets of the last :data:`DAYS` days (at most
    :data:`MAX_INBOUND`, the latest) and the brands' replies to them, times shifted to ``now``."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    parsed = [(r, datetime.strptime(r["created_at"], _FMT)) for r in rows]
    shift = now - LAST_AGE - max(at for _r, at in parsed)
    start = max(at for _r, at in parsed) - timedelta(days=DAYS)
    tweets = {r["tweet_id"]: Tweet(r["tweet_id"], r["author_id"], r["inbound"] == "True",
                                   at + shift, _MENTION.sub("", r["text"]).strip() or r["text"],
                                   r["in_response_to_tweet_id"] or None)
              for r, at in parsed if at >= start}
    inbound = sorted((t for t in tweets.values() if t.inbound and t.author.isdigit()),
                     key=lambda t: t.at)[-MAX_INBOUND:]
    consumers = {t.tweet_id: t.author for t in inbound}
    replies = sorted((t for t in tweets.values() if not t.inbound and t.reply_to in consumers),
                     key=lambda t: t.at)
    return inbound, replies


def channel(consumer: str) -> str:
    """Even anonymised consumer ids write on WhatsApp, odd ones on Instagram."""
    return "whatsapp" if int(consumer) % 2 == 0 else "instagram"


def customer_id(consumer: str) -> str:
    """The consumer's id on the platform (a wa_id or an Instagram-scoped id, digits)."""
    return ("3360" if channel(consumer) == "whatsapp" else "1784") + consumer.zfill(7)


def delivery(t: Tweet) -> tuple[str, dict[str, Any]]:
    """The webhook body Meta would send for an inbound tweet (documented shapes)."""
    ts = t.at
    if channel(t.author) == "whatsapp":
        return "whatsapp", {"object": "whatsapp_business_account", "entry": [{
            "id": "1029000000001", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100", "phone_number_id": WA_ACCOUNT},
                "contacts": [{"profile": {"name": f"Customer {t.author}"},
                              "wa_id": customer_id(t.author)}],
                "messages": [{"from": customer_id(t.author), "id": f"wamid.TWCS{t.tweet_id}",
                              "timestamp": str(int(ts.timestamp())), "type": "text",
                              "text": {"body": t.text}}]}}]}]}
    ms = int(ts.timestamp() * 1000)
    return "instagram", {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": ms,
        "messaging": [{"sender": {"id": customer_id(t.author)}, "recipient": {"id": IG_ACCOUNT},
                       "timestamp": ms, "message": {"mid": f"aWdfTWCS{t.tweet_id}",
                                                    "text": t.text}}]}]}


def status_delivery(platform: str, customer: str, mid: str, status: str,
                    at: datetime) -> dict[str, Any]:
    """A delivery status (WhatsApp ``statuses``) or a read receipt (Instagram ``read``)."""
    if platform == "whatsapp":
        return {"object": "whatsapp_business_account", "entry": [{"id": "1029000000001",
                "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100", "phone_number_id": WA_ACCOUNT},
                    "statuses": [{"id": mid, "status": status, "recipient_id": customer,
                                  "timestamp": str(int(at.timestamp()))}]}}]}]}
    ms = int(at.timestamp() * 1000)
    return {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": ms, "messaging": [{
        "sender": {"id": customer}, "recipient": {"id": IG_ACCOUNT}, "timestamp": ms,
        "read": {"mid": mid}}]}]}


def webhook_app(db: Database) -> Any:
    """A FastAPI app with the inbox's webhook routes (the router ``growthops serve`` mounts) and
    the shell's error handlers. (A domain does not import the composition root.)"""
    from fastapi import FastAPI

    from growthops.inbox.webhooks import router
    from growthops.web.errors import install_error_handlers

    app = FastAPI(title="growthops inbox webhooks (demo)")
    app.state.db = db
    install_error_handlers(app)
    app.include_router(router)
    return app


class Served:
    """The webhook routes served by uvicorn on a free 127.0.0.1 port, in a thread."""

    def __init__(self, db: Database) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(webhook_app(db), log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start in 15 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def drain(db: Database) -> None:
    """Run the queued ``inbox`` jobs until none is left (a ``--once`` worker on queue inbox)."""
    from growthops.core.jobs.app import build_app
    from growthops.inbox.jobs import register_tasks

    app = build_app(db, registrars=[register_tasks], periodic=False, max_connections=4)

    async def run() -> None:
        async with app.open_async():
            await app.run_worker_async(queues=["inbox"], wait=False, concurrency=2,
                                       listen_notify=False, install_signal_handlers=False,
                                       name="inbox-demo")
    asyncio.run(run())


def _post_all(url: str, secret: str, items: list[tuple[str, dict[str, Any]]]) -> Counter[int]:
    import httpx

    from growthops.connectors.meta_webhooks import sign

    codes: Counter[int] = Counter()
    with httpx.Client(base_url=url, timeout=10) as http:
        for platform, body in items:
            raw = json.dumps(body).encode()
            r = http.post(f"/webhooks/{platform}", content=raw,
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": sign(raw, secret)})
            codes[r.status_code] += 1
    return codes


def _replay(db: Database, tid: Any, console: Console, lang: str) -> dict[str, Any]:
    from growthops.core.demo import examples_dir
    from growthops.inbox import handoff
    from growthops.inbox.sending import WindowClosed, send_reply
    from growthops.inbox.upkeep import escalate_closed_windows

    now = datetime.now(UTC).replace(microsecond=0)
    inbound, replies = load(examples_dir() / DATA, now=now)
    rng = random.Random(SEED)
    items = [delivery(t) for t in inbound]
    dupes = [items[i] for i in sorted(rng.sample(range(len(items)),
                                                 int(len(items) * DUPLICATE_RATE)))]
    order = items + dupes
    swaps = int(len(order) * REORDER_RATE)
    for i in rng.sample(range(len(order) - 1), swaps):
        order[i], order[i + 1] = order[i + 1], order[i]
    secrets = db.settings.meta_app_secrets or [DEMO_SECRET]
    hook_db = db if db.settings.meta_app_secrets else Database(
        db.settings.model_copy(update={"meta_app_secret": _secret(DEMO_SECRET)}))
    started = time.perf_counter()
    try:
        with Served(hook_db) as served:
            codes = _post_all(served.url, secrets[0], order)
            drain(db)
            # the brands' replies, as people, at their (shifted) real times
            by_tweet = {t.tweet_id: t for t in inbound}
            with db.tenant_tx(tid) as conn:
                convs = {r["platform_customer_id"]: r["conversation_id"] for r in conn.execute(
                    """select cu.platform_customer_id, c.conversation_id from inbox.conversations c
                       join inbox.customers cu on cu.tenant_id = c.tenant_id
                                              and cu.customer_id = c.customer_id
                       where c.tenant_id = %s""", [str(tid)]).fetchall()}
            sent, refused = [], Counter()
            for r in replies:
                consumer = by_tweet[r.reply_to].author if r.reply_to in by_tweet else None
                conv = convs.get(customer_id(consumer)) if consumer else None
                if conv is None:
                    continue
                try:
                    out = send_reply(db, tenant_id=tid, conversation_id=conv, text=r.text,
                                     actor=f"@{r.author}", now=r.at, lang=lang)
                except WindowClosed as exc:
                    refused[exc.rule] += 1
                    continue
                sent.append((channel(consumer), customer_id(consumer), out.platform_message_id, r.at))
            statuses = []
            for platform, cust, mid, at in sent:
                if rng.random() < 0.8 and platform == "whatsapp":
                    statuses.append((platform, status_delivery(platform, cust, mid, "delivered",
                                                               at + timedelta(seconds=3))))
                if rng.random() < 0.6 and at + timedelta(seconds=40) <= now:
                    statuses.append((platform, status_delivery(platform, cust, mid, "read",
                                                               at + timedelta(seconds=40))))
            rng.shuffle(statuses)  # statuses arrive in any order
            codes += _post_all(served.url, secrets[0], statuses)
            drain(db)
    finally:
        if hook_db is not db:
            hook_db.close()
    # people escalate what needs a refund; the upkeep hands over the unanswered past the window
    with db.tenant_tx(tid) as conn:
        refunds = conn.execute(
            """select distinct conversation_id from inbox.conversation_messages
               where tenant_id = %s and direction = 'inbound' and text ~* '(refund|compensat)'""",
            [str(tid)]).fetchall()
        handoff.escalate_many(conn, tenant_id=tid, items=[(r["conversation_id"], None)
                                                          for r in refunds],
                              reason="manual_escalation", actor="supervisor@inbox-demo.example",
                              notes="refund request")
    escalate_closed_windows(db, now=now)
    return {"inbound": len(inbound), "deliveries": len(order) + len(statuses),
            "duplicates": len(dupes), "swapped": swaps, "replies": len(replies),
            "sent": len(sent), "refused": dict(refused), "codes": dict(codes),
            "seconds": time.perf_counter() - started, "start": inbound[0].at if inbound else now,
            "now": now}


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def run_demo(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Create the ``inbox-demo`` tenant, replay the tweets (first run or ``reset``), print the
    conversations, escalations and KPIs. The database is migrated by the caller."""
    from growthops.core.demo import ensure_tenant
    from growthops.inbox.accounts import connect
    from growthops.inbox.cli import conversations_table, kpi_table
    from growthops.inbox.conversations import counts, escalations, list_conversations
    from growthops.inbox.kpis.store import read, refresh

    tid = ensure_tenant(db, TENANT, reset=reset)
    with db.tenant_tx(tid) as conn:
        fresh = conn.execute("select count(*) as n from inbox.conversations where tenant_id = %s",
                             [str(tid)]).fetchone()["n"] == 0
        connect(conn, tenant_id=tid, platform="whatsapp", account_id=WA_ACCOUNT,
                account_name="Support WhatsApp (sandbox)", connector="sandbox")
        connect(conn, tenant_id=tid, platform="instagram", account_id=IG_ACCOUNT,
                account_name="Support Instagram (sandbox)", connector="sandbox")
    key = TENANT["client_key"]
    if fresh:
        from growthops.core.demo import examples_dir
        from growthops.inbox.ai.demo_kb import setup

        n_faq = setup(db, tid, examples_dir() / DATA, before_days=DAYS)
        console.print(_(lang, "{tenant}: knowledge base of {n} FAQ entries mined from the "
                              "sample's older customer tweets and brand replies; AI triage on, "
                              "replies as drafts.", tenant=key, n=n_faq))
        s = _replay(db, tid, console, lang)
        console.print(_(lang, "{tenant}: {n} customer tweets replayed as {d} signed webhook "
                              "deliveries ({dup} duplicates, {sw} swapped; answers {codes}), "
                              "{sent} of {replies} brand replies sent at their real delays "
                              "(refused by the window: {refused}) in {s:.1f} s.",
                        tenant=key, n=s["inbound"], d=s["deliveries"], dup=s["duplicates"],
                        sw=s["swapped"], codes=s["codes"], sent=s["sent"],
                        replies=s["replies"], refused=s["refused"] or 0, s=s["seconds"]))
    else:
        console.print(_(lang, "{tenant}: already replayed (growthops demo --reset replays it).",
                        tenant=key))
    with db.tenant_tx(tid) as conn:
        first = conn.execute("select min(sent_at) as a, max(sent_at) as b from "
                             "inbox.conversation_messages where tenant_id = %s",
                             [str(tid)]).fetchone()
    start = first["a"] or datetime.now(UTC)
    end = (first["b"] or datetime.now(UTC)) + timedelta(minutes=1)
    refresh(db, tenant_id=tid, start=start, end=end)
    with db.tenant_tx(tid) as conn:
        rows, total = list_conversations(conn, tenant_id=tid, limit=12)
        c = counts(conn, tenant_id=tid)
        escs, n_esc = escalations(conn, tenant_id=tid, limit=1000)
        daily = read(conn, tenant_id=tid, start=start, end=end)
        per_channel = {ch: read(conn, tenant_id=tid, start=start, end=end, channel=ch)
                       for ch in ("whatsapp", "instagram")}
    console.print(conversations_table(rows, lang, _(lang, "Conversations of {tenant}: {shown} of "
                                                          "{total} (newest first)", tenant=key,
                                                    shown=len(rows), total=total)))
    console.print(_(lang, "active {active} · escalated {escalated} · archived {archived} · unread "
                          "{unread} · WhatsApp {whatsapp} · Instagram {instagram}", **c))
    et = Table(_(lang, "escalation reason"), _(lang, "opened by"), _(lang, "count"),
               title=_(lang, "Escalations of {tenant}: {n}", tenant=key, n=n_esc))
    for (reason, by), n in sorted(Counter((e["reason"], e["opened_by"]) for e in escs).items()):
        et.add_row(reason, by, str(n))
    console.print(et)
    console.print(kpi_table(daily, lang, _(lang, "Inbox KPIs of {tenant} per day (all channels; "
                                                 "FRT = first-response time)", tenant=key)))
    ct = Table(_(lang, "channel"), _(lang, "contacts"), _(lang, "answered"),
               _(lang, "FRT p50 (median of days)"), title=_(lang, "Per channel"))
    from growthops.inbox.cli import fmt_seconds

    for ch, rs in per_channel.items():
        vals = sorted(r["frt_p50_seconds"] for r in rs if r["frt_p50_seconds"] is not None)
        ct.add_row(ch, str(sum(r["contacts_count"] for r in rs)),
                   str(sum(r["answered_count"] for r in rs)),
                   fmt_seconds(vals[len(vals) // 2]) if vals else "–")
    console.print(ct)
    from growthops.inbox.ai.demo_kb import summary

    with db.tenant_tx(tid) as conn:
        ai_counts, ai_examples = summary(conn, tenant_id=tid)
    at = Table(_(lang, "AI decision"), _(lang, "rule"), _(lang, "count"),
               title=_(lang, "AI triage of the replayed messages"))
    for r in ai_counts:
        at.add_row(r["decision"], r["matched_rule"] or "–", str(r["n"]))
    console.print(at)
    xt = Table(_(lang, "AI decision"), _(lang, "message"), _(lang, "reason"),
               title=_(lang, "Examples of AI decisions with their reasons"))
    for r in ai_examples:
        xt.add_row(r["decision"], (r["message_text"] or "")[:60], r["reason"][:90])
    console.print(xt)

    from growthops.inbox import posts_demo

    posts_demo.run(db, console, tenant_id=tid, ig_account=IG_ACCOUNT, lang=lang)
    console.print(_(lang, "Open the inbox: growthops serve, then /t/{tenant}/inbox.", tenant=key))
