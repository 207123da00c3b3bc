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
select c.conversation_id, 'message'::text as kind, null::bigint as comment_id,
       null::bigint as monitored_post_id, null::text as post_caption, null::text as triage,
       null::text as reply_status, null::int as thread_size, c.platform, c.status,
       c.status_changed_at, c.last_message_at, c.last_inbound_at, c.last_outbound_at,
       c.last_read_at, c.created_at, c.assignee_user_id, ag.email as assignee_email,
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


# Comment threads as conversations of their own kind (issue 12): one per top-level comment of
# a monitored post, with its replies (Instagram threads are one level deep; a reply whose parent
# was not collected is a thread of its own). Mapped onto the conversation columns: the id is the
# thread's first comment's (``comment_id``), the customer is the commenter, ``status`` is
# ``escalated`` while the comment is triaged ``escalate`` and not answered, else ``active``;
# comments have no read marker and no assignee (``unread`` false).
_COMMENTS = """
select r.comment_id as conversation_id, 'comment'::text as kind, r.comment_id,
       r.monitored_post_id, p.caption as post_caption, r.triage, r.reply_status,
       t.n::int as thread_size, 'instagram'::text as platform,
       case when r.triage = 'escalate' and r.reply_status <> 'sent' then 'escalated'
            else 'active' end as status,
       r.stored_at as status_changed_at, greatest(t.last_at, r.replied_at) as last_message_at,
       t.last_at as last_inbound_at, r.replied_at as last_outbound_at,
       null::timestamptz as last_read_at, r.stored_at as created_at,
       null::uuid as assignee_user_id, null::text as assignee_email, false as unread,
       null::bigint as customer_id, coalesce(r.author_id, '') as platform_customer_id,
       r.author_name as customer_name, a.social_account_id, a.account_id, a.account_name,
       a.status as account_status, null::bigint as escalation_id,
       case when r.triage = 'escalate' and r.reply_status <> 'sent' then r.triage_reason end
         as escalation_reason,
       null::text as escalation_status,
       case when r.reply_status = 'sent' and r.replied_at >= t.last_at then r.ai_reply_text
            else t.last_text end as last_text,
       case when r.reply_status = 'sent' and r.replied_at >= t.last_at then 'outbound'
            else 'inbound' end as last_direction, 'text'::text as last_type
from inbox.comments r
join inbox.monitored_posts p on p.tenant_id = r.tenant_id and p.monitored_post_id = r.monitored_post_id
join inbox.social_accounts a on a.tenant_id = p.tenant_id and a.social_account_id = p.social_account_id
join lateral (select count(*) as n, max(x.created_at) as last_at,
                     (array_agg(x.text order by x.created_at desc, x.comment_id desc))[1] as last_text
              from inbox.comments x
              where x.tenant_id = r.tenant_id and x.monitored_post_id = r.monitored_post_id
                and (x.comment_id = r.comment_id or x.parent_id = r.platform_comment_id)) t on true
where r.tenant_id = %(t)s
  and not exists (select 1 from inbox.comments pa where pa.tenant_id = r.tenant_id
                    and pa.monitored_post_id = r.monitored_post_id
                    and pa.platform_comment_id = r.parent_id)
"""
_MESSAGES = _LIST + " where c.tenant_id = %(t)s"
KINDS = ("message", "comment")


def _filters(channel: str | None, status: str | None, assignee: UUID | str | None,
             unread: bool, escalated: bool, union: bool = False) -> tuple[str, dict[str, Any]]:
    """The ``where`` clause on ``c`` (``union``: on the rows of ``_MESSAGES``/``_COMMENTS``,
    which filter the tenant themselves and carry ``unread``)."""
    where = ["true" if union else "c.tenant_id = %(t)s"]
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
        where.append("c.unread" if union else
                     "c.last_inbound_at > coalesce(c.last_read_at, '-infinity')")
    if escalated:
        where.append("c.status = 'escalated'")
    return " and ".join(where), params


def list_conversations(conn: Any, *, tenant_id: UUID | str, channel: str | None = None,
                       status: str | None = None, assignee: UUID | str | None = None,
                       unread: bool = False, escalated: bool = False, limit: int = 50,
                       offset: int = 0, kind: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: the tenant's conversations matching every filter, newest first.

    ``kind``: ``message`` (conversations of messages), ``comment`` (comment threads of the
    monitored posts, see ``_COMMENTS``) or None (both). Each row has ``kind``; a comment row's
    ``conversation_id`` and ``comment_id`` are its first comment's id. ``assignee``: a user id
    ("assigned to me": comments have no assignee). Raises :class:`InvalidInput` for an unknown
    channel, status or kind.
    """
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    where, params = _filters(channel, status, assignee, unread, escalated, union=kind != "message")
    params.update(t=str(tenant_id), limit=limit, offset=offset)
    if kind == "message":
        rows = conn.execute(
            f"""{_MESSAGES} and {where}
                order by c.last_message_at desc nulls last, c.conversation_id desc
                limit %(limit)s offset %(offset)s""", params).fetchall()
        total = conn.execute(f"select count(*) as n from inbox.conversations c where {where}",
                             params).fetchone()["n"]
        return rows, int(total)
    parts = [_COMMENTS] if kind == "comment" else [_MESSAGES, _COMMENTS]
    rows = conn.execute(
        f"""select *, count(*) over () as total_rows from ({" union all ".join(parts)}) c
            where {where}
            order by c.last_message_at desc nulls last, c.kind, c.conversation_id desc
            limit %(limit)s offset %(offset)s""", params).fetchall()
    total = rows[0]["total_rows"] if rows else conn.execute(
        f"""select count(*) as n from ({" union all ".join(parts)}) c where {where}""",
        params).fetchone()["n"]
    return rows, int(total)


def counts(conn: Any, *, tenant_id: UUID | str, user_id: UUID | str | None = None) -> dict[str, int]:
    """Return the counts shown beside the filters: all, per status and channel, unread, mine
    (conversations of messages), and ``comments`` / ``comments_escalated`` (comment threads,
    counted apart: their own kind)."""
    out = dict(conn.execute(
        f"""select count(*) as comments,
                   count(*) filter (where status = 'escalated') as comments_escalated
            from ({_COMMENTS}) c""", {"t": str(tenant_id)}).fetchone())
    return out | dict(conn.execute(
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
