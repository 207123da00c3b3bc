"""The nightly archive (seed 000): old suggestions and decisions move to their archive tables.

Per tenant, :func:`archive_tenant`:

1. expires the suggestions still ``pending`` or ``backlog`` whose ``created_at`` is older than
   :data:`SUGGESTION_DAYS` (they can no longer be decided; one audit row each, actor
   ``system``), so they are archived as ``expired``, never lost;
2. moves suggestions with ``created_at`` older than :data:`SUGGESTION_DAYS` (30 days) to
   ``ads.suggestions_archive`` — except those ``executing`` (an execution in flight must find its
   suggestion; the next night takes them);
3. moves decisions with ``created_at`` older than :data:`DECISION_DAYS` (90 days) to
   ``ads.decisions_archive``.

Source of the 30 / 90 days and the 02:00 schedule: seed 000 ("archive: suggestions > 30 days,
decisions > 90 days", nightly at 02:00).

Each batch of at most ``batch_size`` rows is one transaction and one statement::

    with moved as (delete from live ... returning *) insert into archive (...) select ... from moved

preceded and followed, in the same transaction, by counts of both tables; the batch raises
:class:`ArchiveMismatch` (rolling itself back) unless ``live + archive`` is unchanged and the
archive grew by exactly the rows deleted. A suggestion or decision already in its archive (same
primary key) makes the INSERT fail and the batch roll back: nothing is ever deleted without
being archived. Re-running with the same ``now`` finds nothing older than the cut-offs in the
live tables and changes nothing.

The column list is read from the catalog: every column of the live table must exist in the
archive (else :class:`ArchiveMismatch`, before anything moves), so a migration adding a column to
``ads.suggestions`` but not to its archive cannot silently drop data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql

from growthops.core.errors import GrowthopsError, InvalidInput

#: Age (days, by ``created_at``) after which a suggestion is archived. Source: seed 000.
SUGGESTION_DAYS = 30
#: Age (days, by ``created_at``) after which a decision is archived. Source: seed 000.
DECISION_DAYS = 90
DEFAULT_BATCH_SIZE = 1000
#: Statuses a suggestion is expired from when it reaches the archive age.
UNDECIDED = ("pending", "backlog")
#: Statuses never archived (an execution is in flight).
IN_FLIGHT = ("executing",)


class ArchiveMismatch(GrowthopsError):
    """The counts before and after an archive batch do not match (the batch was rolled back)."""

    exit_code = 70


@dataclass
class TableResult:
    """Rows moved for one table, with the tenant's counts before the first batch and after."""

    moved: int = 0
    batches: int = 0
    before: dict[str, int] = field(default_factory=dict)   # {"live": n, "archive": n}
    after: dict[str, int] = field(default_factory=dict)


@dataclass
class ArchiveResult:
    """Outcome of :func:`archive_tenant` for one tenant."""

    tenant_id: str
    now: datetime
    expired: int = 0
    suggestions: TableResult = field(default_factory=TableResult)
    decisions: TableResult = field(default_factory=TableResult)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (job results, logs)."""
        return {
            "tenant_id": self.tenant_id, "now": self.now.isoformat(), "expired": self.expired,
            **{name: {"moved": t.moved, "batches": t.batches, "before": t.before,
                      "after": t.after}
               for name, t in (("suggestions", self.suggestions),
                               ("decisions", self.decisions))},
        }


_TABLES = {
    # name: (live table, archive table, key column, extra WHERE on the live rows)
    "suggestions": ("suggestions", "suggestions_archive", "suggestion_id",
                    "status <> all(%(in_flight)s)"),
    "decisions": ("decisions", "decisions_archive", "decision_id", "true"),
}


def _columns(conn: Any, live: str, archive: str) -> list[str]:
    """Columns of ``ads.<live>`` in order; :class:`ArchiveMismatch` if the archive lacks one."""
    rows = conn.execute(
        """select c.relname as tbl, a.attname as col
           from pg_attribute a join pg_class c on c.oid = a.attrelid
           join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'ads' and c.relname = any(%s) and a.attnum > 0
             and not a.attisdropped
           order by a.attnum""",
        [[live, archive]],
    ).fetchall()
    live_cols = [r["col"] for r in rows if r["tbl"] == live]
    archive_cols = {r["col"] for r in rows if r["tbl"] == archive}
    missing = [c for c in live_cols if c not in archive_cols]
    if not live_cols or missing:
        raise ArchiveMismatch(f"ads.{archive} lacks the column(s) {', '.join(missing) or '?'} of "
                              f"ads.{live}: add them in a migration before archiving")
    return live_cols


def _counts(conn: Any, tid: str, live: str, archive: str) -> dict[str, int]:
    row = conn.execute(
        sql.SQL("select (select count(*) from ads.{} where tenant_id = %(t)s) as live, "
                "(select count(*) from ads.{} where tenant_id = %(t)s) as archive").format(
            sql.Identifier(live), sql.Identifier(archive)),
        {"t": tid},
    ).fetchone()
    return {"live": int(row["live"]), "archive": int(row["archive"])}


def expire_old(conn: Any, *, tenant_id: UUID | str, now: datetime,
               days: int = SUGGESTION_DAYS) -> int:
    """Expire pending/backlog suggestions created more than ``days`` before ``now``; audited.

    One UPDATE feeding one INSERT into ``ads.audit_log`` (actor ``system``, action
    ``suggestion.expired``). Returns the number expired. Idempotent.
    """
    cur = conn.execute(
        """with old as (
             select suggestion_id, status from ads.suggestions
             where tenant_id = %(t)s and status = any(%(undecided)s) and created_at < %(cutoff)s
             for update
           ), expired as (
             update ads.suggestions s set status = 'expired'
               from old
              where s.tenant_id = %(t)s and s.suggestion_id = old.suggestion_id
                and s.status = any(%(undecided)s)
             returning s.suggestion_id, s.platform, s.entity_id, old.status as status_before
           )
           insert into ads.audit_log (tenant_id, occurred_at, actor, action, object_type,
                                      object_id, platform, entity_id, before, after, reason)
           select %(t)s, %(now)s, 'system', 'suggestion.expired', 'suggestion',
                  suggestion_id::text, platform, entity_id,
                  jsonb_build_object('status', status_before),
                  jsonb_build_object('status', 'expired', 'suggestion_id', suggestion_id),
                  'not decided within ' || %(days)s || ' days; archived'
           from expired""",
        {"t": str(tenant_id), "undecided": list(UNDECIDED), "now": now,
         "cutoff": now - timedelta(days=days), "days": days},
    )
    return cur.rowcount


def move_batch(conn: Any, *, tenant_id: UUID | str, table: str, cutoff: datetime,
               batch_size: int = DEFAULT_BATCH_SIZE,
               now: datetime | None = None) -> tuple[int, dict[str, int], dict[str, int]]:
    """Move one batch of ``table`` ("suggestions" or "decisions") rows older than ``cutoff``.

    Runs in the caller's tenant transaction (one batch = one transaction). Returns
    ``(moved, counts before, counts after)`` (``archived_at`` = ``now``, default the wall clock)
    with counts ``{"live": n, "archive": n}`` for the
    tenant. Rows are taken oldest id first, ``FOR UPDATE SKIP LOCKED`` (a row a reviewer is
    deciding right now waits for the next run). Raises :class:`ArchiveMismatch` when the
    counts do not balance (the caller's transaction then rolls back).
    """
    live, archive, key, where = _TABLES[table]
    tid = str(tenant_id)
    cols = _columns(conn, live, archive)
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    before = _counts(conn, tid, live, archive)
    stmt = sql.SQL(
        """with batch as (
             select {key} from ads.{live}
             where tenant_id = %(t)s and created_at < %(cutoff)s and """ + where + """
             order by {key} limit %(n)s
             for update skip locked
           ), moved as (
             delete from ads.{live} x using batch b
             where x.tenant_id = %(t)s and x.{key} = b.{key}
             returning x.*
           )
           insert into ads.{archive} ({cols}, archived_at)
           select {cols}, %(now)s from moved"""
    ).format(key=sql.Identifier(key), live=sql.Identifier(live),
             archive=sql.Identifier(archive), cols=col_list)
    cur = conn.execute(stmt, {"t": tid, "cutoff": cutoff, "n": batch_size,
                              "in_flight": list(IN_FLIGHT), "now": now or datetime.now(UTC)})
    moved = cur.rowcount
    after = _counts(conn, tid, live, archive)
    if (before["live"] + before["archive"] != after["live"] + after["archive"]
            or after["archive"] - before["archive"] != moved
            or before["live"] - after["live"] != moved):
        raise ArchiveMismatch(
            f"archive of ads.{live} for tenant {tid} does not balance: before {before}, after "
            f"{after}, moved {moved}; the batch was rolled back")
    return moved, before, after


def archive_tenant(
    db: Any,
    *,
    tenant_id: UUID | str,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    suggestion_days: int = SUGGESTION_DAYS,
    decision_days: int = DECISION_DAYS,
) -> ArchiveResult:
    """Archive one tenant's old suggestions and decisions, one transaction per batch.

    ``db``: a :class:`~growthops.core.db.Database`; ``now``: the run's instant (UTC, default the
    wall clock); cut-offs are ``now - suggestion_days`` and ``now - decision_days`` on
    ``created_at``. Returns the rows expired and moved, the batches and the tenant's counts
    before the first batch and after the last (``before.live + before.archive ==
    after.live + after.archive`` is checked per batch). Raises :class:`InvalidInput` for a
    ``batch_size`` outside 1..100000 or non-positive days, :class:`ArchiveMismatch` (that
    batch rolled back; earlier batches stay committed, consistent).
    """
    now = now or datetime.now(UTC)
    if now.utcoffset() is None:
        raise InvalidInput("now: must be timezone-aware (UTC)")
    if not 1 <= int(batch_size) <= 100_000:
        raise InvalidInput("batch_size: must be between 1 and 100000")
    if suggestion_days < 1 or decision_days < 1:
        raise InvalidInput("suggestion_days, decision_days: must be 1 or more")
    tid = str(tenant_id)
    result = ArchiveResult(tenant_id=tid, now=now)
    with db.tenant_tx(tid) as conn:
        result.expired = expire_old(conn, tenant_id=tid, now=now, days=suggestion_days)
    for name, days in (("suggestions", suggestion_days), ("decisions", decision_days)):
        tr: TableResult = getattr(result, name)
        cutoff = now - timedelta(days=days)
        while True:
            with db.tenant_tx(tid) as conn:
                moved, before, after = move_batch(conn, tenant_id=tid, table=name,
                                                  cutoff=cutoff, batch_size=batch_size,
                                                  now=now)
            if not tr.before:
                tr.before = before
            tr.after = after
            tr.moved += moved
            if moved:
                tr.batches += 1
            if moved < batch_size:
                break
    for name, tr in (("suggestions", result.suggestions), ("decisions", result.decisions)):
        # Each batch balanced; over the run, the archive grew by exactly the rows moved (the
        # live table may also gain rows a daily cycle or a reviewer wrote meanwhile).
        if tr.after["archive"] - tr.before["archive"] != tr.moved:
            raise ArchiveMismatch(f"archive of {name} for tenant {tid}: before {tr.before}, "
                                  f"after {tr.after}, moved {tr.moved}")
    return result


def archive_all(db: Any, *, now: datetime | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE,
                tenant_ids: list[UUID | str] | None = None) -> list[ArchiveResult]:
    """Run :func:`archive_tenant` for every tenant (or ``tenant_ids``), one after another.

    Tenants come from :func:`growthops.core.tenants.service.directory` (cross-tenant listing);
    each tenant's work runs in its own tenant transactions. A tenant that fails is logged to
    its ``core.system_logs`` and skipped; the first error is re-raised after every tenant was
    tried, so one tenant never holds back the others.
    """
    from growthops.core.logs.service import log_event
    from growthops.core.tenants.service import directory

    now = now or datetime.now(UTC)
    if tenant_ids is None:
        with db.app_tx() as conn:
            tenant_ids = [r["tenant_id"] for r in directory(conn)]
    results: list[ArchiveResult] = []
    first_error: Exception | None = None
    for tid in tenant_ids:
        try:
            results.append(archive_tenant(db, tenant_id=tid, now=now, batch_size=batch_size))
        except Exception as exc:  # noqa: BLE001 - logged, then re-raised after the loop
            first_error = first_error or exc
            try:
                with db.tenant_tx(tid) as conn:
                    log_event(conn, tenant_id=tid, level="ERROR", module="growthops.ads.archive",
                              message="nightly archive failed", exc=exc)
            except Exception:  # noqa: BLE001 - never mask the archive's own error
                pass
    if first_error is not None:
        raise first_error
    return results
