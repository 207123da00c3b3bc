"""The tenant's answer classifier: which FAQ answer a message asks for, learnt from the tenant's
own utterances (issue 11, triage).

Nearest-neighbour retrieval (:mod:`.search`) ranks passages one by one; when a tenant has
several phrasings of the same question (FAQ entries sharing an answer) a classifier trained
on all of them ranks the *answers* better, and its probability tells "none of our answers"
apart better than a similarity score. Measured on CLINC150
(``bench/kb_triage.py``; docs/inbox-ai.md): the first answer is right for 92.1 % of in-scope
validation messages with hashed n-grams alone, against 76.0 % (hashed embedder) and 87.4 %
(MiniLM) for the hybrid search's first hit.

**Training data** (:func:`training_data`): the enabled FAQ entries, one class per distinct
answer (entries sharing an answer text are paraphrases of one question; the class label is the
answer's MD5, its FAQ entry the lowest ``faq_id``). The labelled examples of
``inbox.ai_examples`` are *not* trained on: they are what the calibration (:mod:`.calibrate`)
measures the classifier's probability against, which must be out of sample. A model is
trained only when at least :data:`MIN_ANSWERS` answers have :data:`MIN_PARAPHRASES` phrasings
or more: with one question per answer a classifier has nothing to learn that retrieval does not
know.

**Model**: :class:`growthops.core.ai.text.TextClassifier` (hashed word 1–2 and character 2–5
n-grams, TF-IDF, multinomial logistic regression, ``C`` = :data:`C`), with the tenant's sentence
embedding of each utterance appended (weight :data:`EMBED_WEIGHT`) when that embedder is a
semantic one (MiniLM, an OpenAI-compatible model; not the hashed n-gram embedder, whose vectors
are the n-grams again): the FAQ entries' stored ``embedding`` values are used, so training embeds
nothing already indexed, and the message's vector is the one the search computed. Measured on
CLINC150 (``bench/kb_triage.py --embedder minilm``): the first answer is right for 96.1 % of
in-scope validation messages with the MiniLM vectors appended, 92.1 % without. Stored in
``inbox.answer_models`` (migration ``0170``) as its ``.npz`` with its SHA-256, and the
fingerprint of the data it saw: :func:`train_stale` retrains the tenants whose FAQ
changed (job ``inbox.answer_models``, hourly, and ``growthops inbox kb train``).

**Use in triage** (:func:`route`): the classifier's most probable answer and its probability;
the hits are reordered so that this answer is replied from (fetched when the search did not
return it), and two evidence features join the calibration (:mod:`.calibrate`): the
probability and whether the search's first hit gives the same answer. The calibrated
probability and the tenant's threshold still decide respond or escalate.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from growthops.core.ai.embeddings import CachedEmbedder
from growthops.inbox.ai.search import Hit

logger = logging.getLogger("growthops.inbox.ai")

#: At least this many answers need MIN_PARAPHRASES phrasings for a model to be trained.
MIN_ANSWERS = 2
MIN_PARAPHRASES = 3
#: Inverse L2 strength of the logistic regression (the default of TextClassifier; CLINC150's
#: 92.1 % first-answer accuracy was measured with it, not tuned on the validation part).
C = 10.0
#: Scale of the appended sentence vector (L2-normalised, like each n-gram block's TF-IDF row):
#: the unit weight, not tuned (3.0 gave the same first-answer accuracy on CLINC150, 96.2 %).
EMBED_WEIGHT = 1.0
#: The newest utterances used for training (bounds the job's time: ~6 CPU-minutes for 13,500
#: utterances and 150 answers on this project's 2-core reference machine).
MAX_UTTERANCES = 50_000
_CACHE: dict[str, tuple[str, AnswerModel]] = {}


@dataclass
class AnswerModel:
    """A trained classifier and ``answers``: class label (the answer's MD5, hex) → ``faq_id``."""

    classifier: Any
    answers: dict[str, int]
    sha256: str

    def predict(self, text: str) -> tuple[str, float]:
        """``(class label, probability 0-1)`` of the most probable answer for ``text``."""
        labels, probs = self.classifier.predict([text or ""])
        return labels[0], float(probs[0])


def answer_key(answer: str) -> str:
    """The class label of an FAQ answer: MD5 (hex) of its text, stripped."""
    return hashlib.md5((answer or "").strip().encode()).hexdigest()


def semantic(embedder: Any) -> bool:
    """Whether the classifier appends ``embedder``'s vectors: any embedder but the hashed n-gram
    one (its vectors repeat the classifier's own n-gram features)."""
    from growthops.core.ai.embeddings import HashedNgramEmbedder

    return embedder is not None and getattr(embedder, "name", None) != HashedNgramEmbedder.name


def _stored_vectors(conn: Any, *, tenant_id: str, model: str) -> dict[str, Any]:
    """``question → vector`` of the trained-on FAQ entries embedded by ``model``."""
    import numpy as np

    return {r["question"]: np.asarray(r["v"], dtype=np.float32) for r in conn.execute(
        f"""select f.question, f.embedding::real[] as v from inbox.faq_qa f
           where f.faq_id in (select faq_id from ({_NEWEST}) x) and f.embedding_model = %s
             and f.embedding is not null""",
        [tenant_id, MAX_UTTERANCES, model]).fetchall()}


def tenant_embedder_name(conn: Any, *, tenant_id: UUID | str) -> str:
    """The name of the tenant's embedder (:func:`growthops.inbox.ai.config.tenant_embedder`)."""
    from growthops.inbox.ai import config

    return str(config.tenant_embedder(conn, tenant_id=tenant_id).name)


def training_data(conn: Any, *, tenant_id: UUID | str, embedder_name: str | None = None
                  ) -> tuple[list[str], list[str], dict[str, int], str]:
    """``(texts, labels, answers, fingerprint)`` of the tenant (see the module);
    ``embedder_name``: the tenant's embedder's, when the caller has it (else looked up).

    ``answers`` maps each label to its FAQ entry (lowest ``faq_id``); ``fingerprint`` is an MD5
    of every row used and of the tenant's embedder (it changes when an entry is added, edited,
    disabled or deleted, or the embedder changes).
    """
    rows = conn.execute(f"select faq_id, question, answer from ({_NEWEST}) f order by faq_id",
                        [str(tenant_id), MAX_UTTERANCES]).fetchall()
    texts: list[str] = []
    labels: list[str] = []
    answers: dict[str, int] = {}
    for r in rows:
        key = answer_key(r["answer"])
        answers.setdefault(key, int(r["faq_id"]))
        texts.append(r["question"])
        labels.append(key)
    return texts, labels, answers, fingerprint(conn, tenant_id=tenant_id,
                                               embedder_name=embedder_name)


#: The enabled FAQ entries trained on: the newest MAX_UTTERANCES.
_NEWEST = """select faq_id, question, answer from inbox.faq_qa
             where tenant_id = %s and enabled order by faq_id desc limit %s"""


def fingerprint(conn: Any, *, tenant_id: UUID | str, embedder_name: str | None = None) -> str:
    """MD5 (hex) of the tenant's embedder name (``embedder_name``, else looked up) and the rows
    :func:`training_data` trains on (id, question, MD5 of the answer), computed in PostgreSQL so
    that the hourly staleness check reads no FAQ text."""
    row = conn.execute(
        f"""select md5(%s || E'\n' || coalesce(string_agg(
                         faq_id || ':' || question || ':' || md5(btrim(answer)),
                         E'\n' order by faq_id), '')) as f
            from ({_NEWEST}) f""",
        [embedder_name or tenant_embedder_name(conn, tenant_id=tenant_id), str(tenant_id),
         MAX_UTTERANCES]
    ).fetchone()
    return str(row["f"])


def eligible(labels: list[str]) -> bool:
    """Whether at least :data:`MIN_ANSWERS` answers have :data:`MIN_PARAPHRASES` phrasings."""
    from collections import Counter

    return sum(n >= MIN_PARAPHRASES for n in Counter(labels).values()) >= MIN_ANSWERS


def train(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Train and store the tenant's model in ``conn``'s transaction; return a summary
    ``{trained, reason, n_examples, n_answers, seconds, sha256, embedder}`` (``embedder``: the
    name of the embedder whose vectors were appended, None for n-grams alone).

    A tenant not :func:`eligible` has its stored model removed (``trained`` False, ``reason``
    says why): triage then uses retrieval alone.
    """
    from growthops.core.ai.text import TextClassifier
    from growthops.inbox.ai import config

    tid = str(tenant_id)
    embedder = config.tenant_embedder(conn, tenant_id=tid)
    texts, labels, answers, digest = training_data(conn, tenant_id=tid,
                                                   embedder_name=embedder.name)
    if not eligible(labels):
        conn.execute("delete from inbox.answer_models where tenant_id = %s", [tid])
        return {"trained": False, "n_examples": len(texts), "n_answers": len(answers),
                "reason": f"fewer than {MIN_ANSWERS} answers with {MIN_PARAPHRASES} phrasings "
                          "or more: retrieval alone ranks the answers"}
    t0 = time.perf_counter()
    if semantic(embedder):
        stored = CachedEmbedder(embedder, _stored_vectors(conn, tenant_id=tid, model=embedder.name))
        clf = TextClassifier(C=C, embedder=stored, embed_weight=EMBED_WEIGHT).fit(texts, labels)
        clf.embedder = embedder
    else:
        clf = TextClassifier(C=C).fit(texts, labels)
    seconds = time.perf_counter() - t0
    buf = io.BytesIO()
    sha = clf.save(buf)
    from psycopg.types.json import Jsonb

    conn.execute(
        """insert into inbox.answer_models (tenant_id, model, sha256, answers, n_examples,
             n_answers, fingerprint, train_seconds, trained_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, now())
           on conflict (tenant_id) do update set model = excluded.model,
             sha256 = excluded.sha256, answers = excluded.answers,
             n_examples = excluded.n_examples, n_answers = excluded.n_answers,
             fingerprint = excluded.fingerprint, train_seconds = excluded.train_seconds,
             trained_at = excluded.trained_at""",
        [tid, buf.getvalue(), sha, Jsonb(answers), len(texts), len(answers), digest,
         seconds])
    return {"trained": True, "reason": "", "n_examples": len(texts), "n_answers": len(answers),
            "seconds": round(seconds, 2), "sha256": sha, "embedder": clf.embedder_name}


def is_stale(conn: Any, *, tenant_id: UUID | str) -> bool:
    """Whether the stored model (or its absence) no longer matches the tenant's data."""
    row = conn.execute("select fingerprint from inbox.answer_models where tenant_id = %s",
                       [str(tenant_id)]).fetchone()
    if row is None:
        return eligible(training_data(conn, tenant_id=tenant_id)[1])
    return row["fingerprint"] != fingerprint(conn, tenant_id=tenant_id)


def train_stale(db: Any, *, tenant_id: UUID | str) -> dict[str, int]:
    """Retrain the tenant's model if its FAQ changed, then refit its calibration when it has
    one (the features changed meaning). Returns ``{"trained": 0|1}``."""
    from growthops.inbox.ai import calibrate

    with db.tenant_tx(tenant_id) as conn:
        if not is_stale(conn, tenant_id=tenant_id):
            return {"trained": 0}
        out = train(conn, tenant_id=tenant_id)
        had_calibration = conn.execute(
            "select calibration is not null as c from inbox.ai_settings where tenant_id = %s",
            [str(tenant_id)]).fetchone()
    if had_calibration and had_calibration["c"]:
        try:
            calibrate.calibrate_tenant(db, tenant_id=tenant_id)
        except ValueError as exc:  # too few labels now: the stored calibration stays
            logger.info("answer model of %s trained; calibration not refitted: %s", tenant_id, exc)
    return {"trained": int(bool(out["trained"]))}


def load(conn: Any, *, tenant_id: UUID | str, embedder: Any = None) -> AnswerModel | None:
    """The tenant's stored model, or None (cached per process by checksum: one small query
    when unchanged). ``embedder``: the tenant's (default: looked up), for a model trained with
    sentence vectors; a model trained with another embedder than the tenant's current one is
    not used (None, logged) until :func:`train_stale` retrains it. Raises ValueError if the
    stored bytes do not match their checksum."""
    from growthops.core.ai.text import TextClassifier

    tid = str(tenant_id)
    row = conn.execute("select sha256 from inbox.answer_models where tenant_id = %s",
                       [tid]).fetchone()
    if row is None:
        _CACHE.pop(tid, None)
        return None
    if embedder is None:
        from growthops.inbox.ai import config

        embedder = config.tenant_embedder(conn, tenant_id=tid)
    hit = _CACHE.get(tid)
    if hit is not None and hit[0] == row["sha256"]:
        model = hit[1]
    else:
        full = conn.execute("select model, sha256, answers from inbox.answer_models "
                            "where tenant_id = %s", [tid]).fetchone()
        clf = TextClassifier.load(io.BytesIO(bytes(full["model"])), sha256=full["sha256"],
                                  embedder=embedder if semantic(embedder) else None,
                                  check_embedder=False)
        model = AnswerModel(clf, {str(k): int(v) for k, v in full["answers"].items()},
                            full["sha256"])
        _CACHE[tid] = (full["sha256"], model)
    need = model.classifier.embedder_name
    if need and need != getattr(embedder, "name", None):
        logger.warning("answer model of %s was trained with the embedder %s, the tenant's is "
                       "%s: not used until retrained", tid, need, getattr(embedder, "name", None))
        return None
    if need:
        model.classifier.embedder = embedder
    return model


@dataclass
class Route:
    """The classifier's reading of a message: ``faq_id`` of its answer, ``probability`` 0-1,
    ``agrees`` (the search's first hit gives that answer)."""

    faq_id: int
    probability: float
    agrees: bool


def route(conn: Any, model: AnswerModel | None, *, tenant_id: UUID | str, text: str,
          hits: list[Hit]) -> tuple[list[Hit], Route | None]:
    """``(hits to reply from, route)``: with a model, the hits with the classifier's answer
    first (fetched from ``inbox.faq_qa`` when the search did not return it); without one,
    ``(hits, None)`` unchanged."""
    if model is None:
        return hits, None
    label, p = model.predict(text)
    faq_id = model.answers.get(label)
    if faq_id is None:
        return hits, None
    first = hits[0] if hits else None
    agrees = bool(first is not None and first.kind == "faq" and answer_key(first.text) == label)
    same = [h for h in hits if h.kind == "faq" and answer_key(h.text) == label]
    if same:
        top = same[0]
    else:
        r = conn.execute("""select faq_id, question, answer, lang_code from inbox.faq_qa
                            where tenant_id = %s and faq_id = %s""",
                         [str(tenant_id), faq_id]).fetchone()
        if r is None:  # deleted since training: retrieval alone until the next training
            return hits, None
        top = Hit(kind="faq", ref_id=int(r["faq_id"]), document_id=None, title=r["question"],
                  text=r["answer"], lang=r["lang_code"], start_char=None, end_char=None,
                  ft_rank=None, vec_rank=None, ft_score=0.0, cosine=None, rrf=0.0)
    rest = [h for h in hits if h is not top]
    return [top, *rest], Route(faq_id=top.ref_id, probability=p, agrees=agrees)
