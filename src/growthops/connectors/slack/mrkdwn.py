"""Slack's mrkdwn formatting: escaping, truncation, date tokens (no domain wording here)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack's mrkdwn requires (Slack "Formatting text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters, ending with "…" when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def slack_time(ts: datetime, time_zone: str, *, with_date: bool = False) -> str:
    """Return a Slack date token for ``ts``: shown in the reader's zone, fallback in the tenant's.

    ``<!date^1706789123^{time}|13:05>`` (``with_date``: ``{date_short} {time}`` and
    ``YYYY-MM-DD HH:MM``). Source: Slack "Formatting text for app surfaces", date formatting.
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    local = ts.astimezone(ZoneInfo(time_zone))
    fmt, fallback = (("{date_short} {time}", local.strftime("%Y-%m-%d %H:%M")) if with_date
                     else ("{time}", local.strftime("%H:%M")))
    return f"<!date^{int(ts.timestamp())}^{fmt}|{fallback}>"
