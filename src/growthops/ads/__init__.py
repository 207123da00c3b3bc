"""ads — the media-buying copilot (seeds 000, 001: DURUM; 004: AEGIS).

Daily metrics per campaign / ad set / ad → baselines → anomalies, overspend, fatigue →
suggestions with a calibrated confidence and an expected impact → a person approves
(dashboard, Slack, CLI, API) → guarded, exactly-once execution → each execution measured as a
hypothesis → the system learns.

Stages (sub-packages): :mod:`.metrics` (import formats, importer, synthetic accounts),
:mod:`.analysis` (window scan, baselines, anomaly tests, overspend, fatigue),
:mod:`.suggestions` (evidence, rules, wording), :mod:`.action` (decisions, guard rails,
execution, validation queue, audit trail), :mod:`.learning` (hypotheses, calibration, decision
patterns, backtest), :mod:`.reporting` (digest, HTML report, charts, Slack). Entry files:
:mod:`.api`, :mod:`.cli`, :mod:`.pages`, :mod:`.jobs`, :mod:`.models`, :mod:`.demo`;
:mod:`.cycle` runs the stages in order.
"""

from __future__ import annotations

from pathlib import Path

from growthops.core.domains import Domain, NavEntry
from growthops.core.i18n import N_

DOMAIN = Domain(
    name="ads",
    title=N_("Suggestions"),
    api="growthops.ads.api:routers",
    pages="growthops.ads.pages:router",
    overview="growthops.ads.pages:overview_panel",
    cli="growthops.ads.cli:app",
    cli_at_root=True,
    jobs="growthops.ads.jobs:register_tasks",
    slack_actions="growthops.ads.reporting.slack_actions:handle",
    demo="growthops.ads.demo:run_demo",
    templates=Path(__file__).parent / "templates",
    nav=(NavEntry("queue", "suggestions", N_("Suggestions")),
         NavEntry("learning", "learning", N_("Learning")),
         NavEntry("validation", "validation", N_("Validation")),
         NavEntry("tests", "tests", N_("Tests")),
         NavEntry("allocation", "allocation", N_("Allocation")),
         NavEntry("anomalies", "anomalies", N_("Anomalies")),
         NavEntry("settings", "settings", N_("Settings"))),
)
