"""Train the shipped English tone stack (issue 13), ``tone_en_stack.npz``: the sixth attempt's
procedure (``bench/tone_variants.py``, preset ``sixth``, 86.05 % nested) applied to all 14,640
airline tweets.

Procedure, exactly ``tone_variants.py level0`` + ``level1 --weighted sixth`` with the whole data
set as the one training part:

1. each level-0 model of the ``sixth`` sets (``ngram``, ``emb_C3``, ``layer4_C3``, ``lr_p12_C3``,
   ``lr_p9_C3``, ``lr_p6_C3``, ``lr_p6+p8+p10_C3``; :func:`fit_level0`, the code of
   ``tone_variants.level0``) predicts every tweet out of fold
   (``StratifiedKFold(5, shuffle=True, random_state=1)``);
2. for each set of :data:`tone_variants.PRESETS` ``sixth`` and each level-1 ``C`` in 0.1/1/10,
   the confidence-weighted multinomial LR on the set's out-of-fold outputs + VADER's four scores
   is scored by a 5-fold CV (``random_state=2``); the best (set, C) (first in list order on ties);
3. the chosen set's level-0 models are refitted on all tweets, the level 1 on all the
   out-of-fold rows with the chosen C (weighted by ``airline_sentiment:confidence``).

Features come from ``tone_variants.py``'s cache (``--cache``: ``layers.npy`` MiniLM mean-pooled
states float32, ``mpnet_layers.npy`` all-mpnet-base-v2 mean-pooled states float16,
``vader.npy``), computed on the tweets after ``tone_stack.normalize``; the production path
(:mod:`growthops.leads.enrichment.tone_stack`) computes the same features. Out-of-fold outputs
are cached in ``--work`` (a crash loses one model).

Writes ``src/growthops/leads/enrichment/data/tone_en_stack.npz`` (weights only, no text) and
``tests/leads/data/tone_en_stack_check.npz`` (for ``tests/leads/test_tone_stack.py``: 40 tweet
row numbers, seed 0, their cached encoder states of the layers the stack reads and VADER
scores, and the trainer's level-0 outputs and probabilities for them; no text); prints the
SHA-256 to pin in ``growthops.leads.enrichment.tone_stack.MODEL``.

Run: ``OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/train_tone_stack.py --cache
/tmp/tone6-cache`` (``[ml]`` extra and ``vaderSentiment``). ``--latency N``: the production
per-lead cost instead (:func:`latency`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tone_stack import _ngram_fit, _ngram_scores  # noqa: E402
from tone_variants import CLASSES, PRESETS, _unit, load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src/growthops/leads/enrichment/data"
CHECK = ROOT / "tests/leads/data/tone_en_stack_check.npz"
LEVEL1_C = {"lr0.1": 0.1, "lr1": 1.0, "lr10": 10.0}


def features(name: str, cache: Path) -> np.ndarray:
    """The (n, d) float32 input of level-0 LR ``name`` (``emb_C3``, ``layer4_C3``, ``lr_SPEC_C3``),
    as ``tone_variants.level0`` builds it."""
    if name.startswith("lr_"):
        spec = name[3:].rsplit("_C", 1)[0]
        src = {"m": "layers.npy", "p": "mpnet_layers.npy"}
        return np.hstack([
            _unit(np.asarray(np.load(cache / src[p[0]], mmap_mode="r")[:, int(p[1:])],
                             dtype=np.float32))
            for p in spec.split("+")])
    layer = 6 if name.startswith("emb_") else int(name[5])
    return _unit(np.asarray(np.load(cache / "layers.npy", mmap_mode="r")[:, layer]))


def fit_level0(name: str, texts: list[str], y: np.ndarray, x: np.ndarray | None, tr: np.ndarray):
    """Fit level-0 model ``name`` on rows ``tr`` (``tone_variants.level0``'s code): the n-gram
    one-vs-rest liblinear LRs (C=3) or an unweighted multinomial LR (C from the name)."""
    from sklearn.linear_model import LogisticRegression

    if name == "ngram":
        return _ngram_fit([texts[i] for i in tr], list(y[tr]), 3.0)
    c = float(name.rsplit("_C", 1)[1])
    return LogisticRegression(C=c, max_iter=3000).fit(x[tr], y[tr])


def out0(name: str, model, texts: list[str], x: np.ndarray | None, te: np.ndarray) -> np.ndarray:
    if name == "ngram":
        return _ngram_scores(model, [texts[i] for i in te])
    return model.predict_log_proba(x[te])


def latency(data: Path, n: int) -> None:
    """Per-lead cost of ``tone.predict([text], "en")``: the stack, then the n-gram model
    (``GROWTHOPS_TONE_STACK=0``), in the same process; 5 warm-up tweets; median, 90th percentile
    and mean in ms, with the load average."""
    import torch

    from growthops.leads.enrichment import tone

    torch.set_num_threads(1)
    texts, _, _ = load(data)
    rows = np.random.default_rng(0).choice(len(texts), n + 5, replace=False)
    for label, env in (("stack", "1"), ("n-gram", "0")):
        os.environ[tone.STACK_ENV] = env
        tone.stack.cache_clear()
        t0 = time.perf_counter()
        print(f"{label}: version {tone.version('en')}, loaded in {time.perf_counter() - t0:.1f} s")
        ms = []
        for i, r in enumerate(rows):
            t0 = time.perf_counter()
            tone.predict([texts[r]], "en")
            if i >= 5:
                ms.append(1000 * (time.perf_counter() - t0))
        print(f"{label}: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, mean "
              f"{np.mean(ms):.1f} ms a lead ({n} tweets, load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tone6-cache"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/tone6-train"))
    ap.add_argument("--latency", type=int, metavar="N",
                    help="instead of training: time the production tone.predict(en), one tweet "
                         "at a time, stack (the encoder installed in GROWTHOPS_DATA_DIR) against "
                         "the n-gram model, on N random tweets (seed 0), one torch thread")
    a = ap.parse_args()
    if a.latency:
        latency(a.data, a.latency)
        return
    a.work.mkdir(parents=True, exist_ok=True)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    texts, y, conf = load(a.data)
    vader = np.load(a.cache / "vader.npy")
    sets = [s.split(",") for s in PRESETS["sixth"].split(";")]
    names = list(dict.fromkeys(n for s in sets for n in s))
    everything = np.arange(len(y))
    oof: dict[str, np.ndarray] = {}
    for name in names:
        path = a.work / f"oof_{name}.npy"
        if not path.exists():
            t0 = time.time()
            x = None if name == "ngram" else features(name, a.cache)
            o = np.zeros((len(y), 3))
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=1).split(y, y):
                o[te] = out0(name, fit_level0(name, texts, y, x, tr), texts, x, te)
            np.save(path, o)
            print(f"{name}: out-of-fold accuracy {100 * np.mean(np.array(CLASSES)[o.argmax(1)] == y):.2f} % "
                  f"({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f})", flush=True)
        oof[name] = np.load(path)
    inner = {}
    for si, s in enumerate(sets):
        x = np.hstack([oof[n] for n in s] + [vader])
        for lname, c in LEVEL1_C.items():
            lp = np.zeros((len(y), 3))
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=2).split(x, y):
                m = LogisticRegression(C=c, max_iter=3000).fit(x[tr], y[tr], sample_weight=conf[tr])
                lp[te] = np.log(np.clip(m.predict_proba(x[te]), 1e-12, None))
            inner[(si, lname)] = float(np.mean(np.array(CLASSES)[lp.argmax(1)] == y))
            print(f"set {si} {lname}: inner CV {100 * inner[(si, lname)]:.2f} %", flush=True)
    si, lname = max(inner, key=lambda k: inner[k])
    chosen = sets[si]
    print(f"chosen: set {si} {chosen} + vader, level 1 {lname} (inner CV {100 * inner[(si, lname)]:.2f} %)",
          flush=True)
    x1 = np.hstack([oof[n] for n in chosen] + [vader])
    level1 = LogisticRegression(C=LEVEL1_C[lname], max_iter=3000).fit(x1, y, sample_weight=conf)
    from growthops.leads.enrichment import tone_stack as prod

    out_path = DATA / prod.MODEL[0]
    models = {}
    for name in chosen:
        t0 = time.time()
        x = None if name == "ngram" else features(name, a.cache)
        models[name] = fit_level0(name, texts, y, x, everything)
        print(f"{name}: refitted on all tweets ({time.time() - t0:.0f} s)", flush=True)
    stack = prod.ToneStack.from_fitted(
        classes=list(CLASSES), chosen=chosen, level0=models, level1=level1,
        info={"n_train": len(y), "sets": sets, "level1_C": LEVEL1_C[lname],
              "inner_cv": {f"{s};{ln}": v for (s, ln), v in inner.items()},
              "procedure": "bench/train_tone_stack.py (tone_variants.py preset sixth)"})
    digest = stack.save(out_path)
    print(f"{out_path.name}: {out_path.stat().st_size} bytes, sha256 {digest}", flush=True)
    # check rows: the trainer's level-0 outputs and probabilities, from the cached features
    rows = np.sort(np.random.default_rng(0).choice(len(y), 40, replace=False))
    outs = {}
    for name in chosen:
        x = None if name == "ngram" else features(name, a.cache)
        outs[name] = out0(name, models[name], texts, x, rows)
    proba = level1.predict_proba(np.hstack([outs[n] for n in chosen] + [vader[rows]]))
    CHECK.parent.mkdir(parents=True, exist_ok=True)
    needs = stack.needs()
    extra = {}
    if "mpnet" in needs:
        extra["mpnet_layers"] = np.array(needs["mpnet"])
        extra["mpnet_states"] = np.load(a.cache / "mpnet_layers.npy", mmap_mode="r")[rows][
            :, needs["mpnet"]]
    if "minilm" in needs:
        extra["minilm_layers"] = np.array(needs["minilm"])
        extra["minilm_states"] = np.load(a.cache / "layers.npy", mmap_mode="r")[rows][
            :, needs["minilm"]]
    np.savez_compressed(CHECK, rows=rows, proba=proba, vader=vader[rows], **extra,
                        **{f"level0__{n}": v for n, v in outs.items()})
    loaded = prod.ToneStack.load(out_path, sha256=digest)
    d = max(float(np.abs(loaded.level0_from_states(n, [texts[i] for i in rows],
                                                    None if n == "ngram" else features(n, a.cache)[rows])
                          - outs[n]).max()) for n in chosen)
    print(f"saved model vs trainer on the 40 check rows (cached features): largest level-0 "
          f"difference {d:.2e}", flush=True)


if __name__ == "__main__":
    main()
