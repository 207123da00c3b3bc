"""The stacked English tone model (issue 13): level-0 logistic regressions on n-grams and on the
frozen states of two sentence encoders, and VADER, combined by a level-1 logistic regression.

Trained by ``bench/train_tone_stack.py`` on the 14,640 tweets of Twitter US Airline Sentiment
(CC BY-NC-SA 4.0: the trained weights inherit the non-commercial condition) with the procedure
whose nested 5-fold estimate is 86.05 % (``bench/tone_variants.py`` preset ``sixth``,
docs/leads.md); the set of level-0 models and the level-1 ``C`` it chose are recorded in the file
(``config["chosen"]``, ``config["info"]``).

Level 0, on the text after :func:`normalize` (each name is the bench's):

* ``ngram``: the hashed word 1-2 / ``char_wb`` 2-5 TF-IDF features of
  :class:`growthops.core.ai.text.NgramFeaturizer` and one-vs-rest liblinear LRs (C=3); output
  their decision scores ``(n, 3)``;
* ``emb_C3`` / ``layer{k}_C3``: a multinomial LR (C=3) on all-MiniLM-L6-v2's mean-pooled last /
  k-th layer, L2-normalised (``[ml]`` extra); output its log-probabilities;
* ``lr_p{k}[+p{j}...]_C3``: the same on all-mpnet-base-v2's mean-pooled layers (each rounded to
  float16 as in training, L2-normalised, concatenated; :mod:`growthops.core.ai.mpnet`).

Level 1: a multinomial LR on the level-0 outputs (in ``chosen`` order) and VADER's ``neg, neu,
pos, compound`` scores (Hutto & Gilbert, ICWSM 2014; ``vaderSentiment``, MIT), trained on the
level-0 outputs computed out of fold, weighted by the crowd's confidence.

Encoders run one text at a time (no padding; batch 1 is how leads arrive): about 100 ms a text
on one core for mpnet, 17 ms for MiniLM (docs/leads.md). The file stores weights only (no
text): ``.npz`` without pickle, checked against :data:`MODEL` when loaded.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent / "data"
#: Shipped file and its SHA-256, printed by ``bench/train_tone_stack.py``.
MODEL = ("tone_en_stack.npz", "8c04850e00d99d2290357fe1929bbbbf591de116c0eeea41c650fa18f6a87af7")
FORMAT = "growthops-tone-stack-1"
CLASSES = ["negative", "neutral", "positive"]

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ELONG = re.compile(r"(\w)\1{2,}")
#: Mojibake of the airline tweets file (curly quotes and ellipsis as the bytes 0x89 0xDB ..,
#: read as latin-1, see shared/data/airline_tweets_sentiment/SOURCE.md) mapped back.
_MOJIBAKE = {"\x89\xdb\x9d": '"', "\x89\xdb\xcf": '"', "\x89\xdb\xaa": "'", "\x89\xdb_": "...",
             "\x89\xdb\xd3": " - "}


def normalize(text: str) -> str:
    """Return ``text`` with HTML entities decoded, URLs as ``http``, every ``@mention`` as
    ``@user`` (no airline, brand or person name reaches the model), letters repeated 3+ times cut
    to 2 (``soooo`` -> ``soo``), the data set's quote mojibake mapped back, spaces collapsed."""
    for bad, good in _MOJIBAKE.items():
        text = text.replace(bad, good)
    text = html.unescape(text)
    text = _URL.sub(" http ", text)
    text = _MENTION.sub("@user", text)
    text = _ELONG.sub(r"\1\1", text)
    return " ".join(text.split())


_SIA: list = []


def vader_scores(texts: list[str]) -> np.ndarray:
    """Return VADER's ``neg, neu, pos, compound`` per text, float32 ``(n, 4)``.

    Raises ImportError without ``vaderSentiment`` (``[ml]`` extra).
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    if not _SIA:
        _SIA.append(SentimentIntensityAnalyzer())
    rows = [_SIA[0].polarity_scores(t) for t in texts]
    return np.array([[r["neg"], r["neu"], r["pos"], r["compound"]] for r in rows],
                    dtype=np.float32).reshape(len(texts), 4)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _log_softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def sources(name: str) -> list[tuple[str, int]]:
    """The encoder states a level-0 LR reads: ``[(encoder, layer)]``, encoder ``minilm`` or
    ``mpnet`` (``emb_C3`` -> MiniLM layer 6; ``layer4_C3`` -> 4; ``lr_p6+p8_C3`` -> mpnet 6, 8)."""
    if name.startswith("lr_"):
        spec = name[3:].rsplit("_C", 1)[0]
        return [({"m": "minilm", "p": "mpnet"}[p[0]], int(p[1:])) for p in spec.split("+")]
    if name.startswith("emb_"):
        return [("minilm", 6)]
    if name.startswith("layer"):
        return [("minilm", int(name[5]))]
    raise ValueError(f"unknown level-0 model {name}")


class ToneStack:
    """The weights of the stack: :meth:`level0_from_states`, :meth:`combine`, ``save``/``load``.

    ``chosen``: the level-0 names in level-1 column order; ``level0``: per name, its arrays
    (``ngram``: ``cols``, ``coef``, ``intercept``, ``idf_word``/``idf_char`` and their column
    indices, ``idf_unseen``, ``n_features``; an LR: ``coef``, ``intercept``); ``level1``:
    ``coef``, ``intercept``; ``info``: how it was trained.
    """

    def __init__(self, chosen: list[str], level0: dict[str, dict[str, np.ndarray]],
                 level1: dict[str, np.ndarray], classes: list[str], info: dict[str, Any]) -> None:
        self.chosen, self.level0, self.level1 = chosen, level0, level1
        self.classes, self.info = classes, info
        self._ngram: Any = None

    @classmethod
    def from_fitted(cls, *, classes: list[str], chosen: list[str], level0: dict[str, Any],
                    level1: Any, info: dict[str, Any]) -> ToneStack:
        """Build from the trainer's fitted models (``ngram``: a TextClassifier of three classes;
        others: scikit-learn LogisticRegression); checks the class order."""
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for name, m in level0.items():
            got = [str(c) for c in (m.classes if name == "ngram" else m.classes_)]
            if got != classes:
                raise ValueError(f"{name}: classes {got}, expected {classes}")
            if name == "ngram":
                n = m.featurizer.n_features
                idf_w, idf_c = m.featurizer.idf
                keep = np.flatnonzero(np.abs(m.coef).sum(axis=0) > 0)
                cols = (keep if m.cols is None else m.cols[keep]).astype(np.int32)
                seen_w = np.flatnonzero(idf_w < idf_w.max()).astype(np.int32)
                seen_c = np.flatnonzero(idf_c < idf_c.max()).astype(np.int32)
                arrays[name] = {
                    "cols": cols, "coef": m.coef[:, keep].astype(np.float32),
                    "intercept": np.asarray(m.intercept, dtype=np.float32),
                    "idf_word_cols": seen_w, "idf_word": idf_w[seen_w],
                    "idf_char_cols": seen_c, "idf_char": idf_c[seen_c],
                    "idf_unseen": np.array([idf_w.max(), idf_c.max()], dtype=np.float32),
                    "n_features": np.array(n)}
            else:
                arrays[name] = {"coef": m.coef_, "intercept": m.intercept_}
        if [str(c) for c in level1.classes_] != classes:
            raise ValueError("level 1: class order differs")
        return cls(list(chosen), arrays, {"coef": level1.coef_, "intercept": level1.intercept_},
                   list(classes), info)

    # ------------------------------------------------------------------------------- save/load
    def save(self, path: Path | str) -> str:
        """Write the ``.npz`` (no pickle) and return its SHA-256."""
        config = {"format": FORMAT, "classes": self.classes, "chosen": self.chosen,
                  "info": self.info}
        arrays: dict[str, Any] = {f"{name}__{k}": v for name, d in self.level0.items()
                                  for k, v in d.items()}
        arrays.update({f"level1__{k}": v for k, v in self.level1.items()})
        buf = io.BytesIO()
        np.savez_compressed(buf, config=np.array(json.dumps(config)), **arrays)
        data = buf.getvalue()
        Path(path).write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: Path | str, *, sha256: str | None) -> ToneStack:
        """Read :meth:`save`'s file; ValueError on a checksum mismatch or another format."""
        from growthops.core.ai.text import read_model_file

        config, arrays = read_model_file(path, sha256=sha256, fmt=FORMAT)
        level0: dict[str, dict[str, np.ndarray]] = {n: {} for n in config["chosen"]}
        level1: dict[str, np.ndarray] = {}
        for key, value in arrays.items():
            name, k = key.split("__", 1)
            (level1 if name == "level1" else level0[name])[k] = value
        return cls(config["chosen"], level0, level1, config["classes"], config["info"])

    # --------------------------------------------------------------------------------- predict
    def needs(self) -> dict[str, list[int]]:
        """The encoder layers the chosen level-0 models read: ``{"mpnet": [6, 8, ...], ...}``."""
        out: dict[str, set[int]] = {}
        for name in self.chosen:
            if name != "ngram":
                for enc, layer in sources(name):
                    out.setdefault(enc, set()).add(layer)
        return {k: sorted(v) for k, v in out.items()}

    def _ngram_model(self) -> Any:
        if self._ngram is None:
            from growthops.core.ai.text import NgramFeaturizer

            d = self.level0["ngram"]
            n = int(d["n_features"])
            f = NgramFeaturizer(n)
            idf_w = np.full(n, d["idf_unseen"][0], dtype=np.float32)
            idf_c = np.full(n, d["idf_unseen"][1], dtype=np.float32)
            idf_w[d["idf_word_cols"]] = d["idf_word"]
            idf_c[d["idf_char_cols"]] = d["idf_char"]
            f.idf = (idf_w, idf_c)
            self._ngram = f
        return self._ngram

    def level0_from_states(self, name: str, texts: list[str], x: np.ndarray | None) -> np.ndarray:
        """Level-0 output ``(n, 3)`` of ``name``: from the normalised ``texts`` (``ngram``) or
        from ``x``, its input (the L2-normalised states of :func:`sources`, concatenated)."""
        d = self.level0[name]
        if name == "ngram":
            feats = self._ngram_model().transform(texts)[:, d["cols"]]
            return np.asarray(feats @ d["coef"].T) + d["intercept"]
        assert x is not None
        return _log_softmax(x @ d["coef"].T + d["intercept"])

    def features(self, states: dict[str, np.ndarray], name: str) -> np.ndarray:
        """The input of LR ``name`` from ``states`` (encoder -> ``(n, layers, dim)`` float32, the
        mean-pooled states of every layer)."""
        return np.hstack([_unit(np.asarray(states[enc][:, layer], dtype=np.float32))
                          for enc, layer in sources(name)])

    def combine(self, outputs: list[np.ndarray], vader: np.ndarray) -> np.ndarray:
        """Level 1: the probabilities ``(n, 3)`` from the level-0 ``outputs`` (``chosen`` order)
        and VADER's scores ``(n, 4)``."""
        x = np.hstack([*outputs, vader])
        return np.exp(_log_softmax(x @ self.level1["coef"].T + self.level1["intercept"]))

    def predict_proba(self, texts: list[str], encoders: Encoders) -> np.ndarray:
        """Probabilities ``(n, 3)`` of raw ``texts`` (normalised here)."""
        norm = [normalize(t) for t in texts]
        states = encoders.states(norm, self.needs())
        outs = [self.level0_from_states(n, norm, None if n == "ngram" else self.features(states, n))
                for n in self.chosen]
        return self.combine(outs, vader_scores(norm))


class Encoders:
    """The frozen encoders' mean-pooled hidden states, one text at a time, as in training:
    MiniLM (``max_length`` 128) in float32, mpnet (its ``max_seq_length``) rounded to float16.
    ``models``: encoder name -> SentenceTransformer."""

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models
        self._lock = threading.Lock()

    def states(self, texts: list[str], needs: dict[str, list[int]]) -> dict[str, np.ndarray]:
        """``{encoder: (n, layers, dim) float32}`` for the encoders of ``needs``."""
        import torch

        out = {}
        with self._lock, torch.inference_mode():
            for enc in needs:
                st = self.models[enc]
                tok, am = st.tokenizer, st[0].auto_model
                max_len = 128 if enc == "minilm" else st.max_seq_length
                rows = []
                for t in texts:
                    b = tok([t], truncation=True, max_length=max_len, return_tensors="pt")
                    hs = am(**b, output_hidden_states=True).hidden_states
                    rows.append(np.stack([h[0].mean(0).numpy() for h in hs]))
                a = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 1, 1), np.float32)
                if enc == "mpnet":
                    a = a.astype(np.float16).astype(np.float32)
                out[enc] = a
        return out
