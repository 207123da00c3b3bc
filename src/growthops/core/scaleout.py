"""Ready to outgrow one machine: every table's place on Citus, read from the catalog.

growthops distributes by tenant (Citus "multi-tenant" model, distribution column
``tenant_id``): all of a tenant's rows, in every table, live in co-located shards on one worker,
so a tenant transaction (every query filters ``tenant_id``) runs on one node, with its joins,
foreign keys and unique checks local to it. That needs, for each table:

* **distributed** (every table with a ``tenant_id`` column, except those in
  :data:`REFERENCE_TABLES`): ``tenant_id uuid not null``, first in the primary key and in every
  unique constraint, unique index (partial ones too) and exclusion constraint; every foreign key
  to another distributed table includes ``tenant_id`` on both sides at the same position.
  Foreign keys to reference tables are fine.
* **reference** (:data:`REFERENCE_TABLES`, an explicit list: a table without ``tenant_id`` is
  never a reference table by accident): small, rarely written, read by everyone; replicated to
  every node. A reference table may not reference a distributed or local table.
* **local on the coordinator** (:data:`LOCAL_TABLES`): the job queue and the migration
  records, which Citus leaves as plain tables of the coordinator. Nothing distributed or
  reference may reference them.

:func:`check` lists the tables breaking these rules (``tests/core/test_scale_out.py`` asserts
there are none, so a new table that breaks them fails the suite). :func:`plan` generates the
``create_reference_table`` / ``create_distributed_table`` statements for every table of the
database, in an order where every referenced table comes first. ``docs/scale-out.md``
explains the plan; Citus itself cannot run on the development machines, so the plan is
checked against the catalog, not against a Citus cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from growthops.core.errors import Conflict

DIST_COLUMN = "tenant_id"

#: Tables without a distribution column on purpose, replicated to every node, with the reason.
REFERENCE_TABLES: dict[str, str] = {
    "core.tenants": (
        "the tenants themselves: a few hundred rows, read by every tenant transaction, the "
        "scheduler and the API's tenant resolution; client_key stays globally unique, and "
        "every distributed table's foreign key to it stays valid on each node"
    ),
    "core.users": (
        "staff span tenants (no tenant_id on purpose); small, read at each login and session "
        "request through SECURITY DEFINER functions"
    ),
    "inbox.ai_models": (
        "the catalogue of chat models tenants may choose (seed 003 ai_models): a handful of "
        "rows, the same for every tenant, read-only for the application"
    ),
    "ads.industry_patterns": (
        "industry aggregates of the creative tests' angles over at least 5 tenants (no tenant "
        "figure): small, rebuilt weekly by an owner function, read by every tenant"
    ),
    "ads.performance_benchmarks": (
        "seed 004's industry benchmarks: k-anonymous aggregates (at least 5 tenants) or a "
        "published source; small, rebuilt weekly by an owner function, read by every tenant"
    ),
}

#: Tables left as plain tables of the coordinator (Citus does not distribute them), by
#: pattern on ``schema.name``, with the reason. procrastinate's table set changes with its
#: versions, hence a pattern.
LOCAL_TABLES: dict[str, str] = {
    r"public\.procrastinate_.*": (
        "procrastinate's job queue: its SKIP LOCKED polling, LISTEN/NOTIFY and triggers need "
        "one node; every job carries tenant_id and opens the tenant's transaction, which Citus "
        "routes to the tenant's worker"
    ),
    r"public\._?yoyo_.*": (
        "yoyo's record of applied migrations and its lock; migrations run on the coordinator"
    ),
    r"core\.sessions": (
        "sign-in sessions of staff and client users (not tenant-owned, like core.users): "
        "written at each login and read at each request, before any tenant is known; they "
        "stay with the web tier on the coordinator"
    ),
    r"core\.rate_limits": (
        "the rate limiter's counters, keyed by address or account before any tenant is known; "
        "short-lived rows written on every limited request: one table on the coordinator"
    ),
    r"inbox\.webhook_(events|rejections)": (
        "raw webhook deliveries and rejection counters, stored after the signature check and "
        "before the tenant is known (routing reads the payload); the processing job then "
        "writes the tenant's rows, which Citus routes to the tenant's worker"
    ),
    r"core\.platform_logs": (
        "system-wide events that belong to no tenant (the worker's warnings); written on the "
        "coordinator, read by the owner only"
    ),
}

#: Schemas never inspected (the server's own).
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "citus", "columnar")


@dataclass(frozen=True)
class Table:
    """One table of the database and what the catalog says about its keys.

    ``kind`` is "distributed", "reference", "local" or "unclassified"; ``tenant_col``: None
    without a ``tenant_id`` column, else {"type": ..., "not_null": bool}; ``pk`` the primary key
    columns; ``uniques`` (name, columns) of every unique or exclusion constraint and unique index
    besides the primary key (an expression column is ``"<expr>"``); ``fks`` (name, columns,
    referenced table, referenced columns).
    """

    name: str
    kind: str
    reason: str
    tenant_col: dict[str, Any] | None
    pk: list[str]
    uniques: list[tuple[str, list[str]]]
    fks: list[tuple[str, list[str], str, list[str]]]


_TABLES_SQL = """
select c.oid, format('%%I.%%I', n.nspname, c.relname) as name,
       (select json_build_object('type', format_type(a.atttypid, a.atttypmod),
                                 'not_null', a.attnotnull)
          from pg_attribute a
         where a.attrelid = c.oid and a.attname = %(col)s and not a.attisdropped) as tenant_col,
       coalesce((select array_agg(a.attname order by k.ord)
                   from pg_constraint p
                   cross join unnest(p.conkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                  where p.conrelid = c.oid and p.contype = 'p'), '{}') as pk
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition
  and n.nspname <> all(%(system)s) and n.nspname not like 'pg_temp%%'
  and n.nspname not like 'pg_toast_temp%%'
order by 2
"""

# Unique indexes (those behind unique / primary-key constraints included) and exclusion
# constraints; the primary key's own index is skipped (it is checked as ``pk``).
_UNIQUES_SQL = """
select i.indrelid as oid, ic.relname as name,
       array(select case when k.attnum = 0 then '<expr>' else a.attname end
               from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
               left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
              where k.ord <= i.indnkeyatts
              order by k.ord) as cols
from pg_index i join pg_class ic on ic.oid = i.indexrelid
where (i.indisunique or i.indisexclusion) and not i.indisprimary
"""

_FKS_SQL = """
select f.conrelid as oid, f.conname as name,
       array(select a.attname from unnest(f.conkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.attnum
              order by k.ord) as cols,
       format('%I.%I', rn.nspname, rc.relname) as ref,
       array(select a.attname from unnest(f.confkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.attnum
              order by k.ord) as ref_cols
from pg_constraint f
join pg_class rc on rc.oid = f.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
where f.contype = 'f'
"""


def _classify(name: str, has_tenant: bool) -> tuple[str, str]:
    """Return (kind, reason) of table ``name`` (``schema.table``) by the lists above."""
    if name in REFERENCE_TABLES:
        return "reference", REFERENCE_TABLES[name]
    for pattern, reason in LOCAL_TABLES.items():
        if re.fullmatch(pattern, name):
            return "local", reason
    if has_tenant:
        return "distributed", f"tenant-owned: co-located on {DIST_COLUMN}"
    return "unclassified", f"no {DIST_COLUMN} column and not listed as a reference or local table"


def tables(conn: psycopg.Connection[Any]) -> list[Table]:
    """Read every ordinary and partitioned table (partitions excluded) with its keys, by name.

    ``conn``: any connection able to read the catalog (owner or application role). Tables in
    the server's own schemas (:data:`SYSTEM_SCHEMAS`, temporary schemas) are left out.
    """
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(_TABLES_SQL, {"col": DIST_COLUMN, "system": list(SYSTEM_SCHEMAS)}).fetchall()
    uniques: dict[int, list[tuple[str, list[str]]]] = {}
    for u in cur.execute(_UNIQUES_SQL).fetchall():
        uniques.setdefault(u["oid"], []).append((u["name"], list(u["cols"])))
    fks: dict[int, list[tuple[str, list[str], str, list[str]]]] = {}
    for f in cur.execute(_FKS_SQL).fetchall():
        fks.setdefault(f["oid"], []).append(
            (f["name"], list(f["cols"]), f["ref"], list(f["ref_cols"]))
        )
    out = []
    for r in rows:
        kind, reason = _classify(r["name"], r["tenant_col"] is not None)
        out.append(
            Table(
                r["name"],
                kind,
                reason,
                r["tenant_col"],
                list(r["pk"]),
                sorted(uniques.get(r["oid"], [])),
                sorted(fks.get(r["oid"], [])),
            )
        )
    return out


def check(conn: psycopg.Connection[Any]) -> list[str]:
    """Return one line per breach of the distribution rules (see the module docstring); [] if none.

    Each line names the table and the constraint or index at fault. Also reported: a name in
    :data:`REFERENCE_TABLES` that no longer exists (a stale list).
    """
    all_tables = tables(conn)
    kinds = {t.name: t.kind for t in all_tables}
    problems: list[str] = []
    for name in REFERENCE_TABLES:
        if name not in kinds:
            problems.append(f"{name}: listed in REFERENCE_TABLES but absent")
    for t in all_tables:
        if t.kind == "unclassified":
            problems.append(f"{t.name}: {t.reason}")
            continue
        if t.kind == "distributed":
            problems += _check_distributed(t)
        for fk, cols, ref, ref_cols in t.fks:
            ref_kind = kinds.get(ref, "unclassified")
            if ref_kind == "local" and t.kind != "local":
                problems.append(f"{t.name}: foreign key {fk} references {ref}, a local table")
            elif ref_kind == "distributed" and t.kind != "distributed":
                problems.append(
                    f"{t.name}: foreign key {fk} of a {t.kind} table references "
                    f"{ref}, a distributed table"
                )
            elif ref_kind == "distributed" and not _fk_carries_tenant(cols, ref_cols):
                problems.append(
                    f"{t.name}: foreign key {fk} ({', '.join(cols)}) -> {ref} "
                    f"({', '.join(ref_cols)}) does not match {DIST_COLUMN} "
                    f"to {DIST_COLUMN}"
                )
    return problems


def _check_distributed(t: Table) -> list[str]:
    """The key rules for one distributed table."""
    out = []
    assert t.tenant_col is not None
    if t.tenant_col["type"] != "uuid":
        out.append(
            f"{t.name}: {DIST_COLUMN} is {t.tenant_col['type']}, not uuid "
            "(co-location needs one type)"
        )
    if not t.tenant_col["not_null"]:
        out.append(
            f"{t.name}: {DIST_COLUMN} is nullable (Citus refuses NULL in the distribution column)"
        )
    if not t.pk:
        out.append(f"{t.name}: no primary key")
    elif t.pk[0] != DIST_COLUMN:
        out.append(f"{t.name}: primary key ({', '.join(t.pk)}) does not start with {DIST_COLUMN}")
    for idx, cols in t.uniques:
        if not cols or cols[0] != DIST_COLUMN:
            out.append(
                f"{t.name}: unique index or constraint {idx} ({', '.join(cols)}) does "
                f"not start with {DIST_COLUMN}"
            )
    return out


def _fk_carries_tenant(cols: list[str], ref_cols: list[str]) -> bool:
    """True when the foreign key maps ``tenant_id`` to the referenced ``tenant_id``."""
    return DIST_COLUMN in cols and ref_cols[cols.index(DIST_COLUMN)] == DIST_COLUMN


def _fk_order(group: list[Table]) -> list[Table]:
    """Order ``group`` so that each table comes after the tables of the group it references.

    Ties (and cycles, which are broken at the alphabetically first table) go by name.
    """
    names = {t.name for t in group}
    deps = {
        t.name: {ref for _, _, ref, _ in t.fks if ref in names and ref != t.name} for t in group
    }
    by_name = {t.name: t for t in group}
    done: list[str] = []
    pending = sorted(names)
    while pending:
        ready = [n for n in pending if deps[n] <= set(done)] or pending[:1]
        done.append(ready[0])
        pending.remove(ready[0])
    return [by_name[n] for n in done]


def _lit(name: str) -> str:
    """Quote a (already identifier-quoted) table name as an SQL string literal."""
    return "'" + name.replace("'", "''") + "'"


def plan(conn: psycopg.Connection[Any]) -> list[str]:
    """Return the Citus statements (and comment lines) that distribute this database.

    Every table of :func:`tables` appears exactly once: reference tables first (in foreign-key
    order), then the distributed tables (in foreign-key order), the first one opening a new
    co-location group and every other one ``colocate_with`` it; local tables are listed as
    comments (no statement: they stay on the coordinator). Raises ``Conflict`` naming the
    breaches when :func:`check` finds any: a plan for such a schema would fail on Citus.
    """
    problems = check(conn)
    if problems:
        raise Conflict(
            "the schema breaks the distribution rules (docs/scale-out.md):\n  "
            + "\n  ".join(problems)
        )
    all_tables = tables(conn)
    refs = _fk_order([t for t in all_tables if t.kind == "reference"])
    dist = _fk_order([t for t in all_tables if t.kind == "distributed"])
    local = [t for t in all_tables if t.kind == "local"]
    lines = [
        "-- growthops on Citus: run on the coordinator, after `create extension citus` on every",
        "-- node, citus_add_node for each worker, and `growthops db migrate` (docs/scale-out.md).",
        f"-- {len(refs)} reference, {len(dist)} distributed on {DIST_COLUMN}, "
        f"{len(local)} local tables.",
        "",
        "-- 1. Reference tables: replicated to every node.",
    ]
    lines += [f"select create_reference_table({_lit(t.name)});" for t in refs]
    lines += ["", f"-- 2. Tenant-owned tables: distributed on {DIST_COLUMN}, all co-located."]
    for i, t in enumerate(dist):
        group = "'none'" if i == 0 else _lit(dist[0].name)
        lines.append(
            f"select create_distributed_table({_lit(t.name)}, '{DIST_COLUMN}', "
            f"colocate_with => {group});"
        )
    lines += ["", "-- 3. Local tables: stay on the coordinator as they are (no statement)."]
    lines += [f"--    {t.name}: {t.reason}" for t in local]
    return lines
