"""The KPI tables count comments apart (issue 12): ``comments_count`` and ``posts_active`` per
2-hour window and local day, in the ``all`` and ``instagram`` channels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from growthops.inbox import comments
from growthops.inbox.kpis.store import read, refresh
from tests.inbox.conftest import inbox_tenant, post, process_pending, wa_text

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_comments_and_active_posts_are_counted_per_window_and_day(client, hook_db):
    t = inbox_tenant(hook_db, time_zone="Europe/Paris")
    tid = t["tenant"].tenant_id
    post(client, "whatsapp", wa_text(t["wa"], "3362", f"wamid.k{tid}", "Hi", T0 + timedelta(minutes=20)))
    process_pending(hook_db)
    with hook_db.tenant_tx(tid) as conn:
        a = comments.monitor_post(conn, tenant_id=tid, social_account_id=t["ig_id"],
                                  platform_post_id="A", source="manual",
                                  posted_at=T0 - timedelta(hours=1), now=T0 - timedelta(hours=1))
        old = T0 - timedelta(days=10)  # monitored 7 days from then: over before March 10th
        comments.monitor_post(conn, tenant_id=tid, social_account_id=t["ig_id"],
                              platform_post_id="B", source="manual", posted_at=old, now=old)
        for cid, minutes, parent in (("k1", 10, None), ("k2", 30, "k1"), ("k3", 130, None)):
            conn.execute(
                """insert into inbox.comments (tenant_id, monitored_post_id, platform_comment_id,
                     parent_id, text, created_at, received_via)
                   values (%s, %s, %s, %s, 'nice', %s, 'webhook')""",
                [tid, a["monitored_post_id"], cid, parent, T0 + timedelta(minutes=minutes)])
    for _ in range(2):  # a recomputation replaces the rows: the same figures
        refresh(hook_db, tenant_id=tid, start=T0 - timedelta(hours=2), end=T0 + timedelta(hours=6))
        with hook_db.tenant_tx(tid) as conn:
            two = {(r["window_start"].astimezone(UTC).hour, r["channel"]): r
                   for ch in ("all", "instagram", "whatsapp")
                   for r in read(conn, tenant_id=tid, start=T0 - timedelta(hours=2),
                                 end=T0 + timedelta(hours=6), granularity="2h", channel=ch)}
            days = {r["channel"]: r for ch in ("all", "instagram", "whatsapp")
                    for r in read(conn, tenant_id=tid, start=T0, end=T0, channel=ch)}
        figures = {k: (r["messages_count"], r["comments_count"], r["posts_active"])
                   for k, r in two.items()}
        assert figures[(6, "all")] == (0, 0, 1)  # post A monitored from 07:00
        assert figures[(8, "all")] == (1, 2, 1)
        assert figures[(8, "instagram")] == (0, 2, 1)
        assert figures[(8, "whatsapp")] == (1, 0, 0)
        assert figures[(10, "all")] == (0, 1, 1)
        assert figures[(12, "all")] == (0, 0, 1)
        assert days["all"]["period"] == date(2026, 3, 10)
        assert (days["all"]["messages_count"], days["all"]["comments_count"],
                days["all"]["posts_active"]) == (1, 3, 1)
        assert (days["whatsapp"]["comments_count"], days["whatsapp"]["posts_active"]) == (0, 0)
