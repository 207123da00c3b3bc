"""Ready for Citus: every tenant-owned table can be distributed on tenant_id, from the catalog."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner
from yoyo import read_migrations

from growthops.cli import app
from growthops.core import scaleout
from growthops.core.db import Database
from growthops.core.errors import Conflict
from growthops.core.migrate import MIGRATIONS_DIR, _backend, migrate
from growthops.settings import Settings


@contextmanager
def _rolled_back(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """An owner transaction that is always rolled back (DDL included)."""
    with db.admin() as conn, conn.transaction(force_rollback=True):
        yield conn


def test_every_tenant_owned_table_can_be_distributed_on_tenant_id(db: Database) -> None:
    with db.admin() as conn:
        assert scaleout.check(conn) == []
        tables = scaleout.tables(conn)
    by_kind: dict[str, list[str]] = {}
    for t in tables:
        by_kind.setdefault(t.kind, []).append(t.name)
    # Every table with a tenant_id (the RLS test's tenant-owned tables) is distributed, except
    # core.tenants, the tenants themselves, a reference table on purpose.
    with_tenant = sorted(t.name for t in tables if t.tenant_col is not None)
    assert sorted(by_kind["distributed"]) == [n for n in with_tenant if n != "core.tenants"]
    assert len(by_kind["distributed"]) >= 30
    assert (
        sorted(by_kind["reference"])
        == sorted(scaleout.REFERENCE_TABLES)
        == ["ads.industry_patterns", "ads.performance_benchmarks",  # issue 15: aggregates only
            "core.tenants", "core.users", "inbox.ai_models"]
    )
    assert "unclassified" not in by_kind
    assert {"public.procrastinate_jobs", "public._yoyo_migration", "core.platform_logs"} <= set(
        by_kind["local"]
    )
    system_logs = next(t for t in tables if t.name == "core.system_logs")
    assert system_logs.pk == ["tenant_id", "id"] and system_logs.tenant_col["not_null"]


def test_a_new_table_that_breaks_the_rules_is_caught(db: Database) -> None:
    with _rolled_back(db) as conn:
        conn.execute("""
            create table ads.bad_keys (
              id bigserial primary key,
              tenant_id uuid references core.tenants,
              name text unique);
            create unique index bad_keys_lower_name on ads.bad_keys ((lower(name)));
            create schema probe;
            create table probe.lists (
              tenant_id uuid not null references core.tenants,
              list_id bigint generated always as identity,
              primary key (tenant_id, list_id));
            create table probe.members (
              tenant_id uuid not null references core.tenants,
              member_id bigint generated always as identity,
              other_tenant uuid not null,
              list_id bigint not null,
              primary key (tenant_id, member_id),
              constraint members_list_fk foreign key (other_tenant, list_id)
                references probe.lists (tenant_id, list_id));
            create table probe.countries (code text primary key);
        """)
        problems = scaleout.check(conn)
        with pytest.raises(Conflict, match="ads.bad_keys"):
            scaleout.plan(conn)
    text = "\n".join(problems)
    assert "ads.bad_keys: tenant_id is nullable" in text
    assert "ads.bad_keys: primary key (id) does not start with tenant_id" in text
    assert "ads.bad_keys: unique index or constraint bad_keys_name_key (name)" in text
    assert "bad_keys_lower_name (<expr>)" in text
    assert "probe.members: foreign key members_list_fk (other_tenant, list_id)" in text
    assert "probe.countries: no tenant_id column and not listed" in text
    assert not any(p.startswith("probe.lists") for p in problems)  # the good one passes
    assert len(problems) == 6, problems
    with db.admin() as conn:  # rolled back: the real schema is clean again
        assert scaleout.check(conn) == []


def _table_of(line: str) -> str | None:
    m = re.match(r"select create_(?:reference|distributed)_table\('([^']+)'", line)
    if m:
        return m.group(1)
    m = re.match(r"--    (\S+): ", line)
    return m.group(1) if m else None


def test_the_plan_covers_every_table_once_in_dependency_order(db: Database) -> None:
    with _rolled_back(db) as conn:
        # A table added tomorrow is in the plan without anyone editing a list.
        conn.execute("""create table ads.new_tomorrow (
                          tenant_id uuid not null references core.tenants,
                          id bigint generated always as identity, primary key (tenant_id, id));
                        create table ads.new_child (
                          tenant_id uuid not null, id bigint, child bigint,
                          primary key (tenant_id, child),
                          foreign key (tenant_id, id) references ads.new_tomorrow (tenant_id, id));
                     """)
        lines = scaleout.plan(conn)
        tables = scaleout.tables(conn)
    placed = [(i, _table_of(line), line) for i, line in enumerate(lines) if _table_of(line)]
    names = [n for _, n, _ in placed]
    assert sorted(names) == sorted(t.name for t in tables)  # every table, exactly once
    assert {"ads.new_tomorrow", "ads.new_child", "public.procrastinate_jobs"} <= set(names)
    where = {n: i for i, n, _ in placed}
    kinds = {t.name: t.kind for t in tables}
    ref_lines = [i for i, n, _ in placed if kinds[n] == "reference"]
    dist = [(i, line) for i, n, line in placed if kinds[n] == "distributed"]
    local_lines = [i for i, n, _ in placed if kinds[n] == "local"]
    assert max(ref_lines) < min(i for i, _ in dist) < max(i for i, _ in dist) < min(local_lines)
    anchor = _table_of(dist[0][1])
    assert dist[0][1].endswith("'tenant_id', colocate_with => 'none');")
    assert all(line.endswith(f"'tenant_id', colocate_with => '{anchor}');") for _, line in dist[1:])
    for t in tables:  # a referenced table is created first
        for fk, _, ref, _ in t.fks:
            if kinds[t.name] != "local":
                assert where[ref] < where[t.name], (t.name, fk, ref)
    assert where["core.tenants"] < where["core.users"]
    assert where["ads.new_tomorrow"] < where["ads.new_child"]


def test_scale_out_plan_command_prints_the_plan(db: Database) -> None:
    res = CliRunner().invoke(app, ["db", "scale-out-plan"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = res.output.splitlines()
    assert "select create_reference_table('core.tenants');" in out
    assert any(
        line.startswith(
            "select create_distributed_table('ads.metrics_daily', 'tenant_id', colocate_with => '"
        )
        for line in out
    )
    assert any(line.startswith("--    public.procrastinate_jobs: ") for line in out)


def test_0011_moves_system_wide_logs_out_and_keys_system_logs_by_tenant(
    template_db: Database,
) -> None:
    settings = Settings(
        data_dir=template_db.settings.data_dir,
        database_name=f"growthops_m0011_{uuid.uuid4().hex[:8]}",
        embedded_cleanup="stop",
    )
    d = Database(settings)  # a new, empty database on the session's server
    with _backend(d) as backend, backend.lock():
        before = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < "0011")
        backend.apply_migrations(backend.to_apply(before))
    tid = uuid.uuid4()
    with d.admin() as conn:  # the superuser bypasses RLS: rows of both kinds, as before 0011
        conn.execute(
            "insert into core.tenants (tenant_id, client_key, client_name) "
            "values (%s, 'm11', 'M11')",
            [tid],
        )
        for tenant, msg in [(None, "sys 1"), (tid, "tenant 1"), (None, "sys 2")]:
            conn.execute(
                "insert into core.system_logs (tenant_id, level, message, context) "
                "values (%s, 'WARNING', %s, '{\"k\": 1}')",
                [tenant, msg],
            )
    applied = migrate(d)
    assert applied[0] == "0011_tenant_keys" and applied[-1] == "procrastinate"
    with d.admin() as conn:
        moved = conn.execute(
            "select message, level, context from core.platform_logs order by id"
        ).fetchall()
        kept = conn.execute("select tenant_id, message from core.system_logs").fetchall()
        forced = conn.execute(
            "select relforcerowsecurity as f from pg_class where oid = 'core.system_logs'::regclass"
        ).fetchone()["f"]
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            conn.execute("insert into core.system_logs (level, message) values ('INFO', 'x')")
        assert scaleout.check(conn) == []
    assert moved == [
        {"message": "sys 1", "level": "WARNING", "context": {"k": 1}},
        {"message": "sys 2", "level": "WARNING", "context": {"k": 1}},
    ]
    assert kept == [{"tenant_id": tid, "message": "tenant 1"}]
    assert forced
    d.close()
