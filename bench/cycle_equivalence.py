"""Check that two versions of the daily cycle give the same outputs (issue 16).

Run ``.venv/bin/python bench/cycle_equivalence.py dump OUT.json`` once per version of the code
(``growthops`` as installed, or ``PYTHONPATH=/tmp/main-src/src`` for a ``git archive`` of
main), then
``.venv/bin/python bench/cycle_equivalence.py compare A.json B.json``.

``dump`` builds one synthetic tenant (300 ads, 100 days, every planted effect) in a fresh
embedded database, runs a 14-day backtest (rolled back), a day's cycle and its replay at a fixed
clock, and writes the backtest's rows and every row of the cycle's tables (ids and timestamps
left out). ``compare`` counts the numbers that differ at all and those that differ by more than
1e-9 relative, and prints every other difference.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

SKIP = {"suggestion_id", "anomaly_id", "created_at", "expires_at", "computed_at", "detected_at", "checked_at",
        "updated_at", "id", "decided_at"}


def dump(out: Path) -> None:
    """Run the backtest, the day and its replay; write their outputs to ``out`` (JSON)."""
    from growthops.ads.cycle import run_daily_cycle
    from growthops.ads.learning.backtest import run_backtest
    from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
    from growthops.core.db import Database
    from growthops.core.migrate import migrate
    from growthops.core.tenants.models import TenantIn
    from growthops.core.tenants.service import create_tenant
    from growthops.settings import Settings

    db = Database(Settings(data_dir=Path(tempfile.mkdtemp(prefix="cycle-eq-")), database_name="eq",
                           embedded_cleanup="stop"))
    migrate(db)
    as_of = date(2024, 6, 30)
    tn = create_tenant(db, TenantIn.model_validate(
        {"client_key": "eq", "client_name": "Eq", "roi_target": "3.0", "monthly_budget_max": "200000"}, strict=False))
    plan = Plan(campaigns=6, adsets_per_campaign=10, ads_per_adset=5, days=100, end=as_of,
                bad_adsets=tuple(range(0, 60, 7)), great_adsets=tuple(range(3, 60, 11)),
                fatigued_ads=tuple(range(0, 300, 13)), drop_campaigns=(1, 4), budget_adsets=tuple(range(0, 60, 4)),
                overspend_adsets=(5, 9), seed=11)
    with db.tenant_tx(tn.tenant_id) as conn:
        copy_rows(conn, generate(tn.tenant_id, plan))
    res: dict = {}
    bt = run_backtest(db, tenant_id=tn.tenant_id, start=date(2024, 6, 10), end=date(2024, 6, 23))
    res["backtest"] = {
        "days": bt.days,
        "outcomes": {k: [o.suggestions, o.measured, o.held, o.confidences] for k, o in sorted(bt.outcomes.items())},
        "rows": [{k: v for k, v in r.items() if k not in SKIP} for r in bt.rows]}
    clock = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    for n in (1, 2):  # the day, then its replay
        r = run_daily_cycle(db, tenant_id=tn.tenant_id, as_of=as_of, clock=clock)
        res[f"summary{n}"] = {k: v for k, v in r.summary.items() if k not in ("seconds", "timings")}
    with db.tenant_tx(tn.tenant_id) as conn:
        for t, order in (("ads.suggestions", "type, entity_type, entity_id"),
                         ("ads.baselines", "platform, level, window_days, metric"),
                         ("ads.anomalies", "platform, level, entity_id, metric"),
                         ("ads.creative_performance", "platform, ad_id"),
                         ("ads.spend_history", "platform, level, entity_id, day"),
                         ("ads.campaign_performance", "1, 2, 3, 4")):
            rows = conn.execute(f"select * from {t} order by {order}").fetchall()
            res[t] = [{k: v for k, v in r.items() if k not in SKIP} for r in rows]
    out.write_text(json.dumps(res, default=str, indent=1, sort_keys=True))
    db.close()


def compare(a_path: Path, b_path: Path) -> int:
    """Print the differences between two dumps; return the number of real ones."""
    a, b = (json.loads(p.read_text()) for p in (a_path, b_path))
    counts = {"numbers": 0, "differ": 0, "beyond_1e-9": 0}
    other: list[tuple[str, object, object]] = []

    def num(x: object) -> float | None:
        if isinstance(x, bool):
            return None
        if isinstance(x, int | float):
            return float(x)
        if isinstance(x, str):
            try:
                return float(x)
            except ValueError:
                return None
        return None

    def walk(x: object, y: object, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if k != "tenant_id":
                    walk(x.get(k), y.get(k), f"{path}/{k}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                other.append((path, len(x), len(y)))
            for i, (u, v) in enumerate(zip(x, y, strict=False)):
                walk(u, v, f"{path}[{i}]")
        elif num(x) is not None and num(y) is not None:
            fx, fy = num(x), num(y)
            counts["numbers"] += 1
            if fx != fy:
                counts["differ"] += 1
                if abs(fx - fy) > 1e-9 * max(abs(fx), abs(fy)):
                    counts["beyond_1e-9"] += 1
                    other.append((path, x, y))
        elif x != y:
            other.append((path, x, y))

    walk(a, b, "")
    print(counts)
    for d in other[:50]:
        print(d)
    return len(other)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(1 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 0)
    else:
        sys.exit(__doc__)
