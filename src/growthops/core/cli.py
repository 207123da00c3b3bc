"""What every command module of the CLI shares: the consoles, common options, tenant lookup.

The root command is built by the composition root :mod:`growthops.cli` from the core commands
(:mod:`growthops.cli.core`) and each installed domain's Typer app (its ``cli`` entry point).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from growthops.core.db import get_db
from growthops.settings import get_settings


def _keep_no_break_spaces() -> None:
    r"""Make Rich wrap text at breaking spaces only, never at a no-break space.

    French amounts are grouped with U+202F (narrow no-break space) and followed by U+00A0
    before the currency (Babel's CLDR data: ``1\u202f234,56\u00a0€``). Rich 15 splits words
    with the regex ``\s``, which matches both, so a table cell could print ``1 234`` on one
    line and ``567,50 €`` on the next (issue 9 #7). Its word pattern (``rich._wrap.re_word``,
    a private name: checked against the pinned Rich, and a test fails if it moves) is replaced
    by the same pattern over breaking white space only.
    """
    import re

    from rich import _wrap

    space = r"[^\S\u00a0\u202f\u2007\u2060]"
    _wrap.re_word = re.compile(rf"{space}*(?:(?!{space}).)+{space}*", re.S)


_keep_no_break_spaces()

# Piped output (CI logs, `make demo | tee`) gets wide tables instead of Rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 150
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)

LangOpt = Annotated[str, typer.Option("--lang", help="Language of messages: en or fr (default GROWTHOPS_LANG).")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="client_key or tenant id")]
NotesOpt = Annotated[str | None, typer.Option("--notes", help="Why (free text).")]


def _lang(lang: str | None) -> str:
    """Return the language of messages: ``lang`` if given, else ``GROWTHOPS_LANG`` (en, fr)."""
    return lang or get_settings().lang


def _validate(model: Any, data: dict[str, Any]) -> Any:
    """Validate CLI input with the model (lax: CLI values are strings) naming each bad field."""
    from pydantic import ValidationError

    from growthops.core.errors import InvalidInput

    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(problems) from exc


def _tenant_id(key: str) -> Any:
    """Resolve a client_key or tenant id to the tenant id; :class:`NotFound` if unknown."""
    from growthops.core.tenants.service import resolve

    with get_db().app_tx() as conn:
        return resolve(conn, key)["tenant_id"]


def _tenant_keys(key: str | None) -> list[dict[str, Any]]:
    """Return the directory row of tenant ``key``, or of every tenant when ``key`` is None."""
    from growthops.core.tenants.service import directory, resolve

    with get_db().app_tx() as conn:
        return [resolve(conn, key)] if key else directory(conn)


def _one(conn: Any, query: str, params: Any) -> dict[str, Any]:
    """Run a query that always returns exactly one row (a count, the bound tenant); return it."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return dict(row)
