"""Periodic inbox upkeep: hand to people the conversations the AI can no longer answer.

An active conversation whose last customer message is unanswered (no outbound message after it)
and whose automated-reply window has closed (24 h after that message, WhatsApp and Instagram
alike, see :mod:`growthops.inbox.windows`) is escalated with reason ``outside_window``: only a
person can still answer (Instagram HUMAN_AGENT tag up to 7 days, a WhatsApp template).
"""

from __future__ import annotations

from datetime import datetime

from growthops.core.db import Database
from growthops.inbox import handoff
from growthops.inbox.windows import WHATSAPP_WINDOW


def escalate_closed_windows(db: Database, *, now: datetime) -> int:
    """Escalate every tenant's unanswered conversations whose window closed; return how many."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    total = 0
    for tn in tenants:
        with db.tenant_tx(tn["tenant_id"]) as conn:
            due = conn.execute(
                """select conversation_id from inbox.conversations
                   where tenant_id = %s and status = 'active' and last_inbound_at is not null
                     and last_inbound_at > coalesce(last_outbound_at, '-infinity')
                     and last_inbound_at + %s <= %s""",
                [tn["tenant_id"], WHATSAPP_WINDOW, now]).fetchall()
            total += len(handoff.escalate_many(
                conn, tenant_id=tn["tenant_id"], items=[(r["conversation_id"], None) for r in due],
                reason="outside_window", actor="system"))
    return total
