"""The 24-hour check (seed 000 workflow 4): an execution's first day read against its band, a
rollback suggestion through the approval queue and the guard rails; feedback loops' transitions;
``api_calls_log.cost_estimate`` filled; the new columns under row-level security."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D

import pytest

from growthops.ads.action import execution as ex
from growthops.ads.action.decisions import decide
from growthops.ads.learning import early, feedback
from growthops.core.errors import NotFound
from tests.ads.test_execution import NOW, FakePlatform, add_suggestion, adset, set_config
from tests.conftest import new_tenant

START = date(2026, 3, 11)  # the executed change's first reporting day (NOW is 2026-03-10 09:00)
CHECK_AT = datetime.combine(START + timedelta(days=1), time(9), UTC)  # 24 h after NOW


@pytest.fixture()
def fake(monkeypatch):
    p = FakePlatform(adset("as1"), adset("as2"), adset("as3"))
    monkeypatch.setattr(ex, "_get_platform", lambda conn, *, tenant_id, platform: p)
    return p


def _metrics(db, tenant_id, first_day_conversions: int, *, days_after: int = 1):
    """Ad sets as1..as3 of campaign c1: 100 spent and 50 conversions a day over the 7-day
    baseline; from START, as1 (scaled to 120) converts ``first_day_conversions`` a day, the
    untouched siblings as before."""
    rows = []
    d = START - timedelta(days=7)
    while d < START + timedelta(days=days_after):
        for aid in ("as1", "as2", "as3"):
            after = d >= START
            conv = first_day_conversions if (aid == "as1" and after) else 50
            spend = 120 if (aid == "as1" and after) else 100
            rows.append(
                {
                    "level": "adset",
                    "entity_id": aid,
                    "day": d.isoformat(),
                    "campaign_id": "c1",
                    "spend": spend,
                    "impressions": spend * 100,
                    "clicks": spend,
                    "conversions": conv,
                    "conversion_value": conv * 10,
                }
            )
        d += timedelta(days=1)
    with db.tenant_tx(tenant_id) as conn:
        conn.execute(
            """insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day, campaign_id,
                                              spend, impressions, clicks, conversions, conversion_value)
               select %s, 'meta', x.level, x.entity_id, x.day, x.campaign_id, x.spend, x.impressions,
                      x.clicks, x.conversions, x.conversion_value
               from jsonb_to_recordset(%s::jsonb) as x(level text, entity_id text, day date, campaign_id text,
                    spend numeric, impressions bigint, clicks bigint, conversions bigint, conversion_value numeric)""",
            [tenant_id, json.dumps(rows)],
        )


def _executed_scale(db, fake, tenant, first_day_conversions):
    """Scale as1 100 -> 120 (predicted results +/-: p10 -9%, p50 +14%, p90 +36% vs status quo)."""
    sid = add_suggestion(db, tenant.tenant_id)
    out = ex.execute_suggestion(db, tenant_id=tenant.tenant_id, suggestion_id=sid, now=NOW)
    assert out.status == "applied" and fake.entities["as1"].daily_budget == D("120.00")
    _metrics(db, tenant.tenant_id, first_day_conversions)
    return sid, out.hypothesis_id


def _check(db, tenant_id, *, now=CHECK_AT, today=START):
    with db.tenant_tx(tenant_id) as conn:
        return early.check_due(conn, tenant_id=tenant_id, today=today, now=now)


def _rollbacks(db, tenant_id):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(
            "select * from ads.suggestions where evidence ? 'rollback_of'"
        ).fetchall()


def _hyp(db, tenant_id, hid):
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(
            "select * from ads.hypothesis_tracking where hypothesis_id = %s", [hid]
        ).fetchone()


def test_first_day_far_below_the_band_yields_one_pending_rollback(db, tenant, fake):
    sid, hid = _executed_scale(db, fake, tenant, first_day_conversions=5)
    # Too early: the execution is not 24 hours old yet.
    assert _check(db, tenant.tenant_id, now=NOW + timedelta(hours=23)) == []
    (rd,) = _check(db, tenant.tenant_id)
    assert rd["verdict"] == "adverse_clear" and rd["z"] < -early.Z_EARLY
    # as1's results went 50 -> 5 a day while its siblings held: effect log(0.1).
    assert rd["read"]["effect"] == pytest.approx(-2.302585, abs=1e-4)
    assert rd["read"]["comparators"] == ["as2", "as3"]
    (rb,) = _rollbacks(db, tenant.tenant_id)
    assert rd["rollback_suggestion_id"] == rb["suggestion_id"]
    assert (
        rb["status"] == "pending" and rb["type"] == "budget_decrease" and rb["entity_id"] == "as1"
    )
    assert rb["action_params"]["daily_budget"] == {
        "from": 120.0,
        "to": 100.0,
        "change": pytest.approx(-1 / 6, abs=1e-6),
    }
    assert rb["evidence"]["rollback_of"] == {"suggestion_id": sid, "hypothesis_id": hid}
    # Its prediction: back to the baseline (350 results a week) from the status quo read (35).
    pred = rb["predicted_metrics"]
    assert (
        pred["metrics"]["results"]["p50"] == pytest.approx(350)
        and pred["status_quo"]["results"] == 35
    )
    assert pred["metrics"]["results"]["p10"] < 350 < pred["metrics"]["results"]["p90"]
    assert (
        pred["metrics"]["spend"]["p50"] == pytest.approx(700) and pred["status_quo"]["spend"] == 840
    )
    assert (
        "3.29" in rb["texts"]["en"]["reason"]
        and rb["texts"]["fr"]["action"] != rb["texts"]["en"]["action"]
    )
    h = _hyp(db, tenant.tenant_id, hid)
    assert (
        h["early_verdict"] == "adverse_clear"
        and h["early_days"] == 1
        and h["rollback_suggestion_id"] == rb["suggestion_id"]
    )
    assert h["outcome"] is None  # the full measurement still waits for its window
    # Nothing was executed: the platform saw only the scale.
    assert fake.writes == [("as1", {"daily_budget": D("120.00")})]
    # Re-running (same day, next day) adds nothing.
    _check(db, tenant.tenant_id)
    _check(db, tenant.tenant_id, now=CHECK_AT + timedelta(days=1), today=START + timedelta(days=1))
    assert len(_rollbacks(db, tenant.tenant_id)) == 1


def test_rollback_goes_through_approval_and_the_guard_rails(db, tenant, fake):
    _, hid = _executed_scale(db, fake, tenant, first_day_conversions=5)
    _check(db, tenant.tenant_id)
    (rb,) = _rollbacks(db, tenant.tenant_id)
    pending = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=rb["suggestion_id"], now=CHECK_AT
    )
    assert pending.status == "skipped" and len(fake.writes) == 1  # not approved: nothing runs
    # A protected entity: approved, then blocked by the rail, still no write.
    set_config(db, tenant.tenant_id, protected_entity_ids=["as1"])
    with db.tenant_tx(tenant.tenant_id) as conn:
        decide(
            conn,
            tenant_id=tenant.tenant_id,
            suggestion_id=rb["suggestion_id"],
            decision="approved",
            decided_by="Alex",
            now=CHECK_AT,
        )
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=rb["suggestion_id"], now=CHECK_AT
    )
    assert out.status == "blocked" and len(fake.writes) == 1
    with db.tenant_tx(tenant.tenant_id) as conn:
        s = conn.execute(
            "select status, guard_rail_note from ads.suggestions where suggestion_id = %s",
            [rb["suggestion_id"]],
        ).fetchone()
    assert s["status"] == "blocked" and "protected_entity" in json.dumps(s["guard_rail_note"])


def test_approved_rollback_restores_the_budget_and_is_not_itself_rolled_back(db, tenant, fake):
    _, hid = _executed_scale(db, fake, tenant, first_day_conversions=5)
    _check(db, tenant.tenant_id)
    (rb,) = _rollbacks(db, tenant.tenant_id)
    with db.tenant_tx(tenant.tenant_id) as conn:
        decide(
            conn,
            tenant_id=tenant.tenant_id,
            suggestion_id=rb["suggestion_id"],
            decision="approved",
            decided_by="Alex",
            now=CHECK_AT,
        )
    out = ex.execute_suggestion(
        db, tenant_id=tenant.tenant_id, suggestion_id=rb["suggestion_id"], now=CHECK_AT
    )
    assert out.status == "applied", out.message
    assert fake.writes[-1] == ("as1", {"daily_budget": D("100.00")})
    # The rollback's own hypothesis is never read for a rollback of the rollback.
    later = CHECK_AT + timedelta(days=2)
    reads = _check(db, tenant.tenant_id, now=later, today=START + timedelta(days=1))
    assert all(r["hypothesis_id"] == hid for r in reads)


def test_first_day_inside_the_band_yields_no_rollback(db, tenant, fake):
    _, hid = _executed_scale(db, fake, tenant, first_day_conversions=55)
    (rd,) = _check(db, tenant.tenant_id)
    assert rd["verdict"] == "inside" and rd["rollback_suggestion_id"] is None
    assert _rollbacks(db, tenant.tenant_id) == []
    assert _hyp(db, tenant.tenant_id, hid)["early_verdict"] == "inside"


def test_results_falling_to_zero_are_read_with_a_continuity_correction(db, tenant, fake):
    _executed_scale(db, fake, tenant, first_day_conversions=0)
    (rd,) = _check(db, tenant.tenant_id)
    # log((0.5 / 1) / (350 / 7)) = log(0.01): finite, far below the band.
    assert rd["read"]["effect"] == pytest.approx(-4.60517, abs=1e-4)
    assert rd["verdict"] == "adverse_clear" and rd["rollback_suggestion_id"] is not None


def test_worse_but_not_clearly_yields_no_rollback(db, tenant, fake):
    _executed_scale(db, fake, tenant, first_day_conversions=38)
    (rd,) = _check(db, tenant.tenant_id)
    assert rd["verdict"] == "outside_adverse" and -early.Z_EARLY < rd["z"] < 0
    assert _rollbacks(db, tenant.tenant_id) == []


def test_the_daily_cycle_runs_the_check_once(db, tenant, fake):
    from growthops.ads.cycle import run_daily_cycle

    _executed_scale(db, fake, tenant, first_day_conversions=5)
    res = run_daily_cycle(db, tenant_id=tenant.tenant_id, as_of=START, clock=CHECK_AT)
    assert (
        res is not None and res.summary["early_rollbacks"] == 1 and res.summary["early_reads"] == 1
    )
    again = run_daily_cycle(db, tenant_id=tenant.tenant_id, as_of=START, clock=CHECK_AT)
    assert again is not None and again.summary["early_rollbacks"] == 0
    assert len(_rollbacks(db, tenant.tenant_id)) == 1


def test_the_cli_shows_the_checks_in_english_and_french(db, tenant, fake):
    from typer.testing import CliRunner

    from growthops.ads.cli.learning import learning_app

    _executed_scale(db, fake, tenant, first_day_conversions=5)
    _check(db, tenant.tenant_id)
    runner = CliRunner()
    en = runner.invoke(
        learning_app,
        ["checks", "--tenant", tenant.client_key, "--lang", "en"],
        env={"COLUMNS": "250"},
    )
    assert en.exit_code == 0, en.output
    assert "clearly worse than the band" in en.output and "pending" in en.output
    fr = runner.invoke(
        learning_app,
        ["checks", "--tenant", tenant.client_key, "--lang", "fr"],
        env={"COLUMNS": "250"},
    )
    assert fr.exit_code == 0, fr.output
    assert "nettement pire que la fourchette" in fr.output


# ------------------------------------------------------------------------------ feedback loops
def _loop(conn, tenant_id, *, loop_type, created_at, bva, adjustment_type=None):
    return conn.execute(
        """insert into ads.feedback_loops (tenant_id, loop_type, issue_description, adjustment_type,
                                           before_vs_after, status, applied_to_production, created_at)
           values (%s, %s, 'test', %s, %s::jsonb, 'testing', true, %s) returning loop_id""",
        [tenant_id, loop_type, adjustment_type, json.dumps(bva), created_at],
    ).fetchone()["loop_id"]


def _calibrated_outcomes(conn, tenant_id, n, *, stated, calibrated, outcome, created_at, first_sid):
    for i in range(n):
        sid = first_sid + i
        conn.execute(
            """insert into ads.suggestions (tenant_id, suggestion_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, confidence, calibrated_confidence, platform,
                 entity_type, entity_id, status, created_at, expires_at)
               overriding system value
               values (%s, %s, %s, 'scale', 'high', 'a', 'r', 'e', '{}', '{}', %s, %s, 'meta', 'adset', %s,
                       'executed', %s, %s)""",
            [
                tenant_id,
                sid,
                created_at.date(),
                stated,
                calibrated,
                f"e{sid}",
                created_at,
                created_at + timedelta(days=2),
            ],
        )
        conn.execute(
            """insert into ads.hypothesis_tracking (tenant_id, suggestion_id, suggestion_type, platform, entity_type,
                 entity_id, hypothesis_text, predicted_metrics, confidence_score, executed_at, start_day,
                 measurement_end_date, outcome, measured_at)
               values (%s, %s, 'scale', 'meta', 'adset', %s, 'h', '{}', %s, %s, %s, %s, %s, %s)""",
            [
                tenant_id,
                sid,
                f"e{sid}",
                stated,
                created_at,
                created_at.date(),
                created_at.date() + timedelta(days=6),
                outcome,
                created_at + timedelta(days=10),
            ],
        )


def test_calibration_loops_are_linked_to_a_hypothesis_and_decided_on_later_outcomes(db):
    t = new_tenant(db)
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        m_good = conn.execute(
            """insert into ads.calibration_models (tenant_id, method, n_outcomes, params, active)
               values (%s, 'isotonic+shrinkage', 20, '{}', false) returning model_id""",
            [t.tenant_id],
        ).fetchone()
        m_bad = conn.execute(
            """insert into ads.calibration_models (tenant_id, method, n_outcomes, params, active)
               values (%s, 'isotonic+shrinkage', 30, '{}', true) returning model_id""",
            [t.tenant_id],
        ).fetchone()
        # Training outcomes measured before the first loop: the latest one triggers it.
        _calibrated_outcomes(
            conn,
            t.tenant_id,
            2,
            stated=80,
            calibrated=80,
            outcome="validated",
            created_at=t0 - timedelta(days=20),
            first_sid=9000,
        )
        good = _loop(
            conn,
            t.tenant_id,
            loop_type="calibration",
            created_at=t0,
            bva={"model_id": m_good["model_id"]},
        )
        bad = _loop(
            conn,
            t.tenant_id,
            loop_type="calibration",
            created_at=t0 + timedelta(days=30),
            bva={"model_id": m_bad["model_id"]},
        )
        # Under the first model: stated 90%, calibrated 60%, half validated -> calibration better.
        _calibrated_outcomes(
            conn,
            t.tenant_id,
            6,
            stated=90,
            calibrated=60,
            outcome="validated",
            created_at=t0 + timedelta(days=1),
            first_sid=100,
        )
        _calibrated_outcomes(
            conn,
            t.tenant_id,
            6,
            stated=90,
            calibrated=60,
            outcome="invalidated",
            created_at=t0 + timedelta(days=2),
            first_sid=200,
        )
        # Under the second: calibrated 20% while all were validated -> worse than stated 70%.
        _calibrated_outcomes(
            conn,
            t.tenant_id,
            9,
            stated=70,
            calibrated=20,
            outcome="validated",
            created_at=t0 + timedelta(days=31),
            first_sid=300,
        )
        first = feedback.evaluate(
            conn, tenant_id=t.tenant_id, today=date(2026, 3, 1), now=t0 + timedelta(days=60)
        )
        assert [(r["loop_id"], r["status"]) for r in first] == [
            (good, "validated")
        ]  # 9 < 10 outcomes
        _calibrated_outcomes(
            conn,
            t.tenant_id,
            1,
            stated=70,
            calibrated=20,
            outcome="validated",
            created_at=t0 + timedelta(days=32),
            first_sid=400,
        )
        second = feedback.evaluate(
            conn, tenant_id=t.tenant_id, today=date(2026, 3, 2), now=t0 + timedelta(days=61)
        )
        assert [(r["loop_id"], r["status"]) for r in second] == [(bad, "rolled_back")]
        assert feedback.evaluate(conn, tenant_id=t.tenant_id, today=date(2026, 3, 3)) == []
        rows = {r["loop_id"]: r for r in feedback.list_loops(conn, tenant_id=t.tenant_id)}
        active = conn.execute(
            "select model_id, active from ads.calibration_models order by model_id"
        ).fetchall()
        trig = conn.execute(
            "select hypothesis_id from ads.hypothesis_tracking where suggestion_id = 9001"
        ).fetchone()
    g, b = rows[good], rows[bad]
    # (0.9 - y)^2 - (0.6 - y)^2 averaged over half 1, half 0: ((0.01 - 0.16) + (0.81 - 0.36)) / 2 = 0.15
    assert (
        g["improvement_measured"] == pytest.approx(0.15, abs=1e-4)
        and g["applied_to_production"] is True
    )
    assert (
        g["status_evidence"]["n"] == 12 and g["triggered_by_hypothesis_id"] == trig["hypothesis_id"]
    )
    # (0.7 - 1)^2 - (0.2 - 1)^2 = 0.09 - 0.64
    assert (
        b["improvement_measured"] == pytest.approx(-0.55, abs=1e-4)
        and b["applied_to_production"] is False
    )
    assert b["triggered_by_hypothesis_id"] is not None
    assert [r["active"] for r in active] == [False, False]


def test_pattern_loops_are_validated_when_the_pattern_survives_and_rolled_back_when_retired(db):
    t = new_tenant(db)
    t0 = datetime(2026, 2, 1, 9, tzinfo=UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        for name, status in (("kept", "active"), ("dropped", "retired")):
            conn.execute(
                """insert into ads.decision_patterns (tenant_id, pattern_name, pattern_type, condition, condition_text,
                     status) values (%s, %s, 'refusal_preference', '{}', 'c', %s)""",
                [t.tenant_id, name, status],
            )
        kept = _loop(
            conn,
            t.tenant_id,
            loop_type="decision_pattern",
            created_at=t0,
            adjustment_type="hold_back",
            bva={"pattern": "kept"},
        )
        dropped = _loop(
            conn,
            t.tenant_id,
            loop_type="decision_pattern",
            created_at=t0,
            adjustment_type="hold_back",
            bva={"pattern": "dropped"},
        )
        assert [
            (r["loop_id"], r["status"])
            for r in feedback.evaluate(conn, tenant_id=t.tenant_id, today=date(2026, 2, 2))
        ] == [(dropped, "rolled_back")]
        conn.execute(
            """insert into ads.decisions (tenant_id, suggestion_id, decision, decided_by, decided_at)
               select %s, g, 'refused', 'Alex', %s from generate_series(1, 10) g""",
            [t.tenant_id, t0 + timedelta(days=1)],
        )
        out = feedback.evaluate(conn, tenant_id=t.tenant_id, today=date(2026, 2, 3))
        ev = conn.execute(
            "select status_evidence from ads.feedback_loops where loop_id = %s", [kept]
        ).fetchone()
    assert [(r["loop_id"], r["status"], r["triggered_by_hypothesis_id"]) for r in out] == [
        (kept, "validated", None)
    ]
    assert ev["status_evidence"]["decisions_since"] == 10


def test_the_cli_lists_the_loops(db):
    from typer.testing import CliRunner

    from growthops.ads.cli.learning import learning_app

    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        _loop(
            conn,
            t.tenant_id,
            loop_type="calibration",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            bva={},
        )
    out = CliRunner().invoke(
        learning_app, ["loops", "--tenant", t.client_key, "--lang", "fr"], env={"COLUMNS": "200"}
    )
    assert out.exit_code == 0, out.output
    assert "calibrage" in out.output and "en test" in out.output
    bad = CliRunner().invoke(learning_app, ["loops", "--tenant", t.client_key, "--status", "done"])
    assert bad.exit_code != 0


# ------------------------------------------------------------------------------ API costs
def test_every_logged_call_gets_a_cost_estimate(db, tenant):
    import growthops.connectors  # noqa: F401  (registers the estimator, as any connector import does)
    from growthops.connectors.costs import estimate_cost
    from growthops.core.logs.service import log_api_call

    with db.tenant_tx(tenant.tenant_id) as conn:
        for api, payload in (
            ("slack", {"channel": "C1"}),
            ("instagram", None),
            ("whatsapp", {"type": "text"}),
            ("whatsapp", {"type": "template"}),
            ("meta_marketing", None),
            ("anthropic", None),
        ):
            log_api_call(
                conn,
                tenant_id=tenant.tenant_id,
                api_name=api,
                endpoint="/x",
                method="post",
                request_payload=payload,
                response_payload=None,
                status_code=200,
                duration_ms=1,
                success=True,
            )
        rows = conn.execute(
            "select api_name, request_payload, cost_estimate from core.api_calls_log order by id"
        ).fetchall()
    costs = [(r["api_name"], r["cost_estimate"]) for r in rows]
    assert costs == [
        ("slack", D("0")),
        ("instagram", D("0")),
        ("whatsapp", D("0")),
        ("whatsapp", None),
        ("meta_marketing", D("0")),
        ("anthropic", None),
    ]
    assert estimate_cost("slack") == D("0") and estimate_cost("unknown") is None


def test_a_slack_call_through_its_client_is_logged_with_its_cost(db, tenant):
    """The Slack client (connectors/slack, not changed here) logs without a cost: the default fills it."""
    from growthops.connectors.slack.client import call, make_client
    from tests.connectors.test_slack import TOKEN, SlackServer

    server = SlackServer()
    server.thread.start()
    try:
        client = make_client(TOKEN, server.url)
        with db.tenant_tx(tenant.tenant_id) as conn:
            call(
                client,
                "chat.postMessage",
                conn=conn,
                tenant_id=tenant.tenant_id,
                channel="C1",
                text="hi",
            )
            row = conn.execute(
                "select api_name, success, cost_estimate from core.api_calls_log"
            ).fetchone()
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert row["api_name"] == "slack" and row["success"] is True and row["cost_estimate"] == D("0")


# ------------------------------------------------------------------------------ RLS
def test_early_reads_and_loop_evidence_stay_within_their_tenant(db, tenant, fake):
    _executed_scale(db, fake, tenant, first_day_conversions=5)
    _check(db, tenant.tenant_id)
    other = new_tenant(db)
    with db.tenant_tx(other.tenant_id) as conn:
        assert early.list_checks(conn, tenant_id=other.tenant_id) == []
        assert (
            conn.execute(
                "select count(*) as n from ads.hypothesis_tracking where early_read is not null"
            ).fetchone()["n"]
            == 0
        )
        with pytest.raises(NotFound):  # the other tenant is invisible under its RLS session
            early.check_due(conn, tenant_id=tenant.tenant_id, today=START, now=CHECK_AT)
    with db.tenant_tx(other.tenant_id) as conn:
        assert conn.execute("select count(*) as n from ads.suggestions").fetchone()["n"] == 0
    with db.tenant_tx(tenant.tenant_id) as conn:
        assert len(early.list_checks(conn, tenant_id=tenant.tenant_id)) == 1
