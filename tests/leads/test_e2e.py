"""The leads pages in a real headless Chromium (Debian's, Playwright; no browser download), in
English and in French: list, a lead's page (convert, note), insights with charts. Screenshots go
to ``test-artifacts/`` (gitignored): ``leads-list-en.png``, ``leads-lead-fr.png``,
``leads-insights-fr.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthops.leads.enrichment.service import enrich_leads
from tests.dashboard.conftest import PASSWORD, user
from tests.dashboard.test_e2e import ARGS, ARTIFACTS, CHROMIUM, server  # noqa: F401

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent")
MESSAGES = ["URGENT: our checkout is down, please call me back today!",
            "Bonjour, je souhaiterais un devis pour la refonte de notre site.",
            "Could we book a demo next week?"]


def _login(page, base: str, who, target: str) -> None:
    page.goto(base + target)
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + target)


def test_leads_pages_in_english_and_french(db, server, leads_env):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    t = leads_env["tenant"]
    ids = [leads_env["client"].post("/api/v1/leads", json={"email": f"p{i}@example.org",
                                                           "name": f"P{i}", "message": m},
                                    headers={"X-API-Key": leads_env["key"]}).json()["lead_id"]
           for i, m in enumerate(MESSAGES)]
    with db.tenant_tx(t.tenant_id) as conn:
        enrich_leads(conn, tenant_id=t.tenant_id)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            _login(page, server, user(db, "media_buyer", lang="en"), f"/t/{t.client_key}/leads")
            rows = page.locator("table[data-testid=leads] tbody tr")
            assert rows.count() == 3
            assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Leads"
            assert "Integration health" in page.inner_text("[data-testid=health]")
            page.screenshot(path=str(ARTIFACTS / "leads-list-en.png"), full_page=True)
            page.locator("form[action='/lang'] button").click()  # switch to French
            page.wait_for_load_state()
            page.click(f"a[href='/t/{t.client_key}/leads/{ids[1]}']")
            page.wait_for_load_state()
            assert "Lecture de l'IA" in page.content() or "Lecture de l&#39;IA" in page.content()
            page.click("[data-testid=convert]")
            page.wait_for_load_state()
            page.fill("textarea[name=note]", "Rappelée, devis envoyé")
            page.click("[data-testid=add-note]")
            page.wait_for_load_state()
            assert "Rappelée, devis envoyé" in page.inner_text("[data-testid=note]")
            assert "converti" in page.inner_text("[data-testid=journal]")
            page.screenshot(path=str(ARTIFACTS / "leads-lead-fr.png"), full_page=True)
            page.goto(f"{server}/t/{t.client_key}/leads/insights")
            page.click("[data-testid=recompute]")
            page.wait_for_load_state()
            assert page.locator(".charts svg").count() >= 3
            assert "Recommandations" in page.content()
            assert "Analyses des leads" in page.inner_text("nav.tabs")
            page.screenshot(path=str(ARTIFACTS / "leads-insights-fr.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "leads-insights-fr.png").stat().st_size > 10_000
