"""Lead enrichment: language, summary, intent, tone, urgency and a calibrated confidence.

:mod:`.tone` (shipped n-gram models, English 3-class and French 2-class), :mod:`.rules`
(urgency lexicon and the extractive summary), :mod:`.intent` (the tenant's taxonomy, its
per-tenant classifier and the confidence calibration), :mod:`.service` (enrich pending leads,
set-based; optional LLM through :mod:`growthops.core.ai.llm`).
"""
