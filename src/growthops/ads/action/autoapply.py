"""Auto-apply: approve and execute, without a person, what the tenant's policy allows.

Off by default (``ads.platform_configs.auto_apply_recommendations``); see :func:`auto_apply`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from growthops.ads.action import execution as ex
from growthops.ads.action import guardrails as gr
from growthops.ads.action.changes import _json_default, map_action
from growthops.ads.action.execution import (
    _PRIORITY_SQL,
    PLATFORM_TYPES,
    ExecutionOutcome,
    _decide,
    _load_ctx,
    _safe,
)
from growthops.connectors.base import EntityState, PlatformError
from growthops.core.db import Database
from growthops.core.errors import Conflict, GrowthopsError

log = logging.getLogger("growthops.ads.action.autoapply")


def auto_apply(db: Database, *, tenant_id: UUID | str,
               now: datetime | None = None) -> list[ExecutionOutcome]:
    """Approve and execute, without a person, the pending suggestions that qualify.

    Only on platforms whose ``platform_configs.auto_apply_recommendations`` is on (off by
    default: no row, or the column's default, means nothing happens). A pending, unexpired
    platform-write suggestion qualifies when its confidence (``calibrated_confidence`` when set,
    else ``confidence``; percent) is at least ``min_auto_apply_confidence`` AND the guard rails
    allow the whole change now: a split or a refusal means not auto-applied; the suggestion
    stays pending for a person and its ``guard_rail_note`` says why. Each qualifying one is
    approved through :func:`growthops.ads.action.decisions.decide` (``auto-apply``, channel ``auto``),
    marked ``auto_applied``, then executed (re-checked under the entity lock: a rail that no
    longer allows the whole change blocks it). Refresh, test_angle and campaign_diagnostic are
    never auto-applied. Returns one outcome per examined suggestion (``held`` when left pending).
    """
    with db.tenant_tx(tenant_id) as conn:
        ctx = _load_ctx(conn, tenant_id, now)
        if not any(r.auto_apply for r in ctx.rules.values()):
            return []
        clock = ctx.now()
        rows = conn.execute(
            f"""select s.*, coalesce(s.calibrated_confidence, s.confidence) as effective_confidence
                from ads.suggestions s
                join ads.platform_configs c on c.tenant_id = s.tenant_id and c.platform = s.platform
                where s.tenant_id = %s and s.status = 'pending' and s.expires_at > %s
                  and c.auto_apply_recommendations and s.type = any(%s)
                  and coalesce(s.calibrated_confidence, s.confidence) >= c.min_auto_apply_confidence
                order by {_PRIORITY_SQL}, effective_confidence desc, s.suggestion_id""",
            [str(tenant_id), clock, list(PLATFORM_TYPES)],
        ).fetchall()
        keys = sorted({(r["platform"], str(r["entity_id"])) for r in rows})
        hist = gr.load_history(conn, tenant_id=tenant_id, keys=keys, now=clock)
        # live states: one list_entities call per platform, not one read per entity
        lives: dict[tuple[str, str], EntityState] = {}
        for pname in sorted({k[0] for k in keys}):
            try:
                with conn.transaction():
                    # through the module, so a test double of execution._get_platform applies
                    platform = ex._get_platform(conn, tenant_id=ctx.tenant_id, platform=pname)
                    lives.update({(pname, e.entity_id): e for e in platform.list_entities()})
            except (PlatformError, GrowthopsError) as exc:
                log.warning("auto-apply: cannot read %s: %s", pname, exc)
    outcomes: list[ExecutionOutcome] = []
    held: list[dict[str, Any]] = []
    for s in rows:
        sid, key = s["suggestion_id"], (s["platform"], str(s["entity_id"]))
        live = lives.get(key)
        if live is None:
            outcomes.append(ExecutionOutcome(sid, "held", "entity not readable on the platform"))
            continue
        rules = ctx.rules_for(s["platform"])
        decision = gr.check(map_action(s, live), rules, gr.GuardState(
            entity=live, now=clock, history=hist.get(key, gr.History()), spend=ctx.spend))
        if decision.outcome != "allowed":
            note = {**decision.note(), "auto_apply": "held for a person: not inside every rail"}
            held.append({"suggestion_id": sid, "note": note})
            outcomes.append(ExecutionOutcome(sid, "held", "; ".join(decision.reasons), None,
                                             decision.rails, note))
            continue
        why = (f"auto-apply: confidence {s['effective_confidence']}% >= "
               f"{rules.min_auto_apply_confidence}% and inside every guard rail")
        try:
            with db.tenant_tx(tenant_id) as conn:
                _decide(conn, tenant_id=ctx.tenant_id, suggestion_id=sid, decision="approved",
                        decided_by="auto-apply", channel="auto", now=clock, notes=why)
                conn.execute("update ads.suggestions set auto_applied = true "
                             "where tenant_id = %s and suggestion_id = %s", [ctx.tenant_id, sid])
        except Conflict as exc:
            outcomes.append(ExecutionOutcome(sid, "skipped", str(exc)))
            continue
        out = _safe(db, ctx, {**s, "status": "approved", "auto_applied": True},
                    actor="auto-apply", require_allowed=True)
        out.auto_applied = True
        outcomes.append(out)
    if held:
        with db.tenant_tx(tenant_id) as conn:
            conn.execute(
                """update ads.suggestions s set guard_rail_note = x.note
                   from jsonb_to_recordset(%s::jsonb) as x(suggestion_id bigint, note jsonb)
                   where s.tenant_id = %s and s.suggestion_id = x.suggestion_id
                     and s.status = 'pending'""",
                [json.dumps(held, default=_json_default), ctx.tenant_id])
    return outcomes


