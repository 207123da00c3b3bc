"""An in-process messaging transport for demos: accepts every send, invents platform ids.

It speaks no network and enforces nothing (the inbox enforces the messaging windows before any
transport is called). Ids look like the platforms' (``wamid.SBX...``, ``aWdfZ...SBX...``) and
are unique per process and account.
"""

from __future__ import annotations

import itertools
import uuid

from growthops.connectors.messaging import MessagingError, SendResult

_counter = itertools.count(1)


class SandboxTransport:
    """A sandbox account of ``platform`` (whatsapp or instagram); ``sent`` lists what it got."""

    def __init__(self, platform: str, account_id: str) -> None:
        self.platform = platform
        self.account_id = account_id
        self.sent: list[dict[str, object]] = []

    def _id(self) -> str:
        n = f"{next(_counter):08d}{uuid.uuid4().hex[:12]}"
        return f"wamid.SBX{n}" if self.platform == "whatsapp" else f"aWdfSBX{n}"

    def send_text(self, to: str, text: str, *, tag: str | None = None) -> SendResult:
        """Record a text and return a new message id."""
        if not text.strip():
            raise MessagingError("text: empty", kind="invalid")
        mid = self._id()
        self.sent.append({"to": to, "text": text, "tag": tag, "id": mid})
        return SendResult(message_id=mid, response={"sandbox": True})

    def send_template(self, to: str, name: str, language: str,
                      parameters: list[str] | None = None) -> SendResult:
        """Record a template (WhatsApp only) and return a new message id."""
        if self.platform != "whatsapp":
            raise MessagingError("Instagram has no message templates", kind="invalid")
        mid = self._id()
        self.sent.append({"to": to, "template": name, "language": language, "id": mid})
        return SendResult(message_id=mid, response={"sandbox": True})
