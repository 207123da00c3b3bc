"""Feedback loops (seed 000 ``feedback_loops``): when an adjustment of the engine is kept or undone.

A **feedback loop** here is one adjustment the engine made to itself from what it measured,
written as an ``ads.feedback_loops`` row in status ``testing`` by the code that made it:

* ``calibration`` (:func:`growthops.ads.learning.calibration.fit`): a confidence map fitted on
  the measured hypotheses. It is **triggered by a hypothesis**: the measurement that arrived
  last before the fit (a fit happens only when a new outcome arrived), kept in
  ``triggered_by_hypothesis_id`` by :func:`evaluate` (the most recently measured hypothesis
  measured at or before the loop's creation; when none is, the most recently measured one).
* ``decision_pattern`` (:func:`growthops.ads.learning.patterns.learn`): a reviewers' pattern
  created, revived (``hold_back`` / ``rank_boost``) or retired (``retire``). It is triggered by
  decisions, not by a hypothesis: ``triggered_by_hypothesis_id`` stays NULL.

**Evidence rules** (each one set-based statement in :func:`evaluate`; the outcome goes to
``status``, ``status_changed_at``, ``status_evidence`` and, for calibration,
``improvement_measured``):

Calibration — temporal (prospective) validation: the map is judged only on outcomes it did not
see, the suggestions it calibrated. Evidence: the measured hypotheses (validated 1, partial 0.5,
invalidated 0, as in :mod:`.calibration`) of suggestions created from the loop's creation until
the next calibration loop, with a ``calibrated_confidence``. Once there are
:data:`MIN_CALIBRATION_OUTCOMES` of them, with ``d_i = (stated_i - y_i)^2 - (calibrated_i - y_i)^2``
(the Brier score's terms, Brier 1950): **validated** when ``mean(d) >= 0`` (the calibrated
confidences scored at least as well as the stated ones), **rolled_back** otherwise, and the
model is deactivated (``ads.calibration_models.active = false``; new suggestions use the stated
confidences until the next fit). ``improvement_measured`` = ``mean(d)`` (Brier reduction);
the evidence also keeps the paired ``z = mean(d) / (sd(d) / sqrt(n))`` (Diebold & Mariano 1995,
"Comparing predictive accuracy", J. Bus. Econ. Stat. 13:253-263) for the reader. Source of the
rule: Steyerberg, *Clinical Prediction Models* (2nd ed., 2019), on validating an updated model
on later data before relying on it.

Decision pattern — the pattern survives re-learning: after :data:`MIN_PATTERN_DECISIONS`
decisions recorded since the loop's creation (``ads.decisions``; :func:`patterns.learn` re-learns
on every decision each day), a created or revived pattern that is still ``active`` is
**validated**, one that was retired meanwhile is **rolled_back** (at once, without waiting:
the re-learning undid it); a retirement whose pattern is still ``retired`` is **validated**,
one revived meanwhile **rolled_back**. The evidence keeps the counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

#: Measured outcomes of calibrated suggestions needed before a calibration loop is decided. With
#: 10 outcomes the mean Brier difference has a standard error around 0.03 for typical spreads:
#: enough to catch a map that makes things clearly worse, the case that matters.
MIN_CALIBRATION_OUTCOMES = 10
#: Decisions since a pattern loop before it is decided (the minimum support of a pattern in
#: :mod:`.patterns` is of the same order).
MIN_PATTERN_DECISIONS = 10

_LINK_SQL = """
update ads.feedback_loops f
   set triggered_by_hypothesis_id = (
         select h.hypothesis_id from ads.hypothesis_tracking h
          where h.tenant_id = f.tenant_id and h.measured_at is not null
            and h.outcome in ('validated', 'partial', 'invalidated')
          order by (h.measured_at <= f.created_at) desc, h.measured_at desc, h.hypothesis_id desc
          limit 1)
 where f.tenant_id = %(t)s and f.loop_type = 'calibration' and f.triggered_by_hypothesis_id is null
"""

_CALIBRATION_SQL = """
with loops as (
  select f.loop_id, f.created_at, (f.before_vs_after ->> 'model_id')::bigint as model_id,
         lead(f.created_at) over (order by f.created_at, f.loop_id) as next_at, f.status
  from ads.feedback_loops f
  where f.tenant_id = %(t)s and f.loop_type = 'calibration'
), ev as (
  select l.loop_id, l.model_id, count(*) as n,
         avg(d) as mean_d, stddev_samp(d) as sd_d,
         avg(stated) as mean_stated, avg(cal) as mean_calibrated, avg(y) as observed
  from loops l
  join ads.suggestions s
    on s.tenant_id = %(t)s and s.created_at >= l.created_at
   and (l.next_at is null or s.created_at < l.next_at) and s.calibrated_confidence is not null
  join ads.hypothesis_tracking h
    on h.tenant_id = %(t)s and h.suggestion_id = s.suggestion_id
   and h.outcome in ('validated', 'partial', 'invalidated')
  cross join lateral (
    select s.confidence / 100.0 as stated, s.calibrated_confidence / 100.0 as cal,
           case h.outcome when 'validated' then 1.0 when 'partial' then 0.5 else 0.0 end as y) v
  cross join lateral (select (v.stated - v.y) ^ 2 - (v.cal - v.y) ^ 2 as d) dd
  where l.status = 'testing'
  group by l.loop_id, l.model_id
  having count(*) >= %(min_n)s
), decided as (
  update ads.feedback_loops f
     set status = case when ev.mean_d >= 0 then 'validated' else 'rolled_back' end,
         applied_to_production = f.applied_to_production and ev.mean_d >= 0,
         improvement_measured = round(ev.mean_d::numeric, 4),
         status_changed_at = %(now)s,
         status_evidence = jsonb_build_object(
           'rule', 'mean Brier difference (stated - calibrated) on later outcomes >= 0',
           'n', ev.n, 'mean_brier_difference', ev.mean_d,
           'z', case when ev.sd_d > 0 then ev.mean_d / (ev.sd_d / sqrt(ev.n)) end,
           'mean_stated', ev.mean_stated, 'mean_calibrated', ev.mean_calibrated, 'observed', ev.observed,
           'decided_on', %(today)s::date)
    from ev
   where f.tenant_id = %(t)s and f.loop_id = ev.loop_id and f.status = 'testing'
  returning f.loop_id, f.loop_type, f.status, ev.model_id, f.triggered_by_hypothesis_id
), off as (
  update ads.calibration_models m set active = false
    from decided d
   where m.tenant_id = %(t)s and m.model_id = d.model_id and d.status = 'rolled_back' and m.active
  returning m.model_id
)
select d.loop_id, d.loop_type, d.status, d.triggered_by_hypothesis_id,
       (select count(*) from off) as models_deactivated
from decided d order by d.loop_id
"""

_PATTERN_SQL = """
with loops as (
  select f.loop_id, f.created_at, f.adjustment_type, f.before_vs_after ->> 'pattern' as pattern
  from ads.feedback_loops f
  where f.tenant_id = %(t)s and f.loop_type = 'decision_pattern' and f.status = 'testing'
), ev as (
  select l.loop_id, l.adjustment_type, l.pattern, p.status as pattern_status,
         (select count(*) from ads.decisions d
           where d.tenant_id = %(t)s and d.decided_at > l.created_at) as decisions_since
  from loops l
  left join ads.decision_patterns p on p.tenant_id = %(t)s and p.pattern_name = l.pattern
), verdict as (
  select ev.*,
         case when ev.adjustment_type = 'retire' then
                case when ev.pattern_status = 'active' then 'rolled_back'
                     when ev.decisions_since >= %(min_d)s then 'validated' end
              else
                case when ev.pattern_status is distinct from 'active' then 'rolled_back'
                     when ev.decisions_since >= %(min_d)s then 'validated' end
         end as new_status
  from ev
)
update ads.feedback_loops f
   set status = v.new_status,
       applied_to_production = case when v.adjustment_type = 'retire' then f.applied_to_production
                                    else f.applied_to_production and v.new_status = 'validated' end,
       status_changed_at = %(now)s,
       status_evidence = jsonb_build_object(
         'rule', case when v.adjustment_type = 'retire'
                      then 'still retired after the later decisions (revived: rolled back)'
                      else 'still active after the later decisions (retired: rolled back)' end,
         'pattern', v.pattern, 'pattern_status', v.pattern_status, 'decisions_since', v.decisions_since,
         'decided_on', %(today)s::date)
  from verdict v
 where f.tenant_id = %(t)s and f.loop_id = v.loop_id and v.new_status is not null and f.status = 'testing'
returning f.loop_id, f.loop_type, f.status, f.triggered_by_hypothesis_id
"""


def evaluate(
    conn: Any,
    *,
    tenant_id: UUID | str,
    today: date,
    now: datetime | None = None,
    min_calibration_outcomes: int = MIN_CALIBRATION_OUTCOMES,
    min_pattern_decisions: int = MIN_PATTERN_DECISIONS,
) -> list[dict[str, Any]]:
    """Link calibration loops to their triggering hypothesis and decide the loops in ``testing``.

    ``today`` (reporting day, kept in the evidence) and ``now`` (UTC, ``status_changed_at``;
    default the wall clock). Three statements whatever the number of loops (link, calibration
    rule, pattern rule; see the module docstring). Returns one dict per loop that changed status:
    ``loop_id``, ``loop_type``, ``status`` ('validated' or 'rolled_back'),
    ``triggered_by_hypothesis_id``. Never commits.
    """
    t = str(tenant_id)
    now = now or datetime.now(UTC)
    conn.execute(_LINK_SQL, {"t": t})
    params = {
        "t": t,
        "now": now,
        "today": today,
        "min_n": int(min_calibration_outcomes),
        "min_d": int(min_pattern_decisions),
    }
    out = [dict(r) for r in conn.execute(_CALIBRATION_SQL, params).fetchall()]
    for r in out:
        r.pop("models_deactivated", None)
    out += [dict(r) for r in conn.execute(_PATTERN_SQL, params).fetchall()]
    return out


def list_loops(
    conn: Any, *, tenant_id: UUID | str, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return the tenant's feedback loops, newest first (one query).

    ``status``: 'testing', 'validated' or 'rolled_back' (None: all); ``limit`` 1-1000. Raises
    :class:`growthops.core.errors.InvalidInput` naming the field otherwise.
    """
    from growthops.core.errors import InvalidInput

    if status is not None and status not in ("testing", "validated", "rolled_back"):
        raise InvalidInput(f"status: {status!r} is not testing, validated or rolled_back")
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit: {limit} is not between 1 and 1000")
    return [
        dict(r)
        for r in conn.execute(
            """select loop_id, loop_type, adjustment_type, triggered_by_hypothesis_id, issue_description,
                  adjustment_description, status, applied_to_production,
                  improvement_measured::float8 as improvement_measured, created_at, status_changed_at,
                  status_evidence
             from ads.feedback_loops
            where tenant_id = %s and (%s::text is null or status = %s)
            order by created_at desc, loop_id desc limit %s""",
            [str(tenant_id), status, status, int(limit)],
        ).fetchall()
    ]
