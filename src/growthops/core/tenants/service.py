"""Tenant registry: create (owner connection), directory, lookup."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from growthops.core.db import Database
from growthops.core.errors import Conflict, NotFound
from growthops.core.tenants.models import Tenant, TenantIn, TenantUpdate

_COLUMNS = list(TenantIn.model_fields)


def create_tenant(db: Database, tenant: TenantIn) -> Tenant:
    """Create a tenant through the owner connection (the app role cannot insert tenants).

    Raises :class:`Conflict` when ``client_key`` exists already.
    """
    values = tenant.model_dump()
    cols = ", ".join(_COLUMNS)
    params = ", ".join(f"%({c})s" for c in _COLUMNS)
    with db.admin() as conn:
        try:
            row = conn.execute(
                f"insert into core.tenants ({cols}) values ({params}) returning *", values
            ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"tenant {tenant.client_key!r} exists already") from exc
    assert row is not None
    return Tenant.model_validate(row)


def directory(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Return every tenant's id, key, name, time zone and currency (cross-tenant, no metrics)."""
    return conn.execute("select * from core.tenant_directory()").fetchall()


def resolve(conn: psycopg.Connection[Any], key_or_id: str) -> dict[str, Any]:
    """Return the directory row of the tenant named by ``client_key`` or id; :class:`NotFound` else."""
    for row in directory(conn):
        if row["client_key"] == key_or_id or str(row["tenant_id"]) == key_or_id:
            return row
    raise NotFound(f"no tenant {key_or_id!r} (see: growthops tenants list)")


def get_tenant(conn: psycopg.Connection[Any], *, tenant_id: UUID) -> Tenant:
    """Return the tenant of the current tenant transaction."""
    row = conn.execute("select * from core.tenants where tenant_id = %s", [tenant_id]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    return Tenant.model_validate(row)


def update_tenant(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, changes: TenantUpdate, by: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply the fields set in ``changes`` to the tenant; return ``(before, after)`` of those
    that changed (both empty when nothing changes: nothing is written then).

    Runs in the tenant's transaction (row locked ``for update``); never commits. The change is
    audited in ``core.system_logs`` (module ``growthops.core.tenants``, actor ``by``, before and
    after). Raises :class:`NotFound` for an unknown tenant and :class:`Conflict` for a currency
    change once the tenant has ad metrics (every stored amount is in the tenant's currency:
    changing the code would relabel them, not convert them).
    """
    from growthops.core.errors import InvalidInput
    from growthops.core.logs.service import log_event

    by = (by or "").strip()
    if not 1 <= len(by) <= 200:
        raise InvalidInput("by: who changes the tenant is required (1-200 characters)")
    wanted = changes.model_dump(exclude_unset=True)
    row = conn.execute("select * from core.tenants where tenant_id = %s for update",
                       [tenant_id]).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    diff = {k: v for k, v in wanted.items() if (row[k].strip() if k == "currency" else row[k]) != v}
    if not diff:
        return {}, {}
    if "currency" in diff and conn.execute(
            "select exists (select 1 from ads.metrics_daily where tenant_id = %s) as e",
            [tenant_id]).fetchone()["e"]:
        raise Conflict(f"currency: the tenant has ad metrics in {row['currency'].strip()}; "
                       "changing the code would relabel every stored amount")
    before = {k: row[k] for k in diff}
    sets = ", ".join(f"{k} = %({k})s" for k in diff)
    conn.execute(f"update core.tenants set {sets}, updated_at = now() where tenant_id = %(tenant_id)s",
                 {**diff, "tenant_id": tenant_id})
    log_event(conn, tenant_id=tenant_id, level="INFO", module="growthops.core.tenants",
              message=f"tenant updated by {by}: {', '.join(sorted(diff))}",
              context={"by": by, "before": _plain(before), "after": _plain(diff)})
    return before, diff


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy (Decimal and other values as text)."""
    return {k: v if v is None or isinstance(v, (str, int, bool)) else str(v)
            for k, v in values.items()}
