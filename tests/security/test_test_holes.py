"""The holes the planted-bug audit of issue 8 found in the suite, each closed by a test that
fails on its planted bug:

* a permissive UPDATE policy letting tenant B relabel its own rows as tenant A's
  (:func:`test_no_tenant_can_move_its_rows_to_another_tenant`, and the mutation test proving
  the check catches such a policy);
* a claim without ``status = 'approved'`` (a suggestion refused between the read and the
  claim must not be executed);
* the auto-apply threshold ``>=`` changed to ``>`` (a suggestion exactly at
  ``min_auto_apply_confidence`` is applied).
"""

from __future__ import annotations

import psycopg
import pytest

from growthops.ads.action import autoapply as aa
from growthops.ads.action import execution as ex
from growthops.core.db import Database
from tests.ads.test_execution import NOW, FakePlatform, add_suggestion, adset, set_config
from tests.conftest import new_tenant
from tests.core.test_rls import (
    _foreign_keys,
    _parents_first,
    _required_columns,
    _sample_value,
    _tenant_tables,
)


def _relabel_violations(db: Database) -> list[str]:
    """For every tenant table: tenant B inserts its own row, then tries to relabel it as tenant
    A's (``UPDATE ... SET tenant_id = A``). Return the tables where a row moved."""
    a, b = new_tenant(db), new_tenant(db)
    moved = []
    inserted: dict[str, dict] = {}  # B's row of each table, for its children's foreign keys
    with db.admin() as conn:
        tables = _parents_first(conn, _tenant_tables(db))
    for t in tables:
        schema, name = t["schema"], t["name"]
        qual = f"{schema}.{name}"
        # No WHERE clause: with one, PostgreSQL also checks the new row against the SELECT
        # policies (read access needed), which hides a permissive UPDATE policy; row-level
        # security already limits the statement to B's rows.
        target = f"update {qual} set tenant_id = %s"
        if name != "tenants":  # a tenant's own row: B relabels core.tenants' row of B
            with db.admin() as conn:
                cols = _required_columns(conn, schema, name)
                values = {c["col"]: _sample_value(conn, schema, name, c) for c in cols}
                for fk in _foreign_keys(conn, schema, name):
                    parent = inserted.get(fk["parent"])
                    for col, pcol in zip(fk["cols"], fk["parent_cols"], strict=True):
                        if col in values and parent is not None:
                            values[col] = parent[pcol]
            col_sql = ", ".join(["tenant_id", *values])
            ph = ", ".join(["%s"] * (len(values) + 1))
            with db.tenant_tx(b.tenant_id) as conn:
                inserted[qual] = conn.execute(
                    f"insert into {qual} ({col_sql}) values ({ph}) returning *",
                    [b.tenant_id, *values.values()]).fetchone()
        try:
            with db.tenant_tx(b.tenant_id) as conn:
                n = conn.execute(target, [a.tenant_id]).rowcount
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ForeignKeyViolation,
                psycopg.errors.UniqueViolation):
            n = 0
        landed = 0
        if name != "tenants":  # (A's own tenant row is there, of course)
            with db.admin() as conn:
                landed = conn.execute(f"select count(*) n from {qual} where tenant_id = %s",
                                      [a.tenant_id]).fetchone()["n"]
        if n or landed:
            moved.append(qual)
    return moved


def test_no_tenant_can_move_its_rows_to_another_tenant(fresh_db: Database) -> None:
    assert _relabel_violations(fresh_db) == []
    # every table of the catalogue was tried: the list is the catalogue's, and it is not empty
    names = {f"{t['schema']}.{t['name']}" for t in _tenant_tables(fresh_db)}
    assert {"ads.suggestions", "ads.decisions", "ads.audit_log", "core.api_keys"} <= names


def test_the_relabel_check_catches_a_permissive_update_policy(fresh_db: Database) -> None:
    """The planted bug of the audit: an extra permissive UPDATE policy with no tenant check."""
    with fresh_db.admin() as conn:
        conn.execute("create policy planted on ads.decisions for update to growthops_app "
                     "using (tenant_id = core.current_tenant_id()) with check (true)")
    assert _relabel_violations(fresh_db) == ["ads.decisions"]


def test_a_suggestion_refused_between_the_read_and_the_claim_is_not_executed(db, monkeypatch):
    t = new_tenant(db)
    sid = add_suggestion(db, t.tenant_id, type="pause", entity_id="as1")
    platform = FakePlatform(adset("as1"))
    original = platform.get_entity

    def read_then_refuse(entity_id):
        state = original(entity_id)
        with db.tenant_tx(t.tenant_id) as conn:  # someone refuses it meanwhile
            conn.execute("update ads.suggestions set status = 'refused' where suggestion_id = %s",
                         [sid])
        return state

    platform.get_entity = read_then_refuse
    monkeypatch.setattr(ex, "_get_platform", lambda conn, *, tenant_id, platform: platform_)
    platform_ = platform
    out = ex.execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "skipped" and platform.writes == []
    with db.tenant_tx(t.tenant_id) as conn:
        assert conn.execute("select count(*) n from ads.execution_logs where suggestion_id = %s",
                            [sid]).fetchone()["n"] == 0
        assert conn.execute("select status from ads.suggestions where suggestion_id = %s",
                            [sid]).fetchone()["status"] == "refused"


@pytest.mark.parametrize(("confidence", "calibrated", "applied"),
                         [(90, None, True), (89, None, False), (70, 90, True), (99, 89, False)])
def test_auto_apply_threshold_is_inclusive(db, monkeypatch, confidence, calibrated, applied):
    t = new_tenant(db)
    platform = FakePlatform(adset("as1"))
    monkeypatch.setattr(ex, "_get_platform", lambda conn, *, tenant_id, platform: platform_)
    platform_ = platform
    set_config(db, t.tenant_id, auto_apply_recommendations=True, min_auto_apply_confidence=90)
    sid = add_suggestion(db, t.tenant_id, status="pending", confidence=confidence,
                         calibrated=calibrated, entity_id="as1")
    outs = {o.suggestion_id: o for o in aa.auto_apply(db, tenant_id=t.tenant_id, now=NOW)}
    assert (sid in outs and outs[sid].status == "applied") is applied
    assert bool(platform.writes) is applied
