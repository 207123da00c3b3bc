"""``growthops demo`` / ``make demo``: every installed domain's demo, on real public data.

Migrates the database, then runs each domain's ``demo`` entry point in the order of
:func:`growthops.domains.installed` (ads: :func:`growthops.ads.demo.run_demo`). Each run is
idempotent: tenants are reused and imports change nothing the second time; ``reset`` deletes
the demo tenants first.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from growthops.core.db import Database, describe
from growthops.core.i18n import _
from growthops.core.migrate import migrate
from growthops.domains import installed


def run_demo(db: Database, console: Console, *, reset: bool = False, lang: str = "en") -> None:
    """Migrate ``db`` and run every installed domain's demo (printing to ``console``)."""
    info = describe(db)
    console.print(Panel.fit(f"growthops demo — database: {info['mode']} {info['data_dir']}",
                            style="bold"))
    applied = migrate(db)
    console.print(_(lang, "Applied migrations: {ids}", ids=", ".join(applied)) if applied
                  else _(lang, "Database is up to date."))
    for domain in installed():
        demo = domain.load("demo")
        if demo is not None:
            demo(db, console, reset=reset, lang=lang)
