"""System and API logs: redaction of secrets, tenant isolation, the logging handler."""

from __future__ import annotations

import copy
import gc
import logging
import uuid
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest

from growthops.core.db import Database
from growthops.core.errors import InvalidInput
from growthops.core.logs.service import (
    REDACTED,
    SystemLogHandler,
    log_api_call,
    log_event,
    redact,
)
from tests.conftest import new_tenant


@pytest.fixture(scope="session", autouse=True)
def _release_template_connections(template_db: Database) -> None:
    """Collect the migration tool's unclosed connection to the template before cloning it.

    ``migrate()`` leaves yoyo's backend connection to be garbage-collected; while it lives,
    ``CREATE DATABASE ... TEMPLATE`` fails with ObjectInUse. Remove once migrate closes it.
    """
    gc.collect()

PAYLOAD = {
    "access_token": "EAABsecret1",
    "fields": "id,name,spend",
    "limit": 50,
    "nested": {
        "headers": {"Authorization": "Bearer sk-live-123", "Content-Type": "application/json"},
        "credentials": [{"client_secret": "cs-9", "client_id": "app-1"},
                        {"page_access_token": "EAAP", "api_key": "k-1", "Password": "hunter2"}],
        "appsecret_proof": "abc123",
        "X-Api-Key": "xk",
    },
    "usage": {"input_tokens": 812, "max_tokens": 1024},
    "notes": ["see https://graph.facebook.com/v19.0/me?access_token=EAAB2&fields=id", 7, None],
    "client_key": "acme",
}


def test_redact_removes_secrets_at_any_depth_and_keeps_the_rest() -> None:
    original = copy.deepcopy(PAYLOAD)
    out = redact(PAYLOAD)
    assert original == PAYLOAD  # pure
    assert out["access_token"] == REDACTED
    assert out["nested"]["headers"] == {"Authorization": REDACTED,
                                        "Content-Type": "application/json"}
    assert out["nested"]["credentials"] == [
        {"client_secret": REDACTED, "client_id": "app-1"},
        {"page_access_token": REDACTED, "api_key": REDACTED, "Password": REDACTED}]
    assert out["nested"]["appsecret_proof"] == REDACTED
    assert out["nested"]["X-Api-Key"] == REDACTED
    assert out["notes"] == [
        f"see https://graph.facebook.com/v19.0/me?access_token={REDACTED}&fields=id", 7, None]
    # Everything that is not a secret is unchanged.
    assert out["fields"] == "id,name,spend" and out["limit"] == 50
    assert out["usage"] == {"input_tokens": 812, "max_tokens": 1024}
    assert out["client_key"] == "acme"
    flat = repr(out)
    for secret in ("EAABsecret1", "sk-live-123", "cs-9", "EAAP", "k-1", "hunter2", "abc123",
                   "xk", "EAAB2"):
        assert secret not in flat


def test_redact_masks_bearer_tokens_and_json_text() -> None:
    assert redact("Authorization: Bearer eyJhbGciOi.J9x-_~+/=") == f"Authorization: Bearer {REDACTED}"
    assert redact('{"access_token": "EAAB", "token_type": "bearer"}') == (
        f'{{"access_token": "{REDACTED}", "token_type": "bearer"}}')
    assert redact("GET /v1/maps?key=AIza99&client_key=acme") == (
        f"GET /v1/maps?key={REDACTED}&client_key=acme")
    assert redact(("a", {"token": None})) == ["a", {"token": None}]


def _rows(db: Database, tenant_id: uuid.UUID | None, table: str) -> list[dict]:
    ctx = db.tenant_tx(tenant_id) if tenant_id else db.app_tx()
    with ctx as conn:
        return conn.execute(f"select * from core.{table} order by id").fetchall()


def test_log_event_rows_are_visible_to_their_tenant_only(db: Database) -> None:
    a = new_tenant(db)
    b = new_tenant(db)
    try:
        raise RuntimeError("sync failed: ?access_token=EAABleak")
    except RuntimeError as exc:
        with db.tenant_tx(a.tenant_id) as conn:
            log_id = log_event(conn, tenant_id=a.tenant_id, level="error", module="ads.sync",
                               message="Meta sync failed", context={"token": "t-1", "ad_id": 42},
                               exc=exc)
    rows = _rows(db, a.tenant_id, "system_logs")
    assert [r["id"] for r in rows] == [log_id]
    row = rows[0]
    assert row["level"] == "ERROR" and row["module"] == "ads.sync"
    assert row["context"] == {"token": REDACTED, "ad_id": 42}
    assert row["exception_type"] == "builtins.RuntimeError"
    assert "Traceback" in row["stack_trace"] and "test_logs.py" in row["stack_trace"]
    assert "EAABleak" not in row["stack_trace"] + row["exception_message"]
    assert _rows(db, b.tenant_id, "system_logs") == []
    assert _rows(db, None, "system_logs") == []
    with pytest.raises(InvalidInput, match="level"), db.tenant_tx(a.tenant_id) as conn:
        log_event(conn, tenant_id=a.tenant_id, level="LOUD", module=None, message="x")


def test_log_api_call_stores_redacted_payloads_for_its_tenant_only(db: Database) -> None:
    a = new_tenant(db)
    b = new_tenant(db)
    with db.tenant_tx(a.tenant_id) as conn:
        log_api_call(
            conn, tenant_id=a.tenant_id, api_name="meta",
            endpoint="https://graph.facebook.com/v19.0/act_1/insights?access_token=EAAB&level=ad",
            method="get", request_payload=PAYLOAD,
            response_payload={"data": [{"spend": Decimal("12.50"), "ad_id": "9"}],
                              "paging": {"next": "https://x/?access_token=EAAC&after=QVFI"}},
            status_code=200, duration_ms=153.6, success=True, cost_estimate=Decimal("0.000100"),
        )
    rows = _rows(db, a.tenant_id, "api_calls_log")
    assert len(rows) == 1
    row = rows[0]
    assert row["endpoint"].endswith(f"insights?access_token={REDACTED}&level=ad")
    assert row["method"] == "GET" and row["duration_ms"] == 154 and row["status_code"] == 200
    assert row["request_payload"] == redact(PAYLOAD)
    assert row["response_payload"]["data"] == [{"spend": "12.50", "ad_id": "9"}]
    assert row["response_payload"]["paging"]["next"] == f"https://x/?access_token={REDACTED}&after=QVFI"
    assert row["cost_estimate"] == Decimal("0.000100")
    assert _rows(db, b.tenant_id, "api_calls_log") == []
    assert _rows(db, None, "api_calls_log") == []


def test_handler_writes_warnings_without_a_tenant(db: Database) -> None:
    marker = f"quota almost reached {uuid.uuid4().hex}"
    logger = logging.getLogger("growthops.tests.logs")
    handler = SystemLogHandler(db)
    logger.addHandler(handler)
    try:
        logger.info("not copied " + marker)
        logger.warning(marker + " password=hunter2")
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            logger.exception("boom " + marker)
    finally:
        logger.removeHandler(handler)
    with db.admin() as conn:
        rows = conn.execute(
            "select level, message, exception_type, context from core.platform_logs "
            "where message like %s order by id", [f"%{marker}%"]).fetchall()
        in_tenant_logs = conn.execute(
            "select count(*) as n from core.system_logs where message like %s",
            [f"%{marker}%"]).fetchone()["n"]
    assert [r["level"] for r in rows] == ["WARNING", "ERROR"]
    assert in_tenant_logs == 0  # system-wide events are not tenant rows (no NULL tenant_id)
    assert rows[0]["message"].endswith(f"password={REDACTED}")
    assert rows[1]["exception_type"] == "builtins.ZeroDivisionError"
    assert rows[0]["context"]["logger"] == "growthops.tests.logs"
    # System rows are not visible to the application role: it has no grant on the table.
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.app_tx() as conn:
        conn.execute("select count(*) from core.platform_logs")


def test_handler_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenDb:
        @contextmanager
        def admin(self):
            raise ConnectionError("database down")
            yield

    handled = []
    handler = SystemLogHandler(BrokenDb())  # type: ignore[arg-type]
    monkeypatch.setattr(handler, "handleError", lambda record: handled.append(record.msg))
    record = logging.LogRecord("growthops.x", logging.ERROR, __file__, 1, "lost", None, None)
    handler.emit(record)  # must not raise
    assert handled == ["lost"]
