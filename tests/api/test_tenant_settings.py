"""A tenant's targets, budget limit, currency, time zone and Slack channel changed without SQL:
service (validation, audit, nothing written when nothing changes), CLI and API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthops.app import create_app
from growthops.core.cli import _validate
from growthops.core.errors import Conflict, InvalidInput
from growthops.core.tenants.models import TenantUpdate
from growthops.core.tenants.service import get_tenant, update_tenant
from tests.api.conftest import make_key
from tests.conftest import new_tenant


def test_update_validates_changes_only_what_differs_and_audits(db) -> None:
    t = new_tenant(db, monthly_budget_max=Decimal("20000"))
    with db.tenant_tx(t.tenant_id) as conn:
        before, after = update_tenant(
            conn, tenant_id=t.tenant_id, by="Léa",
            changes=TenantUpdate.model_validate({"roi_target": "3.0", "monthly_budget_max": "25000",
                                                 "time_zone": "America/Montreal"}, strict=False))
        assert before == {"monthly_budget_max": Decimal("20000.00"), "time_zone": "Europe/Paris"}
        assert after == {"monthly_budget_max": Decimal("25000"), "time_zone": "America/Montreal"}
        stored = get_tenant(conn, tenant_id=t.tenant_id)
        assert stored.monthly_budget_max == Decimal("25000") and stored.time_zone == "America/Montreal"
        log = conn.execute("select message, context from core.system_logs "
                           "where module = 'growthops.core.tenants'").fetchall()
        assert len(log) == 1 and "Léa" in log[0]["message"]
        assert log[0]["context"]["before"]["monthly_budget_max"] == "20000.00"
        # The same values again: nothing written, nothing logged.
        assert update_tenant(conn, tenant_id=t.tenant_id, by="Léa", changes=TenantUpdate.model_validate(
            {"monthly_budget_max": "25000"}, strict=False)) == ({}, {})
        # Removing the ceiling is allowed; removing the ROAS target is not.
        _, after = update_tenant(conn, tenant_id=t.tenant_id, by="Léa",
                                 changes=TenantUpdate.model_validate({"monthly_budget_max": None}))
        assert after == {"monthly_budget_max": None}
    for bad, field in (({"roi_target": "0"}, "roi_target"), ({"roi_target": None}, "roi_target"),
                       ({"time_zone": "Europe/Atlantis"}, "time_zone"),
                       ({"currency": "eur"}, "currency"), ({"client_key": "x"}, "client_key"),
                       ({"monthly_budget_max": "-1"}, "monthly_budget_max")):
        with pytest.raises(InvalidInput, match=field):
            _validate(TenantUpdate, bad)


def test_currency_is_locked_once_metrics_exist(db) -> None:
    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        _, after = update_tenant(conn, tenant_id=t.tenant_id, by="x",
                                 changes=TenantUpdate(currency="USD"))
        assert after == {"currency": "USD"}
        conn.execute("insert into ads.metrics_daily (tenant_id, platform, level, entity_id, day) "
                     "values (%s, 'meta', 'campaign', 'c1', %s)", [t.tenant_id, date(2026, 11, 1)])
        with pytest.raises(Conflict, match="currency"):
            update_tenant(conn, tenant_id=t.tenant_id, by="x", changes=TenantUpdate(currency="EUR"))


def test_cli_update_prints_before_and_after(db) -> None:
    from growthops.cli import app

    t = new_tenant(db)
    runner = CliRunner()
    out = runner.invoke(app, ["tenants", "update", t.client_key, "--by", "Léa", "--roi-target",
                              "4.2", "--slack-channel", "#acme-ads"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "roi_target" in out.output and "4.2" in out.output and "#acme-ads" in out.output
    bad = runner.invoke(app, ["tenants", "update", t.client_key, "--by", "Léa",
                              "--roi-target", "-2"])
    assert isinstance(bad.exception, InvalidInput) and "roi_target" in str(bad.exception)


def test_api_patch_changes_settings_and_answers_422_409(db) -> None:
    t, other = new_tenant(db), new_tenant(db)
    client = TestClient(create_app(db=db))
    client.headers["X-API-Key"] = make_key(db, t)
    url = f"/api/v1/tenants/{t.client_key}"
    r = client.patch(url, json={"roi_target": 2.5, "monthly_budget_max": "18000.50", "by": "Léa"})
    assert r.status_code == 200, r.text
    assert r.json()["after"] == {"roi_target": "2.5", "monthly_budget_max": "18000.50"}
    assert client.get(url).json()["roi_target"] in ("2.500", "2.5", 2.5)
    assert client.patch(url, json={"roi_target": 0, "by": "Léa"}).status_code == 422
    assert client.patch(url, json={"client_key": "new", "by": "Léa"}).status_code == 422
    assert client.patch(url, json={"roi_target": 3}).status_code == 422  # who is required
    assert client.patch(f"/api/v1/tenants/{other.client_key}",
                        json={"roi_target": 3, "by": "x"}).status_code in (403, 404)
    assert TestClient(create_app(db=db)).patch(url, json={"roi_target": 3}).status_code == 401


def test_api_patch_platform_config_validates_like_the_cli_and_audits(db) -> None:
    t = new_tenant(db)
    client = TestClient(create_app(db=db))
    client.headers["X-API-Key"] = make_key(db, t)
    url = f"/api/v1/tenants/{t.client_key}/platform-configs/meta"
    r = client.patch(url, json={"target_roas": 2.5, "max_cpa": "40", "max_change_pct": 15,
                                "protect": ["120210000000000101"], "by": "Léa"})
    assert r.status_code == 200, r.text
    after = r.json()["after"]
    assert after["target_roas"] == "2.500" and after["max_cpa"] == "40.00"
    assert after["max_change_pct"] == "15.00" and after["protected_entity_ids"] == [
        "120210000000000101"]
    r = client.patch(url, json={"max_cpa": None, "by": "Léa"})  # null clears a nullable target
    assert r.status_code == 200 and r.json()["after"]["max_cpa"] is None
    bad = client.patch(url, json={"max_change_pct": 150, "fdr_q": 1, "by": "Léa"})
    assert bad.status_code == 422
    assert "--max-change-pct" in bad.text and "--fdr-q" in bad.text  # every problem named
    assert client.patch(url, json={"by": "Léa"}).status_code == 422  # nothing to change
    assert client.patch(f"/api/v1/tenants/{t.client_key}/platform-configs/myspace",
                        json={"max_cpa": 3, "by": "Léa"}).status_code == 422
    with db.tenant_tx(t.tenant_id) as conn:
        audit = conn.execute("select actor, action from ads.audit_log where object_type = "
                             "'platform_config'").fetchall()
    assert audit == [{"actor": "Léa", "action": "platform_config.updated"}] * 2
