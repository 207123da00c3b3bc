"""Posts calendar/list with runs and the comments page with credits, English and French,
another tenant 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from growthops.inbox import comments, credits, posts
from growthops.inbox.accounts import connect
from growthops.inbox.publishing import publish_due
from growthops.inbox.social_pages import calendar
from tests.conftest import new_tenant
from tests.dashboard.conftest import build_app, csrf_of, login, user


def test_posts_and_comments_pages_in_english_and_french(db):
    t = new_tenant(db, client_name="Maison Lumière")
    now = datetime.now(UTC).replace(microsecond=0)
    with db.tenant_tx(t.tenant_id) as conn:
        ig = connect(conn, tenant_id=t.tenant_id, platform="instagram",
                     account_id=f"ig-{t.client_key}", connector="sandbox", account_name="IG shop")
        credits.credit(conn, tenant_id=t.tenant_id, action_id="g", amount=5)
        p = posts.create_post(conn, tenant_id=t.tenant_id, social_account_id=ig["social_account_id"],
                              text="Nouvelle collection", rrule="FREQ=DAILY;COUNT=3",
                              media=[{"type": "image", "url": "https://cdn.example/a.jpg"}],
                              local_at=(now + timedelta(minutes=5)).replace(tzinfo=None),
                              created_by="ana", now=now)
    assert publish_due(db, tenant_id=t.tenant_id, now=p["occurrence_at"])["success"] == 1
    with db.tenant_tx(t.tenant_id) as conn:
        (mon,) = comments.list_monitored(conn, tenant_id=t.tenant_id)
        conn.execute("""insert into inbox.comments (tenant_id, monitored_post_id, platform_comment_id,
                          author_name, text, created_at, received_via, triage, triage_reason)
                        values (%s, %s, 'c1', 'zoe', 'Trop beau !', now(), 'webhook', 'escalate',
                                'out_of_credits')""", [t.tenant_id, mon["monitored_post_id"]])
    app = build_app(db)
    en = login(app, user(db, "support_agent", tenant_id=t.tenant_id))
    r = en.get(f"/t/{t.client_key}/posts")
    assert r.status_code == 200
    assert "Nouvelle collection" in r.text and "FREQ=DAILY;COUNT=3" in r.text
    assert "attempt 1" in r.text and 'data-testid="calendar"' in r.text
    r = en.get(f"/t/{t.client_key}/comments")
    assert r.status_code == 200 and "Trop beau" in r.text and "out of credits" in r.text
    assert "1 comments: 0 answered by the AI" in r.text
    assert "Knowledge base: 0.0 MB of 10 MB. Monitored posts: 1 of 5 at once." in r.text
    assert "When credits run out" in r.text and "5 credits left" in r.text.replace("4 credits", "5 credits")
    # a person answers from the page (CSRF-checked); a viewer cannot
    page = en.get(f"/t/{t.client_key}/comments")
    (cid,) = [r["comment_id"] for r in _q(db, t)]
    r = en.post(f"/t/{t.client_key}/comments/{cid}/reply", data={"text": "Merci !"})
    assert r.status_code == 403
    r = en.post(f"/t/{t.client_key}/comments/{cid}/reply",
                data={"text": "Merci !", "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Reply to comment" in en.get(r.headers["location"]).text
    assert _q(db, t)[0]["reply_status"] == "sent" and _q(db, t)[0]["ai_reply_text"] == "Merci !"
    r = en.post(f"/t/{t.client_key}/comments/{cid}/reply",
                data={"text": "Encore", "csrf": csrf_of(page.text)})
    assert r.status_code == 409
    viewer = login(app, user(db, "client_viewer", tenant_id=t.tenant_id))
    vpage = viewer.get(f"/t/{t.client_key}/comments")
    assert vpage.status_code == 200 and "reply-" not in vpage.text
    fr = login(app, user(db, "support_agent", tenant_id=t.tenant_id, lang="fr"))
    r = fr.get(f"/t/{t.client_key}/posts")
    assert "Publications programmées" in r.text and "tentative 1" in r.text
    r = fr.get(f"/t/{t.client_key}/comments")
    assert "crédits épuisés" in r.text and "Abonnement et crédits" in r.text
    stranger = login(app, user(db, "support_agent", tenant_id=new_tenant(db).tenant_id))
    assert stranger.get(f"/t/{t.client_key}/posts").status_code == 404
    assert stranger.get(f"/t/{t.client_key}/comments").status_code == 404


def test_the_calendar_places_occurrences_on_local_days():
    post = {"post_id": 1, "status": "queued", "local_at": datetime(2026, 3, 27, 23, 30),
            "time_zone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=3",
            "occurrence_at": datetime(2026, 3, 27, 22, 30, tzinfo=UTC), "content_json": {}}
    weeks = calendar([post], "Europe/Paris", datetime(2026, 3, 27).date())
    days = {d["day"].isoformat(): [t for t, _ in d["items"]] for w in weeks for d in w if d["items"]}
    assert days == {"2026-03-27": ["23:30"], "2026-03-28": ["23:30"], "2026-03-29": ["23:30"]}


def _q(db, t):
    with db.tenant_tx(t.tenant_id) as conn:
        return conn.execute("select * from inbox.comments where tenant_id = %s",
                            [t.tenant_id]).fetchall()
