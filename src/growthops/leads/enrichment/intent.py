"""The tenant's intent taxonomy, its classifier, and the calibration of its confidence.

Taxonomy: ``leads.intent_translations`` (intent slug, English and French names), seeded on first
use from ``data/default_intents.json`` (8 intents with 16 examples each, half English, half
French), editable (``growthops leads intents ...``). Examples: ``leads.intent_examples`` — the
defaults, imported ones, and every correction a person makes on a lead.

Classifier: :class:`growthops.core.ai.text.TextClassifier` trained on the tenant's examples
(n-grams, plus MiniLM embeddings when the ``[ml]`` extra is installed), cached in process and
retrained when the examples change (their count and largest id).

Confidence: the classifier's probability of the intent it chose, then calibrated on what people
later did (Platt scaling: a logistic regression of "the intent was right" on the logit of the
raw probability; Platt, "Probabilistic Outputs for Support Vector Machines", 1999) once the
tenant has :data:`MIN_CALIBRATION` predictions whose intent a person confirmed or corrected
(``leads.feedback_tracking.intent_correct``). Until then the raw probability is used.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

from growthops.core.ai.embeddings import local_embedder
from growthops.core.ai.text import TextClassifier
from growthops.core.errors import InvalidInput, NotFound

DEFAULTS = Path(__file__).parent / "data" / "default_intents.json"
MIN_CALIBRATION = 30
_CACHE_SIZE = 32
_models: OrderedDict[tuple[str, int, int, bool], TextClassifier] = OrderedDict()
_calib: dict[tuple[str, int], tuple[float, float] | None] = {}
_lock = threading.Lock()


def default_taxonomy() -> list[dict[str, Any]]:
    """Return the default intents (slug, en, fr, category, examples)."""
    return json.loads(DEFAULTS.read_text(encoding="utf-8"))["intents"]


def ensure_taxonomy(conn: Any, *, tenant_id: UUID | str) -> int:
    """Seed the default taxonomy and examples when the tenant has no intent yet.

    Returns the number of intents created (0 when the tenant already has a taxonomy).
    """
    if conn.execute("select 1 from leads.intent_translations where tenant_id = %s limit 1",
                    [str(tenant_id)]).fetchone():
        return 0
    items = default_taxonomy()
    conn.execute(
        """insert into leads.intent_translations (tenant_id, intent, intent_en, intent_fr, category)
           select %s, x->>'intent', x->>'en', x->>'fr', x->>'category'
           from jsonb_array_elements(%s::jsonb) x on conflict do nothing""",
        [str(tenant_id), json.dumps(items)])
    examples = [{"intent": i["intent"], "text": t} for i in items for t in i["examples"]]
    conn.execute(
        """insert into leads.intent_examples (tenant_id, intent, text, source)
           select %s, x->>'intent', x->>'text', 'default'
           from jsonb_array_elements(%s::jsonb) x""",
        [str(tenant_id), json.dumps(examples)])
    return len(items)


def taxonomy(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's intents with names and example counts, ordered by slug."""
    return conn.execute(
        """select t.intent, t.intent_en, t.intent_fr, t.category, t.active,
                  count(e.example_id)::int as examples
           from leads.intent_translations t
           left join leads.intent_examples e on e.tenant_id = t.tenant_id and e.intent = t.intent
           where t.tenant_id = %s group by t.tenant_id, t.intent order by t.intent""",
        [str(tenant_id)]).fetchall()


def upsert_intent(conn: Any, *, tenant_id: UUID | str, intent: str, name_en: str, name_fr: str,
                  category: str | None = None, examples: list[str] | None = None) -> None:
    """Add or rename an intent (slug ``[a-z0-9_]``), with optional examples (source import)."""
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,59}", intent or ""):
        raise InvalidInput(f"intent: {intent!r} must be a slug of a-z, 0-9 and _ (1-60)")
    conn.execute(
        """insert into leads.intent_translations (tenant_id, intent, intent_en, intent_fr, category)
           values (%s, %s, %s, %s, %s)
           on conflict (tenant_id, intent) do update set intent_en = excluded.intent_en,
             intent_fr = excluded.intent_fr, category = excluded.category, active = true""",
        [str(tenant_id), intent, name_en, name_fr, category])
    if examples:
        conn.execute(
            """insert into leads.intent_examples (tenant_id, intent, text, source)
               select %s, %s, unnest(%s::text[]), 'import'""",
            [str(tenant_id), intent, examples])


def add_correction(conn: Any, *, tenant_id: UUID | str, lead_id: int, intent: str,
                   text: str, language: str | None) -> None:
    """Record a person's correction as a training example of ``intent``.

    Raises :class:`NotFound` when the intent is not in the tenant's taxonomy.
    """
    if not conn.execute("select 1 from leads.intent_translations where tenant_id = %s and intent = %s",
                        [str(tenant_id), intent]).fetchone():
        raise NotFound(f"intent: {intent!r} is not in this tenant's taxonomy")
    conn.execute(
        """insert into leads.intent_examples (tenant_id, intent, text, language, source, lead_id)
           values (%s, %s, %s, %s, 'correction', %s)""",
        [str(tenant_id), intent, text[:5000], language, lead_id])


def classifier(conn: Any, *, tenant_id: UUID | str) -> TextClassifier:
    """Return the tenant's intent classifier, trained on its active intents' examples.

    Cached per process; retrained when examples are added. Raises :class:`InvalidInput` when
    fewer than two active intents have examples.
    """
    stamp = conn.execute(
        """select count(*)::int n, coalesce(max(example_id), 0) as last
           from leads.intent_examples e join leads.intent_translations t
             on t.tenant_id = e.tenant_id and t.intent = e.intent and t.active
           where e.tenant_id = %s""", [str(tenant_id)]).fetchone()
    embedder = local_embedder()
    key = (str(tenant_id), int(stamp["n"]), int(stamp["last"]), embedder is not None)
    with _lock:
        model = _models.get(key)
        if model is not None:
            _models.move_to_end(key)
            return model
    rows = conn.execute(
        """select e.text, e.intent from leads.intent_examples e
           join leads.intent_translations t on t.tenant_id = e.tenant_id and t.intent = e.intent
           where e.tenant_id = %s and t.active order by e.example_id""", [str(tenant_id)]).fetchall()
    labels = [r["intent"] for r in rows]
    if len(set(labels)) < 2:
        raise InvalidInput("intents: at least two active intents with examples are needed")
    model = TextClassifier(C=10.0, embedder=embedder).fit([r["text"] for r in rows], labels)
    with _lock:
        _models[key] = model
        while len(_models) > _CACHE_SIZE:
            _models.popitem(last=False)
    return model


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def fit_platt(raw: list[float], correct: list[bool]) -> tuple[float, float] | None:
    """Fit Platt scaling ``p = 1 / (1 + exp(-(a * logit(raw) + b)))``; None when one class only."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(correct, dtype=int)
    if len(set(y.tolist())) < 2:
        return None
    lr = LogisticRegression(C=1e4).fit(_logit(np.asarray(raw, dtype=float)).reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def calibration(conn: Any, *, tenant_id: UUID | str) -> tuple[float, float] | None:
    """Return the tenant's Platt parameters ``(a, b)``, or None (fewer than 30 outcomes)."""
    rows = conn.execute(
        """select (prediction->>'raw_confidence')::float8 as raw, intent_correct
           from leads.feedback_tracking
           where tenant_id = %s and action_type = 'ai_prediction' and intent_correct is not null
             and prediction ? 'raw_confidence'""", [str(tenant_id)]).fetchall()
    if len(rows) < MIN_CALIBRATION:
        return None
    key = (str(tenant_id), len(rows))
    with _lock:
        if key in _calib:
            return _calib[key]
    params = fit_platt([r["raw"] for r in rows], [bool(r["intent_correct"]) for r in rows])
    with _lock:
        _calib[key] = params
    return params


def calibrate(raw: np.ndarray, params: tuple[float, float] | None) -> np.ndarray:
    """Apply Platt parameters to raw probabilities (identity when ``params`` is None)."""
    raw = np.asarray(raw, dtype=float)
    if params is None:
        return raw
    a, b = params
    return 1.0 / (1.0 + np.exp(-(a * _logit(raw) + b)))
