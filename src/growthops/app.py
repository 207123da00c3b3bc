"""The HTTP application: ``create_app(settings) -> FastAPI``.

Run it with ``uvicorn --factory growthops.app:create_app`` (127.0.0.1:8000 by default).
Routes live under ``/api/v1`` (:mod:`growthops.api`); every route except ``/api/v1/health``
needs a tenant's API key (``growthops apikeys create --tenant KEY --name ...``) and runs in that
tenant's transaction. Errors are mapped in one place, :mod:`growthops.api.errors`.
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
    from growthops.api import audit, slack, suggestions, validation
    from growthops.api.errors import install_error_handlers

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
    for module in (suggestions, audit, validation, slack):
        app.include_router(module.router)

    @app.get("/api/v1/health", tags=["health"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        """Answer ``{"status": "ok"}``."""
        return {"status": "ok"}

    return app
