"""What an execution reads and writes about a change: the live state as JSON, the intended
state, whether the platform shows it, and how a suggestion's action maps onto the live entity.

Pure functions (no I/O but the one platform write of :func:`_call_platform`) used by :mod:`.execution` and :mod:`.reconcile`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from growthops.ads.action import guardrails as gr
from growthops.connectors.base import AdPlatform, ChangeResult, EntityState
from growthops.core.errors import InvalidInput

#: Suggestion types by what their execution does: a budget write, any platform write, a
#: creative brief handed to the validation queue, or a decision recorded only.
BUDGET_TYPES = ("scale", "budget_increase", "budget_decrease")
PLATFORM_TYPES = (*BUDGET_TYPES, "pause", "bid_adjustment")
HANDOFF_TYPES = {"refresh": "ad_creative", "test_angle": "ad_creative"}
RECORD_ONLY_TYPES = ("campaign_diagnostic",)


def _json_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def _jsonb(v: Any) -> Jsonb | None:
    return None if v is None else Jsonb(v, dumps=lambda o: json.dumps(o, default=_json_default))


def state_dict(e: EntityState | None) -> dict[str, Any] | None:
    """Return the JSON kept in ``before_state`` / ``after_state`` (money as numbers)."""
    if e is None:
        return None
    money = {k: float(v) if v is not None else None
             for k, v in (("daily_budget", e.daily_budget), ("bid_amount", e.bid_amount))}
    return {"entity_id": e.entity_id, "level": e.level, "name": e.name, "status": e.status,
            **money, "learning_stage": e.learning_stage, "parent_id": e.parent_id}


def intended_state(step: gr.ProposedChange, mode: str) -> dict[str, Any]:
    """Return the JSON kept in ``intended_state``: the field the change sets, and the mode."""
    if step.action == "budget_change":
        return {"action": step.action, "daily_budget": float(step.target or 0), "mode": mode}
    if step.action == "bid_change":
        return {"action": step.action, "bid_amount": float(step.target or 0), "mode": mode}
    return {"action": step.action, "status": step.target_status, "mode": mode}


def is_visible(intended: dict[str, Any], live: EntityState) -> bool:
    """Return True when the live entity shows the intended change (money to the cent)."""
    for key, value in (("daily_budget", live.daily_budget), ("bid_amount", live.bid_amount)):
        if key in intended:
            return value is not None and abs(value - Decimal(str(intended[key]))) < gr.HALF_CENT
    return live.status == intended.get("status")


def map_action(s: dict[str, Any], live: EntityState) -> gr.ProposedChange:
    """Map a suggestion's ``action_params`` onto the entity's live state.

    ``{"daily_budget": {"from", "to", "change"}}`` → ``budget_change``: the target is ``to`` when
    the live budget still equals ``from`` (to the cent), else the live budget x (1 + ``change``)
    (the budget moved since the suggestion: ``rebased``). ``{"status": "paused"}`` → ``pause``.
    ``{"bid_cap": {"change": -0.10}}`` → ``bid_change`` of the live bid cap by ``change``
    (fraction). Raises :class:`InvalidInput` naming the missing field, or for a type that is not
    a platform write.
    """
    t, params, sid = s["type"], s.get("action_params") or {}, s["suggestion_id"]
    base: dict[str, Any] = {"platform": s["platform"], "entity_type": s["entity_type"],
            "entity_id": str(s["entity_id"])}
    if t in BUDGET_TYPES:
        b = params.get("daily_budget")
        if not isinstance(b, dict) or b.get("to") is None:
            raise InvalidInput(f"suggestion {sid}: action_params.daily_budget.to is missing")
        to = Decimal(str(b["to"]))
        frm = Decimal(str(b["from"])) if b.get("from") is not None else None
        if b.get("change") is not None:
            change = Decimal(str(b["change"]))
        elif frm:
            change = to / frm - 1
        else:
            raise InvalidInput(f"suggestion {sid}: action_params.daily_budget.change is missing")
        cur = live.daily_budget
        if cur is not None and frm is not None and abs(cur - frm) <= gr.CENT:
            return gr.ProposedChange(action="budget_change", current=cur, target=gr.cents(to),
                                     requested=to, **base)
        target = gr.cents_toward(cur * (1 + change), cur) if cur is not None else to
        return gr.ProposedChange(action="budget_change", current=cur, target=target,
                                 requested=to, rebased=cur is not None, **base)
    if t == "pause":
        status = str(params.get("status") or "paused")
        return gr.ProposedChange(action="pause", target_status=status, **base)
    if t == "bid_adjustment":
        bc = params.get("bid_cap")
        if not isinstance(bc, dict) or bc.get("change") is None:
            raise InvalidInput(f"suggestion {sid}: action_params.bid_cap.change is missing")
        cur = live.bid_amount
        bid = gr.cents_toward(cur * (1 + Decimal(str(bc["change"]))), cur) if cur is not None else None
        return gr.ProposedChange(action="bid_change", current=cur, target=bid, **base)
    raise InvalidInput(f"suggestion {sid}: type {t!r} is not a platform write")


def _call_platform(platform: AdPlatform, step: gr.ProposedChange, *,
                   validate_only: bool) -> ChangeResult:
    """Make the one platform write ``step`` describes."""
    if step.action == "budget_change":
        assert step.target is not None
        return platform.set_daily_budget(step.entity_id, step.target, validate_only=validate_only)
    if step.action == "bid_change":
        assert step.target is not None
        return platform.set_bid_amount(step.entity_id, step.target, validate_only=validate_only)
    status: Any = step.target_status or ("paused" if step.action == "pause" else "active")
    return platform.set_status(step.entity_id, status, validate_only=validate_only)
