"""A tenant's leads settings (what the seed's ``clients`` has and the tenant lacks) and its
public form tokens."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from growthops.core.errors import InvalidInput
from growthops.leads.replies import settings_of

FIELDS = ("business_name", "language", "email_tone", "ai_personalized_reply", "booking_link",
          "reply_from", "reply_daily_cap", "is_test")


def get(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the settings (defaults when never set)."""
    return settings_of(conn, tenant_id=tenant_id)


def update(conn: Any, *, tenant_id: UUID | str, **changes: Any) -> dict[str, Any]:
    """Set some settings (see :data:`FIELDS`); return them all. Raises :class:`InvalidInput`."""
    bad = set(changes) - set(FIELDS)
    if bad:
        raise InvalidInput(f"settings: unknown {sorted(bad)}")
    if changes.get("language") not in (None, "en", "fr"):
        raise InvalidInput("language: en or fr")
    if changes.get("email_tone") not in (None, "professional", "friendly", "formal", "energetic"):
        raise InvalidInput("email_tone: professional, friendly, formal or energetic")
    link = changes.get("booking_link")
    if link is not None and urlsplit(link).scheme not in ("http", "https"):
        raise InvalidInput("booking_link: an http(s) URL")
    current = {**get(conn, tenant_id=tenant_id), **changes}
    cols = [c for c in FIELDS if c in current]
    conn.execute(
        f"""insert into leads.tenant_settings (tenant_id, {', '.join(cols)})
            values (%s, {', '.join(['%s'] * len(cols))})
            on conflict (tenant_id) do update set
            {', '.join(f'{c} = excluded.{c}' for c in cols)}, updated_at = now()""",
        [str(tenant_id), *[current[c] for c in cols]])
    return get(conn, tenant_id=tenant_id)


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise InvalidInput(f"origin: {value!r} is not scheme://host[:port]")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def create_form_token(conn: Any, *, tenant_id: UUID | str, name: str, origins: list[str],
                      by: str | None = None) -> dict[str, Any]:
    """Create a public form token for ``origins`` (``https://www.example.com``); return the row."""
    clean = sorted({_origin(o) for o in origins})
    if not clean:
        raise InvalidInput("origin: at least one allowed origin")
    return conn.execute(
        """insert into leads.form_tokens (tenant_id, token, name, allowed_origins, created_by)
           values (%s, %s, %s, %s, %s) returning *""",
        [str(tenant_id), "gof_" + secrets.token_urlsafe(24), name, clean, by]).fetchone()


def revoke_form_token(conn: Any, *, tenant_id: UUID | str, token_id: int) -> None:
    """Revoke a form token at once."""
    conn.execute("""update leads.form_tokens set revoked_at = coalesce(revoked_at, now())
                    where tenant_id = %s and token_id = %s""", [str(tenant_id), token_id])
