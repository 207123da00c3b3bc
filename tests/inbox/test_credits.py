"""Credits and plans: idempotent debits, never below zero, the append-only ledger, the monthly
grant in the tenant's time zone, plans."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from growthops.core.errors import InvalidInput
from growthops.inbox import credits
from tests.conftest import new_tenant


def test_a_debit_is_charged_once_per_action_and_never_below_zero(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        assert credits.ensure(conn, tenant_id=t.tenant_id)["plan"] == "free"
        credits.credit(conn, tenant_id=t.tenant_id, action_id="g1", amount=2)
        assert credits.debit(conn, tenant_id=t.tenant_id, action_id="reply:1") is True
        assert credits.debit(conn, tenant_id=t.tenant_id, action_id="reply:1") is False
        assert credits.debit(conn, tenant_id=t.tenant_id, action_id="reply:2") is True
        with pytest.raises(credits.OutOfCredits, match="0 left") as exc:
            credits.debit(conn, tenant_id=t.tenant_id, action_id="reply:3")
        assert exc.value.remaining == 0
        assert credits.reconcile(conn, tenant_id=t.tenant_id) == {"balance": 0, "ledger_sum": 0}
        rows = credits.ledger(conn, tenant_id=t.tenant_id)
        assert [(r["amount"], r["balance_after"]) for r in rows] == [(-1, 0), (-1, 1), (2, 2)]
        with pytest.raises(InvalidInput, match="reason"):
            credits.debit(conn, tenant_id=t.tenant_id, action_id="x", reason="fun")
    with pytest.raises(psycopg.errors.CheckViolation), db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update inbox.user_credits set credits_remaining = -1 where tenant_id = %s",
                     [t.tenant_id])


def test_the_ledger_is_append_only_for_the_application(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        credits.credit(conn, tenant_id=t.tenant_id, action_id="g1", amount=5)
    for sql in ("update inbox.credit_transactions set amount = 500",
                "delete from inbox.credit_transactions"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.tenant_tx(t.tenant_id) as conn:
            conn.execute(sql)


def test_the_monthly_grant_follows_the_tenants_month_and_runs_once(db):
    t = new_tenant(db, time_zone="Pacific/Auckland")
    with db.tenant_tx(t.tenant_id) as conn:
        credits.set_plan(conn, tenant_id=t.tenant_id, plan="starter")
        # 2026-05-31 13:00 UTC is already June 1st 01:00 in Auckland
        at = datetime(2026, 5, 31, 13, 0, tzinfo=UTC)
        assert credits.monthly_reset(conn, tenant_id=t.tenant_id, now=at,
                                     time_zone="Pacific/Auckland")
        assert not credits.monthly_reset(conn, tenant_id=t.tenant_id, now=at,
                                         time_zone="Pacific/Auckland")
        st = credits.state(conn, tenant_id=t.tenant_id)
        assert st["credits_remaining"] == credits.PLANS["starter"].ai_replies == 1000
        credits.debit(conn, tenant_id=t.tenant_id, action_id="r1", amount=400)
        assert credits.state(conn, tenant_id=t.tenant_id)["used_this_month"] == 400
        # still June in Auckland: nothing; July: the balance is back to the allowance
        assert not credits.monthly_reset(conn, tenant_id=t.tenant_id,
                                         now=datetime(2026, 6, 29, 0, 0, tzinfo=UTC),
                                         time_zone="Pacific/Auckland")
        assert credits.monthly_reset(conn, tenant_id=t.tenant_id,
                                     now=datetime(2026, 6, 30, 13, 0, tzinfo=UTC),
                                     time_zone="Pacific/Auckland")
        rows = credits.ledger(conn, tenant_id=t.tenant_id)
        assert (rows[0]["reason"], rows[0]["amount"], rows[0]["action_id"]) == (
            "monthly_reset", 400, "reset:2026-07")
        assert credits.reconcile(conn, tenant_id=t.tenant_id) == {"balance": 1000,
                                                                  "ledger_sum": 1000}
        # a canceled subscription gets the free plan's allowance
        credits.set_plan(conn, tenant_id=t.tenant_id, plan="starter", status="canceled")
        credits.monthly_reset(conn, tenant_id=t.tenant_id,
                              now=datetime(2026, 7, 31, 13, 0, tzinfo=UTC),
                              time_zone="Pacific/Auckland")
        assert credits.state(conn, tenant_id=t.tenant_id)["credits_remaining"] == 50
        with pytest.raises(InvalidInput, match="plan"):
            credits.set_plan(conn, tenant_id=t.tenant_id, plan="platinum")
