"""Send Instagram direct messages through the Send API (``POST /{ig_account_id}/messages``).

Wire format (Instagram Platform, "Instagram API with Instagram Login" > "Send Messages";
Messenger Platform "Message Tags" > HUMAN_AGENT): JSON body ``{"recipient": {"id": <IGSID>},
"message": {"text": <text>}}``, plus ``"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"``
for a person's reply between 24 h and 7 days after the customer's last message; bearer token;
the answer is ``{"recipient_id": ..., "message_id": ...}``. Instagram has no templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from growthops.connectors.graph_http import GraphClient
from growthops.connectors.messaging import MessagingError, SendResult

DEFAULT_BASE_URL = "https://graph.instagram.com"
DEFAULT_VERSION = "v21.0"
#: Longest text. Source: Instagram Send API ("text": UTF-8, at most 1000 bytes).
MAX_TEXT_BYTES = 1000
TAGS = ("HUMAN_AGENT",)


class SendApiTransport:
    """One Instagram professional account (its Instagram account id)."""

    platform = "instagram"

    def __init__(self, ig_account_id: str, token: str, *, base_url: str | None = None,
                 version: str | None = None, api_logger: Callable[..., Any] | None = None,
                 wait_max: float = 8.0) -> None:
        self.account_id = ig_account_id
        self._graph = GraphClient(base_url or DEFAULT_BASE_URL, version or DEFAULT_VERSION, token,
                                  api_name="instagram", api_logger=api_logger, wait_max=wait_max)

    def send_text(self, to: str, text: str, *, tag: str | None = None) -> SendResult:
        """Send a text to the Instagram-scoped id ``to``; ``tag``: ``HUMAN_AGENT`` or None.
        Raises :class:`MessagingError` (``invalid`` for an empty or too long text, an unknown tag)."""
        if not text.strip() or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise MessagingError(f"text: 1 to {MAX_TEXT_BYTES} bytes", kind="invalid")
        payload: dict[str, Any] = {"recipient": {"id": to}, "message": {"text": text}}
        if tag is not None:
            if tag not in TAGS:
                raise MessagingError(f"tag: {tag!r} is not one of {', '.join(TAGS)}", kind="invalid")
            payload.update(messaging_type="MESSAGE_TAG", tag=tag)
        body = self._graph.post(f"{self.account_id}/messages", payload)
        mid = body.get("message_id")
        if not mid:
            raise MessagingError("the Send API answered without a message id", kind="temporary")
        return SendResult(message_id=str(mid), response={"message_id": mid})

    def send_template(self, to: str, name: str, language: str,
                      parameters: list[str] | None = None) -> SendResult:
        """Instagram has no message templates: always raises :class:`MessagingError` ``invalid``."""
        raise MessagingError("Instagram has no message templates", kind="invalid")
