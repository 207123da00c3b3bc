"""Request dependencies: who is asking (API key or session user) and the tenant transaction.

Two ways to authenticate, checked in this order:

1. a per-tenant **API key**, sent as ``X-API-Key: gok_...`` or ``Authorization: Bearer gok_...``
   (:mod:`growthops.core.auth.api_keys`); once a key is sent it must be valid (no fallback);
2. a **session user** (signed cookie, :mod:`growthops.web.sessions`), re-read from the database
   on every request (a disabled user is refused at once).

:func:`principal` returns either as a :class:`Principal`. Routes on a tenant take
:data:`Scope`: the tenant named in the path (``/api/v1/tenants/{tenant}/...``, client_key or id)
is resolved, checked against the principal (a key of tenant A, or a client_viewer of tenant A,
asking for tenant B gets **404**, exactly as for a tenant that does not exist), and the route
runs inside ``db.tenant_tx(tenant_id)``: opened before the route function and committed
**before the response is sent** (dependency scope ``"function"``), rolled back when the route
raises, so a 2xx answer means committed. The same route functions also serve the short routes
without a tenant in the path (``/api/v1/suggestions``...: the API key's tenant, or a
client_viewer's); see :func:`tenant_router` and :func:`own_router`.

Cross-site requests: session cookies are ``SameSite=Lax``; in addition, a session-authenticated
request with an unsafe method whose ``Origin`` header names another host is refused (403).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, Path, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from growthops.core.auth import api_keys
from growthops.core.auth.api_keys import ApiKeyIdentity, InvalidApiKey
from growthops.core.auth.users import LoginRequired, PermissionDenied, User, get_user
from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound
from growthops.web import credentials as cred
from growthops.web.sessions import session_user_id

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


#: Threads of :func:`in_worker_thread` (as many as anyio's default thread limiter allows).
WORKER_THREADS = 40
_executor: ThreadPoolExecutor | None = None


async def in_worker_thread(fn: Callable[[], T]) -> T:
    """Run ``fn()`` in one of growthops' worker threads and return its result (or raise its
    error), with the caller's context variables, as Starlette's ``run_in_threadpool`` does.

    The hot routes' one hop to a thread (:func:`read_in_scope`, :func:`run_in_scope`) goes
    through asyncio's executor path (a C ``SimpleQueue`` and one ``call_soon_threadsafe``)
    instead of anyio's (a ``queue.Queue`` with its ``Condition``, a capacity limiter, a cancel
    scope): 42 against 59 µs of CPU per hop measured alone, and anyio's wake-up of its worker
    was 6 % of the approval's samples on the event loop (py-spy, issue 16, docs/performance.md
    §11). At most :data:`WORKER_THREADS` threads (created on first use, per process); like
    anyio's, a started call runs to its end even when the awaiting request is cancelled.
    """
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="growthops-worker")
    ctx = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_executor, ctx.run, fn)


def get_database(request: Request) -> Database:
    """Return the app's :class:`Database` (``app.state.db``)."""
    return request.app.state.db


@dataclass(frozen=True)
class Principal:
    """Who makes the request: a tenant's API key or a user (exactly one is set)."""

    user: User | None = None
    key: ApiKeyIdentity | None = None

    @property
    def kind(self) -> str:
        """``api_key`` or ``user``."""
        return "api_key" if self.key is not None else "user"

    @property
    def tenant_id(self) -> UUID | None:
        """The one tenant the principal is bound to (key, client_viewer), or None (staff)."""
        if self.key is not None:
            return _as_uuid(self.key.tenant_id)
        return self.user.tenant_id if self.user is not None else None

    def can_access(self, tenant_id: UUID | str) -> bool:
        """True when the principal may read ``tenant_id`` (a key: its own tenant only)."""
        if self.key is not None:
            return str(self.key.tenant_id) == str(tenant_id)
        return self.user is not None and self.user.can_access(tenant_id)

    @property
    def can_decide(self) -> bool:
        """True when the principal may decide on suggestions (keys and staff; not viewers)."""
        return self.key is not None or (self.user is not None and self.user.can_decide)

    @property
    def can_answer(self) -> bool:
        """True when the principal may answer an inbox (keys, staff, support agents)."""
        return self.key is not None or (self.user is not None and self.user.can_answer)

    @property
    def actor(self) -> str:
        """The name recorded as the author of a change: the user's e-mail, or the key's
        ``apikey:<name>#<id>``."""
        if self.user is not None:
            return self.user.email
        assert self.key is not None
        return self.key.label


def _same_origin(request: Request) -> bool:
    """True without an Origin header (same-origin GETs, non-browser clients) or when it matches."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


def current_user(request: Request) -> User:
    """Return the session's active user; :class:`LoginRequired` (401, pages: redirect) else.

    Also refuses (403) a session request with an unsafe method from another origin.
    """
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    uid = session_user_id(request)
    if uid is None:
        raise LoginRequired("not logged in: POST /api/v1/auth/login, or send an API key")
    try:
        user = get_user(get_database(request), uid)
    except NotFound:
        user = None
    if user is None or not user.active:
        request.session.clear()
        raise LoginRequired("session ended: the account is disabled or removed")
    if request.method not in _SAFE_METHODS and not _same_origin(request):
        raise PermissionDenied("cross-site request refused (Origin does not match Host)")
    request.state.user = user
    return user


async def principal(request: Request) -> Principal:
    """Return the request's API key identity or session user.

    Raises :class:`InvalidApiKey` (401) for a bad key, :class:`PermissionDenied` (403) for a
    key without the ``api`` scope (a capture-only key), :class:`LoginRequired` (401) when there
    is neither a key nor a session.

    Reads the credentials itself (:func:`growthops.web.credentials.read_credentials`) instead
    of through three ``Security`` sub-dependencies: FastAPI solves each sub-dependency on every
    request, and the three were 18 % of the approval's instructions on the event loop
    (callgrind, 1.285 against 1.059 M per request, issue 16, docs/performance.md §11). The
    three schemes are still documented on every operation that depends on this function
    (:func:`growthops.web.credentials.document_credentials`), as FastAPI documented them from
    the sub-dependencies.

    Async so that a cached key (no I/O, see :func:`~growthops.core.auth.api_keys.cached`)
    costs no hop to the thread pool; a key to verify (argon2, database) and a session user
    (database) are handled in the thread pool.
    """
    key, cookie = cred.read_credentials(request)
    if key:
        # argon2 only on a cache miss; liveness is checked in the tenant transaction (_open)
        ident = api_keys.cached(key) or await run_in_threadpool(
            api_keys.verify_cached, get_database(request).app_tx, key)
        if not ident.allows("api"):
            raise PermissionDenied(
                "this API key is limited to lead capture (scope leads:capture): "
                "POST /api/v1/leads only")
        return Principal(key=ident)
    if cookie is None and session_user_id(request) is None:
        raise LoginRequired(
            "missing credentials: send 'X-API-Key: gok_...' or "
            "'Authorization: Bearer gok_...', or log in (POST /api/v1/auth/login)"
        )
    return Principal(user=await run_in_threadpool(current_user, request))


Who = Annotated[Principal, Depends(principal)]
#: A row id in a path: positive, within PostgreSQL's bigint.
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
CurrentUser = Annotated[User, Depends(current_user)]


def resolve_tenant(request: Request, who: Principal, tenant: str) -> dict[str, Any]:
    """Return the directory row of ``tenant`` (client_key or id) if ``who`` may access it.

    Raises :class:`NotFound` both when the tenant does not exist and when the principal may not
    see it, with the same message, so a tenant's existence is not revealed.
    """
    with get_database(request).app_tx() as conn:
        row = conn.execute(
            """select tenant_id, client_key, client_name, time_zone, currency
               from core.tenant_directory() where client_key = %s or tenant_id::text = %s""",
            [tenant, tenant.lower()],
        ).fetchone()
    if row is None or not who.can_access(row["tenant_id"]):
        raise NotFound(f"tenant: no tenant {tenant!r}")
    return row


@dataclass(frozen=True)
class TenantScope:
    """A request on one tenant: its id and key, the principal, and the tenant transaction."""

    tenant_id: UUID
    client_key: str | None  # None on the short routes (the principal's own tenant)
    who: Principal
    conn: psycopg.Connection[Any]

    def require_decide(self) -> None:
        """Raise :class:`PermissionDenied` (403) unless the principal may decide."""
        if not self.who.can_decide:
            raise PermissionDenied(
                f"a {self.who.user.role if self.who.user else 'principal'} "
                "can read this tenant but cannot change it"
            )


@contextmanager
def key_tx(db: Database, ident: ApiKeyIdentity) -> Iterator[psycopg.Connection[Any]]:
    """Open the tenant transaction of an API key, checking first that the key is still live.

    The check (:data:`~growthops.core.auth.api_keys.LIVENESS_SQL`: the key exists in its tenant
    and is not revoked; records its use) is pipelined with ``BEGIN`` and the tenant setting:
    no extra round trip. A revoked key (by any process) raises :class:`InvalidApiKey` (401)
    and leaves this process's cache.
    """
    with key_tx_batch(db, ident, []) as (conn, _):
        yield conn


@contextmanager
def key_tx_batch(
    db: Database, ident: ApiKeyIdentity, statements: Sequence[tuple[str, Any]]
) -> Iterator[tuple[psycopg.Connection[Any], list[list[dict[str, Any]]]]]:
    """:func:`key_tx` with ``statements`` sent in the same round trip, after the liveness
    check; yield ``(conn, each statement's rows)``.

    A dead key raises :class:`InvalidApiKey` before the block runs and rolls the transaction
    back: what the statements wrote is not kept (``Database.tenant_tx_batch``).
    """
    live = (api_keys.LIVENESS_SQL, {"t": str(ident.tenant_id), "k": ident.key_id})
    with db.tenant_tx_batch(ident.tenant_id, [live, *statements]) as (conn, rows):
        row = rows[0][0] if rows[0] else None
        if row is None or not row.get("live"):
            api_keys.forget(ident.key_id)
        api_keys.check_live(row)
        yield conn, rows[1:]


async def tenant_path(
    tenant: Annotated[
        str, Path(min_length=1, max_length=64, description="The tenant's client_key or id.")
    ],
) -> None:
    """Declare the ``{tenant}`` path parameter (read by :func:`request_scope`). Async: a
    function that does nothing is not worth a hop to the thread pool."""


def _as_uuid(value: UUID | str) -> UUID:
    """``value`` as a :class:`~uuid.UUID` (returned as is when it already is one)."""
    return value if isinstance(value, UUID) else UUID(str(value))


def _tenant_row(request: Request, who: Principal) -> dict[str, Any]:
    """The tenant of the request (``tenant_id``, ``client_key``): the path's, else the
    principal's own; :class:`NotFound` (404) as :func:`request_scope` says."""
    tenant = request.path_params.get("tenant")
    if tenant is not None:
        return resolve_tenant(request, who, str(tenant))
    if who.tenant_id is None:
        raise NotFound(
            "this route serves the caller's own tenant (an API key or a "
            "client_viewer); staff use /api/v1/tenants/{tenant}/..."
        )
    # the principal's own tenant exists (foreign key of its key or user row): no lookup
    return {"tenant_id": who.tenant_id, "client_key": None}


@contextmanager
def scope_tx(request: Request, who: Principal) -> Iterator[TenantScope]:
    """Open the request's tenant transaction (sync); what :func:`request_scope` yields.

    The tenant as :func:`request_scope` says; an API key's transaction checks its liveness
    first (:func:`key_tx`). Commits when the block ends, rolls back when it raises.
    """
    with scope_tx_batch(request, who, None) as (scope, _):
        yield scope


@contextmanager
def scope_tx_batch(
    request: Request,
    who: Principal,
    statements: Callable[[UUID], Sequence[tuple[str, Any]]] | None,
) -> Iterator[tuple[TenantScope, list[list[dict[str, Any]]]]]:
    """:func:`scope_tx` whose opening round trip also sends ``statements(tenant_id)`` (after
    an API key's liveness check); yield ``(scope, each statement's rows)``.

    The block sees the rows before anything is committed and may still refuse (raise: all
    is rolled back). A dead key raises 401 before the block runs, the statements' writes
    rolled back (:func:`key_tx_batch`); when ``statements`` itself refuses the request (403,
    422), a dead key still gets 401 instead.
    """
    row = _tenant_row(request, who)
    tid = _as_uuid(row["tenant_id"])
    db = get_database(request)
    try:
        todo = statements(tid) if statements is not None else []
    except Exception:
        # A request refused before its transaction (403, 422) by a key revoked behind this
        # process's cache gets 401 first, as without the cache: one round trip, error path only.
        if who.key is not None:
            with key_tx_batch(db, who.key, []):
                pass
        raise
    with (key_tx_batch(db, who.key, todo) if who.key is not None
          else db.tenant_tx_batch(tid, todo)) as (conn, rows):
        yield TenantScope(tenant_id=tid, client_key=row["client_key"], who=who, conn=conn), rows


def request_scope(request: Request, who: Who) -> Iterator[TenantScope]:
    """Yield the tenant transaction of the request's tenant.

    Under ``/api/v1/tenants/{tenant}/...`` the tenant is the path's (404 when ``who`` may not
    see it); on the short routes without a tenant in the path it is the principal's own
    (an API key's, a client_viewer's); staff users have none there and get 404 naming the
    ``/api/v1/tenants/{tenant}/`` form.

    A sync generator dependency costs two hops to the thread pool (open, close) plus the sync
    route's own: the hot routes use :func:`run_in_scope` / :func:`read_in_scope` instead.
    """
    with scope_tx(request, who) as scope:
        yield scope


async def run_in_scope(
    request: Request,
    who: Principal,
    fn: Callable[..., T],
    statements: Callable[[UUID], Sequence[tuple[str, Any]]] | None = None,
) -> T:
    """Run ``fn(scope)`` in the request's tenant transaction, in one hop to a worker thread
    (:func:`in_worker_thread`).

    The same tenant, checks, commit and rollback as a route taking :data:`Scope` (see
    :func:`scope_tx`), for an async route: opening the transaction, ``fn`` and the commit run
    together in one worker thread (issue 16, docs/performance.md §7). With ``statements``,
    they are sent with the transaction's opening (:func:`scope_tx_batch`, one round trip less)
    and ``fn(scope, rows)`` gets their rows. Returns what ``fn`` returns; raises what it, the
    tenant's resolution or the key's liveness raise (then nothing is committed).
    """
    def work() -> T:
        with scope_tx_batch(request, who, statements) as (scope, rows):
            return fn(scope) if statements is None else fn(scope, rows)

    return await in_worker_thread(work)


async def read_in_scope(
    request: Request,
    who: Principal,
    statements: Callable[[UUID], Sequence[tuple[str, Any]]],
    *,
    key_checked: bool = False,
    binds_tenant: bool = False,
) -> list[list[dict[str, Any]]]:
    """Run ``statements(tenant_id)`` (``(sql, params)`` pairs for the resolved tenant) in the
    request's tenant transaction in one round trip and one hop to a worker thread
    (:func:`in_worker_thread`); return each
    one's rows (:meth:`~growthops.core.db.Database.tenant_batch`: the transaction commits in
    the same round trip).

    For reads, and for a write that is itself conditional on the API key's liveness (the
    decision, :func:`growthops.ads.action.decisions.decide_query`'s ``live_key``): with an API
    key, its liveness check (:data:`~growthops.core.auth.api_keys.LIVENESS_SQL`) runs first in
    the same transaction and is read before anything is returned: a revoked key gets
    :class:`InvalidApiKey` (401) and leaves this process's cache, and the rows read with it are
    dropped. The tenant is resolved as by :func:`request_scope` (404). When ``statements``
    itself refuses the request (raises: 403, 422), a key revoked behind this process's cache
    gets 401 instead, as with :func:`scope_tx_batch` (one round trip, on that error path only).

    ``key_checked=True``: the caller's statements are themselves conditional on the key's
    liveness and record its use (the decision's ``live_key``), and an empty answer is followed
    by a transaction that checks the key (:func:`run_in_scope`): the separate liveness
    statement is then not sent (one statement fewer per request, docs/performance.md §10).

    ``binds_tenant=True`` (with ``key_checked`` for an API key): ``statements`` is one statement
    that binds its transaction to the tenant itself (``ads.decide_suggestion``); it is sent
    alone on an autocommit connection (:meth:`~growthops.core.db.Database.one_statement`: no
    ``BEGIN``, tenant setting or ``COMMIT``, one wait; docs/performance.md §11). Raises
    ``ValueError`` for several statements, or for an API key without ``key_checked``.
    """
    def work() -> list[list[dict[str, Any]]]:
        tid = _as_uuid(_tenant_row(request, who)["tenant_id"])
        db = get_database(request)
        key = who.key
        try:
            todo = statements(tid)
        except Exception:
            if key is not None:
                with key_tx_batch(db, key, []):
                    pass
            raise
        if binds_tenant:
            if len(todo) != 1 or (key is not None and not key_checked):
                raise ValueError("binds_tenant: one statement, conditional on the key's liveness")
            ((query, params),) = todo
            return [db.one_statement(query, params)]
        if key is None or key_checked:
            return db.tenant_batch(tid, todo)
        live = (api_keys.LIVENESS_SQL, {"t": str(key.tenant_id), "k": key.key_id})
        first, *rest = db.tenant_batch(tid, [live, *todo])
        if not first or not first[0].get("live"):
            api_keys.forget(key.key_id)
        api_keys.check_live(first[0] if first else None)
        return rest

    return await in_worker_thread(work)


Scope = Annotated[TenantScope, Depends(request_scope, scope="function")]


def tenant_router(routes: APIRouter, path: str = "") -> APIRouter:
    """Return ``routes`` mounted under ``/api/v1/tenants/{tenant}<path>``."""
    router = APIRouter(dependencies=[Depends(tenant_path)])
    router.include_router(routes, prefix=f"/api/v1/tenants/{{tenant}}{path}")
    return router


class OwnRouter(APIRouter):
    """``routes`` under ``/api/v1<path>`` (the caller's own tenant), mounted flat.

    FastAPI (0.16x) keeps an included router as one route of its parent (``_IncludedRouter``)
    and matches a request by walking it, again for each level of inclusion: for the short
    routes (``/api/v1/suggestions``, the decision) that walk was 6 % of the API server's CPU
    under load (py-spy, docs/performance.md §10). :meth:`mount` adds each route to the app
    itself instead (``app.router.add_api_route`` with the route's own settings, which is what
    ``include_router`` did before FastAPI kept included routers whole), so a request is matched
    by one path regular expression. The same OpenAPI document either way (checked byte for
    byte, test ``test_the_hot_routes_are_matched_first``). Included like any router
    (``app.include_router``), it serves the same routes, nested.
    """

    def __init__(self, routes: APIRouter, path: str) -> None:
        super().__init__()
        self.source, self.mount_prefix = routes, f"/api/v1{path}"
        self.include_router(routes, prefix=self.mount_prefix)

    def mount(self, app: Any) -> None:
        """Add every route of ``routes`` to ``app`` (a FastAPI app) under the prefix, in order,
        as ``include_router`` would have (same tags, responses, dependencies, names and
        operation ids; the app's dependency overrides apply)."""
        for r in self.source.routes:
            if not isinstance(r, APIRoute):
                raise TypeError(f"{self.mount_prefix}: only API routes mount flat, not {r!r}")
            app.router.add_api_route(
                self.mount_prefix + r.path, r.endpoint, response_model=r.response_model,
                status_code=r.status_code, tags=r.tags, dependencies=r.dependencies,
                summary=r.summary, description=r.description,
                response_description=r.response_description, responses=r.responses,
                deprecated=r.deprecated, methods=r.methods, operation_id=r.operation_id,
                response_model_include=r.response_model_include,
                response_model_exclude=r.response_model_exclude,
                response_model_by_alias=r.response_model_by_alias,
                response_model_exclude_unset=r.response_model_exclude_unset,
                response_model_exclude_defaults=r.response_model_exclude_defaults,
                response_model_exclude_none=r.response_model_exclude_none,
                include_in_schema=r.include_in_schema, response_class=r.response_class,
                name=r.name, callbacks=r.callbacks, openapi_extra=r.openapi_extra,
                generate_unique_id_function=r.generate_unique_id_function)


def own_router(routes: APIRouter, path: str) -> OwnRouter:
    """Return ``routes`` mounted under ``/api/v1<path>`` (the caller's own tenant); the app
    mounts it flat (:class:`OwnRouter`)."""
    return OwnRouter(routes, path)


def actor(scope: TenantScope, given: str | None, field: str) -> str:
    """Return the name recorded as the author of a change made through the API.

    A session user acts as itself (its e-mail; another name in ``field`` answers 422). An API
    key acts as itself (``apikey:<name>#<id>``; naming someone in ``field`` answers 422) unless
    it was created to act for people (``acts_for_people``): then ``field`` names the person
    (required) and the key is recorded beside it (:func:`acting_key`). Raises
    :class:`InvalidInput`.
    """
    return actor_of(scope.who, given, field)


def actor_of(who: Principal, given: str | None, field: str) -> str:
    """:func:`actor` from the principal alone (before the tenant transaction is open)."""
    user = who.user
    if user is not None:
        if given is not None and given.strip().lower() != user.email:
            raise InvalidInput(
                f"body.{field}: a logged-in user acts as itself ({user.email}); omit the field"
            )
        return user.email
    key = who.key
    assert key is not None
    if not key.acts_for_people:
        if given:
            raise InvalidInput(
                f"body.{field}: this API key acts as itself ({key.label}) and cannot name "
                "someone else; omit the field, or use a key created with --acts-for-people"
            )
        return key.label
    if not given:
        raise InvalidInput(f"body.{field}: required with this API key (who is acting)")
    return given


def acting_key(scope: TenantScope) -> tuple[int, str] | None:
    """The API key behind a change, ``(key_id, label)``, or None for a session user."""
    return acting_key_of(scope.who)


def acting_key_of(who: Principal) -> tuple[int, str] | None:
    """:func:`acting_key` from the principal alone."""
    key = who.key
    return (key.key_id, key.label) if key is not None else None


# -- API-key-only dependencies (kept for callers written before session users existed) --------
def authenticate(
    request: Request,
    x_api_key: Annotated[str | None, Security(cred.api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(cred.bearer)] = None,
) -> ApiKeyIdentity:
    """Return the identity of the request's API key; :class:`InvalidApiKey` (401) otherwise."""
    key = x_api_key or (bearer.credentials if bearer else None)
    if not key:
        raise InvalidApiKey(
            "missing API key: send 'X-API-Key: gok_...' or "
            "'Authorization: Bearer gok_...' (growthops apikeys create)"
        )
    return api_keys.verify_cached(get_database(request).app_tx, key)


Identity = Annotated[ApiKeyIdentity, Depends(authenticate)]


def tenant_conn(request: Request, ident: Identity) -> Iterator[psycopg.Connection[Any]]:
    """Yield a connection inside the key's tenant transaction (row-level security bound)."""
    with key_tx(get_database(request), ident) as conn:
        yield conn


TenantConn = Annotated[psycopg.Connection[Any], Depends(tenant_conn, scope="function")]
