"""Server-side sessions for the dashboard and the API: revocable, the cookie an opaque id.

The cookie ``growthops_session`` carries only a random token (256 bits, ``secrets``); the
database keeps its SHA-256 in ``core.sessions`` (migration 0040) with the user, the expiry and
the session's small data (CSRF token, page language). Every request with the cookie reads the
live record (``core.session_get``: not revoked, not expired, user active), so a session ends
for good, everywhere, when it is revoked:

* at logout (``POST /api/v1/auth/logout``, ``/logout``): that session;
* at a new login from the same browser: the old session (no session fixation);
* at a password change and when a user is disabled: all the user's sessions
  (:func:`growthops.core.auth.users.set_password`, :func:`~growthops.core.auth.users.set_active`);
* by an admin: ``growthops users revoke-sessions EMAIL``
  (:func:`growthops.core.auth.users.revoke_sessions`).

Inside a request the session is ``request.session``, a dict as with Starlette's
``SessionMiddleware`` (``uid`` is the user id; ``csrf`` and ``lang`` are saved back when they
change). Clearing it (``request.session.clear()``) ends the session like a logout.

Cookie flags: ``HttpOnly``, ``SameSite=Lax`` (a cross-site form cannot POST with it),
``Secure`` in production (``GROWTHOPS_ENV=production``), ``Path=/``; lifetime
:data:`SESSION_MAX_AGE` (absolute, from login).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from fastapi import FastAPI, Request
from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from growthops.core.auth.users import User
from growthops.core.db import Database
from growthops.settings import Settings

SESSION_COOKIE = "growthops_session"
#: 8 hours, absolute. Source: OWASP Session Management Cheat Sheet ("Absolute Timeout": e.g.
#: 4-8 hours for an office worker using the application for a whole day).
SESSION_MAX_AGE = 8 * 3600
_STATE = "growthops.session"
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def is_production(settings: Settings | None = None) -> bool:
    """True when ``GROWTHOPS_ENV`` (or ``Settings.env``) is ``production``."""
    env = getattr(settings, "env", None) or os.environ.get("GROWTHOPS_ENV", "")
    return str(env).lower() in ("production", "prod")


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class SessionData(dict[str, Any]):
    """``request.session``: a dict that knows whether it was changed."""

    modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def clear(self) -> None:
        self.modified = True
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.modified = True
        super().update(*args, **kwargs)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        self.modified = True
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)


@dataclass
class _State:
    """The request's session record: its token hash (None: no live session), a new token to
    send (after a login), and whether the session was ended during the request."""

    hash: str | None = None
    new_token: str | None = None
    ended: bool = False


def _valid_token(token: str | None) -> bool:
    return bool(token) and 32 <= len(token or "") <= 128 and set(token or "") <= _TOKEN_CHARS


def _load(db: Database, token_sha: str) -> dict[str, Any] | None:
    with db.app_tx() as conn:
        return conn.execute("select * from core.session_get(%s)", [token_sha]).fetchone()


def _save(db: Database, token_sha: str, data: dict[str, Any]) -> None:
    with db.app_tx() as conn:
        conn.execute("select core.session_save(%s, %s)", [token_sha, Jsonb(data)])


def _end(db: Database, token_sha: str, reason: str) -> None:
    with db.app_tx() as conn:
        conn.execute("select core.session_end(%s, %s)", [token_sha, reason])


def _stored(session: dict[str, Any]) -> dict[str, Any]:
    """The part of the session saved in ``core.sessions.data`` (small strings only)."""
    return {k: v for k, v in session.items() if k in ("csrf", "lang") and isinstance(v, str)}


class ServerSessionMiddleware:
    """ASGI middleware: ``scope["session"]`` from ``core.sessions``; the cookie set or cleared
    when the response starts."""

    def __init__(self, app: ASGIApp, *, https_only: bool = False) -> None:
        self.app = app
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        db: Database = scope["app"].state.db
        state = _State()
        session = SessionData()
        token = Request(scope).cookies.get(SESSION_COOKIE)
        if _valid_token(token):
            sha = token_hash(str(token))
            row = await run_in_threadpool(_load, db, sha)
            if row is not None:
                state.hash = sha
                session.update(_stored(dict(row["data"] or {})))
                session.update(uid=str(row["user_id"]), exp=row["expires_at"].timestamp())
        session.modified = False
        scope["session"] = session
        scope[_STATE] = state

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._finish(db, state, session, message)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _finish(self, db: Database, state: _State, session: SessionData,
                      message: Message) -> None:
        headers = MutableHeaders(scope=message)
        if state.new_token is not None:
            headers.append("set-cookie", self._cookie(state.new_token, SESSION_MAX_AGE))
            if session.modified and state.hash:
                await run_in_threadpool(_save, db, state.hash, _stored(session))
            return
        if state.hash is None:
            return
        if state.ended or "uid" not in session:
            if not state.ended:
                await run_in_threadpool(_end, db, state.hash, "logout")
            headers.append("set-cookie", self._cookie("", 0))
        elif session.modified:
            await run_in_threadpool(_save, db, state.hash, _stored(session))

    def _cookie(self, value: str, max_age: int) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[SESSION_COOKIE] = value
        morsel = cookie[SESSION_COOKIE]
        morsel["path"] = "/"
        morsel["max-age"] = max_age
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        if self.https_only:
            morsel["secure"] = True
        if max_age == 0:
            morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return morsel.OutputString()


def install_sessions(app: FastAPI, settings: Settings) -> None:
    """Add the server-side session middleware to ``app`` (the database is ``app.state.db``)."""
    app.add_middleware(ServerSessionMiddleware, https_only=is_production(settings))


def _state(request: Request) -> _State:
    state = request.scope.get(_STATE)
    if not isinstance(state, _State):
        raise RuntimeError("the session middleware is not installed")
    return state


def login_session(request: Request, user: User) -> None:
    """Start a fresh session for ``user``: a new record and cookie; the request's former
    session (if any) is ended (no session fixation). Runs a database write: call it from a
    thread (a sync route, or ``run_in_threadpool``)."""
    state = _state(request)
    db: Database = request.app.state.db
    if state.hash is not None:
        _end(db, state.hash, "replaced")
    token = secrets.token_urlsafe(32)
    sha = token_hash(token)
    data = {"csrf": secrets.token_urlsafe(32)}
    with db.app_tx() as conn:
        row = conn.execute("select core.session_start(%s, %s, %s, %s) as expires_at",
                           [sha, user.user_id, SESSION_MAX_AGE, Jsonb(data)]).fetchone()
    session: SessionData = request.session  # type: ignore[assignment]
    dict.clear(session)
    if row is None or row["expires_at"] is None:  # disabled between the check and now
        state.hash, state.ended = None, True
        return
    state.hash, state.new_token, state.ended = sha, token, False
    dict.update(session, data, uid=str(user.user_id), exp=row["expires_at"].timestamp())
    session.modified = False


def logout_session(request: Request) -> None:
    """End the request's session now (the record is revoked; the cookie is cleared)."""
    state = _state(request)
    if state.hash is not None and not state.ended:
        _end(request.app.state.db, state.hash, "logout")
        state.ended = True
    request.session.clear()


def session_user_id(request: Request) -> str | None:
    """Return the user id of the request's live session, or None (no middleware, no login)."""
    if "session" not in request.scope:
        return None
    session: dict[str, Any] = request.session
    uid = session.get("uid")
    exp = session.get("exp")
    if not isinstance(uid, str) or not isinstance(exp, float) or exp < time.time():
        return None
    return uid
