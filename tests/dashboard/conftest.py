"""Fixtures of the dashboard tests: the app with the dashboard router, users, a sandbox tenant
whose daily cycle produced suggestions, and logged-in clients."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from growthops.core.auth.users import create_user
from tests.conftest import new_tenant

PASSWORD = "correct horse battery staple"
PLATFORM_TYPES = ("scale", "budget_increase", "budget_decrease", "pause", "bid_adjustment")


def build_app(db: Any) -> FastAPI:
    """``create_app`` on the test database (the shell and every domain's pages)."""
    from growthops.app import create_app

    return create_app(db=db)


def sandbox_tenant(db: Any, *, cycle: bool = True, **fields: Any) -> Any:
    """A tenant with a sandbox Meta account (40 days to yesterday) and, with ``cycle``, one daily
    cycle run (its suggestions)."""
    from growthops.ads.cycle import run_daily_cycle
    from growthops.connectors.sandbox import create_sandbox_account

    fields.setdefault("monthly_budget_max", Decimal("100000"))
    t = new_tenant(db, **fields)
    # "yesterday" in the tenant's time zone, as the pages count a day's age (between 23:00 and
    # midnight UTC, Paris is already on the next day)
    today = datetime.now(ZoneInfo(t.time_zone)).date()
    with db.tenant_tx(t.tenant_id) as conn:
        create_sandbox_account(conn, tenant_id=t.tenant_id, seed=7,
                               start=today - timedelta(days=40), days_history=40)
    if cycle:
        run_daily_cycle(db, tenant_id=t.tenant_id)
    return t


def user(db: Any, role: str, *, tenant_id: Any = None, lang: str = "en") -> Any:
    """Create a user with a unique e-mail and :data:`PASSWORD`."""
    return create_user(db, email=f"{role}-{uuid.uuid4().hex[:8]}@agency.test", password=PASSWORD,
                       role=role, tenant_id=tenant_id, lang=lang)


def login(app: FastAPI, u: Any) -> TestClient:
    """A client logged in as ``u`` (redirects not followed)."""
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"email": u.email, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its forms."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def q(db: Any, tenant_id: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Run ``sql`` in the tenant's transaction and return the rows."""
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(sql, [str(tenant_id), *params]).fetchall()


@pytest.fixture(scope="module")
def world(db: Any) -> dict[str, Any]:
    """Two sandbox tenants (A with suggestions to decide, B), staff and viewer accounts, the app."""
    a = sandbox_tenant(db, client_name="Alpha Coaching")
    b = sandbox_tenant(db, client_name="Beta Shop")
    return {
        "app": build_app(db), "a": a, "b": b,
        "admin": user(db, "admin"), "buyer": user(db, "media_buyer", lang="fr"),
        "viewer": user(db, "client_viewer", tenant_id=a.tenant_id),
    }
