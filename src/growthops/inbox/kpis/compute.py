"""KPI definitions, as pure functions on hand-checkable timelines (tests build them by hand).

**Contact** (the unit of "first response"): starts with an inbound message when (a) the
conversation has no contact yet, (b) the conversation was resolved or archived since the
previous message (a reopened conversation), or (c) the previous message of the conversation,
in either direction, is :data:`CONTACT_GAP` (24 h, the length of WhatsApp's customer service
window and Instagram's standard window) or more before it. Every other inbound message belongs
to the current contact. Outbound messages before the first inbound message of a conversation
(e.g. a template campaign) belong to no contact and are not responses.

**First response** of a contact: its first outbound message (any author) at or after its
start and before the next contact starts. **First human response**: its first outbound
message written by a person (``human`` through growthops, or ``platform_app``: a person in the
platform's own app). The AI's and the humans' are measured apart, so a fast AI does not hide
slow humans.

**Response time** = response time − contact start, in seconds; with business hours, only the
seconds inside them count (a message at 22:00 answered at 09:30 the next day, hours 09:00-18:00,
took 1,800 s). **p50 / p90**: percentiles of the answered contacts started in the window, with
linear interpolation between order statistics (NumPy's default ``linear`` method, Hyndman & Fan
type 7); unanswered contacts are counted apart (``contacts - answered``), not in the percentiles.

**Auto-reply rate** = contacts whose first response came from the AI ÷ contacts started in the
window. **Escalation rate** = contacts during which an escalation was opened ÷ contacts. Rates
are fractions 0-1, None when there is no contact. A contact belongs to the window (2-hour UTC
window, or the tenant's local day) in which it **started**; message counts belong to the window
of their own time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

CONTACT_GAP = timedelta(hours=24)
HUMAN_AUTHORS = frozenset({"human", "platform_app"})
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class Msg:
    """A message of a timeline: ``direction`` inbound/outbound, ``author`` customer/ai/human/
    platform_app, ``triage`` (None, respond, ignore, escalate)."""

    conversation_id: int
    platform: str
    direction: str
    author: str
    at: datetime
    triage: str | None = None


@dataclass
class Contact:
    """A contact: when it started, its first response (and whose), its first human response."""

    conversation_id: int
    platform: str
    start: datetime
    first_at: datetime | None = None
    first_author: str | None = None
    first_human_at: datetime | None = None
    escalated: bool = False
    end: datetime | None = field(default=None, repr=False)  # start of the next contact


def build_contacts(messages: Iterable[Msg], closings: Iterable[tuple[int, datetime]] = (),
                   escalations: Iterable[tuple[int, datetime]] = ()) -> list[Contact]:
    """Split each conversation's messages into contacts (see the module docstring).

    ``closings``: ``(conversation_id, time)`` of each resolve or archive; ``escalations``:
    ``(conversation_id, time)`` each escalation was opened. Messages may come in any order.
    """
    by_conv: dict[int, list[Msg]] = defaultdict(list)
    for m in messages:
        by_conv[m.conversation_id].append(m)
    closed: dict[int, list[datetime]] = defaultdict(list)
    for c, at in closings:
        closed[c].append(at)
    out: list[Contact] = []
    for conv, msgs in by_conv.items():
        msgs.sort(key=lambda m: (m.at, m.direction != "inbound"))
        cur: Contact | None = None
        prev: datetime | None = None
        for m in msgs:
            if m.direction == "inbound":
                reopened = prev is not None and any(prev < t <= m.at for t in closed[conv])
                if cur is None or reopened or (prev is not None and m.at - prev >= CONTACT_GAP):
                    if cur is not None:
                        cur.end = m.at
                    cur = Contact(conv, m.platform, m.at)
                    out.append(cur)
            elif cur is not None:
                if cur.first_at is None:
                    cur.first_at, cur.first_author = m.at, m.author
                if m.author in HUMAN_AUTHORS and cur.first_human_at is None:
                    cur.first_human_at = m.at
            prev = m.at
    esc: dict[int, list[datetime]] = defaultdict(list)
    for c, at in escalations:
        esc[c].append(at)
    for ct in out:
        ct.escalated = any(ct.start <= t and (ct.end is None or t < ct.end)
                           for t in esc.get(ct.conversation_id, ()))
    out.sort(key=lambda c: (c.start, c.conversation_id))
    return out


def parse_hours(hours: Mapping[str, Any] | None) -> dict[int, list[tuple[time, time]]] | None:
    """Turn ``{"mon": [["09:00", "18:00"]], ...}`` into ``{weekday: [(start, end)]}``.

    None means every hour counts. Raises ValueError naming the day for a bad interval.
    """
    if hours is None:
        return None
    out: dict[int, list[tuple[time, time]]] = {i: [] for i in range(7)}
    for key, spans in hours.items():
        if key not in DAYS:
            raise ValueError(f"business_hours: {key!r} is not one of {', '.join(DAYS)}")
        for span in spans or []:
            a, b = time.fromisoformat(span[0]), time.fromisoformat(span[1])
            if b <= a:
                raise ValueError(f"business_hours.{key}: {span[0]}-{span[1]} ends before it starts")
            out[DAYS.index(key)].append((a, b))
    return out


def elapsed(start: datetime, end: datetime, hours: dict[int, list[tuple[time, time]]] | None,
            tz: ZoneInfo) -> float:
    """Seconds from ``start`` to ``end`` (UTC-aware), counting only business hours if given.

    Business intervals are local wall-clock times in ``tz`` (DST handled by :mod:`zoneinfo`).
    """
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    total = 0.0
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        for a, b in hours.get(day.weekday(), []):
            lo = max(start, datetime.combine(day, a, tzinfo=tz))
            hi = min(end, datetime.combine(day, b, tzinfo=tz))
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def percentile(values: Sequence[float], q: float) -> int | None:
    """The ``q``-th percentile (0-100, linear interpolation), rounded to whole seconds; None if empty."""
    if not values:
        return None
    return int(round(float(np.percentile(np.asarray(values, dtype=float), q))))


def window_of(at: datetime) -> datetime:
    """The start of the 2-hour UTC window containing ``at`` (00:00, 02:00, ..., 22:00)."""
    return at.replace(hour=at.hour - at.hour % 2, minute=0, second=0, microsecond=0)


def summarise(contacts: Sequence[Contact], messages: Sequence[Msg],
              escalations: Sequence[tuple[int, datetime]], *,
              hours: dict[int, list[tuple[time, time]]] | None, tz: ZoneInfo) -> dict[str, Any]:
    """The figures of one window and channel: counts, rates, FRT p50/p90 (any, human), mean."""
    frt = [elapsed(c.start, c.first_at, hours, tz) for c in contacts if c.first_at]
    human = [elapsed(c.start, c.first_human_at, hours, tz) for c in contacts if c.first_human_at]
    n = len(contacts)
    return {
        "messages_count": len(messages),
        "inbound_count": sum(1 for m in messages if m.direction == "inbound"),
        "outbound_count": sum(1 for m in messages if m.direction == "outbound"),
        "contacts_count": n,
        "answered_count": len(frt),
        "auto_replies_count": sum(1 for m in messages
                                  if m.direction == "outbound" and m.author == "ai"),
        "escalate_count": len(escalations),
        "ignored_count": sum(1 for m in messages if m.triage == "ignore"),
        "frt_p50_seconds": percentile(frt, 50),
        "frt_p90_seconds": percentile(frt, 90),
        "human_frt_p50_seconds": percentile(human, 50),
        "human_frt_p90_seconds": percentile(human, 90),
        "avg_response_time_seconds": int(round(sum(frt) / len(frt))) if frt else None,
        "auto_reply_rate": round(sum(1 for c in contacts if c.first_author == "ai") / n, 3)
        if n else None,
        "escalation_rate": round(sum(1 for c in contacts if c.escalated) / n, 3) if n else None,
        "conversations_count": len({m.conversation_id for m in messages}),
    }


def aggregate(messages: Sequence[Msg], contacts: Sequence[Contact],
              escalations: Sequence[tuple[int, datetime, str]], *,
              key: Any, start: datetime, end: datetime,
              hours: dict[int, list[tuple[time, time]]] | None, tz: ZoneInfo
              ) -> dict[tuple[Any, str], dict[str, Any]]:
    """Group into ``{(window key, channel): figures}`` for every window with activity.

    ``key(at) -> window key`` (a 2-hour start, or a local date); ``channel`` is ``all``,
    ``whatsapp`` or ``instagram``; only items whose time is in ``[start, end)`` count.
    ``escalations``: ``(conversation_id, opened at, platform)``.
    """
    def inside(at: datetime) -> bool:
        return start <= at < end

    groups: dict[tuple[Any, str], tuple[list[Contact], list[Msg], list[Any]]] = defaultdict(
        lambda: ([], [], []))
    for c in contacts:
        if inside(c.start):
            for ch in ("all", c.platform):
                groups[(key(c.start), ch)][0].append(c)
    for m in messages:
        if inside(m.at):
            for ch in ("all", m.platform):
                groups[(key(m.at), ch)][1].append(m)
    for conv, at, platform in escalations:
        if inside(at):
            for ch in ("all", platform):
                groups[(key(at), ch)][2].append((conv, at))
    return {k: summarise(cs, ms, es, hours=hours, tz=tz) for k, (cs, ms, es) in groups.items()}


def local_day(tz: ZoneInfo) -> Any:
    """Return ``at -> the local date in tz`` (the daily window key)."""
    def key(at: datetime) -> date:
        return at.astimezone(tz).date()
    return key
