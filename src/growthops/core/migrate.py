"""Schema migrations: growthops' SQL files applied by yoyo-migrations, plus procrastinate's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from growthops.core.db import Database
from growthops.core.extensions import ensure_extensions

MIGRATIONS_DIR = Path(str(files("growthops") / "migrations"))


def _yoyo_uri(conninfo: str) -> str:
    """Turn a libpq URI or key=value string into yoyo's ``postgresql+psycopg://`` URI."""
    from urllib.parse import quote, urlencode

    info = conninfo_to_dict(conninfo)
    user = quote(str(info.pop("user", "")), safe="")
    password = info.pop("password", None)
    host = str(info.pop("host", ""))
    port = info.pop("port", None)
    dbname = info.pop("dbname", "")
    auth = user + (":" + quote(str(password), safe="") if password else "")
    netloc = f"{auth}@" if auth else ""
    args = {k: str(v) for k, v in info.items()}
    if host.startswith("/"):
        args["host"] = host  # Unix socket directory (embedded server)
    else:
        netloc += host + (f":{port}" if port else "")
    query = ("?" + urlencode(args)) if args else ""
    return f"postgresql+psycopg://{netloc}/{dbname}{query}"


@contextmanager
def _backend(db: Database) -> Iterator[Any]:
    """A yoyo backend whose connection is closed on exit (an open one blocks template clones)."""
    backend = get_backend(_yoyo_uri(db.admin_uri))
    try:
        yield backend
    finally:
        backend.connection.close()


def pending(db: Database) -> list[str]:
    """Return the ids of growthops migrations not applied yet."""
    with _backend(db) as backend:
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]


def migrate(db: Database) -> list[str]:
    """Create the wanted extensions, apply pending migrations and procrastinate's schema if absent.

    Extensions first (:func:`growthops.core.extensions.ensure_extensions`: each one the server
    has and the owner may create; the others are skipped and the code degrades), so that a
    migration may use them. Returns the ids applied in this call ("procrastinate" included when
    its schema was created). Each yoyo migration runs in its own transaction; a failing one is
    rolled back whole. Idempotent.
    """
    with psycopg.connect(db.admin_uri, autocommit=True) as conn:
        ensure_extensions(conn)
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _backend(db) as backend, backend.lock():
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
        applied = [m.id for m in todo]
    if _apply_procrastinate_schema(db.admin_uri):
        applied.append("procrastinate")
    return applied


def _apply_procrastinate_schema(conninfo: str) -> bool:
    """Create procrastinate's tables when missing; return True if created."""
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("select to_regclass('public.procrastinate_jobs')").fetchone()
        if row and row[0] is not None:
            return False
        with conn.transaction():
            conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
    return True


def status(db: Database) -> list[tuple[str, bool]]:
    """Return ``(migration id, applied?)`` for every growthops migration, in order."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _backend(db) as backend:
        todo = {m.id for m in backend.to_apply(migrations)}
    return [(m.id, m.id not in todo) for m in migrations]
