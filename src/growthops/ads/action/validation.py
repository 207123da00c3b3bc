"""The validation queue (seed 000 ``validation_queue``): client review, then team review.

An item (``ad_creative``, ``campaign_change``, ``budget_increase``) is submitted, reviewed by the
client, then by the agency's team, and ends approved or rejected. Pure transition table
(:data:`TRANSITIONS`, applied by :func:`next_stage`)::

    stage           action    -> stage          status     stamped columns
    client_review   advance   -> team_review    pending    client_validated_at / _by
    team_review     advance   -> approved       approved   team_validated_at / _by
    client_review   reject    -> rejected       rejected   rejected_at / _by, rejection_reason
    team_review     reject    -> rejected       rejected   rejected_at / _by, rejection_reason

``approved`` and ``rejected`` are final. An item expires ``ttl_hours`` after submission
(default :data:`DEFAULT_TTL_HOURS` = 72 h, seed 000's three-day review window); an item whose
``expires_at`` has passed cannot advance nor be rejected (:class:`Conflict`), and
:func:`expire_due` marks such items ``status = 'expired'`` (the stage stays where it stopped).
Reads report the effective status (``expired`` once past ``expires_at``) even before
:func:`expire_due` has run. Every transition writes an audit entry (object_type
``validation_item``). Transitions are optimistic: one ``UPDATE ... WHERE validation_stage = <the
stage read> AND status = 'pending' AND expires_at > now``, so two reviewers acting at once
produce one transition and the other gets a :class:`Conflict`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.ads.action import audit
from growthops.core.errors import Conflict, InvalidInput, NotFound

ITEM_TYPES = ("ad_creative", "campaign_change", "budget_increase")
STAGES = ("client_review", "team_review", "approved", "rejected")
STATUSES = ("pending", "approved", "rejected", "expired")
ACTIONS = ("advance", "reject")
#: Review window. Source: seed 000 validation_queue (items expire after 72 hours).
DEFAULT_TTL_HOURS = 72.0
MAX_TTL_HOURS = 24 * 90
#: (stage, action) -> (next stage, next status, who/when columns to stamp).
TRANSITIONS: dict[tuple[str, str], tuple[str, str, tuple[str, str]]] = {
    ("client_review", "advance"): ("team_review", "pending",
                                   ("client_validated_at", "client_validated_by")),
    ("team_review", "advance"): ("approved", "approved",
                                 ("team_validated_at", "team_validated_by")),
    ("client_review", "reject"): ("rejected", "rejected", ("rejected_at", "rejected_by")),
    ("team_review", "reject"): ("rejected", "rejected", ("rejected_at", "rejected_by")),
}

_EFFECTIVE = """*, case when status = 'pending' and expires_at <= %(now)s then 'expired'
                          else status end as effective_status"""



def may_act(*, can_decide: bool, stage: str) -> bool:
    """The one rule of who may advance or reject an item, for the API and the dashboard alike.

    Staff (admin, media_buyer) and API keys (``can_decide``) act at every stage; a
    client_viewer reviews its own tenant's items at the ``client_review`` stage only (the stage
    that exists for the client), never at ``team_review``; nobody acts on a final item (the
    service answers 409). Submitting items and deciding on suggestions stay staff-only.
    """
    return can_decide or stage == "client_review"

def next_stage(stage: str, action: str) -> tuple[str, str, tuple[str, str]]:
    """Return ``(next stage, next status, (at column, by column))`` for ``action`` at ``stage``.

    Pure. Raises :class:`InvalidInput` for an unknown action and :class:`Conflict` when the
    stage is final (approved, rejected) or unknown.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    try:
        return TRANSITIONS[(stage, action)]
    except KeyError:
        raise Conflict(f"a validation item at stage {stage!r} cannot {action}: "
                       "approved and rejected are final") from None


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.utcoffset() is None:
        raise InvalidInput("now: must be timezone-aware (UTC)")
    return now


def _name(value: Any, field: str) -> str:
    who = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(who) <= 200:
        raise InvalidInput(f"{field}: a name of 1 to 200 characters is required")
    return who


def submit(
    conn: Any,
    *,
    tenant_id: UUID | str,
    item_type: str,
    item_name: str,
    submitted_by: str,
    content: dict[str, Any] | None = None,
    ttl_hours: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Submit an item for client review; return its row (``queue_id``, ``expires_at``...).

    ``item_type``: one of :data:`ITEM_TYPES`; ``content``: a JSON object (the creative's copy and
    asset URL, the change, the budget from/to; a ``suggestion_id`` key links it to a suggestion
    in the audit trail); ``ttl_hours``: review window (default 72 h, 0 < ttl ≤ 2160);
    ``now``: submission instant (UTC). Audited as ``validation.submitted``. Raises
    :class:`InvalidInput` naming the bad field.
    """
    now = _now(now)
    if item_type not in ITEM_TYPES:
        raise InvalidInput(f"item_type: {item_type!r} is not one of {', '.join(ITEM_TYPES)}")
    name = item_name.strip() if isinstance(item_name, str) else ""
    if not 1 <= len(name) <= 500:
        raise InvalidInput("item_name: text of 1 to 500 characters is required")
    who = _name(submitted_by, "submitted_by")
    if content is not None and not isinstance(content, dict):
        raise InvalidInput("content: must be a JSON object")
    ttl = DEFAULT_TTL_HOURS if ttl_hours is None else float(ttl_hours)
    if not 0 < ttl <= MAX_TTL_HOURS:
        raise InvalidInput(f"ttl_hours: must be > 0 and at most {MAX_TTL_HOURS}")
    row = conn.execute(
        """insert into ads.validation_queue (tenant_id, item_type, item_name, content,
                                             submitted_by, submitted_at, expires_at)
           values (%(t)s, %(type)s, %(name)s, %(content)s, %(by)s, %(now)s, %(exp)s)
           returning """ + _EFFECTIVE,
        {"t": str(tenant_id), "type": item_type, "name": name,
         "content": Jsonb(content or {}, dumps=_dumps), "by": who, "now": now,
         "exp": now + timedelta(hours=ttl)},
    ).fetchone()
    audit.record(conn, tenant_id=tenant_id, actor=who, action="validation.submitted",
                 object_type="validation_item", object_id=row["queue_id"],
                 after={"stage": row["validation_stage"], "status": row["status"],
                        "item_type": item_type, "item_name": name,
                        "expires_at": row["expires_at"],
                        **_link(content)},
                 occurred_at=now)
    return row


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=audit.json_default)


def _link(content: dict[str, Any] | None) -> dict[str, Any]:
    """The suggestion an item came from, for the audit trail (``{}`` when none)."""
    sid = (content or {}).get("suggestion_id")
    return {"suggestion_id": sid} if isinstance(sid, int | str) and str(sid) else {}


def get_item(conn: Any, *, tenant_id: UUID | str, queue_id: int,
             now: datetime | None = None) -> dict[str, Any]:
    """Return one item with its ``effective_status``; :class:`NotFound` if absent."""
    row = conn.execute(
        "select " + _EFFECTIVE + " from ads.validation_queue "
        "where tenant_id = %(t)s and queue_id = %(id)s",
        {"t": str(tenant_id), "id": queue_id, "now": _now(now)},
    ).fetchone()
    if row is None:
        raise NotFound(f"no validation item {queue_id} for this tenant")
    return row


def list_items(
    conn: Any,
    *,
    tenant_id: UUID | str,
    status: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Return ``(items, total)``: the tenant's items, newest first, paginated.

    ``status`` filters on the effective status (``expired`` includes pending items past their
    ``expires_at``); ``stage`` on ``validation_stage``. Raises :class:`InvalidInput` for an
    unknown status or stage, ``limit`` outside 1..1000 or a negative ``offset``.
    """
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if stage is not None and stage not in STAGES:
        raise InvalidInput(f"stage: {stage!r} is not one of {', '.join(STAGES)}")
    if not 1 <= int(limit) <= 1000:
        raise InvalidInput("limit: must be between 1 and 1000")
    if int(offset) < 0:
        raise InvalidInput("offset: must be 0 or more")
    rows = conn.execute(
        "select count(*) over () as total, * from (select " + _EFFECTIVE +
        """ from ads.validation_queue where tenant_id = %(t)s) q
           where (%(status)s::text is null or effective_status = %(status)s::text)
             and (%(stage)s::text is null or validation_stage = %(stage)s::text)
           order by submitted_at desc, queue_id desc
           limit %(limit)s offset %(offset)s""",
        {"t": str(tenant_id), "now": _now(now), "status": status, "stage": stage,
         "limit": int(limit), "offset": int(offset)},
    ).fetchall()
    if rows:
        total = int(rows[0]["total"])
    else:  # past the last page: count without the window
        total = int(conn.execute(
            "select count(*) as n from (select " + _EFFECTIVE +
            """ from ads.validation_queue where tenant_id = %(t)s) q
               where (%(status)s::text is null or effective_status = %(status)s::text)
                 and (%(stage)s::text is null or validation_stage = %(stage)s::text)""",
            {"t": str(tenant_id), "now": _now(now), "status": status, "stage": stage},
        ).fetchone()["n"])
    for r in rows:
        r.pop("total", None)
    return rows, total


def _transition(conn: Any, *, tenant_id: UUID | str, queue_id: int, action: str, by: str,
                reason: str | None, now: datetime | None) -> dict[str, Any]:
    """Apply ``action`` to one item (see :data:`TRANSITIONS`); audited."""
    now = _now(now)
    who = _name(by, "by")
    item = get_item(conn, tenant_id=tenant_id, queue_id=queue_id, now=now)
    if item["status"] != "pending" or item["effective_status"] == "expired":
        raise Conflict(_blocked_message(item, action))
    to_stage, to_status, (at_col, by_col) = next_stage(item["validation_stage"], action)
    extra = ", rejection_reason = %(reason)s" if action == "reject" else ""
    row = conn.execute(
        f"""update ads.validation_queue
               set validation_stage = %(to)s, status = %(status)s,
                   {at_col} = %(now)s, {by_col} = %(by)s{extra}
             where tenant_id = %(t)s and queue_id = %(id)s and validation_stage = %(from)s
               and status = 'pending' and expires_at > %(now)s
           returning """ + _EFFECTIVE,
        {"to": to_stage, "status": to_status, "now": now, "by": who, "reason": reason,
         "t": str(tenant_id), "id": queue_id, "from": item["validation_stage"]},
    ).fetchone()
    if row is None:  # another reviewer moved it between the read and the update
        raise Conflict(_blocked_message(
            get_item(conn, tenant_id=tenant_id, queue_id=queue_id, now=now), action))
    audit.record(
        conn, tenant_id=tenant_id, actor=who,
        action="validation.advanced" if action == "advance" else "validation.rejected",
        object_type="validation_item", object_id=queue_id,
        before={"stage": item["validation_stage"], "status": item["status"]},
        after={"stage": to_stage, "status": to_status, **_link(item["content"])},
        reason=reason, occurred_at=now,
    )
    return row


def _blocked_message(item: dict[str, Any], action: str) -> str:
    """Why ``action`` cannot apply to ``item`` (its status, stage and who/when)."""
    qid = item["queue_id"]
    if item["effective_status"] == "expired":
        return (f"validation item {qid} expired on {audit_ts(item['expires_at'])} at stage "
                f"{item['validation_stage']}; it cannot {action} (submit it again)")
    if item["status"] == "approved":
        return (f"validation item {qid} is already approved (by {item['team_validated_by']} on "
                f"{audit_ts(item['team_validated_at'])}); it cannot {action}")
    if item["status"] == "rejected":
        return (f"validation item {qid} is already rejected (by {item['rejected_by']} on "
                f"{audit_ts(item['rejected_at'])}); it cannot {action}")
    return (f"validation item {qid} changed while you acted (now stage "
            f"{item['validation_stage']}, status {item['status']}); reload it and retry")


def audit_ts(ts: datetime | None) -> str:
    """Format an instant as ``YYYY-MM-DD HH:MM UTC``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def advance(conn: Any, *, tenant_id: UUID | str, queue_id: int, by: str,
            notes: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Move an item one stage forward (client_review → team_review → approved).

    ``by``: the reviewer (1-200 chars), stamped in ``client_validated_by`` or
    ``team_validated_by`` with the instant ``now`` (UTC). Returns the updated row. Raises
    :class:`NotFound`, :class:`Conflict` (final, expired, or moved concurrently),
    :class:`InvalidInput`.
    """
    return _transition(conn, tenant_id=tenant_id, queue_id=queue_id, action="advance", by=by,
                       reason=notes, now=now)


def reject(conn: Any, *, tenant_id: UUID | str, queue_id: int, by: str, reason: str,
           now: datetime | None = None) -> dict[str, Any]:
    """Reject an item at its current review stage, saying why (``reason`` is required).

    Returns the updated row. Raises :class:`NotFound`, :class:`Conflict` (final, expired, or
    moved concurrently), :class:`InvalidInput` (empty reason or reviewer).
    """
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 4000:
        raise InvalidInput("reason: why the item is rejected (1 to 4000 characters) is required")
    return _transition(conn, tenant_id=tenant_id, queue_id=queue_id, action="reject", by=by,
                       reason=reason.strip(), now=now)


def expire_due(conn: Any, *, tenant_id: UUID | str, now: datetime | None = None) -> int:
    """Mark pending items past ``expires_at`` as expired; audit each; return how many.

    One UPDATE and one INSERT ... SELECT into the audit log (actor ``system``, action
    ``validation.expired``), whatever the number of items. Idempotent.
    """
    now = _now(now)
    cur = conn.execute(
        """with expired as (
             update ads.validation_queue set status = 'expired'
             where tenant_id = %(t)s and status = 'pending' and expires_at <= %(now)s
             returning queue_id, validation_stage, expires_at, content
           )
           insert into ads.audit_log (tenant_id, occurred_at, actor, action, object_type,
                                      object_id, before, after, reason)
           select %(t)s, %(now)s, 'system', 'validation.expired', 'validation_item',
                  queue_id::text, jsonb_build_object('stage', validation_stage,
                                                     'status', 'pending'),
                  jsonb_strip_nulls(jsonb_build_object('stage', validation_stage,
                                                       'status', 'expired',
                                                       'suggestion_id',
                                                       content->>'suggestion_id')),
                  'not reviewed before ' || to_char(expires_at at time zone 'UTC',
                                                    'YYYY-MM-DD HH24:MI "UTC"')
           from expired""",
        {"t": str(tenant_id), "now": now},
    )
    return cur.rowcount
