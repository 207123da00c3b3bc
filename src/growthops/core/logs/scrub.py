"""One scrubber for every text that is stored, logged or shown: no credential survives it.

:func:`scrub` replaces with ``[REDACTED]``:

1. every **known secret value** of the process: the registry is fed by
   :func:`growthops.core.secrets.decrypt_json` (the values of secret keys of decrypted platform
   credentials: ``access_token``, ``refresh_token``, ``client_secret``...), by
   :func:`register_settings` (Slack bot token and signing secret, ``GROWTHOPS_SECRET_KEY``,
   the Fernet keys of ``GROWTHOPS_SECRET_KEYS``, the database password) and by
   :func:`register_secret` (anything else a module loads);
2. **token-shaped strings**, known or not (:data:`TOKEN_PATTERNS`): Meta user/page tokens
   (``EAA...``), Google OAuth access tokens (``ya29.``) and refresh tokens (``1//...``), Google
   API keys (``AIza...``), Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxo-``, ``xoxs-``,
   ``xapp-``), growthops API keys (``gok_<prefix>_<secret>``: the prefix is kept, it names the
   key without being one), Fernet tokens (``gAAAAA...``), Airtable personal access tokens
   (``pat`` + 14 characters + ``.`` + 64 hex);
3. then :func:`growthops.core.logs.service.redact_text` masks ``Bearer ...`` and
   ``secret=value`` pairs.

Where it is applied: the writers of ``core.system_logs`` and ``core.api_calls_log``
(:mod:`growthops.core.logs.service`), the audit trail (``ads.audit_log.reason``), execution
errors (``ads.execution_logs.error_message``), the API's error bodies, the dashboard's error
pages, the CLI's error line, and every Python log record (:func:`install_log_scrubber`).

Values shorter than :data:`MIN_SECRET_CHARS` are not registered (too likely to match ordinary
text; no real credential is that short).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
#: Shortest value registered as a known secret.
MIN_SECRET_CHARS = 8
#: Token shapes, scrubbed even when the value was never registered. Sources: Meta access token
#: format (tokens start with "EAA"), Google OAuth 2.0 (access tokens "ya29.", refresh tokens
#: "1//"), Google API keys ("AIza" + 35), Slack token types docs (xoxb/xoxp/xoxa/xoxo/xoxs,
#: xapp), cryptography's Fernet spec (version byte 0x80 -> "gAAAAA"), Airtable's personal access
#: tokens ("pat" + 14-character id + "." + 64 hex secret).
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bEAA[A-Za-z0-9]{20,}"),
    re.compile(r"\bya29\.[A-Za-z0-9_\-.]{16,}"),
    re.compile(r"(?<![\w/])1//0[A-Za-z0-9_\-]{20,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),
    re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bgAAAAA[A-Za-z0-9_\-=]{40,}"),
    re.compile(r"\bpat[A-Za-z0-9]{14}\.[0-9a-f]{64}\b"),
)
_GOK = re.compile(r"\b(gok_[0-9a-f]{12}_)[A-Za-z0-9_\-]{16,}")

_lock = threading.Lock()
_known: set[str] = set()
_compiled: re.Pattern[str] | None = None


def register_secret(value: Any) -> None:
    """Remember ``value`` (a string of at least :data:`MIN_SECRET_CHARS`) as a secret."""
    global _compiled
    if not isinstance(value, str):
        return
    value = value.strip()
    if len(value) < MIN_SECRET_CHARS or value in _known:
        return
    with _lock:
        _known.add(value)
        _compiled = None


def register_secrets(credentials: Any) -> None:
    """Register the secret values of a credentials object (any depth).

    A value is a secret when its key names one (``*_token``, ``*_secret``, ``password``...:
    :func:`growthops.core.logs.service.is_secret_key`) or when it has a token's shape. From
    then on, the process's log records are scrubbed too (:func:`install_log_scrubber`).
    """
    from growthops.core.logs.service import is_secret_key

    install_log_scrubber()
    stack: list[tuple[Any, bool]] = [(credentials, False)]
    while stack:
        node, secret = stack.pop()
        if isinstance(node, Mapping):
            stack.extend((v, secret or is_secret_key(k)) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((v, secret) for v in node)
        elif isinstance(node, str) and (secret or _token_shaped(node)):
            register_secret(node)


def register_settings(settings: Any) -> None:
    """Register the secrets of a :class:`growthops.settings.Settings` (every ``SecretStr``
    field, each comma-separated part too: Slack tokens, the Meta app secrets and verify token,
    LLM keys, SMTP password...) and of the environment (``GROWTHOPS_SECRET_KEYS``,
    ``GROWTHOPS_SECRET_KEY``, the database password)."""
    import os
    from urllib.parse import urlsplit

    for name in getattr(type(settings), "model_fields", {}):
        value = getattr(settings, name, None)
        if value is not None and hasattr(value, "get_secret_value"):
            secret = value.get_secret_value()
            register_secret(secret)
            for part in str(secret).split(","):
                register_secret(part.strip())
    for part in os.environ.get("GROWTHOPS_SECRET_KEYS", "").split(","):
        register_secret(part)
    register_secret(os.environ.get("GROWTHOPS_SECRET_KEY"))
    for url in (getattr(settings, "database_url", None), getattr(settings, "app_database_url",
                                                                 None)):
        if url and "://" in url:
            with contextlib.suppress(ValueError):
                register_secret(urlsplit(url).password)


def known_count() -> int:
    """How many secret values are registered (for tests and diagnostics)."""
    return len(_known)


def _token_shaped(text: str) -> bool:
    return any(p.search(text) for p in TOKEN_PATTERNS) or bool(_GOK.search(text))


def _known_re() -> re.Pattern[str] | None:
    global _compiled
    with _lock:
        if _compiled is None and _known:
            alternatives = sorted(_known, key=len, reverse=True)  # longest first
            _compiled = re.compile("|".join(re.escape(v) for v in alternatives))
        return _compiled


def scrub_tokens(text: str) -> str:
    """Replace known secret values and token-shaped strings in ``text`` (steps 1-2 only)."""
    if not text:
        return text
    known = _known_re()
    if known is not None:
        text = known.sub(REDACTED, text)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _GOK.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def scrub(text: Any) -> Any:
    """Return ``text`` without any credential (see the module docstring); None stays None,
    non-strings are returned unchanged."""
    if not isinstance(text, str) or not text:
        return text
    from growthops.core.logs.service import redact_text

    return redact_text(text)


def scrub_all(values: Iterable[Any]) -> list[Any]:
    """:func:`scrub` each value."""
    return [scrub(v) for v in values]


class _ScrubbingFactory:
    """A log-record factory whose records carry scrubbed messages and tracebacks."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
            clean = scrub(message)
            if clean != message:
                record.msg, record.args = clean, ()
            if record.exc_info and record.exc_info[1] is not None:
                text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
                clean = scrub(text)
                if clean != text:
                    record.exc_text = clean
        except Exception:  # noqa: BLE001 - logging must never fail because of the scrubber
            pass
        return record


def install_log_scrubber() -> None:
    """Scrub every Python log record of the process (idempotent): its message and traceback."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _ScrubbingFactory):
        logging.setLogRecordFactory(_ScrubbingFactory(current))
