"""Triage (answer | escalate) on intent datasets through the product's own triage: in scope =
"the knowledge base can answer", out of scope = "escalate".

Run: ``.venv/bin/python bench/kb_triage.py [--data ../shared/data] [--embedder minilm|hashed]
[--only clinc150,banking77,wikit_nlu_fr] [--quick] [--variants retrieval,classifier]``

Each split is decided twice on the same knowledge base: ``retrieval`` (the hybrid search's first
hit, its evidence calibrated) and ``classifier`` (with the tenant's answer classifier trained on
the knowledge base's utterances, :mod:`growthops.inbox.ai.answer_model`: its answer replied
from, its probability one more calibration feature). The calibration set is never trained on.

For each dataset, a tenant's knowledge base holds the training utterances as FAQ entries
(question = utterance, answer = its intent), through :func:`growthops.inbox.ai.kb.add_faq`. A
message is decided by :func:`growthops.inbox.ai.policy.decide` (the live policy: ignore rules,
escalation cues, hybrid search, calibrated probability against the threshold); a **respond** is
right when the cited entry's intent is the message's intent. The calibration is
:func:`growthops.inbox.ai.calibrate.fit` on a calibration set kept out of the knowledge base
(in-scope utterances: label 1 when the first hit has the right intent; out-of-scope: 0), with
the product's operating threshold: the largest coverage at the target precision (95 %).

Figures (Larson et al. 2019's definitions): **in-scope accuracy** = in-scope messages answered
with the right intent ÷ in-scope messages (an escalated in-scope message counts as wrong);
**out-of-scope recall** = out-of-scope messages escalated ÷ out-of-scope messages. Target on
CLINC150 validation: OOS recall ≥ 60 % with in-scope accuracy ≥ 95 % (BERT: 96.2 / 52.3 on the
test split). The baseline in the same process: the retrieval alone (first hit's intent, never
escalating): its accuracy bounds the in-scope accuracy any threshold can reach. The trade-off
curve on the evaluation part is printed too (for reading only: the operating threshold is
chosen on the calibration part).

* ``clinc150``: knowledge base = ``train`` minus 10 utterances per intent (these 1,500 + the
  100 ``oos_train`` are the calibration set); evaluated on ``val`` (3,000) + ``oos_val`` (100).
* ``banking77`` (no out-of-scope class; its training part only): cross-validated over intents:
  fold f holds a quarter of the 77 intents out of the knowledge base (out of scope); of the
  rest, 80 % of the utterances are the knowledge base, 10 % calibration, 10 % evaluation; the
  held-out intents' utterances are split half calibration, half evaluation. 4 folds (each
  intent out of scope once), 2 with ``--quick``.
* ``wikit_nlu_fr`` (French, 22 intents, 15 utterances each): the same protocol, 4 folds.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from growthops.core.ai.embeddings import CachedEmbedder  # noqa: E402
from growthops.core.db import Database  # noqa: E402
from growthops.core.migrate import migrate  # noqa: E402
from growthops.core.tenants.models import TenantIn  # noqa: E402
from growthops.core.tenants.service import create_tenant  # noqa: E402
from growthops.inbox.ai import answer_model, calibrate, config, kb, policy  # noqa: E402
from growthops.inbox.ai.search import search  # noqa: E402
from growthops.settings import Settings  # noqa: E402

EMBEDDERS = {"hashed": "hashed-ngram-384", "minilm": "all-MiniLM-L6-v2"}
OOS = "oos"
Item = tuple[str, str]  # (text, intent or "oos")


def load_clinc(data: Path) -> tuple[list[Item], list[Item], list[Item]]:
    """(knowledge base, calibration, evaluation) of CLINC150 (see the module)."""
    d = json.loads((data / "clinc150" / "data_full_train_val.json").read_text())
    by: dict[str, list[str]] = {}
    for text, intent in d["train"]:
        by.setdefault(intent, []).append(text)
    kb_items, cal = [], []
    for intent, texts in sorted(by.items()):
        cal += [(t, intent) for t in texts[:10]]
        kb_items += [(t, intent) for t in texts[10:]]
    cal += [(t, OOS) for t, _ in d["oos_train"]]
    ev = [(t, i) for t, i in d["val"]] + [(t, OOS) for t, _ in d["oos_val"]]
    return kb_items, cal, ev


def intent_folds(rows: list[Item], folds: int, seed: int = 0
                 ) -> list[tuple[list[Item], list[Item], list[Item]]]:
    """The cross-validation over intents of the module (banking77, wikit_nlu_fr)."""
    rng = random.Random(seed)
    intents = sorted({i for _t, i in rows})
    rng.shuffle(intents)
    out = []
    for f in range(folds):
        held = set(intents[f::4])
        kb_items, cal, ev = [], [], []
        by: dict[str, list[str]] = {}
        for t, i in rows:
            by.setdefault(i, []).append(t)
        for i, texts in sorted(by.items()):
            texts = texts[:]
            rng.shuffle(texts)
            if i in held:
                h = len(texts) // 2
                cal += [(t, OOS) for t in texts[:h]]
                ev += [(t, OOS) for t in texts[h:]]
            else:
                n = len(texts)
                a, b = int(n * 0.8), int(n * 0.9)
                kb_items += [(t, i) for t in texts[:a]]
                cal += [(t, i) for t in texts[a:b]]
                ev += [(t, i) for t in texts[b:]]
        out.append((kb_items, cal, ev))
    return out


def load_csv(path: Path, text: str, label: str) -> list[Item]:
    with open(path, encoding="utf-8") as f:
        return [(r[text].strip(), r[label].strip()) for r in csv.DictReader(f) if r[text].strip()]


def run_split(db: Database, key: str, emb: CachedEmbedder, lang: str, kb_items: list[Item],
              cal: list[Item], ev: list[Item], variants: tuple[str, ...] = ("retrieval", "classifier")
              ) -> dict[str, dict[str, Any]]:
    """Index, calibrate, decide; return the figures of one split for each variant:
    ``retrieval`` (hybrid search alone) and ``classifier`` (the tenant's answer classifier,
    :mod:`growthops.inbox.ai.answer_model`, trained on the knowledge base's utterances through
    :func:`~growthops.inbox.ai.answer_model.train`), on the same knowledge base."""
    t = create_tenant(db, TenantIn.model_validate({"client_key": key, "client_name": key},
                                                  strict=False))
    tid = t.tenant_id
    emb.warm([x for x, _ in kb_items + cal + ev])
    out: dict[str, dict[str, Any]] = {}
    with db.tenant_tx(tid) as conn:
        config.update_settings(conn, tenant_id=tid, embedding_model=emb.name,
                               ai_enabled_for_conversations=True)
        kb.add_faq(conn, tenant_id=tid, entries=[{"question": x, "answer": i, "category": i,
                                                  "lang": lang} for x, i in kb_items])
        intent_of = {r["question"]: r["answer"] for r in conn.execute(
            "select question, answer from inbox.faq_qa where tenant_id = %s", [tid])}
        found = {text: search(conn, tenant_id=tid, query=text, limit=policy.HITS, embedder=emb)
                 for text, _ in cal}
        for variant in variants:
            model, train_s = None, 0.0
            if variant == "classifier":
                trained = answer_model.train(conn, tenant_id=tid)
                train_s = float(trained.get("seconds") or 0.0)
                model = answer_model.load(conn, tenant_id=tid, embedder=emb)
            feats, ys = [], []
            for text, intent in cal:
                hits, route = answer_model.route(conn, model, tenant_id=tid, text=text,
                                                 hits=found[text])
                feats.append(calibrate.features(text, found[text], route))
                ys.append(int(intent != OOS and bool(hits) and intent_of.get(hits[0].title) == intent))
            cal_fit = calibrate.fit(np.asarray(feats), np.asarray(ys), target=0.95)
            ctx = policy.load_context(conn, tenant_id=tid, llm=None)
            ctx.embedder, ctx.calibration, ctx.answer_model = emb, cal_fit, model
            rows = []
            t0 = time.perf_counter()
            for text, intent in ev:
                d = policy.decide(conn, tenant_id=tid, text=text, message_type="text",
                                  platform="whatsapp", ctx=ctx)
                hits = d.evidence.get("hits") or []
                top = intent_of.get(hits[0]["title"]) if hits else None
                p = d.confidence if d.confidence is not None else -1.0
                rows.append((intent, d.decision, d.matched_rule, top, p))
            dt = (time.perf_counter() - t0) / max(1, len(ev)) * 1000
            ins = [r for r in rows if r[0] != OOS]
            oos = [r for r in rows if r[0] == OOS]
            out[variant] = {
                "rows": rows, "cal": cal_fit, "ms": dt, "train_s": train_s,
                "in_acc": sum(r[1] == "respond" and r[3] == r[0] for r in ins) / max(1, len(ins)),
                "oos_recall": sum(r[1] != "respond" for r in oos) / max(1, len(oos)),
                "top1": sum(r[3] == r[0] for r in ins) / max(1, len(ins)),
                "rules": Counter(r[2] for r in rows), "n_in": len(ins), "n_oos": len(oos)}
    return out


def tradeoff(results: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(threshold, in-scope accuracy, OOS recall) on the evaluation parts pooled, over the
    probability; messages escalated by a rule stay escalated."""
    rows = [r for res in results for r in res["rows"]]
    out = []
    for th in np.linspace(0.0, 1.0, 41):
        ins = [r for r in rows if r[0] != OOS]
        oos = [r for r in rows if r[0] == OOS]
        kb_rows = ("knowledge_base", "low_confidence")
        acc = sum(r[2] in kb_rows and r[4] >= th and r[3] == r[0] for r in ins) / len(ins)
        rec = sum(not (r[2] in kb_rows and r[4] >= th) for r in oos) / len(oos)
        out.append((float(th), acc, rec))
    return out


def report(name: str, results: list[dict[str, Any]]) -> None:
    n_in = sum(r["n_in"] for r in results)
    n_oos = sum(r["n_oos"] for r in results)
    acc = sum(r["in_acc"] * r["n_in"] for r in results) / n_in
    rec = sum(r["oos_recall"] * r["n_oos"] for r in results) / n_oos
    top1 = sum(r["top1"] * r["n_in"] for r in results) / n_in
    rules: Counter[str] = Counter()
    for r in results:
        rules.update(r["rules"])
    print(f"  {name}: {n_in} in-scope + {n_oos} out-of-scope evaluation messages, "
          f"{len(results)} split(s); {np.mean([r['ms'] for r in results]):.1f} ms per decision"
          + (f"; answer classifier trained in {sum(r['train_s'] for r in results):.0f} s"
             if any(r["train_s"] for r in results) else ""))
    for i, r in enumerate(results):
        c = r["cal"]
        print(f"    split {i + 1}: threshold {c.threshold} (calibration precision {c.precision}, "
              f"coverage {c.coverage:.3f}, {c.n} labels) → in-scope accuracy {r['in_acc']:.3f},"
              f" OOS recall {r['oos_recall']:.3f}")
    print(f"    AT THE OPERATING THRESHOLD: in-scope accuracy {acc:.3f}, out-of-scope recall "
          f"{rec:.3f} (target ≥ 0.95 and ≥ 0.60)")
    print(f"    ceiling, first answer's intent, never escalating: in-scope "
          f"accuracy {top1:.3f}, OOS recall 0.000")
    print(f"    decisions by rule: {dict(rules)}")
    curve = tradeoff(results)
    print("    trade-off on the evaluation part (threshold: in-scope acc / OOS recall): " + ", ".join(
        f"{th:.2f}: {a:.3f}/{r:.3f}" for th, a, r in curve[::4]))
    ok = [(a, r) for _th, a, r in curve if a >= 0.95]
    print("    best OOS recall with in-scope accuracy ≥ 0.95 on the evaluation part: "
          + (f"{max(r for _a, r in ok):.3f}" if ok else "none (retrieval accuracy < 0.95)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
                    / "data")
    ap.add_argument("--embedder", choices=list(EMBEDDERS), default="minilm")
    ap.add_argument("--only", default="clinc150,banking77,wikit_nlu_fr")
    ap.add_argument("--quick", action="store_true", help="2 folds instead of 4")
    ap.add_argument("--variants", default="retrieval,classifier",
                    help="retrieval (hybrid search alone) and/or classifier (with the tenant's "
                         "answer classifier), on the same knowledge base")
    ap.add_argument("--embed-cache", type=Path, default=None,
                    help="an .npz of the embedder's vectors, read at the start and written at "
                         "the end (MiniLM takes ~10 minutes for CLINC150's texts on 2 cores)")
    args = ap.parse_args()
    from growthops.core.ai.embeddings import embedder_by_name

    emb = CachedEmbedder(embedder_by_name(EMBEDDERS[args.embedder]))
    if args.embed_cache:
        emb.read(args.embed_cache)
    # every step embeds through the tenant's embedder: the same model, its vectors cached
    kb.tenant_embedder = config.tenant_embedder = lambda conn, tenant_id: emb  # type: ignore[assignment]
    data_dir = Path(tempfile.mkdtemp(prefix="growthops-bench-triage-"))
    db = Database(Settings(data_dir=data_dir, database_name="growthops_bench_triage",
                           embedded_cleanup="stop"))
    migrate(db)
    folds = 2 if args.quick else 4
    print(f"embedder {emb.name}")
    for name in args.only.split(","):
        t0 = time.perf_counter()
        variants = tuple(v for v in args.variants.split(",") if v)
        if name == "clinc150":
            splits = [run_split(db, "clinc", emb, "en", *load_clinc(args.data), variants)]
        elif name == "banking77":
            rows = load_csv(args.data / "banking77" / "train.csv", "text", "category")
            splits = [run_split(db, f"banking-{f}", emb, "en", *s, variants)
                      for f, s in enumerate(intent_folds(rows, folds))]
        elif name == "wikit_nlu_fr":
            rows = load_csv(args.data / "wikit_nlu_fr" / "training_dataset.csv", "utterance",
                            "intent")
            splits = [run_split(db, f"wikit-{f}", emb, "fr", *s, variants)
                      for f, s in enumerate(intent_folds(rows, folds))]
        else:
            raise SystemExit(f"--only: unknown dataset {name!r}")
        for v in variants:
            report(f"{name} [{v}]", [sp[v] for sp in splits])
        print(f"    ({time.perf_counter() - t0:.0f} s)")
        if args.embed_cache:
            emb.write(args.embed_cache)
    db.close()


if __name__ == "__main__":
    main()
