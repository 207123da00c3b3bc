"""Process a stored webhook delivery: route each item to its tenant and store it, idempotently.

:func:`process_event` (the job ``inbox.process_webhook``) reads the raw delivery, parses it with
the platform's parser (``connectors.whatsapp.webhooks`` / ``connectors.instagram.webhooks``),
finds the tenant of each receiving account (``inbox.route_accounts``) and, per tenant in one
transaction, :func:`store_items`:

* customers and conversations are upserted; **one row per message** whatever the number of
  deliveries (unique ``(tenant_id, conversation_id, platform_message_id)``, ``on conflict do
  nothing``);
* conversation times are ``greatest()`` of what is stored and what arrives, statuses are kept
  in ``inbox.message_statuses`` and applied by rank (read ⇒ delivered), so batched entries and
  out-of-order deliveries end in the same state as in-order ones;
* an Instagram echo (``is_echo``) of a message growthops sent is the same row (same ``mid``);
  an echo of a message sent from Instagram's own app is stored as outbound ``platform_app``;
* unknown message types are stored as ``unsupported`` with the platform's object kept;
  unknown fields and events are counted in the delivery's summary, never an error;
* a new inbound message reopens an archived conversation; the escalation rules
  (:mod:`.rules`) run, then the triage policy (:mod:`.triage`) on conversations not escalated.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.connectors import instagram, whatsapp
from growthops.connectors.messaging import DeliveryStatus, InboundItem, InboundMessage, Unhandled
from growthops.core.db import Database
from growthops.inbox import comments, handoff, rules, triage

logger = logging.getLogger("growthops.inbox")
PARSERS = {"whatsapp": whatsapp.parse, "instagram": instagram.parse}


def parse_body(platform: str, body: bytes) -> list[InboundItem]:
    """Parse a raw delivery (JSON bytes) into items; a body that is not JSON is one Unhandled."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [Unhandled(platform, "", "not_json")]  # type: ignore[arg-type]
    return PARSERS[platform](data)


def _route(conn: Any, platform: str, items: list[InboundItem]) -> tuple[
        dict[str, dict[str, Any]], list[str]]:
    """Map receiving account ids to ``{tenant_id, social_account_id}``; list the ambiguous ones."""
    ids = sorted({i.account_id for i in items if i.account_id})
    if not ids:
        return {}, []
    rows = conn.execute("select * from inbox.route_accounts(%s, %s)", [platform, ids]).fetchall()
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["account_id"]].append(r)
    routes = {k: v[0] for k, v in by.items() if len(v) == 1}
    return routes, sorted(k for k, v in by.items() if len(v) > 1)


def store_items(conn: Any, *, tenant_id: UUID | str,
                items: list[tuple[int, InboundItem]]) -> dict[str, Any]:
    """Store one tenant's items (``(social_account_id, item)`` pairs) set-based; return counts
    and the new inbound messages (:class:`growthops.inbox.triage.NewInbound`).

    Runs in the tenant's transaction; never commits.
    """
    tid = str(tenant_id)
    msgs = [(sa, i) for sa, i in items if isinstance(i, InboundMessage)]
    stats = [(sa, i) for sa, i in items if isinstance(i, DeliveryStatus)]
    out: dict[str, Any] = {"messages_new": 0, "messages_duplicate": 0, "echoes": 0,
                           "statuses": len(stats), "new_inbound": []}
    if msgs:
        rows = [{"sa": sa, "cust": m.customer_id, "name": m.customer_name,
                 "phone": m.customer_phone, "platform": m.platform, "mid": m.message_id,
                 "dir": "outbound" if m.echo else "inbound",
                 "author": "platform_app" if m.echo else "customer",
                 "sender": m.account_id if m.echo else m.customer_id, "type": m.type,
                 "text": m.text, "media": m.media_ref, "raw": m.raw,
                 "at": m.sent_at.isoformat()} for sa, m in msgs]
        data = Jsonb(rows)
        conn.execute(
            """insert into inbox.customers (tenant_id, social_account_id, platform_customer_id,
                                            name, phone_number)
               select distinct on (sa, cust) %(t)s, sa, cust, name,
                      case when platform = 'whatsapp' then phone end
               from jsonb_to_recordset(%(d)s) as x(sa bigint, cust text, name text, phone text,
                                                   platform text, at timestamptz)
               order by sa, cust, name is null, at desc
               on conflict (tenant_id, social_account_id, platform_customer_id) do update
                 set name = coalesce(excluded.name, customers.name),
                     phone_number = coalesce(excluded.phone_number, customers.phone_number),
                     updated_at = now()
                 where excluded.name is distinct from customers.name and excluded.name is not null""",
            {"t": tid, "d": data})
        conn.execute(
            """insert into inbox.conversations (tenant_id, social_account_id, customer_id, platform)
               select distinct %(t)s, x.sa, c.customer_id, x.platform
               from jsonb_to_recordset(%(d)s) as x(sa bigint, cust text, platform text)
               join inbox.customers c on c.tenant_id = %(t)s and c.social_account_id = x.sa
                                     and c.platform_customer_id = x.cust
               on conflict (tenant_id, social_account_id, customer_id) do nothing""",
            {"t": tid, "d": data})
        new = conn.execute(
            """with x as (
                 select distinct on (x.sa, x.cust, x.mid) x.*, v.conversation_id
                 from jsonb_to_recordset(%(d)s) as x(sa bigint, cust text, mid text, dir text,
                        author text, sender text, type text, text text, media text, raw jsonb,
                        at timestamptz)
                 join inbox.customers c on c.tenant_id = %(t)s and c.social_account_id = x.sa
                                       and c.platform_customer_id = x.cust
                 join inbox.conversations v on v.tenant_id = %(t)s and v.social_account_id = x.sa
                                           and v.customer_id = c.customer_id
                 order by x.sa, x.cust, x.mid)
               insert into inbox.conversation_messages
                 (tenant_id, conversation_id, direction, platform_message_id, sender_id,
                  author_kind, message_type, text, media_url, metadata, sent_at, status)
               select %(t)s, conversation_id, dir, mid, sender, author, type, text, media,
                      coalesce(raw, '{}'), at, case when dir = 'inbound' then 'received' else 'sent' end
               from x
               on conflict (tenant_id, conversation_id, platform_message_id) do nothing
               returning message_id, conversation_id, direction, message_type, text, sent_at""",
            {"t": tid, "d": data}).fetchall()
        out["messages_new"] = len(new)
        out["messages_duplicate"] = len(msgs) - len(new)
        out["echoes"] = sum(1 for _sa, m in msgs if m.echo)
        _touch_conversations(conn, tid, new)
        inbound = [r for r in new if r["direction"] == "inbound"]
        out["new_inbound"] = inbound
    if stats:
        conn.execute(
            """insert into inbox.message_statuses (tenant_id, social_account_id,
                 platform_message_id, status, at, error)
               select %(t)s, x.sa, x.mid, x.status, min(x.at), (array_agg(x.err))[1]
               from jsonb_to_recordset(%(d)s) as x(sa bigint, mid text, status text,
                                                   at timestamptz, err jsonb)
               group by x.sa, x.mid, x.status
               on conflict do nothing""",
            {"t": tid, "d": Jsonb([{"sa": sa, "mid": s.message_id, "status": s.status,
                                    "at": s.at.isoformat(),
                                    "err": s.errors or None} for sa, s in stats])})
    mids = sorted({i.message_id for _sa, i in msgs + stats})
    if mids:
        apply_statuses(conn, tenant_id=tid, platform_message_ids=mids)
    return out


def _touch_conversations(conn: Any, tid: str, new: list[dict[str, Any]]) -> None:
    """Move each conversation's times forward (``greatest``) and reopen archived conversations
    that received a customer message written after they were archived."""
    if not new:
        return
    reopened = conn.execute(
        """with n as (
             select conversation_id,
                    max(sent_at) as last_at,
                    max(sent_at) filter (where direction = 'inbound') as last_in,
                    max(sent_at) filter (where direction = 'outbound') as last_out
             from unnest(%(c)s::bigint[], %(d)s::text[], %(s)s::timestamptz[])
                  as n(conversation_id, direction, sent_at)
             group by conversation_id),
           old as (select c.conversation_id, c.status, c.status_changed_at
                   from inbox.conversations c join n using (conversation_id)
                   where c.tenant_id = %(t)s for update of c)
           update inbox.conversations c set
             last_message_at = greatest(c.last_message_at, n.last_at),
             last_inbound_at = greatest(c.last_inbound_at, n.last_in),
             last_outbound_at = greatest(c.last_outbound_at, n.last_out),
             status = case when c.status = 'archived' and n.last_in > c.status_changed_at
                           then 'active' else c.status end,
             status_changed_at = case when c.status = 'archived' and n.last_in > c.status_changed_at
                                      then now() else c.status_changed_at end,
             updated_at = now()
           from n join old using (conversation_id)
           where c.tenant_id = %(t)s and c.conversation_id = n.conversation_id
           returning c.conversation_id, old.status as before, c.status as after""",
        {"t": tid, "c": [r["conversation_id"] for r in new],
         "d": [r["direction"] for r in new], "s": [r["sent_at"] for r in new]}).fetchall()
    handoff.record_events(conn, tenant_id=tid, events=[
        {"conversation_id": r["conversation_id"], "action": "reopened", "actor": "customer",
         "details": {"from": "archived"}}
        for r in reopened if r["before"] == "archived" and r["after"] == "active"])


def apply_statuses(conn: Any, *, tenant_id: UUID | str, platform_message_ids: list[str]) -> int:
    """Apply the stored delivery statuses of these outbound messages; return rows changed.

    ``delivered_at`` = first delivered (or read: read implies delivered), ``read_at`` = first
    read, ``failed_at`` = first failure; ``status`` = read > delivered > failed > sent. The
    result does not depend on the order the statuses arrived in.
    """
    return conn.execute(
        """with s as (
             select social_account_id, platform_message_id,
                    min(at) filter (where status = 'sent') as sent,
                    min(at) filter (where status = 'delivered') as delivered,
                    min(at) filter (where status = 'read') as read,
                    min(at) filter (where status = 'failed') as failed,
                    (array_agg(error) filter (where status = 'failed'))[1] as error
             from inbox.message_statuses
             where tenant_id = %(t)s and platform_message_id = any(%(m)s)
             group by social_account_id, platform_message_id)
           update inbox.conversation_messages m set
             delivered_at = coalesce(least(s.delivered, s.read), m.delivered_at),
             read_at = coalesce(s.read, m.read_at),
             failed_at = coalesce(s.failed, m.failed_at),
             error = coalesce(s.error, m.error),
             status = case when s.read is not null or m.read_at is not null then 'read'
                           when s.delivered is not null or m.delivered_at is not null then 'delivered'
                           when s.failed is not null then 'failed'
                           when m.status = 'pending' and s.sent is not null then 'sent'
                           else m.status end,
             updated_at = now()
           from s, inbox.conversations c
           where m.tenant_id = %(t)s and m.direction = 'outbound'
             and m.platform_message_id = s.platform_message_id
             and c.tenant_id = %(t)s and c.conversation_id = m.conversation_id
             and c.social_account_id = s.social_account_id""",
        {"t": str(tenant_id), "m": platform_message_ids}).rowcount


def after_inbound(conn: Any, *, tenant_id: UUID | str,
                  new_inbound: list[dict[str, Any]]) -> dict[str, int]:
    """Run the escalation rules, then the triage policy on conversations not escalated."""
    if not new_inbound:
        return {"escalated": 0, "triaged": 0, "after": None}
    asked = [(r["conversation_id"], r["message_id"]) for r in new_inbound
             if rules.wants_human(r["text"])]
    opened = handoff.escalate_many(conn, tenant_id=tenant_id, items=asked,
                                   reason="customer_request", actor="rule:customer_request")
    convs = sorted({r["conversation_id"] for r in new_inbound})
    state = {r["conversation_id"]: r for r in conn.execute(
        """select conversation_id, platform, status from inbox.conversations
           where tenant_id = %s and conversation_id = any(%s)""",
        [str(tenant_id), convs]).fetchall()}
    silent = {c for c, r in state.items() if r["status"] == "escalated"}
    todo = [triage.NewInbound(conversation_id=r["conversation_id"], message_id=r["message_id"],
                              platform=state[r["conversation_id"]]["platform"],
                              message_type=r["message_type"], text=r["text"],
                              sent_at=r["sent_at"])
            for r in new_inbound if r["conversation_id"] not in silent]
    after = triage.policy()(conn, tenant_id=tenant_id, messages=todo) if todo else None
    return {"escalated": len(opened), "triaged": len(todo),
            "after": after if callable(after) else None}


def process_event(db: Database, event_id: int, *, again: bool = False) -> dict[str, Any]:
    """Process one stored delivery (idempotent: a second run changes nothing); return its summary.

    A delivery already processed is skipped (a job queued twice by the recovery) unless
    ``again``.

    The summary counts items per kind, new and duplicate messages, statuses, escalations,
    unrouted accounts and unhandled parts. Every tenant's items are stored in that tenant's
    transaction; the delivery is then marked processed (``inbox.finish_webhook``). Exceptions
    propagate (the job is retried on transient database errors).
    """
    with db.app_tx() as conn:
        ev = conn.execute("select * from inbox.take_webhook(%s)", [event_id]).fetchone()
        if ev is None:
            return {"status": "missing", "event_id": event_id}
        if ev["processed_at"] is not None and not again:
            return {"status": "already processed", "event_id": event_id}
        platform = ev["platform"]
        items = parse_body(platform, bytes(ev["body"]))
        routes, ambiguous = _route(conn, platform, items)
    summary: dict[str, Any] = {"event_id": event_id, "items": len(items), "messages_new": 0,
                               "messages_duplicate": 0, "echoes": 0, "statuses": 0,
                               "escalated": 0, "triaged": 0,
                               "unhandled": dict(Counter(i.kind for i in items
                                                         if isinstance(i, Unhandled))),
                               "unrouted": sorted({i.account_id for i in items
                                                   if not isinstance(i, Unhandled)
                                                   and i.account_id not in routes})}
    by_tenant: dict[str, list[tuple[int, InboundItem]]] = defaultdict(list)
    for i in items:
        if not isinstance(i, Unhandled) and i.account_id in routes:
            r = routes[i.account_id]
            by_tenant[str(r["tenant_id"])].append((int(r["social_account_id"]), i))
    error = None
    if ambiguous:
        error = "account ids connected by several tenants: " + ", ".join(ambiguous)
        logger.error("webhook %s: %s", event_id, error)
    tenants = list(by_tenant.items())
    afters = []
    for n, (tid, tenant_items) in enumerate(tenants, start=1):
        with db.tenant_tx(tid) as conn:
            res = store_items(conn, tenant_id=tid, items=tenant_items)
            more = after_inbound(conn, tenant_id=tid, new_inbound=res["new_inbound"])
            summary["comments_new"] = summary.get("comments_new", 0) + comments.store_webhook(
                conn, tenant_id=tid, items=tenant_items)
            for k in ("messages_new", "messages_duplicate", "echoes", "statuses"):
                summary[k] += res[k]
            for k in ("escalated", "triaged"):
                summary[k] += more[k]
            if more.get("after") is not None:
                afters.append(more["after"])
            if n == len(tenants):  # the delivery is done with its last tenant's transaction
                conn.execute("select inbox.finish_webhook(%s, %s, %s)",
                             [event_id, error, Jsonb(summary)])
    if not tenants:
        with db.app_tx() as conn:
            conn.execute("select inbox.finish_webhook(%s, %s, %s)",
                         [event_id, error, Jsonb(summary)])
    for after in afters:  # after every commit: the AI's replies (a failure is logged, the
        try:              # sweep inbox.ai_sweep sends what is still pending)
            after(db)
        except Exception:
            logger.exception("webhook %s: sending the AI's replies failed", event_id)
    return summary
