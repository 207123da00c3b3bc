"""Parse a WhatsApp Cloud API webhook body into vendor-neutral items.

Wire format (WhatsApp Cloud API, "Webhooks" > "Messages" and "Statuses" payload examples):
``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes": [{"field":
"messages", "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number",
"phone_number_id"}, "contacts": [{"profile": {"name"}, "wa_id"}], "messages": [{"from", "id":
"wamid...", "timestamp": "<unix s>", "type": "text", "text": {"body"}}], "statuses": [{"id",
"status": "sent|delivered|read|failed", "timestamp", "recipient_id", "errors": [...]}]}}]}]}``.
Media messages carry ``{"image": {"id", "mime_type", "sha256", "caption"}}`` (same for audio,
video); every other type (document, sticker, location, contacts, interactive, button, reaction,
order, system, "unsupported"...) becomes ``unsupported`` with its object kept in ``raw``.
A malformed part is reported as :class:`Unhandled`, never raised.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from growthops.connectors.messaging import DeliveryStatus, InboundItem, InboundMessage, Unhandled

MEDIA_TYPES = ("image", "audio", "video")
STATUSES = ("sent", "delivered", "read", "failed")


def _ts(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _message(value: dict[str, Any], account: str, m: dict[str, Any]) -> InboundItem:
    sent_at = _ts(m.get("timestamp"))
    sender, mid = m.get("from"), m.get("id")
    if not isinstance(sender, str) or not isinstance(mid, str) or sent_at is None:
        return Unhandled("whatsapp", account, "malformed_message")
    names = {c.get("wa_id"): (c.get("profile") or {}).get("name")
             for c in value.get("contacts") or [] if isinstance(c, dict)}
    kind = m.get("type")
    text: str | None = None
    media: str | None = None
    if kind == "text":
        text = (m.get("text") or {}).get("body")
        mtype = "text"
    elif kind in MEDIA_TYPES:
        obj = m.get(kind) or {}
        media, text = obj.get("id"), obj.get("caption")
        mtype = kind
    else:
        mtype = "unsupported"
        obj = m.get(kind) if isinstance(kind, str) else None
        if isinstance(obj, dict):  # keep a readable text where the type has one
            text = obj.get("caption") or obj.get("body") or obj.get("text")
    return InboundMessage(
        platform="whatsapp", account_id=account, customer_id=sender, message_id=mid,
        sent_at=sent_at, type=mtype, text=text if isinstance(text, str) else None,
        media_ref=media if isinstance(media, str) else None,
        customer_name=names.get(sender) if isinstance(names.get(sender), str) else None,
        customer_phone=sender, raw=m)


def _status(account: str, s: dict[str, Any]) -> InboundItem:
    at, mid, status = _ts(s.get("timestamp")), s.get("id"), s.get("status")
    if at is None or not isinstance(mid, str) or status not in STATUSES:
        return Unhandled("whatsapp", account, f"status:{status}" if isinstance(status, str)
                         else "malformed_status")
    errors = [e for e in s.get("errors") or [] if isinstance(e, dict)]
    return DeliveryStatus(platform="whatsapp", account_id=account,
                          customer_id=s.get("recipient_id"), message_id=mid, status=status,
                          at=at, errors=errors)


def parse(body: Any) -> list[InboundItem]:
    """Return the items of a parsed webhook JSON body, in delivery order.

    Entries other than ``whatsapp_business_account`` and changes other than ``messages`` are
    returned as :class:`Unhandled` (kind ``object:<x>`` / ``field:<x>``).
    """
    if not isinstance(body, dict):
        return [Unhandled("whatsapp", "", "not_an_object")]
    if body.get("object") != "whatsapp_business_account":
        return [Unhandled("whatsapp", "", f"object:{body.get('object')}")]
    items: list[InboundItem] = []
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict):
            items.append(Unhandled("whatsapp", "", "malformed_entry"))
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                items.append(Unhandled("whatsapp", "", "malformed_change"))
                continue
            value = change["value"]
            account = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if change.get("field") != "messages":
                items.append(Unhandled("whatsapp", account, f"field:{change.get('field')}"))
                continue
            if not account:
                items.append(Unhandled("whatsapp", "", "no_phone_number_id"))
                continue
            for m in value.get("messages") or []:
                items.append(_message(value, account, m) if isinstance(m, dict)
                             else Unhandled("whatsapp", account, "malformed_message"))
            for s in value.get("statuses") or []:
                items.append(_status(account, s) if isinstance(s, dict)
                             else Unhandled("whatsapp", account, "malformed_status"))
            for _err in value.get("errors") or []:
                items.append(Unhandled("whatsapp", account, "error"))
    return items
