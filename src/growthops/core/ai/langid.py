"""English / French identification of short texts with ``py3langid``.

``py3langid`` (BSD-3-Clause) is a maintained fork of langid.py (Lui & Baldwin, "langid.py: An
Off-the-shelf Language Identification Tool", ACL 2012); its naive Bayes model over byte n-grams
ships inside the wheel, nothing is downloaded. The identifier is restricted to the languages
asked for (``set_languages``), which is what a bilingual product needs: the question is "English
or French?", not "which of 97 languages?". Measured in ``bench/lead_models.py``.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

LANGS = ("en", "fr")
_lock = threading.Lock()


@cache
def _identifier(langs: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(langs))
    return ident


def detect(text: str, langs: tuple[str, ...] = LANGS) -> tuple[str, float]:
    """Return ``(language, probability 0-1)`` of ``text`` among ``langs`` (default en, fr).

    An empty text answers ``(langs[0], 1/len(langs))``. Thread-safe.
    """
    if not text or not text.strip():
        return langs[0], 1.0 / len(langs)
    with _lock:
        lang, prob = _identifier(tuple(langs)).classify(text)
    return str(lang), float(prob)
