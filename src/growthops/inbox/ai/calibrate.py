"""Per-tenant calibration: the probability that replying with the best retrieved passage is
right, and the threshold that reaches the tenant's target precision.

**Evidence features** of a message (:func:`features`, from the hybrid search's hits): the best
cosine similarity, its margin over the second, the best full-text score (``ts_rank``), whether
the best hit is first in both branches, whether it appears in both, the fused score of the best
hit (× k), and log(1 + words of the message). No single raw score is trusted as a confidence:
scores change meaning with the embedding model and the corpus (the weakness of fixed 0.3
thresholds), so they are mapped to a probability per tenant.

**Labels** (``y = 1`` when replying with the best hit would be right): the tenant's labelled
examples (the newest :data:`MAX_EXAMPLES` of ``inbox.ai_examples``: ``answer`` with the expected FAQ question or document title,
``escalate``, ``ignore``; not those recorded from people's actions, whose decision's label
counts instead: :mod:`.labels`), and the outcomes people gave to the AI's decisions
(``ai_decisions.label``: a reply marked correct is 1, wrong 0; an escalation for low confidence
marked wrong means the draft was right, 1).

**Model**: logistic regression on the standardised features (Platt, "Probabilistic Outputs for
Support Vector Machines", 1999: a sigmoid fitted on held-out scores), scikit-learn,
``C = 1``. The curve is drawn from **out-of-fold** probabilities (5-fold cross-validation:
``cross_val_predict``), so it measures what happens on messages the model has not seen.

**Threshold**: the precision-at-coverage curve orders messages by probability; answering the
top ``c`` of them has precision ``P(c)``. The threshold is the probability of the largest
coverage (of at least :data:`MIN_ANSWERED` answers) whose precision reaches ``target_precision``
(default 0.95). Not reachable → no threshold: the AI escalates.
At least :data:`MIN_LABELS` labels of both outcomes are needed; until then the tenant is not
calibrated and the AI does not reply (reason ``low_confidence``, "not calibrated").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from growthops.inbox.ai.answer_model import Route
from growthops.inbox.ai.search import RRF_K, Hit

FEATURES = ("cos1", "cos_margin", "ft1", "agree_top", "in_both", "rrf1_k", "log_words",
            "clf_p", "clf_agree")
MIN_LABELS = 30
MIN_ANSWERED = 10
#: The newest labelled examples used (each is searched again at calibration: bounded time, a
#: few seconds); labelled decisions carry their features and are all used.
MAX_EXAMPLES = 300


def features(query: str, hits: list[Hit], route: Route | None = None) -> list[float]:
    """The evidence features (:data:`FEATURES` order) of ``query`` given its hybrid ``hits``
    (as the search returned them) and the answer classifier's ``route``
    (:func:`growthops.inbox.ai.answer_model.route`; None without a model: both 0)."""
    cos = sorted((h.cosine for h in hits if h.cosine is not None), reverse=True)
    top = hits[0] if hits else None
    return [
        cos[0] if cos else 0.0,
        (cos[0] - cos[1]) if len(cos) > 1 else (cos[0] if cos else 0.0),
        max((h.ft_score for h in hits), default=0.0),
        1.0 if top is not None and top.ft_rank == 1 and top.vec_rank == 1 else 0.0,
        1.0 if top is not None and top.ft_rank is not None and top.vec_rank is not None else 0.0,
        (top.rrf * RRF_K) if top is not None else 0.0,
        math.log1p(len((query or "").split())),
        route.probability if route is not None else 0.0,
        1.0 if route is not None and route.agrees else 0.0,
    ]


@dataclass
class Calibration:
    """A fitted calibration (stored as JSON in ``ai_settings.calibration``).

    ``threshold``: probability 0-1 (None: the target is not reachable); ``curve``: points
    ``{threshold, coverage, precision}`` (fractions 0-1); ``precision``/``coverage`` at the
    threshold; ``n``/``positives``: labels used.
    """

    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    target: float
    threshold: float | None
    precision: float | None
    coverage: float
    n: int
    positives: int
    curve: list[dict[str, float]] = field(default_factory=list)
    features: tuple[str, ...] = FEATURES

    def proba(self, x: list[list[float]] | np.ndarray) -> np.ndarray:
        """Probabilities 0-1 of rows of features (a calibration fitted before features were
        appended to :data:`FEATURES` uses its own leading columns)."""
        k = len(self.coef)
        z = (np.asarray(x, dtype=float)[:, :k] - self.mean[:k]) / self.scale[:k]
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))

    def as_json(self) -> dict[str, Any]:
        """A JSON-able dict (see :func:`from_json`)."""
        return asdict(self)


def from_json(data: dict[str, Any] | None) -> Calibration | None:
    """The :class:`Calibration` stored by :func:`save`, or None."""
    if not data:
        return None
    d = dict(data)
    d["features"] = tuple(d.get("features") or FEATURES)
    return Calibration(**d)


def curve(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision at each coverage: ``(thresholds, coverage, precision)`` sorted by decreasing
    probability (ties kept together: a threshold answers all messages at or above it)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    cum = np.cumsum(ys)
    idx = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]  # last index of each tie group
    n = idx + 1
    return ps[idx], n / len(p), cum[idx] / n


def choose_threshold(p: np.ndarray, y: np.ndarray, target: float) -> tuple[float | None,
                                                                             float | None, float]:
    """Return ``(threshold, precision, coverage)``: the largest coverage of at least
    :data:`MIN_ANSWERED` answers whose precision is ≥ ``target`` (None, None, 0 if none)."""
    th, cov, prec = curve(p, y)
    ok = np.flatnonzero((prec >= target) & (cov * len(p) >= MIN_ANSWERED))
    if not len(ok):
        return None, None, 0.0
    best = int(ok[-1])
    return float(th[best]), float(prec[best]), float(cov[best])


def fit(x: np.ndarray, y: np.ndarray, *, target: float = 0.95, folds: int = 5) -> Calibration:
    """Fit the calibration on features ``x`` (n, len(FEATURES)) and labels ``y`` (0/1).

    Raises ValueError with fewer than :data:`MIN_LABELS` labels or a single outcome.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=int)
    if len(y) < MIN_LABELS:
        raise ValueError(f"calibration needs at least {MIN_LABELS} labels, got {len(y)}")
    if y.min() == y.max():
        raise ValueError("calibration needs labels of both outcomes (right and wrong replies)")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    k = int(min(folds, np.bincount(y).min()))
    model = LogisticRegression(C=1.0, max_iter=1000)
    if k >= 2:
        p = cross_val_predict(model, z, y, cv=StratifiedKFold(k, shuffle=True, random_state=0),
                              method="predict_proba")[:, 1]
    else:
        p = model.fit(z, y).predict_proba(z)[:, 1]
    model.fit(z, y)
    th, prec, cov = choose_threshold(p, y, target)
    ts, covs, precs = curve(p, y)
    step = max(1, len(ts) // 50)  # at most ~50 points stored for the dashboard
    pts = [{"threshold": float(ts[i]), "coverage": float(covs[i]), "precision": float(precs[i])}
           for i in range(0, len(ts), step)]
    return Calibration(coef=[float(c) for c in model.coef_[0]], intercept=float(model.intercept_[0]),
                       mean=[float(v) for v in mean], scale=[float(v) for v in scale],
                       target=float(target), threshold=th, precision=prec, coverage=cov,
                       n=int(len(y)), positives=int(y.sum()), curve=pts)


# ------------------------------------------------------------------------------ the tenant
def labelled(db: Any, *, tenant_id: UUID | str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features and labels of the tenant's labelled data (examples searched now, decisions from
    their snapshot); returns ``(x, y, source of each row)``."""
    from growthops.core.ai.embeddings import RememberLast
    from growthops.inbox.ai import answer_model, config
    from growthops.inbox.ai.search import search

    xs: list[list[float]] = []
    ys: list[int] = []
    src: list[str] = []
    with db.tenant_tx(tenant_id) as conn:
        embedder = RememberLast(config.tenant_embedder(conn, tenant_id=tenant_id))
        model = answer_model.load(conn, tenant_id=tenant_id, embedder=embedder)
        answer_of = {r["question"].strip(): r["answer"] for r in conn.execute(
            """select f.question, f.answer from inbox.faq_qa f
               where f.tenant_id = %s and f.question in (
                 select e.expected from inbox.ai_examples e
                 where e.tenant_id = %s and e.label = 'answer')""",
            [str(tenant_id), str(tenant_id)]).fetchall()}
        examples = conn.execute("""select text, label, expected from inbox.ai_examples
                                   where tenant_id = %s and source <> 'action'
                                   order by example_id desc limit %s""",
                                [str(tenant_id), MAX_EXAMPLES]).fetchall()
        for e in examples:
            hits = search(conn, tenant_id=tenant_id, query=e["text"], limit=5,
                          embedder=embedder)
            routed, route = answer_model.route(conn, model, tenant_id=tenant_id,
                                               text=e["text"], hits=hits)
            right = e["label"] == "answer" and bool(routed) and _gives(
                routed[0], e["expected"], answer_of)
            xs.append(features(e["text"], hits, route))
            ys.append(int(right))
            src.append("example")
        for d in conn.execute(
                """select decision, label, snapshot_json->'features' as f from inbox.ai_decisions
                   where tenant_id = %s and label is not null
                     and (decision = 'respond' or matched_rule = 'low_confidence')
                     and jsonb_typeof(snapshot_json->'features') = 'array'""",
                [str(tenant_id)]).fetchall():
            f = [float(v) for v in d["f"]]  # decided before features were added: 0 = absent
            xs.append((f + [0.0] * len(FEATURES))[:len(FEATURES)])
            right = d["label"] == "correct"
            ys.append(int(right if d["decision"] == "respond" else not right))
            src.append("decision")
    return np.asarray(xs, dtype=float).reshape(-1, len(FEATURES)), np.asarray(ys, dtype=int), src


def _gives(hit: Hit, expected: str | None, answer_of: dict[str, str]) -> bool:
    """Whether replying from ``hit`` gives the ``expected`` answer: any hit when nothing is
    expected; the same answer text when ``expected`` is an FAQ question (its paraphrases share
    it); else the same title (a document's)."""
    if not expected:
        return True
    want = answer_of.get(expected.strip())
    if want is not None and hit.kind == "faq":
        return hit.text.strip() == want.strip()
    return hit.title.strip() == expected.strip()


def calibrate_tenant(db: Any, *, tenant_id: UUID | str) -> Calibration:
    """Fit and store the tenant's calibration and threshold (``ai_settings``); return it.

    Raises ValueError when there are not enough labels (nothing changed then).
    """
    from growthops.inbox.ai.config import get_settings, update_settings

    with db.tenant_tx(tenant_id) as conn:
        target = get_settings(conn, tenant_id=tenant_id)["target_precision"]
    x, y, _src = labelled(db, tenant_id=tenant_id)
    cal = fit(x, y, target=target)
    with db.tenant_tx(tenant_id) as conn:
        update_settings(conn, tenant_id=tenant_id)  # make sure the row exists
        conn.execute("""update inbox.ai_settings set calibration = %s, reply_threshold = %s,
                          calibrated_at = %s, updated_at = now() where tenant_id = %s""",
                     [Jsonb(cal.as_json()), cal.threshold, datetime.now(UTC), str(tenant_id)])
    return cal


def add_examples(conn: Any, *, tenant_id: UUID | str, rows: list[dict[str, Any]],
                 source: str = "csv") -> int:
    """Store labelled examples (``text``, ``label`` answer|escalate|ignore, ``expected``);
    a text already there is updated. Returns how many rows were given.

    Raises :class:`~growthops.core.errors.InvalidInput` naming the bad row (1-based).
    """
    from growthops.core.errors import InvalidInput

    for n, r in enumerate(rows, start=1):
        if not str(r.get("text") or "").strip():
            raise InvalidInput(f"row {n}: text is required")
        if r.get("label") not in ("answer", "escalate", "ignore"):
            raise InvalidInput(f"row {n}: label must be answer, escalate or ignore")
    seen = {str(r["text"]).strip()[:4000]: r for r in rows}
    conn.execute(
        """insert into inbox.ai_examples (tenant_id, text, label, expected, source)
           select %s, x.t, x.l, nullif(x.e, ''), %s
           from unnest(%s::text[], %s::text[], %s::text[]) x(t, l, e)
           on conflict (tenant_id, md5(text)) do update set label = excluded.label,
             expected = excluded.expected""",
        [str(tenant_id), source, list(seen), [r["label"] for r in seen.values()],
         [str(r.get("expected") or "") for r in seen.values()]])
    return len(rows)
