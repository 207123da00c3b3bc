"""Anomaly triage: a person investigates, resolves or dismisses an anomaly (seed 004 statuses).

Statuses (``ads.anomalies.status``, migration 0002) and the transitions allowed
(:data:`TRANSITIONS`): ``active`` → ``investigating`` | ``resolved`` | ``dismissed``;
``investigating`` → ``resolved`` | ``dismissed`` | ``active``; a closed anomaly
(``resolved`` / ``dismissed``) can only be reopened (``active``). Each change stores who made
it, when and the note (migration 0101: ``status_by``, ``status_changed_at``, ``status_note``),
sets ``resolved_at`` when it closes (cleared on reopening) and appends one ``anomaly.<status>``
entry with before/after to the audit trail (:func:`growthops.ads.action.audit.record`). Nothing
is deleted. Asking for the status the anomaly already has changes nothing (idempotent). The
daily cycle keeps a status set by a person when it re-runs a day
(:func:`growthops.ads.analysis.anomalies.detect_anomalies`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from growthops.core.errors import Conflict, InvalidInput, NotFound

STATUSES = ("active", "investigating", "resolved", "dismissed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"investigating", "resolved", "dismissed"}),
    "investigating": frozenset({"resolved", "dismissed", "active"}),
    "resolved": frozenset({"active"}),
    "dismissed": frozenset({"active"}),
}
CLOSED = frozenset({"resolved", "dismissed"})
MAX_NOTE = 4000
MAX_BY = 200
_FIELDS = ("anomaly_id", "as_of", "platform", "level", "entity_id", "entity_name", "metric",
           "anomaly_type", "severity", "status", "status_note", "status_by",
           "status_changed_at", "resolved_at")


def set_anomaly_status(
    conn: Any,
    *,
    tenant_id: UUID | str,
    anomaly_id: int,
    status: str,
    by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Change one anomaly's status; return ``(row, changed)``. Never commits.

    ``by``: who (1–200 characters); ``note``: why (≤ 4000 characters, optional). ``now``
    (UTC) defaults to the transaction time. Raises :class:`InvalidInput` naming ``status``,
    ``by`` or ``note``; :class:`NotFound` for an id the tenant does not have;
    :class:`Conflict` for a transition :data:`TRANSITIONS` does not allow.
    """
    from growthops.ads.action.audit import record

    if status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    by = (by or "").strip()
    if not 1 <= len(by) <= MAX_BY:
        raise InvalidInput(f"by: who changes the status is required (1-{MAX_BY} characters)")
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"note: {len(note)} characters; at most {MAX_NOTE}")
    cols = ", ".join(_FIELDS)
    row = conn.execute(
        f"select {cols} from ads.anomalies where tenant_id = %s and anomaly_id = %s for update",
        [tenant_id, anomaly_id]).fetchone()
    if row is None:
        raise NotFound(f"no anomaly {anomaly_id} for this tenant")
    before = dict(row)
    if before["status"] == status:
        return before, False
    if status not in TRANSITIONS[before["status"]]:
        raise Conflict(f"anomaly {anomaly_id} is {before['status']}: it cannot become {status} "
                       f"(allowed: {', '.join(sorted(TRANSITIONS[before['status']]))})")
    after = dict(conn.execute(
        f"""update ads.anomalies set status = %(status)s, status_note = %(note)s,
                   status_by = %(by)s, status_changed_at = coalesce(%(now)s, now()),
                   resolved_at = case when %(closed)s then coalesce(%(now)s, now()) end
            where tenant_id = %(t)s and anomaly_id = %(id)s returning {cols}""",
        {"status": status, "note": note, "by": by, "now": now, "closed": status in CLOSED,
         "t": tenant_id, "id": anomaly_id}).fetchone())
    record(conn, tenant_id=tenant_id, actor=by, action=f"anomaly.{status}",
           object_type="anomaly", object_id=anomaly_id, platform=before["platform"],
           entity_id=before["entity_id"],
           before={k: before[k] for k in ("status", "status_note", "status_by")},
           after={k: after[k] for k in ("status", "status_note", "status_by")}, reason=note)
    return after, True


def list_anomalies(conn: Any, *, tenant_id: UUID | str, status: str | None = None,
                   limit: int = 50) -> list[dict[str, Any]]:
    """Return the tenant's anomalies (one status, or all), newest day first, at most ``limit``."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    return conn.execute(
        f"""select {', '.join(_FIELDS)} from ads.anomalies
            where tenant_id = %s and (%s::text is null or status = %s)
            order by as_of desc, anomaly_id desc limit %s""",
        [tenant_id, status, status, limit]).fetchall()
