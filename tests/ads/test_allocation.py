"""Budget allocation: the curves' posterior, the solver, and the stored allocation on a sandbox
account turned into suggestions that execute within the guard rails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from growthops.ads.action.decisions import decide
from growthops.ads.action.execution import execute_suggestion
from growthops.ads.allocation import curves as cv
from growthops.ads.allocation.allocate import allocate, latest_allocation, load_allocation
from growthops.ads.allocation.solve import solve
from growthops.connectors.sandbox import SandboxAccount, create_sandbox_account
from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from tests.conftest import new_tenant

START = date(2024, 1, 1)
HISTORY = 40
AS_OF = START + timedelta(days=HISTORY - 1)
NOW = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)


# ---- pure parts ---------------------------------------------------------------------------

def test_solver_equalises_marginal_returns_under_the_cap():
    w, a, b = np.array([1.0, 1.0, 1.0]), np.array([300.0, 300.0, 150.0]), np.array([0.6, 0.6, 0.6])
    xbar = np.array([100.0, 100.0, 100.0])
    lo, hi = np.full(3, 1.0), np.full(3, 1000.0)
    s = solve(w, a, b, xbar, lo, hi, cap=300.0, target=1.0, floor=1.0)
    assert s.bound_by == "cap" and s.x.sum() == pytest.approx(300.0, rel=1e-4)
    marginal = w * a * b / xbar * (s.x / xbar) ** (b - 1)
    assert marginal == pytest.approx(np.full(3, s.lam), rel=1e-3)
    assert s.x[0] == pytest.approx(s.x[1]) and s.x[2] < s.x[0]  # the weaker curve gets less


def test_solver_stops_at_break_even_and_respects_the_target():
    w, a, b, xbar = np.array([1.0]), np.array([120.0]), np.array([0.5]), np.array([100.0])
    lo, hi = np.array([1.0]), np.array([1e6])
    free = solve(w, a, b, xbar, lo, hi, cap=None, target=0.0, floor=1.0)
    # d/dx 120 (x/100)^0.5 = 1  =>  x = 100 (0.6)^2 ... = 36
    assert free.bound_by == "floor" and free.x[0] == pytest.approx(36.0, rel=1e-3)
    strict = solve(w, a, b, xbar, lo, hi, cap=None, target=3.0, floor=1.0)
    roas = 120 * (strict.x[0] / 100) ** 0.5 / strict.x[0]
    assert strict.bound_by == "target" and roas == pytest.approx(3.0, rel=1e-3)


def test_curve_posterior_learns_the_elasticity_from_varied_spend():
    rng = np.random.default_rng(3)
    spend = 100 * np.exp(rng.normal(0, 0.6, 90))
    results = rng.poisson(20 * (spend / 100) ** 0.4).astype(float)
    c = cv.fit([spend], [results], [45 * results], value_mode=True)
    assert c.ok[0] and abs(c.b_mean[0] - 0.4) < 0.12 and c.b_sd[0] < cv.B_PRIOR_SD / 2
    assert c.value[0] == pytest.approx(45.0, rel=1e-6)
    flat = cv.fit([np.full(30, 100.0)], [results[:30]], [45 * results[:30]], value_mode=True)
    assert flat.b_mean[0] == pytest.approx(cv.B_PRIOR_MEAN) and flat.b_sd[0] == pytest.approx(cv.B_PRIOR_SD)
    a, b = c.draw(np.random.default_rng(0), 2000)
    assert a.shape == (2000, 1) and b.min() >= cv.B_MIN and b.max() <= cv.B_MAX
    assert np.mean(a) == pytest.approx(float(c.a_mean()[0]), rel=0.05)
    few = cv.fit([np.full(3, 50.0)], [np.ones(3)], [np.ones(3)], value_mode=True)
    assert not few.ok[0]


# ---- on a sandbox account ----------------------------------------------------------------

def _account(db: Database, *, cap_factor: float | None = 1.3, seed: int = 11):
    t = new_tenant(db, roi_target=Decimal("1.5"), time_zone="UTC")
    with db.tenant_tx(t.tenant_id) as conn:
        acct = create_sandbox_account(conn, tenant_id=t.tenant_id, seed=seed, start=START, days_history=HISTORY,
                                      campaigns=2, adsets_per_campaign=3, ads_per_adset=1)
        budgets = {e.entity_id: float(e.daily_budget) for e in acct.list_entities("adset")}
    if cap_factor is not None:
        with db.admin() as conn:
            conn.execute("update core.tenants set monthly_budget_max = %s where tenant_id = %s",
                         [round(cap_factor * sum(budgets.values()) * 31, 2), t.tenant_id])
    return t, budgets


def test_allocation_is_stored_with_steps_within_the_rails_and_becomes_suggestions(db: Database):
    t, budgets = _account(db)
    with db.tenant_tx(t.tenant_id) as conn:
        a = allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, now=NOW)
    assert a.created and a.level == "adset" and a.objective == "value_at_target_roas"
    assert {ln.entity_id for ln in a.lines} == set(budgets)
    assert a.daily_cap is not None and a.recommended_total <= a.daily_cap + 0.01
    for ln in a.lines:
        assert ln.daily_budget == pytest.approx(budgets[ln.entity_id])
        assert abs(ln.step_budget / ln.daily_budget - 1) <= 0.20 + 1e-9
        assert ln.daily_budget / 2 - 0.01 <= ln.recommended_budget <= 2 * ln.daily_budget + 0.01
        assert ln.curve["days"] >= cv.MIN_DAYS and 0 < ln.curve["b_mean"] < 1
    moving = [ln for ln in a.lines if ln.status in ("increase", "decrease")]
    assert moving and a.suggestions == len(moving)
    eff = a.expected_effect
    assert eff["horizon_days"] == 7 and eff["step"]["delta_value"]["p10"] <= eff["step"]["delta_value"]["p90"]
    with db.tenant_tx(t.tenant_id) as conn:
        rows = conn.execute("""select type, status, confidence, action_params, texts from ads.suggestions
                               where evidence->>'allocation_id' = %s""", [str(a.allocation_id)]).fetchall()
        again = allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, now=NOW)
        n_runs = conn.execute("select count(*) as n from ads.allocation_runs").fetchone()["n"]
    assert len(rows) == len(moving) and all(r["confidence"] >= 80 for r in rows)
    assert {r["type"] for r in rows} <= {"scale", "budget_decrease"}
    assert all(r["texts"]["fr"]["action"].startswith("Allocation") for r in rows)
    # a replayed day returns the stored allocation, adds nothing
    assert not again.created and again.allocation_id == a.allocation_id and n_runs == 1
    assert sorted((ln.entity_id, ln.step_budget, ln.status) for ln in again.lines) == sorted(
        (ln.entity_id, ln.step_budget, ln.status) for ln in a.lines)
    assert {ln.entity_id: ln.suggestion_id for ln in again.lines if ln.suggestion_id} == {
        ln.entity_id: ln.suggestion_id for ln in a.lines if ln.suggestion_id}


def test_an_approved_allocation_suggestion_executes_on_the_account(db: Database):
    t, _ = _account(db, seed=12)
    with db.tenant_tx(t.tenant_id) as conn:
        a = allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, now=NOW)
    ln = next(x for x in a.lines if x.suggestion_id)
    with db.tenant_tx(t.tenant_id) as conn:
        decide(conn, tenant_id=t.tenant_id, suggestion_id=ln.suggestion_id, decision="approved",
               decided_by="buyer@example.com", channel="cli", now=NOW)
    out = execute_suggestion(db, tenant_id=t.tenant_id, suggestion_id=ln.suggestion_id, now=NOW)
    assert out.status == "applied", out
    with db.tenant_tx(t.tenant_id) as conn:
        live = SandboxAccount.load(conn, tenant_id=t.tenant_id).get_entity(ln.entity_id)
    assert float(live.daily_budget) == pytest.approx(ln.step_budget, abs=0.01)


def test_learning_entities_keep_their_budget_and_pending_suggestions_are_not_doubled(db: Database):
    t, budgets = _account(db, seed=13)
    sid = sorted(budgets)[0]
    with db.tenant_tx(t.tenant_id) as conn:
        acct = SandboxAccount.load(conn, tenant_id=t.tenant_id)
        acct.set_daily_budget(sid, Decimal(f"{budgets[sid] * 1.5:.2f}"))  # a significant edit
        acct.advance(conn, 1)
    as_of = AS_OF + timedelta(days=1)
    with db.tenant_tx(t.tenant_id) as conn:
        a = allocate(conn, tenant_id=t.tenant_id, as_of=as_of, now=NOW + timedelta(days=1))
    line = next(x for x in a.lines if x.entity_id == sid)
    assert line.status == "learning" and line.step_budget == line.daily_budget and not line.suggestion_id
    # the next day, entities with a pending allocation suggestion are held, not suggested twice
    with db.tenant_tx(t.tenant_id) as conn:
        SandboxAccount.load(conn, tenant_id=t.tenant_id).advance(conn, 1)
        b = allocate(conn, tenant_id=t.tenant_id, as_of=as_of + timedelta(days=1), now=NOW + timedelta(days=1, hours=1))
        n = conn.execute("""select count(*) as n from ads.suggestions where status = 'pending'
                            group by entity_id order by 1 desc limit 1""").fetchone()["n"]
    held = {x.entity_id for x in b.lines if x.status == "hold"}
    assert {x.entity_id for x in a.lines if x.suggestion_id} <= held and n == 1
    with db.tenant_tx(t.tenant_id) as conn:
        latest = latest_allocation(conn)
        assert latest is not None and latest.allocation_id == b.allocation_id
        assert load_allocation(conn, allocation_id=a.allocation_id).as_of == as_of


def test_conversions_objective_needs_a_target_cpa(db: Database):
    t, _ = _account(db, cap_factor=None, seed=14)
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.metrics_daily set conversion_value = 0")
        with pytest.raises(InvalidInput, match="max_cpa"):
            allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, now=NOW)
        conn.execute("""insert into ads.platform_configs (tenant_id, platform, max_cpa)
                        values (%s, 'meta', 15)""", [t.tenant_id])
        a = allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, now=NOW, strategy="posterior_mean")
    assert a.objective == "conversions_at_target_cpa" and a.target_cpa == 15.0 and a.daily_cap is None
    assert "delta_results" in a.expected_effect["step"]
    with db.tenant_tx(t.tenant_id) as conn, pytest.raises(InvalidInput, match="strategy"):
        allocate(conn, tenant_id=t.tenant_id, as_of=AS_OF, strategy="greedy")


# ---- campaign roll-ups, CLI, API ---------------------------------------------------------

def test_campaign_performance_is_refreshed_by_the_cycle_with_its_efficiency_score(db: Database):
    from growthops.ads.allocation.performance import list_performance
    from growthops.ads.cycle import run_daily_cycle

    t, _ = _account(db, seed=15)
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=AS_OF, clock=NOW)
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=AS_OF, clock=NOW)  # a replay rewrites
    with db.tenant_tx(t.tenant_id) as conn:
        n = conn.execute("select count(*) as n from ads.campaign_performance").fetchone()["n"]
        rows = list_performance(conn, days=28)
        sums = {r["entity_id"]: r for r in conn.execute(
            """select entity_id, sum(spend)::float8 s, sum(conversions)::float8 r, sum(conversion_value)::float8 v
               from ads.metrics_daily where level = 'campaign' and day > %s::date - 28 and day <= %s
               group by entity_id""", [AS_OF, AS_OF]).fetchall()}
    assert n == 2 * 3 and len(rows) == 2  # 2 campaigns x 7, 28 and 90 days
    S, R, V = (sum(x[k] for x in sums.values()) for k in ("s", "r", "v"))
    s0 = 5 * S / R
    for r in rows:
        m = sums[r["campaign_id"]]
        assert r["spend"] == pytest.approx(m["s"]) and r["conversion_value"] == pytest.approx(m["v"])
        assert r["roas"] == pytest.approx(m["v"] / m["s"]) and r["efficiency_basis"] == "roas"
        assert r["efficiency_score"] == pytest.approx((m["v"] + s0 * V / S) / (m["s"] + s0) / 1.5)
    assert rows[0]["efficiency_score"] >= rows[1]["efficiency_score"]
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("insert into ads.platform_configs (tenant_id, platform, max_cpa) values (%s, 'meta', 20)",
                     [t.tenant_id])
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=AS_OF, clock=NOW)
    with db.tenant_tx(t.tenant_id) as conn:
        cpa_rows = list_performance(conn, days=28)
        with pytest.raises(InvalidInput, match="days"):
            list_performance(conn, days=30)
    for r in cpa_rows:
        m = sums[r["campaign_id"]]
        assert r["efficiency_basis"] == "cpa"
        assert r["efficiency_score"] == pytest.approx((m["r"] + 5) / (m["s"] + s0) * 20)


def test_cli_allocates_and_shows_the_roll_ups(db: Database):
    from typer.testing import CliRunner

    from growthops.ads.cycle import run_daily_cycle
    from growthops.cli import app

    t, _ = _account(db, seed=16)
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=AS_OF, clock=NOW)
    runner = CliRunner()
    out = runner.invoke(app, ["ads", "allocate", "--tenant", t.client_key, "--as-of", AS_OF.isoformat(),
                              "--lang", "fr"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "Allocation" in out.output and "Attendu sur 7 jours" in out.output
    again = runner.invoke(app, ["ads", "allocate", "--tenant", t.client_key, "--as-of", AS_OF.isoformat()],
                          catch_exceptions=False)
    assert "already exists" in again.output
    bad = runner.invoke(app, ["ads", "allocate", "--tenant", t.client_key, "--as-of", "yesterday"])
    assert bad.exit_code != 0 and "--as-of" in str(bad.exception or bad.output)
    perf = runner.invoke(app, ["ads", "performance", "--tenant", t.client_key, "--days", "7"],
                         catch_exceptions=False)
    assert perf.exit_code == 0 and "Campaign performance" in perf.output and "ROAS" in perf.output


def test_api_runs_lists_and_guards_allocations(db: Database):
    from fastapi.testclient import TestClient

    from growthops.app import create_app
    from tests.api.conftest import make_key

    t, _ = _account(db, seed=17)
    other, _ = _account(db, seed=18)
    client = TestClient(create_app(db.settings.model_copy(update={"rate_limits_enabled": False}), db=db))
    key = make_key(db, t, acts_for_people=False)
    url = f"/api/v1/tenants/{t.client_key}/allocations"
    r = client.post(url, json={"as_of": AS_OF.isoformat(), "strategy": "posterior_mean"}, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["strategy"] == "posterior_mean" and len(body["lines"]) == 6 and body["expected_effect"]["horizon_days"] == 7
    again = client.post(url, json={"as_of": AS_OF.isoformat()}, headers={"X-API-Key": key})
    assert again.status_code == 200 and again.json()["allocation_id"] == body["allocation_id"]
    listed = client.get(url, headers={"X-API-Key": key}).json()["items"]
    assert [a["allocation_id"] for a in listed] == [body["allocation_id"]]
    assert client.post(url, json={"strategy": "greedy"}, headers={"X-API-Key": key}).status_code == 422
    assert client.post(url, json={}).status_code == 401
    other_key = make_key(db, other, acts_for_people=False)
    assert client.get(url, headers={"X-API-Key": other_key}).status_code == 404
    perf = client.get(f"/api/v1/tenants/{t.client_key}/campaign-performance", headers={"X-API-Key": key})
    assert perf.status_code == 200 and perf.json()["items"] == []
