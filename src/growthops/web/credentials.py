"""The request's credentials and their OpenAPI security schemes (split from
:mod:`growthops.web.deps`, which authenticates with them).

Three ways to send credentials, read in this order: an ``X-API-Key`` header, the same key as
``Authorization: Bearer ...``, a signed session cookie (:mod:`growthops.web.sessions`).
:func:`read_credentials` reads them in one pass for :func:`growthops.web.deps.principal`;
:data:`CREDENTIAL_SCHEMES` are the same three as FastAPI security schemes, documented on the
operations that use ``principal`` by :func:`document_credentials` (issue 16,
docs/performance.md §11) and still used as ``Security`` dependencies by
:func:`growthops.web.deps.authenticate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import OpenAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from growthops.web.sessions import SESSION_COOKIE

_CREDENTIALS = "growthops.credentials"
_API_KEY_HEADER = b"x-api-key"


def sent_api_key(request: HTTPConnection) -> str | None:
    """Return the request's first ``X-API-Key`` header (None without one), found in one pass over the
    raw headers and remembered in the request's scope: the three security schemes below each
    looked their header up through Starlette's ``Headers`` (a linear scan per lookup) and parsed
    the cookies, about a fifth of a hot request's dependency solving (py-spy, issue 16,
    docs/performance.md §9). Header names are lower-case in ASGI, as ``Headers.get`` assumes."""
    scope = request.scope
    if _CREDENTIALS not in scope:
        value = next((v for k, v in scope["headers"] if k == _API_KEY_HEADER), None)
        scope[_CREDENTIALS] = value.decode("latin-1") if value is not None else None
    return scope[_CREDENTIALS]


class _ApiKeyHeader(APIKeyHeader):
    """``APIKeyHeader`` (same OpenAPI scheme) reading the header through :func:`sent_api_key`."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # noqa: D102
        return self.check_api_key(sent_api_key(request))


class _Bearer(HTTPBearer):
    """``HTTPBearer`` (same OpenAPI scheme) that does not parse ``Authorization`` when an
    ``X-API-Key`` is sent: :func:`growthops.web.deps.principal` then uses that key and never reads the bearer."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:  # noqa: D102
        if sent_api_key(request):
            return None
        return await super().__call__(request)


class _SessionCookie(APIKeyCookie):
    """``APIKeyCookie`` (same OpenAPI scheme) that does not parse the cookies when an
    ``X-API-Key`` is sent: :func:`growthops.web.deps.principal` then uses that key and never reads the session."""

    async def __call__(self, request: HTTPConnection) -> str | None:  # noqa: D102
        if sent_api_key(request):
            return None
        return await super().__call__(request)


api_key_header = _ApiKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="APIKeyHeader",
    description="A tenant's API key: gok_<prefix>_<secret>",
)
bearer = _Bearer(auto_error=False, scheme_name="HTTPBearer",
                 description="The same key as a bearer token")
session_cookie = _SessionCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="APIKeyCookie",
    description="Signed session cookie set by POST /api/v1/auth/login",
)


def read_credentials(request: HTTPConnection) -> tuple[str | None, str | None]:
    """Return ``(key, session cookie)`` as the three documented schemes read them: the
    ``X-API-Key`` header, else the credentials of ``Authorization: Bearer ...`` (another scheme,
    or none, gives no key); the cookies are parsed only without a key (a key is then used, and
    the session never read)."""
    key = sent_api_key(request)
    if key:
        return key, None
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    return None, request.cookies.get(SESSION_COOKIE) or None


#: The security schemes of :func:`growthops.web.deps.principal`, in the order FastAPI listed them when they were
#: its sub-dependencies: an API key header, the same key as a bearer token, a session cookie.
CREDENTIAL_SCHEMES = (api_key_header, bearer, session_cookie)
#: OpenAPI operation keys that FastAPI writes before ``security`` (its operation metadata).
_OPERATION_METADATA = ("tags", "summary", "description", "operationId", "deprecated")


def _calls(dependant: Any, target: Callable[..., Any]) -> bool:
    """True when ``target`` is called somewhere in FastAPI's dependency tree ``dependant``."""
    todo = [dependant]
    while todo:
        d = todo.pop()
        if d.call is target:
            return True
        todo.extend(d.dependencies)
    return False


def document_credentials(app: Any, dependency: Callable[..., Any]) -> None:
    """Document :data:`CREDENTIAL_SCHEMES` on every operation of ``app`` whose dependencies
    call ``dependency`` (:func:`growthops.web.deps.principal`), in the OpenAPI schema
    (``app.openapi``, wrapped; call it before
    :func:`growthops.web.limits.document_limits`, which wraps it in turn).

    The same document as when the schemes were :func:`growthops.web.deps.principal`'s ``Security``
    sub-dependencies (FastAPI 0.165): each such operation gets ``security`` (one requirement
    per scheme, no scopes) right after its metadata, and ``components.securitySchemes`` the
    schemes' models (``jsonable_encoder(..., by_alias=True, exclude_none=True)``). Routes are
    found with :func:`fastapi.routing.iter_route_contexts` (included routers' effective
    paths and dependencies, as FastAPI's own schema walks them).
    """
    build = app.openapi
    documented: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if documented and documented[0] == id(schema):
            return schema
        requirement = [{s.scheme_name: []} for s in CREDENTIAL_SCHEMES]
        paths = schema.get("paths", {})
        found = False
        for ctx in iter_route_contexts(app.routes):
            if not isinstance(ctx.original_route, APIRoute) or not ctx.include_in_schema:
                continue
            if not _calls(ctx.dependant, dependency):
                continue
            ops = paths.get(ctx.path_format, {})
            for method in sorted(ctx.methods or ()):
                op = ops.get(method.lower())
                if op is None or "security" in op:
                    continue
                found = True
                ops[method.lower()] = {
                    **{k: v for k, v in op.items() if k in _OPERATION_METADATA},
                    "security": [dict(r) for r in requirement],
                    **{k: v for k, v in op.items() if k not in _OPERATION_METADATA}}
        if found:
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            for s in CREDENTIAL_SCHEMES:
                schemes.setdefault(s.scheme_name, jsonable_encoder(
                    s.model, by_alias=True, exclude_none=True))
            # FastAPI's last step, again: its OpenAPI model orders each object's keys
            schema = jsonable_encoder(OpenAPI(**schema), by_alias=True, exclude_none=True)
        app.openapi_schema = schema
        documented[:] = [id(schema)]
        return schema

    app.openapi = openapi
