"""Anomaly triage: investigate, resolve, dismiss, reopen through the service, the CLI and the API;
who and why kept, audited, never deleted, and kept when the cycle re-runs the day."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.ads.analysis.triage import set_anomaly_status
from growthops.app import create_app
from growthops.core.errors import Conflict, InvalidInput, NotFound
from tests.ads.staff import staff
from tests.api.conftest import make_key
from tests.conftest import new_tenant


def add_anomaly(db, tenant, *, as_of: date = date(2026, 11, 30), entity: str = "c1") -> int:
    with db.tenant_tx(tenant.tenant_id) as conn:
        return conn.execute(
            """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,
                   anomaly_type, metric, p_value, q_value, severity, method)
               values (%s, %s, 'meta', 'campaign', %s, 'Prospecting', 'drop', 'conversions',
                       0.001, 0.01, 'high', 'test') returning anomaly_id""",
            [tenant.tenant_id, as_of, entity]).fetchone()["anomaly_id"]


def test_transitions_who_why_audit_and_idempotence(db) -> None:
    t = new_tenant(db)
    aid = add_anomaly(db, t)
    with db.tenant_tx(t.tenant_id) as conn:
        row, changed = set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid,
                                          status="investigating", by="Léa", note="tracking?")
        assert changed and row["status"] == "investigating" and row["resolved_at"] is None
        row, changed = set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid,
                                          status="investigating", by="Léa")
        assert not changed  # asked twice: nothing done twice
        row, _ = set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid,
                                    status="resolved", by="Léa", note="pixel fixed")
        assert row["resolved_at"] is not None and row["status_note"] == "pixel fixed"
        with pytest.raises(Conflict, match="resolved: it cannot become dismissed"):
            set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid, status="dismissed",
                               by="Léa")
        with pytest.raises(InvalidInput, match="status"):
            set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid, status="gone", by="x")
        with pytest.raises(InvalidInput, match="by"):
            set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid, status="active",
                               by="  ")
        with pytest.raises(NotFound):
            set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid + 10_000,
                               status="active", by="x")
        row, _ = set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=aid, status="active",
                                    by="Tom", note="came back")
        assert row["resolved_at"] is None and row["status_by"] == "Tom"
        audit = conn.execute("select action, actor, reason from ads.audit_log "
                             "where object_type = 'anomaly' order by audit_id").fetchall()
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("anomaly.investigating", "Léa"), ("anomaly.resolved", "Léa"), ("anomaly.active", "Tom")]
    assert audit[1]["reason"] == "pixel fixed"


def test_the_cycle_keeps_an_anomaly_a_person_touched(db) -> None:
    t = new_tenant(db)
    touched, untouched = add_anomaly(db, t, entity="c1"), add_anomaly(db, t, entity="c2")
    with db.tenant_tx(t.tenant_id) as conn:
        set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=touched, status="dismissed",
                           by="Léa")
        set_anomaly_status(conn, tenant_id=t.tenant_id, anomaly_id=touched, status="active",
                           by="Léa", note="reopened")
        # What the cycle's re-run of a day deletes (growthops.ads.analysis.anomalies).
        conn.execute("delete from ads.anomalies where tenant_id = %s and as_of = %s and "
                     "status = 'active' and status_by is null", [t.tenant_id, date(2026, 11, 30)])
        left = [r["anomaly_id"] for r in conn.execute("select anomaly_id from ads.anomalies")]
    assert left == [touched] and untouched not in left


def test_api_changes_the_status_with_the_right_answers(db) -> None:
    t, other = new_tenant(db), new_tenant(db)
    aid = add_anomaly(db, t)
    client = TestClient(create_app(db=db))
    client.headers["X-API-Key"] = make_key(db, t)
    url = f"/api/v1/tenants/{t.client_key}/anomalies/{aid}/status"
    r = client.post(url, json={"status": "dismissed", "note": "promo day", "by": "Léa"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "dismissed" and body["changed"] and body["status_by"] == "Léa"
    assert client.post(url, json={"status": "dismissed", "by": "Léa"}).json()["changed"] is False
    assert client.post(url, json={"status": "resolved", "by": "Léa"}).status_code == 409
    assert client.post(url, json={"status": "deleted", "by": "Léa"}).status_code == 422
    assert client.post(url, json={"status": "active"}).status_code == 422  # who is required
    other_url = f"/api/v1/tenants/{other.client_key}/anomalies/{aid}/status"
    assert client.post(other_url, json={"status": "active", "by": "x"}).status_code in (403, 404)
    anon = TestClient(create_app(db=db))
    assert anon.post(url, json={"status": "active", "by": "x"}).status_code == 401


def test_cli_lists_and_closes(db) -> None:
    from growthops.cli import app

    t = new_tenant(db)
    aid = add_anomaly(db, t)
    runner = CliRunner()
    lea = staff(db, "lea")
    out = runner.invoke(app, ["anomalies", "resolve", str(aid), "--tenant", t.client_key,
                              "--by", "Léa", "--note", "x"])
    assert "not an active growthops user" in str(out.exception)  # a name is not a person
    out = runner.invoke(app, ["anomalies", "resolve", str(aid), "--tenant", t.client_key,
                              "--by", lea, "--note", "budget cap hit"], catch_exceptions=False)
    assert out.exit_code == 0 and f"Anomaly {aid} is now resolved." in out.output
    listed = runner.invoke(app, ["anomalies", "list", "--tenant", t.client_key, "--status",
                                 "resolved"], catch_exceptions=False)
    assert "budget cap hit" in listed.output and "lea-" in listed.output
