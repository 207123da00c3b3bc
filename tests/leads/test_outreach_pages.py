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
