"""A tenant's Slack preferences (``ads.slack_settings``, migration 0120): language, alerts
channel, mode (``threads``, ``digest``, ``both``) and the lowest anomaly severity alerted; read
with the tenant's Slack fields, changed by a person with an audit entry.

Split from :mod:`growthops.ads.reporting.slack_threads` (which posts what these settings say).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from growthops.ads.reporting.slack import (
    tenant_slack,
)
from growthops.core.errors import InvalidInput
from growthops.core.i18n import LANGS

if TYPE_CHECKING:

    pass
MODES = ("threads", "digest", "both")
SEVERITIES = ("low", "medium", "high", "critical")

# ----------------------------------------------------------------------------- preferences
def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidInput(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    return lang


def tenant_prefs(conn: Any, *, tenant_id: UUID | str, lang: str = "en") -> dict[str, Any]:
    """Return the tenant's Slack settings with their defaults applied.

    Keys of :func:`growthops.ads.reporting.slack.tenant_slack` (``client_name``, ``currency``,
    ``time_zone``, ``channel``...) plus ``lang`` (``ads.slack_settings.lang``, else ``lang``),
    ``mode`` (``threads`` by default), ``alerts_channel`` (the settings' channel, else
    ``channel``) and ``alert_min_severity`` (``high``). Raises :class:`NotFound` when the
    tenant transaction does not see the tenant, :class:`InvalidInput` for an unknown ``lang``.
    """
    _check_lang(lang)
    tenant = tenant_slack(conn, tenant_id=tenant_id)
    row = conn.execute("select lang, alerts_channel, mode, alert_min_severity "
                       "from ads.slack_settings where tenant_id = %s", [str(tenant_id)]).fetchone()
    row = row or {}
    return {**tenant, "lang": row.get("lang") or lang, "mode": row.get("mode") or "threads",
            "alerts_channel": (row.get("alerts_channel") or "").strip() or tenant["channel"],
            "alert_min_severity": row.get("alert_min_severity") or "high"}


def digest_lang(conn: Any, *, tenant_id: UUID | str, lang: str = "en") -> str | None:
    """Return the language of the tenant's daily digest in Slack, or None when its mode is
    ``threads`` (one message per suggestion instead of the digest). ``lang``: as for
    :func:`tenant_prefs`."""
    _check_lang(lang)
    row = conn.execute("select lang, mode from ads.slack_settings where tenant_id = %s",
                       [str(tenant_id)]).fetchone() or {}
    if (row.get("mode") or "threads") == "threads":
        return None
    return row.get("lang") or lang


_UNSET: Any = object()


def set_prefs(conn: Any, *, tenant_id: UUID | str, lang: str | None = _UNSET,
              alerts_channel: str | None = _UNSET, mode: str = _UNSET,
              alert_min_severity: str = _UNSET) -> dict[str, Any]:
    """Change the tenant's Slack settings (only the arguments given; None clears ``lang`` or
    ``alerts_channel``) and return the stored row (one upsert, in the caller's transaction).

    ``lang`` ``en``/``fr``; ``alerts_channel`` a channel id (``C…``) or ``#name`` of 1-200
    characters; ``mode`` one of :data:`MODES`; ``alert_min_severity`` one of
    :data:`SEVERITIES`. Raises :class:`InvalidInput` naming the field.
    """
    values: dict[str, Any] = {}
    if lang is not _UNSET:
        values["lang"] = None if lang is None else _check_lang(lang)
    if alerts_channel is not _UNSET:
        ch = None if alerts_channel is None else str(alerts_channel).strip()
        if ch is not None and not (1 <= len(ch) <= 200) or (ch and any(c.isspace() for c in ch)):
            raise InvalidInput("alerts_channel: a channel id or #name of 1 to 200 characters, "
                               "without spaces")
        values["alerts_channel"] = ch or None
    if mode is not _UNSET:
        if mode not in MODES:
            raise InvalidInput(f"mode: {mode!r} is not one of {', '.join(MODES)}")
        values["mode"] = mode
    if alert_min_severity is not _UNSET:
        if alert_min_severity not in SEVERITIES:
            raise InvalidInput(f"alert_min_severity: {alert_min_severity!r} is not one of "
                               f"{', '.join(SEVERITIES)}")
        values["alert_min_severity"] = alert_min_severity
    cols = list(values)
    insert_cols = ", ".join(["tenant_id", *cols])
    placeholders = ", ".join(["%(tenant_id)s", *(f"%({c})s" for c in cols)])
    updates = ", ".join([*(f"{c} = excluded.{c}" for c in cols), "updated_at = now()"])
    return conn.execute(
        f"insert into ads.slack_settings ({insert_cols}) values ({placeholders}) "
        f"on conflict (tenant_id) do update set {updates} returning *",
        {"tenant_id": str(tenant_id), **values}).fetchone()


#: The columns of ``ads.slack_settings`` a person changes (:func:`change_prefs`).
PREF_FIELDS = ("lang", "alerts_channel", "mode", "alert_min_severity")
#: ``core.system_logs.module`` of a change of the Slack settings.
PREFS_MODULE = "growthops.ads.slack"


def change_prefs(conn: Any, *, tenant_id: UUID | str, by: str,
                 **changes: Any) -> dict[str, Any]:
    """Change the tenant's Slack settings as a person (CLI, dashboard) and audit it; return
    :func:`tenant_prefs` after the change (``lang`` defaulting to ``en``).

    ``changes``: any of :data:`PREF_FIELDS`, validated by :func:`set_prefs` (None clears
    ``lang`` or ``alerts_channel``). The stored values that really change are logged once in
    ``core.system_logs`` (INFO, module :data:`PREFS_MODULE`, message "Slack settings changed",
    context ``{"by", "before", "after"}`` with the stored values, None for a default), in the
    caller's transaction; nothing is logged when nothing changes. Raises :class:`InvalidInput`
    naming the field, or ``by`` when it is empty.
    """
    from growthops.core.logs.service import log_event

    unknown = sorted(set(changes) - set(PREF_FIELDS))
    if unknown:
        raise InvalidInput(f"{', '.join(unknown)}: not a Slack setting "
                           f"(one of {', '.join(PREF_FIELDS)})")
    if not str(by or "").strip():
        raise InvalidInput("by: who changes the Slack settings is required")
    cols = ", ".join(PREF_FIELDS)
    old = conn.execute(f"select {cols} from ads.slack_settings where tenant_id = %s",
                       [str(tenant_id)]).fetchone() or {}
    new = set_prefs(conn, tenant_id=tenant_id, **changes) if changes else old
    diff = [k for k in PREF_FIELDS if k in changes and old.get(k) != new.get(k)]
    if diff:
        log_event(conn, tenant_id=tenant_id, level="INFO", module=PREFS_MODULE,
                  message="Slack settings changed",
                  context={"by": by, "before": {k: old.get(k) for k in diff},
                           "after": {k: new.get(k) for k in diff}})
    return tenant_prefs(conn, tenant_id=tenant_id)

