"""The sandbox ad account: persistence, determinism and the behaviours that matter to decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from growthops.connectors.base import AdPlatform, PlatformError
from growthops.connectors.sandbox import SandboxAccount, SandboxParams, create_sandbox_account
from growthops.connectors.sandbox.model import LEARNING, SUCCESS, simulate_day
from growthops.connectors.sandbox.store import sim_from_rows
from growthops.core.errors import Conflict
from tests.conftest import new_tenant

START = date(2024, 1, 1)  # a Monday


def make(db, *, seed: int = 11, days: int = 60, **kw) -> tuple[object, SandboxAccount]:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = create_sandbox_account(
            conn, tenant_id=tenant.tenant_id, seed=seed, start=START, days_history=days, **kw
        )
    return tenant, acc


def metrics(db, tenant, level: str = "adset", since: date | None = None) -> list[dict]:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return conn.execute(
            """select entity_id, day, spend, impressions, reach, clicks, conversions, conversion_value,
                      daily_budget, campaign_id, adset_id
               from ads.metrics_daily where tenant_id = %s and level = %s and day >= %s
               order by entity_id, day""",
            [tenant.tenant_id, level, since or date(1970, 1, 1)],
        ).fetchall()


def test_creates_entities_history_and_account_row(db) -> None:
    tenant, acc = make(db)
    assert acc.last_day == START + timedelta(days=59)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        assert isinstance(acc, AdPlatform)
        levels = [e.level for e in acc.list_entities()]
        assert (levels.count("campaign"), levels.count("adset"), levels.count("ad")) == (2, 6, 12)
        row = conn.execute("select connector, account_id, platform from ads.ad_accounts").fetchone()
        assert row == {"connector": "sandbox", "account_id": "sandbox-11", "platform": "meta"}
        sums = conn.execute(
            """select level, count(*) as n, sum(spend) as spend, sum(conversions) as conv,
                      sum(conversion_value) as value, sum(clicks) as clicks
               from ads.metrics_daily group by level order by level"""
        ).fetchall()
        # Ad sets and campaigns are the sums of their ads, to the cent.
        assert len({(r["spend"], r["conv"], r["value"], r["clicks"]) for r in sums}) == 1
        assert {r["level"]: r["n"] for r in sums} == {"ad": 720, "adset": 360, "campaign": 120}
        s = acc.list_entities("adset")[0]
        assert s.daily_budget is not None and s.raw["learning_stage_info"]["status"] in (
            "SUCCESS",
            "FAIL",
        )
        with pytest.raises(Conflict):
            create_sandbox_account(
                conn, tenant_id=tenant.tenant_id, seed=1, start=START, days_history=5
            )


def test_deterministic_for_a_seed_and_advance_equals_longer_history(db) -> None:
    a, _ = make(db, seed=5, days=30)
    b, _ = make(db, seed=5, days=32)
    c, _ = make(db, seed=6, days=30)
    with db.tenant_tx(a.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=a.tenant_id)
        assert acc.advance(conn, 1) == START + timedelta(days=30)
        assert acc.advance(conn, 1) == START + timedelta(days=31)

    def strip(rows: list[dict]) -> list[tuple]:
        return [tuple(r.values()) for r in rows]

    for level in ("ad", "adset", "campaign"):
        # Same seed: two one-day advances reproduce a 32-day history exactly (restated conversions too).
        assert strip(metrics(db, a, level)) == strip(metrics(db, b, level))
    assert strip(metrics(db, a))[:30] != strip(metrics(db, c))[:30]


def test_spend_paces_to_the_budget_with_daily_overdelivery_up_to_25pct(db) -> None:
    tenant, acc = make(db, seed=3, days=84)
    rows = metrics(db, tenant)
    ratio = np.array([float(r["spend"] / r["daily_budget"]) for r in rows])
    assert ratio.max() <= 1.25 + 1e-9 and (ratio > 1.0).mean() > 0.15  # some days over, never >25 %
    assert 0.95 <= ratio.mean() <= 1.01  # averages to the budget
    # Meta's calendar week (Sunday-Saturday) never spends more than 7 daily budgets.
    weeks: dict[tuple[str, date], list[tuple[float, float]]] = {}
    for r in rows:
        sunday = r["day"] - timedelta(days=(r["day"].weekday() + 1) % 7)
        weeks.setdefault((r["entity_id"], sunday), []).append(
            (float(r["spend"]), float(r["daily_budget"]))
        )
    full = [w for w in weeks.values() if len(w) == 7]
    assert len(full) >= 6 * 10
    assert all(sum(s for s, _ in w) <= sum(b for _, b in w) + 0.01 for w in full)


def test_diminishing_returns_in_the_truth_and_in_the_data(db) -> None:
    tenant, acc = make(db, seed=8, days=21)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        sid = acc.list_entities("adset")[0].entity_id
        x = np.array([50.0, 100.0, 200.0, 400.0, 800.0])
        conv = acc.true_response(sid, x)["conversions"]
        assert np.all(np.diff(conv) > 0)  # more spend, more conversions
        assert np.all(np.diff(conv / x) < 0)  # ... at a falling rate per unit spent
        one = acc.true_response(sid, 100.0)
        assert isinstance(one["conversions"], float) and one["value"] > one["conversions"]
        p = acc.true_params()[sid]
        assert p["beta"] > conv[-1] and 0 < p["fatigue"] <= 1
    # In the data: an account whose ad sets get 3x the budget converts more, but less than 3x.
    base, _ = make(db, seed=9, days=28)
    boosted, _ = make(db, seed=9, days=28)
    for t, factor in ((base, 1), (boosted, 3)):
        with db.tenant_tx(t.tenant_id) as conn:
            acc = SandboxAccount.load(conn, tenant_id=t.tenant_id)
            for e in acc.list_entities("adset"):
                acc.set_daily_budget(e.entity_id, e.daily_budget * factor)
            acc.advance(conn, 28)
    since = START + timedelta(days=42)  # after the boosted account's learning phase
    sb = sum(r["spend"] for r in metrics(db, base, since=since))
    sx = sum(r["spend"] for r in metrics(db, boosted, since=since))
    cb = sum(r["conversions"] for r in metrics(db, base, since=since))
    cx = sum(r["conversions"] for r in metrics(db, boosted, since=since))
    assert 2.7 < sx / sb < 3.3
    assert 1.0 < cx / cb < 0.8 * float(sx / sb)


def test_significant_edit_restarts_learning_and_small_edit_does_not(db) -> None:
    tenant, _ = make(db, seed=4, days=30)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        s1, s2 = [e for e in acc.list_entities("adset")][:2]
        small = acc.set_daily_budget(
            s1.entity_id, s1.daily_budget * Decimal("1.2")
        )  # exactly +20 %
        big = acc.set_daily_budget(s2.entity_id, s2.daily_budget * Decimal("1.5"))
        assert small.after.learning_stage == s1.learning_stage
        assert not small.response["learning_restarted"]
        assert big.after.learning_stage == "learning" and big.response["learning_restarted"]
        assert big.after.raw["learning_stage_info"]["status"] == "LEARNING"
        assert (
            big.after.raw["learning_stage_info"]["learning_since"]
            == (START + timedelta(days=30)).isoformat()
        )
        assert acc.learning_resets() == 1
        acc.advance(conn, 7)
        after = acc.get_entity(s2.entity_id)
    assert after.learning_stage in ("success", "learning_limited")  # decided within 7 days
    assert after.raw["learning_stage_info"]["conversions"] > 0


def test_learning_phase_costs_conversions() -> None:
    """Model level: the same ad sets on the same draws convert ~20 % less while learning."""
    p = SandboxParams()
    rows = _entity_rows(p)
    learning, settled = sim_from_rows(rows), sim_from_rows(rows)
    learning.s_stage[:] = LEARNING
    settled.s_stage[:] = SUCCESS
    stuck = replace(p, learning_events=10**9, learning_days=10**6)
    conv = {"learning": 0, "settled": 0}
    for i in range(56):
        d = START + timedelta(days=i)
        conv["learning"] += simulate_day(learning, stuck, 7, d).a_conv_lags.sum()
        conv["settled"] += simulate_day(settled, p, 7, d).a_conv_lags.sum()
    assert 0.70 < conv["learning"] / conv["settled"] < 0.90


def _entity_rows(p: SandboxParams) -> list[dict]:
    rows = [{"entity_id": "c", "level": "campaign", "status": "active", "ordinal": 0, "params": {}}]
    for s in range(4):
        rows.append(
            {
                "entity_id": f"s{s}",
                "level": "adset",
                "status": "active",
                "campaign_id": "c",
                "ordinal": 1 + s,
                "daily_budget": Decimal(200),
                "bid_amount": None,
                "params": {
                    "k": 300.0,
                    "alpha": 1.2,
                    "beta": 30.0 + s,
                    "aov": 45.0,
                    "cpm": 9.0,
                    "audience": 150000.0,
                },
                "learning_stage": "success",
                "learning_since": START,
                "learning_events": 0,
                "week_spend_cents": 0,
                "week_budget_cents": 0,
            }
        )
        rows.append(
            {
                "entity_id": f"a{s}",
                "level": "ad",
                "status": "active",
                "adset_id": f"s{s}",
                "campaign_id": "c",
                "ordinal": 10 + s,
                "params": {"ctr": 0.012, "quality": 1.0},
                "exposure_stock": 0,
            }
        )
    return rows


def test_creative_fatigue_lowers_ctr_as_exposure_builds(db) -> None:
    tenant, _ = make(db, seed=2, days=70)
    rows = metrics(db, tenant, level="ad")
    early = [r for r in rows if START + timedelta(days=7) <= r["day"] < START + timedelta(days=21)]
    late = [r for r in rows if r["day"] >= START + timedelta(days=56)]
    ctr_early = sum(r["clicks"] for r in early) / sum(r["impressions"] for r in early)
    ctr_late = sum(r["clicks"] for r in late) / sum(r["impressions"] for r in late)
    assert ctr_late < 0.92 * ctr_early
    # Frequency (impressions / reach) is reported and above 1.
    assert all(r["impressions"] >= r["reach"] > 0 for r in rows)


def test_attribution_delay_restates_recent_days(db) -> None:
    tenant, acc = make(db, seed=12, days=40)
    last = START + timedelta(days=39)
    before = {
        r["entity_id"]: r["conversions"] for r in metrics(db, tenant, level="campaign", since=last)
    }
    with db.tenant_tx(tenant.tenant_id) as conn:
        pending = conn.execute(
            "select count(*) as n, min(report_day) as first from ads.sandbox_pending"
        ).fetchone()
        assert pending["n"] > 0 and pending["first"] > last
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        acc.advance(conn, 7)
        left = conn.execute(
            "select count(*) as n from ads.sandbox_pending where report_day <= %s", [acc.last_day]
        ).fetchone()["n"]
    after = {
        r["entity_id"]: r["conversions"]
        for r in metrics(db, tenant, level="campaign", since=last)
        if r["day"] == last
    }
    assert left == 0
    assert sum(after.values()) > sum(before.values())  # late conversions landed on their day
    assert all(after[k] >= v for k, v in before.items())


def test_pause_stops_delivery_and_long_pause_restarts_learning(db) -> None:
    tenant, _ = make(db, seed=21, days=30)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        s = acc.list_entities("adset")[0]
        camp = acc.list_entities("campaign")[1]
        r = acc.set_status(s.entity_id, "paused")
        assert r.before.status == "active" and r.after.status == "paused"
        acc.set_status(camp.entity_id, "paused")
        child = next(e for e in acc.list_entities("adset") if e.parent_id == camp.entity_id)
        assert child.raw["effective_status"] == "CAMPAIGN_PAUSED"
        acc.advance(conn, 8)
        back = acc.set_status(s.entity_id, "active")
        assert back.after.learning_stage == "learning" and back.response["learning_restarted"]
    new_days = metrics(db, tenant, level="adset", since=START + timedelta(days=30))
    delivering = {r["entity_id"] for r in new_days}
    assert s.entity_id not in delivering and child.entity_id not in delivering
    assert len(delivering) == 2  # the other campaign's two ad sets


def test_write_errors_and_validate_only(db) -> None:
    tenant, _ = make(db, seed=30, days=10)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        s = acc.list_entities("adset")[0]
        c = acc.list_entities("campaign")[0]
        checks = [
            (lambda: acc.set_daily_budget(c.entity_id, Decimal(100)), "unsupported"),
            (lambda: acc.set_daily_budget(s.entity_id, Decimal("0.50")), "invalid_parameter"),
            (lambda: acc.set_daily_budget("nope", Decimal(100)), "not_found"),
            (lambda: acc.set_bid_amount(s.entity_id, Decimal(0)), "invalid_parameter"),
            (lambda: acc.set_status(s.entity_id, "sleeping"), "invalid_parameter"),
        ]
        for call, code in checks:
            with pytest.raises(PlatformError) as err:
                call()
            assert err.value.code == code and not err.value.retryable
        v = acc.set_daily_budget(s.entity_id, s.daily_budget * 2, validate_only=True)
        assert v.validated_only and v.after.daily_budget == s.daily_budget * 2
        assert acc.get_entity(s.entity_id).daily_budget == s.daily_budget
        assert conn.execute("select count(*) as n from ads.sandbox_changes").fetchone()["n"] == 0
        bid = acc.set_bid_amount(s.entity_id, Decimal("25"))
        assert bid.after.bid_amount == Decimal("25.00") and bid.response["learning_restarted"]


def test_daily_metrics_reads_what_was_written(db) -> None:
    tenant, _ = make(db, seed=40, days=14)
    with db.tenant_tx(tenant.tenant_id) as conn:
        acc = SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
        rows = acc.daily_metrics(
            START + timedelta(days=10), START + timedelta(days=13), level="adset"
        )
    assert len(rows) == 4 * 6 and {r.day for r in rows} == {
        START + timedelta(days=i) for i in range(10, 14)
    }
    assert all(r.daily_budget is not None and r.spend > 0 for r in rows)


def test_the_daily_cycle_runs_on_a_sandbox_account(db) -> None:
    from growthops.ads.cycle import run_cycle_in_tx

    tenant, acc = make(db, seed=50, days=60, campaigns=2, adsets_per_campaign=4)
    with db.tenant_tx(tenant.tenant_id) as conn:
        result = run_cycle_in_tx(conn, tenant_id=tenant.tenant_id, as_of=acc.last_day)
        kinds = conn.execute("select type, entity_type from ads.suggestions").fetchall()
    assert result.summary.get("baselines", 0) > 0
    # Budget suggestions land on ad sets, the level holding the sandbox's budgets.
    assert all(
        k["entity_type"] == "adset" for k in kinds if k["type"] in ("scale", "budget_decrease")
    )
