"""Labels from people's actions: what a person did after an AI decision says whether the
decision was right, without anyone filling a form.

For each AI decision of the last :data:`LOOKBACK` not labelled yet, the person's **action**
is the first reply written by a person (``author_kind`` ``human``, or ``platform_app``: from
the platform's own app) in the conversation after the message and before the customer's next
message, within :data:`HORIZON`; or a person's manual escalation (``manual_escalation``)
within :data:`HORIZON` after the decision. Similarity of a person's reply to a text is the
**containment** of the reply's words (3+ letters, accents folded, stop words dropped) in that
text (:func:`containment`): ≥ :data:`CLOSE` the reply says what the text says, ≤ :data:`FAR`
it says something else, in between no label is drawn (no guess).

| AI decision | the person's action | decision label | example |
|---|---|---|---|
| respond (draft or sent) | escalated it by hand | wrong | – |
| respond, draft not sent | replied like the draft (≥ CLOSE) | correct | answer, the draft's source |
| respond, draft not sent | replied otherwise (≤ FAR) | wrong | – |
| escalate ``low_confidence`` | replied like the best passage | wrong (the draft was right) | answer, its title |
| escalate ``low_confidence`` | replied like another retrieved passage | correct | answer, that title |
| escalate ``low_confidence`` | replied unlike every retrieved passage | correct | escalate |
| ignore | replied | wrong (override) | escalate |

The decision label is what the calibration reads (:func:`growthops.inbox.ai.calibrate.labelled`:
a ``low_confidence`` escalation labelled wrong means replying would have been right) and what
the AI page's precision per rule counts; ``labelled_by`` is ``action:<rule>``. A person's own
verdict (``POST .../ai/decisions/{id}/label``) is never overwritten: only unlabelled decisions
are labelled. The example (``inbox.ai_examples``, source ``action``, with its
``ai_decision_id``) feeds the tenant's evaluation (``growthops inbox ai evaluate``); the
calibration skips these examples (their decision's label, with the evidence the AI had then,
already counts). An example never replaces one a person gave for the same text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

HORIZON = timedelta(days=7)
LOOKBACK = timedelta(days=30)
CLOSE = 0.5
FAR = 0.2
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def words(text: str) -> set[str]:
    """Content words of ``text``: 3+ letters, lower case, accents folded, stop words dropped."""
    from growthops.inbox.ai.topics import FRENCH_STOP_WORDS

    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    stop = _stop()
    return {w for w in (m.lower() for m in _WORD.findall(folded))
            if w not in stop and w not in FRENCH_STOP_WORDS}


def _stop() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def containment(reply: str, text: str) -> float:
    """Share (0-1) of the reply's content words found in ``text`` (0 for an empty reply)."""
    r = words(reply)
    return len(r & words(text)) / len(r) if r else 0.0


def candidates(conn: Any, *, tenant_id: UUID | str, now: datetime) -> list[dict[str, Any]]:
    """Unlabelled decisions of the last :data:`LOOKBACK` with a person's action (see the
    module): the decision's fields, ``reply`` / ``reply_by`` and ``escalated_by``."""
    return conn.execute(
        """select d.ai_decision_id, d.decision, d.matched_rule, d.reply_status, d.reply_text,
                  d.citations, d.message_text, d.snapshot_json->'hits' as hits,
                  r.text as reply, r.author as reply_by, esc.actor as escalated_by
           from inbox.ai_decisions d
           join inbox.conversation_messages m
             on m.tenant_id = d.tenant_id and m.message_id = d.message_id
           left join lateral (
             select min(n.sent_at) as at from inbox.conversation_messages n
             where n.tenant_id = d.tenant_id and n.conversation_id = d.conversation_id
               and n.direction = 'inbound' and n.sent_at > m.sent_at) nxt on true
           left join lateral (
             select o.text, o.author from inbox.conversation_messages o
             where o.tenant_id = d.tenant_id and o.conversation_id = d.conversation_id
               and o.direction = 'outbound' and o.author_kind in ('human', 'platform_app')
               and o.template_name is null and coalesce(btrim(o.text), '') <> ''
               and o.sent_at >= m.sent_at and o.sent_at < m.sent_at + %(h)s
               and (nxt.at is null or o.sent_at < nxt.at)
             order by o.sent_at, o.message_id limit 1) r on true
           left join lateral (
             select e.actor from inbox.conversation_events e
             where e.tenant_id = d.tenant_id and e.conversation_id = d.conversation_id
               and e.action = 'escalated' and e.details->>'reason' = 'manual_escalation'
               and e.at >= d.created_at and e.at < d.created_at + %(h)s
             order by e.at limit 1) esc on true
           where d.tenant_id = %(t)s and d.label is null and d.created_at >= %(since)s
             and (r.text is not null or esc.actor is not null)
           order by d.ai_decision_id""",
        {"t": str(tenant_id), "h": HORIZON, "since": now - LOOKBACK}).fetchall()


def _passages(conn: Any, tid: str, rows: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """The text of the passages retrieved for the rows' decisions: ``{(kind, ref_id): text}``
    (a FAQ's answer, a chunk's content)."""
    faq = {h["ref_id"] for r in rows for h in (r["hits"] or []) if h.get("kind") == "faq"}
    chunk = {h["ref_id"] for r in rows for h in (r["hits"] or []) if h.get("kind") == "chunk"}
    out: dict[tuple[str, int], str] = {}
    if faq:
        for f in conn.execute("select faq_id, answer from inbox.faq_qa where tenant_id = %s "
                              "and faq_id = any(%s)", [tid, list(faq)]).fetchall():
            out[("faq", f["faq_id"])] = f["answer"]
    if chunk:
        for c in conn.execute("select chunk_id, content from inbox.knowledge_chunks "
                              "where tenant_id = %s and chunk_id = any(%s)",
                              [tid, list(chunk)]).fetchall():
            out[("chunk", c["chunk_id"])] = c["content"]
    return out


def judge(row: dict[str, Any], passages: dict[tuple[str, int], str]
          ) -> tuple[str, str, str | None, str | None] | None:
    """The table of the module for one candidate: ``(decision label, rule, example label,
    expected)`` (example label None: no example), or None when no label can be drawn."""
    reply = row["reply"]
    if row["decision"] == "respond":
        if row["escalated_by"]:
            return "wrong", "escalated_by_person", None, None
        if row["reply_status"] != "draft" or not reply:
            return None
        c = containment(reply, row["reply_text"] or "")
        source = (row["citations"] or [{}])[0].get("title")
        if c >= CLOSE:
            return "correct", "draft_sent", "answer", source
        return ("wrong", "draft_replaced", None, None) if c <= FAR else None
    if not reply:
        return None
    if row["decision"] == "ignore":
        return "wrong", "ignored_but_answered", "escalate", None
    if row["decision"] != "escalate" or row["matched_rule"] != "low_confidence":
        return None
    hits = row["hits"] or []
    scores = [containment(reply, passages.get((h.get("kind"), h.get("ref_id")), ""))
              for h in hits]
    if not scores:
        return None
    best = max(range(len(scores)), key=lambda i: scores[i])
    if scores[best] >= CLOSE:
        if best == 0:
            return "wrong", "answered_like_best_passage", "answer", hits[0].get("title")
        return "correct", "answered_like_other_passage", "answer", hits[best].get("title")
    if scores[best] <= FAR:
        return "correct", "answered_outside_kb", "escalate", None
    return None


def derive(db: Any, *, tenant_id: UUID | str, now: datetime | None = None) -> dict[str, int]:
    """Label the tenant's decisions from people's actions and record the examples (one
    transaction); return the count per rule (``labelled`` and ``examples`` totals included)."""
    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    counts: dict[str, int] = {"labelled": 0, "examples": 0}
    with db.tenant_tx(tid) as conn:
        rows = candidates(conn, tenant_id=tid, now=at)
        passages = _passages(conn, tid, rows)
        labels: list[tuple[int, str, str]] = []
        examples: list[tuple[int, str, str, str | None]] = []
        for r in rows:
            verdict = judge(r, passages)
            if verdict is None:
                continue
            label, rule, ex_label, expected = verdict
            labels.append((r["ai_decision_id"], label, f"action:{rule}"))
            counts[rule] = counts.get(rule, 0) + 1
            if ex_label and (r["message_text"] or "").strip():
                examples.append((r["ai_decision_id"], r["message_text"].strip()[:4000],
                                 ex_label, expected))
        if labels:
            counts["labelled"] = conn.execute(
                """update inbox.ai_decisions d set label = x.l, labelled_by = x.b,
                          labelled_at = %s
                   from unnest(%s::bigint[], %s::text[], %s::text[]) x(i, l, b)
                   where d.tenant_id = %s and d.ai_decision_id = x.i and d.label is null""",
                [at, [x[0] for x in labels], [x[1] for x in labels], [x[2] for x in labels],
                 tid]).rowcount
        if examples:
            seen = {e[1]: e for e in examples}  # one example per text (the latest decision)
            counts["examples"] = conn.execute(
                """insert into inbox.ai_examples (tenant_id, text, label, expected, source,
                                                  ai_decision_id)
                   select %s, x.t, x.l, x.e, 'action', x.i
                   from unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) x(i, t, l, e)
                   on conflict (tenant_id, md5(text)) do nothing""",
                [tid, [e[0] for e in seen.values()], list(seen), [e[2] for e in seen.values()],
                 [e[3] for e in seen.values()]]).rowcount
    return counts
