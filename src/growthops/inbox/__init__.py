"""inbox — WhatsApp and Instagram conversations, the handoff to people, KPIs (seed 003:
SocialSync AI).

A client's customers write on WhatsApp or Instagram; Meta's signed webhooks are stored raw and
queued (:mod:`.webhooks`), then processed idempotently into customers, conversations and
messages (:mod:`.ingest`). The AI (issue 11) plugs into :mod:`.triage`; escalation rules are in
:mod:`.rules`; people escalate, assign, reply, resolve and reopen (:mod:`.handoff`,
:mod:`.sending`, within the platforms' windows, :mod:`.windows`). KPIs (first-response times,
auto-reply and escalation rates per 2-hour window and per day) are in :mod:`.kpis`.
Entry files: :mod:`.api`, :mod:`.cli`, :mod:`.pages`, :mod:`.jobs`, :mod:`.models`,
:mod:`.demo`. Transports: ``growthops.connectors.whatsapp``, ``.instagram``, ``.meta_webhooks``.
"""

from __future__ import annotations

from pathlib import Path

from growthops.core.domains import Domain, NavEntry
from growthops.core.i18n import N_

DOMAIN = Domain(
    name="inbox",
    title=N_("Inbox"),
    api="growthops.inbox.api:routers",
    pages="growthops.inbox.pages:router",
    overview="growthops.inbox.pages:overview_panel",
    cli="growthops.inbox.cli:app",
    cli_help="The social inbox: WhatsApp and Instagram accounts, conversations, replies, KPIs.",
    jobs="growthops.inbox.jobs:register_tasks",
    demo="growthops.inbox.demo:run_demo",
    templates=Path(__file__).parent / "templates",
    nav=(NavEntry("inbox", "inbox", N_("Inbox")), NavEntry("posts", "posts", N_("Posts")),
         NavEntry("comments", "comments", N_("Comments"))),
)
