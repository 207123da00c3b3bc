"""End to end in a real headless Chromium (Debian's, driven by Playwright; no browser download).

uvicorn serves the app (API + dashboard) on 127.0.0.1 in a thread against the test database; a
sandbox account's daily cycle produced suggestions. The browser logs in, opens the queue,
approves a suggestion (htmx re-renders its card in place), sees it executed on the sandbox
account, opens the entity page and finds the execution there. Screenshots go to
``test-artifacts/`` (gitignored): ``dashboard-e2e.png`` (entity page) and
``dashboard-e2e-queue.png`` (the queue after the approval).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from tests.dashboard.conftest import PASSWORD, build_app, q, sandbox_tenant, user

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run "
           "the browser test (Playwright's own browser download is not used)")


@pytest.fixture()
def server(db):
    """Serve the app with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(build_app(db), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_login_approve_execute_and_see_it_on_the_entity_page(db, server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from growthops.connectors.sandbox import SandboxAccount

    tenant = sandbox_tenant(db, client_name="Atelier Lumière")
    buyer = user(db, "media_buyer")
    (s,) = q(db, tenant.tenant_id, """
        select suggestion_id, type, entity_type, entity_id, action_params from ads.suggestions
        where tenant_id = %s and status = 'pending' and type in ('pause', 'budget_decrease')
        order by array_position(array['critical', 'high', 'medium', 'low'], priority),
                 confidence desc, suggestion_id limit 1""")
    sid = s["suggestion_id"]
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            # 1. login (the queue redirects to the login page and back)
            page.goto(f"{server}/t/{tenant.client_key}/suggestions")
            assert "/login" in page.url
            page.fill("input[name=email]", buyer.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/t/{tenant.client_key}/suggestions")
            # 2. the queue: the suggestion's card, with its reason and interval
            card = page.locator(f"#s-{sid}")
            assert card.get_attribute("data-status") == "pending"
            assert "80% interval" in card.inner_text()
            # 3. approve with a note, in place (htmx swaps the card; the page does not reload)
            page.evaluate("window.__same_page = true")
            card.locator("input[name=notes]").fill("cut the losers before the weekend")
            card.locator("button[value=approved]").click()
            outcome = page.locator(f"#s-{sid} [data-testid=outcome]")
            outcome.wait_for()
            assert page.evaluate("window.__same_page") is True
            assert page.locator(f"#s-{sid}").get_attribute("data-status") == "executed"
            assert "Executed on the account" in outcome.inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard-e2e-queue.png"), full_page=False)
            # 4. the entity page lists the execution
            page.locator(f"#s-{sid} a.entity").click()
            page.wait_for_load_state()
            row = page.locator(f"#executions tr[data-suggestion='{sid}']")
            assert "applied" in row.inner_text()
            assert page.locator("figure.chart svg").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            assert page.locator("[data-testid=period]").inner_text().strip()
            page.screenshot(path=str(ARTIFACTS / "dashboard-e2e.png"), full_page=True)
        finally:
            browser.close()

    # executed on the sandbox account, by the person who clicked
    with db.tenant_tx(tenant.tenant_id) as conn:
        live = SandboxAccount.load(conn, tenant_id=tenant.tenant_id).get_entity(s["entity_id"])
    if s["type"] == "pause":
        assert live.status == "paused"
    else:
        assert float(live.daily_budget) == pytest.approx(s["action_params"]["daily_budget"]["to"])
    (x,) = q(db, tenant.tenant_id, "select status, executed_by from ads.execution_logs "
             "where tenant_id = %s and suggestion_id = %s", sid)
    assert x == {"status": "applied", "executed_by": buyer.email}
    assert (ARTIFACTS / "dashboard-e2e.png").stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_inbox_list_thread_and_reply_in_the_browser(db, server, lang):
    """A support agent opens the inbox, the thread, replies (htmx, no reload) and sees it sent."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.dashboard.test_inbox_pages import inbox_world

    tenant, convs = inbox_world(db)
    agent = user(db, "support_agent", tenant_id=tenant.tenant_id, lang=lang)
    texts = {"en": ("Inbox", "WhatsApp free-form message allowed until", "Sent ("),
             "fr": ("Messagerie", "Message libre WhatsApp autorisé jusqu", "Envoyé (")}[lang]
    reply = {"en": "Your parcel leaves today.", "fr": "Votre colis part aujourd'hui."}[lang]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(f"{server}/t/{tenant.client_key}/inbox")
            page.fill("input[name=email]", agent.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/t/{tenant.client_key}/inbox")
            assert texts[0] in page.title()
            rows = page.locator("[data-testid=conversations] tbody tr")
            assert rows.count() == 2
            page.screenshot(path=str(ARTIFACTS / f"inbox-e2e-list-{lang}.png"), full_page=True)
            page.locator(f"tr[data-conversation='{convs['whatsapp']}'] a").click()
            page.wait_for_url(f"{server}/t/{tenant.client_key}/inbox/{convs['whatsapp']}")
            assert texts[1] in page.locator("[data-testid=window]").inner_text()
            page.evaluate("window.__same_page = true")
            page.fill("textarea[name=text]", reply)
            page.click("[data-testid=send]")
            page.locator("[data-testid=flash]").wait_for()
            assert texts[2] in page.locator("[data-testid=flash]").inner_text()
            assert page.evaluate("window.__same_page") is True
            assert reply in page.locator("[data-testid=thread]").inner_text()
            assert page.locator("[data-testid=ticks]").count() == 1
            page.screenshot(path=str(ARTIFACTS / f"inbox-e2e-thread-{lang}.png"), full_page=True)
        finally:
            browser.close()
    (m,) = q(db, tenant.tenant_id, "select author, status from inbox.conversation_messages "
             "where tenant_id = %s and direction = 'outbound'")
    assert m == {"author": agent.email, "status": "sent"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_media_buyer_morning_overview_queue_entity_and_report(db, server, lang):
    """Issue 9: the first page with each client's latest day, the compact queue and a bulk
    refusal, an entity page and the HTML report, in English and French; screenshots in
    ``test-artifacts/`` (``buyer-overview-LANG.png``, ``buyer-queue-LANG.png``,
    ``buyer-entity-LANG.png``, ``buyer-report-LANG.png``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from growthops.ads.reporting.report import latest_as_of, write_report

    tenant = sandbox_tenant(db, client_name=f"Maison Buyer {lang}")
    buyer = user(db, "media_buyer", lang=lang)
    ARTIFACTS.mkdir(exist_ok=True)
    report = write_report(db, tenant_id=tenant.tenant_id, lang=lang,
                          as_of=latest_as_of(db, tenant_id=tenant.tenant_id),
                          out=ARTIFACTS / f"buyer-report-{lang}.html")
    words = {"en": ("yesterday", "Compact list", "suggestions decided", "Refuse selected"),
             "fr": ("hier", "Liste compacte", "suggestions décidées", "Refuser la sélection")}[lang]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(f"{server}/login")
            page.fill("input[name=email]", buyer.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/")
            # 1. the first page: the client's own latest day, and how old it is
            row = page.locator(f"tr[data-client='{tenant.client_key}']")
            cell = row.locator("[data-testid=last-day]").inner_text()
            assert words[0] in cell
            assert "no data" not in row.inner_text() and "aucune donnée" not in row.inner_text()
            table = page.locator("table.overview")
            assert table.bounding_box()["width"] <= 1400  # not cut off
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # no h-scroll
            page.screenshot(path=str(ARTIFACTS / f"buyer-overview-{lang}.png"), full_page=True)
            # 2. the compact queue, a bulk refusal with one note
            page.goto(f"{server}/t/{tenant.client_key}/suggestions")
            page.click("[data-testid=compact-link]")
            page.wait_for_load_state()
            assert words[1] in page.inner_text("p.views")
            boxes = page.locator("input[name=ids]")
            assert boxes.count() >= 2
            boxes.nth(0).check()
            boxes.nth(1).check()
            page.fill("#bulk input[name=notes]", "batch")
            page.click(f"#bulk button:has-text('{words[3]}')")
            page.locator("[data-testid=bulk-outcome]").wait_for()
            assert words[2] in page.inner_text("[data-testid=bulk-outcome]")
            page.screenshot(path=str(ARTIFACTS / f"buyer-queue-{lang}.png"), full_page=True)
            # 3. an entity page
            page.goto(f"{server}/t/{tenant.client_key}/suggestions?status=all")
            page.locator("a.entity").first.click()
            page.wait_for_load_state()
            assert page.locator("figure.chart svg").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            assert page.locator("[data-testid=period]").inner_text().strip()
            page.screenshot(path=str(ARTIFACTS / f"buyer-entity-{lang}.png"), full_page=True)
            # 4. the offline HTML report
            page.goto(report.as_uri())
            text = page.inner_text("body")
            assert "value_lost" not in text and "spend_saved" not in text
            page.screenshot(path=str(ARTIFACTS / f"buyer-report-{lang}.png"), full_page=True)
        finally:
            browser.close()
