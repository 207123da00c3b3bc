"""The Slack Web API client (``slack_sdk.WebClient``) and a logged, error-mapped call helper.

Every call made through :func:`call` writes one ``core.api_calls_log`` row (``api_name =
'slack'``) through :func:`growthops.core.logs.service.log_api_call`, which redacts secrets; the
bot token travels in the ``Authorization`` header and is never part of the logged payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from growthops.core.errors import GrowthopsError
from growthops.core.logs.service import log_api_call

#: Slack's production Web API root (https://docs.slack.dev/apis/web-api/).
SLACK_API_URL = "https://slack.com/api/"
#: Seconds before a Web API call gives up. Slack answers chat.* in well under a second; 10 s keeps
#: a stuck call from holding the caller's transaction for the SDK's default 30 s.
TIMEOUT_S = 10
#: Error codes worth retrying later (Slack Web API docs: ``ratelimited`` comes with HTTP 429 and
#: ``Retry-After``; ``service_unavailable``/``fatal_error``/``internal_error`` are server-side).
RETRYABLE_ERRORS = frozenset({"ratelimited", "service_unavailable", "fatal_error",
                              "internal_error", "request_timeout"})

_log = logging.getLogger("growthops.connectors.slack")


class SlackError(GrowthopsError):
    """A Slack Web API call failed.

    ``method`` is the API method (``chat.postMessage``), ``error`` Slack's error code
    (``channel_not_found``, ``not_in_channel``, ``invalid_auth``, ``ratelimited``...) or
    ``connection_error``; ``retryable`` is True for rate limits, Slack-side and network failures.
    """

    exit_code = 69  # EX_UNAVAILABLE
    http_status = 502

    def __init__(self, message: str, *, method: str, error: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.method = method
        self.error = error
        self.retryable = retryable


def make_client(token: str, base_url: str | None = None, *, timeout: int = TIMEOUT_S) -> WebClient:
    """Return a ``WebClient`` with the bot token ``xoxb-...``, aimed at ``base_url``.

    ``base_url`` None means Slack (:data:`SLACK_API_URL`); tests pass a local server's URL
    (``http://127.0.0.1:PORT/api/``; a missing trailing slash is added). The SDK sends the token
    as ``Authorization: Bearer <token>``.
    """
    url = base_url or SLACK_API_URL
    if not url.endswith("/"):
        url += "/"
    return WebClient(token=token, base_url=url, timeout=timeout)


def _summary(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep the parts of a Slack answer worth logging (the echoed message is dropped)."""
    if not data:
        return {}
    keep = ("ok", "error", "channel", "ts", "message_ts", "warning", "needed", "provided")
    return {k: data[k] for k in keep if k in data}


def call(
    client: WebClient,
    method: str,
    *,
    conn: Any | None = None,
    tenant_id: UUID | str | None = None,
    log_request: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Call the Web API ``method`` (e.g. ``chat.postMessage``) and return its JSON answer.

    ``kwargs`` are the method's arguments (``channel``, ``blocks``...). When ``conn`` and
    ``tenant_id`` are given (inside that tenant's transaction), one ``core.api_calls_log`` row
    is written with ``log_request`` (default: ``kwargs`` without ``blocks``) and the answer's
    ``ok``/``error``/``channel``/``ts``; otherwise the failure only goes to the Python logger.

    Raises :class:`SlackError` when Slack answers ``"ok": false`` or the network fails.
    """
    fn = getattr(client, method.replace(".", "_"))
    started = time.perf_counter()
    data: dict[str, Any] | None = None
    status: int | None = None
    error: SlackError | None = None
    try:
        resp = fn(**kwargs)
        data, status = dict(resp.data) if isinstance(resp.data, dict) else {}, resp.status_code
    except SlackApiError as exc:
        r = exc.response
        data = dict(r.data) if isinstance(r.data, dict) else {}
        status = r.status_code
        code = str(data.get("error") or f"http_{status}")
        error = SlackError(f"Slack {method} failed: {code}", method=method, error=code,
                           retryable=code in RETRYABLE_ERRORS or (status or 0) >= 500)
    except SlackClientError as exc:  # request never answered (connection refused, timeout)
        error = SlackError(f"Slack {method} failed: {exc}", method=method,
                           error="connection_error", retryable=True)
    except OSError as exc:
        error = SlackError(f"Slack {method} failed: {exc}", method=method,
                           error="connection_error", retryable=True)
    duration_ms = (time.perf_counter() - started) * 1000
    if conn is not None and tenant_id is not None:
        req = dict(log_request) if log_request is not None else {
            k: v for k, v in kwargs.items() if k != "blocks"}
        log_api_call(conn, tenant_id=tenant_id, api_name="slack", endpoint=method,
                     method="POST", request_payload=req, response_payload=_summary(data),
                     status_code=status, duration_ms=duration_ms, success=error is None,
                     error_message=str(error) if error else None)
    if error is not None:
        _log.warning("%s (tenant %s)", error, tenant_id or "-")
        raise error
    return data or {}
