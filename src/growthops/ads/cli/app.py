"""The ads domain's Typer app: its commands are merged into the root ``growthops`` command.

``DOMAIN.cli_at_root`` is True for ads, so ``growthops daily``, ``growthops import ads``,
``growthops suggestions ...`` stay where they were before the domains were split.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from growthops.core.cli import console

app = typer.Typer(help="The media-buying copilot: import, daily cycle, suggestions, execution, "
                       "learning.", no_args_is_help=True, pretty_exceptions_enable=False)


def _print_outcomes(outcomes: list[Any]) -> None:
    """Print execution outcomes as a table (suggestion, status, message)."""
    table = Table("suggestion", "status", "message")
    for o in outcomes:
        table.add_row(str(o.suggestion_id), o.status, o.message or "")
    console.print(table)
