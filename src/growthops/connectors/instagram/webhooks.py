"""Parse an Instagram messaging webhook body into vendor-neutral items.

Wire format (Instagram Platform, "Webhooks" > ``messages``, ``message_echoes``,
``messaging_seen``; Messenger Platform webhook events): ``{"object": "instagram", "entry":
[{"id": <IG account id>, "time": <ms>, "messaging": [{"sender": {"id"}, "recipient": {"id"},
"timestamp": <ms>, "message": {"mid", "text", "attachments": [{"type": "image|video|audio|
file|share|story_mention|...", "payload": {"url"}}], "is_echo": true?, "is_deleted"?,
"is_unsupported"?}}]}]}``; a read receipt is ``{"sender", "recipient", "timestamp",
"read": {"mid"}}``. An echo (``is_echo``) is a message the account itself sent: sender = the
account, recipient = the customer. ``changes`` entries (comments, mentions...) are returned as
:class:`Unhandled` (comments are another issue's). A malformed part never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from growthops.connectors.instagram.publishing import Comment
from growthops.connectors.messaging import DeliveryStatus, InboundItem, InboundMessage, Unhandled

MEDIA_TYPES = ("image", "audio", "video")


def _ts_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _ts_s(value: Any) -> datetime | None:
    """Epoch seconds (``changes`` entries) or milliseconds (``messaging``) into UTC."""
    try:
        v = int(str(value))
    except (TypeError, ValueError):
        return None
    return _ts_ms(v if v > 10**11 else v * 1000)


def _id(obj: Any) -> str | None:
    v = obj.get("id") if isinstance(obj, dict) else None
    return str(v) if isinstance(v, str | int) and str(v) else None


def _event(account: str, ev: dict[str, Any]) -> InboundItem:
    sender, recipient = _id(ev.get("sender")), _id(ev.get("recipient"))
    at = _ts_ms(ev.get("timestamp"))
    if "read" in ev:
        mid = (ev.get("read") or {}).get("mid")
        if not isinstance(mid, str) or at is None:
            return Unhandled("instagram", account, "read_without_mid")
        return DeliveryStatus(platform="instagram", account_id=account, customer_id=sender,
                              message_id=mid, status="read", at=at)
    msg = ev.get("message")
    if not isinstance(msg, dict):
        keys = sorted(k for k in ev if k not in ("sender", "recipient", "timestamp"))
        return Unhandled("instagram", account, f"event:{keys[0] if keys else 'empty'}")
    mid = msg.get("mid")
    if not isinstance(mid, str) or at is None or sender is None or recipient is None:
        return Unhandled("instagram", account, "malformed_message")
    echo = bool(msg.get("is_echo"))
    customer = recipient if echo else sender
    text = msg.get("text") if isinstance(msg.get("text"), str) else None
    mtype, media = ("text" if text is not None else "unsupported"), None
    atts = [a for a in msg.get("attachments") or [] if isinstance(a, dict)]
    if atts:
        a = atts[0]
        url = (a.get("payload") or {}).get("url") if isinstance(a.get("payload"), dict) else None
        media = url if isinstance(url, str) else None
        mtype = a.get("type") if a.get("type") in MEDIA_TYPES else "unsupported"
    if msg.get("is_unsupported") or msg.get("is_deleted"):
        mtype = "unsupported"
    return InboundMessage(platform="instagram", account_id=account, customer_id=customer,
                          message_id=mid, sent_at=at, type=mtype, text=text, media_ref=media,
                          echo=echo, raw=msg)


@dataclass(frozen=True)
class CommentEvent:
    """A comment delivered by webhook (field ``comments``) on a media of ``account_id``."""

    platform: str
    account_id: str
    comment: Comment


def _comment(account: str, value: Any, at: datetime | None) -> CommentEvent | Unhandled:
    media = value.get("media") if isinstance(value, dict) else None
    cid = value.get("id") if isinstance(value, dict) else None
    if not isinstance(media, dict) or _id(media) is None or not isinstance(cid, str | int):
        return Unhandled("instagram", account, "malformed_comment")
    frm = value.get("from") if isinstance(value.get("from"), dict) else {}
    parent = value.get("parent_id")
    return CommentEvent("instagram", account, Comment(
        comment_id=str(cid), media_id=_id(media) or "",
        text=value.get("text") if isinstance(value.get("text"), str) else None,
        created_at=at or datetime.now(UTC), author_id=_id(frm),
        author_name=frm.get("username") if isinstance(frm.get("username"), str) else None,
        parent_id=str(parent) if isinstance(parent, str | int) and str(parent) else None,
        raw=value))


def parse(body: Any) -> list[InboundItem]:
    """Return the items of a parsed webhook JSON body, in delivery order."""
    if not isinstance(body, dict):
        return [Unhandled("instagram", "", "not_an_object")]
    if body.get("object") not in ("instagram", "page"):
        return [Unhandled("instagram", "", f"object:{body.get('object')}")]
    items: list[InboundItem] = []
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict) or _id(entry) is None:
            items.append(Unhandled("instagram", "", "malformed_entry"))
            continue
        account = _id(entry) or ""
        for ev in entry.get("messaging") or []:
            items.append(_event(account, ev) if isinstance(ev, dict)
                         else Unhandled("instagram", account, "malformed_event"))
        for change in entry.get("changes") or []:
            field = change.get("field") if isinstance(change, dict) else None
            if field == "comments":
                at = _ts_s(entry.get("time"))
                items.append(_comment(account, change.get("value"), at))  # type: ignore[arg-type]
                continue
            items.append(Unhandled("instagram", account, f"field:{field}"))
    return items
