"""Baselines (seed 004 ``ads.baselines``): how an entity's peers perform, per window.

For each platform, level (campaign / ad set / ad), window (1, 7, 14, 30, 90 days ending on
``as_of``) and metric, the p10, p25, p50, p75 and p90 across entities of each entity's window
value, and the number of entities behind them. An entity's window value is a ratio of its window
sums (never a mean of daily ratios). An entity enters a metric's distribution only when the
ratio's denominator is positive in the window (e.g. CPA needs at least one result, so its
baseline describes converting entities; ``roas`` covers every entity that spent).

Units: ``ctr`` and ``cvr`` fractions 0–1; ``cpc``, ``cpa`` and ``spend_per_day`` in the tenant's
currency; ``cpm`` currency per 1,000 impressions; ``roas`` a ratio; ``frequency`` impressions per
person reached (daily reach summed, so a lower bound of the window's true frequency, since reach
is not additive across days).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from growthops.ads.config import TenantContext
from growthops.ads.window import WINDOWS, prepare_window

#: metric -> SQL expression template over _entity columns with {w} the window suffix.
METRICS: dict[str, str] = {
    "ctr": "e.clicks_{w} / nullif(e.impressions_{w}, 0)",
    "cvr": "e.results_{w} / nullif(e.clicks_{w}, 0)",
    "cpc": "e.spend_{w} / nullif(e.clicks_{w}, 0)",
    "cpm": "1000 * e.spend_{w} / nullif(e.impressions_{w}, 0)",
    "cpa": "e.spend_{w} / nullif(e.results_{w}, 0)",
    "roas": "e.value_{w} / nullif(e.spend_{w}, 0)",
    "spend_per_day": "nullif(e.spend_{w}, 0) / {w}",
    "frequency": "e.imp_r_{w} / nullif(e.reach_{w}, 0)",
}


def compute_baselines(conn: Any, ctx: TenantContext, as_of: date) -> int:
    """Compute and upsert the tenant's baselines for ``as_of``; return the number of rows.

    One set-based statement over the cycle's entity window (see :mod:`growthops.ads.window`).
    Idempotent: re-running replaces the same rows with the same values.
    """
    prepare_window(conn, ctx, as_of)
    values = ", ".join(
        f"({w}, '{name}', ({expr.format(w=w)})::float8)"
        for w in WINDOWS
        for name, expr in METRICS.items()
    )
    conn.execute(
        "delete from ads.baselines where tenant_id = %s and as_of = %s", [ctx.tenant_id, as_of]
    )
    cur = conn.execute(
        f"""
        insert into ads.baselines
          (tenant_id, as_of, platform, level, window_days, metric, p10, p25, p50, p75, p90, n_entities)
        select %(t)s, %(as_of)s, platform, level, w, metric,
               pct[1], pct[2], pct[3], pct[4], pct[5], n
        from (
          select e.platform, e.level, v.w, v.metric,
                 percentile_cont(array[0.1, 0.25, 0.5, 0.75, 0.9]) within group (order by v.val) as pct,
                 count(*)::int as n
          from _entity e
          cross join lateral (values {values}) as v(w, metric, val)
          where v.val is not null
          group by 1, 2, 3, 4
        ) s
        """,
        {"t": ctx.tenant_id, "as_of": as_of},
    )
    return cur.rowcount


def load_baselines(conn: Any, *, tenant_id: Any, as_of: date) -> dict[tuple[str, str, int, str], dict[str, float]]:
    """Return ``{(platform, level, window_days, metric): {p10.., p90, n_entities}}`` for ``as_of``."""
    rows = conn.execute(
        "select * from ads.baselines where tenant_id = %s and as_of = %s", [tenant_id, as_of]
    ).fetchall()
    return {
        (r["platform"], r["level"], r["window_days"], r["metric"]): {
            k: r[k] for k in ("p10", "p25", "p50", "p75", "p90", "n_entities")
        }
        for r in rows
    }
