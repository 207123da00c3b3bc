"""The settings and anomalies pages in a real headless Chromium (see ``test_e2e.py``): a refused
value shown next to its field, then saved; an anomaly resolved with a note. Screenshots in
``test-artifacts/``: ``settings-e2e.png`` (the refused form) and ``anomalies-e2e.png``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import new_tenant
from tests.dashboard.conftest import PASSWORD, q, user
from tests.dashboard.test_e2e import ARGS, ARTIFACTS, CHROMIUM, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is absent")


def test_settings_error_next_to_the_field_then_saved_and_an_anomaly_resolved(db, server):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    t = new_tenant(db, client_name="Atelier Lumière")
    with db.tenant_tx(t.tenant_id) as conn:
        (aid,) = [r["anomaly_id"] for r in conn.execute(
            """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,
                   anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,
                   severity, method)
               values (%s, %s, 'meta', 'campaign', 'c1', 'Prospecting', 'spike', 'cpa', 20, 35,
                       0.75, 0.001, 0.01, 'high', 'robust_z') returning anomaly_id""",
            [t.tenant_id, date(2026, 3, 10)]).fetchall()]
    admin = user(db, "admin", lang="fr")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(10_000)
            page.goto(f"{server}/t/{t.client_key}/settings")
            page.fill("input[name=email]", admin.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/t/{t.client_key}/settings")
            form = page.locator("#tenant-settings")
            form.locator("input[name=roi_target]").fill("-2")
            form.locator("input[name=monthly_budget_max]").fill("15 000")
            form.locator("button[type=submit]").click()
            err = page.locator('[data-field="roi_target"]')
            assert err.inner_text() == "Doit être supérieur à 0."
            assert form.locator("input[name=roi_target]").get_attribute("aria-invalid") == "true"
            page.screenshot(path=str(ARTIFACTS / "settings-e2e.png"), full_page=True)
            assert q(db, t.tenant_id, "select monthly_budget_max from core.tenants "
                                      "where tenant_id = %s")[0]["monthly_budget_max"] is None
            form.locator("input[name=roi_target]").fill("2,5")
            form.locator("button[type=submit]").click()
            page.wait_for_url(f"{server}/t/{t.client_key}/settings?saved=1")
            assert page.locator(".flash.ok").inner_text() == "Enregistré."
            row = q(db, t.tenant_id, "select roi_target, monthly_budget_max from core.tenants "
                                     "where tenant_id = %s")[0]
            assert row == {"roi_target": Decimal("2.500"), "monthly_budget_max": Decimal("15000.00")}

            page.click("nav.tabs >> text=Anomalies")
            page.wait_for_url(f"{server}/t/{t.client_key}/anomalies")
            card = page.locator(f'[data-testid="anomaly-{aid}"]')
            card.locator("input[name=note]").fill("pixel réparé")
            card.locator('button[value="resolved"]').click()
            page.wait_for_url(f"**/anomalies?status=open#a-{aid}")
            assert page.locator(f'[data-testid="anomaly-{aid}"]').count() == 0  # closed: not open
            page.select_option("select[name=status]", "closed")
            page.click("form.filters button[type=submit]")
            card = page.locator(f'[data-testid="anomaly-{aid}"]')
            assert "pixel réparé" in card.inner_text() and admin.email in card.inner_text()
            page.screenshot(path=str(ARTIFACTS / "anomalies-e2e.png"), full_page=True)
        finally:
            browser.close()
