"""A tenant's connected WhatsApp numbers and Instagram accounts (``inbox.social_accounts``).

Connecting stores the access token Fernet-encrypted (:mod:`growthops.core.secrets`,
``GROWTHOPS_SECRET_KEYS``); it is decrypted only to build a transport. An external account id
routes webhooks to exactly one tenant: connecting one already connected by another tenant is
refused (a global unique index cannot have tenant_id first, so the check is here, through the
routing function). ``connector='sandbox'`` accounts need no token and reach no network.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.connectors.messaging import MessagingTransport
from growthops.core.errors import ConfigError, Conflict, InvalidInput, NotFound
from growthops.core.i18n import _
from growthops.core.secrets import decrypt, encrypt

PLATFORMS = ("whatsapp", "instagram")
CONNECTORS = ("graph", "sandbox")
#: Graph ids are digits (phone_number_id, Instagram account id); sandbox ids are free slugs.
_GRAPH_ID = re.compile(r"^\d{1,30}$")
_SANDBOX_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PUBLIC = """social_account_id, platform, account_id, account_name, connector, token_expires_at,
             scopes, metadata, status, status_reason, created_at, updated_at,
             access_token is not null as has_token"""


def connect(conn: Any, *, tenant_id: UUID | str, platform: str, account_id: str,
            account_name: str | None = None, access_token: str | None = None,
            connector: str = "graph", token_expires_at: datetime | None = None,
            scopes: list[str] | None = None, metadata: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """Connect (or reconnect: new token, status back to ``active``) an account; return it.

    ``account_id``: WhatsApp ``phone_number_id`` or the Instagram account id (digits) for
    ``graph``; any slug for ``sandbox``. ``access_token`` is required for ``graph``.
    ``metadata``: non-secret settings (``base_url``, ``api_version``, ``waba_id``...).
    Raises :class:`InvalidInput` naming the field, :class:`Conflict` when another tenant has
    this account, :class:`ConfigError` when ``GROWTHOPS_SECRET_KEYS`` is missing.
    """
    if platform not in PLATFORMS:
        raise InvalidInput(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    if connector not in CONNECTORS:
        raise InvalidInput(f"connector: {connector!r} is not one of {', '.join(CONNECTORS)}")
    acc = (account_id or "").strip()
    if not (_GRAPH_ID if connector == "graph" else _SANDBOX_ID).match(acc):
        raise InvalidInput(_("en", "account_id: {value!r} is not a {platform} account id "
                                   "(digits: the phone_number_id or the Instagram account id)",
                             value=account_id[:80], platform=platform))
    if connector == "graph" and not (access_token or "").strip():
        raise InvalidInput("access_token: required for a graph account")
    others = conn.execute("select tenant_id from inbox.route_accounts(%s, %s) where tenant_id <> %s",
                          [platform, [acc], str(tenant_id)]).fetchall()
    if others:
        raise Conflict(_("en", "account_id: {platform} account {acc} is connected by another "
                               "tenant; disconnect it there first", platform=platform, acc=acc))
    token = encrypt(access_token.strip()) if access_token and access_token.strip() else None
    return conn.execute(
        f"""insert into inbox.social_accounts (tenant_id, platform, account_id, account_name,
              connector, access_token, token_expires_at, scopes, metadata)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (tenant_id, platform, account_id) do update set
              account_name = coalesce(excluded.account_name, social_accounts.account_name),
              connector = excluded.connector, access_token = excluded.access_token,
              token_expires_at = excluded.token_expires_at, scopes = excluded.scopes,
              metadata = social_accounts.metadata || excluded.metadata,
              status = 'active', status_reason = null, updated_at = now()
            returning {_PUBLIC}""",
        [str(tenant_id), platform, acc, account_name, connector, token, token_expires_at,
         scopes or [], Jsonb(metadata or {})]).fetchone()


def list_accounts(conn: Any, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return the tenant's accounts (never a token: ``has_token`` says whether one is stored)."""
    return conn.execute(f"select {_PUBLIC} from inbox.social_accounts where tenant_id = %s "
                        "order by platform, account_id", [str(tenant_id)]).fetchall()


def get_account(conn: Any, *, tenant_id: UUID | str, social_account_id: int) -> dict[str, Any]:
    """Return one account (with its encrypted token, for :func:`transport_for`)."""
    row = conn.execute("select * from inbox.social_accounts where tenant_id = %s "
                       "and social_account_id = %s", [str(tenant_id), social_account_id]).fetchone()
    if row is None:
        raise NotFound(f"social_account: no account {social_account_id} for this tenant")
    return row


def mark_expired(conn: Any, *, tenant_id: UUID | str, social_account_id: int, reason: str) -> None:
    """Set an account's status to ``expired`` (its token no longer works) with the reason."""
    conn.execute(
        """update inbox.social_accounts set status = 'expired', status_reason = %s,
                  updated_at = now() where tenant_id = %s and social_account_id = %s""",
        [reason[:500], str(tenant_id), social_account_id])


def transport_for(account: dict[str, Any], *, api_logger: Any = None,
                  wait_max: float = 8.0) -> MessagingTransport:
    """Build the transport of an account row (decrypting its token).

    Raises :class:`ConfigError` when a graph account has no token or it cannot be decrypted.
    """
    meta = dict(account.get("metadata") or {})
    if account["connector"] == "sandbox":
        from growthops.connectors.messaging_sandbox import SandboxTransport

        return SandboxTransport(account["platform"], account["account_id"])
    if not account.get("access_token"):
        raise ConfigError(f"{account['platform']} account {account['account_id']} has no token: "
                          "reconnect it (growthops inbox accounts connect)")
    token = decrypt(account["access_token"])
    kw = {"base_url": meta.get("base_url"), "version": meta.get("api_version"),
          "api_logger": api_logger, "wait_max": wait_max}
    if account["platform"] == "whatsapp":
        from growthops.connectors.whatsapp import CloudApiTransport

        return CloudApiTransport(account["account_id"], token, **kw)
    from growthops.connectors.instagram import SendApiTransport

    return SendApiTransport(account["account_id"], token, **kw)
