"""Meta's signed deliveries are not refused by the app's per-address limits for browsers and
API clients (they come from a few Meta addresses, without credentials headers); forgers are
still stopped by the ``auth_failures`` rule, and the settings can set the webhooks' own rule."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from growthops.core.db import Database
from tests.inbox.conftest import post

EMPTY = {"object": "whatsapp_business_account", "entry": []}


def _client(hook_db: Database, **limits: object) -> TestClient:
    from growthops.app import create_app

    settings = hook_db.settings.model_copy(update={
        "rate_limit_default": "30/minute", "rate_limit_public": "10/minute",
        "rate_limit_auth_failures": "5/minute", **limits})
    return TestClient(create_app(settings, db=hook_db))


def test_signed_deliveries_pass_the_default_and_public_limits(hook_db: Database) -> None:
    client = _client(hook_db)
    codes = [post(client, "whatsapp", EMPTY).status_code for _ in range(60)]
    assert codes == [200] * 60  # twice the default rule, six times the public one
    # the rest of the app keeps its rules for the same address
    health = [client.get("/api/v1/health").status_code for _ in range(40)]
    assert 429 in health


def test_forged_deliveries_are_stopped_by_the_auth_failures_rule(hook_db: Database) -> None:
    client = _client(hook_db)
    forged = [post(client, "instagram", EMPTY, secret="not-the-secret").status_code
              for _ in range(8)]
    assert forged[:5] == [401] * 5 and set(forged[5:]) == {429}
    # the address is now refused, signed or not, until the window ends
    assert post(client, "instagram", EMPTY).status_code == 429


def test_the_settings_set_the_webhooks_own_rule(hook_db: Database) -> None:
    client = _client(hook_db, rate_limit_paths={"/webhooks/": "15/minute"})
    codes = [post(client, "whatsapp", EMPTY).status_code for _ in range(18)]
    assert codes[:15] == [200] * 15 and set(codes[15:]) == {429}
    r = post(client, "whatsapp", EMPTY)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert json.loads(r.text)["error"]["type"]
