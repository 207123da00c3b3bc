"""Inbound mail: replies, bounces (DSN), complaints (ARF) and mailto unsubscribes.

Read by a local SMTP receiver (:mod:`growthops.connectors.smtp.inbound`, aiosmtpd) that the
sending domain's MX or a forwarding rule feeds; :func:`process` takes the raw message and its
envelope recipients. Parsing uses the standard library :mod:`email` package only.

* **Unsubscribe by mail** — a recipient ``unsubscribe+<token>@...`` (the ``mailto:`` of
  ``List-Unsubscribe``): the address is suppressed.
* **Bounce** — ``multipart/report; report-type=delivery-status`` (RFC 3464): for each
  per-recipient block, ``Action: failed`` with ``Status: 5.x.x`` is hard, ``4.x.x`` soft
  (RFC 3463 class digits); ``delayed``/``delivered``/``relayed`` are ignored (the server still
  tries). The original message is found by the ``Message-ID`` in the returned headers
  (``text/rfc822-headers`` or ``message/rfc822``), else any of our tokens in the text.
  Hard → suppressed; soft → retried the next day, suppressed at the address's 2nd soft bounce.
* **Complaint** — ``multipart/report; report-type=feedback-report`` (RFC 5965): suppressed
  (``complaint``), sequences ended.
* **Reply** — matched to the sent message by ``In-Reply-To`` then ``References`` (RFC 5322
  §3.6.4); stored as ``reply_content`` (the text part); the sequence ends at once. A message
  marked automatic (``Auto-Submitted`` other than ``no``, RFC 3834; or ``X-Autoreply``,
  ``Precedence: auto_reply``) is kept as an event but neither counts as a reply nor stops
  the sequence.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from growthops.leads.outreach.campaigns import end_sequences
from growthops.leads.outreach.sending import record_bounce
from growthops.leads.outreach.tracking import by_token

_TOKEN_ID = re.compile(r"<([A-Za-z0-9_-]{16,64})@[^>]+>")


def _tokens(value: str | None) -> list[str]:
    return _TOKEN_ID.findall(value or "")


def _text_of(msg: Message) -> str:
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is not None:
            try:
                return str(part.get_content())
            except (LookupError, ValueError):
                return ""
    return ""


def parse_dsn(msg: Message) -> tuple[list[dict[str, str]], list[str]]:
    """Return ``(recipients, original message tokens)`` of a delivery status notification.

    ``recipients``: ``[{"recipient", "action", "status", "diagnostic"}]`` from the
    ``message/delivery-status`` part (its first block is per-message, the rest per-recipient).
    """
    recipients: list[dict[str, str]] = []
    tokens: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            for block in (blocks[1:] if isinstance(blocks, list) else []):
                recipients.append({
                    "recipient": str(block.get("Final-Recipient", "")).split(";")[-1].strip(),
                    "action": str(block.get("Action", "")).strip().lower(),
                    "status": str(block.get("Status", "")).strip(),
                    "diagnostic": str(block.get("Diagnostic-Code", "")).strip()})
        elif ctype in ("text/rfc822-headers", "message/rfc822"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                tokens += _tokens(str(payload[0].get("Message-ID", "")))
            else:
                text = payload if isinstance(payload, str) else part.as_string()
                m = re.search(r"^Message-ID:\s*(<[^>]+>)", text, re.I | re.M)
                tokens += _tokens(m.group(1) if m else "")
    if not tokens:
        tokens = _tokens(msg.as_string())
    return recipients, tokens


def _auto(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return auto != "no" or "X-Autoreply" in msg or \
        str(msg.get("Precedence", "")).lower() in ("auto_reply", "bulk", "junk")


def suppress(conn: Any, *, tenant_id: str, email: dict[str, Any], reason: str, by: str,
             at: datetime, action: str = "unsubscribed") -> None:
    """Suppress ``email``'s address, record the event, end every sequence of the address."""
    addr = email["prospect_email"].lower()
    conn.execute(
        """insert into leads.suppression_list (tenant_id, email_norm, reason, source_email_id,
             created_by) values (%s, %s, %s, %s, %s) on conflict (tenant_id, email_norm) do nothing""",
        [tenant_id, addr, reason, email["email_id"], by])
    conn.execute(
        """insert into leads.outreach_tracking (tenant_id, email_id, prospect_id, campaign_id,
             action, "timestamp", metadata) values (%s, %s, %s, %s, %s, %s,
             jsonb_build_object('by', %s::text))""",
        [tenant_id, email["email_id"], email["prospect_id"], email["campaign_id"], action, at, by])
    end_sequences(conn, tenant_id=tenant_id, state="unsubscribed", reason=reason,
                  email_norms=[addr])


def _reply(conn: Any, tid: str, email: dict[str, Any], msg: Message, at: datetime) -> str:
    text = _text_of(msg)[:100_000]
    auto = _auto(msg)
    conn.execute(
        """insert into leads.outreach_tracking (tenant_id, email_id, prospect_id, campaign_id,
             action, "timestamp", is_machine, machine_rule, metadata)
           values (%s, %s, %s, %s, 'replied', %s, %s, %s, jsonb_build_object('from', %s::text))""",
        [tid, email["email_id"], email["prospect_id"], email["campaign_id"], at, auto,
         "auto_reply" if auto else None, str(msg.get("From", ""))[:300]])
    if auto:
        return "auto_reply"
    conn.execute(
        """update leads.outreach_emails set status = 'replied', replied_at = %s,
             reply_content = %s where tenant_id = %s and email_id = %s""",
        [at, text, tid, email["email_id"]])
    end_sequences(conn, tenant_id=tid, state="replied", reason="reply received",
                  campaign_id=email["campaign_id"], prospect_ids=[email["prospect_id"]])
    return "reply"


def process(db: Any, raw: bytes, rcpt_tos: list[str] | None = None,
            at: datetime | None = None) -> dict[str, Any]:
    """Handle one inbound message; return ``{"kind": ..., "email_id": ...}`` where kind is
    ``unsubscribe``, ``bounce_hard``, ``bounce_soft_retry``, ``bounce_soft_suppressed``,
    ``complaint``, ``reply``, ``auto_reply``, ``ignored`` (a DSN without failure) or
    ``unmatched`` (nothing of ours)."""
    at = at or datetime.now(UTC)
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    for rcpt in rcpt_tos or []:
        m = re.match(r"^unsubscribe\+([A-Za-z0-9_-]{8,64})@", rcpt.strip(), re.I)
        found = by_token(db, m.group(1)) if m else None
        if found:
            tid, email = found
            with db.tenant_tx(tid) as conn:
                suppress(conn, tenant_id=tid, email=email, reason="unsubscribe", by="mailto", at=at)
            return {"kind": "unsubscribe", "email_id": email["email_id"]}
    ctype = msg.get_content_type()
    report = str(msg.get_param("report-type", "") or "").lower()
    if ctype == "multipart/report" and report in ("delivery-status", "feedback-report"):
        recipients, tokens = parse_dsn(msg)
        found = next((f for f in (by_token(db, t) for t in tokens) if f), None)
        if found is None:
            return {"kind": "unmatched", "email_id": None}
        tid, email = found
        if report == "feedback-report":
            with db.tenant_tx(tid) as conn:
                suppress(conn, tenant_id=tid, email=email, reason="complaint", by="arf", at=at,
                         action="complained")
            return {"kind": "complaint", "email_id": email["email_id"]}
        failed = [r for r in recipients if r["action"] == "failed"]
        if not failed:
            return {"kind": "ignored", "email_id": email["email_id"]}
        r = failed[0]
        hard = not r["status"].startswith("4")
        reason = f"{r['status']} {r['diagnostic']}".strip()
        with db.tenant_tx(tid) as conn:
            outcome = record_bounce(conn, tenant_id=tid, email=email, hard=hard, reason=reason,
                                    at=at)
        return {"kind": f"bounce_{outcome}".replace("bounce_hard", "bounce_hard"),
                "email_id": email["email_id"]}
    for header in ("In-Reply-To", "References"):
        for tok in _tokens(str(msg.get(header, ""))):
            found = by_token(db, tok)
            if found:
                tid, email = found
                with db.tenant_tx(tid) as conn:
                    kind = _reply(conn, tid, email, msg, at)
                return {"kind": kind, "email_id": email["email_id"]}
    return {"kind": "unmatched", "email_id": None}
