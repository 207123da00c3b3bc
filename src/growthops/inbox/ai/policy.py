"""The AI triage policy plugged into the inbox seam (:mod:`growthops.inbox.triage`):
respond | ignore | escalate, recorded, and replies sent only under the tenant's policy.

Order of the checks for each new inbound message (of a conversation not escalated: escalated
conversations stay with people, the seam does not even call us):

1. master switch (``ai_rules.ai_control_enabled``) or ``ai_settings.ai_enabled_for_conversations``
   off → nothing decided, nothing recorded (people answer as without AI);
2. not text (image, audio, video, unsupported) → **escalate** (``non_text``);
3. :func:`~.signals.ignore_rule` (empty / emoji-only, thanks, spam) → **ignore**;
4. :func:`~.signals.escalation_cue` (refund, complaint, legal, strong negative) → **escalate**
   (handoff reason ``customer_request``);
5. similar to one of the tenant's ``ignore_examples`` (cosine ≥ the calibrated ignore threshold,
   else :data:`IGNORE_SIMILARITY` for near-duplicates only) → **ignore**;
6. hybrid search, and the tenant's answer classifier when it has one (:mod:`.answer_model`:
   its answer is replied from, its probability is evidence); no passage → **escalate**
   (``no_evidence``); the calibrated probability that replying with the best passage is right
   (:mod:`.calibrate`) below the tenant's threshold, or no calibration yet → **escalate**
   (``low_confidence``);
7. otherwise **respond**: the grounded reply (:mod:`.replies`); an LLM reply failing its checks
   → **escalate** (``reply_blocked:<why>``).

The handoff never depends on the LLM: every escalation above is decided by code before any LLM
is called, and an LLM's answer can only block a reply, never cause one.

Each decision is stored in ``inbox.ai_decisions`` (decision, probability, reason in words, the
rule, the message, the evidence: features, passages and scores) and on the message
(``triage``, ``confidence``, ``ai_decision_id``, ``metadata.triage_reason``). Escalations open
through :func:`growthops.inbox.handoff.escalate_many`. A **respond** is sent only when
``ai_settings.auto_reply_enabled``: the reply is stored ``pending`` and sent after the
transaction by :func:`send_pending` (through :func:`growthops.inbox.sending.send_reply`,
``author='ai'``, which enforces the messaging window and escalates ``outside_window``);
otherwise it is stored as a ``draft`` a person may send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.core.ai.embeddings import RememberLast
from growthops.inbox import credits, handoff
from growthops.inbox.ai import answer_model, calibrate, config, replies, signals
from growthops.inbox.ai.search import search

logger = logging.getLogger("growthops.inbox.ai")
#: Without a calibrated ignore threshold, only near-duplicates of an ignore example are ignored.
IGNORE_SIMILARITY = 0.9
HITS = 5


@dataclass
class Decision:
    """One triage outcome (see the module): ``decision``, ``confidence`` (probability 0-1, None
    for a rule), ``reason`` (words), ``matched_rule``, the evidence and the reply if any."""

    decision: str
    confidence: float | None
    reason: str
    matched_rule: str
    evidence: dict[str, Any] = field(default_factory=dict)
    reply: replies.Reply | None = None
    handoff_reason: str = "low_confidence"


@dataclass
class Context:
    """What the policy loads once per tenant and delivery."""

    settings: dict[str, Any]
    rules: dict[str, Any]
    calibration: calibrate.Calibration | None
    embedder: Any
    ignore_vecs: np.ndarray | None
    business: str = ""
    llm: Any = None
    #: The tenant's answer classifier (:mod:`.answer_model`), None without one.
    answer_model: Any = None


def load_context(conn: Any, *, tenant_id: UUID | str, llm: Any = None) -> Context:
    """Load the tenant's settings, rules, calibration and embedded ignore examples."""
    settings = config.get_settings(conn, tenant_id=tenant_id)
    rules = config.get_rules(conn, tenant_id=tenant_id)
    embedder = RememberLast(config.tenant_embedder(conn, tenant_id=tenant_id))
    ex = rules["ignore_examples"] or []
    vecs = np.asarray(embedder.embed(ex)) if ex else None
    if llm is None:
        llm = config.tenant_llm(conn, tenant_id=tenant_id)
    name = conn.execute("select client_name from core.tenants where tenant_id = %s",
                        [str(tenant_id)]).fetchone()
    return Context(settings=settings, rules=rules, embedder=embedder, ignore_vecs=vecs,
                   calibration=calibrate.from_json(settings["calibration"]),
                   business=name["client_name"] if name else "", llm=llm,
                   answer_model=answer_model.load(conn, tenant_id=tenant_id,
                                                  embedder=embedder))


def decide(conn: Any, *, tenant_id: UUID | str, text: str | None, message_type: str,
           platform: str, ctx: Context) -> Decision | None:
    """Decide for one message (the module's steps); None when the AI is switched off."""
    from growthops.core.ai.langid import detect

    if not ctx.rules["ai_control_enabled"] or not ctx.settings["ai_enabled_for_conversations"]:
        return None
    if message_type != "text":
        return Decision("escalate", None, f"a {message_type} message: a person looks at it",
                        "non_text")
    rule = signals.ignore_rule(text)
    if rule:
        return Decision("ignore", None, f"nothing to answer ({rule})", f"ignore:{rule}")
    cue = signals.escalation_cue(text)
    if cue:
        return Decision("escalate", None, f"escalation cue: {cue}", f"cue:{cue}",
                        handoff_reason="customer_request")
    text = text or ""
    if ctx.ignore_vecs is not None:
        sims = ctx.ignore_vecs @ np.asarray(ctx.embedder.embed([text]))[0]
        i = int(np.argmax(sims))
        if sims[i] >= IGNORE_SIMILARITY:
            return Decision("ignore", None, f"like the ignore example {i + 1} "
                            f"(cosine {sims[i]:.2f})", "ignore_example",
                            evidence={"ignore_similarity": float(sims[i])})
    found = search(conn, tenant_id=tenant_id, query=text, limit=HITS, embedder=ctx.embedder)
    hits, route = answer_model.route(conn, ctx.answer_model, tenant_id=tenant_id, text=text,
                                     hits=found)
    feats = calibrate.features(text, found, route)
    evidence = {"features": feats, "hits": [_brief(h) for h in hits]}
    if route is not None:
        evidence["answer_model"] = {"faq_id": route.faq_id,
                                    "probability": round(route.probability, 4),
                                    "agrees_with_search": route.agrees}
    if not hits:
        return Decision("escalate", 0.0, "nothing in the knowledge base matches", "no_evidence",
                        evidence=evidence)
    cal = ctx.calibration
    if cal is None:
        return Decision("escalate", None, "not calibrated yet: the AI does not reply until the "
                        "tenant's labelled examples set a threshold", "low_confidence",
                        evidence=evidence)
    p = float(cal.proba([feats])[0])
    evidence["threshold"] = cal.threshold
    if cal.threshold is None or p < cal.threshold:
        need = "unreachable" if cal.threshold is None else f"{cal.threshold:.2f}"
        return Decision("escalate", p, f"confidence {p:.2f} below the threshold {need} "
                        f"(target precision {cal.target:.0%})", "low_confidence",
                        evidence=evidence)
    lang = detect(text)[0]
    if ctx.llm is not None:
        reply = replies.with_llm(ctx.llm, hits, text, business=ctx.business, platform=platform,
                                 lang=lang, instructions=ctx.rules["instructions"],
                                 max_tokens=ctx.settings["max_tokens"],
                                 temperature=ctx.settings["temperature"])
    else:
        reply = replies.extractive(hits, platform=platform, customer_lang=lang)
    if reply.blocked:
        return Decision("escalate", p, f"the generated reply was blocked ({reply.blocked})",
                        f"reply_blocked:{reply.blocked}", evidence=evidence)
    return Decision("respond", p, f"answered from “{reply.citations[0]['title']}” with "
                    f"confidence {p:.2f} ≥ {cal.threshold:.2f}", "knowledge_base",
                    evidence=evidence, reply=reply)


def _brief(h: Any) -> dict[str, Any]:
    return {"kind": h.kind, "ref_id": h.ref_id, "title": h.title[:200], "ft_rank": h.ft_rank,
            "vec_rank": h.vec_rank, "ft_score": round(h.ft_score, 4),
            "cosine": None if h.cosine is None else round(h.cosine, 4), "rrf": round(h.rrf, 5)}


def record(conn: Any, *, tenant_id: UUID | str, items: list[tuple[Any, Decision]],
           auto_reply: bool) -> list[dict[str, Any]]:
    """Store the decisions (``items``: ``(NewInbound, Decision)``) set-based, mark the messages,
    open the escalations; return the stored rows (``ai_decision_id``, ``message_id``,
    ``conversation_id``, ``decision``, ``reply_status``). A message already decided is skipped."""
    from growthops.inbox import handoff

    if not items:
        return []
    tid = str(tenant_id)
    cols: dict[str, list[Any]] = {k: [] for k in (
        "m", "c", "d", "p", "r", "rule", "txt", "reply", "rs", "cit", "snap")}
    for msg, d in items:
        cols["m"].append(msg.message_id)
        cols["c"].append(msg.conversation_id)
        cols["d"].append(d.decision)
        cols["p"].append(None if d.confidence is None else round(d.confidence, 3))
        cols["r"].append(d.reason)
        cols["rule"].append(d.matched_rule)
        cols["txt"].append((msg.text or "")[:500])
        cols["reply"].append(d.reply.text if d.reply else None)
        cols["rs"].append(("pending" if auto_reply else "draft") if d.reply else None)
        cols["cit"].append(Jsonb(d.reply.citations if d.reply else []))
        cols["snap"].append(Jsonb({**d.evidence, "method": d.reply.method if d.reply else None}))
    rows = conn.execute(
        """with x as (
             select * from unnest(%(m)s::bigint[], %(c)s::bigint[], %(d)s::text[],
                                  %(p)s::numeric[], %(r)s::text[], %(rule)s::text[],
                                  %(txt)s::text[], %(reply)s::text[], %(rs)s::text[],
                                  %(cit)s::jsonb[], %(snap)s::jsonb[])
               as x(m, c, d, p, r, rule, txt, reply, rs, cit, snap)),
           ins as (
             insert into inbox.ai_decisions
               (tenant_id, message_id, conversation_id, decision, confidence, reason,
                matched_rule, message_text, reply_text, reply_status, citations, snapshot_json)
             select %(t)s, m, c, d, p, r, rule, txt, reply, rs, cit, snap from x
             on conflict (tenant_id, message_id) where message_id is not null do nothing
             returning ai_decision_id, message_id, conversation_id, decision, confidence,
                       reason, reply_status),
           upd as (
             update inbox.conversation_messages cm set triage = ins.decision,
                    confidence = ins.confidence, ai_decision_id = ins.ai_decision_id,
                    metadata = cm.metadata || jsonb_build_object('triage_reason', ins.reason),
                    updated_at = now()
             from ins where cm.tenant_id = %(t)s and cm.message_id = ins.message_id)
           select * from ins""",
        {"t": tid, **cols}).fetchall()
    stored = {r["message_id"] for r in rows}
    by_reason: dict[str, list[tuple[int, int]]] = {}
    for msg, d in items:
        if d.decision == "escalate" and msg.message_id in stored:
            by_reason.setdefault(d.handoff_reason, []).append((msg.conversation_id,
                                                               msg.message_id))
    for reason, pairs in by_reason.items():
        handoff.escalate_many(conn, tenant_id=tid, items=pairs, reason=reason, actor="ai")
    return rows


def ai_policy(conn: Any, *, tenant_id: UUID | str, messages: list[Any],
              llm: Any = None) -> Callable[[Any], Any] | None:
    """The triage policy (:data:`growthops.inbox.triage.TriagePolicy`): decide and record each
    message; return the after-commit step sending the pending replies (or None)."""
    settings = config.get_settings(conn, tenant_id=tenant_id)
    if not settings["ai_enabled_for_conversations"]:  # cheap exit: no model loaded
        return None
    ctx = load_context(conn, tenant_id=tenant_id, llm=llm)
    items = []
    for msg in messages:
        d = decide(conn, tenant_id=tenant_id, text=msg.text, message_type=msg.message_type,
                   platform=msg.platform, ctx=ctx)
        if d is not None:
            items.append((msg, d))
    auto = bool(ctx.settings["auto_reply_enabled"])
    rows = record(conn, tenant_id=tenant_id, items=items, auto_reply=auto)
    pending = [r["ai_decision_id"] for r in rows if r["reply_status"] == "pending"]
    if not pending:
        return None
    return lambda db: send_pending(db, tenant_id=tenant_id, decision_ids=pending)


def send_pending(db: Any, *, tenant_id: UUID | str, decision_ids: list[int] | None = None,
                 transport: Any = None) -> dict[str, int]:
    """Send the tenant's ``pending`` AI replies (all, or ``decision_ids``); return counts
    ``{sent, refused, failed, out_of_credits}``. Each is claimed (``for update skip locked``) so
    a reply is sent once even with the sweep running; a closed window marks it ``refused`` (the
    send escalated the conversation ``outside_window``), a platform error ``failed``.

    Each reply costs one credit, debited when it is claimed (:func:`_charge`, once per message:
    action ``message:<id>``); out of credits it is ``refused`` and the conversation escalated
    ``out_of_credits``. A reply refused or failed after the debit is refunded (``adjustment``)."""
    from growthops.core.errors import Conflict, GrowthopsError
    from growthops.inbox.sending import WindowClosed, send_reply

    tid = str(tenant_id)
    counts = {"sent": 0, "refused": 0, "failed": 0, "out_of_credits": 0}
    with db.tenant_tx(tid) as conn:
        todo = conn.execute(
            """select ai_decision_id, conversation_id, message_id, reply_text from inbox.ai_decisions
               where tenant_id = %s and reply_status = 'pending'
                 and (%s::bigint[] is null or ai_decision_id = any(%s::bigint[]))
               order by ai_decision_id""", [tid, decision_ids, decision_ids]).fetchall()
    for d in todo:
        with db.tenant_tx(tid) as conn:  # claim it: the sweep and this call never both send
            claimed = conn.execute(
                """update inbox.ai_decisions set reply_status = 'sent'
                   where tenant_id = %s and ai_decision_id = %s and reply_status = 'pending'
                   returning ai_decision_id""", [tid, d["ai_decision_id"]]).fetchone()
            charged = claimed is not None and _charge(conn, tid, d)
        if claimed is None:
            continue
        if not charged:
            counts["out_of_credits"] += 1
            continue
        status, msg_id, error = "sent", None, None
        try:
            sent = send_reply(db, tenant_id=tid, conversation_id=d["conversation_id"], actor="ai",
                              text=d["reply_text"], author="ai", transport=transport)
            msg_id = sent.message_id
        except (WindowClosed, Conflict) as exc:
            status, error = "refused", str(exc)
        except GrowthopsError as exc:
            status, error = "failed", str(exc)
        counts[status] += 1
        with db.tenant_tx(tid) as conn:
            conn.execute("""update inbox.ai_decisions set reply_status = %s, reply_message_id = %s,
                              reply_error = %s where tenant_id = %s and ai_decision_id = %s""",
                         [status, msg_id, error, tid, d["ai_decision_id"]])
            if status != "sent":
                credits.credit(conn, tenant_id=tid, amount=1, reason="adjustment",
                               action_id=f"refund:message:{d['message_id']}")
    return counts


def _charge(conn: Any, tid: str, d: dict[str, Any]) -> bool:
    """Debit the claimed reply's credit (:func:`growthops.inbox.credits.debit`, reason
    ``ai_reply``, action ``message:<inbound message id>``: a message is charged once whatever
    the retries). Out of credits (:class:`~growthops.inbox.credits.OutOfCredits`, nothing
    debited): mark the reply ``refused`` and escalate the conversation ``out_of_credits`` so a
    person answers; return False."""
    try:
        credits.debit(conn, tenant_id=tid, action_id=f"message:{d['message_id']}",
                      metadata={"ai_decision_id": d["ai_decision_id"]})
        return True
    except credits.OutOfCredits as exc:
        conn.execute("""update inbox.ai_decisions set reply_status = 'refused', reply_error = %s
                        where tenant_id = %s and ai_decision_id = %s""",
                     [f"out_of_credits: {exc}"[:500], tid, d["ai_decision_id"]])
        handoff.escalate_many(conn, tenant_id=tid, items=[(d["conversation_id"], d["message_id"])],
                              reason="out_of_credits", actor="ai")
        return False


def install(llm: Any = None) -> Any:
    """Install :func:`ai_policy` into the inbox seam; return the previous policy."""
    from growthops.inbox import triage

    def policy(conn: Any, *, tenant_id: UUID | str, messages: list[Any]) -> Any:
        return ai_policy(conn, tenant_id=tenant_id, messages=messages, llm=llm)

    return triage.install(policy)
