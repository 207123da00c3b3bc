"""The dashboard over HTTP (TestClient against the real database): login, languages, tenant
isolation, the suggestion queue with in-place decisions and execution, entity, learning and
validation pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from growthops.ads import pages_data as data
from growthops.ads.labels import CODES, METRICS
from growthops.core.i18n import catalog_files
from growthops.core.i18n_tools import placeholders, problems
from growthops.web.messages import ROLES
from tests.dashboard.conftest import (
    PASSWORD,
    PLATFORM_TYPES,
    csrf_of,
    login,
    q,
    sandbox_tenant,
)

HX = {"HX-Request": "true"}


def pending(db, tenant, types=PLATFORM_TYPES):
    return [r["suggestion_id"] for r in q(
        db, tenant.tenant_id, "select suggestion_id from ads.suggestions where tenant_id = %s "
        "and status = 'pending' and type = any(%s) order by suggestion_id", list(types))]


def decide(client, tenant, sid, decision, notes="", page=None):
    page = page or client.get(f"/t/{tenant.client_key}/suggestions").text
    return client.post(f"/t/{tenant.client_key}/suggestions/{sid}/decision", headers=HX,
                       data={"decision": decision, "notes": notes, "csrf": csrf_of(page)})


# ------------------------------------------------------------------------------- login
def test_every_page_needs_a_session(world):
    client = TestClient(world["app"], follow_redirects=False)
    key = world["a"].client_key
    for path in ("/", f"/t/{key}/suggestions", f"/t/{key}/learning", f"/t/{key}/validation",
                 f"/t/{key}/entities/meta/adset/sbx-c1-s1"):
        r = client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    r = client.post(f"/t/{key}/suggestions/1/decision", data={"decision": "approved"},
                    headers=HX)
    assert r.headers.get("HX-Redirect") == "/login"


def test_login_failure_success_next_and_logout(world):
    client = TestClient(world["app"], follow_redirects=False)
    page = client.get("/login?next=/t/x/suggestions")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    bad = client.post("/login", data={"email": world["admin"].email, "password": "wrong" * 3})
    assert bad.status_code == 401 and "Invalid e-mail or password." in bad.text
    ok = client.post("/login", data={"email": world["admin"].email.upper(), "password": PASSWORD,
                                     "next": "/t/x/suggestions"})
    assert ok.status_code == 303 and ok.headers["location"] == "/t/x/suggestions"
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 303  # already signed in
    out = client.post("/logout")
    assert out.status_code == 303 and client.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(world, target):
    client = TestClient(world["app"], follow_redirects=False)
    r = client.post("/login", data={"email": world["admin"].email, "password": PASSWORD,
                                    "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


# ----------------------------------------------------------------------------- overview
def test_overview_shows_each_visible_tenant_with_its_figures(world, db):
    client = login(world["app"], world["admin"])
    html = client.get("/").text
    a, b = world["a"], world["b"]
    assert f'data-client="{a.client_key}"' in html and f'data-client="{b.client_key}"' in html
    with db.tenant_tx(a.tenant_id) as conn:
        row = data.overview_row(conn, tenant_id=a.tenant_id, now=datetime.now(UTC))
    # spend over 7 days at campaign level (the sandbox reports every level: no double count)
    (ref,) = q(db, a.tenant_id, """
        select sum(spend) as spend, sum(conversion_value) as value from ads.metrics_daily
        where tenant_id = %s and level = 'campaign'
          and day > (select max(day) from ads.metrics_daily where tenant_id = %s) - 7""",
        str(a.tenant_id))
    assert row["spend_7d"] == pytest.approx(ref["spend"])
    assert row["roas_7d"] == pytest.approx(float(ref["value"] / ref["spend"]))
    (n,) = q(db, a.tenant_id, "select count(*) as n from ads.suggestions where tenant_id = %s "
             "and status = 'pending' and expires_at > now()")
    assert row["pending"] == n["n"] > 0
    # the projection is the monthly guard rail's: mtd + days left x mean daily spend
    from growthops.ads.action.guardrails import load_spend
    with db.tenant_tx(a.tenant_id) as conn:
        spend = load_spend(conn, tenant_id=a.tenant_id, now=datetime.now(UTC),
                           time_zone="Europe/Paris")
    expected = float(spend.month_to_date) + spend.days_remaining * float(spend.daily_spend)
    assert row["projected"] == pytest.approx(expected, rel=1e-9)
    assert row["pacing"] == pytest.approx(expected / 100000)


def test_overview_runs_one_statement_per_tenant(world, db, monkeypatch):
    import psycopg

    calls = []
    real = psycopg.Connection.execute

    def spy(self, query, *a, **k):
        calls.append(str(query)[:40])
        return real(self, query, *a, **k)

    monkeypatch.setattr(psycopg.Connection, "execute", spy)
    data.overview(db, world["admin"])
    n_tenants = len(data.visible_tenants(db, world["admin"]))
    overview_queries = [c for c in calls if "with tn as" in c]
    assert len(overview_queries) == n_tenants


# ---------------------------------------------------------------------------- languages
def test_french_user_sees_french_and_can_switch(world):
    client = login(world["app"], world["buyer"])  # lang fr
    key = world["a"].client_key
    fr = client.get(f"/t/{key}/suggestions").text
    assert '<html lang="fr">' in fr and "Approuver" in fr and "Mettre en réserve" in fr
    assert "intervalle à 80 %" in fr or "sur 7 jours" in fr  # the p10-p90 interval, in French
    r = client.post("/lang", data={"lang": "en", "next": f"/t/{key}/suggestions",
                                   "csrf": csrf_of(fr)})
    assert r.status_code == 303 and r.headers["location"] == f"/t/{key}/suggestions"
    en = client.get(f"/t/{key}/suggestions").text
    assert '<html lang="en">' in en and "Approve" in en and "80% interval" in en
    assert client.post("/lang", data={"lang": "de", "csrf": csrf_of(en)}).status_code == 422
    assert client.post("/lang", data={"lang": "fr"}).status_code == 403  # no CSRF token
    # The choice is saved on the user: a new session opens in English...
    again = login(world["app"], world["buyer"]).get(f"/t/{key}/suggestions").text
    assert '<html lang="en">' in again
    # ...and switching back restores French for the other tests of this module.
    r = client.post("/lang", data={"lang": "fr", "next": "/", "csrf": csrf_of(en)})
    assert r.status_code == 303
    assert '<html lang="fr">' in login(world["app"], world["buyer"]).get(f"/t/{key}/suggestions").text


def test_every_label_exists_in_both_languages_with_the_same_placeholders():
    """Every message of the pages (Python and templates) has a French translation with the same
    placeholders, and every code label the templates translate is in the French catalogs."""
    from babel.messages.pofile import read_po

    assert problems() == []
    translated = {}
    for po in catalog_files("fr"):
        with po.open("rb") as fh:
            translated.update({m.id: m.string for m in read_po(fh) if m.id and not m.context})
    for label in {**CODES, **METRICS, **ROLES}.values():
        if label.isupper() or label in ("API", "Slack"):  # acronyms and names stay as they are
            continue
        assert translated.get(label), label
        assert placeholders(label, False) == placeholders(translated[label], False), label


# ------------------------------------------------------------------------ tenant isolation
def test_client_viewer_sees_only_its_tenant(world):
    client = login(world["app"], world["viewer"])
    a, b = world["a"], world["b"]
    html = client.get("/").text
    assert f'data-client="{a.client_key}"' in html and b.client_key not in html
    for path in (f"/t/{b.client_key}/suggestions", f"/t/{b.client_key}/learning",
                 f"/t/{b.client_key}/validation", f"/t/{b.client_key}/entities/meta/adset/sbx-c1-s1",
                 "/t/no-such-client/suggestions"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert b.client_name not in r.text
    assert client.get(f"/t/{a.client_key}/suggestions").status_code == 200


def test_client_viewer_queue_is_read_only(world, db):
    client = login(world["app"], world["viewer"])
    a = world["a"]
    page = client.get(f"/t/{a.client_key}/suggestions").text
    assert 'data-testid="readonly"' in page
    assert 'name="decision"' not in page and "hx-post" not in page
    sid = pending(db, a)[0]
    r = client.post(f"/t/{a.client_key}/suggestions/{sid}/decision", headers=HX,
                    data={"decision": "approved", "csrf": csrf_of(page)})
    assert r.status_code == 403
    (s,) = q(db, a.tenant_id, "select status from ads.suggestions where tenant_id = %s "
             "and suggestion_id = %s", sid)
    assert s["status"] == "pending"


def test_staff_cannot_decide_another_tenants_suggestion_through_the_wrong_path(world, db):
    client = login(world["app"], world["admin"])
    a, b = world["a"], world["b"]
    sid_b = pending(db, b)[-1]
    ids_a = {r["suggestion_id"] for r in q(db, a.tenant_id, "select suggestion_id from "
                                           "ads.suggestions where tenant_id = %s")}
    if sid_b in ids_a:
        pytest.skip("ids collide across tenants in this run")
    r = decide(client, a, sid_b, "refused")
    assert r.status_code == 404
    (s,) = q(db, b.tenant_id, "select status from ads.suggestions where tenant_id = %s "
             "and suggestion_id = %s", sid_b)
    assert s["status"] == "pending"


# --------------------------------------------------------------------------------- queue
def test_queue_filters_and_shows_reason_impact_interval_confidence(world, db):
    client = login(world["app"], world["admin"])
    a = world["a"]
    html = client.get(f"/t/{a.client_key}/suggestions?status=all").text
    rows = q(db, a.tenant_id, "select suggestion_id, type, priority, confidence "
             "from ads.suggestions where tenant_id = %s")
    for r in rows:
        assert f'id="s-{r["suggestion_id"]}"' in html
    s = rows[0]
    card = html[html.index(f'id="s-{s["suggestion_id"]}"'):]
    card = card[:card.index("</article>")]
    assert "Why" in card and "Expected impact" in card and "80% interval" in card
    assert f"confidence {s['confidence']}" in card
    typ = s["type"]
    only = client.get(f"/t/{a.client_key}/suggestions?status=all&type={typ}").text
    shown = set(map(int, re.findall(r'id="s-(\d+)"', only)))
    assert shown == {r["suggestion_id"] for r in rows if r["type"] == typ}
    prio = client.get(f"/t/{a.client_key}/suggestions?status=all&priority=low").text
    assert set(map(int, re.findall(r'id="s-(\d+)"', prio))) == {
        r["suggestion_id"] for r in rows if r["priority"] == "low"}
    assert client.get(f"/t/{a.client_key}/suggestions?status=bogus").status_code == 422


def test_approve_in_place_executes_on_the_sandbox_account(world, db):
    from growthops.connectors.sandbox import SandboxAccount

    client = login(world["app"], world["admin"])
    a = world["a"]
    sid = pending(db, a, ("pause", "budget_decrease"))[0]
    (s,) = q(db, a.tenant_id, "select * from ads.suggestions where tenant_id = %s "
             "and suggestion_id = %s", sid)
    r = decide(client, a, sid, "approved", notes="ROAS under target for 2 weeks")
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<article class="card sugg') and f'id="s-{sid}"' in r.text
    assert 'data-status="executed"' in r.text
    change = "status → paused" if s["type"] == "pause" else "daily budget"
    assert "Executed on the account" in r.text and change in r.text
    assert "ROAS under target for 2 weeks" in r.text
    assert 'name="decision"' not in r.text  # decided: no more buttons
    (d,) = q(db, a.tenant_id, "select decided_by, channel, notes from ads.decisions "
             "where tenant_id = %s and suggestion_id = %s", sid)
    assert d == {"decided_by": world["admin"].email, "channel": "dashboard",
                 "notes": "ROAS under target for 2 weeks"}
    (x,) = q(db, a.tenant_id, "select status, executed_by from ads.execution_logs "
             "where tenant_id = %s and suggestion_id = %s", sid)
    assert x == {"status": "applied", "executed_by": world["admin"].email}
    with db.tenant_tx(a.tenant_id) as conn:
        live = SandboxAccount.load(conn, tenant_id=a.tenant_id).get_entity(s["entity_id"])
    if s["type"] == "pause":
        assert live.status == "paused"
    else:
        assert float(live.daily_budget) == pytest.approx(s["action_params"]["daily_budget"]["to"])
    again = decide(client, a, sid, "approved")
    assert again.status_code == 409 and "already" in again.text
    assert len(q(db, a.tenant_id, "select 1 from ads.execution_logs where tenant_id = %s "
                 "and suggestion_id = %s", sid)) == 1


def test_refuse_and_backlog_record_the_notes(world, db):
    client = login(world["app"], world["admin"])
    a = world["a"]
    ids = pending(db, a, ("pause", "budget_decrease", "scale", "refresh", "test_angle",
                          "campaign_diagnostic", "bid_adjustment", "budget_increase"))
    r = decide(client, a, ids[-1], "refused", notes="client wants to keep it")
    assert r.status_code == 200 and 'data-status="refused"' in r.text
    assert "client wants to keep it" in r.text
    r = decide(client, a, ids[-2], "backlog")
    assert 'data-status="backlog"' in r.text and 'value="approved"' in r.text
    assert 'value="backlog"' not in r.text  # backlogging twice is not offered
    # without htmx (scripts off) the form posts and the browser goes back to the queue
    page = client.get(f"/t/{a.client_key}/suggestions").text
    r = client.post(f"/t/{a.client_key}/suggestions/{ids[-2]}/decision",
                    data={"decision": "refused", "csrf": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#s-{ids[-2]}")
    (st,) = q(db, a.tenant_id, "select status from ads.suggestions where tenant_id = %s "
              "and suggestion_id = %s", ids[-2])
    assert st["status"] == "refused"


def test_post_without_csrf_token_is_refused(world, db):
    client = login(world["app"], world["admin"])
    a = world["a"]
    sid = pending(db, a)[0]
    r = client.post(f"/t/{a.client_key}/suggestions/{sid}/decision", headers=HX,
                    data={"decision": "refused"})
    assert r.status_code == 403
    (s,) = q(db, a.tenant_id, "select status from ads.suggestions where tenant_id = %s "
             "and suggestion_id = %s", sid)
    assert s["status"] == "pending"


def _insert_scale(db, tenant, entity_id, change=0.2):
    from growthops.connectors.sandbox import SandboxAccount

    with db.tenant_tx(tenant.tenant_id) as conn:
        cur = float(SandboxAccount.load(conn, tenant_id=tenant.tenant_id)
                    .get_entity(entity_id).daily_budget)
        to = round(cur * (1 + change), 2)
        texts = {"en": {"action": f"Scale {entity_id}", "reason": "ROAS above target",
                        "expected_impact": "more results"}}
        return conn.execute(
            """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, action_params, confidence, platform,
                 entity_type, entity_id, expires_at)
               values (%s, current_date, 'scale', 'high', %s, 'ROAS above target',
                       'more results', %s, %s, %s, 80, 'meta', 'adset', %s,
                       now() + interval '2 days') returning suggestion_id""",
            [str(tenant.tenant_id), f"Scale {entity_id}", _json(texts),
             _json({"horizon_days": 7, "metrics": {"results": {"p10": 1, "p50": 2, "p90": 3,
                                                               "unit": "results"}}}),
             _json({"daily_budget": {"from": cur, "to": to, "change": change}}), entity_id],
        ).fetchone()["suggestion_id"]


def _json(v):
    from psycopg.types.json import Jsonb

    return Jsonb(v)


def test_approval_blocked_by_a_guard_rail_says_which(world, db):
    t = sandbox_tenant(db, cycle=False, monthly_budget_max=Decimal("1000"))
    client = login(world["app"], world["admin"])
    sid = _insert_scale(db, t, "sbx-c2-s3")
    r = decide(client, t, sid, "approved")
    assert r.status_code == 200 and 'data-status="blocked"' in r.text
    assert "Blocked by the guard rail monthly_budget_max" in r.text


def test_approval_without_an_ad_account_says_nothing_was_executed(world, db):
    from tests.conftest import new_tenant

    t = new_tenant(db)
    with db.tenant_tx(t.tenant_id) as conn:
        sid = conn.execute(
            """insert into ads.suggestions (tenant_id, as_of, type, priority, action, reason,
                 expected_impact, texts, predicted_metrics, confidence, platform, entity_type,
                 entity_id, expires_at)
               values (%s, current_date, 'pause', 'medium', 'Pause ad X', 'CPA too high',
                       'saves spend', '{}', '{}', 70, 'google', 'ad', 'X',
                       now() + interval '1 day') returning suggestion_id""",
            [str(t.tenant_id)]).fetchone()["suggestion_id"]
    client = login(world["app"], world["admin"])
    r = decide(client, t, sid, "approved")
    assert 'data-status="approved"' in r.text and "No google ad account is connected" in r.text


# ------------------------------------------------------------------------------- entity
def test_entity_page_shows_chart_suggestions_and_executions(world, db):
    client = login(world["app"], world["admin"])
    a = world["a"]
    (x,) = q(db, a.tenant_id, "select suggestion_id, entity_id, entity_type from "
             "ads.suggestions where tenant_id = %s and status = 'executed' order by "
             "suggestion_id limit 1") or [None]
    if x is None:
        sid = pending(db, a, ("pause", "budget_decrease"))[0]
        decide(client, a, sid, "approved")
        (x,) = q(db, a.tenant_id, "select suggestion_id, entity_id, entity_type from "
                 "ads.suggestions where tenant_id = %s and suggestion_id = %s", sid)
    path = f"/t/{a.client_key}/entities/meta/{x['entity_type']}/{x['entity_id']}"
    html = client.get(path).text
    assert html.count('<svg role="img"') == 1
    band = q(db, a.tenant_id, "select 1 from ads.baselines where tenant_id = %s and level = %s",
             x["entity_type"])
    assert ("peers p10–p90" in html) == bool(band)
    ex = html[html.index('id="executions"'):]
    assert f'data-suggestion="{x["suggestion_id"]}"' in ex and "applied" in ex
    sug = html[html.index('id="suggestions"'):]
    assert f'data-suggestion="{x["suggestion_id"]}"' in sug
    spend = client.get(path + "?metric=spend").text
    assert 'value="spend" selected' in spend and "spend/day" in spend
    # an anomaly on the entity: listed, and marked on the chart of its metric
    (end,) = q(db, a.tenant_id, "select max(day) as d from ads.metrics_daily where tenant_id = %s "
               "and entity_id = %s", x["entity_id"])
    with db.tenant_tx(a.tenant_id) as conn:
        conn.execute(
            """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id,
                 anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,
                 severity, method)
               values (%s, %s, 'meta', %s, %s, 'spike', 'cpc', 0.5, 1.5, 2.0, 0.001, 0.01,
                       'high', 'test')""",
            [str(a.tenant_id), end["d"], x["entity_type"], x["entity_id"]])
    cpc = client.get(path + "?metric=cpc").text
    assert ">anomaly<" in cpc and "+200.0" in cpc and "No anomaly" not in cpc
    assert client.get(f"/t/{a.client_key}/entities/meta/adset/nope").status_code == 404
    assert client.get(f"/t/{a.client_key}/entities/meta/bogus/x").status_code == 404


# ----------------------------------------------------------------------------- learning
def test_learning_page_shows_outcomes_calibration_and_brier(world, db):
    from growthops.ads.learning.calibration import report

    t = sandbox_tenant(db)
    outcomes = [("validated", 90), ("validated", 80), ("invalidated", 70), ("partial", 60),
                ("inconclusive", 50)]
    with db.tenant_tx(t.tenant_id) as conn:
        for i, (outcome, conf) in enumerate(outcomes):
            conn.execute(
                """insert into ads.hypothesis_tracking (tenant_id, suggestion_id, suggestion_type,
                     platform, entity_type, entity_id, hypothesis_text, predicted_metrics,
                     confidence_score, executed_at, start_day, measurement_end_date, outcome,
                     measured_at)
                   values (%s, %s, 'scale', 'meta', 'adset', 'sbx-c1-s1', %s, '{}', %s,
                           now() - interval '10 days', current_date - 9, current_date - 3, %s,
                           now())""",
                [str(t.tenant_id), 100000 + i, f"hypothesis {i}", conf, outcome])
        conn.execute(
            """insert into ads.decision_patterns (tenant_id, pattern_name, pattern_type, condition,
                 condition_text, approvals, refusals, confidence, significance)
               values (%s, 'refuses big scales', 'refusal_preference', '{"type": "scale"}',
                       'type = scale AND change >= 30%%', 1, 9, 88, 'high')""",
            [str(t.tenant_id)])
        rep = report(conn, tenant_id=t.tenant_id)
    client = login(world["app"], world["admin"])
    html = client.get(f"/t/{t.client_key}/learning").text
    assert "Calibration" in html and "<svg" in html and "perfect calibration" in html
    assert f'data-testid="brier-stated">{rep["brier"]["stated"]:.3f}<' in html
    assert "hypothesis 3" in html and "inconclusive" in html
    assert "type = scale AND change &gt;= 30%" in html and "tends to refuse" in html
    fr = login(world["app"], world["buyer"]).get(f"/t/{t.client_key}/learning").text
    assert "Score de Brier" in fr and f'{rep["brier"]["stated"]:.3f}'.replace(".", ",") in fr


# ---------------------------------------------------------------------------- validation
def test_validation_queue_advance_and_reject_in_place(world, db):
    from growthops.ads.action.validation import submit

    a = world["a"]
    with db.tenant_tx(a.tenant_id) as conn:
        one = submit(conn, tenant_id=a.tenant_id, item_type="ad_creative",
                     item_name="Hook: stop guessing", submitted_by="studio",
                     content={"hook": "Stop guessing your ROAS"})["queue_id"]
        two = submit(conn, tenant_id=a.tenant_id, item_type="campaign_change",
                     item_name="New audience", submitted_by="studio")["queue_id"]
    # One policy with the API (growthops.ads.action.validation.may_act): the client reviews
    # at client_review (its stage), never at the team's.
    viewer = login(world["app"], world["viewer"])
    vpage = viewer.get(f"/t/{a.client_key}/validation").text
    assert "Hook: stop guessing" in vpage and f"/validation/{two}/advance" in vpage
    r = viewer.post(f"/t/{a.client_key}/validation/{two}/advance", headers=HX,
                    data={"csrf": csrf_of(vpage)})
    assert r.status_code == 200 and "team review" in r.text and "/advance" not in r.text
    assert viewer.post(f"/t/{a.client_key}/validation/{two}/advance", headers=HX,
                       data={"csrf": csrf_of(vpage)}).status_code == 403
    assert f"/validation/{two}/advance" not in viewer.get(f"/t/{a.client_key}/validation").text
    client = login(world["app"], world["admin"])
    page = client.get(f"/t/{a.client_key}/validation").text
    assert f'id="v-{one}"' in page and "Stop guessing your ROAS" in page
    r = client.post(f"/t/{a.client_key}/validation/{one}/advance", headers=HX,
                    data={"csrf": csrf_of(page)})
    assert r.status_code == 200 and f'id="v-{one}"' in r.text and "team review" in r.text
    r = client.post(f"/t/{a.client_key}/validation/{two}/reject", headers=HX,
                    data={"csrf": csrf_of(page), "reason": ""})
    assert r.status_code == 422 and "reason" in r.text
    r = client.post(f"/t/{a.client_key}/validation/{two}/reject", headers=HX,
                    data={"csrf": csrf_of(page), "reason": "off brand"})
    assert 'data-status="rejected"' in r.text and "off brand" in r.text
    (row,) = q(db, a.tenant_id, "select validation_stage, client_validated_by from "
               "ads.validation_queue where tenant_id = %s and queue_id = %s", one)
    assert row == {"validation_stage": "team_review",
                   "client_validated_by": world["admin"].email}


# ------------------------------------------------------------------------------- assets
def test_htmx_is_served_locally_and_pages_load_no_external_resource(world):
    client = login(world["app"], world["admin"])
    html = client.get("/").text
    src = re.search(r'<script src="(/static/htmx\.min\.js\?v=\w+)"', html).group(1)
    js = client.get(src)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "htmx" in js.text[:200]
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert client.get("/static/../views.py").status_code == 404
    assert client.get("/static/views.py").status_code == 404
