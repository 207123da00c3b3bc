"""The ads domain's commands (``DOMAIN.cli`` = :data:`app`), merged into the root command.

Modules: :mod:`.commands` (import, daily, report, backtest, suggestions, execute, reconcile,
auto-apply, archive, audit, defer-daily), :mod:`.sync` (live insights), :mod:`.anomalies` (triage), :mod:`.allocation` (``ads allocate``, ``ads performance``), :mod:`.validation`, :mod:`.config` (targets and
guard rails), :mod:`.accounts` (ad accounts), :mod:`.abtests` (creative tests), :mod:`.airtable` (``ads airtable``),
:mod:`.learning` (``learning report``) and :mod:`.slack` (``slack settings``, ``slack sync``).
"""

from __future__ import annotations

from growthops.ads.cli import (  # noqa: F401  (registration)
    abtests,
    accounts,
    airtable,
    allocation,
    anomalies,
    commands,
    config,
    slack,
    sync,
    validation,
)
from growthops.ads.cli.app import app

__all__ = ["app"]
