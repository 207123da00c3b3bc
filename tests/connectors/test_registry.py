"""Registry (ads.ad_accounts → connector) and secrets at rest (MultiFernet, key rotation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from growthops.connectors.base import AdPlatform
from growthops.connectors.google_ads import GoogleAdsAccount
from growthops.connectors.meta import MetaAdAccount
from growthops.connectors.registry import get_platform, register_account
from growthops.connectors.sandbox import SandboxAccount, create_sandbox_account
from growthops.core import secrets
from growthops.core.errors import ConfigError, InvalidInput, NotFound
from tests.conftest import new_tenant
from tests.connectors.graph_server import GraphServer

TOKEN = "EAAB-registry-token-never-stored-in-clear"


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ks = [secrets.generate_key(), secrets.generate_key()]
    monkeypatch.setenv(secrets.ENV_VAR, ks[0])
    return ks


def test_secrets_encrypt_decrypt_and_rotate(
    keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key, new_key = keys
    token = secrets.encrypt("s3cret-value")
    assert "s3cret" not in token and secrets.decrypt(token) == "s3cret-value"
    # Rotation: the new key first encrypts, the old one still decrypts; rotate() re-encrypts.
    monkeypatch.setenv(secrets.ENV_VAR, f"{new_key}, {old_key}")
    assert secrets.decrypt(token) == "s3cret-value"
    rotated = secrets.rotate(token)
    monkeypatch.setenv(secrets.ENV_VAR, new_key)
    assert secrets.decrypt(rotated) == "s3cret-value"
    with pytest.raises(ConfigError, match=secrets.ENV_VAR):
        secrets.decrypt(token)  # its key was dropped
    assert secrets.decrypt_json(secrets.encrypt_json({"a": 1})) == {"a": 1}


def test_secrets_missing_or_bad_keys_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    with pytest.raises(ConfigError, match="GROWTHOPS_SECRET_KEYS is not set"):
        secrets.encrypt("x")
    monkeypatch.setenv(secrets.ENV_VAR, "not-a-key")
    with pytest.raises(ConfigError, match="GROWTHOPS_SECRET_KEYS: key #1") as err:
        secrets.encrypt("x")
    assert "not-a-key" not in str(err.value)


def test_get_platform_sandbox_and_not_found(db) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        with pytest.raises(NotFound) as err:
            get_platform(conn, tenant_id=tenant.tenant_id, platform="meta")
        assert str(tenant.tenant_id) in str(err.value) and "'meta'" in str(err.value)
        create_sandbox_account(
            conn, tenant_id=tenant.tenant_id, seed=1, start=date(2024, 1, 1), days_history=3
        )
        p = get_platform(conn, tenant_id=tenant.tenant_id, platform="meta")
    assert (
        isinstance(p, SandboxAccount)
        and isinstance(p, AdPlatform)
        and p.last_day == date(2024, 1, 3)
    )


def test_get_platform_meta_decrypts_and_logs_calls(db, keys: list[str]) -> None:
    tenant = new_tenant(db)
    with GraphServer(TOKEN) as graph, db.tenant_tx(tenant.tenant_id) as conn:
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="meta",
            connector="meta",
            account_id="1234567890",
            credentials={"access_token": TOKEN},
            settings={"base_url": graph.url},
        )
        stored = conn.execute("select credentials_encrypted from ads.ad_accounts").fetchone()
        assert TOKEN not in stored["credentials_encrypted"]
        p = get_platform(conn, tenant_id=tenant.tenant_id, platform="meta")
        assert isinstance(p, MetaAdAccount) and p.currency == "EUR"  # the tenant's currency
        assert p.get_entity("120210000000000101").daily_budget == Decimal("50.00")
        logs = conn.execute(
            "select endpoint, request_payload::text as req from core.api_calls_log"
        ).fetchall()
    assert logs and all(TOKEN not in (r["endpoint"] + r["req"]) for r in logs)


def test_get_platform_google_builds_a_client_without_network(db, keys: list[str]) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="google",
            connector="google_ads",
            account_id="123-456-7890",
            credentials={
                "developer_token": "dev",
                "refresh_token": "1//r",
                "client_id": "cid",
                "client_secret": "csecret",
                "login_customer_id": "9998887776",
            },
        )
        p = get_platform(conn, tenant_id=tenant.tenant_id, platform="google")
        assert isinstance(p, GoogleAdsAccount) and p.customer_id == "1234567890"
        assert p.client.login_customer_id == "9998887776" and p.client.use_proto_plus
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="google",
            connector="google_ads",
            account_id="1234567890",
            credentials={"refresh_token": "x"},
        )
        with pytest.raises(ConfigError, match="developer_token"):
            get_platform(conn, tenant_id=tenant.tenant_id, platform="google")
        with pytest.raises(InvalidInput):
            register_account(
                conn, tenant_id=tenant.tenant_id, platform="x", connector="tiktok", account_id="1"
            )


def test_get_platform_without_keys_is_a_config_error(db, keys: list[str], monkeypatch) -> None:
    tenant = new_tenant(db)
    with db.tenant_tx(tenant.tenant_id) as conn:
        register_account(
            conn,
            tenant_id=tenant.tenant_id,
            platform="meta",
            connector="meta",
            account_id="1",
            credentials={"access_token": TOKEN},
        )
        monkeypatch.delenv(secrets.ENV_VAR)
        with pytest.raises(ConfigError, match=secrets.ENV_VAR):
            get_platform(conn, tenant_id=tenant.tenant_id, platform="meta")
