"""The hand-off of creative suggestions (refresh, test_angle) to the validation queue: they are
not platform writes but items a client and the team review (``docs/execution.md``)."""

from __future__ import annotations

from typing import Any

from growthops.ads.action import execution as ex
from growthops.core.db import Database


def handoff(db: Database, ctx: Any, s: dict[str, Any], *, actor: str) -> ex.ExecutionOutcome:
    """Hand a refresh / test_angle suggestion ``s`` (a row of ``ads.suggestions``) to the
    validation queue, exactly once, in one transaction: claim it (``execution_logs`` row
    ``claimed``), submit the ``ad_creative`` item (expiring after ``HANDOFF_TTL_HOURS`` hours),
    mark the log ``applied`` and the suggestion ``executed``, audit. Returns ``skipped`` when
    another worker holds the claim. A ``test_angle`` carrying ``action_params.ab_test`` is a
    test's launch instead (:func:`growthops.ads.experiments.launch.launch`). The helpers are read from
    :mod:`growthops.ads.action.execution` at call time (tests replace them there)."""
    if (s.get("action_params") or {}).get("ab_test"):  # a test's launch: a platform copy
        from growthops.ads.experiments.launch import launch

        return launch(db, ctx, s, actor=actor)
    sid, now, item_type = s["suggestion_id"], ctx.now(), ex.HANDOFF_TYPES[s["type"]]
    with db.tenant_tx(ctx.tenant_id) as conn:
        claim = ex._claim(conn, ctx, s, new_status="executing", log_status="claimed", actor=actor,
                       action="handoff", now=now, note=None,
                       intended={"validation_queue": item_type})
        if claim is None:
            return ex.ExecutionOutcome(sid, "skipped", "claimed by another worker")
        item = ex._submit_validation(
            conn, tenant_id=ctx.tenant_id, item_type=item_type, now=now,
            item_name=f"{s['type']}: {s.get('entity_name') or s['entity_id']}"[:500],
            submitted_by=actor.strip() or "system", ttl_hours=ex.HANDOFF_TTL_HOURS,
            content={"suggestion_id": sid, "type": s["type"], "platform": s["platform"],
                     "entity_type": s["entity_type"], "entity_id": str(s["entity_id"]),
                     "action": s["action"], "reason": s["reason"],
                     "evidence": s.get("evidence") or {}})
        conn.execute(
            """update ads.execution_logs set status = 'applied', executed_at = %s,
                      after_state = %s, success = true
                where tenant_id = %s and execution_id = %s""",
            [now, ex._jsonb({"validation_queue_id": item["queue_id"]}), ctx.tenant_id,
             claim["execution_id"]])
        conn.execute("update ads.suggestions set status = 'executed' "
                     "where tenant_id = %s and suggestion_id = %s", [ctx.tenant_id, sid])
        ex._audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="execution.handoff",
               object_type="execution", object_id=claim["execution_id"], occurred_at=now,
               platform=s["platform"], entity_id=str(s["entity_id"]),
               after={"suggestion_id": sid, "validation_queue_id": item["queue_id"],
                      "item_type": item_type})
    return ex.ExecutionOutcome(sid, "handoff", f"validation item {item['queue_id']} ({item_type})",
                            claim["execution_id"])
