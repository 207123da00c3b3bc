"""Compute a tenant's KPIs from the stored messages and write ``kpi_2h``, ``analytics_history``
and ``analytics`` (idempotent: a window's rows are replaced by its recomputation).

Reads, per tenant, in one statement each: messages and transitions from 24 h before ``start``
(a contact may have started then) to 7 days after ``end`` (a human may answer up to 7 days
later on Instagram), the escalations, the business hours and time zone. Writes with one
``executemany`` per table after deleting the windows being recomputed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from growthops.core.db import Database
from growthops.inbox.kpis import comments as comment_kpis
from growthops.inbox.kpis.compute import (
    CONTACT_GAP,
    WINDOW,
    Msg,
    aggregate,
    build_contacts,
    local_day,
    parse_hours,
    summarise,
    window_of,
)

COLUMNS = ("messages_count", "inbound_count", "outbound_count", "contacts_count",
           "answered_count", "auto_replies_count", "escalate_count", "ignored_count",
           "frt_p50_seconds", "frt_p90_seconds", "human_frt_p50_seconds",
           "human_frt_p90_seconds", "auto_reply_rate", "escalation_rate",
           "comments_count", "posts_active")
DAILY_EXTRA = ("conversations_count", "avg_response_time_seconds")
LOOKAHEAD = timedelta(days=7)


def load(conn: Any, *, tenant_id: UUID | str, start: datetime,
         end: datetime) -> dict[str, Any]:
    """Fetch what :func:`compute` needs for contacts started in ``[start, end)``."""
    t = str(tenant_id)
    lo, hi = start - CONTACT_GAP, end + LOOKAHEAD
    msgs = [Msg(r["conversation_id"], r["platform"], r["direction"], r["author_kind"],
                r["sent_at"], r["triage"]) for r in conn.execute(
        """select m.conversation_id, c.platform, m.direction, m.author_kind, m.sent_at, m.triage
           from inbox.conversation_messages m
           join inbox.conversations c on c.tenant_id = m.tenant_id
                                     and c.conversation_id = m.conversation_id
           where m.tenant_id = %s and m.sent_at >= %s and m.sent_at < %s
             and m.status <> 'failed' and m.status <> 'pending'""", [t, lo, hi]).fetchall()]
    closings = [(r["conversation_id"], r["at"]) for r in conn.execute(
        """select conversation_id, at from inbox.conversation_events
           where tenant_id = %s and action in ('resolved', 'archived') and at >= %s and at < %s""",
        [t, lo, hi]).fetchall()]
    escalations = [(r["conversation_id"], r["created_at"], r["platform"]) for r in conn.execute(
        """select e.conversation_id, e.created_at, c.platform from inbox.support_escalations e
           join inbox.conversations c on c.tenant_id = e.tenant_id
                                     and c.conversation_id = e.conversation_id
           where e.tenant_id = %s and e.created_at >= %s and e.created_at < %s""",
        [t, lo, hi]).fetchall()]
    cfg = conn.execute(
        """select t.time_zone, s.business_hours from core.tenants t
           left join inbox.settings s on s.tenant_id = t.tenant_id where t.tenant_id = %s""",
        [t]).fetchone()
    return {"messages": msgs, "closings": closings, "escalations": escalations,
            "tz": ZoneInfo(cfg["time_zone"]), "hours": parse_hours(cfg["business_hours"])}


def compute(data: dict[str, Any], *, start: datetime, end: datetime) -> dict[str, Any]:
    """Return ``{"kpi_2h": {...}, "daily": {...}, "contacts": [...]}`` for ``[start, end)``.

    Daily windows cover whole local days: ``start`` and ``end`` are widened to the local
    midnights around them.
    """
    tz, hours = data["tz"], data["hours"]
    contacts = build_contacts(data["messages"], data["closings"],
                              [(c, at) for c, at, _p in data["escalations"]])
    two = aggregate(data["messages"], contacts, data["escalations"], key=window_of,
                    start=window_of(start), end=end, hours=hours, tz=tz)
    d0 = datetime.combine(start.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    daily = aggregate(data["messages"], contacts, data["escalations"], key=local_day(tz),
                      start=d0, end=end, hours=hours, tz=tz)
    return {"kpi_2h": two, "daily": daily, "contacts": contacts}


def refresh(db: Database, *, tenant_id: UUID | str, start: datetime, end: datetime) -> dict[str, int]:
    """Recompute and store the tenant's KPIs for ``[start, end)``; return rows written."""
    t = str(tenant_id)
    with db.tenant_tx(t) as conn:
        # widen to whole local days so each daily row is computed from its whole day
        tz = ZoneInfo(conn.execute("select time_zone from core.tenants where tenant_id = %s",
                                   [t]).fetchone()["time_zone"])
        day0 = start.astimezone(tz).date()
        s = min(window_of(start), datetime.combine(day0, datetime.min.time(), tzinfo=tz)
                .astimezone(UTC))
        data = load(conn, tenant_id=t, start=s, end=end)
        res = compute(data, start=s, end=end)
        _with_comments(conn, t, res, s, end, tz)
        conn.execute("delete from inbox.kpi_2h where tenant_id = %s and window_start >= %s "
                     "and window_start < %s", [t, window_of(s), end])
        conn.execute("delete from inbox.analytics_history where tenant_id = %s and date >= %s "
                     "and date <= %s", [t, day0, end.astimezone(tz).date()])
        cols = ", ".join(COLUMNS)
        ph = ", ".join(["%s"] * len(COLUMNS))
        with conn.cursor() as cur:
            cur.executemany(
                f"""insert into inbox.kpi_2h (tenant_id, window_start, channel, window_end, {cols})
                    values (%s, %s, %s, %s, {ph})""",
                [(t, ws, ch, ws + WINDOW, *(v[c] for c in COLUMNS))
                 for (ws, ch), v in sorted(res["kpi_2h"].items())])
            dcols = COLUMNS + DAILY_EXTRA
            cur.executemany(
                f"""insert into inbox.analytics_history (tenant_id, date, channel,
                      {', '.join(dcols)}) values (%s, %s, %s, {', '.join(['%s'] * len(dcols))})""",
                [(t, d, ch, *(v[c] for c in dcols)) for (d, ch), v in sorted(res["daily"].items())])
        _analytics(conn, t, end)
    return {"kpi_2h": len(res["kpi_2h"]), "daily": len(res["daily"])}


def _with_comments(conn: Any, t: str, res: dict[str, Any], start: datetime, end: datetime,
                   tz: ZoneInfo) -> None:
    """Add the comment figures (:mod:`growthops.inbox.kpis.comments`) to the computed rows."""
    d0 = datetime.combine(start.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    data = comment_kpis.load(conn, tenant_id=t, start=min(window_of(start), d0), end=end)
    empty = lambda: summarise([], [], [], hours=None, tz=tz)  # noqa: E731
    comment_kpis.merge(res["kpi_2h"], data, comment_kpis.two_hour_windows(window_of(start), end),
                       window_of, empty)
    comment_kpis.merge(res["daily"], data, comment_kpis.local_days(d0, end, tz), local_day(tz),
                       empty)


def _analytics(conn: Any, t: str, now: datetime) -> None:
    """The tenant's headline figures over the last 7 local days (``inbox.analytics``)."""
    conn.execute(
        """insert into inbox.analytics (tenant_id, total_messages, total_conversations,
             auto_replies_sent, avg_response_time_seconds, frt_p50_seconds, frt_p90_seconds,
             human_frt_p50_seconds, human_frt_p90_seconds, last_calculated_at)
           select %(t)s, coalesce(sum(messages_count), 0), coalesce(sum(contacts_count), 0),
                  coalesce(sum(auto_replies_count), 0),
                  (sum(avg_response_time_seconds::float8 * answered_count)
                     / nullif(sum(answered_count) filter (where avg_response_time_seconds is not null), 0))::integer,
                  max(frt_p50_seconds), max(frt_p90_seconds),
                  max(human_frt_p50_seconds), max(human_frt_p90_seconds), now()
           from inbox.analytics_history
           where tenant_id = %(t)s and channel = 'all' and date > (%(now)s::timestamptz)::date - 7
           on conflict (tenant_id) do update set
             total_messages = excluded.total_messages,
             total_conversations = excluded.total_conversations,
             auto_replies_sent = excluded.auto_replies_sent,
             avg_response_time_seconds = excluded.avg_response_time_seconds,
             frt_p50_seconds = excluded.frt_p50_seconds, frt_p90_seconds = excluded.frt_p90_seconds,
             human_frt_p50_seconds = excluded.human_frt_p50_seconds,
             human_frt_p90_seconds = excluded.human_frt_p90_seconds,
             last_calculated_at = excluded.last_calculated_at, updated_at = now()""",
        {"t": t, "now": now})


def refresh_all(db: Database, *, start: datetime, end: datetime) -> int:
    """Refresh every tenant that has an inbox account; return how many tenants."""
    from growthops.core.tenants.service import directory

    with db.app_tx() as conn:
        tenants = directory(conn)
    n = 0
    for tn in tenants:
        with db.tenant_tx(tn["tenant_id"]) as conn:
            has = conn.execute("select exists (select 1 from inbox.social_accounts "
                               "where tenant_id = %s) as x", [tn["tenant_id"]]).fetchone()["x"]
        if has:
            refresh(db, tenant_id=tn["tenant_id"], start=start, end=end)
            n += 1
    return n


def read(conn: Any, *, tenant_id: UUID | str, start: datetime, end: datetime,
         granularity: str = "day", channel: str = "all") -> list[dict[str, Any]]:
    """Return stored KPI rows (``day``: analytics_history; ``2h``: kpi_2h) in ``[start, end)``."""
    if granularity == "2h":
        return conn.execute(
            """select window_start as period, * from inbox.kpi_2h where tenant_id = %s
               and channel = %s and window_start >= %s and window_start < %s
               order by window_start""", [str(tenant_id), channel, start, end]).fetchall()
    return conn.execute(
        """select date as period, * from inbox.analytics_history where tenant_id = %s
           and channel = %s and date >= (%s::timestamptz)::date and date <= (%s::timestamptz)::date
           order by date""", [str(tenant_id), channel, start, end]).fetchall()
