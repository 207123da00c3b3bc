"""One scan of the last 90 days of metrics, shared by every step of the daily cycle.

The scan groups ``ads.metrics_daily`` by entity and *bucket* of days before ``as_of``::

    b0 = as_of            (window 1)
    b1 = as_of-6..as_of-1 (window 7 = b0+b1)
    b2 = as_of-13..as_of-7 (window 14 = b0..b2)
    b3 = as_of-28..as_of-14 (anomaly history = b1..b3: the 28 days before as_of)
    b4 = as_of-29          (window 30 = b0..b4)
    b5 = as_of-89..as_of-30 (window 90 = b0..b5)

into ``pg_temp._ew`` (entity x bucket, plain sums; the anomaly statistics — logs, squares,
weekday-adjusted sums — only over the 29 days they serve), then pivots it into ``pg_temp._entity``
(one row per entity with every window's sums). The later steps (baselines, anomalies, fatigue,
suggestions) read only these small tables, so the whole cycle costs about one scan of the data.
Both temp tables live until the end of the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import psycopg.rows

from growthops.ads.config import TenantContext

WINDOWS = (1, 7, 14, 30, 90)
#: The entity columns of the current window, per connection (valid while _window_meta exists).
_ENTITIES: WeakKeyDictionary[Any, dict[str, np.ndarray]] = WeakKeyDictionary()
#: Buckets (see module docstring) composing each window, and the anomaly history.
WINDOW_BUCKETS = {1: 0, 7: 1, 14: 2, 30: 4, 90: 5}  # window -> last bucket included
HISTORY_BUCKETS = (1, 3)  # b1..b3: the 28 days before as_of
EARLIER_BUCKETS = (2, 3)  # b2..b3: days 7..28 before as_of (fatigue's "earlier" period)

SUMS = (
    "spend", "impressions", "clicks", "results", "value", "reach", "imp_r", "v3s", "imp_v",
    "adj_spend", "n_sp", "n_sp0", "n_imp", "rss", "css", "ls", "ls2", "n_cpm", "lc", "lc2",
    "active_days",
)

_SCAN = """
create temp table _ew on commit drop as
select m.platform, m.level, m.entity_id,
  (case when m.day = %(as_of)s then 0
        when m.day > %(as_of)s - 7 then 1
        when m.day > %(as_of)s - 14 then 2
        when m.day > %(as_of)s - 29 then 3
        when m.day > %(as_of)s - 30 then 4
        else 5 end)::int2 as b,
  max(m.entity_name) as entity_name, max(m.campaign_id) as campaign_id, max(m.adset_id) as adset_id,
  count(*) filter (where m.spend > 0 or m.impressions > 0)::float8 as active_days,
  max(m.daily_budget)::float8 as budget,
  sum(m.spend)::float8 as spend,
  sum(m.impressions)::float8 as impressions,
  sum(m.clicks)::float8 as clicks,
  sum({result})::float8 as results,
  sum(m.conversion_value)::float8 as value,
  sum(m.reach)::float8 as reach,
  sum(m.impressions) filter (where m.reach is not null)::float8 as imp_r,
  sum(m.video_3s_views)::float8 as v3s,
  sum(m.impressions) filter (where m.video_3s_views is not null)::float8 as imp_v,
  sum(m.spend::float8 * (%(rate_f)s::float8[])[(((m.day - date '2000-01-03') %% 7) + 1)])
    filter (where m.day > %(as_of)s::date - 29) as adj_spend,
  count(*) filter (where m.spend > 0)::float8 as n_sp,
  count(*) filter (where m.spend = 0)::float8 as n_sp0,
  count(*) filter (where m.impressions > 0)::float8 as n_imp,
  sum({result}::float8 ^ 2 / (m.spend::float8 * (%(rate_f)s::float8[])[(((m.day - date '2000-01-03') %% 7) + 1)]))
    filter (where m.spend > 0 and m.day > %(as_of)s::date - 29) as rss,
  sum(m.clicks::float8 ^ 2 / m.impressions) filter (where m.impressions > 0 and m.day > %(as_of)s::date - 29) as css,
  sum(ln(m.spend::float8 / (%(spend_f)s::float8[])[(((m.day - date '2000-01-03') %% 7) + 1)]))
    filter (where m.spend > 0 and m.day > %(as_of)s::date - 29) as ls,
  sum(ln(m.spend::float8 / (%(spend_f)s::float8[])[(((m.day - date '2000-01-03') %% 7) + 1)]) ^ 2)
    filter (where m.spend > 0 and m.day > %(as_of)s::date - 29) as ls2,
  count(*) filter (where m.spend > 0 and m.impressions > 0)::float8 as n_cpm,
  sum(ln(1000 * m.spend::float8 / m.impressions)) filter (where m.spend > 0 and m.impressions > 0 and m.day > %(as_of)s::date - 29) as lc,
  sum(ln(1000 * m.spend::float8 / m.impressions) ^ 2) filter (where m.spend > 0 and m.impressions > 0 and m.day > %(as_of)s::date - 29) as lc2
from ads.metrics_daily m
where m.tenant_id = %(tenant_id)s and m.day between %(as_of)s - 89 and %(as_of)s
group by 1, 2, 3, 4
"""


def _pivot_sql() -> str:
    cols = []
    for s in SUMS:
        for w, last in WINDOW_BUCKETS.items():
            cols.append(f"coalesce(sum({s}) filter (where b <= {last}), 0) as {s}_{w}")
        lo, hi = HISTORY_BUCKETS
        cols.append(f"coalesce(sum({s}) filter (where b between {lo} and {hi}), 0) as {s}_h")
        lo, hi = EARLIER_BUCKETS
        cols.append(f"coalesce(sum({s}) filter (where b between {lo} and {hi}), 0) as {s}_e")
    return (
        "create temp table _entity on commit drop as select platform, level, entity_id, "
        "max(entity_name) as entity_name, max(campaign_id) as campaign_id, "
        "max(adset_id) as adset_id, min(b) as last_bucket, "
        "max(budget) filter (where b = 0) as budget_today, " + ", ".join(cols) + " from _ew group by 1, 2, 3"
    )


def dow_factors(conn: Any, ctx: TenantContext, as_of: date) -> tuple[list[float], list[float]]:
    """Estimate day-of-week factors (ISO weekday 1..7) for spend and for results per spend.

    Pooled over the tenant's campaign-level daily totals of the 12 weeks before ``as_of`` (one
    small index range scan), shrunk toward 1 by :func:`growthops.ads.detect.dow_factors`.
    Returns ``(spend_factors, rate_factors)``, each 7 floats with mean 1.
    """
    from growthops.ads.detect import dow_factors as estimate

    rows = conn.execute(
        f"""select extract(isodow from day)::int as dow, count(*)::float8 as days,
                   sum(spend) as spend, sum(spend ^ 2) as spend_sq, sum(results) as results
            from (select m.day, sum(m.spend)::float8 as spend, sum({ctx.result_sql()})::float8 as results
                  from ads.metrics_daily m
                  where m.tenant_id = %(t)s and m.level = 'campaign'
                    and m.day between %(d)s - 84 and %(d)s - 1
                  group by m.day) d
            group by 1""",
        {"t": ctx.tenant_id, "d": as_of},
    ).fetchall()
    days, spend, spend_sq, results = (np.zeros(7) for _ in range(4))
    for r in rows:
        i = r["dow"] - 1
        days[i], spend[i], spend_sq[i], results[i] = r["days"], r["spend"], r["spend_sq"], r["results"]
    if days.sum() == 0:
        return [1.0] * 7, [1.0] * 7
    spend_f = estimate(spend, days, sum_sq=spend_sq)  # mean daily spend by weekday
    rate_f = estimate(results, spend)  # results per unit of spend by weekday
    return [float(x) for x in spend_f], [float(x) for x in rate_f]


def prepare_window(conn: Any, ctx: TenantContext, as_of: date) -> dict[str, Any]:
    """Build ``pg_temp._ew`` and ``pg_temp._entity`` for ``as_of`` unless already built.

    Returns ``{"as_of", "spend_f", "rate_f", "entities"}`` (entities = row count of _entity).
    Idempotent within a transaction: a second call for the same ``as_of`` is free; another
    ``as_of`` rebuilds.
    """
    built = conn.execute("select to_regclass('pg_temp._window_meta') as t").fetchone()["t"]
    if built:
        meta = conn.execute("select * from _window_meta").fetchone()
        if meta["as_of"] == as_of:
            return dict(meta)
        conn.execute("drop table if exists _window_meta, _ew, _entity")
    _ENTITIES.pop(conn, None)
    spend_f, rate_f = dow_factors(conn, ctx, as_of)
    params = {"tenant_id": ctx.tenant_id, "as_of": as_of, "spend_f": spend_f, "rate_f": rate_f}
    conn.execute(_SCAN.format(result=ctx.result_sql()), params)
    conn.execute(_pivot_sql())
    n = conn.execute("select count(*) as n from _entity").fetchone()["n"]
    conn.execute(
        "create temp table _window_meta on commit drop as "
        "select %s::date as as_of, %s::float8[] as spend_f, %s::float8[] as rate_f, %s::int as entities",
        [as_of, spend_f, rate_f, n],
    )
    return {"as_of": as_of, "spend_f": spend_f, "rate_f": rate_f, "entities": n}


def fetch_entities(conn: Any) -> dict[str, np.ndarray]:
    """Return ``_entity`` as columns: float arrays for sums (NaN for NULL), object arrays for
    ids and names; cached for the life of the window (one fetch per cycle)."""
    cached = _ENTITIES.get(conn)
    if cached is not None:
        return cached
    cur = conn.cursor(row_factory=psycopg.rows.tuple_row)
    rows = cur.execute("select * from _entity order by platform, level, entity_id").fetchall()
    names = [d.name for d in cur.description]
    out: dict[str, np.ndarray] = {}
    if rows:
        cols = list(zip(*rows, strict=True))
        for key, vals in zip(names, cols, strict=True):
            if key in ("platform", "level", "entity_id", "entity_name", "campaign_id", "adset_id"):
                out[key] = np.array(vals, dtype=object)
            else:
                out[key] = np.array(vals, dtype=float)
    _ENTITIES[conn] = out
    return out
