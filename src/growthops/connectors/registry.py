"""Find a tenant's ad platform: ``ads.ad_accounts`` → a connector implementing ``AdPlatform``.

``ads.ad_accounts`` holds one row per tenant and platform: the ``connector`` ('sandbox',
'meta', 'google_ads'), the platform's ``account_id``, ``credentials_encrypted`` (a Fernet token
of a JSON object, see :mod:`growthops.core.secrets`) and ``settings`` (jsonb, non-secret).

Credentials by connector (JSON keys):

* ``meta``: ``access_token`` (required), ``app_secret`` (optional: adds ``appsecret_proof``).
  Settings: ``api_version``, ``base_url``, ``currency`` (default: the tenant's),
  ``conversion_actions`` (list of action types).
* ``google_ads``: ``developer_token`` (required) and either ``refresh_token`` + ``client_id`` +
  ``client_secret`` (OAuth 2.0 installed/web app flow; refreshed on first use) or a ready
  ``access_token``; ``login_customer_id`` (manager account, optional). Settings: ``version``,
  ``login_customer_id``, ``currency``.
* ``sandbox``: none (its state is in the ``ads.sandbox_*`` tables).

Connectors built here report every API call to ``core.api_calls_log`` (redacted) through the
caller's connection, so a rolled-back transaction also drops its call log rows.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.connectors.base import AdPlatform
from growthops.core.errors import ConfigError, InvalidInput, NotFound
from growthops.core.secrets import decrypt_json, encrypt_json

CONNECTORS = ("sandbox", "meta", "google_ads")


def db_api_logger(conn: Any, tenant_id: UUID | str) -> Any:
    """Return a callable writing each connector call to ``core.api_calls_log`` on ``conn``.

    It takes the keyword arguments of :func:`growthops.core.logs.service.log_api_call` without
    ``conn`` and ``tenant_id``; payloads are redacted there (no token is ever stored).
    ``cost_estimate`` defaults to :func:`growthops.connectors.costs.estimate_cost` of the API.
    """
    from growthops.connectors.costs import estimate_cost
    from growthops.core.logs.service import log_api_call

    def log(**kw: Any) -> None:
        if kw.get("cost_estimate") is None:
            kw["cost_estimate"] = estimate_cost(str(kw.get("api_name")))
        log_api_call(conn, tenant_id=tenant_id, **kw)

    return log


def get_platform(
    conn: Any, *, tenant_id: UUID | str, platform: str, api_logger: Any = None
) -> AdPlatform:
    """Return the :class:`AdPlatform` of ``tenant_id``'s account on ``platform``.

    Reads ``ads.ad_accounts`` in the caller's tenant transaction; decrypts the credentials of
    real connectors. Raises :class:`NotFound` naming the tenant and platform when the tenant
    has no account there, :class:`ConfigError` when credentials are missing, undecryptable
    (``GROWTHOPS_SECRET_KEYS``) or lack a required key. ``api_logger`` replaces the default
    :func:`db_api_logger` on ``conn`` (the sync buffers its calls and writes them even when
    its own transaction rolls back).
    """
    logger = api_logger or db_api_logger(conn, tenant_id)
    row = conn.execute(
        """select a.connector, a.account_id, a.credentials_encrypted, a.settings, t.currency
           from ads.ad_accounts a join core.tenants t on t.tenant_id = a.tenant_id
           where a.tenant_id = %s and a.platform = %s""",
        [tenant_id, platform],
    ).fetchone()
    if row is None:
        raise NotFound(
            f"tenant {tenant_id} has no ad account on platform {platform!r} "
            "(no row in ads.ad_accounts)"
        )
    connector, settings = row["connector"], dict(row["settings"] or {})
    if connector == "sandbox":
        from growthops.connectors.sandbox import SandboxAccount

        return SandboxAccount.load(conn, tenant_id=tenant_id, platform=platform)
    creds = _credentials(row["credentials_encrypted"], connector, tenant_id, platform)
    currency = settings.get("currency") or str(row["currency"]).strip()
    if connector == "meta":
        from growthops.connectors.meta import MetaAdAccount

        token = _required(creds, "access_token", connector)
        kw: dict[str, Any] = {}
        if settings.get("conversion_actions"):
            kw["conversion_actions"] = settings["conversion_actions"]
        if settings.get("api_version"):
            kw["api_version"] = settings["api_version"]
        return MetaAdAccount(
            row["account_id"],
            token,
            creds.get("app_secret"),
            base_url=settings.get("base_url"),
            currency=currency,
            api_logger=logger,
            **kw,
        )
    if connector == "google_ads":
        from google.oauth2.credentials import Credentials

        from growthops.connectors.google_ads import GoogleAdsAccount

        developer_token = _required(creds, "developer_token", connector)
        if creds.get("refresh_token"):
            credentials = Credentials(
                token=creds.get("access_token"),
                refresh_token=creds["refresh_token"],
                client_id=_required(creds, "client_id", connector),
                client_secret=_required(creds, "client_secret", connector),
                token_uri="https://oauth2.googleapis.com/token",
            )
        else:
            credentials = Credentials(token=_required(creds, "access_token", connector))
        return GoogleAdsAccount(
            row["account_id"],
            credentials=credentials,
            developer_token=developer_token,
            login_customer_id=creds.get("login_customer_id") or settings.get("login_customer_id"),
            version=settings.get("version"),
            currency=currency,
            api_logger=logger,
        )
    raise ConfigError(
        f"ads.ad_accounts: connector {connector!r} of tenant {tenant_id} on {platform!r} "
        f"is not one of {', '.join(CONNECTORS)}"
    )


def register_account(
    conn: Any,
    *,
    tenant_id: UUID | str,
    platform: str,
    connector: str,
    account_id: str,
    credentials: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> None:
    """Create or replace the tenant's account on ``platform``, credentials encrypted.

    Raises :class:`InvalidInput` for an unknown connector, :class:`ConfigError` when
    credentials are given but ``GROWTHOPS_SECRET_KEYS`` is missing.
    """
    if connector not in CONNECTORS:
        raise InvalidInput(f"connector: {connector!r} is not one of {', '.join(CONNECTORS)}")
    token = encrypt_json(credentials) if credentials else None
    conn.execute(
        """insert into ads.ad_accounts (tenant_id, platform, account_id, connector, credentials_encrypted, settings)
           values (%s, %s, %s, %s, %s, %s)
           on conflict (tenant_id, platform) do update set
             account_id = excluded.account_id, connector = excluded.connector,
             credentials_encrypted = excluded.credentials_encrypted, settings = excluded.settings""",
        [tenant_id, platform, account_id, connector, token, Jsonb(settings or {})],
    )


def _credentials(
    token: str | None, connector: str, tenant_id: Any, platform: str
) -> dict[str, Any]:
    if not token:
        raise ConfigError(
            f"ads.ad_accounts: the {connector} account of tenant {tenant_id} on {platform!r} "
            "has no credentials"
        )
    return decrypt_json(token)


def _required(creds: dict[str, Any], key: str, connector: str) -> str:
    value = creds.get(key)
    if not value:
        raise ConfigError(f"{connector} credentials: {key!r} is missing")
    return str(value)
