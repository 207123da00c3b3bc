"""Look at running tests and close the finished ones (the weekly job, and a person's close).

:func:`look` evaluates one running test as of a reporting day and appends the look to
``ads.ab_tests.looks`` (kept for the mSPRT's always-valid p-value and for audit). When the
decision rule says the test is done (:func:`growthops.ads.experiments.readout.evaluate`), the
result is written (``completed``, ``winner``, ``statistical_significance`` = 1 - p,
``result_status``, ``result``), the test's angle is recorded
(:func:`growthops.ads.experiments.angles.record_closed_test`) and the close is audited.
:func:`close_finished` runs :func:`look` on every running test of a tenant (the weekly job).
Functions run in the caller's tenant transaction and never commit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from growthops.ads.experiments import angles
from growthops.ads.experiments.plan import get_test
from growthops.ads.experiments.readout import evaluate, observe
from growthops.core.errors import Conflict


def _default_as_of(conn: Any, tenant_id: str) -> date:
    row = conn.execute("select max(day) as d from ads.metrics_daily where tenant_id = %s",
                       [tenant_id]).fetchone()
    return row["d"] or datetime.now(UTC).date()


def _json(v: Any) -> str:
    return json.dumps(v, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o))


def look(conn: Any, *, tenant_id: UUID | str, test_id: int, as_of: date | None = None,
         actor: str = "system", final: bool = False) -> dict[str, Any]:
    """Evaluate one running test at ``as_of`` (default: the tenant's last reporting day).

    ``final=True`` (a person's close) analyses now even if the rule is not met; the result then
    carries ``closed_early``. Returns the evaluation (see :func:`readout.evaluate`) plus
    ``closed`` (bool). Raises :class:`Conflict` unless the test is ``running``.
    """
    t = str(tenant_id)
    test = get_test(conn, tenant_id=t, test_id=test_id)
    if test["status"] != "running":
        raise Conflict(f"test {test_id} is {test['status']}; only a running test can be closed")
    as_of = as_of or _default_as_of(conn, t)
    ev = evaluate(test, observe(conn, tenant_id=t, test=test, as_of=as_of),
                  previous_p=test["p_always_valid"], final=final)
    entry = {"day": as_of, "p_value": ev["p_value"], "lambda": ev["lambda"],
             "sample_a": ev["performance_a"][test["sample_unit"]],
             "sample_b": ev["performance_b"][test["sample_unit"]], "done": ev["done"]}
    msprt = test["decision_rule"]["kind"] == "msprt" and ev["p_value"] is not None
    conn.execute(
        """update ads.ab_tests set looks = looks || %s::jsonb, performance_a = %s,
                  performance_b = %s, p_always_valid = case when %s then %s else p_always_valid end,
                  updated_at = now()
           where tenant_id = %s and test_id = %s""",
        [_json([entry]), _json(ev["performance_a"]), _json(ev["performance_b"]), msprt,
         ev["p_value"], t, test_id])
    if not ev["done"]:
        return {**ev, "closed": False}
    sig = 1.0 - float(ev["p_value"]) if ev["p_value"] is not None else None
    result = {"stats": ev["stats"], "p_value": ev["p_value"], "lambda": ev["lambda"],
              "decision_rule": test["decision_rule"], "as_of": as_of}
    row = conn.execute(
        """update ads.ab_tests set status = 'completed', winner = %s, result_status = %s,
                  statistical_significance = %s, result = %s, end_date = %s, closed_by = %s,
                  closed_at = now(), updated_at = now()
           where tenant_id = %s and test_id = %s and status = 'running' returning *""",
        [ev["winner"], ev["result_status"], sig, _json(result), as_of, actor, t, test_id]).fetchone()
    if row is None:  # closed by someone else meanwhile
        return {**ev, "closed": False}
    angles.record_closed_test(conn, tenant_id=t, test=dict(row))
    from growthops.ads.action.audit import record

    record(conn, tenant_id=t, actor=actor, action="ab_test.closed", object_type="ab_test",
           object_id=test_id, platform=test["platform"], entity_id=test["variant_a"],
           after={"winner": ev["winner"], "result_status": ev["result_status"],
                  "p_value": ev["p_value"], "variant_b": test["variant_b"]},
           reason="decision rule met" if not final else "closed by a person")
    return {**ev, "closed": True}


def close_finished(conn: Any, *, tenant_id: UUID | str, as_of: date | None = None,
                   actor: str = "system") -> list[dict[str, Any]]:
    """Look at every running test of the tenant; return ``[{test_id, closed, winner,
    result_status}]``. The weekly job calls it; a test whose rule is not met stays running."""
    t = str(tenant_id)
    ids = [r["test_id"] for r in conn.execute(
        "select test_id from ads.ab_tests where tenant_id = %s and status = 'running' "
        "order by test_id", [t]).fetchall()]
    out = []
    for tid in ids:
        ev = look(conn, tenant_id=t, test_id=tid, as_of=as_of, actor=actor)
        out.append({"test_id": tid, "closed": ev["closed"], "winner": ev["winner"],
                    "result_status": ev["result_status"]})
    return out
