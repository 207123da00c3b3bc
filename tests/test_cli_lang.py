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
