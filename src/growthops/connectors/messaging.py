"""What the inbox needs from a messaging platform (WhatsApp Cloud API, Instagram messaging).

Two sides, both vendor-neutral:

* **in**: a webhook body parsed into :class:`InboundMessage`, :class:`DeliveryStatus` and
  :class:`Unhandled` items (``connectors.whatsapp.webhooks``, ``connectors.instagram.webhooks``);
* **out**: a :class:`MessagingTransport` that sends a text (optionally with a message tag) or an
  approved template and returns the platform's message id, or raises :class:`MessagingError`
  with a ``kind`` the caller can act on (an expired token, a closed window, a rate limit...).

Times are timezone-aware UTC datetimes. Nothing here knows tenants, conversations or people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from growthops.connectors.base import PlatformError

Platform = Literal["whatsapp", "instagram"]
MessageType = Literal["text", "image", "audio", "video", "unsupported"]
StatusName = Literal["sent", "delivered", "read", "failed"]
#: What went wrong with a send, for the caller to act on:
#: ``token_expired`` (re-connect the account), ``window_closed`` (the platform's messaging
#: window), ``rate_limited`` and ``temporary`` (retried, then given up), ``recipient`` (cannot
#: be reached), ``permission``, ``template`` (template missing or bad parameters),
#: ``blocked`` (policy block), ``invalid`` (bad request), ``unknown``.
ErrorKind = Literal["token_expired", "window_closed", "rate_limited", "temporary", "recipient",
                    "permission", "template", "blocked", "invalid", "unknown"]


class MessagingError(PlatformError):
    """A send refused or failed. ``kind`` (:data:`ErrorKind`), Meta's ``code``/``subcode``,
    ``http_status``; ``retryable`` for rate limits and temporary failures."""

    def __init__(self, message: str, *, kind: ErrorKind, code: int | None = None,
                 subcode: int | None = None, http_status: int | None = None,
                 response: dict[str, Any] | None = None) -> None:
        super().__init__(message, retryable=kind in ("rate_limited", "temporary"),
                         code=str(code) if code is not None else None, response=response)
        self.kind = kind
        self.meta_code = code
        self.subcode = subcode
        self.http_status = http_status


@dataclass(frozen=True)
class InboundMessage:
    """A message seen on a webhook: from a customer, or an echo of one the account sent.

    ``account_id``: the receiving account (WhatsApp phone_number_id, Instagram account id);
    ``customer_id``: the customer's platform id (wa_id, Instagram-scoped id); ``echo``: sent by
    the account itself (Instagram ``is_echo``), not a new inbound message. ``raw``: the
    platform's message object, kept whole (unknown fields included).
    """

    platform: Platform
    account_id: str
    customer_id: str
    message_id: str
    sent_at: datetime
    type: MessageType
    text: str | None = None
    media_ref: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    echo: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryStatus:
    """A delivery status of a message the account sent (``sent``, ``delivered``, ``read``,
    ``failed``); ``errors``: the platform's error objects of a failure."""

    platform: Platform
    account_id: str
    customer_id: str | None
    message_id: str
    status: StatusName
    at: datetime
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Unhandled:
    """A part of a delivery growthops does not act on (another field, an unknown event); kept
    in the raw event, counted in the processing summary. ``account_id`` may be empty."""

    platform: Platform
    account_id: str
    kind: str


InboundItem = InboundMessage | DeliveryStatus | Unhandled


@dataclass(frozen=True)
class SendResult:
    """What the platform answered to a send: its message id and the (redacted) response."""

    message_id: str
    response: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class MessagingTransport(Protocol):
    """One connected account's outbound side. Implementations: WhatsApp Cloud API, Instagram
    Send API (both over httpx), and the in-process sandbox."""

    platform: Platform
    account_id: str

    def send_text(self, to: str, text: str, *, tag: str | None = None) -> SendResult:
        """Send a free-form text to the customer ``to``; ``tag``: a message tag (Instagram
        ``HUMAN_AGENT``). Raises :class:`MessagingError`."""
        ...

    def send_template(self, to: str, name: str, language: str,
                      parameters: list[str] | None = None) -> SendResult:
        """Send an approved template (WhatsApp) with its body parameters. Raises
        :class:`MessagingError` (``kind='invalid'`` where the platform has no templates)."""
        ...
