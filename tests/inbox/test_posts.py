"""Scheduled posts: time zones and DST, RRULE, edit/cancel, Instagram's container → publish flow
on a local server, one publication per occurrence under concurrent workers, retries with
backoff, failure with the platform's error, credits per post."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from growthops.connectors.instagram.local_server import INVALID_IMAGE, LocalInstagram
from growthops.core.errors import Conflict, InvalidInput
from growthops.inbox import credits, posts
from growthops.inbox.accounts import connect
from growthops.inbox.publishing import MAX_ATTEMPTS, backoff, publish_due
from tests.conftest import new_tenant
from tests.inbox.conftest import q

TOKEN = "IGQtest-token"
IMG = [{"type": "image", "url": "https://cdn.example.org/spring.jpg"}]


def setup(db, server, *, tz="Europe/Paris", balance=100):
    t = new_tenant(db, time_zone=tz)
    with db.tenant_tx(t.tenant_id) as conn:
        acc = connect(conn, tenant_id=t.tenant_id, platform="instagram",
                      account_id=str(17841400000000 + abs(hash(t.client_key)) % 10**8),
                      access_token=TOKEN,
                      metadata={"base_url": server.url, "api_version": "v21.0"})
        credits.ensure(conn, tenant_id=t.tenant_id)
        if balance:
            credits.credit(conn, tenant_id=t.tenant_id, action_id="test-grant", amount=balance)
    return t, acc


def schedule(db, t, acc, local_at, rrule=None, now=None, text="Spring sale!", media=IMG):
    with db.tenant_tx(t.tenant_id) as conn:
        return posts.create_post(conn, tenant_id=t.tenant_id,
                                 social_account_id=acc["social_account_id"], text=text,
                                 media=media, local_at=local_at, rrule=rrule, created_by="ana",
                                 now=now)


def test_weekly_post_keeps_its_wall_clock_time_across_both_dst_changes():
    # Paris: summer time starts 2026-03-29, ends 2026-10-25.
    occ = list(posts.occurrences(datetime(2026, 3, 22, 9, 0), "Europe/Paris",
                                 "FREQ=WEEKLY;COUNT=3"))
    assert occ == [datetime(2026, 3, 22, 8, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
                   datetime(2026, 4, 5, 7, 0, tzinfo=UTC)]
    occ = list(posts.occurrences(datetime(2026, 10, 18, 9, 0), "Europe/Paris",
                                 "FREQ=WEEKLY;COUNT=2"))
    assert [o.hour for o in occ] == [7, 8]
    # a wall-clock time that does not exist (02:30 on the spring-forward night) is 03:30 CEST
    (gap,) = posts.occurrences(datetime(2026, 3, 29, 2, 30), "Europe/Paris", None)
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # an ambiguous one (02:30 on the fall-back night) is its first instance (CEST)
    (amb,) = posts.occurrences(datetime(2026, 10, 25, 2, 30), "Europe/Paris", None)
    assert amb == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_create_validates_fields_and_uses_the_tenant_time_zone(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server, tz="America/New_York")
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        p = schedule(db, t, acc, datetime(2026, 6, 2, 9, 0), now=now)
        assert p["occurrence_at"] == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)  # EDT = UTC-4
        assert p["time_zone"] == "America/New_York" and p["status"] == "queued"
        with pytest.raises(InvalidInput, match="local_at"):
            schedule(db, t, acc, datetime(2026, 5, 1, 9, 0), now=now)
        with pytest.raises(InvalidInput, match="rrule"):
            schedule(db, t, acc, datetime(2026, 6, 2, 9, 0), rrule="FREQ=SOMETIMES", now=now)
        with pytest.raises(InvalidInput, match="rrule"):
            schedule(db, t, acc, datetime(2026, 6, 2, 9, 0), rrule="FREQ=MINUTELY", now=now)
        with pytest.raises(InvalidInput, match="media"):
            schedule(db, t, acc, datetime(2026, 6, 2, 9, 0), media=[], now=now)
        with pytest.raises(InvalidInput, match="2200"):
            schedule(db, t, acc, datetime(2026, 6, 2, 9, 0), text="x" * 2201, now=now)
        n = q(db, t.tenant_id, "select count(*) n from inbox.scheduled_posts where tenant_id = %s")
        assert n[0]["n"] == 1


def test_edit_and_cancel_only_while_queued(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        p = schedule(db, t, acc, datetime(2026, 6, 3, 9, 0), now=now)
        with db.tenant_tx(t.tenant_id) as conn:
            e = posts.edit_post(conn, tenant_id=t.tenant_id, post_id=p["post_id"], text="New",
                                local_at=datetime(2026, 6, 4, 18, 30), rrule="FREQ=DAILY;COUNT=2",
                                now=now)
            assert e["content_json"]["text"] == "New"
            assert e["occurrence_at"] == datetime(2026, 6, 4, 16, 30, tzinfo=UTC)
            c = posts.cancel_post(conn, tenant_id=t.tenant_id, post_id=p["post_id"])
            assert c["status"] == "cancelled"
            with pytest.raises(Conflict):
                posts.edit_post(conn, tenant_id=t.tenant_id, post_id=p["post_id"], text="x", now=now)
        assert publish_due(db, tenant_id=t.tenant_id, now=now + timedelta(days=10))["success"] == 0
        assert server.requests == []


def test_a_recurring_post_is_published_through_the_container_flow_and_monitored(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        start = datetime(2026, 3, 27, 9, 0)  # Friday; the DST change is on Sunday the 29th
        now0 = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)
        p = schedule(db, t, acc, start, rrule="FREQ=DAILY;COUNT=3", now=now0)
        assert publish_due(db, tenant_id=t.tenant_id, now=now0)["success"] == 0  # not yet due
        for day, hour in ((27, 8), (28, 8), (29, 7)):
            due = datetime(2026, 3, day, hour, 0, tzinfo=UTC)
            assert publish_due(db, tenant_id=t.tenant_id, now=due - timedelta(minutes=1)) == {
                "success": 0, "retry": 0, "failed": 0, "recovered": 0}
            assert publish_due(db, tenant_id=t.tenant_id, now=due + timedelta(seconds=30))[
                "success"] == 1
        paths = [(r["method"], r["path"].split("/", 2)[-1]) for r in server.requests
                 if r["method"] == "POST"]
        assert paths == [("POST", f"{acc['account_id']}/media"),
                         ("POST", f"{acc['account_id']}/media_publish")] * 3
        first = server.requests[0]["body"]
        assert first == {"image_url": IMG[0]["url"], "caption": "Spring sale!"}
        (row,) = q(db, t.tenant_id, "select * from inbox.scheduled_posts where tenant_id = %s")
        assert (row["status"], row["published_count"], row["occurrence_at"]) == ("published", 3, None)
        runs = q(db, t.tenant_id, "select * from inbox.post_runs where tenant_id = %s order by run_id")
        assert [r["status"] for r in runs] == ["success"] * 3
        assert all(r["container_id"] and r["platform_post_id"] in server.media for r in runs)
        mon = q(db, t.tenant_id, "select * from inbox.monitored_posts where tenant_id = %s")
        assert len(mon) == 3 and {m["source"] for m in mon} == {"scheduled"}
        assert {m["post_id"] for m in mon} == {p["post_id"]}
        assert credits_left(db, t) == 97


def credits_left(db, t):
    with db.tenant_tx(t.tenant_id) as conn:
        r = credits.reconcile(conn, tenant_id=t.tenant_id)
    assert r["balance"] == r["ledger_sum"]
    return r["balance"]


def test_two_workers_never_publish_the_same_occurrence(db, secret_keys):
    with LocalInstagram(TOKEN, publish_delay=0.3) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        for k in range(3):
            schedule(db, t, acc, datetime(2026, 6, 1, 15, k), now=now)
        due = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
        barrier = threading.Barrier(4)
        results = []

        def worker():
            barrier.wait()
            results.append(publish_due(db, now=due, tenant_id=t.tenant_id))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert sum(r["success"] for r in results) == 3
    assert len(server.publications()) == 3
    runs = q(db, t.tenant_id, "select post_id, occurrence_at from inbox.post_runs where tenant_id = %s")
    assert len(runs) == 3 and len({(r["post_id"], r["occurrence_at"]) for r in runs}) == 3
    assert credits_left(db, t) == 97


def test_the_database_refuses_a_second_success_for_an_occurrence(db, secret_keys):
    import psycopg

    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        p = schedule(db, t, acc, datetime(2026, 6, 1, 15, 0), now=now)
        publish_due(db, tenant_id=t.tenant_id, now=datetime(2026, 6, 1, 13, 1, tzinfo=UTC))
    with pytest.raises(psycopg.errors.UniqueViolation), db.tenant_tx(t.tenant_id) as conn:
        conn.execute("""insert into inbox.post_runs (tenant_id, post_id, occurrence_at, attempt, status)
                        values (%s, %s, %s, 9, 'success')""",
                     [t.tenant_id, p["post_id"], p["occurrence_at"]])


def test_transient_errors_retry_with_backoff_then_fail_with_the_platforms_error(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        schedule(db, t, acc, datetime(2026, 6, 1, 15, 0), now=now)
        at = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
        # every attempt meets 4 Graph errors (the HTTP client's own retries), so it is transient
        for n in range(1, MAX_ATTEMPTS + 1):
            server.fail_next(500, times=4)
            out = publish_due(db, tenant_id=t.tenant_id, now=at)
            (row,) = q(db, t.tenant_id, "select * from inbox.scheduled_posts where tenant_id = %s")
            if n < MAX_ATTEMPTS:
                assert out["retry"] == 1 and row["status"] == "queued"
                assert row["next_attempt_at"] == at + backoff(n)
                assert publish_due(db, tenant_id=t.tenant_id, now=at + backoff(n) - timedelta(
                    seconds=1))["retry"] == 0  # not before its backoff
                at = row["next_attempt_at"]
            else:
                assert out["failed"] == 1 and row["status"] == "failed"
                assert "retry your request later" in row["error_message"]
        runs = q(db, t.tenant_id, "select status, attempt from inbox.post_runs where tenant_id = %s "
                                  "order by run_id")
        assert [r["status"] for r in runs] == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
        assert [r["attempt"] for r in runs] == list(range(1, MAX_ATTEMPTS + 1))
        assert server.publications() == []
        assert credits_left(db, t) == 100  # refunded


def test_a_permanent_error_fails_at_once_with_the_platforms_message(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        schedule(db, t, acc, datetime(2026, 6, 1, 15, 0), now=now,
                 media=[{"type": "image", "url": "https://cdn.example.org/broken.jpg"}])
        out = publish_due(db, tenant_id=t.tenant_id, now=datetime(2026, 6, 1, 13, 0, tzinfo=UTC))
    assert out["failed"] == 1
    (row,) = q(db, t.tenant_id, "select * from inbox.scheduled_posts where tenant_id = %s")
    assert row["status"] == "failed"
    assert INVALID_IMAGE["error"]["message"] in row["error_message"]
    (run,) = q(db, t.tenant_id, "select * from inbox.post_runs where tenant_id = %s")
    assert run["error_code"] == "unknown:9004"


def test_out_of_credits_a_post_is_not_published(db, secret_keys):
    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server, balance=0)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        schedule(db, t, acc, datetime(2026, 6, 1, 15, 0), now=now)
        out = publish_due(db, tenant_id=t.tenant_id, now=datetime(2026, 6, 1, 13, 0, tzinfo=UTC))
    assert out["failed"] == 1 and server.requests == []
    (run,) = q(db, t.tenant_id, "select * from inbox.post_runs where tenant_id = %s")
    assert run["error_code"] == "out_of_credits" and "credits" in run["error"]


def test_a_run_interrupted_after_publish_is_not_published_twice(db, secret_keys):
    from growthops.inbox.publishing import STALE_AFTER, claim

    with LocalInstagram(TOKEN) as server:
        t, acc = setup(db, server)
        now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        schedule(db, t, acc, datetime(2026, 6, 1, 15, 0), now=now)
        at = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
        with db.tenant_tx(t.tenant_id) as conn:
            (job,) = claim(conn, tenant_id=t.tenant_id, now=at)
        # the worker published, recorded the container, then died before recording the success
        from growthops.inbox.publishing import publisher_for

        containers = []
        publisher_for(job["account"]).publish("Spring sale!", IMG, on_container=containers.append)
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute("update inbox.post_runs set container_id = %s where tenant_id = %s",
                         [containers[0], t.tenant_id])
        out = publish_due(db, tenant_id=t.tenant_id, now=at + STALE_AFTER + timedelta(minutes=1))
        assert out["recovered"] == 1 and out["success"] == 0
        assert len(server.publications()) == 1
    (row,) = q(db, t.tenant_id, "select * from inbox.scheduled_posts where tenant_id = %s")
    assert row["status"] == "published" and row["published_count"] == 1
