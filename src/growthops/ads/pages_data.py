"""What each dashboard page reads: set-based SQL, a fixed number of queries per page and tenant.

Every function taking ``conn`` runs inside the caller's tenant transaction
(``db.tenant_tx(tenant_id)``, row-level security bound) and never commits. Money is in the
tenant's currency, ratios are ratios of sums (never means of daily ratios), fractions are 0-1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.ads.action.guardrails import SPEND_DAYS
from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound

#: Days of the overview's spend and ROAS / CPA window (the last reported days).
OVERVIEW_DAYS = 7
#: Days the entity chart shows, and the trailing window its thick line and band use
#: (the same as the HTML report: :data:`growthops.ads.reporting.report.CHART_DAYS` / ``ROLLING_DAYS``).
CHART_DAYS = 60
ROLLING_DAYS = 7
LEVELS = ("campaign", "adset", "ad")
TYPES = ("scale", "pause", "refresh", "test_angle", "campaign_diagnostic", "budget_increase",
         "budget_decrease", "bid_adjustment")
PRIORITIES = ("critical", "high", "medium", "low")
STATUSES = ("pending", "approved", "refused", "backlog", "executing", "executed", "expired",
            "failed", "blocked")
#: Status filters of the queue: a status, or these groups.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {"open": ("pending", "backlog"), "all": STATUSES}


# ------------------------------------------------------------------------------ tenants
def directory(db: Database) -> list[dict[str, Any]]:
    """Return every tenant's id, key, name, time zone and currency, ordered by key."""
    with db.app_tx() as conn:
        return conn.execute("select * from core.tenant_directory()").fetchall()


def visible_tenants(db: Database, user: Any) -> list[dict[str, Any]]:
    """Return the directory rows of the tenants ``user`` may see (``user.can_access``)."""
    return [r for r in directory(db) if user.can_access(r["tenant_id"])]


# ----------------------------------------------------------------------------- overview
_OVERVIEW_SQL = """
with tn as (
  select t.tenant_id, t.client_key, t.client_name, t.currency, t.time_zone, t.roi_target,
         t.monthly_budget_max, (%(now)s::timestamptz at time zone t.time_zone)::date as today
  from core.tenants t where t.tenant_id = %(t)s
),
cfg as (
  select platform, result_metric, max_cpa from ads.platform_configs where tenant_id = %(t)s
),
ld as (  -- the tenant's own latest reported day (index metrics_daily_tenant_day)
  select max(m.day) as last_day from ads.metrics_daily m cross join tn
  where m.tenant_id = %(t)s and m.day <= tn.today
),
lv as (  -- per platform, level and day; results in each platform's result metric
  select m.platform, m.level, m.day, sum(m.spend) as spend,
         sum(m.conversion_value) as value,
         sum(case coalesce(c.result_metric, 'conversions')
               when 'leads' then m.leads when 'applications' then m.applications
               when 'bookings' then m.bookings else m.conversions end) as results
  from ads.metrics_daily m
  cross join tn cross join ld
  left join cfg c on c.platform = m.platform
  where m.tenant_id = %(t)s
    and m.day between least(date_trunc('month', tn.today)::date,
                            coalesce(ld.last_day, tn.today) - 40) and tn.today
  group by m.platform, m.level, m.day
),
top as (  -- the highest level each platform reports, so levels are not counted twice
  select platform, min(array_position(array['campaign', 'adset', 'ad'], level)) as r
  from lv group by platform
),
d as (
  select lv.day, sum(lv.spend) as spend, sum(lv.value) as value, sum(lv.results) as results
  from lv join top on top.platform = lv.platform
                  and top.r = array_position(array['campaign', 'adset', 'ad'], lv.level)
  group by lv.day
),
l as (select max(day) as last_day from d),
agg as (
  select
    coalesce(sum(d.spend) filter (where d.day > l.last_day - %(days)s), 0) as spend_7d,
    coalesce(sum(d.value) filter (where d.day > l.last_day - %(days)s), 0) as value_7d,
    coalesce(sum(d.results) filter (where d.day > l.last_day - %(days)s), 0) as results_7d,
    coalesce(sum(d.spend) filter (where d.day >= date_trunc('month', tn.today)), 0) as mtd,
    sum(d.spend) filter (where d.day > l.last_day - %(spend_days)s)
      / nullif(count(*) filter (where d.day > l.last_day - %(spend_days)s), 0) as daily_spend,
    max(d.day) filter (where d.day >= date_trunc('month', tn.today)) as last_in_month
  from tn cross join l left join d on true
  group by tn.today, l.last_day
)
select tn.tenant_id, tn.client_key, tn.client_name, tn.currency, tn.roi_target,
       tn.monthly_budget_max, tn.today, l.last_day, tn.today - l.last_day as data_age,
       agg.spend_7d, agg.value_7d, agg.results_7d,
       agg.mtd, agg.daily_spend,
       (date_trunc('month', tn.today) + interval '1 month - 1 day')::date
         - coalesce(agg.last_in_month, date_trunc('month', tn.today)::date - 1) as days_remaining,
       (select coalesce(sum((x.intended_state->>'daily_budget')::numeric
                            - (x.before_state->>'daily_budget')::numeric), 0)
          from ads.execution_logs x
         where x.tenant_id = %(t)s and x.status in ('applied', 'reconciled')
           and x.action_type = 'budget_change' and x.executed_at <= %(now)s
           and x.executed_at >= ((coalesce(l.last_day, tn.today) + 1)::timestamp
                                 at time zone tn.time_zone)) as budget_delta,
       (select max(c.max_cpa) from cfg c) as max_cpa,
       (select count(*) from ads.suggestions s
         where s.tenant_id = %(t)s and s.status = 'pending' and s.expires_at > %(now)s)
         as pending,
       (select count(*) from ads.anomalies a
         where a.tenant_id = %(t)s and a.status in ('active', 'investigating')
           and a.as_of = (select max(r.as_of) from ads.cycle_runs r
                           where r.tenant_id = %(t)s and r.status = 'succeeded')) as anomalies,
       (select count(*) from ads.anomalies a
         where a.tenant_id = %(t)s and a.status in ('active', 'investigating')
           and a.severity in ('high', 'critical')
           and a.as_of = (select max(r.as_of) from ads.cycle_runs r
                           where r.tenant_id = %(t)s and r.status = 'succeeded'))
         as severe_anomalies
from tn cross join l cross join agg
"""


def overview_row(conn: Any, *, tenant_id: UUID | str, now: datetime) -> dict[str, Any]:
    """Return one tenant's overview figures in ONE statement (whatever its number of entities).

    Keys: ``client_key``, ``client_name``, ``currency``, ``roi_target`` (ROAS target, ratio),
    ``max_cpa`` (largest ``platform_configs.max_cpa``, None if unset), ``last_day`` (the
    tenant's own latest reported day on or before today in its time zone, however old; None
    without data), ``data_age`` (days from ``last_day`` to today, int; None without data),
    ``spend_7d``, ``value_7d``, ``results_7d`` (sums over the
    :data:`OVERVIEW_DAYS` days ending ``last_day``; results in each platform's
    ``result_metric``), ``roas_7d`` = value / spend and ``cpa_7d`` = spend / results (ratios of
    sums; None when undefined), ``mtd`` (spend of the current month in the tenant's time zone),
    ``projected`` (end-of-month spend), ``monthly_budget_max``, ``pacing`` = projected /
    monthly maximum (fraction; None without a maximum), ``pending`` (undecided, unexpired
    suggestions), ``anomalies`` / ``severe_anomalies`` (active or investigating anomalies of the
    latest succeeded cycle run; severe = high or critical).

    Per platform and day, spend is summed at the highest level the platform reports (campaign,
    else ad set, else ad) so levels are never counted twice. Projection: the definition of the
    monthly-budget guard rail (:func:`growthops.ads.action.guardrails.load_spend`):
    ``mtd + days_remaining x (mean daily spend of the last SPEND_DAYS reported days + budget
    changes growthops applied since the last reported day)``; a linear run rate, as Google Ads
    describes monthly pacing (Google Ads Help, "About average daily budgets": a month is billed
    at most the average daily budget x 30.4). Raises :class:`NotFound` for an unknown tenant.
    """
    row = conn.execute(_OVERVIEW_SQL, {"t": str(tenant_id), "now": now, "days": OVERVIEW_DAYS,
                                       "spend_days": SPEND_DAYS}).fetchone()
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    spend, value, results = (float(row[k]) for k in ("spend_7d", "value_7d", "results_7d"))
    row["roas_7d"] = value / spend if spend > 0 and value > 0 else None
    row["cpa_7d"] = spend / results if results > 0 else None
    daily = float(row["daily_spend"] or 0) + float(row["budget_delta"] or 0)
    row["projected"] = float(row["mtd"]) + max(0, int(row["days_remaining"] or 0)) * daily
    cap = row["monthly_budget_max"]
    row["pacing"] = row["projected"] / float(cap) if cap else None
    return row


def overview(db: Database, user: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return :func:`overview_row` for every tenant ``user`` may see (one statement each)."""
    now = now or datetime.now(UTC)
    out = []
    for tn in visible_tenants(db, user):
        with db.tenant_tx(tn["tenant_id"]) as conn:
            out.append(overview_row(conn, tenant_id=tn["tenant_id"], now=now))
    return out


# -------------------------------------------------------------------------------- queue
_QUEUE_SQL = """
with page as (
  select s.suggestion_id, s.as_of, s.type, s.priority, s.action, s.reason, s.expected_impact,
         s.texts, s.predicted_metrics, s.action_params, s.evidence, s.confidence,
         s.calibrated_confidence, s.platform, s.entity_type, s.entity_id, s.entity_name,
         s.status, s.decided_by, s.decided_at, s.guard_rail_note, s.auto_applied, s.created_at,
         s.expires_at, count(*) over () as total
  from ads.suggestions s
  where s.tenant_id = %(t)s
    and (%(statuses)s::text[] is null or s.status = any(%(statuses)s::text[]))
    and (%(type)s::text is null or s.type = %(type)s::text)
    and (%(priority)s::text is null or s.priority = %(priority)s::text)
    and (%(sid)s::bigint is null or s.suggestion_id = %(sid)s::bigint)
  order by array_position(array['critical', 'high', 'medium', 'low'], s.priority),
           s.confidence desc, s.suggestion_id
  limit %(limit)s offset %(offset)s
)
select p.*, d.notes as decision_notes, d.channel as decision_channel,
       x.execution_id, x.status as execution_status, x.error_message as execution_error,
       coalesce(x.executed_at, x.claimed_at) as execution_at, a.connector as account_connector,
       par.adset_name as parent_name
from page p
left join (select distinct on (suggestion_id) suggestion_id, notes, channel
             from ads.decisions
            where tenant_id = %(t)s and suggestion_id in (select suggestion_id from page)
            order by suggestion_id, decided_at desc, decision_id desc) d
  on d.suggestion_id = p.suggestion_id
left join (select distinct on (suggestion_id) suggestion_id, execution_id, status,
                  error_message, executed_at, claimed_at
             from ads.execution_logs
            where tenant_id = %(t)s and suggestion_id in (select suggestion_id from page)
            order by suggestion_id, claimed_at desc, execution_id desc) x
  on x.suggestion_id = p.suggestion_id
left join ads.ad_accounts a on a.tenant_id = %(t)s and a.platform = p.platform
left join lateral (  -- an ad's ad set, named: four ads may share a name (primary key lookups)
  select (select n.entity_name from ads.metrics_daily n
           where n.tenant_id = %(t)s and n.platform = p.platform and n.level = 'adset'
             and n.entity_id = m.adset_id order by n.day desc limit 1) as adset_name
  from ads.metrics_daily m
  where p.entity_type = 'ad' and m.tenant_id = %(t)s and m.platform = p.platform
    and m.level = 'ad' and m.entity_id = p.entity_id and m.day <= p.as_of
  order by m.day desc limit 1
) par on true
order by array_position(array['critical', 'high', 'medium', 'low'], p.priority),
         p.confidence desc, p.suggestion_id
"""


def queue(conn: Any, *, tenant_id: UUID | str, status: str | None = "open",
          type: str | None = None, priority: str | None = None, limit: int = 50,
          offset: int = 0, suggestion_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: the tenant's live suggestions in review order, one statement.

    Review order: priority (critical → low), confidence (highest first), id — the digest's.
    ``status``: a status, ``open`` (pending and backlog) or ``all``/None; ``type`` and
    ``priority`` filter when given. Each row has the suggestion's columns plus its last
    decision's ``decision_notes`` / ``decision_channel``, its last execution's
    ``execution_id`` / ``execution_status`` / ``execution_error`` / ``execution_at``, the
    platform's ``account_connector`` (None: no ad account, approving executes nothing) and, for
    an ad, ``parent_name``: its ad set's name (ads often share names across ad sets).
    Raises :class:`InvalidInput` for an unknown status, type or priority, ``limit`` outside
    1..500 or a negative ``offset``.
    """
    if status in (None, ""):
        status = "all"
    if status in STATUS_GROUPS:
        statuses: list[str] | None = list(STATUS_GROUPS[status])
    elif status in STATUSES:
        statuses = [status]
    else:
        raise InvalidInput(f"status: {status!r} is not one of open, all, {', '.join(STATUSES)}")
    if type not in (None, "") and type not in TYPES:
        raise InvalidInput(f"type: {type!r} is not one of {', '.join(TYPES)}")
    if priority not in (None, "") and priority not in PRIORITIES:
        raise InvalidInput(f"priority: {priority!r} is not one of {', '.join(PRIORITIES)}")
    if not 1 <= int(limit) <= 500:
        raise InvalidInput("limit: must be between 1 and 500")
    if int(offset) < 0:
        raise InvalidInput("offset: must be 0 or more")
    rows = conn.execute(_QUEUE_SQL, {
        "t": str(tenant_id), "statuses": statuses, "type": type or None,
        "priority": priority or None, "limit": int(limit), "offset": int(offset),
        "sid": suggestion_id}).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:
        total = int(conn.execute(
            """select count(*) as n from ads.suggestions s where s.tenant_id = %(t)s
                 and (%(statuses)s::text[] is null or s.status = any(%(statuses)s::text[]))
                 and (%(type)s::text is null or s.type = %(type)s::text)
                 and (%(priority)s::text is null or s.priority = %(priority)s::text)""",
            {"t": str(tenant_id), "statuses": statuses, "type": type or None,
             "priority": priority or None}).fetchone()["n"])
    return rows, total


def queue_row(conn: Any, *, tenant_id: UUID | str, suggestion_id: int) -> dict[str, Any]:
    """Return one suggestion as :func:`queue` shows it; :class:`NotFound` if absent."""
    rows, _ = queue(conn, tenant_id=tenant_id, status="all", suggestion_id=suggestion_id,
                    limit=1)
    if not rows:
        raise NotFound(f"no suggestion {suggestion_id} for this client")
    return rows[0]


# ------------------------------------------------------------------------------- entity
_ENTITY_METRICS_SQL = """
select m.day, m.entity_name, m.spend::float8 as spend, m.impressions, m.clicks, m.conversions,
       m.leads, m.applications, m.bookings, m.conversion_value::float8 as conversion_value,
       m.reach, m.daily_budget::float8 as daily_budget, m.campaign_id, m.adset_id
from ads.metrics_daily m
where m.tenant_id = %(t)s and m.platform = %(p)s and m.level = %(l)s and m.entity_id = %(e)s
  and m.day > (select max(day) from ads.metrics_daily
               where tenant_id = %(t)s and platform = %(p)s and level = %(l)s
                 and entity_id = %(e)s) - %(days)s
order by m.day
"""

_ENTITY_EXECUTIONS_SQL = """
select x.execution_id, x.suggestion_id, x.status, x.action_type, x.executed_by, x.claimed_at,
       x.executed_at, x.before_state, x.intended_state, x.after_state, x.error_message,
       x.success, s.type as suggestion_type, h.hypothesis_id, h.outcome, h.start_day,
       h.measurement_end_date, h.predicted_metrics, h.variance, h.why_accurate,
       h.why_inaccurate, h.confounding_factors, h.measured_at
from ads.execution_logs x
left join ads.suggestions s on s.tenant_id = x.tenant_id and s.suggestion_id = x.suggestion_id
left join ads.hypothesis_tracking h
  on h.tenant_id = x.tenant_id and h.suggestion_id = x.suggestion_id
 and x.status in ('applied', 'reconciled')
where x.tenant_id = %(t)s and x.platform = %(p)s and x.entity_id = %(e)s
order by coalesce(x.executed_at, x.claimed_at) desc, x.execution_id desc
limit 200
"""


#: Level -> (child level, the child's column naming this entity).
_CHILD_LEVEL = {"campaign": ("adset", "campaign_id"), "adset": ("ad", "adset_id")}
_ENTITY_CHILDREN_SQL = """
select entity_id, max(entity_name) as entity_name, count(*) as days, sum(spend) as spend,
       sum(impressions) as impressions, sum(clicks) as clicks, sum(conversions) as conversions,
       sum(leads) as leads, sum(applications) as applications, sum(bookings) as bookings,
       sum(conversion_value) as conversion_value
from ads.metrics_daily
where tenant_id = %(t)s and platform = %(p)s and level = %(child)s and {pcol} = %(e)s
  and day between %(first)s and %(end)s
group by entity_id order by sum(spend) desc, entity_id limit 50"""


def entity(conn: Any, *, tenant_id: UUID | str, platform: str, level: str,
           entity_id: str) -> dict[str, Any]:
    """Return everything the entity page shows, in seven set-based queries.

    Keys: ``metrics`` (daily rows of the last ``CHART_DAYS + ROLLING_DAYS - 1`` reported days,
    oldest first), ``end`` (last reported day), ``name``, ``anomalies`` (the entity's anomalies
    of the :data:`CHART_DAYS` days to ``end``, newest first), ``baselines`` (metric -> the peers'
    p10..p90 over 7 days at the latest ``as_of`` on or before ``end``, same platform and level),
    ``baseline_as_of``, ``result_metric``, ``history`` (:func:`growthops.ads.action.decisions.history`
    entries of this entity: suggestions with decisions, executions and hypothesis) and
    ``executions`` (``ads.execution_logs`` rows with their hypothesis' outcome and variance),
    ``children`` (an ad set's ads, a campaign's ad sets: sums over the days of the entity's
    summary, the last 7 reported days, biggest spend first; at most 50).
    Raises :class:`InvalidInput` for an unknown level, :class:`NotFound` when the entity has no
    metrics, suggestion or execution.
    """
    from growthops.ads.action.decisions import history

    if level not in LEVELS:
        raise InvalidInput(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    p = {"t": str(tenant_id), "p": platform, "l": level, "e": entity_id,
         "days": CHART_DAYS + ROLLING_DAYS - 1}
    metrics = conn.execute(_ENTITY_METRICS_SQL, p).fetchall()
    end: date | None = metrics[-1]["day"] if metrics else None
    anomalies = conn.execute(
        """select anomaly_id, as_of, metric, anomaly_type, baseline_value, actual_value,
                  deviation, q_value, severity, status, method, entity_name
           from ads.anomalies
           where tenant_id = %(t)s and platform = %(p)s and level = %(l)s and entity_id = %(e)s
             and as_of > %(end)s::date - %(chart)s
           order by as_of desc, anomaly_id desc""",
        {**p, "end": end or date.max - timedelta(days=CHART_DAYS), "chart": CHART_DAYS},
    ).fetchall() if end else []
    base_rows = conn.execute(
        """select metric, as_of, p10, p25, p50, p75, p90 from ads.baselines
           where tenant_id = %(t)s and platform = %(p)s and level = %(l)s and window_days = 7
             and as_of = (select max(as_of) from ads.baselines
                          where tenant_id = %(t)s and platform = %(p)s and level = %(l)s
                            and window_days = 7 and as_of <= %(end)s)""",
        {**p, "end": end},
    ).fetchall() if end else []
    cfg = conn.execute("select result_metric from ads.platform_configs where tenant_id = %(t)s "
                       "and platform = %(p)s", p).fetchone()
    hist = [h for h in history(conn, tenant_id=tenant_id, entity_id=entity_id, limit=200)
            if h["suggestion"]["platform"] == platform
            and h["suggestion"]["entity_type"] == level]
    executions = conn.execute(_ENTITY_EXECUTIONS_SQL, p).fetchall()
    if not metrics and not hist and not executions:
        raise NotFound(f"no {level} {entity_id!r} on {platform} for this client")
    children = []
    if metrics and level in _CHILD_LEVEL:
        children = conn.execute(_ENTITY_CHILDREN_SQL.format(pcol=_CHILD_LEVEL[level][1]),
                                {**p, "child": _CHILD_LEVEL[level][0],
                                 "first": metrics[-7:][0]["day"], "end": end}).fetchall()
    name = next((m["entity_name"] for m in reversed(metrics) if m["entity_name"]), None)
    name = name or next((h["suggestion"]["entity_name"] for h in hist
                         if h["suggestion"]["entity_name"]), None)
    return {
        "metrics": metrics, "end": end, "name": name, "anomalies": anomalies,
        "baselines": {b["metric"]: b for b in base_rows},
        "baseline_as_of": base_rows[0]["as_of"] if base_rows else None,
        "result_metric": cfg["result_metric"] if cfg else "conversions",
        "history": hist, "executions": executions, "children": children,
    }


# ----------------------------------------------------------------------------- learning
def learning(conn: Any, *, tenant_id: UUID | str, limit: int = 50) -> dict[str, Any]:
    """Return the learning page's data: the calibration report and the latest hypotheses.

    ``report``: :func:`growthops.ads.learning.calibration.report` (outcome counts, by type, Brier scores,
    the 10-bin reliability table, the active model, decision patterns, feedback loops);
    ``hypotheses``: the ``limit`` latest hypotheses (measured or not) with their suggestion's
    entity, newest first (one query).
    """
    from growthops.ads.learning.calibration import report

    rep = report(conn, tenant_id=tenant_id)
    hyps = conn.execute(
        """select h.hypothesis_id, h.suggestion_id, h.suggestion_type, h.platform, h.entity_type,
                  h.entity_id, h.hypothesis_text, h.confidence_score, h.executed_at, h.start_day,
                  h.measurement_end_date, h.outcome, h.variance, h.why_accurate,
                  h.why_inaccurate, h.measured_at, s.entity_name
           from ads.hypothesis_tracking h
           left join ads.suggestions s
             on s.tenant_id = h.tenant_id and s.suggestion_id = h.suggestion_id
           where h.tenant_id = %s
           order by h.executed_at desc, h.hypothesis_id desc limit %s""",
        [str(tenant_id), int(limit)]).fetchall()
    return {"report": rep, "hypotheses": hyps}
