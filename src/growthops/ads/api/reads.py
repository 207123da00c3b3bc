"""Read queries of the HTTP API: tenants' summaries, metrics, baselines, anomalies, decisions,
executions and hypotheses.

Every function takes ``conn`` (a tenant transaction, row-level security bound) and ``tenant_id``
keyword-only, never commits, and is one set-based statement (plus one ``count(*)`` for the
total of a page). Pages are ``(rows, total)``; the caller bounds ``limit`` (routes: 1-200, 1-1000
for metric rows).

Ratios are always ratios of sums over the rows they describe (never means of daily ratios);
definitions as in the Meta Ads Help Center metric glossary and Google Ads Help ("CTR",
"Avg. CPC", "CPM", "Cost / conv.", "Conv. value / cost"):
``ctr = clicks / impressions`` and ``cvr = conversions / clicks`` (fractions 0-1),
``cpc = spend / clicks``, ``cpm = 1000 * spend / impressions``, ``cpl = spend / leads``,
``cpa = spend / conversions`` (money, the tenant's currency), ``roas = conversion_value / spend``
(ratio); NULL when the denominator is 0.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from growthops.core.errors import NotFound

SUMMED = (
    "spend",
    "impressions",
    "clicks",
    "leads",
    "applications",
    "bookings",
    "conversions",
    "conversion_value",
)


def ratios_sql(prefix: str = "") -> str:
    """Return the SQL select-list of the ratios computed from the sums named ``<prefix>spend``..."""
    p = prefix
    return (
        f"{p}clicks::float8 / nullif({p}impressions, 0) as ctr, "
        f"{p}spend::float8 / nullif({p}clicks, 0) as cpc, "
        f"1000 * {p}spend::float8 / nullif({p}impressions, 0) as cpm, "
        f"{p}spend::float8 / nullif({p}leads, 0) as cpl, "
        f"{p}spend::float8 / nullif({p}conversions, 0) as cpa, "
        f"{p}conversion_value::float8 / nullif({p}spend, 0) as roas, "
        f"{p}conversions::float8 / nullif({p}clicks, 0) as cvr"
    )


_SUMS = ", ".join(f"sum({c}) as {c}" for c in SUMMED)


def tenant_summary(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return a tenant's row with its month-to-date figures and open work.

    Month to date: from the first day of the month of the tenant's latest reporting day with
    data (``last_day``) to that day, campaign level (each ad's spend is counted once).
    ``pacing`` = month-to-date spend / (``monthly_budget_max`` * elapsed days / days in the
    month) (ratio; 1 = on track; NULL without a budget). Counts: pending suggestions (not
    expired), active or investigating anomalies.
    """
    row = conn.execute(
        f"""with last as (
              select max(day) as d from ads.metrics_daily where tenant_id = %(t)s),
            mtd as (
              select {_SUMS} from ads.metrics_daily, last
              where tenant_id = %(t)s and level = 'campaign'
                and day between date_trunc('month', last.d)::date and last.d)
            select t.*, last.d as last_day,
                   coalesce(mtd.spend, 0)::float8 as spend_mtd,
                   coalesce(mtd.conversion_value, 0)::float8 as conversion_value_mtd,
                   coalesce(mtd.conversions, 0) as conversions_mtd,
                   mtd.conversion_value::float8 / nullif(mtd.spend, 0) as roas_mtd,
                   mtd.spend::float8 / nullif(mtd.conversions, 0) as cpa_mtd,
                   mtd.spend::float8 / nullif(t.monthly_budget_max::float8
                       * extract(day from last.d)
                       / extract(day from (date_trunc('month', last.d) + interval '1 month'
                                           - interval '1 day')), 0) as pacing,
                   (select count(*) from ads.suggestions s where s.tenant_id = %(t)s
                      and s.status = 'pending' and s.expires_at > now()) as pending_suggestions,
                   (select count(*) from ads.anomalies a where a.tenant_id = %(t)s
                      and a.status in ('active', 'investigating')) as active_anomalies
            from core.tenants t, last, mtd where t.tenant_id = %(t)s""",
        {"t": str(tenant_id)},
    ).fetchone()
    if row is None:
        raise NotFound(f"tenant: no tenant {tenant_id}")
    return row


def _page(
    conn: Any, select: str, where: str, order: str, params: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = conn.execute(
        f"{select} where {where} order by {order} limit %(limit)s offset %(offset)s",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    if len(rows) < limit and (rows or offset == 0):
        total = offset + len(rows)
    else:
        sub = select.split(" from ", 1)[1]
        total = conn.execute(f"select count(*) as n from {sub} where {where}", params).fetchone()[
            "n"
        ]
    return rows, int(total)


def list_entities(
    conn: Any,
    *,
    tenant_id: UUID | str,
    platform: str | None = None,
    level: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: the entities with metrics, their sums and ratios over a period.

    Rows: platform, level, entity_id, entity_name (the latest), first_day, last_day, days, the
    sums of :data:`SUMMED` and the ratios of the module docstring, ordered by spend (highest
    first) then key.
    """
    params = {"t": str(tenant_id), "p": platform, "l": level, "s": start, "e": end}
    where = """tenant_id = %(t)s and (%(p)s::text is null or platform = %(p)s::text)
               and (%(l)s::text is null or level = %(l)s::text)
               and (%(s)s::date is null or day >= %(s)s::date)
               and (%(e)s::date is null or day <= %(e)s::date)"""
    grouped = f"""select platform, level, entity_id,
                         (array_agg(entity_name order by day desc))[1] as entity_name,
                         min(day) as first_day, max(day) as last_day, count(*) as days, {_SUMS}
                  from ads.metrics_daily where {where}
                  group by platform, level, entity_id"""
    rows = conn.execute(
        f"""select g.*, {ratios_sql("g.")}, count(*) over () as total_rows
            from ({grouped}) g order by g.spend desc, g.platform, g.level, g.entity_id
            limit %(limit)s offset %(offset)s""",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(
            conn.execute(f"select count(*) as n from ({grouped}) g", params).fetchone()["n"]
        )
    return [{k: v for k, v in r.items() if k != "total_rows"} for r in rows], total


def entity_metrics(
    conn: Any,
    *,
    tenant_id: UUID | str,
    entity_id: str,
    platform: str | None = None,
    level: str | None = None,
    start: date | None = None,
    end: date | None = None,
    newest_first: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """Return ``(rows, total, totals)``: an entity's daily rows, paginated, and period totals.

    ``rows``: one per (platform, level, day) with the day's counts, money and ratios
    (``ads.metrics_daily_ratios``). ``totals``: the sums over every row of the filter (not
    only the page) and the ratios of those sums. Raises :class:`NotFound` when the entity has
    no row at all for the tenant.
    """
    params = {"t": str(tenant_id), "id": entity_id, "p": platform, "l": level, "s": start, "e": end}
    where = """tenant_id = %(t)s and entity_id = %(id)s
               and (%(p)s::text is null or platform = %(p)s::text)
               and (%(l)s::text is null or level = %(l)s::text)
               and (%(s)s::date is null or day >= %(s)s::date)
               and (%(e)s::date is null or day <= %(e)s::date)"""
    direction = "desc" if newest_first else "asc"
    rows = conn.execute(
        f"""select platform, level, entity_id, entity_name, campaign_id, adset_id, day,
                   {", ".join(SUMMED)}, reach, frequency, daily_budget, {ratios_sql("")}
            from ads.metrics_daily where {where}
            order by day {direction}, platform, level limit %(limit)s offset %(offset)s""",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    totals = conn.execute(
        f"""select s.*, {ratios_sql("s.")} from (
              select count(*) as days, min(day) as first_day, max(day) as last_day,
                     {", ".join(f"coalesce(sum({c}), 0) as {c}" for c in SUMMED)}
              from ads.metrics_daily where {where}) s""",
        params,
    ).fetchone()
    total = int(totals["days"])
    if total == 0:
        exists = conn.execute(
            "select 1 from ads.metrics_daily where tenant_id = %(t)s and entity_id = %(id)s "
            "limit 1",
            params,
        ).fetchone()
        if exists is None:
            raise NotFound(f"entity_id: no metrics for entity {entity_id!r}")
    return rows, total, totals


def list_baselines(
    conn: Any,
    *,
    tenant_id: UUID | str,
    as_of: date | None = None,
    platform: str | None = None,
    level: str | None = None,
    window_days: int | None = None,
    metric: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: baselines of one as-of day (default: the latest computed).

    A baseline is the distribution across entities (p10-p90) of each entity's window value
    of ``metric`` (``ads.baselines``; units by metric: ctr, cvr fractions; cpc, cpm, cpa, cpl
    money; roas ratio; spend_per_day money per day).
    """
    params = {
        "t": str(tenant_id),
        "a": as_of,
        "p": platform,
        "l": level,
        "w": window_days,
        "m": metric,
    }
    where = """tenant_id = %(t)s
               and as_of = coalesce(%(a)s::date, (select max(as_of) from ads.baselines
                                                  where tenant_id = %(t)s))
               and (%(p)s::text is null or platform = %(p)s::text)
               and (%(l)s::text is null or level = %(l)s::text)
               and (%(w)s::int is null or window_days = %(w)s::int)
               and (%(m)s::text is null or metric = %(m)s::text)"""
    return _page(
        conn,
        "select * from ads.baselines",
        where,
        "platform, level, window_days, metric",
        params,
        limit,
        offset,
    )


def list_anomalies(
    conn: Any,
    *,
    tenant_id: UUID | str,
    status: str | None = None,
    severity: str | None = None,
    as_of: date | None = None,
    entity_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: anomalies, newest reporting day first, then most severe."""
    params = {"t": str(tenant_id), "st": status, "sv": severity, "a": as_of, "id": entity_id}
    where = """tenant_id = %(t)s and (%(st)s::text is null or status = %(st)s::text)
               and (%(sv)s::text is null or severity = %(sv)s::text)
               and (%(a)s::date is null or as_of = %(a)s::date)
               and (%(id)s::text is null or entity_id = %(id)s::text)"""
    order = (
        "as_of desc, array_position(array['critical', 'high', 'medium', 'low'], severity), "
        "q_value, anomaly_id"
    )
    return _page(conn, "select * from ads.anomalies", where, order, params, limit, offset)


def get_one(
    conn: Any, *, tenant_id: UUID | str, table: str, key: str, value: int, label: str
) -> dict[str, Any]:
    """Return one row of ``ads.<table>`` by its id column; :class:`NotFound` otherwise."""
    assert table in ("anomalies", "execution_logs", "hypothesis_tracking") and key.isidentifier()
    row = conn.execute(
        f"select * from ads.{table} where tenant_id = %s and {key} = %s", [str(tenant_id), value]
    ).fetchone()
    if row is None:
        raise NotFound(f"no {label} {value} for this tenant")
    return row


def list_decisions(
    conn: Any,
    *,
    tenant_id: UUID | str,
    suggestion_id: int | None = None,
    decision: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: decisions, live and archived (``archived``), newest first."""
    params = {"t": str(tenant_id), "s": suggestion_id, "d": decision, "c": channel}
    cols = (
        "decision_id, suggestion_id, decision, decided_by, decided_at, notes, channel, "
        "api_key_id, created_at"
    )
    where = """tenant_id = %(t)s and (%(s)s::bigint is null or suggestion_id = %(s)s::bigint)
               and (%(d)s::text is null or decision = %(d)s::text)
               and (%(c)s::text is null or channel = %(c)s::text)"""
    union = (
        f"(select {cols}, false as archived, null::timestamptz as archived_at "
        f"from ads.decisions where {where} union all "
        f"select {cols}, true, archived_at from ads.decisions_archive where {where}) d"
    )
    return _page(
        conn,
        f"select * from {union}",
        "true",
        "decided_at desc, decision_id desc",
        params,
        limit,
        offset,
    )


def list_executions(
    conn: Any,
    *,
    tenant_id: UUID | str,
    status: str | None = None,
    suggestion_id: int | None = None,
    entity_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: execution attempts (``ads.execution_logs``), newest first."""
    params = {"t": str(tenant_id), "st": status, "s": suggestion_id, "id": entity_id}
    where = """tenant_id = %(t)s and (%(st)s::text is null or status = %(st)s::text)
               and (%(s)s::bigint is null or suggestion_id = %(s)s::bigint)
               and (%(id)s::text is null or entity_id = %(id)s::text)"""
    return _page(
        conn,
        "select * from ads.execution_logs",
        where,
        "claimed_at desc, execution_id desc",
        params,
        limit,
        offset,
    )


def list_hypotheses(
    conn: Any,
    *,
    tenant_id: UUID | str,
    outcome: str | None = None,
    measured: bool | None = None,
    suggestion_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(rows, total)``: hypotheses (``ads.hypothesis_tracking``), newest first.

    ``measured``: True only measured ones (``outcome`` set), False only those still open.
    """
    params = {"t": str(tenant_id), "o": outcome, "m": measured, "s": suggestion_id}
    where = """tenant_id = %(t)s and (%(o)s::text is null or outcome = %(o)s::text)
               and (%(m)s::boolean is null or (outcome is not null) = %(m)s::boolean)
               and (%(s)s::bigint is null or suggestion_id = %(s)s::bigint)"""
    return _page(
        conn,
        "select * from ads.hypothesis_tracking",
        where,
        "executed_at desc, hypothesis_id desc",
        params,
        limit,
        offset,
    )


def count_audit(
    conn: Any,
    *,
    tenant_id: UUID | str,
    object_type: str | None = None,
    object_id: str | None = None,
    entity_id: str | None = None,
) -> int:
    """Return how many audit entries match the filters of :func:`growthops.ads.action.audit.trail`."""
    return int(
        conn.execute(
            """select count(*) as n from ads.audit_log
           where tenant_id = %(t)s and (%(ot)s::text is null or object_type = %(ot)s::text)
             and (%(oi)s::text is null or object_id = %(oi)s::text)
             and (%(e)s::text is null or entity_id = %(e)s::text)""",
            {"t": str(tenant_id), "ot": object_type, "oi": object_id, "e": entity_id},
        ).fetchone()["n"]
    )
