"""One Airtable base through ``pyairtable`` (the Python client the Airtable docs list), paced
to the Web API's limits.

Limits, from Airtable's Web API documentation (https://airtable.com/developers/web/api/rate-limits
and the "Create records" / "Update multiple records" pages):

* **5 requests per second per base**; above it Airtable answers HTTP 429 and "you will need to
  wait 30 seconds before subsequent requests will succeed". Every request of this process to a
  base goes through one pacer per base id (:data:`RATE_PER_S`: at least 0.21 s between two
  requests' starts, :data:`PACE_MARGIN`), and a 429 is retried by ``pyairtable``'s retrying session (urllib3
  ``Retry``): with :data:`MAX_RETRIES` = 5 and ``backoff_factor`` = 1 the waits are 0, 2, 4, 8,
  16 s, about the 30 s asked for. Tests pass a tiny ``backoff_factor``.
* **10 records per create/update/delete request**: ``pyairtable`` chunks ``batch_upsert`` and
  ``batch_delete`` by ``Api.MAX_RECORDS_PER_REQUEST`` (10).
* List records pages hold at most 100 records; the next page is asked with the ``offset`` the
  previous answer carries (``pyairtable``'s ``Table.iterate``).

``endpoint_url`` (default ``https://api.airtable.com``) is ``pyairtable.Api``'s own setting:
tests aim it at a local server speaking Airtable's wire format. The personal access token goes
in the ``Authorization: Bearer`` header only; it is registered with the log scrubber
(:func:`growthops.core.logs.scrub.register_secret`) and never appears in an error message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from pyairtable import Api
from pyairtable.api.retrying import retry_strategy

from growthops.core.errors import GrowthopsError
from growthops.core.logs.scrub import register_secret

#: Airtable's production endpoint (pyairtable's default).
AIRTABLE_URL = "https://api.airtable.com"
#: Requests per second per base (Airtable Web API rate limits).
RATE_PER_S = 5.0
#: Spacing margin over 1/RATE_PER_S: requests leave 0.21 s apart, so that network jitter never
#: lands a 6th request inside one second on Airtable's side (measured: at 0.200 s exactly, the
#: local test server saw 6 starts within one second).
PACE_MARGIN = 1.05
#: Retries of a 429 (pyairtable's default count); waits are backoff_factor * 2**(n-1), first 0.
MAX_RETRIES = 5
#: Seconds to connect, seconds to read: a stuck call never holds a transaction for long.
TIMEOUT_S = (5, 30)

#: A call observer: (HTTP method, path without the host, status or None, milliseconds, error).
CallObserver = Callable[[str, str, int | None, float, str | None], None]

_pacers: dict[str, _Pacer] = {}
_pacers_lock = threading.Lock()


class AirtableError(GrowthopsError):
    """An Airtable call failed.

    ``status`` is the HTTP status (None when no answer came), ``error_type`` Airtable's error
    type (``INVALID_VALUE_FOR_COLUMN``, ``UNKNOWN_FIELD_NAME``, ``NOT_FOUND``,
    ``AUTHENTICATION_REQUIRED``...) or ``connection_error``; ``retryable`` is True for 429
    (retries exhausted), 5xx and network failures.
    """

    exit_code = 69  # EX_UNAVAILABLE
    http_status = 502

    def __init__(
        self, message: str, *, status: int | None, error_type: str, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.retryable = retryable


class _Pacer:
    """At most ``rate`` request starts per second (one lock per base, shared by the process)."""

    def __init__(self, rate: float) -> None:
        self.interval = PACE_MARGIN / rate
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until the next slot; return the seconds slept."""
        with self.lock:
            now = time.monotonic()
            delay = max(0.0, self.next_at - now)
            self.next_at = max(now, self.next_at) + self.interval
        if delay:
            time.sleep(delay)
        return delay


def _pacer(base_id: str, rate: float) -> _Pacer:
    with _pacers_lock:
        p = _pacers.get(base_id)
        if p is None or abs(p.interval - PACE_MARGIN / rate) > 1e-9:
            p = _pacers[base_id] = _Pacer(rate)
        return p


class _PacedApi(Api):
    """``pyairtable.Api`` whose every request waits for the base's pacer and is observed."""

    def __init__(self, token: str, *, base: AirtableBase, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self._owner = base
        self.session.hooks["response"].append(self._count_retries)

    def _count_retries(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        retries = getattr(getattr(response, "raw", None), "retries", None)
        history = getattr(retries, "history", None) or ()
        self._owner.stats.retries += len(history)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        owner = self._owner
        owner.stats.waited_s += owner.pacer.wait()
        owner.stats.calls += 1
        started = time.perf_counter()
        path = "/" + str(url).split("://", 1)[-1].split("/", 1)[-1]
        try:
            result = super().request(method, url, *args, **kwargs)
        except requests.HTTPError as exc:
            err = _to_error(exc, method, path)
            owner.observe(method, path, err.status, started, str(err))
            raise err from None
        except requests.exceptions.RetryError:
            err = AirtableError(
                f"Airtable {method.upper()} {path} failed: HTTP 429 "
                "rate limit still reached after the retries",
                status=429,
                error_type="RATE_LIMIT_REACHED",
                retryable=True,
            )
            owner.observe(method, path, 429, started, str(err))
            raise err from None
        except requests.RequestException as exc:
            err = AirtableError(
                f"Airtable {method.upper()} {path} failed: {type(exc).__name__}",
                status=None,
                error_type="connection_error",
                retryable=True,
            )
            owner.observe(method, path, None, started, str(err))
            raise err from None
        owner.observe(method, path, 200, started, None)
        return result


def _to_error(exc: requests.HTTPError, method: str, path: str) -> AirtableError:
    """Map an HTTP error to :class:`AirtableError` with Airtable's error type and message."""
    resp = exc.response
    status = resp.status_code if resp is not None else None
    etype, detail = f"http_{status}", ""
    try:
        body = resp.json() if resp is not None else {}
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            etype = str(err.get("type") or etype)
            detail = str(err.get("message") or "")[:300]
        elif isinstance(err, str):
            etype = err
    except ValueError:
        pass
    msg = f"Airtable {method.upper()} {path} failed: HTTP {status} {etype}"
    if detail:
        msg += f": {detail}"
    return AirtableError(
        msg, status=status, error_type=etype, retryable=status == 429 or (status or 0) >= 500
    )


@dataclass
class CallStats:
    """Counters of one :class:`AirtableBase`: requests made, 429 retries, seconds paced."""

    calls: int = 0
    retries: int = 0
    waited_s: float = 0.0


@dataclass
class UpsertResult:
    """The record ids of an upsert in the order of the input, and which of them were created."""

    record_ids: list[str] = field(default_factory=list)
    created: set[str] = field(default_factory=set)


class AirtableBase:
    """One Airtable base, paced and retried (see the module doc).

    ``token``: a personal access token (scopes ``data.records:read`` and
    ``data.records:write``); ``base_id``: ``app`` + 14 characters; ``endpoint_url``: None for
    Airtable, a local server's root in tests; ``on_call``: an observer called after every
    request (e.g. to write ``core.api_calls_log``). Raises nothing until a call is made.
    """

    def __init__(
        self,
        token: str,
        base_id: str,
        *,
        endpoint_url: str | None = None,
        rate_per_s: float = RATE_PER_S,
        backoff_factor: float = 1.0,
        max_retries: int = MAX_RETRIES,
        timeout: tuple[int, int] = TIMEOUT_S,
        on_call: CallObserver | None = None,
    ) -> None:
        register_secret(token)
        self.base_id = base_id
        self.stats = CallStats()
        self.pacer = _pacer(base_id, rate_per_s)
        self.on_call = on_call
        self.api = _PacedApi(
            token,
            base=self,
            timeout=timeout,
            endpoint_url=(endpoint_url or AIRTABLE_URL).rstrip("/"),
            retry_strategy=retry_strategy(total=max_retries, backoff_factor=backoff_factor),
        )

    def observe(
        self, method: str, path: str, status: int | None, started: float, error: str | None
    ) -> None:
        """Report one request to ``on_call`` (duration in milliseconds)."""
        if self.on_call is not None:
            self.on_call(
                method.upper(), path, status, (time.perf_counter() - started) * 1000, error
            )

    def list_records(
        self, table: str, *, fields: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Return every record of ``table`` as ``{"id", "fields"}`` (fields absent when empty).

        ``fields`` limits the fields returned (Airtable omits empty cells). Pages of 100 with
        the ``offset`` of the previous page. Raises :class:`AirtableError`.
        """
        opts: dict[str, Any] = {"page_size": 100}
        if fields is not None:
            opts["fields"] = list(fields)
        tbl = self.api.table(self.base_id, table)
        return [
            {"id": r["id"], "fields": dict(r.get("fields") or {})}
            for page in tbl.iterate(**opts)
            for r in page
        ]

    def upsert(self, table: str, rows: list[dict[str, Any]], *, key_field: str) -> UpsertResult:
        """Create or update ``rows`` (field name -> value), matched on ``key_field``.

        Airtable's ``performUpsert`` with ``fieldsToMergeOn = [key_field]`` (batches of 10,
        ``typecast`` on so single-select options are created); the answer's records come back
        in the request's order. Raises :class:`AirtableError` (e.g. 422
        ``INVALID_VALUE_FOR_COLUMN`` naming the field), ``ValueError`` when a row lacks
        ``key_field``.
        """
        if not rows:
            return UpsertResult()
        tbl = self.api.table(self.base_id, table)
        res = tbl.batch_upsert([{"fields": r} for r in rows], key_fields=[key_field], typecast=True)
        return UpsertResult([r["id"] for r in res["records"]], set(res["createdRecords"]))

    def delete(self, table: str, record_ids: Iterable[str]) -> int:
        """Delete records by id (batches of 10); return how many Airtable confirmed deleted.

        Raises :class:`AirtableError` (a 404 ``NOT_FOUND`` when a record is already gone)."""
        ids = list(record_ids)
        if not ids:
            return 0
        out = self.api.table(self.base_id, table).batch_delete(ids)
        return sum(1 for r in out if r.get("deleted"))
