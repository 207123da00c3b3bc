"""Every command takes --lang (issue 9 #7: the README says so)."""

from __future__ import annotations

from typer.main import get_command
from typer.testing import CliRunner

from growthops.cli import app


def _leaves(cmd, path=()):
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def test_every_command_has_a_lang_option():
    missing = [name for name, cmd in _leaves(get_command(app))
               if not any("--lang" in getattr(p, "opts", ()) for p in cmd.params)]
    assert missing == []


def test_a_command_without_its_own_lang_follows_it(db):
    res = CliRunner().invoke(app, ["db", "scale-out-plan", "--lang", "fr"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["users", "list", "--lang", "de"])
    assert res.exit_code != 0 and "--lang" in str(res.exception)
    import os

    assert "GROWTHOPS_LANG" not in os.environ or os.environ["GROWTHOPS_LANG"] != "fr"


def test_french_amounts_never_break_across_lines_in_tables():
    from rich.console import Console
    from rich.table import Table

    import growthops.core.cli  # noqa: F401  (installs the wrap rule)
    from growthops.core.i18n import format_money

    amount = format_money(1234567.5, "EUR", "fr")
    assert "\u202f" in amount  # Babel's French grouping: narrow no-break space
    console = Console(width=40, record=True)
    table = Table("a", "b")
    table.add_row("word " * 6, f"Saves about {amount} a week")
    console.print(table)
    assert any(amount in line for line in console.export_text().splitlines())


def test_tables_of_commands_given_lang_are_in_that_language(db):
    res = CliRunner().invoke(app, ["users", "list", "--lang", "fr"])
    assert res.exit_code == 0, res.output
    assert "langue" in res.output and "dernière connexion" in res.output
    res = CliRunner().invoke(app, ["users", "list"])
    assert "last login" in res.output  # the command's language only
