"""Create, list and read A/B tests, and ask for their launch through approval.

A test is written with everything decided before any data is seen: hypothesis, control
(``variant_a``, a live ad set or ad), the one change the copy makes, primary metric, minimum
detectable effect, alpha, power, planned sample per arm and decision rule (``ads.ab_tests``,
``docs/creative-tests.md``). Launch is an ordinary suggestion (type ``test_angle`` with
``action_params.ab_test``) that a person approves like any other; its execution creates the copy
(:mod:`growthops.ads.experiments.launch`). Functions take ``conn`` in the caller's tenant
transaction and never commit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.ads.experiments import stats
from growthops.core.errors import Conflict, InvalidInput, NotFound
from growthops.core.i18n import LANGS, N_, _, format_number, format_percent

#: Days of the control's history that give the planning baseline when none is given.
BASELINE_DAYS = 28
#: Hours a launch request stays open for a decision (as daily suggestions: 48 h, seed 000).
LAUNCH_TTL_HOURS = 48
RULES = ("fixed_horizon", "msprt")
#: Fields a copy may change, per level (one of them per test). Meta: an ad's ``creative``
#: ({"creative_id": ...}) or an ad set's ``targeting``, ``optimization_goal``, ``bid_amount``;
#: the sandbox also takes ``quality``/``ctr`` (ads) and ``audience`` (ad sets), the simulated
#: stand-ins of a new creative or audience (docs/sandbox.md).
CHANGE_FIELDS = {
    "ad": ("creative", "quality", "ctr"),
    "adset": ("targeting", "optimization_goal", "bid_amount", "audience", "daily_budget"),
}
LAUNCH_TEXTS = {
    "action": N_("Launch test {name}: a paused copy of {level} {entity} with {field} changed"),
    "reason": N_("Hypothesis: {hypothesis}"),
    "expected_impact": N_("Detects a {mde} change in {metric} with {power} power at alpha {alpha}; "
                          "{n} {unit} per arm planned."),
}


def _baseline(conn: Any, tenant_id: str, platform: str, level: str, entity_id: str,
              metric: str, as_of: date | None) -> float | None:
    spec = stats.METRICS[metric]
    row = conn.execute(
        f"""select sum({spec['num']})::float8 / nullif(sum({spec['den']}), 0)::float8 as v
            from ads.metrics_daily
            where tenant_id = %s and platform = %s and level = %s and entity_id = %s
              and day > coalesce(%s::date, (select max(day) from ads.metrics_daily
                                             where tenant_id = %s)) - %s""",
        [tenant_id, platform, level, entity_id, as_of, tenant_id, BASELINE_DAYS]).fetchone()
    return row["v"] if row and row["v"] else None


def create_test(conn: Any, *, tenant_id: UUID | str, test_name: str, hypothesis: str,
                platform: str, level: str, variant_a: str, change: dict[str, Any],
                primary_metric: str, mde_rel: float, alpha: float = 0.05, power: float = 0.8,
                rule: str = "fixed_horizon", baseline_value: float | None = None,
                min_days: int = 7, max_days: int = 28, test_type: str = "creative",
                angle: str | None = None, hook: str | None = None,
                asset_type: str | None = None, randomized: bool = False,
                variant_b: str | None = None,
                created_by: str = "system", as_of: date | None = None) -> dict[str, Any]:
    """Create a ``draft`` test and fix its plan; return the ``ads.ab_tests`` row.

    ``change``: exactly one field of :data:`CHANGE_FIELDS` for ``level`` (plus an optional
    ``name``); may be empty when ``variant_b`` names a variant already made on the platform
    (paused), which the launch only activates. ``mde_rel``: minimum detectable effect, relative (fraction: 0.1 = 10 %).
    ``baseline_value``: the control's primary metric; read from its last :data:`BASELINE_DAYS`
    days of ``ads.metrics_daily`` (to ``as_of``) when None. ``rule``: ``fixed_horizon`` (one
    analysis when the planned sample or ``max_days`` is reached) or ``msprt`` (a look at every
    weekly close, always valid). ``randomized``: the platform splits units at random (a platform
    split test), so a sample-ratio mismatch invalidates the result. Raises
    :class:`InvalidInput` naming the field.
    """
    if level not in CHANGE_FIELDS:
        raise InvalidInput(f"level: {level!r} is not one of adset, ad")
    fields = [k for k in change if k != "name"]
    if variant_b is not None and not fields:
        pass  # a variant made by hand: the test only activates it
    elif len(fields) != 1 or fields[0] not in CHANGE_FIELDS[level]:
        raise InvalidInput(f"change: exactly one of {', '.join(CHANGE_FIELDS[level])} for an {level}"
                           f" (got {', '.join(fields) or 'none'})")
    if rule not in RULES:
        raise InvalidInput(f"rule: {rule!r} is not one of {', '.join(RULES)}")
    if primary_metric not in stats.METRICS:
        raise InvalidInput(f"primary_metric: {primary_metric!r} is not one of {', '.join(stats.METRICS)}")
    if not test_name.strip() or not hypothesis.strip():
        raise InvalidInput("test_name and hypothesis: both are required")
    t = str(tenant_id)
    if baseline_value is None:
        baseline_value = _baseline(conn, t, platform, level, variant_a, primary_metric, as_of)
        if baseline_value is None:
            raise InvalidInput(f"baseline_value: {variant_a} has no {primary_metric} in the last "
                               f"{BASELINE_DAYS} days; give --baseline")
    n = stats.sample_size_per_arm(primary_metric, baseline=float(baseline_value),
                                  mde_rel=mde_rel, alpha=alpha, power=power)
    decision_rule: dict[str, Any] = {
        "kind": rule, "alpha": alpha, "power": power, "sided": "two", "split": [0.5, 0.5],
        "randomized": randomized, "better": stats.METRICS[primary_metric]["better"],
        "srm_p_threshold": stats.SRM_P_THRESHOLD,
    }
    if rule == "msprt":
        decision_rule["tau"] = abs(mde_rel * float(baseline_value))  # Johari et al.: τ ~ the effect sought
    row = conn.execute(
        """insert into ads.ab_tests (tenant_id, test_name, test_type, hypothesis, platform, level,
               variant_a, variant_b, change, angle, hook, asset_type, primary_metric, baseline_value, mde_rel,
               alpha, power, planned_sample_per_arm, sample_unit, decision_rule, min_days,
               max_days, created_by)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s, %s)
           returning *""",
        [t, test_name.strip(), test_type, hypothesis.strip(), platform, level, variant_a,
         variant_b, json.dumps(change), angle, hook, asset_type, primary_metric, float(baseline_value),
         mde_rel, alpha, power, n, stats.METRICS[primary_metric]["unit"],
         json.dumps(decision_rule), min_days, max_days, created_by]).fetchone()
    return dict(row)


def get_test(conn: Any, *, tenant_id: UUID | str, test_id: int) -> dict[str, Any]:
    """Return one test's row; :class:`NotFound` if the tenant has none with that id."""
    row = conn.execute("select * from ads.ab_tests where tenant_id = %s and test_id = %s",
                       [str(tenant_id), test_id]).fetchone()
    if row is None:
        raise NotFound(f"no test {test_id} for this tenant")
    return dict(row)


def list_tests(conn: Any, *, tenant_id: UUID | str, status: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """Return the tenant's tests, newest first (optionally of one ``status``)."""
    return [dict(r) for r in conn.execute(
        """select * from ads.ab_tests where tenant_id = %s and (%s::text is null or status = %s)
           order by test_id desc limit %s""",
        [str(tenant_id), status, status, max(1, min(limit, 500))]).fetchall()]


def request_launch(conn: Any, *, tenant_id: UUID | str, test_id: int, actor: str = "system",
                   now: datetime | None = None) -> dict[str, Any]:
    """Ask for the launch: a pending suggestion (``test_angle``, ``action_params.ab_test``) on
    the control, and the test ``pending_approval``. Returns ``{test_id, suggestion_id}``.

    Raises :class:`Conflict` unless the test is a ``draft``, :class:`NotFound` if absent.
    """
    now = now or datetime.now(UTC)
    t = get_test(conn, tenant_id=tenant_id, test_id=test_id)
    if t["status"] != "draft":
        raise Conflict(f"test {test_id} is {t['status']}; only a draft can be launched")
    field = next((k for k in t["change"] if k != "name"), None) or "variant_b"
    texts = {}
    for lang in LANGS:
        params = {"name": t["test_name"], "level": t["level"], "entity": t["variant_a"],
                  "field": field, "hypothesis": t["hypothesis"],
                  "mde": format_percent(t["mde_rel"], lang), "metric": t["primary_metric"].upper(),
                  "power": format_percent(t["power"], lang), "alpha": str(t["alpha"]),
                  "n": format_number(t["planned_sample_per_arm"], lang, 0), "unit": t["sample_unit"]}
        texts[lang] = {k: _(lang, v, **params) for k, v in LAUNCH_TEXTS.items()}
    action_params = {"ab_test": {"test_id": test_id, "level": t["level"], "source": t["variant_a"],
                                 "change": t["change"]}}
    row = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
               expected_impact, texts, predicted_metrics, action_params, evidence, confidence,
               platform, entity_type, entity_id, entity_name, created_at, expires_at)
           values (%s, %s, 'test_angle', 'medium', %s, %s, %s, %s, %s, %s, %s, 50, %s, %s, %s, %s,
                   %s, %s)
           on conflict do nothing
           returning suggestion_id""",
        [str(tenant_id), now.date(), texts["en"]["action"], texts["en"]["reason"],
         texts["en"]["expected_impact"], json.dumps(texts),
         json.dumps({"horizon_days": t["max_days"], "metrics": {}}), json.dumps(action_params),
         json.dumps({"ab_test_id": test_id, "hypothesis": t["hypothesis"],
                     "planned_sample_per_arm": t["planned_sample_per_arm"]}),
         t["platform"], t["level"], t["variant_a"], t["test_name"], now,
         now + timedelta(hours=LAUNCH_TTL_HOURS)]).fetchone()
    if row is None:
        raise Conflict(f"{t['variant_a']} already has a pending test_angle suggestion; decide it first")
    conn.execute("""update ads.ab_tests set status = 'pending_approval', suggestion_id = %s,
                    updated_at = %s where tenant_id = %s and test_id = %s""",
                 [row["suggestion_id"], now, str(tenant_id), test_id])
    return {"test_id": test_id, "suggestion_id": row["suggestion_id"]}


def cancel_test(conn: Any, *, tenant_id: UUID | str, test_id: int, actor: str) -> dict[str, Any]:
    """Cancel a test that is not completed (kept, never deleted); returns the row."""
    row = conn.execute(
        """update ads.ab_tests set status = 'cancelled', closed_by = %s, closed_at = now(),
                  updated_at = now()
           where tenant_id = %s and test_id = %s and status <> 'completed' returning *""",
        [actor, str(tenant_id), test_id]).fetchone()
    if row is None:
        get_test(conn, tenant_id=tenant_id, test_id=test_id)
        raise Conflict(f"test {test_id} is completed; it cannot be cancelled")
    return dict(row)
