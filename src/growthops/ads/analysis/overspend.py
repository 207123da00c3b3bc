"""Overspend against the daily budget (seed 000 ``spend_history``), where budgets are known.

A day is an overspend when its spend passes the platform's documented daily allowance over the
daily budget, or when the 7 days ending on it spent more than 7 x their budgets (the weekly cap
both Meta and Google promise); see :mod:`growthops.ads.thresholds` for the sources.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from growthops.ads.config import TenantContext
from growthops.ads.thresholds import (
    DAILY_OVERSPEND_ALLOWANCE,
    DEFAULT_OVERSPEND_ALLOWANCE,
    WEEKLY_OVERSPEND_TOLERANCE,
)


def check_overspend(conn: Any, ctx: TenantContext, as_of: date) -> int:
    """Upsert ``ads.spend_history`` for ``as_of``; return how many entity-days are overspent.

    Only entity-days with a known ``daily_budget`` are checked. ``overspend_ratio`` is
    spend / budget - 1 (a fraction). Idempotent for a given ``as_of``.
    """
    allowance = " ".join(
        f"when '{p}' then {a}" for p, a in sorted(DAILY_OVERSPEND_ALLOWANCE.items())
    )
    conn.execute(
        f"""
        insert into ads.spend_history as s
          (tenant_id, platform, level, entity_id, day, spend_total, budget_daily,
           overspend_ratio, overspend_detected)
        select tenant_id, platform, level, entity_id, day, spend, daily_budget,
               (spend / daily_budget - 1)::float8,
               spend > daily_budget * (1 + (case platform {allowance} else {DEFAULT_OVERSPEND_ALLOWANCE} end))
               or (days7 = 7 and spend7 > budget7 * (1 + {WEEKLY_OVERSPEND_TOLERANCE}))
        from (
          select m.*,
                 sum(m.spend) over w as spend7, sum(m.daily_budget) over w as budget7,
                 count(*) over w as days7
          from ads.metrics_daily m
          where m.tenant_id = %(t)s and m.day between %(d)s - 6 and %(d)s
            and m.daily_budget > 0
          window w as (partition by m.platform, m.level, m.entity_id order by m.day
                       range between '6 days' preceding and current row)
        ) x
        where day = %(d)s
        on conflict (tenant_id, platform, level, entity_id, day) do update set
          spend_total = excluded.spend_total, budget_daily = excluded.budget_daily,
          overspend_ratio = excluded.overspend_ratio,
          overspend_detected = excluded.overspend_detected, checked_at = now()
        """,
        {"t": ctx.tenant_id, "d": as_of},
    )
    row = conn.execute(
        "select count(*) as n from ads.spend_history where tenant_id = %s and day = %s and overspend_detected",
        [ctx.tenant_id, as_of],
    ).fetchone()
    return int(row["n"])
