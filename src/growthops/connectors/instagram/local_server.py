"""A local HTTP server answering like Instagram's Graph API for publishing and comments.

For tests and ``make demo`` (no network). Wire format as in
:mod:`growthops.connectors.instagram.publishing`: ``POST /{v}/{ig}/media`` → ``{"id":
<container>}``; ``GET /{v}/{container}?fields=status_code``; ``POST /{v}/{ig}/media_publish``
→ ``{"id": <media>}``; ``GET /{v}/{ig}/media``; ``GET /{v}/{media}/comments`` (pages of
``page_size`` with ``paging.cursors.after`` and ``paging.next``; replies nested under
``replies``); ``POST /{v}/{comment}/replies``; ``POST /{v}/{ig}/messages`` (a private reply:
Instagram's error 10/2534022 after 7 days, code 100 for a second private reply to a comment).
A wrong token answers code 190. :meth:`fail_next` injects errors; every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TRANSIENT = {"error": {"message": "An unexpected error has occurred. Please retry your request "
                                  "later.", "type": "OAuthException", "code": 2,
                       "is_transient": True, "fbtrace_id": "Etmp"}}
INVALID_IMAGE = {"error": {"message": "Only photo or video can be accepted as media type.",
                           "type": "OAuthException", "code": 9004, "error_subcode": 2207052,
                           "error_user_title": "Media download has failed", "fbtrace_id": "Eimg"}}


class LocalInstagram:
    """The server's state: ``media`` (id → dict), ``comments`` (media id → list), ``requests``.
    ``url`` is the base URL to give a transport; ``publish_delay`` seconds slow ``media_publish``
    (concurrency tests); ``first_id``: where the invented ids start."""

    def __init__(self, token: str, *, page_size: int = 2, publish_delay: float = 0.0,
                 first_id: int = 1) -> None:
        self.token = token
        self.page_size = page_size
        self.publish_delay = publish_delay
        self.requests: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.private_replies: dict[str, str] = {}
        self._failures: list[tuple[int, dict[str, Any]]] = []
        self._ids = itertools.count(first_id)  # a later start keeps ids unique across runs
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                server.requests.append({"method": "GET", "path": u.path, "query": q})
                self._reply(*server.answer("GET", u.path, self.headers.get("Authorization"), q))

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"{}") if n else {}
                except ValueError:
                    body = {}
                u = urlparse(self.path)
                server.requests.append({"method": "POST", "path": u.path, "body": body})
                self._reply(*server.answer("POST", u.path, self.headers.get("Authorization"), body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> LocalInstagram:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- test controls ----------------------------------------------------------------------
    def fail_next(self, status: int, payload: dict[str, Any] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and ``payload`` (default: a
        transient Graph error, code 2)."""
        self._failures.extend([(status, payload or TRANSIENT)] * times)

    def add_comment(self, media_id: str, text: str, *, username: str = "fan",
                    user_id: str = "9001", parent_id: str | None = None,
                    at: datetime | None = None) -> str:
        """Add a comment (a reply when ``parent_id``) to ``media_id``; return its id."""
        with self._lock:
            cid = f"1780{next(self._ids):010d}"
            self.comments.setdefault(media_id, []).append({
                "id": cid, "text": text, "username": username,
                "from": {"id": user_id, "username": username}, "like_count": 0,
                "timestamp": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "parent_id": parent_id})
        return cid

    def publications(self) -> list[dict[str, Any]]:
        """The ``media_publish`` requests received (what a double publish would duplicate)."""
        return [r for r in self.requests if r["path"].endswith("/media_publish")]

    # -- the API ----------------------------------------------------------------------------
    def _comment(self, cid: str) -> dict[str, Any] | None:
        for items in self.comments.values():
            for c in items:
                if c["id"] == cid:
                    return c
        return None

    def answer(self, method: str, path: str, auth: str | None, body: dict[str, Any]
               ) -> tuple[int, Any]:
        """Answer one request like the Graph API."""
        if self._failures:
            return self._failures.pop(0)
        if auth != f"Bearer {self.token}":
            return 401, {"error": {"message": "Invalid OAuth access token - Cannot parse access "
                                              "token", "type": "OAuthException", "code": 190}}
        parts = [p for p in path.split("/") if p][1:]  # drop the version
        bad = 400, {"error": {"message": "Unsupported request", "type": "GraphMethodException",
                              "code": 100}}
        with self._lock:
            if method == "POST" and len(parts) == 2 and parts[1] == "media":
                if str(body.get("image_url", "")).endswith("/broken.jpg"):
                    return 400, INVALID_IMAGE
                cid = f"1790{next(self._ids):010d}"
                self.containers[cid] = {"owner": parts[0], "status_code": "FINISHED", **body}
                return 200, {"id": cid}
            if method == "GET" and len(parts) == 1 and parts[0] in self.containers:
                return 200, {"id": parts[0], "status_code": self.containers[parts[0]]["status_code"]}
            if method == "POST" and parts[1:] == ["media_publish"]:
                cont = self.containers.get(str(body.get("creation_id")))
                if cont is None or cont["status_code"] != "FINISHED":
                    return bad
                cont["status_code"] = "PUBLISHED"
                mid = f"1800{next(self._ids):010d}"
                self.media[mid] = {"id": mid, "caption": cont.get("caption"),
                                   "media_url": cont.get("image_url") or cont.get("video_url"),
                                   "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                                   "owner": parts[0]}
                self.comments.setdefault(mid, [])
        if method == "POST" and parts[1:] == ["media_publish"]:
            time.sleep(self.publish_delay)
            return 200, {"id": mid}
        with self._lock:
            if method == "GET" and parts[1:] == ["media"]:
                mine = [m for m in self.media.values() if m["owner"] == parts[0]]
                mine.sort(key=lambda m: m["id"], reverse=True)
                return 200, {"data": [{k: v for k, v in m.items() if k != "owner"}
                                      for m in mine[:int(body.get("limit") or 25)]]}
            if method == "GET" and parts[1:] == ["comments"] and parts[0] in self.comments:
                return 200, self._page(parts[0], body.get("after"))
            if method == "POST" and parts[1:] == ["replies"] and self._comment(parts[0]):
                rid = f"1781{next(self._ids):010d}"
                media = next(m for m, cs in self.comments.items()
                             if any(c["id"] == parts[0] for c in cs))
                self.comments[media].append({
                    "id": rid, "text": body.get("message"), "username": "brand",
                    "from": {"id": self.media[media]["owner"] if media in self.media else "brand"}, "like_count": 0, "parent_id": parts[0],
                    "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")})
                return 200, {"id": rid}
            if method == "POST" and parts[1:] == ["messages"]:
                cid = str((body.get("recipient") or {}).get("comment_id") or "")
                c = self._comment(cid)
                if c is None:
                    return bad
                at = datetime.strptime(c["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
                if datetime.now(UTC) - at > timedelta(days=7):
                    return 400, {"error": {"message": "This message is sent outside of allowed "
                                                      "window.", "type": "OAuthException",
                                           "code": 10, "error_subcode": 2534022}}
                if cid in self.private_replies:
                    return 400, {"error": {"message": "A private reply has already been sent",
                                           "type": "OAuthException", "code": 100}}
                mid = f"aWdfPRV{next(self._ids):08d}"
                self.private_replies[cid] = mid
                return 200, {"recipient_id": c["from"]["id"], "message_id": mid}
        return bad

    def _page(self, media_id: str, after: str | None) -> dict[str, Any]:
        top = [c for c in self.comments[media_id] if not c.get("parent_id")]
        start = int(after) if after and after.isdigit() else 0
        page = top[start:start + self.page_size]
        data = []
        for c in page:
            replies = [{k: v for k, v in r.items()} for r in self.comments[media_id]
                       if r.get("parent_id") == c["id"]]
            item = {k: v for k, v in c.items() if k != "parent_id"}
            if replies:
                item["replies"] = {"data": replies}
            data.append(item)
        end = start + len(page)
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(end)}}
        if end < len(top):
            paging["next"] = f"{self.url}/v21.0/{media_id}/comments?after={end}"
        return {"data": data, "paging": paging}
