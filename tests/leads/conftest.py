"""Fixtures of the leads tests: a tenant with keys, the app, and a helper posting leads."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from growthops.core.auth import api_keys
from tests.conftest import new_tenant


def make_key(db: Any, tenant: Any, scopes: tuple[str, ...] = ("leads:capture",)) -> str:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return api_keys.create(conn, tenant_id=tenant.tenant_id, name="site",
                               scopes=scopes).plaintext


@pytest.fixture()
def leads_env(db: Any) -> dict[str, Any]:
    from growthops.app import create_app

    t = new_tenant(db)
    return {"db": db, "tenant": t, "key": make_key(db, t), "api_key": make_key(db, t, ("api",)),
            "client": TestClient(create_app(db=db))}


def q(db: Any, tenant: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return conn.execute(sql, [str(tenant.tenant_id), *params]).fetchall()
