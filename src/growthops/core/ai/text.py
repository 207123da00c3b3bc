"""Local text classification: hashed n-gram TF-IDF features (+ optional embeddings) and a
scikit-learn logistic regression, trainable per tenant and savable without pickle.

Features (:class:`NgramFeaturizer`): word unigrams and bigrams, and character n-grams of 2 to 5
inside word boundaries (``char_wb``), each hashed into ``2**18`` columns
(:class:`sklearn.feature_extraction.text.HashingVectorizer`, no vocabulary to store), with
sublinear term frequency (``1 + log tf``) and smoothed IDF (``log((1 + n) / (1 + df)) + 1``,
scikit-learn's ``TfidfTransformer`` formula), each block L2-normalised. Character n-grams make
the model robust to typos and to French inflection; this is the classical strong baseline for
short-text classification (e.g. Joulin et al., "Bag of Tricks for Efficient Text
Classification", 2016, who compare against such n-gram linear models).

Classifier (:class:`TextClassifier`): multinomial logistic regression (``lbfgs``, L2, ``C``),
whose ``predict_proba`` is the model's probability of each class. When an
:class:`~growthops.core.ai.Embedder` is given, its L2-normalised sentence vectors (times
``embed_weight``) are appended to the n-gram features.

Saving (:meth:`TextClassifier.save`): one ``.npz`` (numpy arrays and a JSON config; loaded with
``allow_pickle=False``), storing only the feature columns with a non-zero weight, and its
SHA-256 returned so a shipped model's checksum can be pinned.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from growthops.core.ai import Embedder

N_FEATURES = 2**18
FORMAT = "growthops-textclf-1"


class NgramFeaturizer:
    """Hashed word (1-2) and character (2-5, ``char_wb``) n-grams with TF-IDF weights.

    ``fit(texts)`` learns the IDF of each block; ``transform(texts)`` returns a CSR matrix of
    shape ``(n, 2 * n_features)``. Stateless apart from the two IDF vectors.
    """

    def __init__(self, n_features: int = N_FEATURES) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.n_features = n_features
        common = {"n_features": n_features, "alternate_sign": False, "norm": None,
                  "lowercase": True, "dtype": np.float32}
        self._word = HashingVectorizer(analyzer="word", ngram_range=(1, 2),
                                       token_pattern=r"(?u)\b\w+\b", **common)
        self._char = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
        self.idf: tuple[np.ndarray, np.ndarray] | None = None

    def _counts(self, texts: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        return self._word.transform(texts), self._char.transform(texts)

    def fit(self, texts: list[str]) -> NgramFeaturizer:
        """Learn the smoothed IDF of both blocks from ``texts``; return self."""
        n = len(texts)
        idf = []
        for block in self._counts(texts):
            df = np.bincount(block.indices, minlength=self.n_features).astype(np.float64)
            idf.append((np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32))
        self.idf = (idf[0], idf[1])
        return self

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """Return the TF-IDF features of ``texts`` (CSR, float32, each block L2-normalised)."""
        from sklearn.preprocessing import normalize

        if self.idf is None:
            raise RuntimeError("NgramFeaturizer.transform before fit")
        blocks = []
        for block, idf in zip(self._counts(texts), self.idf, strict=True):
            block = block.tocsr(copy=True)
            block.data = 1.0 + np.log(block.data)
            block = block.multiply(idf).tocsr()
            blocks.append(normalize(block, norm="l2", copy=False))
        return sp.hstack(blocks, format="csr", dtype=np.float32)


def read_model_file(path: Path | str | BinaryIO, *, sha256: str | None, fmt: str
                    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a model file written as ``.npz`` (never unpickled) with a JSON ``config`` array;
    return ``(config, the other arrays by name)``.

    ``sha256``: the expected checksum of the file's bytes (hex; None skips the check); ``fmt``:
    the expected ``config["format"]``. Raises ValueError on a checksum mismatch or another
    format. Shared by :class:`TextClassifier` and
    :class:`growthops.leads.enrichment.tone_stack.ToneStack`.
    """
    data = Path(path).read_bytes() if isinstance(path, (str, Path)) else path.read()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{path}: checksum mismatch (expected {sha256})")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        config = json.loads(str(z["config"]))
        if config.get("format") != fmt:
            raise ValueError(f"{path}: not a {fmt} model")
        return config, {k: z[k] for k in z.files if k != "config"}


class TextClassifier:
    """N-gram (+ embedding) logistic regression: ``fit``, ``predict_proba``, ``save``/``load``.

    ``C``: inverse L2 strength (scikit-learn's). ``embedder``: optional; its vectors are appended
    (times ``embed_weight``). ``classes`` (after fit): the labels, in the column order of
    :meth:`predict_proba`.
    """

    def __init__(self, *, C: float = 10.0, embedder: Embedder | None = None,
                 embed_weight: float = 1.0, n_features: int = N_FEATURES,
                 max_iter: int = 2000) -> None:
        self.C = C
        self.embedder = embedder
        self.embed_weight = embed_weight
        self.max_iter = max_iter
        self.featurizer = NgramFeaturizer(n_features)
        self.classes: list[str] = []
        self.coef: np.ndarray | None = None       # (k, d) or (1, d) for two classes
        self.intercept: np.ndarray | None = None
        #: The feature columns ``coef`` covers (None: all ``dim`` columns). Training keeps only
        #: the columns some training text has: the others' weights are exactly zero under L2.
        self.cols: np.ndarray | None = None
        self.dim: int | None = None
        #: The name of the embedder whose vectors the model was trained with (None: n-grams only).
        self.embedder_name: str | None = embedder.name if embedder is not None else None

    # ----------------------------------------------------------------------------- features
    def _features(self, texts: list[str]) -> sp.csr_matrix:
        x = self.featurizer.transform(texts)
        if self.embedder is None and self.embedder_name is not None:
            raise RuntimeError(f"this model needs the embedder {self.embedder_name}")
        if self.embedder is not None:
            e = np.asarray(self.embedder.embed(texts), dtype=np.float32) * self.embed_weight
            x = sp.hstack([x, sp.csr_matrix(e)], format="csr", dtype=np.float32)
        return x

    # -------------------------------------------------------------------------------- train
    def fit(self, texts: list[str], labels: list[str]) -> TextClassifier:
        """Train on ``texts`` and their ``labels`` (at least two distinct labels); return self.

        Raises ValueError with fewer than two labels or mismatched lengths.
        """
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels):
            raise ValueError(f"texts ({len(texts)}) and labels ({len(labels)}) differ in length")
        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two distinct labels")
        self.featurizer.fit(texts)
        x = self._features(texts)
        # Only the columns some training text has: a column that is zero in every training row
        # gets a zero weight at the L2-penalised optimum (its gradient is the penalty's alone),
        # so fitting on the others gives the same model with k x (used columns) weights
        # instead of k x 2**19 (150 classes: ~60k columns instead of 524k; memory and lbfgs
        # time fall accordingly).
        cols = np.unique(x.indices).astype(np.int32)
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
        clf.fit(x[:, cols], labels)
        self.classes = [str(c) for c in clf.classes_]
        self.coef = clf.coef_.astype(np.float32)
        self.intercept = clf.intercept_.astype(np.float32)
        self.cols, self.dim = cols, int(x.shape[1])
        self.embedder_name = self.embedder.name if self.embedder is not None else None
        return self

    # ------------------------------------------------------------------------------ predict
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Return the probabilities, shape ``(n, len(classes))``, rows summing to 1."""
        if self.coef is None or self.intercept is None:
            raise RuntimeError("TextClassifier.predict_proba before fit or load")
        x = self._features(texts)
        if self.cols is not None:
            x = x[:, self.cols]
        scores = np.asarray(x @ self.coef.T) + self.intercept
        if len(self.classes) == 2:  # binary logistic regression: one column of logits
            p1 = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Return ``(labels, probability of each label)`` for ``texts``."""
        proba = self.predict_proba(texts)
        idx = proba.argmax(axis=1)
        return [self.classes[i] for i in idx], proba[np.arange(len(idx)), idx]

    # --------------------------------------------------------------------------- save, load
    def save(self, path: Path | str | BinaryIO) -> str:
        """Write the model to ``path`` (``.npz``, no pickle; a file path or a binary file object)
        and return its SHA-256 (hex).

        Only columns with a non-zero weight in some class are stored, with their IDF; the other
        columns are n-grams never seen in training (an L2-penalised weight is zero only there),
        whose IDF is the same in each block (``log(1 + n) + 1``, :class:`NgramFeaturizer`) and
        is stored once per block (``idf_unseen``): they weigh in each block's L2 norm, so a
        loaded model scores exactly as the trained one (up to the float16 weights). A model with
        an embedder records the embedder's name; :meth:`load` needs the same embedder.
        """
        if self.coef is None or self.intercept is None or self.featurizer.idf is None:
            raise RuntimeError("TextClassifier.save before fit")
        keep = np.flatnonzero(np.abs(self.coef).sum(axis=0) > 0).astype(np.int32)
        cols = keep if self.cols is None else self.cols[keep].astype(np.int32)
        dim = int(self.coef.shape[1]) if self.cols is None else int(self.dim or 0)
        config = {"format": FORMAT, "classes": self.classes, "C": self.C,
                  "n_features": self.featurizer.n_features, "dim": dim,
                  "embedder": self.embedder_name,
                  "embed_weight": self.embed_weight}
        n = self.featurizer.n_features
        idf_w, idf_c = self.featurizer.idf
        word_cols = cols[cols < n]
        char_cols = cols[(cols >= n) & (cols < 2 * n)] - n
        buf = io.BytesIO()
        np.savez_compressed(
            buf, config=np.array(json.dumps(config)), cols=cols,
            coef=self.coef[:, keep].astype(np.float16), intercept=self.intercept,
            idf_word_cols=word_cols, idf_word=idf_w[word_cols],
            idf_char_cols=char_cols, idf_char=idf_c[char_cols],
            idf_unseen=np.array([idf_w.max(), idf_c.max()], dtype=np.float32))
        data = buf.getvalue()
        if isinstance(path, (str, Path)):
            Path(path).write_bytes(data)
        else:
            path.write(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path | str | BinaryIO, *, sha256: str | None = None,
             embedder: Embedder | None = None, check_embedder: bool = True) -> TextClassifier:
        """Read a model written by :meth:`save`.

        ``sha256``: the expected checksum (hex); a mismatch raises ValueError, as does a file of
        another format or (``check_embedder``) a model needing an embedder that is not given.
        With ``check_embedder`` False the caller compares :attr:`embedder_name` itself and sets
        :attr:`embedder` before predicting.
        """
        config, z = read_model_file(path, sha256=sha256, fmt=FORMAT)
        if check_embedder and config["embedder"] and (
                embedder is None or embedder.name != config["embedder"]):
            raise ValueError(f"{path}: needs the embedder {config['embedder']}")
        ok = bool(config["embedder"]) and embedder is not None \
            and embedder.name == config["embedder"]
        model = cls(C=config["C"], embedder=embedder if ok else None,
                    embed_weight=config["embed_weight"], n_features=config["n_features"])
        model.embedder_name = config["embedder"]
        n = config["n_features"]
        # files written before idf_unseen was stored gave unseen columns an IDF of 1
        unseen = z["idf_unseen"] if "idf_unseen" in z else np.ones(2, np.float32)
        idf_w = np.full(n, unseen[0], dtype=np.float32)
        idf_c = np.full(n, unseen[1], dtype=np.float32)
        idf_w[z["idf_word_cols"]] = z["idf_word"]
        idf_c[z["idf_char_cols"]] = z["idf_char"]
        model.featurizer.idf = (idf_w, idf_c)
        model.coef = z["coef"].astype(np.float32)
        model.cols, model.dim = z["cols"].astype(np.int32), int(config["dim"])
        model.intercept = z["intercept"].astype(np.float32)
        model.classes = list(config["classes"])
        return model


def accuracy(model: Any, texts: list[str], labels: list[str]) -> float:
    """Return the fraction 0-1 of ``texts`` whose predicted label equals ``labels``."""
    predicted, _ = model.predict(texts)
    return float(np.mean([p == y for p, y in zip(predicted, labels, strict=True)]))
