"""Read the inbox: the conversation list with filters and counts, one conversation, its thread.

Every function takes ``conn`` (a tenant transaction) and ``tenant_id``, keyword-only, and is one
set-based statement (plus one for counts). "Unread": an inbound message after the last time a
person of the team opened the thread (``last_inbound_at > last_read_at``). Newest first means by
``last_message_at`` (then id).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from growthops.core.errors import InvalidInput, NotFound

STATUSES = ("active", "escalated", "archived")
CHANNELS = ("whatsapp", "instagram")
_LIST = """
select c.conversation_id, c.platform, c.status, c.status_changed_at, c.last_message_at,
       c.last_inbound_at, c.last_outbound_at, c.last_read_at, c.created_at,
       c.assignee_user_id, ag.email as assignee_email,
       c.last_inbound_at is not null and c.last_inbound_at > coalesce(c.last_read_at, '-infinity')
         as unread,
       cu.customer_id, cu.platform_customer_id, cu.name as customer_name,
       a.social_account_id, a.account_id, a.account_name, a.status as account_status,
       e.escalation_id, e.reason as escalation_reason, e.status as escalation_status,
       lm.text as last_text, lm.direction as last_direction, lm.message_type as last_type
from inbox.conversations c
join inbox.customers cu on cu.tenant_id = c.tenant_id and cu.customer_id = c.customer_id
join inbox.social_accounts a on a.tenant_id = c.tenant_id and a.social_account_id = c.social_account_id
left join core.tenant_agents(%(t)s) ag on ag.user_id = c.assignee_user_id
left join inbox.support_escalations e on e.tenant_id = c.tenant_id
  and e.conversation_id = c.conversation_id and e.status <> 'resolved'
left join lateral (select m.text, m.direction, m.message_type from inbox.conversation_messages m
                   where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id
                   order by m.sent_at desc, m.message_id desc limit 1) lm on true
"""


def _filters(channel: str | None, status: str | None, assignee: UUID | str | None,
             unread: bool, escalated: bool) -> tuple[str, dict[str, Any]]:
    where = ["c.tenant_id = %(t)s"]
    params: dict[str, Any] = {}
    if channel:
        if channel not in CHANNELS:
            raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
        where.append("c.platform = %(channel)s")
        params["channel"] = channel
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        where.append("c.status = %(status)s")
        params["status"] = status
    if assignee is not None:
        where.append("c.assignee_user_id = %(assignee)s")
        params["assignee"] = str(assignee)
    if unread:
        where.append("c.last_inbound_at > coalesce(c.last_read_at, '-infinity')")
    if escalated:
        where.append("c.status = 'escalated'")
    return " and ".join(where), params


def list_conversations(conn: Any, *, tenant_id: UUID | str, channel: str | None = None,
                       status: str | None = None, assignee: UUID | str | None = None,
                       unread: bool = False, escalated: bool = False, limit: int = 50,
                       offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: the tenant's conversations matching every filter, newest first.

    ``assignee``: a user id ("assigned to me"). Raises :class:`InvalidInput` for an unknown
    channel or status.
    """
    where, params = _filters(channel, status, assignee, unread, escalated)
    params.update(t=str(tenant_id), limit=limit, offset=offset)
    rows = conn.execute(
        f"""{_LIST} where {where}
            order by c.last_message_at desc nulls last, c.conversation_id desc
            limit %(limit)s offset %(offset)s""", params).fetchall()
    total = conn.execute(f"select count(*) as n from inbox.conversations c where {where}",
                         params).fetchone()["n"]
    return rows, int(total)


def counts(conn: Any, *, tenant_id: UUID | str, user_id: UUID | str | None = None) -> dict[str, int]:
    """Return the counts shown beside the filters: all, per status and channel, unread, mine."""
    return dict(conn.execute(
        """select count(*) as all,
                  count(*) filter (where status = 'active') as active,
                  count(*) filter (where status = 'escalated') as escalated,
                  count(*) filter (where status = 'archived') as archived,
                  count(*) filter (where platform = 'whatsapp') as whatsapp,
                  count(*) filter (where platform = 'instagram') as instagram,
                  count(*) filter (where last_inbound_at > coalesce(last_read_at, '-infinity'))
                    as unread,
                  count(*) filter (where assignee_user_id = %s::uuid) as mine
           from inbox.conversations where tenant_id = %s""",
        [str(user_id) if user_id else None, str(tenant_id)]).fetchone())


def get_conversation(conn: Any, *, tenant_id: UUID | str, conversation_id: int) -> dict[str, Any]:
    """Return one conversation (customer, account, assignee, open escalation); :class:`NotFound`."""
    row = conn.execute(f"{_LIST} where c.tenant_id = %(t)s and c.conversation_id = %(c)s",
                       {"t": str(tenant_id), "c": conversation_id}).fetchone()
    if row is None:
        raise NotFound(f"conversation: no conversation {conversation_id} for this tenant")
    return row


def thread(conn: Any, *, tenant_id: UUID | str, conversation_id: int,
           limit: int = 200) -> list[dict[str, Any]]:
    """Return the conversation's last ``limit`` messages, oldest first.

    ``triage_reason``: the AI's reason for its decision (``metadata.triage_reason``, set by the
    triage policy with ``triage`` and ``confidence``; issue 11 may join its decisions table).
    """
    return conn.execute(
        """select * from (
             select message_id, direction, platform_message_id, author_kind, author, message_type,
                    text, media_url, template_name, tag, triage, confidence, ai_decision_id,
                    metadata->>'triage_reason' as triage_reason, status, error, sent_at, delivered_at, read_at, failed_at
             from inbox.conversation_messages where tenant_id = %s and conversation_id = %s
             order by sent_at desc, message_id desc limit %s) m
           order by sent_at, message_id""",
        [str(tenant_id), conversation_id, limit]).fetchall()


def events(conn: Any, *, tenant_id: UUID | str, conversation_id: int) -> list[dict[str, Any]]:
    """Return the conversation's transitions (who, what, when), oldest first."""
    return conn.execute(
        """select event_id, escalation_id, action, actor, at, details from inbox.conversation_events
           where tenant_id = %s and conversation_id = %s order by at, event_id""",
        [str(tenant_id), conversation_id]).fetchall()


def escalations(conn: Any, *, tenant_id: UUID | str, status: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: escalations, newest first, optionally of one status."""
    if status and status not in ("open", "in_progress", "resolved"):
        raise InvalidInput(f"status: {status!r} is not one of open, in_progress, resolved")
    where = "e.tenant_id = %(t)s" + (" and e.status = %(s)s" if status else "")
    params = {"t": str(tenant_id), "s": status, "l": limit, "o": offset}
    rows = conn.execute(
        f"""select e.*, ag.email as assignee_email, c.platform, cu.name as customer_name,
                   cu.platform_customer_id
            from inbox.support_escalations e
            join inbox.conversations c on c.tenant_id = e.tenant_id and c.conversation_id = e.conversation_id
            join inbox.customers cu on cu.tenant_id = c.tenant_id and cu.customer_id = c.customer_id
            left join core.tenant_agents(%(t)s) ag on ag.user_id = e.assigned_to
            where {where} order by e.created_at desc, e.escalation_id desc
            limit %(l)s offset %(o)s""", params).fetchall()
    total = conn.execute(f"select count(*) as n from inbox.support_escalations e where {where}",
                         params).fetchone()["n"]
    return rows, int(total)
