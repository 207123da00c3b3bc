"""Inbox test helpers: a database whose settings carry a Meta app secret, signed deliveries,
a tenant with a WhatsApp and an Instagram account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from growthops.connectors.meta_webhooks import sign
from growthops.core.db import Database
from growthops.core.secrets import generate_key
from tests.conftest import new_tenant

SECRET = "test-app-secret-0123456789"
VERIFY = "test-verify-token"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WA_PHONE = "106540352242922"
IG_ACCOUNT = "17841405793187218"


def fixture(name: str) -> dict[str, Any]:
    """Load ``tests/fixtures/<platform>/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def with_account_ids(payload: dict[str, Any], wa: str | None = None,
                     ig: str | None = None) -> dict[str, Any]:
    """Replace the fixtures' receiving account ids (so each test routes to its own tenant)."""
    text = json.dumps(payload)
    if wa:
        text = text.replace(WA_PHONE, wa)
    if ig:
        text = text.replace(IG_ACCOUNT, ig)
    return json.loads(text)


@pytest.fixture(scope="session")
def hook_db(db: Database) -> Database:
    """The shared test database, with a Meta app secret and verify token in its settings."""
    settings = db.settings.model_copy(update={"meta_app_secret": SecretStr(SECRET),
                                              "meta_verify_token": SecretStr(VERIFY)})
    d = Database(settings)
    yield d
    d.close()


@pytest.fixture(scope="session")
def client(hook_db: Database) -> TestClient:
    """The app on :func:`hook_db`."""
    from growthops.app import create_app

    return TestClient(create_app(db=hook_db))


@pytest.fixture()
def secret_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    """Set GROWTHOPS_SECRET_KEYS for the test."""
    key = generate_key()
    monkeypatch.setenv("GROWTHOPS_SECRET_KEYS", key)
    return key


def post(client: TestClient, platform: str, payload: Any, *, secret: str = SECRET,
         raw: bytes | None = None, signature: str | None = "auto") -> Any:
    """POST a delivery signed with ``secret`` (``signature=None``: unsigned)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(body, secret)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(f"/webhooks/{platform}", content=body, headers=headers)


def inbox_tenant(db: Database, **fields: Any) -> dict[str, Any]:
    """A tenant with a sandbox WhatsApp number and a sandbox Instagram account of unique ids."""
    from growthops.inbox.accounts import connect

    t = new_tenant(db, **fields)
    wa = f"wa-{t.client_key}"
    ig = f"ig-{t.client_key}"
    with db.tenant_tx(t.tenant_id) as conn:
        wa_row = connect(conn, tenant_id=t.tenant_id, platform="whatsapp", account_id=wa,
                         connector="sandbox", account_name="WA test")
        ig_row = connect(conn, tenant_id=t.tenant_id, platform="instagram", account_id=ig,
                         connector="sandbox", account_name="IG test")
    return {"tenant": t, "wa": wa, "ig": ig, "wa_id": wa_row["social_account_id"],
            "ig_id": ig_row["social_account_id"]}


def wa_text(phone_number_id: str, wa_id: str, mid: str, text: str, at: datetime,
            name: str = "Customer") -> dict[str, Any]:
    """A WhatsApp text delivery (the shape of ``fixtures/whatsapp/text.json``)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1555", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": mid, "timestamp": str(int(at.timestamp())),
                          "type": "text", "text": {"body": text}}]}}]}]}


def wa_status(phone_number_id: str, wa_id: str, mid: str, status: str,
              at: datetime) -> dict[str, Any]:
    """A WhatsApp status delivery."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1555", "phone_number_id": phone_number_id},
            "statuses": [{"id": mid, "status": status, "timestamp": str(int(at.timestamp())),
                          "recipient_id": wa_id}]}}]}]}


def ig_text(ig_account: str, sender: str, mid: str, text: str, at: datetime,
            echo: bool = False) -> dict[str, Any]:
    """An Instagram messaging delivery (an echo when ``echo``: sent by the account)."""
    msg: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        msg["is_echo"] = True
    s, r = (ig_account, sender) if echo else (sender, ig_account)
    return {"object": "instagram", "entry": [{"id": ig_account, "time": int(at.timestamp() * 1000),
            "messaging": [{"sender": {"id": s}, "recipient": {"id": r},
                           "timestamp": int(at.timestamp() * 1000), "message": msg}]}]}


def process_pending(db: Database) -> list[dict[str, Any]]:
    """Process every stored, unprocessed delivery (what the worker does); return the summaries."""
    from growthops.inbox.ingest import process_event

    with db.admin() as conn:
        ids = [r["event_id"] for r in conn.execute(
            "select event_id from inbox.webhook_events where processed_at is null "
            "order by event_id").fetchall()]
    return [process_event(db, i) for i in ids]


def q(db: Database, tenant_id: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Run ``sql`` (first parameter: the tenant id) in the tenant's transaction."""
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(sql, [str(tenant_id), *params]).fetchall()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
