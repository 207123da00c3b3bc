"""Request limits for every route: body size and rate limits (per client address, per account).

**Body size.** :class:`BodyLimitMiddleware` (the outermost middleware) refuses a body larger
than :attr:`Settings.max_body_bytes` (``GROWTHOPS_MAX_BODY_BYTES``, 1 MiB by default) with
**413** before any route runs: at once when the declared ``Content-Length`` is larger, else as
soon as a streamed (chunked) body passes the limit while it is read. Nothing is parsed, and the
rest of the body is not read. A path may get its own limit, larger or smaller:
:func:`register_body_limit` (a domain calls it when its module is imported) or the setting
``GROWTHOPS_MAX_BODY_PATHS`` (JSON ``{"/prefix": bytes}``). Routes added later by any domain are
covered without doing anything.

**Rate limits** (``limits``, fixed windows), checked by :class:`RateLimitMiddleware` before the
request reaches a route; past a limit the answer is **429** with ``Retry-After`` (seconds):

==================  ==========================================  ===============================
rule                counted per                                  default (setting)
==================  ==========================================  ===============================
``default``         client address, every request               ``GROWTHOPS_RATE_LIMIT_DEFAULT``
``public``          client address, requests without            ``GROWTHOPS_RATE_LIMIT_PUBLIC``
                    credentials (no API key, no session cookie)
``auth_failures``   client address, each 401 answer; once       ``GROWTHOPS_RATE_LIMIT_AUTH_FAILURES``
                    spent, every request of the address is 429
``login``           client address, ``POST`` on a login path    ``GROWTHOPS_RATE_LIMIT_LOGIN_ADDRESS``
``login_account``   the e-mail, each failed login; once spent,  ``GROWTHOPS_RATE_LIMIT_LOGIN_ACCOUNT``
                    that account's logins answer 429 (even
                    with the right password) until the window
                    ends (:func:`check_login_account`)
==================  ==========================================  ===============================

A path may get its own per-address rule instead of ``default`` and ``public``:
:func:`register_path_limit` (``register_path_limit("/webhooks/", "12000/minute")``; a domain
calls it when its module is imported), or the setting ``GROWTHOPS_RATE_LIMIT_PATHS`` (JSON
``{"/prefix": "N/period"}``, which wins over a domain's). That is for machine-to-machine
routes authenticated otherwise than by credentials headers, such as Meta's signed webhooks,
which arrive from a few platform addresses at the platform's pace; ``auth_failures`` and
``login`` still apply there. Public routes that new domains add without such a rule (a lead
form) are limited without any code: they are requests without credentials.

**Storage** (``GROWTHOPS_RATE_LIMIT_STORAGE``): ``memory`` (the default; :class:`WindowStorage`,
fixed-window counters in a dict: exact for one process, which is what ``growthops serve``
runs; unlike ``limits``' ``MemoryStorage`` it starts no timer thread, which that one did every
10 ms under load, see docs/performance.md §6) or
``postgres`` (:class:`PostgresStorage`, table ``core.rate_limits``: one atomic upsert per hit,
shared by every worker process and machine of a deployment; use it with several uvicorn
workers, where per-process counters would multiply every limit by the number of workers).

The client address is the ASGI ``client`` (behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips=<proxy>`` so it is the real client's).
Source of the login numbers: OWASP Authentication Cheat Sheet, "Account Lockout" and OWASP
ASVS 4.0.3 V2.2.1 (anti-automation: throttle failed attempts per account and per address).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import limits
import psycopg
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from growthops.core.db import Database
from growthops.core.errors import GrowthopsError

#: Paths whose ``POST`` is a login (the ``login`` rule and the per-account failures).
LOGIN_PATHS = ("/api/v1/auth/login", "/login")
#: Per-address rules of paths (prefix -> "N/period"), registered by domains.
_PATH_RULES: dict[str, str] = {}


def register_path_limit(prefix: str, limit: str) -> None:
    """Give the paths starting with ``prefix`` their own per-address limit (instead of the
    ``default`` and ``public`` rules), e.g. ``register_path_limit("/webhooks/", "12000/minute")``.

    ``limit`` is in the ``limits`` notation (``"N/second|minute|hour|day"``, ``"N per 15
    minutes"``). Raises ``ValueError`` for an unreadable limit.
    """
    limits.parse(limit)
    _PATH_RULES[prefix] = limit


#: Body-size limits of paths (prefix -> bytes), registered by domains.
_BODY_RULES: dict[str, int] = {}


def register_body_limit(prefix: str, max_bytes: int) -> None:
    """Give the paths starting with ``prefix`` their own body-size limit in bytes."""
    if max_bytes < 0:
        raise ValueError("max_bytes must be >= 0")
    _BODY_RULES[prefix] = max_bytes


class PayloadTooLarge(HTTPException):
    """The request body passed its limit (HTTP 413; raised while the body is read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """ASGI middleware: the body-size limit of every route (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, default: int, paths: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.paths = dict(paths)

    def limit_for(self, path: str) -> int:
        """The limit of ``path``: its longest registered prefix's, else the default."""
        best, limit = -1, self.default
        for prefix, n in self.paths.items():
            if path.startswith(prefix) and len(prefix) > best:
                best, limit = len(prefix), n
        return limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            body = {"error": {"type": "PayloadTooLarge", "details": {"limit": limit},
                              "message": f"request body larger than {limit} bytes"}}
            await JSONResponse(body, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(limit)
            return message

        await self.app(scope, counted, send)


class TooManyRequests(GrowthopsError):
    """A rate limit is spent (HTTP 429); ``retry_after`` is in whole seconds."""

    exit_code = 75
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# ------------------------------------------------------------------------------- storage
class WindowStorage(Storage):
    """An in-process ``limits`` storage for fixed windows, without any background thread.

    ``key -> [hits, expires_at]`` (``time.time()`` seconds) under one lock; an expired window
    is dropped when its key is next read, and every 1000 increments a sweep drops all expired
    windows (so memory stays bounded by the keys of the current windows). Supports what
    :class:`~limits.strategies.FixedWindowRateLimiter` needs (incr, get, get_expiry, clear).
    """

    STORAGE_SCHEME = ["growthops+memory"]

    def __init__(self, **options: Any) -> None:
        super().__init__(None, **options)
        self._windows: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _live(self, key: str, now: float) -> list[float] | None:
        w = self._windows.get(key)
        if w is not None and w[1] <= now:
            del self._windows[key]
            return None
        return w

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            self._hits += 1
            if self._hits % 1000 == 0:
                for k in [k for k, w in self._windows.items() if w[1] <= now]:
                    del self._windows[k]
            w = self._live(key, now)
            if w is None:
                w = self._windows[key] = [0, now + expiry]
            w[0] += amount
            return int(w[0])

    def get(self, key: str) -> int:
        with self._lock:
            w = self._live(key, time.time())
            return int(w[0]) if w else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._lock:
            w = self._live(key, now)
            return w[1] if w else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            n = len(self._windows)
            self._windows.clear()
            return n

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


class PostgresStorage(Storage):
    """A ``limits`` storage on ``core.rate_limits`` (fixed windows), shared by processes.

    One statement per hit: an upsert that starts a new window when the old one expired and
    adds to it otherwise, atomic under concurrency (the row is locked by ``ON CONFLICT``).
    Keys are stored as SHA-256 digests. Rows of expired windows are deleted now and then.
    """

    STORAGE_SCHEME = ["growthops+postgresql"]

    def __init__(self, db: Database, **options: Any) -> None:
        super().__init__(None, **options)
        self.db = db
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return psycopg.Error

    @staticmethod
    def _k(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self._hits += 1
        with self.db.app_tx() as conn:
            if self._hits % 1000 == 0:
                conn.execute("delete from core.rate_limits where expires_at < now()")
            row = conn.execute(
                """insert into core.rate_limits as r (key, hits, expires_at)
                   values (%(k)s, %(n)s, now() + make_interval(secs => %(ttl)s))
                   on conflict (key) do update set
                     hits = case when r.expires_at <= now() then excluded.hits
                                 else r.hits + excluded.hits end,
                     expires_at = case when r.expires_at <= now() then excluded.expires_at
                                       else r.expires_at end
                   returning hits""",
                {"k": self._k(key), "n": amount, "ttl": expiry},
            ).fetchone()
        assert row is not None
        return int(row["hits"])

    def get(self, key: str) -> int:
        with self.db.app_tx() as conn:
            row = conn.execute("select hits from core.rate_limits where key = %s "
                               "and expires_at > now()", [self._k(key)]).fetchone()
        return int(row["hits"]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self.db.app_tx() as conn:
            row = conn.execute("select extract(epoch from expires_at)::float8 as e "
                               "from core.rate_limits where key = %s", [self._k(key)]).fetchone()
        return float(row["e"]) if row else time.time()

    def check(self) -> bool:
        try:
            with self.db.app_tx() as conn:
                conn.execute("select 1 from core.rate_limits limit 1")
            return True
        except psycopg.Error:
            return False

    def reset(self) -> int | None:
        with self.db.app_tx() as conn:
            return conn.execute("delete from core.rate_limits").rowcount

    def clear(self, key: str) -> None:
        with self.db.app_tx() as conn:
            conn.execute("delete from core.rate_limits where key = %s", [self._k(key)])


# ------------------------------------------------------------------------------- limiter
@dataclass
class Limiter:
    """The app's rate limits: parsed rules over one ``limits`` storage.

    ``blocking``: True when the storage does I/O (PostgreSQL): calls then run in a thread.
    """

    storage: Storage
    rules: dict[str, limits.RateLimitItem]
    paths: dict[str, limits.RateLimitItem]
    blocking: bool
    enabled: bool = True
    #: path prefixes set by the settings (``GROWTHOPS_RATE_LIMIT_PATHS``): they win over the
    #: rules domains register
    configured: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.strategy = FixedWindowRateLimiter(self.storage)
        self._registered = -1

    def hit(self, rule: str | limits.RateLimitItem, ident: str) -> int:
        """Count one hit; return 0 when allowed, else the seconds until the window ends."""
        item = self.rules[rule] if isinstance(rule, str) else rule
        if self.strategy.hit(item, ident):
            return 0
        return self.retry_after(item, ident)

    def spent(self, rule: str, ident: str) -> int:
        """Without counting: 0 when ``rule`` still allows a hit, else the seconds to wait."""
        item = self.rules[rule]
        if self.strategy.test(item, ident):
            return 0
        return self.retry_after(item, ident)

    def retry_after(self, item: limits.RateLimitItem, ident: str) -> int:
        reset = self.strategy.get_window_stats(item, ident).reset_time
        return max(1, math.ceil(reset - time.time()))

    def clear(self, rule: str, ident: str) -> None:
        self.strategy.clear(self.rules[rule], ident)

    def path_rule(self, path: str) -> tuple[str, limits.RateLimitItem] | None:
        """The longest registered prefix of ``path`` and its rule, or None. The rules a domain
        registers after the app was built (its routers are imported later) count too; the
        settings' rules win over them."""
        if len(_PATH_RULES) != self._registered:  # a domain registered a rule since
            for prefix, rule in list(_PATH_RULES.items()):
                if prefix not in self.configured:
                    self.paths[prefix] = limits.parse(rule)
            self._registered = len(_PATH_RULES)
        best = None
        for prefix, item in self.paths.items():
            if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, item)
        return best

    async def run(self, fn: Callable[..., int], *args: Any) -> int:
        if self.blocking:
            return await anyio.to_thread.run_sync(fn, *args)
        return fn(*args)


def build_limiter(settings: Any, db: Database) -> Limiter:
    """Build the limiter from the settings (see the module docstring for each knob)."""
    storage: Storage = (PostgresStorage(db) if settings.rate_limit_storage == "postgres"
                        else WindowStorage())
    rules = {
        "default": settings.rate_limit_default,
        "public": settings.rate_limit_public,
        "auth_failures": settings.rate_limit_auth_failures,
        "login": settings.rate_limit_login_address,
        "login_account": settings.rate_limit_login_account,
    }
    paths = {**_PATH_RULES, **(settings.rate_limit_paths or {})}
    return Limiter(
        storage=storage,
        rules={k: limits.parse(v) for k, v in rules.items()},
        paths={k: limits.parse(v) for k, v in paths.items()},
        blocking=settings.rate_limit_storage == "postgres",
        enabled=settings.rate_limits_enabled,
        configured=frozenset(settings.rate_limit_paths or {}),
    )


def client_address(scope: Scope) -> str:
    """The client's address (ASGI ``client``; ``unknown`` when the server gives none)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many(path: str, retry_after: int, what: str) -> Response:
    """The 429 answer: the API's error body under ``/api``, ``/slack`` and ``/webhooks``, text
    elsewhere (the dashboard)."""
    headers = {"Retry-After": str(retry_after)}
    message = f"too many requests ({what}); retry in {retry_after} s"
    if path.startswith(("/api/", "/slack/", "/webhooks/")) or path in ("/openapi.json",):
        body = {"error": {"type": "TooManyRequests", "message": message,
                          "details": {"retry_after": retry_after}}}
        return JSONResponse(body, status_code=429, headers=headers)
    return PlainTextResponse(message, status_code=429, headers=headers)


class RateLimitMiddleware:
    """ASGI middleware applying the ``default``, ``public``/path, ``login`` and
    ``auth_failures`` rules (see the module docstring) to every HTTP request."""

    def __init__(self, app: ASGIApp, *, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lim = self.limiter
        if scope["type"] != "http" or not lim.enabled:
            await self.app(scope, receive, send)
            return
        addr = client_address(scope)
        path: str = scope.get("path", "")
        headers = Headers(scope=scope)
        checks: list[tuple[str, str | limits.RateLimitItem, str]]
        custom = lim.path_rule(path)
        if custom is not None:  # the path's own rule, instead of default and public
            checks = [(f"path {custom[0]}", custom[1], f"{custom[0]}|{addr}")]
        else:
            checks = [("default", "default", addr)]
            if not _has_credentials(headers):
                checks.append(("public", "public", addr))
        if scope.get("method") == "POST" and path in LOGIN_PATHS:
            checks.append(("login", "login", addr))
        wait = await lim.run(lim.spent, "auth_failures", addr)
        if wait:
            await too_many(path, wait, "authentication failures")(scope, receive, send)
            return
        for what, rule, ident in checks:
            wait = await lim.run(lim.hit, rule, ident)
            if wait:
                await too_many(path, wait, what)(scope, receive, send)
                return
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if status == 401:
            await lim.run(lim.hit, "auth_failures", addr)


def _has_credentials(headers: Headers) -> bool:
    from growthops.web.sessions import SESSION_COOKIE

    return bool(headers.get("x-api-key") or headers.get("authorization")
                or SESSION_COOKIE in headers.get("cookie", ""))


def install_limits(app: Any, settings: Any, db: Database) -> Limiter:
    """Add :class:`RateLimitMiddleware` then :class:`BodyLimitMiddleware` (the outermost) to
    ``app``; return the limiter (``app.state.limiter``, used by the login routes). Call it
    after every other ``add_middleware``."""
    limiter = build_limiter(settings, db)
    app.state.limiter = limiter
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes,
                       paths={**_BODY_RULES, **(settings.max_body_paths or {})})
    return limiter


# --------------------------------------------------------------------------- per account
def _account(email: Any) -> str:
    return email.strip().lower() if isinstance(email, str) else ""


def check_login_account(request: Request, email: Any) -> None:
    """Raise :class:`TooManyRequests` when ``email``'s failed logins spent their window.

    Called by the login routes before the password is checked, so a locked account answers
    429 even to the right password until the window ends. Sync (may do I/O): call it from a
    thread.
    """
    lim: Limiter | None = getattr(request.app.state, "limiter", None)
    if lim is None or not lim.enabled or not _account(email):
        return
    wait = lim.spent("login_account", _account(email))
    if wait:
        raise TooManyRequests(
            f"too many failed logins for this account; retry in {wait} s", retry_after=wait)


def login_failed(request: Request, email: Any) -> None:
    """Count one failed login of ``email`` (sync; call it from a thread)."""
    lim: Limiter | None = getattr(request.app.state, "limiter", None)
    if lim is not None and lim.enabled and _account(email):
        lim.hit("login_account", _account(email))


def login_succeeded(request: Request, email: Any) -> None:
    """Forget ``email``'s failed logins after a successful one (sync)."""
    lim: Limiter | None = getattr(request.app.state, "limiter", None)
    if lim is not None and lim.enabled and _account(email):
        lim.clear("login_account", _account(email))



def document_limits(app: Any) -> None:
    """Declare 413 (body too large) and 429 (rate limit, ``Retry-After``) on every operation
    of ``app``'s OpenAPI schema, whichever router added it. Wraps ``app.openapi`` as it is
    when called (FastAPI's own, or another wrapper: call this one last)."""
    build = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if done != [id(schema)]:
            err = {"$ref": "#/components/schemas/ErrorOut"}
            has_err = "ErrorOut" in schema.get("components", {}).get("schemas", {})
            content = {"application/json": {"schema": err}} if has_err else {}
            for ops in schema.get("paths", {}).values():
                for op in ops.values():
                    responses = op.setdefault("responses", {})
                    responses.setdefault("413", {
                        "description": "Request body larger than the limit (growthops.web.limits)",
                        **({"content": content} if content else {})})
                    responses.setdefault("429", {
                        "description": "Rate limit spent; retry after Retry-After seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                    "description": "Seconds to wait"}},
                        **({"content": content} if content else {})})
            app.openapi_schema = schema
            done[:] = [id(schema)]
        return schema

    app.openapi = openapi
