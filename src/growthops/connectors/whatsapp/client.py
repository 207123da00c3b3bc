"""Send WhatsApp messages through the Cloud API (``POST /{phone_number_id}/messages``).

Wire format (WhatsApp Cloud API reference, "Messages"): JSON body
``{"messaging_product": "whatsapp", "recipient_type": "individual", "to": <wa_id>,
"type": "text", "text": {"preview_url": false, "body": <text>}}`` or ``"type": "template",
"template": {"name", "language": {"code"}, "components": [{"type": "body", "parameters":
[{"type": "text", "text": ...}]}]}``; bearer token; the answer is
``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}``.
Free-form text is delivered only inside the customer service window (24 h after the customer's
last message); outside it only templates (the platform answers error 131047 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from growthops.connectors.graph_http import GraphClient
from growthops.connectors.messaging import MessagingError, SendResult

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
#: Longest text body. Source: Cloud API reference, text object ("body": maximum 4096 characters).
MAX_TEXT = 4096


class CloudApiTransport:
    """One WhatsApp phone number (``phone_number_id``) of a WhatsApp Business Account."""

    platform = "whatsapp"

    def __init__(self, phone_number_id: str, token: str, *, base_url: str | None = None,
                 version: str | None = None, api_logger: Callable[..., Any] | None = None,
                 wait_max: float = 8.0) -> None:
        self.account_id = phone_number_id
        self._graph = GraphClient(base_url or DEFAULT_BASE_URL, version or DEFAULT_VERSION, token,
                                  api_name="whatsapp", api_logger=api_logger, wait_max=wait_max)

    def _send(self, payload: dict[str, Any]) -> SendResult:
        body = self._graph.post(f"{self.account_id}/messages",
                                {"messaging_product": "whatsapp", "recipient_type": "individual",
                                 **payload})
        msgs = body.get("messages")
        mid = msgs[0].get("id") if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) else None
        if not mid:
            raise MessagingError("the Cloud API answered without a message id", kind="temporary")
        return SendResult(message_id=str(mid), response={"messages": [{"id": mid}]})

    def send_text(self, to: str, text: str, *, tag: str | None = None) -> SendResult:
        """Send a text (``tag`` is ignored: WhatsApp has no message tags). Raises
        :class:`MessagingError` (``invalid`` for an empty or too long text)."""
        if not text.strip() or len(text) > MAX_TEXT:
            raise MessagingError(f"text: 1 to {MAX_TEXT} characters", kind="invalid")
        return self._send({"to": to, "type": "text", "text": {"preview_url": False, "body": text}})

    def send_template(self, to: str, name: str, language: str,
                      parameters: list[str] | None = None) -> SendResult:
        """Send the approved template ``name`` in ``language`` (e.g. ``en_US``) with body
        ``parameters`` ({{1}}, {{2}}...). Raises :class:`MessagingError`."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": [
                {"type": "text", "text": p} for p in parameters]}]
        return self._send({"to": to, "type": "template", "template": template})
