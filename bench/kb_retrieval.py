"""Retrieval and answer/escalate calibration of the inbox knowledge base on deepset's COVID-19
FAQ (real FAQ, annotator-written paraphrases; ``../shared/data/deepset_covid_faq``).

Run: ``.venv/bin/python bench/kb_retrieval.py [--data ../shared/data] [--embedder hashed|minilm|both]``

1. A fresh embedded database; per embedder, one tenant whose FAQ holds the 213 entries
   (question + answer), through :func:`growthops.inbox.ai.kb.add_faq` (the product's path).
2. Retrieval: the 244 ``similar = 1`` paraphrases (``question_2``) as queries, the FAQ whose
   question equals ``question_1`` as the relevant one; recall@1, recall@5, MRR@10 for full-text
   alone (BM25), vector alone and hybrid (:func:`growthops.inbox.ai.search.fusion_for`)
   — the baselines are the two branches in the same process — on all queries and on each
   half: **A** (the FAQ entries whose question's md5 is even: where the fusion's weights and k
   were chosen) and **B** (the rest: held out). ``--select`` reruns that choice on half A
   (convex α; weighted RRF ``w_ft`` × ``k``; by MRR@10) through the product's search and
   reports it on B.
   Hybrid p50/p95 latency per query.
3. Answer/escalate: the 244 paraphrases (right when the first hit is the relevant FAQ) and the
   same 244 asked with their FAQ entry held out (disabled in a rolled-back savepoint: nothing in
   the knowledge base answers them, replying is wrong). The ``similar = 0`` questions are not
   used as negatives: they are paraphrases of *other* FAQ entries, which a reply may rightly use;
   the bench reports how many are answered and how many with the pair's (wrong) FAQ. The
   calibration of
   :mod:`growthops.inbox.ai.calibrate` (5-fold out-of-fold probabilities) draws the
   precision-coverage curve and picks the threshold for 95 % precision; the baseline is the raw
   best cosine used as the score (what a fixed similarity threshold does).
4. Ingestion: the 213 answers as 213 Markdown documents through the indexing job's function:
   chunks per second and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.inbox.ai import calibrate, config, kb  # noqa: E402
from growthops.inbox.ai.evaluate import rank_of, retrieval_metrics  # noqa: E402
from growthops.inbox.ai.search import Fusion, fusion_for, search  # noqa: E402
from growthops.settings import Settings  # noqa: E402

EMBEDDERS = {"hashed": "hashed-ngram-384", "minilm": "all-MiniLM-L6-v2"}


def load(data: Path) -> tuple[list[dict[str, str]], list[tuple[str, str, int]]]:
    """The FAQ rows and the (question_1, question_2, similar) pairs."""
    d = data / "deepset_covid_faq"
    with open(d / "faq_covidbert.csv", encoding="utf-8") as f:
        faq = [{"question": r["question"].strip(), "answer": r["answer"].strip()}
               for r in csv.DictReader(f) if r["question"].strip() and r["answer"].strip()]
    with open(d / "eval_question_similarity_en.csv", encoding="utf-8") as f:
        pairs = [(r["question_1"].strip(), r["question_2"].strip(), int(r["similar"]))
                 for r in csv.DictReader(f)]
    return faq, pairs


def in_half_a(question: str) -> bool:
    """Half A of the split: the FAQ entries whose question's md5 is even."""
    return int(hashlib.md5(question.encode()).hexdigest(), 16) % 2 == 0


def select_fusion(conn: object, tid: str, emb: object, train: list[tuple[str, str]],
                  test: list[tuple[str, str]]) -> None:
    """Choose the fusion on ``train`` by MRR@10 (convex α; weighted RRF w_ft × k with
    w_vec = 1) and report the choice on ``test``."""
    def metrics(rows: list[tuple[str, str]], fu: Fusion) -> dict[str, float]:
        return retrieval_metrics([rank_of([h.title for h in search(
            conn, tenant_id=tid, query=q2, limit=10, embedder=emb, fusion=fu)], q1)
            for q1, q2 in rows])
    grids = {"convex": [Fusion(alpha=a) for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)],
             "rrf": [Fusion(method="rrf", w_ft=w, k=k)
                     for w, k in itertools.product([0.25, 0.5, 0.75, 1.0], [5, 10, 20, 60])]}
    for method, grid in grids.items():
        scores = [(fu, metrics(train, fu)) for fu in grid]
        best, sc = max(scores, key=lambda x: (x[1]["mrr@10"], x[1]["recall@1"]))
        held = metrics(test, best)
        what = f"alpha {best.alpha}" if method == "convex" else f"w_ft {best.w_ft}, k {best.k}"
        print(f"  --select {method}: on half A the best by MRR@10 is {what}: A recall@1 "
              f"{sc['recall@1']:.3f} MRR@10 {sc['mrr@10']:.3f}; held-out B recall@1 "
              f"{held['recall@1']:.3f} recall@5 {held['recall@5']:.3f} MRR@10 "
              f"{held['mrr@10']:.3f}")
        for fu, m in scores:
            what = f"alpha {fu.alpha}" if method == "convex" else f"w_ft {fu.w_ft}, k {fu.k}"
            print(f"    {what:<16} A recall@1 {m['recall@1']:.3f} MRR@10 {m['mrr@10']:.3f}")


def run(db: Database, name: str, model: str, faq: list[dict[str, str]],
        pairs: list[tuple[str, str, int]], select: bool = False, ingestion: bool = True) -> None:
    t = create_tenant(db, TenantIn.model_validate({"client_key": f"covid-{name}",
                                                   "client_name": "COVID FAQ"}, strict=False))
    tid = t.tenant_id
    t0 = time.perf_counter()
    with db.tenant_tx(tid) as conn:
        config.update_settings(conn, tenant_id=tid, embedding_model=model)
        kb.add_faq(conn, tenant_id=tid, entries=[{**e, "lang": "en"} for e in faq])
    print(f"\n== embedder {model}: {len(faq)} FAQ entries indexed in "
          f"{time.perf_counter() - t0:.1f} s")
    pos = [(q1, q2) for q1, q2, s in pairs if s == 1]
    neg = [(q1, q2) for q1, q2, s in pairs if s == 0]
    ranks: dict[str, list[int | None]] = {m: [] for m in ("fulltext", "vector", "hybrid")}
    lat: list[float] = []
    feats, ys, cos1 = [], [], []
    with db.tenant_tx(tid) as conn:
        emb = config.tenant_embedder(conn, tenant_id=tid)
        for q1, q2 in pos:
            for m in ranks:
                s0 = time.perf_counter()
                hits = search(conn, tenant_id=tid, query=q2, mode=m, limit=10, embedder=emb)
                if m == "hybrid":
                    lat.append((time.perf_counter() - s0) * 1000)
                    feats.append(calibrate.features(q2, hits))
                    ys.append(int(bool(hits) and hits[0].title == q1))
                    cos1.append(feats[-1][0])
                ranks[m].append(rank_of([h.title for h in hits], q1))
        for q1, q2 in pos:  # the same message when its FAQ is not in the knowledge base
            conn.execute("savepoint held_out")
            conn.execute("update inbox.faq_qa set enabled = false where tenant_id = %s "
                         "and question = %s", [tid, q1])
            hits = search(conn, tenant_id=tid, query=q2, limit=10, embedder=emb)
            conn.execute("rollback to savepoint held_out")
            feats.append(calibrate.features(q2, hits))
            ys.append(0)
            cos1.append(feats[-1][0])
        neg_feats, neg_wrong = [], []
        for q1, q2 in neg:
            hits = search(conn, tenant_id=tid, query=q2, limit=10, embedder=emb)
            neg_feats.append(calibrate.features(q2, hits))
            neg_wrong.append(bool(hits) and hits[0].title == q1)
    print(f"Retrieval, {len(pos)} paraphrases (relevant = the FAQ of question_1); fusion "
          f"{fusion_for(model)}:")
    half_a = [i for i, (q1, _q2) in enumerate(pos) if in_half_a(q1)]
    parts = {"all": list(range(len(pos))), "A (chosen on)": half_a,
             "B (held out)": [i for i in range(len(pos)) if i not in set(half_a)]}
    print(f"  {'part':<13} {'n':>4} {'branch':<10} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>8}")
    for part, idx in parts.items():
        res = {m: retrieval_metrics([r[i] for i in idx]) for m, r in ranks.items()}
        for m, r in res.items():
            print(f"  {part:<13} {len(idx):>4} {m:<10} {r['recall@1']:>9.3f} {r['recall@5']:>9.3f}"
                  f" {r['mrr@10']:>8.3f}")
        best_single = max(res["fulltext"]["recall@1"], res["vector"]["recall@1"])
        print(f"  {part:<13} hybrid recall@1 / best single branch = "
              f"{res['hybrid']['recall@1'] / best_single:.3f} (target > 1)")
    if select:
        with db.tenant_tx(tid) as conn:
            select_fusion(conn, tid, emb, [pos[i] for i in half_a],
                          [pos[i] for i in parts["B (held out)"]])
    print(f"  hybrid latency per query: p50 {np.percentile(lat, 50):.1f} ms, "
          f"p95 {np.percentile(lat, 95):.1f} ms")
    x, y = np.asarray(feats), np.asarray(ys)
    cal = calibrate.fit(x, y, target=0.95)
    base_th, base_p, base_c = calibrate.choose_threshold(np.asarray(cos1), y, 0.95)
    print(f"Answer/escalate, {len(y)} messages: the {len(pos)} paraphrases ({y.sum()} answered "
          f"right by the first hit) and the same {len(pos)} with their FAQ held out (must escalate):")
    print(f"  calibrated (out-of-fold): threshold {cal.threshold}, precision "
          f"{cal.precision}, coverage {cal.coverage:.3f}")
    print(f"  baseline raw cosine:      threshold {base_th}, precision {base_p}, "
          f"coverage {base_c:.3f}")
    print("  curve (coverage → precision):", ", ".join(
        f"{p['coverage']:.2f}→{p['precision']:.2f}" for p in cal.curve[::max(1, len(cal.curve) // 10)]))
    if cal.threshold is not None:
        answered = cal.proba(np.asarray(neg_feats)) >= cal.threshold
        print(f"  the {len(neg)} similar = 0 questions (paraphrases of other FAQ entries): "
              f"{answered.mean():.3f} answered at the threshold, of which "
              f"{np.asarray(neg_wrong)[answered].sum()} with the pair's question_1 (a wrong match)")
    if not ingestion:
        return
    # 4. ingestion of documents through the job's function
    docs = []
    with db.tenant_tx(tid) as conn:
        for i, e in enumerate(faq):
            docs.append(kb.add_document(conn, tenant_id=tid, title=e["question"][:300],
                                        filename=f"faq-{i}.md",
                                        data=f"# {e['question']}\n\n{e['answer']}".encode(),
                                        lang="en")["document_id"])
    t0 = time.perf_counter()
    chunks = sum(kb.index_document(db, tenant_id=tid, document_id=d)["chunks"] for d in docs)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Ingestion: {len(docs)} documents, {chunks} chunks in {dt:.1f} s = "
          f"{chunks / dt:.0f} chunks/s; peak RSS of the process {rss:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
                    / "data")
    ap.add_argument("--embedder", choices=["hashed", "minilm", "both"], default="both")
    ap.add_argument("--select", action="store_true",
                    help="rerun the choice of the fusion's (w_ft, k) on half A")
    ap.add_argument("--skip-ingestion", action="store_true")
    args = ap.parse_args()
    faq, pairs = load(args.data)
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-kb-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_kb",
                           embedded_cleanup="stop"))
    migrate(db)
    names = ["hashed", "minilm"] if args.embedder == "both" else [args.embedder]
    from growthops.core.ai.embeddings import local_embedder

    for n in names:
        if n == "minilm" and local_embedder() is None:
            print("\n== all-MiniLM-L6-v2 skipped: the [ml] extra is not installed")
            continue
        run(db, n, EMBEDDERS[n], faq, pairs, select=args.select,
            ingestion=not args.skip_ingestion)
    db.close()


if __name__ == "__main__":
    main()
