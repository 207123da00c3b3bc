"""The dashboard's settings page: current values in English and French, a change saved and
audited through the same service as the CLI and the API, invalid input refused field by field
with nothing saved, products and funnels, a viewer who cannot change, another tenant unreachable."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import new_tenant
from tests.dashboard.conftest import build_app, csrf_of, login, q, sandbox_tenant, user

FORM = {"client_name": "Alpha Coaching", "roi_target": "3", "monthly_budget_max": "",
        "currency": "EUR", "time_zone": "Europe/Paris", "slack_validation_channel": "",
        "slack_channel_id": "", "max_cpa:meta": ""}


@pytest.fixture(scope="module")
def site(db: Any) -> dict[str, Any]:
    a = new_tenant(db, client_name="Alpha Coaching", monthly_budget_max=Decimal("9000"))
    b = new_tenant(db, client_name="Beta Shop")
    app = build_app(db)
    return {"app": app, "a": a, "b": b, "admin": login(app, user(db, "admin")),
            "fr": login(app, user(db, "media_buyer", lang="fr")),
            "viewer": login(app, user(db, "client_viewer", tenant_id=a.tenant_id))}


def tenant_row(db: Any, t: Any) -> dict[str, Any]:
    return q(db, t.tenant_id, "select * from core.tenants where tenant_id = %s")[0]


def audit(db: Any, t: Any) -> list[dict[str, Any]]:
    return q(db, t.tenant_id, "select message, context from core.system_logs where tenant_id = %s "
             "and module = 'growthops.core.tenants' order by id")


def field_error(html: str, name: str) -> str:
    m = re.search(rf'data-field="{re.escape(name)}" role="alert">([^<]+)<', html)
    assert m, f"no error next to {name}"
    return m.group(1)


def test_page_shows_current_values_in_english_and_french(site: Any) -> None:
    key = site["a"].client_key
    en = site["admin"].get(f"/t/{key}/settings")
    assert en.status_code == 200
    assert 'name="monthly_budget_max" value="9000.00"' in en.text
    assert 'name="time_zone" value="Europe/Paris"' in en.text and 'name="max_cpa:meta"' in en.text
    assert "Targets, budget and channels" in en.text and "Monthly budget limit" in en.text
    assert f'href="/t/{key}/settings" aria-current="page"' in en.text  # in the tenant's tabs
    fr = site["fr"].get(f"/t/{key}/settings")
    assert fr.status_code == 200 and 'value="9000.00"' in fr.text
    assert "Objectifs, budget et canaux" in fr.text and "Plafond de budget mensuel" in fr.text
    assert "Réglages" in fr.text
    assert '<option value="webinar">webinaire</option>' in fr.text  # codes shown in French
    assert '<option value="deprecated">retiré</option>' in fr.text
    assert '<option value="weekly" selected>every week</option>' in en.text


def test_post_changes_and_audits_through_the_shared_service(db: Any, site: Any) -> None:
    t = new_tenant(db, client_name="Gamma")
    client = site["admin"]
    page = client.get(f"/t/{t.client_key}/settings").text
    form = {**FORM, "client_name": "Gamma", "roi_target": "4,5", "monthly_budget_max": "12 000",
            "time_zone": "America/New_York", "slack_validation_channel": "#gamma-ads",
            "max_cpa:meta": "35", "allocation_cadence:meta": "daily", "csrf": csrf_of(page)}
    r = client.post(f"/t/{t.client_key}/settings", data=form)
    assert r.status_code == 303 and r.headers["location"].endswith("/settings?saved=1")
    row = tenant_row(db, t)
    assert row["roi_target"] == Decimal("4.5") and row["monthly_budget_max"] == Decimal("12000")
    assert row["time_zone"] == "America/New_York" and row["slack_validation_channel"] == "#gamma-ads"
    cfg = q(db, t.tenant_id, "select max_cpa, allocation_cadence from ads.platform_configs "
            "where tenant_id = %s")
    assert cfg[0]["max_cpa"] == Decimal("35") and cfg[0]["allocation_cadence"] == "daily"
    logged = audit(db, t)
    assert len(logged) == 1 and "tenant updated by" in logged[0]["message"]
    ctx = logged[0]["context"]
    assert ctx["by"].startswith("admin-") and ctx["before"]["roi_target"] == "3.000"
    assert ctx["after"]["time_zone"] == "America/New_York"
    trail = q(db, t.tenant_id, "select actor, action from ads.audit_log where tenant_id = %s "
              "and action = 'platform_config.updated'")
    assert len(trail) == 1 and trail[0]["actor"].startswith("admin-")
    shown = client.get(f"/t/{t.client_key}/settings?saved=1").text
    assert "Saved." in shown, shown
    assert "changed Target ROAS (conversion value / spend), Monthly budget limit, " in shown
    fr = site["fr"].get(f"/t/{t.client_key}/settings").text
    assert "a modifié ROAS cible (valeur des conversions / dépense), Plafond" in fr  # history
    # the same form again changes nothing and audits nothing
    assert client.post(f"/t/{t.client_key}/settings", data=form).status_code == 303
    assert len(audit(db, t)) == 1


@pytest.mark.parametrize(("field", "value", "en", "fr"), [
    ("roi_target", "-1", "Must be greater than 0.", "Doit être supérieur à 0."),
    ("roi_target", "", "Required.", "Obligatoire."),
    ("monthly_budget_max", "abc", "Must be a number.", "Doit être un nombre."),
    ("currency", "EURO", "ISO 4217", "ISO 4217"),
    ("time_zone", "Mars/Olympus", "Unknown time zone", "Fuseau horaire inconnu"),
    ("max_cpa:meta", "-5", "-5 must be &gt; 0", "-5 doit être &gt; 0"),
    ("allocation_cadence:meta", "hourly", "&#39;hourly&#39; is not one of", "hourly"),
])
def test_invalid_input_changes_nothing_and_names_the_field(db: Any, site: Any, field: str,
                                                           value: str, en: str, fr: str) -> None:
    t = site["a"]
    before = tenant_row(db, t)
    logged = len(audit(db, t))
    for client, text in ((site["admin"], en), (site["fr"], fr)):
        page = client.get(f"/t/{t.client_key}/settings").text
        # a valid change elsewhere in the same form is not saved either
        r = client.post(f"/t/{t.client_key}/settings",
                        data={**FORM, "slack_validation_channel": "#new", field: value,
                              "csrf": csrf_of(page)})
        assert r.status_code == 422
        assert text in field_error(r.text, field)
        if not field.startswith("allocation_cadence"):  # a select: the choices stay
            assert f'value="{value}"' in r.text  # what was typed is kept
    assert tenant_row(db, t) == before and len(audit(db, t)) == logged
    assert not q(db, t.tenant_id, "select 1 from ads.platform_configs where tenant_id = %s")


def test_currency_locked_once_metrics_exist(db: Any, site: Any) -> None:
    t = sandbox_tenant(db, cycle=False)
    client = site["admin"]
    page = client.get(f"/t/{t.client_key}/settings").text
    r = client.post(f"/t/{t.client_key}/settings",
                    data={**FORM, "client_name": t.client_name, "currency": "USD",
                          "roi_target": "5", "csrf": csrf_of(page)})
    assert r.status_code == 422 and "cannot change" in field_error(r.text, "currency")
    row = tenant_row(db, t)
    assert row["currency"] == "EUR" and row["roi_target"] == Decimal("3.000")


def test_products_and_funnels(db: Any, site: Any) -> None:
    t = new_tenant(db)
    client = site["admin"]
    csrf = csrf_of(client.get(f"/t/{t.client_key}/settings").text)
    base = f"/t/{t.client_key}/settings"
    bad = client.post(f"{base}/products", data={"product_name": "", "price": "-3",
                                                 "status": "active", "csrf": csrf})
    assert bad.status_code == 422
    assert field_error(bad.text, "product_name") == "Required."
    assert "at least 0" in field_error(bad.text, "price")
    assert not q(db, t.tenant_id, "select 1 from core.products where tenant_id = %s")
    ok = client.post(f"{base}/products", data={"product_name": "Bootcamp", "price": "2997",
                                                "product_type": "course", "status": "active",
                                                "csrf": csrf})
    assert ok.status_code == 303
    pid = q(db, t.tenant_id, "select product_id from core.products where tenant_id = %s")[0]["product_id"]
    funnel = {"funnel_name": "Webinar", "funnel_type": "webinar",
              "stages": "Lead\nWebinar\nApplication",
              "conversion_benchmarks": "lead_to_webinar = 40%\nwebinar_to_application = 0.2",
              "product_id": str(pid), "csrf": csrf}
    wrong = client.post(f"{base}/funnels", data={**funnel, "conversion_benchmarks": "lead_to_sale = 0.2"})
    assert wrong.status_code == 422
    assert field_error(wrong.text, "conversion_benchmarks") == (
        "lead_to_sale: not two consecutive stages (expected: lead_to_webinar, "
        "webinar_to_application).")
    fr = site["fr"].post(f"{base}/funnels", data={**funnel, "conversion_benchmarks": "lead_to_webinar = 2",
                                                   "csrf": csrf_of(site["fr"].get(base).text)})
    assert fr.status_code == 422
    assert field_error(fr.text, "conversion_benchmarks") == (
        "lead_to_webinar : 2 n&#39;est pas une fraction entre 0 et 1.")
    assert client.post(f"{base}/funnels", data=funnel).status_code == 303
    f = q(db, t.tenant_id, "select * from core.funnels where tenant_id = %s")
    assert len(f) == 1 and f[0]["stages"] == ["Lead", "Webinar", "Application"]
    assert f[0]["conversion_benchmarks"] == {"lead_to_webinar": 0.4, "webinar_to_application": 0.2}
    assert f[0]["product_id"] == pid
    # change the product's price; the funnel diagnosis reads it
    assert client.post(f"{base}/products", data={"product_id": str(pid), "product_name": "Bootcamp",
                                                  "price": "3500", "product_type": "course",
                                                  "status": "active", "csrf": csrf}).status_code == 303
    assert q(db, t.tenant_id, "select price from core.products where tenant_id = %s")[0]["price"] == Decimal("3500")
    messages = [r["message"] for r in audit(db, t)]
    assert len(messages) == 3 and "product" in messages[0] and "funnel" in messages[1]
    assert json.dumps(audit(db, t)[2]["context"]["before"]) == '{"price": "2997.00"}'
    page = client.get(base).text
    assert "Bootcamp" in page and "webinar_to_application = 0.2" in page
    assert "added funnel" in page and f"changed product {pid}: price" in page
    # the funnel's campaigns: one per line or comma-separated, duplicates dropped, shown back
    fid = f[0]["funnel_id"]
    r = client.post(f"{base}/funnels", data={**funnel, "funnel_id": str(fid),
                                              "campaign_ids": "c-101\nc-102, c-101\n"})
    assert r.status_code == 303
    assert q(db, t.tenant_id, "select campaign_ids from core.funnels where tenant_id = %s"
             )[0]["campaign_ids"] == ["c-101", "c-102"]
    assert '<textarea name="campaign_ids" rows="3">c-101\nc-102</textarea>' in client.get(base).text
    long_id = client.post(f"{base}/funnels", data={**funnel, "funnel_id": str(fid),
                                                    "campaign_ids": "x" * 201})
    assert long_id.status_code == 422
    assert field_error(long_id.text, "campaign_ids") == "Each campaign id needs 1 to 200 characters."


def test_viewer_cannot_change_and_other_tenant_unreachable(db: Any, site: Any) -> None:
    a, b = site["a"], site["b"]
    viewer = site["viewer"]
    page = viewer.get(f"/t/{a.client_key}/settings")
    assert page.status_code == 200 and 'type="submit"' not in page.text and " disabled" in page.text
    before = tenant_row(db, a)
    for path in ("", "/products", "/funnels"):
        r = viewer.post(f"/t/{a.client_key}/settings{path}",
                        data={**FORM, "roi_target": "9", "product_name": "X", "funnel_name": "X",
                              "csrf": csrf_of(page.text)})
        assert r.status_code == 403
    assert tenant_row(db, a) == before
    assert viewer.get(f"/t/{b.client_key}/settings").status_code == 404
    r = viewer.post(f"/t/{b.client_key}/settings", data={**FORM, "csrf": csrf_of(page.text)})
    assert r.status_code == 404 and tenant_row(db, b)["roi_target"] == Decimal("3.000")
    # staff without the CSRF token: refused
    assert site["admin"].post(f"/t/{a.client_key}/settings",
                              data={**FORM, "csrf": "wrong"}).status_code == 403


def test_slack_settings_saved_audited_and_refused_field_by_field(db: Any, site: Any) -> None:
    from growthops.ads.reporting.slack_threads import tenant_prefs

    t = new_tenant(db, client_name="Gamma Ads", slack_channel_id="CVALID01")
    admin, key = site["admin"], t.client_key
    page = admin.get(f"/t/{key}/settings")
    assert page.status_code == 200 and 'id="slack-settings"' in page.text
    assert '<option value="threads" selected>' in page.text  # the defaults
    assert '<option value="high" selected>' in page.text
    form = {"lang": "fr", "alerts_channel": "#alertes-ads", "mode": "both",
            "alert_min_severity": "medium", "csrf": csrf_of(page.text)}
    r = admin.post(f"/t/{key}/settings/slack", data=form)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=1#slack")
    with db.tenant_tx(t.tenant_id) as conn:
        prefs = tenant_prefs(conn, tenant_id=t.tenant_id)
    assert (prefs["lang"], prefs["alerts_channel"], prefs["mode"], prefs["alert_min_severity"]) \
        == ("fr", "#alertes-ads", "both", "medium")
    logs = q(db, t.tenant_id, "select context from core.system_logs where tenant_id = %s "
             "and module = 'growthops.ads.slack' order by id")
    assert len(logs) == 1 and logs[0]["context"]["by"].startswith("admin-")
    assert logs[0]["context"]["before"] == {"lang": None, "alerts_channel": None, "mode": None,
                                            "alert_min_severity": None}
    assert logs[0]["context"]["after"]["alerts_channel"] == "#alertes-ads"
    # The same values again: nothing to audit.
    assert admin.post(f"/t/{key}/settings/slack", data=form).status_code == 303
    assert len(q(db, t.tenant_id, "select 1 from core.system_logs where tenant_id = %s "
                 "and module = 'growthops.ads.slack'")) == 1
    shown = admin.get(f"/t/{key}/settings").text
    assert 'name="alerts_channel" value="#alertes-ads"' in shown
    assert '<option value="both" selected>' in shown and '<option value="fr" selected>' in shown
    assert "changed the Slack settings: Language of the Slack messages" in shown
    fr = site["fr"].get(f"/t/{key}/settings").text
    assert "Langue des messages Slack" in fr and "a modifié les réglages Slack" in fr
    # Clearing the channel and the language: back to the defaults.
    r = admin.post(f"/t/{key}/settings/slack", data={**form, "lang": "", "alerts_channel": ""})
    assert r.status_code == 303
    with db.tenant_tx(t.tenant_id) as conn:
        prefs = tenant_prefs(conn, tenant_id=t.tenant_id)
    assert prefs["alerts_channel"] == "CVALID01" and prefs["lang"] == "en"
    # Refused: named next to the field, nothing saved; in French for a French user.
    bad = admin.post(f"/t/{key}/settings/slack", data={**form, "alerts_channel": "two words"})
    assert bad.status_code == 422
    assert field_error(bad.text, "alerts_channel").startswith("A channel id or #name")
    assert 'value="two words"' in bad.text
    fr_csrf = csrf_of(site["fr"].get(f"/t/{key}/settings").text)
    bad = site["fr"].post(f"/t/{key}/settings/slack",
                          data={**form, "mode": "every", "csrf": fr_csrf})
    assert bad.status_code == 422 and "threads, digest, both" in field_error(bad.text, "mode")
    with db.tenant_tx(t.tenant_id) as conn:
        assert tenant_prefs(conn, tenant_id=t.tenant_id)["mode"] == "both"
    # A viewer cannot change it; another tenant's settings are unreachable.
    viewer = site["viewer"]
    own = site["a"].client_key
    assert viewer.post(f"/t/{own}/settings/slack",
                       data={**form, "csrf": csrf_of(viewer.get(f"/t/{own}/settings").text)}
                       ).status_code == 403
    assert 'name="alerts_channel" value="" maxlength="200" disabled' in viewer.get(
        f"/t/{own}/settings").text
    assert viewer.post(f"/t/{key}/settings/slack", data=form).status_code == 404
