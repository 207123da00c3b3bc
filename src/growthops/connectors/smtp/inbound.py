"""Receive inbound mail (replies, bounces, mailto unsubscribes) as an SMTP server.

:class:`InboundHandler` is an ``aiosmtpd`` handler: each message accepted after DATA is passed,
raw, with its envelope recipients, to a callback run in a worker thread (the callback does
database work). The receiver answers ``250`` only after the callback returned, so a message is
acknowledged once it is stored (a failure answers ``451``, RFC 5321 §4.2.3: the sending server
retries). Run it behind the domain's MX or as the target of a forwarding rule; in tests and the
demo it listens on loopback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("growthops.connectors.smtp.inbound")


class InboundHandler:
    """aiosmtpd handler calling ``callback(raw_bytes, rcpt_tos)`` for every message."""

    def __init__(self, callback: Callable[[bytes, list[str]], Any]) -> None:
        self.callback = callback

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.callback, raw, list(envelope.rcpt_tos))
        except Exception:
            logger.exception("inbound message not processed; asking the sender to retry")
            return "451 4.3.0 Temporary failure, please retry"
        return "250 OK"


def start_receiver(callback: Callable[[bytes, list[str]], Any], *, host: str = "127.0.0.1",
                   port: int = 0) -> Any:
    """Start an aiosmtpd ``Controller`` on ``host:port`` (0: a free port) and return it
    (``.port`` is the bound port; ``.stop()`` ends it)."""
    import socket

    from aiosmtpd.controller import Controller

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    controller = Controller(InboundHandler(callback), hostname=host, port=port)
    controller.start()
    return controller
