"""The one place where errors become HTTP responses, and their OpenAPI description.

Every error answer has the same body, :class:`ErrorOut`::

    {"error": {"type": "Conflict", "message": "suggestion 12 is already approved (...)",
               "details": {...}}}

* :class:`~growthops.core.errors.GrowthopsError` subclasses answer their ``http_status``
  (NotFound 404, Conflict 409, InvalidInput 422, InvalidApiKey 401, ...); ``details`` carries
  the exception's public attributes (e.g. a decision conflict's status and who decided).
* Request validation (FastAPI/pydantic, strict models) answers 422 with type ``InvalidInput``,
  a message naming each field at fault (``body.decision: ...``) and ``details.errors``.
* Starlette's HTTP errors (unknown route 404, wrong method 405) keep their status.
* Malformed JSON answers 422 (``body: malformed JSON at character N``); a body FastAPI cannot
  read at all (e.g. not UTF-8) answers FastAPI's own 400 ``BadRequest``, declared in the
  OpenAPI of every route with a body (:data:`BODY`).
* :class:`~growthops.core.auth.users.LoginRequired` on a page (a path outside ``/api``) redirects
  to ``/login?next=<path>`` (303) instead of answering 401 JSON.
* A value the database refuses (``psycopg.errors.DataError``, SQLSTATE class 22: NUL in a
  text, a number out of range) answers 422 ``InvalidInput``.
* Anything else answers 500 ``InternalError`` without internals; the traceback goes to the
  ``growthops.api`` logger.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from growthops.core.auth.users import LoginRequired
from growthops.core.errors import GrowthopsError
from growthops.core.inputs import excerpt
from growthops.core.logs.scrub import scrub
from growthops.core.logs.service import redact

logger = logging.getLogger("growthops.api")


class ErrorBody(BaseModel):
    """An error: its class (``NotFound``, ``Conflict``...), a message and optional details."""

    type: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorBody


def _resp(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


#: OpenAPI responses shared by every authenticated route.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _resp(
        "Not authenticated: missing, malformed, unknown or revoked API key, or no valid session"
    ),
    422: _resp("Invalid input: the message names each field at fault"),
    500: _resp("Internal error"),
}
#: Routes on a tenant named in the path: invisible tenants answer 404 like missing ones.
TENANT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    404: _resp(
        "No such tenant or object visible to the caller (another tenant's data is "
        "reported as missing, never as forbidden)"
    ),
}
#: Routes with a JSON body: FastAPI answers 400 for a body it cannot read (e.g. not UTF-8).
BODY: dict[int | str, dict[str, Any]] = {
    400: _resp("Unreadable request body (e.g. not UTF-8); malformed JSON answers 422"),
}
#: Routes that change a tenant's data: read-only users (client_viewer) get 403.
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: _resp(
        "Authenticated and allowed to read this tenant, but not to change it "
        "(client_viewer), or a cross-site session request"
    ),
}
#: Responses of routes that read or change one object.
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _resp("No such object for the key's tenant (other tenants' objects are invisible)"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _resp("The object's state forbids the change (expired, already decided, final)"),
}


def _body(kind: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "details": details}}


def _details(exc: GrowthopsError) -> dict[str, Any] | None:
    public = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
    return jsonable_encoder(public) if public else None


def error_response(exc: GrowthopsError) -> JSONResponse:
    """Return the JSON response of a growthops error (status from ``exc.http_status``)."""
    status = int(getattr(exc, "http_status", 500) or 500)
    headers = {"WWW-Authenticate": 'Bearer realm="growthops"'} if status == 401 else None
    if status == 429 and isinstance(getattr(exc, "retry_after", None), int):
        headers = {"Retry-After": str(exc.retry_after)}  # type: ignore[attr-defined]
    message = excerpt(scrub(str(exc)), MAX_MESSAGE_CHARS)
    details = _details(exc)
    return JSONResponse(
        _body(type(exc).__name__, message, redact(details) if details else None),
        status_code=status, headers=headers,
    )


def _field_message(e: dict[str, Any]) -> str:
    """``body.decision: Input should be ...``; malformed JSON names the character position."""
    loc = list(e.get("loc", ()))
    if e.get("type") == "json_invalid":
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return f"body: malformed JSON{where}"
    return f"{'.'.join(str(p) for p in loc)}: {e.get('msg', 'invalid')}"


#: Longest message of an error answer (characters); longer ones are cut.
MAX_MESSAGE_CHARS = 2000
#: Most field errors one answer lists (a body of 100 000 wrong items gives one summary line).
MAX_ERRORS = 20


def _bounded_error(e: dict[str, Any]) -> dict[str, Any]:
    """One pydantic error, JSON-safe and bounded: ``loc`` parts and the input as short excerpts
    (never a password's or a token's value), no ``url`` nor ``ctx``."""
    loc = [p if isinstance(p, int) else excerpt(p, 64) for p in e.get("loc", ())]
    out: dict[str, Any] = {"type": str(e.get("type", "")), "loc": loc,
                           "msg": excerpt(str(e.get("msg", "invalid")), 300)}
    if "input" in e and not any(w in str(p) for p in loc for w in ("password", "token")):
        out["input"] = excerpt(e["input"])
    return out


def validation_body(raw: Any) -> dict[str, Any]:
    """The 422 body of a request validation failure: at most :data:`MAX_ERRORS` errors, each
    quoting at most :data:`~growthops.core.inputs.EXCERPT_CHARS` characters of the input, so the
    answer stays small and valid JSON whatever was sent (NaN, lone surrogates, megabytes)."""
    raw = list(raw)
    errors = [_bounded_error(e) for e in raw[:MAX_ERRORS]]
    message = "; ".join(_field_message(e) for e in errors) or "invalid request"
    if len(raw) > MAX_ERRORS:
        message += f"; and {len(raw) - MAX_ERRORS} more"
    return _body("InvalidInput", message, {"errors": errors})


def login_redirect(request: Request) -> RedirectResponse:
    """Redirect a page request without a session to ``/login?next=<path and query>`` (303)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into an :class:`ErrorOut` response."""

    @app.exception_handler(GrowthopsError)
    async def growthops_error(request: Request, exc: GrowthopsError) -> Response:
        if isinstance(exc, LoginRequired) and not request.url.path.startswith("/api/"):
            return login_redirect(request)
        if int(getattr(exc, "http_status", 500) or 500) >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()), status_code=422)

    @app.exception_handler(psycopg.errors.DataError)
    async def data_error(request: Request, exc: psycopg.errors.DataError) -> JSONResponse:
        # SQLSTATE class 22 (and psycopg's own checks): a value the database cannot take,
        # e.g. NUL in a query parameter or a number out of range. The input's fault: 422.
        logger.warning(
            "%s %s: data error: %s", request.method, request.url.path, type(exc).__name__
        )
        first = (str(exc).splitlines() or ["invalid value"])[0]
        return JSONResponse(_body("InvalidInput", f"invalid value: {first}"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest", 401: "Unauthorized",
                 413: "PayloadTooLarge", 429: "TooManyRequests"}
        return JSONResponse(
            _body(kinds.get(exc.status_code, "HTTPError"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            _body("InternalError", "internal error; see the server log"), status_code=500
        )
