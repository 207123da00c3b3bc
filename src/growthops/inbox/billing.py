"""Subscription state from Stripe (issue 12, optional): ``POST /webhooks/stripe``.

Off unless ``GROWTHOPS_STRIPE_WEBHOOK_SECRET`` is set (the route answers 404): plans then come
from staff (:func:`growthops.inbox.credits.set_plan`). With it, every delivery is verified
first, with the official SDK (``stripe.Webhook.construct_event``: the ``Stripe-Signature``
header ``t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>``, at most
300 s old; Stripe, "Check the webhook signatures"); nothing is read from an unverified body
(400). Then, for ``customer.subscription.created|updated|deleted``:

* the tenant is the subscription's ``metadata.growthops_tenant`` (its ``client_key``, set when
  the agency creates the subscription; Stripe copies a subscription's metadata into every
  event about it); an event for no known tenant is acknowledged and ignored (200,
  ``ignored``: Stripe would otherwise retry it for days);
* the plan is the first item's ``price.lookup_key``, else ``metadata.plan`` (one of
  :data:`growthops.inbox.credits.PLANS`; another value is acknowledged and ignored);
* the status: ``active``/``trialing`` → ``active``; ``past_due``/``unpaid``/``incomplete`` →
  ``past_due``; ``canceled``/``incomplete_expired``/``paused`` and ``deleted`` events →
  ``canceled`` (a canceled or past-due tenant gets the free plan's limits and allowance);
* ``current_period_start``/``_end``: the subscription's, else its first item's (newer API
  versions moved them to the items).

Idempotent on the event id (``inbox.stripe_events``, unique per tenant): a redelivery changes
nothing; an event older (Stripe's ``created``) than one already applied to the subscription is
recorded, not applied. Other event types are acknowledged and ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from growthops.core.db import Database
from growthops.core.errors import NotFound
from growthops.inbox import credits
from growthops.inbox.webhooks import MAX_BODY_BYTES, _error, _read_capped
from growthops.web.deps import get_database

router = APIRouter(tags=["webhooks"])
TYPES = ("customer.subscription.created", "customer.subscription.updated",
         "customer.subscription.deleted")
STATUS = {"active": "active", "trialing": "active", "past_due": "past_due", "unpaid": "past_due",
          "incomplete": "past_due", "canceled": "canceled", "incomplete_expired": "canceled",
          "paused": "canceled"}


def _ts(v: Any) -> datetime | None:
    return datetime.fromtimestamp(int(v), UTC) if v else None


def _tenant(db: Database, sub: dict[str, Any]) -> str | None:
    """The tenant of a subscription (see the module), or None."""
    from growthops.core.tenants.service import resolve

    key = (sub.get("metadata") or {}).get("growthops_tenant")
    if not key:
        return None
    with db.app_tx() as conn:
        try:
            return str(resolve(conn, str(key))["tenant_id"])
        except NotFound:
            return None


def apply_event(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """Apply a verified Stripe event (a ``stripe.Event`` or its dict); return ``{status, ...}``
    with ``status`` ``applied``, ``duplicate``, ``stale`` or ``ignored`` (and why)."""
    if event.get("type") not in TYPES:
        return {"status": "ignored", "reason": f"event type {event.get('type')}"}
    sub = event["data"]["object"]
    tid = _tenant(db, sub)
    if tid is None:
        return {"status": "ignored", "reason": "no tenant for this subscription"}
    items = ((sub.get("items") or {}).get("data")) or [{}]
    plan = ((items[0].get("price") or {}).get("lookup_key")
            or (sub.get("metadata") or {}).get("plan"))
    if plan not in credits.PLANS:
        return {"status": "ignored", "reason": f"plan {plan!r} is not one of {', '.join(credits.PLANS)}"}
    status = ("canceled" if event["type"].endswith(".deleted")
              else STATUS.get(sub.get("status"), "past_due"))
    created = _ts(event["created"])
    with db.tenant_tx(tid) as conn:
        newer = conn.execute(
            """select 1 from inbox.stripe_events where tenant_id = %s and subscription_id = %s
                 and applied and event_created > %s""", [tid, sub.get("id"), created]).fetchone()
        row = conn.execute(
            """insert into inbox.stripe_events (tenant_id, event_id, event_type, subscription_id,
                 event_created, applied, plan_name, status)
               values (%s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (tenant_id, event_id) do nothing returning event_id""",
            [tid, event["id"], event["type"], sub.get("id"), created, newer is None, plan,
             status]).fetchone()
        if row is None:
            return {"status": "duplicate", "tenant_id": tid}
        if newer is not None:
            return {"status": "stale", "tenant_id": tid}
        credits.set_plan(conn, tenant_id=tid, plan=plan, status=status)
        conn.execute(
            """update inbox.user_subscriptions set stripe_subscription_id = %s,
                 current_period_start = coalesce(%s, current_period_start),
                 current_period_end = coalesce(%s, current_period_end), updated_at = now()
               where tenant_id = %s""",
            [sub.get("id"), _ts(sub.get("current_period_start") or items[0].get("current_period_start")),
             _ts(sub.get("current_period_end") or items[0].get("current_period_end")), tid])
    return {"status": "applied", "tenant_id": tid, "plan": plan, "subscription_status": status}


@router.post("/webhooks/stripe", summary="Stripe subscription events (signed; off unless configured)",
             responses={400: {"description": "bad signature or body"},
                        404: {"description": "Stripe is not configured"},
                        413: {"description": "body too large"}})
async def stripe_receive(request: Request) -> Response:
    """Verify the delivery with ``stripe.Webhook.construct_event`` before anything else, then
    apply it (:func:`apply_event`). 200 once handled (also duplicates and ignored events)."""
    db = get_database(request)
    settings = getattr(request.app.state, "settings", db.settings)
    secret = settings.stripe_webhook_secret
    if secret is None:
        return _error(404, "NotFound", "Stripe webhooks are not configured on this server")
    body = await _read_capped(request)
    if body is None:
        return _error(413, "PayloadTooLarge", f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        event = stripe.Webhook.construct_event(body, request.headers.get("stripe-signature"),
                                               secret.get_secret_value())
    except stripe.SignatureVerificationError:
        return _error(400, "BadSignature", "missing or invalid Stripe-Signature")
    except ValueError:
        return _error(400, "InvalidInput", "body: not a Stripe event")
    result = apply_event(db, event.to_dict())
    return JSONResponse({k: v for k, v in result.items() if k != "tenant_id"},
                        headers={"Cache-Control": "no-store"})
