"""The leads dashboard pages in English and French, with actions through the forms."""

from __future__ import annotations

from growthops.leads.enrichment.service import enrich_leads
from tests.dashboard.conftest import build_app, csrf_of, login, user

LEAD = {"email": "jane@example.org", "name": "Jane", "message": "Bonjour, je voudrais un devis."}


def test_list_lead_and_insights_pages_in_both_languages(leads_env, db):
    t = leads_env["tenant"]
    r = leads_env["client"].post("/api/v1/leads", json=LEAD, headers={"X-API-Key": leads_env["key"]})
    lid = r.json()["lead_id"]
    with db.tenant_tx(t.tenant_id) as conn:
        enrich_leads(conn, tenant_id=t.tenant_id)
    app = build_app(db)
    for lang, word, intent in (("en", "Integration health", "Quote request"),
                               ("fr", "Santé de l'intégration", "Demande de devis")):
        c = login(app, user(db, "media_buyer", lang=lang))
        page = c.get(f"/t/{t.client_key}/leads")
        assert page.status_code == 200 and word in page.text and intent in page.text
        detail = c.get(f"/t/{t.client_key}/leads/{lid}")
        assert detail.status_code == 200 and LEAD["message"] in detail.text
        ins = c.post(f"/t/{t.client_key}/leads/insights", data={"csrf": csrf_of(detail.text)})
        assert ins.status_code == 303
        shown = c.get(f"/t/{t.client_key}/leads/insights")
        assert shown.status_code == 200 and "<svg" in shown.text
    r = c.post(f"/t/{t.client_key}/leads/{lid}/action",
               data={"action": "tag", "tag": "Chaud", "csrf": csrf_of(detail.text)})
    assert r.status_code == 303
    assert "Chaud" in c.get(f"/t/{t.client_key}/leads/{lid}").text


def test_a_viewer_of_another_tenant_gets_404_and_no_buttons_on_its_own(leads_env, db):
    from tests.conftest import new_tenant

    t = leads_env["tenant"]
    other = new_tenant(db)
    app = build_app(db)
    c = login(app, user(db, "client_viewer", tenant_id=other.tenant_id))
    assert c.get(f"/t/{t.client_key}/leads").status_code == 404
    own = c.get(f"/t/{other.client_key}/leads")
    assert own.status_code == 200
