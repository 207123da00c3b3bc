"""Slack users mapped to growthops users, per tenant (``core.slack_users``, migration 0042).

A click on a digest button in Slack carries only the Slack user id (``U0123ABCD``). It counts
as a decision only when that Slack user is mapped, for the tenant of the channel, to an active
growthops user whose role may decide on that tenant (:attr:`User.can_decide` and
:meth:`User.can_access`); anyone else gets a private "not allowed" and nothing is recorded.
Mappings are made by an admin: ``growthops users slack-link EMAIL --tenant T --slack-user U...``.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from growthops.core.auth.users import User, _check_email
from growthops.core.db import Database
from growthops.core.errors import InvalidInput, NotFound

#: Slack user ids: U... or W... (Enterprise Grid), upper-case letters and digits.
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def _check_slack_id(value: Any) -> str:
    v = value.strip() if isinstance(value, str) else ""
    if not _SLACK_ID.match(v):
        raise InvalidInput(f"slack_user: {value!r} is not a Slack user id (U0123ABCD)")
    return v


def link(db: Database, *, tenant_id: UUID | str, slack_user_id: str, email: str,
         created_by: str | None = None) -> dict[str, Any]:
    """Map ``slack_user_id`` to the growthops user ``email`` for one tenant (replacing a former
    mapping of that Slack user); return the row.

    Raises :class:`InvalidInput` (malformed Slack id or e-mail), :class:`NotFound` (no such
    user), :class:`InvalidInput` when the user may not decide on this tenant (a client_viewer,
    or a viewer of another tenant): the mapping would grant nothing.
    """
    sid, address = _check_slack_id(slack_user_id), _check_email(email)
    with db.admin() as conn:
        user = conn.execute("select role, viewer_tenant_id from core.users where email = %s",
                            [address]).fetchone()
    if user is None:
        raise NotFound(f"email: no user {address!r} (see: growthops users list)")
    if user["role"] == "client_viewer":
        raise InvalidInput(f"email: {address} is a client_viewer: it cannot decide in Slack")
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute(
            """insert into core.slack_users (tenant_id, slack_user_id, email, created_by)
               values (%s, %s, %s, %s)
               on conflict (tenant_id, slack_user_id) do update
                 set email = excluded.email, created_by = excluded.created_by,
                     created_at = now()
               returning tenant_id, slack_user_id, email, created_at, created_by""",
            [str(tenant_id), sid, address, created_by]).fetchone()


def unlink(db: Database, *, tenant_id: UUID | str, slack_user_id: str) -> bool:
    """Remove a mapping; return whether one existed."""
    sid = _check_slack_id(slack_user_id)
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute("delete from core.slack_users where tenant_id = %s and "
                            "slack_user_id = %s", [str(tenant_id), sid]).rowcount > 0


def list_links(db: Database, *, tenant_id: UUID | str) -> list[dict[str, Any]]:
    """Return a tenant's mappings, ordered by Slack user id."""
    with db.tenant_tx(tenant_id) as conn:
        return conn.execute("select slack_user_id, email, created_at, created_by "
                            "from core.slack_users where tenant_id = %s order by slack_user_id",
                            [str(tenant_id)]).fetchall()


def slack_user(conn: Any, *, slack_user_id: str) -> User | None:
    """Return the active growthops user mapped to ``slack_user_id`` for the tenant of the
    current transaction (``conn`` inside ``db.tenant_tx``), or None."""
    row = conn.execute("select * from core.slack_user_lookup(%s)", [slack_user_id]).fetchone()
    return User.from_row(row) if row else None
