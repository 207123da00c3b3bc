"""The root ``growthops`` Typer app, on which :mod:`growthops.cli.core` registers its commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="growthops: the media-buying copilot and AI operations platform for agencies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
