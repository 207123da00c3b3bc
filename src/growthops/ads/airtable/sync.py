"""One sync of a tenant's Airtable mirror: pull the declared fields, merge, push, record the run.

Order, for each mirrored kind (:data:`growthops.ads.airtable.mapping.KINDS`):

1. read the PostgreSQL rows (one query) and their record map (``ads.airtable_records``);
2. for a kind with pulled fields, list its Airtable records (those fields only, pages of 100)
   and apply the merge rule (:func:`~growthops.ads.airtable.mapping.merge_field`) field by
   field; values Airtable wins are written to PostgreSQL with one UPDATE per field;
3. push the rows whose fields changed since their last push (SHA-256 of the fields), that are
   new, or whose Airtable side differs after the merge, by upsert on ``growthops_key``
   (batches of 10); a second sync with nothing changed pushes nothing;
4. delete from Airtable the records whose row is gone (archived suggestions after 30 days,
   decisions after 90: seed 000) and forget them;
5. record the map (one set-based upsert).

Steps 1-5 run in one tenant transaction; the run row (``ads.airtable_runs``) and the calls'
``core.api_calls_log`` rows are written in their own transactions, so a failed sync is recorded
too. A failure after some records were created leaves no duplicate behind: the next upsert
matches them on ``growthops_key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.ads.airtable.mapping import (
    KEY_FIELD,
    KINDS,
    InvalidValue,
    Kind,
    fields_hash,
    merge_field,
    push_fields,
)
from growthops.ads.airtable.mirror import load_secret
from growthops.connectors.airtable import AirtableBase, AirtableError
from growthops.connectors.airtable.client import RATE_PER_S
from growthops.core.logs.scrub import scrub
from growthops.core.logs.service import log_api_call, log_event

#: Conflict/refusal entries kept on a run (the counters count them all).
MAX_DETAILS = 500


@dataclass
class SyncResult:
    """Counters of one sync (records created/updated/unchanged/deleted in Airtable; field
    values pulled into PostgreSQL; conflicts kept for PostgreSQL; Airtable values refused) and
    the ``details`` of every pull, conflict and refusal: ``{kind, row_key, field, rule,
    airtable, postgresql, base}`` (canonical text values; ``error`` for a refusal)."""

    run_id: int
    status: str = "running"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: int = 0
    api_calls: int = 0
    retries: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def note(self, entry: dict[str, Any]) -> None:
        """Keep one detail entry (at most :data:`MAX_DETAILS`)."""
        if len(self.details) < MAX_DETAILS:
            self.details.append(entry)


def sync_mirror(
    db: Any,
    *,
    tenant_id: UUID | str,
    trigger: str = "cli",
    full: bool = False,
    backoff_factor: float = 1.0,
    rate_per_s: float = RATE_PER_S,
) -> SyncResult:
    """Sync the tenant's Airtable mirror (module doc); return the run's :class:`SyncResult`.

    ``trigger``: ``cli``, ``schedule`` or ``api``; ``full``: push every row even when its hash
    is unchanged (repairs records deleted by hand in Airtable); ``backoff_factor``: seconds
    scale of the 429 retries (tests pass a tiny one). Raises :class:`NotFound` when the tenant
    has no enabled mirror (nothing recorded), :class:`AirtableError` when Airtable refuses (the
    run is recorded as failed first), :class:`ConfigError` when the token cannot be decrypted.
    """
    t = str(tenant_id)
    with db.tenant_tx(t) as conn:
        mirror = load_secret(conn, tenant_id=t)
        run_id = conn.execute(
            "insert into ads.airtable_runs (tenant_id, trigger) values (%s, %s) returning run_id",
            [t, trigger],
        ).fetchone()["run_id"]
    calls: list[tuple[str, str, int | None, float, str | None]] = []
    base = AirtableBase(
        mirror["token"],
        mirror["base_id"],
        endpoint_url=mirror["endpoint_url"],
        backoff_factor=backoff_factor,
        rate_per_s=rate_per_s,
        on_call=lambda *c: calls.append(c),
    )
    tables = dict(mirror["table_names"] or {})
    res = SyncResult(run_id)
    try:
        with db.tenant_tx(t) as conn:
            # one sync per tenant at a time (the CLI and the worker may overlap)
            conn.execute("select pg_advisory_xact_lock(hashtext('airtable:' || %s))", [t])
            for kind in KINDS:
                _sync_kind(conn, t, base, kind, tables.get(kind.name, kind.name), res, full)
            conn.execute(
                "update ads.airtable_mirrors set last_synced_at = now() where tenant_id = %s", [t]
            )
            if res.pulled:  # the values people changed in Airtable, in the tenant's log too
                log_event(
                    conn,
                    tenant_id=t,
                    level="INFO",
                    module="growthops.ads.airtable",
                    message=f"{res.pulled} field value(s) taken from Airtable",
                    context={"pulled": [d for d in res.details if d["rule"] == "pull"]},
                )
        res.status = "succeeded"
    except Exception as exc:
        res.status, res.error = "failed", str(scrub(f"{type(exc).__name__}: {exc}"))[:2000]
        raise
    finally:
        res.api_calls, res.retries = base.stats.calls, base.stats.retries
        with db.tenant_tx(t) as conn:
            for method, path, status, ms, error in calls:
                log_api_call(
                    conn,
                    tenant_id=t,
                    api_name="airtable",
                    endpoint=path,
                    method=method,
                    request_payload={},
                    response_payload={},
                    status_code=status,
                    duration_ms=ms,
                    success=error is None,
                    error_message=error,
                )
            conn.execute(
                """update ads.airtable_runs set status = %s, created = %s, updated = %s,
                       unchanged = %s, deleted = %s, pulled = %s, conflicts = %s, rejected = %s,
                       api_calls = %s, retries = %s, details = %s, error_message = %s,
                       finished_at = now()
                   where tenant_id = %s and run_id = %s""",
                [
                    res.status,
                    res.created,
                    res.updated,
                    res.unchanged,
                    res.deleted,
                    res.pulled,
                    res.conflicts,
                    res.rejected,
                    res.api_calls,
                    res.retries,
                    Jsonb(res.details),
                    res.error,
                    t,
                    run_id,
                ],
            )
    return res


def _select(conn: Any, t: str, kind: Kind) -> dict[str, dict[str, Any]]:
    return {r["row_key"]: r for r in conn.execute(kind.select_sql, {"t": t}).fetchall()}


def _pull(
    conn: Any,
    t: str,
    base: AirtableBase,
    kind: Kind,
    table: str,
    rows: dict[str, dict[str, Any]],
    mapped: dict[str, dict[str, Any]],
    res: SyncResult,
) -> tuple[set[str], bool]:
    """Merge the pulled fields of ``kind``; return (row keys to push anyway, rows changed).

    Mapped records no longer in Airtable are dropped from ``mapped`` (they are re-created)."""
    listed = base.list_records(table, fields=[KEY_FIELD, *(p.name for p in kind.pull)])
    cells_of = {r["id"]: r["fields"] for r in listed}
    force: set[str] = set()
    for key in [k for k, m in mapped.items() if m["record_id"] not in cells_of]:
        mapped.pop(key)
        force.add(key)
    updates: dict[str, tuple[list[str], list[str | None]]] = {p.name: ([], []) for p in kind.pull}
    for key, row in rows.items():
        m = mapped.get(key)
        if m is None:
            continue
        cells, synced = cells_of[m["record_id"]], m["synced_fields"] or {}
        for pf in kind.pull:
            pg = pf.normalize(row[pf.name])
            entry = {
                "kind": kind.name,
                "row_key": key,
                "field": pf.name,
                "postgresql": pg,
                "base": synced.get(pf.name),
            }
            try:
                at = pf.normalize(cells.get(pf.name))
            except InvalidValue as exc:
                res.rejected += 1
                force.add(key)
                res.note(
                    {
                        **entry,
                        "rule": "rejected",
                        "airtable": str(cells.get(pf.name))[:80],
                        "error": f"{pf.name}: {exc}",
                    }
                )
                continue
            rule = merge_field(
                base=synced.get(pf.name), has_base=pf.name in synced, postgres=pg, airtable=at
            )
            if rule == "pull":
                updates[pf.name][0].append(key)
                updates[pf.name][1].append(at)
                res.pulled += 1
                res.note({**entry, "rule": "pull", "airtable": at})
            elif rule == "conflict":
                res.conflicts += 1
                force.add(key)
                res.note({**entry, "rule": "conflict", "airtable": at})
            elif rule == "push":
                force.add(key)
    changed = False
    for pf in kind.pull:
        keys, vals = updates[pf.name]
        if keys:
            conn.execute(pf.update_sql, {"t": t, "keys": keys, "vals": vals})
            changed = True
    return force, changed


def _sync_kind(
    conn: Any, t: str, base: AirtableBase, kind: Kind, table: str, res: SyncResult, full: bool
) -> None:
    """Pull, push and delete one kind (module doc, steps 1-5)."""
    rows = _select(conn, t, kind)
    mapped = {
        r["row_key"]: dict(r)
        for r in conn.execute(
            """select row_key, record_id, pushed_hash, synced_fields from ads.airtable_records
           where tenant_id = %s and kind = %s""",
            [t, kind.name],
        ).fetchall()
    }
    all_mapped = dict(mapped)
    force: set[str] = set()
    if kind.pull:
        force, changed = _pull(conn, t, base, kind, table, rows, mapped, res)
        if changed:
            rows = _select(conn, t, kind)
    push: list[tuple[str, dict[str, Any], str]] = []
    for key, row in rows.items():
        f = push_fields(row)
        h = fields_hash(f)
        m = mapped.get(key)
        if full or m is None or m["pushed_hash"] != h or key in force:
            push.append((key, f, h))
        else:
            res.unchanged += 1
    out = base.upsert(table, [f for _, f, _ in push], key_field=KEY_FIELD)
    new_map: dict[str, tuple[str, str]] = {}
    for (key, _f, h), rid in zip(push, out.record_ids, strict=True):
        if rid in out.created:
            res.created += 1
        else:
            res.updated += 1
        new_map[key] = (rid, h)
    gone = [k for k in all_mapped if k not in rows]
    if gone:
        ids = [all_mapped[k]["record_id"] for k in gone if k in mapped]
        try:
            res.deleted += base.delete(table, ids)
        except AirtableError as exc:
            if exc.status != 404:  # already deleted in Airtable: forget it all the same
                raise
        conn.execute(
            """delete from ads.airtable_records
                        where tenant_id = %s and kind = %s and row_key = any(%s)""",
            [t, kind.name, gone],
        )
    _save_map(conn, t, kind, rows, mapped, new_map)


def _save_map(
    conn: Any,
    t: str,
    kind: Kind,
    rows: Mapping[str, Mapping[str, Any]],
    mapped: Mapping[str, Mapping[str, Any]],
    new_map: Mapping[str, tuple[str, str]],
) -> None:
    """Upsert the record map of ``kind`` in one statement (pushed rows; for a kind with pulled
    fields every mapped row, whose merge base becomes PostgreSQL's value)."""
    keys = set(new_map) | (set(mapped) & set(rows) if kind.pull else set())
    if not keys:
        return
    recs = []
    for key in keys:
        rid, h = new_map.get(key) or (mapped[key]["record_id"], mapped[key]["pushed_hash"])
        synced = {p.name: p.normalize(rows[key][p.name]) for p in kind.pull}
        recs.append({"row_key": key, "record_id": rid, "pushed_hash": h, "synced_fields": synced})
    conn.execute(
        """insert into ads.airtable_records
             (tenant_id, kind, row_key, record_id, pushed_hash, synced_fields, synced_at)
           select %s, %s, x.row_key, x.record_id, x.pushed_hash, x.synced_fields, now()
           from jsonb_to_recordset(%s) as x(row_key text, record_id text, pushed_hash text,
                                            synced_fields jsonb)
           on conflict (tenant_id, kind, row_key) do update set
             record_id = excluded.record_id, pushed_hash = excluded.pushed_hash,
             synced_fields = excluded.synced_fields, synced_at = now()""",
        [t, kind.name, Jsonb(recs)],
    )
