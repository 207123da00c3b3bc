"""Train the tone models shipped in ``growthops/leads/enrichment/data/`` (deterministic).

English: all 14,640 crowd-labelled tweets of Twitter US Airline Sentiment (negative / neutral /
positive; CC BY-NC-SA 4.0). French: the 2,739 + 391 Allociné TV-series reviews (train + dev;
positive / negative; licence not stated by the authors, research data). Model: n-gram TF-IDF
logistic regression (:class:`growthops.core.ai.text.TextClassifier`, C=10). Prints each file's
SHA-256, to pin in ``growthops.leads.enrichment.tone.MODELS``.

Run: ``.venv/bin/python bench/train_tone_models.py [--data ../shared/data]``. Accuracy on held-out
data is measured by ``bench/lead_models.py`` (which trains on its own splits). The English
stack used when all-mpnet-base-v2 is installed (``tone_en_stack.npz``) is trained by
``bench/train_tone_stack.py``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from growthops.core.ai.text import TextClassifier

OUT = Path(__file__).resolve().parents[1] / "src/growthops/leads/enrichment/data"


def airline(data: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of the airline tweets (file is latin-1, see its SOURCE.md)."""
    with open(data / "airline_tweets_sentiment/Airline-Sentiment-2-w-AA.csv", encoding="latin-1") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["airline_sentiment"] for r in rows]


def allocine(data: Path, *names: str) -> tuple[list[str], list[str]]:
    """Texts and labels (positive / negative) of the Allociné TSV splits."""
    texts, labels = [], []
    for name in names:
        for line in (data / "allocine_series_fr" / name).read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                label, text = line.split("\t", 1)
                texts.append(text)
                labels.append("positive" if label.strip() == "1" else "negative")
    return texts, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for lang, (texts, labels) in (("en", airline(args.data)),
                                  ("fr", allocine(args.data, "train.tsv", "dev.tsv"))):
        model = TextClassifier(C=10).fit(texts, labels)
        digest = model.save(OUT / f"tone_{lang}.npz")
        print(f"tone_{lang}.npz: {len(texts)} examples, classes {model.classes}, sha256 {digest}")


if __name__ == "__main__":
    main()
