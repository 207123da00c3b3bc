"""Reading the AI's decisions and labelling them (a person's verdict is the calibration's label)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from growthops.core.errors import NotFound

COLUMNS = """ai_decision_id, message_id, conversation_id, decision, confidence, reason,
             matched_rule, message_text, reply_text, reply_status, citations, label, labelled_by,
             labelled_at, created_at"""


def list_decisions(conn: Any, *, tenant_id: UUID | str, decision: str | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The tenant's decisions, newest first (optionally of one ``decision``), and the total."""
    rows = conn.execute(
        f"""select {COLUMNS}, count(*) over () as total from inbox.ai_decisions
            where tenant_id = %s and (%s::text is null or decision = %s)
            order by created_at desc, ai_decision_id desc limit %s offset %s""",
        [str(tenant_id), decision, decision, limit, offset]).fetchall()
    total = rows[0]["total"] if rows else 0
    return rows, int(total)


def label_decision(conn: Any, *, tenant_id: UUID | str, decision_id: int, label: str,
                   by: str) -> dict[str, Any]:
    """Record a person's verdict (``correct`` or ``wrong``) on a decision; return it.

    Raises :class:`NotFound`; ValueError for another label.
    """
    if label not in ("correct", "wrong"):
        raise ValueError(f"label: {label!r} is not one of correct, wrong")
    row = conn.execute(
        f"""update inbox.ai_decisions set label = %s, labelled_by = %s, labelled_at = now()
            where tenant_id = %s and ai_decision_id = %s returning {COLUMNS}""",
        [label, by, str(tenant_id), decision_id]).fetchone()
    if row is None:
        raise NotFound(f"decision: no decision {decision_id} for this tenant")
    return row


def stats(conn: Any, *, tenant_id: UUID | str, days: int = 30) -> list[dict[str, Any]]:
    """Per decision and rule over the last ``days``: how many, how many labelled, and the
    precision among the labelled (fraction 0-1, None without labels)."""
    return conn.execute(
        """select decision, coalesce(matched_rule, '') as matched_rule, count(*) as n,
                  count(label) as labelled,
                  avg(case label when 'correct' then 1.0 when 'wrong' then 0.0 end) as precision
           from inbox.ai_decisions
           where tenant_id = %s and created_at >= now() - make_interval(days => %s)
           group by 1, 2 order by 1, 3 desc""", [str(tenant_id), days]).fetchall()
