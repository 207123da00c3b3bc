"""Secrets at rest: platform credentials encrypted with Fernet, keys rotated with MultiFernet.

Keys come from the environment variable ``GROWTHOPS_SECRET_KEYS``: a comma-separated list of
Fernet keys (32 random bytes, URL-safe base64, as made by :func:`generate_key`). The FIRST key
encrypts; EVERY key decrypts, so a key is rotated by putting a new key first, re-encrypting the
stored tokens with :func:`rotate`, then dropping the old key. Source: ``cryptography``'s
documentation of ``Fernet`` (AES-128-CBC + HMAC-SHA256, authenticated) and ``MultiFernet``
(key rotation). Tokens are ASCII strings, stored as ``text`` (``ads.ad_accounts.credentials_encrypted``).

Nothing here ever logs or returns a key or a plaintext in an error message.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from growthops.core.errors import ConfigError
from growthops.core.logs.scrub import register_secrets

ENV_VAR = "GROWTHOPS_SECRET_KEYS"


def generate_key() -> str:
    """Return a new random Fernet key (URL-safe base64 text) for ``GROWTHOPS_SECRET_KEYS``."""
    return Fernet.generate_key().decode("ascii")


def _keys() -> MultiFernet:
    """Build the MultiFernet from ``GROWTHOPS_SECRET_KEYS``.

    Raises :class:`ConfigError` naming the variable when it is unset, empty, or holds an
    entry that is not a valid Fernet key (the entry's position is given, never its value).
    """
    raw = os.environ.get(ENV_VAR, "")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ConfigError(
            f"{ENV_VAR} is not set: give one or more comma-separated Fernet keys "
            "(make one with `python -c 'from growthops.core.secrets import generate_key; "
            "print(generate_key())'`); the first key encrypts, all keys decrypt"
        )
    fernets = []
    for i, p in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(p.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigError(
                f"{ENV_VAR}: key #{i} is not a valid Fernet key (32 bytes, URL-safe base64)"
            ) from exc
    return MultiFernet(fernets)


def encrypt(text: str) -> str:
    """Encrypt ``text`` with the first key of ``GROWTHOPS_SECRET_KEYS``; return the token.

    Raises :class:`ConfigError` when the keys are missing or invalid.
    """
    return _keys().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a token made by :func:`encrypt` with any key of ``GROWTHOPS_SECRET_KEYS``.

    Raises :class:`ConfigError` when the keys are missing or invalid, or when no key decrypts
    the token (wrong key, key removed too early, or a tampered token).
    """
    try:
        return _keys().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise ConfigError(
            f"no key in {ENV_VAR} decrypts this secret (was its key removed before the "
            "secret was re-encrypted with the new one?)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the current first key (after adding a new key in front).

    Raises :class:`ConfigError` like :func:`decrypt`.
    """
    try:
        return _keys().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise ConfigError(f"no key in {ENV_VAR} decrypts this secret") from exc


def encrypt_json(value: dict[str, Any]) -> str:
    """Encrypt a JSON object (e.g. a platform's credentials) and return the token."""
    return encrypt(json.dumps(value, sort_keys=True))


def decrypt_json(token: str) -> dict[str, Any]:
    """Decrypt a token made by :func:`encrypt_json`; :class:`ConfigError` if it is not an object.

    The secret values (values of secret keys, token-shaped strings) are registered with the
    scrubber, so they never appear in anything stored, logged or shown afterwards."""
    value = json.loads(decrypt(token))
    if not isinstance(value, dict):
        raise ConfigError("the decrypted secret is not a JSON object")
    register_secrets(value)  # the scrubber now knows these values (growthops.core.logs.scrub)
    return value
