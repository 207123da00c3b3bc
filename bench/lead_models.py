"""Measure the leads enrichment models on real labelled data (deterministic, seed 0).

Run: ``.venv/bin/python bench/lead_models.py [--data ../shared/data] [--folds 5] [--only NAME]``
(``--quick``: 2 folds, at most 1,000 examples per data set, no CLINC150, for ``make bench``). With the
``[ml]`` extra installed, ``--embeddings`` adds all-MiniLM-L6-v2 sentence vectors to the features.

* intent: BANKING77 and CLINC150 training parts (stratified k-fold; each treated as a tenant's
  taxonomy), BANKING77 with 10 examples per intent (3 random draws, tested on the rest), French
  Wikit NLU (k-fold);
* tone: Twitter US Airline Sentiment (3 classes, k-fold; and positive/negative only), Allociné
  (train → dev); with ``--embeddings --stack``, ``airline_stack``: the stacked English tone model
  (n-grams + MiniLM + VADER, ``bench/tone_stack.py``, not shipped), nested k-fold;
* language (en/fr, py3langid): a mix of English tweets and BANKING77 queries and French
  Allociné reviews and Wikit questions (up to 2,000 each).

Prints each accuracy next to the issue's target. The baseline in the same run is the majority
class (what a model that learnt nothing scores).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.ai.langid import detect  # noqa: E402
from growthops.core.ai.text import TextClassifier, accuracy  # noqa: E402


def load(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Every data set as (texts, labels)."""
    out = {}
    with open(data / "banking77/train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out["banking77"] = ([r["text"] for r in rows], [r["category"] for r in rows])
    clinc = json.loads((data / "clinc150/data_full_train_val.json").read_text())
    out["clinc150"] = ([t for t, _ in clinc["train"]], [y for _, y in clinc["train"]])
    with open(data / "wikit_nlu_fr/training_dataset.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out["wikit_fr"] = ([r["utterance"] for r in rows], [r["intent"] for r in rows])
    with open(data / "airline_tweets_sentiment/Airline-Sentiment-2-w-AA.csv", encoding="latin-1") as f:
        rows = list(csv.DictReader(f))
    out["airline"] = ([r["text"] for r in rows], [r["airline_sentiment"] for r in rows])
    for split in ("train", "dev"):
        lines = (data / f"allocine_series_fr/{split}.tsv").read_text(encoding="utf-8").splitlines()
        pairs = [ln.split("\t", 1) for ln in lines if "\t" in ln]
        out[f"allocine_{split}"] = ([t for _, t in pairs],
                                    ["positive" if y.strip() == "1" else "negative" for y, _ in pairs])
    return out


def cv(texts: list[str], labels: list[str], folds: int, embedder, limit: int | None) -> float:
    """Mean stratified k-fold accuracy."""
    from sklearn.model_selection import StratifiedKFold

    idx = list(range(len(texts)))
    if limit and len(idx) > limit:
        idx = random.Random(0).sample(idx, limit)
    x = [texts[i] for i in idx]
    y = np.array([labels[i] for i in idx])
    accs = []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        m = TextClassifier(C=10, embedder=embedder).fit([x[i] for i in tr], list(y[tr]))
        accs.append(accuracy(m, [x[i] for i in te], list(y[te])))
    return float(np.mean(accs))


def stack_cv(texts: list[str], labels: list[str], folds: int, embedder, limit: int | None) -> str:
    """Nested k-fold accuracy of the stacked English tone model
    (``bench/tone_stack.py``'s ``ToneStack``, not shipped): every choice is made inside each
    outer training part; returns "mean % (sd, min-max; per fold)"."""
    from sklearn.model_selection import StratifiedKFold

    from tone_stack import ToneStack, normalize  # bench/tone_stack.py (experimental, not shipped)

    idx = list(range(len(texts)))
    if limit and len(idx) > limit:
        idx = random.Random(0).sample(idx, limit)
    x = [normalize(texts[i]) for i in idx]
    y = np.array([labels[i] for i in idx])
    vectors = embedder.embed(x)  # frozen encoder, no label seen: embedding once is not a leak
    accs = []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        m = ToneStack().fit([x[i] for i in tr], list(y[tr]), vectors[tr])
        pred, _ = m.predict([x[i] for i in te], vectors[te])
        accs.append(float(np.mean(np.array(pred) == y[te])))
        print(f"    fold {len(accs)}: {100 * accs[-1]:.2f} %  choices {m.choices}", flush=True)
    a = 100 * np.array(accs)
    return (f"{a.mean():.1f} % (sd {a.std(ddof=1):.1f}, {a.min():.1f}-{a.max():.1f}; "
            + ", ".join(f"{v:.1f}" for v in a) + ")")


def few_shot(texts: list[str], labels: list[str], k: int, draws: int, embedder) -> list[float]:
    """Accuracy with ``k`` training examples per label, tested on the rest, per draw."""
    by = defaultdict(list)
    for i, y in enumerate(labels):
        by[y].append(i)
    rng = random.Random(0)
    out = []
    for _ in range(draws):
        tr, te = [], []
        for ix in by.values():
            ix = ix[:]
            rng.shuffle(ix)
            tr += ix[:k]
            te += ix[k:]
        m = TextClassifier(C=10, embedder=embedder).fit([texts[i] for i in tr], [labels[i] for i in tr])
        out.append(accuracy(m, [texts[i] for i in te], [labels[i] for i in te]))
    return out


def majority(labels: list[str]) -> float:
    return Counter(labels).most_common(1)[0][1] / len(labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--embeddings", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--stack", action="store_true",
                    help="with --embeddings: also the stacked English tone model (airline_stack)")
    args = ap.parse_args()
    if not args.data.exists():
        print(f"{args.data} not found: the labelled data sets are needed (see --data)")
        return
    folds, limit = (2, 1000) if args.quick else (args.folds, None)
    embedder = None
    if args.embeddings:
        from growthops.core.ai.embeddings import MISSING_HINT, local_embedder

        embedder = local_embedder()
        if embedder is None:
            print(MISSING_HINT)
            return
    d = load(args.data)
    feats = "n-grams" + (" + MiniLM" if embedder else "")
    print(f"features: {feats}; {folds}-fold CV unless said; majority-class baseline in brackets")

    def show(name: str, acc: float | str, target: str, base: float, t0: float) -> None:
        a = acc if isinstance(acc, str) else f"{100 * acc:.1f} %"
        print(f"  {name:42s} {a:>22s}  [{100 * base:.1f} %]  target {target}  ({time.perf_counter() - t0:.0f} s)")

    runs = {
        "banking77": lambda: cv(*d["banking77"], folds, embedder, limit),
        "banking77_10shot": lambda: ", ".join(f"{100 * a:.1f}" for a in few_shot(
            *d["banking77"], 10, 1 if args.quick else 3, embedder)) + " %",
        "clinc150": lambda: cv(*d["clinc150"], folds, embedder, limit),
        "wikit_fr": lambda: cv(*d["wikit_fr"], folds, embedder, limit),
        "airline_3class": lambda: cv(*d["airline"], folds, embedder, limit),
        "airline_stack": lambda: stack_cv(*d["airline"], folds, embedder, limit),
        "airline_posneg": lambda: cv(*[list(z) for z in zip(*[(x, y) for x, y in zip(*d["airline"], strict=True)
                                                               if y != "neutral"], strict=True)],
                                     folds, embedder, limit),
        "allocine_dev": lambda: accuracy(TextClassifier(C=10, embedder=embedder).fit(*d["allocine_train"]),
                                         *d["allocine_dev"]),
    }
    targets = {"banking77": "≥ 90 %", "banking77_10shot": "≥ 80 %", "clinc150": "–",
               "wikit_fr": "–", "airline_3class": "≥ 85 %", "airline_stack": "≥ 85 %", "airline_posneg": "≥ 85 %",
               "allocine_dev": "≥ 85 %"}
    bases = {"banking77": majority(d["banking77"][1]), "banking77_10shot": 1 / 77,
             "clinc150": majority(d["clinc150"][1]), "wikit_fr": majority(d["wikit_fr"][1]),
             "airline_3class": majority(d["airline"][1]),
             "airline_stack": majority(d["airline"][1]),
             "airline_posneg": majority([y for y in d["airline"][1] if y != "neutral"]),
             "allocine_dev": majority(d["allocine_dev"][1])}
    for name, run in runs.items():
        if (args.only and args.only != name) or (args.quick and name == "clinc150"):
            continue
        if name == "airline_stack" and not (args.stack and embedder):
            continue
        t0 = time.perf_counter()
        show(name, run(), targets[name], bases[name], t0)
    if not args.only or args.only == "language":
        t0 = time.perf_counter()
        rng = random.Random(0)
        mix = [(t, "en") for t in rng.sample(d["airline"][0], 2000)]
        mix += [(t, "en") for t in rng.sample(d["banking77"][0], 2000)]
        mix += [(t, "fr") for t in rng.sample(d["allocine_train"][0], 2000)]
        mix += [(t, "fr") for t in d["wikit_fr"][0]]
        if args.quick:
            mix = rng.sample(mix, 1000)
        acc = float(np.mean([detect(t)[0] == y for t, y in mix]))
        show(f"language en/fr (py3langid, {len(mix)} texts)", acc, "≥ 99 %", 0.5, t0)


if __name__ == "__main__":
    main()
