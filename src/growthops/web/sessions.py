"""Signed session cookies for the dashboard and the API (Starlette ``SessionMiddleware``).

The cookie ``growthops_session`` carries only ``{"uid": <user id>, "iat": <unix time>}``, signed
with ``itsdangerous`` (HMAC-SHA1 over the base64 JSON) using the session secret; the user is
re-read from the database on every request, so disabling a user ends its sessions at once.
Cookie flags: ``HttpOnly`` (Starlette's default), ``SameSite=Lax`` (a cross-site form cannot
POST with it), ``Secure`` in production, lifetime :data:`SESSION_MAX_AGE`.

The secret comes from, in order: ``Settings.session_secret`` (once the setting exists), the
environment variable ``GROWTHOPS_SECRET_KEY``, else, outside production, a random secret kept in
``<data_dir>/session_secret`` (created once with mode 0600, shared by the processes of one
machine). With ``GROWTHOPS_ENV=production`` and no secret configured the app refuses to start.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

from growthops.core.auth.users import User
from growthops.core.errors import ConfigError
from growthops.settings import Settings

SESSION_COOKIE = "growthops_session"
#: 8 hours, absolute. Source: OWASP Session Management Cheat Sheet ("Absolute Timeout": e.g.
#: 4-8 hours for an office worker using the application for a whole day).
SESSION_MAX_AGE = 8 * 3600
_MIN_SECRET = 32


def is_production(settings: Settings | None = None) -> bool:
    """True when ``GROWTHOPS_ENV`` (or ``Settings.env``, once it exists) is ``production``."""
    env = getattr(settings, "env", None) or os.environ.get("GROWTHOPS_ENV", "")
    return str(env).lower() in ("production", "prod")


def session_secret(settings: Settings) -> str:
    """Return the key that signs session cookies (see the module docstring for the order).

    Raises :class:`ConfigError` in production without a configured secret, or when the
    configured secret is shorter than 32 characters.
    """
    configured = getattr(settings, "session_secret", None) or getattr(settings, "secret_key", None)
    if configured is not None and hasattr(configured, "get_secret_value"):
        configured = configured.get_secret_value()
    configured = configured or os.environ.get("GROWTHOPS_SECRET_KEY")
    if configured:
        if len(configured) < _MIN_SECRET:
            raise ConfigError(
                f"GROWTHOPS_SECRET_KEY: at least {_MIN_SECRET} characters are "
                "required (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return str(configured)
    if is_production(settings):
        raise ConfigError(
            "GROWTHOPS_SECRET_KEY is not set: refusing to start in production "
            "with a generated session secret"
        )
    return _local_secret(Path(settings.data_dir) / "session_secret")


def _local_secret(path: Path) -> str:
    """Read, or create with mode 0600, the machine-local development secret."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def install_sessions(app: FastAPI, settings: Settings) -> None:
    """Add the signed-cookie session middleware to ``app``."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=is_production(settings),
    )


def login_session(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (anything in the old session is dropped)."""
    request.session.clear()
    request.session.update({"uid": str(user.user_id), "iat": int(time.time())})


def logout_session(request: Request) -> None:
    """End the session (the cookie is cleared in the response)."""
    request.session.clear()


def session_user_id(request: Request) -> str | None:
    """Return the user id stored in the request's session, or None (no middleware, no login)."""
    if "session" not in request.scope:
        return None
    session: dict[str, Any] = request.session
    uid = session.get("uid")
    iat = session.get("iat")
    if not isinstance(uid, str) or not isinstance(iat, int):
        return None
    if iat > time.time() + 60 or iat < time.time() - SESSION_MAX_AGE:
        return None
    return uid
