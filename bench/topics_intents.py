"""Do the inbox topics recover customer intents? HDBSCAN + c-TF-IDF (growthops.inbox.ai.topics)
on messages built from BANKING77 or CLINC150 intents.

    .venv/bin/python bench/topics_intents.py [--dataset banking77|clinc150] [--intents 20]
        [--per-intent 40] [--embedder hashed-ngram-384|all-MiniLM-L6-v2] [--seed 0]

Draws ``--intents`` intents at random (seeded) and ``--per-intent`` messages of each, clusters
them as a weekly run does, and prints:

* adjusted Rand index (Hubert & Arabie 1985; ``sklearn.metrics.adjusted_rand_score``) over all
  messages (noise counted as one more cluster) and over the clustered messages only;
* purity (share of a topic's messages in its majority intent, over clustered messages), the
  noise share, the number of topics;
* label hits: share of topics whose c-TF-IDF label contains a word of its majority intent's
  name (``card_arrival`` → card, arrival);
* baseline in the same process: k-means on the same embeddings told the true number of intents
  (an oracle HDBSCAN does not get), its ARI, and the ratio HDBSCAN ÷ k-means; and the time of
  each.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def load(dataset: str) -> dict[str, list[str]]:
    """``{intent: [texts]}`` of the dataset's training part."""
    by: dict[str, list[str]] = {}
    if dataset == "banking77":
        with open(DATA / "banking77" / "train.csv", newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                by.setdefault(r["category"], []).append(r["text"])
    else:
        d = json.loads((DATA / "clinc150" / "data_full_train_val.json").read_text())
        for text, intent in d["train"]:
            by.setdefault(intent, []).append(text)
    return by


def purity(y: list[str], labels: np.ndarray) -> float:
    """Share of clustered messages in their topic's majority intent."""
    m = labels >= 0
    if not m.any():
        return 0.0
    ys = np.asarray(y)
    return sum(Counter(ys[labels == c]).most_common(1)[0][1]
               for c in set(labels[m].tolist())) / int(m.sum())


def main() -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from growthops.core.ai.embeddings import embedder_by_name
    from growthops.inbox.ai import topics

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=("banking77", "clinc150"), default="banking77")
    ap.add_argument("--intents", type=int, default=20)
    ap.add_argument("--per-intent", type=int, default=40)
    ap.add_argument("--embedder", default="hashed-ngram-384")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    by = load(a.dataset)
    rng = random.Random(a.seed)
    pick = rng.sample(sorted(by), min(a.intents, len(by)))
    texts, y = [], []
    for intent in pick:
        for t in rng.sample(by[intent], min(a.per_intent, len(by[intent]))):
            texts.append(t)
            y.append(intent)
    emb = embedder_by_name(a.embedder)
    t0 = time.perf_counter()
    x = np.asarray(emb.embed(texts))
    t_embed = time.perf_counter() - t0

    t0 = time.perf_counter()
    labels, _p = topics.cluster(x)
    terms = topics.ctfidf(texts, labels)
    t_hdb = time.perf_counter() - t0
    t0 = time.perf_counter()
    km = KMeans(len(pick), n_init=4, random_state=a.seed).fit_predict(x)
    t_km = time.perf_counter() - t0

    m = labels >= 0
    ys = np.asarray(y)
    ari_all = adjusted_rand_score(y, labels)
    ari_in = adjusted_rand_score(ys[m], labels[m]) if m.any() else 0.0
    ari_km = adjusted_rand_score(y, km)
    hits = 0
    for c, words in terms.items():
        major = Counter(ys[labels == c]).most_common(1)[0][0]
        name = set(major.lower().split("_"))
        hits += any(set(w.split()) & name for w in words)
    k = len(terms)
    print(f"dataset {a.dataset}: {len(pick)} intents x {a.per_intent} = {len(texts)} messages; "
          f"embedder {getattr(emb, 'name', a.embedder)}; min_cluster_size "
          f"{topics.min_cluster_size(len(texts))}")
    print(f"HDBSCAN: {k} topics, noise {100 * (1 - m.mean()):.1f} %, ARI all {ari_all:.3f}, "
          f"ARI clustered {ari_in:.3f}, purity {purity(y, labels):.3f}, "
          f"label hits {hits}/{k}, {t_hdb:.2f} s")
    print(f"k-means told k={len(pick)} (oracle baseline): ARI {ari_km:.3f}, {t_km:.2f} s; "
          f"ratio HDBSCAN clustered ARI / k-means ARI {ari_in / ari_km if ari_km else 0:.2f}; "
          f"embedding {t_embed:.2f} s")
    for c in sorted(terms, key=lambda c: -(labels == c).sum())[:8]:
        major, n = Counter(ys[labels == c]).most_common(1)[0]
        print(f"  topic {c}: {' · '.join(terms[c]) or '–'} ({(labels == c).sum()} msgs, "
              f"{n} {major})")


if __name__ == "__main__":
    main()
