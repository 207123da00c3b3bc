"""The API tests' world: two tenants with real data, their API keys, and users of every role.

Tenant A has a sandbox ad account (35 days of simulated delivery), one daily cycle run
(suggestions, baselines), two suggestions approved and executed on the sandbox (execution logs,
hypotheses), one anomaly and one validation item. Tenant B has the synthetic plan's data and a
daily cycle. Built once per test package; tests that change data use their own tenants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from growthops.ads.action import decisions, validation
from growthops.ads.action import execution as ex
from growthops.ads.cycle import run_daily_cycle
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from growthops.app import create_app
from growthops.connectors.sandbox import create_sandbox_account
from growthops.core.auth import api_keys
from growthops.core.auth.users import User, create_user
from growthops.core.db import Database
from growthops.core.tenants.models import Tenant
from tests.conftest import new_tenant

PASSWORD = "correct horse battery"
SANDBOX_END = date(2026, 3, 9)
PLAN_END = date(2024, 3, 31)
PLAN = Plan(
    campaigns=2,
    adsets_per_campaign=3,
    ads_per_adset=3,
    days=60,
    end=PLAN_END,
    base_spend=150.0,
    bad_adsets=(1,),
    great_adsets=(0,),
    fatigued_ads=(6,),
    budget_adsets=(2, 5),
)


@dataclass
class Side:
    """One tenant of the world: the tenant, its API key, its viewer, and ids of its rows."""

    tenant: Tenant
    key: str
    viewer: User
    suggestion_ids: list[int]
    ids: dict[str, int]


@dataclass
class World:
    """Two tenants and the staff users."""

    db: Database
    a: Side
    b: Side
    admin: User
    buyer: User

    def client(self, who: User | str | None = None) -> TestClient:
        """Return a TestClient logged in as ``who`` (a user), with ``who``'s key, or anonymous."""
        # the suites send hundreds of requests (many refused with 401) from one address:
        # the rate limits are tested on their own (tests/security)
        settings = self.db.settings.model_copy(update={"rate_limits_enabled": False})
        c = TestClient(create_app(settings, db=self.db))
        if isinstance(who, User):
            r = c.post("/api/v1/auth/login", json={"email": who.email, "password": PASSWORD})
            assert r.status_code == 200, r.text
        elif isinstance(who, str):
            c.headers["X-API-Key"] = who
        return c


def unique_email(tag: str) -> str:
    """Return a fresh e-mail address."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@agency.example"


def make_key(db: Database, tenant: Tenant, *, acts_for_people: bool = True) -> str:
    """Create an API key for ``tenant`` and return its plaintext (by default a key relaying
    people's decisions, which names the person in each: ``decided_by``, ``by``...)."""
    with db.tenant_tx(tenant.tenant_id) as conn:
        return api_keys.create(conn, tenant_id=tenant.tenant_id, name="tests",
                               acts_for_people=acts_for_people).plaintext


def synthetic_tenant(db: Database) -> Tenant:
    """A tenant with the synthetic plan's 60 days and one daily cycle (pending suggestions)."""
    t = new_tenant(db, monthly_budget_max=Decimal("30000"))
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, PLAN))
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=PLAN_END)
    return t


def _first(db: Database, tenant: Tenant, sql: str) -> Any:
    with db.tenant_tx(tenant.tenant_id) as conn:
        row = conn.execute(sql + " order by 1 limit 1").fetchone()
    return None if row is None else next(iter(row.values()))


def _side(db: Database, tenant: Tenant) -> Side:
    with db.tenant_tx(tenant.tenant_id) as conn:
        rows, _ = decisions.list_suggestions(conn, tenant_id=tenant.tenant_id, limit=1000)
        item = validation.submit(
            conn,
            tenant_id=tenant.tenant_id,
            item_type="ad_creative",
            item_name="Spring hook v2",
            submitted_by="seed",
        )
    viewer = create_user(
        db,
        email=unique_email("viewer"),
        password=PASSWORD,
        role="client_viewer",
        tenant_id=tenant.tenant_id,
    )
    ids = {"queue_id": int(item["queue_id"]),
           "conversation_id": inbox_conversation(db, tenant)}
    with db.tenant_tx(tenant.tenant_id) as conn:
        ids["lead_id"] = int(conn.execute(
            """insert into leads.lead_memory (tenant_id, email, message)
               values (%s, 'seed@example.org', 'I would like a quote') returning lead_id""",
            [tenant.tenant_id]).fetchone()["lead_id"])
        from growthops.ads.experiments.plan import create_test  # issue 15: a creative test

        ids["test_id"] = int(create_test(
            conn, tenant_id=tenant.tenant_id, test_name="Seed test", hypothesis="seed",
            platform="meta", level="ad", variant_a="ad-seed", change={"ctr": 0.02},
            primary_metric="ctr", mde_rel=0.2, baseline_value=0.01)["test_id"])
    for name, table in (
        ("execution_id", "execution_logs"),
        ("hypothesis_id", "hypothesis_tracking"),
        ("anomaly_id", "anomalies"),
    ):
        value = _first(db, tenant, f"select {name} from ads.{table}")
        if value is not None:
            ids[name] = int(value)
    return Side(
        tenant=tenant,
        key=make_key(db, tenant),
        viewer=viewer,
        suggestion_ids=sorted(r["suggestion_id"] for r in rows),
        ids=ids,
    )


def inbox_conversation(db: Database, tenant: Tenant) -> int:
    """Give ``tenant`` a sandbox WhatsApp number and one conversation; return its id."""
    from growthops.connectors.messaging import InboundMessage
    from growthops.inbox.accounts import connect
    from growthops.inbox.ingest import store_items

    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = connect(conn, tenant_id=tenant.tenant_id, platform="whatsapp",
                      account_id=f"wa-{tenant.client_key}", connector="sandbox")
        msg = InboundMessage(platform="whatsapp", account_id=acc["account_id"],
                             customer_id="33600000000", message_id=f"wamid.{tenant.client_key}",
                             sent_at=datetime.now(UTC), type="text", text="Hello")
        store_items(conn, tenant_id=tenant.tenant_id,
                    items=[(acc["social_account_id"], msg)])
        return int(conn.execute("select conversation_id from inbox.conversations "
                                "where tenant_id = %s", [tenant.tenant_id]).fetchone()[
                                    "conversation_id"])


@pytest.fixture(scope="package")
def world(db: Database) -> World:
    """Build the world once for the package (see the module docstring)."""
    a = new_tenant(db, monthly_budget_max=Decimal("20000"))
    with db.tenant_tx(a.tenant_id) as conn:
        create_sandbox_account(
            conn, tenant_id=a.tenant_id, seed=7, start=date(2026, 2, 3), days_history=35
        )
    run_daily_cycle(db, tenant_id=a.tenant_id, as_of=SANDBOX_END)
    with db.tenant_tx(a.tenant_id) as conn:
        rows, _ = decisions.list_suggestions(conn, tenant_id=a.tenant_id, status="pending")
        # The first two the platform applies (a refresh is handed to a person, not applied).
        rows = [r for r in rows if r["type"] in ex.PLATFORM_TYPES]
        for r in rows[:2]:
            decisions.decide(
                conn,
                tenant_id=a.tenant_id,
                suggestion_id=r["suggestion_id"],
                decision="approved",
                decided_by="seed-buyer",
                notes="go",
            )
        conn.execute(
            """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,
                 anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,
                 severity, method)
               values (%s, %s, 'meta', 'adset', 'sbx-c1-s1', 'seeded', 'drop', 'ctr', 0.02, 0.01,
                       -0.5, 0.0001, 0.001, 'high', 'seeded')""",
            [a.tenant_id, SANDBOX_END],
        )
    for r in rows[:2]:
        out = ex.execute_suggestion(db, tenant_id=a.tenant_id, suggestion_id=r["suggestion_id"])
        assert out.status == "applied", out
    b = synthetic_tenant(db)
    admin = create_user(db, email=unique_email("admin"), password=PASSWORD, role="admin")
    buyer = create_user(db, email=unique_email("buyer"), password=PASSWORD, role="media_buyer")
    return World(db=db, a=_side(db, a), b=_side(db, b), admin=admin, buyer=buyer)
