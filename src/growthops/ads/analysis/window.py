"""One scan of the last 90 days of metrics, shared by every step of the daily cycle.

Parallel aggregates over ``ads.metrics_daily`` (the tenant's rows of the 90 days ending on
``as_of``), grouped by entity, with one ``FILTER``ed sum per window and quantity, into
``pg_temp._entity`` (one row per entity; see :func:`_scan_sql`). Column ``<quantity>_<window>`` holds the sum over:

====  ==========================================================
1     ``as_of``
7     the 7 days ending on ``as_of`` (likewise 14, 30, 90)
h     the 28 days before ``as_of`` (anomaly history, as_of excluded)
e     days 7..28 before ``as_of`` (fatigue's "earlier" period)
====  ==========================================================

The last 30 days are one parallel aggregate; the 90-day sums add each entity's sums over days
30..89, carried from one day's cycle to the next in ``ads.window_long_sums`` (migration 0185,
:func:`long_sums`: moved by a day each morning, recomputed when a write restates a day inside
that range; exact integers, so a carried sum is the recomputed one). Money in the 90-day
sums is therefore the correctly rounded exact sum of days 30..89 plus the float8 sum of the
last 30 days (before 0185: a float8 sum of the 90 days in scan order; they differ in the last
bits, docs/performance.md §4g).

The later steps (baselines, anomalies, fatigue, suggestions) read only this small table, so the
whole cycle costs about one scan of the data. Grouping by entity alone keeps the aggregate
parallel; an earlier design grouped by (entity, bucket of days) and was twice as slow.
The temp table lives until the end of the transaction.

Where the scan's time goes (issue 16, ``bench/window_scan.py --cpu``, docs/performance.md §4d):
mostly evaluating arguments row by row; the ``numeric::float8`` casts (through the number's
text; spend was cast up to 12 times per row of the last 30 days) were about a third of its
backend CPU. So the scan reads ``spend_f`` and ``conversion_value_f``, float8 copies of the
money columns stored by migration ``0175_metrics_float8`` (generated columns: the cast is paid
once, when a row is written; money stays ``numeric``), docs/performance.md §4f. Measured and not kept: reading the rows out with binary COPY and summing them in
numpy (``bench/window_numpy.py``: the server's CPU to export the rows alone is the scan's, the
client's reading and summing come on top); the anomaly-history statistics from shared
transition states (``regr_*``, ``avg``/``var_pop``: 2 spend casts fewer per row, 0-8 % less
CPU, within the noise); spend and value summed as ``numeric`` (cast once per window: 7-25 %
less CPU, but ~5 KB of hash table per entity instead of ~1.5, a spill to disk above ~12,000
entities per tenant at this ``WORK_MEM``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import psycopg.rows

from growthops.ads.config import TenantContext

WINDOWS = (1, 7, 14, 30, 90)
#: work_mem for the cycle's transaction (the per-entity aggregate is ~600 bytes per entity).
WORK_MEM = "64MB"
#: The entity columns of the current window, per connection (valid while _window_meta exists).
_ENTITIES: WeakKeyDictionary[Any, dict[str, np.ndarray]] = WeakKeyDictionary()

_DOW = "(((m.day - date '2000-01-03') %% 7) + 1)"  # ISO weekday 1..7 by integer arithmetic
WINDOW_FILTERS = {
    "1": "m.day = %(as_of)s",
    "7": "m.day > %(as_of)s::date - 7",
    "14": "m.day > %(as_of)s::date - 14",
    "30": "m.day > %(as_of)s::date - 30",
    "90": None,
    "h": "m.day < %(as_of)s and m.day > %(as_of)s::date - 29",
    "e": "m.day <= %(as_of)s::date - 7 and m.day > %(as_of)s::date - 29",
}
#: quantity -> (aggregate expression, windows computed). {result} is the tenant's result column.
QUANTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "spend": ("sum(m.spend_f)", ("1", "7", "14", "30", "90", "e")),
    "impressions": ("sum(m.impressions::float8)", ("1", "7", "14", "30", "90", "h", "e")),
    "clicks": ("sum(m.clicks::float8)", ("1", "7", "14", "30", "90", "h", "e")),
    "results": ("sum({result}::float8)", ("1", "7", "14", "30", "90", "h", "e")),
    "value": ("sum(m.conversion_value_f)", ("1", "7", "14", "30", "90")),
    "reach": ("sum(m.reach::float8)", ("1", "7", "14", "30", "90", "e")),
    "imp_r": ("sum(m.impressions::float8) filter (where m.reach is not null{and_w})", ("1", "7", "14", "30", "90", "e")),
    "v3s": ("sum(m.video_3s_views::float8)", ("7",)),
    "imp_v": ("sum(m.impressions::float8) filter (where m.video_3s_views is not null{and_w})", ("7",)),
    "active_days": ("count(*) filter (where (m.spend_f > 0 or m.impressions > 0){and_w})", ("90",)),
    # Days reported (rows) in the 14-day window: what "ROAS over N days" says (suggestions).
    "days": ("count(*)", ("14",)),
    # Anomaly history statistics (see growthops.ads.analysis.detect for what each feeds).
    "adj_spend": (f"sum(m.spend_f * (%(rate_f)s::float8[])[{_DOW}])", ("h",)),
    "n_sp": ("count(*) filter (where m.spend_f > 0{and_w})", ("h",)),
    "n_sp0": ("count(*) filter (where m.spend_f = 0{and_w})", ("h",)),
    "n_imp": ("count(*) filter (where m.impressions > 0{and_w})", ("h",)),
    "rss": (f"sum({{result}}::float8 ^ 2 / (m.spend_f * (%(rate_f)s::float8[])[{_DOW}])) filter (where m.spend_f > 0{{and_w}})", ("h",)),
    "css": ("sum(m.clicks::float8 ^ 2 / m.impressions) filter (where m.impressions > 0{and_w})", ("h",)),
    "ls": (f"sum(ln(m.spend_f / (%(spend_f)s::float8[])[{_DOW}])) filter (where m.spend_f > 0{{and_w}})", ("h",)),
    "ls2": (f"sum(ln(m.spend_f / (%(spend_f)s::float8[])[{_DOW}]) ^ 2) filter (where m.spend_f > 0{{and_w}})", ("h",)),
    "n_cpm": ("count(*) filter (where m.spend_f > 0 and m.impressions > 0{and_w})", ("h",)),
    "lc": ("sum(ln(1000 * m.spend_f / m.impressions)) filter (where m.spend_f > 0 and m.impressions > 0{and_w})", ("h",)),
    "lc2": ("sum(ln(1000 * m.spend_f / m.impressions) ^ 2) filter (where m.spend_f > 0 and m.impressions > 0{and_w})", ("h",)),
}


def _agg(expr: str, result: str, filt: str | None) -> str:
    e = expr.replace("{result}", result)
    if "{and_w}" in e:
        return e.replace("{and_w}", f" and {filt}" if filt else "")
    return f"{e} filter (where {filt})" if filt else e


#: The columns a scores-only window computes (``prepare_window(..., recent_only=True)``): those
#: the anomaly tests read (:func:`growthops.ads.analysis.anomalies.build_tests`), windows 1 and h.
RECENT_COLUMNS = frozenset({
    "spend_1", "impressions_1", "clicks_1", "results_1", "impressions_h", "clicks_h", "results_h",
    "adj_spend_h", "n_sp_h", "n_sp0_h", "n_imp_h", "rss_h", "css_h", "ls_h", "ls2_h", "n_cpm_h", "lc_h", "lc2_h",
})
#: Days before ``as_of`` of the carried range (ads.window_long_sums): days 30..89.
LONG_FIRST, LONG_LAST = 89, 30
#: Largest move of the carried range applied as a difference (2 x this many days read);
#: further, the 60 days are summed again.
MAX_SHIFT = 10
#: The carried sum each quantity of the 90-day window adds, as an expression on ads.window_long_sums (o).
#: Counts are exact in float8 (< 2**53); money is carried in integer micro-units (numeric(18,6)
#: times 10**6, exact) and divided once: an exact float8 numerator (< 2**53) over 1e6 rounds
#: correctly, as the numeric sum's cast would.
LONG_SUMS = {
    "spend": "{micro_spend}", "impressions": "o.impressions::float8", "clicks": "o.clicks::float8",
    "results": "({result_o})::float8", "value": "{micro_value}", "reach": "o.reach::float8",
    "imp_r": "o.imp_r::float8", "active_days": "o.active_days::bigint",
}
#: Column of ads.window_long_sums -> its value for one row {x} of ads.metrics_daily.
LONG_ITEMS = {
    "n": "1",
    "n_entity_name": "({x}.entity_name is not null)::int",
    "n_campaign_id": "({x}.campaign_id is not null)::int",
    "n_adset_id": "({x}.adset_id is not null)::int",
    "spend_micro": "({x}.spend * 1000000)::int8",
    "value_micro": "({x}.conversion_value * 1000000)::int8",
    "impressions": "{x}.impressions", "clicks": "{x}.clicks", "conversions": "{x}.conversions",
    "leads": "{x}.leads", "applications": "{x}.applications", "bookings": "{x}.bookings",
    "reach": "coalesce({x}.reach, 0)",
    "imp_r": "case when {x}.reach is not null then {x}.impressions else 0 end",
    "active_days": "({x}.spend > 0 or {x}.impressions > 0)::int",
}
_LONG_COLS = ", ".join(LONG_ITEMS)
_MICRO = ("(case when abs(o.{c}) < 9007199254740992 then o.{c}::float8 / 1e6"
          " else (o.{c}::numeric / 1000000)::float8 end)")


def long_sums(conn: Any, tenant_id: Any, as_of: date) -> str:
    """Bring ``ads.window_long_sums`` to days ``as_of - 89`` .. ``as_of - 30`` for the tenant.

    Holds the tenant's exclusive advisory lock to the end of the transaction (the metrics
    triggers of migration 0185 take it shared). Returns how: ``"kept"`` (already that range),
    ``"moved"`` (by at most :data:`MAX_SHIFT` days: the days entering the range added, those
    leaving it subtracted, one statement; by one day, the entering day's rows joined to the
    leaving day's, no aggregate), ``"rebuilt"`` (no state: first cycle, or a write to a day
    inside the range removed it; or a larger move: the 60 days summed again). Every path gives
    the sums of the rows in the range exactly (bigint), which ``tests/ads/test_window.py``
    checks against recomputation (issue 16). Raises ``psycopg.errors.NumericValueOutOfRange``
    if an entity's money over 60 days exceeds 9.2e12 (bigint micro-units).
    """
    lo, hi = as_of - timedelta(days=LONG_FIRST), as_of - timedelta(days=LONG_LAST)
    conn.execute("select pg_advisory_xact_lock(hashtextextended('ads.window_long_sums:' || %s::text, 0))",
                 [tenant_id])
    st = conn.execute("select lo, hi from ads.window_long_state where tenant_id = %s", [tenant_id]).fetchone()
    if st is not None and (st["lo"], st["hi"]) == (lo, hi):
        return "kept"
    p = {"t": tenant_id, "lo": lo, "hi": hi}
    shift = (lo - st["lo"]).days if st is not None else None
    upsert = ("on conflict (tenant_id, platform, level, entity_id) do update set "
              + ", ".join(f"{c} = s.{c} + excluded.{c}" for c in LONG_ITEMS))
    head = f"insert into ads.window_long_sums as s (tenant_id, platform, level, entity_id, {_LONG_COLS})"
    if shift is not None and abs(shift) <= MAX_SHIFT:
        if shift > 0:  # later: days after the old range enter, its first days leave
            p |= {"e0": st["hi"] + timedelta(days=1), "e1": hi, "l0": st["lo"], "l1": lo - timedelta(days=1)}
        else:
            p |= {"e0": lo, "e1": st["lo"] - timedelta(days=1), "l0": hi + timedelta(days=1), "l1": st["hi"]}
        if abs(shift) == 1:  # one row per entity and day (primary key): a join, no aggregate
            key = ("platform", "level", "entity_id")
            vals = [f"case when e.entity_id is null then 0 else {x.format(x='e')} end"
                    f" - case when l.entity_id is null then 0 else {x.format(x='l')} end" for x in LONG_ITEMS.values()]
            sql = (f"{head}\nselect %(t)s, {', '.join(f'coalesce(e.{k}, l.{k})' for k in key)}, {', '.join(vals)}\n"
                   "from (select * from ads.metrics_daily where tenant_id = %(t)s and day = %(e0)s) e\n"
                   "full join (select * from ads.metrics_daily where tenant_id = %(t)s and day = %(l0)s) l\n"
                   f"  on {' and '.join(f'e.{k} = l.{k}' for k in key)}\n{upsert}")
        else:
            sql = (f"{head}\nselect %(t)s, m.platform, m.level, m.entity_id, "
                   + ", ".join(f"sum(m.sg * {x.format(x='m')})" for x in LONG_ITEMS.values())
                   + "\nfrom (select m.*, 1 as sg from ads.metrics_daily m"
                   " where m.tenant_id = %(t)s and m.day between %(e0)s and %(e1)s\n"
                   "      union all select m.*, -1 from ads.metrics_daily m"
                   " where m.tenant_id = %(t)s and m.day between %(l0)s and %(l1)s) m\n"
                   f"group by 2, 3, 4\n{upsert}")
        conn.execute(sql, p)
        conn.execute("delete from ads.window_long_sums where tenant_id = %(t)s and n = 0", p)
        conn.execute("update ads.window_long_state set lo = %(lo)s, hi = %(hi)s where tenant_id = %(t)s", p)
        return "moved"
    conn.execute("delete from ads.window_long_sums where tenant_id = %(t)s", p)
    conn.execute(
        f"{head}\nselect %(t)s, m.platform, m.level, m.entity_id, "
        + ", ".join(f"sum({x.format(x='m')})" for x in LONG_ITEMS.values())
        + "\nfrom ads.metrics_daily m where m.tenant_id = %(t)s and m.day between %(lo)s and %(hi)s"
        "\ngroup by 2, 3, 4", p)
    conn.execute(
        """insert into ads.window_long_state (tenant_id, lo, hi) values (%(t)s, %(lo)s, %(hi)s)
           on conflict (tenant_id) do update set lo = excluded.lo, hi = excluded.hi""", p)
    return "rebuilt"


def _scan_sql(result: str, result_o: str | None = None, *, recent_only: bool = False) -> str:
    """The CREATE TEMP TABLE _entity statement.

    One parallel aggregate of the last 30 days (every window but 90, and the 30-day sums
    unfiltered: the whole range), joined by entity to the carried sums of days 30..89
    (``ads.window_long_sums``, brought up to date by :func:`long_sums` first), which the 90-day
    sums add. ``result_o``: the tenant's result expression on the carried sums' columns
    (``ctx.result_sql("o")``). The names are the last 30 days' (max); :data:`_NAMES_SQL`
    then fills those missing from the older days (max), as the 90 days' max gave.
    ``recent_only``: the anomaly tests' columns only (:data:`RECENT_COLUMNS`), over the 29
    days ending on ``as_of``, no carried sums joined (see :func:`prepare_window`).

    History: the older part used to be a second parallel aggregate over the 60 days (0.75 of
    the floor's CPU, docs/performance.md §4g); before that, splitting the 90 days at 30 kept
    the ~50 filtered aggregates off two thirds of the rows (25 % faster than one scan; §4c).
    """
    result_o = result_o or result.replace("m.", "o.")
    recent, final = [], []
    for name, (expr, windows) in QUANTITIES.items():
        if recent_only:  # the anomaly tests' columns only
            windows = tuple(w for w in windows if f"{name}_{w}" in RECENT_COLUMNS)
        for w in windows:
            col = f"{name}_{w}"
            if w in ("30", "90"):
                continue
            recent.append(f"{_agg(expr, result, WINDOW_FILTERS[w])} as {col}")
            final.append(f"coalesce(r.{col}, 0) as {col}")
        if "30" in windows or "90" in windows:
            recent.append(f"{_agg(expr, result, None)} as {name}_30")
            if "30" in windows:
                final.append(f"coalesce(r.{name}_30, 0) as {name}_30")
            if "90" in windows:
                old = (LONG_SUMS[name].replace("{result_o}", result_o)
                       .replace("{micro_spend}", _MICRO.format(c="spend_micro"))
                       .replace("{micro_value}", _MICRO.format(c="value_micro")))
                final.append(f"coalesce(r.{name}_30, 0) + coalesce({old}, 0) as {name}_90")
    names = "max(m.entity_name) as entity_name, max(m.campaign_id) as campaign_id, max(m.adset_id) as adset_id"
    return (
        "create temp table _entity on commit drop as\n"
        "with r as materialized (\n"
        f"  select m.platform, m.level, m.entity_id, {names},\n"
        "    max(m.daily_budget::float8) filter (where m.day = %(as_of)s) as budget_today,\n    "
        + ",\n    ".join(recent)
        + "\n  from ads.metrics_daily m where m.tenant_id = %(tenant_id)s"
        f" and m.day between %(as_of)s::date - {28 if recent_only else 29} and %(as_of)s group by 1, 2, 3),\n"
        + ("o as (select * from ads.window_long_sums where false)\n" if recent_only else
           "o as (select * from ads.window_long_sums where tenant_id = %(tenant_id)s)\n")
        + "select platform, level, entity_id,\n"
        "  r.entity_name, r.campaign_id, r.adset_id, r.budget_today,\n  "
        + ",\n  ".join(final)
        + "\nfrom r full join o using (platform, level, entity_id)"
    )


#: The names of the entities with none in the last 30 days but some in days 30..89 (the max
#: over those days, as the 90-day aggregate gave): an index range scan per such entity; a hash
#: join of two ~3,000-row tables when there is none (joined in the scan, the planner sorted
#: the whole window for a merge join: +0.2 floors).
_NAMES_SQL = f"""
update _entity e set entity_name = coalesce(e.entity_name, x.entity_name),
  campaign_id = coalesce(e.campaign_id, x.campaign_id), adset_id = coalesce(e.adset_id, x.adset_id)
from (select m.platform, m.level, m.entity_id, max(m.entity_name) as entity_name,
             max(m.campaign_id) as campaign_id, max(m.adset_id) as adset_id
      from _entity e2
      join ads.window_long_sums o on o.tenant_id = %(tenant_id)s and o.platform = e2.platform
        and o.level = e2.level and o.entity_id = e2.entity_id
      join ads.metrics_daily m on m.tenant_id = %(tenant_id)s and m.platform = o.platform
        and m.level = o.level and m.entity_id = o.entity_id
        and m.day between %(as_of)s::date - {LONG_FIRST} and %(as_of)s::date - {LONG_LAST}
      where (e2.entity_name is null and o.n_entity_name > 0) or (e2.campaign_id is null and o.n_campaign_id > 0)
         or (e2.adset_id is null and o.n_adset_id > 0)
      group by 1, 2, 3) x
where e.platform = x.platform and e.level = x.level and e.entity_id = x.entity_id"""


def dow_factors(conn: Any, ctx: TenantContext, as_of: date) -> tuple[list[float], list[float]]:
    """Estimate day-of-week factors (ISO weekday 1..7) for spend and for results per spend.

    Pooled over the tenant's campaign-level daily totals of the 12 weeks before ``as_of`` (one
    small index range scan), shrunk toward 1 by :func:`growthops.ads.analysis.predictive.dow_factors`.
    Returns ``(spend_factors, rate_factors)``, each 7 floats with mean 1.
    """
    from growthops.ads.analysis.predictive import dow_factors as estimate

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


def prepare_window(conn: Any, ctx: TenantContext, as_of: date, *, recent_only: bool = False) -> dict[str, Any]:
    """Build ``pg_temp._entity`` for ``as_of`` unless already built in this transaction.

    Returns ``{"as_of", "spend_f", "rate_f", "entities"}`` (entities = row count of _entity).
    Idempotent within a transaction: a second call for the same ``as_of`` is free; another
    ``as_of`` rebuilds. ``recent_only``: the anomaly tests' columns alone (windows 1 and h:
    the 29 days ending on ``as_of``, 18 sums instead of about 60), for the scores of a past day
    (:func:`growthops.ads.analysis.anomalies.fill_null_scores`): the carried days 30..89
    (:func:`long_sums`) are neither moved nor read, the entities seen only before the last 30
    days are absent (none of them delivered on ``as_of``: the tests are those of the full
    window, the same sums of the same rows), the names of older days are not looked up. A
    full call for the same ``as_of`` then rebuilds.
    """
    built = conn.execute("select to_regclass('pg_temp._window_meta') as t").fetchone()["t"]
    if built:
        meta = conn.execute("select * from _window_meta").fetchone()
        if meta["as_of"] == as_of and (recent_only or not meta["recent_only"]):
            return {k: meta[k] for k in ("as_of", "spend_f", "rate_f", "entities")}
        conn.execute("drop table if exists _window_meta, _entity")
    _ENTITIES.pop(conn, None)
    # The wide aggregate wants a hash table in memory (a sort-based plan is 1.5x slower).
    conn.execute("select set_config('work_mem', %s, true)", [WORK_MEM])
    spend_f, rate_f = dow_factors(conn, ctx, as_of)
    if not recent_only:
        long_sums(conn, ctx.tenant_id, as_of)
    params = {"tenant_id": ctx.tenant_id, "as_of": as_of, "spend_f": spend_f, "rate_f": rate_f}
    conn.execute(_scan_sql(ctx.result_sql(), ctx.result_sql("o"), recent_only=recent_only), params)
    if not recent_only:
        conn.execute(_NAMES_SQL, params)
    n = conn.execute("select count(*) as n from _entity").fetchone()["n"]
    conn.execute(
        "create temp table _window_meta on commit drop as "
        "select %s::date as as_of, %s::float8[] as spend_f, %s::float8[] as rate_f, %s::int as entities, "
        "%s::bool as recent_only",
        [as_of, spend_f, rate_f, n, recent_only],
    )
    return {"as_of": as_of, "spend_f": spend_f, "rate_f": rate_f, "entities": n}


def fetch_entities(conn: Any) -> dict[str, np.ndarray]:
    """Return ``_entity`` as columns: float arrays for sums (NaN for NULL), object arrays for
    ids and names; cached for the life of the window (one fetch per cycle)."""
    cached = _ENTITIES.get(conn)
    if cached is not None:
        return cached
    # Binary transfer: float8 columns load without parsing text (half the fetch time).
    cur = conn.cursor(row_factory=psycopg.rows.tuple_row, binary=True)
    # Not prepared: a scores-only window (recent_only) has fewer columns than a full one.
    rows = cur.execute("select * from _entity order by platform, level, entity_id", prepare=False).fetchall()
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
