"""The HTTP application: ``create_app(settings) -> FastAPI``.

Run it with ``growthops serve`` or ``uvicorn --factory growthops.app:create_app``
(127.0.0.1:8000 by default). The JSON API lives under ``/api/v1`` (:mod:`growthops.api`): a
tenant's data under ``/api/v1/tenants/{tenant}/...`` (and the caller's own tenant's suggestions,
validation queue and audit trail under ``/api/v1/suggestions``... as well). Every route except
``/api/v1/health``, ``/api/v1/auth/login`` and ``/api/v1/auth/logout`` needs a tenant's API key
(``growthops apikeys create``) or a session (``POST /api/v1/auth/login``, users from
``growthops users create``), and runs in that tenant's transaction. Errors are mapped in one
place, :mod:`growthops.api.errors`; sessions are in :mod:`growthops.api.sessions`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from growthops.core.db import Database
from growthops.settings import Settings


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the FastAPI application.

    ``db``: the database to serve (tests pass theirs); else ``Database(settings)`` when
    ``settings`` is given (its pool is closed at shutdown), else the process default
    :func:`growthops.core.db.get_db`.
    """
    from growthops.api import (
        audit,
        auth,
        metrics,
        outcomes,
        slack,
        suggestions,
        tenants,
        validation,
    )
    from growthops.api.errors import install_error_handlers
    from growthops.api.sessions import install_sessions

    owned = db is None and settings is not None
    if db is None:
        if settings is not None:
            db = Database(settings)
        else:
            from growthops.core.db import get_db

            db = get_db()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            app.state.db.close()

    app = FastAPI(
        title="growthops API",
        version="1",
        summary="Suggestions, decisions, the audit trail and the validation queue of a tenant.",
        lifespan=lifespan,
    )
    app.state.db = db
    install_error_handlers(app)
    install_sessions(app, settings or db.settings)
    app.include_router(auth.router)
    app.include_router(tenants.list_router)
    for module in (tenants, suggestions, metrics, outcomes, validation, audit):
        app.include_router(module.router)
    for module in (suggestions, validation, audit):
        app.include_router(module.short_router)
    app.include_router(slack.router)
    from growthops.dashboard import views as dashboard_views

    app.include_router(dashboard_views.router)

    @app.get("/api/v1/health", tags=["health"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        """Answer ``{"status": "ok"}``."""
        return {"status": "ok"}

    return app
