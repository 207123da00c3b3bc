"""Decision patterns (seed 000 ``decision_patterns``): what a tenant's reviewers accept or refuse.

:func:`learn` reads the tenant's decisions (the latest per suggestion; approvals and refusals by
people — backlog and auto-apply decisions are not a reviewer's judgement and are left out) with
their suggestions' features: type, change size (``|daily_budget.change|`` or
``|bid_cap.change|`` of ``action_params``, a fraction), stated confidence, entity level and
platform. For every candidate condition — type; type x change band; type x confidence band;
type x level; level; platform — it counts approvals ``a`` and refusals ``r`` and puts a Jeffreys
prior on the approval rate: ``Beta(a + 1/2, r + 1/2)`` (Jeffreys 1946; Brown, Cai & DasGupta 2001).

* refusal pattern: ``P(rate < REFUSAL_RATE_CEILING) > POSTERIOR_THRESHOLD`` and
  ``a + r >= min_decisions``;
* approval pattern: ``P(rate > APPROVAL_RATE_FLOOR) > POSTERIOR_THRESHOLD``, same minimum.

The ceiling is 20%, not 10%: under the Jeffreys prior, ``P(rate < 10%) > 0.9`` needs 13
unanimous refusals, so no pattern could form from the 8 decisions ``min_decisions`` allows;
``P(rate < 20%) > 0.9`` holds from 8 unanimous refusals (0.945), or 1 approval with 15
refusals (0.93), and not 1 approval with 10 refusals (0.81). A pattern implied by a more general one of the same direction (its
condition contains the other's) is dropped as redundant. ``confidence`` (0-100) is the
posterior probability x 100; ``significance`` high >= 0.99, medium >= 0.95, else low.
Patterns no longer supported are retired; every creation, revival and retirement is written to
``ads.feedback_loops`` (``loop_type`` 'decision_pattern').

:func:`apply_patterns` holds back candidates matching an active refusal pattern and boosts those
matching an approval pattern: priority up one step (low -> medium -> high; 'critical' stays
reserved to the stake and severity rules), then a boosted candidate ranks first within its
priority (sort key ``(priority rank, not boosted, -confidence x stake)``, the order
:func:`growthops.ads.suggestions.generate` uses plus the boost).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any
from uuid import UUID

import numpy as np
from scipy import stats

REFUSAL_RATE_CEILING = 0.20
APPROVAL_RATE_FLOOR = 0.80
POSTERIOR_THRESHOLD = 0.90
#: Change-size bands (fractions of the current value, absolute).
CHANGE_BANDS: tuple[tuple[float, float | None], ...] = ((0.0, 0.10), (0.10, 0.20), (0.20, None))
#: Stated-confidence bands (fractions); suggestions are emitted from 0.80.
CONFIDENCE_BANDS: tuple[tuple[float, float | None], ...] = ((0.0, 0.80), (0.80, 0.90), (0.90, 0.95), (0.95, None))
PRIORITY_STEPS = ("low", "medium", "high")
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def change_size(params: Any) -> float | None:
    """Return the absolute relative change of an action (fraction), or None for other actions."""
    if isinstance(params, str):
        params = json.loads(params)
    params = params or {}
    for k in ("daily_budget", "bid_cap"):
        v = params.get(k)
        if isinstance(v, dict) and v.get("change") is not None:
            return abs(float(v["change"]))
    return None


def features(*, type: str, level: str, platform: str, confidence: float, params: Any) -> dict[str, Any]:
    """Return the features a condition is matched on (``confidence`` a fraction 0-1)."""
    return {"type": type, "level": level, "platform": platform, "confidence": float(confidence),
            "change": change_size(params)}


def _band(value: float, bands: tuple[tuple[float, float | None], ...]) -> tuple[float, float | None]:
    for lo, hi in bands:
        if value >= lo and (hi is None or value < hi):
            return lo, hi
    return bands[-1]


def conditions_of(f: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every candidate condition a decision with features ``f`` falls in."""
    t = f["type"]
    out: list[dict[str, Any]] = [{"type": t}, {"type": t, "level": f["level"]}, {"level": f["level"]},
                                 {"platform": f["platform"]}]
    if f["change"] is not None:
        lo, hi = _band(f["change"], CHANGE_BANDS)
        out.append({"type": t, "change_min": lo, **({"change_max": hi} if hi is not None else {})})
    lo, hi = _band(f["confidence"], CONFIDENCE_BANDS)
    out.append({"type": t, "confidence_min": lo, **({"confidence_max": hi} if hi is not None else {})})
    return out


def matches(cond: dict[str, Any], f: dict[str, Any]) -> bool:
    """Return whether features ``f`` satisfy ``cond`` (bounds: min inclusive, max exclusive)."""
    for k, v in cond.items():
        if k in ("type", "level", "platform"):
            if f.get(k) != v:
                return False
        elif k in ("change_min", "change_max", "confidence_min", "confidence_max"):
            x = f.get(k.rsplit("_", 1)[0])
            if x is None or (k.endswith("_min") and x < v) or (k.endswith("_max") and x >= v):
                return False
        else:
            return False
    return True


def condition_text(cond: dict[str, Any]) -> str:
    """Human-readable condition, e.g. ``type = 'scale' AND change >= 20%``."""
    parts = []
    for k in ("type", "level", "platform"):
        if k in cond:
            parts.append(f"{k} = '{cond[k]}'")
    for name in ("change", "confidence"):
        lo, hi = cond.get(f"{name}_min"), cond.get(f"{name}_max")
        if lo is not None and hi is not None and lo > 0:
            parts.append(f"{lo:.0%} <= {name} < {hi:.0%}")
        elif lo is not None and lo > 0:
            parts.append(f"{name} >= {lo:.0%}")
        elif hi is not None:
            parts.append(f"{name} < {hi:.0%}")
    return " AND ".join(parts)


def _posterior(a: int, r: int) -> tuple[float, float]:
    """P(rate < ceiling) and P(rate > floor) under Beta(a + 1/2, r + 1/2)."""
    return (float(stats.beta.cdf(REFUSAL_RATE_CEILING, a + 0.5, r + 0.5)),
            float(stats.beta.sf(APPROVAL_RATE_FLOOR, a + 0.5, r + 0.5)))


_DECISIONS_SQL = """
with s as (
  select distinct on (suggestion_id) suggestion_id, type, entity_type, platform, confidence, action_params
  from (select suggestion_id, type, entity_type, platform, confidence, action_params
          from ads.suggestions where tenant_id = %(t)s
        union all
        select suggestion_id, type, entity_type, platform, confidence, action_params
          from ads.suggestions_archive where tenant_id = %(t)s) x
  order by suggestion_id
), d as (
  select distinct on (suggestion_id) suggestion_id, decision, notes, channel
  from (select suggestion_id, decision, notes, channel, decided_at, decision_id
          from ads.decisions where tenant_id = %(t)s
        union all
        select suggestion_id, decision, notes, channel, decided_at, decision_id
          from ads.decisions_archive where tenant_id = %(t)s) y
  order by suggestion_id, decided_at desc, decision_id desc
)
select s.*, d.decision, d.notes from d join s using (suggestion_id)
where d.decision in ('approved', 'refused') and d.channel <> 'auto'
"""

_UPSERT_SQL = """
insert into ads.decision_patterns (tenant_id, pattern_name, pattern_type, description, condition, condition_text,
    detected_from_decisions, approvals, refusals, confidence, significance, typical_decision, typical_reason,
    how_ai_uses_it, impact_on_suggestions, first_detected, last_validated, status)
select %(t)s, x.pattern_name, x.pattern_type, x.description, x.condition, x.condition_text, x.n, x.approvals,
       x.refusals, x.confidence, x.significance, x.typical_decision, x.typical_reason, x.how_ai_uses_it,
       x.impact_on_suggestions, %(today)s, %(today)s, 'active'
from jsonb_to_recordset(%(rows)s::jsonb) as x(pattern_name text, pattern_type text, description text,
     condition jsonb, condition_text text, n int, approvals int, refusals int, confidence numeric,
     significance text, typical_decision text, typical_reason text, how_ai_uses_it text,
     impact_on_suggestions text)
on conflict (tenant_id, pattern_name) do update set
  pattern_type = excluded.pattern_type, description = excluded.description, condition = excluded.condition,
  condition_text = excluded.condition_text, detected_from_decisions = excluded.detected_from_decisions,
  approvals = excluded.approvals, refusals = excluded.refusals, confidence = excluded.confidence,
  significance = excluded.significance, typical_decision = excluded.typical_decision,
  typical_reason = excluded.typical_reason, how_ai_uses_it = excluded.how_ai_uses_it,
  impact_on_suggestions = excluded.impact_on_suggestions, last_validated = excluded.last_validated,
  status = 'active'
"""


def learn(conn: Any, *, tenant_id: UUID | str, min_decisions: int = 8, today: date | None = None) -> list[dict[str, Any]]:
    """Learn the tenant's decision patterns; upsert, retire, log; return the active patterns.

    Each returned dict: ``pattern_name``, ``pattern_type`` ('refusal_preference' /
    'approval_preference'), ``condition`` (JSON: ``type``, ``level``, ``platform``,
    ``change_min`` / ``change_max``, ``confidence_min`` / ``confidence_max``; fractions),
    ``condition_text``, ``n``, ``approvals``, ``refusals``, ``confidence`` (0-100),
    ``significance``. One query reads the decisions; counting is in memory. Never commits.
    """
    t = str(tenant_id)
    today = today or date.today()
    rows = conn.execute(_DECISIONS_SQL, {"t": t}).fetchall()
    counts: dict[str, dict[str, Any]] = {}
    for r in rows:
        f = features(type=r["type"], level=r["entity_type"], platform=r["platform"],
                     confidence=r["confidence"] / 100.0, params=r["action_params"])
        for cond in conditions_of(f):
            key = json.dumps(cond, sort_keys=True)
            c = counts.setdefault(key, {"condition": cond, "approvals": 0, "refusals": 0, "notes": Counter()})
            c["approvals" if r["decision"] == "approved" else "refusals"] += 1
            if r["decision"] == "refused" and r["notes"]:
                c["notes"][r["notes"].strip()[:200]] += 1
    found: list[dict[str, Any]] = []
    for c in counts.values():
        a, rf = c["approvals"], c["refusals"]
        if a + rf < min_decisions:
            continue
        p_refuse, p_approve = _posterior(a, rf)
        if p_refuse > POSTERIOR_THRESHOLD:
            kind, p = "refusal_preference", p_refuse
        elif p_approve > POSTERIOR_THRESHOLD:
            kind, p = "approval_preference", p_approve
        else:
            continue
        found.append({**c, "pattern_type": kind, "p": p})
    # Drop patterns implied by a more general one of the same direction.
    kept = [x for x in found if not any(
        o is not x and o["pattern_type"] == x["pattern_type"]
        and set(o["condition"].items()) < set(x["condition"].items()) for o in found)]
    payload = []
    for x in kept:
        refuse = x["pattern_type"] == "refusal_preference"
        text = condition_text(x["condition"])
        a, rf = x["approvals"], x["refusals"]
        payload.append({
            "pattern_name": f"{'refuse' if refuse else 'approve'}: {text}",
            "pattern_type": x["pattern_type"], "condition": x["condition"], "condition_text": text,
            "n": a + rf, "approvals": a, "refusals": rf, "confidence": round(100 * x["p"], 2),
            "significance": "high" if x["p"] >= 0.99 else "medium" if x["p"] >= 0.95 else "low",
            "typical_decision": "refused" if refuse else "approved",
            "typical_reason": x["notes"].most_common(1)[0][0] if refuse and x["notes"] else None,
            "description": (f"Reviewers {'refused' if refuse else 'approved'} {rf if refuse else a} of {a + rf} "
                            f"suggestions where {text}; P(approval rate "
                            + (f"< {REFUSAL_RATE_CEILING:.0%}" if refuse else f"> {APPROVAL_RATE_FLOOR:.0%}")
                            + f") = {x['p']:.2f} (Jeffreys prior)."),
            "how_ai_uses_it": ("matching candidates are held back before review" if refuse else
                               "matching candidates move up one priority step and first within it"),
            "impact_on_suggestions": "hold_back" if refuse else "rank_boost",
        })
    before = {r["pattern_name"]: r for r in conn.execute(
        """select pattern_name, pattern_type, status, confidence::float8 as confidence, approvals, refusals
           from ads.decision_patterns where tenant_id = %s""", [t]).fetchall()}
    if payload:
        conn.execute(_UPSERT_SQL, {"t": t, "today": today, "rows": json.dumps(payload)})
    names = [pat["pattern_name"] for pat in payload]
    retired = conn.execute(
        """update ads.decision_patterns set status = 'retired'
           where tenant_id = %s and status = 'active' and pattern_name <> all(%s)
           returning pattern_name, condition_text, approvals, refusals, confidence::float8 as confidence""",
        [t, names]).fetchall()
    loops = []
    for pat in payload:
        old = before.get(pat["pattern_name"])
        if old is not None and old["status"] == "active":
            continue
        loops.append({
            "issue": pat["description"], "n": pat["n"], "type": pat["impact_on_suggestions"],
            "desc": f"{'Revived' if old else 'New'} pattern '{pat['pattern_name']}': {pat['how_ai_uses_it']}.",
            "bva": {"pattern": pat["pattern_name"], "before": {"status": old["status"] if old else None},
                    "after": {"status": "active", "approvals": pat["approvals"], "refusals": pat["refusals"],
                              "confidence": pat["confidence"]}},
            "severity": "medium" if pat["pattern_type"] == "refusal_preference" else "low",
        })
    for r in retired:
        loops.append({
            "issue": f"Pattern '{r['pattern_name']}' is no longer supported by the decisions.",
            "n": int(r["approvals"]) + int(r["refusals"]), "type": "retire",
            "desc": f"Retired '{r['pattern_name']}': matching candidates are treated normally again.",
            "bva": {"pattern": r["pattern_name"], "before": {"status": "active", "confidence": r["confidence"],
                                                             "approvals": r["approvals"], "refusals": r["refusals"]},
                    "after": {"status": "retired"}},
            "severity": "low",
        })
    if loops:
        conn.execute(
            """insert into ads.feedback_loops (tenant_id, loop_type, issue_description, frequency_of_issue,
                  impact_severity, adjustment_type, adjustment_description, before_vs_after, test_period_start,
                  status, applied_to_production)
               select %(t)s, 'decision_pattern', x.issue, x.n, x.severity, x.type, x."desc", x.bva, %(today)s,
                      'testing', true
               from jsonb_to_recordset(%(rows)s::jsonb) as x(issue text, n int, severity text, type text,
                    "desc" text, bva jsonb)""",
            {"t": t, "today": today, "rows": json.dumps(loops)})
    return payload


def active_patterns(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's active patterns, most confident first (one query)."""
    return conn.execute(
        """select pattern_name, pattern_type, condition, condition_text, confidence::float8 as confidence
           from ads.decision_patterns where tenant_id = %s and status = 'active'
           order by confidence desc, pattern_name""", [str(tenant_id)]).fetchall()


def apply_patterns(conn: Any, *, tenant_id: UUID | str, candidates: list[Any]) -> tuple[list[Any], dict[str, int]]:
    """Hold back candidates an active refusal pattern matches; boost approval-pattern matches.

    ``candidates``: :class:`growthops.ads.suggestions.generate.Candidate` objects (``type``, ``level``,
    ``platform``, ``confidence`` fraction, ``params``, ``priority``, ``stake``, ``evidence``).
    Returns ``(kept, held)``: kept candidates re-sorted (see module docstring; a boosted one has
    ``evidence["decision_pattern"]``), and held-back counts by pattern name (the most confident
    matching pattern). Matches use the stated confidence, the one the patterns were learnt on.
    """
    pats = active_patterns(conn, tenant_id=tenant_id)
    refuse = [p for p in pats if p["pattern_type"] == "refusal_preference"]
    approve = [p for p in pats if p["pattern_type"] == "approval_preference"]
    kept: list[tuple[bool, Any]] = []
    held: dict[str, int] = {}
    for c in candidates:
        f = features(type=c.type, level=c.level, platform=c.platform, confidence=c.confidence, params=c.params)
        hit = next((p for p in refuse if matches(p["condition"], f)), None)
        if hit is not None:
            held[hit["pattern_name"]] = held.get(hit["pattern_name"], 0) + 1
            continue
        boost = next((p for p in approve if matches(p["condition"], f)), None)
        if boost is not None:
            if c.priority in PRIORITY_STEPS[:-1]:
                c.priority = PRIORITY_STEPS[PRIORITY_STEPS.index(c.priority) + 1]
            c.evidence = {**(c.evidence or {}), "decision_pattern": {
                "name": boost["pattern_name"], "effect": "rank_boost", "confidence": boost["confidence"]}}
        kept.append((boost is not None, c))
    kept.sort(key=lambda bc: (_RANK.get(bc[1].priority, 9), not bc[0], -bc[1].confidence * max(bc[1].stake, 1e-9)))
    return [c for _, c in kept], held


def adjust_candidates(conn: Any, *, tenant_id: UUID | str, candidates: list[Any]) -> tuple[list[Any], dict[str, int]]:
    """Calibrate the candidates' confidences and apply the decision patterns (one call for the cycle).

    Sets ``candidate.calibrated_confidence`` (fraction 0-1, from
    :func:`growthops.ads.learning.calibration.calibrate`; also copied to
    ``evidence["calibrated_confidence"]``), keeps ``confidence`` as stated, then returns
    :func:`apply_patterns`' ``(kept, held)``. Two queries whatever the number of candidates.
    """
    if not candidates:
        return [], {}
    from growthops.ads.learning.calibration import calibrate

    cal = calibrate(conn, tenant_id=tenant_id, confidences=np.array([c.confidence for c in candidates]))
    for c, p in zip(candidates, cal, strict=True):
        c.calibrated_confidence = float(p)
        c.evidence = {**(c.evidence or {}), "calibrated_confidence": round(float(p), 4)}
    return apply_patterns(conn, tenant_id=tenant_id, candidates=candidates)
