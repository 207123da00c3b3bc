"""Policy benchmark on simulated ad accounts with known response curves.

Run: ``.venv/bin/python bench/policy_regret.py [--accounts K] [--days 60]`` (``make bench`` runs
``--accounts 1 --days 21``; the issue's figure is ``--accounts 4 --days 60``).

For each of K sandbox accounts (:mod:`growthops.connectors.sandbox`: Hill response curves, count
noise, weekday seasonality, creative fatigue, learning-phase penalty, attribution delay,
overdelivery), four copies with the same seed and 35 days of history are driven for ``--days``
days by:

(a) **growthops** with auto-apply: every morning the daily cycle on yesterday's data, then
    :func:`growthops.ads.cycle.after_cycle` (reconcile, auto-apply within the guard rails);
(b) **seed 001's rules**: per ad set, latest-day ROI above target and above the peers' p75 →
    budget +50%; ROI under 0.6 x target with 7-day spend over 500 → pause;
(c) **no action**;
(d) an **oracle** that knows each ad set's true curve: every 7 days it solves for the budgets
    that maximise expected profit (value - spend) under the same bounds, and walks toward them
    in daily steps under 20% (so it never restarts a learning phase).

Same bounds for all: an ad set's daily budget within [1, 3 x its initial budget], and the
account's total daily budget at most 1.3 x its initial total (the tenant's
``monthly_budget_max`` / 30.4). Profit = conversion value - spend over the driven days (campaign
rows of ``ads.metrics_daily``). Normalised regret = (oracle profit - profit) / |oracle profit|.
Also: learning resets per 100 actions (sandbox records of significant edits) and guard-rail
violations of growthops' executed changes (recomputed from ``ads.execution_logs`` by
:func:`violations`, independently of the engine; must be 0).
Target: growthops' regret at most half of seed 001's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.ads.allocation.allocate import allocate  # noqa: E402
from growthops.ads.cycle import after_cycle, run_daily_cycle  # noqa: E402
from growthops.connectors.sandbox import SandboxAccount, create_sandbox_account  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.settings import Settings  # noqa: E402

START = date(2024, 1, 1)
HISTORY = 35
ROI_TARGET = 1.5  # a profit-seeking target: break-even is ROAS 1 when value is margin
POLICIES = ("growthops", "allocation", "roas_proportional", "seed001", "none", "oracle")
#: Policies driven by growthops' own engine (auto-apply within the guard rails).
ENGINE = ("growthops", "allocation")
MAX_BUDGET_FACTOR = 3.0
TOTAL_CAP_FACTOR = 1.3


def setup(db: Database, policy: str, k: int, seed: int) -> tuple[Any, dict[str, float], float]:
    """Create the tenant and its sandbox account; return (tenant_id, initial budgets, daily cap)."""
    tn = create_tenant(db, TenantIn.model_validate(
        {"client_key": f"{policy}-{k}", "client_name": f"{policy} {k}", "roi_target": str(ROI_TARGET),
         "currency": "EUR", "time_zone": "UTC"}, strict=False))
    with db.tenant_tx(tn.tenant_id) as conn:
        acct = create_sandbox_account(conn, tenant_id=tn.tenant_id, seed=seed, start=START, days_history=HISTORY,
                                      campaigns=2, adsets_per_campaign=3, ads_per_adset=2)
        budgets = {e.entity_id: float(e.daily_budget) for e in acct.list_entities("adset")}
    cap = TOTAL_CAP_FACTOR * sum(budgets.values())
    with db.admin() as conn:
        conn.execute("update core.tenants set monthly_budget_max = %s where tenant_id = %s",
                     [round(cap * 30.4, 2), tn.tenant_id])
    if policy in ENGINE:
        with db.tenant_tx(tn.tenant_id) as conn:
            conn.execute(
                """insert into ads.platform_configs (tenant_id, platform, auto_apply_recommendations,
                     min_auto_apply_confidence, max_change_pct, max_change_pct_24h, min_daily_budget)
                   values (%s, 'meta', true, 80, 20, 30, 1)""", [tn.tenant_id])
    return tn.tenant_id, budgets, cap


def clip_total(new: dict[str, float], cap: float) -> dict[str, float]:
    """Scale budgets down proportionally when their sum passes the account cap."""
    total = sum(new.values())
    return {k: v * cap / total for k, v in new.items()} if total > cap else new


def seed001_day(conn: Any, acct: SandboxAccount, init: dict[str, float], cap: float, day: date) -> int:
    """Seed 001's DailyAnalyzer rules on the last day; return the number of actions taken."""
    rows = conn.execute(
        """select entity_id, day, spend::float8 as spend, conversion_value::float8 as value
           from ads.metrics_daily where level = 'adset' and day > %s::date - 7 and day <= %s
           order by entity_id, day desc""", [day, day]).fetchall()
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["entity_id"], []).append(r)
    states = {e.entity_id: e for e in acct.list_entities("adset")}
    rois = [m[0]["value"] / m[0]["spend"] for m in by.values() if m[0]["spend"] > 0]
    p75 = float(np.percentile(rois, 75)) if rois else 0.0
    actions = 0
    budgets = {k: float(s.daily_budget or 0) for k, s in states.items() if s.status == "active"}
    for sid, m in by.items():
        st = states.get(sid)
        if st is None or st.status != "active":
            continue
        roi = m[0]["value"] / m[0]["spend"] if m[0]["spend"] > 0 else 0.0
        total_spend = sum(x["spend"] for x in m)
        if roi > ROI_TARGET and roi > p75:
            target = min(budgets[sid] * 1.5, MAX_BUDGET_FACTOR * init[sid])
            others = sum(v for k, v in budgets.items() if k != sid)
            target = max(min(target, cap - others), 1.0)
            if abs(target - budgets[sid]) >= 0.01:
                acct.set_daily_budget(sid, Decimal(f"{target:.2f}"))
                budgets[sid] = target
                actions += 1
        elif roi < ROI_TARGET * 0.6 and total_spend > 500:
            acct.set_status(sid, "paused")
            budgets.pop(sid, None)
            actions += 1
    return actions


def oracle_budgets(acct: SandboxAccount, init: dict[str, float], cap: float) -> dict[str, float]:
    """Budgets maximising expected daily profit under the bounds, from the true curves.

    Each ad set maximises value(x) - (1 + lam) x over a grid in [1, 3 x initial]; the shadow
    price lam >= 0 of the account cap is found by bisection.
    """
    grids = {sid: np.linspace(1.0, MAX_BUDGET_FACTOR * b, 400) for sid, b in init.items()}
    values = {sid: np.asarray(acct.true_response(sid, g)["value"]) for sid, g in grids.items()}

    def pick(lam: float) -> dict[str, float]:
        return {sid: float(g[np.argmax(values[sid] - (1 + lam) * g)]) for sid, g in grids.items()}

    best = pick(0.0)
    if sum(best.values()) <= cap:
        return best
    lo, hi = 0.0, 10.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if sum(pick(mid).values()) > cap:
            lo = mid
        else:
            hi = mid
    return pick(hi)


def roas_proportional_budgets(conn: Any, acct: SandboxAccount, init: dict[str, float], cap: float,
                              day: date) -> dict[str, float]:
    """Budgets proportional to each ad set's 14-day ROAS x its budget, summing to the cap.

    ``new_i = cap x b_i x ROAS_i / sum_j (b_j x ROAS_j)`` over the active ad sets, clipped to
    [1, 3 x initial]: budget moves toward the higher ROAS in proportion, the account spends its
    ceiling (the common "shift budget to what returns most" heuristic; no response curve).
    """
    rows = conn.execute(
        """select entity_id, sum(conversion_value)::float8 as v, sum(spend)::float8 as s
           from ads.metrics_daily where level = 'adset' and day > %s::date - 14 and day <= %s
           group by entity_id""", [day, day]).fetchall()
    roas = {r["entity_id"]: r["v"] / r["s"] for r in rows if r["s"] > 0}
    cur = {e.entity_id: float(e.daily_budget or 0) for e in acct.list_entities("adset")
           if e.status == "active" and e.entity_id in roas}
    weight = {k: b * roas[k] for k, b in cur.items()}
    total = sum(weight.values())
    if total <= 0:
        return cur
    return {k: min(max(cap * wt / total, 1.0), MAX_BUDGET_FACTOR * init[k]) for k, wt in weight.items()}


def walk(acct: SandboxAccount, goal: dict[str, float]) -> int:
    """Move each budget toward ``goal`` in steps under 19% (no learning restart); return the
    number of changes."""
    actions = 0
    for sid, b in goal.items():
        cur = float(acct.get_entity(sid).daily_budget or 0)
        step = min(max(b, cur / 1.19), cur * 1.19)
        if abs(step - cur) / max(cur, 1e-9) > 0.01:
            acct.set_daily_budget(sid, Decimal(f"{step:.2f}"))
            actions += 1
    return actions


def profit(db: Database, tenant_id: Any, first: date, last: date) -> tuple[float, float, float]:
    """(value, spend, profit) over the driven days, campaign level."""
    with db.tenant_tx(tenant_id) as conn:
        r = conn.execute(
            """select coalesce(sum(conversion_value), 0)::float8 as v, coalesce(sum(spend), 0)::float8 as s
               from ads.metrics_daily where level = 'campaign' and day between %s and %s""",
            [first, last]).fetchone()
    return r["v"], r["s"], r["v"] - r["s"]


def violations(db: Database, tenant_id: Any, cap: float) -> tuple[int, int]:
    """(executed changes, those breaking a rail), recomputed from ``ads.execution_logs``.

    Rails checked independently of the engine: at most 20% per action; at most 30% net per entity
    over any 24 h; no budget under 1; no budget or bid edit while the entity was learning.
    """
    with db.tenant_tx(tenant_id) as conn:
        rows = conn.execute(
            """select entity_id, executed_at, before_state, after_state from ads.execution_logs
               where status in ('applied', 'reconciled') order by executed_at""").fetchall()
    bad = 0
    first_in_window: dict[str, list[tuple[datetime, float]]] = {}
    for r in rows:
        before, after = r["before_state"] or {}, r["after_state"] or {}
        b, a = before.get("daily_budget"), after.get("daily_budget")
        if b is None or a is None or float(b) <= 0 or float(a) == float(b):
            continue
        b, a = float(b), float(a)
        hist = [(t, v) for t, v in first_in_window.get(r["entity_id"], [])
                if r["executed_at"] - t < timedelta(hours=24)]
        base = hist[0][1] if hist else b
        if (abs(a / b - 1) > 0.20 + 1e-9 or abs(a / base - 1) > 0.30 + 1e-9 or a < 1.0
                or before.get("learning_stage") == "learning"):
            bad += 1
        first_in_window[r["entity_id"]] = [*hist, (r["executed_at"], b)]
    return len(rows), bad


def main() -> None:
    """Run the four policies on K accounts and print profit, ROAS, regret, resets, violations."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=2)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--policies", default=",".join(POLICIES),
                    help="comma-separated subset to run (oracle is always run: regret needs it)")
    args = ap.parse_args()
    policies = [p for p in POLICIES if p in args.policies.split(",") or p == "oracle"]
    console = Console()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="growthops-regret-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_regret", embedded_cleanup="stop"))
    migrate(db)
    first = START + timedelta(days=HISTORY)
    last = first + timedelta(days=args.days - 1)
    results: dict[str, list[dict[str, float]]] = {p: [] for p in policies}
    t0 = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=args.accounts * len(policies) * args.days)
        for k in range(args.accounts):
            seed = args.seed * 1000 + k
            for policy in policies:
                tid, init, cap = setup(db, policy, k, seed)
                since = datetime.now(UTC)
                actions = 0
                goal: dict[str, float] = {}
                for d in range(args.days):
                    today = first + timedelta(days=d)          # the day about to be simulated
                    yesterday = today - timedelta(days=1)
                    clock = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
                    if policy in ENGINE:
                        run_daily_cycle(db, tenant_id=tid, as_of=yesterday, clock=clock)
                        if policy == "allocation":
                            with db.tenant_tx(tid) as conn:
                                allocate(conn, tenant_id=tid, as_of=yesterday, now=clock)
                        after_cycle(db, tenant_id=tid, as_of=yesterday, now=clock)
                    elif policy == "seed001":
                        with db.tenant_tx(tid) as conn:
                            actions += seed001_day(conn, SandboxAccount.load(conn, tenant_id=tid), init, cap, yesterday)
                    elif policy in ("oracle", "roas_proportional"):
                        with db.tenant_tx(tid) as conn:
                            acct = SandboxAccount.load(conn, tenant_id=tid)
                            if d % 7 == 0:  # the optimum moves with fatigue: re-solve weekly
                                goal = (oracle_budgets(acct, init, cap) if policy == "oracle"
                                        else roas_proportional_budgets(conn, acct, init, cap, yesterday))
                            # Walk toward the goal in steps under the 20% "significant edit"
                            # line, so the policy never restarts a learning phase.
                            actions += walk(acct, goal)
                    with db.tenant_tx(tid) as conn:
                        SandboxAccount.load(conn, tenant_id=tid).advance(conn, 1)
                    bar.advance(task)
                value, spend, prof = profit(db, tid, first, last)
                with db.tenant_tx(tid) as conn:
                    resets = SandboxAccount.load(conn, tenant_id=tid).learning_resets(since)
                executed, bad = (0, 0)
                if policy in ENGINE:
                    executed, bad = violations(db, tid, cap)
                    actions = executed
                results[policy].append({"value": value, "spend": spend, "profit": prof, "actions": actions,
                                        "resets": resets, "violations": bad})
    elapsed = time.perf_counter() - t0

    def total(p: str, key: str) -> float:
        return sum(r[key] for r in results[p])

    oracle_profit = total("oracle", "profit")
    table = Table(title=f"policy benchmark: {args.accounts} sandbox accounts x {args.days} days (seed {args.seed})")
    for col in ("policy", "profit", "ROAS", "normalised regret", "actions", "learning resets / 100 actions",
                "guard-rail violations"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    regrets: dict[str, float] = {}
    for p in policies:
        prof, spend, value = total(p, "profit"), total(p, "spend"), total(p, "value")
        regrets[p] = (oracle_profit - prof) / abs(oracle_profit) if oracle_profit else float("nan")
        acts = total(p, "actions")
        resets = total(p, "resets")
        table.add_row(p, f"{prof:,.0f}", f"{value / spend:.2f}" if spend else "–", f"{regrets[p]:.3f}",
                      f"{acts:.0f}", f"{100 * resets / acts:.1f}" if acts else "–",
                      f"{total(p, 'violations'):.0f}" if p in ENGINE else "n/a")
    console.print(table)
    console.print("per account profit: " + "; ".join(
        f"{p} " + ", ".join(f"{r['profit']:,.0f}" for r in results[p]) for p in policies))
    for a, b, goal in (("growthops", "seed001", "target <= 0.5"), ("allocation", "none", "target <= 0.5"),
                       ("allocation", "roas_proportional", "target < 1")):
        if a in regrets and b in regrets:
            r = regrets[a] / regrets[b] if regrets[b] else float("nan")
            console.print(f"{a} regret / {b} regret = {r:.2f}  ({goal})")
    console.print(f"elapsed {elapsed:.0f} s; median profit per account: "
                  + ", ".join(f"{p} {statistics.median(r['profit'] for r in results[p]):,.0f}" for p in policies))
    db.close()


if __name__ == "__main__":
    main()
