"""KPI definitions on hand-made timelines with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from growthops.inbox.kpis.compute import (
    Msg,
    aggregate,
    build_contacts,
    elapsed,
    parse_hours,
    window_of,
)

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
PARIS = ZoneInfo("Europe/Paris")
UTC_Z = ZoneInfo("UTC")


def m(conv, direction, author, minutes, platform="whatsapp", triage=None):
    return Msg(conv, platform, direction, author, T + timedelta(minutes=minutes), triage)


def test_a_fast_ai_does_not_hide_slow_humans():
    msgs = [m(1, "inbound", "customer", 0), m(1, "outbound", "ai", 1), m(1, "outbound", "human", 60),
            m(2, "inbound", "customer", 10), m(2, "outbound", "ai", 12), m(2, "outbound", "human", 130),
            m(3, "inbound", "customer", 20), m(3, "outbound", "human", 50)]
    cs = build_contacts(msgs)
    res = aggregate(msgs, cs, [], key=lambda at: "w", start=T, end=T + timedelta(days=1),
                    hours=None, tz=UTC_Z)[("w", "all")]
    # first replies: 60 s, 120 s, 1800 s; human: 3600, 7200, 1800
    assert res["frt_p50_seconds"] == 120 and res["frt_p90_seconds"] == 1464  # 120 + .8 * 1680
    assert res["human_frt_p50_seconds"] == 3600 and res["human_frt_p90_seconds"] == 6480
    assert res["auto_reply_rate"] == round(2 / 3, 3) and res["contacts_count"] == 3
    assert res["auto_replies_count"] == 2 and res["answered_count"] == 3


def test_replies_before_the_first_inbound_are_not_responses():
    msgs = [m(1, "outbound", "human", 0), m(1, "outbound", "human", 5),  # a campaign
            m(1, "inbound", "customer", 30), m(1, "outbound", "human", 40)]
    (c,) = build_contacts(msgs)
    assert c.start == T + timedelta(minutes=30) and c.first_at == T + timedelta(minutes=40)


def test_a_reopened_conversation_and_a_24h_gap_start_new_contacts():
    msgs = [m(1, "inbound", "customer", 0), m(1, "outbound", "human", 10),
            m(1, "inbound", "customer", 20),                      # same contact
            m(1, "inbound", "customer", 60),                      # after the resolve: new one
            m(1, "outbound", "human", 90),
            m(1, "inbound", "customer", 60 * 26)]                 # 24 h later: new, unanswered
    cs = build_contacts(msgs, closings=[(1, T + timedelta(minutes=30))],
                        escalations=[(1, T + timedelta(minutes=70))])
    assert [c.start for c in cs] == [T, T + timedelta(minutes=60), T + timedelta(minutes=60 * 26)]
    assert [c.first_at for c in cs] == [T + timedelta(minutes=10), T + timedelta(minutes=90), None]
    assert [c.escalated for c in cs] == [False, True, False]
    res = aggregate(msgs, cs, [(1, T + timedelta(minutes=70), "whatsapp")], key=lambda at: "w",
                    start=T, end=T + timedelta(days=2), hours=None, tz=UTC_Z)[("w", "all")]
    assert res["contacts_count"] == 3 and res["answered_count"] == 2
    assert res["escalation_rate"] == round(1 / 3, 3) and res["escalate_count"] == 1


def test_a_night_outside_business_hours_does_not_count():
    hours = parse_hours({d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
    start = datetime(2026, 3, 2, 21, 0, tzinfo=PARIS)   # Monday 22:00 Paris... 21:00 local
    reply = datetime(2026, 3, 3, 9, 30, tzinfo=PARIS)   # Tuesday 09:30
    assert elapsed(start, reply, hours, PARIS) == 1800
    assert elapsed(start, reply, None, PARIS) == 12.5 * 3600
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=PARIS)
    monday = datetime(2026, 3, 9, 10, 0, tzinfo=PARIS)
    assert elapsed(friday, monday, hours, PARIS) == 2 * 3600  # 1 h Friday + 1 h Monday
    # across the spring DST change (29 March 2026), local hours still count 9 h a day
    assert elapsed(datetime(2026, 3, 27, 9, 0, tzinfo=PARIS), datetime(2026, 3, 30, 18, 0, tzinfo=PARIS),
                   hours, PARIS) == 2 * 9 * 3600


def test_contacts_belong_to_the_2h_window_and_channel_where_they_start():
    msgs = [m(1, "inbound", "customer", 0), m(1, "outbound", "human", 130),
            m(2, "inbound", "customer", 125, platform="instagram"),
            m(2, "outbound", "ai", 126, platform="instagram", triage=None),
            m(3, "inbound", "customer", 5, triage="ignore")]
    cs = build_contacts(msgs)
    res = aggregate(msgs, cs, [], key=window_of, start=T, end=T + timedelta(hours=6),
                    hours=None, tz=UTC_Z)
    w0, w1 = window_of(T), window_of(T) + timedelta(hours=2)
    assert res[(w0, "all")]["contacts_count"] == 2 and res[(w0, "all")]["ignored_count"] == 1
    assert res[(w0, "whatsapp")]["frt_p50_seconds"] == 130 * 60
    assert res[(w1, "instagram")]["contacts_count"] == 1
    assert res[(w1, "instagram")]["auto_reply_rate"] == 1.0
    assert res[(w1, "all")]["outbound_count"] == 2 and (w1, "whatsapp") in res


def test_refresh_writes_kpi_2h_and_daily_rows(hook_db):
    from growthops.connectors.messaging import InboundMessage
    from growthops.inbox.ingest import store_items
    from growthops.inbox.kpis.store import read, refresh
    from tests.inbox.conftest import inbox_tenant, q

    t = inbox_tenant(hook_db)
    tid = t["tenant"].tenant_id
    day = datetime(2026, 1, 14, 8, 0, tzinfo=UTC)
    with hook_db.tenant_tx(tid) as conn:
        store_items(conn, tenant_id=tid, items=[(t["wa_id"], InboundMessage(
            platform="whatsapp", account_id=t["wa"], customer_id="3365", message_id="k1",
            sent_at=day, type="text", text="hello"))])
        cid = conn.execute("select conversation_id from inbox.conversations where tenant_id = %s",
                           [tid]).fetchone()["conversation_id"]
        conn.execute("""insert into inbox.conversation_messages (tenant_id, conversation_id,
                          direction, author_kind, author, text, status, sent_at)
                        values (%s, %s, 'outbound', 'human', 'ana', 'hi', 'sent', %s)""",
                     [tid, cid, day + timedelta(minutes=15)])
    out = refresh(hook_db, tenant_id=tid, start=day - timedelta(days=1), end=day + timedelta(days=1))
    assert out["kpi_2h"] >= 2 and out["daily"] >= 2
    again = refresh(hook_db, tenant_id=tid, start=day - timedelta(days=1), end=day + timedelta(days=1))
    assert again == out
    with hook_db.tenant_tx(tid) as conn:
        (d,) = [r for r in read(conn, tenant_id=tid, start=day - timedelta(days=1),
                                end=day + timedelta(days=1)) if r["contacts_count"]]
    assert d["frt_p50_seconds"] == 900 and d["human_frt_p50_seconds"] == 900
    assert q(hook_db, tid, "select count(*) n from inbox.kpi_2h where tenant_id = %s")[0]["n"] == out["kpi_2h"]
