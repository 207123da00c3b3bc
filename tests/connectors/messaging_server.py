"""A local HTTP server answering like the WhatsApp Cloud API and the Instagram Send API.

``POST /{version}/{account_id}/messages`` with ``Authorization: Bearer <token>``: a WhatsApp
body (``messaging_product``) answers ``{"messaging_product": "whatsapp", "contacts": [...],
"messages": [{"id": "wamid.TEST..."}]}``; an Instagram body (``recipient``) answers
``{"recipient_id": ..., "message_id": "aWdfTEST..."}``. A wrong token answers Meta's code 190.
Errors are injected with :meth:`MessagingServer.fail_next` (status + a fixture of
``tests/fixtures/whatsapp``); every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"


class MessagingServer:
    """The server's state; ``url`` is the base URL to give a transport."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self._failures: list[tuple[int, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                server.requests.append({"path": self.path, "body": body,
                                        "headers": dict(self.headers)})
                status, payload = server.answer(self.path, self.headers.get("Authorization"), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> MessagingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, status: int, fixture: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and the error fixture's body."""
        payload = json.loads((FIXTURES / f"{fixture}.json").read_text()) if fixture else {
            "error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}
        self._failures.extend([(status, payload)] * times)

    def answer(self, path: str, auth: str | None, body: Any) -> tuple[int, Any]:
        if self._failures:
            return self._failures.pop(0)
        if auth != f"Bearer {self.token}":
            return 401, {"error": {"message": "Invalid OAuth access token - Cannot parse access "
                                              "token", "type": "OAuthException", "code": 190,
                                   "fbtrace_id": "Etok"}}
        parts = [p for p in path.split("/") if p]
        if len(parts) != 3 or parts[2] != "messages" or not isinstance(body, dict):
            return 400, {"error": {"message": "Unsupported post request", "type":
                                   "GraphMethodException", "code": 100}}
        n = next(self._ids)
        if body.get("messaging_product") == "whatsapp":
            return 200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                         "messages": [{"id": f"wamid.TEST{n:06d}"}]}
        return 200, {"recipient_id": (body.get("recipient") or {}).get("id"),
                     "message_id": f"aWdfTEST{n:06d}"}
