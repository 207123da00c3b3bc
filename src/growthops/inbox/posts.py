"""Scheduled Instagram posts (``inbox.scheduled_posts``): create, edit, cancel, list; occurrences.

A post is written for a wall-clock time in the tenant's time zone (``core.tenants.time_zone``)
and may recur with an RFC 5545 ``RRULE`` (``FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8``, no ``DTSTART``:
the first time is the start). Occurrences are computed by ``dateutil.rrule`` on **wall-clock**
times, then placed in the time zone (``zoneinfo``): a post at 09:00 Europe/Paris stays at 09:00
when summer time starts or ends (07:00 UTC in summer, 08:00 UTC in winter). A wall-clock time
that does not exist (02:30 on the spring-forward night) is taken with the offset before the
change (``fold=0``, PEP 495), i.e. it is published at 03:30 local; an ambiguous one (02:30 on the
fall-back night) is its first instance.

Publishing is :mod:`.publishing` (the job). Only Instagram: WhatsApp has no feed (see
docs/inbox-posts.md). Service functions take ``conn`` and ``tenant_id`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from psycopg.types.json import Jsonb

from growthops.connectors.instagram.publishing import validate_content
from growthops.connectors.messaging import MessagingError
from growthops.core.errors import Conflict, InvalidInput, NotFound

STATUSES = ("queued", "publishing", "published", "failed", "cancelled")
#: A recurrence may not produce more than this many occurrences in a year (a guard against
#: FREQ=MINUTELY; Instagram allows 100 API-published posts per 24 h, Content Publishing).
MAX_PER_YEAR = 366
#: An occurrence missed by more than this (the worker was down) is skipped, not published late.
MISSED_AFTER = timedelta(hours=1)


def _rule(rrule: str, start: datetime) -> Any:
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise InvalidInput("rrule: no DTSTART (the post's local time is the start)")
    try:
        return rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"rrule: {exc}") from None


def to_utc(local: datetime, tz: str) -> datetime:
    """Return the UTC instant of the wall-clock time ``local`` (naive) in ``tz`` (fold=0)."""
    return local.replace(tzinfo=ZoneInfo(tz), fold=0).astimezone(UTC)


def occurrences(local_at: datetime, tz: str, rrule: str | None, *, after: datetime | None = None,
                limit: int = 10) -> Iterator[datetime]:
    """Yield the UTC instants of a post's occurrences strictly after ``after`` (UTC; None: from
    the first), at most ``limit``. ``local_at``: naive wall-clock start in ``tz``."""
    if rrule is None:
        first = to_utc(local_at, tz)
        if after is None or first > after:
            yield first
        return
    n = 0
    for local in _rule(rrule, local_at):
        at = to_utc(local, tz)
        if after is not None and at <= after:
            continue
        yield at
        n += 1
        if n >= limit:
            return


def next_occurrence(post: dict[str, Any], after: datetime) -> datetime | None:
    """The first occurrence of ``post`` (a row) strictly after ``after`` (UTC), or None."""
    return next(occurrences(post["local_at"], post["time_zone"], post["rrule"], after=after,
                            limit=1), None)


def _tenant_tz(conn: Any, tenant_id: str) -> str:
    row = conn.execute("select time_zone from core.tenants where tenant_id = %s", [tenant_id]).fetchone()
    if row is None:
        raise NotFound("tenant: not found")
    return str(row["time_zone"])


def _check(text: str, media: list[dict[str, Any]], local_at: datetime, tz: str,
           rrule: str | None, now: datetime) -> datetime:
    """Validate a post; return its next occurrence after ``now`` (UTC)."""
    if not isinstance(text, str):
        raise InvalidInput("text: required")
    try:
        validate_content(text, media)
    except MessagingError as exc:
        raise InvalidInput(str(exc)) from None
    if local_at.tzinfo is not None:
        local_at = local_at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    if rrule:
        year = list(occurrences(local_at, tz, rrule, limit=MAX_PER_YEAR + 1))
        if len(year) > MAX_PER_YEAR and year[-1] - year[0] < timedelta(days=365):
            raise InvalidInput(f"rrule: more than {MAX_PER_YEAR} occurrences a year")
    first = next(occurrences(local_at, tz, rrule, after=now, limit=1), None)
    if first is None:
        raise InvalidInput(f"local_at: {local_at:%Y-%m-%d %H:%M} ({tz}) is in the past and "
                           "no occurrence is left")
    return first


def _naive(local_at: datetime, tz: str) -> datetime:
    return (local_at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
            if local_at.tzinfo is not None else local_at)


def create_post(conn: Any, *, tenant_id: UUID | str, social_account_id: int, text: str,
                media: list[dict[str, Any]], local_at: datetime, created_by: str,
                rrule: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Schedule a post on an Instagram account; return the row.

    ``local_at``: the wall-clock time in the tenant's time zone (naive; an aware datetime is
    converted); ``media``: ``[{"type": "image"|"video", "url"}]`` (1-10; Instagram has no
    text-only post); ``rrule``: optional RRULE. Raises :class:`InvalidInput` naming the field
    (past time, bad rule, caption over 2,200 characters...), :class:`NotFound` (account),
    :class:`Conflict` (not an active Instagram account).
    """
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    acc = conn.execute("select platform, status from inbox.social_accounts where tenant_id = %s "
                       "and social_account_id = %s", [tid, social_account_id]).fetchone()
    if acc is None:
        raise NotFound(f"social_account_id: no account {social_account_id} for this tenant")
    if acc["platform"] != "instagram":
        raise InvalidInput("social_account_id: scheduled posts are for Instagram accounts "
                           "(WhatsApp has no feed)")
    if acc["status"] != "active":
        raise Conflict(f"social_account_id: the account is {acc['status']}: reconnect it")
    tz = _tenant_tz(conn, tid)
    local = _naive(local_at, tz)
    first = _check(text, media, local, tz, rrule, at)
    return conn.execute(
        """insert into inbox.scheduled_posts (tenant_id, social_account_id, content_json, local_at,
             time_zone, rrule, publish_at, occurrence_at, next_attempt_at, created_by)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning *""",
        [tid, social_account_id, Jsonb({"text": text, "media": media}), local, tz,
         rrule or None, to_utc(local, tz), first, first, created_by]).fetchone()


def get_post(conn: Any, *, tenant_id: UUID | str, post_id: int, lock: bool = False) -> dict[str, Any]:
    """Return one post (``lock``: FOR UPDATE). Raises :class:`NotFound`."""
    row = conn.execute("select * from inbox.scheduled_posts where tenant_id = %s and post_id = %s"
                       + (" for update" if lock else ""), [str(tenant_id), post_id]).fetchone()
    if row is None:
        raise NotFound(f"post: no scheduled post {post_id} for this tenant")
    return row


def edit_post(conn: Any, *, tenant_id: UUID | str, post_id: int, text: str | None = None,
              media: list[dict[str, Any]] | None = None, local_at: datetime | None = None,
              rrule: str | None = None, clear_rrule: bool = False,
              now: datetime | None = None) -> dict[str, Any]:
    """Change a queued post's content, time or recurrence; return the row.

    Only a ``queued`` post can be edited (409 while a worker publishes it, or once published,
    failed or cancelled); its next occurrence is recomputed from now. Raises
    :class:`InvalidInput`, :class:`NotFound`, :class:`Conflict`.
    """
    at = now or datetime.now(UTC)
    post = get_post(conn, tenant_id=tenant_id, post_id=post_id, lock=True)
    if post["status"] != "queued":
        raise Conflict(f"post {post_id} is {post['status']}: only a queued post can be edited")
    content = dict(post["content_json"])
    new_text = text if text is not None else content.get("text", "")
    new_media = media if media is not None else content.get("media", [])
    tz = post["time_zone"]
    local = _naive(local_at, tz) if local_at is not None else post["local_at"]
    rule = None if clear_rrule else (rrule if rrule is not None else post["rrule"])
    nxt = _check(new_text, new_media, local, tz, rule, at)
    return conn.execute(
        """update inbox.scheduled_posts set content_json = %s, local_at = %s, rrule = %s,
             publish_at = %s, occurrence_at = %s, next_attempt_at = %s, retry_count = 0,
             error_message = null, updated_at = now()
           where tenant_id = %s and post_id = %s returning *""",
        [Jsonb({"text": new_text, "media": new_media}), local, rule or None, to_utc(local, tz),
         nxt, nxt, str(tenant_id), post_id]).fetchone()


def cancel_post(conn: Any, *, tenant_id: UUID | str, post_id: int) -> dict[str, Any]:
    """Cancel a queued post (no further occurrence is published); return the row.

    Raises :class:`Conflict` while a worker is publishing it or when it is already finished."""
    post = get_post(conn, tenant_id=tenant_id, post_id=post_id, lock=True)
    if post["status"] != "queued":
        raise Conflict(f"post {post_id} is {post['status']}: only a queued post can be cancelled")
    return conn.execute(
        """update inbox.scheduled_posts set status = 'cancelled', next_attempt_at = null,
             updated_at = now() where tenant_id = %s and post_id = %s returning *""",
        [str(tenant_id), post_id]).fetchone()


def list_posts(conn: Any, *, tenant_id: UUID | str, status: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Return the tenant's posts (next due first, then the newest) and their total count."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    rows = conn.execute(
        """select p.*, a.account_name, a.account_id, count(*) over () as total
           from inbox.scheduled_posts p
           join inbox.social_accounts a using (tenant_id, social_account_id)
           where p.tenant_id = %s and (%s::text is null or p.status = %s)
           order by p.next_attempt_at nulls last, p.post_id desc limit %s offset %s""",
        [str(tenant_id), status, status, limit, offset]).fetchall()
    return rows, int(rows[0]["total"]) if rows else 0


def runs(conn: Any, *, tenant_id: UUID | str, post_ids: list[int]) -> list[dict[str, Any]]:
    """Return the runs (attempts) of these posts, newest first."""
    return conn.execute(
        """select * from inbox.post_runs where tenant_id = %s and post_id = any(%s)
           order by started_at desc, run_id desc""", [str(tenant_id), post_ids]).fetchall()


def upcoming(post: dict[str, Any], *, limit: int = 5) -> list[datetime]:
    """The next ``limit`` occurrences of a queued post from its due one (UTC)."""
    if post["status"] != "queued" or post["occurrence_at"] is None:
        return []
    return [post["occurrence_at"], *occurrences(post["local_at"], post["time_zone"], post["rrule"],
                                                after=post["occurrence_at"], limit=limit - 1)]
