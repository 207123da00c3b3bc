"""A local server speaking OpenAI's embeddings wire format (``POST /v1/embeddings``,
https://platform.openai.com/docs/api-reference/embeddings/create): ``{"model", "input",
"encoding_format" float|base64, "dimensions"}`` → ``{"object": "list", "data": [{"object":
"embedding", "index", "embedding"}], "model", "usage"}``; errors as ``{"error": {...}}``.

Its vectors are the hashed n-gram embedder's (deterministic, lexical), of the requested
``dimensions`` (``width`` forces another width, ``fail_status`` an HTTP error). Every request
body is kept in ``requests``.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from growthops.core.ai.embeddings import HashedNgramEmbedder


class EmbeddingsServer:
    """Start with :meth:`start`; ``url`` is the base URL (ending in ``/v1``)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.width: int | None = None
        self.fail_status: int | None = None
        self.shuffle = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.requests.append(body)
                server.auth.append(self.headers.get("authorization"))
                if self.path != "/v1/embeddings":
                    return self._send(404, {"error": {"message": "not found", "type":
                                                      "invalid_request_error"}})
                if server.fail_status:
                    return self._send(server.fail_status, {"error": {
                        "message": "boom", "type": "server_error", "code": None}})
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                if any(not isinstance(t, str) or not t for t in inputs):
                    return self._send(400, {"error": {"message": "input must be non-empty "
                                                      "strings", "type": "invalid_request_error"}})
                dim = server.width or int(body.get("dimensions") or 1536)
                vecs = HashedNgramEmbedder(dim).embed(inputs)
                data = []
                for i, v in enumerate(vecs):
                    emb: Any = (base64.b64encode(v.astype("<f4").tobytes()).decode()
                                if body.get("encoding_format") == "base64" else v.tolist())
                    data.append({"object": "embedding", "index": i, "embedding": emb})
                if server.shuffle:
                    data.reverse()
                self._send(200, {"object": "list", "data": data, "model": body["model"],
                                 "usage": {"prompt_tokens": 3 * len(inputs),
                                           "total_tokens": 3 * len(inputs)}})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}/v1"

    def start(self) -> EmbeddingsServer:
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()


def expected(texts: list[str], dim: int = 384) -> np.ndarray:
    """The vectors the server gives for ``texts``."""
    return HashedNgramEmbedder(dim).embed(texts)
