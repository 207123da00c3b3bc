"""Guard rails: the pure check (every rail, allowed / split / refused) and its SQL loaders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from growthops.ads.action import guardrails as gr
from growthops.connectors.base import EntityState
from tests.conftest import new_tenant

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def ent(
    budget: str | None = "100.00",
    *,
    status: str = "active",
    learning: str = "success",
    bid: str | None = None,
    parent: str | None = "c1",
    eid: str = "as1",
) -> EntityState:
    return EntityState(
        eid,
        "adset",
        "Prospecting",
        status,
        daily_budget=D(budget) if budget else None,
        bid_amount=D(bid) if bid else None,
        parent_id=parent,
        learning_stage=learning,
    )


def budget(cur: str, to: str, eid: str = "as1") -> gr.ProposedChange:
    return gr.ProposedChange("meta", "adset", eid, "budget_change", current=D(cur), target=D(to))


def state(e: EntityState | None = None, **kw) -> gr.GuardState:
    return gr.GuardState(entity=e or ent(), now=NOW, **kw)


RULES = gr.Rules(platform="meta")


def test_allowed_inside_every_rail_and_strict_to_the_cent():
    # 33.33 * 1.2 = 39.996: suggestions round toward the current budget (39.99), inside 20%.
    d = gr.check(budget("33.33", "39.99"), RULES, state(ent("33.33")))
    assert d.outcome == "allowed" and d.rails == () and d.step.target == D("39.99")
    assert d.mode == "live"
    # 40.00 would pass 20% by a fraction of a cent: the rail is strict and cuts it to 39.99.
    d = gr.check(budget("33.33", "40.00"), RULES, state(ent("33.33")))
    assert d.outcome == "split" and d.step.target == D("39.99") and "max_change_pct" in d.rails


def test_max_change_per_action_splits_into_daily_steps():
    d = gr.check(budget("100.00", "150.00"), RULES, state())
    assert d.outcome == "split"
    # +50% breaks both the per-action 20% and the 24 h 30%: both are named
    assert d.rails == ("max_change_pct", "max_change_pct_24h")
    assert d.step.target == D("120.00")
    # later steps: at most min(20%, 30%) each, one per 24 h, ending on the target
    assert [s.to for s in d.remaining_steps] == [D("144.00"), D("150.00")]
    assert [s.not_before for s in d.remaining_steps] == [
        NOW + timedelta(hours=24),
        NOW + timedelta(hours=48),
    ]
    note = d.note()
    assert note["step"] == {"action": "budget_change", "from": 100.0, "to": 120.0}
    assert "max_change_pct" in gr.describe(note) and "144.0" in gr.describe(note)
    json.dumps(note)  # JSON-ready


def test_decrease_per_action_split_rounds_toward_the_live_value():
    d = gr.check(budget("100.00", "50.00"), RULES, state())
    assert d.outcome == "split" and d.step.target == D("80.00")
    assert d.remaining_steps[0].to == D("64.00") and d.remaining_steps[-1].to == D("50.00")


def test_cumulative_24h_rail_splits_then_refuses_with_retry_time():
    started = NOW - timedelta(hours=3)
    hist = gr.History(budget_baseline=D("100.00"), budget_started_at=started)
    # 120 -> 144 is +20% (per-action ok) but +44% against 100 three hours ago: cut at 130
    d = gr.check(budget("120.00", "144.00"), RULES, state(ent("120.00"), history=hist))
    assert d.outcome == "split" and d.rails == ("max_change_pct_24h",)
    assert d.step.target == D("130.00")
    # at 130 the window is used up: refused until the first change leaves the window
    d = gr.check(budget("130.00", "150.00"), RULES, state(ent("130.00"), history=hist))
    assert d.outcome == "refused" and d.rails == ("max_change_pct_24h",)
    assert d.retry_at == started + timedelta(hours=24)
    assert d.step is None


def test_monthly_budget_max_cuts_then_refuses_increases_never_decreases():
    spend = gr.SpendState(month_to_date=D("900"), daily_spend=D("100"), days_remaining=22)
    # 900 + 22 x (100 + 10) = 3320: 10 a day of headroom
    rules = gr.Rules(platform="meta", monthly_budget_max=D("3320"))
    d = gr.check(budget("100.00", "120.00"), rules, state(spend=spend))
    assert d.outcome == "split" and d.rails == ("monthly_budget_max",)
    assert d.step.target == D("110.00") and d.remaining_steps == ()
    assert any("dropped" in r for r in d.reasons)
    # no headroom at all: refused, no retry time (a hard cap)
    rules = gr.Rules(platform="meta", monthly_budget_max=D("3100"))
    d = gr.check(budget("100.00", "120.00"), rules, state(spend=spend))
    assert d.outcome == "refused" and d.rails == ("monthly_budget_max",) and d.retry_at is None
    # a decrease is fine even when the month is projected over the cap
    rules = gr.Rules(platform="meta", monthly_budget_max=D("1000"))
    assert gr.check(budget("100.00", "80.00"), rules, state(spend=spend)).outcome == "allowed"


def test_per_action_and_monthly_caps_together_schedule_up_to_the_cap_only():
    spend = gr.SpendState(month_to_date=D("0"), daily_spend=D("100"), days_remaining=10)
    rules = gr.Rules(platform="meta", monthly_budget_max=D("1400"))  # +40 a day allowed
    d = gr.check(budget("100.00", "200.00"), rules, state(spend=spend))
    assert d.outcome == "split"
    assert set(d.rails) == {"max_change_pct", "max_change_pct_24h", "monthly_budget_max"}
    assert d.step.target == D("120.00")
    assert [s.to for s in d.remaining_steps] == [D("140.00")]


def test_min_daily_budget_floor():
    rules = gr.Rules(platform="meta", min_daily_budget=D("90"))
    d = gr.check(budget("100.00", "80.00"), rules, state())
    assert d.outcome == "split" and d.rails == ("min_daily_budget",)
    assert d.step.target == D("90.00") and d.remaining_steps == ()
    d = gr.check(budget("90.00", "72.00"), rules, state(ent("90.00")))
    assert d.outcome == "refused" and d.rails == ("min_daily_budget",)


def test_protected_entity_and_children_refuse_every_action_pause_included():
    rules = gr.Rules(platform="meta", protected_entity_ids=frozenset({"as1"}))
    assert gr.check(budget("100", "110"), rules, state()).rails == ("protected_entity",)
    pause = gr.ProposedChange("meta", "adset", "as1", "pause", target_status="paused")
    d = gr.check(pause, rules, state())
    assert d.outcome == "refused" and d.rails == ("protected_entity",)
    # the parent campaign is protected: its ad set is too
    rules = gr.Rules(platform="meta", protected_entity_ids=frozenset({"c1"}))
    assert gr.check(budget("100", "110"), rules, state()).outcome == "refused"


def test_learning_phase_refuses_budget_edits_unless_forced_or_configured():
    learning = ent(learning="learning")
    d = gr.check(budget("100", "110"), RULES, state(learning))
    assert d.outcome == "refused" and d.rails == ("learning_phase",)
    d = gr.check(budget("100", "110"), RULES, state(learning, force=True, forced_by="alice"))
    assert d.outcome == "allowed" and d.overridden == ("learning_phase",) and d.forced_by == "alice"
    # force without a person is no force
    assert gr.check(budget("100", "110"), RULES, state(learning, force=True)).outcome == "refused"
    rules = gr.Rules(platform="meta", allow_learning_edits=True)
    d = gr.check(budget("100", "110"), rules, state(learning))
    assert d.outcome == "allowed" and d.overridden == ()
    # forcing lifts only the learning rail, never the size rails
    d = gr.check(budget("100", "150"), RULES, state(learning, force=True, forced_by="alice"))
    assert d.outcome == "split" and d.rails[0] == "max_change_pct"


def test_learning_limited_and_pause_during_learning_are_allowed():
    assert (
        gr.check(budget("100", "110"), RULES, state(ent(learning="learning_limited"))).outcome
        == "allowed"
    )
    pause = gr.ProposedChange("meta", "adset", "as1", "pause", target_status="paused")
    assert gr.check(pause, RULES, state(ent(learning="learning"))).outcome == "allowed"


def test_bid_rails_and_missing_fields():
    bid = gr.ProposedChange(
        "meta", "adset", "as1", "bid_change", current=D("5.00"), target=D("4.50")
    )
    assert gr.check(bid, RULES, state(ent(bid="5.00"))).outcome == "allowed"
    bid = gr.ProposedChange("meta", "adset", "as1", "bid_change", current=None, target=None)
    assert gr.check(bid, RULES, state()).rails == ("no_bid_cap",)
    cbo = gr.ProposedChange("meta", "adset", "as1", "budget_change", current=None, target=D("120"))
    assert gr.check(cbo, RULES, state(ent(None))).rails == ("no_budget",)


def test_no_change_unavailable_and_unsettled():
    pause = gr.ProposedChange("meta", "adset", "as1", "pause", target_status="paused")
    assert gr.check(pause, RULES, state(ent(status="paused"))).rails == ("no_change",)
    assert gr.check(pause, RULES, state(ent(status="archived"))).rails == ("entity_unavailable",)
    assert gr.check(budget("100", "100.004"), RULES, state()).rails == ("no_change",)
    d = gr.check(budget("100", "110"), RULES, state(history=gr.History(unsettled=True)))
    assert d.outcome == "refused" and d.rails == ("unsettled_execution",)


def test_dry_run_and_validate_only_are_modes_not_refusals():
    d = gr.check(
        budget("100", "110"), gr.Rules(platform="meta", dry_run=True, validate_only=True), state()
    )
    assert d.outcome == "allowed" and d.mode == "dry_run"
    d = gr.check(budget("100", "110"), gr.Rules(platform="meta", validate_only=True), state())
    assert d.mode == "validate_only" and "validated only" in gr.describe(d.note())


def test_describe_in_french_and_empty():
    d = gr.check(budget("100.00", "150.00"), RULES, state())
    assert gr.describe(d.note(), "fr").startswith("découpé par max_change_pct")
    assert gr.describe(None) == ""


# ----------------------------------------------------------------------------- loaders
def test_load_rules_defaults_and_overrides(db):
    t = new_tenant(db, monthly_budget_max=D("5000"))
    with db.tenant_tx(t.tenant_id) as conn:
        rules, tenant = gr.load_rules(conn, tenant_id=t.tenant_id)
        assert rules == {} and tenant["monthly_budget_max"] == D("5000")
        conn.execute(
            """insert into ads.platform_configs
                 (tenant_id, platform, max_change_pct, protected_entity_ids, dry_run)
               values (%s, 'meta', 15, '{as9}', true)""",
            [t.tenant_id],
        )
        rules, _ = gr.load_rules(conn, tenant_id=t.tenant_id)
    r = rules["meta"]
    assert r.max_change_pct == D("15") and r.max_change_pct_24h == D("30") and r.dry_run
    assert r.protected_entity_ids == frozenset({"as9"}) and r.monthly_budget_max == D("5000")
    assert not r.auto_apply and r.min_auto_apply_confidence == 90
    d = gr.default_rules("google", None)
    assert d.max_change_pct == D("20") and not d.auto_apply


def test_load_spend_counts_the_top_level_once_and_applied_changes(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        # March 1..9 at 100 a day on the campaign; the ad sets under it must not be added again.
        for i in range(1, 10):
            for level, eid, sp in (
                ("campaign", "c1", 100),
                ("adset", "as1", 60),
                ("adset", "as2", 40),
            ):
                conn.execute(
                    "insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, "
                    "spend) values (%s, 'meta', %s, %s, %s, %s)",
                    [t.tenant_id, level, eid, date(2026, 3, i), sp],
                )
        # February: 50 a day, outside the month, inside the 7-day mean only if recent (it is not)
        conn.execute(
            "insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, spend) "
            "values (%s, 'meta', 'campaign', 'c1', '2026-02-27', 50)",
            [t.tenant_id],
        )
        # a budget increase of +20 applied this morning (after the last reported day)
        conn.execute(
            """insert into ads.execution_logs (tenant_id, suggestion_id, idempotency_key,
                 action_type, platform, entity_type, entity_id, status, claimed_at, executed_at,
                 before_state, intended_state)
               values (%s, 1, 'k1', 'budget_change', 'meta', 'adset', 'as1', 'applied', %s, %s,
                       '{"daily_budget": 100}', '{"daily_budget": 120}')""",
            [t.tenant_id, NOW - timedelta(hours=1), NOW - timedelta(hours=1)],
        )
        sp = gr.load_spend(conn, tenant_id=t.tenant_id, now=NOW, time_zone="Europe/Paris")
    assert sp.month_to_date == D("900")
    assert sp.daily_spend == D("120")  # 7-day mean 100 + the 20 applied since
    assert sp.days_remaining == 22  # March 10..31


def test_load_history_baseline_is_the_first_change_in_the_window(db):
    t = new_tenant(db)
    rows = [  # (key, entity, status, executed hours ago, before budget)
        ("a", "as1", "applied", 30, 80),  # outside the 24 h window
        ("b", "as1", "applied", 5, 100),
        ("c", "as1", "reconciled", 2, 120),
        ("d", "as2", "claimed", None, 50),
        ("e", "as3", "failed", 1, 70),  # failed: not a change
    ]
    with db.tenant_tx(t.tenant_id) as conn:
        for key, eid, status, hours, b in rows:
            at = NOW - timedelta(hours=hours) if hours is not None else None
            conn.execute(
                """insert into ads.execution_logs (tenant_id, suggestion_id, idempotency_key,
                     action_type, platform, entity_type, entity_id, status, claimed_at,
                     executed_at, before_state)
                   values (%s, %s, %s, 'budget_change', 'meta', 'adset', %s, %s, %s, %s, %s)""",
                [
                    t.tenant_id,
                    ord(key),
                    key,
                    eid,
                    status,
                    at or NOW,
                    at,
                    json.dumps({"daily_budget": b}),
                ],
            )
        h = gr.load_history(
            conn,
            tenant_id=t.tenant_id,
            now=NOW,
            keys=[("meta", "as1"), ("meta", "as2"), ("meta", "as3"), ("meta", "zz")],
        )
    assert h[("meta", "as1")].budget_baseline == D("100")
    assert h[("meta", "as1")].budget_started_at == NOW - timedelta(hours=5)
    assert h[("meta", "as2")].unsettled
    assert ("meta", "as3") not in h and ("meta", "zz") not in h
