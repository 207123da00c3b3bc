"""`growthops config` and `growthops accounts`, in process (CliRunner) against the session
database: settings round trip and audit, validation that writes nothing, the auto-apply warning,
sandbox accounts, credentials from stdin stored encrypted."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from typer.testing import CliRunner

from growthops.cli import app
from growthops.core.errors import ConfigError, Conflict, InvalidInput, NotFound
from growthops.core.secrets import decrypt_json, generate_key
from tests.conftest import new_tenant

runner = CliRunner()


def _ok(args: list[str], **kw) -> str:
    res = runner.invoke(app, args, catch_exceptions=False, **kw)
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())  # Rich wraps long lines: compare on single spaces


def _fails(args: list[str], exc_type: type, **kw) -> BaseException:
    res = runner.invoke(app, args, **kw)
    assert isinstance(res.exception, exc_type), (res.exception, res.output)
    return res.exception


def _config(db, tid, platform="meta"):
    with db.tenant_tx(tid) as conn:
        return conn.execute("select * from ads.platform_configs where tenant_id = %s and platform = %s",
                            [tid, platform]).fetchone()


def _audit(db, tid, action):
    with db.tenant_tx(tid) as conn:
        return conn.execute("select * from ads.audit_log where tenant_id = %s and action = %s "
                            "order by audit_id", [tid, action]).fetchall()


# ------------------------------------------------------------------------------------ config
def test_config_set_show_round_trip_is_audited(db):
    tn = new_tenant(db)
    key, tid = tn.client_key, tn.tenant_id
    shown = _ok(["config", "show", "--tenant", key])
    assert "meta (defaults, not stored)" in shown and "20.00" in shown and "30.00" in shown
    assert _config(db, tid) is None  # showing the defaults writes nothing

    out = _ok(["config", "set", "--tenant", key, "--platform", "meta", "--max-change-pct", "15",
               "--min-daily-budget", "5", "--protect", "c1", "--protect", "c2", "--target-roas", "2.5",
               "--result-metric", "leads", "--by", "alice"])
    assert "max_change_pct: 20.00 → 15.00" in out and "protected_entity_ids: – → c1, c2" in out
    assert "never seen on meta" in out  # c1, c2 have no metrics: protected anyway, with a note
    row = _config(db, tid)
    assert row["max_change_pct"] == Decimal("15.00") and row["min_daily_budget"] == Decimal("5.00")
    assert row["protected_entity_ids"] == ["c1", "c2"] and row["result_metric"] == "leads"
    assert row["target_roas"] == Decimal("2.500") and row["auto_apply_recommendations"] is False

    shown = _ok(["config", "show", "--tenant", key, "--platform", "meta"])
    assert "defaults" not in shown and "15.00" in shown and "c1, c2" in shown and "leads" in shown

    (entry,) = _audit(db, tid, "platform_config.updated")
    assert entry["actor"] == "alice" and entry["object_type"] == "platform_config"
    assert entry["object_id"] == "meta" and entry["platform"] == "meta"
    assert entry["before"]["max_change_pct"] == "20.00" and entry["after"]["max_change_pct"] == "15.00"
    assert entry["before"]["protected_entity_ids"] == [] and entry["after"]["target_roas"] == "2.500"

    out = _ok(["config", "set", "--tenant", key, "--platform", "meta", "--unprotect", "c1",
               "--target-roas", "none", "--by", "bob"])
    row = _config(db, tid)
    assert row["protected_entity_ids"] == ["c2"] and row["target_roas"] is None
    entries = _audit(db, tid, "platform_config.updated")
    assert [e["actor"] for e in entries] == ["alice", "bob"]
    assert entries[1]["before"]["protected_entity_ids"] == ["c1", "c2"]
    assert entries[1]["after"]["protected_entity_ids"] == ["c2"]
    assert "bob" in _ok(["audit", "--tenant", key, "--object-type", "platform_config"])

    # the same values again: nothing changes, nothing is audited
    out = _ok(["config", "set", "--tenant", key, "--platform", "meta", "--max-change-pct", "15",
               "--by", "bob"])
    assert "nothing changed" in out and len(_audit(db, tid, "platform_config.updated")) == 2
    assert "réglages modifiés par carol" in _ok(
        ["config", "set", "--tenant", key, "--platform", "meta", "--fdr-q", "0.1", "--by", "carol",
         "--lang", "fr"])


def test_invalid_values_are_rejected_naming_the_option_and_nothing_is_written(db):
    tn = new_tenant(db)
    key, tid = tn.client_key, tn.tenant_id
    exc = _fails(["config", "set", "--tenant", key, "--platform", "meta", "--auto-apply",
                  "--max-change-pct", "150", "--fdr-q", "1.5", "--min-auto-apply-confidence", "40",
                  "--result-metric", "clicks", "--max-cpa", "abc", "--min-daily-budget", "1.234",
                  "--max-change-pct-24h", "0", "--by", "alice"], InvalidInput)
    msg = str(exc)
    for option in ("--max-change-pct: 150", "--fdr-q: 1.5", "--min-auto-apply-confidence: 40",
                   "--result-metric: 'clicks'", "--max-cpa: 'abc'", "--min-daily-budget: 1.234",
                   "--max-change-pct-24h: 0"):
        assert option in msg, option
    assert _config(db, tid) is None and _audit(db, tid, "platform_config.updated") == []

    _ok(["config", "set", "--tenant", key, "--platform", "meta", "--max-change-pct", "10", "--by", "a"])
    for args, needle in (
        (["--max-change-pct", "12.345"], "--max-change-pct: 12.345 has more than 2 decimals"),
        (["--min-auto-apply-confidence", "90.5"], "--min-auto-apply-confidence: '90.5' is not a whole"),
        (["--protect", "x", "--unprotect", "x"], "--protect and --unprotect both name x"),
        (["--protect", " padded"], "--protect: an entity id"),
        ([], "nothing to change"),
    ):
        exc = _fails(["config", "set", "--tenant", key, "--platform", "meta", "--auto-apply",
                      *args, "--by", "a"] if args else
                     ["config", "set", "--tenant", key, "--platform", "meta", "--by", "a"],
                     InvalidInput)
        assert needle in str(exc)
    assert "--platform: 'facebook'" in str(_fails(
        ["config", "set", "--tenant", key, "--platform", "facebook", "--dry-run", "--by", "a"],
        InvalidInput))
    row = _config(db, tid)
    assert row["max_change_pct"] == Decimal("10.00") and row["auto_apply_recommendations"] is False
    assert len(_audit(db, tid, "platform_config.updated")) == 1
    assert "--fdr-q : 2" in str(_fails(["config", "set", "--tenant", key, "--platform", "meta",
                                        "--fdr-q", "2", "--by", "a", "--lang", "fr"], InvalidInput))


def test_turning_auto_apply_on_prints_a_warning(db):
    tn = new_tenant(db, monthly_budget_max=Decimal("9000"))
    key, tid = tn.client_key, tn.tenant_id
    out = _ok(["config", "set", "--tenant", key, "--platform", "meta", "--auto-apply",
               "--min-auto-apply-confidence", "95", "--by", "alice"])
    assert "WARNING: auto-apply is now ON" in out and "WITHOUT A HUMAN" in out
    assert "at least 95%" in out and "monthly budget ceiling €9,000.00" in out
    assert "--no-auto-apply" in out and "has no ad account on meta yet" in out
    assert _config(db, tid)["auto_apply_recommendations"] is True
    # already on: no new warning; turning it off: none either
    assert "WARNING" not in _ok(["config", "set", "--tenant", key, "--platform", "meta",
                                 "--max-change-pct", "10", "--by", "alice"])
    assert "WARNING" not in _ok(["config", "set", "--tenant", key, "--platform", "meta",
                                 "--no-auto-apply", "--by", "alice"])
    out = _ok(["config", "set", "--tenant", key, "--platform", "meta", "--auto-apply",
               "--dry-run", "--by", "alice", "--lang", "fr"])
    assert "ATTENTION" in out and "SANS INTERVENTION HUMAINE" in out and "rien n'est envoyé" in out


# ---------------------------------------------------------------------------------- accounts
def test_sandbox_account_created_advanced_listed_and_disconnected(db):
    tn = new_tenant(db)
    key, tid = tn.client_key, tn.tenant_id

    def days():
        with db.tenant_tx(tid) as conn:
            return conn.execute("select count(distinct day) as n, max(day) as last "
                                "from ads.metrics_daily where tenant_id = %s", [tid]).fetchone()

    assert "has no ad account" in _ok(["accounts", "list", "--tenant", key])
    _fails(["accounts", "advance", "--tenant", key, "--days", "2"], NotFound)
    out = _ok(["accounts", "sandbox", "--tenant", key, "--seed", "3", "--days-history", "20",
               "--campaigns", "1", "--adsets", "2", "--ads", "1", "--start", "2024-01-01"])
    assert "sandbox account sandbox-3 created" in out and "2024-01-01 → 2024-01-20" in out
    assert days()["n"] == 20
    listed = _ok(["accounts", "list", "--tenant", key])
    assert "sandbox" in listed and "2024-01-01 → 2024-01-20 (20)" in listed
    _fails(["accounts", "sandbox", "--tenant", key, "--start", "2024-01-01"], Conflict)

    out = _ok(["accounts", "advance", "--tenant", key, "--days", "3"])
    assert "simulated up to 2024-01-23" in out
    d = days()
    assert d["n"] == 23 and d["last"] == date(2024, 1, 23)
    (connected,) = _audit(db, tid, "ad_account.connected")
    assert connected["after"]["connector"] == "sandbox"

    out = _ok(["accounts", "disconnect", "--tenant", key, "--platform", "meta", "--by", "alice"])
    assert "disconnected by alice" in out
    with db.tenant_tx(tid) as conn:
        assert conn.execute("select count(*) as n from ads.ad_accounts").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from ads.sandbox_entities").fetchone()["n"] == 0
    assert days()["n"] == 23  # the metrics stay
    (gone,) = _audit(db, tid, "ad_account.disconnected")
    assert gone["actor"] == "alice" and gone["before"]["account_id"] == "sandbox-3"
    _fails(["accounts", "disconnect", "--tenant", key, "--platform", "meta", "--by", "a"], NotFound)
    # a new sandbox can be created after the old one is gone
    _ok(["accounts", "sandbox", "--tenant", key, "--seed", "4", "--days-history", "2",
         "--campaigns", "1", "--adsets", "1", "--ads", "1", "--start", "2024-02-01"])


def test_connect_reads_the_token_from_stdin_and_stores_it_encrypted(db, monkeypatch):
    tn = new_tenant(db)
    key, tid = tn.client_key, tn.tenant_id
    secret = "EAABsecretTOKEN123456"
    args = ["accounts", "connect", "--tenant", key, "--platform", "meta", "--connector", "meta",
            "--account-id", "1234567", "--token-stdin", "--by", "alice"]

    monkeypatch.delenv("GROWTHOPS_SECRET_KEYS", raising=False)
    exc = _fails(args, ConfigError, input=secret + "\n")
    assert "GROWTHOPS_SECRET_KEYS is not set" in str(exc) and secret not in str(exc)
    with db.tenant_tx(tid) as conn:
        assert conn.execute("select count(*) as n from ads.ad_accounts").fetchone()["n"] == 0
    assert _audit(db, tid, "ad_account.connected") == []

    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", generate_key())
    out = _ok(args, input=secret + "\n")
    assert "act_1234567 connected on meta" in out and secret not in out
    with db.tenant_tx(tid) as conn:
        row = conn.execute("select * from ads.ad_accounts where platform = 'meta'").fetchone()
        dump = json.dumps(conn.execute("select * from ads.ad_accounts").fetchall(), default=str)
    assert row["connector"] == "meta" and row["account_id"] == "act_1234567"
    assert secret not in dump and secret not in row["credentials_encrypted"]
    assert decrypt_json(row["credentials_encrypted"]) == {"access_token": secret}
    (entry,) = _audit(db, tid, "ad_account.connected")
    assert entry["actor"] == "alice" and secret not in json.dumps(entry, default=str)
    assert entry["after"]["credential_keys"] == ["access_token"]
    assert "encrypted" in _ok(["accounts", "list", "--tenant", key])
    # a sandbox cannot silently replace a real account
    _fails(["accounts", "sandbox", "--tenant", key], Conflict)


def test_connect_validates_its_input_before_writing(db, monkeypatch):
    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", generate_key())
    tn = new_tenant(db)
    key, tid = tn.client_key, tn.tenant_id
    base = ["accounts", "connect", "--tenant", key, "--token-stdin"]
    google = [*base, "--platform", "google", "--connector", "google_ads", "--account-id", "123-456-7890"]
    assert "does not serve --platform 'google'" in str(_fails(
        [*base, "--platform", "google", "--connector", "meta", "--account-id", "1"], InvalidInput,
        input="tok\n"))
    assert "--account-id: 'act_x1'" in str(_fails(
        [*base, "--platform", "meta", "--connector", "meta", "--account-id", "act_x1"], InvalidInput,
        input="tok\n"))
    assert "no credentials on stdin" in str(_fails(google, InvalidInput, input="\n"))
    exc = _fails(google, InvalidInput, input=json.dumps({"developer_token": "d", "client_id": "c"}))
    assert "refresh_token, client_secret" in str(exc)
    with db.tenant_tx(tid) as conn:
        assert conn.execute("select count(*) as n from ads.ad_accounts").fetchone()["n"] == 0
    creds = {"developer_token": "dev", "refresh_token": "r", "client_id": "c", "client_secret": "s"}
    assert "1234567890 connected on google" in _ok(google, input=json.dumps(creds))
    with db.tenant_tx(tid) as conn:
        row = conn.execute("select * from ads.ad_accounts where platform = 'google'").fetchone()
    assert row["connector"] == "google_ads" and decrypt_json(row["credentials_encrypted"]) == creds
    _fails(["accounts", "advance", "--tenant", key, "--platform", "google", "--days", "1"],
           InvalidInput)
    # without --token-stdin the token is asked at a hidden prompt (never an argument)
    out = _ok(["accounts", "connect", "--tenant", key, "--platform", "meta", "--connector", "meta",
               "--account-id", "act_42"], input="tok42\n")
    assert "act_42 connected on meta" in out and "tok42" not in out
    with db.tenant_tx(tid) as conn:
        row = conn.execute("select * from ads.ad_accounts where platform = 'meta'").fetchone()
    assert decrypt_json(row["credentials_encrypted"]) == {"access_token": "tok42"}
