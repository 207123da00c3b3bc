"""The ``growthops`` command line (Typer + Rich).

One module per domain registers its commands on :data:`app`: :mod:`.core` (db, tenants, users,
apikeys, serve, worker, defer-daily, demo), :mod:`.ads` (import, daily, report, backtest,
suggestions, execute, reconcile, auto-apply, learning, archive, audit), :mod:`.validation`,
:mod:`.config` (a tenant's platform settings and guard rails) and :mod:`.accounts` (ad accounts:
connect, sandbox, advance, disconnect). Errors of the
:class:`~growthops.core.errors.GrowthopsError` hierarchy are printed without a traceback and
mapped to their ``exit_code`` by :func:`main` (the ``growthops`` console script).
"""

from __future__ import annotations

import sys

from growthops.cli import accounts, ads, config, core, validation  # noqa: F401  (registration)
from growthops.cli.common import app, console, err_console
from growthops.core.errors import GrowthopsError
from growthops.i18n import t
from growthops.settings import get_settings

__all__ = ["app", "console", "err_console", "main"]

# The order of `growthops --help` (commands, then groups), as before the split into modules;
# anything not listed keeps its registration order after these.
_COMMAND_ORDER = ("daily", "report", "backtest", "worker", "defer-daily", "demo", "audit", "serve",
                  "execute", "reconcile", "auto-apply")
_GROUP_ORDER = ("db", "tenants", "import", "suggestions", "learning", "validation", "archive",
                "apikeys", "users", "config", "accounts")


def _rank(order: tuple[str, ...], name: str | None) -> int:
    return order.index(name) if name in order else len(order)


app.registered_commands.sort(key=lambda c: _rank(_COMMAND_ORDER, c.name))
app.registered_groups.sort(key=lambda g: _rank(_GROUP_ORDER, g.name))


def main() -> None:
    """Console entry point: run the app, mapping growthops errors to exit codes."""
    try:
        app()
    except GrowthopsError as exc:
        err_console.print(f"[red]{t('error', get_settings().lang)}:[/] {exc}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
