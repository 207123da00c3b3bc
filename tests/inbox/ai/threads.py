"""Conversations written straight into the database (topics, the FAQ miner and labels from
people's actions read stored messages; the webhook path is tested elsewhere)."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from growthops.core.db import Database
from tests.inbox.conftest import inbox_tenant

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "banking77" / "sample.csv"


def add_thread(db: Database, tenant_id: Any, social_account_id: int,
               messages: list[tuple[str, str, str, datetime]]) -> list[int]:
    """One customer and conversation with ``messages`` = (direction, author_kind, text, at);
    return the message ids in order."""
    tid = str(tenant_id)
    with db.tenant_tx(tid) as conn:
        cust = conn.execute(
            """insert into inbox.customers (tenant_id, social_account_id, platform_customer_id)
               values (%s, %s, gen_random_uuid()::text) returning customer_id""",
            [tid, social_account_id]).fetchone()["customer_id"]
        conv = conn.execute(
            """insert into inbox.conversations (tenant_id, social_account_id, customer_id,
                                                platform, last_message_at)
               values (%s, %s, %s, 'whatsapp', %s) returning conversation_id""",
            [tid, social_account_id, cust, max(m[3] for m in messages)]).fetchone()
        rows = conn.execute(
            """insert into inbox.conversation_messages (tenant_id, conversation_id, direction,
                 author_kind, author, text, sent_at, status)
               select %s, %s, d, k, case k when 'human' then 'agent@example.org' end, x, a,
                      case d when 'inbound' then 'received' else 'sent' end
               from unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[])
                 with ordinality u(d, k, x, a, o) order by o
               returning message_id""",
            [tid, conv["conversation_id"], [m[0] for m in messages], [m[1] for m in messages],
             [m[2] for m in messages], [m[3] for m in messages]]).fetchall()
    return [r["message_id"] for r in rows]


def add_inbound(db: Database, tenant_id: Any, social_account_id: int,
                texts: list[tuple[str, datetime]]) -> list[int]:
    """Inbound messages, one conversation each (set-based); return their ids."""
    tid = str(tenant_id)
    with db.tenant_tx(tid) as conn:
        rows = conn.execute(
            """with c as (
                 insert into inbox.customers (tenant_id, social_account_id, platform_customer_id)
                 select %(t)s, %(a)s, 'c' || o from generate_series(1, %(n)s) o
                 returning customer_id, platform_customer_id),
               v as (
                 insert into inbox.conversations (tenant_id, social_account_id, customer_id,
                                                  platform)
                 select %(t)s, %(a)s, customer_id, 'whatsapp' from c
                 returning conversation_id, customer_id)
               insert into inbox.conversation_messages (tenant_id, conversation_id, direction,
                 author_kind, text, sent_at)
               select %(t)s, v.conversation_id, 'inbound', 'customer', u.x, u.at
               from unnest(%(x)s::text[], %(at)s::timestamptz[]) with ordinality u(x, at, o)
               join c on c.platform_customer_id = 'c' || u.o
               join v on v.customer_id = c.customer_id
               returning message_id""",
            {"t": tid, "a": social_account_id, "n": len(texts), "x": [t for t, _a in texts],
             "at": [a for _t, a in texts]}).fetchall()
    return [r["message_id"] for r in rows]


def intent_messages(n_intents: int = 6, per_intent: int = 25, seed: int = 0
                    ) -> list[tuple[str, str]]:
    """(text, intent) pairs drawn from the BANKING77 sample (real customer queries,
    ``tests/fixtures/banking77``)."""
    by: dict[str, list[str]] = {}
    with open(SAMPLE, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            by.setdefault(r["category"], []).append(r["text"])
    rng = random.Random(seed)
    out = []
    for intent in rng.sample(sorted(by), n_intents):
        out += [(t, intent) for t in rng.sample(by[intent], per_intent)]
    return out


def tenant_with_account(db: Database) -> tuple[Any, int]:
    """A tenant (hashed embedder) with a sandbox WhatsApp account; returns (tenant, account id)."""
    from growthops.inbox.ai import config

    t = inbox_tenant(db)
    with db.tenant_tx(t["tenant"].tenant_id) as conn:
        config.update_settings(conn, tenant_id=t["tenant"].tenant_id,
                               embedding_model="hashed-ngram-384")
    return t["tenant"], t["wa_id"]


def days_ago(now: datetime, d: float) -> datetime:
    """``now`` minus ``d`` days."""
    return now - timedelta(days=d)
