"""The audit trail: every state change on a tenant's ad accounts, append-only.

``ads.audit_log`` (migration 0004) is written by :func:`record` and read by :func:`trail`.
The application role has no UPDATE or DELETE privilege on it (0004 revokes them) and migration
0006 adds a trigger refusing UPDATE for every role, so an entry, once committed, stays as written;
rows leave only with their tenant (``on delete cascade``).

Conventions for writers (so :func:`growthops.ads.action.decisions.history` finds the rows):

* ``action`` is ``<object>.<verb>``: ``suggestion.approved``, ``suggestion.expired``,
  ``execution.applied``, ``guard_rail.blocked``, ``validation.advanced``...
* ``object_type`` / ``object_id`` name the changed object (``suggestion`` / ``"42"``).
* a row about a suggestion that is not itself the suggestion (an execution, a validation item)
  puts ``"suggestion_id": <id>`` in ``after`` (or ``before``).
* ``before`` / ``after`` are JSON objects, redacted with
  :func:`growthops.core.logs.service.redact` (no token or secret ever lands in the trail).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.core.errors import InvalidInput
from growthops.core.logs.scrub import scrub

#: Upper bound of :func:`trail`'s ``limit``.
MAX_TRAIL_ROWS = 10_000


def redacted_jsonb(value: Any) -> Jsonb | None:
    """Wrap ``value``, redacted as :func:`record` stores it, as a jsonb query parameter (for a
    statement that writes an entry itself, e.g. :func:`growthops.ads.action.decisions.decide`);
    None stays SQL NULL."""
    return _jsonb(value)


def _jsonb(value: Any) -> Jsonb | None:
    """Wrap ``value`` (redacted) for a jsonb column; None stays SQL NULL."""
    if value is None:
        return None
    from growthops.core.logs.service import redact

    return Jsonb(redact(value), dumps=lambda v: json.dumps(v, default=json_default))


def json_default(value: Any) -> Any:
    """Serialise Decimal, UUID, dates and sets for JSON (money stays exact as a string)."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return repr(value)


def record(
    conn: Any,
    *,
    tenant_id: UUID | str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    platform: str | None = None,
    entity_id: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Append one entry to the tenant's audit trail and return its ``audit_id``.

    ``actor``: who (a person's name, ``system``, ``auto-apply``, ``api:<key prefix>``...);
    ``action``: ``<object>.<verb>``; ``object_id`` is stored as text. ``before`` / ``after``:
    JSON-serialisable values (Decimal, UUID and datetimes are converted), redacted; ``reason``
    is scrubbed of credentials (:func:`growthops.core.logs.scrub.scrub`).
    ``occurred_at``: timezone-aware instant (UTC); default the transaction's ``now()``.
    Runs in the caller's tenant transaction (never commits). Raises :class:`InvalidInput`
    when ``actor``, ``action``, ``object_type`` or ``object_id`` is empty, or ``occurred_at``
    is naive.
    """
    for name, value in (("actor", actor), ("action", action), ("object_type", object_type),
                        ("object_id", object_id)):
        if value is None or not str(value).strip():
            raise InvalidInput(f"{name}: must not be empty")
    if occurred_at is not None and occurred_at.utcoffset() is None:
        raise InvalidInput("occurred_at: must be timezone-aware (UTC)")
    row = conn.execute(
        """insert into ads.audit_log (tenant_id, occurred_at, actor, action, object_type, object_id,
                                      platform, entity_id, before, after, reason)
           values (%s, coalesce(%s, now()), %s, %s, %s, %s, %s, %s, %s, %s, %s)
           returning audit_id""",
        [str(tenant_id), occurred_at, str(actor).strip(), action, object_type, str(object_id),
         platform, entity_id, _jsonb(before), _jsonb(after), scrub(reason)],
    ).fetchone()
    return int(row["audit_id"])


def trail(
    conn: Any,
    *,
    tenant_id: UUID | str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Return the tenant's audit entries, newest first, optionally filtered.

    Filters (all optional, combined with AND): ``object_type``, ``object_id`` (text compare),
    ``entity_id`` (the ad platform's id). Each row: ``audit_id, occurred_at (UTC), actor,
    action, object_type, object_id, platform, entity_id, before, after, reason``.
    Raises :class:`InvalidInput` for ``limit`` outside 1..:data:`MAX_TRAIL_ROWS` or a
    negative ``offset``.
    """
    if not 1 <= int(limit) <= MAX_TRAIL_ROWS:
        raise InvalidInput(f"limit: must be between 1 and {MAX_TRAIL_ROWS}")
    if int(offset) < 0:
        raise InvalidInput("offset: must be 0 or more")
    return conn.execute(
        """select audit_id, occurred_at, actor, action, object_type, object_id, platform,
                  entity_id, before, after, reason
           from ads.audit_log
           where tenant_id = %(t)s
             and (%(ot)s::text is null or object_type = %(ot)s::text)
             and (%(oid)s::text is null or object_id = %(oid)s::text)
             and (%(ent)s::text is null or entity_id = %(ent)s::text)
           order by occurred_at desc, audit_id desc
           limit %(limit)s offset %(offset)s""",
        {"t": str(tenant_id), "ot": object_type,
         "oid": None if object_id is None else str(object_id), "ent": entity_id,
         "limit": int(limit), "offset": int(offset)},
    ).fetchall()
