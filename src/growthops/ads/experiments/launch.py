"""Launch an approved test on its platform: create variant B and start the test.

Called by the execution of an approved ``test_angle`` suggestion whose ``action_params`` carry
``ab_test`` (:func:`growthops.ads.action.handoff.handoff` routes it here). Under a session lock
on the test (``<tenant>:<platform>:abtest:<id>``):

1. the platform call (:meth:`AdPlatform.copy_entity`): a copy of the control with the test's one
   change, created PAUSED (nothing delivers while the change is applied), then activated
   (``set_status``: the approval covers it). A copy already named with the test's suffix
   ``[test <id>]`` is reused, so a crash before step 2 never creates a second copy; a test
   created with its own ``variant_b`` (e.g. on Google Ads, which has no copy call) is only
   activated;
2. one transaction: the suggestion is claimed and executed, its ``ads.execution_logs`` row
   applied (``action_type = 'create_copy'``, ``after_state`` the copy), the test ``running``
   with ``variant_b`` and ``start_date`` (the day after the last reporting day known), audited.

A platform error settles the suggestion like any execution (retryable: back to approved, at most
``MAX_ATTEMPTS``; else failed) and leaves the test ``pending_approval``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from growthops.ads.action import execution as ex
from growthops.ads.action import guardrails as gr
from growthops.ads.action.changes import state_dict
from growthops.connectors.base import AdPlatform, ChangeResult, PlatformError
from growthops.core.db import Database
from growthops.core.errors import GrowthopsError


def suffix(test_id: int) -> str:
    """Return the name suffix that marks a test's copy (``" [test 12]"``)."""
    return f" [test {test_id}]"


def create_variant(p: AdPlatform, test: dict[str, Any]) -> ChangeResult:
    """Create (or find) variant B paused, then activate it; return source → active copy."""
    tag = suffix(test["test_id"])
    before = p.get_entity(test["variant_a"])
    if test.get("variant_b"):
        copy_id = str(test["variant_b"])
        response: dict[str, Any] = {"existing_variant": copy_id}
    else:
        found = [e for e in p.list_entities(test["level"]) if e.name.endswith(tag)]
        if found:
            copy_id, response = found[0].entity_id, {"reused_copy": found[0].entity_id}
        else:
            res = p.copy_entity(test["variant_a"], changes=dict(test["change"]), name_suffix=tag)
            copy_id, response = res.after.entity_id, res.response
    act = p.set_status(copy_id, "active")
    return ChangeResult(before, act.after, {"copy": response, "activate": act.response})


def launch(db: Database, ctx: Any, s: dict[str, Any], *, actor: str) -> ex.ExecutionOutcome:
    """Execute an approved launch suggestion ``s`` (see the module docstring); returns the
    :class:`~growthops.ads.action.execution.ExecutionOutcome` (``applied``, ``skipped``,
    ``retry`` or ``failed``)."""
    sid = s["suggestion_id"]
    tid = int(s["action_params"]["ab_test"]["test_id"])
    key = ex._lock_key(ctx.tenant_id, s["platform"], f"abtest:{tid}")
    with ex._entity_lock(db, key) as lconn:
        if lconn is None:
            return ex.ExecutionOutcome(sid, "skipped", f"test {tid} is being launched")
        with ex._tx(lconn, ctx.tenant_id) as conn:
            test = conn.execute("select * from ads.ab_tests where tenant_id = %s and test_id = %s",
                                [ctx.tenant_id, tid]).fetchone()
            fresh = conn.execute("select status from ads.suggestions where tenant_id = %s and "
                                 "suggestion_id = %s", [ctx.tenant_id, sid]).fetchone()
        if (test is None or fresh is None or test["status"] != "pending_approval"
                or fresh["status"] != "approved"):
            return ex.ExecutionOutcome(sid, "skipped", f"test {tid} is not waiting for launch")
        now = ctx.now()
        try:
            res = ex._on_platform(lconn, ctx, s["platform"], lambda p: create_variant(p, test))
        except PlatformError as err:
            with ex._tx(lconn, ctx.tenant_id) as conn:
                claim = ex._claim(conn, ctx, s, new_status="executing", log_status="claimed",
                                  actor=actor, action="create_copy", now=now, note=None,
                                  intended={"action": "create_copy", "test_id": tid})
                if claim is None:
                    return ex.ExecutionOutcome(sid, "skipped", "claimed by another worker")
                return ex._settle_failure(conn, ctx, s, claim, err=str(err),
                                          response=err.response, retryable=err.retryable,
                                          actor=actor, now=now)
        except GrowthopsError as exc:
            return ex.ExecutionOutcome(sid, "skipped", f"no ad account for {s['platform']}: {exc}")
        with ex._tx(lconn, ctx.tenant_id) as conn:
            claim = ex._claim(conn, ctx, s, new_status="executing", log_status="claimed",
                              actor=actor, action="create_copy", now=now, note=None,
                              before=state_dict(res.before),
                              intended={"action": "create_copy", "test_id": tid,
                                        "change": test["change"]})
            if claim is None:
                return ex.ExecutionOutcome(sid, "skipped", "claimed by another worker")
            conn.execute(
                """update ads.execution_logs set status = 'applied', executed_at = %s,
                          after_state = %s, api_response = %s, success = true
                    where tenant_id = %s and execution_id = %s""",
                [now, ex._jsonb(state_dict(res.after)), ex._jsonb(res.response), ctx.tenant_id,
                 claim["execution_id"]])
            conn.execute("update ads.suggestions set status = 'executed' where tenant_id = %s "
                         "and suggestion_id = %s", [ctx.tenant_id, sid])
            got = conn.execute("select max(day) as d from ads.metrics_daily where tenant_id = %s "
                               "and platform = %s", [ctx.tenant_id, s["platform"]]).fetchone()
            last = got["d"] if got else None
            start = (last or gr.reporting_day(now, ctx.tenant["time_zone"])) + timedelta(days=1)
            conn.execute(
                """update ads.ab_tests set status = 'running', variant_b = %s, start_date = %s,
                          updated_at = %s where tenant_id = %s and test_id = %s""",
                [res.after.entity_id, start, now, ctx.tenant_id, tid])
            ex._audit(conn, tenant_id=ctx.tenant_id, actor=actor, action="ab_test.launched",
                      object_type="ab_test", object_id=tid, platform=s["platform"],
                      entity_id=res.after.entity_id, before=state_dict(res.before),
                      after={**(state_dict(res.after) or {}), "suggestion_id": sid,
                             "start_date": start}, occurred_at=now)
    return ex.ExecutionOutcome(sid, "applied",
                               f"test {tid}: variant B {res.after.entity_id} created and active",
                               claim["execution_id"])
