"""English tone by stacking: n-gram scores, MiniLM sentence vectors and VADER lexicon scores.

Experimental, measured by ``bench/lead_models.py --only airline_stack --embeddings --stack``; not
shipped (issue 13: 83.9 % nested 5-fold, short of the 85 % target, docs/leads.md). Needs the ``[ml]`` extra
and ``vaderSentiment`` (pinned in the ``dev`` extra).

Level 0 (each trained on the training texts after :func:`normalize`):

* n-grams: :class:`growthops.core.ai.text.NgramFeaturizer` (hashed word 1-2 and ``char_wb``
  2-5 TF-IDF) and one-vs-rest L2 logistic regressions (``liblinear``, ``C`` =
  :data:`NGRAM_C`); its decision scores ``(n, 3)``;
* embeddings: a multinomial logistic regression on the all-MiniLM-L6-v2 vectors
  (:mod:`growthops.core.ai.embeddings`, ``[ml]`` extra); its log-probabilities ``(n, 3)``. Its
  ``C`` is chosen in :data:`EMB_C_GRID` by the out-of-fold accuracy on the training texts;
* VADER (Hutto & Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of
  Social Media Text", ICWSM 2014; package ``vaderSentiment``, MIT, lexicon in the wheel): the
  ``neg``, ``neu``, ``pos`` and ``compound`` scores ``(n, 4)``.

Level 1: a multinomial logistic regression on those 10 columns, trained on the level-0 outputs
computed out of fold (:data:`INNER_FOLDS`-fold stratified split of the training texts; Wolpert,
"Stacked Generalization", Neural Networks 1992), its ``C`` chosen in :data:`META_C_GRID` by a
5-fold cross-validation on those out-of-fold features. Level-0 models are then refitted on all
the training texts. Nothing is chosen on data outside ``fit``'s texts.

Measured nested (all the choices above are made inside each outer training part): docs/leads.md.

Saving: the n-gram level is a :class:`~growthops.core.ai.text.TextClassifier` file (its
softmax over the one-vs-rest scores gives the same argmax, so it is also the model used alone
without the ``[ml]`` extra); the embedding and meta weights are a second ``.npz`` (no pickle).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from growthops.core.ai.text import TextClassifier

NGRAM_C = 3.0
EMB_C_GRID = (0.3, 1.0, 3.0)
META_C_GRID = (0.1, 1.0, 10.0)
INNER_FOLDS = 5
FORMAT = "growthops-tonestack-1"

# The text normalisation and the VADER scores are the production ones (the shipped English stack
# must see the features its level 0 was trained on).
from growthops.leads.enrichment.tone_stack import normalize, vader_scores  # noqa: E402,F401


def _ngram_fit(texts: list[str], labels: list[str], C: float) -> TextClassifier:
    """One-vs-rest liblinear logistic regressions on the n-gram features, as a TextClassifier."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    model = TextClassifier(C=C)
    model.featurizer.fit(texts)
    clf = OneVsRestClassifier(LogisticRegression(C=C, solver="liblinear"))
    clf.fit(model._features(texts), labels)
    model.classes = [str(c) for c in clf.classes_]
    model.coef = np.vstack([e.coef_ for e in clf.estimators_]).astype(np.float32)
    model.intercept = np.concatenate([e.intercept_ for e in clf.estimators_]).astype(np.float32)
    return model


def _ngram_scores(model: TextClassifier, texts: list[str]) -> np.ndarray:
    assert model.coef is not None and model.intercept is not None
    return np.asarray(model._features(texts) @ model.coef.T) + model.intercept


def _log_proba(coef: np.ndarray, intercept: np.ndarray, x: np.ndarray) -> np.ndarray:
    s = x @ coef.T + intercept
    s = s - s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


class ToneStack:
    """The stacked English tone model: ``fit``, ``predict_proba``, ``save``/``load``.

    Texts are given already normalised (:func:`normalize`) with their MiniLM vectors
    ``(n, 384)`` (L2-normalised, as :meth:`growthops.core.ai.embeddings.MiniLMEmbedder.embed`
    returns them), so a caller can embed once. ``classes`` (after fit): column order.
    ``choices`` (after fit): the C chosen for the embedding and meta regressions, with the
    out-of-fold accuracies that chose them.
    """

    def __init__(self, *, ngram_C: float = NGRAM_C, inner_folds: int = INNER_FOLDS,
                 seed: int = 1) -> None:
        self.ngram_C = ngram_C
        self.inner_folds = inner_folds
        self.seed = seed
        self.ngram: TextClassifier | None = None
        self.classes: list[str] = []
        self.emb_coef: np.ndarray | None = None
        self.emb_intercept: np.ndarray | None = None
        self.meta_coef: np.ndarray | None = None
        self.meta_intercept: np.ndarray | None = None
        self.choices: dict[str, object] = {}

    # ------------------------------------------------------------------------------- train
    def fit(self, texts: list[str], labels: list[str], vectors: np.ndarray) -> ToneStack:
        """Train on normalised ``texts``, their ``labels`` and MiniLM ``vectors``; return self.

        Raises ValueError when lengths differ or there are fewer than two labels.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        y = np.asarray(labels)
        vectors = np.asarray(vectors, dtype=np.float32)
        if not len(texts) == len(y) == len(vectors):
            raise ValueError("texts, labels and vectors differ in length")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("a classifier needs at least two distinct labels")
        vader = vader_scores(texts)
        oof_ngram = np.zeros((len(texts), len(classes)))
        oof_emb = {C: np.zeros((len(texts), len(classes))) for C in EMB_C_GRID}
        folds = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.seed)
        for tr, te in folds.split(vectors, y):
            ng = _ngram_fit([texts[i] for i in tr], list(y[tr]), self.ngram_C)
            oof_ngram[te] = _ngram_scores(ng, [texts[i] for i in te])
            for C in EMB_C_GRID:
                m = LogisticRegression(C=C, max_iter=3000).fit(vectors[tr], y[tr])
                oof_emb[C][te] = m.predict_log_proba(vectors[te])
        emb_acc = {C: float(np.mean(np.array(classes)[p.argmax(1)] == y)) for C, p in oof_emb.items()}
        emb_C = max(emb_acc, key=lambda c: emb_acc[c])
        meta_x = np.hstack([oof_ngram, oof_emb[emb_C], vader])
        meta_acc = {}
        for C in META_C_GRID:
            accs = []
            for a, b in StratifiedKFold(5, shuffle=True, random_state=self.seed + 1).split(meta_x, y):
                m = LogisticRegression(C=C, max_iter=3000).fit(meta_x[a], y[a])
                accs.append(float(np.mean(m.predict(meta_x[b]) == y[b])))
            meta_acc[C] = float(np.mean(accs))
        meta_C = max(meta_acc, key=lambda c: meta_acc[c])
        meta = LogisticRegression(C=meta_C, max_iter=3000).fit(meta_x, y)
        emb = LogisticRegression(C=emb_C, max_iter=3000).fit(vectors, y)
        self.ngram = _ngram_fit(texts, list(y), self.ngram_C)
        self.classes = [str(c) for c in meta.classes_]
        if self.classes != self.ngram.classes or self.classes != [str(c) for c in emb.classes_]:
            raise RuntimeError("class order differs between the stacked models")
        self.emb_coef, self.emb_intercept = emb.coef_.astype(np.float32), emb.intercept_.astype(np.float32)
        self.meta_coef, self.meta_intercept = meta.coef_.astype(np.float32), meta.intercept_.astype(np.float32)
        self.choices = {"emb_C": emb_C, "emb_oof_accuracy": emb_acc, "meta_C": meta_C,
                        "meta_cv_accuracy": meta_acc}
        return self

    # ----------------------------------------------------------------------------- predict
    def predict_proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """Return the probabilities ``(n, len(classes))`` of normalised ``texts``."""
        if self.ngram is None or self.emb_coef is None or self.meta_coef is None:
            raise RuntimeError("ToneStack.predict_proba before fit or load")
        if not texts:
            return np.zeros((0, len(self.classes)))
        vectors = np.asarray(vectors, dtype=np.float32)
        x = np.hstack([_ngram_scores(self.ngram, texts),
                       _log_proba(self.emb_coef, self.emb_intercept, vectors),
                       vader_scores(texts)])
        return np.exp(_log_proba(self.meta_coef, self.meta_intercept, x))

    def predict(self, texts: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Return ``(labels, probability of each label)``."""
        proba = self.predict_proba(texts, vectors)
        idx = proba.argmax(axis=1)
        return [self.classes[i] for i in idx], proba[np.arange(len(idx)), idx]

    # -------------------------------------------------------------------------- save, load
    def save(self, ngram_path: Path | str, stack_path: Path | str) -> tuple[str, str]:
        """Write the n-gram level (TextClassifier format) and the rest; return both SHA-256."""
        if self.ngram is None or self.emb_coef is None or self.meta_coef is None:
            raise RuntimeError("ToneStack.save before fit")
        d1 = self.ngram.save(ngram_path)
        buf = io.BytesIO()
        config = {"format": FORMAT, "classes": self.classes, "embedder": "all-MiniLM-L6-v2",
                  "ngram_sha256": d1, "choices": self.choices}
        np.savez_compressed(buf, config=np.array(json.dumps(config)),
                            emb_coef=self.emb_coef, emb_intercept=self.emb_intercept,
                            meta_coef=self.meta_coef, meta_intercept=self.meta_intercept)
        data = buf.getvalue()
        Path(stack_path).write_bytes(data)
        return d1, hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, ngram_path: Path | str, stack_path: Path | str, *, ngram_sha256: str,
             stack_sha256: str) -> ToneStack:
        """Read the two files of :meth:`save`, checking both SHA-256 (ValueError on mismatch)."""
        data = Path(stack_path).read_bytes()
        if hashlib.sha256(data).hexdigest() != stack_sha256:
            raise ValueError(f"{stack_path}: checksum mismatch (expected {stack_sha256})")
        model = cls()
        model.ngram = TextClassifier.load(ngram_path, sha256=ngram_sha256)
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            config = json.loads(str(z["config"]))
            if config.get("format") != FORMAT or config.get("ngram_sha256") != ngram_sha256:
                raise ValueError(f"{stack_path}: not a {FORMAT} model of {ngram_path}")
            model.classes = list(config["classes"])
            model.choices = config["choices"]
            model.emb_coef, model.emb_intercept = z["emb_coef"], z["emb_intercept"]
            model.meta_coef, model.meta_intercept = z["meta_coef"], z["meta_intercept"]
        return model
