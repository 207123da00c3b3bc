"""Subscriptions from Stripe webhooks (issue 12, optional): deliveries signed in Stripe's wire
format (``Stripe-Signature: t=...,v1=...``), verified by the official SDK before anything else,
idempotent on the event id, updating ``user_subscriptions`` and the plan; off unless configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from growthops.core.db import Database
from growthops.inbox import credits
from tests.conftest import new_tenant

WHSEC = "whsec_test_0123456789abcdef"


def sign(body: bytes, secret: str = WHSEC, at: int | None = None) -> str:
    """Stripe's signature header: HMAC-SHA256 of "<t>.<body>" with the endpoint secret."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(evt: str, kind: str, tenant_key: str, *, status: str = "active", plan: str = "pro",
          created: int | None = None, sub: str = "sub_1Q2w3e") -> bytes:
    """A ``customer.subscription.*`` event as Stripe sends it (trimmed to the fields used and a
    few around them)."""
    now = int(time.time()) if created is None else created
    return json.dumps({
        "id": evt, "object": "event", "api_version": "2025-09-30.clover", "created": now,
        "livemode": False, "pending_webhooks": 1, "type": kind,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": sub, "object": "subscription", "customer": "cus_9s6XKzkNRiz8i3",
            "status": status, "cancel_at_period_end": False, "currency": "eur",
            "metadata": {"growthops_tenant": tenant_key},
            "items": {"object": "list", "has_more": False, "data": [{
                "id": "si_1", "object": "subscription_item", "quantity": 1,
                "current_period_start": now - 86400, "current_period_end": now + 29 * 86400,
                "price": {"id": "price_1", "object": "price", "lookup_key": plan,
                          "unit_amount": 4900, "currency": "eur", "recurring": {"interval": "month"}}}]},
        }}}).encode()


@pytest.fixture(scope="module")
def stripe_app(db: Database):
    from growthops.app import create_app

    d = Database(db.settings.model_copy(update={"stripe_webhook_secret": SecretStr(WHSEC)}))
    yield TestClient(create_app(db=d))
    d.close()


def _post(client, body: bytes, sig: str | None) -> object:
    headers = {"content-type": "application/json"}
    if sig is not None:
        headers["Stripe-Signature"] = sig
    return client.post("/webhooks/stripe", content=body, headers=headers)


def _sub(db, tid):
    with db.tenant_tx(tid) as conn:
        row = conn.execute("select * from inbox.user_subscriptions where tenant_id = %s",
                           [tid]).fetchone()
        n = conn.execute("select count(*) as n from inbox.stripe_events where tenant_id = %s",
                         [tid]).fetchone()["n"]
    return row, n


def test_stripe_webhooks_set_the_plan_once_per_event(db, stripe_app):
    t = new_tenant(db)
    body = event("evt_A1", "customer.subscription.created", t.client_key)
    # nothing is read from a delivery whose signature does not verify
    assert _post(stripe_app, body, None).status_code == 400
    assert _post(stripe_app, body, sign(body, "whsec_other")).status_code == 400
    assert _post(stripe_app, body, sign(body, at=int(time.time()) - 3600)).status_code == 400
    assert _post(stripe_app, body + b" ", sign(body)).status_code == 400
    assert _sub(db, t.tenant_id) == (None, 0)
    r = _post(stripe_app, body, sign(body))
    assert r.status_code == 200 and r.json() == {"status": "applied", "plan": "pro",
                                                 "subscription_status": "active"}
    row, n = _sub(db, t.tenant_id)
    assert (row["plan_name"], row["status"], row["stripe_subscription_id"], n) == (
        "pro", "active", "sub_1Q2w3e", 1)
    assert row["current_period_end"] > row["current_period_start"]
    assert float(row["storage_limit_mb"]) == credits.PLANS["pro"].kb_storage_mb
    # a redelivery (Stripe retries) changes nothing
    again = _post(stripe_app, body, sign(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _sub(db, t.tenant_id)[1] == 1
    # deleted: canceled (the free plan's limits apply); an older update arriving late is stale
    t0 = int(time.time())
    gone = event("evt_A3", "customer.subscription.deleted", t.client_key, status="canceled",
                 created=t0 + 5)
    assert _post(stripe_app, gone, sign(gone)).json()["status"] == "applied"
    late = event("evt_A2", "customer.subscription.updated", t.client_key, plan="enterprise",
                 created=t0 + 2)
    assert _post(stripe_app, late, sign(late)).json()["status"] == "stale"
    row, n = _sub(db, t.tenant_id)
    assert (row["plan_name"], row["status"], n) == ("pro", "canceled", 3)
    with db.tenant_tx(t.tenant_id) as conn:
        assert credits.plan_of(conn, tenant_id=t.tenant_id).name == "free"


def test_events_for_no_tenant_or_plan_or_of_other_types_are_acknowledged_and_ignored(db, stripe_app):
    t = new_tenant(db)
    for body in (event("evt_B1", "customer.subscription.updated", "no-such-tenant"),
                 event("evt_B2", "customer.subscription.updated", t.client_key, plan="gold"),
                 event("evt_B3", "invoice.paid", t.client_key)):
        r = _post(stripe_app, body, sign(body))
        assert r.status_code == 200 and r.json()["status"] == "ignored", r.text
    assert _sub(db, t.tenant_id) == (None, 0)


def test_without_a_secret_the_route_is_off(db):
    from growthops.app import create_app

    client = TestClient(create_app(db=db))
    body = event("evt_C1", "customer.subscription.created", "x")
    assert _post(client, body, sign(body)).status_code == 404
