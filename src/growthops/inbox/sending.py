"""Send a reply (a person's or the AI's) or a WhatsApp template, within the messaging windows.

:func:`send_reply` owns its transactions, because the platform is called between them:

1. in the tenant's transaction: lock the conversation, check the account (``expired`` or
   ``revoked`` accounts cannot send), the state (the AI never answers an escalated
   conversation) and the window (:func:`growthops.inbox.windows.check`; opened by the
   customer's last message at or before the time of the reply, so a replay of past replies is
   judged as it was then). A refusal is recorded
   (event ``refused`` with the rule and until when) and raised as :class:`WindowClosed`; an AI
   reply refused by the window also escalates the conversation (``outside_window``) so a person
   answers. Otherwise an outbound message is stored ``pending``;
2. the transport sends it (retries on 429 / 5xx are the transport's);
3. in a second transaction: the platform's id and ``sent``, or ``failed`` with the error; an
   expired token marks the account ``expired`` (the dashboard shows it) and raises
   :class:`SendFailed`. Statuses that arrived before the id was known are applied.

A crash between 1 and 3 leaves a ``pending`` message visible in the thread (never a silent
loss, never a double send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.connectors.messaging import MessagingError, MessagingTransport, SendResult
from growthops.core.db import Database
from growthops.core.errors import Conflict, GrowthopsError, InvalidInput
from growthops.core.i18n import _
from growthops.inbox import accounts, handoff, windows
from growthops.inbox.ingest import apply_statuses

MAX_TEXT = 4096


class WindowClosed(Conflict):
    """The platform's messaging window forbids this message now (HTTP 409).

    ``rule``: the rule (:data:`growthops.inbox.windows.Rule`); ``until``: when the window
    closed (ISO 8601 UTC, or None when the customer never wrote).
    """

    def __init__(self, message: str, *, rule: str, until: datetime | None) -> None:
        super().__init__(message)
        self.rule = rule
        self.until = until.isoformat() if until else None


class SendFailed(GrowthopsError):
    """The platform refused or failed the send (HTTP 502); ``kind`` says why (``token_expired``,
    ``recipient``, ``rate_limited``...), ``code`` is Meta's error code."""

    exit_code = 6
    http_status = 502

    def __init__(self, message: str, *, kind: str, code: int | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class Sent:
    """A message sent: its row id, the platform's id, the window rule used and its tag."""

    message_id: int
    platform_message_id: str
    rule: str
    until: datetime | None
    tag: str | None


def _prepare(conn: Any, tid: str, conversation_id: int, *, author: str, actor: str, text: str | None,
             template: dict[str, Any] | None, now: datetime, lang: str) -> dict[str, Any]:
    row = conn.execute(
        """select c.conversation_id, c.platform, c.status, c.social_account_id,
                  (select max(m.sent_at) from inbox.conversation_messages m
                   where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id
                     and m.direction = 'inbound' and m.sent_at <= %s) as last_inbound_at,
                  cu.platform_customer_id, a.status as account_status, a.account_id
           from inbox.conversations c
           join inbox.customers cu on cu.tenant_id = c.tenant_id and cu.customer_id = c.customer_id
           join inbox.social_accounts a on a.tenant_id = c.tenant_id
                                       and a.social_account_id = c.social_account_id
           where c.tenant_id = %s and c.conversation_id = %s for update of c""",
        [now, tid, conversation_id]).fetchone()
    if row is None:
        from growthops.core.errors import NotFound

        raise NotFound(f"conversation: no conversation {conversation_id} for this tenant")
    if row["account_status"] != "active":
        raise Conflict(_(lang, "The {platform} account {account} is {status}: reconnect it before "
                               "sending (growthops inbox accounts connect).",
                         platform=row["platform"], account=row["account_id"],
                         status=row["account_status"]))
    if author == "ai" and row["status"] == "escalated":
        raise Conflict(_(lang, "Conversation {id} is escalated: the AI stays silent until a "
                               "person resolves it.", id=conversation_id))
    verdict = windows.check(row["platform"], author=author,  # type: ignore[arg-type]
                            last_inbound_at=row["last_inbound_at"], now=now,
                            template=template is not None)
    row["verdict"] = verdict
    if not verdict.allowed:
        handoff.record_events(conn, tenant_id=tid, events=[{
            "conversation_id": conversation_id, "action": "refused", "actor": actor,
            "details": {"rule": verdict.rule, "until": verdict.until.isoformat()
                        if verdict.until else None, "author": author}}])
        if author == "ai":
            handoff.escalate_many(conn, tenant_id=tid, items=[(conversation_id, None)],
                                  reason="outside_window", actor="ai")
        return row
    msg = conn.execute(
        """insert into inbox.conversation_messages (tenant_id, conversation_id, direction,
             sender_id, author_kind, author, message_type, text, template_name, tag, metadata,
             status, sent_at)
           values (%s, %s, 'outbound', %s, %s, %s, 'text', %s, %s, %s, %s, 'pending', %s)
           returning message_id""",
        [tid, conversation_id, row["account_id"], author, actor, text,
         template["name"] if template else None, verdict.tag,
         Jsonb({"template": template} if template else {}), now]).fetchone()
    row["message_id"] = msg["message_id"]
    row["account"] = accounts.get_account(conn, tenant_id=tid,
                                          social_account_id=row["social_account_id"])
    return row


def send_reply(db: Database, *, tenant_id: UUID | str, conversation_id: int, actor: str,
               text: str | None = None, template: dict[str, Any] | None = None,
               author: str = "human", now: datetime | None = None,
               transport: MessagingTransport | None = None, lang: str = "en",
               api_logger: Any = None) -> Sent:
    """Send ``text`` (or ``template`` = ``{"name", "language", "parameters"}``) to the
    conversation's customer; return :class:`Sent`.

    ``author``: ``human`` (``actor`` is the person) or ``ai``; ``now``: the time of the reply
    (UTC; default: now; replays pass the historical time). ``transport``: overrides the
    account's (tests). Raises :class:`InvalidInput` (empty or too long text, bad template),
    :class:`NotFound`, :class:`Conflict` (account expired, AI on an escalated conversation),
    :class:`WindowClosed`, :class:`SendFailed`.
    """
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    if author not in ("human", "ai"):
        raise InvalidInput(f"author: {author!r} is not one of human, ai")
    if template is None:
        if text is None or not text.strip() or len(text) > MAX_TEXT:
            raise InvalidInput(_(lang, "text: 1 to {n} characters are required", n=MAX_TEXT))
    elif not isinstance(template.get("name"), str) or not template["name"].strip():
        raise InvalidInput("template.name: required")
    with db.tenant_tx(tid) as conn:
        prep = _prepare(conn, tid, conversation_id, author=author, actor=actor, text=text,
                        template=template, now=at, lang=lang)
    verdict: windows.WindowVerdict = prep["verdict"]
    if not verdict.allowed:
        raise WindowClosed(verdict.explain(lang), rule=verdict.rule, until=verdict.until)
    tr = transport or accounts.transport_for(prep["account"], api_logger=api_logger)
    to = prep["platform_customer_id"]
    try:
        if template is not None:
            result: SendResult = tr.send_template(
                to, template["name"], str(template.get("language") or "en_US"),
                [str(p) for p in template.get("parameters") or []])
        else:
            result = tr.send_text(to, text or "", tag=verdict.tag)
    except MessagingError as exc:
        with db.tenant_tx(tid) as conn:
            conn.execute(
                """update inbox.conversation_messages set status = 'failed', failed_at = now(),
                          error = %s, updated_at = now()
                   where tenant_id = %s and message_id = %s""",
                [Jsonb({"kind": exc.kind, "code": exc.meta_code, "subcode": exc.subcode,
                        "message": str(exc)}), tid, prep["message_id"]])
            if exc.kind == "token_expired":
                accounts.mark_expired(conn, tenant_id=tid,
                                      social_account_id=prep["social_account_id"], reason=str(exc))
            handoff.record_events(conn, tenant_id=tid, events=[{
                "conversation_id": conversation_id, "action": "refused", "actor": actor,
                "details": {"platform_error": exc.kind, "code": exc.meta_code,
                            "message_id": prep["message_id"]}}])
        msg = (_(lang, "The {platform} token has expired or was revoked: the account is now "
                       "marked expired; reconnect it.", platform=prep["platform"])
               if exc.kind == "token_expired" else
               _(lang, "The platform refused the message ({kind}): {error}", kind=exc.kind,
                 error=str(exc)))
        raise SendFailed(msg, kind=exc.kind, code=exc.meta_code) from None
    with db.tenant_tx(tid) as conn:
        # an echo of this very message may have arrived first (Instagram is_echo): merge it
        conn.execute(
            """delete from inbox.conversation_messages where tenant_id = %s
               and conversation_id = %s and platform_message_id = %s and author_kind = 'platform_app'""",
            [tid, conversation_id, result.message_id])
        conn.execute(
            """update inbox.conversation_messages set platform_message_id = %s, status = 'sent',
                      updated_at = now() where tenant_id = %s and message_id = %s""",
            [result.message_id, tid, prep["message_id"]])
        conn.execute(
            """update inbox.conversations set
                 last_outbound_at = greatest(last_outbound_at, %s),
                 last_message_at = greatest(last_message_at, %s),
                 last_read_at = case when %s = 'human' then greatest(last_read_at, %s)
                                     else last_read_at end,
                 updated_at = now()
               where tenant_id = %s and conversation_id = %s""",
            [at, at, author, at, tid, conversation_id])
        handoff.record_events(conn, tenant_id=tid, events=[{
            "conversation_id": conversation_id, "action": "replied", "actor": actor, "at": at,
            "details": {"message_id": prep["message_id"], "author": author,
                        "rule": verdict.rule, "tag": verdict.tag,
                        "template": template["name"] if template else None}}])
        apply_statuses(conn, tenant_id=tid, platform_message_ids=[result.message_id])
    return Sent(message_id=prep["message_id"], platform_message_id=result.message_id,
                rule=verdict.rule, until=verdict.until, tag=verdict.tag)
