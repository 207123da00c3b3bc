"""``growthops ads airtable configure|show|sync|remove`` in process against a local Airtable."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from growthops.cli import app
from growthops.core.secrets import generate_key
from tests.conftest import new_tenant
from tests.connectors.airtable_server import AirtableServer

TOKEN = "patCliCliCliCliCl.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
BASE = "appCLICLICLICLICL"
runner = CliRunner()


def test_configure_show_sync_remove(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", generate_key())
    t = new_tenant(db)
    with AirtableServer(TOKEN) as server:
        res = runner.invoke(
            app,
            [
                "ads",
                "airtable",
                "configure",
                "--tenant",
                t.client_key,
                "--base",
                BASE,
                "--endpoint-url",
                server.url,
                "--token-stdin",
                "--table",
                "clients=Clients",
            ],
            input=TOKEN + "\n",
        )
        assert res.exit_code == 0, res.output
        assert "saved (enabled)" in res.output and TOKEN not in res.output

        res = runner.invoke(app, ["ads", "airtable", "sync", "--tenant", t.client_key])
        assert res.exit_code == 0, res.output
        assert "1 created" in res.output
        assert set(server.by_key(BASE, "Clients")) == {t.client_key}

        server.edit(BASE, "Clients", t.client_key, roi_target=4.5)
        with db.tenant_tx(t.tenant_id) as conn:
            conn.execute(
                "update core.tenants set roi_target = 5 where tenant_id = %s", [t.tenant_id]
            )
        res = runner.invoke(
            app, ["ads", "airtable", "sync", "--tenant", t.client_key, "--lang", "fr"]
        )
        assert res.exit_code == 0, res.output
        assert "1 conflits (PostgreSQL conservé)" in res.output
        assert (
            f"conflit : clients {t.client_key} roi_target : Airtable '4.500', PostgreSQL '5.000'"
            in res.output
        )

        res = runner.invoke(
            app, ["ads", "airtable", "show", "--tenant", t.client_key, "--lang", "fr"]
        )
        assert res.exit_code == 0, res.output
        assert BASE in res.output and TOKEN not in res.output
        assert "clients: 1" in res.output and "chiffré" in res.output

        bad = runner.invoke(
            app, ["ads", "airtable", "configure", "--tenant", t.client_key, "--base", "nope"]
        )
        assert bad.exit_code != 0 and "base_id" in str(bad.exception or bad.output)

        res = runner.invoke(app, ["ads", "airtable", "remove", "--tenant", t.client_key])
        assert res.exit_code == 0 and "removed" in res.output
        res = runner.invoke(app, ["ads", "airtable", "sync", "--tenant", t.client_key])
        assert res.exit_code != 0
