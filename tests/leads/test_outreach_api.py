"""Prospects and outreach over HTTP: CSV import (422 with every rejected row), templates,
campaigns, bulk approval, and the public links: an unsubscribe by GET changes nothing, the
one-click POST unsubscribes; pixel and click record classified events."""

from __future__ import annotations

from pathlib import Path

from tests.leads.conftest import q

DATA = Path(__file__).parent / "data"


def _base(env) -> str:
    return f"/api/v1/tenants/{env['tenant'].client_key}/leads"


def _h(env, ctype="application/json") -> dict:
    return {"X-API-Key": env["api_key"], "Content-Type": ctype}


def test_import_over_http_all_or_nothing(leads_env):
    c, base = leads_env["client"], _base(leads_env)
    r = c.post(f"{base}/prospects/import", content=(DATA / "bad.csv").read_bytes(),
               headers=_h(leads_env, "text/csv"))
    assert r.status_code == 422
    rejected = r.json()["error"]["details"]["report"]["rejected"]
    assert {(x["line"], x["column"]) for x in rejected} == {
        (3, "business_name"), (4, "website"), (5, "email"), (6, "employees"), (6, "language")}
    assert c.get(f"{base}/prospects", headers=_h(leads_env)).json()["total"] == 0
    r = c.post(f"{base}/prospects/import", content=b"x", headers=_h(leads_env))
    assert r.status_code == 415
    r = c.post(f"{base}/prospects/import?partial=true&map=contact_email:email",
               content=(DATA / "bad.csv").read_bytes(), headers=_h(leads_env, "text/csv"))
    assert r.status_code == 201 and r.json()["inserted"] == 1
    r = c.post(f"{base}/prospects/import", content=(DATA / "apollo.csv").read_bytes(),
               headers=_h(leads_env, "text/csv"))
    assert r.status_code == 201 and r.json()["source"] == "apollo"
    page = c.get(f"{base}/prospects", headers=_h(leads_env)).json()
    assert page["total"] == 4
    assert set(page["items"][0]["score_contributions"]) >= {"industry_reply", "size"}


def _campaign(leads_env) -> tuple[int, list[int]]:
    c, base = leads_env["client"], _base(leads_env)
    c.post(f"{base}/prospects/import", content=(DATA / "apollo.csv").read_bytes(),
           headers=_h(leads_env, "text/csv"))
    tpl = c.post(f"{base}/outreach/templates", headers=_h(leads_env), json={
        "name": "first", "subject": "Hello {{ business_name }}",
        "html_content": '<p>Hi {{ first_name }} <a href="https://x.example/a">a</a> '
                        '<a href="https://x.example/b">b</a></p>',
        "plain_content": "Hi {{ first_name }}\n{{ unsubscribe_url }}"})
    assert tpl.status_code == 201, tpl.text
    bad = c.post(f"{base}/outreach/templates", headers=_h(leads_env), json={
        "name": "bad", "subject": "{{ nope }}", "html_content": "x", "plain_content": "x"})
    assert bad.status_code == 422 and "nope" in bad.json()["error"]["message"]
    camp = c.post(f"{base}/outreach/campaigns", headers=_h(leads_env), json={
        "name": "spring", "template_id": tpl.json()["template_id"],
        "follow_ups": [{"delay_business_days": 2, "template_id": tpl.json()["template_id"]}]})
    assert camp.status_code == 201, camp.text
    cid = camp.json()["campaign_id"]
    gen = c.post(f"{base}/outreach/campaigns/{cid}/generate", headers=_h(leads_env))
    assert gen.status_code == 201 and gen.json()["created"] == 3
    pending = c.get(f"{base}/outreach/emails", headers=_h(leads_env)).json()
    return cid, [e["email_id"] for e in pending]


def test_bulk_approval_and_campaign_figures(leads_env):
    c, base = leads_env["client"], _base(leads_env)
    cid, ids = _campaign(leads_env)
    assert len(ids) == 3
    r = c.post(f"{base}/outreach/emails/approve", headers=_h(leads_env),
               json={"email_ids": ids[:2]})
    assert r.status_code == 200 and r.json()["changed"] == ids[:2]
    rows = q(leads_env["db"], leads_env["tenant"], """select approved_by from
             leads.outreach_emails where tenant_id = %s and status = 'approved'""")
    assert len(rows) == 2 and rows[0]["approved_by"].startswith("apikey:")
    figures = c.get(f"{base}/outreach/campaigns", headers=_h(leads_env)).json()
    assert figures[0]["campaign_id"] == cid and figures[0]["pending"] == 1
    r = c.post(f"{base}/outreach/suppressions", headers=_h(leads_env),
               json={"email": "@leelaw.example"})
    assert r.status_code == 201
    states = {r["state"] for r in q(leads_env["db"], leads_env["tenant"],
                                    "select state from leads.outreach_sequences where tenant_id = %s")}
    assert "unsubscribed" in states


def test_unsubscribe_get_changes_nothing_post_unsubscribes(leads_env):
    c = leads_env["client"]
    _campaign(leads_env)
    t = leads_env["tenant"]
    tok = q(leads_env["db"], t, """select token, prospect_email from leads.outreach_emails
            where tenant_id = %s order by email_id limit 1""")[0]
    for _ in range(3):  # a link scanner following the link
        page = c.get(f"/o/u/{tok['token']}", headers={"User-Agent": "Barracuda scanner"})
        assert page.status_code == 200 and 'method="post"' in page.text
    c.head(f"/o/u/{tok['token']}")
    assert q(leads_env["db"], t, "select * from leads.suppression_list where tenant_id = %s") == []
    assert c.get("/o/u/unknown-token-xyz").status_code == 404
    r = c.post(f"/o/u/{tok['token']}", content=b"List-Unsubscribe=One-Click",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and 'data-testid="unsubscribed"' in r.text
    assert c.post(f"/o/u/{tok['token']}").status_code == 200  # idempotent
    sup = q(leads_env["db"], t, "select email_norm, reason from leads.suppression_list "
                                "where tenant_id = %s")
    assert sup == [{"email_norm": tok["prospect_email"].lower(), "reason": "unsubscribe"}]
    assert c.get(f"/o/u/{tok['token']}?lang=fr").status_code == 200


def test_pixel_and_click_record_classified_events(leads_env):
    c = leads_env["client"]
    _campaign(leads_env)
    db, t = leads_env["db"], leads_env["tenant"]
    with db.tenant_tx(t.tenant_id) as conn:
        row = conn.execute("""update leads.outreach_emails set status = 'sent',
              sent_at = now() - interval '1 hour' where tenant_id = %s and email_id =
              (select min(email_id) from leads.outreach_emails where tenant_id = %s)
              returning token, links""", [t.tenant_id, t.tenant_id]).fetchone()
    r = c.get(f"/o/o/{row['token']}.gif", headers={"User-Agent": "Mozilla/5.0"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    r = c.get(f"/o/c/{row['token']}/1", follow_redirects=False,
              headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"})
    assert r.status_code == 302 and r.headers["location"] == row["links"][1]
    assert c.head(f"/o/c/{row['token']}/0", follow_redirects=False).status_code == 302
    assert c.get(f"/o/c/{row['token']}/9", follow_redirects=False).status_code == 404
    assert c.get("/o/o/nope-nope-nope.gif").status_code == 200  # never an error image
    ev = q(db, t, """select action, is_machine, machine_rule from leads.outreach_tracking
                     where tenant_id = %s order by event_id""")
    assert ev == [{"action": "opened", "is_machine": True, "machine_rule": "apple_mpp"},
                  {"action": "clicked", "is_machine": False, "machine_rule": None},
                  {"action": "clicked", "is_machine": True, "machine_rule": "head_request"}]


def test_sending_settings_over_http(leads_env):
    c, base = leads_env["client"], _base(leads_env)
    got = c.get(f"{base}/outreach/settings", headers=_h(leads_env))
    assert got.status_code == 200
    assert (got.json()["business_hours_start"], got.json()["send_pacing"]) == (9, True)
    r = c.patch(f"{base}/outreach/settings", headers=_h(leads_env),
                json={"business_hours_end": 15, "send_pacing": False, "postal_address": " 1 rue X "})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["business_hours_start"], body["business_hours_end"], body["send_pacing"],
            body["postal_address"]) == (9, 15, False, "1 rue X")
    bad = c.patch(f"{base}/outreach/settings", headers=_h(leads_env),
                  json={"business_hours_start": 16, "per_domain_daily_cap": 7})
    assert bad.status_code == 422 and "business_hours" in bad.text
    unknown = c.patch(f"{base}/outreach/settings", headers=_h(leads_env), json={"bogus": 1})
    assert unknown.status_code == 422
    after = c.get(f"{base}/outreach/settings", headers=_h(leads_env)).json()
    assert after == body  # nothing of the refused changes was stored
