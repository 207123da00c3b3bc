"""System and external-API logs (seed 000 ``system_logs`` and ``api_calls_log``).

* :func:`log_event` writes one row of ``core.system_logs`` (with the stack trace of an exception),
  or of ``core.platform_logs`` for a system-wide event that belongs to no tenant.
* :func:`log_api_call` writes one row of ``core.api_calls_log``; payloads, endpoint and error
  message pass through :func:`redact` first, so no token, secret or password is ever stored.
* :class:`SystemLogHandler` is a :class:`logging.Handler` that copies WARNING and above of the
  ``growthops`` logger into ``core.platform_logs`` (owner connection).

Like every service, the two writers take ``conn`` and never commit: the caller's transaction
(``db.tenant_tx``) owns the write, and row-level security makes a tenant's rows visible to that
tenant only.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.core.errors import InvalidInput
from growthops.core.logs.scrub import scrub_tokens

if TYPE_CHECKING:
    import psycopg

    from growthops.core.db import Database

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDACTED = "[REDACTED]"

#: Keys whose values are secrets, compared after lower-casing and turning ``-`` into ``_``.
#: Source: the credentials carried by the platforms growthops talks to (Meta Graph API
#: ``access_token``/``appsecret_proof``, OAuth 2.0 ``refresh_token``/``client_secret``
#: (RFC 6749 §2.3, §6), HTTP ``Authorization``/``Cookie`` headers (RFC 9110 §11.6.2),
#: provider ``api_key``/``x-api-key`` headers).
SECRET_KEYS = frozenset({
    "access_token", "refresh_token", "id_token", "token", "secret", "client_secret",
    "app_secret", "password", "passwd", "pwd", "authorization", "proxy_authorization",
    "api_key", "apikey", "x_api_key", "appsecret_proof", "private_key", "cookie",
    "set_cookie", "signing_secret", "developer_token", "x_goog_api_key",
})
#: Any key ending with one of these (``page_access_token``, ``webhook_secret``,
#: ``db_password``) is a secret too. ``input_tokens``/``max_tokens`` (LLM usage counts) are not.
SECRET_SUFFIXES = ("_token", "_secret", "_password", "_api_key")

# "Bearer <token>" / "Basic <credentials>" in free text (RFC 6750 §2.1, RFC 7617).
_AUTH_SCHEME_RE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# key=value pairs (URL query strings, form bodies): ?access_token=EAAB...&fields=..., bare key=
# (Google's ``?key=AIza...``); ``client_key=acme`` or ``max_tokens=5`` are left alone.
_SECRET_PARAM_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])((?:[A-Za-z0-9-]+_)*(?:token|secret|password|api_key|apikey|"
    r"appsecret_proof)|key|passwd|pwd)=([^&\s\"']+)"
)
# "secret": "value" inside JSON kept as text (raw response bodies, error messages).
_SECRET_JSON_RE = re.compile(
    r'(?i)("(?:[A-Za-z0-9-]+_)*(?:token|secret|password|api_key|apikey|appsecret_proof|'
    r'authorization)"\s*:\s*)"[^"]*"'
)

_log = logging.getLogger("growthops.logs")


def is_secret_key(key: object) -> bool:
    """Return True when a mapping key names a secret (see :data:`SECRET_KEYS`)."""
    if not isinstance(key, str):
        return False
    k = key.strip().lower().replace("-", "_")
    return k in SECRET_KEYS or k.endswith(SECRET_SUFFIXES)


def redact_text(text: str) -> str:
    """Mask bearer/basic credentials and ``secret=value`` pairs inside a string.

    ``"Bearer abc.def"`` becomes ``"Bearer [REDACTED]"``;
    ``"/me?access_token=EAAB&fields=id"`` becomes ``"/me?access_token=[REDACTED]&fields=id"``;
    ``'{"access_token": "EAAB"}'`` (JSON kept as text) becomes ``'{"access_token": "[REDACTED]"}'``.
    Known secret values and token-shaped strings are replaced first
    (:func:`growthops.core.logs.scrub.scrub_tokens`).
    """
    text = scrub_tokens(text)
    text = _AUTH_SCHEME_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_JSON_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return _SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def redact(obj: Any) -> Any:
    """Return a copy of ``obj`` with every secret replaced by ``"[REDACTED]"``, at any depth.

    Mappings keep their keys; the value of a secret key (:func:`is_secret_key`) becomes
    ``"[REDACTED]"`` whatever it is (string, dict, list). Lists and tuples are walked (tuples
    come back as lists, as JSON would). Strings are passed through :func:`redact_text`.
    Numbers, booleans and None are returned unchanged. Pure: the input is not modified.
    """
    if isinstance(obj, Mapping):
        return {
            k: (REDACTED if is_secret_key(k) and v is not None else redact(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return redact_text(obj)
    return obj


def _json_default(value: Any) -> Any:
    """Serialise the non-JSON types services commonly pass (Decimal, UUID, dates, bytes)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def _jsonb(value: Any) -> Jsonb | None:
    """Wrap a redacted value for a jsonb column (None stays SQL NULL)."""
    if value is None:
        return None
    return Jsonb(redact(value), dumps=lambda v: json.dumps(v, default=_json_default))


def _level(level: str | int) -> str:
    """Normalise a level name or :mod:`logging` number to one of :data:`LEVELS`."""
    name = logging.getLevelName(level) if isinstance(level, int) else str(level).upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise InvalidInput(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    return name


def log_event(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID | str | None,
    level: str | int,
    module: str | None,
    message: str,
    context: Mapping[str, Any] | None = None,
    exc: BaseException | None = None,
) -> int:
    """Write one ``core.system_logs`` row (``core.platform_logs`` without a tenant); return its id.

    ``level`` is a name (DEBUG..CRITICAL, case-insensitive) or a :mod:`logging` number;
    ``context`` is stored as jsonb after :func:`redact`; ``exc`` fills ``exception_type``,
    ``exception_message`` (redacted) and ``stack_trace`` (the full formatted traceback).
    ``tenant_id`` None is a system-wide event, written to ``core.platform_logs`` (no tenant
    column, so ``core.system_logs`` can be distributed on ``tenant_id``): only an owner
    connection may write it.
    Raises :class:`InvalidInput` for an unknown level; database errors propagate.
    """
    exc_type = exc_msg = stack = None
    if exc is not None:
        exc_type = f"{type(exc).__module__}.{type(exc).__qualname__}"
        exc_msg = redact_text(str(exc))
        stack = redact_text("".join(traceback.format_exception(exc)))
    values = [
        _level(level), module, redact_text(message),
        _jsonb(dict(context)) if context is not None else None, exc_type, exc_msg, stack,
    ]
    if tenant_id is None:
        query = """insert into core.platform_logs
             (level, module, message, context, exception_type, exception_message, stack_trace)
           values (%s, %s, %s, %s, %s, %s, %s) returning id"""
    else:
        query = """insert into core.system_logs
             (tenant_id, level, module, message, context,
              exception_type, exception_message, stack_trace)
           values (%s, %s, %s, %s, %s, %s, %s, %s) returning id"""
        values.insert(0, tenant_id)
    row = conn.execute(query, values).fetchone()
    assert row is not None
    return int(row["id"] if isinstance(row, Mapping) else row[0])


#: Default cost of a call logged without one: ``fn(api_name, request_payload) -> Decimal | None``
#: (USD). Registered by :mod:`growthops.connectors.costs` (core cannot import connectors).
_cost_estimator: Callable[[str, Any], Decimal | None] | None = None


def set_cost_estimator(fn: Callable[[str, Any], Decimal | None] | None) -> None:
    """Register the function :func:`log_api_call` uses when a call is logged without a cost."""
    global _cost_estimator
    _cost_estimator = fn


def log_api_call(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID | str,
    api_name: str,
    endpoint: str | None,
    method: str | None,
    request_payload: Any,
    response_payload: Any,
    status_code: int | None,
    duration_ms: int | float | None,
    success: bool,
    error_message: str | None = None,
    cost_estimate: Decimal | float | None = None,
) -> int:
    """Write one ``core.api_calls_log`` row, secrets redacted, and return its id.

    Payloads are any JSON-like value (dict, list, str...) stored as jsonb after :func:`redact`;
    ``endpoint`` (query strings carry Meta's ``access_token``) and ``error_message`` pass
    through :func:`redact_text`. ``duration_ms`` is rounded to whole milliseconds (must be ≥ 0);
    ``cost_estimate`` is in USD at the provider's list price; when None, the registered estimator
    (:func:`set_cost_estimator`, :func:`growthops.connectors.costs.estimate_cost`) fills it
    (still None for an API without a list price). Must run in ``tenant_id``'s
    tenant transaction (row-level security). Raises :class:`InvalidInput` for a negative duration.
    """
    if duration_ms is not None and duration_ms < 0:
        raise InvalidInput(f"duration_ms: {duration_ms} is negative")
    if cost_estimate is None and _cost_estimator is not None:
        cost_estimate = _cost_estimator(api_name, request_payload)
    row = conn.execute(
        """insert into core.api_calls_log
             (tenant_id, api_name, endpoint, method, request_payload, response_payload,
              status_code, duration_ms, success, error_message, cost_estimate)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           returning id""",
        [
            tenant_id, api_name,
            redact_text(endpoint) if endpoint is not None else None,
            method.upper() if method else None,
            _jsonb(request_payload), _jsonb(response_payload), status_code,
            round(duration_ms) if duration_ms is not None else None, success,
            redact_text(error_message) if error_message is not None else None,
            cost_estimate,
        ],
    ).fetchone()
    assert row is not None
    return int(row["id"] if isinstance(row, Mapping) else row[0])


class SystemLogHandler(logging.Handler):
    """Copy WARNING+ records of the ``growthops`` logger to ``core.platform_logs`` (no tenant).

    Each record is written in its own short owner transaction (``db.admin()``), so a rolled-back
    business transaction does not lose its warning. :meth:`emit` never raises: a failure goes to
    :meth:`logging.Handler.handleError` (a line on stderr), and records emitted while the handler
    is writing (for instance by psycopg) are dropped to avoid recursion. ``core.platform_logs`` is
    readable by the owner only.
    """

    def __init__(self, db: Database, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.db = db
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` (never raises)."""
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            exc = record.exc_info[1] if record.exc_info else None
            context = {"logger": record.name, "function": record.funcName, "line": record.lineno}
            with self.db.admin() as conn:
                log_event(
                    conn, tenant_id=None, level=record.levelname, module=record.module,
                    message=record.getMessage(), context=context, exc=exc,
                )
        except Exception:
            self.handleError(record)
        finally:
            self._busy.on = False


def install_log_handler(db: Database, logger_name: str = "growthops") -> SystemLogHandler:
    """Attach one :class:`SystemLogHandler` for ``db`` to ``logger_name`` (idempotent) and return it.

    A handler already attached for another database is replaced.
    """
    logger = logging.getLogger(logger_name)
    for h in list(logger.handlers):
        if isinstance(h, SystemLogHandler):
            if h.db is db:
                return h
            logger.removeHandler(h)
    handler = SystemLogHandler(db)
    logger.addHandler(handler)
    return handler
