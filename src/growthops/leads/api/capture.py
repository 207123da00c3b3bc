"""``POST /api/v1/leads`` and ``POST /api/v1/tenants/{tenant}/leads``: the public capture route.

Order of checks (cheapest first, nothing echoed back from the input):

1. body size: ``Content-Length`` over ``leads_max_body_bytes`` → 413 before reading; a chunked
   body is read up to the limit and refused past it (:class:`LimitedBodyRoute`);
2. rate limit per client IP → 429 with ``Retry-After``;
3. credentials (:func:`growthops.leads.capture.authenticate`) → 401 / 403; on the tenant path, a
   key or token of another tenant → 404 exactly like a missing tenant; a logged-in user who may
   change the tenant may also enter a lead there (``session``);
4. rate limit per key or form token → 429;
5. JSON and the :class:`~growthops.leads.models.LeadIn` model (strict) → 422 naming the fields
   (never their values); the honeypot → 202, nothing stored;
6. store (:func:`growthops.leads.capture.store`) in one transaction → 201 after commit; a retried
   ``Idempotency-Key`` → the first answer; the database unreachable → 503 with ``Retry-After``,
   nothing written.

Every call whose tenant is known is written to ``leads.integration_logs`` (key prefix only).
CORS: for form tokens, an allowed ``Origin`` gets ``Access-Control-Allow-Origin``; preflights
(``OPTIONS``) are answered for origins registered by a live form token.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

import psycopg
import psycopg_pool
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from growthops.core.auth.api_keys import InvalidApiKey
from growthops.core.auth.users import PermissionDenied
from growthops.core.errors import GrowthopsError, NotFound
from growthops.leads import capture
from growthops.leads.models import Discarded, LeadCaptured, LeadIn
from growthops.leads.ratelimit import limiter_for
from growthops.web.deps import get_database, resolve_tenant
from growthops.web.errors import ErrorOut

logger = logging.getLogger("growthops.leads.capture")
CORS_HEADERS = "Content-Type, X-Form-Token, Idempotency-Key"


def _err(status: int, kind: str, message: str, headers: dict[str, str] | None = None,
         details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, "details": details}},
                        status_code=status, headers=headers)


class LimitedBodyRoute(APIRoute):
    """An APIRoute that refuses bodies over the configured size before the endpoint runs and
    hands the raw bytes to it as ``request.state.raw_body``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            limit = get_database(request).settings.leads_max_body_bytes
            length = request.headers.get("content-length")
            too_big = _err(413, "PayloadTooLarge", f"body: larger than {limit} bytes")
            if length is not None and (not length.isdigit() or int(length) > limit):
                return too_big if length.isdigit() else _err(400, "BadRequest", "bad Content-Length")
            if request.method == "POST":
                chunks, size = [], 0
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        return too_big
                    chunks.append(chunk)
                request.state.raw_body = b"".join(chunks)
            return await original(request)

        return handler


def _resp(model: Any, description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


RESPONSES: dict[int | str, dict[str, Any]] = {
    202: _resp(Discarded, "The honeypot field was filled: nothing stored"),
    400: _resp(ErrorOut, "Unreadable request (bad Content-Length)"),
    401: _resp(ErrorOut, "Missing, malformed, unknown or revoked API key or form token"),
    403: _resp(ErrorOut, "Form token used from an origin it does not allow, or a key without "
                         "a capture scope, or a read-only user"),
    404: _resp(ErrorOut, "No such tenant visible to the caller (tenant path)"),
    413: _resp(ErrorOut, "Body larger than the limit"),
    415: _resp(ErrorOut, "Body is not application/json"),
    422: _resp(ErrorOut, "Invalid lead (the message names each field, never its value), or "
                         "an Idempotency-Key reused with another body"),
    429: _resp(ErrorOut, "Too many requests from this IP or credential; see Retry-After"),
    500: _resp(ErrorOut, "Internal error"),
    503: _resp(ErrorOut, "Database unavailable: nothing was stored; retry (same Idempotency-Key)"),
}
_schema = LeadIn.model_json_schema()
OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _schema}}},
    "parameters": [
        {"name": "Idempotency-Key", "in": "header", "required": False,
         "schema": {"type": "string", "minLength": 1, "maxLength": 255},
         "description": "A retried submission with the same key gets the first answer."},
        {"name": "X-Form-Token", "in": "header", "required": False,
         "schema": {"type": "string", "maxLength": 100},
         "description": "Public form token (browser forms), bound to allowed origins."},
    ],
}


def _ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _validation_message(exc: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    """Field names and reasons, never the submitted values."""
    errors = [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
              for e in exc.errors(include_input=False, include_url=False, include_context=False)]
    return "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors), errors


def _cors(resp: Response, caller: capture.Caller | None, origin: str | None) -> Response:
    if caller is not None and caller.kind == "form_token" and origin in caller.allowed_origins:
        resp.headers["Access-Control-Allow-Origin"] = origin or ""
        resp.headers["Vary"] = "Origin"
    return resp


def capture_lead(request: Request) -> Response:
    """Store a lead posted by a form (see the module docstring for every answer)."""
    t0 = time.perf_counter()
    db = get_database(request)
    settings = db.settings
    limiter = limiter_for(settings)
    ip = _ip(request)
    origin = request.headers.get("origin")
    wait = limiter.hit("ip", ip or "unknown")
    if wait is not None:
        return _err(429, "TooManyRequests", "too many requests from this address",
                    {"Retry-After": str(wait)})
    tenant_in_path = request.path_params.get("tenant")
    auth_header = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key") or (
        auth_header[7:].strip() if auth_header[:7].lower() == "bearer " else None)
    form_token = request.headers.get("x-form-token")
    caller: capture.Caller | None = None
    # One connection and one transaction for the key check and the write (fewer round trips).
    stack = contextlib.ExitStack()
    conn: Any = None
    try:
        if api_key or form_token or tenant_in_path is None:
            conn = stack.enter_context(db.pool.connection(timeout=5.0))
            stack.enter_context(conn.transaction())
            caller = capture.authenticate(conn, api_key=api_key, form_token=form_token,
                                          origin=origin)
        else:  # a logged-in user entering a lead on the tenant path
            from growthops.web.deps import current_user

            user = current_user(request)
            row = resolve_tenant(request, _UserWho(user), str(tenant_in_path))
            if not user.can_decide:
                raise PermissionDenied("a read-only user cannot enter leads")
            caller = capture.Caller(UUID(str(row["tenant_id"])), "session", user.email)
        if tenant_in_path is not None:
            row = resolve_tenant(request, _CallerWho(caller), str(tenant_in_path))
    except (InvalidApiKey, PermissionDenied, NotFound, GrowthopsError) as exc:
        stack.close()
        status = int(getattr(exc, "http_status", 401))
        headers = {"WWW-Authenticate": 'Bearer realm="growthops"'} if status == 401 else None
        return _err(status, type(exc).__name__, str(exc), headers)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        _close_quietly(stack)
        return _err(503, "ServiceUnavailable", "database unavailable; nothing was stored",
                    {"Retry-After": "5"})
    cred_id = caller.credential if caller.kind != "session" else f"user:{caller.credential}"
    wait = limiter.hit("key", cred_id)
    raw = getattr(request.state, "raw_body", b"")
    meta: dict[str, Any] = {"endpoint": request.url.path, "method": "POST", "ip": ip,
                            "user_agent": request.headers.get("user-agent"), "origin": origin}
    idem = request.headers.get("idempotency-key")
    status, body, headers = 0, None, None
    lead: LeadIn | None = None
    try:
        parsed = json.loads(raw) if raw else None
        meta["request_body"] = capture.loggable(parsed)
    except ValueError:
        parsed, meta["request_body"] = None, {"_unparsable": len(raw)}
    if wait is not None:
        status, body = 429, {"error": {"type": "TooManyRequests",
                                       "message": "too many requests for this credential",
                                       "details": None}}
        headers = {"Retry-After": str(wait)}
    elif "json" not in (request.headers.get("content-type") or "").lower():
        status, body = 415, {"error": {"type": "UnsupportedMediaType",
                                       "message": "body: send application/json", "details": None}}
    elif idem is not None and not 1 <= len(idem) <= 255:
        status, body = 422, {"error": {"type": "InvalidInput", "message":
                                       "Idempotency-Key: 1 to 255 characters", "details": None}}
    elif parsed is None and raw.strip() not in (b"null",):
        status, body = 422, {"error": {"type": "InvalidInput",
                                       "message": "body: malformed JSON", "details": None}}
    else:
        try:
            lead = LeadIn.model_validate(parsed)
        except ValidationError as exc:
            message, errors = _validation_message(exc)
            status, body = 422, {"error": {"type": "InvalidInput", "message": message,
                                           "details": {"errors": errors}}}
        else:
            if lead.hp:
                status, body = 202, {"status": "discarded"}
    try:
        with stack:
            if conn is None:
                conn = stack.enter_context(db.pool.connection(timeout=5.0))
                stack.enter_context(conn.transaction())
            conn.execute("select set_config('app.tenant_id', %s, true)", [str(caller.tenant_id)])
            meta["latency_ms"] = round((time.perf_counter() - t0) * 1000)
            if status:
                capture.log_call(conn, tenant_id=caller.tenant_id, caller_kind=caller.kind,
                                 credential=caller.credential, status=status, response=body,
                                 meta=meta, idem_key=idem)
            else:
                assert lead is not None
                digest = capture.request_hash(raw)
                stored = (capture.replay(conn, tenant_id=caller.tenant_id, idem_key=idem,
                                         digest=digest) if idem else None)
                if stored is not None:
                    status, body, headers = 201, stored, {"Idempotent-Replayed": "true"}
                else:
                    body = capture.store(conn, caller=caller, lead=lead, idem_key=idem,
                                         digest=digest, meta=meta)
                    status = 201
    except capture.IdempotencyMismatch as exc:
        return _cors(_err(422, "InvalidInput", str(exc)), caller, origin)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        logger.warning("capture: database unavailable; answered 503")
        return _err(503, "ServiceUnavailable", "database unavailable; nothing was stored",
                    {"Retry-After": "5"})
    if status == 201 and settings.leads_defer_on_capture \
            and not (headers or {}).get("Idempotent-Replayed"):
        from growthops.leads.jobs import defer_enrichment

        defer_enrichment(db, tenant_id=caller.tenant_id, lead_id=int(body["lead_id"]))
    return _cors(JSONResponse(body, status_code=status, headers=headers), caller, origin)


def _close_quietly(stack: contextlib.ExitStack) -> None:
    """Close the connection stack after a database failure (the rollback may fail too)."""
    with contextlib.suppress(Exception):
        stack.close()


class _CallerWho:
    """Adapts a capture caller to :func:`growthops.web.deps.resolve_tenant`'s principal."""

    def __init__(self, caller: capture.Caller) -> None:
        self.caller = caller

    def can_access(self, tenant_id: Any) -> bool:
        return str(self.caller.tenant_id) == str(tenant_id)


class _UserWho:
    def __init__(self, user: Any) -> None:
        self.user = user

    def can_access(self, tenant_id: Any) -> bool:
        return bool(self.user.can_access(tenant_id))


def preflight(request: Request) -> Response:
    """Answer a CORS preflight: allowed when a live form token registers the Origin."""
    origin = request.headers.get("origin")
    if not origin:
        return Response(status_code=204)
    try:
        with get_database(request).app_tx() as conn:
            ok = conn.execute("select leads.origin_registered(%s) as ok", [origin]).fetchone()["ok"]
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        ok = False
    if not ok:
        return Response(status_code=204)
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600",
        "Vary": "Origin"})


def _router(path: str) -> APIRouter:
    from fastapi import Depends

    from growthops.web.deps import tenant_path

    deps = [Depends(tenant_path)] if "{tenant}" in path else []
    r = APIRouter(route_class=LimitedBodyRoute, tags=["leads"], dependencies=deps)
    r.add_api_route(path, capture_lead, methods=["POST"], status_code=201,
                    response_model=LeadCaptured, responses=RESPONSES, openapi_extra=OPENAPI_EXTRA,
                    summary="Capture a lead (website form; API key or form token)")
    r.add_api_route(path, preflight, methods=["OPTIONS"], include_in_schema=False)
    return r


own_router = _router("/api/v1/leads")
tenant_router = _router("/api/v1/tenants/{tenant}/leads")
