"""The 24-hour check of an execution (seed 000 workflow 4, "MONITORING (24h)").

An executed suggestion is a hypothesis (:mod:`growthops.ads.learning.hypotheses`) measured once
its whole window (7 days) and its settle days are over (:mod:`growthops.ads.learning.measurement`).
:func:`check_due` reads it **early**: from the first reporting day of the window, at least
:data:`MIN_AGE_HOURS` after the execution, until the window's last day, with the same numbers
the full measurement uses (the unit's key metric against its baseline, net of the untouched
siblings' change: difference in differences of logs, comparators chosen by the same query) on
the days reported so far.

**Rule.** ``effect`` is the key metric's log change (counts — results, spend — as daily rates:
``log((after / k) / (before / n))`` with ``k`` and ``n`` the reported days of each window);
``SE = sqrt(sum 1/c)`` over the unit's and comparators' noise counts before and after (delta
method for Poisson counts, as in :mod:`.hypotheses`; a zero count gets 0.5, Haldane 1956, "The
estimation and significance of the logarithm of a ratio of frequencies", Ann. Hum. Genet.
20:309-311). With ``d`` = +1 when the prediction goes up (-1 down) and ``edge`` the predicted
band's adverse end (p10 when up, p90 when down, as log changes from
:func:`growthops.ads.learning.measurement.predicted_log_interval`),
``z = d x (effect - edge) / SE``. When a count is zero (results fell to none), the effect is
read with 0.5 for the count and ``z`` comes from the exact conditional test of the unit's two
Poisson counts against the edge instead (:func:`_exact_z`; Przyborowski & Wilenski 1940). The
read is:

* ``adverse_clear`` when ``z < -`` :data:`Z_EARLY` (3.29): the Haybittle–Peto boundary for an
  interim look (Haybittle 1971, "Repeated assessment of results in clinical trials of cancer
  treatment", Br. J. Radiol. 44:793-797; Peto et al. 1976, Br. J. Cancer 34:585-612): a
  two-sided p < 0.001 at each look, so repeated daily looks leave the final 7-day measurement's
  error rate practically unchanged;
* ``outside_adverse`` when ``z < 0`` (worse than the band, not clearly), ``outside_favourable``
  when the effect is beyond the band's favourable end, ``inside`` otherwise;
* ``too_little_data`` when the unit has no spend in a window, or no predicted band.

**Rollback.** An ``adverse_clear`` read of a budget change (``scale``, ``budget_increase``,
``budget_decrease``) or a bid change (``bid_adjustment``) inserts ONE rollback suggestion
(back to the value before the execution, from ``ads.execution_logs.before_state``) as a
**pending** suggestion: it waits in the normal approval queue and, once approved, runs through
the guard rails like any other (:mod:`growthops.ads.action.execution`). Nothing is executed here.
A pause is not rolled back automatically (reactivating adds spend; a person decides), nor a
creative hand-off (``refresh``, ``test_angle``: nothing to undo on the platform), nor a rollback
itself (no rollback of a rollback). The hypothesis keeps its read (``early_*`` columns,
migration 0125) and ``rollback_suggestion_id``; its full measurement still happens when the
window ends. A rollback is created at most once per hypothesis; re-running the cycle does not
duplicate it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.ads.learning.hypotheses import (
    KEY_METRIC,
    NOISE_COUNT,
    _finite,
    _json_default,
    _jsonb,
)
from growthops.ads.learning.measurement import (
    _DUE_SQL,
    _log_change,
    _window,
    predicted_log_interval,
)
from growthops.core.errors import InvalidInput

#: Haybittle–Peto interim boundary (|z| > 3.29, two-sided p < 0.001 per look).
Z_EARLY = 3.29
#: The execution must be at least this old (hours) before its first read: the seed's "24h".
MIN_AGE_HOURS = 24
#: Suggestion types whose execution a rollback suggestion can undo (a platform write of a value).
ROLLBACK_TYPES = ("scale", "budget_increase", "budget_decrease", "bid_adjustment")
#: Counts read as daily rates (levels); the others are ratios and need no length correction.
_LEVELS = {"results", "spend", "impressions", "clicks", "value"}
#: Hours a rollback suggestion stays in the approval queue (same as the daily suggestions: 48 h).
ROLLBACK_TTL_HOURS = 48

# The measurement's query with the due hypotheses replaced by the ones in an open window: the
# window is cut at ``today``, the baseline is the full one. Every later CTE is the same SQL.
_EARLY_DUE = """
with due as (
  select h.hypothesis_id, h.suggestion_id, h.execution_id, h.suggestion_type as type, h.platform,
         h.entity_type, h.entity_id, h.start_day, %(today)s::date as end_day,
         h.measurement_period_days as n_days, h.start_day - h.measurement_period_days as before_start,
         h.predicted_metrics, h.baseline_metrics, h.confidence_score
  from ads.hypothesis_tracking h
  where h.tenant_id = %(t)s and h.outcome is null and h.rollback_suggestion_id is null
    and h.start_day <= %(today)s and h.measurement_end_date > %(today)s
    and h.executed_at <= %(now)s - make_interval(hours => %(age)s)
    and not exists (select 1 from ads.suggestions s
                    where s.tenant_id = %(t)s and s.suggestion_id = h.suggestion_id and s.evidence ? 'rollback_of')
"""
_SPLIT = "), lineage as ("
EARLY_SQL = _EARLY_DUE + _DUE_SQL[_DUE_SQL.index(_SPLIT) :]


def _rate_change(
    before: dict[str, Any], after: dict[str, Any], metric: str, n_b: int, n_a: int
) -> float | None:
    """Log change of ``metric``; counts compared as daily rates."""
    d = _log_change(before, after, metric)
    if d is None or metric not in _LEVELS:
        return d
    return d - math.log(n_a / n_b) if n_a > 0 and n_b > 0 else None


#: Key metrics proportional to their noise count, and the level they are divided by.
_PER = {"results": None, "roas": "spend", "ctr": "impressions"}


def _zero_change(
    before: dict[str, Any], after: dict[str, Any], metric: str, n_b: int, n_a: int
) -> float | None:
    """Log change of ``metric`` when its noise count fell to zero after the change (the metric
    is 0, its log undefined): the count gets 0.5 (Haldane 1956) and the metric is read through it
    (results as a daily rate; ROAS as results per spend; CTR as clicks per impression). None for
    other metrics or when the baseline count is zero too."""
    if metric not in _PER or n_a <= 0 or n_b <= 0:
        return None
    nc = NOISE_COUNT.get(metric, "results")
    b, a = float(before.get(nc) or 0), float(after.get(nc) or 0)
    if b <= 0 or a > 0:
        return None
    d = math.log((0.5 / n_a) / (b / n_b))
    per = _PER[metric]
    if per is not None:
        pb, pa = float(before.get(per) or 0), float(after.get(per) or 0)
        if pb <= 0 or pa <= 0:
            return None
        d -= math.log((pa / n_a) / (pb / n_b))
    return d


def _exact_z(
    before: dict[str, Any],
    after: dict[str, Any],
    metric: str,
    n_b: int,
    n_a: int,
    edge: float,
    direction: int,
) -> float | None:
    """z of the unit's count against the band's adverse edge by the exact conditional test of
    two Poisson counts (Przyborowski & Wilenski 1940, "Homogeneity of results in testing samples
    from Poisson series", Biometrika 31:313-323), used when a count is zero (the delta method's
    SE is then meaningless). Given ``N = a + b``, ``a ~ Binomial(N, pi)`` with
    ``pi = r0 n_a / (r0 n_a + n_b)`` and ``r0`` the count's rate ratio at the edge (``edge``:
    the key metric's log change at the band's adverse end plus the siblings' change, taken as
    known; for ROAS and CTR plus the spend's or impressions' rate change). Returns
    ``Phi^-1(p)`` of the adverse tail (negative when worse; floored at -37), or None for a metric
    not proportional to its count."""
    from scipy.stats import binom, norm

    if metric not in _PER or n_a <= 0 or n_b <= 0:
        return None
    nc = NOISE_COUNT.get(metric, "results")
    b, a = round(float(before.get(nc) or 0)), round(float(after.get(nc) or 0))
    shift = 0.0
    per = _PER[metric]
    if per is not None:
        pb, pa = float(before.get(per) or 0), float(after.get(per) or 0)
        if pb <= 0 or pa <= 0:
            return None
        shift = math.log((pa / n_a) / (pb / n_b))
    if a + b == 0:
        return None
    r0 = math.exp(edge + shift)
    pi = r0 * n_a / (r0 * n_a + n_b)
    p = binom.cdf(a, a + b, pi) if direction > 0 else binom.sf(a - 1, a + b, pi)
    return float(max(norm.ppf(max(float(p), 1e-300)), -37.0))


def read_one(r: dict[str, Any]) -> dict[str, Any]:
    """Read one hypothesis early from its :data:`EARLY_SQL` row (pure; no database access).

    Returns ``hypothesis_id``, ``suggestion_id``, ``type``, ``verdict`` (see the module rule),
    ``z`` (None without data), ``days`` (reported days of the window so far) and ``read`` (the
    JSON kept in ``early_read``: key metric, effect, SE, band, comparators, reason).
    """
    pred, sums = _jsonb(r["predicted_metrics"]), _jsonb(r["sums"])
    typ = r["type"]
    E = sums.get("entity")
    U = sums.get("unit") or E
    C = sums.get("comp")
    key = KEY_METRIC.get(typ, "roas")
    out: dict[str, Any] = {
        "hypothesis_id": r["hypothesis_id"],
        "suggestion_id": r["suggestion_id"],
        "type": typ,
        "entity_id": r["entity_id"],
        "z": None,
        "days": int(U["days_a"]) if U else 0,
    }
    read: dict[str, Any] = {
        "key_metric": key,
        "window": [str(r["start_day"]), str(r["end_day"])],
        "rule": f"Haybittle-Peto |z| > {Z_EARLY}",
    }
    out["read"] = read
    interval = predicted_log_interval(pred, key)
    if U is None or r["u_id"] is None or not out["days"]:
        read["reason"] = "no metrics yet for the window's first day(s)"
        out["verdict"] = "too_little_data"
        return out
    vpr = (_jsonb(r["baseline_metrics"]).get("context") or {}).get("value_per_result")
    use_value = any(
        (s or {}).get("value_b", 0) + (s or {}).get("value_a", 0) > 0 for s in (E, U, C)
    )
    u_b, u_a = _window(U, "b", vpr, use_value), _window(U, "a", vpr, use_value)
    n_b, n_a = int(U["days_b"]), int(U["days_a"])
    n_comp = int(C["n_entities"]) if C else 0
    if u_b["spend"] <= 0 or u_a["spend"] <= 0 or interval is None:
        read["reason"] = (
            ("no predicted band for " + key) if interval is None else "no spend in a window"
        )
        out["verdict"] = "too_little_data"
        return out
    d_unit = _rate_change(u_b, u_a, key, n_b, n_a)
    if d_unit is None:
        d_unit = _zero_change(u_b, u_a, key, n_b, n_a)
    d_comp = 0.0
    c_b: dict[str, Any] = {}
    c_a: dict[str, Any] = {}
    if C and n_comp:
        c_b, c_a = _window(C, "b", vpr, use_value), _window(C, "a", vpr, use_value)
        d_comp = _rate_change(c_b, c_a, key, int(C["days_b"]), int(C["days_a"])) or 0.0
    if d_unit is None:
        read["reason"] = f"{key} cannot be computed (a zero in a window)"
        out["verdict"] = "too_little_data"
        return out
    effect = d_unit - d_comp
    nc = NOISE_COUNT.get(key, "results")
    cells = [u_b[nc], u_a[nc]] + ([c_b[nc], c_a[nc]] if c_b else [])
    zero = any(c <= 0 for c in cells)
    if zero:
        cells = [c + 0.5 for c in cells]  # Haldane's correction
    se = math.sqrt(sum(1.0 / c for c in cells))
    lo, mid, hi = interval
    direction = 1 if mid > 0 else -1 if mid < 0 else (-1 if key in ("cpm", "cpa") else 1)
    adverse, favourable = (lo, hi) if direction > 0 else (hi, lo)
    z = direction * (effect - adverse) / se
    exact = _exact_z(u_b, u_a, key, n_b, n_a, adverse + d_comp, direction) if zero else None
    if exact is not None:
        z = exact
        read["test"] = "exact conditional binomial (a zero count)"
    if z < -Z_EARLY:
        verdict = "adverse_clear"
    elif z < 0:
        verdict = "outside_adverse"
    elif direction * (effect - favourable) > 0:
        verdict = "outside_favourable"
    else:
        verdict = "inside"
    read.update(
        effect=effect,
        se=se,
        z=z,
        band=[lo, hi],
        predicted=mid,
        direction=direction,
        unit={
            "level": r["u_level"],
            "entity_id": r["u_id"],
            "before": u_b,
            "after": u_a,
            "days_before": n_b,
            "days_after": n_a,
        },
        comparators=list(r["comparators"] or []),
        comparator_change=d_comp if n_comp else None,
    )
    out.update(verdict=verdict, z=z)
    return out


def _rollback_params(
    typ: str, before: dict[str, Any], after: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """(rollback type, action_params) back to ``before``; None when the states lack the value."""
    if typ == "bid_adjustment":
        b, a = before.get("bid_amount"), after.get("bid_amount")
        if not b or not a:
            return None
        return "bid_adjustment", {"bid_cap": {"from": a, "to": b, "change": round(b / a - 1, 6)}}
    b, a = before.get("daily_budget"), after.get("daily_budget")
    if not b or not a or abs(a - b) < 0.005:
        return None
    return (
        "budget_decrease" if b < a else "budget_increase",
        {"daily_budget": {"from": a, "to": b, "change": round(b / a - 1, 6)}},
    )


def _texts(
    typ: str, params: dict[str, Any], read: dict[str, Any], entity: str, cur: str, original_id: int
) -> dict[str, dict[str, str]]:
    """English and French action, reason and expected impact of a rollback suggestion."""
    from growthops.ads.labels import metric_label
    from growthops.ads.suggestions import texts as tx
    from growthops.core.i18n import LANGS, _, format_number

    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        if "daily_budget" in params:
            b = params["daily_budget"]
            action = _(
                lang,
                "Roll back the daily budget of {entity} from {before} to {after}",
                entity=entity,
                before=tx.money(b["from"], cur, lang),
                after=tx.money(b["to"], cur, lang),
            )
        else:
            b = params["bid_cap"]
            action = _(
                lang,
                "Roll back the bid cap of {entity} from {before} to {after}",
                entity=entity,
                before=tx.money(b["from"], cur, lang),
                after=tx.money(b["to"], cur, lang),
            )
        reason = _(
            lang,
            "24-hour check of suggestion {sid}: {metric} changed {effect} against a predicted "
            "{low} to {high} over {days} day(s) (z = {z}; the rule is |z| > 3.29).",
            sid=original_id,
            metric=metric_label(read["key_metric"], lang),
            effect=tx.pct(math.exp(read["effect"]) - 1, lang),
            low=tx.pct(math.exp(read["band"][0]) - 1, lang),
            high=tx.pct(math.exp(read["band"][1]) - 1, lang),
            days=read["unit"]["days_after"],
            z=format_number(read["z"], lang, 1),
        )
        impact = _(
            lang, "Back to the state before the change; the full 7-day measurement still follows."
        )
        out[lang] = {"action": action, "reason": reason, "expected_impact": impact}
    return out


def check_due(
    conn: Any, *, tenant_id: UUID | str, today: date, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Read every open hypothesis early; put a rollback suggestion in the queue where it is clear.

    ``today``: the last reporting day to read (the cycle's ``as_of``); ``now``: the run's clock
    (UTC, default the wall clock): an execution is read once it is :data:`MIN_AGE_HOURS` old.
    Reads hypotheses with no outcome yet, no rollback yet, a window that started on or before
    ``today`` and ends after it. One query reads them all (the measurement's sums), one
    ``UPDATE`` records every read, one ``INSERT`` adds the rollback suggestions (pending,
    48 h validity, ``evidence.rollback_of``) and one ``UPDATE`` links them. Returns one dict per
    read hypothesis (see :func:`read_one`) plus ``rollback_suggestion_id`` (None or the new id).
    Raises :class:`InvalidInput` for a naive ``now``. Never commits.
    """
    from growthops.ads.config import load_context

    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise InvalidInput("now: must be timezone-aware (UTC)")
    t = str(tenant_id)
    ctx = load_context(conn, tenant_id=UUID(t))
    rows = conn.execute(
        EARLY_SQL.format(result=ctx.result_sql("m")),
        {"t": t, "today": today, "now": now, "age": MIN_AGE_HOURS},
    ).fetchall()
    reads = [read_one(dict(r)) for r in rows]
    for rd in reads:
        rd["rollback_suggestion_id"] = None
    if not reads:
        return reads
    conn.execute(
        """update ads.hypothesis_tracking h
              set early_read = x.read, early_z = x.z, early_verdict = x.verdict, early_days = x.days,
                  early_checked_at = %(now)s
             from jsonb_to_recordset(%(rows)s::jsonb) as x(hypothesis_id bigint, read jsonb, z float8,
                                                           verdict text, days int)
            where h.tenant_id = %(t)s and h.hypothesis_id = x.hypothesis_id""",
        {
            "t": t,
            "now": now,
            "rows": json.dumps(
                _finite(
                    [
                        {k: rd[k] for k in ("hypothesis_id", "read", "z", "verdict", "days")}
                        for rd in reads
                    ]
                ),
                default=_json_default,
            ),
        },
    )
    clear = {
        rd["hypothesis_id"]: rd
        for rd in reads
        if rd["verdict"] == "adverse_clear" and rd["type"] in ROLLBACK_TYPES
    }
    if not clear:
        return reads
    execs = conn.execute(
        """select h.hypothesis_id, h.suggestion_id, h.platform, h.entity_type, h.entity_id, h.suggestion_type,
                  h.confidence_score, x.before_state, x.after_state, s.entity_name
             from ads.hypothesis_tracking h
             join ads.execution_logs x on x.tenant_id = h.tenant_id and x.execution_id = h.execution_id
             left join ads.suggestions s on s.tenant_id = h.tenant_id and s.suggestion_id = h.suggestion_id
            where h.tenant_id = %s and h.hypothesis_id = any(%s)""",
        [t, list(clear)],
    ).fetchall()
    payload = []
    for e in execs:
        rd = clear[e["hypothesis_id"]]
        rb = _rollback_params(
            e["suggestion_type"], _jsonb(e["before_state"]), _jsonb(e["after_state"])
        )
        if rb is None:
            rd["read"]["reason"] = "the execution log has no before/after value to return to"
            continue
        typ, params = rb
        read = rd["read"]
        entity = e["entity_name"] or f"{e['entity_type']} {e['entity_id']}"
        texts = _texts(typ, params, read, entity, ctx.currency, e["suggestion_id"])
        # The prediction of a rollback: the key metric back to the unit's baseline rate (status
        # quo: the rate read since the execution), over the standard 7-day horizon.
        payload.append(
            {
                "hypothesis_id": e["hypothesis_id"],
                "type": typ,
                "platform": e["platform"],
                "entity_type": e["entity_type"],
                "entity_id": e["entity_id"],
                "entity_name": e["entity_name"],
                "texts": texts,
                "action": texts["en"]["action"],
                "reason": texts["en"]["reason"],
                "expected_impact": texts["en"]["expected_impact"],
                "predicted_metrics": _rollback_prediction(read),
                "action_params": {
                    **params,
                    "rollback_of": {
                        "suggestion_id": e["suggestion_id"],
                        "hypothesis_id": e["hypothesis_id"],
                    },
                },
                "evidence": {
                    "rollback_of": {
                        "suggestion_id": e["suggestion_id"],
                        "hypothesis_id": e["hypothesis_id"],
                    },
                    "early_read": read,
                },
                "confidence": _confidence(rd["z"]),
            }
        )
    if not payload:
        return reads
    inserted = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason, expected_impact,
             texts, predicted_metrics, action_params, evidence, confidence, platform, entity_type,
             entity_id, entity_name, created_at, expires_at)
           select %(t)s, %(d)s, x.type, 'high', x.action, x.reason, x.expected_impact, x.texts,
                  x.predicted_metrics, x.action_params, x.evidence, x.confidence, x.platform, x.entity_type,
                  x.entity_id, x.entity_name, %(now)s, %(exp)s
           from jsonb_to_recordset(%(rows)s::jsonb) as x(hypothesis_id bigint, type text, action text,
             reason text, expected_impact text, texts jsonb, predicted_metrics jsonb, action_params jsonb,
             evidence jsonb, confidence int, platform text, entity_type text, entity_id text, entity_name text)
           on conflict (tenant_id, platform, entity_type, entity_id, type) where status = 'pending' do nothing
           returning suggestion_id, (evidence -> 'rollback_of' ->> 'hypothesis_id')::bigint as hypothesis_id""",
        {
            "t": t,
            "d": today,
            "now": now,
            "exp": now + timedelta(hours=ROLLBACK_TTL_HOURS),
            "rows": json.dumps(_finite(payload), default=_json_default),
        },
    ).fetchall()
    if inserted:
        conn.execute(
            """update ads.hypothesis_tracking h set rollback_suggestion_id = x.sid
                 from jsonb_to_recordset(%s::jsonb) as x(hid bigint, sid bigint)
                where h.tenant_id = %s and h.hypothesis_id = x.hid""",
            [
                json.dumps(
                    [{"hid": r["hypothesis_id"], "sid": r["suggestion_id"]} for r in inserted]
                ),
                t,
            ],
        )
    by_h = {r["hypothesis_id"]: r["suggestion_id"] for r in inserted}
    for rd in reads:
        rd["rollback_suggestion_id"] = by_h.get(rd["hypothesis_id"])
    return reads


def _confidence(z: float) -> int:
    """Confidence (percent) that the change is worse than its band: the one-sided normal
    probability of the read, capped at 99 (a 24-hour read is never certain)."""
    return int(min(99, round(100 * 0.5 * (1 + math.erf(-z / math.sqrt(2))))))


def _rollback_prediction(read: dict[str, Any]) -> dict[str, Any]:
    """``predicted_metrics`` of a rollback: the unit returns to its baseline (shape of a
    suggestion's prediction, so the rollback's own hypothesis is measured like any other).

    For each of spend, results, ROAS, CPA, CPM and CTR the unit has in both windows: ``p50`` =
    the baseline (levels — spend, results — per 7 days from daily rates; ratios as they are),
    ``p10`` / ``p90`` = ``p50 x exp(-/+ 1.2816 x SE)`` (the read's 80% normal interval; spend,
    set by the budget, has no band); ``status_quo`` = the same metrics as read since the
    execution. Horizon 7 days.
    """
    u, se = read["unit"], float(read["se"])
    metrics: dict[str, Any] = {}
    status_quo: dict[str, float] = {}
    for m in ("spend", "results", "roas", "cpa", "cpm", "ctr"):
        b, a = u["before"].get(m), u["after"].get(m)
        if not b or not a:
            continue
        if m in _LEVELS:
            b, a = b / max(u["days_before"], 1) * 7, a / max(u["days_after"], 1) * 7
        w = 0.0 if m == "spend" else 1.2816 * se
        lo, hi = sorted((b * math.exp(-w), b * math.exp(w)))
        metrics[m] = {"p10": round(lo, 4), "p50": round(b, 4), "p90": round(hi, 4)}
        status_quo[m] = round(a, 4)
    return {"horizon_days": 7, "metrics": metrics, "status_quo": status_quo, "rollback": True}


def list_checks(conn: Any, *, tenant_id: UUID | str, limit: int = 50) -> list[dict[str, Any]]:
    """Return the tenant's early reads, latest first (one query).

    Each row: ``hypothesis_id``, ``suggestion_id``, ``suggestion_type``, ``platform``,
    ``entity_type``, ``entity_id``, ``start_day``, ``measurement_end_date``, ``early_days``,
    ``early_verdict``, ``early_z``, ``early_read`` (JSON, see :func:`read_one`),
    ``early_checked_at`` (UTC), ``outcome`` (the full measurement's, None until then),
    ``rollback_suggestion_id`` and ``rollback_status`` (the rollback suggestion's status, or
    None). ``limit`` 1-1000, else :class:`InvalidInput` naming it.
    """
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput(f"limit: {limit} is not between 1 and 1000")
    return [
        dict(r)
        for r in conn.execute(
            """select h.hypothesis_id, h.suggestion_id, h.suggestion_type, h.platform, h.entity_type, h.entity_id,
                  h.start_day, h.measurement_end_date, h.early_days, h.early_verdict, h.early_z, h.early_read,
                  h.early_checked_at, h.outcome, h.rollback_suggestion_id, s.status as rollback_status
             from ads.hypothesis_tracking h
             left join ads.suggestions s on s.tenant_id = h.tenant_id and s.suggestion_id = h.rollback_suggestion_id
            where h.tenant_id = %s and h.early_checked_at is not null
            order by h.early_checked_at desc, h.hypothesis_id desc limit %s""",
            [str(tenant_id), int(limit)],
        ).fetchall()
    ]
