"""Read a running test's arms from ``ads.metrics_daily`` and apply its decision rule.

:func:`observe` sums each arm per reporting day (one query); :func:`evaluate` is pure: the
statistics of :mod:`growthops.ads.experiments.stats` for the primary metric, the Bayesian
readout, the sample-ratio check, and whether the rule fixed at creation says the test is done.

Decision rules (``ads.ab_tests.decision_rule``):

* ``fixed_horizon``: done when both arms reached ``planned_sample_per_arm`` (in
  ``sample_unit``) after at least ``min_days``, or at ``max_days``; then one analysis: B wins
  when p < alpha and B is better on the metric's direction, A wins when p < alpha the other way,
  else inconclusive. Weekly looks read only the sample sizes, never the p-value, so the single
  analysis keeps its error rate.
* ``msprt``: at every look Λ (:func:`stats.msprt_lambda`, τ from the plan); done when
  Λ ≥ 1/alpha (a winner by the sign of the difference) or at the planned sample / ``max_days``
  (winner only when the always-valid p-value is below alpha).

A sample-ratio mismatch invalidates the result when the platform randomized the split
(``decision_rule.randomized``); copies that compete in delivery are not randomized (the
platform allocates impressions by design) and the check is only reported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from growthops.ads.experiments import stats

SUMS = ("impressions", "clicks", "conversions", "spend", "conversion_value")


@dataclass
class Arms:
    """Per-arm daily sums: ``days[arm]`` is a list of dicts (day + :data:`SUMS`), arm 'a' or 'b'."""

    days: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def total(self, arm: str, key: str) -> float:
        """Return the arm's sum of ``key`` over its days."""
        return float(sum(d[key] for d in self.days.get(arm, [])))

    def n_days(self) -> int:
        """Return the number of distinct reporting days seen in either arm."""
        return len({d["day"] for rows in self.days.values() for d in rows})


def observe(conn: Any, *, tenant_id: str, test: dict[str, Any], as_of: date) -> Arms:
    """Return the arms' daily sums from ``start_date`` to ``as_of`` (one query)."""
    arms = Arms()
    if not test.get("variant_b") or not test.get("start_date"):
        return arms
    rows = conn.execute(
        """select case when entity_id = %(a)s then 'a' else 'b' end as arm, day,
                  sum(impressions)::float8 as impressions, sum(clicks)::float8 as clicks,
                  sum(conversions)::float8 as conversions, sum(spend)::float8 as spend,
                  sum(conversion_value)::float8 as conversion_value
           from ads.metrics_daily
           where tenant_id = %(t)s and platform = %(p)s and level = %(lv)s
             and entity_id in (%(a)s, %(b)s) and day between %(s)s and %(e)s
           group by 1, 2 order by 1, 2""",
        {"t": tenant_id, "p": test["platform"], "lv": test["level"], "a": test["variant_a"],
         "b": test["variant_b"], "s": test["start_date"], "e": as_of}).fetchall()
    for r in rows:
        arms.days[r["arm"]].append(dict(r))
    return arms


def _perf(arms: Arms, arm: str) -> dict[str, Any]:
    t: dict[str, Any] = {k: arms.total(arm, k) for k in SUMS}
    t["ctr"] = t["clicks"] / t["impressions"] if t["impressions"] else None
    t["cvr"] = t["conversions"] / t["clicks"] if t["clicks"] else None
    t["cpa"] = t["spend"] / t["conversions"] if t["conversions"] else None
    t["roas"] = t["conversion_value"] / t["spend"] if t["spend"] else None
    t["days"] = len(arms.days.get(arm, []))
    return t


def evaluate(test: dict[str, Any], arms: Arms, *, previous_p: float | None = None,
             final: bool = False) -> dict[str, Any]:
    """Return the look: ``performance_a``/``_b``, ``stats`` (test, Bayesian, SRM), ``done``,
    ``winner`` ('a', 'b', 'none'), ``result_status``, ``p_value`` and ``lambda`` (mSPRT).

    ``final`` forces the analysis now (a person closes the test early: the result says so).
    Never raises on thin data: ``stats.error`` names what is missing and the look is not done.
    """
    rule, metric = test["decision_rule"], test["primary_metric"]
    spec = stats.METRICS[metric]
    pa, pb = _perf(arms, "a"), _perf(arms, "b")
    unit, planned = test["sample_unit"], int(test["planned_sample_per_arm"])
    n_days = arms.n_days()
    reached = min(pa[unit], pb[unit]) >= planned and n_days >= test["min_days"]
    timed_out = n_days >= test["max_days"]
    out: dict[str, Any] = {"performance_a": pa, "performance_b": pb, "done": False,
                           "winner": None, "result_status": None, "p_value": None,
                           "lambda": None, "stats": {"sample_reached": reached, "days": n_days}}
    alpha = float(rule.get("alpha", test["alpha"]))
    higher = spec["better"] == "higher"
    try:
        if spec["kind"] == "proportion":
            pt = stats.two_proportion_ztest(int(pa[spec["num"]]), int(pa[spec["den"]]),
                                            int(pb[spec["num"]]), int(pb[spec["den"]]), alpha=alpha)
            diff, p = pt.diff, pt.p_value
            se = ((pt.p_a * (1 - pt.p_a) / pt.n_a) + (pt.p_b * (1 - pt.p_b) / pt.n_b)) ** 0.5
            bayes = stats.prob_best_beta([pt.x_a, pt.x_b], [pt.n_a, pt.n_b])
            out["stats"]["test"] = {"name": "two_proportion_z", **pt.as_dict()}
        else:
            ra = stats.ratio_of_sums([d[spec["num"]] for d in arms.days["a"]],
                                     [d[spec["den"]] for d in arms.days["a"]])
            rb = stats.ratio_of_sums([d[spec["num"]] for d in arms.days["b"]],
                                     [d[spec["den"]] for d in arms.days["b"]])
            rt = stats.ratio_test(ra, rb, alpha=alpha)
            diff, p, se = rt.diff, rt.p_value, (ra.se**2 + rb.se**2) ** 0.5
            bayes = stats.prob_best_normal([ra.value, rb.value], [ra.se, rb.se], higher=higher)
            out["stats"]["test"] = {"name": "ratio_delta_method", "units": "days", **rt.as_dict()}
        srm = stats.srm_check([int(pa["impressions"]), int(pb["impressions"])],
                              rule.get("split"), threshold=rule.get("srm_p_threshold",
                                                                    stats.SRM_P_THRESHOLD))
    except Exception as exc:  # thin data: no clicks yet, a single day for a ratio metric
        out["stats"]["error"] = str(exc)
        return out
    out["stats"]["bayes"] = bayes
    out["stats"]["srm"] = {**srm.as_dict(), "unit": "impressions",
                           "applies": bool(rule.get("randomized"))}
    b_better = (diff > 0) == higher
    if rule["kind"] == "msprt":
        lam = stats.msprt_lambda(diff, se, float(rule["tau"]))
        p = stats.msprt_p_value(previous_p, lam)
        out["lambda"] = lam
        done = lam >= 1 / alpha or reached or timed_out or final
    else:
        done = reached or timed_out or final
    out["p_value"] = p
    if not done:
        return out
    out["done"] = True
    if srm.mismatch and rule.get("randomized"):
        out["winner"], out["result_status"] = "none", "invalid"
    elif p < alpha:
        out["winner"] = "b" if b_better else "a"
        out["result_status"] = "success" if b_better else "failed"
    else:
        out["winner"], out["result_status"] = "none", "inconclusive"
    out["stats"]["closed_early"] = bool(final and not (reached or timed_out))
    return out
