"""Decision patterns: learnt from a tenant's approvals and refusals, used to hold back and rank."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from growthops.ads.learning.calibration import fit
from growthops.ads.learning.patterns import (
    adjust_candidates,
    apply_patterns,
    condition_text,
    learn,
    matches,
)
from growthops.ads.suggestions.generate import Candidate
from tests.conftest import new_tenant

DAY = date(2024, 5, 1)
_ids = iter(range(1, 10_000))


def _decide(conn, tenant_id, type_, decision, n, *, change=None, confidence=85, channel="cli", notes=None):
    """Insert ``n`` suggestions of ``type_`` (ad sets, Meta) and one decision on each."""
    params = {"daily_budget": {"from": 100, "to": 100 * (1 + change), "change": change}} if change is not None \
        else {"status": "paused"}
    rows = [{"entity_id": f"as{next(_ids)}"} for _ in range(n)]
    sids = conn.execute(
        """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason, expected_impact, texts,
              predicted_metrics, action_params, confidence, platform, entity_type, entity_id, status, expires_at)
           select %(t)s, %(d)s, %(type)s, 'medium', 'a', 'r', 'e', '{}', '{}', %(params)s::jsonb, %(conf)s, 'meta',
                  'adset', x.entity_id, %(status)s, %(exp)s
           from jsonb_to_recordset(%(rows)s::jsonb) as x(entity_id text)
           returning suggestion_id""",
        {"t": str(tenant_id), "d": DAY, "type": type_, "params": json.dumps(params), "conf": confidence,
         "status": decision, "exp": datetime(2024, 5, 3, tzinfo=UTC), "rows": json.dumps(rows)},
    ).fetchall()
    conn.execute(
        """insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by, notes, channel)
           select %s, unnest(%s::bigint[]), %s, 'alice', %s, %s""",
        [str(tenant_id), [s["suggestion_id"] for s in sids], decision, notes, channel],
    )


def _cand(type_, *, change=None, priority="medium", confidence=0.85, entity="x"):
    params = {"daily_budget": {"from": 100, "to": 100 * (1 + change), "change": change}} if change is not None \
        else {"status": "paused"}
    return Candidate(type=type_, platform="meta", level="adset", entity_id=entity, entity_name=entity,
                     confidence=confidence, stake=100.0, texts={}, predicted={}, params=params, priority=priority)


def _history(conn, tenant_id):
    _decide(conn, tenant_id, "scale", "refused", 10, change=0.20, notes="too aggressive for this client")
    _decide(conn, tenant_id, "scale", "approved", 8, change=0.10)
    _decide(conn, tenant_id, "pause", "approved", 10)
    # Auto-applied decisions are not a reviewer's judgement: ignored.
    _decide(conn, tenant_id, "scale", "approved", 20, change=0.20, channel="auto")


def test_refusals_of_large_scales_hold_them_back_and_pauses_pass(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        _history(conn, t.tenant_id)
        pats = learn(conn, tenant_id=t.tenant_id, today=DAY)
        by_name = {p["pattern_name"]: p for p in pats}
        assert set(by_name) == {"refuse: type = 'scale' AND change >= 20%",
                                "approve: type = 'scale' AND 10% <= change < 20%",
                                "approve: type = 'pause'"}
        r = by_name["refuse: type = 'scale' AND change >= 20%"]
        assert (r["refusals"], r["approvals"], r["n"]) == (10, 0, 10)
        assert r["condition"] == {"type": "scale", "change_min": 0.2}
        assert 90 < r["confidence"] < 100 and r["typical_reason"] == "too aggressive for this client"
        cands = [_cand("scale", change=0.20, entity="big"), _cand("scale", change=0.25, entity="bigger"),
                 _cand("budget_decrease", change=-0.20, priority="high", entity="cut"),
                 _cand("pause", priority="medium", entity="stop"), _cand("scale", change=0.10, priority="low",
                                                                         entity="small")]
        kept, held = apply_patterns(conn, tenant_id=t.tenant_id, candidates=cands)
        stored = conn.execute("select pattern_name, status, condition_text from ads.decision_patterns").fetchall()
        loops = conn.execute("select * from ads.feedback_loops where loop_type = 'decision_pattern'").fetchall()
    assert held == {"refuse: type = 'scale' AND change >= 20%": 2}
    assert [c.entity_id for c in kept] == ["stop", "cut", "small"]
    stop = kept[0]
    assert stop.priority == "high" and stop.evidence["decision_pattern"]["name"] == "approve: type = 'pause'"
    assert kept[2].priority == "medium"  # low -> medium
    assert "decision_pattern" not in kept[1].evidence
    assert all(s["status"] == "active" for s in stored) and len(stored) == 3
    assert len(loops) == 3 and {lp["adjustment_type"] for lp in loops} == {"hold_back", "rank_boost"}


def test_patterns_retire_when_reviewers_change_their_mind(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        _history(conn, t.tenant_id)
        learn(conn, tenant_id=t.tenant_id, today=DAY)
        assert learn(conn, tenant_id=t.tenant_id, today=DAY)  # re-running logs nothing new
        n_loops = conn.execute("select count(*) as n from ads.feedback_loops").fetchone()["n"]
        _decide(conn, t.tenant_id, "scale", "approved", 12, change=0.20)
        pats = learn(conn, tenant_id=t.tenant_id, today=DAY + timedelta(days=7))
        status = {r["pattern_name"]: r["status"] for r in conn.execute(
            "select pattern_name, status from ads.decision_patterns").fetchall()}
        retire = conn.execute(
            "select * from ads.feedback_loops where adjustment_type = 'retire'").fetchall()
        kept, held = apply_patterns(conn, tenant_id=t.tenant_id, candidates=[_cand("scale", change=0.2)])
        total = conn.execute("select count(*) as n from ads.feedback_loops").fetchone()["n"]
    assert n_loops == 3
    assert status["refuse: type = 'scale' AND change >= 20%"] == "retired"
    assert "refuse: type = 'scale' AND change >= 20%" not in {p["pattern_name"] for p in pats}
    assert len(retire) == 1 and retire[0]["before_vs_after"]["after"]["status"] == "retired"
    assert held == {} and len(kept) == 1
    assert total == n_loops + 1  # only the retirement was logged


def test_one_tenants_patterns_never_affect_another(db):
    a, b = new_tenant(db), new_tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        _history(conn, a.tenant_id)
        assert learn(conn, tenant_id=a.tenant_id, today=DAY)
    with db.tenant_tx(b.tenant_id) as conn:
        assert learn(conn, tenant_id=b.tenant_id, today=DAY) == []
        kept, held = apply_patterns(conn, tenant_id=b.tenant_id, candidates=[_cand("scale", change=0.2)])
        assert held == {} and len(kept) == 1 and "decision_pattern" not in kept[0].evidence
        assert conn.execute("select count(*) as n from ads.decision_patterns").fetchone()["n"] == 0
    with db.tenant_tx(a.tenant_id) as conn:
        # b's (empty) learning retired nothing of a's.
        assert conn.execute("select count(*) as n from ads.decision_patterns where status = 'active'"
                            ).fetchone()["n"] == 3


def test_below_min_decisions_no_pattern(db):
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        _decide(conn, t.tenant_id, "scale", "refused", 7, change=0.2)
        assert learn(conn, tenant_id=t.tenant_id, today=DAY) == []
        _decide(conn, t.tenant_id, "scale", "refused", 1, change=0.2)
        names = {p["pattern_name"] for p in learn(conn, tenant_id=t.tenant_id, today=DAY)}
    # Every decision shares type, level and platform: one pattern per axis, the narrower ones
    # (type x change, type x level, ...) dropped as implied by "type = 'scale'".
    assert names == {"refuse: type = 'scale'", "refuse: level = 'adset'", "refuse: platform = 'meta'"}


def test_adjust_candidates_calibrates_and_holds(db):
    t = new_tenant(db)
    rng = np.random.default_rng(1)
    with db.tenant_tx(t.tenant_id) as conn:
        _history(conn, t.tenant_id)
        learn(conn, tenant_id=t.tenant_id, today=DAY)
        stated = rng.integers(50, 101, 300)
        conn.execute(
            """insert into ads.hypothesis_tracking (tenant_id, suggestion_id, suggestion_type, platform, entity_type,
                  entity_id, hypothesis_text, predicted_metrics, confidence_score, executed_at, start_day,
                  measurement_end_date, outcome)
               select %s, 50000 + i, 'scale', 'meta', 'adset', 'e', 'h', '{}', c, now(), %s, %s,
                      case when r < 0.6 * c / 100.0 then 'validated' else 'invalidated' end
               from unnest(%s::int[], %s::float8[]) with ordinality as u(c, r, i)""",
            [str(t.tenant_id), DAY, DAY, stated.tolist(), rng.random(300).tolist()])
        assert fit(conn, tenant_id=t.tenant_id)["active"]
        cands = [_cand("pause", confidence=0.9, entity="p"), _cand("scale", change=0.2, entity="s")]
        kept, held = adjust_candidates(conn, tenant_id=t.tenant_id, candidates=cands)
    assert held == {"refuse: type = 'scale' AND change >= 20%": 1}
    assert [c.entity_id for c in kept] == ["p"]
    # Stated 0.9, true rate 0.6 x 0.9 = 0.54: calibrated well below the stated confidence.
    assert kept[0].confidence == 0.9 and 0.4 < kept[0].calibrated_confidence < 0.75
    assert kept[0].evidence["calibrated_confidence"] == pytest.approx(kept[0].calibrated_confidence, abs=1e-4)


def test_condition_text_and_matching():
    cond = {"type": "scale", "confidence_min": 0.9, "confidence_max": 0.95}
    assert condition_text(cond) == "type = 'scale' AND 90% <= confidence < 95%"
    f = {"type": "scale", "level": "adset", "platform": "meta", "confidence": 0.95, "change": 0.2}
    assert not matches(cond, f)
    assert matches(cond, {**f, "confidence": 0.9})
    assert not matches({"type": "scale", "change_min": 0.2}, {**f, "change": None})
