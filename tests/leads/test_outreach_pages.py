"""The outreach and prospects pages in English and French; bulk approval through the form."""

from __future__ import annotations

from tests.dashboard.conftest import build_app, csrf_of, login, user
from tests.leads.conftest import q
from tests.leads.test_outreach_api import _campaign


def test_outreach_page_approves_in_bulk_in_both_languages(leads_env, db):
    t = leads_env["tenant"]
    _cid, ids = _campaign(leads_env)
    app = build_app(db)
    for lang, word in (("en", "Approval queue"), ("fr", "File d'approbation")):
        c = login(app, user(db, "media_buyer", lang=lang))
        page = c.get(f"/t/{t.client_key}/outreach")
        assert page.status_code == 200 and word in page.text, page.text[:500]
        assert c.get(f"/t/{t.client_key}/prospects").status_code == 200
    r = c.post(f"/t/{t.client_key}/outreach/decide",
               data={"decision": "approved", "email_id": [str(i) for i in ids[:2]],
                     "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert len(q(db, t, "select 1 from leads.outreach_emails where tenant_id = %s "
                        "and status = 'approved'")) == 2
    bad = c.post(f"/t/{t.client_key}/outreach/decide",
                 data={"decision": "approved", "email_id": [str(ids[2])], "csrf": "forged"})
    assert bad.status_code == 403
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    own = viewer.get(f"/t/{t.client_key}/outreach")
    assert own.status_code == 200 and 'data-testid="approve"' not in own.text
    r = viewer.post(f"/t/{t.client_key}/outreach/decide",
                    data={"decision": "approved", "email_id": [str(ids[2])],
                          "csrf": csrf_of(own.text)})
    assert r.status_code == 403


def test_sending_settings_are_changed_from_the_outreach_page(leads_env, db):
    t = leads_env["tenant"]
    app = build_app(db)
    c = login(app, user(db, "media_buyer", lang="fr"))
    page = c.get(f"/t/{t.client_key}/outreach")
    assert page.status_code == 200 and "Réglages d'envoi" in page.text
    form = {"business_hours_start": "8", "business_hours_end": "16", "per_domain_daily_cap": "2",
            "sender_name": "Ann", "postal_address": "1 rue X, Montréal", "tracking_enabled": "1",
            "csrf": csrf_of(page.text)}  # pacing unticked: off
    r = c.post(f"/t/{t.client_key}/outreach/settings", data=form)
    assert r.status_code == 303
    row = q(db, t, "select business_hours_start s, business_hours_end e, per_domain_daily_cap d, "
                   "send_pacing p, tracking_enabled k, postal_address a "
                   "from leads.outreach_settings where tenant_id = %s")[0]
    assert (row["s"], row["e"], row["d"], row["p"], row["k"], row["a"]) == \
        (8, 16, 2, False, True, "1 rue X, Montréal")
    # a bad value names its field and changes nothing; a forged form and a viewer are refused
    bad = c.post(f"/t/{t.client_key}/outreach/settings",
                 data={**form, "business_hours_start": "17", "per_domain_daily_cap": "9"})
    assert bad.status_code == 422 and "business_hours" in bad.text
    assert q(db, t, "select per_domain_daily_cap d from leads.outreach_settings "
                    "where tenant_id = %s")[0]["d"] == 2
    assert c.post(f"/t/{t.client_key}/outreach/settings",
                  data={**form, "csrf": "forged"}).status_code == 403
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    own = viewer.get(f"/t/{t.client_key}/outreach")
    assert 'data-testid="save-settings"' not in own.text
    assert viewer.post(f"/t/{t.client_key}/outreach/settings",
                       data={**form, "csrf": csrf_of(own.text)}).status_code == 403
