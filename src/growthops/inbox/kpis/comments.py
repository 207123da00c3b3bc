"""Comment KPIs of the KPI tables (issue 12), counted apart from the messages' figures.

**comments_count**: comments received in the window (the platform's ``created_at``; a reply in
a thread counts as a comment). **posts_active**: monitored posts under monitoring at some time
in the window (``monitoring_started_at < window end`` and ``monitoring_ends_at > window
start``; a post whose monitoring was switched off early counts until its last check). Both
go to the ``all`` and ``instagram`` channels (WhatsApp has no feed: 0). Windows are the
messages' (2-hour UTC windows, the tenant's local days); a window with comments or active posts
and no message gets a row whose message figures are zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

COLUMNS = ("comments_count", "posts_active")


def load(conn: Any, *, tenant_id: UUID | str, start: datetime, end: datetime
         ) -> dict[str, list[Any]]:
    """The comments' times in ``[start, end)`` and the monitoring intervals overlapping it."""
    t = str(tenant_id)
    times = [r["created_at"] for r in conn.execute(
        """select created_at from inbox.comments where tenant_id = %s
             and created_at >= %s and created_at < %s""", [t, start, end]).fetchall()]
    spans = [(r["monitoring_started_at"], r["until"]) for r in conn.execute(
        """select monitoring_started_at,
                  case when monitoring_enabled then monitoring_ends_at
                       else least(monitoring_ends_at, coalesce(last_check_at, updated_at)) end as until
           from inbox.monitored_posts
           where tenant_id = %s and monitoring_started_at < %s and monitoring_ends_at > %s""",
        [t, end, start]).fetchall()]
    return {"comments": times, "spans": spans}


def two_hour_windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, datetime]]:
    """``(key, lo, hi)`` of each 2-hour UTC window from ``start`` (a window start) to ``end``."""
    at = start
    while at < end:
        yield at, at, at + timedelta(hours=2)
        at += timedelta(hours=2)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[tuple[date, datetime, datetime]]:
    """``(date, lo, hi)`` of each local day of ``tz`` from ``start``'s to ``end``'s (DST-aware:
    a day is 23 or 25 hours at the changes)."""
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        lo = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        yield day, lo, hi
        day += timedelta(days=1)


def merge(rows: dict[tuple[Any, str], dict[str, Any]], data: dict[str, list[Any]],
          windows: Iterator[tuple[Any, datetime, datetime]], key: Callable[[datetime], Any],
          empty: Callable[[], dict[str, Any]]) -> dict[tuple[Any, str], dict[str, Any]]:
    """Add ``comments_count`` and ``posts_active`` to every row of ``rows`` (``{(window key,
    channel): figures}``, changed in place and returned), creating the rows (``empty()``) of
    windows with comments or active posts. ``key(at)``: the window key of a time (the same
    keys as ``windows``')."""
    for figures in rows.values():
        for c in COLUMNS:
            figures.setdefault(c, 0)
    per = Counter(key(at) for at in data["comments"])
    for k, lo, hi in windows:
        n = per.get(k, 0)
        active = sum(1 for a, b in data["spans"] if a < hi and b > lo)
        if not (n or active):
            continue
        for ch in ("all", "instagram"):
            figures = rows.get((k, ch))
            if figures is None:
                figures = rows[(k, ch)] = {**empty(), "comments_count": 0, "posts_active": 0}
            figures["comments_count"], figures["posts_active"] = n, active
    return rows
