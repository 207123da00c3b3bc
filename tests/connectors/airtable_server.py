"""A local HTTP server answering like Airtable's Web API (``/v0/{baseId}/{table}``).

Wire format (Airtable Web API reference: "List records", "Update multiple records" with
``performUpsert``, "Delete multiple records", "Errors"):

* ``GET`` lists records, ``pageSize`` at most 100 (default 100), the next page asked with the
  ``offset`` the previous answer carried; ``fields[]`` limits the fields; empty cells are
  omitted, as Airtable does.
* ``PATCH`` with ``performUpsert.fieldsToMergeOn`` creates or updates up to 10 records and
  answers ``records`` (in the request's order), ``createdRecords``, ``updatedRecords``. More
  than 10 records: 422 ``INVALID_RECORDS``; an unknown field (see ``known_fields``): 422
  ``UNKNOWN_FIELD_NAME``.
* ``DELETE ?records[]=...`` deletes up to 10 records; an unknown id: 404 ``NOT_FOUND``.
* A wrong token: 401 ``AUTHENTICATION_REQUIRED``; :meth:`AirtableServer.fail_next` injects
  statuses (429 ``RATE_LIMIT_REACHED`` by default). Every request is recorded with its time.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class AirtableServer:
    """The server's state: ``tables[(base, table)]`` maps record id -> fields; ``url`` is the
    endpoint to give ``pyairtable`` (``endpoint_url``)."""

    def __init__(self, token: str, *, page_size_cap: int = 100) -> None:
        self.token = token
        self.page_size_cap = page_size_cap
        self.tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.known_fields: dict[tuple[str, str], set[str]] = {}
        self.requests: list[dict[str, Any]] = []
        self._failures: list[tuple[int, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                with server._lock:
                    status, payload = server.answer(
                        method, self.path, self.headers.get("Authorization"), body
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> AirtableServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---------------------------------------------------------------- helpers for tests
    def fail_next(self, status: int = 429, payload: Any = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (default Airtable's 429 body)."""
        body = (
            payload
            if payload is not None
            else {
                "errors": [
                    {
                        "error": "RATE_LIMIT_REACHED",
                        "message": "Rate limit exceeded. Please try again later",
                    }
                ]
            }
        )
        self._failures.extend([(status, body)] * times)

    def records(self, base: str, table: str) -> dict[str, dict[str, Any]]:
        """The records of a table (id -> fields)."""
        return self.tables.setdefault((base, table), {})

    def by_key(self, base: str, table: str, key: str = "growthops_key") -> dict[str, Any]:
        """The records of a table indexed by ``key``: value -> (id, fields)."""
        return {f.get(key): (rid, f) for rid, f in self.records(base, table).items()}

    def edit(self, base: str, table: str, key: str, **fields: Any) -> None:
        """Change cells of the record whose ``growthops_key`` is ``key`` (a person in Airtable)."""
        rid, _ = self.by_key(base, table)[key]
        for k, v in fields.items():
            if v is None:
                self.records(base, table)[rid].pop(k, None)
            else:
                self.records(base, table)[rid][k] = v

    def writes(self) -> list[dict[str, Any]]:
        """The recorded PATCH/POST/DELETE requests."""
        return [r for r in self.requests if r["method"] != "GET"]

    # ---------------------------------------------------------------- the API
    def _new_id(self) -> str:
        return f"rec{next(self._ids):014d}"

    def answer(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, Any]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        self.requests.append(
            {
                "method": method,
                "path": parts.path,
                "query": query,
                "body": body,
                "at": time.monotonic(),
            }
        )
        if self._failures:
            return self._failures.pop(0)
        if auth != f"Bearer {self.token}":
            return 401, {
                "error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}
            }
        segs = [unquote(s) for s in parts.path.split("/") if s]
        if len(segs) != 3 or segs[0] != "v0":
            return 404, {"error": "NOT_FOUND"}
        key = (segs[1], segs[2])
        recs = self.records(*key)
        if method == "GET":
            return self._list(recs, query)
        if method == "PATCH":
            return self._upsert(key, recs, body or {})
        if method == "DELETE":
            ids = query.get("records[]", [])
            if len(ids) > 10:
                return 422, {"error": {"type": "INVALID_RECORDS", "message": "too many records"}}
            if any(i not in recs for i in ids):
                return 404, {"error": {"type": "NOT_FOUND", "message": "Could not find a record"}}
            for i in ids:
                recs.pop(i)
            return 200, {"records": [{"id": i, "deleted": True} for i in ids]}
        return 404, {"error": "NOT_FOUND"}

    def _list(
        self, recs: dict[str, dict[str, Any]], query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        size = min(int(query.get("pageSize", ["100"])[0]), 100, self.page_size_cap)
        start = int(query.get("offset", ["0"])[0].removeprefix("itr")) if "offset" in query else 0
        wanted = query.get("fields[]")
        ids = list(recs)
        page = ids[start : start + size]
        out: dict[str, Any] = {
            "records": [
                {
                    "id": i,
                    "createdTime": "2026-12-01T00:00:00.000Z",
                    "fields": {
                        k: v
                        for k, v in recs[i].items()
                        if v not in (None, "") and (wanted is None or k in wanted)
                    },
                }
                for i in page
            ]
        }
        if start + size < len(ids):
            out["offset"] = f"itr{start + size}"
        return 200, out

    def _upsert(
        self, key: tuple[str, str], recs: dict[str, dict[str, Any]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        records = body.get("records") or []
        if len(records) > 10:
            return 422, {
                "error": {
                    "type": "INVALID_RECORDS",
                    "message": "You may only update up to 10 records at once",
                }
            }
        known = self.known_fields.get(key)
        for r in records:
            for f in r.get("fields", {}):
                if known is not None and f not in known:
                    return 422, {
                        "error": {
                            "type": "UNKNOWN_FIELD_NAME",
                            "message": f'Unknown field name: "{f}"',
                        }
                    }
        merge = (body.get("performUpsert") or {}).get("fieldsToMergeOn")
        if not merge:
            return 422, {
                "error": {
                    "type": "INVALID_REQUEST_MISSING_FIELDS",
                    "message": 'Could not find field "id"',
                }
            }
        out, created, updated = [], [], []
        for r in records:
            fields = r["fields"]
            match = [i for i, f in recs.items() if all(f.get(m) == fields.get(m) for m in merge)]
            if len(match) > 1:
                return 422, {
                    "error": {
                        "type": "INVALID_VALUE_FOR_COLUMN",
                        "message": "more than one record matches",
                    }
                }
            if match:
                rid = match[0]
                recs[rid].update(fields)
                updated.append(rid)
            else:
                rid = self._new_id()
                recs[rid] = dict(fields)
                created.append(rid)
            out.append(
                {
                    "id": rid,
                    "createdTime": "2026-12-01T00:00:00.000Z",
                    "fields": {k: v for k, v in recs[rid].items() if v is not None},
                }
            )
        return 200, {"records": out, "createdRecords": created, "updatedRecords": updated}
