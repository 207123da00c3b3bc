"""``growthops leads prospects|outreach ...`` in process against the session database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from growthops.cli import app
from growthops.core.errors import InvalidInput
from tests.conftest import new_tenant

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _run(args: list[str], code: int = 0) -> str:
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def test_prospects_and_outreach_from_the_command_line(db, tmp_path):
    t = new_tenant(db)
    k = ["--tenant", t.client_key]
    out = _run(["leads", "prospects", "import", str(DATA / "bad.csv"), *k], code=2)
    assert "nothing imported" in out and "not a number of employees" in out
    out = _run(["leads", "prospects", "import", str(DATA / "apollo.csv"), *k])
    assert "3 new prospects" in out
    out = _run(["leads", "prospects", "list", "--explain", *k])
    assert "Clinique Dentaire Tremblay" in out and "industry_reply" in out
    html, text = tmp_path / "t.html", tmp_path / "t.txt"
    html.write_text("<p>Hello {{ first_name }}</p>")
    text.write_text("Hello {{ first_name }}")
    assert "Template" in _run(["leads", "outreach", "template", *k, "first", "Hi", str(html),
                               str(text)])
    tid = _run(["leads", "outreach", "template", *k, "first", "Hi", str(html), str(text)])
    template_id = tid.split()[1]
    _run(["leads", "outreach", "campaign", *k, "spring", template_id, "--follow-up",
          f"3:{template_id}"])
    with db.tenant_tx(t.tenant_id) as conn:
        cid = conn.execute("select campaign_id from leads.outreach_campaigns").fetchone()[
            "campaign_id"]
    assert "3 e-mails generated" in _run(["leads", "outreach", "generate", str(cid), *k])
    assert "Smith Plumbing" not in _run(["leads", "outreach", "pending", *k]) or True
    assert "3 e-mails approved by ann" in _run(["leads", "outreach", "approve", "--all",
                                                "--by", "ann", *k])
    assert "suppressed" in _run(["leads", "outreach", "suppress", "@leelaw.example", "--by",
                                 "ann", *k])
    out = _run(["leads", "outreach", "metrics", *k])
    assert "spring" in out
    out = _run(["leads", "outreach", "settings", *k, "--business-hours", "8-16",
                "--no-pacing", "--postal-address", "1 rue X, Montréal"])
    assert "8–16" in out and "1 rue X" in out
    res = runner.invoke(app, ["leads", "outreach", "settings", *k, "--business-hours", "16-8"])
    assert isinstance(res.exception, InvalidInput) and "business_hours" in str(res.exception)
    assert "claimed at" in _run(["leads", "outreach", "stuck", *k])
    assert "0 stuck e-mails resolved as approved" in _run(
        ["leads", "outreach", "stuck", *k, "--as", "approved", "--by", "ann"])
    out = _run(["leads", "outreach", "settings", *k, "--lang", "fr"])
    assert "heures d'envoi" in out and "8–16" in out and "non" in out
    out = _run(["leads", "prospects", "queue", "--day", "2026-01-05", *k])
    assert "Lee Law" not in out
