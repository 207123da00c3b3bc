"""The ``growthops`` command line (Typer + Rich): a composition root.

The root app (:mod:`.root`) gets the platform's own commands (:mod:`.core`: db, tenants, users,
apikeys, serve, worker, demo) and each installed domain's Typer app (its ``cli`` entry point,
see :class:`growthops.core.domains.Domain`): mounted as ``growthops <domain> ...``, or merged
into the root for ads (``cli_at_root``), whose commands (``daily``, ``import ads``,
``suggestions ...``) stay where they always were. Errors of the
:class:`~growthops.core.errors.GrowthopsError` hierarchy are printed without a traceback and
mapped to their ``exit_code`` by :func:`main` (the ``growthops`` console script).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from typing import Any

import typer
from rich.markup import escape

from growthops.cli import catalog, core  # noqa: F401  (registration)
from growthops.cli.root import app
from growthops.core.cli import LangOpt, console, err_console
from growthops.core.errors import GrowthopsError, InvalidInput
from growthops.core.i18n import _
from growthops.core.logs.scrub import install_log_scrubber, register_settings, scrub
from growthops.domains import installed
from growthops.settings import get_settings

__all__ = ["app", "console", "err_console", "main"]

for _domain in installed():
    _sub = _domain.load("cli")
    if _sub is None:
        continue
    if _domain.cli_at_root:
        app.registered_commands.extend(_sub.registered_commands)
        app.registered_groups.extend(_sub.registered_groups)
    else:
        app.add_typer(_sub, name=_domain.name, help=_domain.cli_help or None)

# The order of `growthops --help` (commands, then groups), as before the split into domains;
# anything not listed keeps its registration order after these.
_COMMAND_ORDER = ("daily", "report", "backtest", "worker", "defer-daily", "demo", "audit", "serve",
                  "execute", "reconcile", "auto-apply")
_GROUP_ORDER = ("db", "tenants", "import", "suggestions", "learning", "validation", "archive",
                "apikeys", "users", "config", "accounts")


def _rank(order: tuple[str, ...], name: str | None) -> int:
    return order.index(name) if name in order else len(order)


app.registered_commands.sort(key=lambda c: _rank(_COMMAND_ORDER, c.name))
app.registered_groups.sort(key=lambda g: _rank(_GROUP_ORDER, g.name))


def _with_lang(callback: Any) -> Any:
    """Return ``callback`` taking a ``--lang`` option: the command's messages follow it (it
    sets ``GROWTHOPS_LANG`` while the command runs, which :func:`growthops.core.cli._lang`
    reads)."""
    params = list(inspect.signature(callback, eval_str=True).parameters.values())
    lang = inspect.Parameter("lang", inspect.Parameter.KEYWORD_ONLY, default="",
                             annotation=LangOpt)

    @functools.wraps(callback)
    def run(*args: Any, lang: str = "", **kwargs: Any) -> Any:
        if not lang:
            return callback(*args, **kwargs)
        if lang not in ("en", "fr"):
            raise InvalidInput(f"--lang: {lang!r} is not one of en, fr")
        before = os.environ.get("GROWTHOPS_LANG")
        os.environ["GROWTHOPS_LANG"] = lang
        get_settings.cache_clear()
        try:
            return callback(*args, **kwargs)
        finally:  # the command's language only (tests run many commands in one process)
            if before is None:
                os.environ.pop("GROWTHOPS_LANG", None)
            else:
                os.environ["GROWTHOPS_LANG"] = before
            get_settings.cache_clear()

    run.__signature__ = inspect.Signature([*params, lang])  # type: ignore[attr-defined]
    run.__annotations__ = {**getattr(callback, "__annotations__", {}), "lang": LangOpt}
    return run


def accept_lang_everywhere(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and of its sub-apps) a ``--lang`` option: the
    README promises that every command takes it (issue 9 #7). Commands with their own keep it."""
    for info in typer_app.registered_commands:
        if info.callback is not None and "lang" not in inspect.signature(info.callback).parameters:
            info.callback = _with_lang(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            accept_lang_everywhere(group.typer_instance)


accept_lang_everywhere(app)


def main() -> None:
    """Console entry point: run the app, mapping growthops errors to exit codes."""
    register_settings(get_settings())
    install_log_scrubber()
    try:
        app()
    except GrowthopsError as exc:
        label = _(get_settings().lang, "Error")
        err_console.print(f"[red]{label}:[/] {escape(scrub(str(exc)))}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
