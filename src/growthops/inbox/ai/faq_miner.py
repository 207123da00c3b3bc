"""Suggested FAQ entries mined from people's past answers, for a person to approve.

**Pairs** (:func:`pairs`): over the last :data:`WINDOW_DAYS` days, each text reply written by a
person (``author_kind`` ``human``, or ``platform_app``: a person answering in the platform's own
app; never ``ai``, never a template) that is the first reply after a customer's text message,
paired with that message. Kept when the question has at least :data:`MIN_WORDS` words and is no
"thanks"/emoji/spam message (:func:`growthops.inbox.ai.signals.ignore_rule`) nor a personal case
(:func:`~growthops.inbox.ai.signals.escalation_cue`: refunds, complaints, legal), and the answer
has at least :data:`MIN_WORDS` words and no e-mail address or run of 6+ digits (an order or
phone number: a FAQ answer must not carry one customer's data).

**Groups**: a question "asked often and answered by people in similar words" is a dense region
of pairs in the joint space ``[embed(question), embed(answer)] / √2`` (the tenant's embedder):
two pairs are close only when both their questions and their answers are. The groups are
HDBSCAN clusters there (:func:`growthops.inbox.ai.topics.cluster`, ``min_cluster_size`` =
:data:`MIN_SUPPORT`: asked and answered alike at least 3 times). Each group suggests its
**medoid** pair (the pair with the highest mean cosine to the others of its group), with its
support (how many pairs), the other questions and the answers' agreement. "Answered in similar
words" is checked on the words: a member counts only when its answer's content words are at
least half contained in the medoid's answer (:func:`growthops.inbox.ai.labels.containment`
≥ ``CLOSE``), and a group needs :data:`MIN_SUPPORT` such members; ``agreement`` is their mean
containment (0-1).

**Storage**: ``inbox.faq_qa`` rows with ``source = 'suggested'`` and ``enabled = false`` (the
AI never uses them until approved), the evidence in ``metadata``. A group one of whose
questions is already a FAQ question (any source, rejected suggestions included) is not
suggested again, and an existing entry is never overwritten. :func:`approve` enables the entry;
:func:`reject` keeps it disabled with ``metadata.status = 'rejected'`` so it does not come back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.core.errors import Conflict, NotFound

WINDOW_DAYS = 90
MIN_SUPPORT = 3
MIN_WORDS = 3
MAX_PAIRS = 3000
MAX_SUGGESTIONS = 20
_PRIVATE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\d(?:[\s.-]?\d){5,}")


def pairs(conn: Any, *, tenant_id: UUID | str, now: datetime, days: int = WINDOW_DAYS,
          limit: int = MAX_PAIRS) -> list[dict[str, Any]]:
    """The (customer question, person's answer) pairs of the window, newest first, filtered
    (see the module): ``{message_id, question, answer_id, answer, at}``."""
    from growthops.inbox.ai import signals

    rows = conn.execute(
        """select q.message_id, q.text as question, a.message_id as answer_id,
                  a.text as answer, a.sent_at as at
           from inbox.conversation_messages a
           cross join lateral (
             select m.message_id, m.text, m.sent_at from inbox.conversation_messages m
             where m.tenant_id = a.tenant_id and m.conversation_id = a.conversation_id
               and m.direction = 'inbound' and m.sent_at <= a.sent_at
             order by m.sent_at desc, m.message_id desc limit 1) q
           where a.tenant_id = %s and a.direction = 'outbound'
             and a.author_kind in ('human', 'platform_app') and a.template_name is null
             and coalesce(btrim(a.text), '') <> '' and a.sent_at >= %s and a.sent_at < %s
             and coalesce(btrim(q.text), '') <> ''
             and not exists (
               select 1 from inbox.conversation_messages o
               where o.tenant_id = a.tenant_id and o.conversation_id = a.conversation_id
                 and o.direction = 'outbound' and o.sent_at >= q.sent_at
                 and (o.sent_at, o.message_id) < (a.sent_at, a.message_id))
           order by a.sent_at desc limit %s""",
        [str(tenant_id), now - timedelta(days=days), now, limit]).fetchall()
    return [r for r in rows
            if len(r["question"].split()) >= MIN_WORDS and len(r["answer"].split()) >= MIN_WORDS
            and signals.ignore_rule(r["question"]) is None
            and signals.escalation_cue(r["question"]) is None
            and not _PRIVATE.search(r["answer"])]


def group(questions: list[str], answers: list[str], embedder: Any
          ) -> list[dict[str, Any]]:
    """Groups of similar pairs (see the module), largest first: ``{medoid, members,
    agreement}`` with indexes into the inputs; only members answered like the medoid (word
    containment ≥ :data:`growthops.inbox.ai.labels.CLOSE`) count, and a group needs
    :data:`MIN_SUPPORT` of them."""
    from growthops.inbox.ai.labels import CLOSE, containment
    from growthops.inbox.ai.topics import cluster

    if len(questions) < 2 * MIN_SUPPORT:
        return []
    q = np.asarray(embedder.embed(questions), dtype=float)
    a = np.asarray(embedder.embed(answers), dtype=float)
    joint = np.hstack([q, a]) / np.sqrt(2.0)
    labels, _p = cluster(joint, min_size=MIN_SUPPORT)
    out = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == lab)
        sims = joint[idx] @ joint[idx].T
        medoid = int(idx[int(np.argmax(sims.sum(axis=1)))])
        alike = {int(i): containment(answers[i], answers[medoid]) for i in idx}
        members = [i for i, c in alike.items() if c >= CLOSE]
        if len(members) >= MIN_SUPPORT:
            out.append({"medoid": medoid, "members": members,
                        "agreement": float(np.mean([alike[i] for i in members]))})
    return sorted(out, key=lambda g: -len(g["members"]))


def suggest(db: Any, *, tenant_id: UUID | str, now: datetime | None = None,
            days: int = WINDOW_DAYS, embedder: Any = None) -> dict[str, int]:
    """Mine the tenant's pairs and store new suggestions; return ``{pairs, groups, suggested}``.

    Idempotent: running it again on the same messages suggests nothing new.
    """
    from growthops.inbox.ai import kb
    from growthops.inbox.ai.topics import learning_embedder

    tid = str(tenant_id)
    at = now or datetime.now(UTC)
    with db.tenant_tx(tid) as conn:
        rows = pairs(conn, tenant_id=tid, now=at, days=days)
        emb = embedder or learning_embedder(conn, tenant_id=tid)
        known = {r["q"] for r in conn.execute(
            "select lower(question) as q from inbox.faq_qa where tenant_id = %s",
            [tid]).fetchall()}
    groups = group([r["question"] for r in rows], [r["answer"] for r in rows], emb)
    entries = []
    for g in groups:
        members = [rows[i] for i in g["members"]]
        if any(m["question"].strip().lower() in known for m in members):
            continue
        best = rows[g["medoid"]]
        others = list(dict.fromkeys(m["question"].strip() for m in members
                                    if m["message_id"] != best["message_id"]))
        entries.append({
            "question": best["question"].strip()[:2000], "answer": best["answer"].strip()[:8000],
            "metadata": {"status": "pending", "support": len(members),
                         "agreement": round(g["agreement"], 3), "questions": others[:5],
                         "message_ids": [m["message_id"] for m in members][:50],
                         "answer_ids": [m["answer_id"] for m in members][:50],
                         "mined_at": at.isoformat(), "window_days": days}})
        if len(entries) >= MAX_SUGGESTIONS:
            break
    stored: list[int] = []
    if entries:
        with db.tenant_tx(tid) as conn:
            stored = kb.add_faq(conn, tenant_id=tid, entries=entries, source="suggested",
                                enabled=False, keep_existing=True)
    return {"pairs": len(rows), "groups": len(groups), "suggested": len(stored)}


def list_suggestions(conn: Any, *, tenant_id: UUID | str, status: str = "pending",
                     limit: int = 200) -> list[dict[str, Any]]:
    """Suggested entries of a ``status`` (pending, approved, rejected), most supported first:
    ``faq_id, question, answer, lang_code, support, agreement, questions, created_at``."""
    return conn.execute(
        """select faq_id, question, answer, lang_code, enabled, created_at, updated_at,
                  coalesce((metadata->>'support')::int, 0) as support,
                  (metadata->>'agreement')::float as agreement,
                  coalesce(array(select jsonb_array_elements_text(metadata->'questions')),
                           '{}') as questions,
                  metadata->>'decided_by' as decided_by
           from inbox.faq_qa
           where tenant_id = %s and source = 'suggested'
             and case %s when 'approved' then enabled
                         when 'rejected' then not enabled and metadata->>'status' = 'rejected'
                         else not enabled and coalesce(metadata->>'status', 'pending') = 'pending'
                 end
           order by support desc, faq_id desc limit %s""",
        [str(tenant_id), status, limit]).fetchall()


def _decide(conn: Any, tenant_id: UUID | str, faq_id: int, *, status: str, by: str) -> None:
    row = conn.execute(
        """update inbox.faq_qa set enabled = %s, updated_at = now(),
                  metadata = metadata || %s
           where tenant_id = %s and faq_id = %s and source = 'suggested'
           returning faq_id""",
        [status == "approved", Jsonb({"status": status, "decided_by": by,
                                      "decided_at": datetime.now(UTC).isoformat()}),
         str(tenant_id), faq_id]).fetchone()
    if row is None:
        exists = conn.execute("select 1 from inbox.faq_qa where tenant_id = %s and faq_id = %s",
                              [str(tenant_id), faq_id]).fetchone()
        if exists:
            raise Conflict(f"faq: entry {faq_id} is not a suggestion")
        raise NotFound(f"faq: no entry {faq_id} for this tenant")


def approve(conn: Any, *, tenant_id: UUID | str, faq_id: int, by: str) -> None:
    """Approve a suggestion: the AI may answer from it from now on.

    Raises :class:`NotFound`, or :class:`Conflict` for an entry that is not a suggestion."""
    _decide(conn, tenant_id, faq_id, status="approved", by=by)


def reject(conn: Any, *, tenant_id: UUID | str, faq_id: int, by: str) -> None:
    """Reject a suggestion (kept disabled, so it is not suggested again). Raises as
    :func:`approve`."""
    _decide(conn, tenant_id, faq_id, status="rejected", by=by)
