"""The dashboard's anomalies page: investigate / resolve / dismiss / reopen buttons through the
triage service of the CLI and the API (who, when, note, audit), closed anomalies kept and
filterable, in English and French; a viewer reads only; another tenant's anomalies unreachable."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from tests.conftest import new_tenant
from tests.dashboard.conftest import build_app, csrf_of, login, q, user


def add_anomalies(db: Any, t: Any, n: int) -> list[int]:
    with db.tenant_tx(t.tenant_id) as conn:
        return [r["anomaly_id"] for r in conn.execute(
            """insert into ads.anomalies (tenant_id, as_of, platform, level, entity_id, entity_name,
                   anomaly_type, metric, baseline_value, actual_value, deviation, p_value, q_value,
                   severity, method)
               select %s, %s::date - g, 'meta', 'campaign', 'c' || g, 'Campaign ' || g, 'spike',
                      'cpa', 20, 35, 0.75, 0.001, 0.01, 'high', 'robust_z'
               from generate_series(1, %s) g returning anomaly_id""",
            [t.tenant_id, date(2026, 3, 10), n]).fetchall()]


def row(db: Any, t: Any, aid: int) -> dict[str, Any]:
    return q(db, t.tenant_id, "select * from ads.anomalies where tenant_id = %s and anomaly_id = %s",
             aid)[0]


def shown(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-testid="anomaly-(\d+)"', html)]


def test_triage_buttons_note_and_who_closed(db: Any) -> None:
    t, other = new_tenant(db), new_tenant(db)
    a1, a2, a3 = add_anomalies(db, t, 3)
    (b1,) = add_anomalies(db, other, 1)
    app = build_app(db)
    staff_user = user(db, "media_buyer")
    staff = login(app, staff_user)
    base = f"/t/{t.client_key}/anomalies"
    page = staff.get(base)
    assert page.status_code == 200 and sorted(shown(page.text)) == sorted([a1, a2, a3])
    assert 'value="investigating">Investigate</button>' in page.text
    assert f'href="{base}" aria-current="page"' in page.text  # the tenant's tab
    csrf = csrf_of(page.text)

    r = staff.post(f"{base}/{a1}/status", data={"status": "investigating", "note": "checking the pixel",
                                                "csrf": csrf})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#a-{a1}")
    got = row(db, t, a1)
    assert got["status"] == "investigating" and got["status_note"] == "checking the pixel"
    assert got["status_by"] == staff_user.email and got["resolved_at"] is None
    assert staff.post(f"{base}/{a1}/status", data={"status": "resolved", "note": "pixel fixed",
                                                   "csrf": csrf}).status_code == 303
    assert staff.post(f"{base}/{a2}/status", data={"status": "dismissed", "note": "promo day",
                                                   "csrf": csrf, "back": "all"}).status_code == 303
    assert row(db, t, a1)["resolved_at"] is not None and row(db, t, a2)["status"] == "dismissed"
    trail = q(db, t.tenant_id, "select action, actor, reason from ads.audit_log where tenant_id = %s "
              "and object_type = 'anomaly' order by audit_id")
    assert [x["action"] for x in trail] == ["anomaly.investigating", "anomaly.resolved",
                                            "anomaly.dismissed"]
    assert {x["actor"] for x in trail} == {staff_user.email} and trail[1]["reason"] == "pixel fixed"

    # closed anomalies are kept, out of the open list, and filterable
    assert shown(staff.get(base).text) == [a3]
    closed = staff.get(f"{base}?status=closed").text
    assert sorted(shown(closed)) == sorted([a1, a2])
    assert f"resolved by {staff_user.email}" in closed and "pixel fixed" in closed
    assert "promo day" in closed and 'value="active">Reopen</button>' in closed
    assert 'value="dismissed">Dismiss</button>' not in closed  # closed: reopen only
    assert shown(staff.get(f"{base}?status=dismissed").text) == [a2]
    assert len(shown(staff.get(f"{base}?status=all").text)) == 3
    fr = login(app, user(db, "admin", lang="fr")).get(f"{base}?status=closed").text
    assert f"par {staff_user.email}" in fr and "Rouvrir" in fr and "Anomalies" in fr
    assert staff.get(f"{base}?status=bogus").status_code == 422

    # a transition the rules forbid: the page with the reason, nothing changed
    r = staff.post(f"{base}/{a1}/status", data={"status": "dismissed", "csrf": csrf})
    assert r.status_code == 409 and "cannot become dismissed" in r.text
    assert row(db, t, a1)["status"] == "resolved"
    # reopen
    assert staff.post(f"{base}/{a1}/status", data={"status": "active", "note": "back again",
                                                   "csrf": csrf}).status_code == 303
    assert row(db, t, a1)["status"] == "active" and row(db, t, a1)["resolved_at"] is None

    # another tenant's anomaly through this tenant's URL: 404, untouched
    assert staff.post(f"{base}/{b1}/status", data={"status": "dismissed", "csrf": csrf}).status_code == 404
    assert row(db, other, b1)["status"] == "active"
    # wrong CSRF token
    assert staff.post(f"{base}/{a3}/status", data={"status": "dismissed", "csrf": "x"}).status_code == 403


def test_viewer_reads_but_cannot_triage(db: Any) -> None:
    t, other = new_tenant(db), new_tenant(db)
    (a1,) = add_anomalies(db, t, 1)
    app = build_app(db)
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    page = viewer.get(f"/t/{t.client_key}/anomalies")
    assert page.status_code == 200 and shown(page.text) == [a1]
    assert "Investigate" not in page.text and 'name="status" value=' not in page.text
    r = viewer.post(f"/t/{t.client_key}/anomalies/{a1}/status",
                    data={"status": "dismissed", "csrf": csrf_of(page.text)})
    assert r.status_code == 403 and row(db, t, a1)["status"] == "active"
    assert viewer.get(f"/t/{other.client_key}/anomalies").status_code == 404


def test_intraday_pacing_on_the_page_and_in_the_api(db: Any) -> None:
    from datetime import UTC, datetime

    from growthops.ads.sync.intraday import clocks_of
    from tests.dashboard.conftest import sandbox_tenant

    t, other = sandbox_tenant(db, cycle=False), new_tenant(db)
    now = datetime.now(UTC)
    with db.tenant_tx(t.tenant_id) as conn:
        (clock,), tz = clocks_of(conn, t.tenant_id, now)
        conn.execute(
            """insert into ads.pacing_checks (tenant_id, platform, scope, level, entity_id,
                 period_start, entity_name, checked_at, elapsed_hours, spend_so_far, budget,
                 tolerance, expected_share, method, history_days, projected, over, flagged_at)
               values (%(t)s, %(p)s, 'day', 'adset', 'hot', %(d)s, 'Hot ad set', %(now)s, 14.5,
                       45, 50, 0.25, 0.55, 'profile', 14, 82.37, true, %(now)s),
                      (%(t)s, %(p)s, 'day', 'adset', 'calm', %(d)s, 'Calm ad set', %(now)s,
                       14.5, 20, 30, 0.25, 0.55, 'profile', 14, 31, false, null),
                      (%(t)s, %(p)s, 'day', 'adset', 'old', %(d)s::date - 1, 'Yesterday', %(now)s,
                       24, 90, 50, 0.25, 1, 'profile', 14, 90, true, %(now)s),
                      (%(t)s, 'all', 'month', 'tenant', '*', %(m)s, null, %(now)s, 14.5, 2500,
                       4000, 0, 0.6, 'run_rate', 14, 4400, true, %(now)s)""",
            {"t": t.tenant_id, "p": clock.platform, "d": clock.day, "now": now,
             "m": now.astimezone(tz).date().replace(day=1)})
    app = build_app(db)
    staff = login(app, user(db, "media_buyer"))
    page = staff.get(f"/t/{t.client_key}/anomalies")
    assert page.status_code == 200
    assert 'data-testid="pacing-hot"' in page.text and "Hot ad set" in page.text
    assert 'data-testid="pacing-calm"' not in page.text  # on pace: not flagged
    assert 'data-testid="pacing-old"' not in page.text  # another day
    assert "132 %" in page.text  # 82.37 / 62.50
    month = re.search(r'data-testid="pacing-month"[^>]*>(.*?)</p>', page.text, re.S)
    assert month and "2,500" in month.group(1) and "4,400" in month.group(1)
    assert "110 %" in month.group(1)
    fr = login(app, user(db, "admin", lang="fr")).get(f"/t/{t.client_key}/anomalies").text
    assert "Rythme de dépense du jour" in fr and "Ce mois-ci" in fr and "profil horaire propre" in fr
    # A tenant without checks: the empty line with how many budgets were checked.
    empty = staff.get(f"/t/{other.client_key}/anomalies").text
    assert "No overspend flagged today (0 budgets checked)." in empty
    # An account with a bad time zone: the anomalies are still shown, without the pacing.
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.ad_accounts set settings = settings || "
                     "'{\"time_zone\": \"Mars/Olympus\"}'::jsonb")
    broken = staff.get(f"/t/{t.client_key}/anomalies")
    assert broken.status_code == 200 and 'data-testid="pacing"' not in broken.text
    with db.tenant_tx(t.tenant_id) as conn:
        conn.execute("update ads.ad_accounts set settings = settings - 'time_zone'")

    api = staff.get(f"/api/v1/tenants/{t.client_key}/pacing")
    assert api.status_code == 200, api.text
    body = api.json()
    assert [d["entity_id"] for d in body["days"]] == ["hot"] and body["checked_days"] == 2
    assert body["days"][0]["cap"] == 62.5 and body["days"][0]["flagged"] is True
    assert body["month"]["budget"] == 4000 and body["month"]["over"] is True
    every = staff.get(f"/api/v1/tenants/{t.client_key}/pacing?flagged_only=false").json()
    assert [d["entity_id"] for d in every["days"]] == ["hot", "calm"]
    assert staff.get(f"/api/v1/tenants/{t.client_key}/pacing?limit=0").status_code == 422
    viewer = login(app, user(db, "client_viewer", tenant_id=other.tenant_id))
    assert viewer.get(f"/api/v1/tenants/{t.client_key}/pacing").status_code == 404
