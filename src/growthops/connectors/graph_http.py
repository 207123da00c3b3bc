"""A small Graph API client over ``httpx``: JSON POSTs with retries and Meta's error mapping.

Used by the WhatsApp Cloud API and Instagram Send API transports. Retries (``tenacity``):
HTTP 429, 5xx, network errors and Meta's throttling codes are retried with exponential backoff
and full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), at most :data:`MAX_ATTEMPTS` attempts; anything else fails at once. A ``Retry-After``
header is not sent by the Graph API (it reports usage in ``X-Business-Use-Case-Usage``), so the
backoff is ours.

Error mapping. Sources: Graph API "Handling Errors" (codes 1, 2, 4, 10, 17, 32, 102, 190,
200-299, 368, 613), WhatsApp Cloud API "Error Codes" (130429, 131000, 131016, 131026, 131030,
131031, 131047, 131051, 131056, 132000-132999, 133010, 80007) and Instagram Messaging /
Messenger Platform error codes (551, 2018001, 2018278, 10 with subcode 2534022 "outside of
allowed window").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from growthops.connectors.messaging import ErrorKind, MessagingError

MAX_ATTEMPTS = 4
TIMEOUT_SECONDS = 10.0

_TOKEN = {190, 102, 463, 467}
_RATE = {4, 17, 32, 613, 80007, 130429, 131056}
_TEMPORARY = {1, 2, 131000, 131016}
_WINDOW = {131047, 2018278}
_RECIPIENT = {131026, 131030, 133010, 551, 2018001}
_PERMISSION = {3, 10, 131031}
_INVALID = {100, 131008, 131009, 131051}


def classify(code: int | None, subcode: int | None, http_status: int) -> ErrorKind:
    """Return the :data:`~growthops.connectors.messaging.ErrorKind` of a Graph API error.

    ``code``/``subcode``: the ``error.code`` and ``error.error_subcode`` of the body (None when
    the body is not a Graph error); ``http_status``: the HTTP status.
    """
    if code == 10 and subcode == 2534022:
        return "window_closed"
    if code in _TOKEN:
        return "token_expired"
    if code in _WINDOW:
        return "window_closed"
    if code in _RATE or http_status == 429:
        return "rate_limited"
    if code in _RECIPIENT:
        return "recipient"
    if code is not None and 132000 <= code <= 132999:
        return "template"
    if code == 368:
        return "blocked"
    if code in _PERMISSION or (code is not None and 200 <= code <= 299):
        return "permission"
    if code in _INVALID:
        return "invalid"
    if code in _TEMPORARY or http_status >= 500:
        return "temporary"
    return "unknown" if http_status >= 400 else "invalid"


def _error_of(resp: httpx.Response) -> MessagingError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    code = err.get("code") if isinstance(err.get("code"), int) else None
    sub = err.get("error_subcode") if isinstance(err.get("error_subcode"), int) else None
    kind = classify(code, sub, resp.status_code)
    title = err.get("error_user_title") or err.get("type") or "error"
    message = str(err.get("message") or f"HTTP {resp.status_code}")[:300]
    detail = f"{title}: {message}" + (f" (code {code}" + (f"/{sub}" if sub else "") + ")"
                                       if code is not None else f" (HTTP {resp.status_code})")
    return MessagingError(detail, kind=kind, code=code, subcode=sub,
                          http_status=resp.status_code,
                          response={"error": {k: err.get(k) for k in
                                              ("message", "type", "code", "error_subcode",
                                               "fbtrace_id") if k in err}})


#: Keys whose values are personal data (recipient, message content): logged as "<redacted>".
_PERSONAL = frozenset({"to", "recipient", "recipient_id", "contacts", "text", "body", "message",
                       "parameters", "components", "caption", "username", "from"})


def _shape(payload: Any) -> Any:
    """Return ``payload`` with personal data replaced (what is logged to api_calls_log)."""
    if isinstance(payload, dict):
        return {k: "<redacted>" if k in _PERSONAL else _shape(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_shape(v) for v in payload]
    return payload


class GraphClient:
    """POST JSON to a Graph API host with a bearer token; retry and map errors.

    ``base_url``: e.g. ``https://graph.facebook.com`` (tests: a local server); ``version``:
    e.g. ``v21.0``; ``api_logger``: optional callable receiving each call's redacted facts
    (keyword arguments of :func:`growthops.core.logs.service.log_api_call` minus conn/tenant).
    ``wait_max``: the longest backoff between attempts, seconds (tests pass a small one).
    """

    def __init__(self, base_url: str, version: str, token: str, *, api_name: str,
                 api_logger: Callable[..., Any] | None = None, wait_max: float = 8.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base = base_url.rstrip("/") + "/" + version.strip("/")
        self._token = token
        self.api_name = api_name
        self.api_logger = api_logger
        self.wait_max = wait_max
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``<base>/<path>``; return the JSON answer.

        Raises :class:`MessagingError` (after the retries for retryable kinds).
        """
        url = f"{self.base}/{path.lstrip('/')}"

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, MessagingError) and exc.retryable

        retrying = Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_random_exponential(multiplier=min(0.5, self.wait_max), max=self.wait_max),
            retry=retry_if_exception(retryable), reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._once(url, path, payload)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``<base>/<path>`` with query ``params``; return the JSON answer (same retries
        and error mapping as :meth:`post`). Raises :class:`MessagingError`."""
        url = f"{self.base}/{path.lstrip('/')}"
        retrying = Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_random_exponential(multiplier=min(0.5, self.wait_max), max=self.wait_max),
            retry=retry_if_exception(lambda e: isinstance(e, MessagingError) and e.retryable),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._once(url, path, params or {}, method="GET")
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str, path: str, payload: dict[str, Any],
              method: str = "POST") -> dict[str, Any]:
        started = time.perf_counter()
        self._method = method
        try:
            headers = {"Authorization": f"Bearer {self._token}"}
            resp = (self._client.get(url, params=payload, headers=headers) if method == "GET"
                    else self._client.post(url, json=payload, headers=headers))
        except httpx.HTTPError as exc:
            self._log(path, payload, None, None, started, False, type(exc).__name__)
            raise MessagingError(f"network error: {type(exc).__name__}", kind="temporary") from None
        if resp.status_code >= 400:
            err = _error_of(resp)
            self._log(path, payload, err.response, resp.status_code, started, False, str(err))
            raise err
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._log(path, payload, None, resp.status_code, started, False, "not JSON")
            raise MessagingError("the platform's answer is not a JSON object", kind="temporary",
                                 http_status=resp.status_code)
        self._log(path, payload, body, resp.status_code, started, True, None)
        return body

    def _log(self, path: str, payload: Any, response: Any, status: int | None, started: float,
             ok: bool, error: str | None) -> None:
        if self.api_logger is None:
            return
        self.api_logger(api_name=self.api_name, endpoint=path,
                        method=getattr(self, "_method", "POST"),
                        request_payload=_shape(payload), response_payload=_shape(response), status_code=status,
                        duration_ms=(time.perf_counter() - started) * 1000, success=ok,
                        error_message=error)
