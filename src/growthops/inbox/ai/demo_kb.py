"""The inbox demo's knowledge base and AI settings (``make demo``, tenant ``inbox-demo``).

Real source: the same ``examples/data/twcs_sample`` (Customer Support on Twitter): the pairs
"customer tweet → the brand's reply" **older** than the replayed window become FAQ entries
(question = the customer's tweet, answer = the brand's reply, category = the brand), as the
suggested-FAQ miner would propose them, approved for the demo. The tenant's AI is enabled in
draft mode (``auto_reply_enabled`` false: the brands' real replies still go out, by people) with
the hashed n-gram embedder (no model to load: the demo stays fast). The sample has no labels, so
the tenant is not calibrated: messages the rules do not settle are escalated ``low_confidence``
("not calibrated"), which is what a new tenant sees until its labelled examples set a threshold.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from growthops.inbox.ai import config, kb

MAX_ENTRIES = 300
_FMT = "%a %b %d %H:%M:%S %z %Y"
_MENTION = re.compile(r"^(@\w+\s+)+")
IGNORE_EXAMPLES = ["follow us for a chance to win", "check out my channel"]


def mined_faq(path: Path, *, before_days: int) -> list[dict[str, Any]]:
    """FAQ entries from the pairs whose customer tweet is older than the last ``before_days``
    days of the file (the replayed window); at most :data:`MAX_ENTRIES`, newest first."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    at = {r["tweet_id"]: datetime.strptime(r["created_at"], _FMT) for r in rows}
    cut = max(at.values()) - timedelta(days=before_days)
    by_id = {r["tweet_id"]: r for r in rows}
    out = []
    for r in rows:
        q = by_id.get(r["in_response_to_tweet_id"] or "")
        if (r["inbound"] == "False" and q is not None and q["inbound"] == "True"
                and at[q["tweet_id"]] < cut):
            question = _MENTION.sub("", q["text"]).strip()
            answer = _MENTION.sub("", r["text"]).strip()
            if len(question) >= 15 and len(answer) >= 15:
                out.append((at[q["tweet_id"]], {"question": question[:2000],
                                                "answer": answer[:8000],
                                                "category": r["author_id"], "lang": "en"}))
    out.sort(key=lambda x: x[0], reverse=True)
    return [e for _at, e in out[:MAX_ENTRIES]]


def setup(db: Any, tenant_id: Any, path: Path, *, before_days: int) -> int:
    """Give the demo tenant its mined FAQ and AI settings; return the number of entries."""
    entries = mined_faq(path, before_days=before_days)
    with db.tenant_tx(tenant_id) as conn:
        config.update_settings(conn, tenant_id=tenant_id, embedding_model="hashed-ngram-384",
                               ai_enabled_for_conversations=True, auto_reply_enabled=False)
        config.update_rules(conn, tenant_id=tenant_id, ignore_examples=IGNORE_EXAMPLES,
                            instructions="Be brief and polite; never promise a refund.")
        kb.add_faq(conn, tenant_id=tenant_id, entries=entries, source="suggested")
    return len(entries)


def summary(conn: Any, *, tenant_id: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decisions per decision and rule, and a few examples of each decision with reasons."""
    counts = conn.execute(
        """select decision, matched_rule, count(*) n from inbox.ai_decisions where tenant_id = %s
           group by 1, 2 order by 3 desc""", [str(tenant_id)]).fetchall()
    examples = conn.execute(
        """select decision, matched_rule, reason, message_text from (
             select *, row_number() over (partition by decision order by ai_decision_id) k
             from inbox.ai_decisions where tenant_id = %s) d where k <= 3
           order by decision, ai_decision_id""", [str(tenant_id)]).fetchall()
    return counts, examples
