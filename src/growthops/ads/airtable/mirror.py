"""A tenant's Airtable mirror settings (``ads.airtable_mirrors``): configure, show, remove.

The personal access token is stored Fernet-encrypted (:func:`growthops.core.secrets.encrypt`,
keys in ``GROWTHOPS_SECRET_KEYS``) and decrypted only to build the transport; no function here
returns it (``has_token`` says one is stored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from growthops.ads.airtable.mapping import KIND_NAMES
from growthops.core.errors import InvalidInput, NotFound
from growthops.core.secrets import decrypt, encrypt

#: Airtable ids: "app" + 14 alphanumerics for a base (Airtable Web API, "Base ID").
BASE_ID = re.compile(r"^app[A-Za-z0-9]{14}$")
_PUBLIC = """tenant_id, base_id, endpoint_url, table_names, enabled, updated_by, created_at,
             updated_at, last_synced_at, token_encrypted is not null as has_token"""


def _check_tables(table_names: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for k, v in table_names.items():
        if k not in KIND_NAMES:
            raise InvalidInput(f"table_names: {k!r} is not one of {', '.join(KIND_NAMES)}")
        if not isinstance(v, str) or not 1 <= len(v.strip()) <= 100:
            raise InvalidInput(f"table_names.{k}: give a table name of 1 to 100 characters")
        out[k] = v.strip()
    return out


def configure(
    conn: Any,
    *,
    tenant_id: UUID | str,
    base_id: str,
    token: str | None = None,
    endpoint_url: str | None = None,
    table_names: Mapping[str, str] | None = None,
    enabled: bool = True,
    by: str | None = None,
) -> dict[str, Any]:
    """Create or update the tenant's mirror; return it (without the token).

    ``base_id``: ``app`` + 14 characters; ``token``: the personal access token, required the
    first time, kept when omitted later; ``endpoint_url``: None for Airtable (an ``http(s)://``
    root otherwise, e.g. a proxy or a test server); ``table_names``: kind -> Airtable table name
    (default the seed's names: ``clients``, ``suggestions``...). Raises :class:`InvalidInput`
    naming the field, :class:`ConfigError` when ``GROWTHOPS_SECRET_KEYS`` is missing.
    """
    if not isinstance(base_id, str) or not BASE_ID.match(base_id.strip()):
        raise InvalidInput("base_id: an Airtable base id is 'app' followed by 14 letters or digits")
    if endpoint_url is not None and not re.match(r"^https?://[^\s]{1,300}$", endpoint_url):
        raise InvalidInput("endpoint_url: give an http:// or https:// URL")
    tables = _check_tables(table_names or {})
    tok = (token or "").strip()
    if token is not None and not tok:
        raise InvalidInput("token: empty")
    if len(tok) > 500:
        raise InvalidInput("token: longer than 500 characters")
    existing = conn.execute(
        "select 1 from ads.airtable_mirrors where tenant_id = %s", [str(tenant_id)]
    ).fetchone()
    if existing is None and not tok:
        raise InvalidInput("token: required the first time (an Airtable personal access token)")
    enc = encrypt(tok) if tok else None
    args = [base_id.strip(), endpoint_url, Jsonb(tables), enabled, by, str(tenant_id)]
    if existing is None:
        return conn.execute(
            f"""insert into ads.airtable_mirrors (base_id, endpoint_url, table_names, enabled,
                     updated_by, tenant_id, token_encrypted)
                values (%s, %s, %s, %s, %s, %s, %s) returning {_PUBLIC}""",
            [*args, enc],
        ).fetchone()
    return conn.execute(
        f"""update ads.airtable_mirrors set base_id = %s, endpoint_url = %s, table_names = %s,
              enabled = %s, updated_by = %s, updated_at = now(),
              token_encrypted = coalesce(%s, token_encrypted)
            where tenant_id = %s returning {_PUBLIC}""",
        [*args[:5], enc, args[5]],
    ).fetchone()


def show(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the tenant's mirror (no token) with its last run; :class:`NotFound` if none."""
    row = conn.execute(
        f"select {_PUBLIC} from ads.airtable_mirrors where tenant_id = %s", [str(tenant_id)]
    ).fetchone()
    if row is None:
        raise NotFound(
            f"tenant {tenant_id} has no Airtable mirror (growthops ads airtable configure)"
        )
    out = dict(row)
    out["records"] = {
        r["kind"]: r["n"]
        for r in conn.execute(
            "select kind, count(*) as n from ads.airtable_records where tenant_id = %s group by kind",
            [str(tenant_id)],
        ).fetchall()
    }
    out["last_run"] = conn.execute(
        """select run_id, trigger, status, created, updated, unchanged, deleted, pulled,
                  conflicts, rejected, api_calls, retries, error_message, started_at, finished_at
           from ads.airtable_runs where tenant_id = %s order by run_id desc limit 1""",
        [str(tenant_id)],
    ).fetchone()
    return out


def remove(conn: Any, *, tenant_id: UUID | str) -> bool:
    """Delete the tenant's mirror and its record map (runs are kept); True if one existed.

    The Airtable base itself is left as it is."""
    conn.execute("delete from ads.airtable_records where tenant_id = %s", [str(tenant_id)])
    return (
        conn.execute(
            "delete from ads.airtable_mirrors where tenant_id = %s returning 1", [str(tenant_id)]
        ).fetchone()
        is not None
    )


def load_secret(conn: Any, *, tenant_id: UUID | str) -> dict[str, Any]:
    """Return the enabled mirror with its decrypted ``token`` (for the transport only).

    Raises :class:`NotFound` when there is no mirror or it is disabled, :class:`ConfigError`
    when the token cannot be decrypted."""
    row = conn.execute(
        """select base_id, token_encrypted, endpoint_url, table_names, enabled
           from ads.airtable_mirrors where tenant_id = %s""",
        [str(tenant_id)],
    ).fetchone()
    if row is None or not row["enabled"]:
        raise NotFound(f"tenant {tenant_id} has no enabled Airtable mirror")
    out = dict(row)
    out["token"] = decrypt(out.pop("token_encrypted"))
    return out
