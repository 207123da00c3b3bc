"""What ``growthops db status`` shows: where the database lives, its server, extensions and
migrations, read from the server itself (owner connection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from yoyo import read_migrations
from yoyo.migrations import default_migration_table

from growthops.core.db import Database, describe
from growthops.core.extensions import WANTED, available_extensions
from growthops.core.migrate import MIGRATIONS_DIR


@dataclass(frozen=True)
class ExtensionStatus:
    """A wanted extension: its installed ``version``, or None and what ``degrades`` without it."""

    name: str
    version: str | None
    schema: str | None
    degrades: str


@dataclass(frozen=True)
class MigrationStatus:
    """A migration file (or procrastinate's schema): ``applied_at`` in UTC, None if not applied.

    For procrastinate's schema, applied outside yoyo, ``applied`` says whether its tables
    exist and ``applied_at`` is always None (no record of when).
    """

    id: str
    applied: bool
    applied_at: datetime | None


@dataclass(frozen=True)
class DbStatus:
    """Everything ``db status`` prints.

    ``where``: mode, host, database, data_dir (:func:`growthops.core.db.describe`);
    ``server_version``: e.g. "18.6"; ``extensions`` in :data:`~growthops.core.extensions.WANTED`
    order; ``migrations`` in file order, then procrastinate's schema.
    """

    where: dict[str, str]
    server_version: str
    extensions: list[ExtensionStatus]
    migrations: list[MigrationStatus]


#: yoyo-migrations' record of applied migrations (columns migration_id, applied_at_utc).
YOYO_TABLE = default_migration_table


def db_status(db: Database) -> DbStatus:
    """Collect the status of ``db`` (starts the embedded server if needed; reads only).

    Applied times come from yoyo's ``_yoyo_migration.applied_at_utc`` (a UTC timestamp without
    time zone, returned here as an aware UTC datetime). Raises what connecting raises (for
    example ``EmbeddedDataIncompatible``).
    """
    where = describe(db)
    files = [m.id for m in read_migrations(str(MIGRATIONS_DIR))]
    with db.admin() as conn:
        version = conn.execute("show server_version").fetchone()["server_version"]
        installed = available_extensions(conn)
        applied: dict[str, datetime] = {}
        has_yoyo = conn.execute("select to_regclass(%s) as t", [YOYO_TABLE]).fetchone()["t"]
        if has_yoyo is not None:
            for r in conn.execute(
                f"select migration_id, applied_at_utc from {YOYO_TABLE} order by applied_at_utc"
            ).fetchall():
                applied[r["migration_id"]] = r["applied_at_utc"].replace(tzinfo=UTC)
        procrastinate = conn.execute(
            "select to_regclass('public.procrastinate_jobs') is not null as ok"
        ).fetchone()["ok"]
    extensions = [
        ExtensionStatus(
            name,
            installed[name].version if name in installed else None,
            installed[name].schema if name in installed else None,
            degrades,
        )
        for name, degrades in WANTED.items()
    ]
    ids = files + [mid for mid in applied if mid not in files]
    migrations = [MigrationStatus(mid, mid in applied, applied.get(mid)) for mid in ids]
    migrations.append(MigrationStatus("procrastinate", bool(procrastinate), None))
    return DbStatus(where, str(version).split(" ")[0], extensions, migrations)
