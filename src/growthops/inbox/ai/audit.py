"""Audited changes of a tenant's AI configuration: settings, rules, per-channel switches and the
knowledge base's approvals.

Every change is written to ``core.system_logs`` (module :data:`MODULE`, level INFO, the actor
in ``context.by``, the changed fields ``before`` and ``after``), in the caller's transaction,
as the tenant's own settings changes are (:func:`growthops.core.tenants.service.update_tenant`).
Nothing is written when nothing changes. Readers: :func:`trail`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

MODULE = "growthops.inbox.ai"


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v if v is None or isinstance(v, str | int | float | bool) else str(v)


def record(conn: Any, *, tenant_id: UUID | str, by: str, what: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Write one audit entry ``"<what> by <by>: fields"``."""
    from growthops.core.logs.service import log_event

    fields = sorted(set(before or {}) | set(after or {}))
    log_event(conn, tenant_id=tenant_id, level="INFO", module=MODULE,
              message=f"{what} by {by}: {', '.join(fields)}"[:2000],
              context={"by": by, "what": what,
                       "before": {k: _plain(v) for k, v in (before or {}).items()},
                       "after": {k: _plain(v) for k, v in (after or {}).items()}})


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of ``after`` whose value differs from ``before``: ``(old, new)``."""
    changed = [k for k in after if _plain(before.get(k)) != _plain(after[k])]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def change_settings(conn: Any, *, tenant_id: UUID | str, by: str, **changes: Any
                    ) -> dict[str, Any]:
    """Apply :func:`growthops.inbox.ai.config.update_settings` and audit what changed;
    return the settings. Raises as ``update_settings``."""
    from growthops.inbox.ai import config

    before = config.get_settings(conn, tenant_id=tenant_id)
    after = config.update_settings(conn, tenant_id=tenant_id, **changes)
    old, new = diff(before, {k: after[k] for k in changes})
    if new:
        record(conn, tenant_id=tenant_id, by=by, what="AI settings changed", before=old,
               after=new)
    return after


def change_rules(conn: Any, *, tenant_id: UUID | str, by: str, instructions: str | None = None,
                 ignore_examples: list[str] | None = None,
                 ai_control_enabled: bool | None = None) -> dict[str, Any]:
    """Apply :func:`growthops.inbox.ai.config.update_rules` and audit what changed; return
    the rules. Raises as ``update_rules``."""
    from growthops.inbox.ai import config

    before = config.get_rules(conn, tenant_id=tenant_id)
    after = config.update_rules(conn, tenant_id=tenant_id, instructions=instructions,
                                ignore_examples=ignore_examples,
                                ai_control_enabled=ai_control_enabled)
    old, new = diff(before, after)
    if new:
        record(conn, tenant_id=tenant_id, by=by, what="AI rules changed", before=old, after=new)
    return after


def trail(conn: Any, *, tenant_id: UUID | str, limit: int = 20) -> list[dict[str, Any]]:
    """The tenant's latest AI configuration changes, newest first: ``logged_at, message,
    context``."""
    return conn.execute(
        """select logged_at, message, context from core.system_logs
           where tenant_id = %s and module = %s order by logged_at desc, id desc limit %s""",
        [str(tenant_id), MODULE, limit]).fetchall()
