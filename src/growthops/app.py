"""The HTTP application: ``create_app(settings) -> FastAPI`` (a composition root).

Run it with ``growthops serve`` or ``uvicorn --factory growthops.app:create_app``
(127.0.0.1:8000 by default). The JSON API lives under ``/api/v1`` (each domain's ``api`` entry point, e.g. :mod:`growthops.ads.api`): a
tenant's data under ``/api/v1/tenants/{tenant}/...`` (and the caller's own tenant's suggestions,
validation queue and audit trail under ``/api/v1/suggestions``... as well). Every route except
``/api/v1/health``, ``/api/v1/auth/login`` and ``/api/v1/auth/logout`` needs a tenant's API key
(``growthops apikeys create``) or a session (``POST /api/v1/auth/login``, users from
``growthops users create``), and runs in that tenant's transaction. Errors are mapped in one
place, :mod:`growthops.web.errors`; sessions are in :mod:`growthops.web.sessions`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from growthops.core.db import Database
from growthops.domains import installed
from growthops.settings import Settings


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """Build the FastAPI application: the web shell plus every installed domain.

    ``db``: the database to serve (tests pass theirs); else ``Database(settings)`` when
    ``settings`` is given (its pool is closed at shutdown), else the process default
    :func:`growthops.core.db.get_db`. Mounts, in order: each domain's API routers (``api``
    entry points; the ads domain's first: its hot routes), authentication, the Slack
    interactivity route (with each domain's ``slack_actions`` handler), each domain's
    dashboard pages, then the shell's pages.
    """
    from growthops.core.logs.scrub import install_log_scrubber, register_settings
    from growthops.web import auth, pages, slack
    from growthops.web.apidocs import install_docs
    from growthops.web.credentials import document_credentials
    from growthops.web.deps import OwnRouter, principal
    from growthops.web.errors import install_error_handlers
    from growthops.web.limits import document_limits, install_limits
    from growthops.web.sessions import install_sessions

    domains = installed()
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
        from growthops.web import background

        background.shutdown(app)  # lets the approvals' executions already started finish
        if owned:
            app.state.db.close()

    conf = settings or db.settings
    register_settings(conf)
    install_log_scrubber()
    app = FastAPI(
        title="growthops API",
        version="1",
        summary="Suggestions, decisions, the audit trail and the validation queue of a tenant.",
        lifespan=lifespan,
        docs_url=None,  # served from static files by growthops.web.apidocs (works offline)
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings or db.settings
    install_error_handlers(app)
    install_sessions(app, conf)
    install_limits(app, conf, db)  # added last: the outermost middleware
    # Routes are matched in the order they are mounted, and every included router costs a
    # walk of its routes per request (FastAPI's _IncludedRouter): the domains' API routers come
    # first, so the ads domain's hot routes (its first router: the suggestion list and the
    # decision of the caller's own tenant) are matched without walking the others; the
    # caller's-own-tenant routers (OwnRouter) are mounted flat, their routes the app's own
    # (issue 16, docs/performance.md §8, §10). No path of auth.router is served by a domain
    # router.
    for domain in domains:
        for router in domain.load("api")() if domain.api else []:
            if isinstance(router, OwnRouter):
                router.mount(app)  # flat: one regular expression per route (§10)
            else:
                app.include_router(router)
    app.include_router(auth.router)
    slack.install_handlers([h for h in (d.load("slack_actions") for d in domains) if h])
    app.include_router(slack.router)
    pages.install_domains(domains)
    for domain in domains:
        if domain.pages:
            app.include_router(domain.load("pages"))
    app.include_router(pages.router)
    install_docs(app)
    document_credentials(app, principal)  # principal's three schemes, on the operations that use it
    document_limits(app)  # 413 and 429 on every operation (wraps the schema above)

    @app.get("/api/v1/health", tags=["health"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        """Answer ``{"status": "ok"}``."""
        return {"status": "ok"}

    return app
