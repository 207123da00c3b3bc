"""The procrastinate App of growthops, built from a :class:`~growthops.core.db.Database`.

procrastinate keeps its queue in the ``public`` schema (tables ``procrastinate_*``, applied by
:func:`growthops.core.migrate.migrate`) and connects as the owner (``db.admin_uri``): its tables
have no row-level security, so every job carries ``tenant_id`` in its arguments and the task
opens ``db.tenant_tx(tenant_id)`` itself. Tasks receive the Database through the job context
(``context.additional_context["db"]``), so several databases (tests) can have their own app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from procrastinate import App, PsycopgConnector

from growthops.core.db import Database

#: A domain's task registration: ``register(app, periodic=bool)``.
Registrar = Callable[..., Any]


def build_app(db: Database, *, registrars: Iterable[Registrar] = (), periodic: bool = True,
              max_connections: int = 6) -> App:
    """Build a new procrastinate App for ``db`` with the tasks of ``registrars`` registered.

    ``registrars``: each domain's ``register_tasks(app, periodic=...)`` (the worker passes every
    installed domain's, :func:`growthops.worker.build_app`; a domain deferring its own jobs
    passes its own). ``periodic`` False registers the tasks without their schedules (a
    ``--once`` worker must not defer the scheduler tick itself). ``max_connections`` bounds the
    owner pool the worker uses (one listener, one for fetching, one per concurrent job). The
    App is not opened: use ``with app.open()`` for synchronous deferring, or ``app.run_worker``.
    """
    connector = PsycopgConnector(
        conninfo=db.admin_uri, min_size=1, max_size=max(2, max_connections),
        name="growthops-jobs",
    )
    app = App(connector=connector, worker_defaults={"additional_context": {"db": db}})
    for register in registrars:
        register(app, periodic=periodic)
    return app

