"""leads — capture, AI enrichment and growth insights of a client's inbound leads (seed 002).

Website forms post leads (``POST /api/v1/leads``, :mod:`.capture`); each lead is stored at once,
then enriched by a job (:mod:`.enrichment`: language, summary, intent, tone, urgency, calibrated
confidence), answered by a personalised first e-mail when the tenant's policy says so
(:mod:`.replies`), and worked by the client's people (:mod:`.work`: tag, note, convert, revert,
archive, delete). Weekly growth insights (:mod:`.insights`), versioned prompts and their A/B
tests (:mod:`.experiments`), translation cache and dictionary (:mod:`.translation`), feedback
and calibration (:mod:`.feedback`). Prospects imported from CSV exports, de-duplicated and
scored (:mod:`.prospects`); outreach campaigns with sequences, approval, deliverability rules
and honest tracking (:mod:`.outreach`; migrations 0060, 0061). Entry files: :mod:`.api`, :mod:`.cli`, :mod:`.pages`,
:mod:`.jobs`, :mod:`.models`, :mod:`.demo`. Schema ``leads`` (migration 0030).
"""

from __future__ import annotations

from pathlib import Path

from growthops.core.domains import Domain, NavEntry
from growthops.core.i18n import N_

DOMAIN = Domain(
    name="leads",
    title=N_("Leads"),
    api="growthops.leads.api:routers",
    pages="growthops.leads.pages:router",
    overview="growthops.leads.pages:overview_panel",
    cli="growthops.leads.cli:app",
    cli_help="Inbound leads: capture keys and form tokens, enrichment, work, insights, prompts.",
    jobs="growthops.leads.jobs:register_tasks",
    demo="growthops.leads.demo:run_demo",
    templates=Path(__file__).parent / "templates",
    nav=(NavEntry("leads", "leads", N_("Leads")),
         NavEntry("leads_insights", "leads/insights", N_("Lead insights")),
         NavEntry("prospects", "prospects", N_("Prospects")),
         NavEntry("outreach", "outreach", N_("Outreach"))),
)
