"""The handoff to people: escalate, assign, resolve, reopen, archive; every transition recorded.

State of a conversation (``inbox.conversations.status``): ``active`` (the AI may answer),
``escalated`` (an open or in-progress escalation: the AI stays silent until a person resolves
it), ``archived`` (closed; a new inbound message or a person reopens it). An escalation
(``inbox.support_escalations``) goes ``open`` → ``in_progress`` (assigned) → ``resolved``; at most
one is not resolved per conversation. Every transition appends a row to
``inbox.conversation_events`` with who (an e-mail, ``apikey:<name>``, ``customer``, ``system``,
``rule:<name>`` or ``ai``) and when.

Service functions take ``conn`` (a tenant transaction) and ``tenant_id``, keyword-only, and never
commit. Errors: :class:`NotFound` (no such conversation for the tenant), :class:`Conflict` (the
state forbids it; the message says which state), :class:`InvalidInput` (an assignee who may not
answer this tenant).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import _

REASONS = ("customer_request", "low_confidence", "manual_escalation", "outside_window",
           "out_of_credits")


def record_events(conn: Any, *, tenant_id: UUID | str, events: Iterable[dict[str, Any]]) -> int:
    """Append transitions (``conversation_id``, ``action``, ``actor``, optional ``escalation_id``,
    ``details``, ``at``) in one statement; return how many."""
    rows = [(str(tenant_id), e["conversation_id"], e.get("escalation_id"), e["action"],
             e["actor"][:254], Jsonb(e.get("details") or {}), e.get("at")) for e in events]
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """insert into inbox.conversation_events
                 (tenant_id, conversation_id, escalation_id, action, actor, details, at)
               values (%s, %s, %s, %s, %s, %s, coalesce(%s, now()))""", rows)
    return len(rows)


def _conversation(conn: Any, tenant_id: UUID | str, conversation_id: int,
                  lock: bool = True) -> dict[str, Any]:
    row = conn.execute(
        f"""select c.*, e.escalation_id, e.status as escalation_status, e.reason
            from inbox.conversations c
            left join inbox.support_escalations e on e.tenant_id = c.tenant_id
              and e.conversation_id = c.conversation_id and e.status <> 'resolved'
            where c.tenant_id = %s and c.conversation_id = %s
            {'for update of c' if lock else ''}""",
        [str(tenant_id), conversation_id]).fetchone()
    if row is None:
        raise NotFound(_("en", "conversation: no conversation {id} for this tenant",
                         id=conversation_id))
    return row


def escalate_many(conn: Any, *, tenant_id: UUID | str, items: list[tuple[int, int | None]],
                  reason: str, actor: str, notes: str | None = None) -> list[dict[str, Any]]:
    """Open an escalation on each ``(conversation_id, message_id)`` not escalated yet.

    Set-based (rules and the AI escalate many at once); conversations already escalated are
    skipped. Returns the new escalations (``escalation_id``, ``conversation_id``). Archived
    conversations are reopened as escalated.
    """
    if reason not in REASONS:
        raise InvalidInput(f"reason: {reason!r} is not one of {', '.join(REASONS)}")
    if not items:
        return []
    convs = [c for c, _m in items]
    msgs = [m for _c, m in items]
    rows = conn.execute(
        """with x as (select distinct on (c) c, m from unnest(%(c)s::bigint[], %(m)s::bigint[]) as x(c, m)
                      order by c, m desc nulls last),
           ins as (
             insert into inbox.support_escalations
               (tenant_id, conversation_id, message_id, reason, opened_by, notes)
             select %(t)s, x.c, x.m, %(r)s, %(a)s, %(n)s from x
             join inbox.conversations c on c.tenant_id = %(t)s and c.conversation_id = x.c
             on conflict (tenant_id, conversation_id) where status <> 'resolved' do nothing
             returning escalation_id, conversation_id),
           upd as (
             update inbox.conversations c set status = 'escalated', status_changed_at = now(),
                    updated_at = now()
             from ins where c.tenant_id = %(t)s and c.conversation_id = ins.conversation_id
             returning c.conversation_id)
           select ins.* from ins""",
        {"t": str(tenant_id), "c": convs, "m": msgs, "r": reason, "a": actor[:254], "n": notes},
    ).fetchall()
    record_events(conn, tenant_id=tenant_id, events=[
        {"conversation_id": r["conversation_id"], "escalation_id": r["escalation_id"],
         "action": "escalated", "actor": actor, "details": {"reason": reason, "notes": notes}}
        for r in rows])
    return rows


def escalate(conn: Any, *, tenant_id: UUID | str, conversation_id: int, reason: str, actor: str,
             notes: str | None = None, message_id: int | None = None) -> dict[str, Any]:
    """Escalate one conversation; return the escalation row.

    Raises :class:`NotFound`, :class:`Conflict` when it is already escalated (naming the open
    escalation and its reason), :class:`InvalidInput` for an unknown reason.
    """
    conv = _conversation(conn, tenant_id, conversation_id)
    if conv["escalation_id"] is not None:
        raise Conflict(_("en", "conversation {id} is already escalated (escalation {e}, {reason}, "
                               "{status})", id=conversation_id, e=conv["escalation_id"],
                         reason=conv["reason"], status=conv["escalation_status"]))
    (row,) = escalate_many(conn, tenant_id=tenant_id, items=[(conversation_id, message_id)],
                           reason=reason, actor=actor, notes=notes)
    return get_escalation(conn, tenant_id=tenant_id, escalation_id=row["escalation_id"])


def get_escalation(conn: Any, *, tenant_id: UUID | str, escalation_id: int) -> dict[str, Any]:
    """Return one escalation with its assignee's e-mail; :class:`NotFound` otherwise."""
    row = conn.execute(
        """select e.*, a.email as assignee_email from inbox.support_escalations e
           left join core.tenant_agents(%s) a on a.user_id = e.assigned_to
           where e.tenant_id = %s and e.escalation_id = %s""",
        [str(tenant_id), str(tenant_id), escalation_id]).fetchone()
    if row is None:
        raise NotFound(f"escalation: no escalation {escalation_id} for this tenant")
    return row


def agents(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the people who may answer the tenant's inbox (staff and its support agents)."""
    return conn.execute("select * from core.tenant_agents(%s)", [str(tenant_id)]).fetchall()


def assign(conn: Any, *, tenant_id: UUID | str, conversation_id: int, assignee: UUID | str | None,
           actor: str) -> dict[str, Any]:
    """Assign the conversation (and its open escalation, which becomes ``in_progress``) to a
    person who may answer this tenant, or unassign it (``assignee`` None).

    ``assignee``: a user id or an e-mail. Raises :class:`NotFound`, :class:`InvalidInput` when
    the person may not answer this tenant (not staff, not its support agent, disabled).
    """
    conv = _conversation(conn, tenant_id, conversation_id)
    uid: str | None = None
    if assignee is not None:
        key = str(assignee).strip().lower()
        found = [a for a in agents(conn, tenant_id=tenant_id)
                 if str(a["user_id"]) == key or a["email"] == key]
        if not found:
            raise InvalidInput(_("en", "assignee: {who} may not answer this tenant's inbox "
                                       "(staff or this tenant's support agents only)",
                                 who=str(assignee)[:254]))
        uid = str(found[0]["user_id"])
    conn.execute(
        """update inbox.conversations set assignee_user_id = %s, updated_at = now()
           where tenant_id = %s and conversation_id = %s""",
        [uid, str(tenant_id), conversation_id])
    if conv["escalation_id"] is not None:
        conn.execute(
            """update inbox.support_escalations set assigned_to = %s, updated_at = now(),
                      status = case when %s::uuid is null then 'open' else 'in_progress' end
               where tenant_id = %s and escalation_id = %s""",
            [uid, uid, str(tenant_id), conv["escalation_id"]])
    record_events(conn, tenant_id=tenant_id, events=[{
        "conversation_id": conversation_id, "escalation_id": conv["escalation_id"],
        "action": "assigned" if uid else "unassigned", "actor": actor,
        "details": {"assignee": uid}}])
    return _conversation(conn, tenant_id, conversation_id, lock=False)


def resolve(conn: Any, *, tenant_id: UUID | str, conversation_id: int, actor: str,
            notes: str | None = None) -> dict[str, Any]:
    """Resolve the open escalation; the conversation becomes ``active`` (the AI may answer again).

    Raises :class:`NotFound`, :class:`Conflict` when the conversation is not escalated.
    """
    conv = _conversation(conn, tenant_id, conversation_id)
    if conv["escalation_id"] is None:
        raise Conflict(_("en", "conversation {id} is not escalated (status {status}); nothing to "
                               "resolve", id=conversation_id, status=conv["status"]))
    conn.execute(
        """update inbox.support_escalations set status = 'resolved', resolved_at = now(),
                  resolved_by = %s, notes = coalesce(%s, notes), updated_at = now()
           where tenant_id = %s and escalation_id = %s""",
        [actor[:254], notes, str(tenant_id), conv["escalation_id"]])
    conn.execute(
        """update inbox.conversations set status = 'active', status_changed_at = now(),
                  updated_at = now() where tenant_id = %s and conversation_id = %s""",
        [str(tenant_id), conversation_id])
    record_events(conn, tenant_id=tenant_id, events=[{
        "conversation_id": conversation_id, "escalation_id": conv["escalation_id"],
        "action": "resolved", "actor": actor, "details": {"notes": notes}}])
    return get_escalation(conn, tenant_id=tenant_id, escalation_id=conv["escalation_id"])


def reopen(conn: Any, *, tenant_id: UUID | str, conversation_id: int, actor: str) -> dict[str, Any]:
    """Reopen: an archived conversation becomes ``active``; an active one whose last escalation
    was resolved gets that escalation back (``open``, the conversation ``escalated``).

    Returns the conversation. Raises :class:`NotFound`, :class:`Conflict` when there is nothing
    to reopen (escalated already, or active without a resolved escalation).
    """
    conv = _conversation(conn, tenant_id, conversation_id)
    if conv["status"] == "archived":
        conn.execute(
            """update inbox.conversations set status = 'active', status_changed_at = now(),
                      updated_at = now() where tenant_id = %s and conversation_id = %s""",
            [str(tenant_id), conversation_id])
        record_events(conn, tenant_id=tenant_id, events=[{
            "conversation_id": conversation_id, "action": "reopened", "actor": actor,
            "details": {"from": "archived"}}])
        return _conversation(conn, tenant_id, conversation_id, lock=False)
    last = conn.execute(
        """select escalation_id from inbox.support_escalations
           where tenant_id = %s and conversation_id = %s and status = 'resolved'
           order by resolved_at desc, escalation_id desc limit 1""",
        [str(tenant_id), conversation_id]).fetchone()
    if conv["status"] != "active" or last is None:
        raise Conflict(_("en", "conversation {id} has nothing to reopen (status {status})",
                         id=conversation_id, status=conv["status"]))
    conn.execute(
        """update inbox.support_escalations set status = case when assigned_to is null
                  then 'open' else 'in_progress' end, resolved_at = null, resolved_by = null,
                  updated_at = now() where tenant_id = %s and escalation_id = %s""",
        [str(tenant_id), last["escalation_id"]])
    conn.execute(
        """update inbox.conversations set status = 'escalated', status_changed_at = now(),
                  updated_at = now() where tenant_id = %s and conversation_id = %s""",
        [str(tenant_id), conversation_id])
    record_events(conn, tenant_id=tenant_id, events=[{
        "conversation_id": conversation_id, "escalation_id": last["escalation_id"],
        "action": "reopened", "actor": actor, "details": {"from": "resolved"}}])
    return _conversation(conn, tenant_id, conversation_id, lock=False)


def archive(conn: Any, *, tenant_id: UUID | str, conversation_id: int, actor: str) -> dict[str, Any]:
    """Archive an active conversation. Raises :class:`Conflict` when it is escalated (resolve
    it first) or archived already."""
    conv = _conversation(conn, tenant_id, conversation_id)
    if conv["status"] != "active":
        raise Conflict(_("en", "conversation {id} is {status}: only an active conversation can be "
                               "archived", id=conversation_id, status=conv["status"]))
    conn.execute(
        """update inbox.conversations set status = 'archived', status_changed_at = now(),
                  updated_at = now() where tenant_id = %s and conversation_id = %s""",
        [str(tenant_id), conversation_id])
    record_events(conn, tenant_id=tenant_id, events=[{
        "conversation_id": conversation_id, "action": "archived", "actor": actor}])
    return _conversation(conn, tenant_id, conversation_id, lock=False)


def mark_read(conn: Any, *, tenant_id: UUID | str, conversation_id: int,
              at: datetime | None = None) -> None:
    """Record that a person of the team read the thread (clears "unread")."""
    conn.execute(
        """update inbox.conversations set last_read_at = greatest(last_read_at, coalesce(%s, now()))
           where tenant_id = %s and conversation_id = %s""",
        [at, str(tenant_id), conversation_id])
