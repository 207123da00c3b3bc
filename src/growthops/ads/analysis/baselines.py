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

import math
from datetime import date
from typing import Any

import numpy as np

from growthops.ads.analysis.window import WINDOWS, fetch_entities, prepare_window
from growthops.ads.config import TenantContext

#: metric -> (numerator, denominator, scale) over the entity window's ``<quantity>_<w>`` sums;
#: ``spend_per_day`` divides by the window length instead of a column.
METRICS: dict[str, tuple[str, str | None, float]] = {
    "ctr": ("clicks", "impressions", 1.0),
    "cvr": ("results", "clicks", 1.0),
    "cpc": ("spend", "clicks", 1.0),
    "cpm": ("spend", "impressions", 1000.0),
    "cpa": ("spend", "results", 1.0),
    "roas": ("value", "spend", 1.0),
    "spend_per_day": ("spend", None, 1.0),
    "frequency": ("imp_r", "reach", 1.0),
}
QUANTILES = (10, 25, 50, 75, 90)
_QL = np.true_divide(QUANTILES, 100).tolist()  # as np.percentile divides q


def percentiles(vals: np.ndarray) -> list[float]:
    """``np.percentile(vals, QUANTILES)`` (method "linear", Hyndman & Fan's 7th, as PostgreSQL's
    ``percentile_cont``), bit for bit, for a non-empty 1-D array of finite floats.

    NumPy's own steps without its per-call overhead (~0.25 ms a call, 120 calls per tenant and
    day: issue 16, docs/performance.md §4e): virtual index ``(n - 1) q``, its floor and the next
    index (the last element when the index reaches ``n - 1``), the sorted values there, and
    NumPy's ``_lerp`` (``a + (b - a) t``, or ``b - (b - a)(1 - t)`` from ``t = 0.5``).
    ``tests/ads/test_cycle.py`` compares it with ``np.percentile``.
    """
    n = vals.size
    srt = np.sort(vals)
    out = []
    for q in _QL:  # five quantiles: Python floats, the same IEEE operations as NumPy's arrays
        virtual = (n - 1) * q
        if virtual >= n - 1:
            prev = nxt = -1
        else:
            prev = math.floor(virtual)
            nxt = prev + 1
        gamma = virtual - prev
        a, b = float(srt[prev]), float(srt[nxt])
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out


def compute_baselines(conn: Any, ctx: TenantContext, as_of: date) -> int:
    """Compute and store the tenant's baselines for ``as_of``; return the number of rows.

    Percentiles (linear interpolation, as PostgreSQL's ``percentile_cont``) over the entity
    window already in memory (:func:`growthops.ads.analysis.window.fetch_entities`), vectorised per
    (platform, level); then one delete and one insert. Idempotent for ``as_of``.
    """
    prepare_window(conn, ctx, as_of)
    E = fetch_entities(conn)
    rows: list[tuple[Any, ...]] = []
    if E:
        keys = np.array([f"{p}\x1f{lv}" for p, lv in zip(E["platform"], E["level"], strict=True)])
        for key in np.unique(keys):
            sel = keys == key
            platform, level = str(key).split("\x1f")
            for w in WINDOWS:
                for metric, (num, den, scale) in METRICS.items():
                    a = E[f"{num}_{w}"][sel]
                    if den is None:
                        vals = a[a > 0] / w
                    else:
                        d = E[f"{den}_{w}"][sel]
                        ok = d > 0
                        vals = scale * a[ok] / d[ok]
                    vals = vals[np.isfinite(vals)]
                    if vals.size == 0:
                        continue
                    q = percentiles(vals)
                    rows.append((platform, level, w, metric, *map(float, q), int(vals.size)))
    conn.execute("delete from ads.baselines where tenant_id = %s and as_of = %s", [ctx.tenant_id, as_of])
    if rows:
        cols = list(zip(*rows, strict=True))
        conn.execute(
            """insert into ads.baselines
                 (tenant_id, as_of, platform, level, window_days, metric, p10, p25, p50, p75, p90, n_entities)
               select %s, %s, * from unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::float8[],
                                            %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::int[])""",
            [ctx.tenant_id, as_of, *[list(c) for c in cols]],
        )
    return len(rows)


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
