"""Tenant registry: create (owner connection), directory, lookup."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from growthops.core.db import Database
from growthops.core.errors import Conflict, NotFound
from growthops.core.tenants.models import Tenant, TenantIn

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
