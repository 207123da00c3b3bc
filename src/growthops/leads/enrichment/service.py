"""Enrich leads: language, summary, intent, tone, urgency, confidence; set-based writes.

:func:`enrich_leads` reads the chosen leads (``FOR UPDATE SKIP LOCKED``: two workers never
analyse the same lead), computes everything in memory in batches, then writes with one
statement per table: the lead's reading and its appended ``tone_history``, ``urgency_history``,
``confidence_history``; one ``enriched`` action each; one ``ai_prediction`` row each in
``feedback_tracking``; one ``performance_metrics`` row for the batch. It is idempotent: a lead
already enriched is skipped unless ``reanalyse`` is asked (which appends to the histories).

With an LLM configured (:func:`growthops.core.ai.llm.llm_from_settings`), the active
``lead_enrichment`` prompt of the lead's language is sent and its JSON answer replaces summary,
intent, tone and urgency when valid (each execution in ``prompt_performance``); any failure falls
back to the local reading, which is always computed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

import numpy as np

from growthops.core.ai import LLM, LLMError
from growthops.core.ai.langid import detect
from growthops.leads.enrichment import intent as intent_mod
from growthops.leads.enrichment import rules, tone

MODEL_VERSION = "local-1"


@dataclass
class Reading:
    """What the AI read in one lead. ``confidence``: calibrated probability 0-1 that the
    intent is right; ``raw_confidence``: the classifier's probability before calibration."""

    lead_id: int
    language: str
    summary: str
    intent: str
    tone: str
    urgency: str
    confidence: float
    raw_confidence: float
    tone_probability: float
    urgency_cues: list[str]
    model_version: str
    provider: str = "local"


def _language(text: str, hint: str | None) -> str:
    lang, prob = detect(text)
    return hint if hint in ("en", "fr") and prob < 0.9 else lang


def read_leads(conn: Any, *, tenant_id: UUID | str, leads: list[dict[str, Any]]) -> list[Reading]:
    """Return the local reading of ``leads`` (rows with lead_id, message, language_hint)."""
    if not leads:
        return []
    intent_mod.ensure_taxonomy(conn, tenant_id=tenant_id)
    texts = [r["message"] for r in leads]
    langs = [_language(t, r.get("language_hint")) for t, r in zip(texts, leads, strict=True)]
    model = intent_mod.classifier(conn, tenant_id=tenant_id)
    intents, raw = model.predict(texts)
    conf = intent_mod.calibrate(np.asarray(raw), intent_mod.calibration(conn, tenant_id=tenant_id))
    tones: list[tuple[str, float]] = [("neutral", 0.0)] * len(texts)
    for lang in ("en", "fr"):
        idx = [i for i, g in enumerate(langs) if g == lang]
        for i, res in zip(idx, tone.predict([texts[i] for i in idx], lang), strict=True):
            tones[i] = res
    out = []
    for i, r in enumerate(leads):
        urg, cues = rules.urgency(texts[i], intent=intents[i], tone=tones[i][0])
        out.append(Reading(
            lead_id=int(r["lead_id"]), language=langs[i], summary=rules.summary(texts[i]),
            intent=intents[i], tone=tones[i][0], urgency=urg,
            confidence=round(float(conf[i]), 3), raw_confidence=round(float(raw[i]), 4),
            tone_probability=round(tones[i][1], 4), urgency_cues=cues,
            model_version=f"{MODEL_VERSION}+{tone.version(langs[i])}"
                          + ("+minilm" if model.embedder is not None else "")))
    return out


def _llm_reading(conn: Any, *, tenant_id: UUID | str, llm: LLM, reading: Reading,
                 message: str, intents: list[str]) -> Reading:
    """Ask the LLM for the reading; record the execution; return the local one on failure."""
    from growthops.leads.experiments import prompts

    prompt = prompts.active_prompt(conn, tenant_id=tenant_id, name="lead_enrichment",
                                   language=reading.language)
    text = prompt["prompt_text"].format(intents=", ".join(intents), message=message)
    error = None
    out = reading
    t0 = time.perf_counter()
    try:
        done = llm.complete(system="Answer with one JSON object only.", prompt=text,
                            max_tokens=400)
        data = json.loads(done.text[done.text.find("{"): done.text.rfind("}") + 1])
        if data.get("intent") in intents and data.get("tone") in ("positive", "neutral", "negative") \
                and data.get("urgency") in ("high", "medium", "low"):
            out = Reading(**{**asdict(reading), "summary": str(data.get("summary") or reading.summary)[:500],
                             "intent": data["intent"], "tone": data["tone"],
                             "urgency": data["urgency"], "provider": llm.provider})
        else:
            error = "answer outside the allowed values"
        usage = (done.input_tokens, done.output_tokens, done.latency_ms)
    except (LLMError, ValueError) as exc:
        error = str(exc)[:500]
        usage = (None, None, (time.perf_counter() - t0) * 1000)
    prompts.record_execution(
        conn, tenant_id=tenant_id, prompt_id=prompt["prompt_id"], lead_id=reading.lead_id,
        provider=llm.provider, input_data={"lead_id": reading.lead_id},
        output_data={"intent": out.intent, "tone": out.tone, "urgency": out.urgency},
        response_time_ms=usage[2], input_tokens=usage[0], output_tokens=usage[1], error=error)
    return out


def enrich_leads(conn: Any, *, tenant_id: UUID | str, lead_ids: list[int] | None = None,
                 reanalyse: bool = False, limit: int = 200, llm: LLM | None = None
                 ) -> list[Reading]:
    """Enrich the tenant's pending leads (or ``lead_ids``); return their readings.

    ``reanalyse`` re-reads leads already enriched (histories grow by one entry). At most
    ``limit`` leads per call. Never commits.
    """
    t0 = time.perf_counter()
    cond = "lead_id = any(%(ids)s)" if lead_ids is not None else "true"
    if not reanalyse:
        cond += " and enrichment_status <> 'done'"
    leads = conn.execute(
        f"""select lead_id, message, language_hint from leads.lead_memory
            where tenant_id = %(t)s and not deleted and {cond}
            order by lead_id limit %(limit)s for update skip locked""",
        {"t": str(tenant_id), "ids": lead_ids or [], "limit": limit}).fetchall()
    readings = read_leads(conn, tenant_id=tenant_id, leads=leads)
    if llm is not None and readings:
        names = [r["intent"] for r in intent_mod.taxonomy(conn, tenant_id=tenant_id) if r["active"]]
        by_id = {int(r["lead_id"]): r["message"] for r in leads}
        readings = [_llm_reading(conn, tenant_id=tenant_id, llm=llm, reading=r,
                                 message=by_id[r.lead_id], intents=names) for r in readings]
    if not readings:
        return []
    payload = json.dumps([asdict(r) for r in readings])
    conn.execute(
        """with x as (select * from jsonb_to_recordset(%(p)s::jsonb) as x(
                 lead_id bigint, language text, summary text, intent text, tone text,
                 urgency text, confidence numeric, model_version text))
           update leads.lead_memory l set
             enrichment_status = 'done', enriched_at = now(),
             enrichment_attempts = l.enrichment_attempts + 1,
             language = x.language, ai_summary = x.summary, intent = x.intent, tone = x.tone,
             urgency = x.urgency, confidence_score = x.confidence, model_version = x.model_version,
             tone_history = l.tone_history || jsonb_build_array(jsonb_build_object(
               'at', now(), 'tone', x.tone, 'model', x.model_version)),
             urgency_history = l.urgency_history || jsonb_build_array(jsonb_build_object(
               'at', now(), 'urgency', x.urgency, 'model', x.model_version)),
             confidence_history = l.confidence_history || jsonb_build_array(jsonb_build_object(
               'at', now(), 'confidence', x.confidence, 'intent', x.intent,
               'model', x.model_version))
           from x where l.tenant_id = %(t)s and l.lead_id = x.lead_id""",
        {"p": payload, "t": str(tenant_id)})
    conn.execute(
        """insert into leads.lead_actions (tenant_id, lead_id, action_type, performed_by, details)
           select %(t)s, x.lead_id, 'enriched', 'ai',
                  jsonb_build_object('intent', x.intent, 'tone', x.tone, 'urgency', x.urgency,
                                     'confidence', x.confidence, 'provider', x.provider)
           from jsonb_to_recordset(%(p)s::jsonb) as x(lead_id bigint, intent text, tone text,
                urgency text, confidence numeric, provider text)""",
        {"p": payload, "t": str(tenant_id)})
    conn.execute(
        """insert into leads.feedback_tracking (tenant_id, lead_id, action_type, prediction,
             confidence_score, context_data)
           select %(t)s, (x->>'lead_id')::bigint, 'ai_prediction',
                  x - 'summary' - 'lead_id', (x->>'confidence')::numeric,
                  jsonb_build_object('source', 'enrichment')
           from jsonb_array_elements(%(p)s::jsonb) x""",
        {"p": payload, "t": str(tenant_id)})
    ms = (time.perf_counter() - t0) * 1000
    conn.execute(
        """insert into leads.performance_metrics (tenant_id, event_type, metric_name,
             metric_value, metric_unit, source_component, metadata)
           values (%s, 'ai_analysis', 'response_time', %s, 'ms', 'intelligence_engine', %s)""",
        [str(tenant_id), ms / len(readings), json.dumps({"leads": len(readings)})])
    return readings
