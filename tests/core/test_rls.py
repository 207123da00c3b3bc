"""Row-level security: one tenant can neither read nor write another's rows, on every table."""

from __future__ import annotations

import pytest

from growthops.core.db import APP_ROLE, Database
from tests.conftest import new_tenant

TENANT_TABLES_SQL = """
select n.nspname as schema, c.relname as name, c.relrowsecurity as rls,
       c.relforcerowsecurity as forced, pg_get_userbyid(c.relowner) as owner
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg_temp%%'
order by 1, 2
"""


def _tenant_tables(db: Database) -> list[dict]:
    with db.admin() as conn:
        return conn.execute(TENANT_TABLES_SQL).fetchall()


def test_every_tenant_table_forces_rls_and_is_not_owned_by_the_app(fresh_db: Database) -> None:
    tables = _tenant_tables(fresh_db)
    assert len(tables) >= 10
    for t in tables:
        assert t["rls"] and t["forced"], f"{t['schema']}.{t['name']} lacks forced RLS"
        assert t["owner"] != APP_ROLE
    with fresh_db.admin() as conn:
        role = conn.execute(
            "select rolsuper, rolbypassrls from pg_roles where rolname = %s", [APP_ROLE]
        ).fetchone()
    assert role == {"rolsuper": False, "rolbypassrls": False}


def _required_columns(conn, schema: str, name: str) -> list[dict]:
    return conn.execute(
        """select a.attname as col, format_type(a.atttypid, a.atttypmod) as type,
                  t.typname, t.typtype, a.atttypid
           from pg_attribute a join pg_type t on t.oid = a.atttypid
           where a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
             and a.attnum > 0 and not a.attisdropped and a.attnotnull
             and a.attgenerated = '' and a.attidentity = ''
             and not exists (select 1 from pg_attrdef d where d.adrelid = a.attrelid and d.adnum = a.attnum)
             and a.attname <> 'tenant_id'""",
        [schema, name],
    ).fetchall()


def _foreign_keys(conn, schema: str, name: str) -> list[dict]:
    """The table's foreign keys to other tenant tables: child columns, parent table and columns."""
    return conn.execute(
        """select (select array_agg(a.attname order by k.i) from unnest(c.conkey) with ordinality k(n, i)
                   join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n) as cols,
                  c.confrelid::regclass::text as parent,
                  (select array_agg(a.attname order by k.i) from unnest(c.confkey) with ordinality k(n, i)
                   join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n) as parent_cols
           from pg_constraint c
           where c.conrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass and c.contype = 'f'
             and c.confrelid <> 'core.tenants'::regclass""",
        [schema, name],
    ).fetchall()


def _parents_first(conn, tables: list[dict]) -> list[dict]:
    """Order the tables so that a table referenced by a foreign key comes before its children."""
    by_name = {f"{t['schema']}.{t['name']}": t for t in tables}
    done: list[str] = []

    def visit(q: str, seen: tuple[str, ...] = ()) -> None:
        if q in done or q in seen or q not in by_name:
            return
        t = by_name[q]
        for fk in _foreign_keys(conn, t["schema"], t["name"]):
            visit(fk["parent"], (*seen, q))
        done.append(q)

    for q in by_name:
        visit(q)
    return [by_name[q] for q in done]


def _sample_value(conn, schema: str, name: str, col: dict):
    """A value satisfying the column's check constraints, found by trying the allowed literals."""
    checks = conn.execute(
        """select pg_get_constraintdef(oid) as def from pg_constraint
           where conrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass and contype = 'c'
             and conkey = array[(select attnum from pg_attribute
                                 where attrelid = conrelid and attname = %s)]""",
        [schema, name, col["col"]],
    ).fetchall()
    import re

    for c in checks:
        lits = re.findall(r"'([^']*)'::(?:text|\"char\")", c["def"])
        if lits:
            return lits[0]
    t = col["typname"]
    if t in ("int2", "int4", "int8", "numeric", "float8", "float4"):
        return 1
    if t == "date":
        return "2024-01-02"
    if t == "timestamptz":
        return "2024-01-02T00:00:00Z"
    if t == "timestamp":
        return "2024-01-02T00:00:00"
    if t == "bool":
        return True
    if t == "jsonb":
        return "{}"
    if t == "bpchar":
        return "EUR"
    if t == "_text":
        return ["x1"]
    if t in ("_int2", "_int4", "_int8", "_numeric", "_float4", "_float8"):
        return [1]
    return "x1"


_FK_SQL = """
select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent,
       array(select a.attname from unnest(c.conkey) k join pg_attribute a
             on a.attrelid = c.conrelid and a.attnum = k) as cols,
       array(select a.attname from unnest(c.confkey) k join pg_attribute a
             on a.attrelid = c.confrelid and a.attnum = k) as refcols
from pg_constraint c where c.contype = 'f'
"""


def _fk_order(db: Database, tables: list[dict]) -> list[dict]:
    """Tables ordered so that a table comes after the tenant tables its foreign keys name."""
    with db.admin() as conn:
        fks = conn.execute(_FK_SQL).fetchall()
    names = {f"{t['schema']}.{t['name']}": t for t in tables}
    deps = {n: {f["parent"] for f in fks if f["child"] == n and f["parent"] in names
                and f["parent"] != n} for n in names}
    out: list[dict] = []
    done: set[str] = set()
    while len(out) < len(names):
        ready = sorted(n for n in names if n not in done and deps[n] <= done)
        assert ready, f"foreign-key cycle among {sorted(set(names) - done)}"
        for n in ready:
            out.append(names[n])
            done.add(n)
    return out


def _fk_values(conn, schema: str, name: str, tenant_id, values: dict) -> dict:
    """For required columns under a foreign key to another tenant table: the key of tenant
    A's row there (inserted earlier, see :func:`_fk_order`)."""
    out = {}
    for f in conn.execute(_FK_SQL).fetchall():
        if f["child"] != f"{schema}.{name}" or "tenant_id" not in f["cols"]:
            continue
        pairs = [(c, r) for c, r in zip(f["cols"], f["refcols"], strict=True) if c != "tenant_id"]
        if not pairs or not all(c in values for c, _ in pairs):
            continue
        row = conn.execute(
            f"select {', '.join(r for _, r in pairs)} from {f['parent']} where tenant_id = %s limit 1",
            [tenant_id]).fetchone()
        if row is not None:
            out.update({c: row[r] for c, r in pairs})
    return out


def test_no_tenant_reads_or_writes_another_tenants_rows(fresh_db: Database) -> None:
    """For every table with tenant_id: insert a row as tenant A, then as tenant B try to read,
    update, delete it and to insert a row labelled A. Each must fail or touch nothing."""
    import psycopg

    a = new_tenant(fresh_db)
    b = new_tenant(fresh_db)
    with fresh_db.admin() as conn:
        tables = _parents_first(conn, _tenant_tables(fresh_db))
    inserted: dict[str, dict] = {}  # A's row in each table, for its children's foreign keys
    checked = 0
    for t in tables:
        schema, name = t["schema"], t["name"]
        qual = f"{schema}.{name}"
        with fresh_db.admin() as conn:
            cols = _required_columns(conn, schema, name)
            values = {c["col"]: _sample_value(conn, schema, name, c) for c in cols}
            for fk in _foreign_keys(conn, schema, name):
                parent = inserted.get(fk["parent"])
                for col, pcol in zip(fk["cols"], fk["parent_cols"], strict=True):
                    if col in values and parent is not None:
                        values[col] = parent[pcol]
        col_sql = ", ".join(["tenant_id", *values])
        ph = ", ".join(["%s"] * (len(values) + 1))
        if name != "tenants":
            # A writes its own row through the application's tenant transaction.
            with fresh_db.tenant_tx(a.tenant_id) as conn:
                inserted[qual] = conn.execute(
                    f"insert into {qual} ({col_sql}) values ({ph}) returning *",
                    [a.tenant_id, *values.values()],
                ).fetchone()
        # B sees nothing of A, and its updates and deletes touch nothing (or are denied).
        with fresh_db.tenant_tx(b.tenant_id) as conn:
            seen = conn.execute(
                f"select count(*) as n from {qual} where tenant_id = %s", [a.tenant_id]
            ).fetchone()["n"]
            assert seen == 0, f"{qual}: tenant B read tenant A's rows"
        for stmt in (
            f"update {qual} set tenant_id = tenant_id where tenant_id = %s",
            f"delete from {qual} where tenant_id = %s",
        ):
            try:
                with fresh_db.tenant_tx(b.tenant_id) as conn:
                    cur = conn.execute(stmt, [a.tenant_id])
                    assert cur.rowcount == 0, f"{qual}: tenant B changed A's rows: {stmt}"
            except psycopg.errors.InsufficientPrivilege:
                pass
        # B cannot write a row labelled A.
        with pytest.raises(psycopg.errors.InsufficientPrivilege), fresh_db.tenant_tx(b.tenant_id) as conn:
            conn.execute(
                f"insert into {qual} ({col_sql}) values ({ph})", [a.tenant_id, *values.values()]
            )
        # Without a tenant, nothing is visible.
        with fresh_db.app_tx() as conn:
            n = conn.execute(f"select count(*) as n from {qual}").fetchone()["n"]
            assert n == 0, f"{qual}: rows visible without a tenant"
        # A still sees its row (the test's insert worked and survived B's attempts).
        if name != "tenants":
            with fresh_db.tenant_tx(a.tenant_id) as conn:
                n = conn.execute(f"select count(*) as n from {qual}").fetchone()["n"]
                # >= 1: tables kept by triggers (inbox.kb_text_stats, inbox.kb_lexemes) also
                # hold the rows derived from A's earlier inserts
                assert n >= 1, f"{qual}: tenant A lost its row"
        checked += 1
    assert checked == len(tables)
