"""The people's work on leads: list and filter, read, act (tag, archive, delete, reactivate,
convert, revert, correct the intent, mark replied), notes, the journal, CSV export.

Every action writes one ``lead_actions`` row (the activity journal) in the same statement as
the change; conversions, reverts, replies and intent corrections also settle the lead's
``ai_prediction`` row in ``feedback_tracking`` (outcome, ``intent_correct``), which calibrates
the confidence (:mod:`growthops.leads.enrichment.intent`) and feeds the A/B tests' outcomes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from growthops.core.errors import Conflict, InvalidInput, NotFound

LIST_COLUMNS = """lead_id, received_at, name, email, phone, company, message, source, metadata,
  enrichment_status, language, ai_summary, intent, tone, urgency,
  confidence_score::float8 as confidence_score, current_tag, archived, deleted, converted,
  converted_at, replied, is_test"""
STATES = ("active", "archived", "deleted", "converted", "all")


def list_leads(conn: Any, *, tenant_id: UUID | str, state: str = "active",
               intent: str | None = None, urgency: str | None = None, tag: str | None = None,
               language: str | None = None, since: date | None = None, until: date | None = None,
               q: str | None = None, limit: int = 50, offset: int = 0
               ) -> tuple[list[dict[str, Any]], int]:
    """Return one page of leads (newest first) and the total matching the filters.

    ``state``: active (neither archived nor deleted), archived, deleted, converted, all.
    ``since``/``until``: received on or after / before the end of these UTC days. ``q``: text in
    name, e-mail, company or message (case-insensitive). Raises :class:`InvalidInput`.
    """
    if state not in STATES:
        raise InvalidInput(f"state: {state!r} is not one of {', '.join(STATES)}")
    where = ["tenant_id = %(t)s"]
    where.append({"active": "not archived and not deleted", "archived": "archived and not deleted",
                  "deleted": "deleted", "converted": "converted and not deleted",
                  "all": "true"}[state])
    params: dict[str, Any] = {"t": str(tenant_id), "limit": limit, "offset": offset}
    for name, value in (("intent", intent), ("urgency", urgency), ("current_tag", tag),
                        ("language", language)):
        if value:
            where.append(f"{name} = %({name})s")
            params[name] = value
    if since:
        where.append("received_at >= %(since)s")
        params["since"] = datetime.combine(since, datetime.min.time())
    if until:
        where.append("received_at < %(until)s")
        params["until"] = datetime.combine(until + timedelta(days=1), datetime.min.time())
    if q:
        where.append("(name ilike %(q)s or email ilike %(q)s or company ilike %(q)s "
                     "or message ilike %(q)s)")
        params["q"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cond = " and ".join(where)
    rows = conn.execute(
        f"""select {LIST_COLUMNS}, count(*) over () as _total from leads.lead_memory
            where {cond} order by received_at desc, lead_id desc
            limit %(limit)s offset %(offset)s""", params).fetchall()
    total = int(rows[0]["_total"]) if rows else int(conn.execute(
        f"select count(*) n from leads.lead_memory where {cond}", params).fetchone()["n"])
    return [{k: v for k, v in r.items() if k != "_total"} for r in rows], total


def get_lead(conn: Any, *, tenant_id: UUID | str, lead_id: int) -> dict[str, Any]:
    """Return one lead with its histories; :class:`NotFound` otherwise."""
    row = conn.execute(
        f"""select {LIST_COLUMNS}, tone_history, urgency_history, confidence_history, model_version
            from leads.lead_memory where tenant_id = %s and lead_id = %s""",
        [str(tenant_id), lead_id]).fetchone()
    if row is None:
        raise NotFound(f"no lead {lead_id} for this tenant")
    return row


def journal(conn: Any, *, tenant_id: UUID | str, lead_id: int | None = None,
            limit: int = 200) -> list[dict[str, Any]]:
    """Return the activity journal (of one lead, or the tenant's latest), newest first."""
    return conn.execute(
        """select action_id, lead_id, action_type, tag, performed_by, "timestamp",
                  conversion_outcome, reversion_reason, details
           from leads.lead_actions where tenant_id = %s and (%s::bigint is null or lead_id = %s)
           order by "timestamp" desc, action_id desc limit %s""",
        [str(tenant_id), lead_id, lead_id, limit]).fetchall()


def notes(conn: Any, *, tenant_id: UUID | str, lead_id: int) -> list[dict[str, Any]]:
    """Return a lead's notes, oldest first."""
    return conn.execute(
        """select note_id, lead_id, note, performed_by, created_at from leads.lead_notes
           where tenant_id = %s and lead_id = %s order by note_id""",
        [str(tenant_id), lead_id]).fetchall()


def add_note(conn: Any, *, tenant_id: UUID | str, lead_id: int, note: str,
             by: str) -> dict[str, Any]:
    """Add a note (and a ``noted`` journal entry); :class:`NotFound` for an unknown lead."""
    get_lead(conn, tenant_id=tenant_id, lead_id=lead_id)
    text = note.strip()
    if not 1 <= len(text) <= 4000:
        raise InvalidInput("note: 1 to 4000 characters")
    row = conn.execute(
        """with n as (insert into leads.lead_notes (tenant_id, lead_id, note, performed_by)
                      values (%s, %s, %s, %s) returning *),
                a as (insert into leads.lead_actions (tenant_id, lead_id, action_type, performed_by,
                        details) select tenant_id, lead_id, 'noted', performed_by,
                        jsonb_build_object('note_id', note_id) from n)
           select note_id, lead_id, note, performed_by, created_at from n""",
        [str(tenant_id), lead_id, text, by]).fetchone()
    return row


_SETTLE = """update leads.feedback_tracking set outcome = %(outcome)s, outcome_at = now(),
               intent_correct = coalesce(%(correct)s, intent_correct)
             where tenant_id = %(t)s and lead_id = %(l)s and action_type = 'ai_prediction'
               and feedback_id = (select max(feedback_id) from leads.feedback_tracking
                                  where tenant_id = %(t)s and lead_id = %(l)s
                                    and action_type = 'ai_prediction')"""


def act(conn: Any, *, tenant_id: UUID | str, lead_id: int, action: str, by: str,
        tag: str | None = None, reason: str | None = None, intent: str | None = None
        ) -> dict[str, Any]:
    """Apply a person's action to a lead and journal it; return the lead.

    Actions: ``tag`` (needs ``tag``), ``archive``, ``delete`` (soft), ``reactivate`` (undo
    archive/delete), ``convert``, ``revert`` (a converted lead; needs ``reason``),
    ``correct_intent`` (needs ``intent``; becomes a training example), ``replied`` (the lead
    answered). Raises :class:`NotFound`, :class:`InvalidInput` (missing field, unknown action)
    and :class:`Conflict` (the lead's state forbids it: converting a deleted lead, reverting one
    not converted).
    """
    lead = get_lead(conn, tenant_id=tenant_id, lead_id=lead_id)
    t = str(tenant_id)
    journal_row: dict[str, Any] = {"tag": None, "outcome": None, "reason": None, "details": "{}"}
    if action == "tag":
        if not tag or not tag.strip() or len(tag.strip()) > 60:
            raise InvalidInput("tag: 1 to 60 characters required")
        sets, atype = "current_tag = %(tag)s", "tagged"
        journal_row["tag"] = tag.strip()
    elif action == "archive":
        if lead["deleted"]:
            raise Conflict(f"lead {lead_id} is deleted; reactivate it first")
        sets, atype = "archived = true", "archived"
    elif action == "delete":
        sets, atype = "deleted = true", "deleted"
    elif action == "reactivate":
        if not (lead["archived"] or lead["deleted"]):
            raise Conflict(f"lead {lead_id} is neither archived nor deleted")
        sets, atype = "archived = false, deleted = false", "reactivated"
    elif action == "convert":
        if lead["deleted"]:
            raise Conflict(f"lead {lead_id} is deleted; reactivate it first")
        if lead["converted"]:
            raise Conflict(f"lead {lead_id} is already converted")
        sets, atype = "converted = true, converted_at = now()", "converted"
        journal_row["outcome"] = True
    elif action == "revert":
        if not lead["converted"]:
            raise Conflict(f"lead {lead_id} is not converted")
        if not reason or not reason.strip():
            raise InvalidInput("reason: say why the conversion is reverted")
        sets, atype = "converted = false, converted_at = null", "reverted"
        journal_row["outcome"] = False
        journal_row["reason"] = reason.strip()[:2000]
    elif action == "correct_intent":
        if not intent:
            raise InvalidInput("intent: the right intent is required")
        from growthops.leads.enrichment.intent import add_correction

        add_correction(conn, tenant_id=tenant_id, lead_id=lead_id, intent=intent,
                       text=lead["message"], language=lead["language"])
        sets, atype = "intent = %(intent)s", "intent_corrected"
        journal_row["details"] = json.dumps({"from": lead["intent"], "to": intent})
    elif action == "replied":
        if lead["replied"]:
            raise Conflict(f"lead {lead_id} is already marked replied")
        sets, atype = "replied = true", "replied"
    else:
        raise InvalidInput(f"action: {action!r} is not one of tag, archive, delete, reactivate, "
                           "convert, revert, correct_intent, replied")
    conn.execute(
        f"""with u as (update leads.lead_memory set {sets}
                       where tenant_id = %(t)s and lead_id = %(l)s returning tenant_id, lead_id)
            insert into leads.lead_actions (tenant_id, lead_id, action_type, tag, performed_by,
              conversion_outcome, reversion_reason, details)
            select tenant_id, lead_id, %(atype)s, %(jtag)s, %(by)s, %(outcome)s, %(reason)s,
                   %(details)s::jsonb from u""",
        {"t": t, "l": lead_id, "tag": (tag or "").strip(), "intent": intent, "atype": atype,
         "jtag": journal_row["tag"], "by": by, "outcome": journal_row["outcome"],
         "reason": journal_row["reason"], "details": journal_row["details"]})
    settle = {"convert": ("positive", None), "revert": ("negative", None),
              "replied": ("positive", None),
              "correct_intent": (None, intent == lead["intent"])}.get(action)
    if settle is not None:
        outcome, correct = settle
        if action == "correct_intent":
            conn.execute(_SETTLE.replace("outcome = %(outcome)s, outcome_at = now(),", ""),
                         {"correct": correct, "t": t, "l": lead_id})
        else:
            conn.execute(_SETTLE, {"outcome": outcome, "correct": None, "t": t, "l": lead_id})
        if action in ("convert", "revert", "replied"):
            conn.execute(
                """insert into leads.feedback_tracking (tenant_id, lead_id, action_type, outcome,
                     outcome_at, impact_score, notes_en, notes_fr, context_data)
                   values (%s, %s, %s, %s, now(), %s, %s, %s, %s)""",
                [t, lead_id, "email_response" if action == "replied" else "lead_conversion",
                 outcome, 100 if outcome == "positive" else -100,
                 {"convert": "Lead converted", "revert": "Conversion reverted",
                  "replied": "Lead replied"}[action],
                 {"convert": "Lead converti", "revert": "Conversion annulée",
                  "replied": "Le lead a répondu"}[action],
                 json.dumps({"by": by})])
    return get_lead(conn, tenant_id=tenant_id, lead_id=lead_id)


def confirm_intent(conn: Any, *, tenant_id: UUID | str, lead_id: int) -> None:
    """Mark the lead's predicted intent as right (a person accepted it)."""
    conn.execute(_SETTLE.replace("outcome = %(outcome)s, outcome_at = now(),", ""),
                 {"correct": True, "t": str(tenant_id), "l": lead_id})


EXPORT_COLUMNS = ("lead_id", "received_at", "name", "email", "phone", "company", "message",
                  "source", "language", "intent", "tone", "urgency", "confidence_score",
                  "ai_summary", "current_tag", "archived", "deleted", "converted", "converted_at",
                  "replied")


def export_csv(conn: Any, *, tenant_id: UUID | str, **filters: Any) -> str:
    """Return the filtered leads as CSV (UTF-8, header row, :data:`EXPORT_COLUMNS`).

    Cells starting with ``= + - @`` get a leading apostrophe (CSV injection, OWASP
    "CSV Injection").
    """
    rows, _ = list_leads(conn, tenant_id=tenant_id, limit=1_000_000, offset=0, **filters)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_COLUMNS)
    for r in rows:
        cells = []
        for c in EXPORT_COLUMNS:
            v = r.get(c)
            s = "" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
            cells.append("'" + s if s[:1] in ("=", "+", "-", "@") else s)
        w.writerow(cells)
    return buf.getvalue()


def health(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Integration health: last authenticated call, last lead, calls and errors in 24 h,
    leads waiting for enrichment."""
    return conn.execute(
        """select (select max(created_at) from leads.integration_logs where tenant_id = %(t)s)
                    as last_connection,
                  (select max(received_at) from leads.lead_memory where tenant_id = %(t)s)
                    as last_lead_at,
                  (select count(*) from leads.integration_logs where tenant_id = %(t)s
                     and created_at > now() - interval '24 hours')::int as calls_24h,
                  (select count(*) from leads.integration_logs where tenant_id = %(t)s
                     and created_at > now() - interval '24 hours'
                     and response_status >= 400)::int as errors_24h,
                  (select count(*) from leads.lead_memory where tenant_id = %(t)s
                     and enrichment_status = 'pending' and not deleted)::int as pending_enrichment""",
        {"t": str(tenant_id)}).fetchone()
