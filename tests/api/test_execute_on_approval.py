"""An approval through the API or the CLI is executed on the ad account within the guard rails."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.ads.cycle import run_daily_cycle
from growthops.app import create_app
from growthops.cli import app as cli_app
from growthops.connectors.sandbox import create_sandbox_account
from tests.ads.staff import staff
from tests.api.conftest import make_key
from tests.conftest import new_tenant

START = date(2024, 1, 1)


def _sandbox_tenant(db):
    t = new_tenant(db, roi_target="1.5")
    with db.tenant_tx(t.tenant_id) as conn:
        create_sandbox_account(conn, tenant_id=t.tenant_id, seed=7, start=START, days_history=42)
    run_daily_cycle(db, tenant_id=t.tenant_id, as_of=date(2024, 2, 11))
    with db.tenant_tx(t.tenant_id) as conn:
        ids = [r["suggestion_id"] for r in conn.execute(
            """select suggestion_id from ads.suggestions where status = 'pending'
               and type in ('scale', 'pause', 'budget_increase', 'budget_decrease') order by suggestion_id""")]
    assert len(ids) >= 2, "the sandbox account should yield executable suggestions"
    return t, ids


def _state(db, t, sid):
    with db.tenant_tx(t.tenant_id) as conn:
        s = conn.execute("select status from ads.suggestions where suggestion_id = %s", [sid]).fetchone()
        n = conn.execute("select count(*) as n from ads.execution_logs where suggestion_id = %s and status = 'applied'",
                         [sid]).fetchone()["n"]
    return s["status"], n


def test_api_approval_executes_once_on_the_account(db):
    t, ids = _sandbox_tenant(db)
    client = TestClient(create_app(db=db))
    key = make_key(db, t)
    r = client.post(f"/api/v1/suggestions/{ids[0]}/decision", headers={"X-API-Key": key},
                    json={"decision": "approved", "decided_by": "alice", "notes": "go"})
    assert r.status_code == 201, r.text
    assert _state(db, t, ids[0]) == ("executed", 1)
    # A second approval is a conflict and applies nothing more.
    r = client.post(f"/api/v1/suggestions/{ids[0]}/decision", headers={"X-API-Key": key},
                    json={"decision": "approved", "decided_by": "bob"})
    assert r.status_code == 409
    assert _state(db, t, ids[0]) == ("executed", 1)


def test_cli_approval_executes_unless_told_not_to(db):
    t, ids = _sandbox_tenant(db)
    runner = CliRunner()
    res = runner.invoke(cli_app, ["suggestions", "approve", str(ids[0]), "--tenant", t.client_key, "--by", staff(db, "carol")],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert _state(db, t, ids[0]) == ("executed", 1)
    res = runner.invoke(cli_app, ["suggestions", "approve", str(ids[1]), "--tenant", t.client_key, "--by", staff(db, "carol"),
                                  "--no-execute"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert _state(db, t, ids[1]) == ("approved", 0)
