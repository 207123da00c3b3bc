"""The dashboard as a media buyer lives with it (issue 9): the first page on old data, the queue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from growthops.ads import pages_data as data
from growthops.ads.metrics.synthetic import Plan, copy_rows, generate
from tests.conftest import new_tenant
from tests.dashboard.conftest import login, user

END = date(2024, 3, 31)


def test_overview_uses_each_tenants_own_latest_day_and_says_how_old(world, db):
    """An account whose data stopped long ago shows its last week, not "no data"."""
    t = new_tenant(db, client_name="Old Data Ltd")
    plan = Plan(campaigns=1, adsets_per_campaign=2, ads_per_adset=1, days=30, end=END,
                base_spend=100.0)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
    now = datetime(2024, 5, 15, 12, tzinfo=UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        row = data.overview_row(conn, tenant_id=t.tenant_id, now=now)
        (ref,) = conn.execute(
            "select sum(spend) as s from ads.metrics_daily where tenant_id = %s "
            "and level = 'campaign' and day > %s::date - 7", [str(t.tenant_id), END]).fetchall()
    assert row["last_day"] == END and row["data_age"] == 45
    assert float(row["spend_7d"]) > 0 and float(row["spend_7d"]) == float(ref["s"])
    admin = user(db, "admin")
    html = login(world["app"], admin).get("/").text
    cell = html.split(f'data-client="{t.client_key}"')[1].split("</tr>")[0]
    assert "no data" not in cell and "days ago" in cell and "stale" in cell
    fr = user(db, "admin", lang="fr")
    html = login(world["app"], fr).get("/").text
    cell = html.split(f'data-client="{t.client_key}"')[1].split("</tr>")[0]
    assert "31 mars 2024" in cell and "jours" in cell


def test_no_card_claims_certainty(world, db):
    a = world["a"]
    with db.tenant_tx(a.tenant_id) as conn:
        sid = conn.execute("update ads.suggestions set confidence = 100, "
                           "calibrated_confidence = null where suggestion_id = (select "
                           "min(suggestion_id) from ads.suggestions where status = 'pending') "
                           "returning suggestion_id").fetchone()["suggestion_id"]
    admin = user(db, "admin")
    html = login(world["app"], admin).get(f"/t/{a.client_key}/suggestions?status=all").text
    card = html.split(f'id="s-{sid}"')[1].split("</article>")[0]
    assert "100%" not in card and "≥99%" in card and "never a certainty" in card


def test_backtest_says_in_words_where_stated_and_held_disagree():
    from io import StringIO

    from rich.console import Console

    from growthops.ads.learning.backtest import BacktestResult, TypeOutcome, print_backtest

    over = TypeOutcome("pause", suggestions=20, measured=20, held=0, confidences=[1.0] * 20)
    fine = TypeOutcome("scale", suggestions=20, measured=20, held=18, confidences=[0.9] * 20)
    res = BacktestResult(END, END, 7, 10, {"pause": over, "scale": fine}, [])
    out = StringIO()
    print_backtest(Console(file=out, width=300), res, tenant="x")
    text = out.getvalue()
    assert "100%" not in text and "overstated" in text and "consistent" in text
    out = StringIO()
    print_backtest(Console(file=out, width=300), res, tenant="x", lang="fr")
    assert "surestimée" in out.getvalue()


def test_an_ad_card_names_its_ad_set(world, db):
    a = world["a"]
    with db.tenant_tx(a.tenant_id) as conn:
        conn.execute(
            "update ads.suggestions set entity_type = 'ad', entity_id = m.entity_id, "
            "entity_name = m.entity_name from (select entity_id, entity_name from "
            "ads.metrics_daily where level = 'ad' limit 1) m where suggestion_id = (select "
            "max(suggestion_id) from ads.suggestions)")
        (row,) = conn.execute(
            "select s.suggestion_id, (select n.entity_name from ads.metrics_daily n where "
            "n.level = 'adset' and n.entity_id = m.adset_id order by day desc limit 1) as adset "
            "from ads.suggestions s join ads.metrics_daily m on m.level = 'ad' and "
            "m.entity_id = s.entity_id where s.suggestion_id = (select max(suggestion_id) "
            "from ads.suggestions) limit 1").fetchall()
    html = login(world["app"], user(db, "admin")).get(
        f"/t/{a.client_key}/suggestions?status=all").text
    card = html.split(f'id="s-{row["suggestion_id"]}"')[1].split("</article>")[0]
    assert f"in ad set {row['adset']}" in card


def test_bulk_decision_and_compact_view(db):
    from tests.dashboard.conftest import build_app, csrf_of, sandbox_tenant

    t = sandbox_tenant(db, client_name="Bulk Ltd")
    app = build_app(db)
    buyer = user(db, "media_buyer")
    client = login(app, buyer)
    base = f"/t/{t.client_key}/suggestions"
    page = client.get(f"{base}?view=compact").text
    assert 'class="queue compact"' in page and 'form="bulk"' in page
    with db.tenant_tx(t.tenant_id) as conn:
        ids = [r["suggestion_id"] for r in conn.execute(
            "select suggestion_id from ads.suggestions where status = 'pending' "
            "order by suggestion_id limit 3").fetchall()]
    r = client.post(f"{base}/bulk", data={"decision": "refused", "ids": ids,
                                          "notes": "not this week", "csrf": csrf_of(page),
                                          "back": f"{base}?view=compact"})
    assert r.status_code == 303 and "done=3" in r.headers["location"]
    assert "view=compact" in r.headers["location"]
    with db.tenant_tx(t.tenant_id) as conn:
        got = conn.execute("select suggestion_id, notes, channel from ads.decisions where "
                           "suggestion_id = any(%s) order by 1", [ids]).fetchall()
    assert [(g["notes"], g["channel"]) for g in got] == [("not this week", "dashboard")] * 3
    again = client.get(r.headers["location"]).text
    assert "3 suggestions decided" in again
    r = client.post(f"{base}/bulk", data={"decision": "approved", "ids": ids[:1],
                                          "csrf": csrf_of(page)})
    assert "done=0&failed=1" in r.headers["location"]
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    vpage = viewer.get(base).text
    assert 'form="bulk"' not in vpage
    r = viewer.post(f"{base}/bulk", data={"decision": "approved", "ids": ids[:1]})
    assert r.status_code == 403


def test_docs_work_offline_from_the_servers_own_files(world):
    """Issue 9 #9: /docs loads Swagger UI from this server (no CDN), under the CSP."""
    from fastapi.testclient import TestClient

    client = TestClient(world["app"])
    page = client.get("/docs")
    assert page.status_code == 200
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs and all(s.startswith("/static/") for s in srcs)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/static/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert "/openapi.json" in client.get("/static/swagger-init.js").text
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")  # Swagger UI 5


def test_an_empty_validation_tab_says_how_items_get_there(world, db):
    t = new_tenant(db, client_name="No Items Yet")
    for lang, words in (("en", "growthops validation submit"), ("fr", "revue du client")):
        html = login(world["app"], user(db, "admin", lang=lang)).get(
            f"/t/{t.client_key}/validation").text
        hint = html.split('data-testid="validation-hint"')[1].split("</p>")[0]
        assert words in hint


def test_an_ad_set_page_lists_its_ads_and_says_how_many_days_it_covers(world, db):
    """Issue 9 #8: a young ad set's page names its days and shows its ads, and the chart
    starts near its first day instead of 60 empty days."""
    t = new_tenant(db, client_name="Young Ad Set")
    plan = Plan(campaigns=1, adsets_per_campaign=1, ads_per_adset=3, days=2, end=END,
                base_spend=100.0)
    with db.tenant_tx(t.tenant_id) as conn:
        copy_rows(conn, generate(t.tenant_id, plan))
        (adset,) = conn.execute("select distinct entity_id from ads.metrics_daily "
                                "where level = 'adset'").fetchall()
    for lang, days in (("en", "last 2 reported days"), ("fr", "2 derniers jours remontés")):
        html = login(world["app"], user(db, "admin", lang=lang)).get(
            f"/t/{t.client_key}/entities/meta/adset/{adset['entity_id']}").text
        assert days in html.split('data-testid="period"')[1].split("</div>")[0]
        rows = html.split('id="children"')[1].split("</table>")[0]
        assert rows.count("data-entity=") == 3
        caption = html.split("<figcaption>")[1]
        assert ("18 mars 2024" if lang == "fr" else "Mar 18, 2024") in caption  # 14 days shown
