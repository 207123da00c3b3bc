"""Request dependencies: the database, API-key authentication and the tenant transaction.

A request is authenticated by a per-tenant API key, sent as ``X-API-Key: gok_...`` or
``Authorization: Bearer gok_...`` (:mod:`growthops.core.auth.api_keys`). Every route that touches
tenant data takes :data:`TenantConn`: the key's tenant transaction (``db.tenant_tx``), opened
before the route function and committed **before the response is sent** (FastAPI dependency
scope ``"function"``), rolled back when the route raises, so a 2xx answer means committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from growthops.core.auth.api_keys import ApiKeyIdentity, InvalidApiKey, touch, verify
from growthops.core.db import Database

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                               description="A tenant's API key: gok_<prefix>_<secret>")
_bearer = HTTPBearer(auto_error=False, description="The same key as a bearer token")


def get_database(request: Request) -> Database:
    """Return the app's :class:`Database` (``app.state.db``)."""
    return request.app.state.db


def authenticate(
    request: Request,
    x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKeyIdentity:
    """Return the identity of the request's API key; :class:`InvalidApiKey` (401) otherwise."""
    key = x_api_key or (bearer.credentials if bearer else None)
    if not key:
        raise InvalidApiKey("missing API key: send 'X-API-Key: gok_...' or "
                            "'Authorization: Bearer gok_...' (growthops apikeys create)")
    with get_database(request).app_tx() as conn:
        return verify(conn, key)


Identity = Annotated[ApiKeyIdentity, Depends(authenticate)]


def tenant_conn(request: Request, ident: Identity) -> Iterator[psycopg.Connection[Any]]:
    """Yield a connection inside the key's tenant transaction (row-level security bound)."""
    with get_database(request).tenant_tx(ident.tenant_id) as conn:
        touch(conn, tenant_id=ident.tenant_id, key_id=ident.key_id)
        yield conn


TenantConn = Annotated[psycopg.Connection[Any], Depends(tenant_conn, scope="function")]
