"""Per-tenant evaluation on the tenant's labelled examples (``inbox.ai_examples``).

* **Retrieval** (examples labelled ``answer`` with an ``expected`` FAQ question or document
  title): recall@1, recall@5 (the expected passage among the first k) and MRR@10 (mean of
  1/rank of the expected passage, 0 beyond 10; Voorhees, TREC-8 QA track, 1999), for full-text
  alone, vector alone and hybrid.
* **Triage** (every example, the live policy's decision without recording anything): for
  ``respond``, precision (the reply's source is the expected one) and coverage (answered ÷
  answerable); for ``escalate``, recall of the examples labelled escalate; for ``ignore``,
  precision and recall.

The calibration's own curve is out-of-fold; this evaluation uses the stored calibration on the
same examples it was fitted on, so it is optimistic unless new examples were added since: the
command says how many examples the calibration saw.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from growthops.inbox.ai.search import search

MODES = ("fulltext", "vector", "hybrid")


def rank_of(titles: list[str], expected: str) -> int | None:
    """1-based rank of ``expected`` in ``titles`` (None: absent)."""
    want = expected.strip()
    for i, t in enumerate(titles, start=1):
        if t.strip() == want:
            return i
    return None


def retrieval_metrics(ranks: list[int | None]) -> dict[str, float]:
    """recall@1, recall@5, MRR@10 (fractions 0-1) of 1-based ranks (None: not found)."""
    n = max(1, len(ranks))
    return {"recall@1": sum(r == 1 for r in ranks) / n,
            "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
            "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
            "n": len(ranks)}


def evaluate_tenant(db: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return ``{"retrieval": {mode: metrics}, "triage": {...}, "examples": n}`` (see module)."""
    from growthops.inbox.ai.policy import decide, load_context

    tid = str(tenant_id)
    with db.tenant_tx(tid) as conn:
        examples = conn.execute("""select text, label, expected from inbox.ai_examples
                                   where tenant_id = %s order by example_id""", [tid]).fetchall()
        ctx = load_context(conn, tenant_id=tid, llm=None)
        ctx.rules["ai_control_enabled"] = True
        ctx.settings["ai_enabled_for_conversations"] = True
        ranks: dict[str, list[int | None]] = {m: [] for m in MODES}
        outcomes = []
        for e in examples:
            if e["label"] == "answer" and e["expected"]:
                for m in MODES:
                    hits = search(conn, tenant_id=tid, query=e["text"], mode=m, limit=10,
                                  embedder=ctx.embedder)
                    ranks[m].append(rank_of([h.title for h in hits], e["expected"]))
            d = decide(conn, tenant_id=tid, text=e["text"], message_type="text",
                       platform="whatsapp", ctx=ctx)
            right_source = bool(d and d.reply and (not e["expected"] or
                                d.reply.citations[0]["title"].strip() == e["expected"].strip()))
            outcomes.append((e["label"], d.decision if d else "none", right_source))
    c = Counter((lab, dec) for lab, dec, _ok in outcomes)
    answered = [(lab, ok) for lab, dec, ok in outcomes if dec == "respond"]
    answerable = sum(1 for lab, _d, _ok in outcomes if lab == "answer")
    escal = sum(1 for lab, _d, _ok in outcomes if lab == "escalate")
    ign_pred = sum(v for (lab, dec), v in c.items() if dec == "ignore")
    ign_true = sum(1 for lab, _d, _ok in outcomes if lab == "ignore")
    triage = {
        "respond_precision": (sum(1 for lab, ok in answered if lab == "answer" and ok)
                              / len(answered)) if answered else None,
        "respond_coverage": (sum(1 for lab, ok in answered if lab == "answer" and ok)
                             / answerable) if answerable else None,
        "escalate_recall": (c[("escalate", "escalate")] / escal) if escal else None,
        "ignore_precision": (c[("ignore", "ignore")] / ign_pred) if ign_pred else None,
        "ignore_recall": (c[("ignore", "ignore")] / ign_true) if ign_true else None,
        "confusion": {f"{lab}->{dec}": v for (lab, dec), v in sorted(c.items())},
    }
    cal = ctx.calibration
    return {"examples": len(examples),
            "calibrated_on": cal.n if cal else 0,
            "threshold": cal.threshold if cal else None,
            "retrieval": {m: retrieval_metrics(r) for m, r in ranks.items()},
            "triage": triage}
