"""The public webhook routes ``/webhooks/whatsapp`` and ``/webhooks/instagram`` (no tenant auth:
Meta's signature instead).

* ``GET``: Meta's subscription handshake (``hub.mode=subscribe``, ``hub.verify_token`` equal
  to ``GROWTHOPS_META_VERIFY_TOKEN``): answers the ``hub.challenge`` as text/plain; 403 otherwise.
* ``POST``, in this order and before any parsing: a body over 1 MiB is refused with 413
  (from ``Content-Length`` at once, else while reading); ``X-Hub-Signature-256`` must be the
  HMAC-SHA256 of the raw body with an app secret of ``GROWTHOPS_META_APP_SECRET`` (constant-time
  compare) or the answer is 401 and nothing is stored but a counter
  (``inbox.webhook_rejections``). Then one statement stores the raw body and queues its
  processing (``inbox.receive_webhook``, one short transaction) and the answer is 200.
  A database failure answers 500, so Meta delivers again: a 200 always means stored.

Error bodies never echo the request. See :mod:`growthops.inbox.ingest` for the processing.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool

from growthops.connectors.meta_webhooks import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    handshake,
    verify_signature,
)
from growthops.web.deps import get_database
from growthops.web.errors import ErrorOut
from growthops.web.limits import register_path_limit

logger = logging.getLogger("growthops.inbox")
router = APIRouter(tags=["webhooks"])
#: Request headers kept with the raw body (never the Authorization or a cookie).
KEPT_HEADERS = ("content-type", "user-agent", SIGNATURE_HEADER, "x-forwarded-for")
_ERR = {"model": ErrorOut}

#: Per-address rate limit of ``/webhooks/`` (instead of the app's ``default`` and ``public``
#: rules, 1200 and 120 a minute, which would refuse Meta's deliveries at a busy hour: they come
#: from a few Meta addresses, without credentials headers). 200 a second per address: WhatsApp's
#: default throughput is 80 messages a second per business number ("Throughput", WhatsApp
#: Cloud API docs), each sent message bringing up to three status deliveries. Forged or unsigned
#: deliveries (401) still count against ``auth_failures``, so a forger is stopped after 60 a
#: minute. Change it with ``GROWTHOPS_RATE_LIMIT_PATHS='{"/webhooks/": "N/minute"}'``.
WEBHOOK_RATE_LIMIT = "12000/minute"
register_path_limit("/webhooks/", WEBHOOK_RATE_LIMIT)


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, "details": None}},
                        status_code=status, headers={"Cache-Control": "no-store"})


async def _read_capped(request: Request) -> bytes | None:
    """Return the body, or None as soon as it is known to exceed :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _count(db: Any, platform: str, reason: str) -> None:
    try:
        with db.app_tx() as conn:
            conn.execute("select inbox.count_rejection(%s, %s)", [platform, reason])
    except Exception:  # a counter never turns a refusal into a 500
        logger.exception("could not count a refused %s webhook", platform)


def _store(db: Any, platform: str, body: bytes, headers: dict[str, str], verdict: str) -> int:
    with db.app_tx() as conn:
        row = conn.execute("select inbox.receive_webhook(%s, %s, %s, %s) as id",
                           [platform, body, Jsonb(headers), verdict]).fetchone()
    return int(row["id"])


async def receive(request: Request, platform: str) -> Response:
    """Check size and signature, store the raw delivery, queue it, answer (see module doc)."""
    db = get_database(request)
    body = await _read_capped(request)
    if body is None:
        await run_in_threadpool(_count, db, platform, "too_large")
        return _error(413, "PayloadTooLarge", f"body larger than {MAX_BODY_BYTES} bytes")
    secrets = getattr(request.app.state, "settings", db.settings).meta_app_secrets
    if not secrets:
        await run_in_threadpool(_count, db, platform, "not_configured")
        return _error(503, "NotConfigured", "webhooks are not configured on this server "
                                            "(GROWTHOPS_META_APP_SECRET)")
    verdict = verify_signature(body, request.headers.get(SIGNATURE_HEADER), secrets)
    if verdict is None:
        reason = "bad_signature" if request.headers.get(SIGNATURE_HEADER) else "no_signature"
        await run_in_threadpool(_count, db, platform, reason)
        return _error(401, "Unauthorized", "missing or invalid X-Hub-Signature-256")
    kept = {k: request.headers[k] for k in KEPT_HEADERS if k in request.headers}
    await run_in_threadpool(_store, db, platform, body, kept, verdict)
    return JSONResponse({"status": "received"}, headers={"Cache-Control": "no-store"})


_POST = {"responses": {401: {**_ERR, "description": "Missing or invalid signature"},
                       413: {**_ERR, "description": "Body larger than 1 MiB"},
                       503: {**_ERR, "description": "GROWTHOPS_META_APP_SECRET is not set"}},
         "response_model": dict[str, str]}


@router.post("/webhooks/whatsapp", summary="WhatsApp Cloud API notifications (signed)", **_POST)
async def whatsapp_receive(request: Request) -> Response:
    """Store a signed WhatsApp delivery and queue its processing (200 = stored)."""
    return await receive(request, "whatsapp")


@router.post("/webhooks/instagram", summary="Instagram messaging notifications (signed)", **_POST)
async def instagram_receive(request: Request) -> Response:
    """Store a signed Instagram delivery and queue its processing (200 = stored)."""
    return await receive(request, "instagram")


def _handshake(request: Request, mode: str | None, token: str | None,
               challenge: str | None) -> Response:
    settings = getattr(request.app.state, "settings", get_database(request).settings)
    expected = settings.meta_verify_token
    answer = handshake(mode, token, challenge, expected.get_secret_value() if expected else None)
    if answer is None:
        return _error(403, "Forbidden", "verification failed")
    return PlainTextResponse(answer, headers={"X-Content-Type-Options": "nosniff",
                                              "Cache-Control": "no-store"})


_HS = {"responses": {200: {"content": {"text/plain": {}}, "description": "The challenge"},
                     403: {**_ERR, "description": "Wrong mode or verify token"}},
       "response_class": PlainTextResponse}
Mode = Annotated[str | None, Query(alias="hub.mode")]
Token = Annotated[str | None, Query(alias="hub.verify_token")]
Challenge = Annotated[str | None, Query(alias="hub.challenge")]


@router.get("/webhooks/whatsapp", summary="Meta subscription handshake (WhatsApp)", **_HS)
def whatsapp_verify(request: Request, mode: Mode = None, token: Token = None,
                    challenge: Challenge = None) -> Response:
    """Echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    return _handshake(request, mode, token, challenge)


@router.get("/webhooks/instagram", summary="Meta subscription handshake (Instagram)", **_HS)
def instagram_verify(request: Request, mode: Mode = None, token: Token = None,
                     challenge: Challenge = None) -> Response:
    """Echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    return _handshake(request, mode, token, challenge)
