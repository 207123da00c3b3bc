"""What a media buyer lives with in the morning queue (issue 9): a decided suggestion never comes
back as a duplicate, a replayed day adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from growthops.ads.action.decisions import decide
from growthops.ads.cycle import run_daily_cycle
from tests.ads.staff import staff
from tests.ads.test_decisions import END, account


def _rows(db, tid, sql, params=()):
    with db.tenant_tx(tid) as conn:
        return conn.execute(sql, params).fetchall()


def test_an_approved_or_refused_suggestion_is_not_suggested_again(db):
    clock = datetime.now(UTC)
    t, ids = account(db, clock=clock)
    approved, refused = ids[0], ids[1]
    with db.tenant_tx(t.tenant_id) as conn:  # no ad account: approving executes nothing
        decide(conn, tenant_id=t.tenant_id, suggestion_id=approved, decision="approved",
               decided_by="alice")
        decide(conn, tenant_id=t.tenant_id, suggestion_id=refused, decision="refused",
               decided_by="alice")
    count = "select count(*) as n from ads.suggestions"
    before = _rows(db, t.tenant_id, count)[0]["n"]
    # the same day replayed, an hour later: nothing added
    again = run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END,
                            clock=clock + timedelta(hours=1))
    assert again.summary["suggestions"] == 0
    assert _rows(db, t.tenant_id, count)[0]["n"] == before
    # another day's run within the decided suggestions' validity: no new one for them either
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END - timedelta(days=1),
                    clock=clock + timedelta(hours=2))
    dups = _rows(db, t.tenant_id, """
        select d.suggestion_id, n.suggestion_id as dup from ads.suggestions d
        join ads.suggestions n on n.tenant_id = d.tenant_id and n.platform = d.platform
         and n.entity_type = d.entity_type and n.entity_id = d.entity_id and n.type = d.type
         and n.suggestion_id <> d.suggestion_id
        where d.suggestion_id = any(%s)""", [[approved, refused]])
    assert dups == []


def test_reasons_state_the_window_covered_and_never_an_inferred_budget(db):
    """Ten days of data: no "over 14 days"; no budget column: "average daily spend"."""
    from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
    from tests.conftest import new_tenant

    plan = Plan(campaigns=2, adsets_per_campaign=3, ads_per_adset=2, days=10, end=END,
                base_spend=300.0, bad_adsets=(1, 4), great_adsets=(0, 3))
    t = new_tenant(db, roi_target=3.0)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
        conn.execute("update ads.metrics_daily set daily_budget = null")
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=END)
    rows = _rows(db, t.tenant_id, "select type, texts, action_params from ads.suggestions")
    assert rows
    texts = [r["texts"][lang][f] for r in rows for lang in ("en", "fr")
             for f in ("action", "reason")]
    assert not any("14 days" in x or "14 jours" in x for x in texts)
    assert any("over 10 days" in r["texts"]["en"]["reason"] for r in rows)
    budget = [r for r in rows if (r["action_params"] or {}).get("daily_budget")]
    assert budget, [r["type"] for r in rows]
    for r in budget:
        assert r["action_params"]["daily_budget"]["inferred"] is True
        assert "average daily spend" in r["texts"]["en"]["action"]
        assert "dépense quotidienne moyenne" in r["texts"]["fr"]["action"]
        assert "daily budget" not in r["texts"]["en"]["action"].split(":")[1].split("(")[0]


def test_report_shows_no_internal_name_or_empty_interval(db, tmp_path):
    import re

    from growthops.ads.reporting.report import write_report

    t, _ids = account(db)
    for lang in ("en", "fr"):
        html = write_report(db, tenant_id=t.tenant_id, as_of=END, lang=lang,
                            out=tmp_path / f"r-{lang}.html").read_text(encoding="utf-8")
        body = re.sub(r"<style.*?</style>|<svg.*?</svg>", "", html, flags=re.S)
        for raw in ("value_lost", "spend_saved", "results_lost", "ctr_decay",
                    "frequency_growth", "None"):
            assert raw not in body, (lang, raw)
        assert not re.search(r"(?:to|à) (?:€0\.00|0,00\s€)", body), lang
    assert "signals" in html or "signaux" in html


def test_cli_show_reads_without_json_and_execute_fails_when_nothing_ran(db):
    from typer.testing import CliRunner

    from growthops.cli import app

    t, ids = account(db)
    runner = CliRunner()
    res = runner.invoke(app, ["suggestions", "show", str(ids[0]), "--tenant", t.client_key])
    assert res.exit_code == 0, res.output
    assert "{" not in res.output and '"' not in res.output
    assert "clicks_recovered" not in res.output and "_" not in res.output.split("evidence")[1]
    (write,) = _rows(db, t.tenant_id, "select min(suggestion_id) as id from ads.suggestions "
                     "where type in ('pause', 'scale', 'budget_increase', 'budget_decrease')")
    runner.invoke(app, ["suggestions", "approve", str(write["id"]), "--tenant", t.client_key,
                        "--by", staff(db, "alice")])
    res = runner.invoke(app, ["suggestions", "execute", str(write["id"]), "--tenant",
                              t.client_key])
    text = " ".join(res.output.split())
    assert res.exit_code == 3, res.output
    assert "nothing was executed" in text and "ads." not in text


def test_cli_morning_queue_across_clients_status_all_and_bulk_decision(db):
    from typer.testing import CliRunner

    from growthops.cli import app

    (t1, ids1), (t2, _ids2) = account(db), account(db)
    runner = CliRunner()
    res = runner.invoke(app, ["suggestions", "list", "--limit", "1000"],
                        env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert t1.client_key in res.output and t2.client_key in res.output
    res = runner.invoke(app, ["suggestions", "approve", str(ids1[0]), str(ids1[1]),
                              str(ids1[2]), "--tenant", t1.client_key, "--by", staff(db, "alice"),
                              "--notes", "morning batch", "--no-execute"])
    assert res.exit_code == 0, res.output
    rows = _rows(db, t1.tenant_id, "select d.suggestion_id, d.notes from ads.decisions d "
                 "where d.decision = 'approved' order by 1")
    assert [(r["suggestion_id"], r["notes"]) for r in rows] == [
        (i, "morning batch") for i in sorted(ids1[:3])]
    res = runner.invoke(app, ["suggestions", "list", "--tenant", t1.client_key, "--status",
                              "all", "--limit", "1000"])
    assert res.exit_code == 0, res.output
    # refusing a batch with one already decided: the others are recorded, exit 5 at the end
    res = runner.invoke(app, ["suggestions", "refuse", str(ids1[0]), str(ids1[3]), "--tenant",
                              t1.client_key, "--by", staff(db, "bob")])
    assert res.exit_code == 5
    (s,) = _rows(db, t1.tenant_id, "select status from ads.suggestions where suggestion_id = %s",
                 [ids1[3]])
    assert s["status"] == "refused"


def test_cli_decisions_name_a_growthops_user_not_free_text(db, monkeypatch):
    """Issue 9 #10: --by is a user's e-mail (or GROWTHOPS_OPERATOR), and the audit says which."""
    from typer.testing import CliRunner

    from growthops.cli import app
    from growthops.settings import get_settings

    t, ids = account(db)
    runner = CliRunner()
    res = runner.invoke(app, ["suggestions", "approve", str(ids[0]), "--tenant", t.client_key,
                              "--by", "anybody at all", "--no-execute"])
    assert "not an active growthops user" in str(res.exception)
    monkeypatch.delenv("GROWTHOPS_OPERATOR", raising=False)
    get_settings.cache_clear()
    res = runner.invoke(app, ["suggestions", "approve", str(ids[0]), "--tenant", t.client_key,
                              "--no-execute", "--lang", "fr"])
    assert "GROWTHOPS_OPERATOR" in str(res.exception) and "utilisateur" in str(res.exception)
    assert _rows(db, t.tenant_id, "select count(*) as n from ads.decisions")[0]["n"] == 0
    op = staff(db, "operator")
    monkeypatch.setenv("GROWTHOPS_OPERATOR", op)
    get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["suggestions", "approve", str(ids[0]), "--tenant",
                                  t.client_key, "--no-execute"])
        assert res.exit_code == 0, res.output
        by = staff(db, "buyer")
        res = runner.invoke(app, ["suggestions", "refuse", str(ids[1]), "--tenant",
                                  t.client_key, "--by", by.upper()])
        assert res.exit_code == 0, res.output
    finally:
        monkeypatch.delenv("GROWTHOPS_OPERATOR")
        get_settings.cache_clear()
    audit = _rows(db, t.tenant_id, "select actor, after->>'identity' as how from ads.audit_log "
                  "where action like 'suggestion.%%' order by audit_id")
    assert [(a["actor"], a["how"]) for a in audit] == [(op, "GROWTHOPS_OPERATOR"), (by, "--by")]
