"""A local HTTP server answering like Meta's Graph API (saved payloads in tests/fixtures/meta).

Stateful: ad account edges (campaigns, adsets with two pages, ads, insights) come from the
fixtures, nodes can be read (``GET /v26.0/{id}?fields=...``), copied (``POST /v26.0/{id}/copies``) and
updated (``POST /v26.0/{id}``:
``{"success": true}``; nothing changes with ``execution_options=["validate_only"]``). Errors are
injected with :meth:`GraphServer.fail_next`. Every request is recorded (method, path, query,
form body, headers) for assertions.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta"
ACCOUNT = "act_1234567890"


def fixture(name: str) -> dict[str, Any]:
    """Load ``tests/fixtures/meta/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


class GraphServer:
    """The server's state and control; ``url`` is the base to give the SDK (``GRAPH``)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self._failures: list[tuple[str, str, int, dict[str, Any]]] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self.copies: list[tuple[str, str]] = []
        for name in ("graph_campaigns", "graph_adsets", "graph_adsets_page2", "graph_ads"):
            for obj in fixture(name)["data"]:
                self.nodes[obj["id"]] = copy.deepcopy(obj)
        self.nodes[ACCOUNT] = {
            "id": ACCOUNT,
            "account_id": ACCOUNT[4:],
            "currency": "EUR",
            "name": "Acme FR",
        }
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                server.requests.append(
                    {
                        "method": method,
                        "path": parts.path,
                        "query": query,
                        "form": form,
                        "body": raw,
                        "headers": dict(self.headers),
                    }
                )
                status, payload = server.answer(method, parts.path, query, form)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in server.response_headers(method, parts.path).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> GraphServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, method: str, path_suffix: str, status: int, error_fixture: str) -> None:
        """Answer the next ``method`` request whose path ends with ``path_suffix`` with an error."""
        self._failures.append((method, path_suffix, status, fixture(error_fixture)))

    def response_headers(self, method: str, path: str) -> dict[str, str]:
        """Extra headers of the next answer (none here; subclasses add usage headers)."""
        return {}

    # -- routing ---------------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, query: dict[str, str], form: dict[str, str]
    ) -> tuple[int, Any]:
        for i, (m, suffix, status, payload) in enumerate(self._failures):
            if m == method and path.rstrip("/").endswith(suffix):
                del self._failures[i]
                return status, payload
        token = query.get("access_token") or form.get("access_token")
        if token != self.token:
            return 400, {
                "error": {
                    "message": "Invalid OAuth access token - Cannot parse access token",
                    "type": "OAuthException",
                    "code": 190,
                    "fbtrace_id": "Etok",
                }
            }
        segs = [s for s in path.split("/") if s]
        if not segs or not segs[0].startswith("v"):
            return 400, {
                "error": {"message": "Unknown path", "type": "GraphMethodException", "code": 100}
            }
        segs = segs[1:]
        if method == "GET" and len(segs) == 2 and segs[0] == ACCOUNT:
            return 200, self.edge(segs[1], query)
        if method == "GET" and len(segs) == 1 and segs[0] in self.nodes:
            fields = query.get("fields", "id").split(",")
            node = self.nodes[segs[0]]
            return 200, {k: node[k] for k in ["id", *fields] if k in node}
        if method == "POST" and len(segs) == 2 and segs[1] == "copies" and segs[0] in self.nodes:
            return 200, self.copy_node(segs[0], form)
        if method == "POST" and len(segs) == 1 and segs[0] in self.nodes:
            opts = json.loads(form.get("execution_options", "[]"))
            if "validate_only" not in opts:
                node = self.nodes[segs[0]]
                for k in ("daily_budget", "status", "bid_amount", "name", "optimization_goal"):
                    if k in form:
                        node[k] = int(form[k]) if k == "bid_amount" else form[k]
                for k in ("creative", "targeting"):  # objects travel JSON-encoded
                    if k in form:
                        node[k] = json.loads(form[k])
                if "status" in form:
                    node["effective_status"] = form["status"]
            return 200, fixture("graph_success")
        return 400, {
            "error": {
                "message": f"Unsupported {method} request: object {segs[0]!r} does not exist",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": "Enode",
            }
        }

    def copy_node(self, source: str, form: dict[str, str]) -> dict[str, Any]:
        """``POST /{ad set or ad}/copies``: a copy under the same parent, with the status of
        ``status_option`` and the name's ``rename_options.rename_suffix``; an ad set with
        ``deep_copy`` brings copies of its ads. Answers like the Marketing API reference
        ("Ad Set Copies": ``copied_adset_id`` + ``ad_object_ids``; "Ad Copies": ``copied_ad_id``).
        The copies are kept in :attr:`copies` (source id, copy id)."""
        src = self.nodes[source]
        rename = json.loads(form.get("rename_options", "{}"))
        status = {"PAUSED": "PAUSED", "ACTIVE": "ACTIVE"}.get(form.get("status_option", ""),
                                                              src.get("status", "PAUSED"))

        def clone(node: dict[str, Any], suffix: str, **extra: Any) -> str:
            new_id = f"{node['id']}{len(self.nodes):03d}"
            self.nodes[new_id] = {**copy.deepcopy(node), "id": new_id,
                                  "name": node.get("name", "") + suffix, "status": status,
                                  "effective_status": status, **extra}
            self.copies.append((node["id"], new_id))
            return new_id

        new_id = clone(src, rename.get("rename_suffix", ""))
        if "adset_id" in src:  # an ad
            return {"copied_ad_id": new_id}
        kids = []
        if form.get("deep_copy") in ("true", "True", "1"):
            for ad in [n for n in list(self.nodes.values()) if n.get("adset_id") == source]:
                kids.append({"ad_object_type": "ad", "source_id": ad["id"],
                             "copied_id": clone(ad, "", adset_id=new_id)})
        return {"copied_adset_id": new_id,
                "ad_object_ids": [{"ad_object_type": "ad_set", "source_id": source,
                                   "copied_id": new_id}, *kids]}

    def edge(self, name: str, query: dict[str, str]) -> Any:
        """An account edge: the fixture page with the nodes' current state."""
        if name == "insights":
            return fixture("graph_insights_adset")
        pages = {"campaigns": "graph_campaigns", "adsets": "graph_adsets", "ads": "graph_ads"}
        page = fixture(pages[name])
        if name == "adsets" and query.get("after") == page["paging"]["cursors"]["after"]:
            page = fixture("graph_adsets_page2")
        fields = query.get("fields", "id").split(",")
        page["data"] = [
            {k: self.nodes[o["id"]][k] for k in ["id", *fields] if k in self.nodes[o["id"]]}
            for o in page["data"]
        ]
        return page
